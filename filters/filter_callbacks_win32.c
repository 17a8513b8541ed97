/* The callbacks a filter gets: HTTP_FILTER_CONTEXT's five, and
 * GetHeader/SetHeader/AddHeader/GetUserToken of the header notifications.
 *
 * Each first finds the call it belongs to (enter): only the call running
 * on this thread is honoured, so a filter calling after its notification
 * returned, or from a thread of its own, gets FALSE with
 * ERROR_INVALID_PARAMETER and never reaches a connection that may be gone.
 * Then every pointer argument is probed under the crash guard before use
 * (as the ECB callbacks do, isapi/isapi_ecb_win32.c): a wrong argument
 * costs the filter an error, never the server its life. What the callbacks
 * do to the connection is the portable half's (ih_filter_cb_*). */
#include "filters/filter_call_win32.h"

#include <stdlib.h>
#include <string.h>

#include "core/server_log.h"
#include "filters/filter_headers.h"
#include "isapi/shared/isapi_guard_win32.h"
#include "isapi/shared/isapi_map.h"
#include "isapi/shared/isapi_vars.h"

#define NAME_MAX_LEN 1024            /* longest variable or header name looked at */
#define TEXT_MAX_LEN IH_HDR_BYTES_MAX /* longest header text or value looked at */
#define URL_MAX_LEN (1u << 20)       /* as HSE_REQ_NORMALIZE_URL (isapi_map_win32.c) */

__thread flt_call *flt_current;

static volatile LONG stale_logged;

/* The call pfc belongs to, or NULL (FALSE + ERROR_INVALID_PARAMETER set). */
static flt_call *enter(HTTP_FILTER_CONTEXT *pfc, const char *what)
{
  flt_call *k = flt_current;
  if (k && pfc == k->pfc)
    return k;
  /* A filter may pass a copy of its HTTP_FILTER_CONTEXT: the same
   * ServerContext makes it the same call. */
  if (k && pfc && ih_isapi_readable(pfc, sizeof *pfc) && pfc->ServerContext == k)
    return k;
  /* Nothing safe identifies the filter here, so this is reported once per
   * process rather than per filter. */
  if (InterlockedExchange(&stale_logged, 1) == 0)
    ih_log(IH_LOG_WARNING, IH_EV_FILTER_MISUSE,
           "a filter called %s with an HTTP_FILTER_CONTEXT that is not the current notification's (after its "
           "notification returned, or from another thread); it got FALSE with ERROR_INVALID_PARAMETER (reported once)",
           what);
  SetLastError(ERROR_INVALID_PARAMETER);
  return NULL;
}

static BOOL fail(DWORD error)
{
  SetLastError(error);
  return FALSE;
}

static BOOL bad_pointer(flt_call *k, const char *what)
{
  flt_misuse(k, FLT_MISUSE_BAD_POINTER, "%s", what);
  return fail(ERROR_INVALID_PARAMETER);
}

/* ---- HTTP_FILTER_CONTEXT ---- */

/* Same contract as the extension's GetServerVariable (ms524517 for
 * filters): size query with a NULL buffer, ERROR_INSUFFICIENT_BUFFER with
 * the size, ERROR_INVALID_INDEX for an unknown name and for a header the
 * request does not carry, ERROR_NO_DATA for one not known yet in this
 * notification (docs/compatibility.md, "Server variables"). The value goes
 * into our memory first, then one guarded copy into the filter's. */
