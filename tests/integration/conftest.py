"""pytest glue for the IsapiHost integration tests.

Options (CTest passes them; by hand they have defaults, see README.md):
  --ih-exe PATH        isapihost.exe (default: $IH_EXE or build/mingw-x64/service/win32/isapihost.exe)
  --ih-build-dir DIR   build tree (default: the exe's nearest parent with CMakeCache.txt)
  --ih-logs DIR        where files of failed tests are kept (default: <build>/integration-logs)
  --ih-budget SECONDS  time budget of the whole file (default: $IH_SUITE_BUDGET or 230), so
                       a module never runs into CTest's TIMEOUT 300 without tearing down

Fixtures:
  ih   (session) Harness: ih.new_config(name) -> IniConfig with one site "main"
                 on a free port (root "www"), ih.start(cfg) -> running IHServer.
"""

import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.dont_write_bytecode = True  # never leave __pycache__ in the source tree
pytest.register_assert_rewrite("ihserver")

import ihserver  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

_state = {"deadline": None, "budget": None, "kept": [], "logs_root": None}


# ---------------------------------------------------------------- options

def pytest_addoption(parser):
    g = parser.getgroup("isapihost")
    g.addoption("--ih-exe", default=os.environ.get("IH_EXE"), help="path of isapihost.exe")
    g.addoption("--ih-build-dir", default=os.environ.get("IH_BUILD_DIR"), help="CMake build directory")
    g.addoption("--ih-logs", default=os.environ.get("IH_LOGS"),
                help="directory for the files of failed tests (default <build>/integration-logs)")
    g.addoption("--ih-budget", type=float, default=float(os.environ.get("IH_SUITE_BUDGET", "230")),
                help="seconds the whole run may take before remaining tests fail fast")


def _build_dir(config):
    opt = config.getoption("--ih-build-dir")
    if opt:
        return Path(opt).resolve()
    exe = _exe_path(config)
    for d in exe.parents:
        if (d / "CMakeCache.txt").exists():
            return d
    return REPO / "build" / "mingw-x64"


def _exe_path(config):
    opt = config.getoption("--ih-exe")
    if opt:
        return Path(opt).resolve()
    return REPO / "build" / "mingw-x64" / "service" / "win32" / "isapihost.exe"


def _logs_root(config):
    opt = config.getoption("--ih-logs")
    return Path(opt).resolve() if opt else _build_dir(config) / "integration-logs"


def pytest_configure(config):
    config.addinivalue_line("markers", "ih_timeout(seconds): watchdog limit of a long test's call phase")
    budget = config.getoption("--ih-budget")
    _state["budget"] = budget
    _state["deadline"] = time.monotonic() + budget
    _state["logs_root"] = _logs_root(config)
    basetemp = config.getoption("basetemp", None)
    if basetemp:  # pytest creates only the last path component
        Path(basetemp).resolve().parent.mkdir(parents=True, exist_ok=True)
    # wineserver keeps one fd per socket; be generous (wine-notes §2b).
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 20000 if hard == resource.RLIM_INFINITY else min(20000, hard)
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ImportError, ValueError, OSError):
        pass

    # CTest's timeout or a kill: take the server processes down with us.
    def on_term(signum, frame):
        ihserver.kill_all()
        os._exit(128 + signum)
    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:
        pass


def pytest_collection_finish(session):
    """Files kept from an earlier run of these modules would mislead: drop them."""
    for stem in sorted({Path(str(item.fspath)).stem for item in session.items}):
        shutil.rmtree(_state["logs_root"] / _safe(stem), ignore_errors=True)


def pytest_report_header(config):
    return [f"isapihost: exe {_exe_path(config)}",
            f"isapihost: WINEPREFIX {os.environ.get('WINEPREFIX', '(unset: booted in the build dir)')}",
            f"isapihost: failed tests' files go to {_logs_root(config)}"]


# ---------------------------------------------------------------- wine prefix

