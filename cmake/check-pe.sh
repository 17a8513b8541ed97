#!/usr/bin/env bash
# Checks built Windows binaries without running them (for the x86 build on a
# machine where 32-bit programs cannot run, this is what "checked" means):
#   check-pe.sh MACHINE [--subsystem gui|console] [--import DLL=FUNC,FUNC]... FILE[=EXPORT,EXPORT...]...
# For each FILE: its PE machine type is MACHINE (x86-64 or i386, as objdump
# names them: pei-x86-64, pei-i386); every export name is undecorated (IIS
# finds GetExtensionVersion, HttpExtensionProc, GetFilterVersion and
# HttpFilterProc with GetProcAddress by those exact names: an i686
# `__stdcall` export left as "Name@4" would not be found; the DLLs link with
# --kill-at); and each EXPORT listed after '=' is exported. It imports no
# MinGW runtime DLL (libwinpthread-1.dll, libgcc_s_*.dll, ...): every
# program links -static, and neither the MSI nor a copied build ships them,
# so such an import would stop the program from starting at all.
# The options apply to every FILE: --subsystem, the PE optional header's
# Subsystem (gui = IMAGE_SUBSYSTEM_WINDOWS_GUI, 2; console =
# IMAGE_SUBSYSTEM_WINDOWS_CUI, 3); --import, each FUNC is imported by name
# from DLL (the DLL name compared without regard to case, as the loader does).
# Prints one line per file and exits 1 if any check failed.
set -uo pipefail
die() { echo "check-pe: $*" >&2; exit 2; }
[ $# -ge 1 ] || die "usage: check-pe.sh MACHINE [--subsystem gui|console] [--import DLL=FUNC,...]... FILE[=EXPORT,...]..."
machine=$1; shift
subsystem=
imports=()
while [ $# -gt 0 ]; do
  case "$1" in
    --subsystem)
      case "${2:-}" in gui) subsystem="Windows GUI" ;; console) subsystem="Windows CUI" ;;
        *) die "--subsystem must be gui or console, got '${2:-}'" ;; esac
      shift 2 ;;
    --import)
      [[ "${2:-}" == ?*=?* ]] || die "--import needs DLL=FUNC[,FUNC...], got '${2:-}'"
      imports+=("$2"); shift 2 ;;
    --*) die "unknown option '$1'" ;;
    *) break ;;
  esac
done
failed=0
for spec in "$@"; do
  file=${spec%%=*}
  wanted=
  [ "$spec" != "$file" ] && wanted=${spec#*=}
  problems=()
  fmt=$(objdump -f "$file" 2>/dev/null | sed -n 's/.*file format \(.*\)$/\1/p')
  [ "$fmt" = "pei-$machine" ] || problems+=("format '${fmt:-unreadable}', expected pei-$machine")
  headers=$(objdump -p "$file" 2>/dev/null)
  exports=$(sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/s/^[[:space:]]*\[ *[0-9]*\] //p' <<<"$headers")
  decorated=$(grep -E '@|^_' <<<"$exports" | tr '\n' ' ')
  [ -z "$decorated" ] || problems+=("decorated exports: $decorated")
  IFS=, read -r -a want <<<"$wanted"
  for name in "${want[@]}"; do
    grep -qx "$name" <<<"$exports" || problems+=("does not export $name")
  done
  # The import directory as objdump prints it: "DLL Name: X", a header
  # line, then one "<vma> <hint> <name>" line per function imported by name.
  # As "dll!function" lines, the DLL name in lower case.
  imported=$(awk '/^\tDLL Name: / { dll = tolower($3); next }
                  dll != "" && /^\t[0-9a-fA-F]+\t +[0-9]+ +[^ ]/ { print dll "!" $3; next }
                  /^$/ { dll = "" }' <<<"$headers")
  runtime=$(cut -d'!' -f1 <<<"$imported" | sort -u | grep -E '^lib.*\.dll$' | tr '\n' ' ')
  [ -z "$runtime" ] || problems+=("imports MinGW runtime DLLs: $runtime")
  if [ -n "$subsystem" ]; then
    got=$(sed -n 's/^Subsystem[[:space:]]*[0-9a-fA-F]*[[:space:]]*(\(.*\))$/\1/p' <<<"$headers")
    [ "$got" = "$subsystem" ] || problems+=("subsystem '${got:-unreadable}', expected '$subsystem'")
  fi
  for spec_import in "${imports[@]}"; do
    dll=$(tr '[:upper:]' '[:lower:]' <<<"${spec_import%%=*}")
    IFS=, read -r -a funcs <<<"${spec_import#*=}"
    for func in "${funcs[@]}"; do
      grep -qxF "$dll!$func" <<<"$imported" || problems+=("does not import $func from ${spec_import%%=*}")
    done
  done
  if [ ${#problems[@]} -eq 0 ]; then
    listed=$(tr '\n' ' ' <<<"$exports" | sed 's/ *$//')
    dlls=$(cut -d'!' -f1 <<<"$imported" | sort -u | tr '\n' ' ' | sed 's/ *$//')
    echo "ok   $(basename "$file"): $fmt${subsystem:+, $subsystem}; exports: ${listed:-none}; imports from: ${dlls:-none}"
  else
    failed=1
    echo "FAIL $(basename "$file"): $(IFS=';'; echo "${problems[*]}")"
  fi
done
exit "$failed"
