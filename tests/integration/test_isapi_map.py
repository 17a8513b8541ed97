"""ISAPI URL mapping under Wine: HSE_REQ_MAP_URL_TO_PATH (in place, size
queries, too-small buffers, lpdwDataType never touched), _EX (HSE_URL_MAPEX_INFO:
flags from the vdir permissions, matching lengths, MAX_PATH), the Unicode
forms (sizes in bytes, counts in WCHARs, non-ASCII and non-BMP URLs),
NORMALIZE_URL, URLs the router refuses (same verdicts as a client request
gets), and NULL/bogus/read-only pointers. The site: a root (read, script) and
two nested vdirs, /docs (read, a non-ASCII directory) and /docs/cgi
(execute). Every expected path is built from the config the test writes."""

from urllib.parse import quote

import pytest

from ihserver import HttpConn, expect_status, win_path, write_files

ERROR_PATH_NOT_FOUND = 3
ERROR_INVALID_PARAMETER = 87
ERROR_INSUFFICIENT_BUFFER = 122
MAX_PATH = 260

# HSE_URL_FLAGS_* (httpext.h): READ 1, EXECUTE 4, SCRIPT 0x200
VDIRS = {  # key: (URL prefix as cchMatchingURL counts it, directory, permissions, dwFlags)
    "root": ("", "www", "read, script", 0x201),
    "docs": ("/docs", "Dokümente", "read", 0x1),
    "cgi": ("/docs/cgi", "cgi-bin", "execute", 0x4),
}
FORMS = ["plain", "ex", "uplain", "uex"]


@pytest.fixture(scope="module")
def srv(ih):
    dll = ih.build_dir / "tests" / "dlls" / "ext_map.dll"
    if not dll.is_file():
        pytest.fail(f"test DLL not built: {dll}", pytrace=False)
    cfg = ih.new_config("isapi_map")
    phys = {}
    for key, (prefix, directory, perms, _) in VDIRS.items():
        (cfg.workdir / directory).mkdir(parents=True, exist_ok=True)
        phys[key] = win_path(cfg.workdir / directory)
        if key == "root":
            cfg.sections["site main"].update(root=phys[key], permissions=perms)
        else:
            cfg.vdir("main", prefix, path=phys[key], permissions=perms)
    write_files(cfg.workdir / "Dokümente", {"y.txt": "why\n"})
    cfg.section("scriptmap main .map").update(dll=win_path(dll), check_file="off")
    with ih.start(cfg) as s:
        s.phys = phys
        yield s


def fields(body):
    return dict(line.split("=", 1) for line in body.decode("utf-8").splitlines() if "=" in line)


def ask(srv, **params):
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
    r = srv.fetch(f"/t.map?{query}")
    expect_status(r, 200, f"ext_map.dll {params}")
    f = fields(r.body)
    assert "bad_test_url" not in f and "missing" not in f, f
    return f


def units(text, form):
    """Length as the form counts it: bytes (UTF-8) for the ANSI forms, WCHARs for the Unicode ones."""
    return len(text.encode("utf-8")) if form in ("plain", "ex") else len(text.encode("utf-16-le")) // 2


def size_needed(path, form):
    """*lpdwSize for a path: bytes with the NUL (UTF-16 bytes for the Unicode form)."""
    return len(path.encode("utf-8")) + 1 if form == "plain" else (units(path, form) + 1) * 2


def settled(srv):
    srv.wait_status(lambda s: s["connections_live"] == 0 and s["requests_in_flight"] == 0
                    and s.get("isapi_sessions", 0) == 0, timeout=15, what="no connection or session left")


