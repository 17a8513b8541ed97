"""A stop always finishes, and a load that never returns gives up.

DLLs that never return (tests/dlls/ext_hang.c and flt_hang.c; the marker in
the copy's file name says where: "hang-terminate" in TerminateExtension or
TerminateFilter, "hang-version" in GetExtensionVersion or GetFilterVersion):

- shutdown_time_limit: a stop stuck in TerminateExtension or TerminateFilter
  ends the process with exit code 124 after logging IH1012 with the DLL's
  path, in the foreground (SIGINT) and as an NT service (`net stop`, in a
  Wine prefix of its own: the service process goes, the SCM says STOPPED,
  a clean stop, so failure actions do not start it again);
- startup_time_limit: an extension stuck in GetExtensionVersion costs its
  requests a 503 (IH2013), never a second call, and nothing else; a filter
  stuck in GetFilterVersion does not hold the start, its site answers 503
  (on_load_error = fail) or runs without it (skip), IH3006, and it is not
  tried again. Either way the server still stops (exit code 0).

Time is only ever a bound here (a process that must have ended, a response
that must have come), never a measurement."""

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from ihserver import (WinePrefix, expect_status, fetch, free_port, read_log_lines, read_log_text, scaled, win_path,
                      write_files)

EXIT_STOP_TIME_LIMIT = 124  # docs/operations.md
LIMIT = 3                   # shutdown_time_limit and startup_time_limit of the servers here
BOUND_S = LIMIT + 30        # seconds within which what the limit bounds must have happened
BOUND = scaled(BOUND_S)     # the same on this machine (IH_TIME_SCALE); wait_for_log scales BOUND_S itself
FILTER_RETRY_S = 10         # IH_FILTER_RETRY_MS


def dlls_dir(ih):
    d = ih.build_dir / "tests" / "dlls"
    for name in ("ext_hang.dll", "flt_hang.dll", "ext_hello.dll"):
        if not (d / name).is_file():
            pytest.fail(f"test DLLs not built: {d / name} missing", pytrace=False)
    return d


def hang_copy(ih, workdir, source, name):
    """A copy of ext_hang.dll or flt_hang.dll named `name` (its marker)."""
    dest = Path(workdir) / "dlls" / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(dlls_dir(ih) / source, dest)
    return dest


def lines_with(lines, event):
    return [line for line in lines if f" {event} " in line]


def names(line, dll):
    """The log line names the DLL by its path as configured (any case)."""
    return win_path(dll).lower() in line.lower()


def limited_config(ih, name):
    cfg = ih.new_config(name)
    cfg.server["shutdown_time_limit"] = LIMIT
    cfg.server["startup_time_limit"] = LIMIT
    cfg.sections["site main"]["permissions"] = "read, script"
    write_files(cfg.workdir / "www", {"a.txt": b"AAAA"})
    return cfg


# ---------------------------------------------------------------- shutdown_time_limit

def test_sigint_ends_a_stop_stuck_in_terminate_extension(ih):
    cfg = limited_config(ih, "stop-ext")
    dll = hang_copy(ih, cfg.workdir, "ext_hang.dll", "ext_hang-terminate.dll")
    cfg.section("scriptmap main .hang").update(dll=win_path(dll), check_file="off")
    s = ih.start(cfg)
    r = s.fetch("/x.hang")
    expect_status(r, 200, "the DLL loads and serves")
    assert r.body == b"hang: ext_hang-terminate.dll\n", r.describe()
    s.signal_stop()
    rc = s.wait_exit(timeout=BOUND)  # kills it and fails if it has not ended
    assert rc == EXIT_STOP_TIME_LIMIT, f"exit code {rc}\n{s.diagnostics()}"
    stuck = lines_with(read_log_lines(s.server_log), "IH1012")
    assert len(stuck) == 1, f"server.log has no IH1012 (or several):\n{s.diagnostics()}"
    line = stuck[0]
    assert " ERROR IH1012 " in line and "TerminateExtension of extension" in line and names(line, dll), line
    assert f"shutdown_time_limit ({LIMIT} s)" in line and f"exit code {EXIT_STOP_TIME_LIMIT}" in line, line
    assert "IH2003" not in read_log_text(s.server_log), "TerminateExtension never returned: no unload was logged"


