"""Shadow copies in worker pools under Wine (docs/pools.md#shadow-copies).
A worker of a pool with shadow_copy = on loads each DLL from a private copy
in %TEMP%\\isapihost-shadow\\<pool>-<pid>\\<n>\\<file name>: the DLL in the
site can be overwritten while clients keep sending requests (none fails;
the worker is recycled onto the new build, "dll_changed" on the status
page, IH4008 in the log) or deleted (the worker keeps serving its copy, no
recycle, until a file is put there again). A worker that exits cleanly
removes its directory; one left by a process that no longer runs is
removed when a worker starts. With shadow_copy = off no copy is made.

The DLL is the misbehave sample (docs/testing.md): misbehave.dll answers
?version with "version=1", its second build misbehave_v2.dll with
"version=2"; each test serves a copy of it from its own work directory."""

import re
import shutil
import time
from pathlib import Path

import pytest

from ihserver import SteadyLoad, expect_status, pool_of, scaled, win_path, worker_pids

DEAD_PID = 4294967292  # a Windows pid no process has (pids are multiples of 4 below 2^32)


def temp_dirs(prefix):
    """The prefix's %TEMP% directories as Linux paths (Wine 8: the user's
    AppData\\Local\\Temp; older prefixes: the user's Temp)."""
    users = Path(prefix) / "drive_c" / "users"
    return [d for pattern in ("*/AppData/Local/Temp", "*/Temp") for d in users.glob(pattern)
            if d.is_dir() and d.relative_to(users).parts[0] != "Public"]


def shadow_dir(srv, pid, pool="w"):
    """The shadow directory of worker pid, or None when there is none."""
    for t in temp_dirs(srv.prefix):
        d = t / "isapihost-shadow" / f"{pool}-{pid}"
        if d.is_dir():
            return d
    return None


@pytest.fixture(scope="module")
def builds(ih):
    v1 = ih.build_dir / "isapi" / "misbehave.dll"
    v2 = ih.build_dir / "tests" / "dlls" / "misbehave_v2.dll"
    for dll in (v1, v2):
        if not dll.is_file():
            pytest.fail(f"misbehave sample not built: {dll} missing", pytrace=False)
    return v1, v2


def start(ih, name, v1, **pool_keys):
    cfg = ih.worker_pool_config(name, **pool_keys)
    app = cfg.workdir / "app"
    app.mkdir()
    dll = app / "app.dll"
    shutil.copyfile(v1, dll)
    cfg.section("scriptmap main .mis").update(dll=win_path(dll), check_file="off")
    return ih.start(cfg), dll


def version(srv):
    r = srv.fetch("/a.mis?version")
    expect_status(r, 200, "?version")
    return r.body.decode()


def first_worker(srv):
    st = srv.wait_status(lambda st: worker_pids(st), timeout=scaled(20), what="a worker")
    return worker_pids(st)[0]


def wait_version(srv, want, what):
    deadline = time.monotonic() + scaled(20)
    while True:
        got = version(srv)
        if got == want:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still {got!r}, not {want!r}, after {scaled(20):.0f} s")
        time.sleep(0.1)