def ensure_wine_prefix(build_dir):
    """CTest sets WINEPREFIX to a prefix the CI script has booted. By hand,
    with WINEPREFIX unset, boot <build>/wineprefix the same way
    (cmake/wine-prefix.sh: persistent wineserver, pre-boot, every fd on
    /dev/null so no Wine system process inherits one of our pipes)."""
    prefix = os.environ.get("WINEPREFIX")
    boot = False
    if not prefix:
        prefix = str(build_dir / "wineprefix")
        os.environ["WINEPREFIX"] = prefix
        boot = True
    elif not (Path(prefix) / "system.reg").exists():
        boot = True
    if not boot:
        return prefix
    # ctest -j runs several of us at once: one boots, the others wait.
    Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    with open(str(prefix).rstrip("/") + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _boot_prefix(prefix)  # idempotent: creates once, then only (re)starts the wineserver
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return prefix


def _boot_prefix(prefix):
    script = REPO / "cmake" / "wine-prefix.sh"
    if script.exists():
        cmd = ["bash", "-c", '. "$1" && wine_prefix_up "$2"', "wine-prefix", str(script), prefix]
    else:
        cmd = ["bash", "-c",
               'mkdir -p "$1"; [ -f "$1/system.reg" ] || { wineboot --init; wineserver -w; }; '
               'wineserver -p; wine wineboot', "wine-prefix", prefix]
    sys.stderr.write(f"\nisapihost: booting Wine prefix {prefix} (first time ~15 s)\n")
    try:
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=ihserver.wine_env(prefix), timeout=120, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"booting the Wine prefix {prefix} took more than 120 s", pytrace=False)
    if not (Path(prefix) / "system.reg").exists():
        pytest.fail(f"Wine prefix {prefix} was not created (no system.reg)", pytrace=False)


# ---------------------------------------------------------------- harness

class Harness:
    def __init__(self, exe, prefix, tmp_factory, build_dir):
        self.exe = exe
        self.prefix = prefix
        self.tmp_factory = tmp_factory
        self.build_dir = build_dir
        self.repo = REPO
        self.started = []

    def workdir(self, name):
        return self.tmp_factory.mktemp(name, numbered=True)

    def new_config(self, name, root="www"):
        """Fresh work dir with an IniConfig: [server] drain_timeout = 10 and
        [site main] bound to 127.0.0.1:<free port>, root = <work>/www (created).

        drain_timeout: a connection left half-open by a failing test would
        otherwise hold the graceful stop for the default 30 s, as long as
        IHServer.stop waits; tests of draining set their own value."""
        cfg = ihserver.IniConfig(self.workdir(name))
        cfg.server["drain_timeout"] = 10
        port = ihserver.free_port()
        cfg.site("main", bindings=f"127.0.0.1:{port}", root=root)
        (cfg.workdir / root).mkdir(parents=True, exist_ok=True)
        return cfg

    def worker_pool_config(self, name, **pool_keys):
        """new_config with site main (permissions read, script) in worker
        pool w (docs/pools.md), pool_keys added to [pool w], and the status
        page at /status, as the pool tests read it."""
        cfg = self.new_config(name)
        cfg.server["status_path"] = "/status"
        pool = cfg.section("pool w")
        pool["mode"] = "worker"
        pool.update(pool_keys)
        site = cfg.sections["site main"]
        site["permissions"] = "read, script"
        site["pool"] = "w"
        return cfg

    def server(self, cfg, name=None):
        """An IHServer for cfg, not started yet."""
        s = ihserver.IHServer(self.exe, cfg, prefix=self.prefix, name=name)
        self.started.append(s)
        return s

    def start(self, cfg, name=None):
        return self.server(cfg, name).start()

    def cleanup(self):
        for s in self.started:
            if s.alive():
                s.kill()


@pytest.fixture(scope="session")
def ih(request, tmp_path_factory):
    config = request.config
    exe = _exe_path(config)
    if not shutil.which("wine"):
        pytest.fail("wine is not on PATH (Debian: apt-get install wine wine64)", pytrace=False)
    if not exe.is_file():
        pytest.fail(f"isapihost.exe not found at {exe}: build it first "
                    f"(cmake --preset mingw-x64 && cmake --build --preset mingw-x64) or pass --ih-exe",
                    pytrace=False)
    try:
        machine = ihserver.pe_machine(exe)
    except (OSError, ValueError) as e:
        pytest.fail(f"cannot read {exe}: {e}", pytrace=False)
    if machine != 0x8664:
        pytest.fail(f"{exe} is not an x86-64 PE (machine 0x{machine:x}); 64-bit-only Wine would "
                    f"'run' a 32-bit exe with exit code 0", pytrace=False)
    build_dir = _build_dir(config)
    prefix = ensure_wine_prefix(build_dir)
    h = Harness(exe, prefix, tmp_path_factory, build_dir)
    yield h
    h.cleanup()


# ---------------------------------------------------------------- watchdog

