"""Request-head limits: max_request_line (414), max_header_line,
max_header_bytes and max_headers (431), at and just over each limit, with
small configured limits and with the defaults (16384 / 100)."""

import pytest

from ihserver import HttpConn, check_common_headers, expect_close, expect_status, write_files

HELLO = b"hello from the limits tests\n"

SMALL = {"max_request_line": 1024, "max_header_line": 512, "max_header_bytes": 2048, "max_headers": 20}
DEFAULT = {"max_request_line": 16384, "max_header_line": 16384, "max_header_bytes": 16384, "max_headers": 100}


def _start(ih, name, keys):
    cfg = ih.new_config(name)
    cfg.server.update(keys)
    write_files(cfg.workdir / "www", {"hello.txt": HELLO})
    return ih.start(cfg)


@pytest.fixture(scope="module")
def small(ih):
    with _start(ih, "limits-small", SMALL) as s:
        yield s


@pytest.fixture(scope="module")
def default(ih):
    with _start(ih, "limits-default", {}) as s:  # no keys: the defaults apply
        yield s


def request_line(length):
    """'GET /hello.txt?aaa... HTTP/1.1' of exactly `length` bytes (CRLF excluded)."""
    fixed = len("GET /hello.txt? HTTP/1.1")
    assert length >= fixed
    return b"GET /hello.txt?" + b"a" * (length - fixed) + b" HTTP/1.1"


def header_line(length, name=b"X-Pad"):
    """'X-Pad: bbb...' of exactly `length` bytes (CRLF excluded)."""
    fixed = len(name) + 2
    return name + b": " + b"b" * (length - fixed)


def send_head(srv, line, fields, timeout=10):
    c = HttpConn(srv.port, timeout=timeout)
    c.send(line + b"\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n")
    return c


def expect_ok(srv, line, fields, what):
    with send_head(srv, line, fields) as c:
        r = c.read_response()
        expect_status(r, 200, what)
        assert r.body == HELLO, f"{what}: wrong body {r.body[:100]!r}"
        r2 = c.request("GET", "/hello.txt")
        expect_status(r2, 200, f"{what}: next request on the same connection")


def expect_refused(srv, line, fields, status, what):
    with send_head(srv, line, fields) as c:
        r = c.read_response()
        expect_status(r, status, what)
        check_common_headers(r, what=what)
        assert HELLO not in r.body
        expect_close(c, r, what=what)


HOST = b"Host: localhost"


def _limits(srv):
    return DEFAULT if srv.config.server.get("max_request_line") is None else SMALL


@pytest.fixture(params=["small", "default"])
def srv(request):
    return request.getfixturevalue(request.param)


# ---------------------------------------------------------------- request line

def test_request_line_exactly_at_limit_accepted(srv):
    n = _limits(srv)["max_request_line"]
    expect_ok(srv, request_line(n), [HOST], f"request line of exactly max_request_line={n} bytes")


def test_request_line_one_over_limit_414(srv):
    n = _limits(srv)["max_request_line"]
    expect_refused(srv, request_line(n + 1), [HOST], 414, f"request line of {n + 1} bytes (limit {n})")


def test_request_line_over_limit_without_line_end_414(small):
    """The limit applies to incomplete input too: no CRLF ever arrives."""
    n = SMALL["max_request_line"]
    with HttpConn(small.port) as c:
        c.send(b"GET /" + b"a" * (n + 200))
        r = c.read_response(timeout=10)
        expect_status(r, 414, f"{n + 205} bytes of request line and no CRLF")
        expect_close(c, r)


# ---------------------------------------------------------------- one header line

def test_header_line_exactly_at_limit_accepted(srv):
    n = _limits(srv)["max_header_line"]
    if n >= _limits(srv)["max_header_bytes"]:
        # with the defaults both are 16384: a line that long also fills the
        # whole header budget, so stay a little under so Host fits as well
        n = _limits(srv)["max_header_bytes"] - 64
    expect_ok(srv, b"GET /hello.txt HTTP/1.1", [HOST, header_line(n)], f"header line of {n} bytes")


def test_header_line_one_over_limit_431(srv):
    n = _limits(srv)["max_header_line"]
    expect_refused(srv, b"GET /hello.txt HTTP/1.1", [HOST, header_line(n + 1)], 431,
                   f"header line of {n + 1} bytes (max_header_line {n})")


def test_header_line_over_limit_without_line_end_431(small):
    n = SMALL["max_header_line"]
    with HttpConn(small.port) as c:
        c.send(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-Long: " + b"x" * (n + 100))
        r = c.read_response(timeout=10)
        expect_status(r, 431, "over-long header line that never ends")
        expect_close(c, r)


# ---------------------------------------------------------------- all header bytes

def _fields_totalling(total, line_len):
    """Host + X-Fill-NN lines whose bytes incl. CRLFs add up to about `total`."""
    fields = [HOST]
    size = len(HOST) + 2
    i = 0
    while size + line_len + 2 <= total:
        fields.append(header_line(line_len, b"X-Fill-%02d" % i))
        size += line_len + 2
        i += 1
    return fields, size


def test_header_bytes_under_limit_accepted(srv):
    lim = _limits(srv)
    # Stay under the limit however it is counted (with or without CRLFs and the final empty line).
    line_len = min(lim["max_header_line"], 400 if lim is SMALL else 4000)
    fields, size = _fields_totalling(lim["max_header_bytes"] - 2, line_len)
    assert size + 2 <= lim["max_header_bytes"]
    expect_ok(srv, b"GET /hello.txt HTTP/1.1", fields, f"{size} header bytes (limit {lim['max_header_bytes']})")


def test_header_bytes_over_limit_431(srv):
    lim = _limits(srv)
    line_len = min(lim["max_header_line"], 400 if lim is SMALL else 4000)
    fields, size = _fields_totalling(lim["max_header_bytes"] - 2, line_len)
    fields.append(header_line(line_len, b"X-Too-Much"))
    without_crlf = sum(len(f) for f in fields)
    assert without_crlf > lim["max_header_bytes"], "test bug: total must exceed the limit however counted"
    expect_refused(srv, b"GET /hello.txt HTTP/1.1", fields, 431,
                   f"{without_crlf}+ header bytes in lines of {line_len} (max_header_bytes {lim['max_header_bytes']})")


# ---------------------------------------------------------------- header count

def _count_fields(n):
    return [HOST] + [b"X-H%03d: %d" % (i, i) for i in range(n - 1)]


def test_header_count_exactly_at_limit_accepted(srv):
    n = _limits(srv)["max_headers"]
    expect_ok(srv, b"GET /hello.txt HTTP/1.1", _count_fields(n), f"{n} header fields (max_headers {n})")


def test_header_count_one_over_limit_431(srv):
    n = _limits(srv)["max_headers"]
    expect_refused(srv, b"GET /hello.txt HTTP/1.1", _count_fields(n + 1), 431,
                   f"{n + 1} header fields (max_headers {n})")


def test_server_still_serves_after_refusals(srv):
    r = srv.fetch("/hello.txt")
    expect_status(r, 200, "plain GET after the limit tests")
    assert r.body == HELLO
