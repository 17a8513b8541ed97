#!/usr/bin/env bash
# Create/boot or stop the Wine prefix the tests use.
#   source cmake/wine-prefix.sh; wine_prefix_up DIR; ...; wine_prefix_down
# Why the dance (shared/reference/wine-notes.md §1, §5): the first wine
# process spawns services.exe & co., which inherit its stdout/stderr; if that
# is a CTest or `| tee` pipe, the reader hangs. So we boot a persistent
# wineserver with every descriptor pointed at /dev/null before any test runs.
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
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "wine: creating prefix $WINEPREFIX (once per build directory, ~15 s)"
    wineboot --init </dev/null >/dev/null 2>&1
    wineserver -w </dev/null >/dev/null 2>&1
  fi
  wineserver -p </dev/null >/dev/null 2>&1
  wine wineboot </dev/null >/dev/null 2>&1
}
wine_prefix_down() {
  [ -n "${WINEPREFIX:-}" ] && wineserver -k </dev/null >/dev/null 2>&1 || true
}
