/* Requests relayed to a worker process (server/relay.h), both ends in one
 * test program: the service's pipeline on the fake socket transport
 * (tests/harness/conn_fake.h), a second server playing the worker, and the
 * channel between them in plain memory (pool/channel.h). The test plays
 * both processes' reader threads (pump) and the client. Every scenario
 * ends with everything released on both sides: the client's connection
 * destroyed once with every holder at zero, no relayed connection left in
 * the worker, no request registered with the link. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_fake.h"
#include "ih_test.h"
#include "pool/channel.h"
#include "server/conn.h"
#include "server/pipeline.h"
#include "server/relay.h"
#include "server/relay_link.h"
#include "server/relay_worker.h"

#define RING (1u << 18)

static void *shared;
static ih_chan *front_ch, *worker_ch;
static ih_relay_link *link_;
static ih_relay_worker *worker;
static ih_server wserver;
static ih_platform wplatform;
static bool worker_alive = true; /* false: the worker reads nothing more (it died) */
static unsigned retry_after_given; /* relay_pick answers NULL with this when set */
static int picks;

static ih_relay_link *f_relay_pick(ih_conn *c, const ih_pool_conf *pool, unsigned *retry_after_s)
{
  (void)c;
  IH_EQ_STR(pool->name, "w");
  picks++;
  if (retry_after_given) {
    *retry_after_s = retry_after_given;
    return NULL;
  }
  return link_;
}

static void worker_msg(void *ctx, const ih_chan_msg *m)
{
  (void)ctx;
  IH_CHECK(ih_relay_worker_dispatch(worker, m));
}

static void front_msg(void *ctx, const ih_chan_msg *m)
{
  (void)ctx;
  ih_relay_dispatch(link_, m);
}

/* Both readers until neither has anything to do. */
static void pump(void)
{
  for (int rounds = 0; rounds < 10000; rounds++) {
    int n = 0;
    if (worker_alive) {
      n += ih_chan_poll(worker_ch, worker_msg, NULL, 64);
      n += ih_relay_worker_run(worker);
    }
    n += ih_chan_poll(front_ch, front_msg, NULL, 64);
    if (n == 0)
      return;
  }
  IH_CHECK(!"pump did not settle");
}

/* The client takes every send the service posts, until it waits. */
static void client_reads_all(ih_conn *c)
{
  for (int i = 0; i < 1000; i++) {
    pump();
    if (fake.op != OP_SEND && fake.op != OP_SEND_FILE)
      return;
    send_completes(c);
  }
}

/* data in pieces no larger than each receive the service posts. */
static void client_streams(ih_conn *c, const char *data)
{
  static char piece[1 << 16];
  size_t left = strlen(data);
  while (left) {
    pump();
    if (!IH_EQ_INT(fake.op, OP_RECV))
      return;
    size_t n = left < fake.recv_cap ? left : fake.recv_cap;
    if (n >= sizeof piece)
      n = sizeof piece - 1;
    memcpy(piece, data, n);
    piece[n] = '\0';
    client_sends(c, piece);
    data += n;
    left -= n;
  }
}

static void expect_worker_empty(void)
{
  pump();
  IH_EQ_INT(ih_relay_worker_live(worker), 0);
  IH_EQ_INT(ih_relay_link_in_flight(link_), 0);
  IH_EQ_INT(atomic_load(&wserver.counters.connections_live), 0);
  IH_EQ_INT(atomic_load(&wserver.counters.requests_in_flight), 0);
}

