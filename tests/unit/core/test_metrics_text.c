/* Unit tests for core/metrics_text.c: the Prometheus text exposition format
 * 0.0.4 as the documentation writes it: HELP and TYPE lines, samples with
 * and without labels, label values escaped (\\, \", \n) and HELP text
 * escaped (\\, \n), exact decimal seconds, histogram buckets with le. */
#include <string.h>

#include "core/metrics_text.h"
#include "ih_test.h"

static void test_exact_text(void)
{
  IH_TEST("a small set of families is written exactly");
  ih_mtext t;
  ih_mtext_init(&t);
  ih_mtext_family(&t, "isapihost_connections_open", "gauge", "Connections open now.");
  ih_mtext_sample_i64(&t, "isapihost_connections_open", NULL, 0, 3);
  ih_mtext_family(&t, "isapihost_http_sent_bytes_total", "counter", "Bytes sent.");
  ih_mlabel a[] = { { "site", "A" } };
  ih_mtext_sample_u64(&t, "isapihost_http_sent_bytes_total", a, 1, 18446744073709551615u);
  ih_mlabel two[] = { { "site", "A" }, { "method", "GET" } };
  ih_mtext_sample_u64(&t, "isapihost_http_requests_total", two, 2, 0);
  ih_mtext_sample_bucket(&t, "x_seconds_bucket", a, 1, "0.005", 7);
  ih_mtext_sample_bucket(&t, "x_seconds_bucket", NULL, 0, "+Inf", 8);
  ih_mtext_sample_micro(&t, "x_seconds_sum", a, 1, 1250000);
  ih_mtext_sample_micro(&t, "x_seconds_sum", NULL, 0, 7);
  IH_CHECK(!t.oom);
  IH_EQ_STR(t.p, "# HELP isapihost_connections_open Connections open now.\n"
                 "# TYPE isapihost_connections_open gauge\n"
                 "isapihost_connections_open 3\n"
                 "# HELP isapihost_http_sent_bytes_total Bytes sent.\n"
                 "# TYPE isapihost_http_sent_bytes_total counter\n"
                 "isapihost_http_sent_bytes_total{site=\"A\"} 18446744073709551615\n"
                 "isapihost_http_requests_total{site=\"A\",method=\"GET\"} 0\n"
                 "x_seconds_bucket{site=\"A\",le=\"0.005\"} 7\n"
                 "x_seconds_bucket{le=\"+Inf\"} 8\n"
                 "x_seconds_sum{site=\"A\"} 1.250000\n"
                 "x_seconds_sum 0.000007\n");
  IH_EQ_INT(t.len, strlen(t.p));
  ih_mtext_free(&t);
}

static void test_escaping(void)
{
  IH_TEST("label values escape backslash, quote and line feed; HELP escapes backslash and line feed");
  ih_mtext t;
  ih_mtext_init(&t);
  ih_mlabel l[] = { { "dll", "C:\\ext\\a\"b\nc.dll" }, { "empty", NULL } };
  ih_mtext_sample_i64(&t, "m", l, 2, -1);
  ih_mtext_family(&t, "h", "untyped", "a \\ \"quoted\"\nline");
  IH_CHECK(!t.oom);
  IH_EQ_STR(t.p, "m{dll=\"C:\\\\ext\\\\a\\\"b\\nc.dll\",empty=\"\"} -1\n"
                 "# HELP h a \\\\ \"quoted\"\\nline\n"
                 "# TYPE h untyped\n");
  ih_mtext_free(&t);
}

static void test_growth(void)
{
  IH_TEST("the text grows past its first allocation and stays whole");
  ih_mtext t;
  ih_mtext_init(&t);
  for (int i = 0; i < 2000; i++)
    ih_mtext_sample_u64(&t, "isapihost_a_long_enough_metric_name_total", NULL, 0, (uint64_t)i);
  IH_CHECK(!t.oom);
  IH_CHECK(t.len > 4096);
  IH_CHECK(strstr(t.p, "isapihost_a_long_enough_metric_name_total 1999\n") != NULL);
  IH_EQ_INT(t.len, strlen(t.p));
  ih_mtext_free(&t);
}

int main(void)
{
  test_exact_text();
  test_escaping();
  test_growth();
  return ih_test_finish();
}
