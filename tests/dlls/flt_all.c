/* Test filter for end-to-end and stress tests: registered for every
 * notification, it calls every callback it may call on each one, and never
 * changes what the client gets except for headers of its own:
 *
 *   request (PREPROC_HEADERS):  X-Filter-All: 1 (SetHeader), X-Filter-All-Added: 1 (AddHeader)
 *   response (SEND_RESPONSE):   X-Filter-Trace:    the notifications of this request so far, in order
 *                               X-Filter-Previous: the whole sequence of the previous request on this
 *                                                  connection (SEND_RAW_DATA, END_OF_REQUEST, LOG included)
 *                               X-Filter-Errors:   0, or how many callbacks answered what they should not,
 *                                                  and the first of them
 *                               X-Filter-Contexts: connections whose context is live (allocated at the first
 *                                                  notification, freed at END_OF_NET_SESSION: it returns to
 *                                                  1 for a lone connection when no session was lost)
 *                               X-Filter-Seen: 1   (AddResponseHeaders in PREPROC_HEADERS)
 *
 * Each notification: GetServerVariable of REMOTE_ADDR, AUTH_TYPE (early:
 * KB 892988 crashed IIS 6), URL, HTTP_HOST and an ALL_HTTP size query;
 * AllocMem(16); WriteClient of 0 bytes; AddResponseHeaders("") before the
 * response; every SF_REQ code with arguments that leave the request alone
 * (a status SF_REQ_SEND_RESPONSE_HEADER refuses, DISABLE_NOTIFICATIONS(0),
 * SET_NEXT_READ_SIZE(0)); Get/Set/AddHeader with "method", "url",
 * "version" and "status" where the notification has them; GetUserToken
 * then CloseHandle in AUTH_COMPLETE. Always SF_STATUS_REQ_NEXT_NOTIFICATION. */
#include "ih_test_flt.h"

#define TRACE_MAX 1024

typedef struct flt_ctx {
  char trace[TRACE_MAX];
  char previous[TRACE_MAX];
  BOOL ended;       /* END_OF_REQUEST seen: the next request starts a new trace */
  unsigned errors;
  char first_error[160];
} flt_ctx;

static volatile LONG live_contexts;

static const char *name_of(DWORD type)
{
  switch (type) {
  case SF_NOTIFY_READ_RAW_DATA: return "READ_RAW_DATA";
  case SF_NOTIFY_PREPROC_HEADERS: return "PREPROC_HEADERS";
  case SF_NOTIFY_URL_MAP: return "URL_MAP";
  case SF_NOTIFY_AUTHENTICATION: return "AUTHENTICATION";
  case SF_NOTIFY_AUTH_COMPLETE: return "AUTH_COMPLETE";
  case SF_NOTIFY_ACCESS_DENIED: return "ACCESS_DENIED";
  case SF_NOTIFY_SEND_RESPONSE: return "SEND_RESPONSE";
  case SF_NOTIFY_SEND_RAW_DATA: return "SEND_RAW_DATA";
  case SF_NOTIFY_END_OF_REQUEST: return "END_OF_REQUEST";
  case SF_NOTIFY_LOG: return "LOG";
  case SF_NOTIFY_END_OF_NET_SESSION: return "END_OF_NET_SESSION";
  default: return "UNKNOWN";
  }
}

/* Built a second time without READ_RAW_DATA (name_noraw.dll), for worker
 * pools, which refuse it (docs/pools.md). */
#ifdef IH_NO_READ_RAW_DATA
#define IH_RAW_DATA_FLAG 0
#else
#define IH_RAW_DATA_FLAG SF_NOTIFY_READ_RAW_DATA
#endif

IH_EXPORT BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *ver)
{
  ih_flt_version(ver, "IsapiHost test: every notification, every callback",
                 SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT | IH_RAW_DATA_FLAG |
                     SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP | SF_NOTIFY_AUTHENTICATION |
                     SF_NOTIFY_AUTH_COMPLETE | SF_NOTIFY_ACCESS_DENIED | SF_NOTIFY_SEND_RESPONSE |
                     SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_END_OF_REQUEST | SF_NOTIFY_LOG |
                     SF_NOTIFY_END_OF_NET_SESSION);
  return TRUE;
}

