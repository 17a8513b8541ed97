/* Unit tests for service/core/server_log.c: the line format, and the two
 * sinks ih_log feeds (the line sink, and the event sink the Windows Event
 * Log uses): what each receives, the level filter, removal. */
#include <string.h>

#include "core/ih_thread.h"
#include "core/server_log.h"
#include "ih_test.h"

#define T_1994 INT64_C(784111777) /* 1994-11-06 08:49:37 UTC */

/* What the capture sinks saw. */
typedef struct capture {
  int calls;
  enum ih_log_level level;
  enum ih_event_id id;
  char text[2 * IH_LOG_MESSAGE_MAX];
  size_t len;
} capture;

static capture lines, events;
static int line_ctx_ok, event_ctx_ok;
static int order; /* 1: line sink ran, then 2: event sink ran after it */

static void line_sink(void *ctx, enum ih_log_level level, const char *line, size_t len)
{
  line_ctx_ok = ctx == &lines;
  lines.calls++;
  lines.level = level;
  lines.len = len;
  memcpy(lines.text, line, len < sizeof lines.text ? len + 1 : sizeof lines.text);
  order = order == 0 ? 1 : -1;
}

static void event_sink(void *ctx, enum ih_log_level level, enum ih_event_id id, const char *message)
{
  event_ctx_ok = ctx == &events;
  events.calls++;
  events.level = level;
  events.id = id;
  events.len = strlen(message);
  memcpy(events.text, message, events.len + 1);
  order = order == 1 ? 2 : -1;
}

static void reset(void)
{
  memset(&lines, 0, sizeof lines);
  memset(&events, 0, sizeof events);
  line_ctx_ok = event_ctx_ok = 0;
  order = 0;
}

static void test_format(void)
{
  IH_TEST("line format: time, level, ID, message, newline");
  char out[256];
  size_t n = ih_log_format(out, sizeof out, T_1994, IH_LOG_WARNING, IH_EV_CONN_LIMIT, "max_connections 10 reached");
  IH_EQ_STR(out, "1994-11-06T08:49:37Z WARNING IH1203 max_connections 10 reached\n");
  IH_EQ_INT(n, strlen(out));

  IH_TEST("line format: control bytes become '?', so one event is one line");
  ih_log_format(out, sizeof out, T_1994, IH_LOG_INFO, IH_EV_BAD_REQUEST, "a\r\nb\tc\x7f" "d");
  IH_EQ_STR(out, "1994-11-06T08:49:37Z INFO IH1301 a??b?c?d\n");

  IH_TEST("line format: a short buffer cuts the message but keeps the newline");
  n = ih_log_format(out, 40, T_1994, IH_LOG_ERROR, IH_EV_FATAL, "0123456789abcdef");
  IH_EQ_STR(out, "1994-11-06T08:49:37Z ERROR IH1007 0123\n");
  IH_EQ_INT(n, 39);
  IH_EQ_INT(ih_log_format(out, 0, T_1994, IH_LOG_ERROR, IH_EV_FATAL, "x"), 0);
}

static void test_event_sink_alone(void)
{
  IH_TEST("event sink without a line sink: level, ID and the bare message");
  reset();
  ih_log_set_sink(NULL, NULL);
  ih_log_set_event_sink(event_sink, &events);
  ih_log(IH_LOG_ERROR, IH_EV_LISTEN_FAILED, "cannot listen on %s:%d (Win32 error %d)", "0.0.0.0", 80, 10048);
  IH_EQ_INT(events.calls, 1);
  IH_CHECK(event_ctx_ok);
  IH_EQ_INT(events.level, IH_LOG_ERROR);
  IH_EQ_INT(events.id, IH_EV_LISTEN_FAILED);
  IH_EQ_STR(events.text, "cannot listen on 0.0.0.0:80 (Win32 error 10048)");
  IH_EQ_INT(lines.calls, 0);

  IH_TEST("every level that passes the filter reaches the event sink");
  reset();
  ih_log(IH_LOG_WARNING, IH_EV_DRAIN_TIMEOUT, "w");
  IH_EQ_INT(events.level, IH_LOG_WARNING);
  ih_log(IH_LOG_INFO, IH_EV_BAD_REQUEST, "i"); /* not a lifecycle event: filtering by ID is the sink's business */
  IH_EQ_INT(events.calls, 2);
  IH_EQ_INT(events.level, IH_LOG_INFO);
  IH_EQ_INT(events.id, IH_EV_BAD_REQUEST);
  IH_EQ_STR(events.text, "i");

  IH_TEST("the level filter applies to the event sink too");
  reset();
  ih_log(IH_LOG_DEBUG, IH_EV_IDLE_TIMEOUT, "debug is off by default");
  IH_EQ_INT(events.calls, 0);
  ih_log_set_level(IH_LOG_DEBUG);
  ih_log(IH_LOG_DEBUG, IH_EV_IDLE_TIMEOUT, "now on");
  IH_EQ_INT(events.calls, 1);
  IH_EQ_INT(events.level, IH_LOG_DEBUG);
  ih_log_set_level(IH_LOG_ERROR);
  ih_log(IH_LOG_WARNING, IH_EV_CONN_LIMIT, "filtered");
  ih_log(IH_LOG_INFO, IH_EV_STARTING, "filtered");
  IH_EQ_INT(events.calls, 1);
  ih_log(IH_LOG_ERROR, IH_EV_FATAL, "passes");
  IH_EQ_INT(events.calls, 2);
  ih_log_set_level(IH_LOG_INFO);
  ih_log_set_event_sink(NULL, NULL);
}

