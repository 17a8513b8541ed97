"""Idle keep-alive connections park (docs/architecture.md): after 2 s of
idleness the receive is cancelled, the input buffer given back and a
zero-byte receive waits. Under Wine, through the real socket transport
(CancelIoEx, a zero-byte WSARecv): a parked connection must answer its
next request, see its client close, and count in the status page as
before."""

import time

import pytest

from ihserver import HttpConn, expect_status, scaled, write_files

BODY = b"idle connections park and come back\n"
PARK_AFTER = 2.0          # IH_PARK_AFTER_MS in service/server/pipeline.c
SWEEP = 0.1               # the timer sweep's interval (server_lifecycle_win32.c)
PARKED = scaled(PARK_AFTER + SWEEP + 1.5)  # comfortably parked, well before keepalive_timeout


@pytest.fixture(scope="module")
def srv(ih):
    cfg = ih.new_config("idle")
    cfg.server["keepalive_timeout"] = 120
    write_files(cfg.workdir / "www", {"f.txt": BODY})
    with ih.start(cfg) as s:
        yield s


def no_connections(st):
    return st["connections_live"] == 0 and st["requests_in_flight"] == 0


def test_parked_connection_answers_its_next_requests(srv):
    with HttpConn(srv.port, timeout=scaled(30)) as c:
        r = c.request("GET", "/f.txt")
        expect_status(r, 200, "first request")
        assert r.body == BODY
        for i in range(2):
            time.sleep(PARKED)
            r = c.request("GET", "/f.txt")
            expect_status(r, 200, f"request {i + 2}, after the connection parked")
            assert r.body == BODY, f"request {i + 2}: body {r.body[:80]!r}"
            assert "close" not in r.tokens("Connection")


def test_parked_connection_reads_a_head_sent_in_pieces(srv):
    with HttpConn(srv.port, timeout=scaled(30)) as c:
        expect_status(c.request("GET", "/f.txt"), 200, "first request")
        time.sleep(PARKED)
        c.send(b"GET /f.txt HT")
        time.sleep(scaled(0.3))
        c.send(b"TP/1.1\r\nHost: localhost\r\n\r\n")
        r = c.read_response()
        expect_status(r, 200, "a head split across two sends, the first waking the parked connection")
        assert r.body == BODY


def test_parked_connection_sees_its_client_close(srv):
    srv.wait_status(no_connections, timeout=scaled(10), what="no connection before the test")
    c = HttpConn(srv.port, timeout=scaled(30))
    try:
        expect_status(c.request("GET", "/f.txt"), 200, "first request")
        time.sleep(PARKED)
        st = srv.status()
        assert st["connections_live"] == 1, f"the parked connection is live: {st}"
    finally:
        c.close()
    srv.wait_status(no_connections, timeout=scaled(10),
                    what="connections_live == 0 after the client closed its parked connection")
