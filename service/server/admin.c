/* The server's own pages (see admin.h). */
#include "server/admin.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "core/ih_str.h"
#include "core/ih_time.h"
#include "core/ip_cidr.h"
#include "core/metrics_text.h"
#include "core/server_log.h"
#include "server/conn_internal.h"
#include "server/health.h"
#include "ih_version.h"

bool ih_admin_peer_may_read(const ih_conn *c)
{
  /* The request's client: the peer (a PROXY header's client), or whom a
   * trusted proxy's forwarding headers name (conn_request_resolve_client),
   * so a reverse proxy on this machine does not open the pages to the
   * clients it forwards; a trusted proxy itself (a load balancer's checks,
   * a scraper beside it) may read them (docs/deployment.md). */
  const ih_server_config *sc = &c->gen->config->server;
  const char *client = c->view ? c->view->client_addr : c->peer_addr;
  return ih_addr_is_loopback(client) ||
         ih_cidr_list_match_text(sc->trusted_proxies, sc->trusted_proxy_count, ih_slice_from_cstr(client));
}

void ih_admin_status_page(ih_conn *c, ih_body_plan *plan)
{
  const ih_counters *k = &c->server->counters;
  /* The asking connection and request are excluded, so an idle server
   * reports zero and tests can prove counts return to zero. */
  ih_process_stats ps = { -1, -1, -1, -1 };
  if (c->server->platform->process_stats)
    c->server->platform->process_stats(&ps);
  ih_generation *newest = ih_server_acquire(c->server);
  unsigned generation = newest ? newest->number : 0;
  if (newest)
    ih_generation_release(newest);
  enum { POOLS_MAX = 16384 };
  char *pools = c->server->platform->pools_status ? ih_malloc(POOLS_MAX) : NULL;
  if (c->server->platform->pools_status && !pools) {
    /* "pools":[] would say there are none: out of memory is a 503 */
    ih_response_error(c, 503, plan);
    return;
  }
  if (pools)
    c->server->platform->pools_status(pools, POOLS_MAX);
  char body[896 + POOLS_MAX];
  int n = snprintf(body, sizeof body,
                   "{\"connections_live\":%lld,\"requests_in_flight\":%lld,\"connections_total\":%lld,"
                   "\"requests_total\":%lld,\"bytes_received\":%lld,\"bytes_sent\":%lld,\"uptime_seconds\":%llu,"
                   "\"isapi_sessions\":%lld,\"isapi_threads\":%lld,\"isapi_busy\":%lld,"
                   "\"private_bytes\":%lld,\"handles\":%lld,\"config_generation\":%u,\"config_generations_live\":%lld,"
                   "\"client_aborts\":%lld,\"pools\":%s}\n",
                   atomic_load(&k->connections_live) - 1, atomic_load(&k->requests_in_flight) - 1,
                   atomic_load(&k->connections_total), atomic_load(&k->requests_total),
                   atomic_load(&k->bytes_received), atomic_load(&k->bytes_sent),
                   (unsigned long long)((ih_clock_ms() - c->server->started_ms) / 1000u),
                   atomic_load(&k->isapi_sessions), ps.isapi_threads, ps.isapi_busy, ps.private_bytes, ps.handles,
                   generation, atomic_load(&k->generations_live), atomic_load(&k->client_aborts),
                   pools ? pools : "[]");
  free(pools);
  if (n >= (int)sizeof body)
    n = (int)sizeof body - 1;
  ih_response_head_begin(c, 200);
  ih_response_head_field(c, "Content-Type", "application/json");
  ih_response_head_field(c, "Cache-Control", "no-store");
  ih_response_head_field(c, "Content-Length", "%d", n);
  ih_response_head_end(c, true);
  if (!c->view->head_only)
    ih_response_append(c, body, (size_t)n);
}

