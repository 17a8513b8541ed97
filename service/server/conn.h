/* Connection object and the per-connection HTTP/1.x pipeline.
 *
 * Lifetime (the Q142658 lesson): a connection is kept alive by references,
 * and every reference has a named holder, taken and released in exactly one
 * place each:
 *   IH_HOLD_SOCKET   the open socket: taken by ih_conn_new, released by the
 *                    one close path (conn_close in conn.c);
 *   IH_HOLD_IO       each posted overlapped operation: taken just before the
 *                    platform call, released as the last statement of the
 *                    completion handler (ih_conn_on_recv / ih_conn_on_sent);
 *   IH_HOLD_REQUEST  a request between "head parsed" and "response done":
 *                    request_begin / request_end in conn.c;
 *   IH_HOLD_TIMER    a posted timer or drain notification: taken by
 *                    ih_conn_timer_claim when the platform posts one,
 *                    released at the end of ih_conn_on_timer;
 *   IH_HOLD_ISAPI_SESSION  an ISAPI extension session: taken by
 *                    dispatch_extension, released at the end of
 *                    ih_conn_on_ext_end, also when extension_start failed.
 * docs/lifetime.md has the same list (test_lifetime_doc.c checks its table
 * against enum ih_holder below).
 * Return codes and HTTP semantics never touch these counts: they feed the one
 * keep-alive decision (keepalive.h). When the last reference goes, the
 * platform is asked to free the connection at a safe point (not inside a
 * handler that still runs for it). A count that would go below 0 is refused in
 * every build: logged (IH_EV_COUNT_UNDERFLOW) and the connection closed.
 *
 * Threading: completions for one connection may arrive on any worker thread;
 * every entry point below takes the connection's lock, so handlers for one
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

typedef struct ih_conn ih_conn;
typedef struct ih_server ih_server;
struct ih_filter_table; /* filters/filter_chain.h */
struct ih_filter_conn;
struct ih_filter;

enum ih_holder {
  IH_HOLD_SOCKET,
  IH_HOLD_IO,
  IH_HOLD_REQUEST,
  IH_HOLD_TIMER,
  IH_HOLD_ISAPI_SESSION,
  IH_HOLD__COUNT
};
const char *ih_holder_name(enum ih_holder h);

/* Live counts served by the status page; tests prove they return to zero. */
typedef struct ih_counters {
  atomic_llong connections_live;
  atomic_llong connections_total;
  atomic_llong requests_in_flight;
  atomic_llong requests_total;
  atomic_llong bytes_received;
  atomic_llong bytes_sent;
  atomic_llong isapi_sessions;  /* extension sessions not yet ended (IH_HOLD_ISAPI_SESSION) */
  atomic_llong generations_live; /* configurations still allocated: the current one + those open connections hold */
  atomic_llong client_aborts;   /* clients that reset before their connection was accepted */
} ih_counters;

/* What the status page reports about the process (-1: unknown). */
typedef struct ih_process_stats {
  long long private_bytes; /* committed private memory (Windows "private bytes") */
  long long handles;       /* open kernel handles */
  long long isapi_threads; /* extension pool threads, and how many run an item */
  long long isapi_busy;
} ih_process_stats;

typedef struct ih_file_info {
  uint64_t size;
  int64_t mtime_unix;
  bool is_dir;
} ih_file_info;

enum ih_fs_status { IH_FS_OK, IH_FS_NOT_FOUND, IH_FS_DENIED, IH_FS_ERROR };

typedef void (*ih_dir_entry_fn)(void *arg, const char *name, bool is_dir, uint64_t size, int64_t mtime_unix);

/* What the pipeline needs from the platform (IOCP on Windows, an in-memory
 * fake in tests). I/O calls are made with the connection lock held and an
 * IH_HOLD_IO reference taken; each one produces exactly one completion call
 * later, on another stack, even when posting fails (then with an error). */
