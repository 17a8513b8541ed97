/* One HttpExtensionProc session as the extension host keeps it: the ECB the
 * DLL sees, the strings it points to, the session state machine, and the
 * handle (HCONN) that names it; its life in isapi_call_win32.c. Win32 only.
 *
 * The bottom of the extension host. Its files stand in layers and call only
 * down (docs/architecture.md):
 *   isapi_host_win32.c   start and stop; a call's start: the ECB's callbacks,
 *                        HttpExtensionProc on the pool
 *   isapi_ssf_win32.c    ServerSupportFunction: the dispatcher
 *   isapi_send_win32.c, isapi_exec_win32.c, isapi_map_win32.c,
 *   isapi_ecb_win32.c    the SSF families and the ECB's data callbacks
 *   isapi_async_win32.c  a DLL's operations, synchronous and asynchronous
 *   isapi_head_win32.c   response heads from the text DLLs pass
 *   isapi_call_win32.c   this: the handle table, the counts, the end
 * What the call must tell a layer above (run the DLL, a child ended) goes
 * through isapi_call_hooks, registered once at start.
 *
 * Lifetimes. Two counts, each with one job:
 *  - refs keeps the memory: the session's own reference (dropped when it
 *    ends), one per ECB callback in progress, one per asynchronous
 *    operation until its completion has run. The ECB stays readable while
 *    any of them exists, so a late callback never touches freed memory.
 *  - gate orders the end after the callbacks: 2 per callback in progress,
 *    plus bit 0 once the session is to end. The end (handing the request
 *    back to the connection) runs when the bit is set and no callback is in
 *    progress, exactly once, by whoever sees that state first. A callback
 *    arriving after the bit is set is refused, as a stale ConnID is.
 * Return codes and DONE_WITH_SESSION never touch either count directly:
 * they feed ih_isapi_session, whose single "end now" answer sets the bit
 * (KB Q142658). */
#ifndef IH_ISAPI_CALL_WIN32_H
#define IH_ISAPI_CALL_WIN32_H

#include <windows.h>
#include <httpext.h>
#include <stdint.h>

#include "server/conn.h"
#include "isapi/isapi_dll_win32.h"
#include "isapi/isapi_pool_win32.h"
#include "isapi/isapi_session.h"
#include "isapi/shared/isapi_vars.h"

typedef struct isapi_call isapi_call;

struct isapi_call {
  EXTENSION_CONTROL_BLOCK ecb;
  ih_pool_item start;           /* runs HttpExtensionProc on the pool */
  ih_conn *conn;
  const ih_site *site;          /* the request's site (URL mapping) */
  ih_isapi_dll *dll;
  ih_isapi_session session;
  ih_isapi_request_info info;
  volatile LONG refs;
  volatile LONG gate;
  DWORD slot;                   /* handle table index */
  uint64_t started_ms;
  volatile LONG stuck_reported;
  const char *volatile in_dll;  /* what the DLL is running for us now ("HttpExtensionProc", ...) or NULL */
  /* HSE_REQ_IO_COMPLETION: the callback for asynchronous operations */
  PFN_HSE_IO_COMPLETION io_completion;
  void *io_context;
  BOOL responded;               /* the DLL has sent a head or body bytes */
  int sent_status;              /* status of the head it sent, 0 if none */
  /* HSE_REQ_EXEC_URL: a child runs for its parent on the same connection */
  isapi_call *parent;           /* a child holds a reference and a gate count on it */
  ih_request *child_req;        /* a child's request (owned) */
  unsigned depth;               /* 0 for the request itself, 1 for its child, ... */
  int wildcard_index;           /* the wildcard map that routed this request, -1 if none */
  unsigned wildcard_skip;       /* wildcard maps its routing passed over */
  BOOL no_headers;              /* HSE_EXEC_URL_NO_HEADERS: structured heads are dropped */
  BOOL no_conn_body;            /* the body is the parent's entity (pEntity): ReadClient ends there */
  char *entity;                 /* that entity's copy (owned), NUL-terminated */
  HSE_EXEC_URL_STATUS exec_status; /* of the last child (GET_EXEC_URL_STATUS) */
  /* NUL-terminated copies for the ECB's string fields (never NULL) */
  char *method, *query, *path_info, *path_translated, *content_type;
  char *url;                    /* the request's canonical URL, for messages */
  char dll_path[MAX_PATH * 3];
};

