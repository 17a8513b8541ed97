"""What extension DLLs expect of their host, seen from inside one
(tests/dlls/ext_probe.c): Winsock already initialised in GetExtensionVersion,
the IIS version values under HKLM\\SYSTEM\\CurrentControlSet\\Services\\W3SVC\\
Parameters (created as 6.0 when missing, never changed when present, IH2009),
and thread stacks of at least 256 KB (KB Q189888) for both GetExtensionVersion
and HttpExtensionProc; and the error GetServerVariable gives for a header the
request does not carry (ERROR_INVALID_INDEX, as DLLs that ask for a list of
headers expect).

The registry is the Wine prefix's, shared with every other test module (CTest
may run them at the same time, and every server start creates missing
values). So each test sets the state it needs itself, with `wine reg`, and
deletes the W3SVC key afterwards; the tests that need *their* server to be
the one creating the values retry when another module's server got there
first."""

import subprocess
import tempfile
import time

import pytest

import ihserver
from ihserver import check_common_headers, expect_status, win_path

W3SVC_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\W3SVC"
PARAMS_KEY = W3SVC_KEY + r"\Parameters"
MIN_STACK = 256 << 10  # KB Q189888
ATTEMPTS = 3         # server starts tried by run_probe_creating
DELETE_SECONDS = 20  # how long delete_w3svc keeps trying


# ---------------------------------------------------------------- registry

def wine_reg(ih, *args):
    """`wine reg ARGS` in the harness's prefix; returns (exit code, output).
    Output goes to a file, never a pipe (wine-notes §5)."""
    with tempfile.TemporaryFile() as out:
        try:
            rc = subprocess.run(["wine", "reg", *args], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=ihserver.wine_env(ih.prefix), timeout=60).returncode
        except subprocess.TimeoutExpired:
            pytest.fail(f"wine reg {' '.join(args)} took more than 60 s", pytrace=False)
        out.seek(0)
        return rc, out.read().decode("utf-8", "replace").strip()


def delete_w3svc(ih):
    """No W3SVC key at all, as on a machine without IIS (a fresh prefix).
    Tried again until a deadline: another module's server may have
    recreated it in between, and a `wine reg` started on a loaded machine
    can end without having done anything."""
    deadline = time.monotonic() + ihserver.scaled(DELETE_SECONDS)
    tries = 0
    while True:
        tries += 1
        del_rc, del_out = wine_reg(ih, "delete", W3SVC_KEY, "/f")  # exit code 1 if it was not there
        rc, out = wine_reg(ih, "query", PARAMS_KEY)
        if rc != 0:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{PARAMS_KEY} still exists after {tries} tries of `wine reg delete {W3SVC_KEY} /f` "
                        f"(last: exit code {del_rc}, {del_out!r}):\n{out}")
        time.sleep(0.5)


def set_dword(ih, name, value):
    rc, out = wine_reg(ih, "add", PARAMS_KEY, "/v", name, "/t", "REG_DWORD", "/d", str(value), "/f")
    assert rc == 0, f"wine reg add {PARAMS_KEY} /v {name} failed ({rc}): {out}"


@pytest.fixture
def fresh_registry(ih):
    delete_w3svc(ih)
    yield
    delete_w3svc(ih)  # later tests and modules start from a machine without IIS


# ---------------------------------------------------------------- server + probe

def probe_config(ih, name):
    probe = ih.build_dir / "tests" / "dlls" / "ext_probe.dll"
    if not probe.is_file():
        pytest.fail(f"test DLLs not built: {probe} missing", pytrace=False)
    cfg = ih.new_config(name)
    cfg.sections["site main"]["permissions"] = "read, script"
    cfg.section("scriptmap main .probe").update(dll=win_path(probe), check_file="off")
    return cfg


def fields(body):
    return dict(line.split("=", 1) for line in body.decode().splitlines() if "=" in line)


def run_probe(ih, name):
    """Starts a server, asks the probe, stops the server (so its log is
    complete). Returns (probe fields, the server's IH2009 log lines)."""
    with ih.start(probe_config(ih, name)) as s:
        r = s.fetch("/env.probe")
        expect_status(r, 200, "ext_probe.dll")
        check_common_headers(r, what="ext_probe.dll")
        assert r.header("Content-Type") == "text/plain", r.describe()
        f = fields(r.body)
        for key in ("winsock_in_init", "major", "minor", "stack_init", "stack_request"):
            assert key in f, f"probe answer lacks {key}: {r.body!r}"
    lines = [ln for ln in s.server_log.read_text(errors="replace").splitlines() if " IH2009 " in ln]
    return f, lines


def created_lines(lines):
    return [ln for ln in lines if " INFO IH2009 " in ln and "created" in ln]


