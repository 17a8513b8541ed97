"""The Prometheus page at metrics_path under Wine (docs/operations.md,
"Metrics"): requests of known kinds (static 200 and 404, HEAD, an ISAPI
extension, an unknown method) are each counted exactly once, by site,
method, status class and handler, with the duration histogram and byte
counters in step; the extension DLL's calls are counted; the page is text
exposition format 0.0.4 (checked by the parser below, and by `promtool
check metrics` where it is installed); a client that is not on loopback
gets 404; and a worker pool's requests are counted once, in the service,
with the pool's workers and state shown.

The page's own fetches (and the status page's) count as handler "admin",
each once it has ended: the comparisons below leave that handler out, or
allow for the fetch still in progress."""

import math
import re
import shutil
import subprocess
import time

import pytest

from ihserver import (HttpConn, expect_status, fetch, non_loopback_address, scaled, win_path, worker_pids,
                      write_files)

METRICS = "/_ih/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BODY = b"counted\n"

# ---------------------------------------------------------------- the format

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
SAMPLE = re.compile(rf"^({NAME})(?:\{{(.*)\}})? (\S+)$")


def parse_labels(text, line):
    """name="value",... with the format's escapes (\\\\, \\", \\n) only."""
    labels, i = {}, 0
    while i < len(text):
        m = re.compile(rf"({LABEL})=\"").match(text, i)
        assert m, f"bad label at {text[i:]!r} in {line!r}"
        name, i, value = m.group(1), m.end(), []
        while True:
            assert i < len(text), f"unterminated label value in {line!r}"
            ch = text[i]
            if ch == "\\":
                esc = text[i + 1:i + 2]
                assert esc in ("\\", '"', "n"), f"bad escape \\{esc} in {line!r}"
                value.append("\n" if esc == "n" else esc)
                i += 2
            elif ch == '"':
                i += 1
                break
            else:
                assert ch != "\n"
                value.append(ch)
                i += 1
        assert name not in labels, f"label {name} twice in {line!r}"
        labels[name] = "".join(value)
        if i < len(text):
            assert text[i] == ",", f"expected ',' at {text[i:]!r} in {line!r}"
            i += 1
    return labels


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
            return name[:-len(suffix)]
    return name


def parse(text):
    """The page as {(name, frozenset(labels)): value}, checking what the
    format and the naming conventions ask: HELP and TYPE before a family's
    samples, each family in one block, counters named _total, no series
    twice, histogram buckets cumulative with le ascending and +Inf equal to
    _count."""
    assert text.endswith("\n"), "the last line ends with a line feed"
    types, helps, samples, seen_families, current = {}, {}, {}, [], None
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert re.fullmatch(NAME, name) and name not in helps, line
            helps[name] = help_text
            continue
        if line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name in helps and name not in types, f"TYPE without HELP first, or twice: {line}"
            assert not name.startswith("isapihost_") or (kind == "counter") == name.endswith("_total"), \
                f"counters, and only counters, end in _total: {line}"
            types[name] = kind
            continue
        assert not line.startswith("#") and line.strip(), f"unexpected line {line!r}"
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), parse_labels(m.group(2) or "", line), float(m.group(3))
        family = family_of(name, types)
        assert family in types, f"sample before its TYPE: {line}"
        if family != current:
            assert family not in seen_families, f"family {family} in two blocks"
            seen_families.append(family)
            current = family
        key = (name, frozenset(labels.items()))
        assert key not in samples, f"series twice: {line}"
        samples[key] = value
    for family, kind in types.items():
        if kind != "histogram":
            continue
        by_series = {}
        for (name, labels), v in samples.items():
            if name == family + "_bucket":
                rest = frozenset((k, x) for k, x in labels if k != "le")
                le = dict(labels)["le"]
                by_series.setdefault(rest, []).append((math.inf if le == "+Inf" else float(le), v))
        for rest, buckets in by_series.items():
            buckets.sort()
            assert buckets[-1][0] == math.inf, f"{family}{dict(rest)}: no +Inf bucket"
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), f"{family}{dict(rest)}: buckets not cumulative {buckets}"
            assert samples[(family + "_count", rest)] == counts[-1], f"{family}{dict(rest)}: _count != +Inf"
            assert (family + "_sum", rest) in samples
    return samples


def page(srv):
    r = srv.fetch(METRICS)
    expect_status(r, 200, "GET metrics_path")
    assert r.header("Content-Type") == CONTENT_TYPE, r.describe()
    text = r.body.decode("utf-8")
    return text, parse(text)


