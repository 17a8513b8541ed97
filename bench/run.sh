#!/usr/bin/env bash
# IsapiHost benchmark: bash bench/run.sh [--duration S] [--rounds N] [--targets LIST] [--out FILE]
#                     [--baseline-ref REF] [--roundtrips] [--recycle [N]]
#
# Builds the mingw-x64-release preset (optimised, as deployed), then measures keep-alive GETs of 1 KB
# with wrk at 1, 16 and 64 connections against
#   (a) nginx, native             - sanity reference for the machine (GET /index.html)
#   (b) bench/bare_iocp.exe, Wine - the ceiling of an IOCP server under Wine (canned response)
#   (c) isapihost.exe, Wine       - the product, static file (GET /index.html)
#   (d) isapihost.exe, Wine       - (c) with 1 pass-through ISAPI filter registered for every
#                                   notification (bench/passthru_flt.dll)
#   (e) isapihost.exe, Wine       - (c) with 4 of them
#   (f) isapihost.exe, Wine       - the product, ISAPI extension bench/hello_ext.dll
#                                   (GET /hello.bx; same configuration as (c), own start)
#   (g) isapihost.exe, Wine       - (c) with the site in a worker pool ([pool w] mode = worker):
#                                   the file is served by isapihost-worker.exe (ihw)
#   (h) isapihost.exe, Wine       - (f) with the site in that worker pool (extw)
# interleaved (a b c d e f g h a b ...) and keeps the best round per target and count.
# --targets picks some of nginx,bare,ih,flt1,flt4,ext,ihw,extw (e.g. ih,flt1,flt4: more
# rounds of one comparison in the same time); the ratios that need a missing one say n/a.
# --baseline-ref REF also builds REF (a commit, branch or tag of this repository) in
# the git worktree build/bench-baseline with the same preset and measures its ih, ext,
# flt1 and flt4 (those chosen) in the same rounds, right after this tree's: the report
# adds "this tree / REF" per target and connection count (the no-regression check).
# --roundtrips also counts wineserver round trips per request for bare and every
# IsapiHost target (and REF's): strace -c of the server's write/writev calls while
# wrk -c16 runs for --duration seconds, divided by wrk's request count; for ihw and
# extw the worker process's threads are traced too and the sum is counted.
# --recycle [N] measures something else instead of the table: the extension in a
# worker pool with recycle_requests = N (default 20000) against the same pool
# without recycling, interleaved for --rounds rounds, each wrk -t1 -c16 --latency
# for --duration seconds (pick it so that several recycles happen: N / req/s
# seconds each); it reports req/s, errors (non-2xx and socket errors), the
# longest request and the 99th percentile, and the recycles that happened
# (the status page's pools[0].recycles.requests).
# All send the same 1,024-byte body.
# Under Wine the single-threaded wineserver caps every server at a few
# thousand req/s, so only ratios within one run mean anything (README.md).
#
# Exit status: 0 when everything that exists ran (whether or not IsapiHost
# meets its targets, and also when isapihost.exe is not built yet: its
# columns say "skipped"); 1 when something could not run (missing tool, failed build,
# a server that did not start or answer, wrk failure); 2 on bad usage.
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build/mingw-x64-release
PREFIX_DIR=$BUILD/wineprefix
BARE_EXE=$BUILD/bench/bare_iocp.exe
IH_EXE=$BUILD/service/win32/isapihost.exe
EXT_DLL=$BUILD/bench/hello_ext.dll
FLT_DLL=$BUILD/bench/passthru_flt.dll
CONNS=(1 16 64)
TARGETS=(nginx bare ih flt1 flt4 ext ihw extw)
TARGET_PCT=90           # IsapiHost (static file) must reach this % of bare at 16 and 64 connections
EXT_TARGET_PCT=80       # IsapiHost (extension) must reach this % of bare at 16 and 64 connections
FLT_TARGET_PCT=85       # IsapiHost with 4 filters must reach this % of IsapiHost without at 16 and 64
POOL_TARGET_PCT=60      # a worker pool must reach this % of the same target in process at 16 and 64
BODY_SIZE=1024          # body of every target; bench/hello_ext.c sends the same bytes
STATIC_PATH=/index.html
EXT_PATH=/hello.bx      # script map .bx -> hello_ext.dll
START_TIMEOUT=30        # s until a server must accept connections
STOP_TIMEOUT=10         # s after SIGINT/SIGQUIT before SIGKILL

DURATION=5
ROUNDS=2
OUT=
TARGET_LIST=
BASE_REF=
ROUNDTRIPS=0
RECYCLE=0               # --recycle: the recycle-under-load comparison instead of the table
RECYCLE_N=20000         # recycle_requests of the recycling pool
STATUS_PATH=/_isapihost/status   # the default status_path (bench.ini does not set it)

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --duration=*) DURATION=${1#*=}; shift ;;
    --rounds) ROUNDS=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --rounds=*) ROUNDS=${1#*=}; shift ;;
    --targets) TARGET_LIST=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --targets=*) TARGET_LIST=${1#*=}; shift ;;
    --baseline-ref) BASE_REF=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --baseline-ref=*) BASE_REF=${1#*=}; shift ;;
    --roundtrips) ROUNDTRIPS=1; shift ;;
    --recycle)
      RECYCLE=1; shift
      if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then RECYCLE_N=$1; shift; fi ;;
    --recycle=*) RECYCLE=1; RECYCLE_N=${1#*=}; shift ;;
    --out) OUT=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
    --out=*) OUT=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --duration wants whole seconds >= 1" >&2; exit 2; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds wants a number >= 1" >&2; exit 2; }
[[ "$RECYCLE_N" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --recycle wants a request count >= 1" >&2; exit 2; }
if [ "$RECYCLE" = 1 ]; then
  { [ -n "$TARGET_LIST" ] || [ -n "$BASE_REF" ] || [ "$ROUNDTRIPS" = 1 ]; } &&
    { echo "run.sh: --recycle runs on its own (no --targets, --baseline-ref or --roundtrips)" >&2; exit 2; }
  # extw: the pool without recycling; extr: the same with recycle_requests.
  TARGETS=(extw extr)
fi
if [ -n "$TARGET_LIST" ]; then
  chosen=()
  IFS=, read -r -a wanted <<<"$TARGET_LIST"
  for w in "${wanted[@]}"; do
    case " ${TARGETS[*]} " in
      *" $w "*) chosen+=("$w") ;;
      *) echo "run.sh: unknown target '$w' (known: ${TARGETS[*]})" >&2; exit 2 ;;
    esac
  done
  TARGETS=("${chosen[@]}")
