"""A DLL that blocks costs its own requests only: the extension pool grows
up to isapi_max_threads, static files and other DLLs are served meanwhile,
requests stuck longer than isapi_stuck_timeout are reported (IH2007), and
at the maximum further extension requests wait their turn while static
files still flow."""


import pytest

from ihserver import HttpConn, expect_status, win_path, write_files


@pytest.fixture(scope="module")
def srv(ih):
    dlls = ih.build_dir / "tests" / "dlls"
    cfg = ih.new_config("isapi_pool")
    cfg.server.update(isapi_threads=2, isapi_max_threads=5, isapi_stuck_timeout=1)
    cfg.sections["site main"]["permissions"] = "read, script"
    write_files(cfg.workdir / "www", {"page.txt": b"static page\n"})
    cfg.section("scriptmap main .blk").update(dll=win_path(dlls / "ext_block.dll"), check_file="off")
    cfg.section("scriptmap main .echo").update(dll=win_path(dlls / "ext_echo.dll"), check_file="off")
    with ih.start(cfg) as s:
        yield s


def start_blocked(srv, n, query="block"):
    conns = []
    for i in range(n):
        c = HttpConn(srv.port, timeout=90)
        c.send(f"GET /x.blk?{query}&i={i} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        conns.append(c)
    return conns


def test_pool_grows_other_work_goes_on_and_stuck_requests_are_reported(srv):
    blocked = start_blocked(srv, 3)
    try:
        st = srv.wait_status(lambda s: s["isapi_busy"] >= 3, timeout=15, what="three pool threads blocked in the DLL")
        assert st["isapi_threads"] > 2, "the pool grew beyond isapi_threads"
        expect_status(srv.fetch("/page.txt"), 200, "a static file while the DLL blocks")
        r = srv.fetch("/e.echo?q=1")
        expect_status(r, 200, "another DLL while the first one blocks")
        assert b"query=q=1" in r.body
        log = "\n".join(srv.wait_for_log("IH2007", "IH2007 for the stuck requests"))
        assert "IH2007" in log and "ext_block.dll" in log and "/x.blk" in log, log[-3000:]
        assert "IH2010" in log and "grew" in log
        r = srv.fetch("/x.blk?release")
        expect_status(r, 200, "release")
        for c in blocked:
            r = c.read_response()
            expect_status(r, 200, "a blocked request, released")
            assert r.body == b"unblocked\n"
    finally:
        for c in blocked:
            c.close()
    srv.wait_status(lambda s: s["connections_live"] == 0 and s["requests_in_flight"] == 0
                    and s["isapi_sessions"] == 0 and s["isapi_busy"] == 0, timeout=15, what="zero after release")


def test_at_the_maximum_extension_requests_wait_and_static_files_flow(srv):
    # Every thread of isapi_max_threads = 5 blocks for 4 s; a release request
    # could not run now, so the calls end by themselves.
    blocked = start_blocked(srv, 5, "block&ms=4000")
    waiting = None
    try:
        st = srv.wait_status(lambda s: s["isapi_busy"] >= 5, timeout=15, what="the whole pool blocked")
        assert st["isapi_threads"] == 5, f"never beyond isapi_max_threads: {st}"
        waiting = HttpConn(srv.port, timeout=90)
        waiting.send(b"GET /e.echo?late=1 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        log = "\n".join(srv.wait_for_log("isapi_max_threads (5)", "IH2010 for the pool at its maximum"))
        assert "IH2010" in log and "isapi_max_threads (5)" in log, log[-2000:]
        r = srv.fetch("/page.txt")
        expect_status(r, 200, "a static file with every extension thread blocked")
        assert srv.status()["isapi_busy"] == 5, "the blocked calls were still running when the file was served"
        r = waiting.read_response()
        expect_status(r, 200, "the waiting extension request, once a thread was free")
        assert b"query=late=1" in r.body
        for c in blocked:
            r = c.read_response()
            assert r.body == b"timed out\n"
    finally:
        for c in blocked + ([waiting] if waiting else []):
            c.close()
    srv.wait_status(lambda s: s["connections_live"] == 0 and s["requests_in_flight"] == 0
                    and s["isapi_sessions"] == 0, timeout=30, what="zero after the pool drained")
