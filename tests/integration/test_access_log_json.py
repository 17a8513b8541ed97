"""The access log as JSON lines (log_format = json, docs/operations.md#access-logs):
u_exYYMMDD.json without W3C headers, one valid JSON object per request with
the W3C fields as keys (numbers as numbers, null for no value, text escaped
and always UTF-8), written from what a LOG filter left; beside a site that
keeps the default W3C log; through a worker pool; and a reload from w3c to
json that moves the lines to the new file."""

import json
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ihserver import expect_status, parse_w3c, wine_env, win_path, write_files

W3C_FIELDS = ("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
              "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken").split()
JSON_KEYS = ["@timestamp"] + W3C_FIELDS
UA_QUOTED = 'ih-test "quoted" \\ agent'


def script_filter(ih):
    """flt_script without READ_RAW_DATA, which serves both inprocess and worker pools."""
    dll = ih.build_dir / "tests" / "dlls" / "flt_script_noraw.dll"
    if not dll.is_file():
        pytest.fail(f"test DLL not built: {dll}", pytrace=False)
    return win_path(dll)


def json_rows(directory):
    """Every line of every u_ex*.json in directory, each parsed strictly."""
    files = sorted(Path(directory).glob("u_ex*.json"))
    assert files, f"no u_ex*.json in {directory}: {sorted(p.name for p in Path(directory).glob('*'))}"
    rows = []
    for f in files:
        raw = f.read_bytes()
        text = raw.decode("utf-8")  # strict: every byte of the file is UTF-8
        assert text.endswith("\n"), f"{f}: the last line does not end in LF"
        for n, line in enumerate(text.split("\n")[:-1], 1):
            assert not line.startswith("#"), f"{f}:{n}: a W3C directive in a JSON log: {line!r}"
            try:
                row = json.loads(line, object_pairs_hook=lambda pairs: pairs)
            except ValueError as e:
                raise AssertionError(f"{f}:{n}: not valid JSON ({e}): {line!r}")
            assert [k for k, _ in row] == JSON_KEYS, f"{f}:{n}: keys {[k for k, _ in row]}"
            rows.append(dict(row))
    return rows


