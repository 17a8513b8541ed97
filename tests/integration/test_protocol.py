"""HTTP/0.9, 1.0, 1.1 connection handling, pipelining, methods and request
body framing, on raw sockets."""

import pytest

from ihserver import (HttpConn, build_request, check_common_headers, expect_close, expect_open, expect_status,
                      win_rel, write_files)

HELLO = b"hello from the protocol tests\n"
NOT_FOUND_PAGE = b"<html>IH protocol 404 page</html>\n"
MAX_BODY = 4096
PIPELINE = 100


def page(i):
    return f"pipelined page {i:03d}\n".encode()


@pytest.fixture(scope="module")
def srv(ih):
    cfg = ih.new_config("protocol")
    cfg.server["max_body"] = MAX_BODY
    cfg.sections["site main"]["error_page.404"] = win_rel("errors/404.html")
    files = {"hello.txt": HELLO}
    files.update({f"p/{i:03d}.txt": page(i) for i in range(PIPELINE)})
    write_files(cfg.workdir / "www", files)
    write_files(cfg.workdir, {"errors/404.html": NOT_FOUND_PAGE})
    with ih.start(cfg) as s:
        yield s


def req(method, target, headers=(), body=b"", **kw):
    return build_request(method, target, headers, body, **kw)


# ---------------------------------------------------------------- HTTP/0.9

