"""KB Q323064, generalised: with a filter registered for every notification
that calls every callback on each (tests/dlls/flt_all.c), 8 clients send
20,000 requests each, mixing HTTP/0.9, 1.0 and 1.1, static files and an
extension, keep-alive and close, HEAD, POST, 404s and malformed requests.
IIS 5 crashed in the send-header notification path under such a load.
Nothing may crash; every 0.9 answer is the body alone; every 1.x answer
went through SEND_RESPONSE (X-Filter-Errors: 0: no callback answered what
it should not); afterwards nothing is live, END_OF_NET_SESSION reached
every connection (the filter's context count is back to one, the
connection asking), and private bytes and handles are flat between the
first and the last quarter."""

import os
import socket
import threading
import time

import pytest

from ihserver import filter_dll, win_path, write_files

CLIENTS = 8
PER_CLIENT = int(os.environ.get("IH_Q323064_PER_CLIENT", "20000"))  # smaller for a quick look by hand
PAGE = b"<p>Q323064</p>\n" * 8

GET11 = b"GET /page.htm HTTP/1.1\r\nHost: localhost\r\n\r\n"
# (request bytes, kind, expected status): kind "09" = body only, then close
MIX = [
    (GET11, "11", 200),
    (b"GET /app.isa?rc=keep HTTP/1.1\r\nHost: localhost\r\n\r\n", "11", 200),
    (b"GET /page.htm HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "10", 200),
    (b"GET /page.htm\r\n", "09", PAGE),
    (b"HEAD /page.htm HTTP/1.1\r\nHost: localhost\r\n\r\n", "head", 200),
    (b"GET /app.isa\r\n", "09", b"method=GET\n"),
    (b"GET /nope.htm HTTP/1.1\r\nHost: localhost\r\n\r\n", "11", 404),
    (b"GET /page.htm HTTP/1.0\r\n\r\n", "10", 200),
    (b"GET /page.htm HTTP/1.1\r\nHost: localhost\r\nContent-Length: x\r\n\r\n", "11", 400),
    (b"POST /app.isa HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello", "11", 200),
    (b"GET /%zz\r\n", "09", None),  # a 0.9 error: a body, never a head
    (b"GET /page.htm HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", "11", 200),
    (b"GET /page.htm HTTP/1.1\r\n\r\n", "11", 400),  # 1.1 without Host
    (b"BREW /page.htm HTTP/1.1\r\nHost: localhost\r\n\r\n", "11", 501),
]


@pytest.fixture(scope="module")
def srv(ih):
    dlls = ih.build_dir / "tests" / "dlls"
    for name in ("flt_all.dll", "ext_echo.dll"):
        if not (dlls / name).is_file():
            pytest.fail(f"test DLL not built: {dlls / name}", pytrace=False)
    cfg = ih.new_config("filters_q323064")
    site = cfg.sections["site main"]
    site["permissions"] = "read, script"
    site["log"] = "off"
    write_files(cfg.workdir / "www", {"page.htm": PAGE, "app.isa": b""})
    cfg.section("scriptmap main .isa").update(dll=win_path(dlls / "ext_echo.dll"))
    cfg.section("filter all").update(dll=win_path(filter_dll(dlls, "flt_all.dll")))
    with ih.start(cfg) as s:
        yield s


class Client:
    def __init__(self, port, index):
        self.port = port
        self.index = index
        self.sock = None
        self.buf = b""
        self.done = 0
        self.connections = 0
        self.error = None

    def _connect(self):
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.connections += 1

    def _drop(self):
        if self.sock:
            self.sock.close()
        self.sock = None

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def _until_closed(self):
        while self._fill():
            pass
        out, self.buf = self.buf, b""
        self._drop()
        return out

    def _fail(self, what):
        raise AssertionError(f"client {self.index}, request {self.done}: {what}")

    def one(self, request, kind, want):
        if self.sock is None:
            self._connect()
        self.sock.sendall(request)
        if kind == "09":
            out = self._until_closed()
            if out.startswith(b"HTTP/"):
                self._fail(f"an HTTP/0.9 answer with a head: {out[:120]!r}")
            if isinstance(want, bytes) and not out.startswith(want):
                self._fail(f"0.9 body {out[:120]!r}, want {want[:40]!r}")
            if want == PAGE and out != PAGE:
                self._fail(f"0.9 body is not the file: {out[:120]!r}")
            if not out:
                self._fail("an HTTP/0.9 request got nothing")
            return
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                self._fail(f"closed before a response head to {request[:40]!r}")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.setdefault(name.strip().lower(), value.strip())
        if status != want:
            self._fail(f"status {status}, want {want}, for {request[:40]!r}: {head[:300]!r}")
        if headers.get(b"x-filter-errors") != b"0":
            self._fail(f"SEND_RESPONSE missing or a callback misbehaved: {headers.get(b'x-filter-errors')!r}")
        length = 0 if kind == "head" else int(headers.get(b"content-length", b"-1"))
        close = b"close" in headers.get(b"connection", b"").lower() or (
            kind == "10" and b"keep-alive" not in headers.get(b"connection", b"").lower())
        if length < 0:
            self._fail(f"no Content-Length: {head[:300]!r}")
        while len(self.buf) < length:
            if not self._fill():
                self._fail("closed in the middle of a body")
        self.buf = self.buf[length:]
        if close:
            self._until_closed()

    def run(self, count):
        try:
            for _ in range(count):
                request, kind, want = MIX[(self.done + self.index) % len(MIX)]
                self.one(request, kind, want)
                self.done += 1
        except Exception as e:  # reported by the test thread
            self.error = e
        finally:
            self._drop()


def run_all(clients, per_client):
    threads = [threading.Thread(target=c.run, args=(per_client,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        if c.error:
            raise c.error


@pytest.mark.ih_timeout(1000)
def test_q323064_mixed_versions_under_a_filter_on_every_notification(srv):
    clients = [Client(srv.port, i) for i in range(CLIENTS)]
    t0 = time.monotonic()
    quarter = PER_CLIENT // 4
    run_all(clients, quarter)
    first = srv.status()
    run_all(clients, PER_CLIENT - 2 * quarter)
    run_all(clients, quarter)
    last = srv.status()
    elapsed = time.monotonic() - t0
    total = sum(c.done for c in clients)
    print(f"{total} requests on {sum(c.connections for c in clients)} connections in {elapsed:.1f} s; "
          f"first quarter: {first}; end: {last}")
    assert total == CLIENTS * PER_CLIENT
    for key in ("private_bytes", "handles"):
        a, b = first[key], last[key]
        assert a > 0, f"{key} must be measurable for this test to mean anything: {first}"
        assert abs(b - a) <= 0.05 * a, f"{key}: {a} after the first quarter, {b} at the end"
    st = srv.wait_status(lambda s: s["connections_live"] == 0 and s["requests_in_flight"] == 0
                         and s["isapi_sessions"] == 0, timeout=30,
                         what="zero live connections, requests and sessions after the clients closed")
    assert st["requests_total"] >= total
    # END_OF_NET_SESSION freed every connection's context: only this one's is
    # live. The status page's own connection, just closed by this client,
    # may still be ending on the server (its END_OF_NET_SESSION comes when
    # the server sees the close), so ask again for a moment before judging.
    deadline = time.monotonic() + 10
    while True:
        r = srv.fetch("/page.htm")
        assert r.status == 200 and r.header("X-Filter-Errors") == "0", r.describe()
        if r.header("X-Filter-Contexts") == "1" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.header("X-Filter-Contexts") == "1", r.describe()
