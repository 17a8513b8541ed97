/* Server (operations) log: one line per event, "TIME LEVEL IHnnnn message".
 * Formatting is portable; where lines go is set by the platform (a writer
 * thread on Windows, a capture buffer in tests). An event sink also receives
 * each event as (level, ID, message), for a store that keeps those apart
 * (the Windows Event Log, service/win32/eventlog_win32.c). */
#ifndef IH_SERVER_LOG_H
#define IH_SERVER_LOG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/events.h"
#include "core/ih_compiler.h"

/* Longest message (bytes, NUL included) ih_log passes on; longer ones are cut. */
#define IH_LOG_MESSAGE_MAX 1024

/* Receives one formatted line (with trailing "\n", NUL-terminated). */
typedef void (*ih_log_sink)(void *ctx, enum ih_log_level level, const char *line, size_t len);
/* Receives the message of one event alone: no time, level or ID, control
 * bytes replaced as in the line, NUL-terminated, < IH_LOG_MESSAGE_MAX bytes. */
typedef void (*ih_log_event_sink)(void *ctx, enum ih_log_level level, enum ih_event_id id, const char *message);

/* Both sinks are called, line sink first, for every ih_log that passes the
 * level filter; either may be NULL (none set). Sinks are called on the
 * logging thread, so they must be thread-safe. They may be set or removed
 * while other threads log: each call sees a consistent (sink, ctx) pair, but
 * a call that began before a removal may still reach the old sink just
 * after ih_log_set_*sink returns, so a removed sink must cope with that (its
 * ctx stays valid, or it checks its own state). A sink must not call ih_log. */
void ih_log_set_sink(ih_log_sink sink, void *ctx);
void ih_log_set_event_sink(ih_log_event_sink sink, void *ctx);
void ih_log_set_level(enum ih_log_level max_level); /* default IH_LOG_INFO */
void ih_log(enum ih_log_level level, enum ih_event_id id, const char *fmt, ...)
    IH_PRINTF(3, 4);

/* Pure formatter used by ih_log: returns the line length (<= cap-1). Control
 * bytes in the message are replaced so one event is always one line. */
size_t ih_log_format(char *out, size_t cap, int64_t unix_time, enum ih_log_level level, enum ih_event_id id,
                     const char *message);
const char *ih_log_level_name(enum ih_log_level level);

/* A recurring event that is normal traffic (clients that reset before the
 * accept completes) or a flood (the same error over and over): counted at
 * every occurrence, written at most once per interval with the count since
 * the last line, so the log stays readable and nothing goes uncounted. The
 * first occurrence is written at once. Zero-initialised state is ready;
 * any number of threads may call it at once. */
#define IH_LOG_FLOOD_INTERVAL_MS 60000u /* one line a minute, at most, per throttled event */

typedef struct ih_log_throttle {
  atomic_ullong unreported; /* occurrences not yet in a line */
  atomic_ullong next_ms;    /* clock time before which no line is due */
} ih_log_throttle;

/* Counts one occurrence at now_ms (ih_clock_ms). Returns how many
 * occurrences the caller's line is to report (>= 1) when a line is due, or
 * 0 when it is not: then the occurrence waits for the next line. Exactly one
 * caller gets each due line. */
unsigned long long ih_log_throttle_hit(ih_log_throttle *t, uint64_t now_ms, uint64_t interval_ms);

#endif
