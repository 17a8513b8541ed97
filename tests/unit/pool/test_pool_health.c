/* Unit tests for service/pool/pool_health.c: an application pool's health
 * and recycling decisions, every rule at its exact edge.
 *
 *   - the state table: parsed out of pool_health.h's comment and held
 *     against ih_pool_transition for every state and event, and the event
 *     functions against it;
 *   - rapid-fail: N-1 failures in the window stay RUNNING, N trip, N spread
 *     over the window never trip (rows of N, window, spacing), the window
 *     slides and keeps only the newest N, start failures count the same;
 *   - back-off: doubling, the cap, a cap below the base, the default base,
 *     automatic retry when it has passed, a failed probe doubling at once,
 *     the reset after a healthy period (one millisecond short, and exact),
 *     Retry-After rounding;
 *   - recycling: every trigger at threshold - 1 and threshold, 0 = never,
 *     uint64 extremes, the priority over all 256 combinations of causes,
 *     never twice for a worker being recycled;
 *   - the schedule: exactly once per passing for every minute of the day
 *     under irregular checks, midnight, gaps of a day or more, the first
 *     check, daylight saving both ways, clocks set forward and back;
 *   - ping, the old worker's deadline, counts (saturating, never negative),
 *     settings problems and a reload's window. */
#include <stdlib.h>
#include <string.h>

#include "ih_test.h"
#include "pool/pool_health.h"

#ifndef IH_SOURCE_DIR
#error "IH_SOURCE_DIR must name the source tree"
#endif

#define SEC UINT64_C(1000)
#define MIN (60 * SEC)
#define DAY_MS (1440 * MIN)

/* One health object per test (it holds a 1000-entry ring). */
static ih_pool_health H;

static ih_pool_health *pool(uint32_t max_crashes, uint64_t interval_ms, uint64_t base_ms, uint64_t max_ms)
{
  ih_pool_health_settings s = { .max_crashes = max_crashes, .interval_ms = interval_ms,
                                .backoff_base_ms = base_ms, .backoff_max_ms = max_ms };
  memset(&H, 0xA5, sizeof H); /* init must not rely on a zeroed object */
  if (!IH_CHECK(ih_pool_health_init(&H, &s)))
    ih_test_note("settings refused: %s", ih_pool_health_settings_problem(&s));
  return &H;
}

/* A pool that was started and has a worker up at `at`. */
static ih_pool_health *running_pool(uint32_t max_crashes, uint64_t interval_ms, uint64_t base_ms, uint64_t max_ms,
                                    uint64_t at)
{
  ih_pool_health *h = pool(max_crashes, interval_ms, base_ms, max_ms);
  IH_CHECK(ih_pool_health_on_start(h, at));
  IH_CHECK(ih_pool_health_on_started(h, at));
  return h;
}

static uint64_t backoff_now(const ih_pool_health *h, uint64_t now)
{
  ih_pool_health_stats st;
  ih_pool_health_stats_get(h, now, &st);
  return st.backoff_ms;
}

/* ---- 1. the state table ------------------------------------------------- */

static const char *const STATE_WORDS[IH_POOL_STATE_COUNT] = { "RUNNING", "RECYCLING", "FAILING", "STOPPED" };
static const char *const EVENT_WORDS[IH_POOL_EVENT_COUNT] = { "START",   "STOP",  "RECYCLE_BEGIN", "RECYCLE_END",
                                                              "STARTED", "CRASH", "RAPID_FAIL" };
#define REFUSED_CELL (-1)

/* Reads one word (letters and _) at *p, skipping blanks, '*' and '+'
 * markers; returns its length (0 at the end of the line). */
static size_t next_word(const char **p, char *out, size_t cap)
{
  while (**p == ' ' || **p == '*' || **p == '+')
    (*p)++;
  size_t n = 0;
  while (((**p >= 'A' && **p <= 'Z') || (**p >= 'a' && **p <= 'z') || **p == '_') && n + 1 < cap)
    out[n++] = *(*p)++;
  out[n] = '\0';
  return n;
}

static int word_index(const char *w, const char *const *words, int count)
{
  for (int i = 0; i < count; i++)
    if (strcmp(w, words[i]) == 0)
      return i;
  return -2;
}

static void test_table_in_header(void)
{
  IH_TEST("the header's state table is ih_pool_transition, cell for cell");
  char *text = ih_test_read_source(IH_SOURCE_DIR, "service/pool/pool_health.h");
  if (!IH_CHECK(text != NULL))
    return;
  const char *p = strstr(text, " *   event \\ state   RUNNING     RECYCLING   FAILING     STOPPED\n");
  if (!IH_CHECK(p != NULL)) {
    free(text);
    return;
  }
  p = strchr(p, '\n') + 1;
  int cells[IH_POOL_EVENT_COUNT][IH_POOL_STATE_COUNT];
  bool seen[IH_POOL_EVENT_COUNT] = { false };
  int rows = 0;
  while (strncmp(p, " *   ", 5) == 0 && p[5] != ' ') {
    const char *q = p + 5;
    char w[32];
    next_word(&q, w, sizeof w);
    int ev = word_index(w, EVENT_WORDS, IH_POOL_EVENT_COUNT);
    if (!IH_CHECK(ev >= 0)) {
      ih_test_note("unknown event row '%s'", w);
      break;
    }
    seen[ev] = true;
    for (int s = 0; s < IH_POOL_STATE_COUNT; s++) {
      next_word(&q, w, sizeof w);
      cells[ev][s] = strcmp(w, "same") == 0      ? s
                     : strcmp(w, "refused") == 0 ? REFUSED_CELL
                                                 : word_index(w, STATE_WORDS, IH_POOL_STATE_COUNT);
      if (cells[ev][s] == -2)
        ih_test_note("row %s: cannot read cell '%s'", EVENT_WORDS[ev], w);
    }
    rows++;
    p = strchr(p, '\n') + 1;
  }
  IH_EQ_INT(rows, IH_POOL_EVENT_COUNT);
  for (int ev = 0; ev < IH_POOL_EVENT_COUNT; ev++) {
    if (!IH_CHECK(seen[ev]))
      continue;
    for (int s = 0; s < IH_POOL_STATE_COUNT; s++) {
      enum ih_pool_state to;
      bool ok = ih_pool_transition((enum ih_pool_state)s, (enum ih_pool_event)ev, &to);
      int got = ok ? (int)to : REFUSED_CELL;
      if (!IH_EQ_INT(got, cells[ev][s]))
        ih_test_note("event %s in state %s", EVENT_WORDS[ev], STATE_WORDS[s]);
      if (!ok)
        IH_EQ_INT(to, s); /* refused leaves the state */
    }
  }
  free(text);

  IH_TEST("out-of-range states and events are refused");
  enum ih_pool_state to;
  IH_CHECK(!ih_pool_transition(IH_POOL_STATE_COUNT, IH_POOL_EV_START, &to));
  IH_EQ_INT(to, IH_POOL_STATE_COUNT);
  IH_CHECK(!ih_pool_transition(IH_POOL_RUNNING, IH_POOL_EVENT_COUNT, &to));
  IH_EQ_INT(to, IH_POOL_RUNNING);
  IH_CHECK(!ih_pool_transition((enum ih_pool_state)-1, IH_POOL_EV_STOP, &to));

  IH_TEST("names");
  IH_EQ_STR(ih_pool_state_name(IH_POOL_RUNNING), "running");
  IH_EQ_STR(ih_pool_state_name(IH_POOL_RECYCLING), "recycling");
  IH_EQ_STR(ih_pool_state_name(IH_POOL_FAILING), "failing");
  IH_EQ_STR(ih_pool_state_name(IH_POOL_STOPPED), "stopped");
  IH_EQ_STR(ih_pool_state_name(IH_POOL_STATE_COUNT), "unknown");
  static const char *const ev_names[] = { "start", "stop", "recycle_begin", "recycle_end", "started", "crash",
                                          "rapid_fail" };
  for (int ev = 0; ev < IH_POOL_EVENT_COUNT; ev++)
    IH_EQ_STR(ih_pool_event_name((enum ih_pool_event)ev), ev_names[ev]);
  IH_EQ_STR(ih_pool_event_name(IH_POOL_EVENT_COUNT), "unknown");
}

/* Puts a fresh pool (N = 1, so one crash trips) into `state` at time 0. */
static ih_pool_health *pool_in(enum ih_pool_state state)
{
  ih_pool_health *h = pool(1, 1000, 0, 10 * 60 * SEC);
  if (state == IH_POOL_STOPPED)
    return h;
  ih_pool_health_on_start(h, 0);
  ih_pool_health_on_started(h, 0);
  if (state == IH_POOL_RECYCLING)
    ih_pool_health_on_recycle_begin(h, IH_RECYCLE_COMMAND, 0);
  if (state == IH_POOL_FAILING)
    ih_pool_health_on_crash(h, 0);
  IH_EQ_INT(ih_pool_health_state(h), state);
  return h;
}

