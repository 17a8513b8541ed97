/* Server (operations) log: one line per event, "TIME LEVEL IHnnnn message".
 * Formatting is portable; where lines go is set by the platform (a writer
 * thread on Windows, a capture buffer in tests). */
#ifndef IH_SERVER_LOG_H
#define IH_SERVER_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/events.h"
#include "core/ih_compiler.h"

/* Receives one formatted line (with trailing "\n", NUL-terminated). */
typedef void (*ih_log_sink)(void *ctx, enum ih_log_level level, const char *line, size_t len);

void ih_log_set_sink(ih_log_sink sink, void *ctx);
void ih_log_set_level(enum ih_log_level max_level); /* default IH_LOG_INFO */
void ih_log(enum ih_log_level level, enum ih_event_id id, const char *fmt, ...)
    IH_PRINTF(3, 4);

/* Pure formatter used by ih_log: returns the line length (<= cap-1). Control
 * bytes in the message are replaced so one event is always one line. */
size_t ih_log_format(char *out, size_t cap, int64_t unix_time, enum ih_log_level level, enum ih_event_id id,
                     const char *message);
const char *ih_log_level_name(enum ih_log_level level);

#endif
