/* Test filter that never returns from GetFilterVersion or from
 * TerminateFilter, as chosen by its file name (ih_test_hang.h). Loaded, it
 * stamps every response with "X-Hang-Filter: <its file name>". */
#include "ih_test_flt.h"
#include "ih_test_hang.h"

IH_EXPORT BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *ver)
{
  ih_hang_if("hang-version");
  ih_flt_version(ver, "IsapiHost test: hang",
                 SF_NOTIFY_ORDER_LOW | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_SECURE_PORT | SF_NOTIFY_SEND_RESPONSE);
  return TRUE;
}

IH_EXPORT DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD type, VOID *notification)
{
  if (type == SF_NOTIFY_SEND_RESPONSE) {
    char name[MAX_PATH];
    ih_hang_own_name(name, sizeof name);
    ((HTTP_FILTER_SEND_RESPONSE *)notification)->SetHeader(pfc, "X-Hang-Filter:", name);
  }
  return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

IH_EXPORT BOOL WINAPI TerminateFilter(DWORD flags)
{
  (void)flags;
  ih_hang_if("hang-terminate");
  return TRUE;
}
