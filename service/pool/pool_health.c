/* An application pool's health and recycling decisions (see pool_health.h
 * for every rule and its source). Pure: no clock, no I/O, no allocation. */
#include "pool/pool_health.h"

#include <string.h>

/* ---- arithmetic that cannot wrap ----------------------------------------- */

/* Time from `from` to `to`; 0 when `to` is not later (a clock that seems to
 * run backwards gives no elapsed time rather than a huge one). */
static uint64_t elapsed(uint64_t from, uint64_t to) { return to > from ? to - from : 0; }

static uint64_t add_sat(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static void count_up(uint64_t *counter)
{
  if (*counter != UINT64_MAX)
    (*counter)++;
}

/* ---- 1. the state table --------------------------------------------------- */

#define REFUSED IH_POOL_STATE_COUNT

/* next[from][event]; REFUSED where the event does not apply. Exactly the
 * table in pool_health.h. */
static const enum ih_pool_state next_state[IH_POOL_STATE_COUNT][IH_POOL_EVENT_COUNT] = {
  [IH_POOL_RUNNING] = {
    [IH_POOL_EV_START] = IH_POOL_RUNNING,
    [IH_POOL_EV_STOP] = IH_POOL_STOPPED,
    [IH_POOL_EV_RECYCLE_BEGIN] = IH_POOL_RECYCLING,
    [IH_POOL_EV_RECYCLE_END] = REFUSED,
    [IH_POOL_EV_STARTED] = IH_POOL_RUNNING,
    [IH_POOL_EV_CRASH] = IH_POOL_RUNNING,
    [IH_POOL_EV_RAPID_FAIL] = IH_POOL_FAILING,
  },
  [IH_POOL_RECYCLING] = {
    [IH_POOL_EV_START] = IH_POOL_RECYCLING,
    [IH_POOL_EV_STOP] = IH_POOL_STOPPED,
    [IH_POOL_EV_RECYCLE_BEGIN] = REFUSED,
    [IH_POOL_EV_RECYCLE_END] = IH_POOL_RUNNING,
    [IH_POOL_EV_STARTED] = IH_POOL_RECYCLING,
    [IH_POOL_EV_CRASH] = IH_POOL_RECYCLING,
    [IH_POOL_EV_RAPID_FAIL] = IH_POOL_FAILING,
  },
  [IH_POOL_FAILING] = {
    [IH_POOL_EV_START] = IH_POOL_RUNNING,
    [IH_POOL_EV_STOP] = IH_POOL_STOPPED,
    [IH_POOL_EV_RECYCLE_BEGIN] = REFUSED,
    [IH_POOL_EV_RECYCLE_END] = REFUSED,
    [IH_POOL_EV_STARTED] = IH_POOL_RUNNING,
    [IH_POOL_EV_CRASH] = IH_POOL_FAILING,
    [IH_POOL_EV_RAPID_FAIL] = IH_POOL_FAILING,
  },
  [IH_POOL_STOPPED] = {
    [IH_POOL_EV_START] = IH_POOL_RUNNING,
    [IH_POOL_EV_STOP] = IH_POOL_STOPPED,
    [IH_POOL_EV_RECYCLE_BEGIN] = REFUSED,
    [IH_POOL_EV_RECYCLE_END] = REFUSED,
    [IH_POOL_EV_STARTED] = REFUSED,
    [IH_POOL_EV_CRASH] = IH_POOL_STOPPED,
    [IH_POOL_EV_RAPID_FAIL] = REFUSED,
  },
};

bool ih_pool_transition(enum ih_pool_state from, enum ih_pool_event ev, enum ih_pool_state *to)
{
  *to = from;
  if ((unsigned)from >= IH_POOL_STATE_COUNT || (unsigned)ev >= IH_POOL_EVENT_COUNT)
    return false;
  enum ih_pool_state next = next_state[from][ev];
  if (next == REFUSED)
    return false;
  *to = next;
  return true;
}

const char *ih_pool_state_name(enum ih_pool_state state)
{
  switch (state) {
  case IH_POOL_RUNNING: return "running";
  case IH_POOL_RECYCLING: return "recycling";
  case IH_POOL_FAILING: return "failing";
  case IH_POOL_STOPPED: return "stopped";
  case IH_POOL_STATE_COUNT: break;
  }
  return "unknown";
}

const char *ih_pool_event_name(enum ih_pool_event ev)
{
  switch (ev) {
  case IH_POOL_EV_START: return "start";
  case IH_POOL_EV_STOP: return "stop";
  case IH_POOL_EV_RECYCLE_BEGIN: return "recycle_begin";
  case IH_POOL_EV_RECYCLE_END: return "recycle_end";
  case IH_POOL_EV_STARTED: return "started";
  case IH_POOL_EV_CRASH: return "crash";
  case IH_POOL_EV_RAPID_FAIL: return "rapid_fail";
  case IH_POOL_EVENT_COUNT: break;
  }
  return "unknown";
}

const char *ih_recycle_reason_name(enum ih_recycle_reason reason)
{
  switch (reason) {
  case IH_RECYCLE_NONE: return "none";
  case IH_RECYCLE_REQUESTS: return "requests";
  case IH_RECYCLE_TIME: return "time";
  case IH_RECYCLE_SCHEDULE: return "schedule";
  case IH_RECYCLE_MEMORY: return "private_memory";
  case IH_RECYCLE_UNHEALTHY: return "unhealthy";
  case IH_RECYCLE_COMMAND: return "command";
  case IH_RECYCLE_CONFIG_CHANGE: return "config";
  case IH_RECYCLE_DLL_CHANGED: return "dll_changed";
  case IH_RECYCLE_REASON_COUNT: break;
  }
  return "unknown";
}

/* ---- 2. health ------------------------------------------------------------- */

const char *ih_pool_health_settings_problem(const ih_pool_health_settings *s)
{
  if (s->max_crashes > IH_POOL_MAX_CRASHES_LIMIT)
    return "rapid-fail max_crashes is above 1000";
  if (s->max_crashes > 0 && s->interval_ms == 0)
    return "rapid-fail interval is 0 while max_crashes is not (0 crashes turns protection off)";
  if (s->backoff_base_ms > IH_POOL_BACKOFF_LIMIT_MS)
    return "rapid-fail back-off base is above one day";
  if (s->backoff_max_ms > IH_POOL_BACKOFF_LIMIT_MS)
    return "rapid-fail back-off maximum is above one day";
  return NULL;
}

static uint64_t backoff_base(const ih_pool_health_settings *s)
{
  return s->backoff_base_ms ? s->backoff_base_ms : IH_POOL_BACKOFF_BASE_MS;
}

/* base * 2^k capped; doubling stops at the cap, which is at most a day, so
 * nothing overflows whatever k is. */
static uint64_t backoff_for(const ih_pool_health_settings *s, uint32_t k)
{
  uint64_t base = backoff_base(s);
  uint64_t cap = s->backoff_max_ms > base ? s->backoff_max_ms : base;
  uint64_t b = base;
  for (uint32_t i = 0; i < k && b < cap; i++)
    b *= 2;
  return b < cap ? b : cap;
}

/* k with the healthy reset applied at now (section 2). */
static uint32_t exponent_at(const ih_pool_health *h, uint64_t now_ms)
{
  if (h->backoff_exponent == 0)
    return 0;
  if ((h->state == IH_POOL_RUNNING || h->state == IH_POOL_RECYCLING) &&
      elapsed(h->quiet_since_ms, now_ms) >= h->settings.interval_ms)
    return 0;
  return h->backoff_exponent;
}

static void window_clear(ih_pool_health *h)
{
  h->crash_count = 0;
  h->crash_next = 0;
}

/* Index of the i-th oldest kept failure. */
static uint32_t window_index(const ih_pool_health *h, uint32_t i)
{
  uint32_t n = h->settings.max_crashes;
  uint32_t oldest = h->crash_count < n ? 0 : h->crash_next;
  return (oldest + i) % n;
}

bool ih_pool_health_init(ih_pool_health *h, const ih_pool_health_settings *s)
{
  if (ih_pool_health_settings_problem(s))
    return false;
  memset(h, 0, sizeof *h);
  h->settings = *s;
  h->state = IH_POOL_STOPPED;
  return true;
}

bool ih_pool_health_set_settings(ih_pool_health *h, const ih_pool_health_settings *s)
{
  if (ih_pool_health_settings_problem(s))
    return false;
  /* The newest failures, oldest first, then as many as fit the new ring. */
  uint64_t kept[IH_POOL_MAX_CRASHES_LIMIT];
  uint32_t n = h->crash_count;
  for (uint32_t i = 0; i < n; i++)
    kept[i] = h->crash_ms[window_index(h, i)];
  uint32_t fit = n < s->max_crashes ? n : s->max_crashes;
  h->settings = *s;
  window_clear(h);
  for (uint32_t i = n - fit; i < n; i++)
    h->crash_ms[h->crash_count++] = kept[i];
  h->crash_next = s->max_crashes ? h->crash_count % s->max_crashes : 0;
  return true;
}

enum ih_pool_state ih_pool_health_state(const ih_pool_health *h) { return h->state; }

/* Applies an event the table accepts; false when refused. */
static bool apply(ih_pool_health *h, enum ih_pool_event ev)
{
  enum ih_pool_state to;
  if (!ih_pool_transition(h->state, ev, &to))
    return false;
  h->state = to;
  return true;
}

bool ih_pool_health_on_start(ih_pool_health *h, uint64_t now_ms)
{
  enum ih_pool_state from = h->state;
  if (!apply(h, IH_POOL_EV_START))
    return false;
  if (from == IH_POOL_FAILING || from == IH_POOL_STOPPED) { /* a fresh start */
    window_clear(h);
    h->backoff_exponent = 0;
    h->backoff_ms = 0;
    h->quiet_since_ms = now_ms;
  }
  return true;
}

bool ih_pool_health_on_stop(ih_pool_health *h, uint64_t now_ms)
{
  (void)now_ms;
  if (!apply(h, IH_POOL_EV_STOP))
    return false;
  h->backoff_ms = 0;
  return true;
}

bool ih_pool_health_on_recycle_begin(ih_pool_health *h, enum ih_recycle_reason reason, uint64_t now_ms)
{
  (void)now_ms;
  if (reason <= IH_RECYCLE_NONE || reason >= IH_RECYCLE_REASON_COUNT)
    return false;
  if (!apply(h, IH_POOL_EV_RECYCLE_BEGIN))
    return false;
  count_up(&h->recycles[reason]);
  return true;
}

bool ih_pool_health_on_recycle_end(ih_pool_health *h, uint64_t now_ms)
{
  (void)now_ms;
  return apply(h, IH_POOL_EV_RECYCLE_END);
}

bool ih_pool_health_on_started(ih_pool_health *h, uint64_t now_ms)
{
  enum ih_pool_state from = h->state;
  if (!apply(h, IH_POOL_EV_STARTED))
    return false;
  if (from == IH_POOL_FAILING) { /* the probe came up: the healthy period starts */
    h->quiet_since_ms = now_ms;
    h->backoff_ms = 0;
  }
  return true;
}

/* Which event a failure at now is (section 2), recording it in the window
 * when it counts there. */
static enum ih_pool_event classify_failure(ih_pool_health *h, uint64_t now_ms)
{
  uint32_t n = h->settings.max_crashes;
  switch (h->state) {
  case IH_POOL_RUNNING:
  case IH_POOL_RECYCLING:
    h->backoff_exponent = exponent_at(h, now_ms); /* healthy until this failure? */
    h->quiet_since_ms = now_ms;
    if (n == 0)
      return IH_POOL_EV_CRASH;
    h->crash_ms[h->crash_next] = now_ms;
    h->crash_next = (h->crash_next + 1) % n;
    if (h->crash_count < n)
      h->crash_count++;
    if (h->crash_count == n && elapsed(h->crash_ms[window_index(h, 0)], now_ms) < h->settings.interval_ms)
      return IH_POOL_EV_RAPID_FAIL;
    return IH_POOL_EV_CRASH;
  case IH_POOL_FAILING:
    /* After the back-off the failing worker is the probe: the pool did not
     * recover. Before it, a left-over worker died while being shut down. */
    return now_ms >= h->failing_until_ms ? IH_POOL_EV_RAPID_FAIL : IH_POOL_EV_CRASH;
  case IH_POOL_STOPPED:
  case IH_POOL_STATE_COUNT:
    break;
  }
  return IH_POOL_EV_CRASH;
}

static enum ih_pool_state on_failure(ih_pool_health *h, uint64_t now_ms)
{
  enum ih_pool_event ev = classify_failure(h, now_ms);
  if (apply(h, ev) && ev == IH_POOL_EV_RAPID_FAIL) {
    window_clear(h);
    h->backoff_ms = backoff_for(&h->settings, h->backoff_exponent);
    h->failing_until_ms = add_sat(now_ms, h->backoff_ms);
    if (h->backoff_exponent < UINT32_MAX)
      h->backoff_exponent++;
    count_up(&h->failing_episodes_total);
  }
  return h->state;
}

enum ih_pool_state ih_pool_health_on_crash(ih_pool_health *h, uint64_t now_ms)
{
  count_up(&h->crashes_total);
  return on_failure(h, now_ms);
}

enum ih_pool_state ih_pool_health_on_start_failed(ih_pool_health *h, uint64_t now_ms)
{
  count_up(&h->start_failures_total);
  return on_failure(h, now_ms);
}

bool ih_pool_health_may_start(const ih_pool_health *h, uint64_t now_ms)
{
  switch (h->state) {
  case IH_POOL_RUNNING:
  case IH_POOL_RECYCLING:
    return true;
  case IH_POOL_FAILING:
    return now_ms >= h->failing_until_ms;
  case IH_POOL_STOPPED:
  case IH_POOL_STATE_COUNT:
    break;
  }
  return false;
}

uint32_t ih_pool_health_retry_after_s(const ih_pool_health *h, uint64_t now_ms)
{
  if (h->state != IH_POOL_FAILING)
    return 0;
  uint64_t rest = elapsed(now_ms, h->failing_until_ms);
  uint64_t s = rest / 1000 + (rest % 1000 != 0);
  if (s < 1)
    return 1;
  return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

uint64_t ih_pool_health_next_backoff_ms(const ih_pool_health *h, uint64_t now_ms)
{
  return backoff_for(&h->settings, exponent_at(h, now_ms));
}

void ih_pool_health_stats_get(const ih_pool_health *h, uint64_t now_ms, ih_pool_health_stats *out)
{
  memset(out, 0, sizeof *out);
  out->state = h->state;
  out->crashes_total = h->crashes_total;
  out->start_failures_total = h->start_failures_total;
  out->failing_episodes_total = h->failing_episodes_total;
  for (uint32_t i = 0; i < h->crash_count; i++)
    if (elapsed(h->crash_ms[window_index(h, i)], now_ms) < h->settings.interval_ms)
      out->failures_in_window++;
  if (h->state == IH_POOL_FAILING) {
    out->backoff_ms = h->backoff_ms;
    out->backoff_remaining_ms = elapsed(now_ms, h->failing_until_ms);
  }
  out->next_backoff_ms = ih_pool_health_next_backoff_ms(h, now_ms);
  for (int r = IH_RECYCLE_NONE + 1; r < IH_RECYCLE_REASON_COUNT; r++) {
    out->recycles[r] = h->recycles[r];
    out->recycles_total = add_sat(out->recycles_total, h->recycles[r]);
  }
}

/* ---- 3. recycling ------------------------------------------------------------ */

const char *ih_recycle_settings_problem(const ih_recycle_settings *s)
{
  if (s->schedule_count > 0 && !s->schedule)
    return "recycle schedule has a count but no times";
  for (size_t i = 0; i < s->schedule_count; i++)
    if (s->schedule[i] >= IH_MINUTES_PER_DAY)
      return "recycle schedule time is not a time of day (00:00-23:59)";
  return NULL;
}

void ih_recycle_clock_init(ih_recycle_clock *c) { memset(c, 0, sizeof *c); }

/* Whether a scheduled minute lies in the `span` minutes that end at `end`
 * (end - span, end], going back across midnight; span < 1440. */
static bool scheduled_in(const uint16_t *schedule, size_t count, unsigned end, unsigned span)
{
  for (size_t i = 0; i < count; i++) {
    unsigned back = (end + IH_MINUTES_PER_DAY - schedule[i]) % IH_MINUTES_PER_DAY;
    if (schedule[i] < IH_MINUTES_PER_DAY && back < span)
      return true;
  }
  return false;
}

bool ih_recycle_schedule_fires(ih_recycle_clock *c, const uint16_t *schedule, size_t count,
                               uint64_t now_ms, unsigned local_minute)
{
  if (local_minute >= IH_MINUTES_PER_DAY)
    return false;
  if (!c->checked) {
    c->checked = true;
    c->last_minute = (uint16_t)local_minute;
    c->last_ms = now_ms;
    c->behind = 0;
    return false;
  }
  uint64_t e = elapsed(c->last_ms, now_ms) / 60000;
  unsigned d = (local_minute + IH_MINUTES_PER_DAY - c->last_minute) % IH_MINUTES_PER_DAY;
  bool fire = false;
  if (e >= IH_MINUTES_PER_DAY) {
    fire = count > 0; /* every scheduled time passed at least once */
    c->behind = 0;
  } else if ((int64_t)d - (int64_t)e <= (int64_t)IH_MINUTES_PER_DAY / 2) {
    /* forward by d: first catch up with the latest minute already seen */
    if (d <= c->behind) {
      c->behind = (uint16_t)(c->behind - d);
    } else {
      fire = scheduled_in(schedule, count, local_minute, d - c->behind);
      c->behind = 0;
    }
  } else {
    /* set back by 1440 - d minutes */
    unsigned behind = c->behind + (IH_MINUTES_PER_DAY - d);
    c->behind = (uint16_t)(behind < IH_MINUTES_PER_DAY ? behind : IH_MINUTES_PER_DAY - 1);
  }
  c->last_minute = (uint16_t)local_minute;
  c->last_ms = now_ms;
  return fire;
}

enum ih_recycle_reason ih_recycle_due(const ih_recycle_settings *s, const ih_worker_facts *w,
                                      ih_recycle_clock *clock, uint64_t now_ms, unsigned local_minute)
{
  /* The schedule first, whatever the answer: its clock must move on. */
  bool scheduled = clock && ih_recycle_schedule_fires(clock, s->schedule, s->schedule_count, now_ms, local_minute);
  if (w->being_recycled)
    return IH_RECYCLE_NONE;
  if (w->command)
    return IH_RECYCLE_COMMAND;
  if (w->config_changed)
    return IH_RECYCLE_CONFIG_CHANGE;
  if (w->dll_changed)
    return IH_RECYCLE_DLL_CHANGED;
  if (w->unhealthy_reported)
    return IH_RECYCLE_UNHEALTHY;
  if (s->private_memory_bytes && w->private_bytes > s->private_memory_bytes)
    return IH_RECYCLE_MEMORY;
  if (s->requests && w->requests_served >= s->requests)
    return IH_RECYCLE_REQUESTS;
  if (s->time_ms && elapsed(w->started_ms, now_ms) >= s->time_ms)
    return IH_RECYCLE_TIME;
  if (scheduled)
    return IH_RECYCLE_SCHEDULE;
  return IH_RECYCLE_NONE;
}

/* ---- 4. ping ------------------------------------------------------------------- */

const char *ih_ping_settings_problem(const ih_ping_settings *s)
{
  if (s->interval_ms > 0 && s->timeout_ms == 0)
    return "ping timeout is 0 while pings are on";
  return NULL;
}

enum ih_ping_action ih_ping_due(const ih_ping_settings *s, uint64_t last_ping_sent_ms,
                                uint64_t last_pong_ms, uint64_t now_ms)
{
  if (s->interval_ms == 0)
    return IH_PING_WAIT;
  if (last_ping_sent_ms > last_pong_ms) /* outstanding */
    return elapsed(last_ping_sent_ms, now_ms) >= s->timeout_ms ? IH_PING_TIMED_OUT : IH_PING_WAIT;
  return elapsed(last_ping_sent_ms, now_ms) >= s->interval_ms ? IH_PING_SEND : IH_PING_WAIT;
}

/* ---- 5. the old worker ----------------------------------------------------------- */

uint64_t ih_pool_health_old_worker_deadline(uint64_t started_recycle_ms, uint64_t shutdown_time_limit_ms)
{
  return add_sat(started_recycle_ms, shutdown_time_limit_ms);
}

enum ih_old_worker_action ih_pool_old_worker_action(uint64_t deadline_ms, uint64_t now_ms,
                                                    uint64_t requests_in_flight)
{
  if (now_ms >= deadline_ms)
    return IH_OLD_WORKER_KILL;
  return requests_in_flight ? IH_OLD_WORKER_DRAIN : IH_OLD_WORKER_EXIT;
}
