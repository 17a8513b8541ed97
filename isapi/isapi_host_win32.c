/* ISAPI extension host (see isapi_host_win32.h and isapi_call_win32.h).
 *
 * DLLs see only an HCONN: an index into a handle table plus a generation,
 * checked on every callback, so a stale ConnID (after DONE_WITH_SESSION) or a
 * foreign one gets FALSE + ERROR_INVALID_PARAMETER, never freed memory.
 * HttpExtensionProc runs on the extension pool (isapi_pool_win32.c); a
 * monitor thread reports requests that stay inside a DLL longer than
 * isapi_stuck_timeout. */
#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server_log.h"
#include "isapi/isapi_call_win32.h"
#include "filters/filter_chain.h"
#include "isapi/shared/isapi_guard_win32.h"
#include "isapi/isapi_handle.h"
#include "isapi/isapi_host_win32.h"
#include "isapi/shared/isapi_request_info.h"
#include "isapi/isapi_ssf_win32.h"

#define MAX_CALLS IH_ISAPI_HANDLE_SLOTS /* more simultaneous sessions get 503 */

typedef struct handle_slot {
  isapi_call *call;
  DWORD generation;
} handle_slot;

static struct {
  SRWLOCK table_lock;
  /* Slots are handed out round-robin, so an old HCONN aliases a new session
   * only after 2^31 sessions. The table is committed whole at start: touched
   * slot by slot it would grow the process by 1 MB over the first 65,536
   * requests, which is no leak but looks like one. */
  handle_slot *table;
  DWORD next_free_hint;
  volatile LONG live;
  unsigned stuck_timeout_s;
  HANDLE monitor;
  HANDLE monitor_stop;
} host;

/* ---- handle table ---- */

static HCONN handle_of(const isapi_call *call)
{
  return (HCONN)(uintptr_t)ih_isapi_handle_encode(call->slot, host.table[call->slot].generation);
}

static BOOL table_add(isapi_call *call)
{
  AcquireSRWLockExclusive(&host.table_lock);
  for (DWORD n = 0; n < MAX_CALLS; n++) {
    DWORD i = (host.next_free_hint + n) % MAX_CALLS;
    if (!host.table[i].call) {
      host.table[i].call = call;
      host.table[i].generation = ih_isapi_handle_next_generation(host.table[i].generation);
      call->slot = i;
      call->ecb.ConnID = handle_of(call);
      host.next_free_hint = i + 1;
      ReleaseSRWLockExclusive(&host.table_lock);
      InterlockedIncrement(&host.live);
      return TRUE;
    }
  }
  ReleaseSRWLockExclusive(&host.table_lock);
  return FALSE;
}

static void table_remove(isapi_call *call)
{
  AcquireSRWLockExclusive(&host.table_lock);
  if (host.table[call->slot].call == call) {
    host.table[call->slot].call = NULL;
    InterlockedDecrement(&host.live);
  }
  ReleaseSRWLockExclusive(&host.table_lock);
}

/* ---- counts ---- */

static void call_free(isapi_call *call)
{
  /* The DLL counts this request until its memory goes: a completion still
   * queued for it must not find the DLL unloaded. */
  if (call->dll)
    ih_isapi_dll_release(call->dll);
  ih_conn_ext_child_free(call->child_req);
  free(call->entity);
  if (call->parent)
    isapi_call_unref(call->parent);
  free(call->method);
  free(call->url);
  free(call->query);
  free(call->path_info);
  free(call->path_translated);
  free(call->content_type);
  free(call);
}

void isapi_call_ref(isapi_call *call) { InterlockedIncrement(&call->refs); }

void isapi_call_unref(isapi_call *call)
{
  LONG left = InterlockedDecrement(&call->refs);
  if (left == 0)
    call_free(call);
}

/* Hands the request back to the connection; exactly once per session. */
static void finish_end(isapi_call *call)
{
  EXTENSION_CONTROL_BLOCK *ecb = &call->ecb;
  ecb->lpszLogData[HSE_LOG_BUFFER_LEN - 1] = '\0'; /* never trust the DLL to terminate it */
  size_t log_len = strlen(ecb->lpszLogData);
  if (log_len)
    ih_conn_ext_log_append(call->conn, ecb->lpszLogData, log_len);
  if (call->parent)
    isapi_exec_child_ended(call); /* an EXEC_URL child: its parent goes on */
  else
    ih_conn_ext_end(call->conn, ih_isapi_session_final_status(&call->session), (int)ecb->dwHttpStatusCode);
  isapi_call_unref(call); /* the session's own reference */
}

