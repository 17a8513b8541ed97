"""Replacing an extension DLL without stopping the server
(docs/operations.md): the operator interface at <status_path>/extensions
lists the DLLs and unloads, reloads, stops and starts one. An unload holds
new requests, lets the ones in flight finish (a plain call, a PENDING
session, an asynchronous write whose completion is still running), then
calls TerminateExtension(HSE_TERM_MUST_UNLOAD) once and frees the DLL; a
drain that cannot finish within isapi_unload_timeout gives up (IH2011) and
the DLL stays in service. A stopped DLL answers 503 with Retry-After. The
server's own stop still terminates the DLL (IH2003).

The test DLL (tests/dlls/ext_gen.c) is built twice, generation 1 and 2; the
tests swap the file on disk (a rename over it, as on Windows where a loaded
DLL can be renamed but not overwritten) and read which build answered. It
writes load/done/terminate lines to <dll>.log."""

import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse

import pytest

from ihserver import HttpConn, expect_status, non_loopback_address, read_log_text, scaled, win_path

UNLOAD_TIMEOUT = 4       # isapi_unload_timeout of the server under test
IN_FLIGHT_MS = 3000      # a request that finishes within the drain (long enough to see it, on a busy machine)
TOO_LONG_MS = 8000       # one that does not


@pytest.fixture(scope="module")
def srv(ih):
    dlls = ih.build_dir / "tests" / "dlls"
    for name in ("ext_gen.dll", "ext_gen2.dll"):
        if not (dlls / name).is_file():
            pytest.fail(f"test DLL not built: {dlls / name}", pytrace=False)
    cfg = ih.new_config("isapi_admin")
    cfg.server["isapi_unload_timeout"] = UNLOAD_TIMEOUT
    cfg.server["isapi_threads"] = 4
    cfg.server["isapi_max_threads"] = 16
    site = cfg.sections["site main"]
    # Every address, so the loopback-only rule can be tried from another one.
    site["bindings"] = f"*:{cfg.port}"
    site["permissions"] = "read, script"
    app = cfg.workdir / "app"
    app.mkdir()
    shutil.copyfile(dlls / "ext_gen.dll", app / "gen.dll")
    cfg.section("scriptmap main .gen").update(dll=win_path(app / "gen.dll"), check_file="off")
    with ih.start(cfg) as s:
        s.dll_dir = dlls
        s.app = app
        s.dll = win_path(app / "gen.dll")
        yield s


# ---------------------------------------------------------------- helpers

def admin_url(srv):
    return srv.config.status_path + "/extensions"


# A POST needs a Content-Length (411 otherwise, as on IIS); the parameters
# are in the query.
EMPTY_BODY = [("Content-Length", "0")]


def post(srv, action, dll):
    query = urllib.parse.urlencode({"action": action, "dll": dll})
    return srv.fetch(f"{admin_url(srv)}?{query}", method="POST", headers=EMPTY_BODY)


