"""A real Prometheus (Debian `prometheus`) scraping two IsapiHost instances
with the configuration docs/deployment.md shows (docs/fleet/prometheus.yml):
its API reports both targets up, and the request counter it scraped from
each instance matches the requests this test sent there. `promtool check
metrics` accepts each instance's page as it is."""

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from ihserver import HttpConn, expect_status, fetch, free_port, scaled, write_files

REPO = Path(__file__).resolve().parents[2]
METRICS = "/_isapihost/metrics"
PROMETHEUS = shutil.which("prometheus", path="/usr/bin:/usr/sbin:/bin")
PROMTOOL = shutil.which("promtool", path="/usr/bin:/usr/sbin:/bin")
pytestmark = pytest.mark.skipif(PROMETHEUS is None or PROMTOOL is None,
                                reason="prometheus is not installed (cmake/install-deps.sh installs it)")


def instance(ih, name):
    cfg = ih.new_config(name)
    cfg.server["metrics_path"] = METRICS
    write_files(cfg.workdir / "www", {"f.txt": name.encode()})
    return ih.start(cfg)


def api(port, path, **query):
    url = path + ("?" + urllib.parse.urlencode(query) if query else "")
    with HttpConn(port, timeout=30) as c:
        r = c.request("GET", url)
    expect_status(r, 200, f"Prometheus API {url}")
    doc = json.loads(r.body.decode())
    assert doc.get("status") == "success", doc
    return doc["data"]


@pytest.fixture
def prometheus(tmp_path):
    procs = []

    def start(targets):
        port = free_port()
        cfg = (REPO / "docs" / "fleet" / "prometheus.yml").read_text()
        cfg = cfg.replace("@SCRAPE_INTERVAL@", "1s").replace("@TARGETS@", ", ".join(f"'{t}'" for t in targets))
        (tmp_path / "prometheus.yml").write_text(cfg)
        check = subprocess.run([PROMTOOL, "check", "config", str(tmp_path / "prometheus.yml")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        assert check.returncode == 0, check.stdout.decode(errors="replace")
        log = open(tmp_path / "prometheus.out", "wb")
        proc = subprocess.Popen([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        procs.append((proc, log))
        deadline = time.monotonic() + scaled(60)
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                assert proc.poll() is None, (tmp_path / "prometheus.out").read_text()
                assert time.monotonic() < deadline, "prometheus is not listening"
                time.sleep(0.2)

    yield start
    for proc, log in procs:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_prometheus_scrapes_both_instances(ih, prometheus):
    a, b = instance(ih, "prom-a"), instance(ih, "prom-b")
    with a, b:
        targets = {f"127.0.0.1:{s.port}": s for s in (a, b)}
        port = prometheus(list(targets))
        deadline = time.monotonic() + scaled(60)
        while True:
            active = api(port, "/api/v1/targets")["activeTargets"]
            health = {t["labels"]["instance"]: t["health"] for t in active}
            if health == {t: "up" for t in targets}:
                break
            assert time.monotonic() < deadline, f"targets not both up: {active}"
            time.sleep(0.5)

        sent = {f"127.0.0.1:{a.port}": 7, f"127.0.0.1:{b.port}": 4}
        for target, n in sent.items():
            for _ in range(n):
                expect_status(fetch(targets[target].port, "/f.txt"), 200, f"a file from {target}")
        query = 'isapihost_http_requests_total{handler="static",method="GET",code_class="2xx"}'
        deadline = time.monotonic() + scaled(60)
        while True:
            result = api(port, "/api/v1/query", query=query)["result"]
            seen = {r["metric"]["instance"]: int(float(r["value"][1])) for r in result}
            if seen == sent:
                break
            assert time.monotonic() < deadline, f"Prometheus has {seen}, the test sent {sent}"
            time.sleep(0.5)

        for s in (a, b):
            r = s.fetch(METRICS)
            expect_status(r, 200, "the metrics page")
            check = subprocess.run([PROMTOOL, "check", "metrics"], input=r.body, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=60)
            assert check.returncode == 0, check.stdout.decode(errors="replace")
