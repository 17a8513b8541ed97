/* ISAPI extension DLLs through their genuine entry points: LoadLibraryEx,
 * GetExtensionVersion (once, under a per-DLL lock), HttpExtensionProc,
 * TerminateExtension(HSE_TERM_MUST_UNLOAD) and FreeLibrary only when no
 * request is in flight (Apache's CVE-2010-0425 unloaded under live
 * callbacks). Win32 only.
 *
 * Each DLL is in one state:
 *   UNLOADED  not loaded; the next request loads it
 *   LOADING   LoadLibraryEx and GetExtensionVersion are running (on a
 *             thread of their own, up to startup_time_limit); requests wait
 *   READY     loaded; requests run
 *   DRAINING  an unload (operator or stop) waits for the requests in flight
 *             to finish; new requests are held until it ends
 *   STOPPED   unloaded by an operator's stop; requests get 503 until start
 *   STUCK     the load did not return within startup_time_limit (IH2013):
 *             requests get 503, operator actions are refused, and the DLL is
 *             never called (TerminateExtension included) nor unloaded again,
 *             until the server restarts
 * A drain that does not finish within isapi_unload_timeout gives up: the DLL
 * goes back to READY (IIS locks a loaded DLL's file until the service stops,
 * KB Q197890; an unload lets an operator replace it without a stop). */
#ifndef IH_ISAPI_DLL_WIN32_H
#define IH_ISAPI_DLL_WIN32_H

#include <windows.h>
#include <httpext.h>
#include <stddef.h>

#include "core/config.h"

typedef struct ih_isapi_dll ih_isapi_dll;

/* Registers the DLLs the configuration names (script and wildcard maps), so
 * an operator sees and can stop them before their first request, and takes
 * isapi_unload_timeout and startup_time_limit. Until it is called, drains
 * do not wait and loads are waited for 90 s. */
void ih_isapi_dll_configure(const ih_config *cfg);

/* The extension at path (UTF-8), loaded on first use; concurrent first
 * callers wait for the one GetExtensionVersion call, and callers arriving
 * while the DLL drains are held until the drain ends. Counts one request in
 * flight until ih_isapi_dll_release. NULL when the DLL is not usable: the
 * reason is written to err and *http_status says what the request gets:
 * 500 when it cannot be loaded (named with the Win32 error and logged,
 * IH2002; retried on a later request, as IIS does), 503 when an operator
 * stopped it, it is STUCK, or the server is unloading every DLL.
 * nested: a request made by a request in flight (HSE_REQ_EXEC_URL); it is
 * not held by a drain that may be waiting for its parent. */
ih_isapi_dll *ih_isapi_dll_acquire_status(const char *path, BOOL nested, int *http_status, char *err, size_t err_cap);
/* ih_isapi_dll_acquire_status for a request that is not nested, without the status. */
ih_isapi_dll *ih_isapi_dll_acquire(const char *path, char *err, size_t err_cap);
void ih_isapi_dll_release(ih_isapi_dll *dll);
/* HttpExtensionProc under the crash guard: a fault is logged (IH2006) and
 * returned as HSE_STATUS_ERROR. */
DWORD ih_isapi_dll_call(ih_isapi_dll *dll, EXTENSION_CONTROL_BLOCK *ecb);
const char *ih_isapi_dll_path(const ih_isapi_dll *dll);
/* A crash outside HttpExtensionProc (a completion callback), and a call
 * reported stuck: counted for the metrics page. */
void ih_isapi_dll_count_fault(ih_isapi_dll *dll);
void ih_isapi_dll_count_stuck(ih_isapi_dll *dll);
/* TRUE the first time key is seen for this DLL: messages logged "once per
 * DLL" (unsupported ServerSupportFunction codes use their code as the key,
 * misuse kinds IH_ISAPI_DLL_LOG_MISUSE + n). */
#define IH_ISAPI_DLL_LOG_KEYS 2112
#define IH_ISAPI_DLL_LOG_MISUSE 2048
BOOL ih_isapi_dll_first_time(ih_isapi_dll *dll, unsigned key);
const char *ih_isapi_dll_description(const ih_isapi_dll *dll);

