"""A real nginx (Debian `nginx`) terminating HTTPS in front of IsapiHost,
with the server block docs/deployment.md shows (docs/fleet/nginx-site.conf)
and a certificate this test makes with openssl. nginx connects from
127.0.0.2, the one address in trusted_proxies; the test's own client is
127.0.0.1, which is not trusted.

Through nginx, an extension on a plain site sees HTTPS=on,
SERVER_PORT_SECURE=1, SERVER_PORT = nginx's TLS port and REMOTE_ADDR = the
test's client (even when the client sent an X-Forwarded-For of its own),
and a filter registered only for secure ports runs while one only for
non-secure ports does not. The same headers sent straight to IsapiHost by
the untrusted client change nothing."""

import http.client
import os
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from ihserver import expect_status, fetch, free_port, win_path

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin:/bin")
OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(NGINX is None or OPENSSL is None,
                                reason="nginx or openssl is not installed (cmake/install-deps.sh installs them)")
PROXY_ADDR = "127.0.0.2"


def echo_report(body):
    return dict(line.split("=", 1) for line in body.decode("latin-1").splitlines() if "=" in line)


@pytest.fixture(scope="module")
def stack(ih, tmp_path_factory):
    work = tmp_path_factory.mktemp("nginx")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(work / "key.pem"),
                    "-out", str(work / "cert.pem")], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)
    dlls = ih.build_dir / "tests" / "dlls"
    cfg = ih.new_config("nginx-backend")
    cfg.server["trusted_proxies"] = PROXY_ADDR
    cfg.sections["site main"]["permissions"] = "read, script"
    cfg.section("scriptmap main .isa").update(dll=win_path(dlls / "ext_echo.dll"), check_file="off")
    cfg.section("filter secure_only").update(dll=win_path(dlls / "flt_order_secure.dll"))
    cfg.section("filter plain_only").update(dll=win_path(dlls / "flt_order_low.dll"))
    tls_port = free_port()
    site = (REPO / "docs" / "fleet" / "nginx-site.conf").read_text()
    for name, value in {"UPSTREAM": f"127.0.0.1:{cfg.port}", "TLS_ADDRESS": f"127.0.0.1:{tls_port}",
                        "CERT": str(work / "cert.pem"), "KEY": str(work / "key.pem")}.items():
        site = site.replace(f"@{name}@", value)
    # the test's one addition: nginx connects from the trusted address
    site = site.replace("#@TEST_ONLY@", f"proxy_bind {PROXY_ADDR};")
    (work / "site.conf").write_text(site)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / "tmp" / d).mkdir(parents=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    (work / "nginx.conf").write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {work}/nginx.pid;\nerror_log {work}/error.log;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {work}/tmp/body;\n  proxy_temp_path {work}/tmp/proxy;\n"
        f"  fastcgi_temp_path {work}/tmp/fastcgi;\n  uwsgi_temp_path {work}/tmp/uwsgi;\n"
        f"  scgi_temp_path {work}/tmp/scgi;\n  include {work}/site.conf;\n}}\n")
    base = [NGINX, "-p", str(work), "-e", str(work / "error.log"), "-c", str(work / "nginx.conf")]
    check = subprocess.run(base + ["-t"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert check.returncode == 0, check.stdout.decode(errors="replace")
    with ih.start(cfg) as srv:
        log = open(work / "nginx.out", "wb")
        proc = subprocess.Popen(base, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", tls_port), timeout=1).close()
                    break
                except OSError:
                    assert proc.poll() is None, (work / "error.log").read_text()
                    assert time.monotonic() < deadline, "nginx is not listening"
                    time.sleep(0.1)
            context = ssl.create_default_context(cafile=str(work / "cert.pem"))
            yield srv, tls_port, context
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


def https_get(tls_port, context, target, headers=None):
    conn = http.client.HTTPSConnection("localhost", tls_port, context=context, timeout=30)
    try:
        conn.request("GET", target, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheader("X-Filter-Order") or "", r.read()
    finally:
        conn.close()


def test_through_nginx_the_request_is_https_from_the_client(stack):
    srv, tls_port, context = stack
    status, filters, body = https_get(tls_port, context, "/x.isa?q=1")
    assert status == 200, body
    seen = echo_report(body)
    assert seen["https"] == "on" and seen["server_port_secure"] == "1", seen
    assert seen["server_port"] == str(tls_port), seen
    assert seen["remote_addr"] == "127.0.0.1", seen  # the client, not nginx's 127.0.0.2
    orders = [o.strip() for o in filters.split(",")]
    assert "secure" in orders and "low" not in orders, filters


def test_what_a_client_writes_into_its_own_x_forwarded_for_is_not_taken(stack):
    srv, tls_port, context = stack
    status, _, body = https_get(tls_port, context, "/x.isa", {"X-Forwarded-For": "6.6.6.6"})
    assert status == 200, body
    assert echo_report(body)["remote_addr"] == "127.0.0.1"


def test_the_same_headers_from_an_untrusted_client_change_nothing(stack):
    srv, tls_port, context = stack
    r = fetch(srv.port, "/x.isa", headers={"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https",
                                           "X-Forwarded-Port": "443", "Forwarded": "for=6.6.6.6;proto=https"})
    expect_status(r, 200, "straight to IsapiHost, from an address not in trusted_proxies")
    seen = echo_report(r.body)
    assert seen["remote_addr"] == "127.0.0.1" and seen["https"] == "off", seen
    assert seen["server_port"] == str(srv.port), seen
    orders = r.header_list("X-Filter-Order")
    assert "low" in orders and "secure" not in orders, r.describe()
