"""A few checks with the real curl CLI, as an independent client."""

import shutil
import subprocess

import pytest

from ihserver import write_files

HELLO = b"hello from the curl tests\n"
DIGITS = b"0123456789" * 10
POST_BODY = b"p" * 4000   # over curl's 1 KiB threshold: curl sends Expect: 100-continue


@pytest.fixture(scope="module")
def srv(ih):
    if not shutil.which("curl"):
        pytest.fail("the curl CLI is not installed (apt-get install curl)", pytrace=False)
    cfg = ih.new_config("curl")
    write_files(cfg.workdir / "www", {"hello.txt": HELLO, "digits.txt": DIGITS, "index.html": b"<p>i</p>\n"})
    with ih.start(cfg) as s:
        yield s


def curl(*args, timeout=30):
    cmd = ["curl", "-sS", "--max-time", "20", "--noproxy", "*", *map(str, args)]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"curl did not finish in {timeout} s: {' '.join(cmd)}")
    assert p.returncode == 0, f"{' '.join(cmd)} -> rc {p.returncode}\nstderr: {p.stderr.decode(errors='replace')}"
    return p


def url(srv, path):
    return f"http://127.0.0.1:{srv.port}{path}"


def header_map(text):
    out = {}
    for line in text.splitlines()[1:]:
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


def test_curl_download_to_file(srv, tmp_path):
    out = tmp_path / "hello.out"
    p = curl("-o", out, "-w", "%{http_code} %{size_download} %{content_type}", url(srv, "/hello.txt"))
    code, size, ctype = p.stdout.decode().split(" ", 2)
    assert code == "200", p.stdout
    assert int(size) == len(HELLO)
    assert ctype.startswith("text/plain"), ctype
    assert out.read_bytes() == HELLO


def test_curl_http10(srv, tmp_path):
    out, hdr = tmp_path / "b", tmp_path / "h"
    p = curl("--http1.0", "-D", hdr, "-o", out, "-w", "%{http_code}", url(srv, "/hello.txt"))
    assert p.stdout == b"200"
    assert out.read_bytes() == HELLO
    status_line = hdr.read_text().splitlines()[0]
    assert status_line.startswith("HTTP/1."), status_line
    assert header_map(hdr.read_text()).get("content-length") == str(len(HELLO))


def test_curl_range(srv, tmp_path):
    out, hdr = tmp_path / "b", tmp_path / "h"
    p = curl("-r", "10-19", "-D", hdr, "-o", out, "-w", "%{http_code}", url(srv, "/digits.txt"))
    assert p.stdout == b"206", p.stdout
    assert out.read_bytes() == DIGITS[10:20]
    assert header_map(hdr.read_text()).get("content-range") == "bytes 10-19/100"


def test_curl_head(srv):
    p = curl("-I", url(srv, "/hello.txt"))
    text = p.stdout.decode()
    assert text.splitlines()[0].startswith("HTTP/1.1 200"), text
    h = header_map(text)
    assert h.get("content-length") == str(len(HELLO)), text
    assert h.get("accept-ranges") == "bytes" and h.get("etag") and h.get("last-modified"), text
    assert HELLO.decode() not in text, "HEAD output contains the body"


def test_curl_reuses_keepalive_connection(srv, tmp_path):
    p = curl("-o", tmp_path / "a", "-o", tmp_path / "b", "-w", "%{http_code} %{num_connects}\n",
             url(srv, "/hello.txt"), url(srv, "/digits.txt"))
    lines = p.stdout.decode().split("\n")[:2]
    assert lines == ["200 1", "200 0"], f"second request should reuse the connection: {lines}"
    assert (tmp_path / "a").read_bytes() == HELLO and (tmp_path / "b").read_bytes() == DIGITS


def test_curl_404(srv):
    p = curl("-o", "/dev/null", "-w", "%{http_code}", url(srv, "/nope.txt"))
    assert p.stdout == b"404"


def test_curl_post_405_with_100_continue(srv, tmp_path):
    data = tmp_path / "data"
    data.write_bytes(POST_BODY)
    p = curl("-v", "--data-binary", f"@{data}", "-o", "/dev/null", "-w", "%{http_code}", url(srv, "/hello.txt"))
    assert p.stdout == b"405", p.stdout
    err = p.stderr.decode(errors="replace")
    if "> Expect: 100-continue" in err:
        assert "< HTTP/1.1 100 Continue" in err, f"curl sent Expect: 100-continue but got no 100:\n{err}"