/* Counts a callback answer that should not happen (GetLastError read first). */
static void expect(flt_ctx *x, BOOL ok, const char *what, DWORD type)
{
  DWORD error = GetLastError();
  if (ok)
    return;
  if (x->errors++ == 0)
    snprintf(x->first_error, sizeof x->first_error, "%s in %s (error %lu)", what, name_of(type), error);
}

static void append(char *buf, const char *s)
{
  size_t n = strlen(buf), m = strlen(s);
  if (n + m + 2 < TRACE_MAX)
    snprintf(buf + n, TRACE_MAX - n, "%s%s", n ? " " : "", s);
  else if (n + 4 < TRACE_MAX && (n < 3 || strcmp(buf + n - 3, "...") != 0))
    snprintf(buf + n, TRACE_MAX - n, "...");
}

/* GetServerVariable: TRUE, or FALSE with one of the errors allowed. */
static void variable(HTTP_FILTER_CONTEXT *pfc, flt_ctx *x, DWORD type, const char *name, DWORD allowed1, DWORD allowed2)
{
  char buf[256];
  DWORD n = sizeof buf;
  BOOL ok = pfc->GetServerVariable(pfc, (LPSTR)name, buf, &n);
  DWORD error = GetLastError();
  char what[64];
  snprintf(what, sizeof what, "GetServerVariable(%s)", name);
  SetLastError(error);
  expect(x, ok || error == allowed1 || error == allowed2 || error == ERROR_INSUFFICIENT_BUFFER, what, type);
}

static void support_functions(HTTP_FILTER_CONTEXT *pfc, flt_ctx *x, DWORD type)
{
  /* A status SF_REQ_SEND_RESPONSE_HEADER refuses: the path runs, the
   * request keeps its own response. */
  expect(x, !pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER, "bogus", 0, 0),
         "SF_REQ_SEND_RESPONSE_HEADER(bogus) accepted", type);
  if (type != SF_NOTIFY_SEND_RAW_DATA) /* not valid there (ms524985) */
    expect(x, pfc->ServerSupportFunction(pfc, SF_REQ_ADD_HEADERS_ON_DENIAL, "X-Filter-Denied: 1\r\n", 0, 0),
           "SF_REQ_ADD_HEADERS_ON_DENIAL", type);
  expect(x, pfc->ServerSupportFunction(pfc, SF_REQ_SET_NEXT_READ_SIZE, NULL, 0, 0), "SF_REQ_SET_NEXT_READ_SIZE", type);
  expect(x, pfc->ServerSupportFunction(pfc, SF_REQ_SET_PROXY_INFO, NULL, 0, 0), "SF_REQ_SET_PROXY_INFO", type);
  DWORD value = 0;
  expect(x, !pfc->ServerSupportFunction(pfc, SF_REQ_GET_CONNID, &value, 0, 0), "SF_REQ_GET_CONNID accepted", type);
  expect(x, !pfc->ServerSupportFunction(pfc, SF_REQ_SET_CERTIFICATE_INFO, NULL, 0, 0),
         "SF_REQ_SET_CERTIFICATE_INFO accepted", type);
  expect(x, pfc->ServerSupportFunction(pfc, SF_REQ_GET_PROPERTY, &value, SF_PROPERTY_INSTANCE_NUM_ID, 0),
         "SF_REQ_GET_PROPERTY(INSTANCE_NUM_ID)", type);
  BOOL ssl = pfc->ServerSupportFunction(pfc, SF_REQ_GET_PROPERTY, &value, SF_PROPERTY_SSL_CTXT, 0);
  expect(x, !ssl && GetLastError() == ERROR_NO_DATA, "SF_REQ_GET_PROPERTY(SSL_CTXT)", type);
  char url[] = "/a/./b/../c";
  expect(x, pfc->ServerSupportFunction(pfc, SF_REQ_NORMALIZE_URL, url, 0, 0) && strcmp(url, "/a/c") == 0,
         "SF_REQ_NORMALIZE_URL", type);
  expect(x, pfc->ServerSupportFunction(pfc, SF_REQ_DISABLE_NOTIFICATIONS, NULL, 0, 0),
         "SF_REQ_DISABLE_NOTIFICATIONS(0)", type);
}

