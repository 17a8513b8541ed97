/* HSE_REQ_EXEC_URL and EXEC_UNICODE_URL (IIS 6 SDK ms525925, ms525511):
 * an extension runs a child request on its own connection, asynchronously;
 * GET_EXEC_URL_STATUS reports the child's status afterwards. Also
 * HSE_REQ_SEND_CUSTOM_ERROR, which answers with the site's error page.
 *
 * The child is parsed and routed like a request from the wire (a URL the
 * router would refuse gets the router's answer). An extension child is a
 * session of its own, on the same connection; anything else (a file, a
 * directory, an error) is answered by the server as one connection
 * operation. Either way the parent counts the child as a callback in
 * progress (its gate), so the parent's session cannot end while its child
 * still writes; when the child is done, the parent's completion callback
 * runs on the pool with cbIO 0 and the parent may go on.
 *
 * Nesting is bounded by isapi_exec_depth (IIS 7 answers a runaway recursion
 * with ERROR_STACK_OVERFLOW, ms693616); a wildcard map that hands a request
 * on without HSE_EXEC_URL_IGNORE_CURRENT_INTERCEPTOR meets that bound. */
#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isapi/isapi_async_win32.h"
#include "isapi/isapi_call_win32.h"
#include "isapi/isapi_exec_win32.h"
#include "isapi/shared/isapi_guard_win32.h"
#include "isapi/shared/isapi_response.h"

#define URL_MAX 8192      /* longest child URL we take from a DLL */
#define HEADERS_MAX 65536 /* longest child header block */
#define ENTITY_MAX (64u << 20)

static unsigned max_depth = 8;

void isapi_exec_configure(unsigned exec_depth) { max_depth = exec_depth ? exec_depth : 1; }

/* The parent's EXEC_URL is over: status for GET_EXEC_URL_STATUS, the
 * parent's completion queued, its gate count given back. */
static void exec_finished(isapi_call *parent, int status, DWORD win32_error)
{
  parent->exec_status.uHttpStatusCode = (USHORT)status;
  parent->exec_status.uHttpSubStatus = 0;
  parent->exec_status.dwWin32Error = win32_error;
  isapi_async_complete(parent, parent->io_completion, parent->io_context, 0, 0);
  isapi_call_leave(parent); /* may run the parent's end, if it was waiting for us */
}

typedef struct default_answer {
  ih_ext_done done;
  isapi_call *parent;
  int status;
  DWORD error;
} default_answer;

static void default_answer_sent(void *ctx, size_t bytes, int err)
{
  (void)bytes, (void)err;
  default_answer *d = ctx;
  exec_finished(d->parent, d->status, d->error);
  free(d);
}

void isapi_exec_child_ended(isapi_call *child)
{
  uint32_t final = ih_isapi_session_final_status(&child->session);
  BOOL failed = ih_isapi_status_is_error(final);
  DWORD error = failed ? ERROR_INVALID_FUNCTION : 0;
  int status = child->sent_status ? child->sent_status : failed ? 500 : (int)child->ecb.dwHttpStatusCode;
  if (status < 100 || status > 999)
    status = 200;
  if (failed)
    ih_conn_ext_close_after(child->conn); /* as for the request itself: an error closes */
  /* A child that sent nothing still answers its request, with its status;
   * asynchronously, as this may run on an I/O thread. */
  if (!child->responded) {
    default_answer *d = malloc(sizeof *d);
    if (d) {
      *d = (default_answer){ { default_answer_sent, d }, child->parent, status, error };
      if (ih_conn_ext_send_status(child->conn, status, child->no_headers, &d->done) == IH_EXT_OK)
        return;
      free(d);
    }
  }
  exec_finished(child->parent, status, error);
}

/* ---- a child answered by the server ---- */

typedef struct static_child {
  ih_ext_done done;
  isapi_call *parent;
  ih_request *req;
  int status;
} static_child;

static void static_child_done(void *ctx, size_t bytes, int err)
{
  (void)bytes;
  static_child *sc = ctx;
  isapi_call *parent = sc->parent;
  int status = sc->status;
  ih_conn_ext_child_free(sc->req);
  free(sc);
  exec_finished(parent, status, (DWORD)err);
}

/* ---- EXEC_URL ---- */

/* A request-target for the child's request line: bytes that cannot appear
 * there (space, controls, non-ASCII from a Unicode URL) percent-encoded;
 * existing %xx escapes kept. */
