"""ISAPI child requests under Wine: wildcard script maps handing requests on
with HSE_REQ_EXEC_URL (to files, to script-mapped extensions, to errors),
a wildcard that loops without IGNORE_CURRENT_INTERCEPTOR meeting the depth
limit, rewrites to other URLs, a child with its own entity and headers,
HSE_EXEC_URL_NO_HEADERS, GET_EXEC_URL_STATUS, SEND_CUSTOM_ERROR, and
HTTP/0.9 through all of it."""

import time

import pytest

from ihserver import HttpConn, expect_status, scaled, win_path, write_files

PAGE = b"app page\n"
FILE = b"static content\n"
UNICODE_FILE = "unicode name\n".encode()
CUSTOM_404 = b"<html><body>custom not found</body></html>\n"


@pytest.fixture(scope="module")
def srv(ih):
    dlls = ih.build_dir / "tests" / "dlls"
    for name in ("ext_exec.dll", "ext_echo.dll"):
        if not (dlls / name).is_file():
            pytest.fail(f"test DLL not built: {dlls / name}", pytrace=False)
    cfg = ih.new_config("isapi_exec")
    cfg.server["isapi_exec_depth"] = 4
    site = cfg.sections["site main"]
    site["permissions"] = "read, script"
    site["error_page.404"] = "errors/404.html"
    write_files(cfg.workdir / "www", {"file.txt": FILE, "app/page.txt": PAGE, "app/data.echo": b"",
                                      "t.xq": b"", "e.echo": b"", "dötä.txt": UNICODE_FILE})
    write_files(cfg.workdir / "errors", {"404.html": CUSTOM_404})
    cfg.section("scriptmap main .xq").update(dll=win_path(dlls / "ext_exec.dll"), check_file="off")
    cfg.section("scriptmap main .echo").update(dll=win_path(dlls / "ext_echo.dll"), check_file="off")
    cfg.section("scriptmap main *").update(dll=win_path(dlls / "ext_exec.dll"), path="/app")
    with ih.start(cfg) as s:
        yield s


def fields(body):
    return dict(line.split("=", 1) for line in body.decode(errors="replace").splitlines() if "=" in line)


def settled(srv, what):
    return srv.wait_status(lambda s: s["connections_live"] == 0 and s["requests_in_flight"] == 0
                           and s.get("isapi_sessions", 0) == 0, timeout=15, what=what)


def last_status(srv, expect):
    """The DLL records GET_EXEC_URL_STATUS in its EXEC_URL completion
    callback, which runs on the extension pool after the child's response
    has gone out (as on IIS): a client that asks at once can be ahead of it
    and read the previous child's status. Asks until the report says
    `expect`, for at most 10 s, and returns the last report."""
    deadline = time.monotonic() + scaled(10)
    while True:
        r = srv.fetch("/t.xq?mode=status")
        expect_status(r, 200, "GET_EXEC_URL_STATUS report")
        f = fields(r.body)
        if f.get("status") == expect or time.monotonic() > deadline:
            return f
        time.sleep(0.05)


def test_wildcard_hands_a_file_on_and_keeps_the_connection(srv):
    with HttpConn(srv.port) as c:
        for _ in range(3):
            r = c.request("GET", "/app/page.txt")
            expect_status(r, 200, "wildcard map -> EXEC_URL(NULL, IGNORE_CURRENT_INTERCEPTOR) -> the file")
            assert r.body == PAGE
            assert r.header("Content-Type", "").startswith("text/plain")
            assert "close" not in r.tokens("Connection")
    assert last_status(srv, "200")["status"] == "200"
    settled(srv, "zero after wildcard pass-through")


def test_wildcard_hands_a_script_mapped_extension_on(srv):
    r = srv.fetch("/app/data.echo?x=1", headers=[("User-Agent", "ih-exec/1")])
    expect_status(r, 200, "wildcard -> EXEC_URL -> .echo script map -> ext_echo.dll")
    f = fields(r.body)
    assert f["query"] == "x=1" and f["path_info"] == "/app/data.echo" and f["user_agent"] == "ih-exec/1"
    settled(srv, "zero after wildcard -> extension")


def test_wildcard_answering_itself(srv):
    r = srv.fetch("/app/page.txt?mode=self")
    expect_status(r, 200, "wildcard that answers")
    assert r.body.startswith(b"wildcard answered /app/page.txt")