/* ---- metrics: <metrics_path> (docs/operations.md, "Metrics") ----
 * The Prometheus text exposition format 0.0.4. The server-wide figures are
 * the status page's own counters (server.h: ih_counters) and process
 * figures, read the same way (the asking connection and request are left
 * out, as there); the request figures are the per-site registry
 * (server/metrics.h); the platform adds its extension DLLs and worker
 * pools (ih_platform.metrics_text). Names follow Prometheus's conventions:
 * the isapihost_ prefix, _total on counters, base units (_seconds,
 * _bytes). */

static void metrics_server_families(ih_conn *c, ih_mtext *t)
{
  ih_server *s = c->server;
  const ih_counters *k = &s->counters;
  ih_mlabel build[] = { { "version", IH_VERSION }, { "bitness", sizeof(void *) == 8 ? "64" : "32" } };
  ih_mtext_family(t, "isapihost_build_info", "gauge",
                  "The running build: always 1, its version and bitness as labels.");
  ih_mtext_sample_u64(t, "isapihost_build_info", build, 2, 1);
  ih_mtext_family(t, "process_start_time_seconds", "gauge",
                  "Start time of the process since the Unix epoch, in seconds.");
  ih_mtext_sample_i64(t, "process_start_time_seconds", NULL, 0, s->started_unix);

  ih_mtext_family(t, "isapihost_connections_open", "gauge", "Client connections open now (the asking one left out).");
  ih_mtext_sample_i64(t, "isapihost_connections_open", NULL, 0, atomic_load(&k->connections_live) - 1);
  ih_mtext_family(t, "isapihost_connections_accepted_total", "counter", "Client connections accepted.");
  ih_mtext_sample_i64(t, "isapihost_connections_accepted_total", NULL, 0, atomic_load(&k->connections_total));
  ih_mtext_family(t, "isapihost_client_aborts_total", "counter",
                  "Clients that reset before their connection was accepted.");
  ih_mtext_sample_i64(t, "isapihost_client_aborts_total", NULL, 0, atomic_load(&k->client_aborts));
  ih_mtext_family(t, "isapihost_http_requests_in_flight", "gauge",
                  "Requests begun and not ended (the asking one left out).");
  ih_mtext_sample_i64(t, "isapihost_http_requests_in_flight", NULL, 0, atomic_load(&k->requests_in_flight) - 1);
  ih_mtext_family(t, "isapihost_isapi_sessions", "gauge", "ISAPI extension sessions not yet ended.");
  ih_mtext_sample_i64(t, "isapihost_isapi_sessions", NULL, 0, atomic_load(&k->isapi_sessions));

  ih_process_stats ps = { -1, -1, -1, -1 };
  if (s->platform->process_stats)
    s->platform->process_stats(&ps);
  static const struct {
    const char *name, *help;
    size_t offset;
  } process[] = {
    { "isapihost_process_private_bytes", "Committed private memory of the process (Windows private bytes).",
      offsetof(ih_process_stats, private_bytes) },
    { "isapihost_process_handles", "Kernel handles the process has open.", offsetof(ih_process_stats, handles) },
    { "isapihost_isapi_threads", "Threads of the ISAPI extension pool.", offsetof(ih_process_stats, isapi_threads) },
    { "isapihost_isapi_threads_busy", "Threads of the ISAPI extension pool running an item.",
      offsetof(ih_process_stats, isapi_busy) },
  };
  for (size_t i = 0; i < sizeof process / sizeof process[0]; i++) {
    long long v = *(const long long *)(const void *)((const char *)&ps + process[i].offset);
    if (v < 0)
      continue; /* the platform cannot tell: no family rather than a made-up value */
    ih_mtext_family(t, process[i].name, "gauge", process[i].help);
    ih_mtext_sample_i64(t, process[i].name, NULL, 0, v);
  }

  ih_generation *newest = ih_server_acquire(s);
  unsigned generation = newest ? newest->number : 0;
  if (newest)
    ih_generation_release(newest);
  ih_mtext_family(t, "isapihost_config_generation", "gauge",
                  "Number of the configuration in use: 1 at start, + 1 per reload applied.");
  ih_mtext_sample_u64(t, "isapihost_config_generation", NULL, 0, generation);
  ih_mtext_family(t, "isapihost_config_reloads_total", "counter", "Configuration reloads applied.");
  ih_mtext_sample_u64(t, "isapihost_config_reloads_total", NULL, 0, generation ? generation - 1u : 0u);
  ih_mtext_family(t, "isapihost_config_generations_live", "gauge",
                  "Configurations still in memory: the current one and those open connections hold.");
  ih_mtext_sample_i64(t, "isapihost_config_generations_live", NULL, 0, atomic_load(&k->generations_live));
}

