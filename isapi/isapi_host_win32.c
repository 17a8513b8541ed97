/* ISAPI extension host (see isapi_host_win32.h): the top of its layers
 * (isapi_call_win32.h lists them). It starts and stops the host, starts each
 * request's call, and runs HttpExtensionProc on the extension pool
 * (isapi_pool_win32.c), so a slow or blocked DLL never stalls the I/O
 * threads; a monitor thread reports requests that stay inside a DLL longer
 * than isapi_stuck_timeout.
 *
 * The ECB's callbacks (IIS 6 SDK EXTENSION_CONTROL_BLOCK, ms525658) are put
 * into it here, when the call starts: a DLL reaches them only through the
 * ECB HttpExtensionProc hands it, and the call object below knows none of
 * the files that implement them. What the call object must ask of the host (run
 * a started call) or of EXEC_URL (a child ended) is registered with it once
 * at start (isapi_call_hooks). */
#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server_log.h"
#include "isapi/isapi_call_win32.h"
#include "isapi/isapi_ecb_win32.h"
#include "isapi/isapi_exec_win32.h"
#include "isapi/isapi_head_win32.h"
#include "isapi/isapi_host_win32.h"
#include "isapi/isapi_ssf_win32.h"
#include "isapi/shared/isapi_guard_win32.h"

static struct {
  unsigned stuck_timeout_s;
  HANDLE monitor;
  HANDLE monitor_stop;
} host;

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

/* isapi_call_hooks.run: a started call (a request or an EXEC_URL child),
 * on the extension pool. */
static void run_call(isapi_call *call)
{
  isapi_call_ref(call); /* ours: a PENDING session may end on another thread at once */
  EXTENSION_CONTROL_BLOCK *ecb = &call->ecb;
  ecb->GetServerVariable = isapi_cb_get_server_variable;
  ecb->WriteClient = isapi_cb_write_client;
  ecb->ReadClient = isapi_cb_read_client;
  ecb->ServerSupportFunction = isapi_cb_server_support_function;
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
    DWORD rc = ih_isapi_dll_call(call->dll, ecb);
    call->in_dll = NULL;
    if (ih_isapi_session_on_return(&call->session, rc))
      isapi_call_end(call);
  }
  isapi_call_unref(call);
}

bool ih_isapi_host_extension_start(ih_conn *c)
{
  const ih_request *r = c->req;
  isapi_body body = { r->body_preread, r->body_preread_len,
                      r->framing.chunked ? UINT64_MAX : r->framing.content_length };
  isapi_call *call = isapi_call_new(c, r, &body);
  return call && isapi_call_start(call);
}

/* ---- stuck requests ---- */

typedef struct stuck_scan {
  uint64_t now, limit;
} stuck_scan;

static void report_if_stuck(isapi_call *call, void *ctx)
{
  const stuck_scan *scan = ctx;
  if (scan->now - call->started_ms < scan->limit || InterlockedExchange(&call->stuck_reported, 1))
    return;
  if (call->dll)
    ih_isapi_dll_count_stuck(call->dll);
  const char *where = call->in_dll;
  ih_log(IH_LOG_WARNING, IH_EV_EXT_STUCK,
         "extension %s: %s %s from %s has run for %llu s (%s); other requests go on", call->dll_path,
         call->method, call->url, call->conn->peer_addr,
         (unsigned long long)((scan->now - call->started_ms) / 1000u),
         where ? where
               : (ih_isapi_session_state(&call->session) == IH_SESSION_PENDING
                      ? "HSE_STATUS_PENDING, no HSE_REQ_DONE_WITH_SESSION yet"
                      : "between calls"));
}

static void report_stuck(uint64_t now)
{
  stuck_scan scan = { now, (uint64_t)host.stuck_timeout_s * 1000u };
  isapi_call_each(report_if_stuck, &scan);
}

/* The oldest call inside a DLL, copied out while the table's lock holds
 * it (in_dll names are string literals). */
typedef struct running_scan {
  size_t inside;
  uint64_t oldest_started_ms;
  const char *oldest_where;
  char oldest_dll[MAX_PATH * 3];
} running_scan;

static void count_running(isapi_call *call, void *ctx)
{
  running_scan *scan = ctx;
  const char *where = call->in_dll;
  if (!where)
    return;
  if (!scan->inside++ || call->started_ms < scan->oldest_started_ms) {
    scan->oldest_started_ms = call->started_ms;
    scan->oldest_where = where;
    snprintf(scan->oldest_dll, sizeof scan->oldest_dll, "%s", call->dll_path);
  }
}

size_t ih_isapi_host_describe_running(char *out, size_t cap)
{
  if (cap)
    out[0] = '\0';
  running_scan scan = { 0 };
  isapi_call_each(count_running, &scan);
  if (scan.inside && cap)
    snprintf(out, cap, "%zu request(s) inside extension DLLs, the oldest for %llu s in %s of %s", scan.inside,
             (unsigned long long)((ih_clock_ms() - scan.oldest_started_ms) / 1000u), scan.oldest_where,
             scan.oldest_dll);
  return scan.inside;
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
  static const isapi_call_hooks hooks = { .run = run_call, .child_ended = isapi_exec_child_ended };
  if (isapi_call_init(&hooks) != 0)
    return -1;
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

unsigned ih_isapi_host_live_sessions(void) { return isapi_call_live(); }
