/* isapihost.exe's version resource says project(VERSION) (ih_version.h):
 * the fixed numbers Windows Installer compares on upgrade, and the strings
 * Explorer shows. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#include "ih_test.h"
#include "ih_version.h"
#include "win32_util.h"

#ifndef IH_ISAPIHOST_EXE
#error "IH_ISAPIHOST_EXE: the path of isapihost.exe (tests/win32/CMakeLists.txt)"
#endif

static const wchar_t *string_value(void *info, const wchar_t *name)
{
  wchar_t key[128];
  swprintf(key, 128, L"\\StringFileInfo\\040904B0\\%ls", name);
  void *value = NULL;
  UINT len = 0;
  return VerQueryValueW(info, key, &value, &len) && len ? value : L"";
}

int main(void)
{
  wchar_t *exe = ih_win32_path(IH_ISAPIHOST_EXE);
  DWORD ignored = 0, size = GetFileVersionInfoSizeW(exe, &ignored);
  IH_TEST("isapihost.exe has a version resource");
  if (!IH_CHECK(size > 0)) {
    ih_test_note("GetFileVersionInfoSizeW(%s): Win32 error %lu", IH_ISAPIHOST_EXE, GetLastError());
    return ih_test_finish();
  }
  void *info = malloc(size);
  IH_CHECK(GetFileVersionInfoW(exe, 0, size, info));

  IH_TEST("the fixed file and product versions are project(VERSION)");
  VS_FIXEDFILEINFO *fixed = NULL;
  UINT len = 0;
  if (IH_CHECK(VerQueryValueW(info, L"\\", (void **)&fixed, &len) && len >= sizeof *fixed)) {
    IH_EQ_INT(fixed->dwSignature, 0xFEEF04BDu);
    IH_EQ_INT(HIWORD(fixed->dwFileVersionMS), IH_VERSION_MAJOR);
    IH_EQ_INT(LOWORD(fixed->dwFileVersionMS), IH_VERSION_MINOR);
    IH_EQ_INT(HIWORD(fixed->dwFileVersionLS), IH_VERSION_PATCH);
    IH_EQ_INT(LOWORD(fixed->dwFileVersionLS), 0);
    IH_CHECK(fixed->dwProductVersionMS == fixed->dwFileVersionMS);
    IH_CHECK(fixed->dwProductVersionLS == fixed->dwFileVersionLS);
    IH_EQ_INT(fixed->dwFileType, VFT_APP);
  }

  IH_TEST("the strings Explorer shows");
  wchar_t version[32];
  swprintf(version, 32, L"%hs", IH_VERSION);
  IH_CHECK(wcscmp(string_value(info, L"FileVersion"), version) == 0);
  IH_CHECK(wcscmp(string_value(info, L"ProductVersion"), version) == 0);
  IH_CHECK(wcscmp(string_value(info, L"ProductName"), L"IsapiHost") == 0);
  IH_CHECK(wcscmp(string_value(info, L"OriginalFilename"), L"isapihost.exe") == 0);
  IH_CHECK(wcslen(string_value(info, L"FileDescription")) > 0);
  free(info);
  free(exe);
  return ih_test_finish();
}
