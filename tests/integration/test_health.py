"""The health URL a load balancer checks, and the drain before a stop
(docs/deployment.md#health-and-drain): health_path answers 200 "serving";
from the moment a graceful stop begins it answers 503 "leaving" while, for
drain_delay seconds, new connections are still accepted and every request
is served; then the listeners close and the server stops. A worker pool
that rapid-fail protection backs off makes it 503 "pool failing NAME",
unless health_checks_pools = off."""

import re
import time

from ihserver import ProtocolError, expect_status, fetch, pool_of, scaled, win_path, worker_pids, write_files

HEALTH = "/_isapihost/health"


def test_a_graceful_stop_turns_health_503_and_serves_on_for_drain_delay(ih):
    cfg = ih.new_config("health-drain")
    cfg.server.update(health_path=HEALTH, drain_delay=4)
    write_files(cfg.workdir / "www", {"f.txt": b"still served\n"})
    with ih.start(cfg) as s:
        r = s.fetch(HEALTH, version="HTTP/1.0", host=None)
        expect_status(r, 200, "health while serving (HTTP/1.0, no Host, as a balancer's check)")
        assert r.body == b"serving\n" and r.header("Cache-Control") == "no-store", r.describe()
        expect_status(s.fetch(HEALTH, method="POST", body=b"x"), 405, "POST to the health URL")

        stop_at = time.monotonic()
        s.signal_stop()
        s.wait_for_log("stopping: the health URL answers 503; still serving for drain_delay (4 s)",
                       "the drain_delay line", timeout=scaled(10))
        leaving, served = 0, 0
        while time.monotonic() - stop_at < 2.5:  # well inside the 4 s: nothing may be refused yet
            r = s.fetch(HEALTH)
            expect_status(r, 503, "health once the stop has begun")
            assert r.body == b"leaving\n", r.describe()
            leaving += 1
            r = s.fetch("/f.txt")  # a new connection: still accepted
            expect_status(r, 200, "a request during drain_delay")
            served += 1
            time.sleep(0.1)
        assert leaving and served
        assert s.wait_exit(scaled(60)) == 0
        assert time.monotonic() - stop_at >= 4, "the listeners closed before drain_delay had passed"
    # after the delay the listeners closed: the port refuses
    try:
        fetch(cfg.port, "/f.txt", timeout=2)
        raise AssertionError("a connection was accepted after the server stopped")
    except (OSError, ProtocolError):
        pass


def _failing_pool_server(ih, name, **server_keys):
    misbehave = ih.build_dir / "isapi" / "misbehave.dll"
    cfg = ih.worker_pool_config(name, rapid_fail_max_crashes=1, rapid_fail_interval=120)
    cfg.server.update(health_path=HEALTH, **server_keys)
    cfg.section("scriptmap main .m").update(dll=win_path(misbehave), check_file="off")
    write_files(cfg.workdir / "www", {"f.txt": b"x\n"})
    return ih.start(cfg)


def _make_pool_fail(s):
    s.wait_status(lambda st: worker_pids(st), timeout=scaled(30), what="a worker")
    expect_status(s.fetch("/x.m?av"), 502, "a request whose worker crashed")
    s.wait_status(lambda st: pool_of(st)["state"] == "failing", timeout=scaled(20), what="pool w failing")


def test_a_failing_pool_makes_health_503(ih):
    with _failing_pool_server(ih, "health-pool") as s:
        expect_status(s.fetch(HEALTH), 200, "health with the pool running")
        _make_pool_fail(s)
        r = s.fetch(HEALTH)
        expect_status(r, 503, "health while pool w backs off")
        assert r.body == b"pool failing w\n", r.describe()
        s.wait_for_log(re.compile(r"IH4003 pool w is failing"), "IH4003")


def test_health_checks_pools_off_ignores_a_failing_pool(ih):
    with _failing_pool_server(ih, "health-pool-off", health_checks_pools="off") as s:
        _make_pool_fail(s)
        r = s.fetch(HEALTH)
        expect_status(r, 200, "health_checks_pools = off")
        assert r.body == b"serving\n", r.describe()
