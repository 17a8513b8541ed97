/* Sample ISAPI filter shipped with IsapiHost: stamps every response with
 * an X-Sample-Filter header saying which request of its connection it is.
 * Shows the three things most filters do: register for notifications in
 * GetFilterVersion, keep per-connection state in pFilterContext (a plain
 * counter here, so END_OF_NET_SESSION has nothing to free), and edit the
 * response head in SEND_RESPONSE. Built like any IIS filter: httpfilt.h. */
#include <windows.h>
#include <httpfilt.h>
#include <stdio.h>
#include <string.h>

#define EXPORT __declspec(dllexport)

BOOL EXPORT WINAPI GetFilterVersion(HTTP_FILTER_VERSION *ver)
{
  ver->dwFilterVersion = HTTP_FILTER_REVISION;
  strcpy(ver->lpszFilterDesc, "IsapiHost sample: stamp");
  ver->dwFlags = SF_NOTIFY_ORDER_LOW | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_SECURE_PORT |
                 SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SEND_RESPONSE;
  return TRUE;
}

DWORD EXPORT WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD type, VOID *notification)
{
  if (type == SF_NOTIFY_PREPROC_HEADERS) {
    /* one more request on this connection */
    pfc->pFilterContext = (VOID *)((ULONG_PTR)pfc->pFilterContext + 1);
  } else if (type == SF_NOTIFY_SEND_RESPONSE) {
    HTTP_FILTER_SEND_RESPONSE *resp = notification;
    char value[64];
    snprintf(value, sizeof value, "request %lu on this connection",
             (unsigned long)(ULONG_PTR)pfc->pFilterContext);
    resp->SetHeader(pfc, "X-Sample-Filter:", value);
  }
  return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL EXPORT WINAPI TerminateFilter(DWORD flags)
{
  (void)flags;
  return TRUE;
}
