/* Lifetime defects caught where they happen (docs/lifetime.md): a reference
 * released more often than it was taken must not free anything twice, in a
 * release build as much as under assert. It is refused, logged as
 * IH_EV_COUNT_UNDERFLOW, and the connection is closed through its one close
 * path, after which its real holders drain and it is destroyed once. Run
 * under ASan, a double free or a use after free here fails the test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_fake.h"
#include "core/config.h"
#include "core/server_log.h"
#include "http/conn.h"
#include "http/conn_internal.h"
#include "ih_test.h"

static struct {
  int underflows;
  enum ih_log_level level;
  char last[512];
} seen;

static void event_sink(void *ctx, enum ih_log_level level, enum ih_event_id id, const char *message)
{
  (void)ctx;
  if (id != IH_EV_COUNT_UNDERFLOW)
    return;
  seen.underflows++;
  seen.level = level;
  snprintf(seen.last, sizeof seen.last, "%s", message);
}

static void test_extra_timer_release_closes(void)
{
  IH_TEST("a timer notification released twice: logged, the connection closed, destroyed once");
  memset(&seen, 0, sizeof seen);
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\n"); /* a head in progress: a request is on its way */
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_TIMER), 0);
  /* A notification the platform delivers without having taken its
   * reference (or a second time): its handler's release finds none. */
  ih_conn_on_timer(c);
  IH_EQ_INT(seen.underflows, 1);
  IH_EQ_INT(seen.level, IH_LOG_ERROR);
  IH_CHECK(strstr(seen.last, "timer") != NULL);
  IH_CHECK(fake.socket_closed);
  IH_EQ_INT(fake.destroy_requests, 0); /* the receive still holds it */
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_TIMER), 0);
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_IO), 1);
  pending_fails(c); /* the outstanding receive completes with an error, as after any close */
  expect_all_released(c);
}

static void test_extra_request_release_closes(void)
{
  IH_TEST("a request released with no request holder left: no next request, the connection closed");
  memset(&seen, 0, sizeof seen);
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_REQUEST), 1);
  /* Something releases the request's reference behind the pipeline's back:
   * the pipeline's own release at the end of the response then finds none. */
  ih_conn_unref(c, IH_HOLD_REQUEST);
  IH_EQ_INT(seen.underflows, 0);
  send_completes(c);
  IH_EQ_INT(seen.underflows, 1);
  IH_CHECK(fake.socket_closed);
  IH_CHECK(!wire_has("BBBB")); /* the pipelined request is not served on a connection gone wrong */
  expect_all_released(c);
}

static void test_extra_io_release_on_closed(void)
{
  IH_TEST("a completion delivered twice: the second is refused, nothing freed twice");
  memset(&seen, 0, sizeof seen);
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  send_completes(c);
  IH_EQ_INT(fake.op, OP_RECV); /* lingering: FIN sent, draining */
  client_closes(c);
  IH_EQ_INT(fake.destroy_requests, 1);
  IH_EQ_INT(seen.underflows, 0);
  /* The same completion again, before the safe point frees it. */
  ih_conn_on_recv(c, 0, 0);
  IH_EQ_INT(seen.underflows, 1);
  IH_EQ_INT(fake.destroy_requests, 1); /* not queued for destruction a second time */
  expect_all_released(c);
}

static void test_generation_released_twice(void)
{
  IH_TEST("a generation released with no reference left is not freed (again)");
  memset(&seen, 0, sizeof seen);
  ih_generation gen;
  memset(&gen, 0, sizeof gen);
  gen.server = &server;
  gen.number = 77;
  atomic_init(&gen.refs, 0);
  long long live = atomic_load(&server.counters.generations_live);
  ih_generation_release(&gen); /* freeing it would free a stack object: ASan stops there */
  IH_EQ_INT(seen.underflows, 1);
  IH_EQ_INT(atomic_load(&gen.refs), 0);
  IH_EQ_INT(atomic_load(&server.counters.generations_live), live);
}

static void test_live_count_never_negative(void)
{
  IH_TEST("a live count at zero stays at zero and the release is logged");
  memset(&seen, 0, sizeof seen);
  atomic_llong count;
  atomic_init(&count, 1);
  IH_CHECK(conn_counter_down(&count, "test_count"));
  IH_EQ_INT(atomic_load(&count), 0);
  IH_CHECK(!conn_counter_down(&count, "test_count"));
  IH_EQ_INT(atomic_load(&count), 0);
  IH_EQ_INT(seen.underflows, 1);
  IH_CHECK(strstr(seen.last, "test_count") != NULL);
}

int main(void)
{
  static const char ini[] = "[server]\n"
                            "[site Test]\nbindings = 127.0.0.1:80\nroot = C:\\site\npermissions = read\n";
  char err[256];
  if (ih_config_parse(ini, sizeof ini - 1, "test.ini", "", &cfg, err, sizeof err) != 0) {
    printf("config: %s\n", err);
    return 1;
  }
  ih_server_init(&server, cfg, &fake_platform);
  ih_log_set_event_sink(event_sink, NULL);
  test_extra_timer_release_closes();
  test_extra_request_release_closes();
  test_extra_io_release_on_closed();
  test_generation_released_twice();
  test_live_count_never_negative();
  ih_log_set_event_sink(NULL, NULL);
  free(fake.send_copy);
  ih_server_destroy(&server);
  IH_EQ_INT(atomic_load(&server.counters.generations_live), 0);
  ih_config_free(cfg);
  return ih_test_finish();
}
