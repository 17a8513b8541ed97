"""ISAPI extensions under Wine: script maps and direct DLL URLs, the ECB
(strings, lpbData pre-read, cbTotalBytes), GetServerVariable size rules,
ReadClient past the pre-read and for chunked bodies, every HttpExtensionProc
return code on one keep-alive connection (KB Q142658), PENDING then
DONE_WITH_SESSION (and a refused second DONE), stale ConnIDs, raw heads,
HTTP/0.9, and a DLL that refuses to load."""

import socket

import pytest

from ihserver import HttpConn, expect_status, win_path, write_files

KEEPALIVE_SEQUENCE = ["keep", "success", "zero", "pending", "keep", "success", "pending", "keep"]


@pytest.fixture(scope="module")
def srv(ih):
    dlls = ih.build_dir / "tests" / "dlls"
    echo = dlls / "ext_echo.dll"
    if not echo.is_file():
        pytest.fail(f"test DLLs not built: {echo} missing", pytrace=False)
    cfg = ih.new_config("isapi")
    site = cfg.sections["site main"]
    site["permissions"] = "read, script"
    write_files(cfg.workdir / "www", {"app.isa": b"script source: must never be served\n",
                                      "v.get": b"script source\n"})
    cfg.section("scriptmap main .isa").update(dll=win_path(echo))
    cfg.section("scriptmap main .get").update(dll=win_path(echo), verbs="GET")
    cfg.section("scriptmap main .bad").update(dll=win_path(dlls / "ext_refuse.dll"), check_file="off")
    cfg.section("scriptmap main .ci").update(dll=win_path(dlls / "ext_crashinit.dll"), check_file="off")
    cfg.vdir("main", "/scripts", path=win_path(dlls), permissions="execute")
    cfg.vdir("main", "/static", path="www", permissions="read")
    with ih.start(cfg) as s:
        yield s


def fields(body):
    return dict(line.split("=", 1) for line in body.decode().splitlines() if "=" in line)


def test_script_map_ecb_and_server_variables(srv):
    r = srv.fetch("/app.isa?x=1&y=2", headers=[("User-Agent", "ih-test/1.0")])
    expect_status(r, 200, "script-mapped extension")
    f = fields(r.body)
    assert f["method"] == "GET"
    assert f["path_info"] == "/app.isa", "IIS 6: PATH_INFO of a script map is the whole URL"
    assert f["query"] == "x=1&y=2"
    assert f["user_agent"] == "ih-test/1.0", "HTTP_USER_AGENT (underscore matches the dash)"
    assert f["server_port"] == str(srv.port)
    assert f["url"] == "/app.isa"
    assert f["missing"].startswith("<error "), f"a header that was not sent: {f['missing']}"
    assert f["size_query"] == "0/122/4", "too small a buffer: FALSE, ERROR_INSUFFICIENT_BUFFER, size incl. NUL"
    assert f["total_bytes"] == "0" and f["available"] == "0" and f["nul_terminated"] == "1"
    assert b"must never be served" not in r.body


def test_server_name_is_the_host_routing_used(srv):
    """SERVER_NAME comes from the one host parser routing uses: the Host
    without its port, or an absolute-form target's host (RFC 9112 3.2.2)."""
    with HttpConn(srv.port) as c:
        r = c.request("GET", "/app.isa", host="Example.COM:8080")
        expect_status(r, 200, "Host with a port")
        assert fields(r.body)["server_name"] == "Example.COM"
        r = c.request("GET", "/app.isa", host="[::1]:8080")
        assert fields(r.body)["server_name"] == "[::1]"
        c.send(b"GET http://other.example:81/app.isa HTTP/1.1\r\nHost: localhost\r\n\r\n")
        r = c.read_response()
        expect_status(r, 200, "absolute-form target")
        assert fields(r.body)["server_name"] == "other.example", \
            "the target's host overrides Host, for routing and SERVER_NAME alike"


