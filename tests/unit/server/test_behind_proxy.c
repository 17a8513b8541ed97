/* A server behind load balancers (docs/deployment.md), through the whole
 * pipeline with the fake transport: a proxy_protocol binding reads the
 * PROXY header (v1 and v2, whole or in pieces) before anything else and
 * takes its client as the connection's peer, refuses connections from
 * untrusted peers and connections without a valid header; a trusted
 * peer's forwarding headers name the request's client, scheme and port,
 * and anybody else's change nothing. What the request ends up with is
 * read where a handler would read it (the extension hook). */
#include <stdio.h>
#include <string.h>

#include "conn_fake.h"
#include "ih_test.h"
#include "server/pipeline.h"

/* What the "extension" saw: the request's view of its client. It then
 * refuses (503), which is all these tests need of it. */
static struct {
  int calls;
  char client_addr[48];
  unsigned client_port, server_port;
  bool secure;
} seen;

static bool f_extension_start(ih_conn *c)
{
  seen.calls++;
  snprintf(seen.client_addr, sizeof seen.client_addr, "%s", c->req->client_addr);
  seen.client_port = c->req->client_port;
  seen.server_port = c->req->server_port;
  seen.secure = c->req->secure;
  return false;
}

static void ask(ih_conn *c, const char *head)
{
  memset(&seen, 0, sizeof seen);
  client_sends(c, head);
  if (atomic_exchange(&ext_end_posted, 0))
    ih_conn_on_ext_end(c); /* the refused session ends as any does, through the pool's continuation */
  send_completes(c);
}

