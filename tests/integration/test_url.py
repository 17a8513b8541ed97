"""URL attacks: traversal out of the root, encodings, Windows alias names.

A secret file lies OUTSIDE the site root; files whose names Windows would
alias (device names, 8.3-looking names) lie INSIDE it. No vector may ever
return any of their contents, and each gets its expected status."""

import uuid

import pytest

from ihserver import HttpConn, build_request, check_common_headers, write_files

HELLO = b"hello from the url tests\n"
HELLO2 = b"hello2 in sub\n"
SECRET = b"IH-SECRET-OUTSIDE-ROOT-" + uuid.uuid4().hex.encode() + b"\n"
PRIVATE = b"IH-PRIVATE-SIBLING-DIR-" + uuid.uuid4().hex.encode() + b"\n"
ALIAS = {  # real files in the root that must never be served under these names
    "com1.txt": b"IH-ALIAS-COM1-" + uuid.uuid4().hex.encode(),
    "con.txt": b"IH-ALIAS-CON-" + uuid.uuid4().hex.encode(),
    "nul.txt": b"IH-ALIAS-NUL-" + uuid.uuid4().hex.encode(),
    "aux.html": b"IH-ALIAS-AUX-" + uuid.uuid4().hex.encode(),
    "LONGFI~1.TXT": b"IH-ALIAS-SHORTNAME-" + uuid.uuid4().hex.encode(),
    "PROGRA~1": b"IH-ALIAS-PROGRA-" + uuid.uuid4().hex.encode(),
}
MARKERS = [SECRET.strip(), PRIVATE.strip()] + list(ALIAS.values())


@pytest.fixture(scope="module")
def srv(ih):
    cfg = ih.new_config("url")
    write_files(cfg.workdir, {"secret.txt": SECRET, "private/secret.txt": PRIVATE, "www.txt": SECRET})
    write_files(cfg.workdir / "www", dict({"hello.txt": HELLO, "index.html": b"<html>index</html>\n",
                                           "sub/hello2.txt": HELLO2, "longfilename.txt": HELLO},
                                          **{k: v for k, v in ALIAS.items()}))
    with ih.start(cfg) as s:
        yield s


def raw_get(srv, target, version="HTTP/1.1"):
    with HttpConn(srv.port) as c:
        if version is None:
            c.send(build_request("GET", target, version=None))
            return None, c.read_until_eof(10)
        c.send(build_request("GET", target, [("Connection", "close")], version=version))
        r = c.read_response()
        return r, r.head_bytes + b"\r\n\r\n" + r.body


def assert_no_leak(target, data):
    for m in MARKERS:
        assert m not in data, f"GET {target!r} LEAKED protected content {m[:40]!r}:\n{data[:500]!r}"


def vec(target, status, id_=None):
    return pytest.param(target, status, id=id_ or target.decode("latin-1").replace("\\", "BS"))


# (raw request-target, expected status)
VECTORS = [
    # --- positive controls: these are legitimate and must work
    vec(b"/hello.txt", 200),
    vec(b"/hello%2etxt", 200),
    vec(b"/%68ello.txt", 200),
    vec(b"/./hello.txt", 200),
    vec(b"/sub/../hello.txt", 200),
    vec(b"/sub/./hello2.txt", 200),
    vec(b"/sub\\hello2.txt", 200),
    vec(b"/sub%5chello2.txt", 200),
    vec(b"/sub%5Chello2.txt", 200),
    vec(b"/sub%2fhello2.txt", 200),
    vec(b"/sub/hello2.txt?q=../../secret.txt", 200),
    vec(b"/longfilename.txt", 200),
    # --- leaving the root: 400
    vec(b"/../secret.txt", 400),
    vec(b"/..", 400),
    vec(b"/../www.txt", 400),
    vec(b"/%2e%2e/secret.txt", 400),
    vec(b"/%2E%2E/secret.txt", 400),
    vec(b"/.%2e/secret.txt", 400),
    vec(b"/%2e./secret.txt", 400),
    vec(b"/sub/../../secret.txt", 400),
    vec(b"/sub/%2e%2e/%2e%2e/secret.txt", 400),
    vec(b"/./../secret.txt", 400),
    vec(b"/..%2fsecret.txt", 400),
    vec(b"/..%2Fsecret.txt", 400),
    vec(b"/..%5csecret.txt", 400),
    vec(b"/..\\secret.txt", 400),
    vec(b"/sub\\..\\..\\secret.txt", 400),
    vec(b"/../private/secret.txt", 400),
    vec(b"/" + b"../" * 30 + b"secret.txt", 400, "many-dotdot"),
    vec(b"/sub/..%2f..%2fsecret.txt", 400),
    # --- decoded exactly once: %25 stays a literal name -> not found
    vec(b"/%252e%252e/secret.txt", 404),
    vec(b"/%252e%252e%252fsecret.txt", 404),
    vec(b"/hello%252etxt", 404),
    # --- bad escapes / NUL: 400
    vec(b"/%zz.txt", 400),
    vec(b"/%2", 400),
    vec(b"/hello.txt%", 400),
    vec(b"/%g0hello.txt", 400),
    vec(b"/hello.txt%00", 400),
    vec(b"/hello.txt%00.html", 400),
    vec(b"/%00/../secret.txt", 400),
    # --- invalid / overlong / surrogate UTF-8: 400
    vec(b"/%c0%ae%c0%ae/secret.txt", 400),
    vec(b"/%c0%af", 400),
    vec(b"/%e0%80%ae%e0%80%ae/secret.txt", 400),
    vec(b"/%c1%9c..%c1%9csecret.txt", 400),
    vec(b"/%ff.txt", 400),
    vec(b"/%80.txt", 400),
    vec(b"/%ed%a0%80.txt", 400),
    vec(b"/%f8%88%80%80%80.txt", 400),
    vec(b"/\xc0\xae\xc0\xae/secret.txt", 400, "raw-overlong-dot"),
    vec(b"/\xff.txt", 400, "raw-ff"),
    # --- Windows aliases: valid URLs that name nothing servable -> 404
    vec(b"/hello.txt::$DATA", 404),
    vec(b"/hello.txt:$DATA", 404),
    vec(b"/hello.txt%3a%3a$DATA", 404),
    vec(b"/hello.txt:stream", 404),
    vec(b"/index.html.", 404),
    vec(b"/hello.txt%2e", 404),
    vec(b"/hello.txt%20", 404),
    vec(b"/hello.txt.%20.", 404),
    vec(b"/sub./hello2.txt", 404),
    vec(b"/con", 404),
    vec(b"/CON", 404),
    vec(b"/con.txt", 404),
    vec(b"/com1.txt", 404),
    vec(b"/COM1.txt", 404),
    vec(b"/nul.txt", 404),
    vec(b"/aux.html", 404),
    vec(b"/lpt1", 404),
    vec(b"/prn.txt", 404),
    vec(b"/conin$", 404),
    vec(b"/sub/com1.txt", 404),
    vec(b"/PROGRA~1", 404),
    vec(b"/LONGFI~1.TXT", 404),
    vec(b"/longfi~1.txt", 404),
]