static void test_get_keep_alive(void)
{
  IH_TEST("a worker pool's GET: the worker answers, the connection stays for the next request");
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  client_reads_all(c);
  IH_CHECK(wire_has("HTTP/1.1 200 OK"));
  IH_CHECK(wire_has("\r\n\r\nAAAA"));
  IH_EQ_INT(fake.op, OP_RECV); /* kept: waiting for the next request */
  IH_EQ_INT(ih_relay_link_in_flight(link_), 0);
  client_sends(c, "GET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  client_reads_all(c);
  IH_CHECK(fake.shutdown_sent || fake.socket_closed);
  IH_EQ_INT(ih_relay_link_requests(link_) >= 2, 1);
  client_closes(c);
  expect_all_released(c);
  expect_worker_empty();
}

static void test_one_worker_connection_per_client_connection(void)
{
  IH_TEST("a client connection's requests share one connection in the worker, which ends with it");
  long long before = atomic_load(&wserver.counters.connections_total);
  ih_conn *c = connect_client();
  for (int i = 0; i < 3; i++) {
    client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    client_reads_all(c);
  }
  IH_EQ_INT(atomic_load(&wserver.counters.connections_total) - before, 1);
  IH_EQ_INT(atomic_load(&wserver.counters.requests_total) >= 3, 1);
  IH_EQ_INT(ih_relay_worker_live(worker), 1); /* it waits for the client's next request */
  client_closes(c);
  expect_all_released(c);
  expect_worker_empty(); /* CLOSE: the worker's connection read its end of stream */
}

static void test_answer_while_reading_body(void)
{
  IH_TEST("response bytes and END while the body receive is outstanding: the receive yields, the bytes go out");
  ih_conn *c = connect_client();
  worker_alive = false; /* the test plays the worker's messages itself */
  client_sends(c, "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  pump();
  uint64_t id = c->relay_id;
  IH_CHECK(id != 0);
  ih_chan_msg m = { .type = RELAY_WANT, .id = id };
  ih_relay_dispatch(link_, &m);
  IH_EQ_INT(fake.op, OP_RECV); /* reading the rest of the body for the worker */
  int cancels = cancel_requests;
  static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  m = (ih_chan_msg){ .type = RELAY_DATA, .id = id, .len = sizeof resp - 1, .payload = (const unsigned char *)resp };
  ih_relay_dispatch(link_, &m);
  IH_EQ_INT(cancel_requests, cancels + 1);
  uint32_t status = 200;
  m = (ih_chan_msg){ .type = RELAY_END, .flags = RELAY_END_HEAD_SENT, .id = id, .len = 4,
                     .payload = (const unsigned char *)&status };
  ih_relay_dispatch(link_, &m);
  pending_fails_with(c, 995); /* the cancelled receive completes */
  client_reads_all(c);
  IH_CHECK(wire_has("\r\n\r\nok"));
  IH_CHECK(fake.shutdown_sent || fake.socket_closed);
  client_closes(c);
  expect_all_released(c);
  worker_alive = true;
  expect_worker_empty(); /* it got the request late, then CLOSE: its connection ended too */
}

static void test_status_page_stays(void)
{
  IH_TEST("the status page is the service's own, whatever pool the site's root has");
  uint64_t before = ih_relay_link_requests(link_);
  ih_conn *c = connect_client();
  client_sends(c, "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  client_reads_all(c);
  IH_CHECK(wire_has("HTTP/1.1 200 OK"));
  IH_EQ_INT(ih_relay_link_requests(link_), before);
  client_closes(c);
  expect_all_released(c);
  expect_worker_empty();
}

/* The service's count of (site Test, method, status class, handler). */
static unsigned long long service_count(enum ih_metrics_method m, enum ih_metrics_code_class k,
                                        enum ih_metrics_handler h)
{
  return atomic_load(&ih_metrics_site_named(&server.metrics, "Test")->requests[m][k][h]);
}

static void test_metrics_count_once(void)
{
  IH_TEST("metrics: a relayed request is counted once, in the service, with the worker's status and handler");
  unsigned long long before = service_count(IH_MM_GET, IH_MC_2XX, IH_MH_STATIC);
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  client_reads_all(c);
  IH_CHECK(wire_has("HTTP/1.1 200 OK"));
  client_closes(c);
  expect_all_released(c);
  expect_worker_empty();
  IH_EQ_INT(service_count(IH_MM_GET, IH_MC_2XX, IH_MH_STATIC) - before, 1);

  IH_TEST("metrics: END's handler bits (an extension answered in the worker) label the service's count");
  c = connect_client();
  worker_alive = false; /* the test plays the worker's messages itself */
  client_sends(c, "GET /x.dll HTTP/1.1\r\nHost: x\r\n\r\n");
  pump();
  uint64_t id = c->relay_id;
  IH_CHECK(id != 0);
  static const char resp[] = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  ih_chan_msg m = { .type = RELAY_DATA, .id = id, .len = sizeof resp - 1, .payload = (const unsigned char *)resp };
  ih_relay_dispatch(link_, &m);
  uint32_t status = 201;
  m = (ih_chan_msg){ .type = RELAY_END,
                     .flags = RELAY_END_HEAD_SENT | (IH_MH_EXTENSION << RELAY_END_HANDLER_SHIFT),
                     .id = id, .len = 4, .payload = (const unsigned char *)&status };
  ih_relay_dispatch(link_, &m);
  client_reads_all(c);
  IH_CHECK(wire_has("\r\n\r\nok"));
  client_closes(c);
  expect_all_released(c);
  worker_alive = true;
  expect_worker_empty();
  IH_EQ_INT(service_count(IH_MM_GET, IH_MC_2XX, IH_MH_EXTENSION), 1);
}

static void test_body_on_demand(void)
{
  IH_TEST("a body larger than what travels with the request is read when the worker asks");
  static char req[40000];
  int n = snprintf(req, sizeof req, "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 30000\r\n\r\n");
  memset(req + n, 'x', 10000);
  req[n + 10000] = '\0';
  ih_conn *c = connect_client();
  client_streams(c, req);
  pump();
  IH_EQ_INT(fake.op, OP_RECV); /* the worker asked for more: the service reads the client */
  static char more[20001];
  memset(more, 'y', 20000);
  more[20000] = '\0';
  client_streams(c, more);
  client_reads_all(c);
  IH_CHECK(wire_has("HTTP/1.1 405") || wire_has("HTTP/1.1 200"));
  client_closes(c);
  expect_all_released(c);
  expect_worker_empty();
}

static void test_chunked_body(void)
{
  IH_TEST("a chunked body is decoded by the service and framed again for the worker");
  ih_conn *c = connect_client();
  client_sends(c, "POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n");
  pump();
  client_sends(c, "0\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  client_reads_all(c);
  const char *second = find_bytes(fake.wire, fake.wire_len, "HTTP/1.1 200", 12);
  IH_CHECK(second != NULL); /* the pipelined GET after the chunked body was answered */
  client_closes(c);
  expect_all_released(c);
  expect_worker_empty();
}

/* The worker's file handed to the service as a "duplicate" (the same fake
 * file, counted open once more: both ends close theirs). */
static int exports;
static bool f_export(void *file, uint64_t *token)
{
  exports++;
  fake.files_open++;
  *token = (uint64_t)(uintptr_t)file;
  return true;
}

static void test_large_response_credits(bool handed_over)
{
  IH_TEST(handed_over ? "a large file goes out from the service's own handle, as the client takes it"
                      : "a response larger than the window moves through the channel as the client takes it");
  ih_relay_worker_set_file_export(worker, handed_over ? f_export : NULL);
  int exported = exports;
  ih_conn *c = connect_client();
  client_sends(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  client_reads_all(c);
  IH_CHECK(wire_has("HTTP/1.1 200 OK"));
  const char *body = find_bytes(fake.wire, fake.wire_len, "\r\n\r\n", 4);
  IH_CHECK(body && (size_t)(fake.wire + fake.wire_len - (body + 4)) == HUGE_SIZE);
  IH_CHECK(body && memcmp(body + 4, huge_data, HUGE_SIZE) == 0);
  IH_EQ_INT(exports > exported, handed_over);
  ih_relay_worker_set_file_export(worker, NULL);
  client_closes(c);
  expect_all_released(c);
  expect_worker_empty();
}

static void test_worker_lost_before_answer(void)
{
  IH_TEST("a worker lost before it answered: 502, and the connection closes");
  ih_conn *c = connect_client();
  worker_alive = false; /* it reads nothing more: as if it died right now (last: the link closes) */
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  pump();
  IH_EQ_INT(ih_relay_link_in_flight(link_), 1);
  char which[128];
  IH_EQ_INT(ih_relay_lost(link_, which, sizeof which), 1);
  IH_EQ_STR(which, "GET /a.txt");
  client_reads_all(c);
  IH_CHECK(wire_has("HTTP/1.1 502"));
  IH_CHECK(fake.shutdown_sent || fake.socket_closed);
  client_closes(c);
  expect_all_released(c);
  IH_EQ_INT(ih_relay_link_in_flight(link_), 0);
}

static void test_client_gone(void)
{
  IH_TEST("a client that resets while the worker streams: ABORT, and both ends let go");
  ih_conn *c = connect_client();
  client_sends(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n");
  pump();
  IH_EQ_INT(fake.op, OP_SEND);
  send_completes(c);
  pump();
  pending_fails(c); /* the client reset */
  pump();
  expect_all_released(c);
  expect_worker_empty();
}

static void test_no_worker(void)
{
  IH_TEST("a pool with no worker to take the request: 503 with Retry-After");
  retry_after_given = 7;
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  client_reads_all(c);
  IH_CHECK(wire_has("HTTP/1.1 503"));
  IH_CHECK(wire_has("Retry-After: 7\r\n"));
  retry_after_given = 0;
  client_closes(c);
  expect_all_released(c);
}

static int overflow_next = 1;
static bool overflow_in_order = true;

static void overflow_msg(void *ctx, const ih_chan_msg *m)
{
  (void)ctx;
  if (m->id != (uint64_t)overflow_next || m->len != IH_CHAN_MAX_PAYLOAD || m->payload[0] != 'a' + overflow_next - 1 ||
      m->payload[m->len - 1] != 'a' + overflow_next - 1)
    overflow_in_order = false;
  overflow_next++;
}

static void test_channel_overflow(void)
{
  IH_TEST("the channel: messages beyond the ring's space wait in order and all arrive");
  void *mem = calloc(1, ih_chan_shared_bytes(RING));
  ih_chan_shared_init(mem, RING);
  IH_CHECK(ih_chan_shared_valid(mem, ih_chan_shared_bytes(RING), RING));
  IH_CHECK(!ih_chan_shared_valid(mem, ih_chan_shared_bytes(RING) - 1, RING));
  ih_chan *a = ih_chan_new(mem, RING, 0, NULL, NULL), *b = ih_chan_new(mem, RING, 1, NULL, NULL);
  static unsigned char big[IH_CHAN_MAX_PAYLOAD];
  for (int i = 0; i < 20; i++) { /* 20 x 64 KB: five times the ring */
    memset(big, 'a' + i, sizeof big);
    IH_CHECK(ih_chan_send1(a, RELAY_DATA, 0, (uint64_t)i + 1, big, sizeof big));
  }
  ih_chan_stats st;
  ih_chan_get_stats(a, &st);
  IH_CHECK(st.overflowed > 0);
  IH_CHECK(st.overflow_bytes > 0);
  for (int round = 0; round < 100 && overflow_next <= 20; round++) {
    ih_chan_poll(a, overflow_msg, NULL, 0); /* the sender's reader moves its overflow */
    ih_chan_poll(b, overflow_msg, NULL, 1000);
  }
  IH_EQ_INT(overflow_next, 21);
  IH_CHECK(overflow_in_order);
  ih_chan_get_stats(a, &st);
  IH_EQ_INT(st.overflow_bytes, 0);
  IH_CHECK(ih_chan_may_sleep(b)); /* nothing left: its reader may sleep */
  ih_chan_woke(b);
  ih_chan_free(a);
  ih_chan_free(b);
  free(mem);
}

int main(void)
{
  static const char ini[] = "[server]\nstatus_path = /status\n"
                            "[pool w]\nmode = worker\n"
                            "[site Test]\nbindings = 127.0.0.1:80\nroot = C:\\site\npermissions = read\npool = w\n";
  if (!fake_setup(ini))
    return 1;
  shared = calloc(1, ih_chan_shared_bytes(RING));
  ih_chan_shared_init(shared, RING);
  front_ch = ih_chan_new(shared, RING, 0, NULL, NULL);
  worker_ch = ih_chan_new(shared, RING, 1, NULL, NULL);
  link_ = ih_relay_link_new(front_ch, NULL);
  wplatform = fake_platform; /* the same files; a worker never relays further */
  fake_platform.relay_pick = f_relay_pick;
  ih_server_init(&server, cfg, &fake_platform);
  ih_server_init(&wserver, cfg, &wplatform);
  worker = ih_relay_worker_new(&wserver, worker_ch, NULL, NULL);

  test_get_keep_alive();
  test_one_worker_connection_per_client_connection();
  test_answer_while_reading_body();
  test_status_page_stays();
  test_metrics_count_once();
  test_body_on_demand();
  test_chunked_body();
  test_large_response_credits(false);
  test_large_response_credits(true);
  test_client_gone();
  test_no_worker();
  test_worker_lost_before_answer();
  test_channel_overflow();

  ih_relay_worker_free(worker);
  ih_relay_link_unref(link_);
  ih_chan_free(front_ch);
  ih_chan_free(worker_ch);
  free(shared);
  ih_server_destroy(&wserver);
  ih_server_destroy(&server);
  ih_config_free(cfg);
  return ih_test_finish();
}