void ih_admin_metrics_page(ih_conn *c, ih_body_plan *plan)
{
  ih_mtext t;
  ih_mtext_init(&t);
  metrics_server_families(c, &t);
  ih_metrics_format_requests(&c->server->metrics, &t);
  if (c->server->platform->metrics_text)
    c->server->platform->metrics_text(&t);
  if (t.oom || !t.p) {
    ih_mtext_free(&t);
    ih_response_error(c, 503, plan); /* a partial page would read as counters gone down */
    return;
  }
  ih_response_head_begin(c, 200);
  ih_response_head_field(c, "Content-Type", "%s", IH_METRICS_CONTENT_TYPE);
  ih_response_head_field(c, "Cache-Control", "no-store");
  ih_response_head_field(c, "Content-Length", "%zu", t.len);
  ih_response_head_end(c, true);
  if (!c->view->head_only)
    ih_response_append(c, t.p, t.len);
  ih_mtext_free(&t);
}

/* ---- extension admin: <status_path>/extensions (docs/operations.md) ----
 * Loopback only, like the status page. GET lists the extension DLLs; POST
 * ?action=unload|reload|stop|start&dll=<path> starts an action, which the
 * platform runs off the I/O threads (a drain may take isapi_unload_timeout)
 * and answers 202 at once. */

#define IH_EXT_ADMIN_JSON_MAX (1u << 20) /* room for the listing of every DLL the registry can hold */

/* The value of name in an application/x-www-form-urlencoded query ('+' is a
 * space, %XX a byte) into out: 1 found, 0 absent, -1 malformed, holding a
 * NUL, or longer than cap - 1. */
