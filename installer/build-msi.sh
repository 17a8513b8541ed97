#!/usr/bin/env bash
# Builds the IsapiHost MSI from installer/isapihost.wxs with Debian's wixl
# (package wixl) and finishes it with msibuild (package msitools).
#
#   build-msi.sh --arch x64|x86 --version X.Y.Z --exe isapihost.exe \
#                --worker isapihost-worker.exe \
#                [--worker-x86 x86/isapihost-worker.exe | --no-worker-x86] \
#                --hello hello.dll --stamp stamp.dll --out FILE.msi [--work DIR]
#
# --worker is the worker-pool program of the package's bitness. The x64
# package also ships the x86 build's worker, installed as
# isapihost-worker-x86.exe, which bitness = 32 pools run (docs/pools.md):
# --worker-x86 is required for x64 unless --no-worker-x86 says explicitly
# that the package is to be built without it (its bitness = 32 pools then
# cannot start). An x86 package has no x86-in-x64 worker (a 32-bit service
# runs 32-bit pools only): --worker-x86 is refused there.
#
# The `msi` target (installer/CMakeLists.txt) runs it with the project
# version; tests/integration/test_msi.py runs it again with a higher version
# to build the package it upgrades to.
#
# wixl 0.101 ignores or rejects part of WiX v3 (no IniFile, RemoveFile,
# ServiceConfig, Component/Condition, NeverOverwrite, MajorUpgrade/@Schedule,
# REG_EXPAND_SZ); every such piece is added here, after wixl, as SQL on the
# package's tables, each with the reason next to it.
set -euo pipefail

die() { echo "build-msi: $*" >&2; exit 1; }

arch= version= exe= worker= worker_x86= no_worker_x86= hello= stamp= out= work=
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --exe) exe=$2; shift 2 ;;
    --worker) worker=$2; shift 2 ;;
    --worker-x86) worker_x86=$2; shift 2 ;;
    --no-worker-x86) no_worker_x86=1; shift ;;
    --hello) hello=$2; shift 2 ;;
    --stamp) stamp=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) die "unknown argument '$1' (see the header of $0)" ;;
  esac
