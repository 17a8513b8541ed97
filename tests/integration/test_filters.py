"""ISAPI filters under Wine, through real DLLs and sockets: every
notification in IIS order and priority order, what filters change taking
effect (a new url routing again, static <-> extension; headers the
extension sees; the URL_MAP path, also for MAP_URL_TO_PATH; Basic
credentials and the user a filter leaves; headers on denial; the response
head; outgoing bytes; the log line), every SF_STATUS_* answer, a filter
that is also an extension sharing one module, filters that crash, and
filters that do not load (503, or skipped). tests/dlls/flt_script.c is
driven by the X-Script request header (its comment lists the actions)."""

import base64
import os
import socket
import time

import pytest

from ihserver import (HttpConn, build_request, expect_status, fetch, filter_dll, free_port, win_path, worker_mode,
                      write_files)

ORDER = ["none", "high", "high2", "medium", "low2", "low"]  # run order of the order filters below


def dlls_dir(ih):
    d = ih.build_dir / "tests" / "dlls"
    for name in ("flt_script.dll", "flt_both.dll", "flt_order_none.dll", "ext_echo.dll", "ext_map.dll"):
        if not (d / name).is_file():
            pytest.fail(f"test DLLs not built: {d / name} missing", pytrace=False)
    return d


@pytest.fixture(scope="module")
def srv(ih):
    dlls = dlls_dir(ih)
    cfg = ih.new_config("filters")
    cfg.sections["site main"]["permissions"] = "read, script"
    write_files(cfg.workdir / "www", {"a.txt": b"AAAA", "b.txt": b"BBBBBBBB", "lower.txt": b"hello world",
                                      "app.isa": b"script source\n", "sub/readme.htm": b"no index here"})
    cfg.section("scriptmap main .isa").update(dll=win_path(dlls / "ext_echo.dll"))
    cfg.section("scriptmap main .map").update(dll=win_path(dlls / "ext_map.dll"), check_file="off")
    cfg.vdir("main", "/scripts", path=win_path(dlls), permissions="execute")
    # Global and site filters, in a file order unlike their run order.
    cfg.section("filter script").update(dll=win_path(filter_dll(dlls, "flt_script.dll")))
    cfg.section("filter both").update(dll=win_path(dlls / "flt_both.dll"))
    cfg.section("filter s_high").update(site="main", dll=win_path(dlls / "flt_order_high2.dll"))
    cfg.section("filter g_low2").update(dll=win_path(dlls / "flt_order_low2.dll"))
    cfg.section("filter g_low").update(dll=win_path(dlls / "flt_order_low.dll"))
    cfg.section("filter g_none").update(dll=win_path(dlls / "flt_order_none.dll"))
    cfg.section("filter g_high").update(dll=win_path(dlls / "flt_order_high.dll"))
    cfg.section("filter s_med").update(site="main", dll=win_path(dlls / "flt_order_medium.dll"))
    with ih.start(cfg) as s:
        s.www = cfg.workdir / "www"
        yield s


def script(srv, target, actions, **kw):
    headers = list(kw.pop("headers", []))
    if actions:
        headers.append(("X-Script", actions))
    return srv.fetch(target, headers=headers, **kw)


def fields(body):
    return dict(line.split("=", 1) for line in body.decode("utf-8", "replace").splitlines() if "=" in line)


