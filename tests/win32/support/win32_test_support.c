#include "win32_test_support.h"

#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <string.h>

void ih_test_dll_dir(char *out, size_t cap)
{
  char exe[MAX_PATH * 3], rel[MAX_PATH * 3];
  GetModuleFileNameA(NULL, exe, sizeof exe);
  char *slash = strrchr(exe, '\\');
  if (slash)
    *slash = '\0';
  snprintf(rel, sizeof rel, "%s\\..\\dlls", exe);
  if (!GetFullPathNameA(rel, (DWORD)cap, out, NULL))
    snprintf(out, cap, "%s", rel);
}

void ih_test_scratch_dir(char *out, size_t cap, const char *name)
{
  char temp[MAX_PATH];
  GetTempPathA(sizeof temp, temp);
  snprintf(out, cap, "%s%s_%lu", temp, name, (unsigned long)GetCurrentProcessId());
  CreateDirectoryA(out, NULL);
}

static BOOL call_extension_version(FARPROC entry, ih_dll_version_info *info)
{
  return ((PFN_GETEXTENSIONVERSION)(void (*)(void))entry)(&info->extension);
}

const ih_dll_load_kind ih_test_extension_kind = {
  .kind = "extension",
  .version_entry = "GetExtensionVersion",
  .proc_entry = "HttpExtensionProc",
  .terminate_entry = "TerminateExtension",
  .call_version = call_extension_version,
  .late_event = IH_EV_EXT_STARTUP_TIME_LIMIT,
  .late_consequence = "test",
};