def series(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def requests_by(samples, leave_out_admin=True):
    """isapihost_http_requests_total as {(site, method, code_class, handler): n}."""
    out = {}
    for (name, labels), v in samples.items():
        if name != "isapihost_http_requests_total":
            continue
        d = dict(labels)
        if leave_out_admin and d["handler"] == "admin":
            continue
        out[(d["site"], d["method"], d["code_class"], d["handler"])] = v
    return out


def delta(after, before):
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def settle(srv, before, want, what):
    """The page once its request counts (admin left out) have grown by want
    exactly: a request is counted when its last byte has gone out, which
    the server may learn just after the client has it."""
    deadline = time.monotonic() + scaled(15)
    while True:
        text, samples = page(srv)
        got = delta(requests_by(samples), requests_by(before))
        if got == want:
            return text, samples
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: counts grew by {got}, expected {want}")
        time.sleep(0.2)


def norm(path):
    return path.replace("/", "\\").lower()


# ---------------------------------------------------------------- in process

@pytest.fixture(scope="module")
def srv(ih):
    dlls = ih.build_dir / "tests" / "dlls"
    echo = dlls / "ext_echo.dll"
    if not echo.is_file():
        pytest.fail(f"test DLLs not built: {echo} missing", pytrace=False)
    cfg = ih.new_config("metrics")
    cfg.server["metrics_path"] = METRICS
    site = cfg.sections["site main"]
    site["bindings"] = f"*:{cfg.port}"  # every address, so loopback-only can be tried from another
    site["permissions"] = "read, script"
    write_files(cfg.workdir / "www", {"f.txt": BODY, "app.isa": b"script source\n"})
    cfg.section("scriptmap main .isa").update(dll=win_path(echo))
    with ih.start(cfg) as s:
        s.echo = win_path(echo)
        yield s


def test_each_request_is_counted_once_by_kind(srv):
    _, before = page(srv)
    for _ in range(3):
        expect_status(srv.fetch("/f.txt"), 200, "a static file")
    for _ in range(2):
        expect_status(srv.fetch("/missing.txt"), 404, "a file that does not exist")
    r = srv.fetch("/f.txt", method="HEAD")
    expect_status(r, 200, "HEAD of a static file")
    for _ in range(2):
        expect_status(srv.fetch("/app.isa?x=1"), 200, "the echo extension")
    expect_status(srv.fetch("/f.txt", method="BREW"), 501, "an unknown method")
    want = {
        ("main", "GET", "2xx", "static"): 3,
        ("main", "GET", "4xx", "static"): 2,
        ("main", "HEAD", "2xx", "static"): 1,
        ("main", "GET", "2xx", "extension"): 2,
        ("", "other", "5xx", "static"): 1,  # refused before a site is chosen; methods outside the known set are "other"
    }
    text, after = settle(srv, before, want, "9 requests of known kinds")

    # the page's own fetches: handler admin, each counted once it has ended
    admin = series(after, "isapihost_http_requests_total", site="main", method="GET", code_class="2xx",
                   handler="admin") - series(before, "isapihost_http_requests_total", site="main", method="GET",
                                             code_class="2xx", handler="admin")
    assert admin >= 1, "the first fetch of the page has ended and is counted as admin"

    # the histogram and byte counters of site main moved with its requests (8 + the admin fetches)
    d_count = (series(after, "isapihost_http_request_duration_seconds_count", site="main") -
               series(before, "isapihost_http_request_duration_seconds_count", site="main"))
    assert d_count == 8 + admin, f"duration _count grew by {d_count}, expected {8 + admin}"
    d_inf = (series(after, "isapihost_http_request_duration_seconds_bucket", site="main", le="+Inf") -
             series(before, "isapihost_http_request_duration_seconds_bucket", site="main", le="+Inf"))
    assert d_inf == d_count
    for name in ("isapihost_http_received_bytes_total", "isapihost_http_sent_bytes_total"):
        assert series(after, name, site="main") - series(before, name, site="main") > 8 * 20, name

    # the extension DLL's calls, by its path as configured
    calls = {norm(dict(l)["dll"]): v for (n, l), v in after.items() if n == "isapihost_isapi_extension_calls_total"}
    calls_before = {norm(dict(l)["dll"]): v for (n, l), v in before.items()
                    if n == "isapihost_isapi_extension_calls_total"}
    assert calls.get(norm(srv.echo), 0) - calls_before.get(norm(srv.echo), 0) == 2, calls
    state = {dict(l)["state"]: v for (n, l), v in after.items()
             if n == "isapihost_isapi_extension_state" and norm(dict(l)["dll"]) == norm(srv.echo)}
    assert state.get("ready") == 1 and sum(state.values()) == 1, state

    # the status page's counters, the same figures
    for name in ("isapihost_connections_open", "isapihost_connections_accepted_total", "isapihost_config_generation",
                 "isapihost_config_reloads_total", "process_start_time_seconds"):
        assert ("# TYPE " + name + " ") in text, name
    assert series(after, "isapihost_connections_accepted_total") >= 10
    assert series(after, "isapihost_config_generation") == 1 and series(after, "isapihost_config_reloads_total") == 0
    assert abs(series(after, "process_start_time_seconds") - time.time()) < 3600
    build = [dict(l) for (n, l), v in after.items() if n == "isapihost_build_info" and v == 1]
    assert len(build) == 1 and build[0]["version"], build


def test_head_and_methods(srv):
    r = srv.fetch(METRICS, method="HEAD")
    expect_status(r, 200, "HEAD of the metrics page")
    assert r.body == b"" and int(r.header("Content-Length")) > 0
    r = srv.fetch(METRICS, method="POST", headers=[("Content-Length", "0")])
    expect_status(r, 405, "POST to the metrics page")
    assert r.header("Allow") == "GET, HEAD", r.describe()


def test_promtool_accepts_the_page(srv):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is not installed (Debian package prometheus); the page was checked by this "
                    "file's own parser")
    text, _ = page(srv)
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    assert p.returncode == 0, f"promtool check metrics:\n{p.stdout.decode(errors='replace')}"


