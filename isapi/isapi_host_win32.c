/* ISAPI extension host (see isapi_host_win32.h).
 *
 * One call object per HttpExtensionProc invocation holds the ECB, the
 * strings it points to, the session state machine and the server-variable
 * facts. DLLs see only an HCONN: an index into a handle table plus a
 * generation, checked on every callback, so a stale ConnID (after
 * DONE_WITH_SESSION) or a foreign one gets FALSE + ERROR_INVALID_PARAMETER,
 * never freed memory. A callback in progress holds a reference on its call,
 * so ending the session from another thread cannot free it underneath. */
#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server_log.h"
#include "isapi/isapi_dll_win32.h"
#include "isapi/isapi_host_win32.h"
#include "isapi/isapi_response.h"
#include "isapi/isapi_session.h"
#include "isapi/isapi_vars.h"

#define POOL_STACK (1u << 20) /* DLLs built for IIS expect at least 256 KB (KB Q189888) */
#define MAX_CALLS 65536       /* handle table size; more simultaneous calls wait */
#define MAX_POOL 1024

typedef struct isapi_call {
  EXTENSION_CONTROL_BLOCK ecb;
  ih_conn *conn;
  ih_isapi_dll *dll;
  ih_isapi_session session;
  ih_isapi_request_info info;
  volatile LONG refs;       /* the session's own + one per callback in progress */
  DWORD slot;
  /* NUL-terminated copies for the ECB's string fields (never NULL) */
  char *method, *query, *path_info, *path_translated, *content_type;
  char dll_path[MAX_PATH * 3];
} isapi_call;

typedef struct handle_slot {
  isapi_call *call;
  DWORD generation;
} handle_slot;

static struct {
  HANDLE queue; /* a completion port used as the work queue */
  HANDLE threads[MAX_POOL];
  unsigned thread_count;
  SRWLOCK table_lock;
  handle_slot table[MAX_CALLS];
  DWORD next_free_hint;
  volatile LONG unsupported_logged[64]; /* one bit per SSF code < 2048, logged once */
} host;

/* ---- handle table ---- */

static HCONN handle_of(const isapi_call *call)
{
  return (HCONN)(uintptr_t)(((uint64_t)host.table[call->slot].generation << 16) | (call->slot + 1));
}

static BOOL table_add(isapi_call *call)
{
  AcquireSRWLockExclusive(&host.table_lock);
  for (DWORD n = 0; n < MAX_CALLS; n++) {
    DWORD i = (host.next_free_hint + n) % MAX_CALLS;
    if (!host.table[i].call) {
      host.table[i].call = call;
      host.table[i].generation = (host.table[i].generation + 1) & 0xffff;
      call->slot = i;
      host.next_free_hint = i + 1;
      ReleaseSRWLockExclusive(&host.table_lock);
      return TRUE;
    }
  }
  ReleaseSRWLockExclusive(&host.table_lock);
  return FALSE;
}

static void table_remove(isapi_call *call)
{
  AcquireSRWLockExclusive(&host.table_lock);
  host.table[call->slot].call = NULL;
  ReleaseSRWLockExclusive(&host.table_lock);
}

static void call_free(isapi_call *call)
{
  free(call->method);
  free(call->query);
  free(call->path_info);
  free(call->path_translated);
  free(call->content_type);
  free(call);
}

static void call_put(isapi_call *call)
{
  if (InterlockedDecrement(&call->refs) == 0)
    call_free(call);
}

/* The call behind a DLL's HCONN, with a reference; NULL for a stale or
 * foreign handle (ERROR_INVALID_PARAMETER set). */
