/* The Prometheus page at metrics_path (docs/operations.md, "Metrics"), on
 * the fake platform of conn_fake.h: requests of known kinds are counted
 * once each, where they end, by site, method (unknown ones as "other"),
 * status class and handler; the page's own fetch counts as "admin" once it
 * has ended; only loopback clients are answered (404 otherwise, as if it
 * did not exist), GET and HEAD only, and behind a trusted proxy the client
 * its forwarding headers name decides; the server-wide figures are the
 * status page's; the platform adds its families; a reload that keeps a
 * site keeps its counters; and the page is the service's own even where
 * the site's root is in a worker pool (never relayed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_fake.h"
#include "core/config.h"
#include "core/metrics_text.h"
#include "ih_test.h"
#include "server/conn.h"
#include "ih_version.h"


/* The value of the sample whose series is exactly series, or -1. */
static long long sample(const char *series)
{
  size_t n = strlen(series);
  for (const char *line = wire_body(); *line;) {
    const char *end = strchr(line, '\n');
    if (!end)
      break;
    if ((size_t)(end - line) > n && strncmp(line, series, n) == 0 && line[n] == ' ')
      return strtoll(line + n + 1, NULL, 10);
    line = end + 1;
  }
  return -1;
}

static void f_metrics_text(ih_mtext *t)
{
  ih_mlabel l[] = { { "pool", "w" } };
  ih_mtext_family(t, "isapihost_pool_workers", "gauge", "Workers.");
  ih_mtext_sample_u64(t, "isapihost_pool_workers", l, 1, 2);
}

static int relay_picks;
static struct ih_relay_link *f_relay_pick(ih_conn *c, const ih_pool_conf *pool, unsigned *retry_after_s)
{
  (void)c;
  (void)pool;
  *retry_after_s = 0;
  relay_picks++;
  return NULL; /* every worker busy: 503 */
}

#define REQ(site, method, cls, handler)                                                                   \
  "isapihost_http_requests_total{site=\"" site "\",method=\"" method "\",code_class=\"" cls "\",handler=\"" \
  handler "\"}"

static void test_counts(void)
{
  IH_TEST("metrics: each request counted once by site, method, status class and handler");
  exchange("127.0.0.1", "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 200 OK\r\n"));
  exchange("127.0.0.1", "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  exchange("127.0.0.1", "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  exchange("127.0.0.1", "GET /missing.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 404 "));
  exchange("127.0.0.1", "BREW /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 501 "));
  exchange("127.0.0.1", "GET /a.txt HTTP/1.1\r\nHost: nowhere.example\r\n\r\n"); /* no site: 400 */

  exchange("127.0.0.1", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 200 OK\r\n"));
  IH_CHECK(wire_has("Content-Type: " IH_METRICS_CONTENT_TYPE "\r\n"));
  IH_CHECK(wire_has("Cache-Control: no-store\r\n"));
  IH_EQ_INT(sample(REQ("Test", "GET", "2xx", "static")), 2);
  IH_EQ_INT(sample(REQ("Test", "HEAD", "2xx", "static")), 1);
  IH_EQ_INT(sample(REQ("Test", "GET", "4xx", "static")), 1);
  /* an unknown method is refused before a site is chosen; a Host no site serves has none */
  IH_EQ_INT(sample(REQ("", "other", "5xx", "static")), 1);
  IH_EQ_INT(sample(REQ("", "GET", "4xx", "static")), 1);
  IH_EQ_INT(sample(REQ("Test", "GET", "2xx", "admin")), -1); /* its own fetch ends after the page is written */
  IH_EQ_INT(sample("isapihost_http_request_duration_seconds_count{site=\"Test\"}"), 4);
  IH_EQ_INT(sample("isapihost_http_request_duration_seconds_bucket{site=\"Test\",le=\"+Inf\"}"), 4);
  IH_EQ_INT(sample("isapihost_http_request_duration_seconds_count{site=\"\"}"), 2);
  /* the heads as read, and every byte written */
  IH_EQ_INT(sample("isapihost_http_received_bytes_total{site=\"Test\"}"),
            3 * (long long)strlen("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n") + 1 +
                (long long)strlen("GET /missing.txt HTTP/1.1\r\nHost: x\r\n\r\n"));
  IH_CHECK(sample("isapihost_http_sent_bytes_total{site=\"Test\"}") > 4 * 60);
  /* the status page's counters, with the asking connection and request left out */
  IH_EQ_INT(sample("isapihost_connections_open"), 0);
  IH_EQ_INT(sample("isapihost_http_requests_in_flight"), 0);
  IH_EQ_INT(sample("isapihost_connections_accepted_total"), 7);
  IH_EQ_INT(sample("isapihost_config_generation"), 1);
  IH_EQ_INT(sample("isapihost_config_reloads_total"), 0);
  IH_EQ_INT(sample("isapihost_build_info{version=\"" IH_VERSION "\",bitness=\"64\"}"), 1);
  IH_CHECK(sample("process_start_time_seconds") > 1600000000);
  IH_EQ_INT(sample("isapihost_pool_workers{pool=\"w\"}"), 2); /* the platform's families */
  IH_CHECK(strstr(wire_body(), "# TYPE isapihost_http_requests_total counter\n") != NULL);
  IH_CHECK(strstr(wire_body(), "# TYPE isapihost_http_request_duration_seconds histogram\n") != NULL);

  IH_TEST("metrics: the page's fetch counts as admin once ended; HEAD answers the head only");
  exchange("::1", "HEAD /METRICS HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 200 OK\r\n"));
  IH_EQ_STR(wire_body(), "");
  exchange("127.0.0.1", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_INT(sample(REQ("Test", "GET", "2xx", "admin")), 1);
  IH_EQ_INT(sample(REQ("Test", "HEAD", "2xx", "admin")), 1);
  IH_EQ_INT(sample(REQ("Test", "GET", "2xx", "static")), 2);
}

