/* Test extension that never returns from GetExtensionVersion or from
 * TerminateExtension, as chosen by its file name (ih_test_hang.h). A stop
 * must still finish (shutdown_time_limit) and a load must give up
 * (startup_time_limit); otherwise it answers "hang: <its file name>". */
#include <stdio.h>

#include "ih_test_dll.h"
#include "ih_test_hang.h"

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ih_hang_if("hang-version");
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  strcpy(ver->lpszExtensionDesc, "IsapiHost test: hang");
  return TRUE;
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  char name[MAX_PATH], body[MAX_PATH + 16], headers[128];
  ih_hang_own_name(name, sizeof name);
  int n = snprintf(body, sizeof body, "hang: %s\n", name);
  snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n", n);
  if (!ih_send_headers(ecb, "200 OK", headers, TRUE) || !ih_write(ecb, body))
    return HSE_STATUS_ERROR;
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}

IH_EXPORT BOOL WINAPI TerminateExtension(DWORD flags)
{
  (void)flags;
  ih_hang_if("hang-terminate");
  return TRUE;
}
