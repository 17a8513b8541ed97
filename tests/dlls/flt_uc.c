/* Test filter written the way real IIS filters are: in SF_NOTIFY_URL_MAP it
 * looks for the directory "\uc\" in pszPhysicalPath (splitting on '\', as
 * IIS writes physical paths) and serves that request from "\lc\" instead,
 * rewriting the path in place. When it rewrote a path it tells the client
 * what it was handed, in "X-Uc-Seen: <pszPhysicalPath as received>"
 * (AddResponseHeaders). Any other path is left alone, without a trace. */
#include "ih_test_flt.h"

IH_EXPORT BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *ver)
{
  ih_flt_version(ver, "IsapiHost test: \\uc\\ -> \\lc\\",
                 SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_URL_MAP);
  return TRUE;
}

IH_EXPORT DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD type, LPVOID notification)
{
  if (type != SF_NOTIFY_URL_MAP)
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
  HTTP_FILTER_URL_MAP *m = notification;
  char *uc = strstr(m->pszPhysicalPath, "\\uc\\");
  if (!uc)
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
  char header[600];
  snprintf(header, sizeof header, "X-Uc-Seen: %.512s\r\n", m->pszPhysicalPath);
  pfc->AddResponseHeaders(pfc, header, 0);
  memcpy(uc, "\\lc\\", 4); /* same length: in place, within cbPathBuff */
  return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

IH_EXPORT BOOL WINAPI TerminateFilter(DWORD flags)
{
  (void)flags;
  return TRUE;
}
