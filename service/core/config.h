/* Server configuration: one INI-style file parsed into an immutable snapshot.
 * Syntax and every key with its default: docs/configuration.md.
 * Portable: the parser reads text; paths are kept as written, relative ones
 * joined to the config file's directory. */
#ifndef IH_CONFIG_H
#define IH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ih_str.h"
#include "core/ip_cidr.h"
#include "core/mime.h"

enum ih_permission {
  IH_PERM_READ = 1,    /* static files may be served */
  IH_PERM_SCRIPT = 2,  /* script-mapped files may run (issue 3) */
  IH_PERM_EXECUTE = 4, /* DLLs may be requested directly (issue 3) */
};

typedef struct ih_binding {
  char *address; /* "*" (any) or an IPv4 / IPv6 literal without brackets */
  uint16_t port;
  char *host;    /* "" = any host name */
} ih_binding;

/* Where a pool's requests run (IIS 6 "worker process isolation mode"):
 * inside the service process, as before pools existed, or in
 * isapihost-worker.exe processes of the pool's own (docs/pools.md). */
enum ih_pool_mode {
  IH_POOL_INPROCESS = 0, /* DLLs loaded in the service process */
  IH_POOL_WORKER = 1,    /* the whole request pipeline runs in worker processes */
};

/* How a site's access log is written (docs/operations.md#access-logs):
 * IIS's W3C extended format, or the same fields as one JSON object per
 * line for log shippers. */
enum ih_log_format {
  IH_LOG_FORMAT_W3C = 0,  /* u_exYYMMDD.log, with #Fields headers (core/w3c_log.h) */
  IH_LOG_FORMAT_JSON = 1, /* u_exYYMMDD.json, JSON lines (core/json_log.h) */
};

/* Most recycle_schedule times of one pool. */
#define IH_POOL_SCHEDULE_MAX 24

/* An application pool ([pool NAME]); docs/configuration.md#pool-name lists
 * every key, docs/pools.md what they do. Keys other than mode only take
 * effect in a worker pool: an inprocess pool stores what is written but
 * nothing reads it (bitness excepted, which is an error there). */
typedef struct ih_pool_conf {
  char *name;                       /* unique (case-insensitive); pools[0] is "default" */
  enum ih_pool_mode mode;
  unsigned bitness;                 /* 32 or 64; 64 when not given, which stands for the server's own
                                       bitness: the caller uses its own when bitness_given is false */
  bool bitness_given;               /* bitness was written in the file (only allowed in worker pools) */
  unsigned processes;               /* worker processes (web garden), 1-64 */
  char *identity;                   /* account the workers run as, as written; "" = the service's own */
  unsigned queue_length;            /* requests waiting for a worker before 503 */
  unsigned rapid_fail_max_crashes;  /* crashes within rapid_fail_interval that stop the pool; 0 = never */
  unsigned rapid_fail_interval;     /* seconds */
  unsigned rapid_fail_backoff_max;  /* seconds: cap of the exponential back-off between restarts */
  unsigned ping_interval;           /* seconds between health pings; 0 = no pings */
  unsigned ping_timeout;            /* seconds a worker may take to answer a ping */
  uint64_t recycle_requests;        /* requests per worker before it is recycled; 0 = never */
  unsigned recycle_time_minutes;    /* minutes of a worker's life before it is recycled; 0 = never */
  uint16_t recycle_schedule[IH_POOL_SCHEDULE_MAX]; /* local times of day, minutes after midnight,
                                                      ascending, no duplicates */
  size_t recycle_schedule_count;
  uint64_t recycle_private_memory;  /* bytes of private memory before a recycle; 0 = never */
  unsigned shutdown_time_limit;     /* seconds an old worker may finish its requests (default: the
                                       [server] value) */
  unsigned startup_time_limit;      /* seconds a new worker may take to report ready (default: the
                                       [server] value) */
  bool shadow_copy;                 /* workers load DLLs from private copies */
  unsigned index;                   /* position in ih_config.pools */
} ih_pool_conf;