static int query_param(ih_slice query, const char *name, char *out, size_t cap)
{
  size_t name_len = strlen(name);
  ih_slice rest = query, item;
  while (rest.n) {
    const char *amp = memchr(rest.p, '&', rest.n);
    item = (ih_slice){ rest.p, amp ? (size_t)(amp - rest.p) : rest.n };
    rest = amp ? (ih_slice){ amp + 1, rest.n - item.n - 1 } : (ih_slice){ rest.p + rest.n, 0 };
    if (item.n <= name_len || item.p[name_len] != '=' || memcmp(item.p, name, name_len) != 0)
      continue;
    size_t o = 0;
    for (size_t i = name_len + 1; i < item.n; i++) {
      int ch = (unsigned char)item.p[i];
      if (ch == '+') {
        ch = ' ';
      } else if (ch == '%') {
        int hi = i + 2 < item.n ? ih_hex_value((unsigned char)item.p[i + 1]) : -1;
        int lo = hi >= 0 ? ih_hex_value((unsigned char)item.p[i + 2]) : -1;
        if (lo < 0)
          return -1;
        ch = hi * 16 + lo;
        i += 2;
      }
      if (ch == 0 || o + 1 >= cap)
        return -1;
      out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 1;
  }
  return 0;
}

/* The operator pages (extensions, pools) share their door: loopback only
 * and present only where the platform offers them (else 404, as if they
 * did not exist), GET/HEAD to read and POST to act (else 405). Returns the
 * JSON body's buffer of cap bytes, or NULL once the request is answered. */
static char *operator_page_begin(ih_conn *c, bool offered, size_t cap, bool *get_or_head, ih_body_plan *plan)
{
  ih_request *r = c->view;
  *get_or_head = ih_slice_eq(r->head.method, IH_SLICE_LIT("GET")) || r->head_only;
  if (!ih_admin_peer_may_read(c) || !offered) {
    ih_response_error(c, 404, plan);
    return NULL;
  }
  if (!*get_or_head && !ih_slice_eq(r->head.method, IH_SLICE_LIT("POST"))) {
    ih_response_error_with(c, 405, "Allow", "GET, HEAD, POST", plan);
    return NULL;
  }
  char *json = ih_malloc(cap);
  if (!json)
    ih_response_error(c, 503, plan);
  return json;
}

/* ... and answer with status and the JSON body, which goes. */
static void operator_page_end(ih_conn *c, int status, char *json)
{
  size_t n = strlen(json);
  ih_response_head_begin(c, status);
  ih_response_head_field(c, "Content-Type", "application/json");
  ih_response_head_field(c, "Cache-Control", "no-store");
  ih_response_head_field(c, "Content-Length", "%zu", n);
  ih_response_head_end(c, true);
  if (!c->view->head_only)
    ih_response_append(c, json, n);
  free(json);
}

void ih_admin_extensions_page(ih_conn *c, ih_body_plan *plan)
{
  ih_request *r = c->view;
  const ih_platform *pf = c->server->platform;
  bool get_or_head;
  char *json = operator_page_begin(c, pf->ext_admin != NULL, IH_EXT_ADMIN_JSON_MAX, &get_or_head, plan);
  if (!json)
    return;
  int status;
  if (get_or_head) {
    status = pf->ext_admin(NULL, NULL, json, IH_EXT_ADMIN_JSON_MAX);
  } else {
    char action[16], dll[1024];
    int has_action = query_param(r->query, "action", action, sizeof action);
    int has_dll = query_param(r->query, "dll", dll, sizeof dll);
    if (has_action < 0 || has_dll < 0) {
      status = 400;
      snprintf(json, IH_EXT_ADMIN_JSON_MAX, "{\"error\":\"action= or dll= is malformed or too long\"}\n");
    } else {
      status = pf->ext_admin(has_action ? action : "", has_dll ? dll : "", json, IH_EXT_ADMIN_JSON_MAX);
    }
  }
  operator_page_end(c, status, json);
}

/* ---- pool admin: <status_path>/pools (docs/operations.md) ----
 * Loopback only, like the status page. GET lists the pools (the status
 * page's "pools" array); POST ?action=recycle&pool=NAME asks the pool's
 * workers to be replaced, overlapped (docs/pools.md), and answers 202 at
 * once: the recycle itself is logged (IH4004) and seen in the listing. */

#define IH_POOLS_ADMIN_JSON_MAX 16384u /* as the status page's room for "pools" */

/* Pool names as config.c accepts them: letters, digits, '.', '_', '-'. A
 * name checked here can be echoed into JSON and the log as it is. */
static bool pool_name_ok(const char *name)
{
  if (!*name)
    return false;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
          *p == '_' || *p == '-'))
      return false;
  return true;
}