static void test_event_functions_follow_table(void)
{
  IH_TEST("each event function moves the state as the table says, and says when refused");
  for (int s = 0; s < IH_POOL_STATE_COUNT; s++) {
    for (int ev = 0; ev < IH_POOL_EVENT_COUNT; ev++) {
      enum ih_pool_state want;
      bool accepted = ih_pool_transition((enum ih_pool_state)s, (enum ih_pool_event)ev, &want);
      ih_pool_health *h = pool_in((enum ih_pool_state)s);
      /* a time during FAILING's back-off for CRASH, after it for RAPID_FAIL */
      uint64_t t = 1;
      bool got_accepted = true;
      switch ((enum ih_pool_event)ev) {
      case IH_POOL_EV_START: got_accepted = ih_pool_health_on_start(h, t); break;
      case IH_POOL_EV_STOP: got_accepted = ih_pool_health_on_stop(h, t); break;
      case IH_POOL_EV_RECYCLE_BEGIN: got_accepted = ih_pool_health_on_recycle_begin(h, IH_RECYCLE_TIME, t); break;
      case IH_POOL_EV_RECYCLE_END: got_accepted = ih_pool_health_on_recycle_end(h, t); break;
      case IH_POOL_EV_STARTED: got_accepted = ih_pool_health_on_started(h, t); break;
      case IH_POOL_EV_CRASH:
        /* a crash that trips nothing: protection off, or FAILING's back-off not over */
        h->settings.max_crashes = 0;
        h->crash_count = h->crash_next = 0;
        ih_pool_health_on_crash(h, t);
        break;
      case IH_POOL_EV_RAPID_FAIL:
        /* N = 1 trips on one crash; in FAILING, after the back-off (the probe) */
        ih_pool_health_on_crash(h, s == IH_POOL_FAILING ? 10 * SEC : t);
        got_accepted = accepted; /* on_crash returns the state, checked below */
        break;
      case IH_POOL_EVENT_COUNT: break;
      }
      if (!IH_EQ_INT(got_accepted, accepted) || !IH_EQ_INT(ih_pool_health_state(h), want))
        ih_test_note("event %s in state %s", EVENT_WORDS[ev], STATE_WORDS[s]);
    }
  }
}

/* ---- 2. rapid-fail ---------------------------------------------------------- */

typedef struct window_row {
  uint32_t n;           /* max_crashes */
  uint64_t interval_ms;
  uint64_t spacing_ms;  /* between consecutive crashes */
  int crashes;          /* how many to send */
  int trips_at;         /* the crash (1-based) that makes it FAILING; 0 = never */
} window_row;

static const window_row window_rows[] = {
  /*  n     interval  spacing crashes trips_at */
  { 5,    1000,     249,    100,    5 },    /* 5 within 996 ms */
  { 5,    1000,     250,    100,    0 },    /* 5 span exactly 1000 ms: not within */
  { 5,    1000,     0,      100,    5 },    /* all at once */
  { 5,    1000,     1000,   100,    0 },
  { 2,    1000,     999,    100,    2 },
  { 2,    1000,     1000,   100,    0 },
  { 1,    1,        5000,   10,     1 },    /* one crash trips */
  { 0,    0,        0,      10000,  0 },    /* protection off */
  { 1000, 1000000,  1000,   3000,   1000 }, /* 1000 within 999 s */
  { 1000, 1000000,  1002,   3000,   0 },    /* 1000 over 1000.998 s */
  { 3,    UINT64_C(86400000), 43200000, 10, 0 }, /* 3 over exactly a day */
  { 3,    UINT64_C(86400000), 43199999, 10, 3 },
};

static void test_rapid_fail_window_rows(void)
{
  IH_TEST("rapid-fail window: N-1 in the window stay RUNNING, N trip, spread wider never");
  for (size_t r = 0; r < sizeof window_rows / sizeof window_rows[0]; r++) {
    const window_row *w = &window_rows[r];
    ih_pool_health *h = running_pool(w->n, w->interval_ms, 0, 0, 0);
    int tripped = 0;
    uint64_t t = 5000;
    for (int i = 1; i <= w->crashes && !tripped; i++, t += w->spacing_ms) {
      /* every other one a start failure: they count the same */
      enum ih_pool_state st = i % 2 ? ih_pool_health_on_crash(h, t) : ih_pool_health_on_start_failed(h, t);
      if (st == IH_POOL_FAILING)
        tripped = i;
      else
        IH_EQ_INT(st, IH_POOL_RUNNING);
    }
    if (!IH_EQ_INT(tripped, w->trips_at))
      ih_test_note("row %zu: n=%u interval=%llu spacing=%llu", r, w->n, (unsigned long long)w->interval_ms,
                   (unsigned long long)w->spacing_ms);
  }
}

static void test_rapid_fail_sliding(void)
{
  IH_TEST("the window slides: exactly interval_ms after the oldest is outside, 1 ms less inside");
  ih_pool_health *h = running_pool(5, 1000, 0, 0, 0);
  static const uint64_t first4[] = { 0, 1, 2, 3 };
  for (int i = 0; i < 4; i++)
    IH_EQ_INT(ih_pool_health_on_crash(h, first4[i]), IH_POOL_RUNNING);
  IH_EQ_INT(ih_pool_health_on_crash(h, 1000), IH_POOL_RUNNING); /* 0 has left (1000 - 1000 = 0 is not < 1000) */
  IH_EQ_INT(ih_pool_health_on_crash(h, 1000), IH_POOL_FAILING); /* 1,2,3,1000,1000 */

  h = running_pool(5, 1000, 0, 0, 0);
  for (int i = 0; i < 4; i++)
    ih_pool_health_on_crash(h, first4[i]);
  IH_EQ_INT(ih_pool_health_on_crash(h, 999), IH_POOL_FAILING);

  IH_TEST("only the newest N count: old crashes far apart, then N quick ones");
  h = running_pool(5, 1000, 0, 0, 0);
  IH_EQ_INT(ih_pool_health_on_crash(h, 0), IH_POOL_RUNNING);
  IH_EQ_INT(ih_pool_health_on_crash(h, 1001), IH_POOL_RUNNING);
  IH_EQ_INT(ih_pool_health_on_crash(h, 1002), IH_POOL_RUNNING);
  IH_EQ_INT(ih_pool_health_on_crash(h, 1003), IH_POOL_RUNNING);
  IH_EQ_INT(ih_pool_health_on_crash(h, 1004), IH_POOL_RUNNING); /* 0 is outside: 4 in the window */
  IH_EQ_INT(ih_pool_health_on_crash(h, 1005), IH_POOL_FAILING);
  ih_pool_health_stats st;
  ih_pool_health_stats_get(h, 1005, &st);
  IH_EQ_INT(st.failures_in_window, 0); /* cleared by the episode */
  IH_EQ_INT(st.crashes_total, 6);

  IH_TEST("failures_in_window counts what is in (now - interval, now]");
  h = running_pool(5, 1000, 0, 0, 0);
  ih_pool_health_on_crash(h, 100);
  ih_pool_health_on_crash(h, 600);
  ih_pool_health_stats_get(h, 600, &st);
  IH_EQ_INT(st.failures_in_window, 2);
  ih_pool_health_stats_get(h, 1099, &st);
  IH_EQ_INT(st.failures_in_window, 2);
  ih_pool_health_stats_get(h, 1100, &st);
  IH_EQ_INT(st.failures_in_window, 1);
  ih_pool_health_stats_get(h, 1600, &st);
  IH_EQ_INT(st.failures_in_window, 0);

  IH_TEST("a recycling pool trips too; a stopped one only counts");
  h = running_pool(2, 1000, 0, 0, 0);
  IH_CHECK(ih_pool_health_on_recycle_begin(h, IH_RECYCLE_REQUESTS, 0));
  IH_EQ_INT(ih_pool_health_on_crash(h, 10), IH_POOL_RECYCLING);
  IH_EQ_INT(ih_pool_health_on_start_failed(h, 20), IH_POOL_FAILING);
  h = running_pool(1, 1000, 0, 0, 0);
  IH_CHECK(ih_pool_health_on_stop(h, 0));
  for (int i = 0; i < 10; i++)
    IH_EQ_INT(ih_pool_health_on_crash(h, 1), IH_POOL_STOPPED);
  ih_pool_health_stats_get(h, 1, &st);
  IH_EQ_INT(st.crashes_total, 10);
  IH_EQ_INT(st.failures_in_window, 0);
  IH_EQ_INT(st.failing_episodes_total, 0);
  IH_CHECK(!ih_pool_health_may_start(h, 1));

  IH_TEST("a clock that seems to run backwards counts as no time: inside the window");
  h = running_pool(2, 1000, 0, 0, 0);
  ih_pool_health_on_crash(h, 50000);
  IH_EQ_INT(ih_pool_health_on_crash(h, 10), IH_POOL_FAILING);
}

