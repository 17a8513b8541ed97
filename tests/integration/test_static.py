"""Static files: status codes, headers, conditional and range requests,
directories, custom error pages, virtual directories, Host-based sites."""

import pytest

from ihserver import (HttpConn, build_request, check_common_headers, expect_status, http_date,
                      parse_http_date, set_mtime, win_rel, write_files)

MTIME = 1577934245  # Thu, 02 Jan 2020 03:04:05 GMT: every file in www gets it
MTIME_TEXT = "Thu, 02 Jan 2020 03:04:05 GMT"

HELLO = b"hello, static world\n"
DIGITS = b"0123456789" * 10  # 100 bytes: byte i is str(i % 10)
INDEX = b"<html><body>root index</body></html>\n"
SUB_DEFAULT = b"<html><body>sub Default.htm</body></html>\n"
NOT_FOUND_PAGE = b"<html><body>IH custom 404 page</body></html>\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
CSS = b"body { color: black; }\n"
FOO = b"custom mime type body\n"
UNKNOWN_EXT = b"IH-UNKNOWN-EXTENSION-CONTENT\n"
VDIR_README = b"readme from the virtual directory\n"
SHADOWED = b"IH-SHADOWED-BY-VDIR\n"
VDIR_INDEX = b"<html>vdir index.html</html>\n"
OTHER_HELLO = b"hello from the other site\n"
OTHER_INDEX = b"<html>other site index</html>\n"
LISTED_NAME = "ih-listed-name-marker.txt"


@pytest.fixture(scope="module")
def srv(ih):
    cfg = ih.new_config("static")
    port = cfg.port
    site = cfg.sections["site main"]
    site["default_documents"] = "index.html, Default.htm"
    site["error_page.404"] = win_rel("errors/404.html")
    cfg.site("other", bindings=f"127.0.0.1:{port}:other.example", root="www2")
    cfg.vdir("main", "/docs", path="vdirdata", permissions="read")
    cfg.mime[".foo"] = "application/x-ih-foo"
    www = cfg.workdir / "www"
    write_files(www, {
        "hello.txt": HELLO,
        "digits.txt": DIGITS,
        "index.html": INDEX,
        "sub/Default.htm": SUB_DEFAULT,
        "sub/hello.txt": b"sub hello\n",
        f"nodoc/{LISTED_NAME}": b"x\n",
        "pic.png": PNG,
        "style.css": CSS,
        "data.foo": FOO,
        "data.ihunknownext": UNKNOWN_EXT,
        "docs/readme.txt": SHADOWED,
        "empty.txt": b"",
    })
    for p in www.rglob("*"):
        if p.is_file():
            set_mtime(p, MTIME)
    write_files(cfg.workdir, {
        "errors/404.html": NOT_FOUND_PAGE,
        "vdirdata/readme.txt": VDIR_README,
        "vdirdata/index.html": VDIR_INDEX,
        "www2/hello.txt": OTHER_HELLO,
        "www2/index.html": OTHER_INDEX,
    })
    with ih.start(cfg) as s:
        yield s


def get(srv, target, method="GET", headers=(), host="localhost"):
    r = srv.fetch(target, method=method, headers=headers, host=host)
    check_common_headers(r, head=method == "HEAD", what=f"{method} {target}")
    return r


# ---------------------------------------------------------------- 200 and headers

def test_get_file_200_with_all_static_headers(srv):
    r = get(srv, "/hello.txt")
    expect_status(r, 200, "GET /hello.txt")
    assert r.body == HELLO
    assert r.header("Content-Type", "").split(";")[0].strip() == "text/plain", r.describe()
    assert r.header("Last-Modified") == MTIME_TEXT, f"Last-Modified should be the file's mtime:\n{r.describe()}"
    etag = r.header("ETag")
    assert etag and etag.startswith('"') and etag.endswith('"') and len(etag) > 2, \
        f"ETag must be a strong quoted validator, got {etag!r}"
    assert r.tokens("Accept-Ranges") == {"bytes"}, r.describe()
    assert int(r.header("Content-Length")) == len(HELLO)


