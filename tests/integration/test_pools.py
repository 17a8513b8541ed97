"""Worker pools under Wine (docs/pools.md): a site whose pool has mode
worker is served by isapihost-worker.exe processes, the service relaying
each request over shared memory. Static files and an extension answer
through the worker, keep-alive holds across requests, the status page
lists the pool and its workers, a killed worker costs only its requests
and is replaced, a pool that keeps crashing backs off with 503 and
Retry-After, and recycling by request count replaces the worker without a
failed request. x64 workers only: 32-bit code cannot run on this kind of
machine (docs/testing.md)."""

import re
import subprocess
import threading
import time

import pytest

from ihserver import (HttpConn, SteadyLoad, expect_status, pool_of, scaled, win_path, wine_env, worker_pids,
                      write_files)

BODY = b"served by a worker process\n"
# What the steady load of the recycling tests asks for: a file and an
# extension, both through the worker (ihserver.SteadyLoad).
LOAD = ["/f.txt", "/x.isa?load"]


def make_config(ih, name, server_keys=None, filters=(), **pool_keys):
    dlls = ih.build_dir / "tests" / "dlls"
    misbehave = ih.build_dir / "isapi" / "misbehave.dll"
    if not misbehave.is_file():
        pytest.fail(f"sample DLL not built: {misbehave}", pytrace=False)
    cfg = ih.worker_pool_config(name, **pool_keys)
    cfg.server.update(server_keys or {})
    cfg.section("scriptmap main .isa").update(dll=win_path(dlls / "ext_echo.dll"), check_file="off")
    cfg.section("scriptmap main .m").update(dll=win_path(misbehave), check_file="off")
    # a directory of the same site served in process: other pools are unaffected
    cfg.vdir("main", "/local", path="www", permissions="read", pool="default")
    for i, dll in enumerate(filters):
        cfg.section(f"filter f{i}").update(dll=win_path(dlls / dll))
    write_files(cfg.workdir / "www", {"f.txt": BODY})
    return cfg


def start(ih, name, server_keys=None, filters=(), **pool_keys):
    return ih.start(make_config(ih, name, server_keys, filters, **pool_keys))