def test_overwritten_dll_recycles_onto_the_new_build_without_a_failed_request(ih, builds):
    v1, v2 = builds
    srv, dll = start(ih, "shadow-replace", v1)
    with srv:
        assert version(srv) == "version=1"
        old = first_worker(srv)
        d = shadow_dir(srv, old)
        assert d is not None, f"no shadow directory w-{old} under {temp_dirs(srv.prefix)}"
        copies = list(d.glob("*/app.dll"))
        assert len(copies) == 1, f"one copy, under its own name, in {d}: {list(d.rglob('*'))}"
        assert copies[0].read_bytes() == v1.read_bytes()

        with SteadyLoad(srv, ["/a.mis?version"]) as load:
            load.wait_served(10)
            shutil.copyfile(v2, dll)  # in place, as a deployment would: the original is not locked
            wait_version(srv, "version=2", "the new build after the overwrite")
            load.wait_served(20)
        load.check("requests around the recycle onto the new build")
        bodies = [body for _, _, body in load.answers]
        assert set(bodies) <= {b"version=1", b"version=2"}, bodies[:10]
        assert bodies[-1] == b"version=2"

        # overlapped: the old worker is listed until it has finished what the load gave it
        st = srv.wait_status(lambda st: pool_of(st)["recycles"].get("dll_changed", 0) >= 1
                             and old not in worker_pids(st), timeout=scaled(30),
                             what="a dll_changed recycle, the old worker gone")
        srv.wait_for_log(re.compile(r"IH4008 pool w: .*app\.dll changed on disk; worker %d is recycled" % old),
                         "IH4008 naming the DLL and the old worker")
        srv.wait_for_log(f"pool w: worker {old} exited", "the old worker exited cleanly, not crashed",
                         timeout=scaled(30))
        assert not d.exists(), f"the old worker's shadow directory {d} outlived its clean exit"

        new = worker_pids(st)[0]
        nd = shadow_dir(srv, new)
        assert nd is not None and [p.read_bytes() == v2.read_bytes() for p in nd.glob("*/app.dll")] == [True]
        # the new worker's copy is of the new build: no second recycle
        for _ in range(10):
            assert version(srv) == "version=2"
        time.sleep(scaled(2.5))
        st = srv.status()
        assert pool_of(st)["recycles"].get("dll_changed") == 1, pool_of(st)["recycles"]
        assert worker_pids(st) == [new]


def test_deleted_dll_keeps_serving_its_copy_until_a_new_one_appears(ih, builds):
    v1, v2 = builds
    srv, dll = start(ih, "shadow-delete", v1)
    with srv:
        assert version(srv) == "version=1"
        pid = first_worker(srv)
        dll.unlink()
        # several of the worker's once-a-second checks: a deleted original is no change
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            assert version(srv) == "version=1", "the worker serves its copy"
            time.sleep(0.2)
        st = srv.status()
        assert "dll_changed" not in pool_of(st)["recycles"], pool_of(st)["recycles"]
        assert worker_pids(st) == [pid]
        assert " IH4008 " not in srv.server_log.read_text(errors="replace")

        shutil.copyfile(v2, dll)  # a new build put where the old one was
        wait_version(srv, "version=2", "the new build put in place of the deleted one")
        srv.wait_status(lambda st: pool_of(st)["recycles"].get("dll_changed") == 1, timeout=scaled(10),
                        what="one dll_changed recycle")


def test_stale_directories_are_removed_and_shadow_copy_off_makes_none(ih, builds):
    v1, _ = builds
    temps = temp_dirs(ih.prefix)
    assert temps, f"no %TEMP% directory in the prefix {ih.prefix}"
    stale, foreign = [], []
    for t in temps:
        s = t / "isapihost-shadow" / f"w-{DEAD_PID}"
        (s / "1").mkdir(parents=True, exist_ok=True)
        (s / "1" / "app.dll").write_bytes(b"left by a crashed worker")
        stale.append(s)
        f = t / "isapihost-shadow" / "not-a-worker"
        f.mkdir(parents=True, exist_ok=True)
        foreign.append(f)

    # shadow_copy = off: DLLs load in place, no directory is made
    srv, dll = start(ih, "shadow-off", v1, shadow_copy="off")
    with srv:
        assert version(srv) == "version=1"
        pid = first_worker(srv)
        assert shadow_dir(srv, pid) is None, "shadow_copy = off made a shadow directory"
    try:
        srv, dll = start(ih, "shadow-sweep", v1)
        with srv:
            assert version(srv) == "version=1"
            pid = first_worker(srv)
            assert shadow_dir(srv, pid) is not None
            left = [s for s in stale if s.exists()]
            assert left == [], f"a starting worker left the directories of a process that no longer runs: {left}"
            assert all(f.is_dir() for f in foreign), "a directory not named <pool>-<pid> was removed"
    finally:
        for p in stale + foreign:
            shutil.rmtree(p, ignore_errors=True)
