/* The worker pools' operator page, <status_path>/pools (docs/operations.md),
 * on the fake platform of conn_fake.h: GET lists what the platform's
 * pools_status gives (the status page's "pools"), POST
 * ?action=recycle&pool=NAME calls pool_recycle with the pool's name and
 * answers by its result, only loopback clients are answered, and the page
 * stays in the service even when the site's root belongs to a worker pool
 * (it is never relayed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_fake.h"
#include "core/config.h"
#include "ih_test.h"
#include "server/conn.h"

#define POOLS_JSON "[{\"name\":\"w\",\"mode\":\"worker\",\"state\":\"running\",\"workers\":[{\"pid\":42}]}]"

static int recycle_calls;
static char recycled_pool[64];
static int recycle_answer = IH_PLATFORM_RECYCLE_STARTED;
static int relay_picks;

static size_t f_pools_status(char *buf, size_t cap)
{
  snprintf(buf, cap, "%s", POOLS_JSON);
  return strlen(buf);
}

static int f_pool_recycle(const char *pool)
{
  recycle_calls++;
  snprintf(recycled_pool, sizeof recycled_pool, "%s", pool);
  return recycle_answer;
}

/* A worker pool whose workers are all busy: the request would get 503. */
static struct ih_relay_link *f_relay_pick(ih_conn *c, const ih_pool_conf *pool, unsigned *retry_after_s)
{
  (void)c;
  (void)pool;
  *retry_after_s = 0;
  relay_picks++;
  return NULL;
}


static void test_get_lists_the_pools(void)
{
  IH_TEST("pools page: GET lists the pools as the status page's \"pools\" array");
  relay_picks = 0;
  exchange("127.0.0.1", "GET /_isapihost/status/pools HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 200 OK\r\n"));
  IH_CHECK(wire_has("Content-Type: application/json\r\n"));
  IH_CHECK(wire_has("Cache-Control: no-store\r\n"));
  IH_EQ_STR(wire_body(), POOLS_JSON "\n");
  /* the site's root is in worker pool w: the page is the service's own */
  IH_EQ_INT(relay_picks, 0);
  IH_EQ_INT(recycle_calls, 0);

  IH_TEST("pools page: the status page's path with a trailing slash, any case");
  exchange("::1", "GET /_ISAPIHOST/Status/POOLS HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 200 OK\r\n"));
  IH_EQ_INT(relay_picks, 0);

  IH_TEST("pools page: HEAD has the head only");
  exchange("127.0.0.1", "HEAD /_isapihost/status/pools HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 200 OK\r\n"));
  IH_EQ_STR(wire_body(), "");
}

static void test_post_recycle(void)
{
  IH_TEST("pools page: POST action=recycle starts the recycle: 202 and the hook gets the pool's name");
  recycle_calls = 0;
  recycled_pool[0] = '\0';
  recycle_answer = IH_PLATFORM_RECYCLE_STARTED;
  exchange("127.0.0.1", "POST /_isapihost/status/pools?action=recycle&pool=W HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: 0\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 202 Accepted\r\n"));
  IH_EQ_INT(recycle_calls, 1);
  IH_EQ_STR(recycled_pool, "w"); /* the configured name, whatever case was asked */
  IH_EQ_STR(wire_body(), "{\"pool\":\"w\",\"action\":\"recycle\",\"started\":true}\n");
  IH_EQ_INT(relay_picks, 0);

  IH_TEST("pools page: a worker pool with no worker ready: 409");
  recycle_answer = IH_PLATFORM_RECYCLE_NOT_RUNNING;
  exchange("127.0.0.1", "POST /_isapihost/status/pools?pool=w&action=recycle HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: 0\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 409 Conflict\r\n"));
  IH_CHECK(strstr(wire_body(), "\"error\":\"no worker of it is running now") != NULL);
  IH_EQ_INT(recycle_calls, 2);

  IH_TEST("pools page: a pool the running server has not started (added by a reload): 404");
  recycle_answer = IH_PLATFORM_RECYCLE_NO_POOL;
  exchange("127.0.0.1", "POST /_isapihost/status/pools?action=recycle&pool=w HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: 0\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 404 Not Found\r\n"));
  IH_CHECK(strstr(wire_body(), "\"error\":\"not running") != NULL);
  recycle_answer = IH_PLATFORM_RECYCLE_STARTED;
}

