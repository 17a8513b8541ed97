#!/usr/bin/env bash
# Runs every test: installs dependencies, builds the three configurations
# (plus a gcc native build for the second compiler's warnings) and runs
#   native      unit tests under ASan+UBSan, each fuzz target for IH_FUZZ_SECONDS (30)
#   native-gcc  unit tests built with gcc
#   mingw-x64   unit tests, Win32 tests and integration tests under Wine
#   mingw-x86   build only, unless 32-bit Wine is installed
# Exits non-zero if anything fails. Logs of failed integration tests are kept
# in build/mingw-x64/integration-logs/.
set -uo pipefail
cd "$(dirname "$0")/.."
bash cmake/install-deps.sh || exit 1
jobs=$(nproc)
fuzz_seconds=${IH_FUZZ_SECONDS:-30}
failed=()

step() { echo; echo "==== $*"; }
build() { # preset [cmake args...]
  local preset=$1; shift
  cmake --preset "$preset" "$@" >/dev/null && cmake --build --preset "$preset" -j"$jobs" ||
    { failed+=("build:$preset"); return 1; }
}

step "native (clang, ASan+UBSan, libFuzzer)"
if build native -DIH_FUZZ_SECONDS="$fuzz_seconds"; then
  ctest --preset native -L unit -j"$jobs" || failed+=("native:unit")
  ctest --preset native -L fuzz -j"$jobs" || failed+=("native:fuzz")
fi

step "native-gcc"
if build native-gcc; then
  ctest --preset native-gcc -j"$jobs" || failed+=("native-gcc")
fi

step "mingw-x64 under Wine"
if build mingw-x64; then
  source cmake/wine-prefix.sh
  wine_prefix_up "$PWD/build/mingw-x64/wineprefix"
  ctest --preset mingw-x64 -j"$jobs" --timeout 600 || failed+=("mingw-x64")
  wine_prefix_down
fi

step "mingw-x86"
if build mingw-x86; then
  if [ -d /usr/lib/i386-linux-gnu/wine ]; then
    source cmake/wine-prefix.sh
    wine_prefix_up "$PWD/build/mingw-x86/wineprefix"
    ctest --preset mingw-x86 -j"$jobs" --timeout 600 || failed+=("mingw-x86")
    wine_prefix_down
  else
    echo "mingw-x86: built; 32-bit tests NOT run: wine32:i386 is not installed on this machine"
  fi
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all test stages passed"