static isapi_call *call_get(HCONN hconn)
{
  uintptr_t v = (uintptr_t)hconn;
  DWORD slot = (DWORD)(v & 0xffff) - 1, generation = (DWORD)((v >> 16) & 0xffff);
  isapi_call *call = NULL;
  AcquireSRWLockShared(&host.table_lock);
  if (slot < MAX_CALLS && host.table[slot].call && host.table[slot].generation == generation) {
    call = host.table[slot].call;
    InterlockedIncrement(&call->refs);
  }
  ReleaseSRWLockShared(&host.table_lock);
  if (!call)
    SetLastError(ERROR_INVALID_PARAMETER);
  return call;
}

/* The session is over (exactly once, decided by ih_isapi_session): the
 * handle dies first, then the pipeline finishes the response. */
static void end_session(isapi_call *call)
{
  table_remove(call);
  uint32_t status = ih_isapi_session_final_status(&call->session);
  ih_conn_ext_end(call->conn, status, (int)call->ecb.dwHttpStatusCode);
  if (call->dll)
    ih_isapi_dll_release(call->dll);
  call_put(call); /* the session's own reference */
}

/* ---- ECB callbacks ---- */

static BOOL WINAPI cb_get_server_variable(HCONN hconn, LPSTR name, LPVOID buf, LPDWORD size)
{
  isapi_call *call = call_get(hconn);
  if (!call)
    return FALSE;
  BOOL ok = FALSE;
  if (!name || !size) {
    SetLastError(ERROR_INVALID_PARAMETER);
  } else {
    uint32_t n = *size;
    switch (ih_isapi_get_var(&call->info, name, buf, &n)) {
    case IH_VAR_OK: ok = TRUE; break;
    case IH_VAR_INSUFFICIENT_BUFFER: SetLastError(ERROR_INSUFFICIENT_BUFFER); break;
    case IH_VAR_INVALID_INDEX: SetLastError(ERROR_INVALID_INDEX); break;
    case IH_VAR_NO_DATA: SetLastError(ERROR_NO_DATA); break;
    }
    *size = n;
  }
  call_put(call);
  return ok;
}

static BOOL WINAPI cb_write_client(HCONN hconn, LPVOID buf, LPDWORD bytes, DWORD flags)
{
  isapi_call *call = call_get(hconn);
  if (!call)
    return FALSE;
  BOOL ok = FALSE;
  if (!bytes || (!buf && *bytes)) {
    SetLastError(ERROR_INVALID_PARAMETER);
  } else if (flags & HSE_IO_ASYNC) {
    /* Asynchronous WriteClient is not implemented yet: refuse it cleanly. */
    SetLastError(ERROR_INVALID_PARAMETER);
  } else if (ih_conn_ext_write(call->conn, buf, *bytes) == 0) {
    ok = TRUE;
  } else {
    SetLastError(WSAECONNRESET);
  }
  call_put(call);
  return ok;
}

static BOOL WINAPI cb_read_client(HCONN hconn, LPVOID buf, LPDWORD size)
{
  isapi_call *call = call_get(hconn);
  if (!call)
    return FALSE;
  BOOL ok = FALSE;
  if (!size || !buf) {
    SetLastError(ERROR_INVALID_PARAMETER);
  } else {
    size_t n = *size;
    if (ih_conn_ext_read(call->conn, buf, &n) == 0) {
      *size = (DWORD)n; /* 0: the whole body has been read */
      ok = TRUE;
    } else {
      SetLastError(WSAECONNRESET);
    }
  }
  call_put(call);
  return ok;
}

/* Status string and header text as DLLs pass them, parsed leniently:
 * "200 OK", "HTTP/1.1 200 OK", a bare "301", a body after the blank line,
 * a missing final CRLF (ih_isapi_parse_*). */
