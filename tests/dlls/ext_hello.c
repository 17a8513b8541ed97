/* Test extension: "hello" with a Content-Length, so the connection can be
 * kept. TerminateExtension records its flag in an environment variable, which
 * outlives FreeLibrary, so the host's unload can be checked. */
#include <stdio.h>

#include "ih_test_dll.h"

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  strcpy(ver->lpszExtensionDesc, "IsapiHost test: hello");
  return TRUE;
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  char body[256];
  int n = snprintf(body, sizeof body, "hello from %s %s\n", ecb->lpszMethod, ecb->lpszPathInfo);
  char headers[128];
  snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n", n);
  if (!ih_send_headers(ecb, "200 OK", headers, TRUE) || !ih_write(ecb, body))
    return HSE_STATUS_ERROR;
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}

IH_EXPORT BOOL WINAPI TerminateExtension(DWORD flags)
{
  char value[16];
  snprintf(value, sizeof value, "%lu", flags);
  SetEnvironmentVariableA("IH_TEST_EXT_HELLO_TERMINATED", value);
  return TRUE;
}
