/* The KB Q142658 regression extension ("Internet Information Server Runs
 * Out of Memory": IIS 1.0 leaked a connection object when an extension
 * returned HSE_STATUS_SUCCESS_AND_KEEP_CONN and later HSE_STATUS_SUCCESS).
 * Each request ends its session one of the ways a DLL can, chosen by the
 * query (end=...):
 *   keep            return HSE_STATUS_SUCCESS_AND_KEEP_CONN
 *   success         return HSE_STATUS_SUCCESS
 *   pending_keep    return PENDING; the async write's completion calls
 *                   DONE_WITH_SESSION(HSE_STATUS_SUCCESS_AND_KEEP_CONN)
 *   pending_success ... DONE_WITH_SESSION(HSE_STATUS_SUCCESS)
 *   pending_null    ... DONE_WITH_SESSION with a NULL status
 *   done_early      DONE_WITH_SESSION before HttpExtensionProc returns PENDING
 * Every response is 2 bytes with Content-Length, so keep-alive is possible
 * after each one. */
#include <stdint.h>
#include <stdlib.h>

#include "ih_test_dll.h"

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  strcpy(ver->lpszExtensionDesc, "IsapiHost test: KB Q142658");
  return TRUE;
}

static BOOL is(EXTENSION_CONTROL_BLOCK *ecb, const char *end)
{
  const char *q = strstr(ecb->lpszQueryString, "end=");
  size_t n = strlen(end);
  return q && strncmp(q + 4, end, n) == 0 && (q[4 + n] == '\0' || q[4 + n] == '&');
}

static const char HEAD[] = "Content-Type: text/plain\r\nContent-Length: 2\r\n\r\n";

static void WINAPI written(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD bytes, DWORD err)
{
  (void)bytes;
  DWORD status = (DWORD)(uintptr_t)ctx;
  if (err)
    status = HSE_STATUS_ERROR;
  ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, status ? &status : NULL, NULL, NULL);
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  static char body[] = "ok";
  if (!ih_send_headers(ecb, "200 OK", HEAD, TRUE))
    return HSE_STATUS_ERROR;
  DWORD n = 2;
  if (is(ecb, "keep") || is(ecb, "success")) {
    ecb->WriteClient(ecb->ConnID, body, &n, HSE_IO_SYNC);
    return is(ecb, "keep") ? HSE_STATUS_SUCCESS_AND_KEEP_CONN : HSE_STATUS_SUCCESS;
  }
  if (is(ecb, "done_early")) {
    ecb->WriteClient(ecb->ConnID, body, &n, HSE_IO_SYNC);
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, NULL, NULL, NULL);
    return HSE_STATUS_PENDING;
  }
  uintptr_t status = is(ecb, "pending_keep")      ? HSE_STATUS_SUCCESS_AND_KEEP_CONN
                     : is(ecb, "pending_success") ? HSE_STATUS_SUCCESS
                                                  : 0; /* pending_null */
  ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_IO_COMPLETION, (void *)written, NULL, (DWORD *)status);
  if (!ecb->WriteClient(ecb->ConnID, body, &n, HSE_IO_ASYNC))
    return HSE_STATUS_ERROR;
  return HSE_STATUS_PENDING;
}