static char *encode_target(const char *url, size_t len)
{
  static const char hex[] = "0123456789ABCDEF";
  char *out = malloc(3 * len + 1);
  if (!out)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)url[i];
    if (ch <= 0x20 || ch >= 0x7f) {
      out[n++] = '%';
      out[n++] = hex[ch >> 4];
      out[n++] = hex[ch & 15];
    } else {
      out[n++] = (char)ch;
    }
  }
  out[n] = '\0';
  return out;
}

static char *utf8_of(const WCHAR *w)
{
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
  char *s = n > 0 ? malloc((size_t)n) : NULL;
  if (s && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
    free(s);
    s = NULL;
  }
  return s;
}

static BOOL fail(DWORD err)
{
  SetLastError(err);
  return FALSE;
}

/* The fields both EXEC_URL forms share, the URL already in UTF-8 (NULL:
 * the parent's). */
static BOOL exec_url(isapi_call *call, const char *url, const char *method, const char *headers,
                     const HSE_EXEC_URL_ENTITY_INFO *entity, DWORD flags)
{
  if (call->depth + 1 > max_depth)
    return fail(ERROR_STACK_OVERFLOW);
  if (!call->io_completion) {
    isapi_call_misuse(call, MISUSE_ASYNC_WITHOUT_CALLBACK, "HSE_REQ_EXEC_URL before HSE_REQ_IO_COMPLETION set a callback");
    return fail(ERROR_INVALID_PARAMETER);
  }
  size_t len;
  if ((url && !ih_isapi_string(url, URL_MAX, &len)) || (method && !ih_isapi_string(method, 64, &len)) ||
      (headers && !ih_isapi_string(headers, HEADERS_MAX, &len)) ||
      (entity && (!ih_isapi_readable(entity, sizeof *entity) || entity->cbAvailable > ENTITY_MAX ||
                  !ih_isapi_readable(entity->lpbData, entity->cbAvailable)))) {
    isapi_call_misuse(call, MISUSE_BAD_POINTER, "HSE_REQ_EXEC_URL with an unreadable field");
    return fail(ERROR_INVALID_PARAMETER);
  }
  /* NULL URL: the parent's request again (its target as sent, query included). */
  char *target = url ? encode_target(url, strlen(url))
                     : encode_target(call->info.raw_url.p, call->info.raw_url.n);
  if (!target)
    return fail(ERROR_NOT_ENOUGH_MEMORY);
  /* Without IGNORE_CURRENT_INTERCEPTOR the child meets the same wildcard
   * maps again; with it, it passes over the one that routed this request. */
  unsigned skip = 0;
  if (flags & HSE_EXEC_URL_IGNORE_CURRENT_INTERCEPTOR)
    skip = call->wildcard_index >= 0 ? (unsigned)call->wildcard_index + 1 : call->wildcard_skip;
  int bad_status = 0;
  ih_request *req = ih_conn_ext_child_new(call->conn, method ? method : call->method, target, headers, skip, &bad_status);
  free(target);
  if (!req) {
    if (bad_status == 503)
      return fail(ERROR_NOT_ENOUGH_MEMORY);
    return fail(ERROR_INVALID_PARAMETER); /* the child's request line or headers do not parse */
  }
  BOOL no_headers = (flags & HSE_EXEC_URL_NO_HEADERS) != 0;
  /* The child counts as a callback in progress of its parent until done
   * (exec_finished gives it back). */
  isapi_call_hold(call);
  if (req->is_extension) {
    const ih_request *top = call->conn->req;
    isapi_body body = { top->body_preread, top->body_preread_len,
                        top->framing.chunked ? UINT64_MAX : top->framing.content_length };
    char *copy = NULL;
    if (entity) { /* the child sees this entity instead of the request's body */
      copy = malloc((size_t)entity->cbAvailable + 1);
      if (copy) {
        memcpy(copy, entity->lpbData, entity->cbAvailable);
        copy[entity->cbAvailable] = '\0'; /* lpbData is NUL-terminated, as IIS does */
        body = (isapi_body){ copy, entity->cbAvailable, entity->cbAvailable };
      }
    }
    isapi_call *child = (!entity || copy) ? isapi_call_new(call->conn, req, &body) : NULL;
    if (!child) {
      free(copy);
      ih_conn_ext_child_free(req);
      isapi_call_leave(call);
      return fail(ERROR_NOT_ENOUGH_MEMORY);
    }
    child->child_req = req;
    child->entity = copy;
    child->no_conn_body = entity != NULL;
    child->no_headers = no_headers;
    child->depth = call->depth + 1;
    child->parent = call;
    isapi_call_ref(call); /* the child's memory points at its parent until freed */
    if (!isapi_call_start(child)) { /* freed the child and that reference */
      isapi_call_leave(call);
      return fail(ERROR_NOT_ENOUGH_MEMORY);
    }
    return TRUE;
  }
  static_child *sc = calloc(1, sizeof *sc);
  if (!sc) {
    ih_conn_ext_child_free(req);
    isapi_call_leave(call);
    return fail(ERROR_NOT_ENOUGH_MEMORY);
  }
  sc->done.fn = static_child_done;
  sc->done.ctx = sc;
  sc->parent = call;
  sc->req = req;
  call->responded = TRUE;
  int rc = ih_conn_ext_child_respond(call->conn, req, no_headers, &sc->status, &sc->done);
  if (rc != IH_EXT_OK) {
    ih_conn_ext_child_free(req);
    free(sc);
    isapi_call_leave(call);
    isapi_set_ext_error(rc);
    return FALSE;
  }
  return TRUE;
}