BOOL WINAPI flt_cb_get_server_variable(HTTP_FILTER_CONTEXT *pfc, LPSTR name, LPVOID buf, LPDWORD size)
{
  flt_call *k = enter(pfc, "GetServerVariable");
  if (!k)
    return FALSE;
  size_t name_len;
  if (!ih_isapi_string(name, NAME_MAX_LEN, &name_len) || !ih_isapi_writable(size, sizeof *size))
    return bad_pointer(k, "GetServerVariable with an unreadable name or size pointer");
  uint32_t need = 0;
  int st = ih_filter_cb_server_variable(k->c, name, NULL, &need);
  if (st == IH_VAR_OK) { /* nothing to copy (not expected for a size query) */
    *size = need;
    return TRUE;
  }
  if (st == IH_VAR_INSUFFICIENT_BUFFER && buf && *size >= need) {
    char *value = malloc(need ? need : 1);
    if (!value)
      return fail(ERROR_NOT_ENOUGH_MEMORY);
    uint32_t n = need;
    st = ih_filter_cb_server_variable(k->c, name, value, &n);
    BOOL ok = FALSE;
    if (st != IH_VAR_OK)
      SetLastError(ERROR_NOT_ENOUGH_MEMORY); /* the value changed between the two calls: not expected */
    else if (!ih_isapi_writable(buf, n))
      bad_pointer(k, "GetServerVariable with an unwritable buffer");
    else {
      memcpy(buf, value, n);
      *size = n;
      ok = TRUE;
    }
    free(value);
    return ok;
  }
  if (st == IH_VAR_INSUFFICIENT_BUFFER) {
    *size = need; /* a size query (NULL buffer) or too small: nothing written */
    return fail(ERROR_INSUFFICIENT_BUFFER);
  }
  return fail(st == IH_VAR_NO_DATA ? ERROR_NO_DATA : ERROR_INVALID_INDEX);
}

/* "Name: value\r\n" lines for the next response head (ms524503 pt-br). */
BOOL WINAPI flt_cb_add_response_headers(HTTP_FILTER_CONTEXT *pfc, LPSTR headers, DWORD reserved)
{
  (void)reserved;
  flt_call *k = enter(pfc, "AddResponseHeaders");
  if (!k)
    return FALSE;
  size_t len;
  if (!ih_isapi_string(headers, TEXT_MAX_LEN, &len))
    return bad_pointer(k, "AddResponseHeaders with an unreadable or unterminated text");
  if (ih_filter_cb_add_response_headers(k->fc, headers) != 0) {
    flt_misuse(k, FLT_MISUSE_REFUSED, "AddResponseHeaders refused a text that is not \"Name: value\\r\\n\" lines");
    return fail(ERROR_INVALID_PARAMETER);
  }
  return TRUE;
}

/* Queued: it goes out when the notification returns (filter_chain.h). */
BOOL WINAPI flt_cb_write_client(HTTP_FILTER_CONTEXT *pfc, LPVOID buf, LPDWORD bytes, DWORD reserved)
{
  (void)reserved;
  flt_call *k = enter(pfc, "WriteClient");
  if (!k)
    return FALSE;
  if (!ih_isapi_writable(bytes, sizeof *bytes) || (*bytes && (!buf || !ih_isapi_readable(buf, *bytes))))
    return bad_pointer(k, "WriteClient with an unreadable buffer or byte count");
  if (ih_filter_cb_write(k->fc, buf, *bytes) != 0)
    return fail(ERROR_NOT_ENOUGH_MEMORY); /* the only reason the queue refuses bytes */
  return TRUE;
}

/* Freed with the connection, not the request (reference section 2.8). */
VOID *WINAPI flt_cb_alloc_mem(HTTP_FILTER_CONTEXT *pfc, DWORD size, DWORD reserved)
{
  (void)reserved;
  flt_call *k = enter(pfc, "AllocMem");
  if (!k)
    return NULL;
  void *p = ih_filter_cb_alloc(k->fc, size);
  if (!p)
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
  return p;
}

/* ---- ServerSupportFunction (ms524500) ---- */

static BOOL read_text(flt_call *k, const void *p, size_t max, const char *what)
{
  size_t len;
  if (!ih_isapi_string(p, max, &len))
    return bad_pointer(k, what);
  return TRUE;
}

static BOOL refuse_code(flt_call *k, DWORD req, const char *name, DWORD error, const char *why)
{
  flt_misuse(k, FLT_MISUSE_SSF_BASE + (req < FLT_MISUSE_SSF_OTHER - FLT_MISUSE_SSF_BASE ? req : FLT_MISUSE_SSF_OTHER - FLT_MISUSE_SSF_BASE),
             "ServerSupportFunction %lu (%s) is not offered: %s; it returned FALSE with Win32 error %lu",
             (unsigned long)req, name, why, (unsigned long)error);
  return fail(error);
}