@pytest.mark.parametrize("target,status", VECTORS)
def test_url_vector(srv, target, status):
    r, raw = raw_get(srv, target)
    assert_no_leak(target, raw)
    assert r.status == status, f"GET {target!r}: expected {status}, got\n{r.describe()}"
    check_common_headers(r, what=f"GET {target!r}")
    if status == 200:
        assert r.body in (HELLO, HELLO2), f"GET {target!r}: unexpected body {r.body[:200]!r}"


# Forms whose exact status the spec leaves open: refused (400 or 404), never leaking.
REFUSED_ANY = [
    b"//secret.txt",
    b"//server/share/secret.txt",
    b"/%5c%5c%3f%5cZ:%5csecret.txt",
    b"/\\\\.\\Z:\\secret.txt",
    b"/Z:/secret.txt",
    b"/C:/windows/win.ini",
    b"/hello.txt#frag",
    b"/hello%0a.txt",
    b"/hello%7f.txt",
    b"/hello.txt%0d%0aX-Injected:%20yes",
    b"*",
    b"secret.txt",
    b"http://localhost/../secret.txt",
]


@pytest.mark.parametrize("target", REFUSED_ANY, ids=lambda t: t.decode("latin-1").replace("\\", "BS"))
def test_url_refused_never_leaks(srv, target):
    r, raw = raw_get(srv, target)
    assert_no_leak(target, raw)
    assert r.status in (400, 404), f"GET {target!r}: expected a refusal (400/404), got\n{r.describe()}"
    assert r.header("X-Injected") is None, "header injection through a decoded CRLF"


def test_absolute_path_of_secret_never_leaks(srv):
    secret = (srv.workdir / "secret.txt").resolve()
    for target in (b"/Z:" + str(secret).encode(), b"/Z:" + str(secret).replace("/", "\\").encode(),
                   str(secret).encode(), b"/%5c%5c%3f%5cZ:" + str(secret).encode()):
        r, raw = raw_get(srv, target)
        assert_no_leak(target, raw)
        assert r.status in (400, 404), f"GET {target!r}: expected 400/404, got\n{r.describe()}"


@pytest.mark.parametrize("target", [b"/../secret.txt", b"/%2e%2e/secret.txt", b"/..%5csecret.txt",
                                    b"/com1.txt", b"/LONGFI~1.TXT", b"/hello.txt::$DATA"],
                         ids=lambda t: t.decode().replace("\\", "BS"))
def test_http09_vectors_never_leak(srv, target):
    _, data = raw_get(srv, target, version=None)
    assert_no_leak(target, data)
    assert not data.startswith(b"HTTP/"), f"HTTP/0.9 answer with a status line: {data[:200]!r}"
    assert data and HELLO not in data, f"HTTP/0.9 GET {target!r}: expected an error body, got {data[:200]!r}"


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_other_methods_refuse_traversal(srv, method):
    with HttpConn(srv.port) as c:
        c.send(build_request(method, "/../secret.txt", [("Connection", "close")]))
        r = c.read_response(head=method == "HEAD")
        data = r.head_bytes + r.body
        assert_no_leak("/../secret.txt", data + c.read_until_eof(5))
        assert r.status == 400, f"{method} /../secret.txt: expected 400, got\n{r.describe()}"