# (URL the DLL passes, vdir it maps to, the rest of the path after the vdir's directory)
MAP_CASES = [
    ("/", "root", "\\"),
    ("/index.htm", "root", "\\index.htm"),
    ("/a/b/c.txt?x=1&y=/z", "root", "\\a\\b\\c.txt"),  # the query is not part of the path
    ("/docs", "docs", ""),
    ("/docs/", "docs", "\\"),
    ("/DOCS/Guide.txt", "docs", "\\Guide.txt"),  # vdirs match case-insensitively
    ("/docs/cgi/run.exe", "cgi", "\\run.exe"),  # the longer (nested) vdir wins
    ("/Docs/CGI", "cgi", ""),
    ("/docs/cgix/a.txt", "docs", "\\cgix\\a.txt"),  # a prefix only at a segment boundary
    ("/docs/./x/../y.txt", "docs", "\\y.txt"),
    ("/a%20b/%41.txt", "root", "\\a b\\A.txt"),  # decoded once, like a request
    ("/docs\\w.txt", "docs", "\\w.txt"),
    ("/docs/caf\u00e9 \u20ac.txt", "docs", "\\caf\u00e9 \u20ac.txt"),  # raw non-ASCII
    ("/docs/%C3%A9t%C3%A9.txt", "docs", "\\\u00e9t\u00e9.txt"),
    ("/\U0001F600/x", "root", "\\\U0001F600\\x"),  # outside the BMP: two WCHARs
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("url,key,rest", MAP_CASES, ids=[c[0] for c in MAP_CASES])
def test_map_every_form(srv, form, url, key, rest):
    prefix, _, _, flags = VDIRS[key]
    path = srv.phys[key] + rest
    f = ask(srv, mode="map", form=form, url=url)
    assert (f["ok"], f["err"]) == ("1", "0"), f
    assert f["path"] == path
    if form in ("plain", "uplain"):
        assert f["size"] == str(size_needed(path, form)), "*lpdwSize: bytes written, NUL included"
        assert f["type_untouched"] == "1", "lpdwDataType is never written (W3MFC's bug)"
    if form == "plain":
        assert f["len"] == str(len(path.encode("utf-8"))) and f["tail_untouched"] == "1"
    if form in ("uplain", "uex"):
        assert f["wlen"] == str(units(path, form))
    if form in ("ex", "uex"):
        assert f["flags"] == hex(flags), f"dwFlags of the {key} vdir"
        assert f["mpath"] == str(units(srv.phys[key], form)), "cchMatchingPath: the vdir's directory"
        enc, width = ("utf-8", 1) if form == "ex" else ("utf-16-le", 2)
        assert path.encode(enc)[:int(f["mpath"]) * width] == srv.phys[key].encode(enc)
        assert f["murl"] == str(len(prefix)), "cchMatchingURL: the vdir's URL (0 for the root)"
        assert f["url_untouched"] == "1" and f["size_untouched"] == "1", "_EX writes neither lpvBuffer nor lpdwSize"
    if form == "ex":
        assert f["reserved"] == "0/0"
    if form == "uex":
        assert f["after_untouched"] == "1", "nothing written past httpext.h's HSE_UNICODE_URL_MAPEX_INFO"


def test_matching_lengths_split_path_and_url(srv):
    """path[:cchMatchingPath] is the vdir's directory and the rest equals the
    URL after cchMatchingURL with '/' -> '\\' (in each form's units)."""
    for url in ["/docs/cgi/a/b.exe", "/docs/\u00fcber/x.txt", "/r\u00f6\u00f6t/\U0001F600.txt"]:
        for form in ("ex", "uex"):
            f = ask(srv, mode="map", form=form, url=url)
            assert f["ok"] == "1", f
            enc = "utf-8" if form == "ex" else "utf-16-le"
            width = 1 if form == "ex" else 2
            path, u = f["path"].encode(enc), url.encode(enc)
            mp, mu = int(f["mpath"]) * width, int(f["murl"]) * width
            assert path[mp:] == u[mu:].replace("/".encode(enc), "\\".encode(enc)), (form, url, f)


@pytest.mark.parametrize("form", ["plain", "uplain"])
def test_size_query_and_too_small_buffers(srv, form):
    url = "/docs/caf\u00e9/\U0001F600.txt"
    path = srv.phys["docs"] + "\\caf\u00e9\\\U0001F600.txt"
    need = size_needed(path, form)
    for size in (0, 1, need // 2, need - 1):
        f = ask(srv, mode="map", form=form, url=url, size=size)
        assert (f["ok"], f["err"]) == ("0", str(ERROR_INSUFFICIENT_BUFFER)), (size, f)
        assert f["size"] == str(need), "the size needed, in bytes with the NUL"
        assert f["untouched"] == "1", "a too-small buffer keeps the URL; nothing written"
        assert f["type_untouched"] == "1"
    f = ask(srv, mode="map", form=form, url=url, size=need)
    assert (f["ok"], f["path"], f["size"]) == ("1", path, str(need)), "exactly the size needed is enough"


def rest_of_units(n, ch="x"):
    """A relative URL path of exactly n characters: segments of 49 joined by '/'."""
    rest = ((ch * 49 + "/") * (n // 50 + 1))[:n]
    return rest[:-1] + ch if rest.endswith("/") else rest


def test_ex_forms_stop_at_max_path(srv):
    root = srv.phys["root"]
    # ANSI: 259 bytes of path fit lpszPath[MAX_PATH], 260 do not.
    for extra, ok in ((0, True), (1, False)):
        n = MAX_PATH - 1 - len(root.encode()) - 1 + extra
        rest = rest_of_units(n)
        assert len(rest) == n and "//" not in rest and not rest.endswith("/")
        path = root + "\\" + rest.replace("/", "\\")
        f = ask(srv, mode="map", form="ex", url="/" + rest)
        if ok:
            assert f["ok"] == "1" and f["path"] == path and len(path.encode()) == MAX_PATH - 1
        else:
            assert (f["ok"], f["err"]) == ("0", str(ERROR_INSUFFICIENT_BUFFER)), f
            assert f["untouched"] == "1", "no truncated path: nothing written"
            g = ask(srv, mode="map", form="plain", url="/" + rest)
            assert g["ok"] == "1" and g["path"] == path, "the plain form has no MAX_PATH limit"
    # Unicode: MAX_PATH counts WCHARs. 259 WCHARs of 'é' are 2 bytes each in UTF-8.
    for extra, ok in ((0, True), (1, False)):
        n = MAX_PATH - 1 - units(root, "uex") - 1 + extra
        rest = rest_of_units(n, "\u00e9")
        path = root + "\\" + rest.replace("/", "\\")
        f = ask(srv, mode="map", form="uex", url="/" + rest)
        if ok:
            assert f["ok"] == "1" and f["path"] == path and f["wlen"] == str(MAX_PATH - 1), f
            e = ask(srv, mode="map", form="ex", url="/" + rest)
            assert (e["ok"], e["err"]) == ("0", str(ERROR_INSUFFICIENT_BUFFER)), "longer than MAX_PATH in UTF-8"
        else:
            assert (f["ok"], f["err"], f["untouched"]) == ("0", str(ERROR_INSUFFICIENT_BUFFER), "1"), f
            g = ask(srv, mode="map", form="uplain", url="/" + rest)
            assert g["ok"] == "1" and g["path"] == path
    e = ask(srv, mode="map", form="ex", url="/short", exsize="null")
    assert e["ok"] == "1" and e["path"] == root + "\\short", "_EX: a NULL lpdwSize is fine"
    e = ask(srv, mode="map", form="uex", url="/short", exsize="bogus")
    assert e["ok"] == "1" and e["path"] == root + "\\short", "_EX: lpdwSize is never read"


# (URL, Win32 error, the router's status for the same request-target or None)
REFUSED = [
    ("/../x", ERROR_INVALID_PARAMETER, 400),
    ("/a/%2e%2e/%2e%2e/x", ERROR_INVALID_PARAMETER, 400),
    ("/docs/..%5c..%5cx", ERROR_INVALID_PARAMETER, 400),
    ("/x.txt::$DATA", ERROR_PATH_NOT_FOUND, 404),
    ("/con", ERROR_PATH_NOT_FOUND, 404),
    ("/docs/LPT1.txt", ERROR_PATH_NOT_FOUND, 404),
    ("/a/b.", ERROR_PATH_NOT_FOUND, 404),
    ("/PROGRA~1/x", ERROR_PATH_NOT_FOUND, 404),
    ("/%zz", ERROR_INVALID_PARAMETER, 400),
    ("/a%00b", ERROR_INVALID_PARAMETER, 400),
    ("/%C3%28", ERROR_INVALID_PARAMETER, 400),
    ("relative.txt", ERROR_INVALID_PARAMETER, None),
    ("http://host/x", ERROR_INVALID_PARAMETER, None),
    ("", ERROR_INVALID_PARAMETER, None),
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("url,err,_status", REFUSED, ids=[c[0] or "empty" for c in REFUSED])
def test_refused_urls_fail_and_write_nothing(srv, form, url, err, _status):
    f = ask(srv, mode="map", form=form, url=url)
    assert (f["ok"], f["err"]) == ("0", str(err)), f
    assert f["untouched"] == "1", "a refused URL writes nothing"
    if form in ("plain", "uplain"):
        assert f["size"] == str(8192), "*lpdwSize is left alone"
        assert f["type_untouched"] == "1"
    else:
        assert f["url_untouched"] == "1"


@pytest.mark.parametrize("url,err,status", [c for c in REFUSED if c[2]], ids=[c[0] for c in REFUSED if c[2]])
def test_refusals_match_the_router(srv, url, err, status):
    """NORMALIZE_URL and the mapping use the router's canonicaliser: the same
    URL as a request-target gets the matching status."""
    f = ask(srv, mode="normalize", url=url)
    assert (f["ok"], f["err"], f["untouched"]) == ("0", str(err), "1"), f
    with HttpConn(srv.port) as c:
        c.send(b"GET " + url.encode() + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        r = c.read_response()
    expect_status(r, status, f"router's answer for {url}")


NORMALIZE = [
    ("/a/./b/../c%20d?x=%41&y=/../", "/a/c d?x=%41&y=/../"),  # the query is kept as it is
    ("/docs\\x\\..\\y.txt", "/docs/y.txt"),
    ("/%7Euser/", "/~user/"),
    ("/a/b/.", "/a/b/"),
    ("/caf%C3%A9", "/caf\u00e9"),
    ("/already/canonical.htm", "/already/canonical.htm"),
]


@pytest.mark.parametrize("url,want", NORMALIZE, ids=[c[0] for c in NORMALIZE])
def test_normalize_url(srv, url, want):
    f = ask(srv, mode="normalize", url=url)
    assert (f["ok"], f["err"]) == ("1", "0"), f
    assert f["url"] == want


def test_normalized_url_is_what_the_router_serves(srv):
    f = ask(srv, mode="normalize", url="/DOCS/sub/../y.txt")
    assert f["url"] == "/DOCS/y.txt"
    r = srv.fetch("/DOCS/sub/../y.txt")
    expect_status(r, 200, "the router maps the same URL to the same file")
    assert r.body == b"why\n"


# Calls of ext_map.dll's mode=bogus that must fail with ERROR_INVALID_PARAMETER
# (and not crash): NULL, bogus (8, 16), read-only or unterminated pointers.
REFUSED_POINTERS = [
    "plain_null_buf", "plain_bogus_buf", "plain_null_size", "plain_bogus_size", "plain_readonly_buf",
    "plain_unterminated",
    "ex_null_info", "ex_bogus_info", "ex_readonly_info", "ex_null_url", "ex_bogus_url",
    "uplain_null_buf", "uplain_bogus_buf", "uplain_null_size", "uplain_bogus_size", "uplain_readonly_buf",
    "uplain_lone_surrogate",
    "uex_null_info", "uex_bogus_info", "uex_null_url", "uex_bogus_url",
    "normalize_null", "normalize_bogus", "normalize_readonly", "normalize_unterminated",
]


def test_null_bogus_and_read_only_pointers(srv):
    with HttpConn(srv.port) as c:
        r = c.request("GET", "/t.map?mode=bogus")
        expect_status(r, 200, "bogus pointers")
        f = fields(r.body)
        for k in REFUSED_POINTERS:
            assert f.get(k) == f"0/{ERROR_INVALID_PARAMETER}", f"{k}: {f.get(k)}"
        assert f["plain_bogus_type"] == "1/0" and f["plain_bogus_type_path_ends"] == "1", \
            "a bogus lpdwDataType does not matter to MAP_URL_TO_PATH: it is never used"
        assert f["ex_bogus_size"] == "1/0", "_EX never reads lpdwSize"
        assert f["ex_readonly_url"] == "1/0" and f["uex_readonly_url"] == "1/0", "_EX never writes the URL"
        assert f["uplain_lone_surrogate_untouched"] == "1"
        assert f["normalize_bogus_size"] == "1/0" and f["normalize_bogus_size_url"] == "/y.txt"
        g = ask(srv, mode="map", form="plain", url="/after.txt")
        assert g["ok"] == "1" and g["path"] == srv.phys["root"] + "\\after.txt", "the server and the DLL go on"
    log = srv.wait_for_log("IH2012", "IH2012 for the bad pointers", timeout=5)
    lines = [line for line in log if "IH2012" in line and "ext_map.dll" in line]
    assert len(lines) == 1, f"one bad-pointer misuse report per DLL: {lines}"
    assert "HSE_REQ_MAP_URL_TO_PATH with an unreadable or unterminated URL" in lines[0]
    settled(srv)


# ---------------------------------------------------------------- one physical path per URL

def test_extension_paths_are_windows_paths_and_agree(ih):
    """What tests/dlls/ext_paths.c reads, as a DLL built for IIS would:
    lpszPathTranslated, PATH_TRANSLATED, SCRIPT_TRANSLATED and
    APPL_PHYSICAL_PATH have '\\' separators only (IIS: "C:\\www\\uc\\x"), and
    MAP_URL_TO_PATH(_EX) and an EXEC_URL child give the very same string for
    the same URL. The root and the vdir are relative paths, the vdir's written
    with '/', as a hand-written configuration has them."""
    dlls = ih.build_dir / "tests" / "dlls"
    for name in ("ext_paths.dll", "ext_exec.dll"):
        if not (dlls / name).is_file():
            pytest.fail(f"test DLL not built: {dlls / name}", pytrace=False)
    cfg = ih.new_config("isapi_paths")  # root = www, joined to the configuration's directory
    cfg.sections["site main"]["permissions"] = "read, script"
    cfg.vdir("main", "/app", path="apps/uc", permissions="read, script")
    write_files(cfg.workdir / "www", {"uc/hello.paths": "", "uc/child.paths": ""})
    write_files(cfg.workdir / "apps" / "uc", {"x.paths": ""})
    cfg.section("scriptmap main .paths").update(dll=win_path(dlls / "ext_paths.dll"), check_file="on")
    cfg.section("scriptmap main .exec").update(dll=win_path(dlls / "ext_exec.dll"), check_file="off")
    www, app = win_path(cfg.workdir / "www"), win_path(cfg.workdir / "apps" / "uc")

    def paths(target):
        r = s.fetch(target)
        expect_status(r, 200, f"ext_paths.dll at {target}")
        f = fields(r.body)
        for key, value in f.items():
            assert "/" not in value or key == "URL", f"{target}: {key} = {value!r} has a '/'"
        return f

    with ih.start(cfg) as s:
        for target, directory, file in (("/uc/hello.paths?map=/uc/child.paths", www, "\\uc\\hello.paths"),
                                        ("/app/x.paths?map=/app/", app, "\\x.paths")):
            f = paths(target)
            want = directory + file
            assert f["ecb_path_translated"] == want, f
            assert f["PATH_TRANSLATED"] == want, f
            assert f["SCRIPT_TRANSLATED"] == "\\\\?\\" + want, f
            assert f["APPL_PHYSICAL_PATH"] == directory + "\\", f
            assert f["map"] == want and f["map_ex"] == want, f"MAP_URL_TO_PATH(_EX) of the URL: {f}"
        assert f["map_arg"] == f["map_arg_ex"] == app + "\\", "a trailing '/' gives a trailing '\\'"

        parent = paths("/uc/hello.paths?map=/uc/child.paths")
        child = paths("/t.exec?mode=rewrite&to=%2Fuc%2Fchild.paths")  # the body is the EXEC_URL child's
        assert child["URL"] == "/uc/child.paths", child
        assert child["PATH_TRANSLATED"] == child["ecb_path_translated"] == www + "\\uc\\child.paths", child
        assert child["PATH_TRANSLATED"] == parent["map_arg"] == parent["map_arg_ex"], (parent, child)
        assert child["map"] == child["PATH_TRANSLATED"], child
        settled(s)