typedef struct ih_platform {
  void (*recv)(ih_conn *c, char *buf, size_t cap);
  void (*send)(ih_conn *c, const char *data, size_t len);
  /* head (may be empty) then length bytes of file from offset */
  void (*send_file)(ih_conn *c, void *file, uint64_t offset, uint64_t length, const char *head, size_t head_len);
  void (*shutdown_send)(ih_conn *c); /* send FIN after the data already sent */
  void (*close_socket)(ih_conn *c);  /* once; outstanding I/O completes with an error */
  void (*destroy_later)(ih_conn *c); /* refs are zero: call ih_conn_destroy from a safe point */

  enum ih_fs_status (*file_open)(const char *path, void **file, ih_file_info *info);
  enum ih_fs_status (*file_read)(void *file, uint64_t offset, char *buf, size_t len, size_t *got);
  void (*file_close)(void *file);
  enum ih_fs_status (*dir_list)(const char *path, ih_dir_entry_fn fn, void *arg);

  /* one formatted W3C line for site's access log (written off the request path) */
  void (*access_log)(const ih_site *site, int64_t unix_time, const char *line, size_t len);

  /* Runs the ISAPI extension for c->req (c->req.ext says which). Called with
   * the lock held and an IH_HOLD_ISAPI_SESSION reference taken; the
   * extension side calls ih_conn_ext_end exactly once, which releases it.
   * Returns false, without calling anything back, when the call cannot be
   * started (out of memory, too many calls): the session then ends like any
   * other, through ext_end_later and ih_conn_on_ext_end (the one release of
   * IH_HOLD_ISAPI_SESSION), once the lock is released, and answers 503.
   * NULL where extensions are not supported. */
  bool (*extension_start)(ih_conn *c);
  /* Calls ih_conn_on_ext_end(c): at once on the server's own threads,
   * from an I/O thread otherwise. An extension's session often ends on a
   * short-lived thread of its own, and I/O issued by a thread that exits
   * may be cancelled with it, so what follows the session (the next
   * receive) is never issued from a DLL's thread. Called without the lock. */
  void (*ext_end_later)(ih_conn *c);
  /* Cancels the outstanding operation (HSE_REQ_CANCEL_IO); it completes
   * with an error as usual. */
  void (*cancel_io)(ih_conn *c);
  /* Makes the coming close_socket abortive (RST; HSE_REQ_ABORTIVE_CLOSE). */
  void (*abort_socket)(ih_conn *c);
  /* Whether the peer still looks connected (no FIN or RST received), without
   * consuming input (HSE_REQ_IS_CONNECTED). NULL: assume connected. */
  bool (*peer_alive)(ih_conn *c);
  /* Sends data from the calling thread (an extension's synchronous write)
   * without a completion packet, waiting if the socket cannot take it at
   * once; returns 0 or an error. Called without the lock; the connection
   * marks the operation slot busy meanwhile and never closes the socket
   * underneath it: close_socket is deferred and cancel_io (which must also
   * cancel this send) used instead. NULL: writes go through send. */
  int (*send_now)(ih_conn *c, const char *data, size_t len);
  /* Calls one ISAPI filter's HttpFilterProc for notification type with its
   * portable payload (filters/filter_chain.h), lock held; returns the
   * SF_STATUS_* it answered, or IH_SF_STATUS_FAULTED when it crashed (the
   * platform logs it). NULL where filters are not supported. */
  uint32_t (*filter_call)(ih_conn *c, struct ih_filter_conn *fc, const struct ih_filter *f, uint32_t type,
                          void *payload);
  /* Process figures for the status page; NULL where the platform cannot
   * tell (fields it cannot fill stay -1). */
  void (*process_stats)(struct ih_process_stats *out);
  /* The operator interface for extension DLLs at <status_path>/extensions
   * (loopback only; docs/operations.md): action NULL lists the DLLs;
   * "unload", "reload", "stop" or "start" starts that action on dll (its
   * path as configured) without waiting for it. Writes a NUL-terminated
   * JSON body into json[0..cap) and returns the HTTP status (200, 202, 400,
   * 404, 409, 503). NULL where extensions are not supported (404). */
  int (*ext_admin)(const char *action, const char *dll, char *json, size_t cap);
} ih_platform;

