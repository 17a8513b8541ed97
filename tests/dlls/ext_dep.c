/* Test extension that imports from a DLL of its own, dep_helper.dll, which
 * the Windows loader finds only in the extension's own directory (the
 * search LOAD_WITH_ALTERED_SEARCH_PATH makes). Loaded from a shadow copy it
 * does not load (ERROR_MOD_NOT_FOUND), and the worker loads it in place
 * (docs/pools.md#shadow-copies). */
#include <stdio.h>

#include "ih_test_dll.h"

__declspec(dllimport) int dep_helper_answer(void); /* cdecl: one undecorated name on x86 and x64 */

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  snprintf(ver->lpszExtensionDesc, HSE_MAX_EXT_DLL_NAME_LEN, "IsapiHost test: dep %d", dep_helper_answer());
  return TRUE;
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  char body[64];
  snprintf(body, sizeof body, "dep answers %d\n", dep_helper_answer());
  if (!ih_send_headers(ecb, "200 OK", "Content-Type: text/plain\r\n\r\n", FALSE) || !ih_write(ecb, body))
    return HSE_STATUS_ERROR;
  return HSE_STATUS_SUCCESS;
}