fi
# The baseline twin of each IsapiHost target: b<target>, measured right after it.
BASE_DIR=$ROOT/build/bench-baseline
BASE_BUILD=$BASE_DIR/build/mingw-x64-release
BASE_SHA=
if [ -n "$BASE_REF" ]; then
  BASE_SHA=$(git -C "$ROOT" rev-parse --verify --quiet "$BASE_REF^{commit}") ||
    { echo "run.sh: --baseline-ref: '$BASE_REF' is not a commit of this repository" >&2; exit 2; }
  with_base=()
  for t in "${TARGETS[@]}"; do
    with_base+=("$t")
    case "$t" in ih|ext|flt1|flt4) with_base+=("b$t") ;; esac
  done
  TARGETS=("${with_base[@]}")
fi
if [ -n "$OUT" ]; then
  case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac
  [ -d "$(dirname "$OUT")" ] || { echo "run.sh: directory of --out does not exist: $OUT" >&2; exit 2; }
fi

say() { printf 'bench: %s\n' "$*"; }
FAILURES=()   # things that could not run -> exit 1
NOTES=()      # footnotes under the table
fail() { FAILURES+=("$*"); say "ERROR: $*"; }

# ---- tools (install nothing; say what is missing) --------------------------
NGINX=$(command -v nginx || true)
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
missing=()
for t in wrk wine wineserver cmake curl x86_64-w64-mingw32-gcc; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[ -z "$NGINX" ] && missing+=(nginx)
[ "$ROUNDTRIPS" = 1 ] && ! command -v strace >/dev/null 2>&1 && missing+=(strace)
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: missing: ${missing[*]}" >&2
  echo "run.sh: Debian packages: wrk nginx wine wine64 cmake curl gcc-mingw-w64-x86-64 (this script installs nothing)" >&2
  exit 1
fi