struct ih_file_cache;

/* One loaded configuration and what is derived from it. A connection holds
 * the generation of its current request, taking the newest at accept and
 * between requests, so a reload (SERVICE_CONTROL_PARAMCHANGE) never changes
 * the rules under a request in flight, and reaches open connections from
 * their next request. A generation is counted: the server holds one
 * reference while it is current and each connection one (taken in
 * ih_conn_new and between requests, dropped then and in ih_conn_destroy);
 * the last release frees it, so reloads do not accumulate configurations. Nothing else keeps
 * a pointer into a configuration past its connection (the log writer copies
 * what it needs). */
typedef struct ih_generation {
  const ih_config *config;
  ih_config *owned;                /* freed with the generation (reloads); NULL: the caller's */
  ih_http_limits limits;
  struct ih_filter_table *filters; /* ISAPI filters (filters/filter_chain.h); the platform fills it */
  unsigned number;                 /* 1 for the configuration started with, + 1 per reload */
  atomic_int refs;                 /* the server's while current, + one per connection */
  struct ih_server *server;
} ih_generation;

struct ih_server {
  _Atomic(ih_generation *) current;
  atomic_flag current_lock;         /* taking a reference to current vs replacing it */
  struct ih_file_cache *file_cache; /* small-file cache (server/file_cache.h), shared by generations */
  const ih_platform *platform;
  ih_counters counters;
  atomic_bool draining;
  uint64_t started_ms;
};

/* Returns 0, or -1 when out of memory. The first generation's
 * configuration stays the caller's. */
int ih_server_init(ih_server *s, const ih_config *cfg, const ih_platform *platform);
/* Drops the server's reference to the current generation (a connection
 * still open keeps its own alive) and frees the file cache. */
void ih_server_destroy(ih_server *s);
/* The current generation, borrowed: only for the thread that replaces it
 * (start, stop, reload, which the platform serialises), or for reading a
 * field while that thread cannot run. Any other thread uses
 * ih_server_acquire. */
static inline ih_generation *ih_server_current(ih_server *s) { return atomic_load(&s->current); }
/* The current generation with a reference of the caller's, to give back
 * with ih_generation_release. */
ih_generation *ih_server_acquire(ih_server *s);
/* Drops one reference; the last frees the generation (its filter table and
 * owned configuration). */
void ih_generation_release(ih_generation *gen);
/* A generation for cfg (taken over: freed with the generation), not
 * current yet; NULL when out of memory (cfg is then still the caller's). */
ih_generation *ih_server_generation_new(ih_server *s, ih_config *cfg);
/* A generation that will not be published (a refused reload): its filter
 * table and configuration go with it. */
void ih_server_generation_free(ih_generation *gen);
/* Makes gen current (the server's reference passes to it); the one before
 * it is released, and freed once its last connection closes. */
void ih_server_generation_publish(ih_server *s, ih_generation *gen);

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

/* The one operation an extension has outstanding on its connection. */
typedef struct ih_ext_op {
  int kind;                     /* enum ext_op_kind in conn_ext.c; 0 = none */
  ih_ext_done done;             /* fn NULL: a synchronous caller waits (waiter) */
  struct ih_ext_waiter *waiter;
  size_t report_bytes;          /* what a successful completion reports */
  const char *second;           /* SEND: a second buffer sent after the first */
  size_t second_len;
  char *owned;                  /* SEND: a buffer of ours in flight (a held head), freed at the end */
  char *read_buf;               /* RECV: the extension's buffer */
  size_t read_cap;
  void *file;                   /* a file sent after the buffers */
  uint64_t file_offset, file_left;
  bool file_owned;              /* ours (a child's static response): closed when done;
                                   else the extension's, never closed here */
  bool cancelled;               /* HSE_REQ_CANCEL_IO asked for it */
} ih_ext_op;