def curl_post(srv, action, dll):
    """The command docs/operations.md gives operators: curl -d '' (a POST
    with Content-Length: 0) and --url-query, which percent-encodes the path
    (curl 7.87 and later; older curl: the Python client instead)."""
    if b"--url-query" not in subprocess.run(["curl", "--help", "all"], capture_output=True, timeout=30).stdout:
        r = post(srv, action, dll)
        return r.status, r.body
    p = subprocess.run(["curl", "-sS", "-d", "", "--url-query", f"action={action}", "--url-query", f"dll={dll}",
                        "-w", "\n%{http_code}", f"http://127.0.0.1:{srv.port}{admin_url(srv)}"],
                       capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    body, _, code = p.stdout.rpartition(b"\n")
    return int(code), body


def listing(srv):
    r = srv.fetch(admin_url(srv))
    expect_status(r, 200, "extension listing")
    assert (r.header("Content-Type") or "").startswith("application/json"), r.describe()
    data = json.loads(r.body.decode("utf-8"))
    assert isinstance(data, list), data
    return data


def norm(path):
    return path.replace("/", "\\").lower()


def entry(srv):
    found = [e for e in listing(srv) if norm(e["path"]) == norm(srv.dll)]
    assert len(found) == 1, f"{srv.dll} listed {len(found)} times"
    return found[0]


def wait_entry(srv, predicate, what, timeout=15):
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    while True:
        e = entry(srv)
        if predicate(e):
            return e
        if time.monotonic() > deadline:
            raise AssertionError(f"the listing never showed {what} within {timeout} s; last: {e}")
        time.sleep(0.05)


def accepted(srv, action):
    r = post(srv, action, srv.dll)
    expect_status(r, 202, f"POST action={action}")
    body = json.loads(r.body)
    assert body["accepted"] is True and body["action"] == action and norm(body["dll"]) == norm(srv.dll), body
    return body


def install(srv, generation):
    """Replaces gen.dll on disk by the given build: written next to it, then
    renamed over it, so the loaded image (the old file) is never touched."""
    src = srv.dll_dir / ("ext_gen.dll" if generation == 1 else "ext_gen2.dll")
    tmp = srv.app / "gen.dll.new"
    shutil.copyfile(src, tmp)
    os.replace(tmp, srv.app / "gen.dll")


def answer(r):
    fields = dict(line.split("=", 1) for line in r.body.decode().splitlines() if "=" in line)
    return int(fields["generation"]), fields["instance"]


def call(srv, query=""):
    r = srv.fetch(f"/x.gen?{query}")
    expect_status(r, 200, f"/x.gen?{query}")
    return answer(r)


def dll_log(srv):
    p = srv.app / "gen.dll.log"
    return p.read_text().splitlines() if p.exists() else []


def terminations(srv):
    return [ln for ln in dll_log(srv) if ln.startswith("terminate ")]


def settled(srv, what):
    return srv.wait_status(lambda s: s["connections_live"] == 0 and s["requests_in_flight"] == 0
                           and s.get("isapi_sessions", 0) == 0, timeout=15, what=what)


def unload_done(srv, loads_before=None):
    return wait_entry(srv, lambda e: e["action"] is None and e["state"] in ("ready", "unloaded", "stopped")
                      and (loads_before is None or e["loads"] > loads_before), "the action's end")


# ---------------------------------------------------------------- tests

def test_listing_shows_configured_dll_before_and_after_its_first_load(srv):
    e = entry(srv)
    assert e["state"] == "unloaded" and e["loads"] == 0 and e["in_flight"] == 0, e
    assert call(srv)[0] == 1
    # The client may have the response before the session has ended (the
    # DLL returns from HttpExtensionProc after its WriteClient): wait.
    e = wait_entry(srv, lambda e: e["in_flight"] == 0, "the first call's session ended")
    assert e["state"] == "ready" and e["loads"] == 1 and e["in_flight"] == 0 and e["held"] == 0, e
    assert e["description"] == "IsapiHost test: generation 1" and e["action"] is None, e
    r = srv.fetch(admin_url(srv), method="HEAD")
    expect_status(r, 200, "HEAD of the listing")
    assert r.body == b"" and int(r.header("Content-Length")) > 0


def test_refusals(srv):
    r = post(srv, "reload", srv.dll.replace("gen.dll", "other.dll"))
    expect_status(r, 404, "a DLL the server does not know")
    assert "other.dll" in json.loads(r.body)["error"]
    r = post(srv, "explode", srv.dll)
    expect_status(r, 400, "an unknown action")
    assert "unload, reload, stop or start" in json.loads(r.body)["error"]
    r = srv.fetch(f"{admin_url(srv)}?action=reload", method="POST", headers=EMPTY_BODY)
    expect_status(r, 400, "no dll=")
    r = srv.fetch(f"{admin_url(srv)}?action=reload&dll=%zz", method="POST", headers=EMPTY_BODY)
    expect_status(r, 400, "a malformed percent escape")
    r = srv.fetch(admin_url(srv), method="PUT", body=b"x")
    expect_status(r, 405, "PUT")
    assert {"GET", "HEAD", "POST"} <= {t.strip() for t in r.header("Allow", "").split(",")}, r.describe()
    r = post(srv, "start", srv.dll)
    expect_status(r, 409, "start of a DLL that is not stopped")
    # The path matches as Windows paths do: either slash, any case (found: 409, not 404).
    r = post(srv, "start", srv.dll.upper().replace("\\", "/"))
    expect_status(r, 409, "start of the DLL named by another spelling of its path")
    log = "\n".join(srv.wait_for_log(re.compile(r"IH2011 .*refused"), "the refusals logged"))
    assert "other.dll" in log


def test_not_served_to_other_addresses(srv):
    addr = non_loopback_address()
    if addr is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from")
    with HttpConn(srv.port, host=addr) as c:
        r = c.request("GET", admin_url(srv))
        expect_status(r, 404, f"listing asked from {addr}")
        r = c.request("POST", f"{admin_url(srv)}?action=unload&dll={urllib.parse.quote(srv.dll)}",
                      headers=EMPTY_BODY)
        expect_status(r, 404, f"unload asked from {addr}")
    assert entry(srv)["state"] == "ready", "nothing was unloaded"


def test_reload_serves_the_replaced_file_and_terminates_once(srv):
    gen, instance = call(srv)
    before = terminations(srv)
    loads = entry(srv)["loads"]
    install(srv, 3 - gen)
    accepted(srv, "reload")
    e = unload_done(srv, loads)
    assert e["state"] == "ready" and e["description"] == f"IsapiHost test: generation {3 - gen}", e
    new_gen, new_instance = call(srv)
    assert new_gen == 3 - gen and new_instance != instance, "the next request ran the new file"
    added = terminations(srv)[len(before):]
    assert added == [f"terminate generation={gen} flags=2"], \
        f"TerminateExtension(HSE_TERM_MUST_UNLOAD) exactly once, by the old file: {added}"
    log = "\n".join(srv.wait_for_log(re.compile(r"IH2011 .*reload of extension .*gen\.dll done"),
                                     "the reload's outcome"))
    assert re.search(r"IH2003 .*gen\.dll terminated and unloaded \(operator reload\)", log), log[-3000:]
    assert re.search(r"IH2011 .*operator reload of extension .*gen\.dll: new requests are held", log)


@pytest.mark.parametrize("mode", ["sleep", "pending", "async"])
def test_request_in_flight_finishes_on_the_old_dll_and_a_held_one_runs_on_the_new(srv, mode):
    gen, instance = call(srv)
    before = len(dll_log(srv))
    old = HttpConn(srv.port, timeout=30)
    held = HttpConn(srv.port, timeout=30)
    try:
        old.send(f"GET /x.gen?{mode}&sleep={IN_FLIGHT_MS} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        wait_entry(srv, lambda e: e["in_flight"] >= 1, "the slow request in flight")
        install(srv, 3 - gen)
        accepted(srv, "reload")
        wait_entry(srv, lambda e: e["state"] == "draining", "the drain")
        held.send(b"GET /x.gen?plain HTTP/1.1\r\nHost: localhost\r\n\r\n")
        e = wait_entry(srv, lambda e: e["held"] >= 1 or e["state"] != "draining", "the new request held")
        assert e["held"] == 1 and e["state"] == "draining", f"the request arriving during the drain waits: {e}"
        r_old = old.read_response()
        expect_status(r_old, 200, f"the {mode} request in flight during the reload")
        assert answer(r_old) == (gen, instance), "it finished on the instance it started on"
        r_new = held.read_response()
        expect_status(r_new, 200, "the request held during the drain")
        new_gen, new_instance = answer(r_new)
        assert new_gen == 3 - gen and new_instance != instance, "the held request ran on the new file"
    finally:
        old.close()
        held.close()
    lines = dll_log(srv)[before:]
    term = lines.index(f"terminate generation={gen} flags=2")
    assert lines.count(f"terminate generation={gen} flags=2") == 1, lines
    if mode != "sleep":
        done = lines.index(f"done generation={gen} mode={mode} instance={instance}")
        assert done < term, f"TerminateExtension only after the {mode} session ended: {lines}"
    assert lines[term + 1].startswith(f"load generation={3 - gen} "), f"then the new file was loaded: {lines}"
    settled(srv, f"zero after the {mode} reload")


def test_stop_answers_503_with_retry_after_until_start(srv):
    call(srv)
    before = len(terminations(srv))
    accepted(srv, "stop")
    e = wait_entry(srv, lambda e: e["state"] == "stopped" and e["action"] is None, "the DLL stopped")
    assert e["in_flight"] == 0
    assert len(terminations(srv)) == before + 1 and terminations(srv)[-1].endswith("flags=2")
    with HttpConn(srv.port) as c:
        for i in range(2):  # the connection stays usable after a 503
            r = c.request("GET", f"/x.gen?stopped={i}")
            expect_status(r, 503, "a request for a stopped DLL")
            assert (r.header("Retry-After") or "").isdigit(), f"Retry-After: {r.describe()}"
            assert "close" not in r.tokens("Connection")
    expect_status(post(srv, "stop", srv.dll), 409, "stop of a stopped DLL")
    expect_status(post(srv, "reload", srv.dll), 409, "reload of a stopped DLL (start it)")
    assert entry(srv)["loads"] == e["loads"], "a stopped DLL is not loaded by requests"
    accepted(srv, "start")
    e = wait_entry(srv, lambda e: e["state"] == "ready" and e["action"] is None, "the DLL started")
    call(srv)
    log = "\n".join(srv.wait_for_log(re.compile(r"IH2011 .*operator start of extension"), "the start logged"))
    assert re.search(r"IH2011 .*stop of extension .*gen\.dll done: requests get 503 until start", log)
    assert re.search(r"IH2011 .*start of extension .*gen\.dll done: loaded, in service", log)
    settled(srv, "zero after stop and start")


def test_unload_frees_the_dll_and_the_next_request_loads_it(srv):
    gen, instance = call(srv)
    before = len(terminations(srv))
    loads = entry(srv)["loads"]
    status, body = curl_post(srv, "unload", srv.dll)
    assert status == 202 and json.loads(body)["accepted"] is True, (status, body)
    e = wait_entry(srv, lambda e: e["state"] == "unloaded" and e["action"] is None, "the DLL unloaded")
    assert e["loads"] == loads and len(terminations(srv)) == before + 1
    new_gen, new_instance = call(srv)
    assert new_gen == gen and new_instance != instance, "loaded again by the next request"
    assert entry(srv)["loads"] == loads + 1


def test_drain_that_cannot_finish_gives_up_and_the_dll_stays_in_service(srv):
    gen, instance = call(srv)
    before = terminations(srv)
    loads = entry(srv)["loads"]
    slow = HttpConn(srv.port, timeout=30)
    held = HttpConn(srv.port, timeout=30)
    try:
        started = time.monotonic()
        slow.send(f"GET /x.gen?sleep={TOO_LONG_MS} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        wait_entry(srv, lambda e: e["in_flight"] >= 1, "the slow request in flight")
        accepted(srv, "unload")
        wait_entry(srv, lambda e: e["state"] == "draining", "the drain")
        held.send(b"GET /x.gen?plain HTTP/1.1\r\nHost: localhost\r\n\r\n")
        wait_entry(srv, lambda e: e["held"] >= 1, "the new request held")
        r = held.read_response()
        expect_status(r, 200, "the held request, once the drain gave up")
        assert answer(r) == (gen, instance), "served by the DLL that stayed loaded"
        assert time.monotonic() - started < TOO_LONG_MS / 1000, "released by the give-up, not by the slow request"
        log = "\n".join(srv.wait_for_log(re.compile(r"WARNING IH2011 .*unload of extension .*gen\.dll gave up"),
                                         "the give-up warning"))
        assert re.search(r"gen\.dll gave up after %d s: 1 request\(s\) still in flight" % UNLOAD_TIMEOUT, log), \
            log[-3000:]
        e = entry(srv)
        assert e["state"] == "ready" and e["loads"] == loads and e["action"] is None, e
        r = slow.read_response()
        expect_status(r, 200, "the slow request")
        assert answer(r) == (gen, instance)
    finally:
        slow.close()
        held.close()
    assert terminations(srv) == before, "no TerminateExtension when the drain gave up"
    settled(srv, "zero after the give-up")


def test_graceful_stop_still_terminates_the_dll(srv):
    call(srv)
    settled(srv, "zero before the stop")
    e = entry(srv)
    assert e["in_flight"] == 0 and e["held"] == 0, e
    before = len(terminations(srv))
    srv.stop()
    log = read_log_text(srv.server_log)  # the process has exited: the log is complete
    assert re.search(r"IH2003 .*gen\.dll terminated and unloaded \(server stop\)", log), log[-3000:]
    assert "IH2004" not in log
    added = terminations(srv)[before:]
    assert len(added) == 1 and added[0].endswith("flags=2"), added