static BOOL send_header(isapi_call *call, const char *status, size_t status_len, const char *headers,
                        size_t headers_len)
{
  size_t cap = IH_ISAPI_HEADERS_OUT_MAX(headers_len);
  char *norm = malloc(cap);
  ih_isapi_header_info hi;
  if (!norm || !ih_isapi_parse_headers(headers ? headers : "", headers_len, norm, cap, &hi)) {
    free(norm);
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return FALSE;
  }
  /* The status argument wins; without one, a "Status:" line or a leading
   * "HTTP/1.x NNN" line in the header text; else 200. */
  char reason[128] = "";
  int code = status ? ih_isapi_parse_status(status, status_len, reason, sizeof reason) : -1;
  if (code < 0 && hi.status)
    code = ih_isapi_parse_status(hi.status_text.p, hi.status_text.n, reason, sizeof reason);
  if (code < 0) {
    code = 200;
    reason[0] = '\0';
  }
  int rc = ih_conn_ext_send_head(call->conn, code, reason, norm, hi.out_len, hi.body.p ? hi.body.p : "", hi.body.n,
                                 hi.conn_close);
  free(norm);
  if (rc != 0)
    SetLastError(WSAECONNRESET);
  return rc == 0;
}

static size_t bounded_len(const char *s, DWORD declared)
{
  if (!s)
    return 0;
  size_t n = strlen(s);
  /* DLLs pass strlen, strlen + 1 or 0: never read past the NUL */
  return declared && declared < n ? declared : n;
}

static BOOL redirect(isapi_call *call, const char *location)
{
  if (!location || strpbrk(location, "\r\n")) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  char headers[4200];
  int n = snprintf(headers, sizeof headers, "Location: %s\r\nContent-Length: 0\r\n", location);
  if (n < 0 || (size_t)n >= sizeof headers) {
    SetLastError(ERROR_INSUFFICIENT_BUFFER);
    return FALSE;
  }
  call->ecb.dwHttpStatusCode = 302;
  return send_header(call, "302 Found", 9, headers, (size_t)n);
}

static void log_unsupported(isapi_call *call, DWORD req)
{
  if (req < 2048) {
    LONG bit = 1L << (req % 32);
    if (InterlockedOr(&host.unsupported_logged[req / 32], bit) & bit)
      return;
  }
  ih_log(IH_LOG_WARNING, IH_EV_EXT_UNSUPPORTED, "extension %s asked for ServerSupportFunction %lu, not supported yet",
         ih_isapi_dll_path(call->dll), req);
}

static BOOL WINAPI cb_server_support_function(HCONN hconn, DWORD req, LPVOID buf, LPDWORD size, LPDWORD type)
{
  isapi_call *call = call_get(hconn);
  if (!call)
    return FALSE;
  BOOL ok = FALSE;
  switch (req) {
  case HSE_REQ_SEND_RESPONSE_HEADER: {
    const char *status = buf, *headers = (const char *)type; /* the SDK passes headers in lpdwDataType */
    ok = send_header(call, status, status ? strlen(status) : 0, headers, headers ? strlen(headers) : 0);
    break;
  }
  case HSE_REQ_SEND_RESPONSE_HEADER_EX: {
    HSE_SEND_HEADER_EX_INFO *hi = buf;
    if (!hi) {
      SetLastError(ERROR_INVALID_PARAMETER);
      break;
    }
    /* fKeepConn is advisory (KB 332143): the pipeline decides from framing. */
    ok = send_header(call, hi->pszStatus, bounded_len(hi->pszStatus, hi->cchStatus), hi->pszHeader,
                     bounded_len(hi->pszHeader, hi->cchHeader));
    break;
  }
  case HSE_REQ_SEND_URL_REDIRECT_RESP:
  case HSE_REQ_SEND_URL: /* IIS 6 documents both as a 302 */
    ok = redirect(call, buf);
    break;
  case HSE_REQ_DONE_WITH_SESSION: {
    const DWORD *status = buf; /* NULL is allowed */
    uint32_t value = status ? *status : HSE_STATUS_SUCCESS;
    enum ih_isapi_done_result r = ih_isapi_session_on_done(&call->session, status ? &value : NULL);
    if (r == IH_DONE_REFUSED) {
      SetLastError(ERROR_INVALID_PARAMETER); /* a second DONE is refused, never a second release */
    } else {
      ok = TRUE;
      if (r == IH_DONE_END_NOW)
        end_session(call);
    }
    break;
  }
  case HSE_REQ_IS_KEEP_CONN:
    if (buf) {
      *(BOOL *)buf = call->conn->req.framing.client_keep_alive;
      ok = TRUE;
    } else {
      SetLastError(ERROR_INVALID_PARAMETER);
    }
    break;
  case HSE_REQ_IS_CONNECTED:
    if (buf) {
      *(BOOL *)buf = !call->conn->socket_closed;
      ok = TRUE;
    } else {
      SetLastError(ERROR_INVALID_PARAMETER);
    }
    break;
  case HSE_REQ_IS_IN_PROCESS:
    if (buf) {
      *(DWORD *)buf = HSE_APP_FLAG_IN_PROCESS;
      ok = TRUE;
    } else {
      SetLastError(ERROR_INVALID_PARAMETER);
    }
    break;
  default:
    log_unsupported(call, req);
    SetLastError(ERROR_INVALID_PARAMETER);
    break;
  }
  (void)size;
  call_put(call);
  return ok;
}