BOOL isapi_ssf_exec_url(isapi_call *call, LPVOID buf)
{
  HSE_EXEC_URL_INFO *info = buf;
  if (!ih_isapi_readable(info, sizeof *info))
    return fail(ERROR_INVALID_PARAMETER);
  return exec_url(call, info->pszUrl, info->pszMethod, info->pszChildHeaders, info->pEntity, info->dwExecUrlFlags);
}

BOOL isapi_ssf_exec_unicode_url(isapi_call *call, LPVOID buf)
{
  HSE_EXEC_UNICODE_URL_INFO *info = buf;
  if (!ih_isapi_readable(info, sizeof *info))
    return fail(ERROR_INVALID_PARAMETER);
  size_t len;
  if (info->pszUrl && !ih_isapi_wstring(info->pszUrl, URL_MAX, &len))
    return fail(ERROR_INVALID_PARAMETER);
  char *url = info->pszUrl ? utf8_of(info->pszUrl) : NULL;
  if (info->pszUrl && !url)
    return fail(ERROR_NO_UNICODE_TRANSLATION);
  BOOL ok = exec_url(call, url, info->pszMethod, info->pszChildHeaders, info->pEntity, info->dwExecUrlFlags);
  DWORD err = GetLastError();
  free(url);
  SetLastError(err);
  return ok;
}

BOOL isapi_ssf_get_exec_url_status(isapi_call *call, LPVOID buf)
{
  if (!ih_isapi_writable(buf, sizeof(HSE_EXEC_URL_STATUS)))
    return fail(ERROR_INVALID_PARAMETER);
  *(HSE_EXEC_URL_STATUS *)buf = call->exec_status;
  return TRUE;
}

/* HSE_REQ_SEND_CUSTOM_ERROR (ms525792): the site's page for pszStatus
 * ("404 Not Found"; the sub-error is not used: pages are per status here),
 * or the built-in one; fAsync: completed through the IO_COMPLETION
 * callback. Fails once a response head has gone out. */
BOOL isapi_ssf_send_custom_error(isapi_call *call, LPVOID buf)
{
  HSE_CUSTOM_ERROR_INFO *info = buf;
  size_t len;
  if (!ih_isapi_readable(info, sizeof *info) || !info->pszStatus || !ih_isapi_string(info->pszStatus, 256, &len))
    return fail(ERROR_INVALID_PARAMETER);
  char reason[128];
  int status = ih_isapi_parse_status(info->pszStatus, len, reason, sizeof reason);
  if (status < 400 || status > 599)
    return fail(ERROR_INVALID_PARAMETER);
  if (info->fAsync && !call->io_completion)
    return fail(ERROR_INVALID_PARAMETER);
  call->responded = TRUE;
  call->sent_status = status;
  call->ecb.dwHttpStatusCode = (DWORD)status;
  int rc = ih_conn_ext_send_status(call->conn, status, call->no_headers, NULL);
  if (rc != IH_EXT_OK) {
    isapi_set_ext_error(rc);
    return FALSE;
  }
  if (info->fAsync)
    isapi_async_complete(call, call->io_completion, call->io_context, 0, 0);
  return TRUE;
}
