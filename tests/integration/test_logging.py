"""Logs after a graceful stop (W3C access logs per site, server.log), and a
graceful stop that lets an in-flight download finish."""

import hashlib
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ihserver import HttpConn, build_request, expect_status, parse_w3c, write_files

HELLO = b"hello from the logging tests\n"
W3C_FIELDS = ("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
              "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken").split()
LOG_LINE_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) ([A-Z]+) IH(\d{4}) (\S.*)$")


def event_ids():
    """Stable IDs from service/core/events.h when present, else the ones it had when this was written."""
    ids = {"IH_EV_STARTING": 1001, "IH_EV_STOPPING": 1003, "IH_EV_STOPPED": 1004}
    h = Path(__file__).resolve().parents[2] / "service" / "core" / "events.h"
    try:
        for name, num in re.findall(r"\b(IH_EV_[A-Z_]+)\s*=\s*(\d+)", h.read_text()):
            ids[name] = int(num)
    except OSError:
        pass
    return ids


class Run:
    """What the module fixture did: requests sent, then a graceful stop."""


@pytest.fixture(scope="module")
def run(ih):
    cfg = ih.new_config("logging")
    port = cfg.port
    cfg.site("bsite", bindings=f"127.0.0.1:{port}:b.test", root="www_b", log_dir="sitelogs_b")
    cfg.site("csite", bindings=f"127.0.0.1:{port}:c.test", root="www_c", log=False)
    write_files(cfg.workdir, {"www/hello.txt": HELLO, "www_b/b.txt": b"site b\n", "www_c/c.txt": b"site c\n"})
    srv = ih.server(cfg)
    out = Run()
    out.srv, out.cfg, out.port = srv, cfg, port
    out.t0 = time.time()
    srv.start()
    try:
        # (method, target, extra headers, body, host) -> expected (stem, query, status, ua, referer)
        out.site_a = [
            (("GET", "/hello.txt", [("User-Agent", "ih-test/1.0 logging")], b"", "localhost"),
             ("/hello.txt", "-", "200", "ih-test/1.0+logging", "-")),
            (("GET", "/hello.txt?x=1&y=2", [], b"", "localhost"), ("/hello.txt", "x=1&y=2", "200", "-", "-")),
            (("GET", "/missing-log.txt", [], b"", "localhost"), ("/missing-log.txt", "-", "404", "-", "-")),
            (("HEAD", "/hello.txt", [], b"", "localhost"), ("/hello.txt", "-", "200", "-", "-")),
            (("POST", "/hello.txt", [], b"abc", "localhost"), ("/hello.txt", "-", "405", "-", "-")),
            (("GET", "/hello.txt", [("Referer", "http://ref.example/page")], b"", "localhost"),
             ("/hello.txt", "-", "200", "-", "http://ref.example/page")),
        ]
        for (method, target, headers, body, host), (_, _, status, _, _) in out.site_a:
            r = srv.fetch(target, method=method, headers=headers, body=body, host=host)
            expect_status(r, int(status), f"{method} {target}")
        r = srv.fetch("/b.txt", host="b.test")
        expect_status(r, 200, "site b")
        assert r.body == b"site b\n"
        r = srv.fetch("/c.txt", host="c.test")
        expect_status(r, 200, "site c")
        assert r.body == b"site c\n"
        time.sleep(0.2)
    except BaseException:
        srv.kill()
        raise
    out.rc = srv.stop()  # asserts exit code 0
    out.t1 = time.time()
    return out