/* Drives a pool with N = 1 through episodes: each probe fails as it starts. */
static void test_backoff_doubling_and_cap(void)
{
  IH_TEST("back-off doubles per episode and stops at the cap; a failed probe is a new episode at once");
  ih_pool_health *h = running_pool(1, 1000, 0, 65 * SEC, 0);
  static const uint64_t want[] = { 10 * SEC, 20 * SEC, 40 * SEC, 65 * SEC, 65 * SEC, 65 * SEC };
  uint64_t t = 100;
  IH_EQ_INT(ih_pool_health_on_crash(h, t), IH_POOL_FAILING);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    IH_EQ_INT(backoff_now(h, t), want[i]);
    IH_CHECK(!ih_pool_health_may_start(h, t + want[i] - 1));
    t += want[i];
    IH_CHECK(ih_pool_health_may_start(h, t)); /* the back-off has passed: the probe */
    IH_EQ_INT(ih_pool_health_on_start_failed(h, t), IH_POOL_FAILING);
  }
  ih_pool_health_stats st;
  ih_pool_health_stats_get(h, t, &st);
  IH_EQ_INT(st.failing_episodes_total, 7);
  IH_EQ_INT(st.start_failures_total, 6);
  IH_EQ_INT(st.crashes_total, 1);

  IH_TEST("thousands of episodes: the exponent saturates, the back-off stays the cap");
  for (int i = 0; i < 5000; i++) {
    t += backoff_now(h, t);
    ih_pool_health_on_crash(h, t);
  }
  IH_EQ_INT(backoff_now(h, t), 65 * SEC);
  h->backoff_exponent = UINT32_MAX - 1;
  t += backoff_now(h, t);
  ih_pool_health_on_crash(h, t);
  t += backoff_now(h, t);
  ih_pool_health_on_crash(h, t);
  IH_EQ_INT(h->backoff_exponent, UINT32_MAX);
  IH_EQ_INT(backoff_now(h, t), 65 * SEC);

  typedef struct { uint64_t base, max; uint64_t want[5]; } bo_row;
  static const bo_row rows[] = {
    { 0, 0, { 10 * SEC, 10 * SEC, 10 * SEC, 10 * SEC, 10 * SEC } },    /* default base; no cap given: the base */
    { 0, 5 * SEC, { 10 * SEC, 10 * SEC, 10 * SEC, 10 * SEC, 10 * SEC } }, /* cap below the base */
    { 1500, 0, { 1500, 1500, 1500, 1500, 1500 } },
    { 1, 7, { 1, 2, 4, 7, 7 } },
    { 1000, 8000, { 1000, 2000, 4000, 8000, 8000 } },
    { IH_POOL_BACKOFF_LIMIT_MS, IH_POOL_BACKOFF_LIMIT_MS, { IH_POOL_BACKOFF_LIMIT_MS, IH_POOL_BACKOFF_LIMIT_MS,
      IH_POOL_BACKOFF_LIMIT_MS, IH_POOL_BACKOFF_LIMIT_MS, IH_POOL_BACKOFF_LIMIT_MS } },
  };
  IH_TEST("back-off rows: base, cap, cap below the base, default base");
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    h = running_pool(1, 1000, rows[r].base, rows[r].max, 0);
    t = 0;
    ih_pool_health_on_crash(h, t);
    for (int i = 0; i < 5; i++) {
      if (!IH_EQ_INT(backoff_now(h, t), rows[r].want[i]))
        ih_test_note("row %zu episode %d", r, i + 1);
      t += backoff_now(h, t);
      ih_pool_health_on_crash(h, t);
    }
  }

  IH_TEST("base 1 ms, cap a day: 2^26 ms, then the cap");
  h = running_pool(1, 1000, 1, IH_POOL_BACKOFF_LIMIT_MS, 0);
  t = 0;
  ih_pool_health_on_crash(h, t);
  for (int i = 0; i < 27; i++) {
    IH_EQ_INT(backoff_now(h, t), UINT64_C(1) << i);
    t += backoff_now(h, t);
    ih_pool_health_on_crash(h, t);
  }
  IH_EQ_INT(backoff_now(h, t), IH_POOL_BACKOFF_LIMIT_MS);

  IH_TEST("a back-off ending past UINT64_MAX stays at UINT64_MAX");
  h = running_pool(1, 1000, 0, 0, 0);
  ih_pool_health_on_crash(h, UINT64_MAX - 5);
  IH_CHECK(!ih_pool_health_may_start(h, UINT64_MAX - 1));
  IH_CHECK(ih_pool_health_may_start(h, UINT64_MAX));
  IH_EQ_INT(ih_pool_health_retry_after_s(h, UINT64_MAX - 5), 1);
}

static void test_automatic_retry(void)
{
  IH_TEST("after the back-off the pool may start a worker; its ready report makes it RUNNING");
  ih_pool_health *h = running_pool(3, 60 * SEC, 0, 10 * 60 * SEC, 0);
  uint64_t t = 1000;
  ih_pool_health_on_crash(h, t);
  ih_pool_health_on_crash(h, t + 1);
  IH_EQ_INT(ih_pool_health_on_crash(h, t + 2), IH_POOL_FAILING);
  uint64_t until = t + 2 + 10 * SEC;
  IH_CHECK(!ih_pool_health_may_start(h, t + 2));
  IH_CHECK(!ih_pool_health_may_start(h, until - 1));
  IH_CHECK(ih_pool_health_may_start(h, until));
  IH_CHECK(ih_pool_health_may_start(h, until + 1000000));
  IH_EQ_INT(ih_pool_health_state(h), IH_POOL_FAILING); /* until the probe is up */
  IH_CHECK(ih_pool_health_on_started(h, until + 500));
  IH_EQ_INT(ih_pool_health_state(h), IH_POOL_RUNNING);
  IH_CHECK(ih_pool_health_may_start(h, until + 500));
  IH_EQ_INT(ih_pool_health_retry_after_s(h, until + 500), 0);
  IH_EQ_INT(backoff_now(h, until + 500), 0);

  IH_TEST("the probe's crash after it came up is an ordinary crash (window cleared by the episode)");
  IH_EQ_INT(ih_pool_health_on_crash(h, until + 600), IH_POOL_RUNNING);
  IH_EQ_INT(ih_pool_health_on_crash(h, until + 700), IH_POOL_RUNNING);
  IH_EQ_INT(ih_pool_health_on_crash(h, until + 800), IH_POOL_FAILING);
  IH_EQ_INT(backoff_now(h, until + 800), 20 * SEC); /* not healthy for a minute: doubled */

  IH_TEST("a crash during the back-off (a left-over worker) is counted and changes nothing");
  h = running_pool(1, 1000, 0, 10 * 60 * SEC, 0);
  ih_pool_health_on_crash(h, 0);
  IH_EQ_INT(ih_pool_health_on_crash(h, 10 * SEC - 1), IH_POOL_FAILING);
  ih_pool_health_stats st;
  ih_pool_health_stats_get(h, 10 * SEC - 1, &st);
  IH_EQ_INT(st.failing_episodes_total, 1);
  IH_EQ_INT(st.crashes_total, 2);
  IH_EQ_INT(st.backoff_remaining_ms, 1);
  IH_CHECK(ih_pool_health_may_start(h, 10 * SEC));
  IH_EQ_INT(ih_pool_health_on_crash(h, 10 * SEC), IH_POOL_FAILING); /* now it is the probe */
  ih_pool_health_stats_get(h, 10 * SEC, &st);
  IH_EQ_INT(st.failing_episodes_total, 2);
  IH_EQ_INT(st.backoff_ms, 20 * SEC);

  IH_TEST("an operator's start ends a back-off at once and starts fresh");
  IH_CHECK(ih_pool_health_on_start(h, 10 * SEC + 1));
  IH_EQ_INT(ih_pool_health_state(h), IH_POOL_RUNNING);
  IH_CHECK(ih_pool_health_may_start(h, 10 * SEC + 1));
  IH_EQ_INT(ih_pool_health_next_backoff_ms(h, 10 * SEC + 1), 10 * SEC);
  IH_EQ_INT(ih_pool_health_on_crash(h, 10 * SEC + 2), IH_POOL_FAILING);
  IH_EQ_INT(backoff_now(h, 10 * SEC + 2), 10 * SEC);

  IH_TEST("stop during a back-off, start again: fresh");
  IH_CHECK(ih_pool_health_on_stop(h, 10 * SEC + 3));
  IH_CHECK(!ih_pool_health_may_start(h, 100 * SEC));
  IH_EQ_INT(ih_pool_health_retry_after_s(h, 10 * SEC + 3), 0);
  IH_CHECK(!ih_pool_health_on_started(h, 10 * SEC + 4)); /* a worker that came up after the stop */
  IH_CHECK(ih_pool_health_on_start(h, 10 * SEC + 5));
  IH_EQ_INT(ih_pool_health_next_backoff_ms(h, 10 * SEC + 5), 10 * SEC);

  IH_TEST("STARTED during the back-off (the manager started one anyway) ends the episode");
  h = running_pool(1, 1000, 0, 0, 0);
  ih_pool_health_on_crash(h, 0);
  IH_CHECK(ih_pool_health_on_started(h, 5));
  IH_EQ_INT(ih_pool_health_state(h), IH_POOL_RUNNING);
}