/* GetHeader into a small buffer, then the exact size. */
static BOOL get_header(HTTP_FILTER_CONTEXT *pfc, HTTP_FILTER_PREPROC_HEADERS *h, const char *name, char *buf, DWORD cap)
{
  DWORD n = 0;
  if (h->GetHeader(pfc, (LPSTR)name, NULL, &n) || GetLastError() != ERROR_INSUFFICIENT_BUFFER)
    return FALSE;
  if (n > cap)
    return FALSE;
  return h->GetHeader(pfc, (LPSTR)name, buf, &n);
}

/* PREPROC_HEADERS and AUTH_COMPLETE: the request's headers. */
static void request_headers(HTTP_FILTER_CONTEXT *pfc, HTTP_FILTER_PREPROC_HEADERS *h, flt_ctx *x, DWORD type)
{
  char method[64], url[4096], version[32], host[256];
  expect(x, get_header(pfc, h, "method", method, sizeof method), "GetHeader(method)", type);
  expect(x, get_header(pfc, h, "version", version, sizeof version), "GetHeader(version)", type);
  if (get_header(pfc, h, "url", url, sizeof url))
    expect(x, h->SetHeader(pfc, "url", url), "SetHeader(url) to its own value", type);
  else
    expect(x, FALSE, "GetHeader(url)", type);
  BOOL has_host = get_header(pfc, h, "Host:", host, sizeof host);
  expect(x, has_host || GetLastError() == ERROR_INVALID_INDEX, "GetHeader(Host:)", type);
  /* a header set, read back, removed (SetHeader ""), gone */
  char v[16];
  DWORD n = sizeof v;
  expect(x, h->SetHeader(pfc, "X-Filter-Tmp:", "x"), "SetHeader(X-Filter-Tmp:)", type);
  expect(x, h->GetHeader(pfc, "X-Filter-Tmp:", v, &n) && strcmp(v, "x") == 0, "GetHeader(X-Filter-Tmp:)", type);
  expect(x, h->SetHeader(pfc, "X-Filter-Tmp:", ""), "SetHeader(X-Filter-Tmp:, \"\")", type);
  n = sizeof v;
  expect(x, !h->GetHeader(pfc, "X-Filter-Tmp:", v, &n) && GetLastError() == ERROR_INVALID_INDEX,
         "X-Filter-Tmp: still there after SetHeader \"\"", type);
  if (type == SF_NOTIFY_PREPROC_HEADERS) {
    expect(x, h->SetHeader(pfc, "X-Filter-All:", "1"), "SetHeader(X-Filter-All:)", type);
    expect(x, h->AddHeader(pfc, "X-Filter-All-Added:", "1"), "AddHeader(X-Filter-All-Added:)", type);
  }
}

static void send_response(HTTP_FILTER_CONTEXT *pfc, HTTP_FILTER_SEND_RESPONSE *h, flt_ctx *x, DWORD type)
{
  char status[256], length[32];
  if (get_header(pfc, h, "status", status, sizeof status))
    expect(x, h->SetHeader(pfc, "status", status), "SetHeader(status) to its own value", type);
  else
    expect(x, FALSE, "GetHeader(status)", type);
  BOOL has_length = get_header(pfc, h, "Content-Length:", length, sizeof length);
  expect(x, has_length || GetLastError() == ERROR_INVALID_INDEX, "GetHeader(Content-Length:)", type);
  append(x->trace, name_of(type));
  char errors[200], contexts[16];
  if (x->errors)
    snprintf(errors, sizeof errors, "%u, first: %s", x->errors, x->first_error);
  else
    snprintf(errors, sizeof errors, "0");
  snprintf(contexts, sizeof contexts, "%ld", (long)live_contexts);
  expect(x, h->AddHeader(pfc, "X-Filter-Trace:", x->trace), "AddHeader(X-Filter-Trace:)", type);
  if (x->previous[0])
    expect(x, h->AddHeader(pfc, "X-Filter-Previous:", x->previous), "AddHeader(X-Filter-Previous:)", type);
  h->AddHeader(pfc, "X-Filter-Errors:", errors);
  h->AddHeader(pfc, "X-Filter-Contexts:", contexts);
}

