"""Connection timers: header_timeout (slow or stalled request heads,
slowloris), keepalive_timeout (idle persistent connections), and the
minimum body rate (body_timeout grace + min_body_rate)."""

import time

import pytest

from ihserver import HttpConn, check_common_headers, expect_status, scaled, scaled_whole, write_files

HELLO = b"hello from the timeout tests\n"
# The timers and every wait below grow with IH_TIME_SCALE (README.md), so
# their proportions, and what each test proves, stay the same on a slow
# machine; only EARLY does not grow (firing early is never excused).
HEADER_TIMEOUT = scaled_whole(2)
KEEPALIVE_TIMEOUT = scaled_whole(5)   # different from HEADER_TIMEOUT so a mix-up shows
BODY_TIMEOUT = scaled_whole(3)        # grace before the minimum body rate applies
MIN_BODY_RATE = 2000                  # bytes/second
EARLY = 0.5                           # timers may fire this much early (clock granularity)
LATE = scaled(2.5)                    # ... and this much late (sweep interval, loaded CI box)
REQUEST_PERIOD = scaled(1.5)          # an active keep-alive client's pause between requests


@pytest.fixture(scope="module")
def srv(ih):
    cfg = ih.new_config("timeouts")
    cfg.server["header_timeout"] = HEADER_TIMEOUT
    cfg.server["keepalive_timeout"] = KEEPALIVE_TIMEOUT
    cfg.server["body_timeout"] = BODY_TIMEOUT
    cfg.server["min_body_rate"] = MIN_BODY_RATE
    write_files(cfg.workdir / "www", {"hello.txt": HELLO})
    with ih.start(cfg) as s:
        yield s


def dropped_without_response(conn, what):
    data = bytes(conn.buf)
    assert data == b"" or data.startswith(b"HTTP/1.1 408"), \
        f"{what}: expected a silent close (or a 408), got {data[:300]!r}"


