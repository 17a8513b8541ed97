/* The pass-through ISAPI filter of the benchmark's "flt1" and "flt4"
 * targets: registered for every notification IIS 6 has, it looks at each
 * one and changes nothing, so what it measures is the cost of delivering
 * notifications (and of SEND_RAW_DATA seeing every outgoing byte), not of
 * a filter's own work. Built like any IIS filter: only httpfilt.h. */
#include <windows.h>
#include <httpfilt.h>
#include <string.h>

#define EXPORT __declspec(dllexport)

BOOL EXPORT WINAPI GetFilterVersion(HTTP_FILTER_VERSION *ver)
{
  ver->dwFilterVersion = HTTP_FILTER_REVISION;
  strcpy(ver->lpszFilterDesc, "IsapiHost benchmark: pass-through");
  ver->dwFlags = SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT |
                 SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP |
                 SF_NOTIFY_AUTHENTICATION | SF_NOTIFY_AUTH_COMPLETE | SF_NOTIFY_ACCESS_DENIED |
                 SF_NOTIFY_SEND_RESPONSE | SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_LOG | SF_NOTIFY_END_OF_REQUEST |
                 SF_NOTIFY_END_OF_NET_SESSION;
  return TRUE;
}

/* Reads one byte of whatever the notification carries, as a real filter
 * would look before deciding to pass. */
static volatile DWORD seen;

DWORD EXPORT WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD type, VOID *notification)
{
  (void)pfc;
  if ((type == SF_NOTIFY_READ_RAW_DATA || type == SF_NOTIFY_SEND_RAW_DATA) && notification) {
    HTTP_FILTER_RAW_DATA *raw = notification;
    if (raw->cbInData)
      seen += ((const BYTE *)raw->pvInData)[0];
  }
  return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

BOOL EXPORT WINAPI TerminateFilter(DWORD flags)
{
  (void)flags;
  return TRUE;
}