def test_empty_file(srv):
    r = get(srv, "/empty.txt")
    expect_status(r, 200, "GET /empty.txt")
    assert r.body == b"" and r.header("Content-Length") == "0", r.describe()


@pytest.mark.parametrize("path,ctype,body", [
    ("/hello.txt", "text/plain", HELLO),
    ("/index.html", "text/html", INDEX),
    ("/style.css", "text/css", CSS),
    ("/pic.png", "image/png", PNG),
    ("/data.foo", "application/x-ih-foo", FOO),  # from [mime]
], ids=["txt", "html", "css", "png", "mime-section"])
def test_content_type_from_mime_map(srv, path, ctype, body):
    r = get(srv, path)
    expect_status(r, 200, path)
    got = r.header("Content-Type", "").split(";")[0].strip().lower()
    assert got == ctype, f"{path}: Content-Type {r.header('Content-Type')!r}, expected {ctype}"
    assert r.body == body


def test_etag_is_stable_and_distinct_per_file(srv):
    a1 = get(srv, "/hello.txt").header("ETag")
    a2 = get(srv, "/hello.txt").header("ETag")
    b = get(srv, "/digits.txt").header("ETag")
    assert a1 == a2, f"ETag changed between two GETs of an unchanged file: {a1!r} {a2!r}"
    assert a1 != b, f"two different files share the ETag {a1!r}"


def test_status_page_at_default_path(srv):
    st = srv.status()
    assert st["requests_in_flight"] >= 0 and st["connections_live"] >= 0, st


# ---------------------------------------------------------------- 404s

def test_missing_file_404_with_custom_error_page(srv):
    r = get(srv, "/no-such-file.txt")
    expect_status(r, 404, "missing file")
    assert r.body == NOT_FOUND_PAGE, f"error_page.404 must be the body:\n{r.describe()}"
    assert r.header("Content-Type", "").split(";")[0].strip() == "text/html", r.describe()


def test_missing_directory_404(srv):
    r = get(srv, "/no-such-dir/file.txt")
    expect_status(r, 404, "missing directory")
    assert r.body == NOT_FOUND_PAGE


def test_unknown_extension_is_404_not_served(srv):
    r = get(srv, "/data.ihunknownext")
    expect_status(r, 404, "file with an extension outside the MIME map")
    assert UNKNOWN_EXT not in r.body, "a file with an unknown extension was served"


def test_other_site_404_has_no_custom_page(srv):
    r = get(srv, "/no-such-file.txt", host="other.example")
    expect_status(r, 404, "missing file on the site without error_page.404")
    assert NOT_FOUND_PAGE not in r.body, "site 'other' has no error_page.404 but got main's page"
    assert len(r.body) > 0, "default error responses have a short built-in body"


# ---------------------------------------------------------------- HEAD

def test_head_same_headers_no_body(srv):
    """HEAD, then a pipelined GET on the same socket: if HEAD had sent a body
    the GET response would not parse."""
    with HttpConn(srv.port) as c:
        c.send(build_request("HEAD", "/hello.txt") + build_request("GET", "/hello.txt"))
        h = c.read_response(head=True)
        g = c.read_response()
    expect_status(h, 200, "HEAD")
    expect_status(g, 200, "GET after HEAD")
    check_common_headers(h, head=True, what="HEAD")
    assert g.body == HELLO, f"GET after HEAD got a wrong body (HEAD sent a body?):\n{g.describe()}"
    for name in ("Content-Length", "Content-Type", "ETag", "Last-Modified", "Accept-Ranges"):
        assert h.header(name) == g.header(name), f"HEAD {name} {h.header(name)!r} != GET {g.header(name)!r}"


# ---------------------------------------------------------------- conditional

def _etag(srv, path="/hello.txt"):
    return get(srv, path).header("ETag")