typedef struct ih_vdir {
  char *url_path;      /* canonical: "/" or "/a/b" (no trailing '/') */
  char *physical_path; /* absolute, or joined to the config directory; '\' separators (physical_path.h) */
  unsigned permissions;/* IH_PERM_* bits */
  const ih_pool_conf *pool; /* pool = NAME of the [vdir]; NULL = inherit (always NULL for vdirs[0]: the
                               site's pool is ih_site.pool); points into ih_config.pools */
} ih_vdir;

typedef struct ih_error_page {
  int status;          /* 400..599 */
  char *physical_path; /* file sent as the body of that status; '\' separators */
} ih_error_page;

/* A script map (IIS "application extension mapping"): requests for files
 * with this extension, in directories with script or execute permission,
 * run the extension DLL instead of being served as files.
 * A wildcard map ([scriptmap SITE *], IIS 6 "wildcard application map")
 * runs its DLL for every request under url_path; the DLL may hand the
 * request on with HSE_REQ_EXEC_URL. Wildcard maps live in
 * ih_site.wildcard_maps, never in script_maps. */
typedef struct ih_script_map {
  char *extension;    /* ".ext", lower case; "*" for a wildcard map */
  char *dll_path;     /* physical path of the ISAPI extension DLL */
  char **verbs;       /* allowed methods; none listed = all */
  size_t verb_count;
  bool check_file;    /* IIS "verify that file exists": 404 before the DLL runs
                         (default on for ".ext" maps, off for wildcard maps) */
  char *url_path;     /* wildcard maps: canonical URL prefix, "/" or "/a/b" (no
                         trailing '/'); NULL for ".ext" maps */
} ih_script_map;

typedef struct ih_site {
  char *name;
  unsigned id;                 /* W3SVC<id>, INSTANCE_ID; unique */
  ih_binding *bindings;
  size_t binding_count;
  ih_vdir *vdirs;              /* vdirs[0] is always "/" (the site root) */
  size_t vdir_count;
  char **default_documents;
  size_t default_document_count;
  bool directory_listing;
  bool log_enabled;
  char *log_dir;               /* access-log directory of this site */
  enum ih_log_format log_format; /* log_format of the [site], else of [server] */
  ih_error_page *error_pages;
  size_t error_page_count;
  ih_script_map *script_maps;  /* ".ext" maps */
  size_t script_map_count;
  ih_script_map *wildcard_maps;/* "*" maps, in file order */
  size_t wildcard_map_count;
  const ih_pool_conf *pool;    /* pool = NAME of the [site]; NULL = the default pool (pools[0]);
                                  points into ih_config.pools */
  bool secure;                 /* its bindings are reached over TLS terminated in front (a proxy):
                                  HTTPS=on, SF_NOTIFY_SECURE_PORT filters (docs/deployment.md) */
  bool proxy_protocol;         /* its bindings' connections begin with a PROXY protocol header */
} ih_site;

/* An ISAPI filter ([filter NAME]). The DLL's GetFilterVersion chooses the
 * priority (SF_NOTIFY_ORDER_*); within one priority global filters run
 * before site filters, and each group in file order (IIS's FilterLoadOrder;
 * filters/filter_chain.c sorts them). */
typedef struct ih_filter_conf {
  char *name;              /* label for messages; unique (case-insensitive) */
  char *dll_path;          /* physical path of the filter DLL */
  const ih_site *site;     /* NULL = global filter (every site); else points into ih_config.sites */
  bool skip_on_load_error; /* on_load_error = skip: serve without the filter when it cannot be
                              loaded; false (fail): its sites answer 503 meanwhile */
  unsigned order;          /* 0-based position among the [filter] sections of the file */
} ih_filter_conf;

/* Which header the trusted proxies write (forwarded_headers). */
enum ih_forwarded_headers {
  IH_FORWARDED_AUTO = 0,     /* Forwarded (RFC 7239) when present, else X-Forwarded-For */
  IH_FORWARDED_RFC7239 = 1,  /* only Forwarded */
  IH_FORWARDED_XFF = 2,      /* only X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Port */
};

