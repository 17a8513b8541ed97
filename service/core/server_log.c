/* Server log formatting and dispatch (see server_log.h). */
#include "core/server_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "core/ih_thread.h"
#include "core/ih_time.h"

/* The sinks and their contexts, changed and read as a whole under a spin
 * lock: ih_log runs on many threads while the platform may set or remove a
 * sink (the Event Log sink comes and goes with the service), and a reader
 * must never pair one sink with another's ctx. The lock only covers copying
 * four pointers; sinks are called outside it. */
typedef struct log_sinks {
  ih_log_sink line;
  void *line_ctx;
  ih_log_event_sink event;
  void *event_ctx;
} log_sinks;

static log_sinks sinks;
static atomic_flag sinks_lock = ATOMIC_FLAG_INIT;
static enum ih_log_level log_max_level = IH_LOG_INFO;

static void sinks_acquire(void)
{
  while (atomic_flag_test_and_set_explicit(&sinks_lock, memory_order_acquire))
    ;
}

static void sinks_release(void) { atomic_flag_clear_explicit(&sinks_lock, memory_order_release); }

void ih_log_set_sink(ih_log_sink sink, void *ctx)
{
  sinks_acquire();
  sinks.line = sink;
  sinks.line_ctx = ctx;
  sinks_release();
}

void ih_log_set_event_sink(ih_log_event_sink sink, void *ctx)
{
  sinks_acquire();
  sinks.event = sink;
  sinks.event_ctx = ctx;
  sinks_release();
}

static int is_control(char c) { return (unsigned char)c < 0x20 || c == 0x7f; }

void ih_log_set_level(enum ih_log_level max_level) { log_max_level = max_level; }

const char *ih_log_level_name(enum ih_log_level level)
{
  switch (level) {
  case IH_LOG_ERROR: return "ERROR";
  case IH_LOG_WARNING: return "WARNING";
  case IH_LOG_INFO: return "INFO";
  case IH_LOG_DEBUG: return "DEBUG";
  }
  return "?";
}

size_t ih_log_format(char *out, size_t cap, int64_t unix_time, enum ih_log_level level, enum ih_event_id id,
                     const char *message)
{
  if (cap == 0)
    return 0;
  ih_utc u = ih_utc_from_unix(unix_time);
  int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ %s IH%04d ", u.year, u.month, u.day, u.hour, u.minute,
                   u.second, ih_log_level_name(level), (int)id);
  if (n < 0)
    n = 0;
  size_t pos = (size_t)n < cap ? (size_t)n : cap - 1;
  for (const char *p = message; *p && pos + 2 < cap; p++)
    out[pos++] = is_control(*p) ? '?' : *p;
  if (pos + 1 < cap)
    out[pos++] = '\n';
  out[pos] = '\0';
  return pos;
}

void ih_log(enum ih_log_level level, enum ih_event_id id, const char *fmt, ...)
{
  if (level > log_max_level)
    return;
  sinks_acquire();
  log_sinks s = sinks;
  sinks_release();
  if (!s.line && !s.event)
    return;
  char message[IH_LOG_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  if (s.line) {
    char line[IH_LOG_MESSAGE_MAX + 64]; /* + "TIME LEVEL IHnnnn " and "\n" */
    size_t len = ih_log_format(line, sizeof line, ih_wall_seconds(), level, id, message);
    s.line(s.line_ctx, level, line, len);
  }
  if (s.event) {
    for (char *p = message; *p; p++) /* as in the line: one event, one line of text */
      if (is_control(*p))
        *p = '?';
    s.event(s.event_ctx, level, id, message);
  }
}

unsigned long long ih_log_throttle_hit(ih_log_throttle *t, uint64_t now_ms, uint64_t interval_ms)
{
  atomic_fetch_add(&t->unreported, 1);
  unsigned long long next = atomic_load(&t->next_ms);
  if (now_ms < next)
    return 0;
  /* One thread wins the line; the count it takes includes every
   * occurrence added before the exchange, each reported exactly once. */
  if (!atomic_compare_exchange_strong(&t->next_ms, &next, now_ms + interval_ms))
    return 0;
  return atomic_exchange(&t->unreported, 0);
}