def test_if_none_match_304_then_connection_still_usable(srv):
    etag = _etag(srv)
    with HttpConn(srv.port) as c:
        c.send(build_request("GET", "/hello.txt", [("If-None-Match", etag)]) + build_request("GET", "/digits.txt"))
        r = c.read_response()
        nxt = c.read_response()
    expect_status(r, 304, f"If-None-Match: {etag}")
    check_common_headers(r, what="304")
    assert r.header("ETag") == etag, f"304 should carry the ETag:\n{r.describe()}"
    expect_status(nxt, 200, "GET after a 304")
    assert nxt.body == DIGITS, f"the 304 had a body? next response:\n{nxt.describe()}"


@pytest.mark.parametrize("inm", ["*", '"nomatch", {etag}', "W/{etag}"])
def test_if_none_match_variants_304(srv, inm):
    etag = _etag(srv)
    r = get(srv, "/hello.txt", headers=[("If-None-Match", inm.format(etag=etag))])
    expect_status(r, 304, f"If-None-Match: {inm}")


def test_if_none_match_other_tag_200(srv):
    r = get(srv, "/hello.txt", headers=[("If-None-Match", '"not-the-etag"')])
    expect_status(r, 200, "non-matching If-None-Match")
    assert r.body == HELLO


@pytest.mark.parametrize("ims", [MTIME_TEXT, http_date(MTIME + 3600)])
def test_if_modified_since_not_modified_304(srv, ims):
    r = get(srv, "/hello.txt", headers=[("If-Modified-Since", ims)])
    expect_status(r, 304, f"If-Modified-Since: {ims} (file modified {MTIME_TEXT})")
    assert r.body == b""


def test_if_modified_since_older_200(srv):
    r = get(srv, "/hello.txt", headers=[("If-Modified-Since", http_date(MTIME - 1))])
    expect_status(r, 200, "If-Modified-Since one second before Last-Modified")
    assert r.body == HELLO


def test_if_none_match_takes_precedence_over_ims(srv):
    r = get(srv, "/hello.txt", headers=[("If-None-Match", '"nomatch"'), ("If-Modified-Since", MTIME_TEXT)])
    expect_status(r, 200, "non-matching If-None-Match + matching If-Modified-Since (RFC 9110 13.1.3)")
    assert r.body == HELLO


# ---------------------------------------------------------------- ranges

@pytest.mark.parametrize("spec,first,last", [
    ("bytes=10-19", 10, 19),
    ("bytes=0-0", 0, 0),
    ("bytes=95-200", 95, 99),  # last-pos beyond the end is clamped
    ("bytes=90-", 90, 99),
    ("bytes=-5", 95, 99),
])
def test_single_range_206(srv, spec, first, last):
    r = get(srv, "/digits.txt", headers=[("Range", spec)])
    expect_status(r, 206, f"Range: {spec}")
    assert r.header("Content-Range") == f"bytes {first}-{last}/100", r.describe()
    assert r.body == DIGITS[first:last + 1], f"Range {spec}: wrong bytes {r.body!r}"
    assert r.header("Content-Type", "").startswith("text/plain")


@pytest.mark.parametrize("spec", ["bytes=100-", "bytes=200-300"])
def test_unsatisfiable_range_416(srv, spec):
    r = get(srv, "/digits.txt", headers=[("Range", spec)])
    expect_status(r, 416, f"Range: {spec} on a 100-byte file")
    assert r.header("Content-Range") == "bytes */100", r.describe()
    assert DIGITS not in r.body


@pytest.mark.parametrize("spec", ["bytes=0-1,5-6", "bytes=abc", "items=0-5"])
def test_multiple_or_bad_ranges_give_full_200(srv, spec):
    r = get(srv, "/digits.txt", headers=[("Range", spec)])
    expect_status(r, 200, f"Range: {spec} must be ignored")
    assert r.body == DIGITS
    assert r.header("Content-Range") is None, r.describe()


