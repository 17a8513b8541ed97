/* Test extension that blocks, for the pool-growth and stuck-request tests:
 *   block&ms=N  HttpExtensionProc waits until a "release" request, or N ms
 *               (default 60 s)
 *   release   wakes every blocked call, answers how many were blocked
 *   count     answers how many calls are blocked now
 * A DLL that blocks must cost its own requests only: the pool grows up to
 * isapi_max_threads, static files and other DLLs are served meanwhile, and
 * the stuck requests are reported. */
#include <stdio.h>
#include <stdlib.h>

#include "ih_test_dll.h"

static HANDLE released;
static volatile LONG blocked;

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  strcpy(ver->lpszExtensionDesc, "IsapiHost test: block");
  released = CreateEventW(NULL, TRUE, FALSE, NULL);
  return released != NULL;
}

static void answer(EXTENSION_CONTROL_BLOCK *ecb, const char *text)
{
  char headers[96];
  snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %u\r\n\r\n", (unsigned)strlen(text));
  ih_send_headers(ecb, "200 OK", headers, TRUE);
  ih_write(ecb, text);
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  char text[64];
  if (strstr(ecb->lpszQueryString, "release")) {
    snprintf(text, sizeof text, "released=%ld\n", blocked);
    /* Wake every blocked call, then re-arm for the next test. */
    SetEvent(released);
    while (blocked > 0)
      Sleep(10);
    ResetEvent(released);
    answer(ecb, text);
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  if (strstr(ecb->lpszQueryString, "count")) {
    snprintf(text, sizeof text, "blocked=%ld\n", blocked);
    answer(ecb, text);
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  const char *ms = strstr(ecb->lpszQueryString, "ms=");
  InterlockedIncrement(&blocked);
  DWORD w = WaitForSingleObject(released, ms ? (DWORD)atol(ms + 3) : 60000);
  InterlockedDecrement(&blocked);
  answer(ecb, w == WAIT_OBJECT_0 ? "unblocked\n" : "timed out\n");
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}

IH_EXPORT BOOL WINAPI TerminateExtension(DWORD flags)
{
  (void)flags;
  SetEvent(released);
  return TRUE;
}