def test_sigint_ends_a_stop_stuck_in_terminate_filter(ih):
    cfg = limited_config(ih, "stop-flt")
    dll = hang_copy(ih, cfg.workdir, "flt_hang.dll", "flt_hang-terminate.dll")
    cfg.section("filter hang").update(dll=win_path(dll))
    s = ih.start(cfg)
    r = s.fetch("/a.txt")
    expect_status(r, 200, "a static file through the filter")
    assert r.header("X-Hang-Filter") == "flt_hang-terminate.dll", r.describe()
    s.signal_stop()
    rc = s.wait_exit(timeout=BOUND)
    assert rc == EXIT_STOP_TIME_LIMIT, f"exit code {rc}\n{s.diagnostics()}"
    stuck = lines_with(read_log_lines(s.server_log), "IH1012")
    assert len(stuck) == 1, f"server.log has no IH1012 (or several):\n{s.diagnostics()}"
    assert "TerminateFilter of filter" in stuck[0] and names(stuck[0], dll), stuck[0]


# ---------------------------------------------------------------- startup_time_limit

def test_extension_stuck_in_get_extension_version_gets_503_and_the_server_goes_on(ih):
    cfg = limited_config(ih, "start-ext")
    dll = hang_copy(ih, cfg.workdir, "ext_hang.dll", "ext_hang-version.dll")
    cfg.section("scriptmap main .hang").update(dll=win_path(dll), check_file="off")
    cfg.section("scriptmap main .hello").update(dll=win_path(dlls_dir(ih) / "ext_hello.dll"), check_file="off")
    with ih.start(cfg) as s:
        r = fetch(s.port, "/x.hang", timeout=BOUND)
        expect_status(r, 503, "an extension whose GetExtensionVersion never returns")
        stuck = lines_with(s.wait_for_log(lambda lines: lines_with(lines, "IH2013"),
                                          "the stuck GetExtensionVersion (IH2013)", timeout=BOUND_S), "IH2013")
        assert " ERROR IH2013 " in stuck[0] and "GetExtensionVersion" in stuck[0] and names(stuck[0], dll), stuck
        assert f"startup_time_limit ({LIMIT} s)" in stuck[0], stuck[0]
        # Never called again: a second request does not start a second load
        # (which would hang, and log IH2013 again).
        r = s.fetch("/y.hang")
        expect_status(r, 503, "the stuck extension, again")
        assert r.header("Retry-After", "").isdigit(), r.describe()
        # The rest of the server goes on.
        expect_status(s.fetch("/a.txt"), 200, "a static file")
        r = s.fetch("/x.hello")
        expect_status(r, 200, "another extension")
        assert r.body.startswith(b"hello from GET"), r.describe()
        listing = s.fetch(s.config.status_path + "/extensions")
        expect_status(listing, 200, "the extension listing")
        assert '"stuck"' in listing.body.decode(), listing.describe()
        assert len(lines_with(read_log_lines(s.server_log), "IH2013")) == 1, "GetExtensionVersion was called again"
    # `with` stopped it with SIGINT and asserted exit code 0 (IHServer.stop).
    assert "IH1012" not in read_log_text(s.server_log)