def run_probe_creating(ih, name, preset=()):
    """Like run_probe, after setting only `preset` [(value name, data)], until
    this server is the one that created the missing values (another module's
    server starting in the same prefix may have created them first)."""
    seen = []
    for attempt in range(ATTEMPTS):
        delete_w3svc(ih)
        for value, data in preset:
            set_dword(ih, value, data)
        f, lines = run_probe(ih, f"{name}-{attempt}")
        if created_lines(lines):
            return f, lines
        seen.append(lines)
    pytest.fail(f"in {ATTEMPTS} starts with values missing, the server never logged that it created them; "
                f"its IH2009 lines: {seen}")


# ---------------------------------------------------------------- tests

def test_dll_finds_winsock_iis_values_and_big_stacks(ih, fresh_registry):
    f, _ = run_probe(ih, "env-probe")
    assert f["winsock_in_init"] == "1", \
        f"socket() in GetExtensionVersion failed (WSAGetLastError {f.get('winsock_error')}; 10093 = WSANOTINITIALISED)"
    assert (f["major"], f["minor"]) == ("6", "0"), f"W3SVC\\Parameters as a DLL reads it: {f}"
    assert int(f["stack_init"]) >= MIN_STACK, f"GetExtensionVersion's thread reserves {f['stack_init']} bytes"
    assert int(f["stack_request"]) >= MIN_STACK, f"HttpExtensionProc's thread reserves {f['stack_request']} bytes"


def test_missing_values_are_created_and_logged(ih, fresh_registry):
    f, lines = run_probe_creating(ih, "env-create")
    assert (f["major"], f["minor"]) == ("6", "0"), f
    line = created_lines(lines)[0]
    assert "MajorVersion = 6" in line and "MinorVersion = 0" in line, line
    assert not any(" WARNING IH2009 " in ln for ln in lines), lines


def test_existing_values_are_left_alone(ih, fresh_registry):
    """A real IIS 7.5 on the machine: both values exist and stay as they are."""
    set_dword(ih, "MajorVersion", 7)
    set_dword(ih, "MinorVersion", 5)
    f, lines = run_probe(ih, "env-existing")
    assert (f["major"], f["minor"]) == ("7", "5"), f"existing values were changed: {f}"
    assert not created_lines(lines), f"nothing was missing, yet: {lines}"
    rc, out = wine_reg(ih, "query", PARAMS_KEY, "/v", "MinorVersion")
    assert rc == 0 and "0x5" in out, f"MinorVersion after the server ran: {out}"


def test_only_the_missing_value_is_created(ih, fresh_registry):
    """MinorVersion = 5 exists, MajorVersion does not: only MajorVersion is
    written, and the log names only it."""
    f, lines = run_probe_creating(ih, "env-partial", preset=[("MinorVersion", 5)])
    assert (f["major"], f["minor"]) == ("6", "5"), f"the existing MinorVersion must stay 5: {f}"
    line = created_lines(lines)[0]
    assert "MajorVersion = 6" in line and "MinorVersion" not in line, line


def test_a_header_not_sent_is_invalid_index(ih):
    """GetServerVariable of a header the request does not carry fails with
    ERROR_INVALID_INDEX (1413): a gateway DLL that asks for a list of headers
    takes 1413 as "not sent" and anything else as a failure of the request.
    ERROR_NO_DATA (232) stays for a known variable without a value (no TLS)."""
    names = ["HTTP_CONNECTION", "HEADER_X-Not-Sent", "UNICODE_HTTP_X_NOT_SENT", "CERT_SUBJECT",
             "NO_SUCH_VARIABLE", "ALL_RAW"]
    target = "/env.probe?vars=" + ",".join(names)
    with ih.start(probe_config(ih, "env-vars")) as s:
        # As curl sends it: HTTP/1.1, no Connection header (close=False adds none).
        r = s.fetch(target, close=False)
        expect_status(r, 200, "ext_probe.dll")
        f = fields(r.body)
        got = {name: f.get(f"var:{name}") for name in names}
        assert {name: got[name] for name in names[:5]} == {
            "HTTP_CONNECTION": "error:1413", "HEADER_X-Not-Sent": "error:1413",
            "UNICODE_HTTP_X_NOT_SENT": "error:1413", "CERT_SUBJECT": "error:232",
            "NO_SUCH_VARIABLE": "error:1413"}, r.body
        assert (got["ALL_RAW"] or "").startswith("ok:"), f"ALL_RAW is always there: {got['ALL_RAW']}"
        # The same names with the headers sent: their sizes, NUL included
        # (UNICODE_: bytes of UTF-16, two-byte NUL).
        r = s.fetch(target, headers=[("X-Not-Sent", "v")])  # Connection: close
        f = fields(r.body)
        assert [f.get(f"var:{name}") for name in names[:3]] == ["ok:6", "ok:2", "ok:4"], r.body