static void test_healthy_reset(void)
{
  IH_TEST("healthy for interval_ms after the probe came up: the back-off returns to the base");
  /* one millisecond short: still doubled */
  ih_pool_health *h = running_pool(1, 1000, 0, 0x100000, 0);
  ih_pool_health_on_crash(h, 0);        /* episode 1: 10 s */
  IH_CHECK(ih_pool_health_on_started(h, 10 * SEC));
  IH_EQ_INT(ih_pool_health_next_backoff_ms(h, 10 * SEC), 20 * SEC);
  IH_EQ_INT(ih_pool_health_next_backoff_ms(h, 10 * SEC + 999), 20 * SEC);
  IH_EQ_INT(ih_pool_health_next_backoff_ms(h, 10 * SEC + 1000), 10 * SEC);
  IH_EQ_INT(ih_pool_health_on_crash(h, 10 * SEC + 999), IH_POOL_FAILING);
  IH_EQ_INT(backoff_now(h, 10 * SEC + 999), 20 * SEC);

  /* exactly interval_ms: back to the base */
  h = running_pool(1, 1000, 0, 0x100000, 0);
  ih_pool_health_on_crash(h, 0);
  ih_pool_health_on_started(h, 10 * SEC);
  IH_EQ_INT(ih_pool_health_on_crash(h, 11 * SEC), IH_POOL_FAILING);
  IH_EQ_INT(backoff_now(h, 11 * SEC), 10 * SEC);

  IH_TEST("a failure after the probe restarts the healthy period");
  h = running_pool(2, 1000, 0, 0x100000, 0);
  ih_pool_health_on_crash(h, 0);
  IH_EQ_INT(ih_pool_health_on_crash(h, 1), IH_POOL_FAILING); /* 10 s */
  ih_pool_health_on_started(h, 10001);
  IH_EQ_INT(ih_pool_health_on_crash(h, 10500), IH_POOL_RUNNING); /* not healthy yet */
  IH_EQ_INT(ih_pool_health_next_backoff_ms(h, 11001), 20 * SEC); /* 1000 after the probe, 501 after the crash */
  IH_EQ_INT(ih_pool_health_next_backoff_ms(h, 11500), 10 * SEC);
  IH_EQ_INT(ih_pool_health_on_crash(h, 11499), IH_POOL_FAILING); /* 10500 and 11499: within 1000 */
  IH_EQ_INT(backoff_now(h, 11499), 20 * SEC);

  IH_TEST("no reset while FAILING, however long");
  IH_EQ_INT(ih_pool_health_next_backoff_ms(h, 11499 + 1000000), 40 * SEC);

  IH_TEST("a recycling pool is healthy too");
  h = running_pool(1, 1000, 0, 0x100000, 0);
  ih_pool_health_on_crash(h, 0);
  ih_pool_health_on_started(h, 10 * SEC);
  ih_pool_health_on_recycle_begin(h, IH_RECYCLE_TIME, 10 * SEC + 1);
  IH_EQ_INT(ih_pool_health_next_backoff_ms(h, 11 * SEC), 10 * SEC);
}

static void test_retry_after(void)
{
  IH_TEST("Retry-After: the rest of the back-off in seconds rounded up, at least 1; 0 when not failing");
  typedef struct { uint64_t after_ms; uint32_t want_s; } ra_row;
  static const ra_row rows[] = {
    { 0, 10 }, { 1, 10 }, { 999, 10 }, { 1000, 9 }, { 1001, 9 }, { 8999, 2 }, { 9000, 1 },
    { 9999, 1 }, { 10000, 1 }, { 10001, 1 }, { UINT64_C(1) << 40, 1 },
  };
  ih_pool_health *h = running_pool(1, 1000, 0, 0, 0);
  uint64_t t = 7777;
  ih_pool_health_on_crash(h, t);
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    if (!IH_EQ_INT(ih_pool_health_retry_after_s(h, t + rows[i].after_ms), rows[i].want_s))
      ih_test_note("%llu ms into the back-off", (unsigned long long)rows[i].after_ms);

  h = running_pool(1, 1000, 1500, 0, 0);
  ih_pool_health_on_crash(h, 0);
  IH_EQ_INT(ih_pool_health_retry_after_s(h, 0), 2);
  IH_EQ_INT(ih_pool_health_retry_after_s(h, 500), 1);
  h = running_pool(1, 1000, 1, 0, 0);
  ih_pool_health_on_crash(h, 0);
  IH_EQ_INT(ih_pool_health_retry_after_s(h, 0), 1);
  h = running_pool(1, 1000, IH_POOL_BACKOFF_LIMIT_MS, 0, 0);
  ih_pool_health_on_crash(h, 0);
  IH_EQ_INT(ih_pool_health_retry_after_s(h, 0), 86400);

  for (int s = 0; s < IH_POOL_STATE_COUNT; s++)
    if (s != IH_POOL_FAILING)
      IH_EQ_INT(ih_pool_health_retry_after_s(pool_in((enum ih_pool_state)s), 1), 0);
}

/* ---- 3. recycling ------------------------------------------------------------ */

typedef struct trigger_row {
  const char *what;
  ih_recycle_settings s; /* no schedule */
  ih_worker_facts w;
  uint64_t now_ms;
  enum ih_recycle_reason want;
} trigger_row;

#define U64MAX UINT64_MAX
static const trigger_row trigger_rows[] = {
  { "nothing set, nothing due", { 0 }, { .requests_served = U64MAX, .private_bytes = U64MAX }, U64MAX, IH_RECYCLE_NONE },
  { "requests: one short", { .requests = 100 }, { .requests_served = 99 }, 0, IH_RECYCLE_NONE },
  { "requests: the limit", { .requests = 100 }, { .requests_served = 100 }, 0, IH_RECYCLE_REQUESTS },
  { "requests: past it", { .requests = 100 }, { .requests_served = U64MAX }, 0, IH_RECYCLE_REQUESTS },
  { "requests: limit 1, none yet", { .requests = 1 }, { .requests_served = 0 }, 0, IH_RECYCLE_NONE },
  { "requests: limit 1", { .requests = 1 }, { .requests_served = 1 }, 0, IH_RECYCLE_REQUESTS },
  { "requests: max limit, one short", { .requests = U64MAX }, { .requests_served = U64MAX - 1 }, 0, IH_RECYCLE_NONE },
  { "requests: max limit", { .requests = U64MAX }, { .requests_served = U64MAX }, 0, IH_RECYCLE_REQUESTS },
  { "time: one ms short", { .time_ms = 1000 }, { .started_ms = 5000 }, 5999, IH_RECYCLE_NONE },
  { "time: the limit", { .time_ms = 1000 }, { .started_ms = 5000 }, 6000, IH_RECYCLE_TIME },
  { "time: started in the future", { .time_ms = 1000 }, { .started_ms = 9000 }, 6000, IH_RECYCLE_NONE },
  { "time: started + limit past UINT64_MAX", { .time_ms = U64MAX }, { .started_ms = 10 }, U64MAX, IH_RECYCLE_NONE },
  { "time: the whole range", { .time_ms = U64MAX }, { .started_ms = 0 }, U64MAX, IH_RECYCLE_TIME },
  { "time: 0 is never", { .time_ms = 0 }, { .started_ms = 0 }, U64MAX, IH_RECYCLE_NONE },
  { "memory: at the limit", { .private_memory_bytes = 1000 }, { .private_bytes = 1000 }, 0, IH_RECYCLE_NONE },
  { "memory: above it", { .private_memory_bytes = 1000 }, { .private_bytes = 1001 }, 0, IH_RECYCLE_MEMORY },
  { "memory: max limit", { .private_memory_bytes = U64MAX }, { .private_bytes = U64MAX }, 0, IH_RECYCLE_NONE },
  { "memory: 0 is never", { .private_memory_bytes = 0 }, { .private_bytes = U64MAX }, 0, IH_RECYCLE_NONE },
  { "unhealthy", { 0 }, { .unhealthy_reported = true }, 0, IH_RECYCLE_UNHEALTHY },
  { "command", { 0 }, { .command = true }, 0, IH_RECYCLE_COMMAND },
  { "config", { 0 }, { .config_changed = true }, 0, IH_RECYCLE_CONFIG_CHANGE },
  { "dll", { 0 }, { .dll_changed = true }, 0, IH_RECYCLE_DLL_CHANGED },
  { "being recycled: never again", { .requests = 1, .time_ms = 1, .private_memory_bytes = 1 },
    { .requests_served = 9, .private_bytes = 9, .unhealthy_reported = true, .command = true, .config_changed = true,
      .dll_changed = true, .being_recycled = true }, 99, IH_RECYCLE_NONE },
};

static void test_recycle_triggers(void)
{
  IH_TEST("every recycle trigger at its exact threshold; 0 is never");
  for (size_t i = 0; i < sizeof trigger_rows / sizeof trigger_rows[0]; i++) {
    const trigger_row *r = &trigger_rows[i];
    enum ih_recycle_reason got = ih_recycle_due(&r->s, &r->w, NULL, r->now_ms, 0);
    if (!IH_EQ_INT(got, r->want))
      ih_test_note("row '%s': got %s", r->what, ih_recycle_reason_name(got));
  }

  IH_TEST("reason names");
  static const char *const names[IH_RECYCLE_REASON_COUNT] = { "none", "requests", "time", "schedule", "private_memory",
                                                             "unhealthy", "command", "config", "dll_changed" };
  for (int r = 0; r < IH_RECYCLE_REASON_COUNT; r++)
    IH_EQ_STR(ih_recycle_reason_name((enum ih_recycle_reason)r), names[r]);
  IH_EQ_STR(ih_recycle_reason_name(IH_RECYCLE_REASON_COUNT), "unknown");
}

