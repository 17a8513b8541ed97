"""The worker pools' operator page and commands under Wine
(docs/operations.md): <status_path>/pools lists the pools as the status page
does, `isapihost recycle --pool NAME --config FILE` reaches the running
foreground server through that page and replaces the pool's worker
(overlapped, reason "command", no failed request under a steady load), `isapihost status --config FILE` adds a line
per pool, and a pool that does not exist, one that runs in process, or a
server that is not running each get exit code 1 and a sentence that says
so. The same commands, without --config, reach an installed service
through the configuration in its command line (in a Wine prefix of the
test's own, as test_service.py)."""

import json
import re
import subprocess
import time

import pytest

from ihserver import (SteadyLoad, WinePrefix, expect_status, fetch, free_port, pool_of, scaled, win_path, wine_env,
                      worker_pids, write_files)

BODY = b"served by a worker process\n"


def isapihost(ih, *args):
    """`wine isapihost.exe args...` in the shared prefix: (exit code, stdout,
    stderr), through files, never pipes a Wine process could inherit."""
    out_dir = ih.workdir("pools-admin-cmd")
    with open(out_dir / "stdout.txt", "wb") as out, open(out_dir / "stderr.txt", "wb") as err:
        rc = subprocess.run(["wine", str(ih.exe), *[str(a) for a in args]], stdin=subprocess.DEVNULL, stdout=out,
                            stderr=err, env=wine_env(ih.prefix), timeout=120).returncode
    return rc, (out_dir / "stdout.txt").read_text(errors="replace"), (out_dir / "stderr.txt").read_text(
        errors="replace")


@pytest.fixture(scope="module")
def srv(ih):
    cfg = ih.worker_pool_config("pools-admin")
    cfg.section("pool ip")["mode"] = "inprocess"
    write_files(cfg.workdir / "www", {"f.txt": BODY})
    with ih.start(cfg) as s:
        s.wait_status(lambda st: worker_pids(st), timeout=scaled(30), what="a worker of pool w")
        yield s


def test_the_page_lists_the_pools_as_the_status_page(srv):
    r = srv.fetch(srv.config.status_path + "/pools")
    expect_status(r, 200, "GET <status_path>/pools")
    assert (r.header("Content-Type") or "").startswith("application/json")
    pools = json.loads(r.body.decode("utf-8"))
    assert [p["name"] for p in pools] == [p["name"] for p in srv.status()["pools"]] == ["w"]
    assert pools[0]["mode"] == "worker" and pools[0]["workers"]
    # the page stays in the service although the site's root is in pool w
    expect_status(srv.fetch("/f.txt"), 200, "a file through the worker")


def test_recycle_command_replaces_the_worker(ih, srv):
    st = srv.wait_status(lambda st: worker_pids(st) and pool_of(st)["state"] == "running", timeout=scaled(30),
                         what="a running worker")
    old = worker_pids(st)
    with SteadyLoad(srv, ["/f.txt"]) as load:
        load.wait_served(10)
        rc, out, err = isapihost(ih, "recycle", "--pool", "w", "--config", win_path(srv.config.path))
        assert rc == 0, f"recycle exited {rc}\nstdout: {out}\nstderr: {err}"
        assert '"started":true' in out and "pool w is being recycled" in out, out
        st = srv.wait_status(lambda st: pool_of(st)["recycles"].get("command") == 1 and worker_pids(st) and
                             not set(old) & set(worker_pids(st)),
                             timeout=scaled(40), what="recycles {command: 1} and a new worker")
        load.wait_served(20)
    load.check("requests around the recycle by command")
    assert pool_of(st)["state"] == "running"
    # one worker replaced by one (processes = 1), not a web garden of two
    assert len(worker_pids(st)) == 1, pool_of(st)["workers"]
    srv.wait_for_log(re.compile(r"IH4004 pool w: recycling worker \d+ \(command\)"), "IH4004 (command)")
    expect_status(srv.fetch("/f.txt"), 200, "served by the new worker")

    rc, out, err = isapihost(ih, "status", "--config", win_path(srv.config.path))
    new = worker_pids(srv.status())
    assert "pools:" in out, f"status printed no pools (exit {rc})\nstdout: {out}\nstderr: {err}"
    line = next((l for l in out.splitlines() if l.startswith("  w: ")), "")
    assert line.startswith("  w: running, workers "), out
    assert any(f" {pid} (" in line for pid in new), (line, new)
    assert "recycles command 1" in line and "crashes 0" in line, line