/* ---- building the call ---- */

static char *dup_slice(ih_slice s)
{
  char *p = malloc(s.n + 1);
  if (p) {
    if (s.n)
      memcpy(p, s.p, s.n);
    p[s.n] = '\0';
  }
  return p;
}

static isapi_call *call_new(ih_conn *c)
{
  const ih_request *r = &c->req;
  isapi_call *call = calloc(1, sizeof *call);
  if (!call)
    return NULL;
  call->conn = c;
  call->refs = 1;
  snprintf(call->dll_path, sizeof call->dll_path, "%s", r->ext.dll_path);
  ih_isapi_session_init(&call->session);

  ih_slice path = ih_slice_from_cstr(r->path);
  ih_slice script = { path.p, r->ext.script_url_len };
  /* PATH_INFO: what follows a DLL called directly; the whole URL for a
   * script map (IIS 6 without AllowPathInfoForScriptMappings). */
  ih_slice path_info = r->ext.direct_dll ? (ih_slice){ path.p + script.n, path.n - script.n } : path;
  const ih_http_header *ct = ih_http_find_header(&r->head, "Content-Type");

  ih_isapi_request_info *ri = &call->info;
  ri->method = r->head.method;
  ri->raw_url = r->head.target;
  ri->url = path;
  ri->query = r->query;
  ri->version = r->head.version;
  ri->headers = r->head.header_count ? r->head.headers : NULL;
  ri->header_count = r->head.header_count;
  ri->script_name = script;
  ri->path_info = path_info;
  ri->path_translated = ih_slice_from_cstr(r->ext.script_physical);
  ri->script_translated = ih_slice_from_cstr(r->ext.script_physical);
  ri->content_type = ct ? ct->value : (ih_slice){ "", 0 };
  ri->content_length = r->framing.chunked ? 0 : r->framing.content_length;
  ri->chunked = r->framing.chunked;
  ri->remote_addr = ih_slice_from_cstr(c->peer_addr);
  ri->remote_port = c->peer_port;
  ri->local_addr = ih_slice_from_cstr(c->local_addr);
  ri->server_port = c->local_port;
  ri->instance_id = r->site->id;
  ri->app_vdir = ih_slice_from_cstr(r->ext.vdir->url_path);
  ri->appl_physical_path = ih_slice_from_cstr(r->ext.vdir->physical_path);

  call->method = dup_slice(r->head.method);
  call->query = dup_slice(r->query);
  call->path_info = dup_slice(path_info);
  call->path_translated = dup_slice(ri->path_translated);
  call->content_type = dup_slice(ri->content_type);
  if (!call->method || !call->query || !call->path_info || !call->path_translated || !call->content_type) {
    call_free(call);
    return NULL;
  }
  EXTENSION_CONTROL_BLOCK *ecb = &call->ecb;
  ecb->cbSize = sizeof *ecb;
  ecb->dwVersion = MAKELONG(0, 6); /* IIS 6.0 */
  ecb->dwHttpStatusCode = 200;
  ecb->lpszMethod = call->method;
  ecb->lpszQueryString = call->query;
  ecb->lpszPathInfo = call->path_info;
  ecb->lpszPathTranslated = call->path_translated;
  /* 0xFFFFFFFF: length unknown (chunked) or over 4 GB; read until ReadClient gives 0 */
  ecb->cbTotalBytes = r->framing.chunked || r->framing.content_length > 0xfffffffeu
                          ? 0xffffffffu
                          : (DWORD)r->framing.content_length;
  ecb->cbAvailable = (DWORD)r->ext_preread_len;
  ecb->lpbData = (LPBYTE)r->ext_preread; /* NUL-terminated by the pipeline */
  ecb->lpszContentType = call->content_type;
  ecb->GetServerVariable = cb_get_server_variable;
  ecb->WriteClient = cb_write_client;
  ecb->ReadClient = cb_read_client;
  ecb->ServerSupportFunction = cb_server_support_function;
  return call;
}

