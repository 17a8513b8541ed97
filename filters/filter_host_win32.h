/* ISAPI filters, the Win32 half: loads the filter DLLs through their genuine
 * entry points (GetFilterVersion, HttpFilterProc, TerminateFilter; IIS 6 SDK
 * ms525465, ms525878, ms525148) and turns one portable notification
 * (filters/filter_chain.h) into one HttpFilterProc call with the httpfilt.h
 * structures, under the crash guard (isapi/shared/isapi_guard_win32.h). The order
 * of filters, what their callbacks do to the connection and when each
 * notification fires are the portable half's. Win32 only.
 *
 * Lifetime of a filter DLL: loaded once at start, before the listeners
 * open; one that could not be loaded is retried every
 * IH_FILTER_RETRY_MS by the sweep thread and joins its chains when it
 * loads; terminated and unloaded at stop, after every connection has had
 * its END_OF_NET_SESSION, and never while a connection is left (a late
 * notification would call into unmapped code). A load (LoadLibraryEx and
 * GetFilterVersion) is waited for up to startup_time_limit; a filter that
 * has not returned by then is stuck (IH3006): not loaded, never retried,
 * called or unloaded again. */
#ifndef IH_FILTER_HOST_WIN32_H
#define IH_FILTER_HOST_WIN32_H

#include <windows.h>
#include <stdint.h>

#include "filters/filter_chain.h"
#include "server/conn.h"

#define IH_FILTER_RETRY_MS 10000u

/* Creates the current generation's filter table and loads every filter
 * (IH3001 for each one loaded, IH3002 for each one that is not, IH3006 for
 * one stuck past startup_time_limit), then builds the chains. A filter that does not load never stops the start:
 * its sites answer 503 (on_load_error = fail) or run without it (skip).
 * Returns -1 only when out of memory (logged). */
int ih_filter_host_start(ih_server *server);
/* Before ih_filter_host_start: only filters for which in_scope is true are
 * loaded (a worker process loads the global filters and those of its
 * pool's sites, as IIS 6 loads a site's filters in the w3wp of its
 * application pool). Default: every filter. */
void ih_filter_host_set_scope(bool (*in_scope)(const ih_filter_conf *conf));

/* Loads again the filters that failed to load and, if any now loads,
 * rebuilds the chains. Cheap when nothing failed; the caller (the sweep
 * thread) calls it at most every IH_FILTER_RETRY_MS. A retry that fails
 * for the same reason as before is not logged again. */
void ih_filter_host_retry(void);

/* How many configured filters are not loaded and not stuck (what a retry
 * would try). */
unsigned ih_filter_host_failed(void);

/* Terminates (TerminateFilter(0)) and unloads every loaded filter (IH3004)
 * and frees the current generation's table, once no connection is left; with connections
 * still live (a drain that timed out) it leaves everything loaded and
 * allocated and says so (IH3004 WARNING). Called at stop. */
void ih_filter_host_stop(ih_server *server);

/* A reloaded configuration (gen, not current yet) gets a filter table of
 * its own pointing at the DLLs already loaded. Filters are not reloaded:
 * when its [filter] sections differ from the running ones, -1 and why
 * (the reload is refused; a restart applies them). */
int ih_filter_host_rebind(ih_server *server, ih_generation *gen, char *why, size_t cap);
/* Makes gen (rebound above) current. Under the filter host's lock, so a
 * retry cannot run in between: a filter a retry loaded into the current
 * table since the rebind is taken over by gen's table first (otherwise
 * gen would load it a second time). */
void ih_filter_host_publish(ih_server *server, ih_generation *gen);

/* The platform's filter_call hook (server/conn.h): one HttpFilterProc call
 * for notification type (IH_SF_NOTIFY_*) with its portable payload, on the
 * calling thread, the connection's lock held. Returns the filter's
 * SF_STATUS_* (an unknown value becomes IH_SF_STATUS_REQ_NEXT_NOTIFICATION,
 * IH3005) or IH_SF_STATUS_FAULTED when the filter faulted (IH3003) or left
 * the notification's structure unusable (IH3005). c may be NULL when the
 * filter's callbacks will not need the connection (tests). */
uint32_t ih_filter_host_call(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload);

/* The module a loaded filter runs in (NULL when not loaded), for tests and
 * messages. */
HMODULE ih_filter_host_module(const ih_filter *f);

/* "PREPROC_HEADERS" etc. for one IH_SF_NOTIFY_* bit; "?" otherwise. */
const char *ih_filter_notification_name(uint32_t type);

#endif
