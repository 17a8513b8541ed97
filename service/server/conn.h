/* The connection object: what the server layer's files share about one
 * connection and its current request. The pipeline that runs requests on
 * it is pipeline.h; its transport is transport.h; the extension's I/O on
 * it is the ih_conn_ext_* functions below (conn_ext.c).
 *
 * Lifetime (the Q142658 lesson): a connection is kept alive by references,
 * and every reference has a named holder, taken and released in exactly one
 * place each:
 *   IH_HOLD_SOCKET   the open socket: taken by conn_create (ih_conn_new),
 *                    released by the one close path (conn_close in conn.c);
 *   IH_HOLD_IO       each posted transport operation: taken just before the
 *                    transport call (conn.c's conn_transport_*), released as
 *                    the last statement of the completion handler
 *                    (ih_conn_on_recv / ih_conn_on_sent, pipeline.c);
 *   IH_HOLD_REQUEST  a request between "head parsed" and "response done":
 *                    conn_request_begin / conn_request_end in request.c;
 *   IH_HOLD_TIMER    a posted timer or drain notification: taken by
 *                    ih_conn_timer_claim when the transport posts one,
 *                    released at the end of ih_conn_on_timer;
 *   IH_HOLD_ISAPI_SESSION  an ISAPI extension session: taken by
 *                    conn_ext_start (conn_ext.c), released by
 *                    conn_ext_session_release at the end of
 *                    ih_conn_on_ext_end, also when extension_start failed;
 *   IH_HOLD_RELAY    a request a worker process runs (conn_relay.h): taken
 *                    by conn_relay_start once the request is sent, released
 *                    by relay_release (pipeline.c) when the worker's END
 *                    arrives or the worker is lost.
 * docs/lifetime.md has the same list (test_lifetime_doc.c checks its table
 * against enum ih_holder below).
 * Return codes and HTTP semantics never touch these counts: they feed the one
 * keep-alive decision (keepalive.h). When the last reference goes, the
 * transport is asked to free the connection at a safe point (not inside a
 * handler that still runs for it). A count that would go below 0 is refused in
 * every build: logged (IH_EV_COUNT_UNDERFLOW) and the connection closed.
 *
 * Threading: completions for one connection may arrive on any worker thread;
 * every entry point takes the connection's lock, so handlers for one
 * connection never run concurrently. At most one I/O operation is
 * outstanding per connection, so the pipeline is a simple state machine. */
#ifndef IH_CONN_H
#define IH_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/ih_thread.h"
#include "http/http_chunked.h"
#include "http/http_parse.h"
#include "server/server.h"
#include "server/transport.h"

struct ih_filter_conn; /* filters/filter_chain.h */

enum ih_holder {
  IH_HOLD_SOCKET,
  IH_HOLD_IO,
  IH_HOLD_REQUEST,
  IH_HOLD_TIMER,
  IH_HOLD_ISAPI_SESSION,
  IH_HOLD_RELAY,
  IH_HOLD__COUNT
};
const char *ih_holder_name(enum ih_holder h);

/* Where an extension request goes (decided when its head is parsed). */
typedef struct ih_ext_target {
  const char *dll_path;        /* the DLL: a script map's, or the requested .dll file */
  char script_physical[4096];  /* physical path of the script (the mapped file or the DLL) */
  size_t script_url_len;       /* SCRIPT_NAME = req.path[0..len); PATH_INFO per ISAPI rules */
  bool direct_dll;             /* /x/app.dll/info: PATH_INFO is what follows the DLL */
  int wildcard_index;          /* which applicable wildcard map routed it; -1: none */
  const ih_vdir *vdir;
} ih_ext_target;

/* Completion of an extension's asynchronous operation (conn_ext.c). */
typedef struct ih_ext_done {
  void (*fn)(void *ctx, size_t bytes, int err);
  void *ctx;
} ih_ext_done;

enum ih_conn_state {
  IH_CONN_READ_HEAD,     /* waiting for (more of) a request head */
  IH_CONN_READ_BODY,     /* consuming a request body */
  IH_CONN_SEND_CONTINUE, /* sending "100 Continue" */
  IH_CONN_SENDING,       /* sending a response */
  IH_CONN_EXT_RUNNING,   /* an ISAPI extension owns the response (it may be sending or reading) */
  IH_CONN_RELAYING,      /* a worker process runs the request (conn_relay.h) */
  IH_CONN_LINGER,        /* FIN sent; draining client bytes before closing */
  IH_CONN_CLOSED,        /* socket closed; waiting for references to go */
};