def raw_exchange(srv, data, timeout=10):
    """Sends data, returns every byte until the server closes."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def settled(srv):
    return srv.wait_status(lambda s: s["connections_live"] == 0 and s["requests_in_flight"] == 0
                           and s.get("isapi_sessions", 0) == 0, timeout=15,
                           what="no connection, request or session left")


# ---------------------------------------------------------------- order

def test_every_notification_in_iis_order(srv):
    r = script(srv, "/a.txt", "")
    expect_status(r, 200, "a static file through every filter")
    assert r.body == b"AAAA"
    # In a worker pool the filter is its build without READ_RAW_DATA (refused there).
    trace = "pre map auth done resp" if worker_mode() else "raw pre map auth done resp"
    assert r.header("X-Script-Trace") == trace, r.describe()
    # No priority bit first (KB Q237471), then HIGH, MEDIUM, LOW; global
    # before site at one priority; then file order.
    assert r.header_list("X-Filter-Order") == ORDER, r.describe()


def test_http09_gets_the_body_only(srv):
    # KB Q323064: SEND_RESPONSE for HTTP/0.9 crashed IIS with a filter installed.
    assert raw_exchange(srv, b"GET /a.txt\r\n") == b"AAAA"
    out = raw_exchange(srv, b"GET /app.isa\r\n")
    assert out.startswith(b"method=GET\n"), out[:200]
    out = raw_exchange(srv, b"GET /missing.txt\r\n")
    assert b"HTTP/" not in out and b"X-Filter" not in out and out, out[:200]


def test_malformed_requests_are_answered_through_the_filters(srv):
    out = raw_exchange(srv, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 "), out[:200]
    assert b"\r\nX-Filter-Order: none\r\n" in out, "global filters see the 400 (no site is known)"
    out = raw_exchange(srv, b"NOT A REQUEST\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 400 "), out[:200]


# ---------------------------------------------------------------- what filters change

def test_a_new_url_routes_again(srv):
    r = script(srv, "/a.txt", "pre.url=/b.txt")
    expect_status(r, 200, "PREPROC_HEADERS url -> another file")
    assert r.body == b"BBBBBBBB"
    r = script(srv, "/a.txt", "pre.url=/app.isa?from=filter")
    expect_status(r, 200, "PREPROC_HEADERS url: static -> extension")
    f = fields(r.body)
    assert f["url"] == "/app.isa" and f["query"] == "from=filter", f
    r = script(srv, "/app.isa", "pre.url=/a.txt")
    expect_status(r, 200, "PREPROC_HEADERS url: extension -> static")
    assert r.body == b"AAAA"
    r = script(srv, "/a.txt", "done.url=/b.txt")
    expect_status(r, 200, "AUTH_COMPLETE url")
    assert r.body == b"BBBBBBBB"
    r = script(srv, "/a.txt", "pre.url=/a.txt")  # the same url: no loop, nothing changes
    assert r.body == b"AAAA"


def test_headers_a_filter_adds_are_the_extensions(srv):
    r = script(srv, "/app.isa", "pre.add=X-Added:yes")
    expect_status(r, 200, "AddHeader in PREPROC_HEADERS")
    assert fields(r.body)["x_added"] == "yes"


# Asked of GetServerVariable; a plain request carries none of the first three
# headers. ERROR_INVALID_INDEX (1413) is how a DLL learns that a header was
# not sent (logging filters treat any other code as a failure);
# ERROR_NO_DATA (232) stays for a known variable without a value (no TLS).
VARIABLE_RULE = ["HTTP_CONNECTION", "HEADER_X-Not-Sent", "UNICODE_HTTP_X_NOT_SENT", "CERT_SUBJECT",
                 "NO_SUCH_VARIABLE"]


def test_a_header_not_sent_is_invalid_index_for_filters(srv):
    names = ",".join(VARIABLE_RULE)
    # As curl sends it: HTTP/1.1, no Connection header (close=False adds none).
    r = script(srv, "/a.txt", f"pre.vars={names};resp.vars={names}", close=False)
    expect_status(r, 200, "GetServerVariable in PREPROC_HEADERS and SEND_RESPONSE")
    want = " ".join(f"{point}:{name}=error:{code}" for point in ("pre", "resp")
                    for name, code in zip(VARIABLE_RULE, [1413, 1413, 1413, 232, 1413]))
    assert r.header("X-Script-Vars") == want, r.describe()
    # The same names with the headers sent: their sizes, NUL included
    # (UNICODE_: bytes of UTF-16, two-byte NUL).
    r = script(srv, "/a.txt", f"pre.vars={names}", headers=[("X-Not-Sent", "v")])  # Connection: close
    assert r.header("X-Script-Vars") == ("pre:HTTP_CONNECTION=ok:6 pre:HEADER_X-Not-Sent=ok:2 "
                                         "pre:UNICODE_HTTP_X_NOT_SENT=ok:4 pre:CERT_SUBJECT=error:232 "
                                         "pre:NO_SUCH_VARIABLE=error:1413"), r.describe()


def test_filter_and_extension_share_one_module(srv):
    r = srv.fetch("/scripts/flt_both.dll")
    expect_status(r, 200, "flt_both.dll as an extension")
    f = fields(r.body.replace(b"extension module=", b"module="))
    assert f["module"] == f["HTTP_X_FILTER_MODULE"], f"two copies of the DLL: {f}"
    assert f["filter inits"] == "1", f


def test_basic_credentials_and_the_filters_user(srv):
    basic = "Basic " + base64.b64encode(b"alice:s3cret:x").decode()
    r = script(srv, "/app.isa", "", headers=[("Authorization", basic)])
    expect_status(r, 200, "Basic credentials")
    assert r.header("X-Script-Auth") == "alice/s3cret:x"
    assert fields(r.body)["remote_user"] == "alice"
    r = script(srv, "/app.isa", "auth.user=bob", headers=[("Authorization", basic)])
    assert fields(r.body)["remote_user"] == "bob", "the user AUTHENTICATION left"
    r = script(srv, "/app.isa", "")
    assert r.header("X-Script-Auth") == "/", "anonymous: empty, writable buffers"
    assert fields(r.body)["remote_user"] in ("", "<error 232>"), fields(r.body)


def test_url_map_path_is_served_and_mapped(srv):
    b = win_path(srv.www / "b.txt")
    r = script(srv, "/a.txt", f"map.path={b}")
    expect_status(r, 200, "URL_MAP to another file")
    assert r.body == b"BBBBBBBB"
    r = script(srv, "/t.map?mode=map&form=plain&url=%2Fx.txt", "map.path=C:\\mapped\\by\\filter")
    expect_status(r, 200, "HSE_REQ_MAP_URL_TO_PATH through URL_MAP")
    assert fields(r.body)["path"] == "C:\\mapped\\by\\filter", r.body


def test_access_denied_with_headers_on_denial(srv):
    r = script(srv, "/sub/", 'pre.deny_header=WWW-Authenticate: Basic realm="t"')
    expect_status(r, 403, "a directory without default document or listing")
    assert r.header("WWW-Authenticate") == 'Basic realm="t"'
    # SF_DENIED_RESOURCE | SF_DENIED_BY_CONFIG
    assert r.header("X-Script-Denied") == f"{0x2 | 0x10000} /sub/", r.describe()
    r = script(srv, "/a.txt", 'pre.deny_header=WWW-Authenticate: Basic realm="t"')
    assert r.header("WWW-Authenticate") is None, "headers on denial only go on a denial"


def test_filter_date_and_server_replace_ours(srv):
    """AddResponseHeaders with a Date or Server: one value each (RFC 9110
    6.6.1, 10.2.4), the filter's, never ours beside it."""
    r = script(srv, "/a.txt", "pre.response_header=Date: Tue, 01 Jan 2030 00:00:00 GMT")
    assert r.status == 200, r.describe()
    assert r.header_list("Date") == ["Tue, 01 Jan 2030 00:00:00 GMT"], r.describe()
    r = script(srv, "/a.txt", "pre.response_header=Server: FilterServer/1")
    assert r.header_list("Server") == ["FilterServer/1"], r.describe()
    assert len(r.header_list("Date")) == 1, r.describe()