def kill_worker(srv, pid):
    """TerminateProcess from outside, as an operator's kill or a crash would end it."""
    subprocess.run(["wine", "taskkill", "/F", "/PID", str(pid)], env=wine_env(srv.prefix),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


@pytest.fixture(scope="module")
def srv(ih):
    with start(ih, "pools", rapid_fail_max_crashes=0, ping_interval=1, recycle_private_memory="96M") as s:
        yield s


def test_static_and_extension_through_a_worker_keep_alive(srv):
    srv.wait_status(lambda st: pool_of(st) and pool_of(st)["workers"], timeout=scaled(20), what="a worker")
    with HttpConn(srv.port, timeout=scaled(30)) as c:
        for i in range(5):
            r = c.request("GET", "/f.txt")
            expect_status(r, 200, f"static file through the worker, request {i + 1}")
            assert r.body == BODY
            assert "close" not in r.tokens("Connection")
            r = c.request("GET", "/x.isa?q=1")
            expect_status(r, 200, f"extension in the worker, request {i + 1}")
            assert b"query=q=1" in r.body
    st = srv.status()
    p = pool_of(st)
    assert p["mode"] == "worker" and p["state"] == "running" and p["bitness"] == 64
    assert sum(w["requests"] for w in p["workers"]) >= 10
    srv.wait_for_log(re.compile(r"IH4001 pool w: worker \d+ ready"), "IH4001 worker ready")
    srv.wait_for_log(re.compile(r"\[pool w, worker \d+\] extension .*ext_echo\.dll loaded"),
                     "the worker's own events in the service's log")


def test_files_go_out_from_the_service_by_handle(srv):
    big = bytes((i * 31) % 251 for i in range(300_000))
    write_files(srv.config.workdir / "www", {"big.bin": big})
    st = srv.wait_status(lambda st: worker_pids(st), timeout=scaled(20), what="a worker")
    before = sum(w["files_by_handle"] for w in pool_of(st)["workers"])
    with HttpConn(srv.port, timeout=scaled(30)) as c:
        for _ in range(2):
            r = c.request("GET", "/big.bin")
            expect_status(r, 200, "a 300 KB file through a worker pool")
            assert r.body == big
    after = sum(w["files_by_handle"] for w in pool_of(srv.status())["workers"])
    assert after > before, "the file's bytes were sent from the service's duplicate of the worker's handle"


def test_killed_worker_is_replaced(srv):
    st = srv.wait_status(lambda st: worker_pids(st), timeout=scaled(20), what="a worker")
    old = worker_pids(st)[0]
    kill_worker(srv, old)
    st = srv.wait_status(lambda st: worker_pids(st) and old not in worker_pids(st), timeout=scaled(20),
                         what="a new worker after the kill")
    r = srv.fetch("/f.txt")
    expect_status(r, 200, "the next request, served by a new worker")
    assert r.body == BODY
    srv.wait_for_log(f"IH4002 pool w: worker {old} crashed", "IH4002 for the killed worker")
    srv.wait_status(lambda st: st["connections_live"] == 0, timeout=scaled(10), what="no connection left")


def test_rapid_fail_backs_off_with_retry_after(ih):
    with start(ih, "pools-rapid", rapid_fail_max_crashes=2, rapid_fail_interval=120) as s:
        for n in range(2):
            st = s.wait_status(lambda st: worker_pids(st), timeout=scaled(20), what=f"worker {n + 1}")
            kill_worker(s, worker_pids(st)[0])
            time.sleep(scaled(0.5))
        st = s.wait_status(lambda st: pool_of(st)["state"] == "failing", timeout=scaled(20), what="failing")
        r = s.fetch("/f.txt")
        expect_status(r, 503, "a failing pool")
        assert int(r.header("Retry-After")) >= 1
        s.wait_for_log("IH4003 pool w is failing", "IH4003")
        # the back-off (10 s at first) ends by itself: the pool tries again
        s.wait_status(lambda st: pool_of(st)["state"] == "running" and worker_pids(st), timeout=scaled(40),
                      what="the pool running again after its back-off")
        expect_status(s.fetch("/f.txt"), 200, "served again after the back-off")


def test_recycle_by_requests_fails_no_request(ih):
    with start(ih, "pools-recycle", recycle_requests=10) as s:
        s.wait_status(lambda st: worker_pids(st), timeout=scaled(20), what="a worker")
        first = worker_pids(s.status())[0]
        failed = []
        for i in range(60):
            r = s.fetch("/x.isa" if i % 2 else "/f.txt")
            if r.status != 200:
                failed.append((i, r.status))
            time.sleep(0.05)
        assert failed == [], f"requests failed around recycles: {failed}"
        st = s.wait_status(lambda st: pool_of(st)["recycles"].get("requests", 0) >= 2, timeout=scaled(20),
                           what="recycles by request count")
        assert first not in worker_pids(st)
        s.wait_for_log(re.compile(r"IH4004 pool w: recycling worker \d+ \(requests\)"), "IH4004 recycle")
        s.wait_for_log(f"pool w: worker {first} exited", "the old worker exited cleanly, not crashed")


@pytest.mark.parametrize("mode", ["av", "exit", "abort"])
def test_a_crash_costs_only_its_requests(srv, mode):
    st = srv.wait_status(lambda st: worker_pids(st), timeout=scaled(20), what="a worker")
    old = worker_pids(st)[0]
    with HttpConn(srv.port, timeout=scaled(30)) as other:
        expect_status(other.request("GET", "/local/f.txt"), 200, "in process, before")
        r = srv.fetch(f"/x.m?{mode}")
        expect_status(r, 502, f"a request whose worker died ({mode}) before answering")
        expect_status(other.request("GET", "/local/f.txt"), 200, "in process, after: other pools are unaffected")
    lines = srv.wait_for_log(re.compile(rf"IH4002 pool w: worker {old} crashed .*GET /x\.m\?{mode}"),
                             f"IH4002 naming the request that was in flight ({mode})")
    if mode == "av":
        line = next(x for x in lines if f"worker {old} crashed" in x)
        assert "misbehave.dll" in line and "0xc0000005" in line, line
    r = srv.fetch("/f.txt")
    expect_status(r, 200, "the next request, in a new worker")
    assert old not in worker_pids(srv.status())


def test_unhealthy_report_recycles_under_load(srv):
    st = srv.wait_status(lambda st: pool_of(st)["workers"] and pool_of(st)["workers"][0]["state"] == "ready",
                         timeout=scaled(20), what="a ready worker")
    old = worker_pids(st)[0]
    with SteadyLoad(srv, LOAD) as load:
        load.wait_served(10)
        expect_status(srv.fetch("/x.m?unhealthy"), 200, "HSE_REQ_REPORT_UNHEALTHY")
        st = srv.wait_status(lambda st: pool_of(st)["recycles"].get("unhealthy", 0) >= 1
                             and old not in worker_pids(st), timeout=scaled(20), what="a recycle for unhealthy")
        load.wait_served(20)
    load.check("requests around the recycle for unhealthy")
    srv.wait_for_log(re.compile(rf"IH4004 pool w: worker {old} reports itself unhealthy"), "IH4004 unhealthy")


def test_private_memory_recycles_under_load(srv):
    st = srv.wait_status(lambda st: pool_of(st)["workers"] and pool_of(st)["workers"][0]["state"] == "ready",
                         timeout=scaled(20), what="a ready worker")
    old = worker_pids(st)[0]
    with SteadyLoad(srv, LOAD) as load:
        load.wait_served(10)
        r = srv.fetch("/x.m?leak=120")
        expect_status(r, 200, "a DLL that leaks 120 MB")
        st = srv.wait_status(lambda st: pool_of(st)["recycles"].get("private_memory", 0) >= 1
                             and old not in worker_pids(st), timeout=scaled(30), what="a recycle for private memory")
        load.wait_served(20)
    load.check("requests around the recycle for private memory")
    srv.wait_for_log(re.compile(rf"IH4004 pool w: recycling worker {old} \(private_memory\)"),
                     "IH4004 (private_memory)")


@pytest.mark.parametrize("mode", ["hang", "deadlock"])
def test_hung_worker_misses_its_pings_and_is_replaced(ih, mode):
    """Every extension thread stuck (one thread allowed; a DLL that sleeps
    for ever, or one that deadlocks on the loader lock): the worker answers
    no ping and is replaced."""
    with start(ih, f"pools-{mode}", {"isapi_threads": 1, "isapi_max_threads": 1}, rapid_fail_max_crashes=0,
               ping_interval=1, ping_timeout=3) as s:
        st = s.wait_status(lambda st: worker_pids(st), timeout=scaled(20), what="a worker")
        old = worker_pids(st)[0]
        result = {}

        def hung():
            result["r"] = s.fetch(f"/x.m?{mode}", timeout=scaled(60))
        t = threading.Thread(target=hung)
        t.start()
        s.wait_for_log(f"IH4005 pool w: worker {old} did not answer a ping", "IH4005", timeout=30)
        t.join(scaled(60))
        expect_status(result["r"], 502, "the request in the worker that was killed")
        s.wait_status(lambda st: worker_pids(st) and old not in worker_pids(st), timeout=scaled(20),
                      what="a new worker")
        expect_status(s.fetch("/f.txt"), 200, "served by the new worker")


def test_read_raw_data_filter_stops_a_worker_pool(ih):
    with start(ih, "pools-raw", filters=("flt_script.dll",)) as s:
        s.wait_for_log(re.compile(r"IH4006 pool w cannot run in a worker process: filter f0 .*SF_NOTIFY_READ_RAW_DATA"),
                       "IH4006 for the READ_RAW_DATA filter")
        st = s.wait_status(lambda st: pool_of(st)["state"] == "stopped", timeout=scaled(20), what="pool stopped")
        assert st["pools"][0]["crashes"] == 0
        expect_status(s.fetch("/f.txt"), 503, "a stopped pool")
        expect_status(s.fetch("/local/f.txt"), 200, "the in-process pool serves on")


def test_recycles_by_requests_under_load_fail_no_request(ih):
    with start(ih, "pools-load", recycle_requests=40) as s:
        s.wait_status(lambda st: worker_pids(st), timeout=scaled(20), what="a worker")
        with SteadyLoad(s, LOAD, clients=4) as load:
            s.wait_status(lambda st: pool_of(st)["recycles"].get("requests", 0) >= 3, timeout=scaled(60),
                          what="several recycles by request count")
            load.wait_served(20)
        load.check("requests around recycles by request count")
        assert pool_of(s.status())["crashes"] == 0


def test_reload_recycles_the_workers_onto_the_new_configuration(ih):
    from test_reload import reload_cmd
    cfg = make_config(ih, "pools-reload")
    name = f"IhPools{cfg.port}"
    write_files(cfg.workdir / "docs", {"d.txt": b"the new vdir, served by a worker"})
    s = ih.server(cfg)
    s.run_args = ["--name", name]
    with s.start() as srv:
        srv.wait_for_log(f"running as {name}", timeout=20)
        st = srv.wait_status(lambda st: worker_pids(st), timeout=scaled(20), what="a worker")
        old = worker_pids(st)[0]
        expect_status(srv.fetch("/docs/d.txt"), 404, "no /docs yet")
        srv.config.vdir("main", "/docs", path="docs", permissions="read")
        # and a site the reload adds to the pool, with its own access log
        srv.config.site("added", bindings=f"127.0.0.1:{cfg.port}:added.test", root="www", pool="w",
                        log_dir="added-logs")
        srv.config.write()
        with SteadyLoad(srv, LOAD) as load:
            load.wait_served(10)
            rc, out, err = reload_cmd(ih, name)
            assert rc == 0, (rc, out, err)
            srv.wait_for_log("configuration reloaded (generation 2)", timeout=20)
            st = srv.wait_status(lambda st: pool_of(st)["recycles"].get("config", 0) >= 1
                                 and old not in worker_pids(st),
                                 timeout=scaled(20), what="the worker recycled for the new configuration")
            load.wait_served(20)
        load.check("requests around the reload's recycle")
        r = srv.fetch("/docs/d.txt")
        expect_status(r, 200, "the new vdir, through the new worker")
        assert r.body == b"the new vdir, served by a worker"
        # the added site's requests are served by the worker and logged in its log, by the service
        expect_status(srv.fetch("/f.txt?added", host="added.test"), 200, "the site the reload added")
        logs = cfg.workdir / "added-logs"
        deadline = time.monotonic() + scaled(10)
        while not any(b"/f.txt added" in f.read_bytes() for f in logs.glob("u_ex*.log")):
            assert time.monotonic() < deadline, f"the added site's request is not in its access log {logs}"
            time.sleep(0.2)


def test_a_site_filter_loads_where_its_site_runs(ih):
    """A site's filters load in the processes that run its requests: a site
    whole in a worker pool, in its workers only; an in-process site, in the
    service only (main, with directories in both, loads its own in both)."""
    dlls = ih.build_dir / "tests" / "dlls"
    cfg = make_config(ih, "pools-filters")
    cfg.site("workers", bindings=f"127.0.0.1:{cfg.port}:workers.test", root="www", pool="w")
    cfg.site("service", bindings=f"127.0.0.1:{cfg.port}:service.test", root="www")
    cfg.section("filter in_worker").update(site="workers", dll=win_path(dlls / "flt_order_high.dll"))
    cfg.section("filter in_service").update(site="service", dll=win_path(dlls / "flt_order_low.dll"))
    with ih.start(cfg) as s:
        r = s.fetch("/f.txt", host="workers.test")
        expect_status(r, 200, "a site in the worker pool")
        assert "high" in r.header_list("X-Filter-Order"), r.describe()
        r = s.fetch("/f.txt", host="service.test")
        expect_status(r, 200, "a site in process")
        assert "low" in r.header_list("X-Filter-Order"), r.describe()
        lines = s.wait_for_log(re.compile(r"\[pool w, worker \d+\] filter in_worker loaded"),
                               "the worker site's filter loaded in the worker")
        text = "\n".join(lines)
        assert not re.search(r"\[pool w, worker \d+\] filter in_service loaded", text), text[-2000:]
        assert re.search(r"IH3001 filter in_service loaded", text), "the in-process site's filter in the service"
        assert not re.search(r"IH3001 filter in_worker loaded", text), "the worker site's filter not in the service"


def test_recycle_time_under_load(ih):
    """recycle_time (minutes): the worker is replaced once it is that old,
    overlapped, with no failed request under a steady load."""
    with start(ih, "pools-time", recycle_time=1) as s:
        st = s.wait_status(lambda st: worker_pids(st), timeout=scaled(20), what="a worker")
        first = worker_pids(st)[0]
        with SteadyLoad(s, LOAD) as load:
            s.wait_status(lambda st: pool_of(st)["recycles"].get("time", 0) >= 1 and first not in worker_pids(st),
                          timeout=scaled(100), what="a recycle by time")
            load.wait_served(20)
        load.check("requests around the recycle by time")
        s.wait_for_log(re.compile(rf"IH4004 pool w: recycling worker {first} \(time\)"), "IH4004 (time)")


def test_identity_under_wine(ih):
    """Every kind of identity is what Windows would run the workers as (a
    built-in service account, the pool's virtual account IIS AppPool\\w, a
    user logged on with the password stored for the pool); Wine has no
    accounts, so none is applied there and the service says so once per
    pool, and the pool serves as the Wine user. A malformed identity is a
    configuration error at its line. `isapihost pool-password` says what
    Wine does with an LSA secret: LsaStorePrivateData answers
    STATUS_OBJECT_NAME_NOT_FOUND (Wine 8 keeps no secrets), so storing
    fails with exit code 1 and that NTSTATUS, and --clear finds nothing to
    remove."""
    def run_isapihost(name, *args, stdin_text=None):
        """`wine isapihost.exe args...`: (exit code, stdout, stderr), through
        files, never pipes a Wine process could inherit (wine-notes)."""
        work = ih.workdir(name)
        (work / "stdin.txt").write_text(stdin_text or "", encoding="utf-8", newline="")
        with open(work / "stdin.txt", "rb") as inp, open(work / "stdout.txt", "wb") as out, \
                open(work / "stderr.txt", "wb") as err:
            rc = subprocess.run(["wine", str(ih.exe), *[str(a) for a in args]], stdin=inp, stdout=out, stderr=err,
                                env=wine_env(ih.prefix), timeout=scaled(120)).returncode
        return rc, (work / "stdout.txt").read_text(errors="replace"), (work / "stderr.txt").read_text(errors="replace")

    for name, identity in (("pools-id-ns", "NetworkService"), ("pools-id-virtual", "ApplicationPoolIdentity"),
                           ("pools-id-user", ".\\appuser")):
        with start(ih, name, identity=identity) as s:
            expect_status(s.fetch("/f.txt"), 200, f"a pool with identity {identity} under Wine")
            lines = s.wait_for_log(f"pool w: identity {identity} is not applied under Wine",
                                   f"the identity's line ({identity})")
            text = "\n".join(lines)
            assert text.count("is not applied under Wine") == 1, text[-2000:]
            assert "IH4006" not in text, text[-2000:]
            st = s.status()
            assert pool_of(st)["state"] == "running" and pool_of(st)["workers"], st

    # DOM\ names no user: the server refuses the file, naming it and the line
    cfg = make_config(ih, "pools-id-invalid", identity="DOM\\")
    path = cfg.write()
    line = cfg.render().split("\r\n").index("identity = DOM\\") + 1
    rc, out, err = run_isapihost("pools-id-invalid-run", "run", "--config", win_path(path))
    assert rc == 2, (rc, out, err)
    want = f"isapihost.ini:{line}: identity 'DOM\\' in [pool w]: the user after '\\' is missing"
    assert "IH1101 configuration rejected: " in err and want in err, err

    # pool-password under Wine: no secret is kept, and the command says so
    cfg = make_config(ih, "pools-id-password", identity=".\\appuser")
    cfg.section("pool v").update(mode="worker", identity="ApplicationPoolIdentity")
    path = win_path(cfg.write())
    rc, out, err = run_isapihost("pools-id-pw-set", "pool-password", "--pool", "w", "--config", path,
                                 stdin_text="s3cret\n")
    assert rc == 1, (rc, out, err)
    assert ("isapihost pool-password: cannot store the password of pool w: LsaStorePrivateData failed: NTSTATUS "
            "0xC0000034 (Win32 error 2); Wine keeps no LSA secrets") in err, err
    assert "stored" not in out, out
    rc, out, err = run_isapihost("pools-id-pw-clear", "pool-password", "--pool", "w", "--clear")
    assert rc == 0, (rc, out, err)
    assert "no password is stored for pool w; nothing to remove" in out, out
    rc, out, err = run_isapihost("pools-id-pw-virtual", "pool-password", "--pool", "v", "--config", path,
                                 stdin_text="s3cret\n")
    assert rc == 1 and "pool v has identity 'ApplicationPoolIdentity', which takes no password" in err, (rc, err)
    rc, out, err = run_isapihost("pools-id-pw-nosuch", "pool-password", "--pool", "nosuch", "--config", path,
                                 stdin_text="s3cret\n")
    assert rc == 1 and "no pool named nosuch in" in err, (rc, err)
    rc, out, err = run_isapihost("pools-id-pw-empty", "pool-password", "--pool", "w", "--config", path)
    assert rc == 1 and "no password on standard input" in err, (rc, err)


def test_recycle_schedule_under_load(ih):
    """recycle_schedule (local times of day): the worker is replaced when the
    time comes, overlapped, with no failed request under a steady load. The
    time is the next whole minute but one at the latest, so the test waits
    at most about 75 s."""
    now = time.localtime()
    at = time.localtime(time.time() + (60 if now.tm_sec < 45 else 120))
    when = f"{at.tm_hour:02d}:{at.tm_min:02d}"
    with start(ih, "pools-schedule", recycle_schedule=when) as s:
        st = s.wait_status(lambda st: worker_pids(st), timeout=scaled(20), what="a worker")
        first = worker_pids(st)[0]
        with SteadyLoad(s, LOAD) as load:
            s.wait_status(lambda st: pool_of(st)["recycles"].get("schedule", 0) >= 1 and first not in worker_pids(st),
                          timeout=scaled(150), what=f"the recycle scheduled at {when}")
            load.wait_served(20)
        load.check("requests around the scheduled recycle")
        s.wait_for_log(re.compile(rf"IH4004 pool w: recycling worker {first} \(schedule\)"), "IH4004 (schedule)")
