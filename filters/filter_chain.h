/* ISAPI filters, the portable half: which filters a site has and in which
 * order, each connection's filter state, the notification loop with IIS's
 * return codes, and what filters' callbacks do to the connection. The
 * Win32 half (filters/filter_host_win32.c) loads the DLLs and turns one call into
 * HttpFilterProc with the httpfilt.h structures (platform->filter_call).
 * Portable: no windows.h. IIS 6 semantics: shared/reference/isapi-surface.md
 * sections 2.7-2.9.
 *
 * Threading: notifications run on the thread that is processing the
 * connection, with the connection's lock held, one at a time per
 * connection. A filter's callbacks run inside its notification, on the same
 * thread: they act on the connection's state directly and never do I/O
 * themselves; what a filter writes (WriteClient, SF_REQ_SEND_RESPONSE_HEADER)
 * is collected and sent by the pipeline when the notification returns. */
#ifndef IH_FILTER_CHAIN_H
#define IH_FILTER_CHAIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "filters/filter_headers.h"
#include "isapi/shared/isapi_sdk.h"

/* httpfilt.h values (IH_SF_*): isapi/shared/isapi_sdk.h. Not an SDK value:
 * platform->filter_call's answer when the filter faulted (the platform has
 * logged it); the connection is closed. */
#define IH_SF_STATUS_FAULTED 0xFFFFFFFFu

/* ---- filters and their order ---- */

typedef struct ih_conn ih_conn;

/* One configured filter. The platform loads it (GetFilterVersion) and
 * fills flags and handle; until then, or if loading failed, loaded is false
 * and the filter is never called. */
typedef struct ih_filter {
  const ih_filter_conf *conf; /* name, dll, site (NULL: global), order, on_load_error */
  unsigned slot;              /* index in the server's filter table: its per-connection state */
  uint32_t flags;             /* GetFilterVersion's dwFlags */
  void *handle;               /* the platform's */
  bool loaded;
  bool elsewhere;             /* not loaded here on purpose: its site runs in another process (a worker
                                 pool's, docs/pools.md); in no chain, blocks none */
  char error[256];            /* why it did not load, for messages */
} ih_filter;

/* The filters of one site in notification order: by priority (a filter
 * with no priority bit first, KB Q237471; then HIGH, MEDIUM, LOW), at one
 * priority global before site filters, then configuration order (IIS 6
 * "Installing ISAPI Filters"). SEND_RAW_DATA walks it backwards. */
typedef struct ih_filter_chain {
  ih_filter **filters;
  size_t count;
  uint32_t wanted;     /* the notifications any of them registered for */
  bool blocked;        /* a filter with on_load_error = fail is not loaded: 503 */
  const char *blocked_by;
} ih_filter_chain;

/* Every filter of the configuration, and a chain per site plus the chain
 * of global filters: READ_RAW_DATA comes before the site is known, and a
 * request no site serves (a bad Host, a malformed head) meets only global
 * filters. The
 * chains of one build are published whole and never changed: a build after
 * a failed filter loads publishes new ones, and the old stay valid for the
 * requests that hold them until the table is freed. */
typedef struct ih_filter_table {
  ih_filter *filters;
  size_t count;
  size_t site_count;
  const ih_config *cfg;
  _Atomic(struct ih_filter_generation *) current;
} ih_filter_table;

/* The table for cfg, with nothing loaded yet (NULL when out of memory;
 * a configuration without filters gives a table with count 0). */
ih_filter_table *ih_filter_table_new(const ih_config *cfg);
/* (Re)builds the chains from the filters' current flags and load state;
 * call after loading. Returns 0 or -1 when out of memory. */
int ih_filter_table_build(ih_filter_table *t);
void ih_filter_table_free(ih_filter_table *t);
/* The chain of a site (NULL site: the global chain). */
const ih_filter_chain *ih_filter_chain_for(const ih_filter_table *t, const ih_site *site);