def test_wildcard_missing_file_gets_the_custom_404(srv):
    r = srv.fetch("/app/missing.txt")
    expect_status(r, 404, "wildcard -> EXEC_URL -> a file that does not exist")
    assert r.body == CUSTOM_404
    assert last_status(srv, "404")["status"] == "404"


def test_wildcard_loop_meets_the_depth_limit(srv):
    with HttpConn(srv.port) as c:
        r = c.request("GET", "/app/page.txt?mode=loop")
        expect_status(r, 200, "a wildcard re-running itself")
        f = fields(r.body)
        assert f["exec_refused"] == "1001", "ERROR_STACK_OVERFLOW past isapi_exec_depth"
        r = c.request("GET", "/app/page.txt")
        assert r.body == PAGE, "the connection goes on"
    settled(srv, "zero after the recursion unwound")


def test_recursion_depth_is_the_configured_one(srv):
    r = srv.fetch("/t.xq?mode=recurse&d=0")
    expect_status(r, 200, "self-recursion")
    f = fields(r.body)
    assert f["exec_refused"] == "1001" and f["at_depth"] == "4", f


def test_rewrite_to_a_file_and_to_a_missing_url(srv):
    r = srv.fetch("/t.xq?mode=rewrite&to=%2Ffile.txt")
    expect_status(r, 200, "EXEC_URL to a static file")
    assert r.body == FILE
    assert last_status(srv, "200")["status"] == "200"
    r = srv.fetch("/t.xq?mode=rewrite&to=%2Fnope.txt")
    expect_status(r, 404, "EXEC_URL to a missing file")
    assert last_status(srv, "404")["status"] == "404"
    r = srv.fetch("/t.xq?mode=rewrite&to=%2F..%2F..%2Fsecret")
    assert r.status in (400, 404), "a child URL the router refuses gets the router's answer"


def test_exec_unicode_url(srv):
    r = srv.fetch("/t.xq?mode=unicode")
    expect_status(r, 200, "EXEC_UNICODE_URL to /dötä.txt")
    assert r.body == UNICODE_FILE


def test_child_with_its_own_entity_method_and_headers(srv):
    r = srv.fetch("/t.xq?mode=entity&to=%2Fe.echo", headers=[("User-Agent", "parent-agent")])
    expect_status(r, 200, "EXEC_URL POST with pEntity and pszChildHeaders")
    f = fields(r.body)
    assert f.get("method") == "POST", r.describe()
    assert f["total_bytes"] == "22" and f["available"] == "22" and f["read"] == "22"
    assert f["sum"] == str(sum(b"entity from the parent")) and f["nul_terminated"] == "1"
    assert f["user_agent"] == "child-agent", "pszChildHeaders replaces the parent's headers"
    assert f["content_type"] == "text/x-child"


def test_no_headers_child_sends_only_its_body(srv):
    with HttpConn(srv.port) as c:
        r = c.request("GET", f"/t.xq?mode=noheaders&to=%2Ffile.txt&len={len(FILE)}")
        expect_status(r, 200, "parent head + child body (HSE_EXEC_URL_NO_HEADERS)")
        assert r.header("X-Parent") == "yes" and r.body == FILE
        r = c.request("GET", "/app/page.txt")
        assert r.body == PAGE
    settled(srv, "zero after NO_HEADERS")


@pytest.mark.parametrize("mode", ["async=0", "async=1"])
def test_send_custom_error(srv, mode):
    with HttpConn(srv.port) as c:
        r = c.request("GET", f"/t.xq?mode=custom&{mode}")
        expect_status(r, 404, f"SEND_CUSTOM_ERROR {mode}")
        assert r.body == CUSTOM_404
        r = c.request("GET", "/app/page.txt")
        assert r.body == PAGE
    settled(srv, "zero after SEND_CUSTOM_ERROR")


def test_http09_through_a_wildcard_gets_the_body_only(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET /app/page.txt\r\n")
        assert c.read_until_eof(10) == PAGE
    with HttpConn(srv.port) as c:
        c.send(b"GET /app/data.echo?z=9\r\n")
        data = c.read_until_eof(10)
    assert data.startswith(b"method=GET\n") and b"HTTP/" not in data
    settled(srv, "zero after HTTP/0.9 children")
