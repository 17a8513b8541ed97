"""Helpers for the IsapiHost integration tests (stdlib only).

- IniConfig: builds the server's INI file; tests add keys as dict items.
- IHServer:  runs `wine isapihost.exe run --config <Windows path>` with the
  Wine rules of shared/reference/wine-notes.md: stdin=/dev/null, output to a
  FILE (a pipe could be inherited by Wine's system processes and hang us),
  WINEDEBUG=-all, no winedbg, no DISPLAY; graceful stop = SIGINT (Wine turns
  it into CTRL_C_EVENT), SIGTERM would kill the process without notice.
- HttpConn:  a raw-socket HTTP/1.x client that reads exactly one response at
  a time (pipelining, 100 Continue, HEAD, 304) and can wait for EOF.

Every blocking call has a timeout: nothing here can hang a test run.
"""

import atexit
import ctypes
import email.utils
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path


def _time_scale():
    """IH_TIME_SCALE (default 1): how much slower than usual this machine is.
    Every timeout of this harness, and the waits and timer lengths of the
    timer tests, are multiplied by it (README.md, "Slow machines"). Only
    upper bounds grow: what must not happen before a time still must not."""
    raw = os.environ.get("IH_TIME_SCALE", "1")
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"IH_TIME_SCALE={raw!r} is not a number") from None
    if not value >= 1.0:
        raise SystemExit(f"IH_TIME_SCALE={raw!r}: must be at least 1 (it only lengthens waits)")
    return value


TIME_SCALE = _time_scale()


def scaled(seconds):
    """A wait or timeout of `seconds` on a normal machine, for this one."""
    return seconds * TIME_SCALE


def scaled_whole(seconds):
    """scaled() rounded up to whole seconds, for the server's INI timers."""
    return int(math.ceil(seconds * TIME_SCALE))


DEFAULT_TIMEOUT = scaled(10.0)   # seconds for one socket operation / one response
START_TIMEOUT = scaled(30.0)     # until the server accepts TCP connections
STOP_TIMEOUT = scaled(30.0)      # after SIGINT until the process must have exited
WINE_DLLOVERRIDES = "mscoree,mshtml=;winedbg.exe=d"
KEEP_MAX_FILE = 8 << 20  # files above this size are not copied into kept logs

CRLF = b"\r\n"

# Every IHServer ever created in this process, in creation order (conftest
# uses it to find the servers a failed test touched, and to kill leftovers).
SERVERS = []


class ServerError(AssertionError):
    """The server process misbehaved (did not start, stop, or exit cleanly)."""


class ProtocolError(AssertionError):
    """The server's bytes are not a valid HTTP response, or came up short."""


class HttpTimeout(AssertionError):
    """No (complete) answer within the timeout."""


# ---------------------------------------------------------------- paths/ports

def win_path(path):
    """Linux absolute path -> the Windows path Wine maps it to (Z: drive)."""
    return "Z:" + os.path.abspath(os.fspath(path)).replace("/", "\\")


def win_rel(path):
    """A relative path written the Windows way (for config values)."""
    return os.fspath(path).replace("/", "\\")