typedef struct ih_server_config {
  unsigned worker_threads;       /* 0 = 2 x CPUs */
  unsigned accepts_per_listener; /* outstanding AcceptEx per listener */
  unsigned max_connections;      /* 0 = unlimited */
  char *status_path;             /* "" disables the status page */
  char *metrics_path;            /* the Prometheus page; "" (the default) disables it */
  char *health_path;             /* the load balancer's health URL; "" = none (docs/deployment.md) */
  ih_cidr *trusted_proxies;      /* addresses whose PROXY headers and forwarding headers are believed */
  size_t trusted_proxy_count;
  int forwarded_headers;         /* enum ih_forwarded_headers: which forwarding header they write */
  bool health_checks_pools;      /* a failing worker pool makes the health URL answer 503 */
  unsigned drain_delay;          /* seconds a graceful stop or pause keeps serving, health 503, before
                                    it closes the listeners */
  char *log_dir;                 /* server log directory */
  enum ih_log_format log_format; /* default access-log format of the sites */
  unsigned drain_timeout;        /* seconds */
  unsigned header_timeout;       /* seconds to receive a whole request head */
  unsigned keepalive_timeout;    /* seconds idle between requests */
  unsigned body_timeout;         /* seconds of grace before min_body_rate applies */
  unsigned min_body_rate;        /* bytes/second a request body must sustain */
  size_t max_request_line;
  size_t max_header_line;
  size_t max_header_bytes;
  size_t max_headers;
  uint64_t max_body;
  unsigned file_cache_ttl;       /* seconds a cached small file is trusted; 0 disables the cache */
  unsigned file_cache_entries;   /* most files kept in the small-file cache */
  unsigned isapi_threads;        /* threads that call extensions at start; 0 = 4 x CPUs
                                    (capped at isapi_max_threads) */
  unsigned isapi_preread;        /* request body bytes handed to an extension in lpbData */
  unsigned isapi_max_threads;    /* the extension pool grows up to this many when all are busy;
                                    never below isapi_threads (checked when parsing) */
  unsigned isapi_stuck_timeout;  /* seconds before a running extension call is logged as stuck
                                    (IH2007); 0 = never */
  unsigned isapi_unload_timeout; /* seconds an unload/reload/stop waits for in-flight calls */
  unsigned isapi_exec_depth;     /* most nested HSE_REQ_EXEC_URL child requests */
  unsigned shutdown_time_limit;  /* seconds a whole stop may take (drain, TerminateExtension and
                                    TerminateFilter, log flush) before the process ends anyway
                                    (IIS's shutdownTimeLimit) */
  unsigned startup_time_limit;   /* seconds a DLL's LoadLibrary and GetExtensionVersion or
                                    GetFilterVersion may take before it counts as not loaded
                                    (IIS's startupTimeLimit) */
} ih_server_config;

typedef struct ih_config {
  char *file_name;   /* as given to the parser, for messages */
  char *base_dir;    /* directory relative paths are joined to */
  ih_server_config server;
  ih_site *sites;
  size_t site_count;
  ih_mime_entry *mime;   /* [mime] overrides of the defaults: ext lower case,
                            type "" = default removed; for ih_mime_lookup */
  size_t mime_count;
  ih_filter_conf *filters; /* every [filter], in file order (filters[i].order == i) */
  size_t filter_count;
  ih_pool_conf *pools;   /* pools[0] is "default" (built in, or its [pool default]); then the other
                            [pool] sections in file order; pools[i].index == i */
  size_t pool_count;     /* at least 1 */
} ih_config;

/* Parses text[0..len). On error returns -1, sets *out to NULL and writes
 * "file:line: what is wrong" (NUL-terminated, truncated to err_cap) to err.
 * base_dir may be "" (relative paths kept). err may be NULL; out may be NULL
 * to validate only. The result is freed with ih_config_free. */
int ih_config_parse(const char *text, size_t len, const char *file_name, const char *base_dir,
                    ih_config **out, char *err, size_t err_cap);