def test_stalled_head_dropped_after_header_timeout_while_others_are_served(srv):
    slow = HttpConn(srv.port, timeout=scaled(30))
    try:
        slow.send(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-Stalled: ")
        t0 = time.monotonic()
        with HttpConn(srv.port) as fast:
            for i in range(20):
                r = fast.request("GET", "/hello.txt")
                expect_status(r, 200, f"request {i + 1}/20 while another client stalls")
                assert r.body == HELLO
        served = time.monotonic() - t0
        if served < HEADER_TIMEOUT - EARLY:
            assert not slow.wait_closed(0.05), \
                f"stalled client dropped after only {time.monotonic() - t0:.1f} s (header_timeout {HEADER_TIMEOUT})"
        closed = slow.wait_closed(max(0.5, HEADER_TIMEOUT + LATE - (time.monotonic() - t0)))
        elapsed = time.monotonic() - t0
        assert closed, f"stalled client still connected {elapsed:.1f} s after its first bytes " \
                       f"(header_timeout {HEADER_TIMEOUT} s)"
        assert elapsed >= HEADER_TIMEOUT - EARLY, f"dropped after {elapsed:.1f} s, before header_timeout"
        dropped_without_response(slow, "stalled head")
    finally:
        slow.close()
    r = srv.fetch("/hello.txt")
    expect_status(r, 200, "new connection after the drop")
    check_common_headers(r)


def test_slowloris_dripping_head_dropped_after_header_timeout(srv):
    """One byte every 0.25 s keeps the connection busy but never completes the
    head; header_timeout counts from the first byte, not from the last."""
    payload = b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-Drip: " + b"d" * 400
    c = HttpConn(srv.port, timeout=scaled(30))
    try:
        t0 = time.monotonic()
        closed = False
        for i in range(len(payload)):
            try:
                c.send(payload[i:i + 1])
            except OSError:
                closed = True
                break
            if c.wait_closed(0.25):
                closed = True
                break
            if time.monotonic() - t0 > HEADER_TIMEOUT + LATE:
                break
        elapsed = time.monotonic() - t0
        assert closed, f"a client dripping one byte per 0.25 s was still connected after {elapsed:.1f} s " \
                       f"(header_timeout {HEADER_TIMEOUT} s must bound the whole head)"
        assert elapsed >= HEADER_TIMEOUT - EARLY, f"dropped after {elapsed:.1f} s, before header_timeout"
        dropped_without_response(c, "dripping head")
    finally:
        c.close()


def test_idle_keepalive_connection_closed_after_keepalive_timeout(srv):
    with HttpConn(srv.port, timeout=scaled(30)) as c:
        r = c.request("GET", "/hello.txt")
        expect_status(r, 200, "first request")
        assert "close" not in r.tokens("Connection")
        t0 = time.monotonic()
        closed = c.wait_closed(KEEPALIVE_TIMEOUT + LATE)
        elapsed = time.monotonic() - t0
        assert closed, f"idle keep-alive connection still open after {elapsed:.1f} s " \
                       f"(keepalive_timeout {KEEPALIVE_TIMEOUT} s)"
        assert elapsed >= KEEPALIVE_TIMEOUT - 1.0, \
            f"idle keep-alive connection closed after {elapsed:.1f} s, before keepalive_timeout " \
            f"{KEEPALIVE_TIMEOUT} s (header_timeout used for idle time?)"
        dropped_without_response(c, "idle keep-alive")


def test_active_keepalive_connection_outlives_keepalive_timeout(srv):
    """Each request restarts the idle timer: requests every 1.5 s (scaled)
    keep the connection up well past keepalive_timeout."""
    with HttpConn(srv.port, timeout=scaled(15)) as c:
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < KEEPALIVE_TIMEOUT + REQUEST_PERIOD:
            r = c.request("GET", "/hello.txt")
            n += 1
            expect_status(r, 200, f"request {n} at {time.monotonic() - t0:.1f} s on one connection")
            assert r.body == HELLO
            time.sleep(REQUEST_PERIOD)
        assert n >= 4


def test_fresh_connection_without_bytes_uses_keepalive_timeout(srv):
    """A connection that sends nothing is idle (keepalive_timeout), not a
    stalled head (header_timeout): it must survive header_timeout."""
    with HttpConn(srv.port, timeout=scaled(30)) as c:
        t0 = time.monotonic()
        assert not c.wait_closed(HEADER_TIMEOUT + scaled(1.0)), \
            f"silent new connection closed after {time.monotonic() - t0:.1f} s (< keepalive_timeout)"
        r = c.request("GET", "/hello.txt")
        expect_status(r, 200, f"first request after {time.monotonic() - t0:.1f} s of silence")


def test_stalled_body_dropped_below_min_body_rate_while_others_are_served(srv):
    slow = HttpConn(srv.port, timeout=scaled(30))
    try:
        slow.send(b"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n" + b"x" * 10)
        t0 = time.monotonic()
        with HttpConn(srv.port) as fast:
            for i in range(20):
                r = fast.request("GET", "/hello.txt")
                expect_status(r, 200, f"request {i + 1}/20 while another client stalls its body")
                assert r.body == HELLO
        allowed = BODY_TIMEOUT + 10 / MIN_BODY_RATE
        closed = slow.wait_closed(max(0.5, allowed + LATE - (time.monotonic() - t0)))
        elapsed = time.monotonic() - t0
        assert closed, f"client stalling its body still connected after {elapsed:.1f} s " \
                       f"(body_timeout {BODY_TIMEOUT} s, min_body_rate {MIN_BODY_RATE} B/s)"
        assert elapsed >= allowed - EARLY, f"dropped after {elapsed:.1f} s, before the grace period"
        dropped_without_response(slow, "stalled body")
    finally:
        slow.close()
    srv.wait_for_log("IH1303", "the body-rate drop logged with its event ID (IH1303)", timeout=5)


def test_body_sent_faster_than_min_body_rate_is_accepted(srv):
    size = 3 * MIN_BODY_RATE * 4     # takes ~1.5 s at 4x the minimum rate: past the grace is not needed
    with HttpConn(srv.port, timeout=scaled(30)) as c:
        c.send(f"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: {size}\r\n\r\n".encode())
        chunk = MIN_BODY_RATE // 2
        for _ in range(size // chunk):
            c.send(b"y" * chunk)
            time.sleep(chunk / (4 * MIN_BODY_RATE))
        r = c.read_response()
        expect_status(r, 405, "POST to a static file after the whole body arrived")
        r = c.request("GET", "/hello.txt")
        expect_status(r, 200, "the connection stays usable after the body")