IH_EXPORT DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD type, VOID *notification)
{
  flt_ctx *x = pfc->pFilterContext;
  if (type == SF_NOTIFY_END_OF_NET_SESSION) {
    /* IIS passes no structure here (nor at END_OF_REQUEST) */
    if (x) {
      HeapFree(GetProcessHeap(), 0, x);
      pfc->pFilterContext = NULL;
      InterlockedDecrement(&live_contexts);
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
  }
  if (!x) {
    x = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof *x);
    if (!x)
      return SF_STATUS_REQ_NEXT_NOTIFICATION;
    pfc->pFilterContext = x;
    InterlockedIncrement(&live_contexts);
  }
  if (x->ended && (type == SF_NOTIFY_READ_RAW_DATA || type == SF_NOTIFY_PREPROC_HEADERS)) {
    /* the next request on this connection */
    memcpy(x->previous, x->trace, sizeof x->previous);
    x->trace[0] = '\0';
    x->ended = FALSE;
  }
  if (type != SF_NOTIFY_SEND_RESPONSE)
    append(x->trace, name_of(type));
  if (type == SF_NOTIFY_END_OF_REQUEST) {
    expect(x, notification == NULL, "END_OF_REQUEST with a structure", type);
    x->ended = TRUE;
  }

  variable(pfc, x, type, "REMOTE_ADDR", 0, 0);
  variable(pfc, x, type, "AUTH_TYPE", ERROR_NO_DATA, 0);
  variable(pfc, x, type, "URL", ERROR_NO_DATA, 0);
  variable(pfc, x, type, "HTTP_HOST", ERROR_NO_DATA, ERROR_INVALID_INDEX);
  DWORD size = 0;
  BOOL all = pfc->GetServerVariable(pfc, "ALL_HTTP", NULL, &size);
  expect(x, !all && (GetLastError() == ERROR_INSUFFICIENT_BUFFER || GetLastError() == ERROR_NO_DATA),
         "GetServerVariable(ALL_HTTP) size query", type);
  char *mem = pfc->AllocMem(pfc, 16, 0);
  expect(x, mem != NULL, "AllocMem(16)", type);
  if (mem)
    memcpy(mem, "flt_all", 8);
  DWORD zero = 0;
  expect(x, pfc->WriteClient(pfc, "", &zero, 0), "WriteClient(0 bytes)", type);
  support_functions(pfc, x, type);

  switch (type) {
  case SF_NOTIFY_READ_RAW_DATA:
  case SF_NOTIFY_URL_MAP:
  case SF_NOTIFY_AUTHENTICATION:
  case SF_NOTIFY_ACCESS_DENIED:
    expect(x, pfc->AddResponseHeaders(pfc, "", 0), "AddResponseHeaders(\"\")", type);
    break;
  case SF_NOTIFY_PREPROC_HEADERS:
    expect(x, pfc->AddResponseHeaders(pfc, "X-Filter-Seen: 1\r\n", 0), "AddResponseHeaders", type);
    request_headers(pfc, notification, x, type);
    break;
  case SF_NOTIFY_AUTH_COMPLETE: {
    HTTP_FILTER_AUTH_COMPLETE_INFO *a = notification;
    HANDLE token = NULL;
    expect(x, a->GetUserToken(pfc, &token) && token, "GetUserToken", type);
    if (token)
      expect(x, CloseHandle(token), "CloseHandle(GetUserToken's handle)", type);
    /* the first three members are PREPROC_HEADERS's */
    HTTP_FILTER_PREPROC_HEADERS h = { a->GetHeader, a->SetHeader, a->AddHeader, a->HttpStatus, 0 };
    request_headers(pfc, &h, x, type);
    break;
  }
  case SF_NOTIFY_SEND_RESPONSE:
    send_response(pfc, notification, x, type);
    break;
  case SF_NOTIFY_LOG: {
    HTTP_FILTER_LOG *log = notification;
    expect(x, log->pszClientHostName && log->pszClientUserName && log->pszServerName && log->pszOperation &&
                  log->pszTarget && log->pszParameters,
           "HTTP_FILTER_LOG with a NULL string", type);
    break;
  }
  default:
    break;
  }
  return SF_STATUS_REQ_NEXT_NOTIFICATION;
}
