/* Unit tests for server/metrics.c: the request figures of the Prometheus
 * page. Methods outside the known set count as "other"; status classes;
 * histogram buckets are cumulative with le inclusive, _sum exact and
 * _count the +Inf bucket; sites are kept by name (case-insensitive) so a
 * reload keeps their counters; and four threads counting into the same
 * slots at once lose no request. */
#include <stdlib.h>
#include <string.h>

#include "core/ih_thread.h"
#include "ih_test.h"
#include "server/metrics.h"

static void test_methods_and_classes(void)
{
  IH_TEST("known methods by name, anything else other; status classes");
  IH_EQ_INT(ih_metrics_method_of(IH_SLICE_LIT("GET")), IH_MM_GET);
  IH_EQ_INT(ih_metrics_method_of(IH_SLICE_LIT("SEARCH")), IH_MM_SEARCH);
  IH_EQ_INT(ih_metrics_method_of(IH_SLICE_LIT("get")), IH_MM_OTHER); /* methods are case-sensitive */
  IH_EQ_INT(ih_metrics_method_of(IH_SLICE_LIT("BREW")), IH_MM_OTHER);
  IH_EQ_INT(ih_metrics_method_of(IH_SLICE_LIT("")), IH_MM_OTHER);
  IH_EQ_INT(ih_metrics_code_class_of(0), IH_MC_NONE);
  IH_EQ_INT(ih_metrics_code_class_of(99), IH_MC_NONE);
  IH_EQ_INT(ih_metrics_code_class_of(100), IH_MC_1XX);
  IH_EQ_INT(ih_metrics_code_class_of(204), IH_MC_2XX);
  IH_EQ_INT(ih_metrics_code_class_of(304), IH_MC_3XX);
  IH_EQ_INT(ih_metrics_code_class_of(499), IH_MC_4XX);
  IH_EQ_INT(ih_metrics_code_class_of(599), IH_MC_5XX);
  IH_EQ_INT(ih_metrics_code_class_of(600), IH_MC_NONE);
}

