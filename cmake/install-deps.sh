#!/usr/bin/env bash
# Installs what building and testing IsapiHost needs, from Debian 12 packages
# only, and decides about 32-bit Wine. Safe to run repeatedly: it installs
# only what is missing.
#   bash cmake/install-deps.sh [--bench]     (--bench adds wrk and nginx)
#
# 32-bit Wine (wine32:i386), decided afresh on every run by running programs
# (cmake/wine-probes.sh), never by a marker file or a directory:
# - installed only where the kernel runs a 32-bit program (a static i386 ELF
#   of 97 bytes written here), and kept only if `wine` still runs a 64-bit
#   Windows program afterwards; otherwise rolled back (with the i386
#   architecture, if nothing else uses it). On a kernel without 32-bit
#   support, wine32 makes `wine` exec a 32-bit loader that fails with "Exec
#   format error", and then no Windows program runs at all (wine-notes,
#   appendix "32-bit Wine").
# - a machine where wine32:i386 is installed and `wine` cannot run a 64-bit
#   program (what an earlier version of this script left behind) is repaired:
#   wine32:i386 is removed and the check repeated.
# - after any Wine package is installed, `wine` must run a 64-bit program.
# One line "install-deps: 32-bit Wine: ..." says what was decided and why.
# Exits non-zero if a package cannot be installed or if `wine` cannot run a
# 64-bit Windows program even without wine32.
#   IH_SKIP_WINE32=1         never install wine32:i386 (a broken one is still removed)
#   IH_KERNEL_RUNS_I386=yes|no  skip the kernel probe (tests/scripts/test_install_deps.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=wine-probes.sh
. "$here/wine-probes.sh"

packages=(cmake make gcc clang libclang-rt-14-dev binutils
  gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 binutils-mingw-w64-x86-64 binutils-mingw-w64-i686
  mingw-w64-x86-64-dev mingw-w64-i686-dev
  wine wine64 python3 python3-pytest curl ca-certificates
  wixl msitools  # the MSI (installer/build-msi.sh)
  haproxy nginx openssl prometheus)  # the fleet tests (docs/deployment.md): the real engines in front and beside
if [ "${1:-}" = "--bench" ]; then packages+=(wrk nginx-light); fi

say() { echo "install-deps: $*"; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else say "need root (or sudo) to run: $*" >&2; exit 1
  fi
}
apt_updated=0
apt_update() {
  [ "$apt_updated" = 1 ] && return 0
  as_root apt-get update -q
  apt_updated=1
}
apt_install() { as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; }

# Installed and configured; anything less is installed (again) by apt-get.
is_installed() {
  case "$(dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null)" in *"install ok installed"*) return 0 ;; esac
  return 1
}
# Any trace of a package but its configuration files: a wine32 that failed
# half-way may still have put its loader, /usr/lib/wine/wine, in place.
is_present() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  case "$status" in "" | *" not-installed" | *" config-files") return 1 ;; esac
  return 0
}

# Removes wine32:i386, then the i386 packages only it needed, then the i386
# architecture if no i386 package is left (apt-get lists for i386 go with it).
remove_wine32() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q 'wine32:i386' >/dev/null ||
    { say "ERROR: could not remove wine32:i386 (apt-get purge -y wine32:i386)" >&2; exit 1; }
  local unneeded
  unneeded=$(as_root apt-get -s autoremove 2>/dev/null | sed -n 's/^Remv \([^ ]*:i386\) .*/\1/p' | tr '\n' ' ') || true
  if [ -n "$unneeded" ]; then
    # shellcheck disable=SC2086 # one word per package
    as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $unneeded >/dev/null || true
  fi
  remove_i386_arch_if_unused
}
remove_i386_arch_if_unused() {
  dpkg --print-foreign-architectures | grep -x i386 >/dev/null || return 0
  # dpkg refuses while any i386 package is installed: then the architecture stays
  as_root dpkg --remove-architecture i386 >/dev/null 2>&1 || true
}