def check_common(row, port, dates):
    """The fields every line of these tests has the same way."""
    ts = row["@timestamp"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", ts), row
    assert ts == f"{row['date']}T{row['time']}Z", row
    assert row["date"] in dates, f"date {row['date']} not the UTC date of the run {dates}"
    assert row["s-ip"] == "127.0.0.1" and row["c-ip"] == "127.0.0.1", row
    assert row["s-port"] == port, row
    assert row["cs-username"] is None, row
    for k in ("sc-status", "sc-substatus", "sc-win32-status", "time-taken"):
        assert type(row[k]) is int, f"{k} is not a JSON number: {row}"


def utc_dates(t0, t1):
    return {datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d") for t in (t0, t1)}


class Run:
    pass


@pytest.fixture(scope="module")
def run(ih):
    cfg = ih.new_config("access_log_json")
    port = cfg.port
    cfg.sections["site main"]["log_format"] = "json"
    cfg.site("plain", bindings=f"127.0.0.1:{port}:w3c.test", root="www_w3c")  # the default: W3C
    cfg.section("filter script").update(dll=script_filter(ih))
    write_files(cfg.workdir, {"www/hello.txt": b"hello\n", "www/caf\u00e9.txt": b"cafe\n",
                              "www_w3c/w.txt": b"w3c\n"})
    srv = ih.server(cfg)
    out = Run()
    out.cfg, out.port = cfg, port
    out.t0 = datetime.now(timezone.utc).timestamp()
    srv.start()
    try:
        # a query with a quote and a byte that is not UTF-8, a percent-encoded é in the path
        r = srv.fetch(b'/caf%C3%A9.txt?q="x"&b=\xe9', headers=[("User-Agent", UA_QUOTED)])
        expect_status(r, 200, "the file with a non-ASCII name")
        assert r.body == b"cafe\n"
        expect_status(srv.fetch("/missing.txt"), 404, "a missing file")
        expect_status(srv.fetch("/hello.txt", headers=[("Referer", "http://ref.example/a b")]), 200, "hello")
        r = srv.fetch("/hello.txt?log=filter", headers=[("X-Script", "log.target=/replaced-by-filter;log.status=299")])
        expect_status(r, 200, "a request whose LOG notification the filter rewrites")
        expect_status(srv.fetch("/w.txt", host="w3c.test"), 200, "the W3C site")
    except BaseException:
        srv.kill()
        raise
    srv.stop()
    out.t1 = datetime.now(timezone.utc).timestamp()
    return out


def test_json_file_name_and_no_header(run):
    d = run.cfg.log_dir / "W3SVC1"
    names = sorted(p.name for p in d.iterdir())
    want = {"u_ex" + datetime.fromtimestamp(t, timezone.utc).strftime("%y%m%d") + ".json" for t in (run.t0, run.t1)}
    assert names and set(names) <= want, f"files of the JSON site: {names}, expected one of {sorted(want)}"
    for p in d.iterdir():
        assert b"#" not in p.read_bytes()[:1], f"{p} starts with a W3C directive"


def test_json_lines_have_the_values(run):
    rows = json_rows(run.cfg.log_dir / "W3SVC1")
    dates = utc_dates(run.t0, run.t1)
    for row in rows:
        check_common(row, run.port, dates)
    by_stem = {}
    for row in rows:
        by_stem.setdefault(row["cs-uri-stem"], []).append(row)
    assert len(rows) == 4, "one line per request of the JSON site:\n" + "\n".join(map(str, rows))

    cafe, = by_stem["/caf\u00e9.txt"]
    assert cafe["cs-method"] == "GET" and cafe["sc-status"] == 200, cafe
    # the quote as it was, the byte E9 (not UTF-8) as U+FFFD, never raw
    assert cafe["cs-uri-query"] == 'q="x"&b=\ufffd', cafe
    assert cafe["cs(User-Agent)"] == UA_QUOTED, cafe
    assert cafe["cs(Referer)"] is None, cafe

    missing, = by_stem["/missing.txt"]
    assert missing["sc-status"] == 404, missing
    assert missing["cs-uri-query"] is None and missing["cs(User-Agent)"] is None, missing

    hello, = by_stem["/hello.txt"]
    assert hello["sc-status"] == 200 and hello["cs-uri-query"] is None, hello
    assert hello["cs(Referer)"] == "http://ref.example/a b", "spaces are kept (W3C writes them '+')"

    # SF_NOTIFY_LOG: the filter changed the record before it was formatted
    filtered, = by_stem["/replaced-by-filter"]
    assert filtered["sc-status"] == 299 and filtered["cs-uri-query"] == "log=filter", filtered


def test_default_site_still_writes_w3c(run):
    d = run.cfg.log_dir / "W3SVC2"
    assert not list(d.glob("u_ex*.json")), f"the W3C site wrote a JSON file: {sorted(d.iterdir())}"
    files = sorted(d.glob("u_ex*.log"))
    assert files, f"no u_ex*.log for the W3C site in {d}"
    directives, fields, rows = parse_w3c(files[0])
    assert fields == W3C_FIELDS and any(x.startswith("#Version: 1.0") for x in directives), directives
    assert [(r["cs-uri-stem"], r["sc-status"]) for r in rows] == [("/w.txt", "200")], rows
    assert not list((run.cfg.log_dir / "W3SVC1").glob("u_ex*.log")), "the JSON site also wrote a W3C file"


def test_worker_pool_site_writes_json_lines(ih):
    """[server] log_format = json is every site's default; the worker
    formats the line, the service writes it into the .json file."""
    cfg = ih.worker_pool_config("access_log_json_pool")
    cfg.server["log_format"] = "json"
    cfg.section("filter script").update(dll=script_filter(ih))
    write_files(cfg.workdir / "www", {"p.txt": b"pool\n"})
    t0 = datetime.now(timezone.utc).timestamp()
    srv = ih.start(cfg)
    try:
        srv.wait_status(lambda st: any(p.get("workers") for p in st.get("pools", [])), timeout=30, what="a worker")
        r = srv.fetch(b'/p.txt?w="1"&b=\xff', headers=[("User-Agent", UA_QUOTED)])
        expect_status(r, 200, "through the worker")
        assert r.body == b"pool\n"
        r = srv.fetch("/p.txt", headers=[("X-Script", "log.target=/pool-filter;log.status=298")])
        expect_status(r, 200, "through the worker, LOG rewritten")
        expect_status(srv.fetch("/nope.txt"), 404, "a 404 through the worker")
        workers = [w["pid"] for p in srv.status().get("pools", []) for w in p.get("workers", [])]
        assert workers, "the site's pool has a worker"
    except BaseException:
        srv.kill()
        raise
    srv.stop()
    t1 = datetime.now(timezone.utc).timestamp()
    d = cfg.log_dir / "W3SVC1"
    assert not list(d.glob("u_ex*.log")), f"a W3C file beside the JSON one: {sorted(d.iterdir())}"
    rows = json_rows(d)
    for row in rows:
        check_common(row, cfg.port, utc_dates(t0, t1))
    got = sorted((r["cs-uri-stem"], r["cs-uri-query"], r["sc-status"], r["cs(User-Agent)"]) for r in rows
                 if r["cs-uri-stem"] != "/status")
    assert got == sorted([("/p.txt", 'w="1"&b=\ufffd', 200, UA_QUOTED), ("/pool-filter", None, 298, None),
                          ("/nope.txt", None, 404, None)]), rows


def reload_cmd(ih, name):
    """`wine isapihost.exe reload --name name`; output through files (wine-notes)."""
    out_dir = ih.workdir("reload-cmd")
    with open(out_dir / "stdout.txt", "wb") as out, open(out_dir / "stderr.txt", "wb") as err:
        rc = subprocess.run(["wine", str(ih.exe), "reload", "--name", name], stdin=subprocess.DEVNULL, stdout=out,
                            stderr=err, env=wine_env(ih.prefix), timeout=60).returncode
    return rc, (out_dir / "stdout.txt").read_text(errors="replace")


def test_reload_from_w3c_to_json_starts_the_json_file(ih):
    cfg = ih.new_config("access_log_json_reload")
    write_files(cfg.workdir / "www", {"a.txt": b"A\n"})
    srv = ih.server(cfg)
    name = f"IhJsonLog{cfg.port}"
    srv.run_args = ["--name", name]
    srv.start()
    try:
        srv.wait_for_log(f"running as {name}", timeout=20)
        expect_status(srv.fetch("/a.txt?before=1"), 200, "before the reload")
        cfg.sections["site main"]["log_format"] = "json"
        cfg.write()
        rc, out = reload_cmd(ih, name)
        assert rc == 0, (rc, out)
        srv.wait_for_log("configuration reloaded (generation 2)", timeout=20)
        expect_status(srv.fetch("/a.txt?after=1"), 200, "after the reload")
    except BaseException:
        srv.kill()
        raise
    srv.stop()
    d = cfg.log_dir / "W3SVC1"
    w3c_rows = [r for f in sorted(d.glob("u_ex*.log")) for r in parse_w3c(f)[2]]
    assert [(r["cs-uri-stem"], r["cs-uri-query"]) for r in w3c_rows] == [("/a.txt", "before=1")], w3c_rows
    rows = json_rows(d)
    assert [(r["cs-uri-stem"], r["cs-uri-query"]) for r in rows] == [("/a.txt", "after=1")], rows
