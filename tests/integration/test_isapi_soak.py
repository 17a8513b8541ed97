"""KB Q142658 soak: 100,000 extension requests on keep-alive connections,
ending their sessions every way a DLL can (SUCCESS_AND_KEEP_CONN, SUCCESS,
PENDING -> DONE_WITH_SESSION with KEEP_CONN, SUCCESS or a NULL status, and
DONE_WITH_SESSION before PENDING is returned), in rotation. IIS 1.0 ran out
of memory this way. Afterwards nothing is live, and the process's private
bytes and handle count at 100,000 requests are within 5 % of their value at
10,000."""

import socket
import threading
import time

import pytest

from ihserver import scaled, win_path, worker_mode, write_files

ENDS = ["keep", "success", "pending_keep", "pending_success", "pending_null", "done_early"]
CLIENTS = 8
TOTAL = 100_000
FIRST = 10_000


@pytest.fixture(scope="module")
def srv(ih):
    dll = ih.build_dir / "tests" / "dlls" / "ext_q142658.dll"
    if not dll.is_file():
        pytest.fail(f"test DLL not built: {dll}", pytrace=False)
    cfg = ih.new_config("isapi_soak")
    cfg.sections["site main"]["permissions"] = "read, script"
    cfg.sections["site main"]["log"] = "off"
    write_files(cfg.workdir / "www", {"kb.q": b""})
    cfg.section("scriptmap main .q").update(dll=win_path(dll), check_file="off")
    with ih.start(cfg) as s:
        yield s


class Client:
    """One keep-alive connection making requests one after another."""

    def __init__(self, port, index):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.index = index
        self.done = 0
        self.buf = b""
        self.error = None

    def one(self, end):
        self.sock.sendall(b"GET /kb.q?end=%s HTTP/1.1\r\nHost: localhost\r\n\r\n" % end.encode())
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0 and len(self.buf) >= i + 6:
                head, body = self.buf[:i], self.buf[i + 4:i + 6]
                self.buf = self.buf[i + 6:]
                if not head.startswith(b"HTTP/1.1 200 ") or body != b"ok" or b"Connection: close" in head:
                    raise AssertionError(f"client {self.index} request {self.done} (end={end}): {head!r} {body!r}")
                self.done += 1
                return
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"client {self.index}: connection closed after {self.done} requests (end={end})")
            self.buf += chunk

    def run(self, count):
        try:
            for _ in range(count):
                self.one(ENDS[(self.done + self.index) % len(ENDS)])
        except Exception as e:  # reported by the test thread
            self.error = e


def run_all(clients, per_client):
    threads = [threading.Thread(target=c.run, args=(per_client,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        if c.error:
            raise c.error


def settled_status(srv):
    """The status page; in worker mode after the worker's next pong (ping_interval 1),
    so its figures are from after the requests."""
    if worker_mode():
        time.sleep(scaled(2.5))
    return srv.status()


def test_q142658_100000_requests_leave_nothing_behind(srv):
    clients = [Client(srv.port, i) for i in range(CLIENTS)]
    try:
        t0 = time.monotonic()
        run_all(clients, FIRST // CLIENTS)
        at_first = settled_status(srv)
        run_all(clients, (TOTAL - FIRST) // CLIENTS)
        at_total = settled_status(srv)
        elapsed = time.monotonic() - t0
    finally:
        for c in clients:
            c.sock.close()
    assert sum(c.done for c in clients) == TOTAL
    print(f"{TOTAL} requests in {elapsed:.1f} s; at {FIRST}: {at_first}; at {TOTAL}: {at_total}")
    assert at_total["requests_total"] - at_first["requests_total"] >= TOTAL - FIRST
    # Each client kept its one connection throughout (the only new one is the
    # status request's): every way of ending a session kept the connection.
    assert at_total["connections_total"] - at_first["connections_total"] == 1, (at_first, at_total)
    for key in ("private_bytes", "handles"):
        first, last = at_first[key], at_total[key]
        assert first > 0, f"{key} must be measurable for this test to mean anything: {at_first}"
        assert abs(last - first) <= 0.05 * first, f"{key}: {first} at {FIRST} requests, {last} at {TOTAL}"
    if worker_mode():
        # The DLL ran in a worker process: the same holds for it, by its pongs.
        wf, wl = at_first["pools"][0]["workers"][0], at_total["pools"][0]["workers"][0]
        assert wf["pid"] == wl["pid"], f"one worker throughout: {wf} then {wl}"
        for key in ("private_bytes", "handles"):
            first, last = wf[key], wl[key]
            assert first > 0, f"worker {key} must be measurable: {wf}"
            assert abs(last - first) <= 0.05 * first, f"worker {key}: {first} at {FIRST} requests, {last} at {TOTAL}"
    st = srv.wait_status(lambda s: s["connections_live"] == 0 and s["requests_in_flight"] == 0
                         and s["isapi_sessions"] == 0
                         and all(w["isapi_sessions"] == 0 for p in s.get("pools", []) for w in p["workers"]),
                         timeout=15,
                         what="zero live connections, requests and sessions (in the workers too) after the clients closed")
    assert st["requests_total"] >= TOTAL