BOOL WINAPI flt_cb_server_support_function(HTTP_FILTER_CONTEXT *pfc, enum SF_REQ_TYPE sf_req, PVOID data, ULONG_PTR ul1,
                                           ULONG_PTR ul2)
{
  (void)ul2;
  flt_call *k = enter(pfc, "ServerSupportFunction");
  if (!k)
    return FALSE;
  DWORD req = (DWORD)sf_req; /* any number may arrive, not only the enum's */
  switch (req) {
  case SF_REQ_SEND_RESPONSE_HEADER: {
    /* pData: the status ("401 Access Denied"; NULL: "200 OK"), ul1: header
     * lines or 0 (ms525219); once per request. */
    const char *status = data, *headers = (const char *)ul1;
    if (status && !read_text(k, status, NAME_MAX_LEN, "SF_REQ_SEND_RESPONSE_HEADER with an unreadable status"))
      return FALSE;
    if (headers && !read_text(k, headers, TEXT_MAX_LEN, "SF_REQ_SEND_RESPONSE_HEADER with unreadable headers"))
      return FALSE;
    if (ih_filter_cb_send_response_header(k->c, k->fc, status, headers) != 0) {
      flt_misuse(k, FLT_MISUSE_REFUSED, "SF_REQ_SEND_RESPONSE_HEADER refused (a second head for the request, or a "
                                        "malformed status or header lines)");
      return fail(ERROR_INVALID_PARAMETER);
    }
    return TRUE;
  }
  case SF_REQ_ADD_HEADERS_ON_DENIAL:
    if (!read_text(k, data, TEXT_MAX_LEN, "SF_REQ_ADD_HEADERS_ON_DENIAL with an unreadable text"))
      return FALSE;
    if (ih_filter_cb_add_headers_on_denial(k->fc, data) != 0) {
      flt_misuse(k, FLT_MISUSE_REFUSED, "SF_REQ_ADD_HEADERS_ON_DENIAL refused a text that is not header lines");
      return fail(ERROR_INVALID_PARAMETER);
    }
    return TRUE;
  case SF_REQ_SET_NEXT_READ_SIZE:
    ih_filter_cb_set_next_read_size(k->fc, ul1 > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)ul1);
    return TRUE;
  case SF_REQ_SET_PROXY_INFO:
    return TRUE; /* a proxy flag for IIS's own bookkeeping; nothing here depends on it */
  case SF_REQ_GET_CONNID:
    /* Not supported by IIS 4.0 and later: it "will return 0" (FALSE) (TMG
     * ServerSupportFunction ff827482; IIS 6 SDK ms525742). No page names
     * the error; ERROR_INVALID_PARAMETER is what ms524500 lists for a
     * request the server does not take (unverified against IIS). */
    return refuse_code(k, req, "SF_REQ_GET_CONNID", ERROR_INVALID_PARAMETER, "IIS 4.0 and later do not support it");
  case SF_REQ_GET_PROPERTY:
    if (ul1 == SF_PROPERTY_INSTANCE_NUM_ID) {
      /* The site's id, 0 while the site is not known (before
       * PREPROC_HEADERS: ms525773). */
      if (!ih_isapi_writable(data, sizeof(DWORD)))
        return bad_pointer(k, "SF_REQ_GET_PROPERTY with an unwritable DWORD");
      *(DWORD *)data = ih_filter_cb_instance_id(k->c);
      return TRUE;
    }
    if (ul1 == SF_PROPERTY_SSL_CTXT)
      return fail(ERROR_NO_DATA); /* no TLS here: there is no SSL context */
    return fail(ERROR_INVALID_PARAMETER);
  case SF_REQ_NORMALIZE_URL: {
    /* In place: the router's canonicaliser, whose result is never longer
     * than its input; on error the buffer is untouched (isapi_map.h). */
    size_t len;
    if (!data)
      return fail(ERROR_INVALID_PARAMETER);
    if (!ih_isapi_string(data, URL_MAX_LEN, &len) || !ih_isapi_writable(data, len + 1))
      return bad_pointer(k, "SF_REQ_NORMALIZE_URL with a URL that cannot be read and written in place");
    switch (ih_isapi_normalize_url(data, len + 1, NULL)) {
    case IH_MAP_OK: return TRUE;
    case IH_MAP_INSUFFICIENT_BUFFER: return fail(ERROR_INSUFFICIENT_BUFFER);
    case IH_MAP_NOT_FOUND: return fail(ERROR_PATH_NOT_FOUND);
    case IH_MAP_BAD_URL:
    default: return fail(ERROR_INVALID_PARAMETER);
    }
  }
  case SF_REQ_DISABLE_NOTIFICATIONS:
    /* ul1: the SF_NOTIFY_* bits, for the rest of this request (ms525498). */
    ih_filter_cb_disable(k->fc, k->f, (uint32_t)ul1);
    return TRUE;
  case SF_REQ_SET_CERTIFICATE_INFO:
    return refuse_code(k, req, "SF_REQ_SET_CERTIFICATE_INFO", ERROR_INVALID_PARAMETER, "there is no TLS here");
  default:
    return refuse_code(k, req, "unknown", ERROR_INVALID_PARAMETER, "not an SF_REQ_TYPE");
  }
}

