/* The request figures of the Prometheus page (see metrics.h). */
#include "server/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"

static const char *const method_names[IH_MM_COUNT] = {
  "GET",  "HEAD", "POST",  "PUT",      "DELETE",    "OPTIONS", "TRACE", "PATCH",  "CONNECT",
  "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "other",
};
static const char *const class_names[IH_MC_COUNT] = { "none", "1xx", "2xx", "3xx", "4xx", "5xx" };
static const char *const handler_names[IH_MH_COUNT] = { "static", "extension", "filter", "admin" };

/* Upper bounds of the duration buckets in microseconds, and as the le
 * label writes them (the last is +Inf). */
static const uint64_t bucket_us[IH_METRICS_BUCKETS - 1] = { 5000,   10000,   25000,   50000,   100000,  250000,
                                                            500000, 1000000, 2500000, 5000000, 10000000 };
static const char *const bucket_le[IH_METRICS_BUCKETS] = { "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                                           "0.5",   "1",    "2.5",   "5",    "10",  "+Inf" };

static ih_metrics_site *site_new(const char *name)
{
  ih_metrics_site *s = ih_calloc(1, sizeof *s); /* all-zero bits: every atomic starts at 0 */
  if (!s)
    return NULL;
  s->name = ih_strdup(name);
  if (!s->name) {
    free(s);
    return NULL;
  }
  return s;
}

static void site_free(ih_metrics_site *s)
{
  if (!s)
    return;
  free(s->name);
  free(s);
}

int ih_metrics_init(ih_metrics *m)
{
  memset(m, 0, sizeof *m);
  atomic_init(&m->sites, NULL);
  m->add_lock = ih_mutex_new();
  m->no_site = site_new("");
  if (!m->add_lock || !m->no_site) {
    ih_metrics_destroy(m);
    return -1;
  }
  return 0;
}

void ih_metrics_destroy(ih_metrics *m)
{
  ih_metrics_site *s = atomic_load(&m->sites);
  while (s) {
    ih_metrics_site *next = atomic_load(&s->next);
    site_free(s);
    s = next;
  }
  site_free(m->no_site);
  if (m->add_lock)
    ih_mutex_free(m->add_lock);
  memset(m, 0, sizeof *m);
}

ih_metrics_site *ih_metrics_site_named(ih_metrics *m, const char *name)
{
  ih_mutex_lock(m->add_lock);
  ih_metrics_site *s = atomic_load(&m->sites);
  for (; s; s = atomic_load(&s->next))
    if (ih_slice_ieq_cstr(ih_slice_from_cstr(s->name), name))
      break;
  if (!s) {
    s = site_new(name);
    if (s) { /* published whole: a page being written sees it complete or not at all */
      atomic_init(&s->next, atomic_load(&m->sites));
      atomic_store(&m->sites, s);
    }
  }
  ih_mutex_unlock(m->add_lock);
  return s;
}

enum ih_metrics_method ih_metrics_method_of(ih_slice method)
{
  for (int i = 0; i < IH_MM_OTHER; i++)
    if (ih_slice_eq(method, ih_slice_from_cstr(method_names[i])))
      return (enum ih_metrics_method)i; /* methods are case-sensitive (RFC 9110 9.1) */
  return IH_MM_OTHER;
}

enum ih_metrics_code_class ih_metrics_code_class_of(int status)
{
  return status >= 100 && status <= 599 ? (enum ih_metrics_code_class)(status / 100) : IH_MC_NONE;
}

void ih_metrics_count(ih_metrics_site *site, const ih_metrics_request *req)
{
  unsigned method = req->method < IH_MM_COUNT ? (unsigned)req->method : IH_MM_OTHER;
  unsigned handler = req->handler < IH_MH_COUNT ? (unsigned)req->handler : IH_MH_STATIC;
  atomic_fetch_add_explicit(&site->requests[method][ih_metrics_code_class_of(req->status)][handler], 1,
                            memory_order_relaxed);
  size_t b = 0;
  while (b < IH_METRICS_BUCKETS - 1 && req->duration_us > bucket_us[b])
    b++; /* le is "less than or equal" */
  atomic_fetch_add_explicit(&site->duration_bucket[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&site->duration_sum_us, req->duration_us, memory_order_relaxed);
  atomic_fetch_add_explicit(&site->received_bytes, req->received_bytes, memory_order_relaxed);
  atomic_fetch_add_explicit(&site->sent_bytes, req->sent_bytes, memory_order_relaxed);
}

/* Every site the page lists: the named ones, oldest first (stable order),
 * then the no-site slot when it has counted anything. */
static size_t page_sites(ih_metrics *m, ih_metrics_site **out, size_t cap)
{
  size_t n = 0;
  for (ih_metrics_site *s = atomic_load(&m->sites); s; s = atomic_load(&s->next))
    if (n < cap)
      out[n++] = s;
  for (size_t i = 0; i < n / 2; i++) {
    ih_metrics_site *t = out[i];
    out[i] = out[n - 1 - i];
    out[n - 1 - i] = t;
  }
  bool any = false;
  for (size_t b = 0; b < IH_METRICS_BUCKETS; b++)
    any = any || atomic_load_explicit(&m->no_site->duration_bucket[b], memory_order_relaxed);
  if (any && n < cap)
    out[n++] = m->no_site;
  return n;
}

void ih_metrics_format_requests(ih_metrics *m, ih_mtext *t)
{
  size_t cap = 1;
  for (ih_metrics_site *s = atomic_load(&m->sites); s; s = atomic_load(&s->next))
    cap++;
  ih_metrics_site **sites = ih_malloc(cap * sizeof *sites);
  if (!sites) {
    t->oom = true;
    return;
  }
  size_t n = page_sites(m, sites, cap);

  ih_mtext_family(t, "isapihost_http_requests_total", "counter",
                  "HTTP requests ended, by site, method, status class and what answered them.");
  for (size_t i = 0; i < n; i++)
    for (int mm = 0; mm < IH_MM_COUNT; mm++)
      for (int mc = 0; mc < IH_MC_COUNT; mc++)
        for (int mh = 0; mh < IH_MH_COUNT; mh++) {
          uint64_t v = atomic_load_explicit(&sites[i]->requests[mm][mc][mh], memory_order_relaxed);
          if (!v)
            continue; /* a series appears with its first request */
          ih_mlabel l[] = { { "site", sites[i]->name },
                            { "method", method_names[mm] },
                            { "code_class", class_names[mc] },
                            { "handler", handler_names[mh] } };
          ih_mtext_sample_u64(t, "isapihost_http_requests_total", l, 4, v);
        }

  ih_mtext_family(t, "isapihost_http_request_duration_seconds", "histogram",
                  "Time from a request's first byte to its last response byte, by site (millisecond resolution).");
  for (size_t i = 0; i < n; i++) {
    ih_mlabel l[] = { { "site", sites[i]->name } };
    uint64_t cumulative = 0;
    for (int b = 0; b < IH_METRICS_BUCKETS; b++) {
      cumulative += atomic_load_explicit(&sites[i]->duration_bucket[b], memory_order_relaxed);
      ih_mtext_sample_bucket(t, "isapihost_http_request_duration_seconds_bucket", l, 1, bucket_le[b], cumulative);
    }
    ih_mtext_sample_micro(t, "isapihost_http_request_duration_seconds_sum", l, 1,
                          atomic_load_explicit(&sites[i]->duration_sum_us, memory_order_relaxed));
    ih_mtext_sample_u64(t, "isapihost_http_request_duration_seconds_count", l, 1, cumulative);
  }

  ih_mtext_family(t, "isapihost_http_received_bytes_total", "counter",
                  "Request bytes read (head and body) of ended requests, by site.");
  for (size_t i = 0; i < n; i++) {
    ih_mlabel l[] = { { "site", sites[i]->name } };
    ih_mtext_sample_u64(t, "isapihost_http_received_bytes_total", l, 1,
                        atomic_load_explicit(&sites[i]->received_bytes, memory_order_relaxed));
  }
  ih_mtext_family(t, "isapihost_http_sent_bytes_total", "counter",
                  "Response bytes sent (head and body) for ended requests, by site.");
  for (size_t i = 0; i < n; i++) {
    ih_mlabel l[] = { { "site", sites[i]->name } };
    ih_mtext_sample_u64(t, "isapihost_http_sent_bytes_total", l, 1,
                        atomic_load_explicit(&sites[i]->sent_bytes, memory_order_relaxed));
  }
  free(sites);
}
