"""The README's run command serves installer/sample with the sample
extension (isapi/samples/hello.c) and the sample filter
(filters/samples/stamp.c): the same tree, DLLs and configuration here, on a
free port instead of 8080, so the README's promise is tested."""

import shutil

import pytest

from ihserver import HttpConn, IniConfig, build_request, expect_status, free_port


def load_ini(path, cfg):
    """Sections and keys of an INI file into cfg (comments dropped)."""
    section = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = cfg.section(line[1:-1])
            continue
        key, _, value = line.partition("=")
        section[key.strip()] = value.strip()


@pytest.fixture(scope="module")
def srv(ih):
    hello = ih.build_dir / "isapi" / "hello.dll"
    stamp = ih.build_dir / "filters" / "stamp.dll"
    for dll in (hello, stamp):
        if not dll.is_file():
            pytest.fail(f"sample DLL not built: {dll}", pytrace=False)
    work = ih.workdir("sample")
    shutil.copytree(ih.repo / "installer" / "sample", work, dirs_exist_ok=True)
    (work / "isapi").mkdir(exist_ok=True)
    (work / "filters").mkdir(exist_ok=True)
    shutil.copy(hello, work / "isapi" / "hello.dll")
    shutil.copy(stamp, work / "filters" / "stamp.dll")
    cfg = IniConfig(work)
    load_ini(ih.repo / "installer" / "sample" / "isapihost.ini", cfg)
    site = cfg.sections["site Default"]
    assert site["bindings"] == "127.0.0.1:8080", "the README promises 127.0.0.1:8080"
    site["bindings"] = f"127.0.0.1:{free_port()}"
    with ih.start(cfg) as s:
        yield s


def test_sample_site_extension_and_filter(srv):
    with HttpConn(srv.port) as c:
        for n, target in enumerate(["/", "/hello.isa", "/"], start=1):
            c.send(build_request("GET", target))
            r = c.read_response()
            expect_status(r, 200, f"sample {target}")
            assert r.header("X-Sample-Filter") == f"request {n} on this connection", r.describe()
    assert b"hello" in srv.fetch("/hello.isa").body.lower()
    srv.wait_for_log(lambda lines: any("IH3001 filter stamp loaded" in line for line in lines), "IH3001 for stamp")