/* One request on the connection (c->req), allocated for it alone. */
typedef struct ih_request {
  ih_http_request_head head; /* slices point into the connection's input buffer */
  ih_http_framing framing;
  bool active;               /* holds IH_HOLD_REQUEST and counts as in flight */
  bool framing_ok;           /* head and body read completely and correctly */
  bool refused;              /* answered 400 after being read: the connection closes (keepalive.h) */
  bool head_only;            /* HEAD: send headers, no body */
  uint64_t started_ms;
  uint64_t body_left;        /* Content-Length bytes still to read */
  uint64_t body_received;
  uint64_t body_started_ms;
  ih_chunked_decoder chunked;
  enum ih_chunked_status body_refused; /* why conn_body_pull returned -1 (ERROR or TOO_LARGE) */
  const ih_site *site;
  ih_slice query;
  char path[2048];           /* canonical URL path ("" if refused) */
  bool path_known;           /* path, query and path_status are worked out (route.c) */
  bool secure;               /* the client reached us over TLS (terminated in front): HTTPS, filters'
                                SF_NOTIFY_SECURE_PORT */
  char client_addr[48];      /* the client: peer_addr, or what trusted proxies' forwarding headers name
                                (conn_request_resolve_client): REMOTE_ADDR, c-ip */
  uint16_t client_port;      /* its port; 0 when a forwarding header named none */
  uint16_t server_port;      /* the port the client connected to: SERVER_PORT */
  int path_status;           /* the enum ih_url_status of canonicalising the target */
  int status;
  bool keep_alive;           /* the decision, made before the head is written */
  bool is_extension;         /* runs an ISAPI extension (ext) */
  ih_ext_target ext;
  char *body_preread;        /* body bytes read before the handler starts, up to isapi_preread (IIS's
                                UploadReadAheadSize): an extension's lpbData (NUL-terminated) */
  size_t body_preread_len;
  bool body_complete;        /* every body byte has been read from the client */
  bool close_wanted;         /* the handler or a filter asked to close after this response
                                (HSE_IO_DISCONNECT_AFTER_SEND, a cancelled operation, SF_STATUS_REQ_FINISHED) */
  char *log_append;          /* text the handler adds to the log's cs-uri-query (an extension's
                                HSE_APPEND_LOG_PARAMETER, lpszLogData); NULL when none */
  size_t log_append_len;
  void *file;                /* file being sent, closed when the response is done */
  uint64_t file_offset;      /* next file byte to send */
  uint64_t file_left;        /* file bytes not yet sent */
  uint64_t response_bytes;
  uint64_t sent_bytes;       /* bytes of its response written to the client (metrics) */
  bool answered_by_set;      /* answered_by says who answered; else static or extension (is_extension) */
  uint8_t answered_by;       /* enum ih_metrics_handler: a filter that finished it, a server page, or
                                what a worker reported for a relayed request */
  unsigned wildcard_skip;    /* applicable wildcard maps passed over (HSE_REQ_EXEC_URL with
                                HSE_EXEC_URL_IGNORE_CURRENT_INTERCEPTOR) */
  char *own_text;            /* the text its head points into when it is not the input buffer: a
                                child request's (EXEC_URL), or a head filters rewrote */
  char *filter_physical;     /* a static file's path as URL_MAP filters left it; NULL: none ran */
} ih_request;

struct ih_conn {
  ih_server *server;
  const ih_transport *transport;  /* how its bytes move (server/transport.h) */
  const struct ih_conn_hooks *hooks; /* the pipeline's part in closing and destroying it (conn_internal.h) */
  void *transport_data;           /* the transport's own state (a socket and its OVERLAPPED), owned by it */
  ih_mutex *lock;
  atomic_int refs[IH_HOLD__COUNT];
  atomic_int ref_total;
  atomic_ullong deadline_ms;      /* 0 = none; read by the transport's timer sweep */
  atomic_bool timer_pending;      /* a timer notification is posted and not yet handled */
  atomic_bool count_underflow;    /* a holder released more often than taken (logged): closing */
  atomic_bool cancelled;          /* a stop out of drain time: closes at the next timer notification */
  char local_addr[48];
  uint16_t local_port;
  char peer_addr[48];
  uint16_t peer_port;
  bool peer_is_loopback;
  bool secure_port;               /* accepted where a secure = on site is bound (ih_config_endpoint) */
  bool proxy_pending;             /* a PROXY protocol header is awaited before the first request */
  char proxy_addr[48];            /* the proxy that sent the PROXY header naming peer_addr; "" without */