/* The documented order, first wins. */
static const enum ih_recycle_reason PRIORITY[] = {
  IH_RECYCLE_COMMAND, IH_RECYCLE_CONFIG_CHANGE, IH_RECYCLE_DLL_CHANGED, IH_RECYCLE_UNHEALTHY,
  IH_RECYCLE_MEMORY,  IH_RECYCLE_REQUESTS,      IH_RECYCLE_TIME,        IH_RECYCLE_SCHEDULE,
};
enum { CAUSES = sizeof PRIORITY / sizeof PRIORITY[0] };

static void test_recycle_priority(void)
{
  IH_TEST("priority: all 256 combinations of causes give the first in the documented order");
  static const uint16_t at_101[] = { 101 };
  for (unsigned mask = 0; mask < (1u << CAUSES); mask++) {
    for (int recycling = 0; recycling < 2; recycling++) {
      bool has[IH_RECYCLE_REASON_COUNT] = { false };
      for (int i = 0; i < CAUSES; i++)
        has[PRIORITY[i]] = mask & (1u << i);
      ih_recycle_settings s = { .requests = 50, .time_ms = 60 * SEC, .private_memory_bytes = 1 << 20,
                                .schedule = at_101, .schedule_count = 1 };
      ih_worker_facts w = {
        .started_ms = has[IH_RECYCLE_TIME] ? 0 : 30 * SEC,
        .requests_served = has[IH_RECYCLE_REQUESTS] ? 50 : 49,
        .private_bytes = has[IH_RECYCLE_MEMORY] ? (1 << 20) + 1 : 1 << 20,
        .unhealthy_reported = has[IH_RECYCLE_UNHEALTHY],
        .command = has[IH_RECYCLE_COMMAND],
        .config_changed = has[IH_RECYCLE_CONFIG_CHANGE],
        .dll_changed = has[IH_RECYCLE_DLL_CHANGED],
        .being_recycled = recycling,
      };
      /* the schedule: a first check at 100 (time 0), this one a minute later at 101, or still at 100 */
      ih_recycle_clock c;
      ih_recycle_clock_init(&c);
      ih_recycle_schedule_fires(&c, at_101, 1, 0, 100);
      unsigned minute = has[IH_RECYCLE_SCHEDULE] ? 101 : 100;
      enum ih_recycle_reason want = IH_RECYCLE_NONE;
      for (int i = 0; i < CAUSES && !recycling; i++)
        if (has[PRIORITY[i]]) {
          want = PRIORITY[i];
          break;
        }
      enum ih_recycle_reason got = ih_recycle_due(&s, &w, &c, 60 * SEC, minute);
      if (!IH_EQ_INT(got, want))
        ih_test_note("causes mask 0x%02x, being recycled %d: got %s", mask, recycling, ih_recycle_reason_name(got));
      /* whatever the answer, the scheduled time is used up */
      IH_EQ_INT(c.last_minute, minute);
      IH_CHECK(!ih_recycle_schedule_fires(&c, at_101, 1, 60 * SEC + 1, minute));
    }
  }
}

/* ---- the schedule ------------------------------------------------------------ */

static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
  rng_state = rng_state * 1103515245u + 12345u;
  return rng_state >> 8;
}

/* Whether a minute m with m % 1440 == s lies in (from, to], absolute minutes. */
static bool passes_in(int64_t from, int64_t to, unsigned s)
{
  /* the first such m after from */
  int64_t m = from + 1 + (((int64_t)s - (from + 1)) % 1440 + 1440) % 1440;
  return m <= to;
}

static void test_schedule_every_minute_irregular(void)
{
  IH_TEST("every minute of the day fires exactly once per passing under irregular checks (4 days each)");
  int mismatches = 0;
  long fires = 0, passings = 0;
  for (unsigned s = 0; s < 1440; s++) {
    uint16_t sched[] = { (uint16_t)s };
    ih_recycle_clock c;
    ih_recycle_clock_init(&c);
    /* a local clock in step with the monotonic one, midnight at an arbitrary offset, seconds resolution */
    uint64_t boot_ms = (uint64_t)(rng() % 100000) * SEC;
    int64_t offset_min = rng() % 1440;
    int64_t t_s = rng() % 86400;
    int64_t prev_abs = -1;
    while (t_s < 4 * 86400) {
      int64_t abs_min = offset_min + t_s / 60;
      unsigned local = (unsigned)(abs_min % 1440);
      bool got = ih_recycle_schedule_fires(&c, sched, 1, boot_ms + (uint64_t)t_s * SEC, local);
      bool want = prev_abs >= 0 && passes_in(prev_abs, abs_min, s);
      fires += got;
      passings += want;
      if (got != want && mismatches++ < 5)
        ih_test_note("schedule %u: fired %d at local %u (abs %lld, previous %lld)", s, got, local,
                     (long long)abs_min, (long long)prev_abs);
      prev_abs = abs_min;
      /* gaps: often the same minute, sometimes seconds, up to three hours */
      uint32_t kind = rng() % 4;
      t_s += kind == 0 ? rng() % 30 : kind == 1 ? rng() % 600 : (int64_t)(rng() % 10800);
    }
  }
  IH_EQ_INT(mismatches, 0);
  IH_EQ_INT(fires, passings);
  IH_CHECK(passings > 1440 * 3); /* each minute passed at least three times */
}

static bool fires(ih_recycle_clock *c, const uint16_t *sched, size_t n, uint64_t now_ms, unsigned local)
{
  return ih_recycle_schedule_fires(c, sched, n, now_ms, local);
}

static void test_schedule_edges(void)
{
  ih_recycle_clock c;
  static const uint16_t at_150[] = { 150 };

  IH_TEST("schedule: the first check never fires, not even in the scheduled minute");
  ih_recycle_clock_init(&c);
  IH_CHECK(!fires(&c, at_150, 1, 0, 150));
  IH_CHECK(!fires(&c, at_150, 1, 30 * SEC, 150)); /* same minute again */
  IH_CHECK(!fires(&c, at_150, 1, 60 * SEC, 151));
  IH_CHECK(!fires(&c, at_150, 1, 1439 * MIN, 149));
  IH_CHECK(fires(&c, at_150, 1, 1440 * MIN, 150)); /* the next day */
  IH_CHECK(!fires(&c, at_150, 1, 1440 * MIN + 59 * SEC, 150));

  IH_TEST("schedule: times already past at the first check wait for the next day");
  ih_recycle_clock_init(&c);
  IH_CHECK(!fires(&c, at_150, 1, 0, 600));
  IH_CHECK(!fires(&c, at_150, 1, 839 * MIN, 1439));
  IH_CHECK(!fires(&c, at_150, 1, 840 * MIN, 0));
  IH_CHECK(!fires(&c, at_150, 1, 989 * MIN, 149));
  IH_CHECK(fires(&c, at_150, 1, 990 * MIN, 150));

  IH_TEST("schedule: a check that skips the scheduled minute fires once");
  ih_recycle_clock_init(&c);
  IH_CHECK(!fires(&c, at_150, 1, 0, 100));
  IH_CHECK(fires(&c, at_150, 1, 100 * MIN, 200));
  IH_CHECK(!fires(&c, at_150, 1, 200 * MIN, 300));

  IH_TEST("schedule: midnight, at it and across it");
  static const uint16_t at_0[] = { 0 }, at_1439[] = { 1439 };
  ih_recycle_clock_init(&c);
  IH_CHECK(!fires(&c, at_0, 1, 0, 1439));
  IH_CHECK(fires(&c, at_0, 1, MIN, 0));
  IH_CHECK(!fires(&c, at_0, 1, 2 * MIN, 1));
  ih_recycle_clock_init(&c);
  IH_CHECK(!fires(&c, at_1439, 1, 0, 1438));
  IH_CHECK(fires(&c, at_1439, 1, 3 * MIN, 1)); /* 1439 skipped across midnight */
  IH_CHECK(!fires(&c, at_1439, 1, 4 * MIN, 2));
  ih_recycle_clock_init(&c);
  IH_CHECK(!fires(&c, at_0, 1, 0, 1000));
  IH_CHECK(fires(&c, at_0, 1, 500 * MIN, 60)); /* 1000 -> 60 across midnight */

  IH_TEST("schedule: a gap of 1439 minutes does not reach the first check's minute again; 1440 does");
  static const uint16_t at_100[] = { 100 };
  ih_recycle_clock_init(&c);
  IH_CHECK(!fires(&c, at_100, 1, 0, 100));
  IH_CHECK(!fires(&c, at_100, 1, 1439 * MIN, 99));
  ih_recycle_clock_init(&c);
  IH_CHECK(!fires(&c, at_100, 1, 0, 100));
  IH_CHECK(fires(&c, at_100, 1, DAY_MS, 100));
  IH_CHECK(!fires(&c, at_100, 1, DAY_MS + 1, 100));

  IH_TEST("schedule: a day or more between checks fires once, whatever the minutes say");
  ih_recycle_clock_init(&c);
  IH_CHECK(!fires(&c, at_150, 1, 0, 100));
  IH_CHECK(fires(&c, at_150, 1, 3 * DAY_MS + 17 * MIN, 117));
  IH_CHECK(!fires(&c, at_150, 1, 3 * DAY_MS + 18 * MIN, 118));
  IH_CHECK(!fires(&c, NULL, 0, 9 * DAY_MS, 118)); /* no schedule: nothing */

  IH_TEST("schedule: several times in one span are one recycle; duplicates harmless");
  static const uint16_t three[] = { 150, 160, 160, 170 };
  ih_recycle_clock_init(&c);
  IH_CHECK(!fires(&c, three, 4, 0, 100));
  IH_CHECK(fires(&c, three, 4, 100 * MIN, 200));
  IH_CHECK(!fires(&c, three, 4, 101 * MIN, 201));

  IH_TEST("schedule: a local minute of 1440 or more is ignored and the clock does not move");
  ih_recycle_clock_init(&c);
  IH_CHECK(!fires(&c, at_150, 1, 0, 1440)); /* not even the first check */
  IH_CHECK(!c.checked);
  IH_CHECK(!fires(&c, at_150, 1, 0, 100));
  ih_recycle_clock before = c;
  IH_CHECK(!fires(&c, at_150, 1, 100 * MIN, 5000));
  IH_CHECK(!fires(&c, at_150, 1, 100 * MIN, UINT32_MAX));
  IH_CHECK(memcmp(&before, &c, sizeof c) == 0);
  IH_CHECK(fires(&c, at_150, 1, 100 * MIN, 200));

  IH_TEST("schedule: a monotonic clock that stands still or goes back");
  ih_recycle_clock_init(&c);
  IH_CHECK(!fires(&c, at_150, 1, 5 * MIN, 149));
  IH_CHECK(fires(&c, at_150, 1, 5 * MIN, 150));
  IH_CHECK(!fires(&c, at_150, 1, 0, 151));
}