static void test_page(void)
{
  IH_TEST("the request families: exact text for one site, cumulative buckets, _sum and _count");
  ih_metrics m;
  IH_CHECK(ih_metrics_init(&m) == 0);
  ih_metrics_site *a = ih_metrics_site_named(&m, "Site \"A\"");
  IH_CHECK(a != NULL);
  /* 5 ms lands in le=0.005 (le is inclusive), 5.001 ms in 0.01, 11 s in +Inf */
  ih_metrics_request r1 = { IH_MM_GET, 200, IH_MH_STATIC, 5000, 100, 1000 };
  ih_metrics_request r2 = { IH_MM_GET, 404, IH_MH_STATIC, 5001, 50, 200 };
  ih_metrics_request r3 = { IH_MM_OTHER, 501, IH_MH_STATIC, 11000000, 10, 20 };
  ih_metrics_request r4 = { IH_MM_POST, 200, IH_MH_EXTENSION, 250000, 0, 0 };
  ih_metrics_count(a, &r1);
  ih_metrics_count(a, &r2);
  ih_metrics_count(a, &r3);
  ih_metrics_count(a, &r4);
  ih_metrics_count(a, &r1);
  ih_mtext t;
  ih_mtext_init(&t);
  ih_metrics_format_requests(&m, &t);
  IH_CHECK(!t.oom);
  static const char want[] =
      "# HELP isapihost_http_requests_total HTTP requests ended, by site, method, status class and what answered "
      "them.\n"
      "# TYPE isapihost_http_requests_total counter\n"
      "isapihost_http_requests_total{site=\"Site \\\"A\\\"\",method=\"GET\",code_class=\"2xx\",handler=\"static\"} 2\n"
      "isapihost_http_requests_total{site=\"Site \\\"A\\\"\",method=\"GET\",code_class=\"4xx\",handler=\"static\"} 1\n"
      "isapihost_http_requests_total{site=\"Site \\\"A\\\"\",method=\"POST\",code_class=\"2xx\",handler=\"extension\"} "
      "1\n"
      "isapihost_http_requests_total{site=\"Site \\\"A\\\"\",method=\"other\",code_class=\"5xx\",handler=\"static\"} "
      "1\n"
      "# HELP isapihost_http_request_duration_seconds Time from a request's first byte to its last response byte, "
      "by site (millisecond resolution).\n"
      "# TYPE isapihost_http_request_duration_seconds histogram\n"
      "isapihost_http_request_duration_seconds_bucket{site=\"Site \\\"A\\\"\",le=\"0.005\"} 2\n"
      "isapihost_http_request_duration_seconds_bucket{site=\"Site \\\"A\\\"\",le=\"0.01\"} 3\n"
      "isapihost_http_request_duration_seconds_bucket{site=\"Site \\\"A\\\"\",le=\"0.025\"} 3\n"
      "isapihost_http_request_duration_seconds_bucket{site=\"Site \\\"A\\\"\",le=\"0.05\"} 3\n"
      "isapihost_http_request_duration_seconds_bucket{site=\"Site \\\"A\\\"\",le=\"0.1\"} 3\n"
      "isapihost_http_request_duration_seconds_bucket{site=\"Site \\\"A\\\"\",le=\"0.25\"} 4\n"
      "isapihost_http_request_duration_seconds_bucket{site=\"Site \\\"A\\\"\",le=\"0.5\"} 4\n"
      "isapihost_http_request_duration_seconds_bucket{site=\"Site \\\"A\\\"\",le=\"1\"} 4\n"
      "isapihost_http_request_duration_seconds_bucket{site=\"Site \\\"A\\\"\",le=\"2.5\"} 4\n"
      "isapihost_http_request_duration_seconds_bucket{site=\"Site \\\"A\\\"\",le=\"5\"} 4\n"
      "isapihost_http_request_duration_seconds_bucket{site=\"Site \\\"A\\\"\",le=\"10\"} 4\n"
      "isapihost_http_request_duration_seconds_bucket{site=\"Site \\\"A\\\"\",le=\"+Inf\"} 5\n"
      "isapihost_http_request_duration_seconds_sum{site=\"Site \\\"A\\\"\"} 11.265001\n"
      "isapihost_http_request_duration_seconds_count{site=\"Site \\\"A\\\"\"} 5\n"
      "# HELP isapihost_http_received_bytes_total Request bytes read (head and body) of ended requests, by site.\n"
      "# TYPE isapihost_http_received_bytes_total counter\n"
      "isapihost_http_received_bytes_total{site=\"Site \\\"A\\\"\"} 260\n"
      "# HELP isapihost_http_sent_bytes_total Response bytes sent (head and body) for ended requests, by site.\n"
      "# TYPE isapihost_http_sent_bytes_total counter\n"
      "isapihost_http_sent_bytes_total{site=\"Site \\\"A\\\"\"} 2220\n";
  IH_EQ_STR(t.p, want);
  ih_mtext_free(&t);
  ih_metrics_destroy(&m);
}

static void test_sites_by_name(void)
{
  IH_TEST("a site keeps its slot by name (a reload keeps counters); no-site requests appear once counted");
  ih_metrics m;
  IH_CHECK(ih_metrics_init(&m) == 0);
  ih_metrics_site *a = ih_metrics_site_named(&m, "alpha");
  ih_metrics_site *b = ih_metrics_site_named(&m, "beta");
  IH_CHECK(a && b && a != b);
  IH_CHECK(ih_metrics_site_named(&m, "ALPHA") == a);
  ih_mtext t;
  ih_mtext_init(&t);
  ih_metrics_format_requests(&m, &t);
  IH_CHECK(strstr(t.p, "site=\"\"") == NULL); /* nothing without a site yet */
  IH_CHECK(strstr(t.p, "isapihost_http_request_duration_seconds_count{site=\"alpha\"} 0\n") < /* oldest first */
           strstr(t.p, "isapihost_http_request_duration_seconds_count{site=\"beta\"} 0\n"));
  ih_mtext_free(&t);
  ih_metrics_request r = { IH_MM_GET, 400, IH_MH_STATIC, 1000, 10, 10 };
  ih_metrics_count(m.no_site, &r);
  ih_mtext_init(&t);
  ih_metrics_format_requests(&m, &t);
  IH_CHECK(strstr(t.p, "isapihost_http_requests_total{site=\"\",method=\"GET\",code_class=\"4xx\",handler=\"static\"} "
                       "1\n") != NULL);
  ih_mtext_free(&t);
  ih_metrics_destroy(&m);
}

