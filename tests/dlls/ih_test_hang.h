/* Shared by the test DLLs that hang in an entry point (ext_hang.c,
 * flt_hang.c). What hangs is chosen by the DLL's file name, so one build
 * copied under several names gives DLLs that hang in different places in
 * one server:
 *   ...hang-version...    GetExtensionVersion / GetFilterVersion
 *   ...hang-terminate...  TerminateExtension / TerminateFilter
 * A hanging entry point waits for ever, as a real DLL does that waits for a
 * session it leaked or a lock it never gets back. */
#ifndef IH_TEST_HANG_H
#define IH_TEST_HANG_H

#include <windows.h>
#include <ctype.h>
#include <string.h>

static HINSTANCE ih_hang_module;

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
  (void)reserved;
  if (reason == DLL_PROCESS_ATTACH)
    ih_hang_module = inst;
  return TRUE;
}

/* The DLL's file name (no directory), lower case. */
static inline void ih_hang_own_name(char *out, size_t cap)
{
  char path[MAX_PATH];
  DWORD n = GetModuleFileNameA(ih_hang_module, path, sizeof path);
  if (n == 0 || n >= sizeof path)
    path[0] = '\0';
  const char *name = path;
  for (const char *p = path; *p; p++)
    if (*p == '\\' || *p == '/')
      name = p + 1;
  size_t i = 0;
  for (; name[i] && i + 1 < cap; i++)
    out[i] = (char)tolower((unsigned char)name[i]);
  out[i] = '\0';
}

/* Never returns when the DLL's file name carries marker. */
static inline void ih_hang_if(const char *marker)
{
  char name[MAX_PATH];
  ih_hang_own_name(name, sizeof name);
  if (strstr(name, marker))
    for (;;)
      Sleep(INFINITE);
}

#endif
