/* Server log formatting and dispatch (see server_log.h). */
#include "core/server_log.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/ih_thread.h"
#include "core/ih_time.h"

static ih_log_sink log_sink;
static void *log_sink_ctx;
static enum ih_log_level log_max_level = IH_LOG_INFO;

void ih_log_set_sink(ih_log_sink sink, void *ctx)
{
  log_sink = sink;
  log_sink_ctx = ctx;
}

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
    out[pos++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
  if (pos + 1 < cap)
    out[pos++] = '\n';
  out[pos] = '\0';
  return pos;
}

void ih_log(enum ih_log_level level, enum ih_event_id id, const char *fmt, ...)
{
  if (level > log_max_level || !log_sink)
    return;
  char message[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  char line[1200];
  size_t len = ih_log_format(line, sizeof line, ih_wall_seconds(), level, id, message);
  log_sink(log_sink_ctx, level, line, len);
}