/* ---- GetHeader, SetHeader, AddHeader (ms525690, ms525099, ms525116) ---- */

/* The header object of the current notification, or NULL (logged, error set). */
static ih_hdr_block *block_of(flt_call *k, const char *what)
{
  if ((k->type == IH_SF_NOTIFY_PREPROC_HEADERS || k->type == IH_SF_NOTIFY_SEND_RESPONSE ||
       k->type == IH_SF_NOTIFY_AUTH_COMPLETE) &&
      k->payload && ((ih_fn_headers *)k->payload)->block)
    return ((ih_fn_headers *)k->payload)->block;
  flt_misuse(k, FLT_MISUSE_WRONG_TIME,
             "%s called outside PREPROC_HEADERS, SEND_RESPONSE and AUTH_COMPLETE (through a saved pointer); refused",
             what);
  fail(ERROR_INVALID_PARAMETER);
  return NULL;
}

static BOOL hdr_result(enum ih_hdr_status st)
{
  switch (st) {
  case IH_HDR_OK: return TRUE;
  case IH_HDR_INSUFFICIENT_BUFFER: return fail(ERROR_INSUFFICIENT_BUFFER);
  case IH_HDR_INVALID_INDEX: return fail(ERROR_INVALID_INDEX);
  case IH_HDR_NO_MEMORY: return fail(ERROR_NOT_ENOUGH_MEMORY);
  case IH_HDR_INVALID_PARAMETER:
  default: return fail(ERROR_INVALID_PARAMETER);
  }
}

/* GetServerVariable's size rules; a NULL or unreadable name fails cleanly
 * with ERROR_INVALID_PARAMETER. */
BOOL WINAPI flt_cb_get_header(HTTP_FILTER_CONTEXT *pfc, LPSTR name, LPVOID buf, LPDWORD size)
{
  flt_call *k = enter(pfc, "GetHeader");
  if (!k)
    return FALSE;
  ih_hdr_block *b = block_of(k, "GetHeader");
  if (!b)
    return FALSE;
  size_t name_len;
  if (!name)
    return fail(ERROR_INVALID_PARAMETER);
  if (!ih_isapi_string(name, NAME_MAX_LEN, &name_len) || !ih_isapi_writable(size, sizeof *size))
    return bad_pointer(k, "GetHeader with an unreadable name or size pointer");
  uint32_t need = 0;
  enum ih_hdr_status st = ih_hdr_get(b, name, NULL, &need);
  if (st != IH_HDR_INSUFFICIENT_BUFFER)
    return hdr_result(st);
  if (!buf || *size < need) {
    *size = need;
    return fail(ERROR_INSUFFICIENT_BUFFER);
  }
  char *value = malloc(need ? need : 1);
  if (!value)
    return fail(ERROR_NOT_ENOUGH_MEMORY);
  uint32_t n = need;
  BOOL ok = FALSE;
  st = ih_hdr_get(b, name, value, &n);
  if (st != IH_HDR_OK)
    hdr_result(st);
  else if (!ih_isapi_writable(buf, n))
    bad_pointer(k, "GetHeader with an unwritable buffer");
  else {
    memcpy(buf, value, n);
    *size = n;
    ok = TRUE;
  }
  free(value);
  return ok;
}