# ---- temp dir, cleanup ------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ih-bench.XXXXXX") || exit 1
CUR_PID=     # the server currently running (one at a time)
CUR_KIND=
OWN_WINESERVER=0
cleanup() {
  if [ -n "$CUR_PID" ]; then stop_server; fi
  if [ "$OWN_WINESERVER" = 1 ]; then wine_prefix_down; fi
  # Something could not run: keep the servers' output, logs/server.log and
  # wrk's output for a look (the temp dir is named in the messages).
  if [ ${#FAILURES[@]} -gt 0 ]; then
    say "kept the temp dir for inspection: $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- helpers ------------------------------------------------------------------
label() {
  case "$1" in
    nginx) printf 'nginx native' ;; bare) printf 'bare IOCP (Wine)' ;;
    ih) printf 'IsapiHost (Wine)' ;; ext) printf 'IsapiHost ext (Wine)' ;;
    ihw) printf 'IsapiHost worker pool' ;; extw) printf 'IsapiHost ext worker pool' ;;
    extr) printf 'IsapiHost ext worker pool, recycle_requests=%s' "$RECYCLE_N" ;;
    flt1) printf 'IsapiHost 1 filter' ;; flt4) printf 'IsapiHost 4 filters' ;;
    b*) printf '%s @%s' "$(label "${1#b}")" "${BASE_SHA:0:7}" ;;
  esac
}
url_path() { # TARGET: what wrk and curl ask for
  case "$1" in ext|bext|extw|extr) printf '%s' "$EXT_PATH" ;; *) printf '%s' "$STATIC_PATH" ;; esac
}
free_port() {
  if command -v python3 >/dev/null 2>&1 &&
     python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null; then
    return 0
  fi
  local p i
  for i in $(seq 200); do           # fallback: probe random high ports
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

# Windows path of a Linux path for Wine programs: Z: + path with '\'.
winpath() { local p=$1; printf 'Z:%s' "${p//\//\\}"; }

wait_port() { # PID PORT: 0 when PORT accepts, 1 when PID died or timeout
  local pid=$1 port=$2 i
  for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

wait_exit() { # PID SECONDS: 0 when PID exited in time
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# Stop CUR_PID: nginx gets SIGQUIT (graceful), Wine servers SIGINT (Wine turns
# it into CTRL_C_EVENT); SIGKILL after STOP_TIMEOUT. Sets STOP_NOTE if unclean.
# (Not in $(...): only this shell can wait for its children.)
STOP_NOTE=
stop_server() {
  local pid=$CUR_PID sig=INT kids rc
  STOP_NOTE=
  [ -n "$pid" ] || return 0
  [ "$CUR_KIND" = nginx ] && sig=QUIT
  kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr '\n' ' ')
  kill -s "$sig" "$pid" 2>/dev/null
  if ! wait_exit "$pid" "$STOP_TIMEOUT"; then
    # shellcheck disable=SC2086 # kids: a list of pids
    kill -KILL "$pid" $kids 2>/dev/null
    wait "$pid" 2>/dev/null
    STOP_NOTE="$(label "$CUR_KIND") did not stop within ${STOP_TIMEOUT} s of SIG$sig (killed)"
  else
    wait "$pid" 2>/dev/null; rc=$?
    [ "$rc" = 0 ] || STOP_NOTE="$(label "$CUR_KIND") exited with status $rc after SIG$sig"
  fi
  CUR_PID=
  CUR_KIND=
}

# ---- build ------------------------------------------------------------------
BUILD_OK=1
say "building the mingw-x64-release preset (log: build.log in the temp dir, tail shown on failure)"
if ! (cd "$ROOT" && cmake --preset mingw-x64-release && cmake --build --preset mingw-x64-release -j "$(nproc)") \
     >"$TMP/build.log" 2>&1; then
  BUILD_OK=0
  tail -n 20 "$TMP/build.log" | sed 's/^/  | /'
  fail "the mingw-x64-release preset did not build"
  # Still measure nginx and the baseline: build bare_iocp.c on its own, with
  # the flags the preset's optimised build uses.
  BARE_EXE=$TMP/bare_iocp.exe
  if x86_64-w64-mingw32-gcc -std=gnu11 -O2 -g -gdwarf-4 -Wall -Wextra -Werror \
       -D__USE_MINGW_ANSI_STDIO=1 -D_WIN32_WINNT=0x0601 -DWIN32_LEAN_AND_MEAN \
       -static -static-libgcc "$ROOT/bench/bare_iocp.c" -lws2_32 -lmswsock -o "$BARE_EXE" \
       >>"$TMP/build.log" 2>&1; then
    say "built bare_iocp.exe directly instead; IsapiHost is skipped (its binary could be stale)"
  else
    fail "bare_iocp.c did not compile either"
    BARE_EXE=
  fi
fi

# ---- the baseline: REF in its own worktree, the same preset -------------------
BASE_OK=0
if [ -n "$BASE_REF" ]; then
  say "building the baseline $BASE_REF ($BASE_SHA) in ${BASE_DIR#"$ROOT"/} (log: base-build.log in the temp dir)"
  if {
       if [ -d "$BASE_DIR" ]; then
         git -C "$BASE_DIR" checkout --quiet --detach "$BASE_SHA"
       else
         git -C "$ROOT" worktree add --quiet --detach "$BASE_DIR" "$BASE_SHA"
       fi &&
       (cd "$BASE_DIR" && cmake --preset mingw-x64-release &&
        cmake --build --preset mingw-x64-release -j "$(nproc)" --target isapihost hello_ext passthru_flt)
     } >"$TMP/base-build.log" 2>&1; then
    BASE_OK=1
  else
    tail -n 20 "$TMP/base-build.log" | sed 's/^/  | /'
    fail "the baseline $BASE_REF did not build"
  fi
fi

# ---- what runs --------------------------------------------------------------
declare -A SKIP=()
chosen() { case " ${TARGETS[*]} " in *" $1 "*) return 0 ;; esac; return 1; }
if [ -z "$BARE_EXE" ] || [ ! -f "$BARE_EXE" ]; then
  SKIP[bare]="not built"
  [ "$BUILD_OK" = 1 ] && fail "the build did not produce ${BARE_EXE#"$ROOT"/}"
fi
ih_missing=
if [ "$BUILD_OK" = 0 ]; then
  ih_missing="build failed"
elif [ ! -f "$IH_EXE" ]; then
  ih_missing="not built yet"
  say "SKIPPING IsapiHost: ${IH_EXE#"$ROOT"/} does not exist yet (the server has not landed?)"
fi
WORKER_EXE=${IH_EXE%/*}/isapihost-worker.exe
for t in ih ext flt1 flt4 ihw extw extr; do [ -n "$ih_missing" ] && SKIP[$t]=$ih_missing; done
if [ -z "$ih_missing" ] && [ ! -f "$EXT_DLL" ]; then
  for t in ext extw extr; do
    SKIP[$t]="not built"
    chosen "$t" && fail "the build did not produce ${EXT_DLL#"$ROOT"/}"
  done
fi
if [ -z "$ih_missing" ] && [ ! -f "$WORKER_EXE" ]; then
  for t in ihw extw extr; do
    [ -z "${SKIP[$t]:-}" ] && SKIP[$t]="no worker program"
    chosen "$t" && fail "the build did not produce ${WORKER_EXE#"$ROOT"/}"
  done
fi
if [ -z "$ih_missing" ] && [ ! -f "$FLT_DLL" ]; then
  SKIP[flt1]="not built"
  SKIP[flt4]="not built"
  { chosen flt1 || chosen flt4; } && fail "the build did not produce ${FLT_DLL#"$ROOT"/}"
fi
for t in nginx bare ih flt1 flt4 ext ihw extw extr; do
  chosen "$t" || SKIP[$t]="not in --targets"
done
for t in bih bext bflt1 bflt4; do
  if ! chosen "$t"; then SKIP[$t]="no --baseline-ref"
  elif [ "$BASE_OK" != 1 ]; then SKIP[$t]="baseline not built"
  fi
done

# ---- site, configs ----------------------------------------------------------
SITE=$TMP/site
mkdir -p "$SITE" "$TMP/nginx" "$TMP/logs"
html_head='<!DOCTYPE html><html><head><title>IsapiHost bench</title></head><body><p>'
html_tail='</p></body></html>
'
pad=$((BODY_SIZE - ${#html_head} - ${#html_tail}))
{ printf "%s" "$html_head"; head -c "$pad" /dev/zero | tr "\0" x; printf "%s" "$html_tail"; } >"$SITE/index.html"
[ "$(wc -c <"$SITE/index.html")" -eq "$BODY_SIZE" ] || { echo "run.sh: could not create the 1 KB file" >&2; exit 1; }
# The script map's file: check_file = on (the default, IIS's "verify that
# file exists") wants it to exist; the DLL answers, not the file.
: >"$SITE/hello.bx"
{ [ -z "${SKIP[ext]:-}" ] || [ -z "${SKIP[extw]:-}" ] || [ -z "${SKIP[extr]:-}" ]; } && cp "$EXT_DLL" "$TMP/hello_ext.dll"
# Four copies of the filter: four modules, as four different filters would be.
if [ -z "${SKIP[flt1]:-}" ] || [ -z "${SKIP[flt4]:-}" ]; then
  for i in 1 2 3 4; do cp "$FLT_DLL" "$TMP/passthru_$i.dll"; done
fi
if [ "$BASE_OK" = 1 ]; then
  cp "$BASE_BUILD/bench/hello_ext.dll" "$TMP/hello_ext_base.dll"
  for i in 1 2 3 4; do cp "$BASE_BUILD/bench/passthru_flt.dll" "$TMP/passthru_base_$i.dll"; done
fi

nginx_conf() { # PORT
  local user_line=
  # As root, nginx would drop its workers to "nobody", who cannot read the
  # 0700 temp dir: keep them as the current user.
  [ "$(id -u)" = 0 ] && user_line="user root root;"
  cat <<EOF
$user_line
worker_processes auto;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    types { text/html html; }
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 65;
    keepalive_requests 100000000;  # never close a benchmark connection (default: 1000)
    server {
        listen 127.0.0.1:$1;
        root $SITE;
    }
}
EOF
}

# ---- Wine ---------------------------------------------------------------------
if [ -z "${SKIP[bare]:-}" ] || [ -z "${SKIP[ih]:-}" ] || [ -z "${SKIP[ext]:-}" ] || [ -z "${SKIP[flt1]:-}" ] ||
   [ -z "${SKIP[flt4]:-}" ] || [ -z "${SKIP[ihw]:-}" ] || [ -z "${SKIP[extw]:-}" ] || [ -z "${SKIP[extr]:-}" ] ||
   [ "$BASE_OK" = 1 ]; then
  # shellcheck source=../cmake/wine-prefix.sh
  source "$ROOT/cmake/wine-prefix.sh"
  wine_env "$PREFIX_DIR"
  # Stop the wineserver at the end only if this script started it: a running
  # one belongs to someone else (e.g. ctest on the same prefix).
  # `wineserver -p` fails when a server is already running.
  if [ ! -f "$PREFIX_DIR/system.reg" ] || wineserver -p </dev/null >/dev/null 2>&1; then
    OWN_WINESERVER=1
  else
    say "a wineserver is already running for $PREFIX_DIR; using it and leaving it running"
  fi
  say "booting the Wine prefix ${PREFIX_DIR#"$ROOT"/}"
  wine_prefix_up "$PREFIX_DIR"
  WINE_VERSION=$(wine --version 2>/dev/null </dev/null || echo unknown)
else
  WINE_VERSION=$(WINEDEBUG=-all wine --version 2>/dev/null </dev/null || echo unknown)
fi

# ---- one target, one round --------------------------------------------------
start_server() { # TARGET PORT ROUND
  local t=$1 port=$2 r=$3 log=$TMP/$1-r$3
  case "$t" in
    nginx)
      nginx_conf "$port" >"$TMP/nginx/nginx.conf"
      "$NGINX" -p "$TMP/nginx/" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf" \
        </dev/null >"$log.out" 2>"$log.err" &
      ;;
    bare)
      wine "$BARE_EXE" "$port" "$((2 * $(nproc)))" "$(winpath "$SITE/index.html")" \
        </dev/null >"$log.out" 2>"$log.err" &
      ;;
    ih|ext|flt1|flt4|ihw|extw|extr|bih|bext|bflt1|bflt4)
      # One configuration for all: the static target does not touch the
      # script map (the DLL is loaded on first use); flt1 and flt4 add
      # global filters; ihw, extw and extr put the site in a worker pool
      # (extr recycles its worker every RECYCLE_N requests). The baseline's
      # targets run its own exe and DLLs.
      local exe=$IH_EXE sfx='' pool_line=''
      case "$t" in b*) exe=$BASE_BUILD/service/win32/isapihost.exe; sfx=_base ;; esac
      case "$t" in ihw|extw|extr) pool_line=$'pool = w\n' ;; esac
      printf '[server]\nlog_dir = logs\n\n[site Bench]\nbindings = 127.0.0.1:%s\nroot = site\npermissions = read, script\n%s\n[scriptmap Bench .bx]\ndll = hello_ext%s.dll\nverbs = GET, HEAD\n' \
        "$port" "$pool_line" "$sfx" >"$TMP/bench.ini"
      case "$t" in
        ihw|extw) printf '\n[pool w]\nmode = worker\n' >>"$TMP/bench.ini" ;;
        extr) printf '\n[pool w]\nmode = worker\nrecycle_requests = %s\n' "$RECYCLE_N" >>"$TMP/bench.ini" ;;
      esac
      local n=0 i
      case "$t" in flt1|bflt1) n=1 ;; flt4|bflt4) n=4 ;; esac
      for ((i = 1; i <= n; i++)); do
        printf '\n[filter pass%d]\ndll = passthru%s_%d.dll\n' "$i" "$sfx" "$i" >>"$TMP/bench.ini"
      done
      # cwd = the ini's dir, so relative paths resolve the same either way.
      (cd "$TMP" && exec wine "$exe" run --config "$(winpath "$TMP/bench.ini")") \
        </dev/null >"$log.out" 2>"$log.err" &
      ;;
  esac
  CUR_PID=$!
  CUR_KIND=$t
}

declare -A BEST=()  # "target:conns" -> best req/s
declare -A FLAG=()  # "target:conns" -> "*" if any counted run had errors
declare -A ALL=()   # "target:conns" -> req/s of every round, for the spread

run_target() { # TARGET ROUND
  local t=$1 r=$2 port c threads out rps errs code path
  path=$(url_path "$t")
  port=$(free_port) || { fail "$(label "$t") round $r: no free port"; return; }
  start_server "$t" "$port" "$r"
  if ! wait_port "$CUR_PID" "$port"; then
    if kill -0 "$CUR_PID" 2>/dev/null; then
      fail "$(label "$t") round $r: did not accept connections on 127.0.0.1:$port within ${START_TIMEOUT} s"
    else
      wait "$CUR_PID" 2>/dev/null; code=$?
      fail "$(label "$t") round $r: exited with status $code before accepting connections"
      CUR_PID=; CUR_KIND=
    fi
    tail -n 5 "$TMP/$t-r$r.out" "$TMP/$t-r$r.err" 2>/dev/null | sed 's/^/  | /'
    [ "$t" = nginx ] && tail -n 5 "$TMP/nginx/error.log" 2>/dev/null | sed 's/^/  | /'
    stop_server
    return
  fi
  # Correctness first: a fast 404 is not a result.
  code=$(curl -sS -m 10 -o "$TMP/got" -w '%{http_code}' "http://127.0.0.1:$port$path" 2>"$TMP/curl.err")
  if [ "$code" != 200 ] || ! cmp -s "$TMP/got" "$SITE/index.html"; then
    fail "$(label "$t") round $r: GET $path gave status '${code:-none}' / wrong body; not measured"
    stop_server; [ -n "$STOP_NOTE" ] && NOTES+=("round $r: $STOP_NOTE")
    return
  fi
  for c in "${CONNS[@]}"; do
    threads=1; [ "$c" -ge 64 ] && threads=2
    out=$TMP/wrk-$t-c$c-r$r.txt
    if ! wrk -t"$threads" -c"$c" -d"${DURATION}s" --timeout 5s "http://127.0.0.1:$port$path" \
         </dev/null >"$out" 2>&1; then
      fail "$(label "$t") round $r c=$c: wrk failed: $(tail -n 1 "$out")"
      continue
    fi
    rps=$(awk '/^Requests\/sec:/ { printf "%d", $2 + 0.5 }' "$out")
    if [ -z "$rps" ]; then
      fail "$(label "$t") round $r c=$c: no Requests/sec in wrk output"
      continue
    fi
    errs=$(grep -E 'Socket errors|Non-2xx' "$out" | sed 's/^ *//' | paste -sd ';' -)
    say "round $r  $(printf '%-20s' "$(label "$t")") c=$(printf '%-3s' "$c") $(printf '%7s' "$rps") req/s${errs:+  ($errs)}"
    ALL[$t:$c]="${ALL[$t:$c]:-}${ALL[$t:$c]:+, }$rps"
    [ -n "$errs" ] && NOTES+=("$(label "$t") c=$c round $r: wrk reported $errs")
    if [ -z "${BEST[$t:$c]:-}" ] || [ "$rps" -gt "${BEST[$t:$c]}" ]; then
      BEST[$t:$c]=$rps
      FLAG[$t:$c]=${errs:+ *}   # "*": this best run had errors (notes below)
    fi
    if ! kill -0 "$CUR_PID" 2>/dev/null; then
      wait "$CUR_PID" 2>/dev/null; code=$?   # > 128: killed by signal code - 128
      fail "$(label "$t") round $r: the server died during the c=$c run (exit status $code)"
      tail -n 5 "$TMP/$t-r$r.err" 2>/dev/null | sed 's/^/  | /'
      CUR_PID=; CUR_KIND=
      return
    fi
  done
  stop_server
  [ -n "$STOP_NOTE" ] && { NOTES+=("round $r: $STOP_NOTE"); say "note: $STOP_NOTE"; }
}

# ---- --recycle: one round of one target ----------------------------------------
# wrk -t1 -c16 --latency for --duration seconds; then the status page (the
# pool's recycles) and server.log (IH4004 lines of this run). The timeout is
# long (30 s) so that a request held up by a recycle is measured, not dropped.
declare -A RC=()  # "target:round:field" -> value; fields rps reqs errs errtext max p99 recycles ih4004
to_ms() { # wrk's "12.34ms", "850.00us", "1.02s", "1.50m" -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : -1
    if (f < 0 || v == "") print ""; else printf "%.1f", n * f }'
}
run_recycle_round() { # TARGET ROUND
  local t=$1 r=$2 port path code out log=$TMP/logs/server.log before=0 after status rec
  path=$(url_path "$t")
  port=$(free_port) || { fail "$(label "$t") round $r: no free port"; return; }
  [ -f "$log" ] && before=$(grep -c 'IH4004' "$log")
  start_server "$t" "$port" "$r"
  if ! wait_port "$CUR_PID" "$port"; then
    fail "$(label "$t") round $r: did not accept connections on 127.0.0.1:$port within ${START_TIMEOUT} s"
    tail -n 5 "$TMP/$t-r$r.out" "$TMP/$t-r$r.err" 2>/dev/null | sed 's/^/  | /'
    kill -0 "$CUR_PID" 2>/dev/null || { CUR_PID=; CUR_KIND=; }
    stop_server
    return
  fi
  code=$(curl -sS -m 30 -o "$TMP/got" -w '%{http_code}' "http://127.0.0.1:$port$path" 2>"$TMP/curl.err")
  if [ "$code" != 200 ] || ! cmp -s "$TMP/got" "$SITE/index.html"; then
    fail "$(label "$t") round $r: GET $path gave status '${code:-none}' / wrong body; not measured"
    stop_server; [ -n "$STOP_NOTE" ] && NOTES+=("round $r: $STOP_NOTE")
    return
  fi
  out=$TMP/wrk-$t-r$r.txt
  if ! wrk -t1 -c16 -d"${DURATION}s" --latency --timeout 30s "http://127.0.0.1:$port$path" </dev/null >"$out" 2>&1; then
    fail "$(label "$t") round $r: wrk failed: $(tail -n 1 "$out")"
  else
    RC[$t:$r:rps]=$(awk '/^Requests\/sec:/ { printf "%d", $2 + 0.5 }' "$out")
    RC[$t:$r:reqs]=$(awk '/requests in/ { print $1; exit }' "$out")
    RC[$t:$r:errs]=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
      /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")
    RC[$t:$r:errtext]=$(grep -E 'Socket errors|Non-2xx' "$out" | sed 's/^ *//' | paste -sd ';' -)
    RC[$t:$r:max]=$(to_ms "$(awk '$1 == "Latency" && NF >= 5 { print $4; exit }' "$out")")
    RC[$t:$r:p99]=$(to_ms "$(awk '$1 == "99%" { print $2; exit }' "$out")")
  fi
  # pools[0].recycles.requests; "recycles":{} when there was none
  status=$(curl -sS -m 10 "http://127.0.0.1:$port$STATUS_PATH" 2>/dev/null)
  rec=$(printf '%s' "$status" | grep -o '"recycles":{[^}]*}' | head -n 1)
  if [ -z "$rec" ]; then
    RC[$t:$r:recycles]="?"
    NOTES+=("$(label "$t") round $r: no pools[0].recycles on the status page")
  else
    RC[$t:$r:recycles]=$(printf '%s' "$rec" | grep -o '"requests":[0-9]*' | cut -d: -f2)
    RC[$t:$r:recycles]=${RC[$t:$r:recycles]:-0}
  fi
  stop_server
  [ -n "$STOP_NOTE" ] && { NOTES+=("round $r: $STOP_NOTE"); say "note: $STOP_NOTE"; }
  after=0; [ -f "$log" ] && after=$(grep -c 'IH4004' "$log")
  RC[$t:$r:ih4004]=$((after - before))
  say "round $r  $(label "$t"): ${RC[$t:$r:rps]:-?} req/s, ${RC[$t:$r:reqs]:-?} requests, errors ${RC[$t:$r:errs]:-?}, longest ${RC[$t:$r:max]:-?} ms, 99% ${RC[$t:$r:p99]:-?} ms, recycles ${RC[$t:$r:recycles]} (IH4004 lines: ${RC[$t:$r:ih4004]})"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
if awk -v l="${LOAD_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l + 0 > n / 2) }'; then
  say "note: the machine is busy (load average $LOAD_START on $(nproc) CPUs); expect noisy numbers"
fi
if [ "$RECYCLE" = 1 ]; then
  say "recycle under load: wrk -t1 -c16 -d ${DURATION}s --latency, GET $EXT_PATH in a worker pool, recycle_requests = $RECYCLE_N against none, $ROUNDS rounds interleaved"
else
  say "wrk -d ${DURATION}s, keep-alive GET $STATIC_PATH (extension: $EXT_PATH), $BODY_SIZE-byte bodies, connections ${CONNS[*]}, $ROUNDS rounds interleaved"
fi
for ((r = 1; r <= ROUNDS; r++)); do
  for t in "${TARGETS[@]}"; do
    [ -n "${SKIP[$t]:-}" ] && continue
    if [ "$RECYCLE" = 1 ]; then run_recycle_round "$t" "$r"; else run_target "$t" "$r"; fi
  done
done

# ---- wineserver round trips per request ---------------------------------------
# Every wineserver request is a write (or writev) on the request pipe, then a
# read of the reply: strace -c counts the writes of every thread of the
# server while wrk runs with 16 connections; writes of files (logs) are
# counted too and are few (lines are coalesced). A worker pool's requests
# also cost round trips in the worker, a Linux process of its own (Wine runs
# each Windows process as one): its threads are traced by a second strace
# and the two counts are added.
declare -A RT=()     # target -> round trips per request
declare -A RT_RAW=() # target -> "writes / requests"
declare -A RT_SPLIT=() # target -> "service + worker" writes per request (worker pools)

# The Linux pids of this prefix's isapihost-worker.exe processes (Wine shows
# the Windows command line as the process's; other prefixes are other people's).
worker_pids() {
  local p
  for p in $(pgrep -f 'isapihost-worker' 2>/dev/null); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "WINEPREFIX=$PREFIX_DIR" && echo "$p"
  done
}
tids_of() { # PID...: every thread, comma-separated
  local p
  for p in "$@"; do ls "/proc/$p/task" 2>/dev/null; done | paste -sd, -
}
strace_writes() { # STRACE_C_OUTPUT: calls of write + writev
  awk '$NF == "write" || $NF == "writev" { n += $4 } END { print n + 0 }' "$1" 2>/dev/null
}

count_roundtrips() { # TARGET
  local t=$1 port path out st stw tids wtids wpids reqs writes wwrites=0 spid wspid=
  path=$(url_path "$t")
  port=$(free_port) || { fail "$(label "$t") round trips: no free port"; return; }
  start_server "$t" "$port" rt
  if ! wait_port "$CUR_PID" "$port"; then
    fail "$(label "$t") round trips: did not accept connections on 127.0.0.1:$port"
    tail -n 5 "$TMP/$t-rrt.out" "$TMP/$t-rrt.err" 2>/dev/null | sed 's/^/  | /'
    kill -0 "$CUR_PID" 2>/dev/null || { CUR_PID=; CUR_KIND=; }
    stop_server
    return
  fi
  # warm up (the extension's DLL loads on first use, caches fill, the worker starts)
  wrk -t1 -c16 -d1s --timeout 30s "http://127.0.0.1:$port$path" </dev/null >/dev/null 2>&1
  tids=$(tids_of "$CUR_PID")
  st=$TMP/strace-$t.txt
  stw=$TMP/strace-$t-worker.txt
  out=$TMP/wrk-rt-$t.txt
  strace -f -c -e trace=write,writev -o "$st" -p "$tids" 2>/dev/null &
  spid=$!
  case "$t" in
    ihw|extw)
      wpids=$(worker_pids | paste -sd' ' -)
      if [ -z "$wpids" ]; then
        kill -INT "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
        stop_server
        fail "$(label "$t") round trips: no isapihost-worker process found for $PREFIX_DIR"
        return
      fi
      # shellcheck disable=SC2086 # wpids: a list of pids
      wtids=$(tids_of $wpids)
      strace -f -c -e trace=write,writev -o "$stw" -p "$wtids" 2>/dev/null &
      wspid=$!
      ;;
  esac
  sleep 1
  wrk -t1 -c16 -d"${DURATION}s" --timeout 5s "http://127.0.0.1:$port$path" </dev/null >"$out" 2>&1
  kill -INT "$spid" $wspid 2>/dev/null
  wait "$spid" 2>/dev/null
  [ -n "$wspid" ] && wait "$wspid" 2>/dev/null
  stop_server
  reqs=$(awk '/requests in/ { print $1; exit }' "$out")
  writes=$(strace_writes "$st")
  if [ -n "$wspid" ]; then
    wwrites=$(strace_writes "$stw")
    if [ "$wwrites" = 0 ]; then
      fail "$(label "$t") round trips: no count from the worker (pids $wpids)"
      return
    fi
  fi
  if [ -z "$reqs" ] || [ "$reqs" = 0 ] || [ -z "$writes" ] || [ "$writes" = 0 ]; then
    fail "$(label "$t") round trips: no count (requests '${reqs:-}', writes '${writes:-}')"
    return
  fi
  RT[$t]=$(awk -v w="$((writes + wwrites))" -v r="$reqs" 'BEGIN { printf "%.2f", w / r }')
  RT_RAW[$t]="$((writes + wwrites)) / $reqs"
  if [ -n "$wspid" ]; then
    RT_SPLIT[$t]=$(awk -v a="$writes" -v b="$wwrites" -v r="$reqs" 'BEGIN { printf "%.2f + %.2f", a / r, b / r }')
    RT_RAW[$t]="($writes + $wwrites) / $reqs"
  fi
  say "round trips  $(printf '%-24s' "$(label "$t")") ${RT[$t]} per request (${RT_RAW[$t]} writes / requests${RT_SPLIT[$t]:+; service + worker: ${RT_SPLIT[$t]}})"
}
if [ "$ROUNDTRIPS" = 1 ]; then
  say "counting wineserver round trips per request (strace -c, wrk -c16 -d${DURATION}s)"
  for t in bare "${TARGETS[@]}"; do
    case "$t" in nginx) continue ;; esac
    [ -n "${SKIP[$t]:-}" ] && continue
    [ -n "${RT[$t]:-}" ] && continue
    count_roundtrips "$t"
  done
