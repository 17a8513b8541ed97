#!/usr/bin/env bash
# Tests cmake/install-deps.sh's 32-bit Wine decisions without touching the
# machine: apt-get, dpkg, dpkg-query, sudo, wine, wineserver and the MinGW
# compiler are stubs in a scratch PATH that keep a fake package database;
# IH_KERNEL_RUNS_I386 plays a kernel with or without 32-bit support.
#   bash tests/scripts/test_install_deps.sh [path/to/install-deps.sh]
# The stub `wine` behaves like Debian's launcher on a kernel without 32-bit
# support (wine-notes, appendix "32-bit Wine"): with wine32:i386 installed it
# fails with "Exec format error" for every program.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
script=${1:-$repo/cmake/install-deps.sh}
work=$(mktemp -d "${TMPDIR:-/tmp}/ih-test-install-deps.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
passes=0

base_packages="cmake make gcc clang libclang-rt-14-dev binutils gcc-mingw-w64-x86-64 gcc-mingw-w64-i686
binutils-mingw-w64-x86-64 binutils-mingw-w64-i686 mingw-w64-x86-64-dev mingw-w64-i686-dev wine wine64
python3 python3-pytest curl ca-certificates wixl msitools haproxy nginx openssl prometheus"

# ---- the stubs (state in $IH_STUB_STATE: installed, archs, log, flags)
stubs=$work/bin
mkdir -p "$stubs"
cat >"$stubs/apt-get" <<'EOF'
#!/usr/bin/env bash
s=$IH_STUB_STATE
echo "apt-get $*" >>"$s/log"
simulate=0 verb= pkgs=()
for a in "$@"; do
  case "$a" in
    -s) simulate=1 ;;
    -*) ;;
    update | install | purge | remove | autoremove) [ -z "$verb" ] && verb=$a || pkgs+=("$a") ;;
    *) pkgs+=("$a") ;;
  esac
done
case "$verb" in
  update) exit 0 ;;
  install)
    for p in "${pkgs[@]}"; do
      case "$p" in
        *:i386)
          grep -qx i386 "$s/archs" 2>/dev/null || { echo "E: Unable to locate package $p"; exit 100; }
          [ -e "$s/wine32_uninstallable" ] && { echo "E: Unable to correct problems, you have held broken packages."; exit 100; }
          echo "$p" >>"$s/installed"
          echo "libwine:i386" >>"$s/installed"; echo "libwine:i386" >>"$s/auto" ;;
        *) echo "$p" >>"$s/installed" ;;
      esac
    done ;;
  purge | remove)
    for p in "${pkgs[@]}"; do
      grep -vx "$p" "$s/installed" >"$s/installed.new"; mv "$s/installed.new" "$s/installed"
    done ;;
  autoremove)
    # libwine:i386 is unneeded once wine32:i386 is gone
    if [ "$simulate" = 1 ] && ! grep -qx 'wine32:i386' "$s/installed" && grep -qx 'libwine:i386' "$s/installed"; then
      echo "Remv libwine:i386 [8.0~repack-4]"
    fi ;;
esac
exit 0
EOF
cat >"$stubs/dpkg" <<'EOF'
#!/usr/bin/env bash
s=$IH_STUB_STATE
echo "dpkg $*" >>"$s/log"
case "$1" in
  --print-foreign-architectures) cat "$s/archs" 2>/dev/null ;;
  --print-architecture) echo amd64 ;;
  --add-architecture) echo "$2" >>"$s/archs" ;;
  --remove-architecture)
    if grep -q ":$2\$" "$s/installed"; then echo "dpkg: error: cannot remove architecture '$2' currently in use by the database" >&2; exit 2; fi
    grep -vx "$2" "$s/archs" >"$s/archs.new"; mv "$s/archs.new" "$s/archs" ;;