def test_response_head_and_raw_data(srv):
    r = script(srv, "/a.txt", "pre.response_header=X-Early: 1;resp.add=X-Resp:2;resp.status=299 Filtered")
    assert r.status == 299 and r.reason == "Filtered", r.describe()
    assert r.header("X-Early") == "1" and r.header("X-Resp") == "2"
    r = script(srv, "/lower.txt", "send.upper")
    assert r.body == b"HELLO WORLD", r.describe()
    r = script(srv, "/lower.txt", "send.upper;pre.disable_send")
    assert r.body == b"hello world", "SEND_RAW_DATA disabled for this request"
    req = build_request("GET", "/lower.txt", headers=[("X-Script", "send.wrap"), ("Connection", "close")])
    out = raw_exchange(srv, req)
    assert out.startswith(b"[HTTP/1.1 200 ") and out.endswith(b"hello world]"), out


# ---------------------------------------------------------------- return codes

def test_finished_sends_the_filters_response_and_closes(srv):
    with HttpConn(srv.port) as c:
        c.send(build_request("GET", "/a.txt", headers=[("X-Script", "pre.finish")]))
        r = c.read_response()
        assert r.status == 403 and r.reason == "Forbidden by filter", r.describe()
        assert r.body == b"the filter answered\n"
        assert c.wait_closed(10), "SF_STATUS_REQ_FINISHED closes the connection"
    r = script(srv, "/a.txt", "pre.finish=301")
    assert r.status == 301 and r.reason == "Moved Permanently", "a bare status gets its reason phrase"


