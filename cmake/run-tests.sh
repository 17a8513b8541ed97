#!/usr/bin/env bash
# Runs every test: installs dependencies, builds the three configurations
# (plus a gcc native build for the second compiler's warnings) and runs
#   native      unit tests under ASan+UBSan, each fuzz target for IH_FUZZ_SECONDS (30)
#   native-gcc  unit tests built with gcc
#   mingw-x64   unit tests, Win32 tests and integration tests under Wine;
#               the x64 MSI, installed/upgraded/uninstalled by integration/msi
#   mingw-x86   build and the x86 MSI only, unless 32-bit Wine is installed
# Exits non-zero if anything fails. Logs of failed integration tests are kept
# in build/mingw-x64/integration-logs/.
set -uo pipefail
cd "$(dirname "$0")/.."
bash cmake/install-deps.sh || exit 1
jobs=$(nproc)
fuzz_seconds=${IH_FUZZ_SECONDS:-30}
failed=()
total_passed=0
total_failed=0
logs=build/test-logs
mkdir -p "$logs"

step() { echo; echo "==== $*"; }
# Runs ctest with its output in a file (never a pipe: Wine processes started
# by tests could inherit it and keep a reader waiting), then shows it and
# adds its counts to the totals.
run_ctest() { # name ctest-args...
  local name=$1; shift
  local log="$logs/$name.log" rc=0
  ctest "$@" >"$log" 2>&1 || rc=$?
  cat "$log"
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  if [ -n "$line" ]; then
    local nfail ntotal
    nfail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
    ntotal=$(echo "$line" | sed -E 's/.* failed out of ([0-9]+).*/\1/')
    total_passed=$((total_passed + ntotal - nfail))
    total_failed=$((total_failed + nfail))
  fi
  [ "$rc" = 0 ] || failed+=("$name")
}
build() { # preset [cmake args...]
  local preset=$1; shift
  cmake --preset "$preset" "$@" >/dev/null && cmake --build --preset "$preset" -j"$jobs" ||
    { failed+=("build:$preset"); return 1; }
}

step "native (clang, ASan+UBSan, libFuzzer)"
if build native -DIH_FUZZ_SECONDS="$fuzz_seconds"; then
  run_ctest native-unit --preset native -L unit -j"$jobs"
  run_ctest native-fuzz --preset native -L fuzz -j"$jobs"
fi

step "native-gcc"
if build native-gcc; then
  run_ctest native-gcc --preset native-gcc -j"$jobs"
fi

# The MSI of a MinGW build (installer/CMakeLists.txt; wixl + msitools).
build_msi() { # preset
  cmake --build --preset "$1" --target msi || { failed+=("msi:$1"); return 1; }
  ls -l build/"$1"/installer/isapihost-*.msi
}

step "mingw-x64 under Wine"
if build mingw-x64; then
  build_msi mingw-x64
  source cmake/wine-prefix.sh
  wine_prefix_up "$PWD/build/mingw-x64/wineprefix"
  run_ctest mingw-x64 --preset mingw-x64 -j"$jobs" --timeout 600
  wine_prefix_down
fi

step "mingw-x86"
if build mingw-x86; then
  build_msi mingw-x86
  if [ -d /usr/lib/i386-linux-gnu/wine ]; then
    source cmake/wine-prefix.sh
    wine_prefix_up "$PWD/build/mingw-x86/wineprefix"
    run_ctest mingw-x86 --preset mingw-x86 -j"$jobs" --timeout 600
    wine_prefix_down
  else
    echo "mingw-x86: built; 32-bit tests NOT run: wine32:i386 is not installed on this machine"
  fi
fi

echo
echo "total: $total_passed passed, $total_failed failed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all test stages passed"