/* Runs a day of checks once a minute over a local clock given as a table of
 * segments; counts the fires per schedule. */
typedef struct seg { unsigned from, to; } seg; /* local minutes from..to inclusive, one per real minute */

static int count_fires(const seg *segs, size_t nsegs, const uint16_t *sched, size_t n)
{
  ih_recycle_clock c;
  ih_recycle_clock_init(&c);
  uint64_t t = 1000; /* monotonic ms */
  int fired = 0;
  for (size_t i = 0; i < nsegs; i++)
    for (unsigned m = segs[i].from; m <= segs[i].to; m++, t += MIN)
      fired += ih_recycle_schedule_fires(&c, sched, n, t, m % 1440);
  return fired;
}

static void test_schedule_clock_changes(void)
{
  IH_TEST("daylight saving starts (02:00 -> 03:00): a time in the skipped hour fires once");
  static const seg spring[] = { { 60, 119 }, { 180, 1440 + 59 } }; /* 01:00..01:59, 03:00.. next 00:59 */
  for (unsigned s = 0; s < 1440; s++) {
    uint16_t sched[] = { (uint16_t)s };
    int want = s == 60 ? 0 : 1; /* 01:00 is the first check's minute; it comes back only after the end */
    if (!IH_EQ_INT(count_fires(spring, 2, sched, 1), want))
      ih_test_note("scheduled minute %u", s);
  }

  IH_TEST("daylight saving ends (03:00 -> 02:00): the repeated hour does not fire twice");
  static const seg autumn[] = { { 60, 179 }, { 120, 1440 + 59 } }; /* 01:00..02:59, 02:00..02:59 again, .. next 00:59 */
  for (unsigned s = 0; s < 1440; s++) {
    uint16_t sched[] = { (uint16_t)s };
    int want = s == 60 ? 0 : 1;
    if (!IH_EQ_INT(count_fires(autumn, 2, sched, 1), want))
      ih_test_note("scheduled minute %u", s);
  }

  IH_TEST("an operator sets the clock 5 hours forward: the skipped times fire once");
  static const seg fwd[] = { { 600, 700 }, { 1001, 1440 + 599 } };
  for (unsigned s = 0; s < 1440; s++) {
    uint16_t sched[] = { (uint16_t)s };
    int want = s == 600 ? 0 : 1;
    if (!IH_EQ_INT(count_fires(fwd, 2, sched, 1), want))
      ih_test_note("scheduled minute %u", s);
  }

  IH_TEST("an operator sets the clock 5 hours back: nothing fires again until it is past the latest minute");
  static const seg back[] = { { 600, 1000 }, { 700, 1440 + 599 } };
  for (unsigned s = 0; s < 1440; s++) {
    uint16_t sched[] = { (uint16_t)s };
    int want = s == 600 ? 0 : 1;
    if (!IH_EQ_INT(count_fires(back, 2, sched, 1), want))
      ih_test_note("scheduled minute %u", s);
  }

  IH_TEST("the clock set back twice in a row keeps the latest minute seen");
  static const seg twice[] = { { 600, 1000 }, { 800, 900 }, { 700, 1440 + 599 } };
  static const uint16_t at_950[] = { 950 }, at_850[] = { 850 }, at_1001[] = { 1001 };
  IH_EQ_INT(count_fires(twice, 3, at_950, 1), 1);
  IH_EQ_INT(count_fires(twice, 3, at_850, 1), 1);
  IH_EQ_INT(count_fires(twice, 3, at_1001, 1), 1);
}

static void test_recycle_due_with_schedule(void)
{
  IH_TEST("ih_recycle_due: SCHEDULE when only the schedule holds; the clock is per pool and moves on");
  static const uint16_t at_180[] = { 180 };
  ih_recycle_settings s = { .schedule = at_180, .schedule_count = 1 };
  ih_worker_facts w = { .started_ms = 0 };
  ih_recycle_clock c;
  ih_recycle_clock_init(&c);
  IH_EQ_INT(ih_recycle_due(&s, &w, &c, 0, 170), IH_RECYCLE_NONE);
  IH_EQ_INT(ih_recycle_due(&s, &w, &c, 9 * MIN, 179), IH_RECYCLE_NONE);
  IH_EQ_INT(ih_recycle_due(&s, &w, &c, 10 * MIN, 180), IH_RECYCLE_SCHEDULE);
  IH_EQ_INT(ih_recycle_due(&s, &w, &c, 10 * MIN + 30 * SEC, 180), IH_RECYCLE_NONE);
  IH_EQ_INT(ih_recycle_due(&s, &w, &c, 11 * MIN, 181), IH_RECYCLE_NONE);
  IH_EQ_INT(ih_recycle_due(&s, &w, NULL, 11 * MIN, 181), IH_RECYCLE_NONE); /* no clock: no schedule */

  IH_TEST("recycle settings problems");
  IH_CHECK(ih_recycle_settings_problem(&s) == NULL);
  static const uint16_t bad[] = { 10, 1440 };
  ih_recycle_settings sb = { .schedule = bad, .schedule_count = 2 };
  IH_CHECK(ih_recycle_settings_problem(&sb) != NULL);
  sb.schedule_count = 1;
  IH_CHECK(ih_recycle_settings_problem(&sb) == NULL);
  ih_recycle_settings sn = { .schedule = NULL, .schedule_count = 1 };
  IH_CHECK(ih_recycle_settings_problem(&sn) != NULL);
  ih_recycle_settings none = { 0 };
  IH_CHECK(ih_recycle_settings_problem(&none) == NULL);
}

/* ---- 4. ping -------------------------------------------------------------------- */