def test_finished_keep_conn_keeps_the_connection(srv):
    with HttpConn(srv.port) as c:
        c.send(build_request("GET", "/a.txt", headers=[("X-Script", "pre.keep")]))
        r = c.read_response()
        expect_status(r, 200, "FINISHED_KEEP_CONN")
        assert r.body == b"hello"
        c.send(build_request("GET", "/b.txt"))
        r = c.read_response()
        expect_status(r, 200, "the next request on the same connection")
        assert r.body == b"BBBBBBBB"


def test_error_answers_500_and_closes(srv):
    with HttpConn(srv.port) as c:
        c.send(build_request("GET", "/a.txt", headers=[("X-Script", "pre.error")]))
        r = c.read_response()
        expect_status(r, 500, "SF_STATUS_REQ_ERROR")
        assert c.wait_closed(10)


def test_finished_without_a_response_closes(srv):
    assert raw_exchange(srv, build_request("GET", "/a.txt", headers=[("X-Script", "pre.finish_bare")])) == b""


def test_handled_stops_the_chain_for_that_notification(srv):
    r = script(srv, "/a.txt", "resp.handled")
    expect_status(r, 200, "HANDLED_NOTIFICATION in SEND_RESPONSE")
    # flt_script is LOW, global, first in the file: the LOW order filters after it are skipped
    assert r.header_list("X-Filter-Order") == ["none", "high", "high2", "medium"], r.describe()
    assert r.body == b"AAAA"


@pytest.mark.skipif(worker_mode(), reason="READ_RAW_DATA filters need an inprocess pool (docs/pools.md)")
def test_read_next_takes_raw_bytes(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"PRELUDE opaque negotiation bytes")
        time.sleep(0.5)  # a receive of its own
        s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    assert out.startswith(b"HTTP/1.1 200 ") and out.endswith(b"\r\n\r\nAAAA"), out


def test_a_crashing_filter_costs_its_connection_only(srv):
    for actions in ("resp.crash", "pre.crash", "send.crash", "log.crash"):
        req = build_request("GET", "/a.txt", headers=[("X-Script", actions), ("Connection", "close")])
        out = raw_exchange(srv, req)
        if actions in ("resp.crash", "pre.crash"):
            assert out == b"", f"{actions}: the connection closes without a response"
        r = srv.fetch("/a.txt")
        expect_status(r, 200, f"the server goes on after {actions}")
    if not worker_mode():  # READ_RAW_DATA filters need an inprocess pool
        assert raw_exchange(srv, b"CRASHRAW\r\n") == b""

    def both_crashes(lines):
        crashes = [line for line in lines if "IH3003" in line]
        return (any("filter script" in line and "SEND_RESPONSE" in line for line in crashes)
                and (worker_mode() or any("READ_RAW_DATA" in line for line in crashes)))
    srv.wait_for_log(both_crashes, "IH3003 for the SEND_RESPONSE and READ_RAW_DATA crashes")


def test_nothing_left_behind(srv):
    st = settled(srv)
    assert st["requests_total"] > 20


# ---------------------------------------------------------------- log

def test_log_line_is_written_from_what_the_filter_left(ih):
    dlls = dlls_dir(ih)
    cfg = ih.new_config("filters_log")
    write_files(cfg.workdir / "www", {"a.txt": b"AAAA"})
    cfg.section("filter script").update(dll=win_path(filter_dll(dlls, "flt_script.dll")))
    srv = ih.start(cfg)
    try:
        r = script(srv, "/a.txt", "log.target=/replaced-by-filter;log.status=299")
        expect_status(r, 200, "LOG replaces target and status")
        srv.stop()
    except BaseException:
        srv.kill()
        raise
    lines = [line for f in sorted(cfg.log_dir.glob("W3SVC*/u_ex*.log"))
             for line in f.read_text(errors="replace").splitlines() if not line.startswith("#")]
    assert any(" /replaced-by-filter " in line and " 299 " in line for line in lines), lines


# ---------------------------------------------------------------- loading