def test_if_range_mismatch_gives_full_200(srv):
    r = get(srv, "/digits.txt", headers=[("Range", "bytes=0-9"), ("If-Range", '"old-etag"')])
    expect_status(r, 200, "If-Range that does not match")
    assert r.body == DIGITS


def test_if_range_match_gives_206(srv):
    etag = _etag(srv, "/digits.txt")
    r = get(srv, "/digits.txt", headers=[("Range", "bytes=0-9"), ("If-Range", etag)])
    expect_status(r, 206, "If-Range with the current ETag")
    assert r.body == DIGITS[:10]


# ---------------------------------------------------------------- directories

def test_root_default_document(srv):
    r = get(srv, "/")
    expect_status(r, 200, "GET /")
    assert r.body == INDEX
    assert r.header("Content-Type", "").startswith("text/html")


def test_subdir_second_default_document(srv):
    r = get(srv, "/sub/")
    expect_status(r, 200, "GET /sub/ (only Default.htm, the 2nd default document, exists)")
    assert r.body == SUB_DEFAULT


@pytest.mark.parametrize("path,expect_suffix", [("/sub", "/sub/"), ("/nodoc", "/nodoc/"), ("/docs", "/docs/")])
def test_directory_without_slash_301(srv, path, expect_suffix):
    r = get(srv, path)
    expect_status(r, 301, f"directory {path} without trailing slash")
    loc = r.header("Location")
    assert loc and loc.split("?")[0].endswith(expect_suffix), f"Location {loc!r} should end in {expect_suffix}"
    assert loc.startswith("/") or "://" in loc, f"Location {loc!r} is neither a path nor an absolute URL"


def test_directory_without_default_document_403(srv):
    r = get(srv, "/nodoc/")
    expect_status(r, 403, "directory with no default document, listing off")
    assert LISTED_NAME.encode() not in r.body, "403 body lists the directory"


def test_file_in_subdir(srv):
    r = get(srv, "/sub/hello.txt")
    expect_status(r, 200, "/sub/hello.txt")
    assert r.body == b"sub hello\n"


# ---------------------------------------------------------------- vdir

def test_vdir_file_wins_over_root_subdir(srv):
    r = get(srv, "/docs/readme.txt")
    expect_status(r, 200, "/docs/readme.txt via [vdir main /docs]")
    assert r.body == VDIR_README, f"expected the vdir's file, got {r.body!r}"
    assert SHADOWED not in r.body


def test_vdir_default_document(srv):
    r = get(srv, "/docs/")
    expect_status(r, 200, "/docs/ default document")
    assert r.body == VDIR_INDEX


def test_vdir_missing_file_404(srv):
    r = get(srv, "/docs/missing.txt")
    expect_status(r, 404, "missing file in a vdir")
    assert r.body == NOT_FOUND_PAGE


# ---------------------------------------------------------------- sites by Host

@pytest.mark.parametrize("host,body", [
    ("other.example", OTHER_HELLO),
    ("OTHER.example", OTHER_HELLO),          # host names compare case-insensitively
    ("other.example:{port}", OTHER_HELLO),   # the port suffix is ignored
    ("localhost", HELLO),                    # no host binding matches: catch-all site
    ("127.0.0.1:{port}", HELLO),
    ("unknown.example", HELLO),
], ids=lambda v: v if isinstance(v, str) else "")
def test_site_chosen_by_host_header(srv, host, body):
    host = host.format(port=srv.port)
    r = get(srv, "/hello.txt", host=host)
    expect_status(r, 200, f"Host: {host}")
    assert r.body == body, f"Host: {host} was routed to the wrong site: {r.body!r}"


def test_other_site_default_document(srv):
    r = get(srv, "/", host="other.example")
    expect_status(r, 200, "GET / on site other")
    assert r.body == OTHER_INDEX


def test_last_modified_parses(srv):
    r = get(srv, "/pic.png")
    assert parse_http_date(r.header("Last-Modified")).timestamp() == MTIME