def test_filter_stuck_in_get_filter_version_does_not_hold_the_start(ih):
    cfg = limited_config(ih, "start-flt")
    fail_dll = hang_copy(ih, cfg.workdir, "flt_hang.dll", "flt_hang-version-fail.dll")
    skip_dll = hang_copy(ih, cfg.workdir, "flt_hang.dll", "flt_hang-version-skip.dll")
    other = free_port()
    cfg.site("other", bindings=f"127.0.0.1:{other}", root="www")
    cfg.section("filter stuck_fail").update(site="main", dll=win_path(fail_dll))  # on_load_error = fail (default)
    cfg.section("filter stuck_skip").update(site="other", dll=win_path(skip_dll), on_load_error="skip")
    s = ih.server(cfg)
    s.start(timeout=BOUND)  # listening although neither filter ever returns from GetFilterVersion
    with s:
        stuck = lines_with(s.wait_for_log(lambda lines: len(lines_with(lines, "IH3006")) >= 2,
                                          "the two stuck GetFilterVersion calls (IH3006)", timeout=BOUND_S), "IH3006")
        assert len(stuck) == 2, stuck
        by_name = {("fail" if "stuck_fail" in line else "skip"): line for line in stuck}
        assert names(by_name["fail"], fail_dll) and "GetFilterVersion" in by_name["fail"], by_name
        assert "site main answers 503" in by_name["fail"], by_name["fail"]
        assert names(by_name["skip"], skip_dll) and "served without it" in by_name["skip"], by_name
        expect_status(s.fetch("/a.txt"), 503, "the site whose filter is stuck (on_load_error = fail)")
        r = fetch(other, "/a.txt")
        expect_status(r, 200, "the site whose stuck filter is skipped")
        assert r.header("X-Hang-Filter") is None and r.body == b"AAAA", r.describe()
        # Not tried again: past a retry period (and the limit a retry would
        # wait), still one IH3006 each and no IH3002.
        time.sleep(FILTER_RETRY_S + LIMIT + scaled(2))
        lines = read_log_lines(s.server_log)
        assert len(lines_with(lines, "IH3006")) == 2 and not lines_with(lines, "IH3002"), "\n".join(lines[-40:])
        expect_status(s.fetch("/a.txt"), 503, "still 503")
    assert "IH1012" not in read_log_text(s.server_log)


# ---------------------------------------------------------------- the NT service

SERVICE = "IhLimitsTest"


def service_processes(config_path):
    """Linux pids of processes whose command line names this service's
    configuration (the service process under Wine)."""
    marker = os.fsencode(config_path.name)
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if b"isapihost" in cmdline.lower() and marker in cmdline and b" service" in cmdline.replace(b"\0", b" "):
            pids.append(int(entry.name))
    return pids


@pytest.mark.ih_timeout(200)
def test_net_stop_ends_a_service_stuck_in_terminate_extension(ih, tmp_path):
    prefix = WinePrefix(ih.build_dir / "tests" / "integration" / "work" / "time-limits-prefix", ih.repo)
    port = free_port()
    dll = hang_copy(ih, tmp_path, "ext_hang.dll", "ext_hang-terminate.dll")
    write_files(tmp_path / "www", {"a.txt": b"AAAA"})
    config = tmp_path / "limits-service.ini"
    config.write_text(f"[server]\nlog_dir = logs\ndrain_timeout = 10\nshutdown_time_limit = {LIMIT}\n"
                      f"[site main]\nbindings = 127.0.0.1:{port}\nroot = www\npermissions = read, script\n"
                      f"[scriptmap main .hang]\ndll = {win_path(dll)}\ncheck_file = off\n")
    server_log = tmp_path / "logs" / "server.log"
    prefix.up()
    try:
        p = prefix.wine(ih.exe, "install", "--name", SERVICE, "--config", win_path(config), "--start", "demand")
        assert p.returncode == 0, (p.stdout, p.stderr)
        p = prefix.wine(ih.exe, "start", "--name", SERVICE)
        assert p.returncode == 0, (p.stdout, p.stderr)
        r = fetch(port, "/x.hang")
        expect_status(r, 200, "the service loads the DLL")
        assert service_processes(config), "the service process is not visible to the test"
        p = prefix.wine("net", "stop", SERVICE, timeout=BOUND + 60)
        deadline = time.monotonic() + BOUND
        while service_processes(config):
            assert time.monotonic() < deadline, \
                f"the service process is still there:\n{read_log_text(server_log)[-3000:]}"
            time.sleep(0.3)
        q = prefix.wine("sc", "query", SERVICE)
        assert "STOPPED" in q.stdout, q.stdout
        stuck = lines_with(read_log_lines(server_log), "IH1012")
        assert len(stuck) == 1 and "TerminateExtension of extension" in stuck[0] and names(stuck[0], dll), \
            read_log_text(server_log)[-3000:]
        # a clean stop from the SCM's point of view: not a crash, and not a
        # stop with an error that failure actions would answer with a restart
        assert re.search(r"WIN32_EXIT_CODE\s*:\s*0\b", q.stdout), q.stdout
    finally:
        prefix.wine(ih.exe, "uninstall", "--name", SERVICE, timeout=90)
        prefix.down()