static void test_ping(void)
{
  IH_TEST("ping: SEND after the interval, WAIT while answered or early, TIMED_OUT at the timeout");
  typedef struct {
    const char *what;
    uint64_t interval, timeout, sent, pong, now;
    enum ih_ping_action want;
  } ping_row;
  static const ping_row rows[] = {
    { "off", 0, 0, 0, 0, U64MAX, IH_PING_WAIT },
    { "off, even with one outstanding forever", 0, 1, 5, 0, U64MAX, IH_PING_WAIT },
    { "ready, interval not yet", 30000, 90000, 1000, 1000, 30999, IH_PING_WAIT },
    { "ready, interval passed", 30000, 90000, 1000, 1000, 31000, IH_PING_SEND },
    { "answered, interval not yet", 30000, 90000, 31000, 31500, 60999, IH_PING_WAIT },
    { "answered, interval from the send", 30000, 90000, 31000, 31500, 61000, IH_PING_SEND },
    { "answered late: the next at once", 30000, 90000, 31000, 80000, 80000, IH_PING_SEND },
    { "outstanding, before the timeout", 30000, 90000, 31000, 1000, 120999, IH_PING_WAIT },
    { "outstanding, at the timeout", 30000, 90000, 31000, 1000, 121000, IH_PING_TIMED_OUT },
    { "outstanding, no second ping past the interval", 30000, 90000, 31000, 1000, 61000, IH_PING_WAIT },
    { "outstanding, timeout shorter than the interval", 30000, 5000, 31000, 1000, 36000, IH_PING_TIMED_OUT },
    { "outstanding, now before the send", 30000, 90000, 31000, 1000, 10, IH_PING_WAIT },
    { "answered in the same ms", 30000, 90000, 31000, 31000, 60999, IH_PING_WAIT },
    { "extremes: outstanding since 0, timeout max", 1, U64MAX, 1, 0, U64MAX, IH_PING_WAIT },
    { "extremes: sent at max - 1", 1, 1, U64MAX - 1, 0, U64MAX, IH_PING_TIMED_OUT },
    { "extremes: interval max", U64MAX, 1, 0, 0, U64MAX, IH_PING_SEND },
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const ping_row *r = &rows[i];
    ih_ping_settings s = { .interval_ms = r->interval, .timeout_ms = r->timeout };
    if (!IH_EQ_INT(ih_ping_due(&s, r->sent, r->pong, r->now), r->want))
      ih_test_note("row '%s'", r->what);
  }
  ih_ping_settings ok = { 30000, 90000 }, off = { 0, 0 }, bad = { 30000, 0 };
  IH_CHECK(ih_ping_settings_problem(&ok) == NULL);
  IH_CHECK(ih_ping_settings_problem(&off) == NULL);
  IH_CHECK(ih_ping_settings_problem(&bad) != NULL);

  IH_TEST("ping: a worker that stops answering is replaced after exactly the timeout, and counts as a crash");
  ih_ping_settings s = { .interval_ms = 10 * SEC, .timeout_ms = 20 * SEC };
  uint64_t ready = 500, sent = ready, pong = ready;
  uint64_t timed_out_at = 0;
  for (uint64_t now = ready; now < ready + 100 * SEC && !timed_out_at; now += 100) {
    enum ih_ping_action a = ih_ping_due(&s, sent, pong, now);
    if (a == IH_PING_SEND)
      sent = now;
    else if (a == IH_PING_TIMED_OUT)
      timed_out_at = now;
    if (now < ready + 25 * SEC && sent > pong)
      pong = now; /* answers at once for the first 25 s */
  }
  /* pings at 10.5, 20.5, 30.5 s; the one at 30.5 s goes unanswered */
  IH_EQ_INT(timed_out_at, ready + 30 * SEC + 20 * SEC);
  ih_pool_health *h = running_pool(5, 60 * SEC, 0, 0, ready);
  IH_EQ_INT(ih_pool_health_on_crash(h, timed_out_at), IH_POOL_RUNNING);
  ih_pool_health_stats st;
  ih_pool_health_stats_get(h, timed_out_at, &st);
  IH_EQ_INT(st.crashes_total, 1);
}

/* ---- 5. the old worker ------------------------------------------------------------ */

static void test_old_worker(void)
{
  IH_TEST("old worker: deadline = start + limit (saturating); drain, exit, kill at the deadline");
  IH_EQ_INT(ih_pool_health_old_worker_deadline(1000, 90 * SEC), 91000);
  IH_EQ_INT(ih_pool_health_old_worker_deadline(1000, 0), 1000);
  IH_CHECK(ih_pool_health_old_worker_deadline(U64MAX - 10, 11) == U64MAX);
  IH_CHECK(ih_pool_health_old_worker_deadline(U64MAX, U64MAX) == U64MAX);
  uint64_t d = ih_pool_health_old_worker_deadline(1000, 90 * SEC);
  IH_EQ_INT(ih_pool_old_worker_action(d, d - 1, 3), IH_OLD_WORKER_DRAIN);
  IH_EQ_INT(ih_pool_old_worker_action(d, d - 1, 0), IH_OLD_WORKER_EXIT);
  IH_EQ_INT(ih_pool_old_worker_action(d, d, 3), IH_OLD_WORKER_KILL);
  IH_EQ_INT(ih_pool_old_worker_action(d, d, 0), IH_OLD_WORKER_KILL); /* hangs in its own shutdown */
  IH_EQ_INT(ih_pool_old_worker_action(d, U64MAX, U64MAX), IH_OLD_WORKER_KILL);
  IH_EQ_INT(ih_pool_old_worker_action(d, 0, U64MAX), IH_OLD_WORKER_DRAIN);
  IH_EQ_INT(ih_pool_old_worker_action(U64MAX, U64MAX - 1, 1), IH_OLD_WORKER_DRAIN);
  IH_EQ_INT(ih_pool_old_worker_action(0, 0, 1), IH_OLD_WORKER_KILL); /* a limit of 0: at once */
}

/* ---- counts and settings ---------------------------------------------------------------- */

static void test_counts(void)
{
  IH_TEST("recycles are counted by reason, only when the recycle begins");
  ih_pool_health *h = running_pool(5, 60 * SEC, 0, 0, 0);
  ih_pool_health_stats st;
  ih_pool_health_stats_get(h, 0, &st);
  for (int r = 0; r < IH_RECYCLE_REASON_COUNT; r++)
    IH_EQ_INT(st.recycles[r], 0);
  IH_EQ_INT(st.recycles_total, 0);
  uint64_t t = 0;
  for (int r = IH_RECYCLE_NONE + 1; r < IH_RECYCLE_REASON_COUNT; r++)
    for (int k = 0; k < r; k++) { /* reason r recycles r times */
      IH_CHECK(ih_pool_health_on_recycle_begin(h, (enum ih_recycle_reason)r, ++t));
      IH_CHECK(!ih_pool_health_on_recycle_begin(h, (enum ih_recycle_reason)r, ++t)); /* one at a time */
      IH_CHECK(ih_pool_health_on_recycle_end(h, ++t));
      IH_CHECK(!ih_pool_health_on_recycle_end(h, ++t));
    }
  IH_CHECK(!ih_pool_health_on_recycle_begin(h, IH_RECYCLE_NONE, ++t));
  IH_CHECK(!ih_pool_health_on_recycle_begin(h, IH_RECYCLE_REASON_COUNT, ++t));
  IH_CHECK(!ih_pool_health_on_recycle_begin(h, (enum ih_recycle_reason)-1, ++t));
  IH_EQ_INT(ih_pool_health_state(h), IH_POOL_RUNNING);
  ih_pool_health_stats_get(h, t, &st);
  uint64_t total = 0;
  for (int r = IH_RECYCLE_NONE + 1; r < IH_RECYCLE_REASON_COUNT; r++) {
    IH_EQ_INT(st.recycles[r], r);
    total += (uint64_t)r;
  }
  IH_EQ_INT(st.recycles[IH_RECYCLE_NONE], 0);
  IH_EQ_INT(st.recycles_total, total);

  IH_TEST("a recycle refused in FAILING and STOPPED is not counted");
  for (int s = IH_POOL_FAILING; s <= IH_POOL_STOPPED; s++) {
    h = pool_in((enum ih_pool_state)s);
    IH_CHECK(!ih_pool_health_on_recycle_begin(h, IH_RECYCLE_COMMAND, 1));
    ih_pool_health_stats_get(h, 1, &st);
    IH_EQ_INT(st.recycles_total, 0);
  }

  IH_TEST("counters stop at UINT64_MAX, never wrap to 0");
  h = running_pool(0, 0, 0, 0, 0);
  h->crashes_total = U64MAX - 1;
  h->start_failures_total = U64MAX;
  h->recycles[IH_RECYCLE_TIME] = U64MAX;
  h->recycles[IH_RECYCLE_REQUESTS] = U64MAX;
  ih_pool_health_on_crash(h, 1);
  ih_pool_health_on_crash(h, 2);
  ih_pool_health_on_start_failed(h, 3);
  IH_CHECK(ih_pool_health_on_recycle_begin(h, IH_RECYCLE_TIME, 4));
  ih_pool_health_stats_get(h, 4, &st);
  IH_CHECK(st.crashes_total == U64MAX);
  IH_CHECK(st.start_failures_total == U64MAX);
  IH_CHECK(st.recycles[IH_RECYCLE_TIME] == U64MAX);
  IH_CHECK(st.recycles_total == U64MAX); /* the sum saturates too */
  h = pool_in(IH_POOL_FAILING);
  h->failing_episodes_total = U64MAX;
  ih_pool_health_on_crash(h, 10 * SEC); /* the probe fails: another episode */
  ih_pool_health_stats_get(h, 10 * SEC, &st);
  IH_CHECK(st.failing_episodes_total == U64MAX);

  IH_TEST("stats in every state");
  h = pool(5, 60 * SEC, 0, 0);
  ih_pool_health_stats_get(h, 0, &st);
  IH_EQ_INT(st.state, IH_POOL_STOPPED);
  IH_EQ_INT(st.backoff_ms, 0);
  IH_EQ_INT(st.next_backoff_ms, 10 * SEC);
  h = pool_in(IH_POOL_FAILING);
  ih_pool_health_stats_get(h, 4000, &st);
  IH_EQ_INT(st.state, IH_POOL_FAILING);
  IH_EQ_INT(st.backoff_ms, 10 * SEC);
  IH_EQ_INT(st.backoff_remaining_ms, 6000);
  IH_EQ_INT(st.next_backoff_ms, 20 * SEC);
  ih_pool_health_stats_get(h, 20000, &st);
  IH_EQ_INT(st.backoff_remaining_ms, 0);
  IH_CHECK(ih_pool_health_on_stop(h, 20000));
  ih_pool_health_stats_get(h, 20000, &st);
  IH_EQ_INT(st.backoff_ms, 0);
  IH_EQ_INT(st.failing_episodes_total, 1); /* counts outlive the episode */
}

