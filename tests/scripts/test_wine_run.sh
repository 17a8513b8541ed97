#!/usr/bin/env bash
# Tests that cmake/wine-run decides about a 32-bit program by running a
# 32-bit probe under Wine and reading what it printed, not by a directory or
# a package: a stub `wine` plays 64-bit-only Wine (a 32-bit program exits 0
# and prints nothing, wine-notes §1) and Wine that runs 32-bit programs.
#   bash tests/scripts/test_wine_run.sh [path/to/wine-run]
# Needs i686-w64-mingw32-gcc and x86_64-w64-mingw32-gcc (real PE files for
# objdump); exits 77 (skipped) without them.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
wine_run=${1:-$repo/cmake/wine-run}
for cc in i686-w64-mingw32-gcc x86_64-w64-mingw32-gcc; do
  command -v "$cc" >/dev/null || { echo "skipped: no $cc"; exit 77; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/ih-test-wine-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
passes=0

i686-w64-mingw32-gcc -o "$work/prog32.exe" "$repo/cmake/wine-probe.c"
x86_64-w64-mingw32-gcc -o "$work/prog64.exe" "$repo/cmake/wine-probe.c"

mkdir -p "$work/bin"
cat >"$work/bin/wine" <<'EOF'
#!/usr/bin/env bash
# Stub Wine. The probe program's output is what cmake/wine-probe.c prints;
# anything else prints "ran <name>". In mode "64only" an i386 PE prints
# nothing and exits 0, like Debian's Wine without wine32:i386.
echo "wine $*" >>"$IH_STUB_LOG"
machine=$(objdump -f "$1" | sed -n 's/.*file format pei-\(.*\)$/\1/p')
if [ "$machine" = i386 ] && [ "$IH_STUB_MODE" = 64only ]; then exit 0; fi
case "$1" in
  */wine-probe.exe) echo "wine-probe $machine $2" ;;
  *) echo "ran $(basename "$1")" ;;
esac
EOF
chmod +x "$work/bin/wine"

# run NAME MODE MACHINE PROGRAM
run() {
  name=$1
  export IH_STUB_MODE=$2 IH_STUB_LOG=$work/$name.log WINEPREFIX=$work/$name-prefix
  mkdir -p "$WINEPREFIX"; : >"$IH_STUB_LOG"
  rc=0
  PATH="$work/bin:$PATH" bash "$wine_run" "$3" "$4" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
}
check() {
  local what=$1; shift
  if "$@"; then passes=$((passes + 1))
  else
    failures=$((failures + 1))
    echo "FAIL [$name] $what (rc=$rc)"
    sed 's/^/    stdout: /' "$work/$name.out"; sed 's/^/    stderr: /' "$work/$name.err"; sed 's/^/    wine: /' "$work/$name.log"
  fi
}
printed() { grep -qE "$1" "$work/$name.out"; }
complained() { grep -qE "$1" "$work/$name.err"; }
not_run() { ! grep -q "$1" "$work/$name.log"; }
not_printed_up() { ! grep -q 'prefix up' "$work/$name.out"; }

# 64-bit-only Wine: the 32-bit test program is not run; skipped with a reason.
run wine64only 64only i386 "$work/prog32.exe"
check "skipped (77)" test "$rc" = 77
check "the program itself never ran" not_run prog32.exe
check "the probe was run" grep -q wine-probe.exe "$work/$name.log"
check "says why" complained 'not running the 32-bit .*does not run under this Wine'

# Wine that runs 32-bit programs: the test program runs.
run wine32works all i386 "$work/prog32.exe"
check "exit 0" test "$rc" = 0
check "the program ran" printed '^ran prog32.exe$'

# The answer is asked once per prefix session: a second program in the same
# prefix does not probe again.
: >"$IH_STUB_LOG"; rc=0
PATH="$work/bin:$PATH" bash "$wine_run" i386 "$work/prog32.exe" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
check "second run: exit 0" test "$rc" = 0
check "second run: no second probe" not_run wine-probe.exe

# The wrong machine type is refused before anything runs.
run wrong-machine all x86-64 "$work/prog32.exe"
check "refused (2)" test "$rc" = 2
check "says so" complained "expected a x86-64 PE"

# A 64-bit program runs without any probe.
run x64 64only x86-64 "$work/prog64.exe"
check "exit 0" test "$rc" = 0
check "the program ran" printed '^ran prog64.exe$'
check "no probe" not_run wine-probe.exe

# cmake/wine-prefix.sh: a Wine that cannot start any program (wine32:i386 on
# a kernel without 32-bit support) makes wine_prefix_up fail with what Wine
# said, instead of leaving run-sample.sh to stop without a word.
name=prefix-broken
mkdir -p "$work/broken"
for tool in wine wineboot; do
  printf '#!/bin/sh\necho "/usr/lib/wine/wine: Exec format error" >&2\nexit 126\n' >"$work/broken/$tool"
done
printf '#!/bin/sh\nexit 0\n' >"$work/broken/wineserver"
chmod +x "$work/broken"/*
: >"$work/$name.log"; rc=0
PATH="$work/broken:$PATH" bash -c 'set -euo pipefail; . "$1"; wine_prefix_up "$2"; echo "prefix up"' \
  wine-prefix "$repo/cmake/wine-prefix.sh" "$work/$name-prefix" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
check "wine_prefix_up fails" test "$rc" != 0
check "nothing runs after it" not_printed_up
check "says Wine cannot start programs" complained 'Wine cannot start programs'
check "passes on what Wine said" complained 'Exec format error'

echo "$passes passed, $failures failed"
[ "$failures" = 0 ]