static void test_post_refusals(void)
{
  static const struct {
    const char *query;
    const char *status_line;
    const char *in_body;
  } rows[] = {
    { "?action=recycle&pool=nosuch", "HTTP/1.1 404 Not Found\r\n", "{\"error\":\"no such pool\",\"pool\":\"nosuch\"}\n" },
    { "?action=recycle&pool=ip", "HTTP/1.1 409 Conflict\r\n", "\"error\":\"not a worker pool" },
    { "?action=recycle&pool=default", "HTTP/1.1 409 Conflict\r\n", "\"error\":\"not a worker pool" },
    { "?action=stop&pool=w", "HTTP/1.1 400 Bad Request\r\n", "action= must be recycle" },
    { "?pool=w", "HTTP/1.1 400 Bad Request\r\n", "action= must be recycle" },
    { "", "HTTP/1.1 400 Bad Request\r\n", "action= must be recycle" },
    { "?action=recycle", "HTTP/1.1 400 Bad Request\r\n", "pool= must name a pool" },
    { "?action=recycle&pool=", "HTTP/1.1 400 Bad Request\r\n", "pool= must name a pool" },
    { "?action=recycle&pool=%22%7D", "HTTP/1.1 400 Bad Request\r\n", "pool= must name a pool" },
    { "?action=recycle&pool=w%zz", "HTTP/1.1 400 Bad Request\r\n", "pool= must name a pool" },
  };
  recycle_calls = 0;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    IH_TEST("pools page: a POST that names no running worker pool is refused, the hook not called");
    ih_test_note("  %s", rows[i].query);
    char request[256];
    snprintf(request, sizeof request,
             "POST /_isapihost/status/pools%s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", rows[i].query);
    exchange("127.0.0.1", request);
    IH_CHECK(wire_has(rows[i].status_line));
    IH_CHECK(wire_has("Content-Type: application/json\r\n"));
    IH_CHECK(strstr(wire_body(), rows[i].in_body) != NULL);
  }
  IH_EQ_INT(recycle_calls, 0);
  IH_EQ_INT(relay_picks, 0);

  IH_TEST("pools page: other methods: 405 with Allow");
  exchange("127.0.0.1", "PUT /_isapihost/status/pools HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 405 "));
  IH_CHECK(wire_has("Allow: GET, HEAD, POST\r\n"));
  IH_EQ_INT(recycle_calls, 0);
}

static void test_loopback_only(void)
{
  IH_TEST("pools page: 404 to a client not on this machine, for GET and POST; nothing recycled");
  recycle_calls = 0;
  exchange("192.0.2.7", "GET /_isapihost/status/pools HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 404 Not Found\r\n"));
  IH_CHECK(!wire_has("\"name\":\"w\""));
  exchange("192.0.2.7", "POST /_isapihost/status/pools?action=recycle&pool=w HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: 0\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 404 Not Found\r\n"));
  IH_EQ_INT(recycle_calls, 0);
  IH_EQ_INT(relay_picks, 0);
}

static void test_no_hook(void)
{
  IH_TEST("pools page: 404 where the platform recycles no pool");
  fake_platform.pool_recycle = NULL;
  exchange("127.0.0.1", "GET /_isapihost/status/pools HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 404 Not Found\r\n"));
  fake_platform.pool_recycle = f_pool_recycle;
}

static void test_other_paths_still_relayed(void)
{
  IH_TEST("pools page: a path beside it is the site's, in its worker pool (relayed)");
  relay_picks = 0;
  exchange("127.0.0.1", "GET /_isapihost/status/poolsx HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_INT(relay_picks, 1);
  IH_CHECK(wire_has("HTTP/1.1 503 "));
  relay_picks = 0;
}

int main(void)
{
  static const char ini[] = "[server]\nstatus_path = /_isapihost/status/\n"
                            "[pool w]\nmode = worker\n"
                            "[pool ip]\nmode = inprocess\n"
                            "[site Test]\nbindings = 127.0.0.1:80\nroot = C:\\site\npermissions = read\npool = w\n";
  if (!fake_setup(ini))
    return 1;
  fake_platform.pools_status = f_pools_status;
  fake_platform.pool_recycle = f_pool_recycle;
  fake_platform.relay_pick = f_relay_pick;
  ih_server_init(&server, cfg, &fake_platform);
  test_get_lists_the_pools();
  test_post_recycle();
  test_post_refusals();
  test_loopback_only();
  test_no_hook();
  test_other_paths_still_relayed();
  free(fake.send_copy);
  ih_server_destroy(&server);
  ih_config_free(cfg);
  return ih_test_finish();
}