done
case "$arch" in x64|x86) ;; *) die "--arch must be x64 or x86, got '$arch'" ;; esac
# Windows Installer versions: major.minor.build, at most 255.255.65535; the
# fourth field would be ignored by upgrades, so it is refused.
[[ "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] ||
  die "--version must be MAJOR.MINOR.BUILD, got '$version'"
((BASH_REMATCH[1] <= 255 && BASH_REMATCH[2] <= 255 && BASH_REMATCH[3] <= 65535)) ||
  die "--version $version is out of range (at most 255.255.65535)"
for f in "$exe" "$worker" "$hello" "$stamp"; do
  [ -n "$f" ] && [ -f "$f" ] || die "missing input file '$f' (--exe, --worker, --hello and --stamp are required)"
done
if [ "$arch" = x86 ]; then
  [ -z "$worker_x86" ] ||
    die "--worker-x86 is for the x64 package only: the x86 package's own worker (--worker) is already 32-bit"
elif [ -n "$no_worker_x86" ]; then
  [ -z "$worker_x86" ] || die "--worker-x86 and --no-worker-x86 contradict each other"
  echo "build-msi: building the x64 package WITHOUT isapihost-worker-x86.exe (--no-worker-x86): its bitness = 32 pools cannot start" >&2
else
  [ -n "$worker_x86" ] ||
    die "the x64 package needs the x86 worker (--worker-x86 FILE, the mingw-x86 build's isapihost-worker.exe, shipped as isapihost-worker-x86.exe for bitness = 32 pools); --no-worker-x86 builds one without it"
  [ -f "$worker_x86" ] ||
    die "missing the x86 worker '$worker_x86' (--worker-x86); --no-worker-x86 builds the x64 package without it"
fi
with_x86_worker=$([ "$arch" = x64 ] && [ -z "$no_worker_x86" ] && echo yes || echo no)
[ -n "$out" ] || die "--out is required"

for tool in wixl msibuild msiinfo; do
  command -v "$tool" >/dev/null ||
    die "'$tool' not found: the MSI is built with Debian's wixl and msitools (apt-get install wixl msitools; cmake/install-deps.sh installs them)"
done

here=$(cd "$(dirname "$0")" && pwd)
wxs=$here/isapihost.wxs
sample=$here/sample
out=$(realpath -m "$out")
work=$(realpath -m "${work:-$out.d}")

# The PE machine must match the package: an x86 package of x64 binaries (or
# the reverse) installs, then its service cannot start.
pe_machine() { od -An -tu2 -j "$(( $(od -An -tu4 -j 60 -N 4 "$1") + 4 ))" -N 2 "$1" | tr -d ' '; }
want=$([ "$arch" = x64 ] && echo 34404 || echo 332) # 0x8664 / 0x14c
for f in "$exe" "$worker" "$hello" "$stamp"; do
  [ "$(pe_machine "$f")" = "$want" ] || die "$f is not a $arch PE file"
done
if [ "$with_x86_worker" = yes ]; then
  [ "$(pe_machine "$worker_x86")" = 332 ] || die "$worker_x86 (--worker-x86) is not an x86 PE file"
fi

# Staging directory: wixl resolves File/@Source relative to its working
# directory (absolute paths are refused).
rm -rf "$work"
mkdir -p "$work/bin/isapi" "$work/bin/filters" "$work/data"
cp "$exe" "$work/bin/isapihost.exe"
# The names the service starts (service/win32/pool_manager_win32.c,
# worker_program), next to isapihost.exe.
cp "$worker" "$work/bin/isapihost-worker.exe"
[ "$with_x86_worker" = no ] || cp "$worker_x86" "$work/bin/isapihost-worker-x86.exe"
cp "$hello" "$work/bin/isapi/hello.dll"
cp "$stamp" "$work/bin/filters/stamp.dll"
cp -r "$sample/." "$work/data/"

# The installed config is the sample's, with three keys left for the
# installer to write (IniFile rows below): the site's bindings (PORT) and the
# two DLL paths (wherever INSTALLDIR is). They are written with
# msidbIniFileActionCreateLine, which adds a key only where it is missing, so
# a reinstall or upgrade never changes what the user set. The sample's
# opening comment (about the README's run command) is replaced.
awk '
  BEGIN { head = 1 }
  head && /^;/ { next }
  head { head = 0
         print "; IsapiHost configuration, installed by the IsapiHost MSI. The IsapiHost service"
         print "; reads it when it starts: restart the service after a change (net stop IsapiHost,"
         print "; net start IsapiHost). Upgrades keep this file as it is; uninstalling removes it."
         print "; The installer wrote the site'"'"'s bindings (the PORT property) and the DLL paths."
         print "; Every key is documented in docs/configuration.md; relative paths are relative"
         print "; to this file'"'"'s directory." }
  /^\[/ { section = $0 }
  section == "[site Default]" && /^bindings[ \t]*=/ { removed++; next }
  (section == "[scriptmap Default .isa]" || section == "[filter stamp]") && /^dll[ \t]*=/ { removed++; next }
  { print }
  END { if (removed != 3) { print "build-msi: the sample config no longer has the 3 keys the installer writes" > "/dev/stderr"; exit 1 } }
' "$sample/isapihost.ini" >"$work/data/isapihost.ini" ||
  die "cannot derive the installed config from installer/sample/isapihost.ini (see above)"

# Every file of the sample site must be in the package: a file added to
# installer/sample/wwwroot without its Component would silently be missing.
(cd "$work/data" && find wwwroot -type f | sort) | while read -r rel; do
  grep -qF "Source=\"data/$rel\"" "$wxs" ||
    die "installer/sample/$rel is not in installer/isapihost.wxs: add a Component (with a new fixed GUID per architecture) for it"
done

msi_tmp=$work/wixl.msi
(cd "$work" && wixl -a "$arch" -D Arch="$arch" -D Version="$version" -D X86Worker="$with_x86_worker" -o "$msi_tmp" "$wxs") >"$work/wixl.log" 2>&1 ||
  { cat "$work/wixl.log" >&2; die "wixl failed"; }
# wixl only warns about attributes and instructions it does not know and
# builds a package without them: treat every warning as an error.
if grep -E 'WARNING|CRITICAL|unhandled' "$work/wixl.log" >/dev/null; then
  cat "$work/wixl.log" >&2
  die "wixl warned (an attribute or instruction it ignores?); the package would not be what isapihost.wxs says"
fi

win64=$([ "$arch" = x64 ] && echo 256 || echo 0) # msidbComponentAttributes64bit
q=() # SQL statements, run in order by one msibuild call
sql() { q+=(-q "$1"); }

# 1. Upgrades keep the user's config. RemoveExistingProducts moves from
#    after InstallValidate (wixl's place: the old product would be removed,
#    config included, before the new one is installed) to after
#    InstallExecute: the new product is installed first over the old one,
#    then the old one is removed, and the components both share (same GUIDs)
#    stay. The config component is NeverOverwrite (msidbComponentAttributes
#    NeverOverwrite, 128): where isapihost.ini exists it is not copied over
#    (nor are its IniFile values written), so a changed config survives.
sql "UPDATE \`InstallExecuteSequence\` SET \`Sequence\` = 6550 WHERE \`Action\` = 'RemoveExistingProducts'"
sql "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('InstallExecute', 6500)"
sql "UPDATE \`Component\` SET \`Attributes\` = $((win64 | 128)) WHERE \`Component\` = 'Config'"

# 2. The installed config (IniFile table, WriteIniValues/RemoveIniValues):
#    the sample site listens on PORT, and the sample DLLs are found where
#    they were installed ([#File] = the file's full installed path). Action 1
#    = msidbIniFileActionCreateLine: the key is written only where it is
#    missing (the installed copy lacks these three keys; see above). On
#    Windows NeverOverwrite already skips the whole component on upgrade;
#    Wine's msi ignores NeverOverwrite for the component and writes the INI
#    values again, which CreateLine turns into no change.
sql "CREATE TABLE \`IniFile\` (\`IniFile\` CHAR(72) NOT NULL, \`FileName\` CHAR(255) NOT NULL LOCALIZABLE, \`DirProperty\` CHAR(72), \`Section\` CHAR(96) NOT NULL LOCALIZABLE, \`Key\` CHAR(128) NOT NULL LOCALIZABLE, \`Value\` CHAR(255) NOT NULL LOCALIZABLE, \`Action\` INT NOT NULL, \`Component_\` CHAR(72) NOT NULL PRIMARY KEY \`IniFile\`)"
ini() { sql "INSERT INTO \`IniFile\` (\`IniFile\`, \`FileName\`, \`DirProperty\`, \`Section\`, \`Key\`, \`Value\`, \`Action\`, \`Component_\`) VALUES ('$1', 'isapihost.ini', 'DATADIR', '$2', '$3', '$4', 1, 'Config')"; }
ini IniSiteBindings 'site Default' bindings '127.0.0.1:[PORT]'
ini IniHelloDll 'scriptmap Default .isa' dll '[#HelloDll]'
ini IniStampDll 'filter stamp' dll '[#StampDll]'
sql "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('RemoveIniValues', 3100)"
sql "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('WriteIniValues', 5100)"

# 3. IIS-compat values: only where they do not exist, or where this product
#    created them (its marker; see the component in isapihost.wxs).
sql "UPDATE \`Component\` SET \`Condition\` = 'NOT IH_W3SVC_MAJORVERSION OR IH_W3SVC_OURS' WHERE \`Component\` = 'IisCompat'"

# 4. EventMessageFile is REG_EXPAND_SZ ("#%" prefix); wixl ignores
#    Type="expandable" and escapes a literal "#%".
sql "UPDATE \`Registry\` SET \`Value\` = '#%[#IsapiHostExe]' WHERE \`Registry\` = 'EventMessageFile'"

# 5. A full uninstall removes what the service wrote: server.log and every
#    site's W3C log folder (W3SVC<id>, one per site of the user's config)
#    under logs\. The RemoveFile table cannot (one folder per row, and Wine's
#    msi ignores its wildcards), so cmd.exe does it: type 34 (exe in a
#    directory) + 64 (exit code ignored) + 1024 (deferred, so after
#    StopServices) + 2048 (as LocalSystem). The second rd removes
#    ProgramData\IsapiHost once it is empty. Only when the Logs component
#    is really removed ($Logs=2): never when an upgrade removes the old
#    product, whose Logs component the new one shares (Windows sets
#    UPGRADINGPRODUCTCODE then; Wine does not, but leaves a shared
#    component's action unset).
sysdir=$([ "$arch" = x64 ] && echo System64Folder || echo SystemFolder)
sql "INSERT INTO \`CustomAction\` (\`Action\`, \`Type\`, \`Source\`, \`Target\`) VALUES ('PurgeLogs', $((34 + 64 + 1024 + 2048)), '$sysdir', '\"[$sysdir]cmd.exe\" /c rd /s /q \"[LOGSDIR].\" & rd \"[DATADIR].\"')"
sql "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Condition\`, \`Sequence\`) VALUES ('PurgeLogs', 'REMOVE~=\"ALL\" AND NOT UPGRADINGPRODUCTCODE AND \$Logs=2', 3550)"

# 6. Wait until the service has stopped before files are removed or
#    replaced. Windows Installer's StopServices waits for STOPPED itself
#    (ServiceControl Wait=yes), so on Windows this finds the service stopped
#    and does nothing; Wine's sends STOP and goes on, so its RemoveFiles or
#    InstallFiles would meet a running isapihost.exe (left behind, or not
#    replaced). `isapihost stop` waits while the service is STOP_PENDING.
#    Deferred (after StopServices, before DeleteServices), as LocalSystem,
#    exit code ignored (the service may not exist: first install); only
#    where this package installs or removes isapihost.exe, so not when an
#    upgrade removes the old product (see 5.), which would stop the new
#    service.
exe_path='[INSTALLDIR]isapihost.exe'
sql "INSERT INTO \`CustomAction\` (\`Action\`, \`Type\`, \`Source\`, \`Target\`) VALUES ('WaitServiceStopped', $((34 + 64 + 1024 + 2048)), '$sysdir', '\"[$sysdir]cmd.exe\" /c if exist \"$exe_path\" \"$exe_path\" stop --name IsapiHost')"
sql "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Condition\`, \`Sequence\`) VALUES ('WaitServiceStopped', 'NOT UPGRADINGPRODUCTCODE AND (\$IsapiHostExe=2 OR \$IsapiHostExe=3)', 1950)"

# 7. Service configuration beyond the ServiceInstall table (Windows
#    Installer 5.0, MsiConfigureServices), as `isapihost install` sets it:
#    delayed auto-start (ConfigType 3), restart on failure after 5 s, 10 s and
#    60 s (SC_ACTION_RESTART = 1; failure count reset after a day), also
#    after an exit with an error (4, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG), an
#    unrestricted service SID (5: NT SERVICE\IsapiHost can be granted rights,
#    and is required for that virtual account), and a preshutdown timeout (7)
#    of the installed config's shutdown_time_limit (90 s) + 10 s, so that at
#    system shutdown Windows waits for a stop as long as the stop watchdog
#    lets it run, and for the watchdog's IH1012 line (service/core/
#    preshutdown.h, ih_preshutdown_timeout_ms; the service corrects it when
#    it starts if its account may, and tests/unit/core/test_preshutdown.c
#    checks this value against sample/isapihost.ini). Events: 1 = install,
#    4 = reinstall. Wine's msi does not implement MsiConfigureServices
#    (docs/install.md).
sql "CREATE TABLE \`MsiServiceConfig\` (\`MsiServiceConfig\` CHAR(72) NOT NULL, \`Name\` CHAR(255) NOT NULL, \`Event\` INT NOT NULL, \`ConfigType\` LONG NOT NULL, \`Argument\` LONGCHAR, \`Component_\` CHAR(72) NOT NULL PRIMARY KEY \`MsiServiceConfig\`)"
svccfg() { sql "INSERT INTO \`MsiServiceConfig\` (\`MsiServiceConfig\`, \`Name\`, \`Event\`, \`ConfigType\`, \`Argument\`, \`Component_\`) VALUES ('$1', 'IsapiHost', 5, $2, '$3', 'IsapiHostExe')"; }
svccfg DelayedAutoStart 3 1
svccfg FailureActionsOnErrorExit 4 1
svccfg ServiceSidUnrestricted 5 1
svccfg PreshutdownTimeout 7 100000
sql "CREATE TABLE \`MsiServiceConfigFailureActions\` (\`MsiServiceConfigFailureActions\` CHAR(72) NOT NULL, \`Name\` CHAR(255) NOT NULL, \`Event\` INT NOT NULL, \`ResetPeriod\` LONG, \`RebootMessage\` CHAR(255) LOCALIZABLE, \`Command\` CHAR(255) LOCALIZABLE, \`Actions\` LONGCHAR, \`DelayActions\` LONGCHAR, \`Component_\` CHAR(72) NOT NULL PRIMARY KEY \`MsiServiceConfigFailureActions\`)"
sql "INSERT INTO \`MsiServiceConfigFailureActions\` (\`MsiServiceConfigFailureActions\`, \`Name\`, \`Event\`, \`ResetPeriod\`, \`Actions\`, \`DelayActions\`, \`Component_\`) VALUES ('RestartOnFailure', 'IsapiHost', 5, 86400, '1[~]1[~]1', '5000[~]10000[~]60000', 'IsapiHostExe')"
sql "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Condition\`, \`Sequence\`) VALUES ('MsiConfigureServices', 'VersionNT >= 600', 5850)"

# 8. Public properties reach the server-side (elevated) part of the install.
secure=$(msiinfo export "$msi_tmp" Property | awk -F'\t' '$1 == "SecureCustomProperties" { print $2 }')
sql "UPDATE \`Property\` SET \`Value\` = '${secure:+$secure;}INSTALLDIR;PORT;SERVICEACCOUNT;SERVICEPASSWORD' WHERE \`Property\` = 'SecureCustomProperties'"

# 9. isapihost.exe is versioned (its VERSIONINFO resource), so its File row
#    must say so: Windows Installer compares the installed file's version
#    with the File table's, and an unversioned row never replaces a
#    versioned file, so an upgrade would keep the old exe. wixl leaves
#    Version empty; the value is read from the exe itself
#    (VS_FIXEDFILEINFO: the signature 0xFEEF04BD, then dwStrucVersion,
#    dwFileVersionMS = major.minor, dwFileVersionLS = patch.build).
pe_file_version() {
  local at struct_lo struct_hi minor major build patch
  for at in $(LC_ALL=C grep -obUaP '\xbd\x04\xef\xfe' "$1" | cut -d: -f1); do
    read -r struct_lo struct_hi minor major build patch < <(od -An -tu2 -j $((at + 4)) -N 12 "$1")
    if [ "$struct_lo.$struct_hi" = 0.1 ]; then # dwStrucVersion 0x00010000: not a stray match
      echo "$major.$minor.$patch.$build"
      return 0
    fi
  done
  return 1
}
exe_version=$(pe_file_version "$exe") || die "$exe has no version resource (service/win32/version.rc.in)"
sql "UPDATE \`File\` SET \`Version\` = '$exe_version', \`Language\` = '1033' WHERE \`File\` = 'IsapiHostExe'"

# 10. The workers are companion files of isapihost.exe (File.Version = its
#    File key; "Companion Files", Windows Installer SDK): they carry no
#    version resource, and an unversioned file that exists is replaced only
#    when it looks unmodified, so an upgrade could keep an old worker next to
#    a new isapihost.exe, whose relay protocol it may not speak. A companion
#    is installed whenever its parent is. (Wine's msi does not follow the
#    parent: it replaces such a file when its size or its MsiFileHash row,
#    which wixl writes, differs; the same outcome for a changed worker.)
workers=(WorkerExe)
[ "$with_x86_worker" = no ] || workers+=(WorkerX86Exe)
for w in "${workers[@]}"; do
  sql "UPDATE \`File\` SET \`Version\` = 'IsapiHostExe' WHERE \`File\` = '$w'"
done

msibuild "$msi_tmp" "${q[@]}" || die "msibuild failed on the package's tables"

# An UPDATE whose WHERE matches nothing succeeds: check the results.
check() { # table expected-line
  msiinfo export "$msi_tmp" "$1" | tr -d '\r' | grep -qxF "$2" || die "table $1 lacks the row: $2"
}
check InstallExecuteSequence $'RemoveExistingProducts\t\t6550'
# Exactly the workers this package should carry, each a companion of isapihost.exe.
got_workers=$(msiinfo export "$msi_tmp" File | tr -d '\r' | awk -F'\t' '$1 ~ /^Worker/ && $5 == "IsapiHostExe" { print $1 }' | sort | tr '\n' ' ')
[ "$got_workers" = "$(printf '%s\n' "${workers[@]}" | sort | tr '\n' ' ')" ] ||
  die "the File table's workers are '$got_workers', expected '${workers[*]}' (each with Version IsapiHostExe)"
msiinfo export "$msi_tmp" File | awk -F'\t' -v v="$exe_version" '$1 == "IsapiHostExe" && $5 == v { ok = 1 } END { exit !ok }' ||
  die "the File row of isapihost.exe does not carry its version $exe_version"
msiinfo export "$msi_tmp" Component | awk -F'\t' -v a=$((win64 | 128)) '$1 == "Config" && $4 == a { ok = 1 } END { exit !ok }' ||
  die "the Config component is not NeverOverwrite"
check Registry $'EventMessageFile\t2\tSYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\IsapiHost\tEventMessageFile\t#%[#IsapiHostExe]\tIsapiHostExe'
msiinfo export "$msi_tmp" Component | awk -F'\t' '$1 == "IisCompat" && $5 != "" { ok = 1 } END { exit !ok }' ||
  die "the IisCompat component has no condition"
msiinfo export "$msi_tmp" Property | grep -q $'^SecureCustomProperties\t.*PORT;SERVICEACCOUNT' ||
  die "SecureCustomProperties was not updated"

mkdir -p "$(dirname "$out")"
mv -f "$msi_tmp" "$out"
echo "build-msi: $out ($arch, version $version; workers: ${workers[*]})"
