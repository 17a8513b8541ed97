"""ISAPI extensions under Wine, asynchronous side: WriteClient(HSE_IO_ASYNC)
chains from the completion callback (no stack growth, never inline),
HSE_REQ_ASYNC_READ_CLIENT, one operation at a time, CLOSE_CONNECTION and
CANCEL_IO with a read outstanding, TRANSMIT_FILE and VECTOR_SEND, a fault in
a completion callback, DONE_WITH_SESSION before PENDING, wrong pointers,
redirects, log parameters and the connection-state codes. Every test ends
with the status page back at zero."""

import time

import pytest

from ihserver import HttpConn, expect_status, scaled, win_path, write_files

SCRIPT = bytes(range(48, 48 + 64)) * 64  # 4,096 bytes the DLL transmits


def make_config(ih, name):
    dll = ih.build_dir / "tests" / "dlls" / "ext_async.dll"
    if not dll.is_file():
        pytest.fail(f"test DLL not built: {dll}", pytrace=False)
    cfg = ih.new_config(name)
    cfg.server["isapi_preread"] = 1024
    cfg.sections["site main"]["permissions"] = "read, script"
    write_files(cfg.workdir / "www", {"t.asy": SCRIPT})
    cfg.section("scriptmap main .asy").update(dll=win_path(dll), check_file="off")
    return cfg


@pytest.fixture(scope="module")
def srv(ih):
    with ih.start(make_config(ih, "isapi_async")) as s:
        yield s


def fields(body):
    return dict(line.split("=", 1) for line in body.decode(errors="replace").splitlines() if "=" in line)


def settled(srv, what):
    return srv.wait_status(lambda s: s["connections_live"] == 0 and s["requests_in_flight"] == 0
                           and s.get("isapi_sessions", 0) == 0, timeout=15, what=what)