def test_not_served_to_other_addresses(srv):
    addr = non_loopback_address()
    if addr is None:
        pytest.skip("this machine has no non-loopback IPv4 address to connect from (unit-tested: "
                    "tests/unit/server/test_metrics_page.c)")
    with HttpConn(srv.port, host=addr) as c:
        r = c.request("GET", METRICS)
        expect_status(r, 404, f"metrics asked from {addr}")
        assert b"isapihost_" not in r.body


# ---------------------------------------------------------------- a worker pool

def test_worker_pool_requests_counted_once_with_its_workers(ih):
    dlls = ih.build_dir / "tests" / "dlls"
    cfg = ih.worker_pool_config("metrics-pool", ping_interval=1)
    cfg.server["metrics_path"] = METRICS
    write_files(cfg.workdir / "www", {"f.txt": BODY, "app.isa": b"script source\n"})
    cfg.section("scriptmap main .isa").update(dll=win_path(dlls / "ext_echo.dll"))
    with ih.start(cfg) as s:
        s.wait_status(lambda st: worker_pids(st), timeout=scaled(30), what="a worker of pool w")
        _, before = page(s)
        for _ in range(3):
            expect_status(s.fetch("/f.txt"), 200, "a file through the worker")
        expect_status(s.fetch("/missing.txt"), 404, "a missing file through the worker")
        expect_status(s.fetch("/app.isa"), 200, "the echo extension in the worker")
        want = {
            ("main", "GET", "2xx", "static"): 3,
            ("main", "GET", "4xx", "static"): 1,
            ("main", "GET", "2xx", "extension"): 1,  # the handler the worker reported
        }
        _, after = settle(s, before, want, "5 requests relayed to pool w")
        assert series(after, "isapihost_pool_workers", pool="w") >= 1
        states = {dict(l)["state"]: v for (n, l), v in after.items()
                  if n == "isapihost_pool_state" and dict(l)["pool"] == "w"}
        assert states.get("running") == 1 and sum(states.values()) == 1, states
        assert series(after, "isapihost_pool_crashes_total", pool="w") == 0
        reasons = {dict(l)["reason"] for (n, l), _ in after.items()
                   if n == "isapihost_pool_recycles_total" and dict(l)["pool"] == "w"}
        assert "command" in reasons and "requests" in reasons, reasons

        # the extension DLL in the worker, as of the worker's last ping
        pid = str(worker_pids(s.status())[0])
        echo = norm(str(win_path(dlls / "ext_echo.dll")))
        deadline = time.monotonic() + scaled(20)
        while True:
            _, now = page(s)
            rows = {n: (dict(l), v) for (n, l), v in now.items()
                    if n.startswith("isapihost_isapi_extension_") and dict(l).get("pool") == "w"
                    and norm(dict(l)["dll"]) == echo and dict(l).get("state", "ready") == "ready"}
            if rows.get("isapihost_isapi_extension_calls_total", ({}, 0))[1] == 1:
                break
            assert time.monotonic() < deadline, f"the worker's DLL figures never showed the call: {rows}"
            time.sleep(0.5)
        assert rows["isapihost_isapi_extension_calls_total"][0]["worker"] == pid, rows
        assert rows["isapihost_isapi_extension_state"][1] == 1, rows
        assert rows["isapihost_isapi_extension_faults_total"][1] == 0, rows
        assert rows["isapihost_isapi_extension_loads_total"][1] == 1, rows
