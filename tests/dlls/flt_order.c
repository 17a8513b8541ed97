/* Test filter built once per priority (tests/dlls/CMakeLists.txt:
 * flt_order_none, _high, _high2, _medium, _low, _low2), so tests can see
 * the order filters are called in: each adds its name as one more
 * "X-Filter-Order:" header to the request (PREPROC_HEADERS) and to the
 * response (SEND_RESPONSE), which GetHeader joins with ", ".
 * TerminateFilter records its flags in IH_TEST_FLT_TERMINATED_<name>, an
 * environment variable that outlives FreeLibrary. */
#include "ih_test_flt.h"

#if defined(IH_ORDER_high) || defined(IH_ORDER_high2)
#define IH_ORDER SF_NOTIFY_ORDER_HIGH
#elif defined(IH_ORDER_medium)
#define IH_ORDER SF_NOTIFY_ORDER_MEDIUM
#elif defined(IH_ORDER_low) || defined(IH_ORDER_low2)
#define IH_ORDER SF_NOTIFY_ORDER_LOW
#else
#define IH_ORDER 0 /* no priority bit: before every prioritised filter (KB Q237471) */
#endif
#ifndef IH_ORDER_NAME
#define IH_ORDER_NAME "none"
#endif

/* The kind of port it runs on: non-secure ones, or (flt_order_secure.dll)
 * only secure ones, as a filter that handles only HTTPS registers. */
#ifdef IH_SECURE_ONLY
#define IH_PORTS SF_NOTIFY_SECURE_PORT
#else
#define IH_PORTS SF_NOTIFY_NONSECURE_PORT
#endif

IH_EXPORT BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *ver)
{
  ih_flt_version(ver, "IsapiHost test: order " IH_ORDER_NAME,
                 IH_ORDER | IH_PORTS | SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_SEND_RESPONSE |
                     SF_NOTIFY_END_OF_NET_SESSION);
  return TRUE;
}

IH_EXPORT DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD type, VOID *notification)
{
  if (type == SF_NOTIFY_PREPROC_HEADERS || type == SF_NOTIFY_SEND_RESPONSE) {
    HTTP_FILTER_PREPROC_HEADERS *h = notification;
    if (!h->AddHeader(pfc, "X-Filter-Order:", IH_ORDER_NAME))
      return SF_STATUS_REQ_ERROR;
  }
  return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

IH_EXPORT BOOL WINAPI TerminateFilter(DWORD flags)
{
  char value[16];
  snprintf(value, sizeof value, "%lu", flags);
  SetEnvironmentVariableA("IH_TEST_FLT_TERMINATED_" IH_ORDER_NAME, value);
  return TRUE;
}
