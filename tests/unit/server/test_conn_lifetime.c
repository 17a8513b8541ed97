/* Lifetime defects caught where they happen (docs/lifetime.md): a reference
 * released more often than it was taken must not free anything twice, in a
 * release build as much as under assert. It is refused, logged as
 * IH_EV_COUNT_UNDERFLOW, and the connection is closed through its one close
 * path, after which its real holders drain and it is destroyed once. Run
 * under ASan, a double free or a use after free here fails the test.
 * And an extension call that cannot start is not released where it fails:
 * its session ends through ih_conn_on_ext_end like any other; a failed
 * operation's own Win32 error reaches the log; and what the platform's
 * timer sweep changes goes through the functions the platform calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_fake.h"
#include "core/config.h"
#include "core/server_log.h"
#include "server/conn.h"
#include "server/conn_internal.h"
#include "ih_test.h"

static struct {
  int underflows;
  enum ih_log_level level;
  char last[512];
} seen;

static struct {
  int count;
  char last[512];
} io_errors;

static void event_sink(void *ctx, enum ih_log_level level, enum ih_event_id id, const char *message)
{
  (void)ctx;
  if (id == IH_EV_IO_ERROR) {
    io_errors.count++;
    snprintf(io_errors.last, sizeof io_errors.last, "%s", message);
  }
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
  IH_CHECK(ih_counter_down(&count, "test_count"));
  IH_EQ_INT(atomic_load(&count), 0);
  IH_CHECK(!ih_counter_down(&count, "test_count"));
  IH_EQ_INT(atomic_load(&count), 0);
  IH_EQ_INT(seen.underflows, 1);
  IH_CHECK(strstr(seen.last, "test_count") != NULL);
}

/* ---- an extension call that cannot start ---- */

static int starts_allowed; /* extension_start succeeds this many more times, then fails */

static bool f_extension_start(ih_conn *c)
{
  (void)c;
  return starts_allowed-- > 0;
}

/* The pool's part of a session end the pipeline asked for. */
static bool session_end_runs(ih_conn *c)
{
  if (!IH_CHECK(atomic_exchange(&ext_end_posted, 0)))
    return false;
  ih_conn_on_ext_end(c);
  return true;
}

static void test_extension_start_failure_is_a_completion(void)
{
  IH_TEST("extension_start fails: the session ends through ih_conn_on_ext_end like any other, 503");
  starts_allowed = 0;
  atomic_store(&ext_end_posted, 0);
  ih_conn *c = connect_client();
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  /* Not released inline: the session's reference waits for its one end. */
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_ISAPI_SESSION), 1);
  IH_EQ_INT(atomic_load(&server.counters.isapi_sessions), 1);
  IH_EQ_INT(fake.op, OP_NONE);
  if (session_end_runs(c)) {
    IH_EQ_INT(ih_conn_refs(c, IH_HOLD_ISAPI_SESSION), 0);
    IH_EQ_INT(atomic_load(&server.counters.isapi_sessions), 0);
    send_completes(c);
  }
  IH_CHECK(wire_has("HTTP/1.1 503 "));
  IH_EQ_INT(fake.op, OP_RECV); /* the request was read whole: the connection stays usable */
  client_closes(c);
  expect_all_released(c);
}

static void test_extension_start_failures_pipelined(void)
{
  IH_TEST("two pipelined calls that cannot start: each ends once, after the response before it");
  starts_allowed = 0;
  atomic_store(&ext_end_posted, 0);
  ih_conn *c = connect_client();
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\nGET /app.isa?2 HTTP/1.1\r\nHost: x\r\n\r\n");
  if (session_end_runs(c))
    send_completes(c); /* the first 503; its completion starts the second request */
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_ISAPI_SESSION), 1);
  if (session_end_runs(c))
    send_completes(c);
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_ISAPI_SESSION), 0);
  const char *first = find_bytes(fake.wire, fake.wire_len, "503", 3);
  IH_CHECK(first && find_bytes(first + 3, fake.wire_len - (size_t)(first + 3 - fake.wire), "503", 3));
  client_closes(c);
  expect_all_released(c);
}

static size_t async_bytes;
static int async_calls;
static void async_done(void *ctx, size_t bytes, int err)
{
  (void)ctx;
  (void)err;
  async_bytes = bytes;
  async_calls++;
}