def test_invalid_host_never_reaches_the_extension(srv):
    for host in (b"evil example", b"localhost/..\\..", b"evil.example<script>"):
        with HttpConn(srv.port) as c:
            c.send(b"GET /app.isa HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
            r = c.read_response()
            expect_status(r, 400, f"Host: {host!r}")
            assert b"server_name=" not in r.body
            assert c.wait_closed(5)


def test_extension_own_date_and_server_replace_ours(srv):
    r = srv.fetch("/app.isa?rc=own_date")
    expect_status(r, 200, "an extension that sends its own Date and Server")
    assert r.header_list("Date") == ["Tue, 01 Jan 2030 00:00:00 GMT"], r.describe()
    assert r.header_list("Server") == ["EchoServer/2.0"], r.describe()
    assert r.body == b"ok"


def test_chunk_size_over_max_body_413_for_an_extension(srv):
    """The pre-read sees a chunk size above max_body: 413 like a
    Content-Length above it, not a 'malformed' 400."""
    with HttpConn(srv.port) as c:
        c.send(b"POST /app.isa HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"fffffffffff\r\n")
        r = c.read_response()
        expect_status(r, 413, "chunk size above max_body, for an extension")
        assert c.wait_closed(5)


def test_direct_dll_url_gets_path_info_after_the_dll(srv):
    r = srv.fetch("/scripts/ext_echo.dll/extra/path?rc=keep")
    expect_status(r, 200, "DLL requested directly in an execute directory")
    f = fields(r.body)
    assert f["path_info"] == "/extra/path"
    assert f["url"].lower().startswith("/scripts/ext_echo.dll")


def test_body_beyond_the_preread_is_read_with_readclient(srv):
    body = bytes(i % 251 for i in range(100000))
    r = srv.fetch("/app.isa", method="POST", body=body, headers=[("Content-Type", "application/octet-stream")])
    expect_status(r, 200, "POST of 100,000 bytes")
    f = fields(r.body)
    assert f["total_bytes"] == "100000"
    assert f["available"] == "49152", "lpbData holds the 48 KB pre-read"
    assert f["read"] == "100000" and f["sum"] == str(sum(body))
    assert f["nul_terminated"] == "1"
    assert f["content_type"] == "application/octet-stream"


def test_chunked_body_is_dechunked_and_total_is_unknown(srv):
    data = b"hello chunked world " * 5000
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 7000]), data[i:i + 7000]) for i in range(0, len(data), 7000))
    with HttpConn(srv.port) as c:
        c.send(b"POST /app.isa HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
        r = c.read_response()
    expect_status(r, 200, "chunked POST")
    f = fields(r.body)
    assert f["total_bytes"] == str(0xFFFFFFFF), "cbTotalBytes is 0xFFFFFFFF for a chunked body"
    assert f["read"] == str(len(data)) and f["sum"] == str(sum(data))


def test_every_return_code_on_one_keepalive_connection(srv):
    """KB Q142658: KEEP_CONN then SUCCESS (and PENDING -> DONE) on one
    connection; the connection stays usable and nothing leaks."""
    with HttpConn(srv.port) as c:
        for i, rc in enumerate(KEEPALIVE_SEQUENCE):
            r = c.request("GET", f"/app.isa?rc={rc}&i={i}")
            expect_status(r, 200, f"request {i} (rc={rc})")
            assert fields(r.body)["query"] == f"rc={rc}&i={i}"
            assert "close" not in r.tokens("Connection"), f"rc={rc} must not close a self-delimited response"
        r = c.request("GET", "/app.isa?rc=keep")
        assert fields(r.body)["done_twice"] == "1/0/87", \
            "DONE_WITH_SESSION: the first succeeds, a second is refused with ERROR_INVALID_PARAMETER"
        r = c.request("GET", "/app.isa?rc=error")
        expect_status(r, 200, "the response was sent before HSE_STATUS_ERROR")
        assert c.wait_closed(5), "HSE_STATUS_ERROR closes the connection after the response"
    st = srv.wait_status(lambda s: s["connections_live"] == 0 and s["requests_in_flight"] == 0, timeout=10,
                         what="zero live connections and requests after the sequence")
    assert st["requests_total"] >= len(KEEPALIVE_SEQUENCE)


def test_unknown_return_code_closes(srv):
    with HttpConn(srv.port) as c:
        r = c.request("GET", "/app.isa?rc=unknown")
        expect_status(r, 200, "response sent before an unknown return code")
        assert c.wait_closed(5), "an unknown return code is treated as an error: close"


def test_q142658_soak_counts_return_to_zero(srv):
    before = srv.status()
    for conn in range(4):
        with HttpConn(srv.port, timeout=30) as c:
            for i in range(150):
                rc = ("keep", "success", "pending")[i % 3]
                r = c.request("GET", f"/app.isa?rc={rc}")
                assert r.status == 200, f"connection {conn} request {i} rc={rc}: {r.status}"
    st = srv.wait_status(lambda s: s["connections_live"] == 0 and s["requests_in_flight"] == 0, timeout=10,
                         what="zero live connections and requests after 600 extension requests")
    assert st["requests_total"] - before["requests_total"] >= 600


def test_stale_connid_is_refused(srv):
    with HttpConn(srv.port) as c:
        c.request("GET", "/app.isa?rc=keep")
        r = c.request("GET", "/app.isa?rc=stale")
    expect_status(r, 200, "request that tries the previous request's ConnID")
    assert b"stale_write=0/87" in r.body, f"a stale ConnID gets FALSE + ERROR_INVALID_PARAMETER: {r.body!r}"


def test_raw_head_passes_through_and_closes(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET /app.isa?rc=raw HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = c.read_until_eof(10)
    assert data.startswith(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nmethod=GET"), data[:200]


def test_http09_never_gets_a_head_even_a_raw_one(srv):
    for target in (b"/app.isa?rc=raw", b"/app.isa?rc=keep"):
        with HttpConn(srv.port) as c:
            c.send(b"GET " + target + b"\r\n")
            data = c.read_until_eof(10)
        assert data.startswith(b"method=GET\n"), f"{target!r}: {data[:200]!r}"
        assert b"HTTP/" not in data and b"Content-" not in data.split(b"\n")[0]


def test_extension_that_sends_nothing_answers_its_status(srv):
    r = srv.fetch("/app.isa?rc=silent")
    expect_status(r, 204, "dwHttpStatusCode of an extension that sent nothing")


def test_no_body_after_204_and_the_connection_stays_in_step(srv):
    """RFC 9110 6.4.1: a 204 has no content. What the DLL writes for it anyway
    (after the blank line of its head, and with WriteClient) is dropped, so the
    next response on the connection is read as itself; the ECB's 204 of a
    silent extension carries no Content-Length (RFC 9110 8.6)."""
    with HttpConn(srv.port) as c:
        r = c.request("GET", "/app.isa?rc=nocontent")
        expect_status(r, 204, "a 204 head from the extension")
        assert r.header("X-Kind") == "bodiless"
        r = c.request("GET", "/app.isa?rc=silent")
        expect_status(r, 204, "the next response on the same connection")
        assert r.header("Content-Length") is None, "no Content-Length in a 204"
        r = c.request("GET", "/app.isa?rc=keep")
        expect_status(r, 200, "and the one after")
        assert fields(r.body)["query"] == "rc=keep"


def test_verbs_check_file_and_script_permission(srv):
    r = srv.fetch("/v.get", method="POST", body=b"x")
    expect_status(r, 405, "verb not in the script map")
    assert "GET" in r.header("Allow")
    expect_status(srv.fetch("/missing.isa"), 404, "check_file: the script does not exist")
    r = srv.fetch("/static/app.isa")
    expect_status(r, 403, "script-mapped file where the directory has no script permission")
    assert b"must never be served" not in r.body


def test_dll_that_refuses_to_load_gives_500_and_a_logged_reason(srv):
    r = srv.fetch("/x.bad")
    expect_status(r, 500, "GetExtensionVersion returned FALSE")
    log = "\n".join(srv.wait_for_log("IH2002", "IH2002 for the refusing DLL", timeout=5))
    assert "IH2002" in log and "ext_refuse.dll" in log and "Win32 error 5" in log, log[-2000:]
    expect_status(srv.fetch("/app.isa"), 200, "other extensions keep working")


def test_legacy_send_response_header_status_line_and_body(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET /app.isa?rc=legacy HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = c.read_until_eof(10)
    assert data.startswith(b"HTTP/1.1 201 Created\r\n"), data[:200]
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"Content-Type: text/plain" in head and b"Status:" not in head
    assert b"Connection: close" in head, "no Content-Length: the response ends at close"
    assert body == b"body after the blank line"


def test_extension_connection_close_header_closes(srv):
    with HttpConn(srv.port) as c:
        r = c.request("GET", "/app.isa?rc=close")
        expect_status(r, 200, "response with the extension's own Connection: close")
        assert r.body == b"ok"
        assert "close" in r.tokens("Connection")
        assert c.wait_closed(5)


def test_crash_in_extension_costs_one_request(srv):
    for i in range(5):
        r = srv.fetch(f"/app.isa?rc=crash&i={i}")
        expect_status(r, 500, "an access violation inside HttpExtensionProc")
    r = srv.fetch("/app.isa?rc=keep")
    expect_status(r, 200, "the same DLL keeps serving after its faults")
    expect_status(srv.fetch("/index.html"), 404, "static requests are unaffected")
    log = "\n".join(srv.wait_for_log("IH2006", "IH2006 for the faults", timeout=5))
    assert "IH2006" in log and "exception 0xc0000005" in log, log[-2000:]


def test_crash_in_get_extension_version_costs_one_request(srv):
    for i in range(3):
        expect_status(srv.fetch(f"/x.ci?i={i}"), 500, "an access violation inside GetExtensionVersion")
    log = "\n".join(srv.wait_for_log("GetExtensionVersion crashed", "the crash in GetExtensionVersion", timeout=5))
    assert "IH2002" in log and "ext_crashinit.dll" in log and "GetExtensionVersion crashed" in log, log[-2000:]
    expect_status(srv.fetch("/app.isa?rc=keep"), 200, "other extensions keep working")
