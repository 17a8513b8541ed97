#!/usr/bin/env bash
# Builds IsapiHost (MinGW-w64 x86_64) and runs it under Wine in the
# foreground with the sample site on http://127.0.0.1:8080/. Ctrl+C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cmake/install-deps.sh
cmake --preset mingw-x64 >/dev/null
cmake --build --preset mingw-x64 --target isapihost hello stamp -j"$(nproc)"
run_dir=build/mingw-x64/sample
rm -rf "$run_dir" && mkdir -p "$run_dir/isapi" "$run_dir/filters" && cp -r installer/sample/. "$run_dir/"
cp build/mingw-x64/isapi/hello.dll "$run_dir/isapi/"
cp build/mingw-x64/filters/stamp.dll "$run_dir/filters/"
source cmake/wine-prefix.sh
wine_prefix_up "$PWD/build/mingw-x64/wineprefix"
echo "IsapiHost: http://127.0.0.1:8080/   extension: http://127.0.0.1:8080/hello.isa   status: http://127.0.0.1:8080/_isapihost/status"
echo "           filter: every response carries X-Sample-Filter (curl -i)"
echo "           logs in $run_dir/logs; press Ctrl+C to stop"
cd "$run_dir"
rc=0
wine ../service/win32/isapihost.exe run --config isapihost.ini || rc=$?
wine_prefix_down
exit $rc
