/* The request figures of the Prometheus page (docs/operations.md,
 * "Metrics"): per site, requests by method, status class and handler, a
 * duration histogram, and request and response bytes. Counted once, where
 * a request ends (conn_request_end), with atomic counters in arrays indexed
 * by small enums: no lock and no allocation on the request path.
 *
 * Sites are kept by name for the server's life: a generation finds (or
 * adds) the slot of each of its sites when it is created, so a reload that
 * keeps a site keeps its counters, and one that adds a site adds a slot.
 * Slots are never freed before the registry, so a request of an older
 * generation still counts into a valid slot. Portable: no windows.h. */
#ifndef IH_METRICS_H
#define IH_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/ih_str.h"
#include "core/ih_thread.h"
#include "core/metrics_text.h"

/* The methods counted by name: route.c's known methods; anything else is
 * "other", so a client cannot grow the label space. */
enum ih_metrics_method {
  IH_MM_GET,
  IH_MM_HEAD,
  IH_MM_POST,
  IH_MM_PUT,
  IH_MM_DELETE,
  IH_MM_OPTIONS,
  IH_MM_TRACE,
  IH_MM_PATCH,
  IH_MM_CONNECT,
  IH_MM_PROPFIND,
  IH_MM_PROPPATCH,
  IH_MM_MKCOL,
  IH_MM_COPY,
  IH_MM_MOVE,
  IH_MM_LOCK,
  IH_MM_UNLOCK,
  IH_MM_SEARCH,
  IH_MM_OTHER,
  IH_MM_COUNT
};

/* The status class: 1xx .. 5xx, and "none" for a request that ended with no
 * status sent (the connection closed under it, a filter finished it
 * without an answer). */
enum ih_metrics_code_class {
  IH_MC_NONE,
  IH_MC_1XX,
  IH_MC_2XX,
  IH_MC_3XX,
  IH_MC_4XX,
  IH_MC_5XX,
  IH_MC_COUNT
};

/* Who answered: the server itself (files, and every refusal before a
 * handler), an ISAPI extension, a filter that finished the request
 * (SF_STATUS_REQ_FINISHED), or one of the server's own pages (status,
 * metrics, health, operator pages). */
enum ih_metrics_handler {
  IH_MH_STATIC,
  IH_MH_EXTENSION,
  IH_MH_FILTER,
  IH_MH_ADMIN,
  IH_MH_COUNT
};

/* Request duration histogram buckets (upper bounds, seconds): .005 .. 10,
 * then +Inf. */
#define IH_METRICS_BUCKETS 12

typedef struct ih_metrics_site {
  _Atomic(struct ih_metrics_site *) next;
  char *name; /* "" for the requests no site answered (a bad Host, a malformed head) */
  atomic_ullong requests[IH_MM_COUNT][IH_MC_COUNT][IH_MH_COUNT];
  atomic_ullong duration_bucket[IH_METRICS_BUCKETS]; /* not cumulative: each request in its own bucket */
  atomic_ullong duration_sum_us;
  atomic_ullong received_bytes;
  atomic_ullong sent_bytes;
} ih_metrics_site;

typedef struct ih_metrics {
  ih_mutex *add_lock;                   /* finding-or-adding a slot (generation creation) */
  _Atomic(ih_metrics_site *) sites;     /* every named site, newest first */
  ih_metrics_site *no_site;             /* requests with no site */
} ih_metrics;

/* What one ended request adds. */
typedef struct ih_metrics_request {
  enum ih_metrics_method method;
  int status; /* 0: none sent */
  enum ih_metrics_handler handler;
  uint64_t duration_us;
  uint64_t received_bytes;
  uint64_t sent_bytes;
} ih_metrics_request;

/* 0, or -1 when out of memory. */
int ih_metrics_init(ih_metrics *m);
void ih_metrics_destroy(ih_metrics *m);
/* The slot of the site named name (case-insensitive, as site names are
 * unique), added if new; NULL when out of memory. Not for the request path:
 * it takes a lock. */
ih_metrics_site *ih_metrics_site_named(ih_metrics *m, const char *name);

enum ih_metrics_method ih_metrics_method_of(ih_slice method);
enum ih_metrics_code_class ih_metrics_code_class_of(int status);
/* Adds one request to site (the registry's no_site when it had none).
 * Lock-free; any thread. */
void ih_metrics_count(ih_metrics_site *site, const ih_metrics_request *req);

/* The request families, in the exposition format: requests_total (only
 * the series that have counted), the duration histogram and the byte
 * counters (one series per known site). */
void ih_metrics_format_requests(ih_metrics *m, ih_mtext *t);

#endif
