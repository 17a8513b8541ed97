"""A server behind a load balancer or a TLS-terminating proxy
(docs/deployment.md), without the proxy: the test speaks for it.

- `secure = on` on a [site]: its bindings are reached over TLS terminated in
  front, so its requests are secure for ISAPI (HTTPS=on,
  SERVER_PORT_SECURE=1) and filters registered only for
  SF_NOTIFY_SECURE_PORT run there while those only for NONSECURE_PORT do
  not; a site without it is the reverse.

The suite runs a second time with the sites in a worker pool
(integration/behind_proxy@worker): the worker comes to the same view."""

import pytest

from ihserver import expect_status, fetch, free_port, win_path


def echo_report(r):
    """ext_echo.dll's "key=value" lines as a dict."""
    return dict(line.split("=", 1) for line in r.body.decode("latin-1").splitlines() if "=" in line)


@pytest.fixture(scope="module")
def srv(ih):
    dlls = ih.build_dir / "tests" / "dlls"
    cfg = ih.new_config("behind-proxy")
    tls_port = free_port()
    main = cfg.sections["site main"]
    main["permissions"] = "read, script"
    cfg.site("tls", bindings=f"127.0.0.1:{tls_port}", root="www", permissions="read, script", secure="on")
    for site in ("main", "tls"):
        cfg.section(f"scriptmap {site} .isa").update(dll=win_path(dlls / "ext_echo.dll"), check_file="off")
    # global filters: one for secure ports only, one for non-secure ports only
    cfg.section("filter secure_only").update(dll=win_path(dlls / "flt_order_secure.dll"))
    cfg.section("filter plain_only").update(dll=win_path(dlls / "flt_order_low.dll"))
    with ih.start(cfg) as s:
        s.tls_port = tls_port
        yield s


def test_a_secure_site_is_https_for_isapi_and_its_filters(srv):

    r = fetch(srv.tls_port, "/x.isa?q")
    expect_status(r, 200, "an extension on the secure = on site")
    seen = echo_report(r)
    assert seen["https"] == "on" and seen["server_port_secure"] == "1", seen
    assert seen["server_port"] == str(srv.tls_port), seen
    orders = r.header_list("X-Filter-Order")
    assert "secure" in orders and "low" not in orders, r.describe()


def test_a_plain_site_is_not(srv):
    r = srv.fetch("/x.isa?q")
    expect_status(r, 200, "an extension on a plain site")
    seen = echo_report(r)
    assert seen["https"] == "off" and seen["server_port_secure"] == "0", seen
    assert seen["server_port"] == str(srv.port), seen
    orders = r.header_list("X-Filter-Order")
    assert "low" in orders and "secure" not in orders, r.describe()