/* ---- the handle table, the counts, the end (isapi_call_win32.c) ---- */

/* What a call asks of the layers above it, without naming them; the host
 * registers them once at start (isapi_call_init), before any call exists. */
typedef struct isapi_call_hooks {
  /* Runs a started call on the extension pool: the ECB's callbacks, then
   * HttpExtensionProc (isapi_host_win32.c). */
  void (*run)(isapi_call *call);
  /* An EXEC_URL child's session ended; its parent's EXEC_URL completes
   * (isapi_exec_win32.c). */
  void (*child_ended)(isapi_call *child);
} isapi_call_hooks;

/* Commits the handle table and keeps hooks (copied). 0, or -1 (logged). */
int isapi_call_init(const isapi_call_hooks *hooks);

/* The request body an ECB starts with: the pre-read bytes and the total
 * (UINT64_MAX: unknown, cbTotalBytes 0xFFFFFFFF). */
typedef struct isapi_body {
  const char *data;
  size_t len;
  uint64_t total;
} isapi_body;

/* A session for request r on connection c (r is c->req, or a child's
 * request the caller then hands to call->child_req): its strings and the
 * ECB's data fields (the callbacks are set by hooks.run). NULL when out of
 * memory. isapi_call_start gives it an HCONN and queues hooks.run on the
 * extension pool; FALSE (the call freed) when no handle is free. */
isapi_call *isapi_call_new(ih_conn *c, const ih_request *r, const isapi_body *body);
BOOL isapi_call_start(isapi_call *call);

/* The session behind a DLL's HCONN, entered as a callback in progress (a
 * reference and a gate count); NULL for a stale, foreign or ending handle,
 * with ERROR_INVALID_PARAMETER set. Every ECB callback pairs it with
 * isapi_call_leave. */
isapi_call *isapi_call_enter(HCONN hconn);
void isapi_call_leave(isapi_call *call);
/* Another callback-in-progress count (and reference) on a session already
 * entered, for work that outlives the callback (an EXEC_URL child);
 * given back with isapi_call_leave. */
void isapi_call_hold(isapi_call *call);
/* Memory references for asynchronous operations. */
void isapi_call_ref(isapi_call *call);
void isapi_call_unref(isapi_call *call);
/* ih_isapi_session said "end now": the handle dies at once, the end runs
 * when no callback is in progress. */
void isapi_call_end(isapi_call *call);
/* True once the session is ending (no more callbacks into the DLL). */
BOOL isapi_call_ending(const isapi_call *call);
/* A fault in the DLL outside HttpExtensionProc: logged (IH2006) with what
 * it was running; the session ends with HSE_STATUS_ERROR. */
void isapi_call_fault(isapi_call *call, const char *entry, DWORD code, void *address);
/* Logs a misuse once per DLL and kind (IH2012). */
enum isapi_misuse {
  MISUSE_ASYNC_WITHOUT_CALLBACK,
  MISUSE_SECOND_ASYNC,
  MISUSE_DONE_TWICE,
  MISUSE_BAD_POINTER,
  MISUSE_HEAD_TWICE,
  MISUSE_IO_AFTER_END,
};
void isapi_call_misuse(isapi_call *call, enum isapi_misuse kind, const char *what);
/* Maps an IH_EXT_* result of a connection call to a Win32 error and sets it. */
void isapi_set_ext_error(int ext_result);

/* Sessions whose HCONN is still valid. */
unsigned isapi_call_live(void);
/* fn(call, ctx) for each of them, under the table's shared lock: fn only
 * reads (and may mark stuck_reported); it must not enter, end or free. */
void isapi_call_each(void (*fn)(isapi_call *call, void *ctx), void *ctx);

#endif