static BOOL set_or_add(HTTP_FILTER_CONTEXT *pfc, LPSTR name, LPSTR value, BOOL add)
{
  const char *what = add ? "AddHeader" : "SetHeader";
  flt_call *k = enter(pfc, what);
  if (!k)
    return FALSE;
  ih_hdr_block *b = block_of(k, what);
  if (!b)
    return FALSE;
  if (!name || !value)
    return fail(ERROR_INVALID_PARAMETER);
  size_t len;
  if (!ih_isapi_string(name, NAME_MAX_LEN, &len) || !ih_isapi_string(value, TEXT_MAX_LEN + 1, &len))
    return bad_pointer(k, add ? "AddHeader with an unreadable name or value" : "SetHeader with an unreadable name or value");
  return hdr_result(add ? ih_hdr_add(b, name, value) : ih_hdr_set(b, name, value));
}

BOOL WINAPI flt_cb_set_header(HTTP_FILTER_CONTEXT *pfc, LPSTR name, LPSTR value) { return set_or_add(pfc, name, value, FALSE); }
BOOL WINAPI flt_cb_add_header(HTTP_FILTER_CONTEXT *pfc, LPSTR name, LPSTR value) { return set_or_add(pfc, name, value, TRUE); }

/* ---- GetUserToken (AUTH_COMPLETE) ---- */

static HANDLE process_token; /* the process's identity as an impersonation token; ours */
static INIT_ONCE token_once = INIT_ONCE_STATIC_INIT;

static BOOL CALLBACK make_token(INIT_ONCE *once, void *param, void **ctx)
{
  (void)once;
  (void)param;
  (void)ctx;
  HANDLE primary;
  if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY | TOKEN_DUPLICATE | TOKEN_IMPERSONATE, &primary)) {
    if (!DuplicateToken(primary, SecurityImpersonation, &process_token))
      process_token = NULL;
    CloseHandle(primary);
  }
  return TRUE;
}

void flt_token_init(void) { InitOnceExecuteOnce(&token_once, make_token, NULL, NULL); }

/* "A copy of the impersonation token" (ms525664): requests are anonymous
 * and run as the server's account, so it is that identity. Each call gets
 * its own handle (DuplicateHandle), which the filter owns and must close
 * with CloseHandle (as the TMG documentation of GetUserToken says). */
BOOL WINAPI flt_cb_get_user_token(HTTP_FILTER_CONTEXT *pfc, HANDLE *token)
{
  flt_call *k = enter(pfc, "GetUserToken");
  if (!k)
    return FALSE;
  if (k->type != IH_SF_NOTIFY_AUTH_COMPLETE) {
    flt_misuse(k, FLT_MISUSE_WRONG_TIME, "GetUserToken called outside AUTH_COMPLETE (through a saved pointer); refused");
    return fail(ERROR_INVALID_PARAMETER);
  }
  if (!ih_isapi_writable(token, sizeof *token))
    return bad_pointer(k, "GetUserToken with an unwritable handle pointer");
  flt_token_init();
  if (!process_token)
    return fail(ERROR_NO_TOKEN);
  HANDLE copy;
  if (!DuplicateHandle(GetCurrentProcess(), process_token, GetCurrentProcess(), &copy, 0, FALSE,
                       DUPLICATE_SAME_ACCESS))
    return FALSE; /* DuplicateHandle's error */
  *token = copy;
  return TRUE;
}