  enum ih_conn_state state;
  bool socket_closed;
  char *in;                       /* input buffer: [in_start, in_len) not yet consumed */
  size_t in_cap, in_len, in_start, parse_last_len;
  bool head_bytes_seen;           /* some bytes of the current request head arrived */
  /* A long idle (pipeline.c, IH_PARK_AFTER_MS): the receive is cancelled
   * (parking) and a zero-byte one waits for the client instead (parked),
   * with no input buffer; idle_until_ms is when the idle connection closes. */
  bool parking, parked;
  uint64_t idle_until_ms;
  uint64_t head_started_ms;
  char *out;                      /* response head (+ small bodies) */
  size_t out_cap, out_len;
  size_t out_head_len;            /* bytes of c->out that are the response head */
  /* Its current request: allocated when the request's first bytes are
   * parsed (conn_request_new, request.c), freed when it is over and the
   * connection waits for the next one (conn_request_free), so an idle
   * connection holds none; NULL between requests. */
  ih_request *req;
  ih_request *view;               /* the request the response writers answer: req, or
                                     an extension's child request (EXEC_URL) */
  ih_generation *gen;             /* the configuration of its current request (a reference) */
  struct ih_filter_conn *filters; /* this connection's filter state; NULL without filters */
  const ih_site *filter_site;     /* the site of its last request: END_OF_NET_SESSION's filters */
  char *filter_send;              /* outgoing bytes after SEND_RAW_DATA filters, while in flight */
  size_t filter_send_cap;
  bool head_filtered;             /* SEND_RESPONSE has seen the head now in out */
  bool out_incomplete;            /* a write into out failed: the response there is not whole */
  /* The extension handler's state while it runs a request (conn_ext.c):
   * its one outstanding operation, the response it is writing, a held
   * head. Allocated when an extension request starts, freed when its
   * session is over; NULL otherwise. */
  struct ih_ext_state *ext_state;
  /* The relay handler's state while a worker process runs its request
   * (conn_relay.c); NULL otherwise. */
  struct ih_relay_state *relay_state;
  /* The worker this connection's requests last went to, where a
   * connection of its own stands for it between requests (its filters'
   * contexts, END_OF_NET_SESSION at its end): a counted reference to the
   * worker's link, and the number it has there. NULL when none; told to
   * close (CLOSE) when the connection ends or its requests move to
   * another worker (conn_relay_detach). */
  struct ih_relay_link *relay_link;
  uint64_t relay_id;
  bool sending_now;               /* a thread is inside transport->send_now for it */
  bool close_deferred;            /* closed during a send_now: the socket goes when it returns */
};

void ih_conn_ref(ih_conn *c, enum ih_holder h);
/* Takes a reference only if the connection still has one (it is not already
 * queued for destruction). For holders that find connections through a
 * registry rather than through a reference of their own (the timer sweep). */
bool ih_conn_try_ref(ih_conn *c, enum ih_holder h);
/* Called without the connection's lock (it takes it to close the connection
 * when h had no reference to release: IH_EV_COUNT_UNDERFLOW). */
void ih_conn_unref(ih_conn *c, enum ih_holder h);
int ih_conn_refs(ih_conn *c, enum ih_holder h);

/* What the transport (or the platform) changes in portable state, each
 * through its one function (neither ever writes an ih_conn's or
 * ih_server's fields itself). */
/* The timer sweep: true when c's deadline passed (or `all`, for a drain) and
 * no notification is pending; an IH_HOLD_TIMER reference is then taken for
 * the notification the caller posts to ih_conn_on_timer. */
bool ih_conn_timer_claim(ih_conn *c, uint64_t now_ms, bool all);
/* Makes c's deadline pass now (what a sweep that finds it passed sees). */
void ih_conn_expire_now(ih_conn *c);
/* A stop that ran out of drain time: c's deadline passes now and no later
 * one replaces it (a body read or an extension's operation would set a
 * fresh one), so the next timer notification closes c, whatever it is
 * doing. */
void ih_conn_cancel(ih_conn *c);
/* A connection the transport created but could not set up (its socket could
 * not join the completion port): closed through the one close path, which
 * closes the socket (transport->close_socket) and releases IH_HOLD_SOCKET. */
void ih_conn_abandon(ih_conn *c);

/* ---- ISAPI extension I/O (conn_ext.c): called by the extension host from
 * any thread, without the connection lock, between extension_start and
 * ih_conn_ext_end. Each takes an optional completion:
 *   done == NULL  synchronous: waits for the operation and returns its result;
 *   done != NULL  asynchronous: returns IH_EXT_OK at once and done->fn runs
 *                 exactly once later (err != 0: it failed), on any thread,
 *                 without the lock and possibly before the call returns;
 *                 on any other result done->fn is never called.
 * One operation at a time per request (IIS 6, "Using Asynchronous I/O
 * Processing"): a call while an asynchronous one is outstanding is refused
 * with IH_EXT_BUSY; synchronous calls from several threads take turns. ---- */

enum ih_ext_result {
  IH_EXT_OK = 0,
  IH_EXT_GONE = -1,    /* the client is gone, or the operation failed */
  IH_EXT_BUSY = -2,    /* an asynchronous operation is outstanding */
  IH_EXT_REFUSED = -3, /* not allowed now: a second response head */
};