/* ---- the pool ---- */

static void run_call(isapi_call *call)
{
  char err[600];
  call->dll = ih_isapi_dll_acquire(call->dll_path, err, sizeof err);
  if (!call->dll) {
    /* 500 with the reason in the server log (IH2002) */
    ih_isapi_session_on_return(&call->session, HSE_STATUS_ERROR);
    call->ecb.dwHttpStatusCode = 500;
    end_session(call);
    return;
  }
  call->ecb.ConnID = handle_of(call);
  DWORD rc = ih_isapi_dll_call(call->dll, &call->ecb);
  if (ih_isapi_session_on_return(&call->session, rc))
    end_session(call);
}

static DWORD WINAPI pool_main(LPVOID arg)
{
  (void)arg;
  for (;;) {
    DWORD bytes;
    ULONG_PTR key;
    OVERLAPPED *ov;
    if (!GetQueuedCompletionStatus(host.queue, &bytes, &key, &ov, INFINITE) || !ov)
      return 0; /* queue closed, or a stop packet */
    run_call((isapi_call *)ov);
  }
}

bool ih_isapi_host_extension_start(ih_conn *c)
{
  isapi_call *call = call_new(c);
  if (!call)
    return false;
  if (!table_add(call)) {
    call_free(call);
    return false;
  }
  PostQueuedCompletionStatus(host.queue, 0, 0, (OVERLAPPED *)call);
  return true;
}

int ih_isapi_host_start(const ih_config *cfg)
{
  InitializeSRWLock(&host.table_lock);
  host.queue = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
  if (!host.queue) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot create the ISAPI work queue (Win32 error %lu)", GetLastError());
    return -1;
  }
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  unsigned n = cfg->server.isapi_threads ? cfg->server.isapi_threads : 4 * si.dwNumberOfProcessors;
  if (n > MAX_POOL)
    n = MAX_POOL;
  for (unsigned i = 0; i < n; i++) {
    host.threads[i] = CreateThread(NULL, POOL_STACK, pool_main, NULL, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (!host.threads[i]) {
      ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot start ISAPI thread (Win32 error %lu)", GetLastError());
      break;
    }
    host.thread_count++;
  }
  return host.thread_count ? 0 : -1;
}

void ih_isapi_host_stop(void)
{
  if (!host.queue)
    return;
  for (unsigned i = 0; i < host.thread_count; i++)
    PostQueuedCompletionStatus(host.queue, 0, 0, NULL);
  for (unsigned i = 0; i < host.thread_count; i++) {
    WaitForSingleObject(host.threads[i], 30000);
    CloseHandle(host.threads[i]);
  }
  host.thread_count = 0;
  CloseHandle(host.queue);
  host.queue = NULL;
  ih_isapi_dll_unload_all();
}
