#!/usr/bin/env bash
# Checks built Windows binaries without running them (for the x86 build on a
# machine where 32-bit programs cannot run, this is what "checked" means):
#   check-pe.sh MACHINE FILE[=EXPORT,EXPORT...]...
# For each FILE: its PE machine type is MACHINE (x86-64 or i386, as objdump
# names them: pei-x86-64, pei-i386); every export name is undecorated (IIS
# finds GetExtensionVersion, HttpExtensionProc, GetFilterVersion and
# HttpFilterProc with GetProcAddress by those exact names: an i686
# `__stdcall` export left as "Name@4" would not be found; the DLLs link with
# --kill-at); and each EXPORT listed after '=' is exported.
# Prints one line per file and exits 1 if any check failed.
set -uo pipefail
machine=$1; shift
failed=0
for spec in "$@"; do
  file=${spec%%=*}
  wanted=
  [ "$spec" != "$file" ] && wanted=${spec#*=}
  problems=()
  fmt=$(objdump -f "$file" 2>/dev/null | sed -n 's/.*file format \(.*\)$/\1/p')
  [ "$fmt" = "pei-$machine" ] || problems+=("format '${fmt:-unreadable}', expected pei-$machine")
  exports=$(objdump -p "$file" 2>/dev/null | sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/s/^[[:space:]]*\[ *[0-9]*\] //p')
  decorated=$(grep -E '@|^_' <<<"$exports" | tr '\n' ' ')
  [ -z "$decorated" ] || problems+=("decorated exports: $decorated")
  IFS=, read -r -a want <<<"$wanted"
  for name in "${want[@]}"; do
    grep -qx "$name" <<<"$exports" || problems+=("does not export $name")
  done
  if [ ${#problems[@]} -eq 0 ]; then
    listed=$(tr '\n' ' ' <<<"$exports" | sed 's/ *$//')
    echo "ok   $(basename "$file"): $fmt; exports: ${listed:-none}"
  else
    failed=1
    echo "FAIL $(basename "$file"): $(IFS=';'; echo "${problems[*]}")"
  fi
done
exit "$failed"