fi

# ---- report -------------------------------------------------------------------
cell() { # TARGET CONNS
  if [ -n "${SKIP[$1]:-}" ]; then printf 'skipped (%s)' "${SKIP[$1]}"
  elif [ -n "${BEST[$1:$2]:-}" ]; then printf '%d%s' "${BEST[$1:$2]}" "${FLAG[$1:$2]:-}"
  else printf 'failed'; fi
}
ratio() { # NUM DEN -> percentage or n/a
  if [ -n "${1:-}" ] && [ -n "${2:-}" ] && [ "$2" -gt 0 ]; then
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'
  else printf 'n/a'; fi
}

verdict() { # TARGET PERCENT [BASELINE]: PASS, FAIL or NOT EVALUATED (...) at 16 and 64 connections
  local t=$1 pct=$2 base=${3:-bare} v=PASS c a b
  if [ -n "${SKIP[$t]:-}" ]; then
    printf 'NOT EVALUATED (%s skipped: %s)' "$(label "$t")" "${SKIP[$t]}"
    return
  fi
  for c in 16 64; do
    a=${BEST[$t:$c]:-}; b=${BEST[$base:$c]:-}
    if [ -n "${SKIP[$base]:-}" ] || [ -z "$a" ] || [ -z "$b" ]; then
      printf 'NOT EVALUATED (missing results)'
      return
    fi
    awk -v a="$a" -v b="$b" -v p="$pct" 'BEGIN { exit !(100 * a >= p * b) }' || v=FAIL
  done
  printf '%s' "$v"
}

commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ] && commit="$commit (uncommitted changes)"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
report=$TMP/report.md
recycle_report() {
  local t r a b v=PASS nrec=0 errs=0 runs=0 worst_a='' worst_b='' best_a='' best_b=''
  echo "## IsapiHost benchmark: worker recycling under load"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) CPUs${cpu:+ ($cpu)}; load average at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
  echo "- wine: $WINE_VERSION"
  echo "- commit: $commit"
  echo "- method: wrk -t1 -c16 -d${DURATION}s --latency --timeout 30s, keep-alive GET $EXT_PATH (bench/hello_ext.dll, $BODY_SIZE-byte body) with the site in a [pool w] mode = worker pool; the same pool with recycle_requests = $RECYCLE_N (overlapped recycling) and without, $ROUNDS interleaved rounds, each its own start"
  echo
  echo "| round | pool | requests | req/s | errors | longest request (ms) | 99% (ms) | recycles (status page / IH4004 lines) |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|"
  for ((r = 1; r <= ROUNDS; r++)); do
    for t in extw extr; do
      [ -n "${SKIP[$t]:-}" ] && continue
      echo "| $r | $(label "$t") | ${RC[$t:$r:reqs]:-failed} | ${RC[$t:$r:rps]:-} | ${RC[$t:$r:errs]:-} | ${RC[$t:$r:max]:-} | ${RC[$t:$r:p99]:-} | ${RC[$t:$r:recycles]:-} / ${RC[$t:$r:ih4004]:-} |"
    done
  done
  echo
  for ((r = 1; r <= ROUNDS; r++)); do
    a=${RC[extr:$r:rps]:-}; b=${RC[extw:$r:rps]:-}
    [ -n "$a" ] && { [ -z "$best_a" ] || [ "$a" -gt "$best_a" ]; } && best_a=$a
    [ -n "$b" ] && { [ -z "$best_b" ] || [ "$b" -gt "$best_b" ]; } && best_b=$b
    a=${RC[extr:$r:max]:-}; b=${RC[extw:$r:max]:-}
    [ -n "$a" ] && worst_a=$(awk -v x="$a" -v y="${worst_a:-0}" 'BEGIN { print (x > y) ? x : y }')
    [ -n "$b" ] && worst_b=$(awk -v x="$b" -v y="${worst_b:-0}" 'BEGIN { print (x > y) ? x : y }')
    if [ -n "${RC[extr:$r:errs]:-}" ]; then
      runs=$((runs + 1))
      errs=$((errs + ${RC[extr:$r:errs]}))
      [[ "${RC[extr:$r:recycles]:-}" =~ ^[0-9]+$ ]] && nrec=$((nrec + ${RC[extr:$r:recycles]}))
    fi
  done
  echo "- requests per second, best round: recycling $(cell_n "$best_a"), without $(cell_n "$best_b"): recycling / without = $(ratio "$best_a" "$best_b")"
  echo "- longest request, worst round: recycling ${worst_a:-n/a} ms, without ${worst_b:-n/a} ms"
  echo "- recycles in the recycling runs: $nrec in $runs runs"
  [ "$runs" = 0 ] && v="NOT EVALUATED (no recycling run)"
  [ "$runs" -gt 0 ] && [ "$nrec" -lt $((2 * runs)) ] && v="NOT EVALUATED (fewer than 2 recycles per run: lengthen --duration or lower --recycle)"
  [ "$errs" -gt 0 ] && v="FAIL"
  echo
  echo "No errors (non-2xx responses, socket errors) in the recycling runs, with at least 2 recycles per run: $v ($errs errors)"
  for t in extw extr; do
    for ((r = 1; r <= ROUNDS; r++)); do
      [ -n "${RC[$t:$r:errtext]:-}" ] && NOTES+=("$(label "$t") round $r: wrk reported ${RC[$t:$r:errtext]}")
    done
  done
  if [ ${#NOTES[@]} -gt 0 ] || [ ${#FAILURES[@]} -gt 0 ]; then
    echo
    for n in "${NOTES[@]}"; do echo "- $n"; done
    for f in "${FAILURES[@]}"; do echo "- could not run: $f"; done
  fi
}
cell_n() { if [ -n "${1:-}" ]; then printf '%s' "$1"; else printf 'n/a'; fi; }
if [ "$RECYCLE" = 1 ]; then
  recycle_report >"$report"
else
{
  echo "## IsapiHost benchmark"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) CPUs${cpu:+ ($cpu)}; load average at start: $LOAD_START, at end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
  echo "- wine: $WINE_VERSION; nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
  echo "- commit: $commit"
  echo "- method: wrk -t1 (-t2 at 64) -d${DURATION}s, keep-alive GET $STATIC_PATH (static file; extension: $EXT_PATH -> bench/hello_ext.dll), $BODY_SIZE-byte bodies, req/s, best of $ROUNDS interleaved rounds"
  echo
  echo "| connections | nginx native | bare IOCP (Wine) | IsapiHost (Wine) | IsapiHost / bare | IsapiHost / nginx | IsapiHost ext (Wine) | ext / bare | ext / static |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for c in "${CONNS[@]}"; do
    ih=${BEST[ih:$c]:-}; [ -n "${SKIP[ih]:-}" ] && ih=
    ext=${BEST[ext:$c]:-}; [ -n "${SKIP[ext]:-}" ] && ext=
    echo "| $c | $(cell nginx "$c") | $(cell bare "$c") | $(cell ih "$c") | $(ratio "$ih" "${BEST[bare:$c]:-}") | $(ratio "$ih" "${BEST[nginx:$c]:-}") | $(cell ext "$c") | $(ratio "$ext" "${BEST[bare:$c]:-}") | $(ratio "$ext" "$ih") |"
  done
  echo
  echo "IsapiHost >= ${TARGET_PCT}% of bare at 16 and 64 connections: $(verdict ih "$TARGET_PCT")"
  echo "IsapiHost extension >= ${EXT_TARGET_PCT}% of bare at 16 and 64 connections: $(verdict ext "$EXT_TARGET_PCT")"
  echo
  echo "ISAPI filters: the same static file with 0, 1 and 4 pass-through filters registered for every notification (bench/passthru_flt.dll):"
  echo
  echo "| connections | 0 filters | 1 filter | 4 filters | 1 / 0 | 4 / 0 |"
  echo "|---:|---:|---:|---:|---:|---:|"
  for c in "${CONNS[@]}"; do
    ih=${BEST[ih:$c]:-}; [ -n "${SKIP[ih]:-}" ] && ih=
    f1=${BEST[flt1:$c]:-}; [ -n "${SKIP[flt1]:-}" ] && f1=
    f4=${BEST[flt4:$c]:-}; [ -n "${SKIP[flt4]:-}" ] && f4=
    echo "| $c | $(cell ih "$c") | $(cell flt1 "$c") | $(cell flt4 "$c") | $(ratio "$f1" "$ih") | $(ratio "$f4" "$ih") |"
  done
  echo
  echo "IsapiHost with 4 filters >= ${FLT_TARGET_PCT}% of IsapiHost without at 16 and 64 connections: $(verdict flt4 "$FLT_TARGET_PCT" ih)"
  echo
  echo "Worker pools: the same static file and extension with the site in a [pool w] mode = worker pool (served by isapihost-worker.exe, each request relayed over the shared-memory channel):"
  echo
  echo "| connections | static in process | static in a worker | worker / in process | ext in process | ext in a worker | worker / in process |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  for c in "${CONNS[@]}"; do
    ih=${BEST[ih:$c]:-}; [ -n "${SKIP[ih]:-}" ] && ih=
    ext=${BEST[ext:$c]:-}; [ -n "${SKIP[ext]:-}" ] && ext=
    ihw=${BEST[ihw:$c]:-}; [ -n "${SKIP[ihw]:-}" ] && ihw=
    extw=${BEST[extw:$c]:-}; [ -n "${SKIP[extw]:-}" ] && extw=
    echo "| $c | $(cell ih "$c") | $(cell ihw "$c") | $(ratio "$ihw" "$ih") | $(cell ext "$c") | $(cell extw "$c") | $(ratio "$extw" "$ext") |"
  done
  echo
  echo "Static file in a worker pool >= ${POOL_TARGET_PCT}% of in process at 16 and 64 connections: $(verdict ihw "$POOL_TARGET_PCT" ih)"
  echo "Extension in a worker pool >= ${POOL_TARGET_PCT}% of in process at 16 and 64 connections: $(verdict extw "$POOL_TARGET_PCT" ext)"
  echo
  if [ -n "$BASE_REF" ]; then
    echo "This tree against the baseline $BASE_REF ($BASE_SHA), built by this script, same rounds:"
    echo
    echo "| target | connections | this tree | @${BASE_SHA:0:7} | this / baseline |"
    echo "|---|---:|---:|---:|---:|"
    for t in ih ext flt1 flt4; do
      chosen "$t" || continue
      for c in "${CONNS[@]}"; do
        a=${BEST[$t:$c]:-}; [ -n "${SKIP[$t]:-}" ] && a=
        b=${BEST[b$t:$c]:-}; [ -n "${SKIP[b$t]:-}" ] && b=
        echo "| $(label "$t") | $c | $(cell "$t" "$c") | $(cell "b$t" "$c") | $(ratio "$a" "$b") |"
      done
    done
    echo
  fi
  if [ "$ROUNDTRIPS" = 1 ]; then
    echo "Wineserver round trips per request (strace -c: write + writev of every server thread, and for worker pools of every worker thread too, while wrk -t1 -c16 -d${DURATION}s runs, divided by wrk's requests):"
    echo
    echo "| target | round trips per request | service + worker | writes / requests |"
    echo "|---|---:|---:|---:|"
    for t in bare "${TARGETS[@]}"; do
      case "$t" in nginx) continue ;; esac
      [ -n "${RT[$t]:-}" ] || continue
      echo "| $(label "$t") | ${RT[$t]} | ${RT_SPLIT[$t]:-} | ${RT_RAW[$t]} |"
    done | awk '!seen[$0]++'
    echo
  fi
  echo "Every round (req/s), to judge the noise:"
  echo
  for t in "${TARGETS[@]}"; do
    [ -n "${SKIP[$t]:-}" ] && continue
    line=
    for c in "${CONNS[@]}"; do line="$line${line:+; }c=$c: ${ALL[$t:$c]:-none}"; done
    echo "- $(label "$t"): $line"
  done
  if [ ${#NOTES[@]} -gt 0 ] || [ ${#FAILURES[@]} -gt 0 ]; then
    echo
    for n in "${NOTES[@]}"; do echo "- $n"; done
    for f in "${FAILURES[@]}"; do echo "- could not run: $f"; done
  fi
} >"$report"
fi

echo
cat "$report"
if [ -n "$OUT" ]; then
  cp "$report" "$OUT" && say "report written to $OUT"
fi
[ ${#FAILURES[@]} -eq 0 ]