def test_http09_body_only_then_close(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET /hello.txt\r\n")
        data = c.read_until_eof(10)
    assert data == HELLO, f"HTTP/0.9 must get the body only (no status line, no headers), got {data[:300]!r}"


def test_http09_404_has_no_status_line(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET /missing.txt\r\n")
        data = c.read_until_eof(10)
    assert not data.startswith(b"HTTP/"), f"HTTP/0.9 error response has a status line: {data[:300]!r}"
    assert data == NOT_FOUND_PAGE, f"HTTP/0.9 404 should be the error page body only, got {data[:300]!r}"


# ---------------------------------------------------------------- HTTP/1.0

def test_http10_closes_after_response(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET /hello.txt HTTP/1.0\r\n\r\n")
        r = c.read_response()
        expect_status(r, 200, "HTTP/1.0 GET")
        check_common_headers(r)
        assert r.body == HELLO
        assert "keep-alive" not in r.tokens("Connection"), r.describe()
        assert c.wait_closed(5), "HTTP/1.0 without keep-alive: server must close after the response"
        assert not c.buf, f"bytes after the response: {bytes(c.buf)!r}"


def test_http10_keep_alive(srv):
    ka = [("Connection", "keep-alive")]
    with HttpConn(srv.port) as c:
        for i in range(2):
            c.send(req("GET", "/hello.txt", ka, version="HTTP/1.0"))
            r = c.read_response()
            expect_status(r, 200, f"HTTP/1.0 keep-alive request {i + 1}")
            assert r.body == HELLO
            assert "keep-alive" in r.tokens("Connection"), f"response must say keep-alive:\n{r.describe()}"
            expect_open(c, f"HTTP/1.0 keep-alive request {i + 1}")
        c.send(req("GET", "/p/001.txt", version="HTTP/1.0"))
        r = c.read_response()
        expect_status(r, 200, "HTTP/1.0 request without keep-alive on a kept connection")
        assert r.body == page(1)
        assert c.wait_closed(5), "the last HTTP/1.0 request did not ask for keep-alive; server must close"


# ---------------------------------------------------------------- HTTP/1.1

def test_http11_persistent_until_connection_close(srv):
    with HttpConn(srv.port) as c:
        for i in range(3):
            r = c.request("GET", f"/p/{i:03d}.txt")
            expect_status(r, 200, f"request {i + 1} on one HTTP/1.1 connection")
            check_common_headers(r)
            assert r.body == page(i)
            assert "close" not in r.tokens("Connection"), r.describe()
        expect_open(c, "HTTP/1.1 after three requests")
        r = c.request("GET", "/hello.txt", [("Connection", "close")])
        expect_status(r, 200, "request with Connection: close")
        assert r.body == HELLO
        expect_close(c, r, what="after Connection: close")


def test_http11_missing_host_400_and_close(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET /hello.txt HTTP/1.1\r\n\r\n")
        r = c.read_response()
        expect_status(r, 400, "HTTP/1.1 request without Host")
        check_common_headers(r)
        assert HELLO not in r.body
        expect_close(c, r, what="400 for missing Host")


def test_http11_duplicate_host_400(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET /hello.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        r = c.read_response()
        expect_status(r, 400, "two Host headers")
        expect_close(c, r)


def test_http12_treated_as_http11(srv):
    with HttpConn(srv.port) as c:
        r = c.request("GET", "/hello.txt", version="HTTP/1.2")
        expect_status(r, 200, "HTTP/1.2 is HTTP/1.x (RFC 9110 2.5)")
        assert r.body == HELLO


def test_leading_empty_lines_ignored(srv):
    with HttpConn(srv.port) as c:
        c.send(b"\r\n\r\n\n\r\n" + req("GET", "/hello.txt"))
        r = c.read_response()
        expect_status(r, 200, "request after four empty lines (RFC 9112 2.2)")
        assert r.body == HELLO


@pytest.mark.parametrize("prefix", [b"\r\n" * 5, b"\n" * 5, b"\r\n" * 5000],
                         ids=["5-crlf", "5-lf", "5000-crlf"])
def test_too_many_empty_lines_400_at_once(srv, prefix):
    """More than a few empty lines are no request: 400 and close at once,
    not a connection held until header_timeout (120 s)."""
    with HttpConn(srv.port, timeout=5) as c:
        c.send(prefix)
        r = c.read_response(timeout=5)
        expect_status(r, 400, f"{len(prefix)} bytes of empty lines before any request line")
        expect_close(c, r, what="empty lines")


@pytest.mark.parametrize("data", [b"\rGET /hello.txt HTTP/1.1", b"\r\n\r\rX", b"\rG"],
                         ids=["cr-first", "cr-after-empty-line", "two-bytes"])
def test_bare_cr_400_at_once(srv, data):
    """A bare CR before the request line (RFC 9112 2.2) is refused as soon
    as the byte after it arrives, though no line has ended yet."""
    with HttpConn(srv.port, timeout=5) as c:
        c.send(data)
        r = c.read_response(timeout=5)
        expect_status(r, 400, f"bare CR in {data!r}")
        expect_close(c, r, what="bare CR")


# ---------------------------------------------------------------- Host (RFC 9112 3.2, RFC 9110 7.2)

@pytest.mark.parametrize("host", [b"evil example", b"localhost/..\\..", b"evil.example<script>", b"localhost\\x",
                                  b"local\thost", b"localhost:", b"localhost:99999", b"user@localhost",
                                  b"[::1", b"local\x01host"],
                         ids=["space", "slash-backslash", "angle", "backslash", "tab", "empty-port", "big-port",
                              "userinfo", "open-bracket", "control"])
def test_invalid_host_400_and_close(srv, host):
    """The site is bound without a host name, so any Host would route to it:
    a Host that is not uri-host [ ":" port ] is still 400, and closes."""
    with HttpConn(srv.port) as c:
        c.send(b"GET /hello.txt HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        r = c.read_response()
        expect_status(r, 400, f"Host: {host!r}")
        assert HELLO not in r.body
        expect_close(c, r, what=f"Host: {host!r}")


@pytest.mark.parametrize("host", ["localhost", "localhost:80", "127.0.0.1:8080", "[::1]:8080", "www.example.com",
                                  "a-b_c.example"])
def test_valid_host_served(srv, host):
    with HttpConn(srv.port) as c:
        r = c.request("GET", "/hello.txt", host=host)
        expect_status(r, 200, f"Host: {host}")
        assert r.body == HELLO
        expect_open(c, f"Host: {host}")


def test_invalid_host_in_absolute_form_400(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET http://evil<x>/hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        r = c.read_response()
        expect_status(r, 400, "a malformed authority in an absolute-form target")
        expect_close(c, r, what="absolute-form host")


def test_connect_400_and_close(srv):
    """CONNECT asks for a tunnel we do not offer; a client may already be
    sending the tunnel's bytes after it (RFC 9110 9.3.6), so the
    connection closes after the 400, as after every 400."""
    with HttpConn(srv.port) as c:
        c.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
               b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        r = c.read_response()
        expect_status(r, 400, "CONNECT")
        check_common_headers(r)
        expect_close(c, r, what="CONNECT")


def test_pipelined_requests_answered_in_order(srv):
    burst = b"".join(req("GET", f"/p/{i:03d}.txt") for i in range(PIPELINE))
    with HttpConn(srv.port, timeout=20) as c:
        c.send(burst)
        for i in range(PIPELINE):
            r = c.read_response()
            expect_status(r, 200, f"pipelined response {i}")
            assert r.body == page(i), f"pipelined response {i} out of order: got {r.body!r}"
        expect_open(c, "after 100 pipelined requests")
        r = c.request("GET", "/hello.txt")
        expect_status(r, 200, "request after the pipeline")


def test_pipelined_mixed_methods(srv):
    burst = (req("HEAD", "/hello.txt") + req("GET", "/missing.txt") + req("OPTIONS", "/hello.txt")
             + req("POST", "/hello.txt", body=b"xyz") + req("GET", "/p/007.txt"))
    with HttpConn(srv.port) as c:
        c.send(burst)
        h = c.read_response(head=True)
        n = c.read_response()
        o = c.read_response()
        p = c.read_response()
        g = c.read_response()
    assert [x.status for x in (h, n, o, p, g)] == [200, 404, 200, 405, 200], \
        f"statuses {[x.status for x in (h, n, o, p, g)]}"
    assert n.body == NOT_FOUND_PAGE and g.body == page(7)


# ---------------------------------------------------------------- methods

@pytest.mark.parametrize("target", ["/hello.txt", "*"])
def test_options_200_with_allow(srv, target):
    with HttpConn(srv.port) as c:
        r = c.request("OPTIONS", target)
        expect_status(r, 200, f"OPTIONS {target}")
        check_common_headers(r)
        allow = r.tokens("Allow")
        assert {"get", "head", "options"} <= allow, f"Allow {r.header('Allow')!r} lacks GET, HEAD or OPTIONS"
        expect_open(c, "after OPTIONS")


@pytest.mark.parametrize("method,body", [("POST", b"abcde"), ("PUT", b"abcde"), ("DELETE", b""),
                                         ("POST", b"")])
def test_method_not_allowed_405_keeps_connection(srv, method, body):
    """The body is read, so the pipelined GET behind it is answered."""
    headers = [("Content-Length", str(len(body)))] if method != "DELETE" else []
    with HttpConn(srv.port) as c:
        c.send(req(method, "/hello.txt", headers, body) + req("GET", "/hello.txt"))
        r = c.read_response()
        expect_status(r, 405, f"{method} to a static file")
        check_common_headers(r)
        allow = r.tokens("Allow")
        assert "get" in allow and method.lower() not in allow, f"Allow {r.header('Allow')!r}"
        assert "close" not in r.tokens("Connection"), f"405 after a complete body must not close:\n{r.describe()}"
        g = c.read_response()
        expect_status(g, 200, f"GET pipelined behind {method}")
        assert g.body == HELLO, f"the {method} body leaked into the next request? {g.describe()}"


def test_unknown_method_501(srv):
    with HttpConn(srv.port) as c:
        r = c.request("BREW", "/hello.txt")
        expect_status(r, 501, "BREW")
        check_common_headers(r)
        assert HELLO not in r.body


def test_http2_version_505_and_close(srv):
    with HttpConn(srv.port) as c:
        c.send(b"GET /hello.txt HTTP/2.0\r\nHost: localhost\r\n\r\n")
        r = c.read_response()
        expect_status(r, 505, "HTTP/2.0 request line")
        check_common_headers(r)
        expect_close(c, r, what="505")


@pytest.mark.parametrize("line", [
    b"GET  /hello.txt HTTP/1.1",
    b"GET /hello.txt  HTTP/1.1",
    b"GET /hello.txt HTTP/1.1 extra",
    b"GET /hello.txt http/1.1",
    b"GET /hello.txt HTTP/1",
    b"GET /hello.txt HTTP/1.1x",
    b"G(T /hello.txt HTTP/1.1",
    b"GET\t/hello.txt HTTP/1.1",
    b"POST /hello.txt HTTP",
], ids=lambda b: b.decode().replace(" ", "_").replace("\t", "TAB"))
def test_malformed_request_line_400_and_close(srv, line):
    with HttpConn(srv.port) as c:
        c.send(line + b"\r\nHost: localhost\r\n\r\n")
        r = c.read_response()
        expect_status(r, 400, f"request line {line!r}")
        check_common_headers(r)
        expect_close(c, r, what=f"400 for {line!r}")


@pytest.mark.parametrize("fields", [
    b"Host: localhost\r\nX-Bad : space before colon\r\n",
    b"Host: localhost\r\nX-Folded: a\r\n  continued\r\n",
    b"Host: localhost\r\nNo-Colon-Here\r\n",
    b"Host: localhost\r\nX-Ctl: a\x01b\r\n",
    b"Host: localhost\r\nBad Name: x\r\n",
], ids=["space-before-colon", "obs-fold", "no-colon", "control-char", "space-in-name"])
def test_malformed_header_400_and_close(srv, fields):
    with HttpConn(srv.port) as c:
        c.send(b"GET /hello.txt HTTP/1.1\r\n" + fields + b"\r\n")
        r = c.read_response()
        expect_status(r, 400, f"header block {fields!r}")
        expect_close(c, r)


# ---------------------------------------------------------------- body framing

def test_post_without_length_411_and_close(srv):
    with HttpConn(srv.port) as c:
        c.send(b"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        r = c.read_response()
        expect_status(r, 411, "POST with neither Content-Length nor Transfer-Encoding")
        check_common_headers(r)
        expect_close(c, r, what="411")


def test_content_length_over_max_body_413_and_close(srv):
    with HttpConn(srv.port) as c:
        # head only: the server must refuse on the declared length alone
        c.send(f"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode())
        r = c.read_response()
        expect_status(r, 413, f"Content-Length {MAX_BODY + 1} > max_body {MAX_BODY}")
        check_common_headers(r)
        expect_close(c, r, what="413")


def test_content_length_at_max_body_accepted(srv):
    body = b"b" * MAX_BODY
    with HttpConn(srv.port) as c:
        c.send(req("POST", "/hello.txt", body=body) + req("GET", "/hello.txt"))
        r = c.read_response()
        expect_status(r, 405, f"POST with Content-Length == max_body ({MAX_BODY}) reaches the handler")
        g = c.read_response()
        expect_status(g, 200, "GET after the max_body POST")
        assert g.body == HELLO


def test_chunked_body_over_max_body_413_and_close(srv):
    chunk = b"c" * 1000
    body = b"".join(b"3e8\r\n" + chunk + b"\r\n" for _ in range(5)) + b"0\r\n\r\n"
    with HttpConn(srv.port) as c:
        c.send(req("POST", "/hello.txt", [("Transfer-Encoding", "chunked")], body))
        r = c.read_response()
        expect_status(r, 413, f"5000 chunked bytes > max_body {MAX_BODY}")
        expect_close(c, r, what="chunked 413")


def test_chunk_size_over_max_body_413_at_once(srv):
    """A chunk size line above max_body is refused like a Content-Length
    above it, before any of its data is read."""
    with HttpConn(srv.port) as c:
        c.send(req("POST", "/hello.txt", [("Transfer-Encoding", "chunked")], b"%x\r\n" % (MAX_BODY + 1)))
        r = c.read_response()
        expect_status(r, 413, f"a chunk of {MAX_BODY + 1} bytes > max_body {MAX_BODY}")
        expect_close(c, r, what="chunk size 413")


def test_content_length_and_transfer_encoding_400_and_close(srv):
    with HttpConn(srv.port) as c:
        c.send(b"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        r = c.read_response()
        expect_status(r, 400, "Content-Length together with Transfer-Encoding (smuggling)")
        check_common_headers(r)
        expect_close(c, r, what="CL+TE")


@pytest.mark.parametrize("cl", [b"5, 6", b"-1", b"abc", b"5\r\nContent-Length: 6"],
                         ids=["list", "negative", "text", "duplicate-different"])
def test_bad_content_length_400_and_close(srv, cl):
    with HttpConn(srv.port) as c:
        c.send(b"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + cl + b"\r\n\r\n")
        r = c.read_response()
        expect_status(r, 400, f"Content-Length: {cl!r}")
        expect_close(c, r)


def test_transfer_encoding_gzip_501_and_close(srv):
    with HttpConn(srv.port) as c:
        c.send(b"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
        r = c.read_response()
        expect_status(r, 501, "Transfer-Encoding: gzip, chunked (unsupported coding)")
        check_common_headers(r)
        expect_close(c, r, what="TE gzip")


def test_chunked_post_405_then_pipelined_get(srv):
    body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    with HttpConn(srv.port) as c:
        c.send(req("POST", "/hello.txt", [("Transfer-Encoding", "chunked")], body) + req("GET", "/p/042.txt"))
        r = c.read_response()
        expect_status(r, 405, "chunked POST to a static file (body decoded and discarded)")
        assert "close" not in r.tokens("Connection"), r.describe()
        g = c.read_response()
        expect_status(g, 200, "GET pipelined behind a chunked POST")
        assert g.body == page(42)


@pytest.mark.parametrize("body", [
    b"zz\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhelloXX\r\n0\r\n\r\n",
    b"-5\r\nhello\r\n0\r\n\r\n",
    b"ffffffffffffffffffff\r\n",
], ids=["bad-size", "no-crlf-after-data", "negative", "overflow"])
def test_malformed_chunked_400_and_close(srv, body):
    with HttpConn(srv.port) as c:
        c.send(req("POST", "/hello.txt", [("Transfer-Encoding", "chunked")], body))
        r = c.read_response()
        assert r.status in (400, 413) if body.startswith(b"fffff") else r.status == 400, \
            f"malformed chunked body {body!r}: expected 400, got\n{r.describe()}"
        expect_close(c, r, what="malformed chunked body")


def test_expect_100_continue(srv):
    with HttpConn(srv.port) as c:
        c.send(b"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
               b"Expect: 100-continue\r\n\r\n")
        interim = c.read_one(timeout=10)
        assert interim.status == 100 and interim.version == "HTTP/1.1", \
            f"expected 'HTTP/1.1 100 Continue' before the body is sent, got\n{interim.describe()}"
        c.send(b"hello")
        r = c.read_response()
        expect_status(r, 405, "final response after 100 Continue")
        check_common_headers(r)
        g = c.request("GET", "/hello.txt")
        expect_status(g, 200, "GET after the 100-continue exchange")
        assert g.body == HELLO


def test_expect_100_continue_body_sent_anyway(srv):
    """A client may send the body without waiting; the server must not get confused."""
    with HttpConn(srv.port) as c:
        c.send(req("POST", "/hello.txt", [("Expect", "100-continue")], b"hello") + req("GET", "/hello.txt"))
        r = c.read_response()
        expect_status(r, 405, "POST with Expect and the body already sent")
        g = c.read_response()
        expect_status(g, 200, "GET pipelined behind it")
        assert g.body == HELLO