/* The answer to POST: its status, and a JSON object in json[0..cap). */
static int pools_admin_action(ih_conn *c, char *json, size_t cap)
{
  ih_request *r = c->view;
  char action[16], name[128];
  int has_action = query_param(r->query, "action", action, sizeof action);
  int has_pool = query_param(r->query, "pool", name, sizeof name);
  const char *bad = NULL;
  if (has_action <= 0 || strcmp(action, "recycle") != 0)
    bad = "action= must be recycle";
  else if (has_pool <= 0 || !pool_name_ok(name))
    bad = "pool= must name a pool (letters, digits, '.', '_' and '-')";
  if (bad) {
    ih_log(IH_LOG_INFO, IH_EV_POOL_RECYCLE, "pools page: POST from %s:%u refused (400): %s", c->peer_addr,
           (unsigned)c->peer_port, bad);
    snprintf(json, cap, "{\"error\":\"%s\"}\n", bad);
    return 400;
  }
  /* The configuration of this request tells a pool that does not exist from
   * one that runs in process; the pool manager knows whether a worker runs. */
  const ih_pool_conf *pool = ih_config_pool_named(c->gen->config, name);
  int status;
  const char *why;
  if (!pool) {
    status = 404;
    why = "no such pool";
  } else if (pool->mode != IH_POOL_WORKER) {
    status = 409;
    why = "not a worker pool (mode = inprocess): it has no worker process to recycle";
  } else {
    switch (c->server->platform->pool_recycle(pool->name)) {
    case IH_PLATFORM_RECYCLE_STARTED:
      ih_log(IH_LOG_INFO, IH_EV_POOL_RECYCLE, "recycle of pool %s asked by %s:%u (reason command)", pool->name,
             c->peer_addr, (unsigned)c->peer_port);
      snprintf(json, cap, "{\"pool\":\"%s\",\"action\":\"recycle\",\"started\":true}\n", pool->name);
      return 202;
    case IH_PLATFORM_RECYCLE_NO_POOL:
      status = 404;
      why = "not running: pools are started with the server, a pool added by a reload runs after a restart";
      break;
    default:
      status = 409;
      why = "no worker of it is running now (starting, or backing off after crashes)";
      break;
    }
  }
  ih_log(IH_LOG_INFO, IH_EV_POOL_RECYCLE, "recycle of pool %s asked by %s:%u refused (%d): %s",
         pool ? pool->name : name, c->peer_addr, (unsigned)c->peer_port, status, why);
  snprintf(json, cap, "{\"error\":\"%s\",\"pool\":\"%s\"}\n", why, pool ? pool->name : name);
  return status;
}

void ih_admin_pools_page(ih_conn *c, ih_body_plan *plan)
{
  const ih_platform *pf = c->server->platform;
  bool get_or_head;
  char *json = operator_page_begin(c, pf->pool_recycle != NULL, IH_POOLS_ADMIN_JSON_MAX, &get_or_head, plan);
  if (!json)
    return;
  int status = 200;
  if (!get_or_head) {
    status = pools_admin_action(c, json, IH_POOLS_ADMIN_JSON_MAX);
  } else if (pf->pools_status) {
    pf->pools_status(json, IH_POOLS_ADMIN_JSON_MAX - 1); /* room for the newline */
    strcat(json, "\n");
  } else {
    snprintf(json, IH_POOLS_ADMIN_JSON_MAX, "[]\n");
  }
  operator_page_end(c, status, json);
}

/* ---- the health URL (docs/deployment.md) ---- */

void ih_admin_health_page(ih_conn *c, ih_body_plan *plan)
{
  (void)plan;
  const ih_platform *pf = c->server->platform;
  char pool[128] = "";
  ih_health_facts f = {
    .leaving = atomic_load(&c->server->leaving),
    .pools_count = c->gen->config->server.health_checks_pools,
  };
  if (pf->pool_failing && pf->pool_failing(pool, sizeof pool))
    f.failing_pool = pool;
  ih_health_answer a = ih_health_decide(&f);
  char body[192];
  int n = a.status == 503 && f.failing_pool && !f.leaving ? snprintf(body, sizeof body, "%s %s\n", a.state, pool)
                                                           : snprintf(body, sizeof body, "%s\n", a.state);
  if (n < 0 || n >= (int)sizeof body)
    n = (int)sizeof body - 1;
  ih_response_head_begin(c, a.status);
  ih_response_head_field(c, "Content-Type", "text/plain; charset=utf-8");
  ih_response_head_field(c, "Cache-Control", "no-store");
  ih_response_head_field(c, "Content-Length", "%d", n);
  ih_response_head_end(c, true);
  if (!c->view->head_only)
    ih_response_append(c, body, (size_t)n);
}