#define RACERS 4
#define PER_RACER 200000

typedef struct racer {
  ih_metrics *m;
  int id;
} racer;

static atomic_int racers_ready;

static void *racer_main(void *arg)
{
  racer *r = arg;
  /* Every thread is started before any counts, so the increments overlap. */
  atomic_fetch_add(&racers_ready, 1);
  unsigned spins = 0;
  while (atomic_load(&racers_ready) < RACERS)
    if (++spins % 64 == 0)
      ih_thread_yield();
  ih_metrics_site *shared = ih_metrics_site_named(r->m, "shared");
  for (int i = 0; i < PER_RACER; i++) {
    ih_metrics_request q = { (enum ih_metrics_method)(i % 2), 200 + 100 * (i % 4), IH_MH_STATIC,
                             (uint64_t)(i % 3) * 30000u, 3, 5 };
    ih_metrics_count(shared, &q);
  }
  return NULL;
}

static void test_racing_threads(void)
{
  IH_TEST("four threads count 200,000 requests each into the same slots: none is lost");
  ih_metrics m;
  IH_CHECK(ih_metrics_init(&m) == 0);
  atomic_store(&racers_ready, 0);
  ih_thread *threads[RACERS];
  racer racers[RACERS];
  for (int i = 0; i < RACERS; i++) {
    racers[i] = (racer){ &m, i };
    threads[i] = ih_thread_start(racer_main, &racers[i]);
    IH_CHECK(threads[i] != NULL);
  }
  for (int i = 0; i < RACERS; i++)
    if (threads[i])
      ih_thread_join(threads[i]);
  ih_metrics_site *s = ih_metrics_site_named(&m, "shared");
  unsigned long long total = 0, buckets = 0;
  for (int mm = 0; mm < IH_MM_COUNT; mm++)
    for (int mc = 0; mc < IH_MC_COUNT; mc++)
      for (int mh = 0; mh < IH_MH_COUNT; mh++)
        total += atomic_load(&s->requests[mm][mc][mh]);
  for (int b = 0; b < IH_METRICS_BUCKETS; b++)
    buckets += atomic_load(&s->duration_bucket[b]);
  const unsigned long long n = (unsigned long long)RACERS * PER_RACER;
  IH_EQ_INT(total, n);
  IH_EQ_INT(buckets, n);
  /* i % 4 gives 2xx, 3xx, 4xx, 5xx equally; i % 2 GET or HEAD */
  IH_EQ_INT(atomic_load(&s->requests[IH_MM_GET][IH_MC_2XX][IH_MH_STATIC]), n / 4);
  IH_EQ_INT(atomic_load(&s->requests[IH_MM_HEAD][IH_MC_3XX][IH_MH_STATIC]), n / 4);
  IH_EQ_INT(atomic_load(&s->received_bytes), 3 * n);
  IH_EQ_INT(atomic_load(&s->sent_bytes), 5 * n);
  /* durations 0, 30 ms, 60 ms: a third each into le=0.005, 0.05, 0.1 */
  unsigned long long thirds = (unsigned long long)RACERS * (PER_RACER / 3 + (PER_RACER % 3 > 0));
  IH_EQ_INT(atomic_load(&s->duration_bucket[0]), thirds);
  unsigned long long sum_want = 0;
  for (int i = 0; i < PER_RACER; i++)
    sum_want += (unsigned long long)(i % 3) * 30000u;
  IH_EQ_INT(atomic_load(&s->duration_sum_us), sum_want * RACERS);
  ih_metrics_destroy(&m);
}

int main(void)
{
  test_methods_and_classes();
  test_page();
  test_sites_by_name();
  test_racing_threads();
  return ih_test_finish();
}