def free_ports(count=1):
    """`count` distinct TCP ports that were free on 127.0.0.1 a moment ago."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    return free_ports(1)[0]


def write_files(base, files):
    """Creates files under base from {relative path: str|bytes}. Returns base."""
    base = Path(base)
    for rel, content in files.items():
        p = base / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return base


def set_mtime(path, unix_seconds):
    os.utime(path, (unix_seconds, unix_seconds))


def http_date(unix_seconds):
    """IMF-fixdate, e.g. 'Thu, 02 Jan 2020 03:04:05 GMT'."""
    return email.utils.formatdate(unix_seconds, usegmt=True)


HTTP_DATE_RE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d GMT$")


def parse_http_date(value):
    if value is None or not HTTP_DATE_RE.match(value):
        raise AssertionError(f"not an IMF-fixdate HTTP date: {value!r}")
    return email.utils.parsedate_to_datetime(value)


# ---------------------------------------------------------------- config

def _ini_value(v):
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return str(v)


def worker_mode():
    """True when this suite runs with every site in a worker pool
    (integration/*@worker, tests/integration/CMakeLists.txt)."""
    return os.environ.get("IH_POOL_MODE") == "worker"


def filter_dll(dlls, name):
    """A test filter DLL; in worker mode its build without READ_RAW_DATA
    (name_noraw.dll), which worker pools refuse (docs/pools.md)."""
    if worker_mode():
        noraw = Path(dlls) / name.replace(".dll", "_noraw.dll")
        if noraw.is_file():
            return noraw
    return Path(dlls) / name


def pool_of(st, name="w"):
    """A pool of the status page's "pools" array, by name (docs/pools.md)."""
    for p in st.get("pools", []):
        if p["name"] == name:
            return p
    return None


def worker_pids(st, name="w"):
    """The pids of a pool's live workers, from the status page."""
    p = pool_of(st, name)
    return [w["pid"] for w in p["workers"]] if p else []


class IniConfig:
    """The server's INI file, kept as ordered sections of ordered keys.

    cfg.server["header_timeout"] = 2
    site = cfg.site("main", bindings="127.0.0.1:8080", root="www")
    site["error_page.404"] = "errors\\\\404.html"
    cfg.vdir("main", "/docs", path="docs", permissions="read")
    cfg.mime[".foo"] = "application/x-foo"
    """

    def __init__(self, workdir, file_name="isapihost.ini"):
        self.workdir = Path(workdir)
        self.path = self.workdir / file_name
        self.sections = {}
        self.section("server")

    def section(self, header):
        return self.sections.setdefault(header, {})

    @property
    def server(self):
        return self.section("server")

    @property
    def mime(self):
        return self.section("mime")

    def site(self, name, **keys):
        s = self.section(f"site {name}")
        s.update(keys)
        return s

    def vdir(self, site, url, **keys):
        s = self.section(f"vdir {site} {url}")
        s.update(keys)
        return s

    def site_names(self):
        return [h.split(" ", 1)[1] for h in self.sections if h.startswith("site ")]

    def site_dir(self, name="main"):
        """Linux path of a site's root directory."""
        root = self.sections[f"site {name}"]["root"]
        return self._resolve(root)

    def _resolve(self, value):
        value = str(value)
        if re.match(r"^[A-Za-z]:", value):
            if value[0] in "zZ":
                return Path(value[2:].replace("\\", "/"))
            raise ValueError(f"cannot map Windows path {value!r} to Linux")
        value = value.replace("\\", "/")
        return Path(value) if value.startswith("/") else self.workdir / value

    def bindings(self):
        """[(site, port, host)] for every binding of every site."""
        out = []
        for name in self.site_names():
            for b in str(self.sections[f"site {name}"].get("bindings", "")).split(","):
                b = b.strip()
                if not b:
                    continue
                parts = b.split(":")
                out.append((name, int(parts[1]), parts[2] if len(parts) > 2 else ""))
        return out

    def ports(self):
        seen = []
        for _, port, _ in self.bindings():
            if port not in seen:
                seen.append(port)
        return seen

    @property
    def port(self):
        return self.ports()[0]

    @property
    def log_dir(self):
        """Linux path of the server log directory ([server] log_dir, default 'logs')."""
        return self._resolve(self.server.get("log_dir", "logs"))

    @property
    def status_path(self):
        return self.server.get("status_path", "/_isapihost/status")

    def render(self):
        out = []
        sections = dict(self.sections)
        if worker_mode():
            # The suites that run twice (tests/integration/CMakeLists.txt):
            # every site without a pool of its own runs in a worker pool.
            # ping_interval 1: the status page's figures of the worker (its
            # private bytes, handles, extension sessions) come with its pongs.
            sections.setdefault("pool ih-suite", {"mode": "worker", "ping_interval": 1})
            for header, keys in sections.items():
                if header.startswith("site ") and "pool" not in keys:
                    sections[header] = dict(keys, pool="ih-suite")
        for header, keys in sections.items():
            if header == "mime" and not keys:
                continue
            out.append(f"[{header}]")
            out.extend(f"{k} = {_ini_value(v)}" for k, v in keys.items())
            out.append("")
        return "\r\n".join(out)

    def write(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.path.write_text(self.render(), encoding="utf-8", newline="")
        return self.path


# ---------------------------------------------------------------- wine

def wine_env(prefix=None):
    env = dict(os.environ)
    env["WINEDEBUG"] = "-all"
    env["WINEDLLOVERRIDES"] = WINE_DLLOVERRIDES
    env["WINEARCH"] = "win64"
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    if prefix:
        env["WINEPREFIX"] = os.fspath(prefix)
    return env


class WinePrefix:
    """A Wine prefix of a test's own, for what must not touch the shared one
    (services, installers, registry values other tests read). up() boots it
    fresh (~15 s) with a persistent wineserver, as cmake/wine-prefix.sh does
    for the shared prefix; down() kills that wineserver and everything in
    the prefix (services included)."""

    def __init__(self, path, repo):
        self.path = Path(path)
        self.repo = Path(repo)

    def up(self, timeout=180):
        if self.path.exists():
            self.down()  # a server left by an earlier run must not outlive its prefix
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        script = self.repo / "cmake" / "wine-prefix.sh"
        subprocess.run(["bash", "-c", '. "$1" && wine_prefix_up "$2"', "wine-prefix", os.fspath(script),
                        os.fspath(self.path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=wine_env(self.path), timeout=timeout, check=False)
        if not (self.path / "system.reg").exists():
            raise ServerError(f"Wine prefix {self.path} was not created")
        return self

    def wine(self, *args, timeout=120):
        """`wine args...` in this prefix; a CompletedProcess with text output."""
        return subprocess.run(["wine", *[os.fspath(a) for a in args]], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace", env=wine_env(self.path),
                              timeout=timeout)

    def down(self):
        subprocess.run(["wineserver", "-k"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=wine_env(self.path), timeout=30, check=False)


def pe_machine(path):
    """PE machine field of an .exe: 0x8664 = x86-64, 0x14c = i386."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:2] != b"MZ":
        raise ValueError(f"{path} is not a PE file (no MZ header)")
    off = int.from_bytes(head[0x3C:0x40], "little")
    f_sig = head[off:off + 4] if off + 6 <= len(head) else b""
    if f_sig != b"PE\0\0":
        raise ValueError(f"{path} is not a PE file (no PE signature)")
    return int.from_bytes(head[off + 4:off + 6], "little")


def _die_with_parent():
    """preexec_fn: the server gets SIGKILL if pytest dies (e.g. CTest timeout)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # best effort only
        pass


def _tail(path, lines=40, max_bytes=64 << 10):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError as e:
        return f"<cannot read {path}: {e.strerror}>"
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:]) if text else "<empty>"


def _copy_ignore(directory, names):
    skip = []
    for n in names:
        try:
            if os.path.getsize(os.path.join(directory, n)) > KEEP_MAX_FILE and \
                    os.path.isfile(os.path.join(directory, n)):
                skip.append(n)
        except OSError:
            pass
    return skip


def copy_tree(src, dest):
    """Best-effort copy (files may be written while we copy; big files skipped)."""
    try:
        shutil.copytree(src, dest, ignore=_copy_ignore, dirs_exist_ok=True, symlinks=True)
    except shutil.Error:
        pass
    except OSError:
        pass


def read_log_lines(path):
    """The lines of a log file (the server writes UTF-8); none if it does not exist yet."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []


def read_log_text(path):
    """A log file's text (UTF-8); empty if it does not exist yet."""
    return "\n".join(read_log_lines(path))


def wait_for_log(path, until, what=None, timeout=10.0):
    """Polls the log file at `path` until `until` holds, then returns its lines.
    `until` is a text some line must contain, a compiled regular expression
    some line must match (re.search), or a function of the list of lines.
    The server's log writer is a thread of its own: a line about something
    that just happened may reach the file a moment later. The timeout
    (seconds) is scaled by IH_TIME_SCALE; past it, the assertion names `what`
    (by default the text or pattern) and shows the log's end."""
    if what is None:
        what = repr(until if isinstance(until, str) else getattr(until, "pattern", until))
    if isinstance(until, str):
        text = until
        until = lambda lines: any(text in line for line in lines)  # noqa: E731
    elif isinstance(until, re.Pattern):
        pattern = until
        until = lambda lines: any(pattern.search(line) for line in lines)  # noqa: E731
    limit = scaled(timeout)
    deadline = time.monotonic() + limit
    while True:
        lines = read_log_lines(path)
        if until(lines):
            return lines
        if time.monotonic() > deadline:
            raise AssertionError(f"{Path(path).name} never showed {what} within {limit:.0f} s; its end:\n"
                                 + "\n".join(lines[-40:]))
        time.sleep(0.1)


class IHServer:
    """One isapihost.exe process under Wine, with its own work directory."""

    def __init__(self, exe, config, prefix=None, name=None):
        self.exe = Path(exe)
        self.config = config
        self.workdir = config.workdir
        self.name = name or self.workdir.name
        self.prefix = prefix
        self.output_path = self.workdir / "server-output.txt"
        self.proc = None
        self.returncode = None
        self.keep_dirs = []  # copies of workdir to refresh after the process ends
        self.run_args = []  # more options for `run` (--name NAME)
        SERVERS.append(self)

    # -- properties
    @property
    def port(self):
        return self.config.port

    @property
    def log_dir(self):
        return self.config.log_dir

    @property
    def server_log(self):
        return self.log_dir / "server.log"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def wait_for_log(self, until, what=None, timeout=10.0):
        """wait_for_log() on this server's server.log."""
        return wait_for_log(self.server_log, until, what, timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # -- lifetime
    def command(self):
        return ["wine", os.fspath(self.exe), "run", "--config", win_path(self.config.path), *self.run_args]

    def start(self, timeout=START_TIMEOUT):
        if self.proc is not None:
            raise ServerError(f"{self.name}: already started")
        self.config.write()
        with open(self.output_path, "ab") as out:
            out.write(("$ " + " ".join(self.command()) + "\n").encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.command(), cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, env=wine_env(self.prefix), preexec_fn=_die_with_parent)
        self.wait_listening(timeout)
        return self

    def wait_listening(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        pending = list(self.config.ports())
        while pending:
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                raise ServerError(f"{self.name}: isapihost exited with code {rc} before listening on "
                                  f"127.0.0.1:{pending[0]}\n{self.diagnostics()}")
            for port in list(pending):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
                    pending.remove(port)
                except OSError:
                    pass
            if pending and time.monotonic() > deadline:
                self.kill()
                raise ServerError(f"{self.name}: not listening on 127.0.0.1:{pending[0]} after {timeout:.0f} s"
                                  f" (killed)\n{self.diagnostics()}")
            if pending:
                time.sleep(0.1)

    def signal_stop(self):
        """Sends SIGINT (graceful stop) without waiting."""
        if self.alive():
            self.proc.send_signal(signal.SIGINT)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Waits for the process to end; kills it and raises if it does not."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerError(f"{self.name}: still running {timeout:.0f} s after SIGINT; killed it\n"
                              f"{self.diagnostics()}")
        finally:
            self._refresh_kept()
        return self.returncode

    def stop(self, timeout=STOP_TIMEOUT, expect_rc=0):
        """Graceful stop (SIGINT); asserts the exit code. Idempotent."""
        if self.proc is None:
            return None
        if self.returncode is None:
            self.signal_stop()
            self.wait_exit(timeout)
        if expect_rc is not None and self.returncode != expect_rc:
            raise ServerError(f"{self.name}: exit code {self.returncode} after SIGINT, expected {expect_rc}"
                              f"\n{self.diagnostics()}")
        return self.returncode

    def kill(self):
        """SIGKILL (cleanup only; never the way a test stops a server)."""
        if self.alive():
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None and self.returncode is None:
            self.returncode = self.proc.poll()
        self._refresh_kept()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.stop()
        else:
            self.kill()
        return False

    # -- diagnostics
    def diagnostics(self, lines=40):
        state = "running" if self.alive() else f"exit code {self.returncode if self.proc else 'never started'}"
        return (f"--- {self.name} ({state}); work dir {self.workdir}\n"
                f"--- command: {' '.join(self.command())}\n"
                f"--- last lines of {self.output_path}:\n{_tail(self.output_path, lines)}\n"
                f"--- last lines of {self.server_log}:\n{_tail(self.server_log, lines)}")

    def snapshot(self, dest):
        """Copies the work dir (config, output, logs, site) to dest now, and
        again when the process has ended (logs are flushed at the latest on stop)."""
        dest = Path(dest)
        copy_tree(self.workdir, dest)
        if dest not in self.keep_dirs:
            self.keep_dirs.append(dest)

    def _refresh_kept(self):
        for d in self.keep_dirs:
            copy_tree(self.workdir, d)

    # -- HTTP conveniences
    def conn(self, **kw):
        return HttpConn(self.port, **kw)

    def fetch(self, target, **kw):
        return fetch(self.port, target, **kw)

    def status(self, path=None):
        """GET the status page (own connection, closed after); returns the dict."""
        r = fetch(self.port, path or self.config.status_path)
        if r.status != 200:
            raise AssertionError(f"status page: expected 200, got\n{r.describe()}")
        ctype = (r.header("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            raise AssertionError(f"status page: Content-Type {r.header('Content-Type')!r}, "
                                 f"expected application/json")
        try:
            data = json.loads(r.body.decode("utf-8"))
        except ValueError as e:
            raise AssertionError(f"status page body is not JSON ({e}): {r.body[:300]!r}")
        for key in ("connections_live", "requests_in_flight", "connections_total", "requests_total",
                    "bytes_received", "bytes_sent"):
            if not isinstance(data.get(key), int) or isinstance(data.get(key), bool):
                raise AssertionError(f"status page: {key!r} missing or not an integer in {data}")
        return data

    def wait_status(self, predicate, timeout=10.0, what="condition"):
        """Polls the status page until predicate(dict) holds; returns the dict.
        The timeout is scaled by IH_TIME_SCALE."""
        timeout = scaled(timeout)
        deadline = time.monotonic() + timeout
        last = None
        while True:
            last = self.status()
            if predicate(last):
                return last
            if time.monotonic() > deadline:
                raise AssertionError(f"status page never showed {what} within {timeout:.0f} s; last: {last}")
            time.sleep(0.2)


def kill_all():
    for s in SERVERS:
        try:
            if s.alive():
                s.proc.kill()
        except Exception:
            pass


atexit.register(kill_all)


# ---------------------------------------------------------------- HTTP client

def _b(x):
    if x is None:
        return None
    if isinstance(x, (bytes, bytearray)):
        return bytes(x)
    return str(x).encode("utf-8")


def build_request(method, target, headers=(), body=b"", version="HTTP/1.1", host="localhost",
                  content_length=True):
    """Raw request bytes. version=None gives an HTTP/0.9 request line.
    Host is added first (unless host=None or headers carry one); Content-Length
    is added for a non-empty body unless the headers carry CL/TE."""
    method, target, body = _b(method), _b(target), _b(body) or b""
    if version is None:
        return method + b" " + target + CRLF
    hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers)
    names = {_b(n).lower() for n, _ in hdrs}
    lines = [method + b" " + target + b" " + _b(version)]
    if host is not None and b"host" not in names:
        lines.append(b"Host: " + _b(host))
    lines += [_b(n) + b": " + _b(v) for n, v in hdrs]
    if body and content_length and b"content-length" not in names and b"transfer-encoding" not in names:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return CRLF.join(lines) + CRLF + CRLF + body


class Response:
    def __init__(self, version, status, reason, headers, head_bytes):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # [(name, value)] as sent
        self.head_bytes = head_bytes
        self.body = b""
        self.interim = []       # 1xx responses that came before this one

    def header(self, name, default=None):
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return default

    def header_list(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    def tokens(self, name):
        """Comma-list header values as a set of lower-case tokens."""
        out = set()
        for v in self.header_list(name):
            out.update(t.strip().lower() for t in v.split(",") if t.strip())
        return out

    def describe(self, body_limit=400):
        body = self.body[:body_limit]
        more = f"... ({len(self.body)} bytes)" if len(self.body) > body_limit else ""
        return self.head_bytes.decode("latin-1") + "\n\n" + repr(body) + more

    def __repr__(self):
        return f"<Response {self.status} {self.reason!r} {len(self.body)} body bytes>"


class HttpConn:
    """One client connection with an input buffer, so pipelined responses can
    be read one at a time. Every read has a deadline."""

    def __init__(self, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT, rcvbuf=None):
        self.port = port
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False
        self.reset = False
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.settimeout(timeout)
            s.connect((host, port))
        except BaseException:
            s.close()
            raise
        self.sock = s

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- sending
    def send(self, data):
        self.sock.settimeout(self.timeout)
        self.sock.sendall(_b(data))

    def request(self, method, target, headers=(), body=b"", version="HTTP/1.1", host="localhost",
                timeout=None):
        self.send(build_request(method, target, headers, body, version, host))
        return self.read_response(head=_b(method) == b"HEAD", timeout=timeout)

    # -- receiving
    def _deadline(self, timeout):
        return time.monotonic() + (self.timeout if timeout is None else timeout)

    def _recv(self, deadline):
        """Appends received bytes to buf. False at EOF (or reset). Raises socket.timeout."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _so_far(self):
        return f"received so far: {bytes(self.buf[:300])!r}{'...' if len(self.buf) > 300 else ''}"

    def _read_until(self, marker, deadline, limit, what):
        start = 0
        while True:
            i = self.buf.find(marker, start)
            if i >= 0:
                return i
            start = max(0, len(self.buf) - len(marker) + 1)
            if len(self.buf) > limit:
                raise ProtocolError(f"no end of {what} within {limit} bytes; {self._so_far()}")
            if not self._recv(deadline):
                how = "reset" if self.reset else "closed"
                raise ProtocolError(f"server {how} the connection before the end of {what}; {self._so_far()}")

    def _take_exact(self, n, deadline, what):
        while len(self.buf) < n:
            if not self._recv(deadline):
                how = "reset" if self.reset else "closed"
                raise ProtocolError(f"server {how} the connection after {len(self.buf)} of {n} bytes of {what}")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_head(self, timeout=None):
        """Reads one response head (status line + fields); the body stays unread."""
        deadline = self._deadline(timeout)
        try:
            return self._read_head(deadline)
        except socket.timeout:
            raise HttpTimeout(f"no complete response head within "
                              f"{self.timeout if timeout is None else timeout:.1f} s; {self._so_far()}")

    def _read_head(self, deadline):
        i = self._read_until(b"\r\n\r\n", deadline, 256 << 10, "a response head")
        head = bytes(self.buf[:i])
        del self.buf[:i + 4]
        lines = head.split(CRLF)
        m = re.match(rb"^HTTP/(\d)\.(\d) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            raise ProtocolError(f"bad status line {lines[0][:200]!r} (response head: {head[:500]!r})")
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise ProtocolError(f"bad header line {line[:200]!r} in response head {head[:500]!r}")
            headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
        return Response(f"HTTP/{m.group(1).decode()}.{m.group(2).decode()}", int(m.group(3)),
                        (m.group(4) or b"").decode("latin-1"), headers, head)

    def read_body(self, n, timeout=None):
        """Reads exactly n body bytes (for streaming a large body)."""
        deadline = self._deadline(timeout)
        try:
            return self._take_exact(n, deadline, "the body")
        except socket.timeout:
            raise HttpTimeout(f"body: fewer than {n} bytes within the timeout; have {len(self.buf)}")

    def read_one(self, head=False, timeout=None):
        """Reads exactly one response, interim (1xx) ones included."""
        deadline = self._deadline(timeout)
        try:
            r = self._read_head(deadline)
            r.body = self._read_body(r, head, deadline)
            return r
        except socket.timeout:
            raise HttpTimeout(f"no complete response within "
                              f"{self.timeout if timeout is None else timeout:.1f} s; {self._so_far()}")

    def read_response(self, head=False, timeout=None):
        """Reads the next final response; 1xx responses before it go to .interim."""
        interim = []
        while True:
            r = self.read_one(head=head, timeout=timeout)
            if 100 <= r.status < 200 and r.status != 101:
                interim.append(r)
                continue
            r.interim = interim
            return r

    def _read_body(self, r, head, deadline):
        if head or r.status in (204, 304) or 100 <= r.status < 200:
            return b""
        te = r.tokens("Transfer-Encoding")
        if "chunked" in te:
            return self._read_chunked(deadline)
        cls = r.header_list("Content-Length")
        if cls:
            if len(set(cls)) != 1 or not cls[0].isdigit():
                raise ProtocolError(f"bad Content-Length {cls!r} in response:\n{r.describe()}")
            return self._take_exact(int(cls[0]), deadline, f"a {r.status} response body")
        # close-delimited
        while self._recv(deadline):
            pass
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def _read_chunked(self, deadline):
        out = bytearray()
        while True:
            i = self._read_until(CRLF, deadline, 4096, "a chunk-size line")
            line = bytes(self.buf[:i]).split(b";")[0].strip()
            del self.buf[:i + 2]
            try:
                size = int(line, 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size line {line!r} in response")
            if size == 0:
                while True:  # trailers until an empty line
                    i = self._read_until(CRLF, deadline, 16384, "the chunked trailer")
                    del self.buf[:i + 2]
                    if i == 0:
                        return bytes(out)
            out += self._take_exact(size, deadline, "a chunk")
            if self._take_exact(2, deadline, "a chunk end") != CRLF:
                raise ProtocolError("chunk data not followed by CRLF")

    def read_until_eof(self, timeout=None):
        """All bytes until the server closes; raises HttpTimeout if it does not."""
        deadline = self._deadline(timeout)
        try:
            while self._recv(deadline):
                pass
        except socket.timeout:
            raise HttpTimeout(f"server did not close the connection within "
                              f"{self.timeout if timeout is None else timeout:.1f} s; {self._so_far()}")
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def wait_closed(self, timeout):
        """True if the server closes (EOF or reset) within timeout. Bytes that
        arrive meanwhile stay in self.buf."""
        deadline = time.monotonic() + timeout
        try:
            while self._recv(deadline):
                pass
            return True
        except socket.timeout:
            return False
        except OSError:
            self.eof = True
            return True


def fetch(port, target, method="GET", headers=(), body=b"", host="localhost", version="HTTP/1.1",
          timeout=DEFAULT_TIMEOUT, close=True):
    """One request on its own connection ("Connection: close" added for 1.1)."""
    hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers)
    if close and version == "HTTP/1.1" and not any(_b(n).lower() == b"connection" for n, _ in hdrs):
        hdrs.append(("Connection", "close"))
    with HttpConn(port, timeout=timeout) as c:
        c.send(build_request(method, target, hdrs, body, version, host))
        return c.read_response(head=_b(method) == b"HEAD")


# ---------------------------------------------------------------- assertions

def expect_status(resp, status, what=""):
    if resp.status != status:
        raise AssertionError(f"{what + ': ' if what else ''}expected status {status}, got:\n{resp.describe()}")


def check_common_headers(resp, head=False, what=""):
    """Server, Date (IMF-fixdate, near now), one Content-Length matching the
    body (not required for 304 and 1xx)."""
    p = f"{what + ': ' if what else ''}"
    if not resp.header("Server"):
        raise AssertionError(f"{p}no Server header in:\n{resp.describe()}")
    for single in ("Server", "Date"):  # one value each (RFC 9110 10.2.4, 6.6.1)
        if len(resp.header_list(single)) != 1:
            raise AssertionError(f"{p}{len(resp.header_list(single))} {single} headers in:\n{resp.describe()}")
    date = parse_http_date(resp.header("Date"))
    skew = abs((datetime.now(timezone.utc) - date).total_seconds())
    if skew > 600:
        raise AssertionError(f"{p}Date {resp.header('Date')!r} is {skew:.0f} s away from now")
    cls = resp.header_list("Content-Length")
    if len(cls) > 1:
        raise AssertionError(f"{p}several Content-Length headers: {cls}")
    if resp.status == 304 or 100 <= resp.status < 200:
        return
    if not cls or not cls[0].isdigit():
        raise AssertionError(f"{p}missing or bad Content-Length in:\n{resp.describe()}")
    if not head and int(cls[0]) != len(resp.body):
        raise AssertionError(f"{p}Content-Length {cls[0]} but {len(resp.body)} body bytes")


def expect_close(conn, resp, timeout=5.0, what=""):
    """The response says "Connection: close" and the server then closes."""
    p = f"{what + ': ' if what else ''}"
    if "close" not in resp.tokens("Connection"):
        raise AssertionError(f"{p}expected 'Connection: close' in:\n{resp.describe()}")
    if not conn.wait_closed(timeout):
        raise AssertionError(f"{p}server kept the connection open {timeout:.0f} s after 'Connection: close'")
    if conn.buf:
        raise AssertionError(f"{p}unexpected bytes after the response: {bytes(conn.buf[:200])!r}")


def expect_open(conn, what="", probe=0.3):
    """The connection is still open (no EOF within `probe` seconds)."""
    if conn.wait_closed(probe):
        raise AssertionError(f"{what + ': ' if what else ''}server closed a connection that should stay open"
                             f" (bytes: {bytes(conn.buf[:200])!r})")



def non_loopback_address():
    """An IPv4 address of this machine other than 127.x, or None."""
    candidates = []
    try:
        candidates += socket.gethostbyname_ex(socket.gethostname())[2]
    except OSError:
        pass
    for probe in ("192.0.2.1", "10.255.255.255", "198.51.100.1"):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))  # UDP: no packet is sent; this only picks the source address
                candidates.append(s.getsockname()[0])
        except OSError:
            pass
    for a in candidates:
        if not a.startswith("127.") and a != "0.0.0.0":
            return a
    return None


class SteadyLoad:
    """A steady load for a test that changes the server under it (a recycle,
    a reload): `clients` threads, each on a kept-alive connection, ask for
    `targets` in turn, back to back, until the block ends. A connection is
    opened again only after a response that said it would close; any other
    answer than 200, and any error, is a failure (docs/testing.md).

        with SteadyLoad(srv, ["/f.txt", "/x.isa"]) as load:
            ...change something...
            load.wait_served(20)        # and the load went on after it
        assert load.failures == []
    """

    def __init__(self, srv, targets, clients=3, host="localhost"):
        """srv: the server (its .port), or a port number (a proxy in front of servers)."""
        import threading
        self.port = srv if isinstance(srv, int) else srv.port
        self.targets = list(targets)
        self.host = host
        self.failures = []    # (client, target, status or error)
        self.answers = []     # (target, status, body), in the order they came
        self._lock = threading.Lock()
        self._served = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(k,), daemon=True) for k in range(clients)]

    def _client(self, k):
        conn, i = None, k
        while not self._stop.is_set():
            target = self.targets[i % len(self.targets)]
            i += 1
            try:
                if conn is None:
                    conn = HttpConn(self.port, timeout=scaled(30))
                r = conn.request("GET", target, host=self.host)
            except Exception as e:  # noqa: BLE001 - an error is a failed request, which the test looks for
                with self._lock:
                    self.failures.append((k, target, repr(e)))
                if conn:
                    conn.close()
                conn = None
                continue
            with self._served:
                self.answers.append((target, r.status, r.body))
                if r.status != 200:
                    self.failures.append((k, target, r.status))
                self._served.notify_all()
            if "close" in r.tokens("Connection") or r.version == "HTTP/1.0" and "keep-alive" not in r.tokens(
                    "Connection"):
                conn.close()
                conn = None
        if conn:
            conn.close()

    @property
    def served(self):
        with self._lock:
            return len(self.answers)

    def wait_served(self, count, timeout=60.0):
        """Waits until `count` more answers have come than when it was called."""
        with self._served:
            want = len(self.answers) + count
            if not self._served.wait_for(lambda: len(self.answers) >= want or self._stop.is_set(),
                                         scaled(timeout)):
                raise AssertionError(f"the load got {len(self.answers) - want + count} answers of {count} in "
                                     f"{scaled(timeout):.0f} s")

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(scaled(60))
        return False

    def check(self, what):
        """No request failed, and some were served."""
        assert self.answers, f"{what}: the load got no answer"
        assert self.failures == [], f"{what}: {len(self.failures)} of {len(self.answers)} requests failed: " \
                                    f"{self.failures[:10]}"

# ---------------------------------------------------------------- W3C logs

def parse_w3c(path):
    """Returns (directives, fields, rows): rows are dicts keyed by field name."""
    text = Path(path).read_bytes().decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    directives, fields, rows = [], None, []
    for n, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        if line.startswith("#"):
            directives.append(line)
            if line.startswith("#Fields:"):
                fields = line[len("#Fields:"):].split()
            continue
        if fields is None:
            raise AssertionError(f"{path}:{n}: data line before any #Fields directive: {line!r}")
        values = line.split(" ")
        if len(values) != len(fields):
            raise AssertionError(f"{path}:{n}: {len(values)} fields, #Fields names {len(fields)}: {line!r}")
        rows.append(dict(zip(fields, values)))
    return directives, fields, rows
