/* Background log writer: the server log and one access log per site (W3C
 * or JSON lines, the site's log_format).
 * Request threads only queue lines; one thread writes them, so file I/O is
 * never on the request path. Access logs roll over daily (UTC, as IIS). */
#ifndef IH_LOGWRITER_WIN32_H
#define IH_LOGWRITER_WIN32_H

#include <windows.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/events.h"

/* Starts the writer; server log at <log_dir>/server.log. Also echoes server
 * log lines to stderr (an operator running in the foreground sees them).
 * Returns 0, or -1 with the reason logged to stderr. */
int ih_logwriter_start(const char *log_dir);
/* Waits until every line queued before the call is written (TRUE), at
 * most timeout_ms, and not at all once the writer has stopped (FALSE).
 * Any thread; for a process about to end without ih_logwriter_stop. */
BOOL ih_logwriter_flush(DWORD timeout_ms);
/* Writes everything queued, closes the files and stops the thread. */
void ih_logwriter_stop(void);
/* ih_log sink: queues one server log line. */
void ih_logwriter_server_line(void *ctx, enum ih_log_level level, const char *line, size_t len);
/* Queues one access-log line for site, formatted in site->log_format. */
void ih_logwriter_access_line(const ih_site *site, int64_t unix_time, const char *line, size_t len);
/* The same for a line formatted elsewhere (a worker process, with its own
 * configuration, which a reload may have changed since): format says which
 * file it belongs in. */
void ih_logwriter_access_line_as(const ih_site *site, enum ih_log_format format, int64_t unix_time, const char *line,
                                 size_t len);

#endif