/* Drains, terminates and unloads every loaded DLL (IH2003), waiting for
 * requests in flight up to isapi_unload_timeout in all; a DLL still in use
 * then is left loaded and reported (IH2004). Requests arriving meanwhile
 * get 503. Returns how many were left. Called at stop, after the extension
 * pool stopped. */
int ih_isapi_dll_unload_all(void);

/* ---- operator actions (the Win32 side of the ext_admin hook,
 * isapi_admin_win32.c) ---- */

enum ih_isapi_dll_action { IH_DLL_UNLOAD, IH_DLL_RELOAD, IH_DLL_STOP, IH_DLL_START };
const char *ih_isapi_dll_action_name(enum ih_isapi_dll_action action);

/* One DLL as the operator interface lists it. */
typedef struct ih_isapi_dll_info {
  char path[MAX_PATH * 3];
  const char *state;          /* "unloaded", "loading", "ready", "draining", "stopped", "stuck" */
  long in_flight;             /* requests counted on it (running, PENDING, async I/O) */
  long held;                  /* requests waiting for a drain or a load to end */
  unsigned loads;             /* successful loads since the server started */
  unsigned long long calls;   /* HttpExtensionProc calls since the server started */
  unsigned long long faults;  /* crashes inside it (HttpExtensionProc or a completion callback) */
  unsigned long long stuck;   /* calls that ran past isapi_stuck_timeout */
  const char *action;         /* the operator action in progress, or NULL */
  char description[HSE_MAX_EXT_DLL_NAME_LEN + 1]; /* from the last GetExtensionVersion */
} ih_isapi_dll_info;

/* Fills *out for the i-th known DLL; FALSE past the last one. */
BOOL ih_isapi_dll_info_at(size_t i, ih_isapi_dll_info *out);

/* Claims the DLL named path (as configured: case-insensitive, either slash)
 * for action. Returns 0 and *out on success, the caller then runs
 * ih_isapi_dll_run (on a thread of its own: it waits up to
 * isapi_unload_timeout) or ih_isapi_dll_abandon. Otherwise an HTTP status
 * with the reason in why: 404 unknown DLL, 409 another action in progress
 * or the action does not apply to the state, 503 the server is stopping. */
int ih_isapi_dll_begin(const char *path, enum ih_isapi_dll_action action, ih_isapi_dll **out, char *why,
                       size_t why_cap);
/* Runs a claimed action to its end and logs its outcome (IH2011). */
void ih_isapi_dll_run(ih_isapi_dll *dll, enum ih_isapi_dll_action action);
/* Gives a claimed action back without running it (IH2011). */
void ih_isapi_dll_abandon(ih_isapi_dll *dll, enum ih_isapi_dll_action action, const char *why);

/* The platform's ext_admin hook (server/conn.h): action NULL lists the DLLs;
 * "unload", "reload", "stop" or "start" starts that action on dll on a
 * thread of its own. Writes a JSON body and returns the HTTP status. */
int ih_isapi_admin(const char *action, const char *dll, char *json, size_t cap);
/* The states a DLL can be in (ih_isapi_dll_info.state), in a fixed order:
 * the metrics family isapihost_isapi_extension_state lists them all, and a
 * worker reports a DLL's by its index here. */
#define IH_ISAPI_DLL_STATE_COUNT 6
extern const char *const ih_isapi_dll_states[IH_ISAPI_DLL_STATE_COUNT];
unsigned ih_isapi_dll_state_index(const char *state);

/* The extension DLLs' families for the metrics page (core/metrics_text.h),
 * from the listing's figures (docs/operations.md, "Metrics"): the DLLs of
 * this process with pool and worker empty, then, in each family, the rows
 * more writes (the worker pools' DLLs: family 0-4 are calls, faults, stuck
 * calls, in flight, loads; 5 is the state). */
struct ih_mtext;
enum { IH_ISAPI_FAMILY_STATE = 5 };
void ih_isapi_metrics_text(struct ih_mtext *t, void (*more)(struct ih_mtext *t, int family, void *ctx), void *ctx);

#endif
