"""Connection and request lifetime, proved through the status page: many
concurrent keep-alive requests, then every count returns to zero."""

import threading
import time

import pytest

from ihserver import HttpConn, build_request, expect_status, write_files

STATUS_PATH = "/_ih_test/status"   # non-default, to check status_path is honoured
THREADS = 10
PER_THREAD = 100


def body_of(i):
    return (f"file {i} ".encode() * (10 * (i + 1)))[: 50 + 37 * i] + b"\n"


@pytest.fixture(scope="module")
def srv(ih):
    cfg = ih.new_config("lifetime")
    cfg.server["status_path"] = STATUS_PATH
    write_files(cfg.workdir / "www", {f"f{i:02d}.txt": body_of(i) for i in range(THREADS)})
    with ih.start(cfg) as s:
        yield s


def idle(st):
    return st["connections_live"] == 0 and st["requests_in_flight"] == 0


def test_idle_server_reports_zero(srv):
    st = srv.wait_status(idle, timeout=10, what="connections_live == 0 and requests_in_flight == 0")
    assert st["connections_total"] >= 0 and st["requests_total"] >= 0


def test_status_page_only_at_configured_path(srv):
    r = srv.fetch("/_isapihost/status")
    expect_status(r, 404, "default status path when status_path is set elsewhere")
    assert b"connections_live" not in r.body


def test_status_counts_exclude_only_the_asking_connection(srv):
    srv.wait_status(idle, timeout=10, what="an idle server")
    with HttpConn(srv.port) as other:
        r = other.request("GET", "/f00.txt")
        expect_status(r, 200, "request on the extra connection")
        st = srv.wait_status(lambda s: s["connections_live"] == 1, timeout=5,
                             what="connections_live == 1 while one other keep-alive connection is open")
        assert st["requests_in_flight"] == 0, f"no request is in flight, yet: {st}"
    srv.wait_status(idle, timeout=10, what="zero after the extra connection closed")


def test_status_head_and_post(srv):
    h = srv.fetch(STATUS_PATH, method="HEAD")
    expect_status(h, 200, "HEAD of the status page")
    assert h.body == b""
    p = srv.fetch(STATUS_PATH, method="POST", body=b"x")
    expect_status(p, 405, "POST to the status page")


def test_thousand_keepalive_requests_then_counts_return_to_zero(srv):
    before = srv.wait_status(idle, timeout=10, what="an idle server before the load")
    errors = []
    done = [0] * THREADS
    sent_bytes = [0] * THREADS
    body_bytes = [0] * THREADS

    def client(t):
        try:
            with HttpConn(srv.port, timeout=30) as c:
                for n in range(PER_THREAD):
                    i = (t + n) % THREADS   # every thread touches every file
                    req = build_request("GET", f"/f{i:02d}.txt", [("User-Agent", f"ih-lifetime/{t}")])
                    c.send(req)
                    r = c.read_response()
                    if r.status != 200 or r.body != body_of(i):
                        errors.append(f"thread {t} request {n}: /f{i:02d}.txt -> {r.status}, "
                                      f"{len(r.body)} bytes (want {len(body_of(i))})")
                        return
                    if "close" in r.tokens("Connection"):
                        errors.append(f"thread {t} request {n}: server closed a keep-alive connection")
                        return
                    done[t] += 1
                    sent_bytes[t] += len(req)
                    body_bytes[t] += len(r.body)
        except Exception as e:  # reported below, with the thread number
            errors.append(f"thread {t}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=client, args=(t,), daemon=True, name=f"client-{t}") for t in range(THREADS)]
    t0 = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=max(1.0, 120 - (time.monotonic() - t0)))
    hung = [th.name for th in threads if th.is_alive()]
    assert not hung, f"client threads still running after 120 s: {hung}; done per thread {done}"
    assert not errors, f"{len(errors)} client errors, first ones:\n" + "\n".join(errors[:10])
    assert sum(done) == THREADS * PER_THREAD, f"requests done per thread: {done}"

    after = srv.wait_status(idle, timeout=10,
                            what="connections_live == 0 and requests_in_flight == 0 after the clients closed")
    delta = {k: after[k] - before[k] for k in ("connections_total", "requests_total", "bytes_received",
                                                "bytes_sent")}
    assert delta["requests_total"] >= THREADS * PER_THREAD, f"requests_total grew by {delta['requests_total']}: {delta}"
    assert delta["connections_total"] >= THREADS, f"connections_total grew by {delta['connections_total']}"
    assert delta["bytes_received"] >= sum(sent_bytes), f"bytes_received grew by {delta['bytes_received']}, " \
                                                        f"clients sent {sum(sent_bytes)}"
    assert delta["bytes_sent"] >= sum(body_bytes), f"bytes_sent grew by {delta['bytes_sent']}, " \
                                                    f"bodies alone were {sum(body_bytes)}"


def test_abandoned_connections_are_reclaimed(srv):
    """Clients that vanish mid-request (partial head, reset, half a body) must
    not leave live connections or in-flight requests behind."""
    import socket
    import struct
    socks = []
    try:
        for data in (b"GET /f01.txt HTTP/1.1\r\nHost: x\r\n",                       # partial head
                     b"POST /f01.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",  # partial body
                     b"GET /f02.txt HTTP/1.1\r\nHost: x\r\n\r\n"):                   # complete, never read
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.sendall(data)
            socks.append(s)
        time.sleep(0.5)
    finally:
        for s in socks:
            # RST instead of FIN for the last one: SO_LINGER with timeout 0
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
    srv.wait_status(idle, timeout=10, what="zero after three abandoned connections were reset")
