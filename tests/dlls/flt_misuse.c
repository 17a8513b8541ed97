/* Test filter that does what real filters get wrong, one thing per
 * notification, so the host's conversions and refusals can be checked
 * without a network (tests/win32/test_filter_host_win32.c):
 *   PREPROC_HEADERS  bad arguments to GetHeader/SetHeader and
 *                    ServerSupportFunction, a callback from another thread,
 *                    SF_REQ_NORMALIZE_URL; each outcome goes into one
 *                    "X-Misuse:" request header; sets pFilterContext; returns
 *                    a value that is not an SF_STATUS_TYPE
 *   READ_RAW_DATA    points pvInData at a buffer of its own
 *   SEND_RAW_DATA    claims more bytes (cbInData) than the host's buffer holds
 *   URL_MAP          fills pszPhysicalPath without a NUL
 *   AUTHENTICATION   writes a user in place, points pszPassword elsewhere
 *   AUTH_COMPLETE    GetUserToken, then CloseHandle on it ("X-Token:")
 *   ACCESS_DENIED    HANDLED when both strings are non-NULL
 *   LOG              replaces pszTarget (AllocMem), pszParameters (NULL),
 *                    pszServerName (an unreadable pointer), dwHttpStatus
 *   END_OF_REQUEST   SetLastError(4321) and SF_STATUS_REQ_ERROR when
 *                    pvNotification is NULL, as IIS passes it
 *   END_OF_NET_SESSION  an access violation
 * LateCall (exported) calls GetServerVariable through the context saved in
 * PREPROC_HEADERS, after that notification returned. */
#include "ih_test_flt.h"

static HTTP_FILTER_CONTEXT *saved_pfc;
static BOOL(WINAPI *saved_get_var)(HTTP_FILTER_CONTEXT *, LPSTR, LPVOID, LPDWORD);
static DWORD thread_error;

IH_EXPORT BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *ver)
{
  ih_flt_version(ver, "IsapiHost test: misuse",
                 SF_NOTIFY_ORDER_MEDIUM | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_READ_RAW_DATA | SF_NOTIFY_PREPROC_HEADERS |
                     SF_NOTIFY_URL_MAP | SF_NOTIFY_AUTHENTICATION | SF_NOTIFY_AUTH_COMPLETE | SF_NOTIFY_ACCESS_DENIED |
                     SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_LOG | SF_NOTIFY_END_OF_REQUEST |
                     SF_NOTIFY_END_OF_NET_SESSION);
  return TRUE;
}

/* "name=ok" or "name=<error>" appended to out. */
static void note(char *out, size_t cap, const char *name, BOOL ok)
{
  DWORD error = GetLastError();
  size_t n = strlen(out);
  if (ok)
    snprintf(out + n, cap - n, "%s%s=ok", n ? " " : "", name);
  else
    snprintf(out + n, cap - n, "%s%s=%lu", n ? " " : "", name, error);
}

static DWORD WINAPI other_thread(LPVOID arg)
{
  HTTP_FILTER_CONTEXT *pfc = arg;
  char buf[64];
  DWORD n = sizeof buf;
  SetLastError(0);
  thread_error = pfc->GetServerVariable(pfc, "SERVER_SOFTWARE", buf, &n) ? 0 : GetLastError();
  return 0;
}

IH_EXPORT DWORD WINAPI LateCall(void)
{
  char buf[64];
  DWORD n = sizeof buf;
  SetLastError(0);
  return saved_get_var(saved_pfc, "SERVER_SOFTWARE", buf, &n) ? 0 : GetLastError();
}

