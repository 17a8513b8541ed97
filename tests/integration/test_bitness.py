"""DLLs of the other bitness: the x64 server reads an extension's or a
filter's PE headers before LoadLibraryEx and refuses an x86 DLL by name
(IH2014, IH3007: its path, "x86 DLL (32-bit)", "this server process is
64-bit", and the bitness of the pool it belongs in) instead of passing on
the loader's bare Win32 error 193 (ERROR_BAD_EXE_FORMAT, IIS's
0x800700c1). The extension's request gets 500; the filter's site answers
503 (on_load_error = fail) or runs without it (skip), as for any filter
that does not load.

The x86 DLLs are the samples built by i686-w64-mingw32-gcc into
<build>/tests/dlls/other_bitness (tests/dlls/other_bitness.cmake). 32-bit
code cannot run here, and need not: the server only reads their headers.
In an x86 build the same test runs with x64 DLLs, where 32-bit programs run."""

import re

import pytest

from ihserver import expect_status, fetch, free_port, pe_machine, win_path, write_files

X64, X86 = 0x8664, 0x14C


@pytest.fixture(scope="module")
def srv(ih):
    other = ih.build_dir / "tests" / "dlls" / "other_bitness"
    ext, flt = other / "hello.dll", other / "stamp.dll"
    for dll in (ext, flt):
        if not dll.is_file():
            pytest.fail(f"other-bitness DLL not built: {dll} missing (tests/dlls/other_bitness.cmake)", pytrace=False)
    own = ih.build_dir / "isapi" / "hello.dll"  # this build's bitness: loads
    server_machine = pe_machine(ih.exe)
    assert pe_machine(ext) == pe_machine(flt) == (X86 if server_machine == X64 else X64)
    cfg = ih.new_config("bitness")
    cfg.sections["site main"]["permissions"] = "read, script"
    write_files(cfg.workdir / "www", {"a.txt": b"AAAA", "not-a-dll.dll": b"just text, named like a DLL\n"})
    cfg.section("scriptmap main .other").update(dll=win_path(ext), check_file="off")
    cfg.section("scriptmap main .own").update(dll=win_path(own), check_file="off")
    cfg.section("scriptmap main .text").update(dll=win_path(cfg.workdir / "www" / "not-a-dll.dll"), check_file="off")
    # the filter on sites of their own, so the extension's site is not 503
    port2 = free_port()
    write_files(cfg.workdir / "www2", {"a.txt": b"2222"})
    cfg.site("fail", bindings=f"127.0.0.1:{port2}", root="www2")
    cfg.site("skip", bindings=f"127.0.0.1:{port2}:skip.example", root="www2")
    cfg.section("filter stamp_fail").update(site="fail", dll=win_path(flt))
    cfg.section("filter stamp_skip").update(site="skip", dll=win_path(flt), on_load_error="skip")
    with ih.start(cfg) as s:
        s.port2 = port2
        s.bits = (64, 32) if server_machine == X64 else (32, 64)  # (server, DLLs)
        s.ext, s.flt = ext, flt
        yield s


def lines_with(lines, event):
    return [line for line in lines if f" {event} " in line]


def test_extension_of_the_other_bitness_gets_500_and_a_named_reason(srv):
    server_bits, dll_bits = srv.bits
    r = srv.fetch("/x.other")
    expect_status(r, 500, "an extension DLL of the other bitness")
    lines = srv.wait_for_log(re.compile(r" IH2014 .*hello\.dll"), "IH2014 for the other-bitness extension")
    line = lines_with(lines, "IH2014")[-1]
    assert str(win_path(srv.ext)) in line, line
    assert f"{dll_bits}-bit" in line and f"{server_bits}-bit" in line, line
    assert f"bitness = {dll_bits}" in line, f"the hint names the pool's bitness: {line}"
    assert ("x86 DLL" if dll_bits == 32 else "x64 DLL") in line, line
    assert not any("hello.dll" in l for l in lines_with(lines, "IH2002")), \
        "refused by its headers, not by LoadLibraryEx (IH2002, Win32 error 193)"


def test_the_refusal_repeats_per_request_and_other_extensions_run(srv):
    before = len(lines_with(srv.wait_for_log("IH2014"), "IH2014"))
    expect_status(srv.fetch("/y.other"), 500, "a second request: the file is read again")
    srv.wait_for_log(lambda ls: len(lines_with(ls, "IH2014")) > before, "a second IH2014")
    r = srv.fetch("/x.own")
    expect_status(r, 200, "the sample built for this bitness loads")


def test_filter_of_the_other_bitness_is_refused_with_its_consequence(srv):
    server_bits, dll_bits = srv.bits
    expect_status(fetch(srv.port2, "/a.txt"), 503, "the filter of site fail did not load (on_load_error = fail)")
    r = fetch(srv.port2, "/a.txt", host="skip.example")
    expect_status(r, 200, "on_load_error = skip serves without the filter")
    assert r.body == b"2222"
    lines = srv.wait_for_log(lambda ls: len(lines_with(ls, "IH3007")) >= 2, "IH3007 for both filters")
    found = lines_with(lines, "IH3007")
    for name, consequence in (("stamp_fail", "answers 503"), ("stamp_skip", "served without it")):
        line = next((l for l in found if f"filter {name} " in l), None)
        assert line, found
        assert str(win_path(srv.flt)) in line, line
        assert f"{dll_bits}-bit" in line and f"{server_bits}-bit" in line, line
        assert consequence in line, line
    assert not lines_with(lines, "IH3002"), "not the generic load failure"


def test_a_file_that_is_not_a_pe_image_fails_as_before_with_the_reason(srv):
    expect_status(srv.fetch("/x.text"), 500, "a text file configured as an extension")
    lines = srv.wait_for_log(re.compile(r" IH2002 .*not-a-dll\.dll"), "IH2002 for the text file")
    line = [l for l in lines_with(lines, "IH2002") if "not-a-dll.dll" in l][-1]
    assert "not a PE image" in line and "MZ" in line, line
    assert not any("not-a-dll" in l for l in lines_with(lines, "IH2014")), "not a bitness question"