static void test_refusals(void)
{
  IH_TEST("metrics: a client not on loopback gets 404, as if the page did not exist");
  exchange("192.0.2.7", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 404 "));
  IH_CHECK(!wire_has("isapihost_"));

  IH_TEST("metrics: POST is 405 with Allow: GET, HEAD");
  exchange("127.0.0.1", "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 405 "));
  IH_CHECK(wire_has("Allow: GET, HEAD\r\n"));
}

static void test_behind_a_trusted_proxy(void)
{
  IH_TEST("metrics and status: behind a trusted proxy on loopback, the client it names decides");
  exchange("127.0.0.1", "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 404 "));
  IH_CHECK(!wire_has("isapihost_"));
  exchange("127.0.0.1", "GET /_isapihost/status HTTP/1.1\r\nHost: x\r\nForwarded: for=\"[2001:db8::1]\"\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 404 "));
  exchange("127.0.0.1", "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 200 OK\r\n")); /* a client on this machine, through the proxy */

  IH_TEST("metrics: an untrusted peer's forwarding headers change nothing");
  exchange("192.0.2.7", "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 127.0.0.1\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 404 "));

  IH_TEST("metrics: a trusted proxy itself may read it (a load balancer's scraper, docs/deployment.md)");
  exchange("10.1.2.3", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 200 OK\r\n"));
  exchange("10.1.2.3", "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.4\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 404 ")); /* ... but not for the clients it forwards */
}

static void test_reload_keeps_counters(void)
{
  IH_TEST("metrics: a reload that keeps a site (by name, any case) keeps its counters; a new site starts at 0; "
          "the page stays the service's when the site's root moves to a worker pool");
  ih_config *next = NULL;
  char err[256];
  static const char ini2[] = "[server]\nmetrics_path = /metrics\ntrusted_proxies = 127.0.0.1, 10.0.0.0/8\n"
                             "[pool w]\nmode = worker\n"
                             "[site TEST]\nbindings = 127.0.0.1:80:x\nroot = C:\\site\npermissions = read\npool = w\n"
                             "[site Other]\nbindings = 127.0.0.1:81\nroot = C:\\site\npermissions = read\n";
  int rc = ih_config_parse(ini2, sizeof ini2 - 1, "reload.ini", "", &next, err, sizeof err);
  IH_EQ_INT(rc, 0);
  if (rc != 0)
    return;
  ih_generation *g = ih_server_generation_new(&server, next);
  IH_CHECK(g != NULL);
  if (!g)
    return;
  ih_server_generation_publish(&server, g);
  relay_picks = 0;
  exchange("127.0.0.1", "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 503 ")); /* relayed, and the pool has no free worker */
  IH_EQ_INT(relay_picks, 1);
  exchange("127.0.0.1", "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 200 OK\r\n"));
  IH_EQ_INT(relay_picks, 1); /* the metrics page is never relayed */
  /* the slot keeps its first name, and its counts */
  IH_EQ_INT(sample(REQ("Test", "GET", "2xx", "static")), 2);
  IH_EQ_INT(sample(REQ("Test", "GET", "5xx", "static")), 1);
  IH_EQ_INT(sample("isapihost_http_request_duration_seconds_count{site=\"Other\"}"), 0);
  IH_EQ_INT(sample("isapihost_config_generation"), 2);
  IH_EQ_INT(sample("isapihost_config_reloads_total"), 1);
}

int main(void)
{
  static const char ini[] = "[server]\nmetrics_path = /metrics\ntrusted_proxies = 127.0.0.1, 10.0.0.0/8\n"
                            "[site Test]\nbindings = 127.0.0.1:80:x\nroot = C:\\site\npermissions = read\n";
  if (!fake_setup(ini))
    return 1;
  fake_platform.metrics_text = f_metrics_text;
  fake_platform.relay_pick = f_relay_pick;
  ih_server_init(&server, cfg, &fake_platform);
  test_counts();
  test_refusals();
  test_behind_a_trusted_proxy();
  test_reload_keeps_counters();
  free(fake.send_copy);
  ih_server_destroy(&server);
  ih_config_free(cfg);
  return ih_test_finish();
}
