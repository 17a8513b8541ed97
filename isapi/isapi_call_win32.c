/* The extension host's call object (see isapi_call_win32.h): the handle
 * table, the two counts, and the end that hands the request back.
 *
 * DLLs see only an HCONN: an index into a handle table plus a generation,
 * checked on every callback, so a stale ConnID (after DONE_WITH_SESSION) or a
 * foreign one gets FALSE + ERROR_INVALID_PARAMETER, never freed memory
 * (the ECB's ConnID is an opaque value the DLL hands back on every callback,
 * EXTENSION_CONTROL_BLOCK, IIS 6 SDK ms525658).
 *
 * The bottom layer of the extension host: it calls the connection
 * (ih_conn_ext_*), the DLL registry and the pool, and never a file of the
 * host above it by name; running a started call and a child's end go
 * through the hooks the host registers once (isapi_call_hooks). */
#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server_log.h"
#include "filters/filter_chain.h"
#include "isapi/isapi_call_win32.h"
#include "isapi/isapi_handle.h"
#include "isapi/shared/isapi_request_info.h"

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
  isapi_call_hooks hooks;
} calls;

int isapi_call_init(const isapi_call_hooks *hooks)
{
  calls.hooks = *hooks;
  InitializeSRWLock(&calls.table_lock);
  calls.table = VirtualAlloc(NULL, MAX_CALLS * sizeof *calls.table, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  if (!calls.table) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot allocate the ISAPI handle table (Win32 error %lu)", GetLastError());
    return -1;
  }
  /* Touched now too: Wine counts a page when first written, not when committed. */
  SecureZeroMemory(calls.table, MAX_CALLS * sizeof *calls.table);
  return 0;
}

/* ---- handle table ---- */

static HCONN handle_of(const isapi_call *call)
{
  return (HCONN)(uintptr_t)ih_isapi_handle_encode(call->slot, calls.table[call->slot].generation);
}

static BOOL table_add(isapi_call *call)
{
  AcquireSRWLockExclusive(&calls.table_lock);
  for (DWORD n = 0; n < MAX_CALLS; n++) {
    DWORD i = (calls.next_free_hint + n) % MAX_CALLS;
    if (!calls.table[i].call) {
      calls.table[i].call = call;
      calls.table[i].generation = ih_isapi_handle_next_generation(calls.table[i].generation);
      call->slot = i;
      call->ecb.ConnID = handle_of(call);
      calls.next_free_hint = i + 1;
      ReleaseSRWLockExclusive(&calls.table_lock);
      InterlockedIncrement(&calls.live);
      return TRUE;
    }
  }
  ReleaseSRWLockExclusive(&calls.table_lock);
  return FALSE;
}

static void table_remove(isapi_call *call)
{
  AcquireSRWLockExclusive(&calls.table_lock);
  if (calls.table[call->slot].call == call) {
    calls.table[call->slot].call = NULL;
    InterlockedDecrement(&calls.live);
  }
  ReleaseSRWLockExclusive(&calls.table_lock);
}

unsigned isapi_call_live(void) { return (unsigned)calls.live; }

void isapi_call_each(void (*fn)(isapi_call *call, void *ctx), void *ctx)
{
  if (!calls.table)
    return;
  AcquireSRWLockShared(&calls.table_lock);
  LONG left = calls.live;
  for (DWORD i = 0; i < MAX_CALLS && left > 0; i++) {
    isapi_call *call = calls.table[i].call;
    if (!call)
      continue;
    left--;
    fn(call, ctx);
  }
  ReleaseSRWLockShared(&calls.table_lock);
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
    calls.hooks.child_ended(call); /* an EXEC_URL child: its parent goes on */
  else
    ih_conn_ext_end(call->conn, ih_isapi_session_final_status(&call->session), (int)ecb->dwHttpStatusCode);
  isapi_call_unref(call); /* the session's own reference */
}

isapi_call *isapi_call_enter(HCONN hconn)
{
  uint32_t slot, generation;
  isapi_call *call = NULL;
  bool ours = ih_isapi_handle_decode((uintptr_t)hconn, &slot, &generation);
  AcquireSRWLockShared(&calls.table_lock);
  if (ours && calls.table[slot].call && calls.table[slot].generation == generation) {
    isapi_call *c = calls.table[slot].call;
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
  ReleaseSRWLockShared(&calls.table_lock);
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
  if (call->dll)
    ih_isapi_dll_count_fault(call->dll);
  if (ih_isapi_session_on_fault(&call->session) == IH_DONE_END_NOW)
    isapi_call_end(call);
}

void isapi_call_misuse(isapi_call *call, enum isapi_misuse kind, const char *what)
{
  if (call->dll && ih_isapi_dll_first_time(call->dll, IH_ISAPI_DLL_LOG_MISUSE + (unsigned)kind))
    ih_log(IH_LOG_WARNING, IH_EV_EXT_MISUSE, "extension %s: %s (reported once per DLL)", call->dll_path, what);
}

void isapi_set_ext_error(int ext_result)
{
  switch (ext_result) {
  case IH_EXT_OK: break;
  case IH_EXT_BUSY: /* one asynchronous operation per request (ms525028) */
  case IH_EXT_REFUSED: SetLastError(ERROR_INVALID_PARAMETER); break;
  default: SetLastError(WSAECONNRESET); break;
  }
}

/* ---- building and starting the call ---- */

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

/* The pool item of a started call: the host's run hook. */
static void run_started(ih_pool_item *item)
{
  calls.hooks.run((isapi_call *)((char *)item - offsetof(isapi_call, start)));
}

isapi_call *isapi_call_new(ih_conn *c, const ih_request *r, const isapi_body *body)
{
  isapi_call *call = calloc(1, sizeof *call);
  if (!call)
    return NULL;
  call->conn = c;
  call->site = r->site;
  call->refs = 1;
  call->start.run = run_started;
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
  return call;
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