isapi_call *isapi_call_enter(HCONN hconn)
{
  uint32_t slot, generation;
  isapi_call *call = NULL;
  bool ours = ih_isapi_handle_decode((uintptr_t)hconn, &slot, &generation);
  AcquireSRWLockShared(&host.table_lock);
  if (ours && host.table[slot].call && host.table[slot].generation == generation) {
    isapi_call *c = host.table[slot].call;
    LONG g = c->gate;
    for (;;) {
      if (g & 1)
        break; /* ending: as good as stale */
      LONG seen = InterlockedCompareExchange(&c->gate, g + 2, g);
      if (seen == g) {
        InterlockedIncrement(&c->refs);
        call = c;
        break;
      }
      g = seen;
    }
  }
  ReleaseSRWLockShared(&host.table_lock);
  if (!call)
    SetLastError(ERROR_INVALID_PARAMETER);
  return call;
}

void isapi_call_hold(isapi_call *call)
{
  InterlockedExchangeAdd(&call->gate, 2);
  InterlockedIncrement(&call->refs);
}

void isapi_call_leave(isapi_call *call)
{
  if (InterlockedExchangeAdd(&call->gate, -2) - 2 == 1)
    finish_end(call); /* the end was waiting for this callback */
  isapi_call_unref(call);
}

void isapi_call_end(isapi_call *call)
{
  table_remove(call);
  if ((InterlockedOr(&call->gate, 1) >> 1) == 0)
    finish_end(call); /* no callback in progress */
}

BOOL isapi_call_ending(const isapi_call *call) { return (call->gate & 1) != 0; }

void isapi_call_fault(isapi_call *call, const char *entry, DWORD code, void *address)
{
  ih_log(IH_LOG_ERROR, IH_EV_EXT_CRASHED,
         "extension %s crashed in %s (exception 0x%08lx at %p); the request fails, the server goes on",
         call->dll_path, entry, code, address);
  if (ih_isapi_session_on_fault(&call->session) == IH_DONE_END_NOW)
    isapi_call_end(call);
}