/* ---- notification payloads (what HttpFilterProc's pvNotification holds,
 * in portable form; the platform converts both ways) ---- */

/* READ_RAW_DATA, SEND_RAW_DATA: a filter may change the bytes in place
 * (up to cap), or point data at a buffer of its own (AllocMem'd, static)
 * with a new len; the server copies what it is left with. */
typedef struct ih_fn_raw {
  void *data;
  size_t len;
  size_t cap;
} ih_fn_raw;

/* PREPROC_HEADERS, AUTH_COMPLETE (the request), SEND_RESPONSE (the
 * response): GetHeader/SetHeader/AddHeader act on block. */
typedef struct ih_fn_headers {
  ih_hdr_block *block;
  uint32_t http_status; /* HttpStatus: the response's status (SEND_RESPONSE) */
} ih_fn_headers;

/* URL_MAP: the filter may rewrite physical in place, within cap. */
typedef struct ih_fn_url_map {
  const char *url;
  char *physical;
  size_t cap;
} ih_fn_url_map;

/* AUTHENTICATION: writable, NUL-terminated, SF_MAX_* each. */
typedef struct ih_fn_auth {
  char *user;
  size_t user_cap;
  char *password;
  size_t password_cap;
} ih_fn_auth;

/* ACCESS_DENIED */
typedef struct ih_fn_denied {
  const char *url;
  const char *physical;
  uint32_t reason; /* IH_SF_DENIED_* */
} ih_fn_denied;

/* LOG: a filter may point any string at memory of its own (AllocMem) and
 * change the numbers; the log line is written from what it leaves. */
typedef struct ih_fn_log {
  const char *client_host, *client_user, *server_name, *operation, *target, *parameters;
  uint32_t http_status, win32_status, bytes_sent, bytes_received, ms_taken;
} ih_fn_log;

/* ---- per connection ---- */

typedef struct ih_filter_alloc ih_filter_alloc;

typedef struct ih_filter_conn {
  const ih_filter_table *table;
  void **contexts;          /* pFilterContext, per filter slot: kept for the connection */
  uint32_t *disabled;       /* per filter slot: notifications disabled for this request */
  ih_filter_alloc *allocs;  /* AllocMem blocks, freed with the connection */
  size_t alloc_bytes;
  char *add_headers;        /* AddResponseHeaders: lines for the next response head */
  size_t add_headers_len;
  char *denial_headers;     /* SF_REQ_ADD_HEADERS_ON_DENIAL: lines for a 401/403 head */
  size_t denial_headers_len;
  char *out;                /* what filters wrote (WriteClient) to go out next */
  size_t out_len, out_cap;
  /* SF_REQ_SEND_RESPONSE_HEADER: the head is built when the notification
   * returns, when it is known whether the filter finished the request */
  bool head_pending;
  bool head_sent_this_request; /* once per request (ms525219) */
  int head_status;
  char head_reason[128];
  char *head_lines;         /* normalised "Name: value\r\n" lines */
  size_t head_lines_len;
  bool head_close;          /* its lines said Connection: close */
  bool head_chunked;        /* they said Transfer-Encoding: chunked */
  uint64_t head_length;     /* their Content-Length; UINT64_MAX: none */
  uint32_t next_read_size;  /* SF_REQ_SET_NEXT_READ_SIZE; 0: as usual */
  /* AUTHENTICATION's result, for AUTH_* and REMOTE_USER */
  char user[IH_SF_MAX_USERNAME];
  char password[IH_SF_MAX_PASSWORD];
  bool authenticated_phase; /* AUTHENTICATION has run for this request */
  bool denied_notified;     /* ACCESS_DENIED has run for this request's response */
  bool head_from_filter;    /* the response head in the making is a filter's */
  bool end_of_session_sent;
  bool in_notification;     /* a filter's callbacks are valid only now */
} ih_filter_conn;