static void test_both_sinks(void)
{
  IH_TEST("both sinks get the same event: the line with its prefix, the message without");
  reset();
  ih_log_set_sink(line_sink, &lines);
  ih_log_set_event_sink(event_sink, &events);
  ih_log(IH_LOG_INFO, IH_EV_LISTENING, "listening on %s", "127.0.0.1:8080");
  IH_EQ_INT(lines.calls, 1);
  IH_EQ_INT(events.calls, 1);
  IH_CHECK(line_ctx_ok);
  IH_CHECK(event_ctx_ok);
  IH_EQ_INT(order, 2); /* line first: server.log is the record */
  IH_EQ_INT(lines.level, IH_LOG_INFO);
  IH_CHECK(lines.len > 21 && strcmp(lines.text + 20, " INFO IH1002 listening on 127.0.0.1:8080\n") == 0);
  IH_EQ_STR(events.text, "listening on 127.0.0.1:8080");

  IH_TEST("control bytes are replaced in the event message as in the line");
  reset();
  ih_log(IH_LOG_WARNING, IH_EV_FILE_ERROR, "cannot open C:\\site\\a%cb\r\nforged line", '\x01');
  IH_EQ_STR(events.text, "cannot open C:\\site\\a?b??forged line");
  IH_CHECK(strstr(lines.text, " WARNING IH1305 cannot open C:\\site\\a?b??forged line\n") != NULL);

  IH_TEST("a long message is cut to IH_LOG_MESSAGE_MAX - 1 bytes in both");
  reset();
  char big[3000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ih_log(IH_LOG_ERROR, IH_EV_FATAL, "%s", big);
  IH_EQ_INT(events.len, IH_LOG_MESSAGE_MAX - 1);
  IH_EQ_INT(lines.len, 20 + strlen(" ERROR IH1007 ") + IH_LOG_MESSAGE_MAX - 1 + 1);
  IH_EQ_INT(lines.text[lines.len - 1], '\n');

  IH_TEST("a removed event sink is not called; the line sink goes on");
  reset();
  ih_log_set_event_sink(NULL, NULL);
  ih_log(IH_LOG_ERROR, IH_EV_FATAL, "after removal");
  IH_EQ_INT(events.calls, 0);
  IH_EQ_INT(lines.calls, 1);

  IH_TEST("a removed line sink is not called; the event sink goes on");
  reset();
  ih_log_set_event_sink(event_sink, &events);
  ih_log_set_sink(NULL, NULL);
  ih_log(IH_LOG_ERROR, IH_EV_FATAL, "line sink gone");
  IH_EQ_INT(lines.calls, 0);
  IH_EQ_INT(events.calls, 1);
  IH_EQ_STR(events.text, "line sink gone");

  IH_TEST("no sink: nothing is called");
  reset();
  ih_log_set_event_sink(NULL, NULL);
  ih_log(IH_LOG_ERROR, IH_EV_FATAL, "nobody listens");
  IH_EQ_INT(lines.calls + events.calls, 0);
}

static void test_throttle(void)
{
  IH_TEST("throttle: the first occurrence is written, then one line per interval with the count");
  ih_log_throttle t = { 0 };
  IH_EQ_INT(ih_log_throttle_hit(&t, 1000, 60000), 1);
  for (int i = 0; i < 999; i++)
    IH_EQ_INT(ih_log_throttle_hit(&t, 1000 + (uint64_t)i * 50, 60000), 0);
  IH_EQ_INT(ih_log_throttle_hit(&t, 60999, 60000), 0);
  IH_EQ_INT(ih_log_throttle_hit(&t, 61000, 60000), 1001); /* the 1000 held back and this one */
  IH_EQ_INT(ih_log_throttle_hit(&t, 61001, 60000), 0);
  IH_EQ_INT(ih_log_throttle_hit(&t, 500000, 60000), 2);   /* a quiet spell: due at once */
  IH_EQ_INT(ih_log_throttle_hit(&t, 500001, 60000), 0);
}

/* Threads through core/ih_thread.h: this runs natively and under Wine. */
enum { RACERS = 4, HITS = 20000 };
static ih_log_throttle raced;
static atomic_ullong reported, lines_due;
static atomic_ullong fake_now;

static void *racer(void *arg)
{
  (void)arg;
  for (int i = 0; i < HITS; i++) {
    unsigned long long n = ih_log_throttle_hit(&raced, atomic_fetch_add(&fake_now, 1), 1000);
    if (n) {
      atomic_fetch_add(&reported, n);
      atomic_fetch_add(&lines_due, 1);
    }
  }
  return NULL;
}

static void test_throttle_racing(void)
{
  IH_TEST("throttle: racing threads; every occurrence reported once, one line per interval");
  ih_thread *t[RACERS];
  for (int i = 0; i < RACERS; i++)
    t[i] = ih_thread_start(racer, NULL);
  for (int i = 0; i < RACERS; i++)
    if (IH_CHECK(t[i] != NULL))
      ih_thread_join(t[i]);
  unsigned long long last = ih_log_throttle_hit(&raced, UINT64_MAX / 2, 1000); /* flush: due */
  IH_EQ_INT(atomic_load(&reported) + last, (unsigned long long)RACERS * HITS + 1);
  /* the clock advanced RACERS * HITS ms: at most one line per 1000 ms */
  IH_CHECK(atomic_load(&lines_due) <= (unsigned long long)RACERS * HITS / 1000 + 1);
  IH_CHECK(atomic_load(&lines_due) >= 2);
}

int main(void)
{
  test_format();
  test_event_sink_alone();
  test_both_sinks();
  test_throttle();
  test_throttle_racing();
  return ih_test_finish();
}