esac
EOF
cat >"$stubs/dpkg-query" <<'EOF'
#!/usr/bin/env bash
s=$IH_STUB_STATE
pkg=${!#}
if grep -qx "$pkg" "$s/installed"; then printf 'install ok installed'; exit 0; fi
echo "dpkg-query: no packages found matching $pkg" >&2
exit 1
EOF
cat >"$stubs/wine" <<'EOF'
#!/usr/bin/env bash
s=$IH_STUB_STATE
echo "wine $*" >>"$s/log"
if grep -qx 'wine32:i386' "$s/installed" && [ -e "$s/wine32_breaks_wine" ]; then
  echo "/usr/lib/wine/wine: Exec format error" >&2   # Debian's launcher picks the 32-bit loader
  exit 126
fi
grep -qx wine64 "$s/installed" || { echo "wine: wine64 is missing" >&2; exit 1; }
[ -e "$s/wine_broken" ] && { echo "wine: could not load ntdll.so: broken" >&2; exit 1; }
echo "wine-probe x86-64 $2"   # what cmake/wine-probe.c prints, given its token
EOF
printf '#!/bin/sh\nexit 0\n' >"$stubs/wineserver"
printf '#!/bin/sh\n"$@"\n' >"$stubs/sudo"
cat >"$stubs/x86_64-w64-mingw32-gcc" <<'EOF'
#!/usr/bin/env bash
while [ $# -gt 0 ]; do [ "$1" = -o ] && { : >"$2"; shift; }; shift; done
EOF
chmod +x "$stubs"/*

# ---- one scenario: fresh state, given flags and packages, run the script
# run NAME KERNEL(yes|no) "installed packages" "foreign archs" [flags...]
run() {
  name=$1 kernel=$2 installed=$3 archs=$4; shift 4
  state=$work/$name
  mkdir -p "$state"
  : >"$state/log"; : >"$state/auto"
  printf '%s\n' $installed >"$state/installed"
  printf '%s\n' $archs >"$state/archs"
  for f in "$@"; do
    case "$f" in *=*) ;; *) : >"$state/$f" ;; esac
  done
  local envs=()
  for f in "$@"; do case "$f" in *=*) envs+=("$f") ;; esac; done
  rc=0
  # the caller's IH_SKIP_WINE32 (run-tests.sh passes it on) must not decide for the scenario
  env -u IH_SKIP_WINE32 PATH="$stubs:$PATH" IH_STUB_STATE="$state" IH_KERNEL_RUNS_I386="$kernel" TMPDIR="$work" "${envs[@]}" \
    bash "$script" >"$state/out" 2>&1 </dev/null || rc=$?
  out=$(cat "$state/out")
}
check() { # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then passes=$((passes + 1))
  else
    failures=$((failures + 1))
    echo "FAIL [$name] $what"
    sed 's/^/    out: /' "$state/out"
    sed 's/^/    log: /' "$state/log"
  fi
}
has_pkg() { grep -qx "$1" "$state/installed"; }
no_pkg() { ! has_pkg "$1"; }
has_arch() { grep -qx "$1" "$state/archs"; }
no_arch() { ! has_arch "$1"; }
logged() { grep -qE "$1" "$state/log"; }
not_logged() { ! logged "$1"; }
said() { grep -qE "$1" "$state/out"; }
exit_is() { [ "$rc" = "$1" ]; }
one_decision_line() { [ "$(grep -c '32-bit Wine: ' "$state/out")" -ge 1 ]; }

# 1. A fresh machine whose kernel cannot run 32-bit code: wine32 is never
#    tried, and the freshly installed Wine is checked with a 64-bit program.
run fresh-no-i386 no "" ""
check "exit 0" exit_is 0
check "base packages installed" has_pkg wine64
check "wine32:i386 never installed" not_logged 'install.*wine32:i386'
check "i386 architecture never added" not_logged 'add-architecture'
check "says why not" said '32-bit Wine: not installed: .*32-bit'
check "fresh Wine verified with a 64-bit program" logged '^wine .*wine-probe.exe'
check "says it verified Wine" said 'runs a 64-bit Windows program'

# 2. The kernel runs 32-bit code and wine32 installs, but then wine fails:
#    rolled back (package, its i386 dependencies and the architecture).
run install-breaks yes "$base_packages" "" wine32_breaks_wine
check "exit 0" exit_is 0
check "wine32:i386 was tried" logged 'install.*wine32:i386'
check "wine32:i386 rolled back" no_pkg 'wine32:i386'
check "its i386 dependency removed" no_pkg 'libwine:i386'
check "i386 architecture removed" no_arch i386
check "says it rolled back" said 'rolling wine32:i386 back'
check "names the failure" said 'Exec format error'

# 3. A machine an earlier run broke: wine32 installed, kernel without 32-bit
#    support, wine fails. Repaired.
run repair-no-i386 no "$base_packages wine32:i386 libwine:i386" "i386" wine32_breaks_wine
check "exit 0" exit_is 0
check "wine32:i386 removed" no_pkg 'wine32:i386'
check "libwine:i386 removed" no_pkg 'libwine:i386'
check "i386 architecture removed" no_arch i386
check "says it removed wine32" said 'removing wine32:i386'
check "verified 64-bit Wine afterwards" said '64-bit Wine runs again'

# 4. The same breakage on a kernel that can run 32-bit code: decided by
#    running wine, not by the kernel probe.
run repair-i386 yes "$base_packages wine32:i386 libwine:i386" "i386" wine32_breaks_wine
check "exit 0" exit_is 0
check "wine32:i386 removed" no_pkg 'wine32:i386'
check "says it removed wine32" said 'removing wine32:i386: with it installed'

# 5. The kernel runs 32-bit code, wine32 installs and wine still works: kept.
run install-works yes "$base_packages" ""
check "exit 0" exit_is 0
check "wine32:i386 installed" has_pkg 'wine32:i386'
check "i386 architecture kept" has_arch i386
check "says installed" said 'installed wine32:i386'
check "wine checked after the install" logged '^wine '

# 6. wine32 installed and working: kept, nothing removed.
run keep yes "$base_packages wine32:i386 libwine:i386" "i386"
check "exit 0" exit_is 0
check "wine32:i386 kept" has_pkg 'wine32:i386'
check "nothing purged" not_logged 'purge'
check "says kept" said 'installed and kept'

# 7. The kernel runs 32-bit code but the i386 archive is out of step:
#    nothing installed, the architecture this run added is removed again.
run not-installable yes "$base_packages" "" wine32_uninstallable
check "exit 0" exit_is 0
check "no wine32" no_pkg 'wine32:i386'
check "i386 architecture removed again" no_arch i386
check "says not installable" said 'not installable'

# 8. Wine cannot run a 64-bit program even without wine32: an error.
run wine-broken no "" "" wine_broken
check "exit non-zero" test "$rc" != 0
check "says so" said 'ERROR: wine cannot run a 64-bit Windows program'

# 9. IH_SKIP_WINE32=1 on a kernel that could: not tried.
run skip yes "$base_packages" "" IH_SKIP_WINE32=1
check "exit 0" exit_is 0
check "wine32:i386 never installed" not_logged 'install.*wine32:i386'
check "says skipped" said 'IH_SKIP_WINE32=1'

# 10. Everything in place, no 32-bit support: nothing to do, no apt-get,
#     no wine run, and still the one line about 32-bit Wine.
run nothing-to-do no "$base_packages" ""
check "exit 0" exit_is 0
check "no apt-get" not_logged '^apt-get'
check "no wine run" not_logged '^wine '
check "one line about 32-bit Wine" one_decision_line

# 11. The real kernel probe answers yes or no with a reason (and could run
#     its 64-bit control program, so the answer is not a noexec artefact).
name=kernel-probe state=$work/$name
mkdir -p "$state"; : >"$state/log"
probe_lib=$(dirname "$script")/wine-probes.sh
if [ -f "$probe_lib" ]; then
  (unset IH_KERNEL_RUNS_I386; . "$probe_lib"; ih_probe_kernel_i386
   echo "kernel: $IH_KERNEL_I386: $IH_KERNEL_I386_WHY") >"$state/out" 2>&1
else
  echo "no $probe_lib" >"$state/out"
fi
check "the kernel probe gives an answer" said '^kernel: (yes: the kernel ran|no: .*32-bit)'
sed 's/^/  this machine: /' "$state/out"

echo "$passes passed, $failures failed"
[ "$failures" = 0 ]