typedef struct ih_ext_head {
  int status;
  const char *reason;        /* "" or NULL: the standard phrase */
  const char *headers;       /* normalised "Name: value\r\n" lines */
  size_t headers_len;
  const char *body;          /* sent right after the head (may be empty) */
  size_t body_len;
  bool close;                /* the extension's own headers said "Connection: close" */
} ih_ext_head;

/* Sends a response head built from the extension's status and headers, then
 * the body. HTTP/0.9 gets the body only. A second head is REFUSED. */
int ih_conn_ext_send_head(ih_conn *c, const ih_ext_head *head, const ih_ext_done *done);
/* WriteClient: bytes written before any head are passed through untouched
 * (many DLLs write their own status line), except that HTTP/0.9 never gets a
 * head. A successful completion reports len. */
int ih_conn_ext_write(ih_conn *c, const void *data, size_t len, const ih_ext_done *done);
/* ReadClient: up to *len decoded body bytes after the pre-read; 0 at the
 * end of the body. Synchronous: *len is set to the count. */
int ih_conn_ext_read(ih_conn *c, void *buf, size_t *len, const ih_ext_done *done);
/* length bytes of the extension's file from offset (TRANSMIT_FILE and
 * VECTOR_SEND file elements); the file is the platform's handle, never
 * closed here. Counts as body (raw, like WriteClient, before any head). */
int ih_conn_ext_send_file(ih_conn *c, void *file, uint64_t offset, uint64_t length, const ih_ext_done *done);
/* HSE_REQ_EXEC_URL: a child request built from the parent's, with method,
 * request-target (path and query, percent-encoded as on the wire) and header
 * lines ("Name: value\r\n"..., NULL: the parent's; a missing Host is the
 * parent's), parsed and routed like a request from the wire, passing over
 * wildcard_skip wildcard maps. child->is_extension and child->ext say where
 * it goes. NULL when it does not parse (*status: 400, 414, 431) or memory
 * ran out (*status 503). Freed with ih_conn_ext_child_free. */
ih_request *ih_conn_ext_child_new(ih_conn *c, const char *method, const char *target, const char *headers,
                                  unsigned wildcard_skip, int *status);
void ih_conn_ext_child_free(ih_request *child);
/* Answers a child that runs no extension (a file, a directory, an error)
 * as the extension's operation; no_headers: the body only
 * (HSE_EXEC_URL_NO_HEADERS). *status_out gets the child's status. */
int ih_conn_ext_child_respond(ih_conn *c, ih_request *child, bool no_headers, int *status_out,
                              const ih_ext_done *done);
/* A whole response for status: the site's error page (or the built-in one)
 * from 400 up, an empty one below (HSE_REQ_SEND_CUSTOM_ERROR; a child
 * extension that sent nothing). REFUSED once a head has gone out, unless
 * no_headers. */
int ih_conn_ext_send_status(ih_conn *c, int status, bool no_headers, const ih_ext_done *done);
/* HSE_REQ_CANCEL_IO: the outstanding operation completes with an error and
 * the connection closes after this response. */
void ih_conn_ext_cancel(ih_conn *c);
/* HSE_REQ_CLOSE_CONNECTION / ABORTIVE_CLOSE: close the socket now; an
 * outstanding operation completes with an error. */
void ih_conn_ext_close(ih_conn *c, bool abortive);
/* HSE_IO_DISCONNECT_AFTER_SEND: close after this response. */
void ih_conn_ext_close_after(ih_conn *c);
/* HSE_REQ_IS_CONNECTED and HSE_REQ_IS_KEEP_CONN. */
bool ih_conn_ext_connected(ih_conn *c);
bool ih_conn_ext_client_keeps_alive(ih_conn *c);
/* Appends text to the access-log record's cs-uri-query (after the query). */
void ih_conn_ext_log_append(ih_conn *c, const char *text, size_t len);
/* HSE_REQ_MAP_URL_TO_PATH(_EX): SF_NOTIFY_URL_MAP for url and the physical
 * path[0..cap) it maps to, which the filters may edit in place (ms525116).
 * True when a filter ran; a filter that fails or crashes there closes the
 * connection (the path is what it left). */
bool ih_conn_filter_url_map(ih_conn *c, const char *url, char *path, size_t cap);
/* The session is over (exactly once): hse_status is the HSE_STATUS_* the
 * request ended with, http_status the ECB's dwHttpStatusCode. Finishes the
 * response (a default one if the extension sent nothing), makes the
 * keep-alive decision and releases IH_HOLD_ISAPI_SESSION, once an
 * outstanding asynchronous operation has completed. */
void ih_conn_ext_end(ih_conn *c, uint32_t hse_status, int http_status);
/* Frees the connection; only from transport->destroy_later's safe point. */
void ih_conn_destroy(ih_conn *c);

#endif