# `wine` runs a 64-bit Windows program (scratch prefix, 10-15 s).
wine64_works() {
  ih_probe_wine x86-64
  wine64_why=$IH_WINE_WHY
  [ "$IH_WINE_OK" = yes ]
}
wine64_broken_even_without_wine32() {
  say "ERROR: wine cannot run a 64-bit Windows program even without wine32:i386: $wine64_why" >&2
  exit 1
}

# ---- the packages
missing=()
for p in "${packages[@]}"; do
  is_installed "$p" || missing+=("$p")
done
wine_changed=0
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt_update
  apt_install "${missing[@]}"
  for p in "${missing[@]}"; do
    case "$p" in wine | wine64) wine_changed=1 ;; esac
  done
  # The fleet tests start their own haproxy, nginx and prometheus on free
  # ports; the daemons a package starts on a machine with systemd (nginx on
  # port 80, prometheus on 9090) would only take memory and ports.
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    for unit in haproxy nginx prometheus prometheus-node-exporter; do
      as_root systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
  fi
fi

# ---- 32-bit Wine
ih_probe_kernel_i386
kernel_why=$IH_KERNEL_I386_WHY
wine64_checked=0
if is_present 'wine32:i386'; then
  if [ "$IH_KERNEL_I386" = no ]; then
    say "32-bit Wine: removing wine32:i386: $kernel_why, and with wine32 installed wine runs no Windows program at all"
    remove_wine32
    wine64_works || wine64_broken_even_without_wine32
    say "32-bit Wine: removed; 64-bit Wine runs again; 32-bit programs cannot run on this machine"
  elif ! wine64_works; then
    say "32-bit Wine: removing wine32:i386: with it installed, $wine64_why"
    remove_wine32
    wine64_works || wine64_broken_even_without_wine32
    say "32-bit Wine: removed; 64-bit Wine runs again; the x86 tests will not run"
  else
    say "32-bit Wine: wine32:i386 is installed and kept ($kernel_why; 64-bit Wine still runs)"
  fi
  wine64_checked=1
elif [ "${IH_SKIP_WINE32:-0}" = 1 ]; then
  say "32-bit Wine: not installed (IH_SKIP_WINE32=1; $kernel_why); the x86 tests will not run"
elif [ "$IH_KERNEL_I386" = no ]; then
  say "32-bit Wine: not installed: $kernel_why; the x86 build is built and checked, never run, here"
else
  say "32-bit Wine: $kernel_why; trying wine32:i386"
  added_arch=0
  if ! dpkg --print-foreign-architectures | grep -x i386 >/dev/null; then
    as_root dpkg --add-architecture i386
    added_arch=1
    apt_updated=0
  fi
  log=$(mktemp "${TMPDIR:-/tmp}/ih-wine32-install.XXXXXX")
  if { apt_update && apt_install 'wine32:i386'; } >"$log" 2>&1; then
    if wine64_works; then
      say "32-bit Wine: installed wine32:i386 ($kernel_why; 64-bit Wine still runs)"
    else
      say "32-bit Wine: rolling wine32:i386 back: with it installed, $wine64_why"
      remove_wine32
      wine64_works || wine64_broken_even_without_wine32
      say "32-bit Wine: rolled back; 64-bit Wine runs; the x86 tests will not run"
    fi
    wine64_checked=1
  else
    say "32-bit Wine: wine32:i386 is not installable here ($(grep -E '^E:' "$log" | head -n 1)); the x86 tests will not run"
    is_present 'wine32:i386' && remove_wine32
    [ "$added_arch" = 1 ] && remove_i386_arch_if_unused
  fi
  rm -f "$log"
fi

if [ "$wine_changed" = 1 ] && [ "$wine64_checked" = 0 ]; then
  wine64_works || wine64_broken_even_without_wine32
  say "Wine installed; it runs a 64-bit Windows program"
fi
