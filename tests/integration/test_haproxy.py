"""Two IsapiHost instances behind a real HAProxy (Debian `haproxy`), as
docs/deployment.md runs a fleet: HAProxy sends each connection's client
address with PROXY protocol v2 (`send-proxy-v2`; the sites have
`proxy_protocol = on`) and checks each instance's health URL. Under a
steady load through HAProxy:

  (a) instance A stopped gracefully: its health URL turns 503, HAProxy takes
      it out during drain_delay, and no request fails;
  (b) instance B killed: only the requests it had in flight fail, and
      HAProxy marks it down within its check interval;
  (c) B started again: HAProxy marks it up and it takes traffic again.

An extension behind HAProxy sees the real client's address and port (the
test's own socket), not HAProxy's. The HAProxy configuration is
docs/fleet/haproxy.cfg, the one docs/deployment.md shows, with the test's
ports."""

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from ihserver import HttpConn, SteadyLoad, expect_status, free_port, scaled, win_path, write_files

REPO = Path(__file__).resolve().parents[2]
HEALTH = "/_isapihost/health"
CHECK_INTER_MS = 500   # HAProxy's check interval (docs/fleet/haproxy.cfg)
CHECK_FALL = 2         # failed checks before HAProxy marks a server down
DRAIN_DELAY = 3        # > inter x fall: HAProxy takes an instance out before it stops listening

HAPROXY = shutil.which("haproxy", path="/usr/sbin:/usr/bin:/sbin:/bin")
pytestmark = pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed (cmake/install-deps.sh installs it)")


def haproxy_config(front_port, stats_port, servers):
    """docs/fleet/haproxy.cfg with the test's ports, and a server line for
    each of servers [(name, port)] on 127.0.0.1."""
    text = (REPO / "docs" / "fleet" / "haproxy.cfg").read_text()
    text = text.replace("@FRONT_PORT@", str(front_port)).replace("@STATS_PORT@", str(stats_port))
    return text + "".join(f"    server {name} 127.0.0.1:{port}\n" for name, port in servers)


class HAProxy:
    def __init__(self, workdir, front_port, stats_port, servers):
        self.workdir = workdir
        self.front_port = front_port
        self.stats_port = stats_port
        self.cfg = workdir / "haproxy.cfg"
        self.cfg.write_text(haproxy_config(front_port, stats_port, servers))
        self.log = open(workdir / "haproxy.out", "wb")
        check = subprocess.run([HAPROXY, "-c", "-f", str(self.cfg)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=30)
        assert check.returncode == 0, check.stdout.decode(errors="replace")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(self.cfg)], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", stats_port), timeout=1).close()
                break
            except OSError:
                assert self.proc.poll() is None, f"haproxy exited: {(workdir / 'haproxy.out').read_text()}"
                assert time.monotonic() < deadline, "haproxy is not listening"
                time.sleep(0.1)

    def states(self):
        """{server name: status} from the stats page's CSV (UP, DOWN, ...)."""
        with HttpConn(self.stats_port, timeout=10) as c:
            r = c.request("GET", "/stats;csv")
        rows = r.body.decode().splitlines()
        header = rows[0].lstrip("# ").split(",")
        out = {}
        for row in rows[1:]:
            f = dict(zip(header, row.split(",")))
            if f.get("pxname") == "isapihost" and f.get("svname") not in ("FRONTEND", "BACKEND"):
                out[f["svname"]] = f["status"]
        return out

    def wait_state(self, name, want, timeout):
        deadline = time.monotonic() + timeout
        while True:
            st = self.states().get(name, "")
            if st.split()[0:1] == [want]:
                return time.monotonic()
            assert time.monotonic() < deadline, f"haproxy: server {name} is {st!r}, not {want}, after {timeout} s"
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def instance_config(ih, name):
    dlls = ih.build_dir / "tests" / "dlls"
    cfg = ih.new_config(name)
    cfg.server.update(health_path=HEALTH, drain_delay=DRAIN_DELAY, trusted_proxies="127.0.0.1")
    site = cfg.sections["site main"]
    site.update(permissions="read, script", proxy_protocol="on")
    cfg.section("scriptmap main .isa").update(dll=win_path(dlls / "ext_echo.dll"), check_file="off")
    write_files(cfg.workdir / "www", {"who.txt": name.encode()})
    return cfg


@pytest.fixture
def fleet(ih, tmp_path):
    a, b = instance_config(ih, "A"), instance_config(ih, "B")
    srv = {"A": ih.start(a), "B": ih.start(b)}
    proxy = HAProxy(tmp_path, free_port(), free_port(), [("A", a.port), ("B", b.port)])
    try:
        for name in ("A", "B"):
            proxy.wait_state(name, "UP", scaled(20))
        yield proxy, srv, {"A": a, "B": b}
    finally:
        proxy.stop()
        for s in srv.values():
            if s.alive():
                s.stop()


def echo_report(r):
    return dict(line.split("=", 1) for line in r.body.decode("latin-1").splitlines() if "=" in line)


def test_the_extension_sees_the_client_through_proxy_v2(fleet):
    proxy, srv, cfgs = fleet
    for _ in range(4):  # round robin: both instances
        with HttpConn(proxy.front_port, timeout=scaled(30)) as c:
            client_port = c.sock.getsockname()[1]
            r = c.request("GET", "/x.isa?who")
            expect_status(r, 200, "an extension behind HAProxy")
            seen = echo_report(r)
            assert seen["remote_addr"] == "127.0.0.1", seen
            assert seen["remote_port"] == str(client_port), (seen, client_port)


def test_graceful_stop_kill_and_restart_under_load(ih, fleet):
    proxy, srv, cfgs = fleet
    targets = ["/who.txt", "/x.isa?load"]

    # (a) A stops gracefully: HAProxy takes it out during drain_delay; nothing fails
    with SteadyLoad(proxy.front_port, targets) as load:
        load.wait_served(50)
        srv["A"].signal_stop()
        proxy.wait_state("A", "DOWN", scaled(DRAIN_DELAY + 5))
        assert srv["A"].wait_exit(scaled(60)) == 0
        load.wait_served(50)
    load.check("requests while instance A stopped gracefully")
    assert {body for _, _, body in load.answers[-20:] if body in (b"A", b"B")} == {b"B"}

    srv["A"] = ih.start(cfgs["A"])
    proxy.wait_state("A", "UP", scaled(20))

    # (b) B is killed: only what it had in flight fails, and HAProxy marks it
    # down within its check interval
    with SteadyLoad(proxy.front_port, targets) as load:
        load.wait_served(50)
        killed_at = time.monotonic()
        srv["B"].kill()
        down_at = proxy.wait_state("B", "DOWN", scaled(10))
        assert down_at - killed_at <= CHECK_INTER_MS * (CHECK_FALL + 2) / 1000 * max(1, scaled(1)), \
            f"HAProxy took {down_at - killed_at:.1f} s to mark B down"
        load.wait_served(100)
    # each client has one request in flight at a time: at most that one fails
    assert len(load.failures) <= 3, f"more failures than requests B could have had in flight: {load.failures}"
    assert {body for _, _, body in load.answers[-20:] if body in (b"A", b"B")} == {b"A"}

    # (c) B is started again: HAProxy marks it up and it takes traffic again
    srv["B"] = ih.start(cfgs["B"])
    proxy.wait_state("B", "UP", scaled(20))
    with SteadyLoad(proxy.front_port, targets) as load:
        load.wait_served(100)
    load.check("requests after B came back")
    assert {body for _, _, body in load.answers if body in (b"A", b"B")} == {b"A", b"B"}