static void test_proxy_v1(void)
{
  IH_TEST("PROXY v1 from a trusted proxy: its client is the peer for the log and the handler");
  ih_conn *c = connect_to("10.1.2.3", 81);
  ask(c, "PROXY TCP4 192.0.2.5 203.0.113.1 56324 443\r\nGET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_INT(seen.calls, 1);
  IH_EQ_STR(seen.client_addr, "192.0.2.5");
  IH_EQ_INT(seen.client_port, 56324);
  IH_CHECK(strstr(fake.last_access_line, " 192.0.2.5 ") != NULL); /* c-ip */
  IH_EQ_STR(c->peer_addr, "192.0.2.5");
  IH_EQ_STR(c->proxy_addr, "10.1.2.3");
  client_closes(c);
  expect_all_released(c);

  IH_TEST("PROXY v1 in pieces: the header, then the request, each split");
  c = connect_to("10.1.2.3", 81);
  client_sends(c, "PROX");
  client_sends(c, "Y TCP6 2001:db8::5 2001:db8::1 4711 443\r");
  client_sends(c, "\nGET /app.isa HT");
  ask(c, "TP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_INT(seen.calls, 1);
  IH_EQ_STR(seen.client_addr, "2001:db8::5");
  IH_EQ_INT(seen.client_port, 4711);
  client_closes(c);
  expect_all_released(c);

  IH_TEST("PROXY UNKNOWN: the real peer stays");
  c = connect_to("127.0.0.1", 81);
  ask(c, "PROXY UNKNOWN\r\nGET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(seen.client_addr, "127.0.0.1");
  IH_EQ_STR(c->proxy_addr, "");
  client_closes(c);
  expect_all_released(c);
}

static void test_proxy_v2(void)
{
  IH_TEST("PROXY v2: PROXY TCP4 names the client; LOCAL (a health check) leaves the proxy");
  static const unsigned char sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
  unsigned char v2[64];
  memcpy(v2, sig, 12);
  v2[12] = 0x21; /* version 2, PROXY */
  v2[13] = 0x11; /* AF_INET, STREAM */
  v2[14] = 0;
  v2[15] = 12;
  const unsigned char addrs[12] = { 198, 51, 100, 7, 127, 0, 0, 1, 0x1F, 0x90, 0x01, 0xBB }; /* :8080 -> :443 */
  memcpy(v2 + 16, addrs, 12);
  ih_conn *c = connect_to("127.0.0.1", 81);
  client_sends_bytes(c, v2, 28);
  ask(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(seen.client_addr, "198.51.100.7");
  IH_EQ_INT(seen.client_port, 8080);
  client_closes(c);
  expect_all_released(c);

  v2[12] = 0x20; /* LOCAL */
  v2[13] = 0x00;
  v2[15] = 0;
  c = connect_to("127.0.0.1", 81);
  client_sends_bytes(c, v2, 16);
  ask(c, "GET /h HTTP/1.0\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 200 OK")); /* the health URL, to the proxy itself */
  IH_EQ_STR(c->proxy_addr, "");
  client_closes(c);
  expect_all_released(c);
}

static void test_proxy_refusals(void)
{
  IH_TEST("proxy_protocol binding: an untrusted peer is closed at once, before it sends anything");
  ih_conn *c = connect_to("192.0.2.66", 81);
  IH_CHECK(fake.socket_closed);
  IH_EQ_INT(fake.wire_len, 0);
  expect_all_released(c);

  IH_TEST("proxy_protocol binding: a request without the header is closed unanswered (no 400 to guess at)");
  c = connect_to("10.1.2.3", 81);
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(fake.socket_closed);
  IH_EQ_INT(fake.wire_len, 0);
  expect_all_released(c);

  IH_TEST("proxy_protocol binding: a malformed header is closed");
  c = connect_to("10.1.2.3", 81);
  client_sends(c, "PROXY TCP4 192.0.2.5 203.0.113.1 056324 443\r\nGET / HTTP/1.1\r\n\r\n"); /* leading zero */
  IH_CHECK(fake.socket_closed);
  expect_all_released(c);

  IH_TEST("a binding without proxy_protocol takes a PROXY line as a bad request line");
  c = connect_to("10.1.2.3", 80);
  client_sends(c, "PROXY TCP4 192.0.2.5 203.0.113.1 56324 443\r\nGET / HTTP/1.1\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 400 "));
  client_closes(c);
  expect_all_released(c);
}

static void test_forwarded_headers(void)
{
  IH_TEST("X-Forwarded-For/-Proto/-Port from a trusted proxy: the rightmost untrusted hop, https, the port");
  ih_conn *c = connect_to("10.1.2.3", 80);
  ask(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6, 192.0.2.7, 10.9.9.9\r\n"
         "X-Forwarded-Proto: https\r\nX-Forwarded-Port: 8443\r\n\r\n");
  IH_EQ_STR(seen.client_addr, "192.0.2.7"); /* 6.6.6.6 is what the client wrote: never used */
  IH_EQ_INT(seen.client_port, 0);
  IH_CHECK(seen.secure);
  IH_EQ_INT(seen.server_port, 8443);
  IH_CHECK(strstr(fake.last_access_line, " 192.0.2.7 ") != NULL);
  client_closes(c);
  expect_all_released(c);

  IH_TEST("Forwarded (RFC 7239) from a trusted proxy");
  c = connect_to("10.1.2.3", 80);
  ask(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\nForwarded: for=\"[2001:db8::7]:4711\";proto=https\r\n\r\n");
  IH_EQ_STR(seen.client_addr, "2001:db8::7");
  IH_EQ_INT(seen.client_port, 4711);
  IH_CHECK(seen.secure);
  IH_EQ_INT(seen.server_port, 80);
  client_closes(c);
  expect_all_released(c);

  IH_TEST("the same headers from an untrusted client change nothing");
  c = connect_to("192.0.2.66", 80);
  ask(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
         "X-Forwarded-Port: 443\r\nForwarded: for=6.6.6.6;proto=https\r\n\r\n");
  IH_EQ_STR(seen.client_addr, "192.0.2.66");
  IH_CHECK(!seen.secure);
  IH_EQ_INT(seen.server_port, 80);
  IH_CHECK(strstr(fake.last_access_line, " 192.0.2.66 ") != NULL);
  client_closes(c);
  expect_all_released(c);

  IH_TEST("a trusted proxy's malformed X-Forwarded-For is ignored: the proxy is the client");
  c = connect_to("10.1.2.3", 80);
  ask(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3\r\n\r\n");
  IH_EQ_STR(seen.client_addr, "10.1.2.3");
  client_closes(c);
  expect_all_released(c);

  IH_TEST("a secure = on site: secure without any header; a trusted proxy cannot make it plain by saying http");
  c = connect_to("10.1.2.3", 82);
  ask(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(seen.secure);
  IH_EQ_INT(seen.server_port, 82);
  ask(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 192.0.2.8\r\nX-Forwarded-Proto: http\r\n\r\n");
  IH_EQ_STR(seen.client_addr, "192.0.2.8");
  IH_CHECK(seen.secure);
  IH_EQ_INT(seen.server_port, 82);
  client_closes(c);
  expect_all_released(c);
}

int main(void)
{
  static const char ini[] = "[server]\ntrusted_proxies = 10.0.0.0/8, 127.0.0.1\nhealth_path = /h\n"
                            "[site plain]\nbindings = 127.0.0.1:80\nroot = C:\\site\npermissions = read, script\n"
                            "[site proxied]\nbindings = 127.0.0.1:81\nroot = C:\\site\npermissions = read, script\n"
                            "proxy_protocol = on\n"
                            "[site tls]\nbindings = 127.0.0.1:82\nroot = C:\\site\npermissions = read, script\n"
                            "secure = on\n"
                            "[scriptmap plain .isa]\ndll = /ext/app.dll\ncheck_file = off\n"
                            "[scriptmap proxied .isa]\ndll = /ext/app.dll\ncheck_file = off\n"
                            "[scriptmap tls .isa]\ndll = /ext/app.dll\ncheck_file = off\n";
  if (!fake_setup(ini))
    return 1;
  fake_platform.extension_start = f_extension_start;
  ih_server_init(&server, cfg, &fake_platform);
  test_proxy_v1();
  test_proxy_v2();
  test_proxy_refusals();
  test_forwarded_headers();
  ih_server_destroy(&server);
  return ih_test_finish();
}
