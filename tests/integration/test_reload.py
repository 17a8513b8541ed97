"""`isapihost reload --name NAME` for a foreground server (`run --name NAME`,
the way a systemd unit runs it under Wine): the configuration is read again
without dropping connections (an open one follows it from its next
request), an invalid file is refused and the running configuration stays,
an older configuration is freed once no connection uses it, and the command says clearly when nothing answers to the name."""

import subprocess

import pytest

from ihserver import HttpConn, build_request, expect_status, wine_env, write_files


def reload_cmd(ih, name):
    """`wine isapihost.exe reload --name name` in the shared prefix; output
    through files, never pipes a Wine process could inherit."""
    out_dir = ih.workdir("reload-cmd")
    with open(out_dir / "stdout.txt", "wb") as out, open(out_dir / "stderr.txt", "wb") as err:
        rc = subprocess.run(["wine", str(ih.exe), "reload", "--name", name], stdin=subprocess.DEVNULL, stdout=out,
                            stderr=err, env=wine_env(ih.prefix), timeout=60).returncode
    return rc, (out_dir / "stdout.txt").read_text(errors="replace"), (out_dir / "stderr.txt").read_text(
        errors="replace")


def generations(srv):
    st = srv.status()
    return st["config_generation"], st["config_generations_live"]


@pytest.fixture(scope="module")
def named(ih):
    cfg = ih.new_config("reload")
    name = f"IhReload{cfg.port}"
    write_files(cfg.workdir / "www", {"a.txt": b"AAAA"})
    write_files(cfg.workdir / "docs", {"d.txt": b"the new vdir"})
    s = ih.server(cfg)
    s.run_args = ["--name", name]
    with s.start() as srv:
        srv.reload_name = name
        yield srv


def test_reload_reaches_a_foreground_server(ih, named):
    srv = named
    srv.wait_for_log(f"running as {srv.reload_name}: isapihost reload --name {srv.reload_name}", timeout=20)
    expect_status(srv.fetch("/docs/d.txt"), 404, "no /docs yet")
    assert generations(srv) == (1, 1)
    with HttpConn(srv.port) as kept:
        kept.send(build_request("GET", "/a.txt"))
        expect_status(kept.read_response(), 200, "keep-alive before the reload")
        srv.config.vdir("main", "/docs", path="docs", permissions="read")
        srv.config.write()
        rc, out, err = reload_cmd(ih, srv.reload_name)
        assert rc == 0 and f"the foreground server {srv.reload_name} was asked to reload" in out, (rc, out, err)
        srv.wait_for_log("configuration reloaded (generation 2)", timeout=20)
        r = srv.fetch("/docs/d.txt")
        expect_status(r, 200, "the new vdir on a new connection")
        assert r.body == b"the new vdir"
        assert generations(srv) == (2, 2), "the idle connection still holds the first configuration"
        kept.send(build_request("GET", "/docs/d.txt"))
        r = kept.read_response()
        expect_status(r, 200, "the new vdir on the connection opened before the reload")
        assert r.body == b"the new vdir"
        assert generations(srv) == (2, 1), "its next request left the first configuration, which is freed"


def test_an_invalid_file_is_refused_and_the_running_configuration_stays(ih, named):
    srv = named
    good = srv.config.path.read_text()
    srv.config.path.write_text(good + "\r\n[vdir main /bad]\r\n")  # a vdir without a path
    try:
        rc, out, err = reload_cmd(ih, srv.reload_name)
        assert rc == 0, (rc, out, err)
        srv.wait_for_log("reload refused, the running configuration stays", timeout=20)
    finally:
        srv.config.path.write_text(good)
    expect_status(srv.fetch("/docs/d.txt"), 200, "the running configuration after a refused reload")
    assert generations(srv) == (2, 1)


def test_a_second_server_with_the_same_name_is_told(ih, named):
    cfg = ih.new_config("reload-twin")
    twin = ih.server(cfg)
    twin.run_args = ["--name", named.reload_name]
    with twin.start():
        lines = twin.wait_for_log(f"another server already runs as {named.reload_name}", "the name taken", timeout=20)
    assert "WARNING" in [ln for ln in lines if "another server already runs" in ln][0]


def test_reload_of_a_name_nothing_answers_to(ih, named):
    rc, out, err = reload_cmd(ih, "IhNobodyHere")
    assert rc == 1, (rc, out, err)
    assert "no service named IhNobodyHere is installed, and no foreground server runs as IhNobodyHere" in err, err