enum ih_conn_state {
  IH_CONN_READ_HEAD,     /* waiting for (more of) a request head */
  IH_CONN_READ_BODY,     /* consuming a request body */
  IH_CONN_SEND_CONTINUE, /* sending "100 Continue" */
  IH_CONN_SENDING,       /* sending a response */
  IH_CONN_EXT_RUNNING,   /* an ISAPI extension owns the response (it may be sending or reading) */
  IH_CONN_LINGER,        /* FIN sent; draining client bytes before closing */
  IH_CONN_CLOSED,        /* socket closed; waiting for references to go */
};

/* Per-request state, reset for every request on the connection. */
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
  int status;
  bool keep_alive;           /* the decision, made before the head is written */
  bool is_extension;         /* runs an ISAPI extension (ext) */
  ih_ext_target ext;
  char *ext_preread;         /* body bytes handed to the extension in lpbData (NUL-terminated) */
  size_t ext_preread_len;
  bool body_complete;        /* every body byte has been read from the client */
  bool ext_head_sent;        /* the response head has gone out (or raw bytes: ext_raw) */
  bool ext_raw;              /* the extension wrote bytes before any header call: passed through */
  bool ext_delimited;        /* the extension's response declares its length (or has none) */
  uint64_t ext_declared_length; /* Content-Length the extension declared, UINT64_MAX if none */
  uint64_t ext_body_sent;    /* body bytes sent after the head */
  bool ext_running;          /* between extension_start and ih_conn_on_ext_end */
  bool ext_must_close;       /* the extension asked to close after this response
                                (HSE_IO_DISCONNECT_AFTER_SEND, a cancelled operation) */
  uint32_t ext_hse_status;   /* how the session ended, for ih_conn_on_ext_end */
  int ext_http_status;
  char *ext_log;             /* text the extension adds to cs-uri-query (HSE_APPEND_LOG_PARAMETER,
                                lpszLogData); NULL when none */
  size_t ext_log_len;
  int ext_skip_state;        /* HTTP/0.9: 0 undecided, 1 skipping a head the extension wrote, 2 body */
  int ext_skip_newlines;     /* consecutive line ends seen while skipping */
  void *file;                /* file being sent, closed when the response is done */
  uint64_t file_offset;      /* next file byte to send */
  uint64_t file_left;        /* file bytes not yet sent */
  uint64_t response_bytes;
  unsigned wildcard_skip;    /* applicable wildcard maps passed over (HSE_REQ_EXEC_URL with
                                HSE_EXEC_URL_IGNORE_CURRENT_INTERCEPTOR) */
  char *own_text;            /* the text its head points into when it is not the input buffer: a
                                child request's (EXEC_URL), or a head filters rewrote */
  char *filter_physical;     /* a static file's path as URL_MAP filters left it; NULL: none ran */
} ih_request;

struct ih_conn {
  ih_server *server;
  void *platform_data;            /* socket and OVERLAPPED state, owned by the platform */
  ih_mutex *lock;
  atomic_int refs[IH_HOLD__COUNT];
  atomic_int ref_total;
  atomic_ullong deadline_ms;      /* 0 = none; read by the platform's timer sweep */
  atomic_bool timer_pending;      /* a timer notification is posted and not yet handled */
  atomic_bool count_underflow;    /* a holder released more often than taken (logged): closing */
  char local_addr[48];
  uint16_t local_port;
  char peer_addr[48];
  uint16_t peer_port;
  bool peer_is_loopback;