class SuiteTimeout(Exception):
    pass


def _phase_limit(when, item=None):
    if when == "teardown":
        return 60.0  # a graceful stop may take up to 30 s, plus a kill
    remaining = _state["deadline"] - time.monotonic()
    if remaining <= 0:
        pytest.fail(f"time budget of this test file ({_state['budget']:.0f} s, --ih-budget) is used up; "
                    f"not running it", pytrace=False)
    # @pytest.mark.ih_timeout(seconds): a stress test's own limit (its file
    # gets a larger CTest TIMEOUT and budget, tests/integration/CMakeLists.txt)
    marker = item.get_closest_marker("ih_timeout") if item is not None and when == "call" else None
    if marker:
        return min(float(marker.args[0]), remaining)
    return min(150.0 if when == "setup" else 120.0, remaining)


class _Watchdog:
    """SIGALRM after `seconds`: raises in whatever the test is blocked on."""

    def __init__(self, seconds, what):
        self.seconds, self.what = seconds, what

    def _fire(self, signum, frame):
        raise SuiteTimeout(f"{self.what} took longer than {self.seconds:.0f} s (watchdog)")

    def __enter__(self):
        self.old = signal.signal(signal.SIGALRM, self._fire)
        signal.setitimer(signal.ITIMER_REAL, max(self.seconds, 0.5))
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)
        return False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    item._ih_first_server = len(ihserver.SERVERS)
    with _Watchdog(_phase_limit("setup"), f"setup of {item.nodeid}"):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _Watchdog(_phase_limit("call", item), item.nodeid):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    with _Watchdog(_phase_limit("teardown"), f"teardown of {item.nodeid}"):
        yield


# ---------------------------------------------------------------- keep files of failures

def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", name).strip("_")[:120] or "test"


def _servers_of(item):
    """Servers a test used: in its fixtures' values (directly, in a list or as
    an attribute), started during it, or still running."""
    found = []

    def add(x):
        if isinstance(x, ihserver.IHServer) and x not in found:
            found.append(x)

    for v in list((getattr(item, "funcargs", None) or {}).values()):
        add(v)
        if isinstance(v, (list, tuple)):
            for x in v:
                add(x)
        elif not isinstance(v, ihserver.IHServer):
            for x in list(getattr(v, "__dict__", {}).values()):
                add(x)
    first = getattr(item, "_ih_first_server", len(ihserver.SERVERS))
    for s in ihserver.SERVERS[first:]:
        add(s)
    for s in ihserver.SERVERS:
        if s.alive():
            add(s)
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    try:
        module = _safe(Path(str(item.fspath)).stem)
        dest = _state["logs_root"] / module / _safe(item.name)
        if not getattr(item, "_ih_kept", False):
            shutil.rmtree(dest, ignore_errors=True)
            item._ih_kept = True
        servers = _servers_of(item)
        tmp = (getattr(item, "funcargs", None) or {}).get("tmp_path")
        if not servers and not tmp:
            return
        dest.mkdir(parents=True, exist_ok=True)
        lines = [f"{rep.when} failed; server files of this test are kept in {dest}"]
        for s in servers:
            if not s.alive() and s.keep_dirs:
                # e.g. a module server that failed to start: every test of the
                # module reports that; one (refreshed) copy is enough
                ihserver.copy_tree(s.workdir, s.keep_dirs[0])
                lines.append(f"  {s.name}: see {s.keep_dirs[0]}")
                continue
            sdest = dest / _safe(s.workdir.name)
            s.snapshot(sdest)
            lines.append(f"  {s.name}: {sdest}")
            lines.append(f"    config {sdest / s.config.path.name}, output {sdest / s.output_path.name}, "
                         f"server log {sdest / s.server_log.relative_to(s.workdir)}")
            lines.append(s.diagnostics(lines=25))
        if tmp:
            ihserver.copy_tree(tmp, dest / "tmp_path")
        rep.sections.append(("isapihost: kept files", "\n".join(lines)))
        if dest not in _state["kept"]:
            _state["kept"].append(dest)
    except Exception as e:  # never let log keeping hide the real failure
        rep.sections.append(("isapihost: kept files", f"could not keep files: {e!r}"))


def pytest_terminal_summary(terminalreporter):
    if _state["kept"]:
        terminalreporter.write_sep("-", "isapihost: files of failed tests (config, server output, logs)")
        for d in _state["kept"]:
            terminalreporter.write_line(str(d))
