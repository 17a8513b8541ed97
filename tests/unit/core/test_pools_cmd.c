/* The portable half of `isapihost recycle` and `status`'s pools
 * (core/pools_cmd.h): which bindings reach the server's operator page from
 * this machine, the status and body of its answer, the "error" of a
 * refusal, and the pools listing as lines. The answer comes off a socket:
 * every prefix of a listing, and listings in the wrong shape, are read
 * without reading past the text (ASan watches). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/pools_cmd.h"
#include "ih_test.h"

static ih_config *parse(const char *ini)
{
  ih_config *cfg = NULL;
  char err[256];
  if (ih_config_parse(ini, strlen(ini), "test.ini", "", &cfg, err, sizeof err) != 0) {
    ih_test_note("config: %s", err);
    return NULL;
  }
  return cfg;
}

static void test_targets(void)
{
  IH_TEST("targets: loopback, any-address and IPv6 bindings, in file order; other addresses left out");
  ih_config *cfg = parse("[site A]\nbindings = 10.0.0.1:80, *:8080, 127.0.0.2:81:shop.example\nroot = C:\\a\n"
                         "[site B]\nbindings = [::]:82, [::1]:83:localhost, [2001:db8::1]:84, 0.0.0.0:85\n"
                         "root = C:\\b\n");
  if (!IH_CHECK(cfg != NULL))
    return;
  ih_admin_target t[IH_ADMIN_TARGETS_MAX];
  char path[128];
  IH_EQ_INT(ih_admin_targets(cfg, path, sizeof path, t, IH_ADMIN_TARGETS_MAX), 5);
  IH_EQ_STR(path, "/_isapihost/status/pools");
  IH_EQ_STR(t[0].address, "127.0.0.1");
  IH_EQ_INT(t[0].port, 8080);
  IH_EQ_STR(t[0].host, "127.0.0.1");
  IH_EQ_STR(t[1].address, "127.0.0.2");
  IH_EQ_INT(t[1].port, 81);
  IH_EQ_STR(t[1].host, "shop.example"); /* the Host that picks the binding's site */
  IH_EQ_STR(t[2].address, "::1");
  IH_EQ_INT(t[2].port, 82);
  IH_EQ_STR(t[2].host, "[::1]");
  IH_EQ_STR(t[3].address, "::1");
  IH_EQ_STR(t[3].host, "localhost");
  IH_EQ_STR(t[4].address, "127.0.0.1");
  IH_EQ_INT(t[4].port, 85);

  IH_TEST("targets: at most max");
  IH_EQ_INT(ih_admin_targets(cfg, path, sizeof path, t, 2), 2);
  IH_EQ_INT(t[1].port, 81);

  IH_TEST("targets: a path too long for the buffer is refused");
  char small[8];
  IH_EQ_INT(ih_admin_targets(cfg, small, sizeof small, t, IH_ADMIN_TARGETS_MAX), -1);
  ih_config_free(cfg);

  IH_TEST("targets: status_path with a trailing slash; no loopback binding; no status page");
  cfg = parse("[server]\nstatus_path = /ops/\n[site A]\nbindings = 192.0.2.1:80\nroot = C:\\a\n");
  if (IH_CHECK(cfg != NULL)) {
    IH_EQ_INT(ih_admin_targets(cfg, path, sizeof path, t, IH_ADMIN_TARGETS_MAX), 0);
    IH_EQ_STR(path, "/ops/pools");
    ih_config_free(cfg);
  }
  cfg = parse("[server]\nstatus_path =\n[site A]\nbindings = *:80\nroot = C:\\a\n");
  if (IH_CHECK(cfg != NULL)) {
    IH_EQ_INT(ih_admin_targets(cfg, path, sizeof path, t, IH_ADMIN_TARGETS_MAX), -1);
    ih_config_free(cfg);
  }
}

