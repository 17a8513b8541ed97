# Probes that decide, by running something, what this machine can execute.
# Shared by cmake/install-deps.sh, cmake/run-tests.sh and cmake/wine-run:
#   . cmake/wine-probes.sh
#   ih_probe_kernel_i386            -> IH_KERNEL_I386=yes|no, IH_KERNEL_I386_WHY
#   ih_probe_wine MACHINE [PREFIX]  -> IH_WINE_OK=yes|no,     IH_WINE_WHY
# Each *_WHY is one line for the user. Nothing here installs anything.
#
# Why probes and not package or directory checks (shared wine-notes, appendix
# "32-bit Wine"): some kernels cannot execute 32-bit code at all, and there
# `wine32:i386` installs fine but makes `wine` exec a 32-bit loader that fails
# with "Exec format error", for 64-bit programs too; and a 32-bit Windows
# program under 64-bit-only Wine exits 0 without running. Only running a
# program and reading what it printed tells.

IH_PROBES_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Writes two static ELF programs of a few bytes each (no compiler needed):
#   $1/elf64  x86-64:  mov edi,42; mov eax,60; syscall      -> exit(42)
#   $1/elf32  i386:    mov eax,1; mov ebx,42; inc ebx; int 0x80 -> exit(43)
# elf32's "inc ebx" is the one-byte 0x43, which only 32-bit mode decodes as
# an instruction (64-bit mode reads it as a REX prefix of the next one), so
# exit code 43 proves the code ran in 32-bit mode, through the 32-bit system
# call gate: what Wine's 32-bit loader and 32-bit Windows code both need.
_ih_bytes() { local b fmt=; for b in "$@"; do fmt+="\\x$b"; done; printf "$fmt"; }
_ih_write_probe_elfs() {
  { # ELF64 header: magic, class 64, LSB, version 1; EXEC, x86-64, version 1
    _ih_bytes 7f 45 4c 46 02 01 01 00 00 00 00 00 00 00 00 00 02 00 3e 00 01 00 00 00
    _ih_bytes 78 00 40 00 00 00 00 00 40 00 00 00 00 00 00 00 # entry 0x400078, phoff 64
    _ih_bytes 00 00 00 00 00 00 00 00 00 00 00 00             # shoff 0, flags 0
    _ih_bytes 40 00 38 00 01 00 00 00 00 00 00 00             # ehsize, phentsize, phnum 1, no sections
    # one PT_LOAD, R+X: offset 0 at 0x400000, 132 bytes, align 4 KiB
    _ih_bytes 01 00 00 00 05 00 00 00 00 00 00 00 00 00 00 00
    _ih_bytes 00 00 40 00 00 00 00 00 00 00 40 00 00 00 00 00
    _ih_bytes 84 00 00 00 00 00 00 00 84 00 00 00 00 00 00 00 00 10 00 00 00 00 00 00
    _ih_bytes bf 2a 00 00 00 b8 3c 00 00 00 0f 05             # the code (at 0x78)
  } >"$1/elf64"
  { # ELF32 header: magic, class 32, LSB, version 1; EXEC, i386, version 1
    _ih_bytes 7f 45 4c 46 01 01 01 00 00 00 00 00 00 00 00 00 02 00 03 00 01 00 00 00
    _ih_bytes 54 80 04 08 34 00 00 00 00 00 00 00 00 00 00 00 # entry 0x8048054, phoff 52, shoff 0, flags 0
    _ih_bytes 34 00 20 00 01 00 00 00 00 00 00 00             # ehsize, phentsize, phnum 1, no sections
    # one PT_LOAD, R+X: offset 0 at 0x8048000, 97 bytes, align 4 KiB
    _ih_bytes 01 00 00 00 00 00 00 00 00 80 04 08 00 80 04 08
    _ih_bytes 61 00 00 00 61 00 00 00 05 00 00 00 00 10 00 00
    _ih_bytes b8 01 00 00 00 bb 2a 00 00 00 43 cd 80          # the code (at 0x54)
  } >"$1/elf32"
  chmod +x "$1/elf64" "$1/elf32"
}