def test_async_write_chain_of_10000_never_grows_the_stack(srv):
    n = 10000
    with HttpConn(srv.port, timeout=120) as c:
        c.send(b"GET /t.asy?mode=chain&n=%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % n)
        data = c.read_until_eof(120)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert body[:n] == b"x" * n, f"{body[:80]!r}"
    f = fields(body[n:])
    assert f["issued"] == str(n) and f["err"] == "0"
    assert f["inline"] == "0", "a completion ran inside the WriteClient that started it"
    # Every completion starts from a fresh pool item: the same stack depth each time.
    assert int(f["deepest"]) < 4096, f"stack grew by {f['deepest']} bytes across the chain"
    settled(srv, "zero after the chain")


def test_async_read_client_reads_the_whole_body(srv):
    body = bytes((i * 7) % 256 for i in range(150000))
    r = srv.fetch("/t.asy?mode=read", method="POST", body=body)
    expect_status(r, 200, "async read of 150,000 bytes")
    f = fields(r.body)
    assert f["total"] == str(len(body)) and f["sum"] == str(sum(body)) and f["err"] == "0"
    settled(srv, "zero after the async read")


def test_one_async_operation_at_a_time(srv):
    with HttpConn(srv.port) as c:
        c.send(b"POST /t.asy?mode=busy HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2000\r\n\r\n" + b"a" * 1024)
        time.sleep(scaled(0.5))  # the DLL's read is outstanding now
        c.send(b"b" * 976)
        r = c.read_response()
    expect_status(r, 200, "response after the outstanding read completed")
    f = fields(r.body)
    assert f["second_refused"] == "1/87", "a second async read is refused with ERROR_INVALID_PARAMETER"
    assert f["sync_write_refused"] == "1/87", "a write while a read is outstanding is refused"
    assert int(f["total"]) > 1024
    settled(srv, "zero after busy")


def test_close_connection_with_a_read_outstanding(srv):
    with HttpConn(srv.port) as c:
        c.send(b"POST /t.asy?mode=close HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000\r\n\r\n" + b"a" * 1024)
        assert c.wait_closed(10), "CLOSE_CONNECTION closes the socket"
    settled(srv, "zero after CLOSE_CONNECTION: the completion came and DONE ended the session")


def test_cancel_io_fails_the_read_and_closes_after_the_response(srv):
    with HttpConn(srv.port) as c:
        c.send(b"POST /t.asy?mode=cancel HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000\r\n\r\n" + b"a" * 1024)
        r = c.read_response()
        expect_status(r, 200, "response after CANCEL_IO")
        assert fields(r.body)["cancelled_err"] != "0", "the cancelled read completes with an error"
        assert "close" in r.tokens("Connection")
        assert c.wait_closed(10)
    settled(srv, "zero after CANCEL_IO")


@pytest.mark.parametrize("query,expect", [
    ("mode=transmit", SCRIPT + b"--tail--"),
    ("mode=transmit&off=100&len=50", SCRIPT[100:150] + b"--tail--"),
    ("mode=transmit&cb=tf", SCRIPT + b"--tail--"),
])
def test_transmit_file_with_headers_and_tail(srv, query, expect):
    with HttpConn(srv.port) as c:
        for _ in range(2):  # keep-alive: the response is delimited
            r = c.request("GET", f"/t.asy?{query}")
            expect_status(r, 200, query)
            assert r.body == expect, f"{len(r.body)} bytes: {r.body[:80]!r}"
            assert r.header("Content-Type") == "text/plain"
    settled(srv, "zero after TRANSMIT_FILE")


def test_transmit_file_raw_head_and_disconnect_after_send(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET /t.asy?mode=transmit&raw=1&disc=1 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = c.read_until_eof(10)
    assert data.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"), data[:200]
    assert data.endswith(SCRIPT + b"--tail--")
    with HttpConn(srv.port) as c:
        r = c.request("GET", "/t.asy?mode=transmit&disc=1")
        assert r.body == SCRIPT + b"--tail--"
        assert c.wait_closed(10), "HSE_IO_DISCONNECT_AFTER_SEND closes after the response"
    settled(srv, "zero after raw TRANSMIT_FILE")


def test_transmit_file_offset_past_end_is_refused(srv):
    r = srv.fetch("/t.asy?mode=transmit_past")
    expect_status(r, 200, "report of the refused TRANSMIT_FILE")
    assert fields(r.body)["transmit_refused"] == "10022"


@pytest.mark.parametrize("mode", ["async=0", "async=1"])
def test_vector_send_memory_and_file_elements(srv, mode):
    with HttpConn(srv.port) as c:
        for _ in range(2):
            r = c.request("GET", f"/t.asy?mode=vector&{mode}")
            expect_status(r, 200, f"VECTOR_SEND {mode}")
            assert r.body == b"<first>" + SCRIPT[2:7] + b"<last>"
    settled(srv, "zero after VECTOR_SEND")


def test_fault_in_completion_callback_costs_one_request(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET /t.asy?mode=crashcb HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = c.read_until_eof(10)
    assert data.startswith(b"HTTP/1.1 200"), "the head went out before the fault"
    assert data.endswith(b"partial"), "the connection closes: the declared length was not met"
    log = "\n".join(srv.wait_for_log("completion callback", "IH2006 for the fault in a completion callback", timeout=5))
    assert "IH2006" in log and "completion callback" in log, log[-2000:]
    expect_status(srv.fetch("/t.asy?mode=state"), 200, "the server and the DLL go on")
    settled(srv, "zero after a fault in a completion callback")


def test_done_with_session_before_pending_returns(srv):
    with HttpConn(srv.port) as c:
        for _ in range(3):
            r = c.request("GET", "/t.asy?mode=done_early")
            expect_status(r, 200, "DONE_WITH_SESSION (NULL status) before HttpExtensionProc returned PENDING")
            assert r.body == b"done before PENDING\n"
    settled(srv, "zero after early DONE")


def test_wrong_pointers_get_errors_not_a_crash(srv):
    with HttpConn(srv.port) as c:
        r = c.request("GET", "/t.asy?mode=bogus")
        expect_status(r, 200, "bogus pointers")
        f = fields(r.body)
        assert f["var"] == "0/87" and f["write"] == "0/87" and f["name"] == "0/87"
        assert f["unsupported"] == "0/232", "GET_CERT_INFO_EX: no client certificate here (ERROR_NO_DATA)"
        assert f["unknown"] == "0/87"
        assert f["foreign"] == "0/87", "a ConnID that was never handed out"
        r = c.request("GET", "/t.asy?mode=state")
        expect_status(r, 200, "same connection afterwards")
    log = "\n".join(srv.wait_for_log("IH2005", "IH2005 for the bogus pointers", timeout=5))
    assert "HSE_REQ_GET_CERT_INFO_EX" in log
    settled(srv, "zero after bogus pointers")


def test_redirect_sends_302_with_location_and_body(srv):
    with HttpConn(srv.port) as c:
        r = c.request("GET", "/t.asy?mode=redirect")
        expect_status(r, 302, "SEND_URL_REDIRECT_RESP")
        assert r.header("Location") == 'http://example.test/elsewhere?a="1"'
        assert b"&quot;1&quot;" in r.body
        r = c.request("GET", "/t.asy?mode=state")
        expect_status(r, 200, "kept alive after the redirect")


def test_send_url_is_a_302(srv):
    r = srv.fetch("/t.asy?mode=send_url")
    expect_status(r, 302, "SEND_URL")
    assert r.header("Location") == "/elsewhere/page.txt"


def test_abortive_close_resets_the_connection(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET /t.asy?mode=abort HTTP/1.1\r\nHost: localhost\r\n\r\n")
        c.wait_closed(10)
        assert c.reset, f"ABORTIVE_CLOSE ends with a reset, not a FIN; got {bytes(c.buf[:120])!r}"
    settled(srv, "zero after ABORTIVE_CLOSE")


def test_connection_state_codes(srv):
    with HttpConn(srv.port) as c:
        r = c.request("GET", "/t.asy?mode=state")
    f = fields(r.body)
    assert f["keep"] == "1" and f["connected"] == "1" and f["in_process"] == "0"
    assert f["token"] == "1" and f["impersonated"] == "1", "GET_IMPERSONATION_TOKEN works with ImpersonateLoggedOnUser"
    assert f["flush"] == "1" and f["unhealthy"] == "1"
    r = srv.fetch("/t.asy?mode=state", version="HTTP/1.0")
    assert fields(r.body)["keep"] == "0", "HTTP/1.0 without keep-alive: IS_KEEP_CONN is FALSE"
    srv.wait_for_log("IH2008", "IH2008", timeout=5)


def test_log_parameters_reach_the_access_log(ih):
    cfg = make_config(ih, "isapi_async_log")
    with ih.start(cfg) as s:
        expect_status(s.fetch("/t.asy?mode=log&q=1"), 200, "log parameters")
    text = "".join(p.read_text(errors="replace") for p in (cfg.log_dir / "W3SVC1").glob("u_ex*.log"))
    assert "mode=log&q=1|first|second|logdata" in text, \
        "HSE_APPEND_LOG_PARAMETER (twice) and lpszLogData follow the query in cs-uri-query: " + text[-1500:]