static void test_settings(void)
{
  IH_TEST("health settings: problems named, init refuses them and leaves the object alone");
  typedef struct { ih_pool_health_settings s; bool ok; } srow;
  static const srow rows[] = {
    { { 5, 300000, 0, 0 }, true },
    { { 0, 0, 0, 0 }, true }, /* off */
    { { 1000, 1, 0, 0 }, true },
    { { 1001, 1, 0, 0 }, false },
    { { UINT32_MAX, 1, 0, 0 }, false },
    { { 5, 0, 0, 0 }, false },
    { { 5, 1, IH_POOL_BACKOFF_LIMIT_MS, IH_POOL_BACKOFF_LIMIT_MS }, true },
    { { 5, 1, IH_POOL_BACKOFF_LIMIT_MS + 1, 0 }, false },
    { { 5, 1, 0, IH_POOL_BACKOFF_LIMIT_MS + 1 }, false },
    { { 5, 1, 0, U64MAX }, false },
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const char *problem = ih_pool_health_settings_problem(&rows[i].s);
    if (!IH_EQ_INT(problem == NULL, rows[i].ok))
      ih_test_note("row %zu: %s", i, problem ? problem : "(none)");
    memset(&H, 0x5A, sizeof H);
    IH_EQ_INT(ih_pool_health_init(&H, &rows[i].s), rows[i].ok);
    if (!rows[i].ok)
      IH_EQ_INT(H.crash_count, 0x5A5A5A5A);
  }

  IH_TEST("a reload keeps the newest failures that fit, state and counts");
  ih_pool_health *h = running_pool(5, 1000, 0, 0, 0);
  for (uint64_t t = 0; t < 4; t++)
    ih_pool_health_on_crash(h, t);
  ih_pool_health_settings three = { 3, 1000, 0, 0 };
  IH_CHECK(ih_pool_health_set_settings(h, &three));
  ih_pool_health_stats st;
  ih_pool_health_stats_get(h, 4, &st);
  IH_EQ_INT(st.failures_in_window, 3);
  IH_EQ_INT(st.crashes_total, 4);
  IH_EQ_INT(ih_pool_health_on_crash(h, 1002), IH_POOL_RUNNING); /* 2, 3, 1002: 1000 apart */
  IH_EQ_INT(ih_pool_health_on_crash(h, 1002), IH_POOL_FAILING); /* 3, 1002, 1002 */

  h = running_pool(5, 1000, 0, 0, 0);
  for (uint64_t t = 0; t < 7; t++) /* the ring has wrapped */
    ih_pool_health_on_crash(h, t * 10);
  IH_EQ_INT(ih_pool_health_state(h), IH_POOL_FAILING);
  IH_CHECK(ih_pool_health_on_start(h, 100));
  ih_pool_health_on_crash(h, 101);
  ih_pool_health_on_crash(h, 102);
  ih_pool_health_on_crash(h, 103);
  ih_pool_health_on_crash(h, 104); /* 4 in a ring of 5 */
  ih_pool_health_settings ten = { 10, 1000, 0, 0 };
  IH_CHECK(ih_pool_health_set_settings(h, &ten));
  ih_pool_health_stats_get(h, 104, &st);
  IH_EQ_INT(st.failures_in_window, 4);
  for (uint64_t t = 105; t < 110; t++)
    IH_EQ_INT(ih_pool_health_on_crash(h, t), IH_POOL_RUNNING);
  IH_EQ_INT(ih_pool_health_on_crash(h, 110), IH_POOL_FAILING); /* the 10th */

  IH_TEST("a reload to 0 turns protection off; back on starts an empty window");
  h = running_pool(2, 1000, 0, 0, 0);
  ih_pool_health_on_crash(h, 0);
  ih_pool_health_settings off = { 0, 0, 0, 0 };
  IH_CHECK(ih_pool_health_set_settings(h, &off));
  for (int i = 0; i < 100; i++)
    IH_EQ_INT(ih_pool_health_on_crash(h, 1), IH_POOL_RUNNING);
  ih_pool_health_settings two = { 2, 1000, 0, 0 };
  IH_CHECK(ih_pool_health_set_settings(h, &two));
  IH_EQ_INT(ih_pool_health_on_crash(h, 2), IH_POOL_RUNNING);
  IH_EQ_INT(ih_pool_health_on_crash(h, 3), IH_POOL_FAILING);

  IH_TEST("a reload with a problem changes nothing");
  ih_pool_health_settings bad = { 2000, 1000, 0, 0 };
  IH_CHECK(!ih_pool_health_set_settings(h, &bad));
  IH_EQ_INT(h->settings.max_crashes, 2);
  IH_EQ_INT(ih_pool_health_state(h), IH_POOL_FAILING);
}

/* An IIS-like day: recycles, a bad DLL that crashes the pool into back-off,
 * an operator fixing it. */
static void test_story(void)
{
  IH_TEST("a day in a pool's life");
  ih_pool_health *h = pool(IH_POOL_RAPID_FAIL_MAX_CRASHES_DEFAULT, IH_POOL_RAPID_FAIL_INTERVAL_DEFAULT_MS, 0,
                           10 * 60 * SEC);
  IH_CHECK(!ih_pool_health_may_start(h, 0));
  IH_CHECK(ih_pool_health_on_start(h, 0));
  IH_CHECK(ih_pool_health_may_start(h, 0));
  IH_CHECK(ih_pool_health_on_started(h, 2 * SEC));
  ih_recycle_settings rs = { .requests = 1000 };
  ih_worker_facts w = { .started_ms = 2 * SEC, .requests_served = 1000 };
  enum ih_recycle_reason why = ih_recycle_due(&rs, &w, NULL, 3 * SEC, 0);
  IH_EQ_INT(why, IH_RECYCLE_REQUESTS);
  IH_CHECK(ih_pool_health_on_recycle_begin(h, why, 3 * SEC));
  IH_CHECK(ih_pool_health_may_start(h, 3 * SEC)); /* the replacement */
  IH_CHECK(ih_pool_health_on_started(h, 4 * SEC));
  IH_EQ_INT(ih_pool_health_state(h), IH_POOL_RECYCLING);
  uint64_t deadline = ih_pool_health_old_worker_deadline(3 * SEC, 90 * SEC);
  IH_EQ_INT(ih_pool_old_worker_action(deadline, 5 * SEC, 2), IH_OLD_WORKER_DRAIN);
  IH_EQ_INT(ih_pool_old_worker_action(deadline, 93 * SEC, 1), IH_OLD_WORKER_KILL);
  IH_CHECK(ih_pool_health_on_recycle_end(h, 93 * SEC)); /* killed: not a crash */
  IH_EQ_INT(ih_pool_health_state(h), IH_POOL_RUNNING);
  /* a new DLL crashes the worker five times in a minute */
  uint64_t t = 3600 * SEC;
  for (int i = 0; i < 4; i++)
    IH_EQ_INT(ih_pool_health_on_crash(h, t + (uint64_t)i * 10 * SEC), IH_POOL_RUNNING);
  IH_EQ_INT(ih_pool_health_on_crash(h, t + 40 * SEC), IH_POOL_FAILING);
  IH_EQ_INT(ih_pool_health_retry_after_s(h, t + 40 * SEC), 10);
  /* the probes keep failing: 10 s, 20 s, 40 s ... */
  uint64_t now = t + 50 * SEC;
  IH_EQ_INT(ih_pool_health_on_start_failed(h, now), IH_POOL_FAILING);
  IH_EQ_INT(ih_pool_health_retry_after_s(h, now), 20);
  now += 20 * SEC;
  IH_EQ_INT(ih_pool_health_on_crash(h, now), IH_POOL_FAILING);
  IH_EQ_INT(ih_pool_health_retry_after_s(h, now), 40);
  /* the operator puts the old DLL back and starts the pool */
  IH_CHECK(ih_pool_health_on_start(h, now + SEC));
  IH_CHECK(ih_pool_health_on_started(h, now + 2 * SEC));
  ih_pool_health_stats st;
  ih_pool_health_stats_get(h, now + 2 * SEC, &st);
  IH_EQ_INT(st.state, IH_POOL_RUNNING);
  IH_EQ_INT(st.crashes_total, 6);
  IH_EQ_INT(st.start_failures_total, 1);
  IH_EQ_INT(st.failing_episodes_total, 3);
  IH_EQ_INT(st.recycles[IH_RECYCLE_REQUESTS], 1);
  IH_EQ_INT(st.recycles_total, 1);
  IH_EQ_INT(st.next_backoff_ms, 10 * SEC);
  IH_CHECK(ih_pool_health_on_stop(h, now + 3 * SEC));
  IH_EQ_INT(ih_pool_health_state(h), IH_POOL_STOPPED);
}

int main(void)
{
  test_table_in_header();
  test_event_functions_follow_table();
  test_rapid_fail_window_rows();
  test_rapid_fail_sliding();
  test_backoff_doubling_and_cap();
  test_automatic_retry();
  test_healthy_reset();
  test_retry_after();
  test_recycle_triggers();
  test_recycle_priority();
  test_schedule_every_minute_irregular();
  test_schedule_edges();
  test_schedule_clock_changes();
  test_recycle_due_with_schedule();
  test_ping();
  test_old_worker();
  test_counts();
  test_settings();
  test_story();
  return ih_test_finish();
}