static void test_http_status(void)
{
  IH_TEST("answer: status and body; anything else is no answer");
  const char *body = NULL;
  IH_EQ_INT(ih_admin_http_status("HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}", &body), 202);
  IH_EQ_STR(body, "{}");
  IH_EQ_INT(ih_admin_http_status("HTTP/1.0 404 \r\n\r\n", &body), 404);
  IH_EQ_STR(body, "");
  IH_EQ_INT(ih_admin_http_status("HTTP/1.1 200\r\n\r\n[]", &body), 200);
  IH_EQ_STR(body, "[]");
  static const char *const bad[] = { "", "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n", "HTTP/2 200 OK\r\n\r\n",
                                     "HTTP/1.1 2x2 OK\r\n\r\n", "HTTP/1.1 2002 OK\r\n\r\n", "HTTP/1.1 20",
                                     "SSH-2.0-OpenSSH\r\n\r\n" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    IH_EQ_INT(ih_admin_http_status(bad[i], &body), -1);
}

static void test_json_error(void)
{
  IH_TEST("answer: the error of a refusal");
  char why[128];
  ih_admin_json_error("{\"error\":\"no such pool\",\"pool\":\"nosuch\"}\n", why, sizeof why);
  IH_EQ_STR(why, "no such pool");
  ih_admin_json_error("{\"pool\":\"w\",\"action\":\"recycle\",\"started\":true}\n", why, sizeof why);
  IH_EQ_STR(why, "");
  ih_admin_json_error("<html>404</html>", why, sizeof why);
  IH_EQ_STR(why, "");
  ih_admin_json_error("{\"error\":\"cut", why, sizeof why);
  IH_EQ_STR(why, "cut");
  ih_admin_json_error("{\"error\":\"no such pool\"}", why, 5);
  IH_EQ_STR(why, "no s");
}

/* As ih_pool_manager_status_json writes it (docs/pools.md). */
static const char listing[] =
    "[{\"name\":\"w\",\"mode\":\"worker\",\"bitness\":64,\"state\":\"running\",\"crashes\":2,\"retry_after\":0,"
    "\"recycles\":{\"requests\":3,\"command\":1},\"workers\":[{\"pid\":1234,\"state\":\"ready\",\"up_ms\":5,"
    "\"requests\":17,\"in_flight\":0,\"private_bytes\":100,\"handles\":9,\"isapi_sessions\":0},{\"pid\":1240,"
    "\"state\":\"retiring\",\"up_ms\":9,\"requests\":0,\"in_flight\":1,\"private_bytes\":-1,\"handles\":-1,"
    "\"isapi_sessions\":0}]},{\"name\":\"b.2\",\"mode\":\"worker\",\"bitness\":32,\"state\":\"failing\","
    "\"crashes\":5,\"retry_after\":10,\"recycles\":{},\"workers\":[]}]";

static void test_summary(void)
{
  IH_TEST("summary: a line per pool: state, workers (pid, requests), crashes, recycles by reason");
  char out[1024];
  ih_pools_summary(listing, out, sizeof out);
  IH_EQ_STR(out, "pools:\n"
                 "  w: running, workers 1234 (17 requests), 1240 (0 requests); crashes 2; recycles requests 3, "
                 "command 1\n"
                 "  b.2: failing, workers none; crashes 5; recycles none\n");

  IH_TEST("summary: no worker pool; not a listing");
  ih_pools_summary("[]\n", out, sizeof out);
  IH_EQ_STR(out, "pools: none (no worker pool)\n");
  ih_pools_summary("<html>", out, sizeof out);
  IH_EQ_STR(out, "");
  ih_pools_summary("", out, sizeof out);
  IH_EQ_STR(out, "");

  IH_TEST("summary: spaces and newlines between tokens are JSON too");
  ih_pools_summary(" [ { \"name\" : \"w\" , \"state\" : \"running\" , \"workers\" : [ { \"pid\" : 7 , "
                   "\"requests\" : 1 } ] , \"recycles\" : { \"time\" : 1 } } ]\n",
                   out, sizeof out);
  IH_EQ_STR(out, "pools:\n  w: running, workers 7 (1 requests); crashes 0; recycles time 1\n");

  IH_TEST("summary: truncated to the buffer, NUL-terminated");
  char tiny[12];
  ih_pools_summary(listing, tiny, sizeof tiny);
  IH_EQ_STR(tiny, "pools:\n  w:");

  IH_TEST("summary: every prefix of a listing, and stray brackets and quotes, are read within the text");
  size_t len = strlen(listing);
  for (size_t n = 0; n <= len; n++) {
    char *cut = malloc(n + 1); /* exactly the prefix: ASan sees any read past it */
    if (!cut)
      continue;
    memcpy(cut, listing, n);
    cut[n] = '\0';
    ih_pools_summary(cut, out, sizeof out);
    char why[64];
    ih_admin_json_error(cut, why, sizeof why);
    free(cut);
  }
  static const char *const odd[] = { "[{", "[{\"", "[{\"name\"", "[{\"name\":", "[{\"name\":\"w", "[{]", "[{}]",
                                     "[{\"workers\":[{\"pid\":\"x", "[{\"recycles\":{\"a\"", "[{\"recycles\":{\"a\":",
                                     "[{\"a\\", "[{\"name\":\"\\\"\"}]", "[[[[", "]]]", "[{\"x\":}]",
                                     "[{\"name\":{\"name\":\"inner\"},\"state\":\"s\"}]" };
  for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
    size_t n = strlen(odd[i]);
    char *copy = malloc(n + 1);
    if (!copy)
      continue;
    memcpy(copy, odd[i], n + 1);
    ih_pools_summary(copy, out, sizeof out);
    free(copy);
  }
  ih_pools_summary("[{\"name\":{\"name\":\"inner\"},\"state\":\"s\"}]", out, sizeof out);
  IH_CHECK(strstr(out, "  {\"name\":\"inner\"}: s,") != NULL); /* the pool's own name member, as written */
}

int main(void)
{
  test_targets();
  test_http_status();
  test_json_error();
  test_summary();
  return ih_test_finish();
}