# Can this kernel execute 32-bit x86 code? IH_KERNEL_RUNS_I386=yes|no skips
# the probe (the tests of install-deps.sh use it to play either machine).
ih_probe_kernel_i386() {
  IH_KERNEL_I386=no
  case "${IH_KERNEL_RUNS_I386:-}" in
    yes | no)
      IH_KERNEL_I386=$IH_KERNEL_RUNS_I386
      if [ "$IH_KERNEL_I386" = yes ]; then
        IH_KERNEL_I386_WHY="IH_KERNEL_RUNS_I386=yes: taken to run 32-bit programs (not probed)"
      else
        IH_KERNEL_I386_WHY="IH_KERNEL_RUNS_I386=no: taken to run no 32-bit programs (not probed)"
      fi
      return 0 ;;
  esac
  IH_KERNEL_I386_WHY="found no directory to run a probe program from (all noexec?)"
  local base dir rc
  for base in "${TMPDIR:-/tmp}" /var/tmp /dev/shm "${HOME:-/root}"; do
    dir=$(mktemp -d "$base/ih-probe.XXXXXX" 2>/dev/null) || continue
    _ih_write_probe_elfs "$dir"
    rc=0; "$dir/elf64" >/dev/null 2>&1 || rc=$?
    if [ "$rc" != 42 ]; then # cannot run even a 64-bit program from here
      rm -rf "$dir"; continue
    fi
    rc=0; "$dir/elf32" >"$dir/out" 2>&1 || rc=$?
    case "$rc" in
      43) IH_KERNEL_I386=yes
          IH_KERNEL_I386_WHY="the kernel ran a static 32-bit (i386) program" ;;
      126) IH_KERNEL_I386_WHY="the kernel refused a static 32-bit (i386) program: $(sed -n 's/.*: \([^:]*\)$/\1/p' "$dir/out" | tail -n 1) (no 32-bit ELF support)" ;;
      1[3-9][0-9]) IH_KERNEL_I386_WHY="a static 32-bit (i386) program was killed by signal $((rc - 128)) (the kernel loads it but cannot run 32-bit code)" ;;
      *) IH_KERNEL_I386_WHY="a static 32-bit (i386) program exited $rc, not 43 (it did not run in 32-bit mode)" ;;
    esac
    rm -rf "$dir"
    return 0
  done
  return 0
}

# Does Wine run a Windows program of MACHINE (x86-64 or i386)? Builds
# cmake/wine-probe.c with MinGW-w64, runs it with a token and looks for the
# line it prints (the exit code proves nothing: see above). With PREFIX, uses
# that prefix (booted or not); without, a scratch prefix that is deleted
# afterwards (first use of a prefix takes 10-15 s).
ih_probe_wine() { # MACHINE [PREFIX]
  local machine=$1 prefix=${2:-} cc work token rc=0
  IH_WINE_OK=no
  case "$machine" in
    x86-64) cc=x86_64-w64-mingw32-gcc ;;
    i386) cc=i686-w64-mingw32-gcc ;;
    *) IH_WINE_WHY="ih_probe_wine: unknown machine '$machine'"; return 0 ;;
  esac
  if ! command -v wine >/dev/null 2>&1; then
    IH_WINE_WHY="wine is not installed"; return 0
  fi
  if ! command -v "$cc" >/dev/null 2>&1; then
    IH_WINE_WHY="$cc is not installed, so there is no $machine probe program to run"; return 0
  fi
  work=$(mktemp -d "${TMPDIR:-/tmp}/ih-wine-probe.XXXXXX") || { IH_WINE_WHY="mktemp failed"; return 0; }
  if ! "$cc" -O0 -o "$work/wine-probe.exe" "$IH_PROBES_HOME/wine-probe.c" >"$work/cc.log" 2>&1; then
    IH_WINE_WHY="$cc could not build the probe: $(head -n 1 "$work/cc.log")"
    rm -rf "$work"; return 0
  fi
  token="probe-$$-$RANDOM"
  # Output into a file, never a pipe: the first wine of a prefix starts
  # system processes that inherit its descriptors (wine-prefix.sh).
  (
    export WINEPREFIX="${prefix:-$work/prefix}" WINEARCH=win64 WINEDEBUG=-all
    export WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
    unset DISPLAY WAYLAND_DISPLAY
    rc=0
    timeout 300 wine "$work/wine-probe.exe" "$token" >"$work/out" 2>&1 </dev/null || rc=$?
    echo "$rc" >"$work/rc"
    [ -n "$prefix" ] || wineserver -k </dev/null >/dev/null 2>&1 || true
  )
  rc=$(cat "$work/rc" 2>/dev/null || echo '?')
  if tr -d '\r' <"$work/out" | grep -x "wine-probe $machine $token" >/dev/null; then
    IH_WINE_OK=yes
    IH_WINE_WHY="Wine ran the $machine probe program"
  else
    # what Wine said, without the prefix set-up chatter of a first run
    local said
    said=$(tr -d '\r' <"$work/out" | grep -vE 'rundll32|configuration directory|has been updated|^[[:space:]]*$' |
           grep -iE 'error|cannot|could not|not found|failed' | tail -n 1) || true
    IH_WINE_WHY="an $machine Windows program does not run under this Wine (exit $rc without its output line${said:+; wine: $said})"
    if [ "$machine" = i386 ]; then
      if [ ! -x /usr/lib/wine/wine ]; then
        IH_WINE_WHY="$IH_WINE_WHY: wine32:i386 is not installed, and 64-bit-only Wine exits 0 without running a 32-bit program"
      fi
      ih_probe_kernel_i386
      if [ "$IH_KERNEL_I386" = no ]; then
        IH_WINE_WHY="$IH_WINE_WHY; this kernel cannot run 32-bit code ($IH_KERNEL_I386_WHY), so no Wine can run 32-bit programs here"
      fi
    fi
  fi
  rm -rf "$work"
  return 0
}
