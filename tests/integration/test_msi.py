"""The MSI end to end under Wine (issue 5), each test in a fresh Wine prefix:
silent install -> the service IsapiHost runs and serves the installed sample
site (static file, the sample extension, the sample filter's header) on the
PORT given to msiexec -> the user changes the installed config -> a newer
MSI upgrades in place, keeps the change, and the service runs again with it
-> silent uninstall leaves no files, no service, no event source, no
IIS-compat values. The worker-pool programs are installed next to
isapihost.exe (the x64 package: isapihost-worker.exe and the x86 build's
worker as isapihost-worker-x86.exe, read here as a 32-bit PE file and never
run), replaced by the upgrade and removed by the uninstall. And: IIS-compat values that exist (a real IIS) are never
changed or removed; a bad PORT is refused before anything is installed.

The package is the msi target's (installer/CMakeLists.txt; CTest builds it
first, fixture installer/msi-build); the newer one is built here from the
same binaries (isapihost.exe with a higher version in its resource) with
installer/build-msi.sh (<build>/installer/msi-build.json
says how). Every prefix is a copy of a template booted once per build
directory (<build>/tests/integration/msi-prefixes/template), with its
wineserver persistent (-p) while the service must run, and killed at the end.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

from ihserver import HttpConn, build_request, expect_status, fetch, free_port, wine_env, win_path

SERVICE = "IsapiHost"
SERVICE_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\IsapiHost"
EVENT_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\IsapiHost"
W3SVC_KEY = r"HKLM\SYSTEM\CurrentControlSet\Services\W3SVC\Parameters"
# the 32-bit package's entry may be in the 32-bit view
UNINSTALL_KEYS = (r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall",
                  r"HKLM\Software\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall")
WINE32_DIR = Path("/usr/lib/i386-linux-gnu/wine")
CMD_TIMEOUT = 120  # one wine command (msiexec included)


# ---------------------------------------------------------------- set-up

def _build_dir(config):
    opt = config.getoption("--ih-build-dir")
    if opt:
        return Path(opt).resolve()
    exe = config.getoption("--ih-exe")
    for d in Path(exe).resolve().parents if exe else []:
        if (d / "CMakeCache.txt").exists():
            return d
    return Path(__file__).resolve().parents[2] / "build" / "mingw-x64"


@pytest.fixture(scope="module")
def pkg(request):
    """What the msi target built, and how to build it again."""
    build = _build_dir(request.config)
    info_path = build / "installer" / "msi-build.json"
    if not info_path.is_file():
        pytest.fail(f"{info_path} missing: configure a MinGW build (it is written by installer/CMakeLists.txt)",
                    pytrace=False)
    info = json.loads(info_path.read_text())
    if info["arch"] == "x86" and not WINE32_DIR.is_dir():
        pytest.skip("x86 MSI built but not installed: 32-bit Wine (wine32:i386) is not installed here")
    msi = Path(info["msi"])
    if not msi.is_file():
        pytest.fail(f"{msi} missing: cmake --build {build} --target msi (CTest's installer/msi-build does it)",
                    pytrace=False)
    for part in (info["exe"], info.get("worker"), info.get("worker_x86")):
        if part and Path(part).is_file() and msi.stat().st_mtime < Path(part).stat().st_mtime:
            pytest.fail(f"{msi} is older than {part}: cmake --build {build} --target msi", pytrace=False)
    for tool in ("wine", "wineserver", "wineboot"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is not on PATH (Debian: apt-get install wine wine64)", pytrace=False)
    info["build"] = build
    info["msi"] = msi
    info["x86"] = info["arch"] == "x86"
    return info


def _quiet_run(cmd, env, timeout, out_path=None):
    """Runs cmd with stdin /dev/null and output in a file (never a pipe: Wine
    system processes could inherit it). Returns (rc, output text)."""
    out_path = out_path or Path(env["WINEPREFIX"] + ".out")
    with open(out_path, "wb") as out:
        try:
            rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = None
    text = Path(out_path).read_bytes().decode("utf-8", "replace")
    if rc is None:
        raise AssertionError(f"{' '.join(map(str, cmd))} took more than {timeout} s; output:\n{text[-3000:]}")
    return rc, text


@pytest.fixture(scope="module")
def template(pkg):
    """A freshly booted prefix, made once per build directory and only copied."""
    root = pkg["build"] / "tests" / "integration" / "msi-prefixes"
    tpl = root / "template"
    if not (tpl / "system.reg").exists() or not (tpl / ".complete").exists():
        shutil.rmtree(tpl, ignore_errors=True)
        tmp = root / "template.new"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        env = wine_env(tmp)
        # wineboot --init then wait for the wineserver to exit: the prefix is
        # complete and no process of it is left (wine-notes §1).
        rc, out = _quiet_run(["wineboot", "--init"], env, 180, root / "template-boot.txt")
        _quiet_run(["wineserver", "-w"], env, 120, root / "template-wait.txt")
        if rc != 0 or not (tmp / "system.reg").exists():
            pytest.fail(f"wineboot --init failed (rc {rc}):\n{out[-2000:]}", pytrace=False)
        (tmp / ".complete").write_text("booted\n")
        tmp.rename(tpl)
    return tpl


class Prefix:
    """A copy of the template with its own persistent wineserver."""

    def __init__(self, template, path, logs):
        self.path = path
        self.logs = logs
        if path.exists():  # a server left by an earlier run must not outlive its prefix
            subprocess.run(["wineserver", "-k"], env=wine_env(path), stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        shutil.rmtree(path, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", str(template), str(path)], check=True)
        self.env = wine_env(path)
        self.n = 0
        # Persistent server (the service dies with the wineserver otherwise),
        # then a pre-boot with every descriptor on /dev/null.
        self.run(["wineserver", "-p"], check=True)
        self.run(["wine", "wineboot"], check=True)
        self.c = path / "drive_c"

    def run(self, cmd, check=False, timeout=CMD_TIMEOUT):
        self.n += 1
        rc, out = _quiet_run(cmd, self.env, timeout, self.logs / f"cmd{self.n:02d}.txt")
        if check and rc != 0:
            raise AssertionError(f"{' '.join(map(str, cmd))} exited {rc}:\n{out[-3000:]}")
        return rc, out

    def wine(self, *args, check=False, timeout=CMD_TIMEOUT):
        return self.run(["wine", *args], check=check, timeout=timeout)

    def msiexec(self, *args, log_name):
        """msiexec with a verbose log (kept in the test's files); (rc, log text)."""
        log = self.logs / log_name
        t0 = time.monotonic()
        rc, _ = self.wine("msiexec", *args, "/l*v", win_path(log))
        took = time.monotonic() - t0
        text = log.read_bytes().decode("utf-8", "replace") if log.exists() else "<no msiexec log>"
        print(f"msiexec {' '.join(args[:2])}: rc {rc} in {took:.1f} s (log {log})")
        return rc, text

    def reg_query(self, key, value=None):
        """(rc, output) of `reg query KEY [/v VALUE]`."""
        args = ["reg", "query", key] + (["/v", value] if value else [])
        return self.wine(*args)

    def reg_value(self, key, value):
        """(type, data) of a registry value, or None if it does not exist."""
        rc, out = self.reg_query(key, value)
        if rc != 0:
            return None
        m = re.search(rf"^\s*{re.escape(value)}\s+(REG_\w+)\s*(.*?)\s*$", out, re.M | re.I)
        assert m, f"unexpected reg query output for {key} /v {value}:\n{out}"
        return m.group(1), m.group(2)

    def service_state(self):
        """'RUNNING', 'STOPPED', ... or None if the service does not exist."""
        rc, out = self.wine("sc", "query", SERVICE)
        m = re.search(r"STATE\s*:\s*\d+\s+(\w+)", out)
        if rc != 0 or not m:
            return None
        return m.group(1)

    def products(self):
        """{product code: (DisplayName, DisplayVersion)} of installed IsapiHost packages."""
        found, key = {}, None
        out = "".join(self.wine("reg", "query", k, "/s")[1] for k in UNINSTALL_KEYS)
        for line in out.splitlines():
            if line.startswith("HKEY_"):
                key = line.rsplit("\\", 1)[-1].strip()
                continue
            m = re.match(r"\s+(DisplayName|DisplayVersion)\s+REG_SZ\s*(.*)$", line)
            if m and key:
                found.setdefault(key, {})[m.group(1)] = m.group(2).strip()
        return {k: (v.get("DisplayName"), v.get("DisplayVersion")) for k, v in found.items()
                if (v.get("DisplayName") or "").startswith("IsapiHost")}

    def close(self):
        # Stop the service the proper way first (its logs are flushed), then
        # kill this prefix's wineserver and everything in it.
        if self.service_state() == "RUNNING":
            self.wine("net", "stop", SERVICE, timeout=60)
        self.run(["wineserver", "-k"], timeout=60)
        shutil.rmtree(self.path, ignore_errors=True)


@pytest.fixture
def prefix(pkg, template, tmp_path, request):
    """A fresh prefix under <build>/tests/integration/msi-prefixes; the test's
    msiexec logs and command outputs go to tmp_path (kept on failure)."""
    path = template.parent / re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)
    try:
        p = Prefix(template, path, tmp_path)
    except BaseException:
        subprocess.run(["wineserver", "-k"], env=wine_env(path), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        shutil.rmtree(path, ignore_errors=True)
        raise
    yield p
    # keep what a failure needs (config, server log) next to the msiexec logs
    for rel in ("ProgramData/IsapiHost/isapihost.ini", "ProgramData/IsapiHost/logs/server.log"):
        src = p.c / rel
        if src.is_file():
            shutil.copy(src, tmp_path / ("installed-" + src.name))
    p.close()


# ---------------------------------------------------------------- helpers

def program_files(pkg, p):
    return p.c / ("Program Files (x86)" if pkg["x86"] else "Program Files") / "IsapiHost"


def software_key(pkg):
    return r"HKLM\SOFTWARE\WOW6432Node\IsapiHost" if pkg["x86"] else r"HKLM\SOFTWARE\IsapiHost"


IMAGE_FILE_MACHINE_I386, IMAGE_FILE_MACHINE_AMD64 = 0x14C, 0x8664
PE32_MAGIC, PE32_PLUS_MAGIC = 0x10B, 0x20B
IMAGE_SUBSYSTEM_WINDOWS_GUI = 2


def pe_header(path):
    """(Machine, optional header Magic, Subsystem) of a PE file, read from its
    headers ("PE Format", Microsoft Learn): e_lfanew at 0x3C, then the
    signature, the COFF header (Machine first) and the optional header
    (Magic first; Subsystem at offset 68 in PE32 and PE32+ alike)."""
    data = Path(path).read_bytes()
    assert data[:2] == b"MZ", f"{path} is not an MZ/PE file"
    (pe,) = struct.unpack_from("<I", data, 0x3C)
    assert data[pe:pe + 4] == b"PE\0\0", f"{path} has no PE signature at {pe:#x}"
    (machine,) = struct.unpack_from("<H", data, pe + 4)
    magic, = struct.unpack_from("<H", data, pe + 24)
    subsystem, = struct.unpack_from("<H", data, pe + 24 + 68)
    return machine, magic, subsystem


def workers(pkg):
    """{installed name: the build's file} of the worker-pool programs the
    package must carry (docs/pools.md, Bitness)."""
    assert pkg.get("worker"), \
        f"{pkg['build']}/installer/msi-build.json names no worker: the package does not carry isapihost-worker.exe"
    found = {"isapihost-worker.exe": pkg["worker"]}
    if not pkg["x86"]:
        assert pkg.get("worker_x86"), \
            "the x64 package was built without the x86 worker (IH_MSI_X86_WORKER=OFF, installer/CMakeLists.txt)"
        found["isapihost-worker-x86.exe"] = pkg["worker_x86"]
    return found


def check_installed_workers(pkg, pf, expected):
    """Each worker is where the service looks for it (next to isapihost.exe),
    with the bytes of expected[name], and of the bitness its name says; the
    x86 package has no isapihost-worker-x86.exe (a 32-bit service runs 32-bit
    pools only)."""
    own = (IMAGE_FILE_MACHINE_I386, PE32_MAGIC) if pkg["x86"] else (IMAGE_FILE_MACHINE_AMD64, PE32_PLUS_MAGIC)
    bitness = {"isapihost-worker.exe": own, "isapihost-worker-x86.exe": (IMAGE_FILE_MACHINE_I386, PE32_MAGIC)}
    for name, src in expected.items():
        f = pf / name
        assert f.is_file(), f"not installed: {f}"
        assert f.read_bytes() == Path(src).read_bytes(), f"{f} is not {src}"
        machine, magic, subsystem = pe_header(f)
        assert (machine, magic) == bitness[name], \
            f"{name}: Machine {machine:#x}, Magic {magic:#x}; expected {bitness[name][0]:#x}, {bitness[name][1]:#x}"
        assert subsystem == IMAGE_SUBSYSTEM_WINDOWS_GUI, f"{name}: subsystem {subsystem}, expected GUI (2)"
    if pkg["x86"]:
        assert not (pf / "isapihost-worker-x86.exe").exists(), "the x86 package installed an x86-on-x64 worker"


FIXED_FILE_INFO = b"\xbd\x04\xef\xfe\x00\x00\x01\x00"  # VS_FIXEDFILEINFO: signature, dwStrucVersion


def pe_file_version(data):
    """The file version in an exe's VERSIONINFO resource, "a.b.c.d"."""
    at = data.find(FIXED_FILE_INFO)
    assert at >= 0, "no VS_FIXEDFILEINFO: the exe has no version resource"
    minor, major, build, patch = struct.unpack_from("<4H", data, at + 8)
    return f"{major}.{minor}.{patch}.{build}"


def with_file_version(src, dst, version):
    """A copy of src whose fixed file and product versions are version
    ("a.b.c"): the exe a newer release would carry."""
    data = bytearray(Path(src).read_bytes())
    at = data.find(FIXED_FILE_INFO)
    assert at >= 0, f"{src} has no version resource"
    major, minor, patch = (int(x) for x in version.split("."))
    for field in (at + 8, at + 16):  # dwFileVersionMS/LS, dwProductVersionMS/LS
        struct.pack_into("<4H", data, field, minor, major, 0, patch)
    Path(dst).write_bytes(bytes(data))
    return dst


def newer_worker(src, dst, version):
    """A copy of a worker as a newer release would carry it: different bytes
    (the version appended after the image, where the loader never reads)."""
    Path(dst).write_bytes(Path(src).read_bytes() + f"\0IsapiHost {version}\0".encode())
    return dst


def build_msi(pkg, version, out):
    """The package of a newer release: the same binaries, isapihost.exe with
    the new version in its resource and the workers changed
    (installer/build-msi.sh). Returns (msi, {installed worker name: file})."""
    exe = with_file_version(pkg["exe"], Path(out).with_name("isapihost.exe"), version)
    new_workers = {name: newer_worker(src, Path(out).with_name(name), version) for name, src in workers(pkg).items()}
    cmd = ["bash", pkg["script"], "--arch", pkg["arch"], "--version", version, "--exe", str(exe),
           "--worker", str(new_workers["isapihost-worker.exe"]),
           "--hello", pkg["hello"], "--stamp", pkg["stamp"], "--out", str(out)]
    if "isapihost-worker-x86.exe" in new_workers:
        cmd += ["--worker-x86", str(new_workers["isapihost-worker-x86.exe"])]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"build-msi.sh failed:\n{r.stdout}\n{r.stderr}"
    return out, new_workers


def newer(version):
    major, minor, build = (int(x) for x in version.split("."))
    return f"{major}.{minor}.{build + 1}"


def wait_running(p, port, timeout=60):
    """The SCM says RUNNING and the site answers on port."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = p.service_state()
        if state == "RUNNING":
            try:
                fetch(port, "/", timeout=5)
                return
            except (OSError, AssertionError):
                pass
        time.sleep(0.5)
    log = p.c / "ProgramData" / "IsapiHost" / "logs" / "server.log"
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else "<no server log>"
    raise AssertionError(f"service {SERVICE} not serving on 127.0.0.1:{port} after {timeout} s "
                         f"(SCM state {state}); server log:\n{tail}")


def wait_closed(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fetch(port, "/", timeout=2)
        except OSError:
            return
        time.sleep(0.5)
    raise AssertionError(f"127.0.0.1:{port} still answers {timeout} s after the uninstall")


def check_sample_site(port):
    """GET /, /hello.isa and / on one connection: the static site, the sample
    extension, and the sample filter's header on every response."""
    with HttpConn(port) as c:
        for n, target in enumerate(["/", "/hello.isa", "/"], start=1):
            c.send(build_request("GET", target))
            r = c.read_response()
            expect_status(r, 200, f"installed sample site {target}")
            assert r.header("X-Sample-Filter") == f"request {n} on this connection", r.describe()
            if target == "/hello.isa":
                assert b"Hello from an ISAPI extension" in r.body, r.describe()
            else:
                assert b"<html" in r.body.lower(), r.describe()


def server_log(p):
    return (p.c / "ProgramData" / "IsapiHost" / "logs" / "server.log").read_text(errors="replace")


def assert_msi_ok(rc, log, what):
    assert rc == 0, f"{what}: msiexec exited {rc}; end of its log:\n{log[-4000:]}"


# ---------------------------------------------------------------- tests

def test_msi_preshutdown_timeout_follows_the_stop_limit(pkg):
    """The package asks Windows to wait, at system shutdown, as long as a stop
    may take (the installed config's shutdown_time_limit) plus the margin the
    stop watchdog needs to log why it ran out (service/core/preshutdown.h).
    Read from the package's MsiServiceConfig table: Wine's msiexec does not
    apply it (docs/install.md), so there is nothing to see after an install."""
    src = Path(__file__).resolve().parents[2]
    ini = (src / "installer" / "sample" / "isapihost.ini").read_text()
    limit = int(re.search(r"^shutdown_time_limit\s*=\s*(\d+)\s*$", ini, re.M).group(1))
    header = (src / "service" / "core" / "preshutdown.h").read_text()
    margin = int(re.search(r"^#define IH_PRESHUTDOWN_MARGIN_S (\d+)u?$", header, re.M).group(1))
    out = subprocess.run(["msiinfo", "export", str(pkg["msi"]), "MsiServiceConfig"], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    rows = [line.split("\t") for line in out.replace("\r", "").splitlines()]
    preshutdown = [r for r in rows if len(r) >= 5 and r[0] == "PreshutdownTimeout"]
    assert len(preshutdown) == 1, f"no PreshutdownTimeout row in MsiServiceConfig:\n{out}"
    name, config_type, argument = preshutdown[0][1], preshutdown[0][3], preshutdown[0][4]
    assert (name, config_type) == (SERVICE, "7")  # SERVICE_CONFIG_PRESHUTDOWN_INFO
    assert int(argument) == (limit + margin) * 1000, \
        f"PreshutdownTimeout {argument} ms; shutdown_time_limit {limit} s + {margin} s needs {(limit + margin) * 1000}"


def test_msi_package_carries_the_workers(pkg):
    """The File table lists the workers the package's bitness needs (the x64
    one both, the x86 one its own only), each a companion of isapihost.exe
    (its Version column is isapihost.exe's File key), so that Windows
    Installer replaces them whenever it replaces isapihost.exe."""
    out = subprocess.run(["msiinfo", "export", str(pkg["msi"]), "File"], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    rows = {r[2]: r for r in (line.split("\t") for line in out.replace("\r", "").splitlines()[3:]) if len(r) >= 5}
    names = {n for n in rows if n.startswith("isapihost-worker")}
    assert names == set(workers(pkg)), f"workers in the package: {sorted(names)}; expected {sorted(workers(pkg))}"
    for name, src in workers(pkg).items():
        assert rows[name][4] == "IsapiHostExe", f"{name}: Version {rows[name][4]!r}, expected the companion key IsapiHostExe"
        assert int(rows[name][3]) == Path(src).stat().st_size, f"{name} is not {src}"


@pytest.mark.ih_timeout(400)
def test_msi_install_upgrade_uninstall(pkg, prefix, tmp_path):
    p = prefix
    pf = program_files(pkg, p)
    data = p.c / "ProgramData" / "IsapiHost"
    ini = data / "isapihost.ini"
    port = free_port()

    # -- silent install with PORT
    rc, log = p.msiexec("/i", win_path(pkg["msi"]), "/qn", f"PORT={port}", log_name="install.log")
    assert_msi_ok(rc, log, "install")
    for f in (pf / "isapihost.exe", pf / "isapi" / "hello.dll", pf / "filters" / "stamp.dll", ini,
              data / "wwwroot" / "index.html", data / "wwwroot" / "hello.isa", data / "logs"):
        assert f.exists(), f"not installed: {f}"
    text = ini.read_bytes().decode("utf-8")
    assert re.search(rf"^bindings\s*=\s*127\.0\.0\.1:{port}\s*$", text, re.M), text
    check_installed_workers(pkg, pf, workers(pkg))
    exe_win = "C:\\Program Files (x86)\\IsapiHost\\" if pkg["x86"] else "C:\\Program Files\\IsapiHost\\"
    assert re.search(r"^dll\s*=\s*" + re.escape(exe_win + "isapi\\hello.dll") + r"\s*$", text, re.M), text

    # -- the service runs and serves the installed site
    wait_running(p, port)
    check_sample_site(port)
    log_text = server_log(p)
    assert f"running as the service {SERVICE}" in log_text, log_text[-2000:]
    assert "IH3001 filter stamp loaded from " + exe_win + "filters\\stamp.dll" in log_text, log_text[-2000:]
    image = p.reg_value(SERVICE_KEY, "ImagePath")
    assert image and image[1].endswith(
        'isapihost.exe service --name IsapiHost --config "C:\\ProgramData\\IsapiHost\\isapihost.ini"'), image
    assert p.reg_value(SERVICE_KEY, "ObjectName") == ("REG_SZ", "NT AUTHORITY\\LocalService")
    assert p.reg_value(SERVICE_KEY, "Start") == ("REG_DWORD", "0x2"), "automatic start"
    assert p.reg_value(EVENT_KEY, "EventMessageFile") == ("REG_EXPAND_SZ", exe_win + "isapihost.exe")
    assert p.reg_value(EVENT_KEY, "TypesSupported") == ("REG_DWORD", "0x7")
    assert p.reg_value(W3SVC_KEY, "MajorVersion") == ("REG_DWORD", "0x6")
    assert p.reg_value(W3SVC_KEY, "MinorVersion") == ("REG_DWORD", "0x0")
    products = p.products()
    assert [v for _, v in products.values()] == [pkg["version"]], products
    assert pe_file_version((pf / "isapihost.exe").read_bytes()) == pkg["version"] + ".0"

    # -- the user changes the installed config: a marker and a new vdir,
    #    which the running service does not know yet
    changed = text.rstrip("\r\n") + "\r\n\r\n; marker: changed after the install\r\n" \
        "[vdir Default /pics]\r\npath = wwwroot/images\r\npermissions = read\r\n"
    ini.write_bytes(changed.encode("utf-8"))
    expect_status(fetch(port, "/pics/logo.svg"), 404, "vdir added to the config, service not restarted yet")
    starts_before = server_log(p).count(" IH1001 ")

    # -- upgrade in place with a newer package built from the same source
    new_version = newer(pkg["version"])
    new_msi, new_workers = build_msi(pkg, new_version, tmp_path / f"isapihost-{new_version}-{pkg['arch']}.msi")
    rc, log = p.msiexec("/i", win_path(new_msi), "/qn", log_name="upgrade.log")
    assert_msi_ok(rc, log, "upgrade")
    assert ini.read_bytes() == changed.encode("utf-8"), "the upgrade changed the user's config"
    # the newer exe replaced the older one (its File row carries its version)
    assert pe_file_version((pf / "isapihost.exe").read_bytes()) == new_version + ".0", "the upgrade kept the old exe"
    # the workers too: an old worker next to a new service may not speak its
    # relay protocol (and the old product's removal must not take them away)
    check_installed_workers(pkg, pf, new_workers)
    products = p.products()
    assert [v for _, v in products.values()] == [new_version], \
        f"after the upgrade exactly the new version must be installed: {products}"
    wait_running(p, port)
    # the service was stopped and started again by the upgrade, and the
    # restarted one reads the kept config (the new vdir answers)
    log_text = server_log(p)
    assert log_text.count(" IH1001 ") == starts_before + 1, log_text[-3000:]
    r = fetch(port, "/pics/logo.svg")
    expect_status(r, 200, "the vdir of the kept config, after the upgrade")
    assert b"<svg" in r.body
    check_sample_site(port)
    assert (data / "logs" / "server.log").exists(), "the upgrade removed the logs"

    # -- silent uninstall: nothing left
    rc, log = p.msiexec("/x", win_path(new_msi), "/qn", log_name="uninstall.log")
    assert_msi_ok(rc, log, "uninstall")
    wait_closed(port)
    for name in new_workers:
        assert not (pf / name).exists(), f"{name} left after the uninstall"
    left = [str(f) for d in (pf, data) if d.exists() for f in [d, *d.rglob("*")]]
    assert not left, f"files left after the uninstall: {left}"
    assert p.service_state() is None, "the service still exists"
    rc, out = p.wine("sc", "query", SERVICE)
    assert rc != 0, f"sc query after the uninstall: rc {rc}\n{out}"
    for key in (SERVICE_KEY, EVENT_KEY, W3SVC_KEY, software_key(pkg)):
        rc, out = p.reg_query(key)
        assert rc != 0, f"{key} still exists after the uninstall:\n{out}"
    assert p.products() == {}, p.products()


@pytest.mark.ih_timeout(300)
def test_msi_bad_port_refused_and_iis_values_kept(pkg, prefix):
    p = prefix
    pf = program_files(pkg, p)

    # -- PORT is checked before anything happens (LaunchCondition)
    rc, log = p.msiexec("/i", win_path(pkg["msi"]), "/qn", "PORT=http", log_name="install-bad-port.log")
    # 1603 (ERROR_INSTALL_FAILURE); Wine passes on the low 8 bits of an exit code
    assert rc == 1603 & 0xFF, f"PORT=http: msiexec exited {rc}, expected 1603 & 0xFF (fatal error)\n{log[-3000:]}"
    # Wine's log does not show the LaunchCondition's message: the install
    # stops at LaunchConditions, before any action that changes the machine
    assert "Action start" in log and "LaunchConditions" in log, log[-3000:]
    assert "InstallInitialize" not in log and "InstallFiles" not in log, log[-3000:]
    assert not pf.exists() and p.service_state() is None and p.products() == {}

    # -- a machine with IIS: its W3SVC values are never changed nor removed
    for name, value in (("MajorVersion", "10"), ("MinorVersion", "0")):
        p.wine("reg", "add", W3SVC_KEY, "/v", name, "/t", "REG_DWORD", "/d", value, "/f", check=True)
    port = free_port()
    rc, log = p.msiexec("/i", win_path(pkg["msi"]), "/qn", f"PORT={port}", log_name="install.log")
    assert_msi_ok(rc, log, "install")
    wait_running(p, port)
    check_sample_site(port)
    assert p.reg_value(W3SVC_KEY, "MajorVersion") == ("REG_DWORD", "0xa")
    rc, out = p.reg_query(software_key(pkg))
    assert rc != 0, f"the install marked IIS's values as its own:\n{out}"
    rc, log = p.msiexec("/x", win_path(pkg["msi"]), "/qn", log_name="uninstall.log")
    assert_msi_ok(rc, log, "uninstall")
    wait_closed(port)
    assert p.reg_value(W3SVC_KEY, "MajorVersion") == ("REG_DWORD", "0xa"), "the uninstall touched IIS's values"
    assert p.reg_value(W3SVC_KEY, "MinorVersion") == ("REG_DWORD", "0x0"), "the uninstall touched IIS's values"
    assert not pf.exists() and not (p.c / "ProgramData" / "IsapiHost").exists()
