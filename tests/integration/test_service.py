"""isapihost.exe as an NT service under Wine, in a prefix of its own:
install (refused for an invalid configuration), start, a request served,
pause (new connections refused, an open one goes on, the health URL says
503 until continue), continue, reload via
PARAMCHANGE (a new virtual directory appears, also on a keep-alive
connection opened before, which is not dropped; an invalid file is refused
and the old configuration stays), stop through `net stop` with a download in flight (it completes),
`net start` and `sc query`, and uninstall (nothing left: service, Event Log
source, the IIS values install created). Wine's sc.exe has no pause,
continue or control, so those go through isapihost's own commands
(ControlService). What Wine cannot do at all (SHUTDOWN, SCM restarts,
reading events back) is in docs/install.md, untested here."""

import hashlib
import json
import re
import socket
import threading
import time

import pytest

from ihserver import (HttpConn, WinePrefix, build_request, expect_status, fetch, free_port, scaled, wait_for_log,
                      win_path, wine_env, write_files)

NAME = "IhSvcTest"
EVENT_KEY = rf"HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\{NAME}"
IIS_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\W3SVC\Parameters"
BIG_SIZE = 16 << 20


def big_content():
    block = hashlib.sha256(b"service").digest() * 2048  # 64 KiB
    return (block * (BIG_SIZE // len(block) + 1))[:BIG_SIZE]


class Svc:
    def __init__(self, ih, tmp):
        self.exe = ih.exe
        self.prefix = WinePrefix(ih.build_dir / "tests" / "integration" / "work" / "service-prefix", ih.repo)
        self.dir = tmp
        self.port = free_port()
        self.content = big_content()
        write_files(tmp / "www", {"a.txt": b"AAAA", "big.bin": self.content})
        write_files(tmp / "docs", {"d.txt": b"the new vdir"})
        self.config = tmp / "isapihost.ini"
        self.write_config()

    def write_config(self, extra=""):
        self.config.write_text("[server]\nlog_dir = logs\ndrain_timeout = 30\nhealth_path = /health\n"
                               "[mime]\n.bin = application/octet-stream\n"
                               f"[site main]\nbindings = 127.0.0.1:{self.port}\nroot = www\n{extra}")

    def cmd(self, *args, timeout=120):
        return self.prefix.wine(self.exe, *args, timeout=timeout)

    @property
    def server_log(self):
        return self.dir / "logs" / "server.log"


@pytest.fixture(scope="module")
def svc(ih, tmp_path_factory):
    s = Svc(ih, tmp_path_factory.mktemp("service"))
    s.prefix.up()
    try:
        yield s
    finally:
        s.cmd("stop", "--name", NAME, timeout=90)
        s.cmd("uninstall", "--name", NAME, timeout=90)
        s.prefix.down()


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except OSError:
        return True
    return False


def test_install_refuses_an_invalid_configuration(svc):
    bad = svc.dir / "bad.ini"
    bad.write_text("[site x]\nbindings = nonsense\n")
    p = svc.cmd("install", "--name", NAME, "--config", win_path(bad))
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "IH1101 configuration rejected" in p.stderr, p.stderr
    assert svc.cmd("status", "--name", NAME).returncode == 1, "nothing was created"


def test_install_and_start(svc):
    # Without IIS values, install creates them (and uninstall removes them).
    svc.prefix.wine("reg", "delete", IIS_KEY, "/f")
    p = svc.cmd("install", "--name", NAME, "--config", win_path(svc.config), "--start", "demand")
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert f"service {NAME} installed" in p.stdout and "created" in p.stdout, p.stdout
    assert svc.prefix.wine("reg", "query", EVENT_KEY, "/v", "EventMessageFile").returncode == 0
    assert svc.prefix.wine("reg", "query", IIS_KEY, "/v", "MajorVersion").returncode == 0
    again = svc.cmd("install", "--name", NAME, "--config", win_path(svc.config))
    assert again.returncode == 1 and "already exists" in again.stderr, again.stderr
    p = svc.cmd("start", "--name", NAME)
    assert p.returncode == 0 and "is running" in p.stdout, (p.stdout, p.stderr)
    r = fetch(svc.port, "/a.txt")
    expect_status(r, 200, "the service serves")
    assert r.body == b"AAAA"
    q = svc.prefix.wine("sc", "query", NAME)
    assert "RUNNING" in q.stdout, q.stdout
    assert svc.cmd("status", "--name", NAME).returncode == 0
    wait_for_log(svc.server_log, f"IH1011 running as the service {NAME}", timeout=20)


def test_pause_refuses_new_connections_and_continue_reopens(svc):
    with HttpConn(svc.port) as open_conn:
        open_conn.send(build_request("GET", "/a.txt"))
        expect_status(open_conn.read_response(), 200, "before the pause")
        p = svc.cmd("pause", "--name", NAME)
        assert p.returncode == 0 and "paused" in p.stdout, (p.stdout, p.stderr)
        assert "PAUSED" in svc.prefix.wine("sc", "query", NAME).stdout
        assert refused(svc.port), "a new connection while paused"
        open_conn.send(build_request("GET", "/a.txt"))
        expect_status(open_conn.read_response(), 200, "an open connection goes on while paused")
        # a load balancer's check on a connection it kept: out of the rotation while paused
        open_conn.send(build_request("GET", "/health"))
        r = open_conn.read_response()
        expect_status(r, 503, "the health URL while paused")
        assert r.body == b"leaving\n", r.describe()
    p = svc.cmd("continue", "--name", NAME)
    assert p.returncode == 0 and "running again" in p.stdout, (p.stdout, p.stderr)
    expect_status(fetch(svc.port, "/a.txt"), 200, "after continue")
    r = fetch(svc.port, "/health")
    expect_status(r, 200, "the health URL after continue: back in the rotation")
    assert r.body == b"serving\n", r.describe()


def generations(svc):
    r = fetch(svc.port, "/_isapihost/status")
    expect_status(r, 200, "the status page")
    doc = json.loads(r.body)
    return doc["config_generation"], doc["config_generations_live"]


def wait_generations(svc, want, timeout=10):
    deadline = time.monotonic() + scaled(timeout)
    while (got := generations(svc)) != want:
        if time.monotonic() > deadline:
            raise AssertionError(f"(config_generation, config_generations_live) is {got}, not {want}")
        time.sleep(0.2)


def test_reload_adds_a_vdir_without_dropping_an_open_connection(svc):
    expect_status(fetch(svc.port, "/docs/d.txt"), 404, "no /docs yet")
    with HttpConn(svc.port) as kept:
        kept.send(build_request("GET", "/a.txt"))
        expect_status(kept.read_response(), 200, "keep-alive before the reload")
        svc.write_config(f"[vdir main /docs]\npath = {win_path(svc.dir / 'docs')}\npermissions = read\n")
        p = svc.cmd("reload", "--name", NAME)
        assert p.returncode == 0, (p.stdout, p.stderr)
        wait_for_log(svc.server_log, "configuration reloaded (generation 2)", timeout=20)
        r = fetch(svc.port, "/docs/d.txt")
        expect_status(r, 200, "the new vdir, on a new connection")
        assert r.body == b"the new vdir"
        assert generations(svc) == (2, 2), "the idle connection still holds the first configuration"
        kept.send(build_request("GET", "/docs/d.txt"))
        r = kept.read_response()
        expect_status(r, 200, "the new vdir, on the keep-alive connection opened before the reload")
        assert r.body == b"the new vdir"
        assert generations(svc) == (2, 1), "its next request left the first configuration, which is freed"

    good = svc.config.read_text()
    svc.config.write_text(good + "[vdir main /bad]\n")  # no path: invalid
    assert svc.cmd("reload", "--name", NAME).returncode == 0
    wait_for_log(svc.server_log, "reload refused, the running configuration stays", timeout=20)
    expect_status(fetch(svc.port, "/docs/d.txt"), 200, "the running configuration after a refused reload")
    svc.config.write_text(good)

    # Repeated reloads do not accumulate configurations, and every site's
    # lines still reach its one access log.
    for n in (3, 4, 5):
        assert svc.cmd("reload", "--name", NAME).returncode == 0
        wait_for_log(svc.server_log, f"configuration reloaded (generation {n})", timeout=20)
        expect_status(fetch(svc.port, f"/a.txt?after-reload-{n}"), 200, f"after reload {n}")
    wait_generations(svc, (5, 1))
    logs = list((svc.dir / "logs").glob("W3SVC*/u_ex*.log"))
    deadline = time.monotonic() + scaled(10)
    while not all(f"after-reload-{n}" in "".join(f.read_text() for f in logs) for n in (3, 4, 5)):
        assert time.monotonic() < deadline, f"access lines after the reloads missing from {logs}"
        time.sleep(0.3)
        logs = list((svc.dir / "logs").glob("W3SVC*/u_ex*.log"))


def test_reloads_while_clients_keep_requesting(svc):
    """Reloads publish new configurations while I/O threads accept
    connections under the current one: nothing fails, and once the clients
    are gone only the newest configuration is left."""
    start, _ = generations(svc)
    stop = threading.Event()
    served, errors = [0], []

    def client():
        while not stop.is_set():
            try:
                with HttpConn(svc.port) as c:
                    for _ in range(5):
                        c.send(build_request("GET", "/a.txt"))
                        r = c.read_response()
                        if r.status != 200 or r.body != b"AAAA":
                            errors.append(r.describe())
                        served[0] += 1
            except (OSError, AssertionError) as e:
                errors.append(repr(e))

    threads = [threading.Thread(target=client) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        reloads = 8
        for _ in range(reloads):
            assert svc.cmd("reload", "--name", NAME).returncode == 0
        wait_for_log(svc.server_log, f"configuration reloaded (generation {start + reloads})", timeout=20)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors[:5]
    assert served[0] > 0
    wait_generations(svc, (start + reloads, 1))


def preshutdown_ms(svc):
    """The service's preshutdown timeout as the SCM keeps it (the service key's
    PreshutdownTimeout), or None."""
    out = svc.prefix.wine("reg", "query", rf"HKLM\SYSTEM\CurrentControlSet\Services\{NAME}",
                          "/v", "PreshutdownTimeout").stdout
    m = re.search(r"PreshutdownTimeout\s+REG_DWORD\s+0x([0-9a-fA-F]+)", out)
    return int(m.group(1), 16) if m else None


def expect_preshutdown_ms(svc, want, timeout=20):
    """Waits for the SCM's value to be want: services.exe writes the key on
    its own time, and a `wine reg` started on a busy machine can print
    nothing; a wrong value that stays is the failure."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        got = preshutdown_ms(svc)
        if got == want:
            return
        assert time.monotonic() < deadline, f"PreshutdownTimeout is {got}, not {want}"
        time.sleep(0.5)


def test_preshutdown_timeout_follows_shutdown_time_limit(svc):
    """At system shutdown Windows waits the preshutdown timeout for the
    service; it must cover shutdown_time_limit and the watchdog's IH1012 line
    (service/core/preshutdown.h: the limit + 10 s). install sets it from the
    configuration (the default limit, 90 s, here; no longer drain_timeout +
    30 s), and the running service follows a reloaded limit itself."""
    expect_preshutdown_ms(svc, 100000)  # install: the default shutdown_time_limit (90 s) + 10 s
    good = svc.config.read_text()
    svc.config.write_text(good.replace("[server]\n", "[server]\nshutdown_time_limit = 120\n", 1))
    assert svc.cmd("reload", "--name", NAME).returncode == 0
    wait_for_log(svc.server_log, "IH1011 preshutdown timeout set to 130000 ms (was 100000 ms)", timeout=20)
    expect_preshutdown_ms(svc, 130000)
    svc.config.write_text(good)
    assert svc.cmd("reload", "--name", NAME).returncode == 0
    wait_for_log(svc.server_log, "IH1011 preshutdown timeout set to 100000 ms (was 130000 ms)", timeout=20)
    expect_preshutdown_ms(svc, 100000)


def wait_state(svc, state, timeout=60):
    deadline = time.monotonic() + scaled(timeout)
    while True:
        out = svc.prefix.wine("sc", "query", NAME).stdout
        if state in out:
            return out
        if time.monotonic() > deadline:
            raise AssertionError(f"{NAME} never reached {state}: {out}")
        time.sleep(0.3)


def test_net_stop_lets_a_download_finish_and_net_start_starts(svc):
    with HttpConn(svc.port, timeout=30, rcvbuf=32 << 10) as c:
        c.send(build_request("GET", "/big.bin"))
        head = c.read_head()
        expect_status(head, 200, "GET /big.bin")
        got = bytearray(c.read_body(256 << 10))
        # Wine's net.exe sends STOP and may return before STOPPED: the
        # service's own state says whether it drains.
        p = svc.prefix.wine("net", "stop", NAME)
        assert p.returncode == 0, (p.stdout, p.stderr)
        out = wait_state(svc, "STOP_PENDING", timeout=10)  # not STOPPED while a download is in flight
        assert "STOP_PENDING" in out, f"not draining while a download is in flight: {out}"
        got += c.read_body(BIG_SIZE - len(got), timeout=60)
        assert hashlib.sha256(got).digest() == hashlib.sha256(svc.content).digest()
    wait_state(svc, "STOPPED")
    wait_for_log(svc.server_log, "IH1008 stop requested (service control STOP)", timeout=20)
    wait_for_log(svc.server_log, "IH1004 stopped", timeout=20)
    assert refused(svc.port)
    p = svc.prefix.wine("net", "start", NAME)
    assert p.returncode == 0, (p.stdout, p.stderr)
    wait_state(svc, "RUNNING")
    expect_status(fetch(svc.port, "/a.txt"), 200, "after net start")
    p = svc.cmd("stop", "--name", NAME)
    assert p.returncode == 0 and "stopped" in p.stdout, (p.stdout, p.stderr)


def test_uninstall_leaves_nothing(svc):
    p = svc.cmd("uninstall", "--name", NAME)
    assert p.returncode == 0 and "removed" in p.stdout, (p.stdout, p.stderr)
    assert svc.cmd("status", "--name", NAME).returncode == 1
    assert svc.prefix.wine("sc", "query", NAME).returncode != 0
    assert svc.prefix.wine("reg", "query", EVENT_KEY).returncode != 0, "the Event Log source stays"
    assert svc.prefix.wine("reg", "query", IIS_KEY, "/v", "MajorVersion").returncode != 0, \
        "the IIS values install created stay"
