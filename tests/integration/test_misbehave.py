"""The misbehaving sample extension (isapi/samples/misbehave.c), in the
server's own process: only its harmless modes (pid, version, sleep, leak,
unhealthy) and its answer to an unknown mode. The modes that crash, hang or
deadlock (av, heap, stack, exit, abort, hang, deadlock) end or wedge the
process that runs them; they are for tests of worker processes and are
never requested here."""

import re

import pytest

from ihserver import HttpConn, expect_status, win_path

CRASHING_MODES = ("av", "heap", "stack", "exit", "abort", "hang", "deadlock")


@pytest.fixture(scope="module")
def srv(ih):
    v1 = ih.build_dir / "isapi" / "misbehave.dll"
    v2 = ih.build_dir / "tests" / "dlls" / "misbehave_v2.dll"
    for dll in (v1, v2):
        if not dll.is_file():
            pytest.fail(f"misbehave sample not built: {dll} missing", pytrace=False)
    cfg = ih.new_config("misbehave")
    cfg.sections["site main"]["permissions"] = "read, script"
    cfg.section("scriptmap main .mis").update(dll=win_path(v1), check_file="off")
    cfg.section("scriptmap main .mis2").update(dll=win_path(v2), check_file="off")
    with ih.start(cfg) as s:
        yield s


def body_of(srv, target):
    r = srv.fetch(target)
    expect_status(r, 200, target)
    return r.body.decode()


def test_pid_names_the_process_that_answered(srv):
    first = body_of(srv, "/a.mis?pid")
    assert re.fullmatch(r"pid=[1-9][0-9]*", first), first
    with HttpConn(srv.port) as c:  # the same process on a kept-alive connection and on a new one
        for _ in range(3):
            r = c.request("GET", "/b.mis?pid")
            expect_status(r, 200, "pid again")
            assert r.body.decode() == first


def test_version_is_the_build_define(srv):
    assert body_of(srv, "/a.mis?version") == "version=1"
    assert body_of(srv, "/a.mis2?version") == "version=2", "the second build, -DVERSION=\"2\""


def test_sleep_answers_after_sleeping(srv):
    assert body_of(srv, "/a.mis?sleep=10") == "slept"


def test_leak_counts_what_it_leaked(srv):
    assert body_of(srv, "/a.mis?leak=1") == "leaked=1"
    assert body_of(srv, "/a.mis?leak=1") == "leaked=2", "the total since the DLL loaded"
    assert body_of(srv, "/a.mis?leak=0") == "leaked=2"


def test_unhealthy_reports_its_reason_and_answers(srv):
    assert body_of(srv, "/a.mis?unhealthy") == "reported unhealthy"
    lines = srv.wait_for_log(re.compile(r" IH2008 .*misbehave\.dll"), "IH2008 from the sample")
    line = [l for l in lines if " IH2008 " in l][-1]
    assert "misbehave: asked to report itself unhealthy" in line, line


def test_an_unknown_mode_gets_400_listing_the_modes(srv):
    r = srv.fetch("/a.mis?nonsense")
    expect_status(r, 400, "an unknown mode")
    listed = r.body.decode().split()
    for mode in CRASHING_MODES + ("pid", "version", "unhealthy"):
        assert mode in listed, r.body
    assert body_of(srv, "/a.mis?pid").startswith("pid="), "the process is still there"