def test_filters_that_do_not_load(ih):
    dlls = dlls_dir(ih)
    cfg = ih.new_config("filters_load")
    write_files(cfg.workdir / "www", {"a.txt": b"AAAA"})
    other_port = free_port()
    write_files(cfg.workdir / "www2", {"a.txt": b"2222"})
    cfg.site("second", bindings=f"127.0.0.1:{other_port}", root="www2")
    cfg.site("third", bindings=f"127.0.0.1:{other_port}:third.example", root="www2")
    cfg.section("filter missing").update(site="main", dll=win_path(cfg.workdir / "no-such.dll"))
    cfg.section("filter refused").update(site="second", dll=win_path(dlls / "flt_refuse.dll"))
    cfg.section("filter skipped").update(site="third", dll=win_path(cfg.workdir / "also-missing.dll"),
                                         on_load_error="skip")
    with ih.start(cfg) as srv:
        r = srv.fetch("/a.txt")
        expect_status(r, 503, "a site whose filter did not load (on_load_error = fail)")
        r = fetch(other_port, "/a.txt", host="localhost")
        expect_status(r, 503, "GetFilterVersion returned FALSE")
        r = fetch(other_port, "/a.txt", host="third.example")
        expect_status(r, 200, "on_load_error = skip serves without the filter")
        assert r.body == b"2222"
        lines = srv.wait_for_log(lambda ls: sum("IH3002" in line for line in ls) >= 3, "three IH3002 lines")
        failed = [line for line in lines if "IH3002" in line]
        assert any("filter missing" in line and "Win32 error 126" in line for line in failed), failed
        assert any("filter refused" in line and "GetFilterVersion returned FALSE" in line for line in failed), failed
        assert any("filter skipped" in line and "skip" in line for line in failed), failed


# ---------------------------------------------------------------- stop

def test_terminate_filter_comes_after_every_end_of_net_session(ih):
    dlls = dlls_dir(ih)
    cfg = ih.new_config("filters_stop")
    write_files(cfg.workdir / "www", {"a.txt": b"AAAA"})
    cfg.section("filter script").update(dll=win_path(filter_dll(dlls, "flt_script.dll")))
    srv = ih.start(cfg)
    conns = []
    try:
        for _ in range(3):  # keep-alive connections left open at the stop
            c = HttpConn(srv.port)
            c.send(build_request("GET", "/a.txt"))
            expect_status(c.read_response(), 200, "a request on a connection kept open")
            conns.append(c)
        half = HttpConn(srv.port)  # and one in the middle of a head
        half.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n")
        conns.append(half)
        srv.stop()
    except BaseException:
        srv.kill()
        raise
    finally:
        for c in conns:
            c.close()
    report = (cfg.workdir / "flt_script-terminate.txt").read_text()
    assert report.startswith("flags=0 live=0 "), f"TerminateFilter before every END_OF_NET_SESSION: {report}"
    # In a worker pool the half-sent head never leaves the service (as with
    # http.sys and w3wp): the worker's filter sees the three connections that
    # brought a request.
    sessions = 3 if os.environ.get("IH_POOL_MODE") == "worker" else 4
    assert int(report.split("ended=")[1]) >= sessions, report
    log = srv.server_log.read_text(errors="replace")
    assert "IH3004 filter script" in log and "unloaded (after TerminateFilter(0))" in log, log[-1500:]


# ---------------------------------------------------------------- Windows paths

def test_a_filter_looking_for_backslash_uc_finds_it(ih):
    """IIS hands SF_NOTIFY_URL_MAP a Windows path, "...\\www\\uc\\hello.htm".
    tests/dlls/flt_uc.c does what real filters do: it looks for "\\uc\\" in
    pszPhysicalPath and serves the request from "\\lc\\" instead. With a '/'
    anywhere in the path (the root is relative, joined to the configuration's
    directory) it would never match and the file would be 404."""
    flt = dlls_dir(ih) / "flt_uc.dll"
    if not flt.is_file():
        pytest.fail(f"test DLLs not built: {flt} missing", pytrace=False)
    cfg = ih.new_config("filters-uc")  # root = www, relative
    write_files(cfg.workdir / "www", {"lc/hello.htm": b"<p>from lc</p>", "lc/deep/x.txt": b"deep"})
    cfg.section("filter uc").update(dll=win_path(flt))
    with ih.start(cfg) as s:
        www = win_path(cfg.workdir / "www")
        r = s.fetch("/uc/hello.htm")
        expect_status(r, 200, "flt_uc.dll found \\uc\\ and sent the request to \\lc\\")
        assert r.body == b"<p>from lc</p>"
        assert r.header("X-Uc-Seen") == www + "\\uc\\hello.htm", r.describe()
        r = s.fetch("/uc/deep/x.txt")
        expect_status(r, 200, "a deeper file under \\uc\\")
        assert r.body == b"deep"
        assert r.header("X-Uc-Seen") == www + "\\uc\\deep\\x.txt", r.describe()
        r = s.fetch("/lc/hello.htm")
        expect_status(r, 200, "a path without \\uc\\ is left alone")
        assert r.header("X-Uc-Seen") is None, r.describe()
