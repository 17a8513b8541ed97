#!/usr/bin/env bash
# Installs what building and testing IsapiHost needs, from Debian 12 packages
# only. Safe to run repeatedly: it installs only what is missing.
#   bash cmake/install-deps.sh [--bench]     (--bench adds wrk and nginx)
# 32-bit Wine (wine32:i386) is attempted once and never fails the script:
# Debian's i386 archive is often out of step with amd64 (wine-notes appendix).
set -euo pipefail

packages=(cmake make gcc clang libclang-rt-14-dev binutils
  gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 binutils-mingw-w64-x86-64 binutils-mingw-w64-i686
  mingw-w64-x86-64-dev mingw-w64-i686-dev
  wine wine64 python3 python3-pytest curl ca-certificates
  wixl msitools)  # the MSI (installer/build-msi.sh)
if [ "${1:-}" = "--bench" ]; then packages+=(wrk nginx-light); fi

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# 32-bit Wine, best effort, tried once per machine (marker in /var/tmp).
marker=/var/tmp/isapihost-wine32-tried
if [ ! -d /usr/lib/i386-linux-gnu/wine ] && [ ! -e "$marker" ] && [ "${IH_SKIP_WINE32:-0}" != 1 ]; then
  echo "install-deps: trying wine32:i386 for the 32-bit tests (failure is not an error)"
  if ! { as_root dpkg --add-architecture i386 &&
         as_root apt-get update -q >/dev/null 2>&1 &&
         as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wine32:i386 >/dev/null 2>&1; }; then
    echo "install-deps: wine32:i386 is not installable here; 32-bit tests will be reported as not run"
    as_root apt-get remove -y -q 'wine32:i386' >/dev/null 2>&1 || true
    as_root dpkg --remove-architecture i386 >/dev/null 2>&1 || true
  fi
  as_root touch "$marker" 2>/dev/null || true
fi