void isapi_call_misuse(isapi_call *call, enum isapi_misuse kind, const char *what)
{
  if (call->dll && ih_isapi_dll_first_time(call->dll, IH_ISAPI_DLL_LOG_MISUSE + (unsigned)kind))
    ih_log(IH_LOG_WARNING, IH_EV_EXT_MISUSE, "extension %s: %s (reported once per DLL)", call->dll_path, what);
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

static void run_call(ih_pool_item *item);

isapi_call *isapi_call_new(ih_conn *c, const ih_request *r, const isapi_body *body)
{
  isapi_call *call = calloc(1, sizeof *call);
  if (!call)
    return NULL;
  call->conn = c;
  call->site = r->site;
  call->refs = 1;
  call->start.run = run_call;
  call->started_ms = ih_clock_ms();
  call->wildcard_index = r->ext.wildcard_index;
  call->wildcard_skip = r->wildcard_skip;
  snprintf(call->dll_path, sizeof call->dll_path, "%s", r->ext.dll_path);
  ih_isapi_session_init(&call->session);

  ih_isapi_request_info *ri = &call->info;
  /* the identity AUTHENTICATION filters left: AUTH_USER, REMOTE_USER, AUTH_PASSWORD */
  const ih_filter_conn *fc = c->filters;
  ih_isapi_info_from_request(ri, c, r, fc ? fc->user : NULL, fc ? fc->password : NULL);
  ri->content_length = body->total == UINT64_MAX ? 0 : body->total;
  ri->chunked = body->total == UINT64_MAX;
  ih_slice path = ri->url, path_info = ri->path_info;

  call->method = dup_slice(r->head.method);
  call->url = dup_slice(path);
  call->query = dup_slice(r->query);
  call->path_info = dup_slice(path_info);
  call->path_translated = dup_slice(ri->path_translated);
  call->content_type = dup_slice(ri->content_type);
  if (!call->method || !call->url || !call->query || !call->path_info || !call->path_translated || !call->content_type) {
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
  ecb->cbTotalBytes = body->total > 0xfffffffeu ? 0xffffffffu : (DWORD)body->total;
  ecb->cbAvailable = (DWORD)body->len;
  ecb->lpbData = (LPBYTE)body->data; /* NUL-terminated by whoever owns it */
  ecb->lpszContentType = call->content_type;
  ecb->GetServerVariable = isapi_cb_get_server_variable;
  ecb->WriteClient = isapi_cb_write_client;
  ecb->ReadClient = isapi_cb_read_client;
  ecb->ServerSupportFunction = isapi_cb_server_support_function;
  return call;
}

/* ---- running ---- */

/* Seconds a client is asked to wait when the DLL is out of service (an
 * operator stopped it, or it never finished loading): neither has a known
 * end, and a minute keeps clients that honour Retry-After (RFC 9110
 * 10.2.3) from retrying in a tight loop. */
#define STOPPED_RETRY_AFTER_S 60

/* 503 with Retry-After for a DLL out of service, as the request's own
 * response (the connection stays usable); FALSE when it could not be sent. */
static BOOL answer_unavailable(isapi_call *call)
{
  static const char body[] = "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>"
                             "<h1>Service Unavailable</h1><p>This application is not available; please try again "
                             "later.</p></body></html>\n";
  char text[512];
  int n = snprintf(text, sizeof text,
                   "Retry-After: %d\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %u\r\n\r\n%s",
                   STOPPED_RETRY_AFTER_S, (unsigned)(sizeof body - 1), body);
  call->ecb.dwHttpStatusCode = 503;
  return isapi_send_header_text(call, "503 Service Unavailable", 23, text, (size_t)n, NULL);
}

static void run_call(ih_pool_item *item)
{
  isapi_call *call = (isapi_call *)((char *)item - offsetof(isapi_call, start));
  isapi_call_ref(call); /* ours: a PENDING session may end on another thread at once */
  char err[600];
  int unusable = 500;
  /* Held here while an operator drains the DLL; an EXEC_URL child is not
   * (its parent may be what the drain waits for). */
  call->dll = ih_isapi_dll_acquire_status(call->dll_path, call->parent != NULL, &unusable, err, sizeof err);
  if (!call->dll && unusable == 503) {
    DWORD rc = answer_unavailable(call) ? HSE_STATUS_SUCCESS_AND_KEEP_CONN : HSE_STATUS_ERROR;
    if (ih_isapi_session_on_return(&call->session, rc))
      isapi_call_end(call);
  } else if (!call->dll) {
    /* 500 with the reason in the server log (IH2002) */
    call->ecb.dwHttpStatusCode = 500;
    if (ih_isapi_session_on_return(&call->session, HSE_STATUS_ERROR))
      isapi_call_end(call);
  } else {
    call->in_dll = "HttpExtensionProc";
    DWORD rc = ih_isapi_dll_call(call->dll, &call->ecb);
    call->in_dll = NULL;
    if (ih_isapi_session_on_return(&call->session, rc))
      isapi_call_end(call);
  }
  isapi_call_unref(call);
}

BOOL isapi_call_start(isapi_call *call)
{
  if (!table_add(call)) {
    call_free(call);
    return FALSE;
  }
  ih_isapi_pool_post(&call->start);
  return TRUE;
}

bool ih_isapi_host_extension_start(ih_conn *c)
{
  const ih_request *r = c->req;
  isapi_body body = { r->ext_preread, r->ext_preread_len,
                      r->framing.chunked ? UINT64_MAX : r->framing.content_length };
  isapi_call *call = isapi_call_new(c, r, &body);
  return call && isapi_call_start(call);
}

/* ---- stuck requests ---- */

static void report_stuck(uint64_t now)
{
  uint64_t limit = (uint64_t)host.stuck_timeout_s * 1000u;
  AcquireSRWLockShared(&host.table_lock);
  LONG left = host.live;
  for (DWORD i = 0; i < MAX_CALLS && left > 0; i++) {
    isapi_call *call = host.table[i].call;
    if (!call)
      continue;
    left--;
    if (now - call->started_ms < limit || InterlockedExchange(&call->stuck_reported, 1))
      continue;
    const char *where = call->in_dll;
    ih_log(IH_LOG_WARNING, IH_EV_EXT_STUCK,
           "extension %s: %s %s from %s has run for %llu s (%s); other requests go on", call->dll_path,
           call->method, call->url, call->conn->peer_addr,
           (unsigned long long)((now - call->started_ms) / 1000u),
           where ? where
                 : (ih_isapi_session_state(&call->session) == IH_SESSION_PENDING
                        ? "HSE_STATUS_PENDING, no HSE_REQ_DONE_WITH_SESSION yet"
                        : "between calls"));
  }
  ReleaseSRWLockShared(&host.table_lock);
}

size_t ih_isapi_host_describe_running(char *out, size_t cap)
{
  if (cap)
    out[0] = '\0';
  if (!host.table)
    return 0;
  size_t inside = 0;
  const isapi_call *oldest = NULL;
  const char *oldest_where = NULL;
  AcquireSRWLockShared(&host.table_lock);
  LONG left = host.live;
  for (DWORD i = 0; i < MAX_CALLS && left > 0; i++) {
    const isapi_call *call = host.table[i].call;
    if (!call)
      continue;
    left--;
    const char *where = call->in_dll;
    if (!where)
      continue;
    inside++;
    if (!oldest || call->started_ms < oldest->started_ms) {
      oldest = call;
      oldest_where = where;
    }
  }
  if (oldest && cap)
    snprintf(out, cap, "%zu request(s) inside extension DLLs, the oldest for %llu s in %s of %s", inside,
             (unsigned long long)((ih_clock_ms() - oldest->started_ms) / 1000u), oldest_where, oldest->dll_path);
  ReleaseSRWLockShared(&host.table_lock);
  return inside;
}

static DWORD WINAPI monitor_main(LPVOID arg)
{
  (void)arg;
  while (WaitForSingleObject(host.monitor_stop, 1000) == WAIT_TIMEOUT)
    report_stuck(ih_clock_ms());
  return 0;
}

/* ---- start and stop ---- */

int ih_isapi_host_start(const ih_config *cfg)
{
  InitializeSRWLock(&host.table_lock);
  host.table = VirtualAlloc(NULL, MAX_CALLS * sizeof *host.table, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  if (!host.table) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot allocate the ISAPI handle table (Win32 error %lu)", GetLastError());
    return -1;
  }
  /* Touched now too: Wine counts a page when first written, not when committed. */
  SecureZeroMemory(host.table, MAX_CALLS * sizeof *host.table);
  ih_isapi_guard_install();
  isapi_ssf_init();
  isapi_exec_configure(cfg->server.isapi_exec_depth);
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  const ih_server_config *sc = &cfg->server;
  unsigned initial = sc->isapi_threads ? sc->isapi_threads : 4 * si.dwNumberOfProcessors;
  unsigned max = sc->isapi_max_threads > initial ? sc->isapi_max_threads : initial;
  if (ih_isapi_pool_start(initial, max) != 0)
    return -1;
  ih_isapi_dll_configure(cfg); /* the DLLs an operator can act on, and isapi_unload_timeout */
  host.stuck_timeout_s = sc->isapi_stuck_timeout;
  if (host.stuck_timeout_s) {
    host.monitor_stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    host.monitor = host.monitor_stop ? CreateThread(NULL, 0, monitor_main, NULL, 0, NULL) : NULL;
  }
  return 0;
}

void ih_isapi_host_reconfigure(const ih_config *cfg)
{
  /* Thread counts stay (the pool is sized at start); the rest follows the
   * new configuration. */
  isapi_exec_configure(cfg->server.isapi_exec_depth);
  ih_isapi_dll_configure(cfg);
}

void ih_isapi_host_stop(void)
{
  if (host.monitor) {
    SetEvent(host.monitor_stop);
    WaitForSingleObject(host.monitor, INFINITE);
    CloseHandle(host.monitor);
    CloseHandle(host.monitor_stop);
    host.monitor = NULL;
  }
  ih_isapi_pool_stop(5000);
  ih_isapi_dll_unload_all();
}

unsigned ih_isapi_host_live_sessions(void) { return (unsigned)host.live; }
