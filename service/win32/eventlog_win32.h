/* Windows Event Log for the NT service: the event source's registration
 * (installer, `isapihost install`), and an ih_log event sink that reports
 * the events an operator watches for (every ERROR and WARNING, and the INFO
 * lifecycle events IH1000-IH1099) with the message table in messages.mc.
 * server.log keeps every event either way. */
#ifndef IH_EVENTLOG_WIN32_H
#define IH_EVENTLOG_WIN32_H

#include <windows.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/events.h"

/* Creates (or updates) HKLM\SYSTEM\CurrentControlSet\Services\EventLog\
 * Application\<source> with EventMessageFile = exe_path (REG_EXPAND_SZ; the
 * module carrying the message table, isapihost.exe) and TypesSupported = 7
 * (error, warning, information). Needs an administrator. Returns 0, or -1
 * with the reason and the Win32 error in err. */
int ih_eventlog_register_source(const wchar_t *source, const wchar_t *exe_path, char *err, size_t err_cap);
/* Removes that key. Returns 0 (also when it was not there), or -1 with the
 * reason in err. */
int ih_eventlog_unregister_source(const wchar_t *source, char *err, size_t err_cap);

/* Opens the source (RegisterEventSourceW) and installs the ih_log event
 * sink: from then on the events ih_eventlog_wanted() accepts are reported
 * by a thread of their own, so a logging thread never waits for the Event
 * Log service. Returns 0, or -1 with GetLastError() set (the server can run
 * on without the Event Log). Call start and stop from one thread. */
int ih_eventlog_start(const wchar_t *source);
/* Removes the sink, reports what is queued (waiting at most a few seconds
 * for the Event Log service), closes the source. */
void ih_eventlog_stop(void);

/* Waits until the events queued so far are reported, at most timeout_ms
 * (none when the sink is not running). Any thread; for a process about to
 * end without ih_eventlog_stop. */
void ih_eventlog_flush(DWORD timeout_ms);

/* Whether an event goes to the Event Log: ERROR and WARNING, and INFO with
 * an ID in the lifecycle range 1000-1099. */
bool ih_eventlog_wanted(enum ih_log_level level, enum ih_event_id id);
/* The full message-table ID of an event (severity bits as in messages.mc),
 * what ReportEventW needs to find its message; 0 for an unknown ID. */
DWORD ih_eventlog_message_id(enum ih_event_id id);

/* Counts since ih_eventlog_start: events reported, ReportEventW failures,
 * and events dropped because the queue was full (the next reported event
 * says how many). */
typedef struct ih_eventlog_counts {
  unsigned long reported;
  unsigned long failed;
  unsigned long dropped;
} ih_eventlog_counts;
void ih_eventlog_get_counts(ih_eventlog_counts *out);

#endif