def utc_dates(t0, t1):
    return {datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d") for t in (t0, t1)}


def log_files(directory):
    return sorted(Path(directory).glob("u_ex*.log"))


def read_rows(files):
    rows = []
    for f in files:
        directives, fields, frows = parse_w3c(f)
        assert fields == W3C_FIELDS, f"{f}: #Fields is {fields}, expected IIS's default {W3C_FIELDS}"
        assert any(d.startswith("#Version: 1.0") for d in directives), f"{f}: no '#Version: 1.0' directive"
        rows += frows
    return rows


def test_w3c_file_name_and_place(run):
    site_dirs = [d for d in run.cfg.log_dir.glob("W3SVC*") if log_files(d)]
    names = [d.name for d in site_dirs]
    assert names == ["W3SVC1"], f"expected the access log of the first site (id 1) in <log_dir>/W3SVC1 only " \
                                f"(csite has log = off, bsite its own log_dir); found {names} under {run.cfg.log_dir}"
    files = log_files(site_dirs[0])
    want = {"u_ex" + datetime.fromtimestamp(t, timezone.utc).strftime("%y%m%d") + ".log" for t in (run.t0, run.t1)}
    assert {f.name for f in files} <= want and files, f"log files {[f.name for f in files]}, expected one of {want}"


def test_w3c_one_line_per_request_with_fields(run):
    rows = read_rows(log_files(run.cfg.log_dir / "W3SVC1"))
    assert len(rows) == len(run.site_a), \
        f"{len(rows)} log lines for {len(run.site_a)} requests to the main site:\n" + "\n".join(map(str, rows))
    dates = utc_dates(run.t0, run.t1)
    remaining = list(rows)
    for (method, target, _, _, _), (stem, query, status, ua, referer) in run.site_a:
        match = [r for r in remaining if (r["cs-method"], r["cs-uri-stem"], r["cs-uri-query"], r["sc-status"],
                                          r["cs(User-Agent)"], r["cs(Referer)"]) ==
                 (method, stem, query, status, ua, referer)]
        assert match, f"no log line for {method} {target} -> {status} (ua {ua!r}, referer {referer!r}); " \
                      f"lines:\n" + "\n".join(map(str, rows))
        remaining.remove(match[0])
    for r in rows:
        assert r["date"] in dates, f"date {r['date']} not the UTC date of the run {dates}"
        assert re.match(r"^\d\d:\d\d:\d\d$", r["time"]), r
        assert r["s-ip"] == "127.0.0.1" and r["c-ip"] == "127.0.0.1", r
        assert r["s-port"] == str(run.port), r
        assert r["cs-username"] == "-", r
        for k in ("sc-substatus", "sc-win32-status", "time-taken"):
            assert r[k].isdigit(), f"{k} is not a number: {r}"


def test_w3c_site_log_dir_and_log_off(run):
    b_files = log_files(run.cfg.workdir / "sitelogs_b")
    assert b_files, f"no u_ex*.log in bsite's log_dir {run.cfg.workdir / 'sitelogs_b'}"
    b_rows = read_rows(b_files)
    assert [(r["cs-uri-stem"], r["sc-status"]) for r in b_rows] == [("/b.txt", "200")], b_rows
    every = read_rows(sorted(run.cfg.workdir.rglob("u_ex*.log")))
    assert not [r for r in every if r["cs-uri-stem"] == "/c.txt"], "csite has log = off but its request was logged"


def test_server_log_start_and_stop_lines(run):
    path = run.cfg.log_dir / "server.log"
    assert path.is_file(), f"no server log at {path}"
    lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln]
    bad = [ln for ln in lines if not LOG_LINE_RE.match(ln)]
    assert not bad, "lines not in 'YYYY-MM-DDThh:mm:ssZ LEVEL IHnnnn message' form:\n" + "\n".join(bad[:10])
    parsed = [LOG_LINE_RE.match(ln).groups() for ln in lines]
    ids = event_ids()
    start = [i for i, p in enumerate(parsed) if int(p[2]) == ids["IH_EV_STARTING"]]
    stop = [i for i, p in enumerate(parsed) if int(p[2]) == ids["IH_EV_STOPPED"]]
    assert start, f"no start line (IH{ids['IH_EV_STARTING']}) in {path}:\n" + "\n".join(lines[:20])
    assert stop, f"no stop line (IH{ids['IH_EV_STOPPED']}) in {path}:\n" + "\n".join(lines[-20:])
    assert start[0] < stop[-1], "the stop line comes before the start line"
    assert stop[-1] == len(parsed) - 1 or all(int(p[2]) != ids["IH_EV_STARTING"] for p in parsed[stop[-1]:]), \
        "server.log continues with a new start after the stop"
    for i in (start[0], stop[-1]):
        ts = datetime.strptime(parsed[i][0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
        assert run.t0 - 120 <= ts <= run.t1 + 120, f"log time {parsed[i][0]} is outside the run"


BIG_SIZE = 24 << 20


def big_content():
    block = hashlib.sha256(b"isapihost").digest() * 2048  # 64 KiB
    return (block * (BIG_SIZE // len(block) + 1))[:BIG_SIZE]


def test_graceful_stop_lets_inflight_download_finish(ih):
    cfg = ih.new_config("drain")
    cfg.server["drain_timeout"] = 30
    cfg.mime[".bin"] = "application/octet-stream"
    content = big_content()
    write_files(cfg.workdir / "www", {"big.bin": content, "hello.txt": HELLO})
    srv = ih.start(cfg)
    try:
        with HttpConn(srv.port, timeout=30, rcvbuf=32 << 10) as c:
            c.send(build_request("GET", "/big.bin", [("User-Agent", "ih-drain")]))
            head = c.read_head()
            expect_status(head, 200, "GET /big.bin")
            assert int(head.header("Content-Length", "-1")) == BIG_SIZE, head.describe()
            got = bytearray(c.read_body(256 << 10))

            srv.signal_stop()  # SIGINT while most of the file is still unsent
            time.sleep(1.5)
            assert srv.alive(), f"server exited 1.5 s after SIGINT while a download was in flight " \
                                f"(exit code {srv.proc.poll()}); it must drain\n{srv.diagnostics()}"

            got += c.read_body(BIG_SIZE - len(got), timeout=60)
            assert len(got) == BIG_SIZE
            assert hashlib.sha256(got).digest() == hashlib.sha256(content).digest(), \
                "download completed during the drain but its bytes are wrong"
            if "close" not in head.tokens("Connection"):
                # keep-alive was granted before the stop: the server must now close the idle connection
                assert c.wait_closed(10), "server kept the connection open during its stop after the response"
        rc = srv.wait_exit(30)
        assert rc == 0, f"exit code {rc} after a graceful stop with a drained download\n{srv.diagnostics()}"
    except BaseException:
        srv.kill()
        raise
    rows = read_rows(sorted(cfg.log_dir.glob("W3SVC*/u_ex*.log")))
    big = [r for r in rows if r["cs-uri-stem"] == "/big.bin"]
    assert big and big[0]["sc-status"] == "200", f"drained download not logged as 200: {rows}"


def test_client_resets_before_accept_are_counted_not_logged_each(ih):
    """Clients that reset before the accept completes are normal traffic
    (browsers, balancers, scanners): every one is counted on the status
    page (client_aborts) and the server log sums them up in at most one
    line a minute (IH1205), never a WARNING line per client."""
    import socket
    import struct
    cfg = ih.new_config("client_resets")
    resets = 3000
    with ih.start(cfg) as s:
        for _ in range(resets):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
            sock.setblocking(False)
            try:
                sock.connect(("127.0.0.1", s.port))
            except BlockingIOError:
                pass
            sock.close()
        deadline = time.monotonic() + 20
        aborts = 0
        while time.monotonic() < deadline:
            st = s.status()
            aborts = st.get("client_aborts", 0)
            if st["connections_live"] == 0 and aborts + st["connections_total"] >= resets * 0.9:
                break
            time.sleep(0.2)
        r = s.fetch("/")
        assert r.status in (200, 403, 404), "the server still answers after the resets"
    text = s.server_log.read_text(errors="replace")
    per_client = [ln for ln in text.splitlines() if " IH1202 " in ln]
    summaries = [ln for ln in text.splitlines() if " IH1205 " in ln]
    assert aborts > 0, f"no client_aborts counted after {resets} resets (status: {st})"
    assert len(per_client) <= 1, f"{len(per_client)} IH1202 lines for client resets, e.g. {per_client[:3]}"
    assert 1 <= len(summaries) <= 2, f"expected one IH1205 summary for {aborts} aborts, got {summaries[:5]}"
    assert "INFO" in summaries[0], summaries[0]