static DWORD preproc(HTTP_FILTER_CONTEXT *pfc, HTTP_FILTER_PREPROC_HEADERS *h)
{
  char out[512] = "";
  char buf[64];
  DWORD n = sizeof buf;
  note(out, sizeof out, "nullname", h->GetHeader(pfc, NULL, buf, &n));
  n = 100;
  note(out, sizeof out, "badbuf", h->GetHeader(pfc, "Host:", (LPVOID)16, &n));
  n = 0;
  BOOL ok = h->GetHeader(pfc, "Host:", NULL, &n);
  note(out, sizeof out, "sizequery", ok);
  snprintf(out + strlen(out), sizeof out - strlen(out), " size=%lu", n);
  n = sizeof buf;
  note(out, sizeof out, "nohdr", h->GetHeader(pfc, "X-None:", buf, &n));
  note(out, sizeof out, "nocolon", h->SetHeader(pfc, "Bad Name", "x"));
  note(out, sizeof out, "cert", pfc->ServerSupportFunction(pfc, SF_REQ_SET_CERTIFICATE_INFO, NULL, 0, 0));
  DWORD id = 0;
  note(out, sizeof out, "connid", pfc->ServerSupportFunction(pfc, SF_REQ_GET_CONNID, &id, 0, 0));
  note(out, sizeof out, "ssl", pfc->ServerSupportFunction(pfc, SF_REQ_GET_PROPERTY, &id, SF_PROPERTY_SSL_CTXT, 0));
  note(out, sizeof out, "code99", pfc->ServerSupportFunction(pfc, (enum SF_REQ_TYPE)99, NULL, 0, 0));
  note(out, sizeof out, "proxy", pfc->ServerSupportFunction(pfc, SF_REQ_SET_PROXY_INFO, NULL, 1, 0));
  char url[] = "/a/./b/../c%41";
  ok = pfc->ServerSupportFunction(pfc, SF_REQ_NORMALIZE_URL, url, 0, 0);
  note(out, sizeof out, "normalize", ok);
  snprintf(out + strlen(out), sizeof out - strlen(out), " url=%s", url);
  HANDLE th = CreateThread(NULL, 0, other_thread, pfc, 0, NULL);
  WaitForSingleObject(th, INFINITE);
  CloseHandle(th);
  snprintf(out + strlen(out), sizeof out - strlen(out), " thread=%lu", thread_error);
  saved_pfc = pfc;
  saved_get_var = pfc->GetServerVariable;
  pfc->pFilterContext = (void *)(ULONG_PTR)0x1234;
  h->AddHeader(pfc, "X-Misuse:", out);
  return 0x1234; /* not an SF_STATUS_TYPE */
}

static char raw_replacement[] = "replaced";
static char password_replacement[] = "secret";

IH_EXPORT DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD type, VOID *notification)
{
  switch (type) {
  case SF_NOTIFY_PREPROC_HEADERS:
    return preproc(pfc, notification);
  case SF_NOTIFY_READ_RAW_DATA: {
    HTTP_FILTER_RAW_DATA *raw = notification;
    raw->pvInData = raw_replacement;
    raw->cbInData = (DWORD)strlen(raw_replacement);
    raw->cbInBuffer = raw->cbInData;
    break;
  }
  case SF_NOTIFY_SEND_RAW_DATA: {
    HTTP_FILTER_RAW_DATA *raw = notification;
    raw->cbInData = raw->cbInBuffer + 100;
    break;
  }
  case SF_NOTIFY_URL_MAP: {
    HTTP_FILTER_URL_MAP *map = notification;
    memset(map->pszPhysicalPath, 'A', map->cbPathBuff);
    break;
  }
  case SF_NOTIFY_AUTHENTICATION: {
    HTTP_FILTER_AUTHENT *a = notification;
    snprintf(a->pszUser, a->cbUserBuff, "bob");
    a->pszPassword = password_replacement;
    break;
  }
  case SF_NOTIFY_AUTH_COMPLETE: {
    HTTP_FILTER_AUTH_COMPLETE_INFO *a = notification;
    HANDLE token = NULL;
    char out[64] = "";
    note(out, sizeof out, "token", a->GetUserToken(pfc, &token) && token != NULL);
    note(out, sizeof out, "close", token && CloseHandle(token));
    note(out, sizeof out, "nullptr", a->GetUserToken(pfc, NULL));
    a->AddHeader(pfc, "X-Token:", out);
    break;
  }
  case SF_NOTIFY_ACCESS_DENIED: {
    HTTP_FILTER_ACCESS_DENIED *d = notification;
    return d->pszURL && d->pszPhysicalPath ? SF_STATUS_REQ_HANDLED_NOTIFICATION : SF_STATUS_REQ_ERROR;
  }
  case SF_NOTIFY_LOG: {
    HTTP_FILTER_LOG *log = notification;
    char *target = pfc->AllocMem(pfc, 16, 0);
    if (!target)
      return SF_STATUS_REQ_ERROR;
    strcpy(target, "/replaced");
    log->pszTarget = target;
    log->pszParameters = NULL;
    log->pszServerName = (const CHAR *)16;
    log->dwHttpStatus = 299;
    break;
  }
  case SF_NOTIFY_END_OF_REQUEST:
    if (notification)
      return SF_STATUS_REQ_NEXT_NOTIFICATION;
    SetLastError(4321);
    return SF_STATUS_REQ_ERROR;
  case SF_NOTIFY_END_OF_NET_SESSION: {
    ih_test_fault(8); /* an access violation */
    break;
  }
  default:
    break;
  }
  return SF_STATUS_REQ_NEXT_NOTIFICATION;
}
