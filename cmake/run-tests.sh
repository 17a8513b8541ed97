#!/usr/bin/env bash
# Runs every test: installs dependencies (and says what it decided about
# 32-bit Wine), builds every configuration and runs what can run here
# (docs/testing.md has the whole table):
#   native             unit tests under ASan+UBSan, the scripts' tests, each
#                      fuzz target for IH_FUZZ_SECONDS (30)
#   native-tsan        unit tests under ThreadSanitizer (clang)
#   native-gcc         unit and script tests built with gcc
#   mingw-x64          Debug: unit, Win32 and integration tests under Wine;
#                      the x64 MSI, installed/upgraded/uninstalled by integration/msi
#                      (its x86 worker is built for it with the i686 compiler,
#                      installed and PE-checked, never run)
#   mingw-x64-release  RelWithDebInfo, what users run: the same tests again
#                      under Wine (optimisation exposes undefined behaviour
#                      that -O0 hides)
#   mingw-x86          build, the x86 MSI (build-msi.sh checks its tables) and
#                      the PE check (machine type, ISAPI exports); the tests
#                      run only if a 32-bit Windows program really runs under
#                      Wine here, otherwise one line says why not
#   mingw-x86-release  build and PE check
# Exits non-zero if anything fails. Logs of failed integration tests are kept
# in build/<preset>/integration-logs/.
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
source cmake/wine-prefix.sh
source cmake/wine-probes.sh

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
# The MSI of a MinGW build (installer/CMakeLists.txt; wixl + msitools).
build_msi() { # preset
  cmake --build --preset "$1" --target msi || { failed+=("msi:$1"); return 1; }
  ls -l build/"$1"/installer/isapihost-*.msi
}
# Every test of a MinGW preset under Wine, in the preset's own prefix.
wine_ctest() { # preset
  if ! wine_prefix_up "$PWD/build/$1/wineprefix"; then
    failed+=("wine:$1")
    return 1
  fi
  run_ctest "$1" --preset "$1" -j"$jobs" --timeout 600
  wine_prefix_down
}

step "native (clang, ASan+UBSan, libFuzzer)"
if build native -DIH_FUZZ_SECONDS="$fuzz_seconds"; then
  run_ctest native-unit --preset native -L unit -j"$jobs"
  run_ctest native-scripts --preset native -L scripts -j"$jobs"
  run_ctest native-fuzz --preset native -L fuzz -j"$jobs"
fi

step "native-tsan (clang, ThreadSanitizer)"
if build native-tsan; then
  run_ctest native-tsan-unit --preset native-tsan -L unit -j"$jobs"
fi

step "native-gcc"
if build native-gcc; then
  run_ctest native-gcc --preset native-gcc -j"$jobs"
fi

step "mingw-x64 (Debug) under Wine"
if build mingw-x64; then
  build_msi mingw-x64
  echo "mingw-x64: the MSI's isapihost-worker-x86.exe is built, installed and PE-checked; never run (no test starts a bitness = 32 pool)"
  wine_ctest mingw-x64
fi

# IH_TESTS=ON in case an older build directory (the benchmark's) cached OFF.
step "mingw-x64-release (RelWithDebInfo) under Wine"
if build mingw-x64-release -DIH_TESTS=ON; then
  wine_ctest mingw-x64-release
fi

step "mingw-x86"
x86_note="x86 (i686) builds: not built"
if build mingw-x86; then
  build_msi mingw-x86
  run_ctest mingw-x86-pe --preset mingw-x86 -L pe
  # Decided by running a 32-bit Windows program and reading its output:
  # under 64-bit-only Wine it would exit 0 without running (wine-notes §1).
  if wine_prefix_up "$PWD/build/mingw-x86/wineprefix"; then
    ih_probe_wine i386 "$WINEPREFIX"
    if [ "$IH_WINE_OK" = yes ]; then
      x86_note="x86 tests run under Wine: $IH_WINE_WHY"
      echo "mingw-x86: $x86_note"
      run_ctest mingw-x86 --preset mingw-x86 -j"$jobs" --timeout 600
    else
      x86_note="x86 built, MSI built, PE-checked; x86 tests NOT run: $IH_WINE_WHY"
      echo "mingw-x86: $x86_note"
    fi
    wine_prefix_down
  else
    failed+=("wine:mingw-x86")
    x86_note="x86 built, MSI built, PE-checked; x86 tests NOT run: Wine cannot start programs"
  fi
fi

step "mingw-x86-release (RelWithDebInfo)"
if build mingw-x86-release; then
  run_ctest mingw-x86-release-pe --preset mingw-x86-release -L pe
fi

echo
echo "total: $total_passed passed, $total_failed failed"
echo "32-bit: $x86_note"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all test stages passed"
