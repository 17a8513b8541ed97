/* One HttpExtensionProc session as the extension host keeps it: the ECB the
 * DLL sees, the strings it points to, the session state machine, and the
 * handle (HCONN) that names it. Shared by the host's files; Win32 only.
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

/* ---- handle table and counts (isapi_host_win32.c) ---- */

/* The request body an ECB starts with: the pre-read bytes and the total
 * (UINT64_MAX: unknown, cbTotalBytes 0xFFFFFFFF). */
typedef struct isapi_body {
  const char *data;
  size_t len;
  uint64_t total;
} isapi_body;

/* A session for request r on connection c (r is c->req, or a child's
 * request the caller then hands to call->child_req). NULL when out of
 * memory. isapi_call_start gives it an HCONN and queues HttpExtensionProc;
 * FALSE (the call freed) when no handle is free. */
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

/* ---- ECB callbacks (isapi_ecb_win32.c) ---- */

BOOL WINAPI isapi_cb_get_server_variable(HCONN hconn, LPSTR name, LPVOID buf, LPDWORD size);
BOOL WINAPI isapi_cb_write_client(HCONN hconn, LPVOID buf, LPDWORD bytes, DWORD flags);
BOOL WINAPI isapi_cb_read_client(HCONN hconn, LPVOID buf, LPDWORD size);
BOOL WINAPI isapi_cb_server_support_function(HCONN hconn, DWORD req, LPVOID buf, LPDWORD size, LPDWORD type);

/* ---- asynchronous operations (isapi_async_win32.c) ---- */

/* One asynchronous operation of the DLL: up to a few steps (head, memory,
 * file, ...) run one after the other on the connection, then the DLL's
 * callback runs on the pool with the total byte count or the first error. */
typedef struct isapi_async isapi_async;

enum isapi_step_kind { STEP_HEAD, STEP_WRITE, STEP_READ, STEP_FILE };
typedef struct isapi_step {
  enum isapi_step_kind kind;
  const void *data;             /* WRITE, READ (buffer), HEAD (header text) */
  size_t len;                   /* WRITE/READ bytes, HEAD text length */
  const char *status;           /* HEAD: status string (may be NULL), its length */
  size_t status_len;
  HANDLE file;                  /* FILE */
  uint64_t offset, length;
  BOOL counts;                  /* its bytes count towards the completion's cbIO */
} isapi_step;

/* Starts steps[0..n) (copied) asynchronously; fn/ctx are the DLL's callback
 * (fn may be NULL: nothing is called back). FALSE with the Win32 error set
 * when it cannot start (nothing will be called back). */
BOOL isapi_async_start(isapi_call *call, const isapi_step *steps, size_t n, PFN_HSE_IO_COMPLETION fn, void *ctx);
/* Runs steps[0..n) synchronously; FALSE with the Win32 error set on failure.
 * *bytes (may be NULL) gets the counted bytes. */
BOOL isapi_sync_run(isapi_call *call, const isapi_step *steps, size_t n, DWORD *bytes);
/* Maps an IH_EXT_* result to a Win32 error and sets it. */
void isapi_set_ext_error(int ext_result);
/* Queues fn(ecb, ctx, bytes, error) on the pool, as an operation's
 * completion (EXEC_URL, SEND_CUSTOM_ERROR, a read past a child's entity). */
void isapi_async_complete(isapi_call *call, PFN_HSE_IO_COMPLETION fn, void *ctx, DWORD bytes, DWORD error);

/* ---- EXEC_URL (isapi_exec_win32.c) ---- */

/* A child session ended: its response is complete; the parent's EXEC_URL
 * completes with the child's status. */
void isapi_exec_child_ended(isapi_call *child);

/* ---- ServerSupportFunction handlers (isapi_ssf_*.c) ---- */

/* Response heads from a status string and header text as DLLs pass them
 * (SEND_RESPONSE_HEADER, _EX, TRANSMIT_FILE and VECTOR_SEND heads). */
BOOL isapi_send_header_text(isapi_call *call, const char *status, size_t status_len, const char *headers,
                            size_t headers_len, const ih_ext_done *done);

#endif