  enum ih_conn_state state;
  bool socket_closed;
  char *in;                       /* input buffer: [in_start, in_len) not yet consumed */
  size_t in_cap, in_len, in_start, parse_last_len;
  bool head_bytes_seen;           /* some bytes of the current request head arrived */
  uint64_t head_started_ms;
  char *out;                      /* response head (+ small bodies) */
  size_t out_cap, out_len;
  size_t out_head_len;            /* bytes of c->out that are the response head */
  ih_request req;
  ih_request *view;               /* the request respond.c answers: &req, or an
                                     extension's child request (EXEC_URL) */
  ih_generation *gen;             /* the configuration of its current request (a reference) */
  struct ih_filter_conn *filters; /* this connection's filter state; NULL without filters */
  const ih_site *filter_site;     /* the site of its last request: END_OF_NET_SESSION's filters */
  char *filter_send;              /* outgoing bytes after SEND_RAW_DATA filters, while in flight */
  size_t filter_send_cap;
  bool head_filtered;             /* SEND_RESPONSE has seen the head now in out */
  bool out_incomplete;            /* a write into out failed: the response there is not whole */
  /* The extension's one outstanding operation (conn_ext.c); synchronous
   * callers wait on ext_cond for it, and for the slot to be free. */
  ih_cond *ext_cond;
  ih_ext_op ext_op;
  bool ext_end_deferred;          /* the session ended while ext_op was outstanding */
  bool close_deferred;            /* closed during a send_now: the socket goes when it returns */
  bool ext_start_failed;          /* extension_start failed: the session ends at conn_unlock */
  /* A response head sent synchronously without a body is held back a moment
   * and goes out with the first body bytes (one send instead of two), when
   * the session ends, or when the deadline passes (conn_ext_on_deadline). */
  char *ext_held_head;
  size_t ext_held_head_len;
};

/* Creates a connection for an accepted socket (holder: IH_HOLD_SOCKET) and
 * counts it as live. Returns NULL when out of memory. */
ih_conn *ih_conn_new(ih_server *s, void *platform_data, const char *local_addr, uint16_t local_port,
                     const char *peer_addr, uint16_t peer_port);
/* Starts the pipeline: posts the first receive. */
void ih_conn_start(ih_conn *c);

void ih_conn_ref(ih_conn *c, enum ih_holder h);
/* Takes a reference only if the connection still has one (it is not already
 * queued for destruction). For holders that find connections through a
 * registry rather than through a reference of their own (the timer sweep). */
bool ih_conn_try_ref(ih_conn *c, enum ih_holder h);
/* Called without the connection's lock (it takes it to close the connection
 * when h had no reference to release: IH_EV_COUNT_UNDERFLOW). */
void ih_conn_unref(ih_conn *c, enum ih_holder h);
int ih_conn_refs(ih_conn *c, enum ih_holder h);

/* What the platform changes in portable state, each through its one function
 * (the platform never writes an ih_conn's or ih_server's fields itself). */
/* The timer sweep: true when c's deadline passed (or `all`, for a drain) and
 * no notification is pending; an IH_HOLD_TIMER reference is then taken for
 * the notification the caller posts to ih_conn_on_timer. */
bool ih_conn_timer_claim(ih_conn *c, uint64_t now_ms, bool all);
/* Makes c's deadline pass now (a stop that ran out of drain time). */
void ih_conn_expire_now(ih_conn *c);
/* A connection the platform created but could not set up (its socket could
 * not join the completion port): closed through the one close path, which
 * closes the socket (platform->close_socket) and releases IH_HOLD_SOCKET. */
void ih_conn_abandon(ih_conn *c);
/* A graceful stop begins: idle connections close, kept ones close after
 * their response. */
void ih_server_begin_drain(ih_server *s);
/* A client reset before its accept completed (the status page's client_aborts). */
void ih_server_count_client_abort(ih_server *s);

/* Completion handlers, called by the platform; each releases the reference
 * its operation or notification held. err != 0 means the operation failed
 * (any error: the connection is gone or was cancelled); the platform passes
 * the operation's own Win32 error, which the debug log shows (IH_EV_IO_ERROR). */
void ih_conn_on_recv(ih_conn *c, size_t bytes, int err);
void ih_conn_on_sent(ih_conn *c, size_t bytes, int err);
void ih_conn_on_timer(ih_conn *c); /* deadline passed or drain requested */

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
/* Continuation of ih_conn_ext_end on a pool thread (platform->ext_end_later). */
void ih_conn_on_ext_end(ih_conn *c);

/* Frees the connection; only from platform->destroy_later's safe point. */
void ih_conn_destroy(ih_conn *c);

#endif
