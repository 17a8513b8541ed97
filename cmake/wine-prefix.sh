#!/usr/bin/env bash
# Create/boot or stop the Wine prefix the tests use.
#   source cmake/wine-prefix.sh; wine_prefix_up DIR; ...; wine_prefix_down
# Why the dance (shared/reference/wine-notes.md §1, §5): the first wine
# process spawns services.exe & co., which inherit its stdout/stderr; if that
# is a CTest or `| tee` pipe, the reader hangs. So we boot a persistent
# wineserver with every descriptor pointed at /dev/null or a file (never a
# pipe) before any test runs. wine_prefix_up returns 1, saying why, if Wine
# cannot start a program there.
wine_env() {
  export WINEPREFIX="$1"
  export WINEARCH="${WINEARCH:-win64}"
  export WINEDEBUG="${WINEDEBUG:--all}"
  export WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
  unset DISPLAY WAYLAND_DISPLAY
  ulimit -n 20000 2>/dev/null || true
}
wine_prefix_up() {
  wine_env "$1"
  mkdir -p "$WINEPREFIX"
  # cmake/wine-run asks once per session whether 32-bit programs run here
  rm -f "$WINEPREFIX/ih-probe-i386"
  local log="$WINEPREFIX.boot.log"
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "wine: creating prefix $WINEPREFIX (once per build directory, ~15 s)"
    wineboot --init </dev/null >"$log" 2>&1 || true
    wineserver -w </dev/null >/dev/null 2>&1 || true
  fi
  wineserver -p </dev/null >/dev/null 2>&1 || true
  local rc=0
  wine wineboot </dev/null >>"$log" 2>&1 || rc=$?
  # Say why instead of leaving the caller to fail later without a word (a
  # `wine` that cannot start any program: wine32:i386 on a kernel without
  # 32-bit support, see cmake/install-deps.sh).
  if [ "$rc" != 0 ] || [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "wine: ERROR: Wine cannot start programs in $WINEPREFIX (wineboot exit $rc); it said:" >&2
    grep -v '^[[:space:]]*$' "$log" 2>/dev/null | tail -n 5 | sed 's/^/wine:   /' >&2 || true
    echo "wine: bash cmake/install-deps.sh checks Wine and removes a wine32:i386 that breaks it" >&2
    return 1
  fi
  rm -f "$log"
}
wine_prefix_down() {
  [ -n "${WINEPREFIX:-}" ] && wineserver -k </dev/null >/dev/null 2>&1 || true
}
