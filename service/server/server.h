/* The server: its configuration generations, its live counts and the host
 * services of its platform (ih_platform). Below the connections
 * (server/conn.h), which each hold a generation. */
#ifndef IH_SERVER_H
#define IH_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "http/http_parse.h"
#include "server/files.h"
#include "server/metrics.h"

typedef struct ih_conn ih_conn;
typedef struct ih_server ih_server;
struct ih_mtext; /* core/metrics_text.h */
struct ih_filter_table; /* filters/filter_chain.h */
struct ih_filter_conn;
struct ih_filter;
struct ih_relay_link; /* server/relay_link.h */

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

/* The host services the pipeline needs from the platform (Win32, or an
 * in-memory fake in tests): files, the access log, the extension and filter
 * hosts, process figures. How a connection's bytes move is its transport's
 * business (server/transport.h), not the platform's. */
typedef struct ih_platform {
  enum ih_fs_status (*file_open)(const char *path, void **file, ih_file_info *info);
  enum ih_fs_status (*file_read)(void *file, uint64_t offset, char *buf, size_t len, size_t *got);
  void (*file_close)(void *file);
  enum ih_fs_status (*dir_list)(const char *path, ih_dir_entry_fn fn, void *arg);

  /* one formatted W3C line for site's access log (written off the request path) */
  void (*access_log)(const ih_site *site, int64_t unix_time, const char *line, size_t len);

  /* Runs the ISAPI extension for c->req (c->req->ext says which). Called with
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
  /* The worker of pool (a worker pool, docs/pools.md) that takes c's
   * request: its link (server/relay_link.h). NULL when none can now: the
   * request is answered 503, with Retry-After: *retry_after_s when it is
   * not 0 (the pool backs off after crashing too often). NULL where
   * requests never leave the process (a worker itself, the tests of the
   * pipeline alone): worker pools then run in process. */
  struct ih_relay_link *(*relay_pick)(ih_conn *c, const ih_pool_conf *pool, unsigned *retry_after_s);
  /* The worker pools for the status page: a JSON array into buf[0..cap),
   * NUL-terminated (docs/pools.md). NULL: "pools": [] */
  size_t (*pools_status)(char *buf, size_t cap);
  /* An operator's recycle of the worker pool named pool, from
   * <status_path>/pools (loopback only; docs/operations.md): every ready
   * worker of it is replaced, overlapped (docs/pools.md), started and not
   * waited for. Returns an ih_platform_recycle_result. NULL where no pool
   * can be recycled (the page answers 404). */
  int (*pool_recycle)(const char *pool);
  /* The platform's families for the Prometheus page at metrics_path
   * (docs/operations.md, "Metrics"): extension DLLs and worker pools, in
   * the exposition format (core/metrics_text.h), from the same figures as
   * the extensions and pools pages. NULL: none. */
  void (*metrics_text)(struct ih_mtext *out);
  /* For the health URL: copies the name of a worker pool that is failing
   * (rapid-fail protection: backing off after crashes) into name[0..cap)
   * and returns true; false when none is. NULL: no worker pools here. */
  bool (*pool_failing)(char *name, size_t cap);
} ih_platform;

/* pool_recycle's answers; the same numbers as the pool manager's
 * IH_POOL_RECYCLE_* (service/win32/pool_manager_win32.h), whose function
 * is the hook on Win32. */
enum ih_platform_recycle_result {
  IH_PLATFORM_RECYCLE_STARTED = 0,     /* asked of every ready worker */
  IH_PLATFORM_RECYCLE_NO_POOL = 1,     /* the running pools have none of that name */
  IH_PLATFORM_RECYCLE_NOT_RUNNING = 2, /* not a worker pool, or none of its workers is ready */
};

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
  ih_metrics_site **metrics_sites; /* the request counters of config->sites[i] (server/metrics.h) */
  atomic_int refs;                 /* the server's while current, + one per connection */
  struct ih_server *server;
} ih_generation;

struct ih_server {
  _Atomic(ih_generation *) current;
  atomic_flag current_lock;         /* taking a reference to current vs replacing it */
  struct ih_file_cache *file_cache; /* small-file cache (server/file_cache.h), shared by generations */
  const ih_platform *platform;
  ih_counters counters;
  ih_metrics metrics; /* request figures by site for the metrics page, kept across reloads */
  atomic_bool draining;
  atomic_bool leaving;              /* a graceful stop or a pause has begun: the health URL says 503
                                       (docs/deployment.md), connections are still served */
  uint64_t started_ms;
  int64_t started_unix; /* wall clock at start: process_start_time_seconds */
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

/* A graceful stop begins: idle connections close, kept ones close after
 * their response. */
void ih_server_begin_drain(ih_server *s);
/* A client reset before its accept completed (the status page's client_aborts). */
void ih_server_count_client_abort(ih_server *s);

/* Decrements a live count unless it is already zero: a release without a
 * take is logged (IH_EV_COUNT_UNDERFLOW, naming what) and ignored, in every
 * build. False when it was refused. */
bool ih_counter_down(atomic_llong *count, const char *what);

#endif