static void test_extension_start_failure_after_a_session(void)
{
  IH_TEST("a call that cannot start, pipelined after one that ran: its end follows the first's");
  starts_allowed = 1;
  atomic_store(&ext_end_posted, 0);
  async_calls = 0;
  ih_conn *c = connect_client();
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\nGET /app.isa?2 HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_ISAPI_SESSION), 1);
  /* The first extension answers asynchronously and ends its session. */
  ih_ext_head head = { .status = 200, .headers = "Content-Length: 2\r\n", .headers_len = 19, .body = "ok", .body_len = 2 };
  ih_ext_done done = { async_done, NULL };
  IH_EQ_INT(ih_conn_ext_send_head(c, &head, &done), IH_EXT_OK);
  send_completes(c);
  IH_EQ_INT(async_calls, 1);
  ih_conn_ext_end(c, 2, 200);
  /* Its end reads the second request, whose start fails: that session's
   * end is asked for once the first one's has released the lock. */
  if (session_end_runs(c)) {
    IH_EQ_INT(ih_conn_refs(c, IH_HOLD_ISAPI_SESSION), 1);
    if (session_end_runs(c))
      send_completes(c);
  }
  IH_CHECK(wire_has("HTTP/1.1 200 "));
  IH_CHECK(wire_has("HTTP/1.1 503 "));
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_ISAPI_SESSION), 0);
  IH_EQ_INT(atomic_load(&server.counters.isapi_sessions), 0);
  client_closes(c);
  expect_all_released(c);
}

/* ---- the real error of a failed operation ---- */

static void test_failed_receive_keeps_its_error(void)
{
  IH_TEST("a receive that fails with ERROR_NETNAME_DELETED is logged as that, not as a reset");
  memset(&io_errors, 0, sizeof io_errors);
  ih_conn *c = connect_client();
  pending_fails_with(c, 64); /* ERROR_NETNAME_DELETED: how IOCP reports a reset */
  IH_EQ_INT(io_errors.count, 1);
  IH_CHECK(strstr(io_errors.last, "receive failed (Win32 error 64)") != NULL);
  IH_CHECK(strstr(io_errors.last, "127.0.0.1") != NULL);
  expect_all_released(c);
}

static void test_failed_send_keeps_its_error(void)
{
  IH_TEST("a send that fails with ERROR_OPERATION_ABORTED is logged as that");
  memset(&io_errors, 0, sizeof io_errors);
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  pending_fails_with(c, 995);
  IH_EQ_INT(io_errors.count, 1);
  IH_CHECK(strstr(io_errors.last, "send failed (Win32 error 995)") != NULL);
  expect_all_released(c);
}

static void test_failure_after_our_close_is_quiet(void)
{
  IH_TEST("the failure of an operation our own close cancelled is not logged");
  memset(&io_errors, 0, sizeof io_errors);
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\n"); /* a head in progress */
  timer_fires(c);                             /* header timeout: closed by us */
  IH_CHECK(fake.socket_closed);
  pending_fails_with(c, 995);
  IH_EQ_INT(io_errors.count, 0);
  expect_all_released(c);
}

/* ---- the timer sweep's claim (the platform changes no field itself) ---- */

static void test_timer_claim(void)
{
  IH_TEST("ih_conn_timer_claim: only past the deadline, one notification at a time, never after the last ref");
  ih_conn *c = connect_client(); /* idle: the keep-alive deadline is set */
  uint64_t now = ih_clock_ms();
  IH_CHECK(!ih_conn_timer_claim(c, now, false));
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_TIMER), 0);
  IH_CHECK(ih_conn_timer_claim(c, now, true)); /* a drain notifies every connection */
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_TIMER), 1);
  ih_conn_expire_now(c);
  IH_CHECK(!ih_conn_timer_claim(c, now, false)); /* one is pending already */
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_TIMER), 1);
  ih_conn_on_timer(c); /* expired and idle: closes */
  IH_CHECK(fake.socket_closed);
  pending_fails(c);
  IH_EQ_INT(fake.destroy_requests, 1);
  IH_CHECK(!ih_conn_timer_claim(c, now, true)); /* queued for destruction: never revived */
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_TIMER), 0);
  expect_all_released(c);
}

int main(void)
{
  static const char ini[] = "[server]\n"
                            "[site Test]\nbindings = 127.0.0.1:80\nroot = C:\\site\npermissions = read, script\n"
                            "[scriptmap Test .isa]\ndll = /ext/app.dll\ncheck_file = off\n";
  if (!fake_setup(ini))
    return 1;
  fake_platform.extension_start = f_extension_start;
  ih_server_init(&server, cfg, &fake_platform);
  ih_log_set_event_sink(event_sink, NULL);
  ih_log_set_level(IH_LOG_DEBUG);
  test_extra_timer_release_closes();
  test_extra_request_release_closes();
  test_extra_io_release_on_closed();
  test_generation_released_twice();
  test_live_count_never_negative();
  test_extension_start_failure_is_a_completion();
  test_extension_start_failures_pipelined();
  test_extension_start_failure_after_a_session();
  test_failed_receive_keeps_its_error();
  test_failed_send_keeps_its_error();
  test_failure_after_our_close_is_quiet();
  test_timer_claim();
  ih_log_set_event_sink(NULL, NULL);
  free(fake.send_copy);
  ih_server_destroy(&server);
  IH_EQ_INT(atomic_load(&server.counters.generations_live), 0);
  ih_config_free(cfg);
  return ih_test_finish();
}