/* Reads the file with stdio and parses it; base_dir = the file's directory
 * (the text before the last '/' or '\\', "/" for a file in the root, "" for
 * a bare name). Errors start with path: "PATH: cannot open: <strerror>" or
 * "PATH:LINE: ...". */
int ih_config_load_file(const char *path, ih_config **out, char *err, size_t err_cap);
void ih_config_free(ih_config *cfg);

/* The site answering a request that arrived on local address addr (text
 * form, as in bindings) and port with Host header host (port suffix already
 * removed; may be empty). IIS order: exact address + host, any address +
 * host, exact address without host, any address without host. Address and
 * host compare case-insensitively. NULL if none. */
const ih_site *ih_config_find_site(const ih_config *cfg, const char *addr, uint16_t port, ih_slice host);

/* What a connection accepted at addr:port is, before any request names a
 * site: every site bound there agrees (ih_config_load refuses it
 * otherwise). */
typedef struct ih_endpoint_facts {
  bool secure;         /* a [site] with secure = on is bound there */
  bool proxy_protocol; /* ... with proxy_protocol = on: connections begin with a PROXY header */
} ih_endpoint_facts;
ih_endpoint_facts ih_config_endpoint(const ih_config *cfg, const char *addr, uint16_t port);

/* Longest virtual-directory prefix of canonical path (segment boundary,
 * case-insensitive); "/" (vdirs[0]) matches everything else. *rest (may be
 * NULL) gets the remainder starting at '/', or "" when path == vdir url_path
 * (also for path "/" on the root), so physical_path + rest is the file. NULL
 * only for a site without vdirs. */
const ih_vdir *ih_site_map_path(const ih_site *site, ih_slice path, ih_slice *rest);

const ih_error_page *ih_site_error_page(const ih_site *site, int status);

/* The script map for a file name's extension (case-insensitive), or NULL.
 * Only ".ext" maps; a wildcard map is never returned. */
const ih_script_map *ih_site_script_map(const ih_site *site, ih_slice file_name);

/* The wildcard maps that apply to canonical request path: those whose
 * url_path is a prefix of path at a segment boundary, case-insensitively
 * (the rule of ih_site_map_path: "/app" matches "/app", "/app/" and
 * "/app/x" but not "/apple"; "/" matches every path). Writes the first cap
 * of them to out[] in file order (out may be NULL when cap is 0) and returns
 * how many apply, which may exceed cap. 0 for a NULL site. */
size_t ih_site_wildcard_maps(const ih_site *site, ih_slice path, const ih_script_map **out, size_t cap);

/* The filters that apply to site, in run order before priorities are
 * considered: every global filter in file order, then the filters of site in
 * file order (a caller sorts them by priority with a stable sort). site NULL
 * gives the global filters only (before a request's site is known). Writes
 * the first cap of them to out[] (out may be NULL when cap is 0) and returns
 * how many apply, which may exceed cap. 0 for a NULL cfg. */
size_t ih_config_filters_for_site(const ih_config *cfg, const ih_site *site, const ih_filter_conf **out,
                                  size_t cap);

/* The pool called name (case-insensitive; "default" is always there), or
 * NULL if there is none (or cfg or name is NULL). */
const ih_pool_conf *ih_config_pool_named(const ih_config *cfg, const char *name);

/* The pool that runs a request of site for canonical path: the pool of the
 * longest virtual directory that matches path and names a pool (the
 * matching rule of ih_site_map_path: segment boundary, case-insensitive, so
 * a vdir without a pool inherits the pool of an enclosing one), else the
 * site's pool, else the default pool (pools[0]). A NULL site gets the
 * default pool. NULL only for a NULL cfg. */
const ih_pool_conf *ih_site_pool_for_path(const ih_config *cfg, const ih_site *site, ih_slice canonical_path);

/* True if any pool of cfg (used by a site or not) has mode worker, i.e. the
 * server needs its worker-process machinery at all. */
bool ih_config_has_worker_pools(const ih_config *cfg);

#endif