ih_filter_conn *ih_filter_conn_new(const ih_filter_table *t);
/* END_OF_NET_SESSION must have been delivered; frees AllocMem blocks. */
void ih_filter_conn_free(ih_filter_conn *fc);
/* Forgets what belongs to one request (disabled notifications, headers on
 * denial, a filter's head, the identity). */
void ih_filter_conn_request_done(ih_filter_conn *fc);

/* ---- notifying ---- */

enum ih_chain_result {
  IH_CHAIN_CONTINUE = 0, /* every filter said NEXT, or one HANDLED it */
  IH_CHAIN_FINISHED,     /* a filter handled the request: no handler; close after */
  IH_CHAIN_FINISHED_KEEP,/* the same, keeping the connection if the response allows it */
  IH_CHAIN_ERROR,        /* SF_STATUS_REQ_ERROR: 500 if nothing was sent, then close */
  IH_CHAIN_READ_NEXT,    /* READ_RAW_DATA: the filter took the bytes; read more */
  IH_CHAIN_FAULT,        /* a filter crashed: the connection is closed */
};

/* Delivers notification type with payload to the filters of chain that
 * registered for it, in order (backwards for SEND_RAW_DATA), skipping the
 * ones that disabled it for this request, until one ends the chain.
 * fc may be NULL (no filters: CONTINUE). Lock held. */
enum ih_chain_result ih_filter_notify(ih_conn *c, ih_filter_conn *fc, const ih_filter_chain *chain, uint32_t type,
                                      void *payload);

static inline bool ih_filter_wants(const ih_filter_chain *chain, uint32_t type)
{
  return chain && (chain->wanted & type);
}

/* ---- what filters' callbacks do (inside a notification, lock held) ---- */

/* pfc->WriteClient: queued to go out when the notification returns. */
int ih_filter_cb_write(ih_filter_conn *fc, const void *data, size_t len);
/* pfc->AddResponseHeaders: "Name: value\r\n" lines for the next head;
 * refused (-1) when a line is malformed. */
int ih_filter_cb_add_response_headers(ih_filter_conn *fc, const char *text);
/* pfc->AllocMem: freed when the connection ends (IIS: the session, not the
 * request: a keep-alive connection accumulates; capped at
 * IH_FILTER_ALLOC_MAX per connection, then NULL). */
#define IH_FILTER_ALLOC_MAX (16u << 20)
void *ih_filter_cb_alloc(ih_filter_conn *fc, size_t size);
/* SF_REQ_SEND_RESPONSE_HEADER: a whole head from status ("401 Access
 * Denied"; NULL: "200 OK"; a bare "301" gets its reason phrase) and header
 * lines (may be NULL; may end with an empty line and a body); once per
 * request (-1 the second time). The head is built with the connection's
 * keep-alive decision and goes out, through SEND_RESPONSE, when the
 * notification returns. */
int ih_filter_cb_send_response_header(ih_conn *c, ih_filter_conn *fc, const char *status, const char *headers);
/* SF_REQ_ADD_HEADERS_ON_DENIAL */
int ih_filter_cb_add_headers_on_denial(ih_filter_conn *fc, const char *text);
/* SF_REQ_SET_NEXT_READ_SIZE */
void ih_filter_cb_set_next_read_size(ih_filter_conn *fc, uint32_t size);
/* SF_REQ_DISABLE_NOTIFICATIONS: for this filter, the rest of this request. */
void ih_filter_cb_disable(ih_filter_conn *fc, const ih_filter *f, uint32_t types);
/* pfc->GetServerVariable at any notification: what is not known yet
 * answers NO_DATA (AUTH_TYPE before AUTHENTICATION: IIS 6 crashed there,
 * KB 892988); statuses as isapi_vars.h. */
int ih_filter_cb_server_variable(ih_conn *c, const char *name, void *buf, uint32_t *size);
/* SF_REQ_GET_PROPERTY(SF_PROPERTY_INSTANCE_NUM_ID): the site's id, 0 before
 * the site is known. */
uint32_t ih_filter_cb_instance_id(ih_conn *c);

#endif