def test_recycle_of_an_unknown_pool_fails_with_a_sentence(ih, srv):
    rc, out, err = isapihost(ih, "recycle", "--pool", "nosuch", "--config", win_path(srv.config.path))
    assert rc == 1, f"recycle exited {rc}\nstdout: {out}\nstderr: {err}"
    assert "no pool named nosuch" in err, err


def test_recycle_of_an_inprocess_pool_is_refused(ih, srv):
    rc, out, err = isapihost(ih, "recycle", "--pool", "ip", "--config", win_path(srv.config.path))
    assert rc == 1, f"recycle exited {rc}\nstdout: {out}\nstderr: {err}"
    assert "pool ip: not a worker pool" in err and "HTTP 409" in err, err


def test_recycle_with_no_server_running(ih):
    cfg = ih.new_config("pools-admin-none")
    cfg.section("pool w")["mode"] = "worker"
    cfg.write()
    rc, out, err = isapihost(ih, "recycle", "--pool", "w", "--config", win_path(cfg.path))
    assert rc == 1, f"recycle exited {rc}\nstdout: {out}\nstderr: {err}"
    assert f"no server answers on 127.0.0.1 port {cfg.port}" in err, err


def test_recycle_and_status_reach_an_installed_service(ih, tmp_path_factory):
    name = "IhPoolsAdminSvc"
    tmp = tmp_path_factory.mktemp("pools-admin-service")
    port = free_port()
    write_files(tmp / "www", {"f.txt": BODY})
    config = tmp / "isapihost.ini"
    config.write_text("[server]\nlog_dir = logs\ndrain_timeout = 10\n[pool w]\nmode = worker\n"
                      f"[site main]\nbindings = *:{port}\nroot = www\npool = w\n")
    prefix = WinePrefix(ih.build_dir / "tests" / "integration" / "work" / "pools-admin-prefix", ih.repo)
    prefix.up()
    try:
        p = prefix.wine(ih.exe, "install", "--name", name, "--config", win_path(config), "--start", "demand")
        assert p.returncode == 0, (p.stdout, p.stderr)
        p = prefix.wine(ih.exe, "start", "--name", name)
        assert p.returncode == 0, (p.stdout, p.stderr)

        def pools():
            r = fetch(port, "/_isapihost/status/pools")
            expect_status(r, 200, "the service's pools page")
            return json.loads(r.body.decode("utf-8"))

        def wait_pools(predicate, what):
            deadline = time.monotonic() + scaled(30)
            while True:
                last = pools()
                if predicate(last):
                    return last
                assert time.monotonic() < deadline, f"never {what}: {last}"
                time.sleep(0.2)

        first = wait_pools(lambda ps: ps and ps[0]["state"] == "running" and ps[0]["workers"], "a worker")
        old = [w["pid"] for w in first[0]["workers"]]
        # no --config: the one in the service's command line, found through the SCM
        p = prefix.wine(ih.exe, "recycle", "--pool", "w", "--name", name)
        assert p.returncode == 0 and '"started":true' in p.stdout, (p.returncode, p.stdout, p.stderr)
        after = wait_pools(lambda ps: ps[0]["recycles"].get("command") == 1 and ps[0]["workers"] and
                           not {w["pid"] for w in ps[0]["workers"]} & set(old), "a new worker after the recycle")
        p = prefix.wine(ih.exe, "status", "--name", name)
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert f"{name}: RUNNING" in p.stdout and "\npools:\n  w: running, workers " in p.stdout, p.stdout
        assert "recycles command 1" in p.stdout, p.stdout
        assert any(f" {w['pid']} (" in p.stdout for w in after[0]["workers"]), (p.stdout, after)
        p = prefix.wine(ih.exe, "recycle", "--pool", "nosuch", "--name", name)
        assert p.returncode == 1 and "no pool named nosuch" in p.stderr, (p.returncode, p.stdout, p.stderr)
    finally:
        prefix.wine(ih.exe, "stop", "--name", name, timeout=90)
        prefix.wine(ih.exe, "uninstall", "--name", name, timeout=90)
        prefix.down()
