/* Test filter whose GetFilterVersion fails with ERROR_ACCESS_DENIED: the
 * host must log the filter and the error, and its site answers 503
 * (on_load_error = fail) or runs without it (skip). */
#include "ih_test_flt.h"

IH_EXPORT BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *ver)
{
  (void)ver;
  SetLastError(ERROR_ACCESS_DENIED);
  return FALSE;
}

IH_EXPORT DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD type, VOID *notification)
{
  (void)pfc;
  (void)type;
  (void)notification;
  return SF_STATUS_REQ_NEXT_NOTIFICATION; /* never called */
}
