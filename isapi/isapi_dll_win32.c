/* Extension DLL lifecycle (see isapi_dll_win32.h).
 *
 * The registry is a small append-only array under one SRW lock, searched by
 * path (case-insensitive: NTFS). Each entry has its own SRW lock and
 * condition variable: the lock guards the entry's state, the variable
 * wakes whoever waits for a state change (requests held while the DLL
 * loads or drains, a drain waiting for the last request, the stop waiting
 * for an operator's action). No lock is ever held while DLL code runs:
 * GetExtensionVersion runs in LOADING and TerminateExtension in DRAINING,
 * states that make everyone else wait, so a DLL's load happens once even
 * when its first requests arrive together (mod_isapi keeps a per-DLL lock
 * for the same reason) and a DLL that blocks in an entry point blocks only
 * its own requests.
 *
 * GetExtensionVersion (with LoadLibraryEx, whose DllMain may block too)
 * runs on a thread of its own, waited for up to startup_time_limit
 * (dll_entry_win32.h); a DLL that does not return by then is STUCK: its
 * requests get 503 and nothing ever calls or unloads it again.
 *
 * in_flight is incremented under the entry's lock (shared on the fast
 * path) and decremented without it; the decrement that reaches zero passes
 * through the lock before waking, so a drain that saw a non-zero count
 * under the lock is already asleep when the wake comes. */
#include "isapi/isapi_dll_win32.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server_log.h"
#include "dll_entry_win32.h"
#include "isapi/shared/isapi_dll_load_win32.h"
#include "isapi/shared/isapi_guard_win32.h"

#define MAX_DLLS 256
#define NO_ACTION (-1)
#define DEFAULT_STARTUP_LIMIT_MS 90000u /* config.c's startup_time_limit default */

enum dll_state { DLL_UNLOADED, DLL_LOADING, DLL_READY, DLL_DRAINING, DLL_STOPPED, DLL_STUCK };
static const char *const state_names[] = { "unloaded", "loading", "ready", "draining", "stopped", "stuck" };

struct ih_isapi_dll {
  char path[MAX_PATH * 3];
  SRWLOCK lock;
  CONDITION_VARIABLE changed;
  enum dll_state state;
  BOOL terminating;           /* DRAINING with nothing in flight: TerminateExtension/FreeLibrary run */
  int acting;                 /* the operator action that owns the DLL (enum ih_isapi_dll_action), or NO_ACTION */
  HMODULE module;
  PFN_HTTPEXTENSIONPROC proc;
  PFN_TERMINATEEXTENSION terminate; /* optional export */
  char description[HSE_MAX_EXT_DLL_NAME_LEN + 1];
  unsigned loads;
  long held;
  volatile LONG in_flight;
  volatile LONG64 calls;  /* HttpExtensionProc calls (the metrics page) */
  volatile LONG64 faults; /* crashes inside the DLL: HttpExtensionProc, completion callbacks */
  volatile LONG64 stuck;  /* calls that ran past isapi_stuck_timeout (IH2007 logged) */
  volatile LONG logged[IH_ISAPI_DLL_LOG_KEYS / 32]; /* ih_isapi_dll_first_time bits */
};

static SRWLOCK registry_lock = SRWLOCK_INIT;
static ih_isapi_dll *registry[MAX_DLLS];
static size_t registry_count;
/* ih_isapi_dll_unload_all is running: requests and operator actions are refused. */
static volatile LONG unloading_all;
/* isapi_unload_timeout; 0 (no wait) until ih_isapi_dll_configure, for
 * callers that use the registry without a configuration (tests). */
static DWORD unload_timeout_ms;
/* startup_time_limit: how long a load (LoadLibraryEx, GetExtensionVersion)
 * is waited for */
static volatile DWORD startup_limit_ms = DEFAULT_STARTUP_LIMIT_MS;

/* Windows paths compare without case and with either separator: one DLL
 * reached as a script map and as a direct URL is loaded once. */
static bool same_path(const char *a, const char *b)
{
  for (; *a && *b; a++, b++) {
    char x = *a == '/' ? '\\' : *a, y = *b == '/' ? '\\' : *b;
    if (x != y && tolower((unsigned char)x) != tolower((unsigned char)y))
      return false;
  }
  return *a == *b;
}

static ih_isapi_dll *find(const char *path, bool add)
{
  AcquireSRWLockExclusive(&registry_lock);
  ih_isapi_dll *found = NULL;
  for (size_t i = 0; i < registry_count && !found; i++)
    if (same_path(registry[i]->path, path))
      found = registry[i];
  if (!found && add && registry_count < MAX_DLLS && strlen(path) < sizeof found->path) {
    found = calloc(1, sizeof *found);
    if (found) {
      strcpy(found->path, path);
      InitializeSRWLock(&found->lock);
      InitializeConditionVariable(&found->changed);
      found->acting = NO_ACTION;
      registry[registry_count++] = found;
    }
  }
  ReleaseSRWLockExclusive(&registry_lock);
  return found;
}

/* The registry's entries never move or go away: [0, count) stays valid. */
static size_t known_count(void)
{
  AcquireSRWLockShared(&registry_lock);
  size_t n = registry_count;
  ReleaseSRWLockShared(&registry_lock);
  return n;
}

/* Wakes d's waiters after a change made under its lock (already released). */
static void changed(ih_isapi_dll *d) { WakeAllConditionVariable(&d->changed); }

/* Sleeps on d's variable (its lock held exclusively) until woken or the
 * deadline (GetTickCount64); FALSE once the deadline has passed. */
static BOOL wait_until(ih_isapi_dll *d, ULONGLONG deadline)
{
  ULONGLONG now = GetTickCount64();
  if (now >= deadline)
    return FALSE;
  ULONGLONG left = deadline - now;
  SleepConditionVariableSRW(&d->changed, &d->lock, left < INFINITE ? (DWORD)left : INFINITE - 1, 0);
  return TRUE;
}

void ih_isapi_dll_configure(const ih_config *cfg)
{
  unload_timeout_ms = cfg->server.isapi_unload_timeout * 1000u;
  startup_limit_ms = cfg->server.startup_time_limit * 1000u;
  for (size_t s = 0; s < cfg->site_count; s++) {
    const ih_site *site = &cfg->sites[s];
    for (size_t i = 0; i < site->script_map_count; i++)
      find(site->script_maps[i].dll_path, true);
    for (size_t i = 0; i < site->wildcard_map_count; i++)
      find(site->wildcard_maps[i].dll_path, true);
  }
}

/* ---- loading ---- */

static BOOL call_version(FARPROC entry, ih_dll_version_info *info)
{
  return ((PFN_GETEXTENSIONVERSION)(void (*)(void))entry)(&info->extension);
}

static const ih_dll_load_kind extension_kind = {
  .kind = "extension",
  .version_entry = "GetExtensionVersion",
  .proc_entry = "HttpExtensionProc",
  .terminate_entry = "TerminateExtension",
  .call_version = call_version,
  .declined = NULL,
  .late_event = IH_EV_EXT_STARTUP_TIME_LIMIT,
  .late_consequence = "the DLL stays out of service until the server restarts",
};

/* What a successful load yields, committed to the entry under its lock. */
typedef struct loaded {
  HMODULE module;
  PFN_HTTPEXTENSIONPROC proc;
  PFN_TERMINATEEXTENSION terminate;
  HSE_VERSION_INFO info;
} loaded;

/* One load (isapi/shared/isapi_dll_load_win32.h), logged when it fails:
 * IH2002 (tried again on a later request), IH2014 for a DLL of the other
 * bitness (a failure like IH2002's: that request gets 500, a later one
 * reads the file again, which may have been replaced), or IH2013 when
 * stuck. */
static enum ih_dll_load_outcome load_module(const char *path, loaded *out, char *err, size_t cap)
{
  char who[MAX_PATH * 3 + 16], why[512];
  snprintf(who, sizeof who, "extension %s", path);
  DWORD limit = startup_limit_ms, code = 0;
  ih_dll_loaded m;
  enum ih_dll_load_outcome r = ih_dll_load(&extension_kind, path, who, limit, &m, why, sizeof why, &code);
  if (r == IH_DLL_LOAD_STUCK) {
    snprintf(err, cap, "%s: %s", path, why);
    ih_log(IH_LOG_ERROR, IH_EV_EXT_STARTUP_TIME_LIMIT,
           "extension %s; the DLL is out of service until the server restarts (its requests get 503) and is never "
           "called or unloaded again",
           err);
    return r;
  }
  if (r == IH_DLL_LOAD_WRONG_BITNESS) {
    snprintf(err, cap, "%s: %s", path, why);
    ih_log(IH_LOG_ERROR, IH_EV_EXT_WRONG_BITNESS, "extension %s not loaded: %s; its requests get 500", path, why);
    return IH_DLL_LOAD_FAILED;
  }
  if (r == IH_DLL_LOAD_FAILED) {
    snprintf(err, cap, "%s: %s", path, why);
    ih_log(IH_LOG_ERROR, IH_EV_EXT_LOAD_FAILED, "extension %s", err);
    return r;
  }
  out->info = m.info.extension;
  out->info.lpszExtensionDesc[HSE_MAX_EXT_DLL_NAME_LEN - 1] = '\0'; /* never trust the DLL to terminate it */
  out->module = m.module;
  out->proc = (PFN_HTTPEXTENSIONPROC)(void (*)(void))m.proc;
  out->terminate = (PFN_TERMINATEEXTENSION)(void (*)(void))m.terminate;
  return r;
}

/* Loads d, whose state the caller moved to LOADING (its lock not held):
 * LOADING makes everyone else wait, so this thread alone decides the
 * outcome. READY on success; STUCK when the DLL did not return within
 * startup_time_limit; else UNLOADED (a later request tries again). */
static enum ih_dll_load_outcome load_owned(ih_isapi_dll *d, char *err, size_t cap)
{
  loaded m;
  enum ih_dll_load_outcome outcome = load_module(d->path, &m, err, cap);
  AcquireSRWLockExclusive(&d->lock);
  if (outcome == IH_DLL_LOAD_OK) {
    d->module = m.module;
    d->proc = m.proc;
    d->terminate = m.terminate;
    memcpy(d->description, m.info.lpszExtensionDesc, sizeof m.info.lpszExtensionDesc);
    d->loads++;
    d->state = DLL_READY;
  } else {
    d->state = outcome == IH_DLL_LOAD_STUCK ? DLL_STUCK : DLL_UNLOADED;
  }
  ReleaseSRWLockExclusive(&d->lock);
  changed(d);
  if (outcome == IH_DLL_LOAD_OK)
    ih_log(IH_LOG_INFO, IH_EV_EXT_LOADED, "extension %s loaded: \"%s\", ISAPI %u.%u", d->path,
           m.info.lpszExtensionDesc, (unsigned)HIWORD(m.info.dwExtensionVersion),
           (unsigned)LOWORD(m.info.dwExtensionVersion));
  return outcome;
}

/* ---- requests ---- */

ih_isapi_dll *ih_isapi_dll_acquire_status(const char *path, BOOL nested, int *http_status, char *err, size_t err_cap)
{
  *http_status = 500;
  ih_isapi_dll *d = find(path, true);
  if (!d) {
    snprintf(err, err_cap, "%s: too many extension DLLs or path too long", path);
    ih_log(IH_LOG_ERROR, IH_EV_EXT_LOAD_FAILED, "extension %s", err);
    return NULL;
  }
  /* Fast path: loaded. The shared lock keeps a drain from starting between
   * the check and the count. */
  AcquireSRWLockShared(&d->lock);
  if (d->state == DLL_READY && !unloading_all) {
    InterlockedIncrement(&d->in_flight);
    ReleaseSRWLockShared(&d->lock);
    return d;
  }
  ReleaseSRWLockShared(&d->lock);

  AcquireSRWLockExclusive(&d->lock);
  BOOL ok = FALSE, waited = FALSE;
  for (;;) {
    if (unloading_all) {
      *http_status = 503;
      snprintf(err, err_cap, "%s: the server is stopping", path);
      break;
    }
    /* A nested request may be what the drain waits for (its parent): it
     * runs on the instance being drained rather than wait for the drain. */
    if (d->state == DLL_READY || (nested && d->state == DLL_DRAINING && !d->terminating)) {
      InterlockedIncrement(&d->in_flight);
      ok = TRUE;
      break;
    }
    if (d->state == DLL_STOPPED) {
      *http_status = 503;
      snprintf(err, err_cap, "%s: stopped by an operator", path);
      break;
    }
    if (d->state == DLL_STUCK) {
      *http_status = 503;
      snprintf(err, err_cap, "%s: did not finish loading within startup_time_limit; out of service until the server "
               "restarts", path);
      break;
    }
    if (d->state == DLL_UNLOADED) {
      d->state = DLL_LOADING;
      ReleaseSRWLockExclusive(&d->lock);
      enum ih_dll_load_outcome outcome = load_owned(d, err, err_cap);
      AcquireSRWLockExclusive(&d->lock);
      if (outcome == IH_DLL_LOAD_FAILED)
        break;
      continue; /* READY (unless an operator's drain began meanwhile) or STUCK */
    }
    /* LOADING or DRAINING: held until it ends. */
    if (!waited) {
      d->held++;
      waited = TRUE;
    }
    SleepConditionVariableSRW(&d->changed, &d->lock, INFINITE, 0);
  }
  if (waited)
    d->held--;
  ReleaseSRWLockExclusive(&d->lock);
  return ok ? d : NULL;
}

ih_isapi_dll *ih_isapi_dll_acquire(const char *path, char *err, size_t err_cap)
{
  int status;
  return ih_isapi_dll_acquire_status(path, FALSE, &status, err, err_cap);
}

void ih_isapi_dll_release(ih_isapi_dll *d)
{
  if (InterlockedDecrement(&d->in_flight) == 0) {
    /* A drain may wait for this: pass through the lock so the wake cannot
     * fall between its check of the count and its sleep. */
    AcquireSRWLockShared(&d->lock);
    ReleaseSRWLockShared(&d->lock);
    changed(d);
  }
}

DWORD ih_isapi_dll_call(ih_isapi_dll *d, EXTENSION_CONTROL_BLOCK *ecb)
{
  DWORD fault = 0;
  void *fault_at = NULL;
  InterlockedIncrement64(&d->calls);
  DWORD rc = ih_isapi_guarded_proc(d->proc, ecb, &fault, &fault_at);
  if (fault) {
    InterlockedIncrement64(&d->faults);
    ih_log(IH_LOG_ERROR, IH_EV_EXT_CRASHED,
           "extension %s crashed in HttpExtensionProc (exception 0x%08lx at %p); the request fails, the server goes on",
           d->path, fault, fault_at);
  }
  return rc;
}

void ih_isapi_dll_count_fault(ih_isapi_dll *d) { InterlockedIncrement64(&d->faults); }
void ih_isapi_dll_count_stuck(ih_isapi_dll *d) { InterlockedIncrement64(&d->stuck); }

BOOL ih_isapi_dll_first_time(ih_isapi_dll *d, unsigned key)
{
  if (key >= IH_ISAPI_DLL_LOG_KEYS)
    key = IH_ISAPI_DLL_LOG_KEYS - 1;
  LONG bit = (LONG)(1UL << (key % 32));
  return (InterlockedOr(&d->logged[key / 32], bit) & bit) == 0;
}

const char *ih_isapi_dll_path(const ih_isapi_dll *d) { return d->path; }
const char *ih_isapi_dll_description(const ih_isapi_dll *d) { return d->description; }

/* ---- draining and unloading ---- */

enum drain_result { DRAIN_UNLOADED, DRAIN_NOT_LOADED, DRAIN_GAVE_UP };

/* The one unload path (operator actions and the stop). The caller owns d
 * (an action claimed it, or the stop refuses everything else). New requests
 * are held (DRAINING) until the requests in flight are done, counting
 * PENDING sessions and outstanding asynchronous I/O until their memory goes
 * (isapi_call_win32.h), so nothing can call into the DLL once the count is
 * zero; only then TerminateExtension(HSE_TERM_MUST_UNLOAD), which the SDK
 * calls after all outstanding requests finished (ms524470), and FreeLibrary.
 * The DLL then moves to `after` (UNLOADED, STOPPED, or LOADING for a reload
 * that keeps the held requests waiting for the new instance). Past the
 * deadline it gives up: back to READY, *left requests still in flight
 * (-1: GetExtensionVersion was still running). */
static enum drain_result drain(ih_isapi_dll *d, ULONGLONG deadline, enum dll_state after, const char *why, long *left)
{
  AcquireSRWLockExclusive(&d->lock);
  while (d->state == DLL_LOADING && wait_until(d, deadline))
    ;
  if (d->state == DLL_LOADING) {
    ReleaseSRWLockExclusive(&d->lock);
    *left = -1;
    return DRAIN_GAVE_UP;
  }
  if (d->state != DLL_READY) { /* nothing loaded */
    if (d->state == DLL_UNLOADED)
      d->state = after;
    ReleaseSRWLockExclusive(&d->lock);
    changed(d);
    return DRAIN_NOT_LOADED;
  }
  d->state = DLL_DRAINING;
  while (d->in_flight > 0 && wait_until(d, deadline))
    ;
  if (d->in_flight > 0) {
    *left = d->in_flight;
    d->state = DLL_READY; /* the held requests go on with the loaded instance */
    ReleaseSRWLockExclusive(&d->lock);
    changed(d);
    return DRAIN_GAVE_UP;
  }
  d->terminating = TRUE;
  HMODULE module = d->module;
  PFN_TERMINATEEXTENSION terminate = d->terminate;
  ReleaseSRWLockExclusive(&d->lock);

  /* Registered while it runs: a DLL that never returns from either keeps a
   * stop from finishing, and the stop watchdog names it (IH1012). */
  ih_dll_entry entry;
  ih_dll_entry_enter(&entry, "extension", d->path, "TerminateExtension");
  DWORD fault = 0;
  if (terminate && !ih_isapi_guarded_terminate(terminate, HSE_TERM_MUST_UNLOAD, &fault))
    ih_log(IH_LOG_ERROR, IH_EV_EXT_CRASHED, "extension %s crashed in TerminateExtension (exception 0x%08lx)",
           d->path, fault);
  ih_dll_entry_set(&entry, "FreeLibrary (DllMain)");
  FreeLibrary(module);
  ih_dll_entry_leave(&entry);

  AcquireSRWLockExclusive(&d->lock);
  d->module = NULL;
  d->proc = NULL;
  d->terminate = NULL;
  d->terminating = FALSE;
  d->state = after;
  ReleaseSRWLockExclusive(&d->lock);
  changed(d);
  ih_log(IH_LOG_INFO, IH_EV_EXT_UNLOADED, "extension %s terminated and unloaded (%s)", d->path, why);
  return DRAIN_UNLOADED;
}

int ih_isapi_dll_unload_all(void)
{
  InterlockedExchange(&unloading_all, 1);
  ULONGLONG deadline = GetTickCount64() + unload_timeout_ms;
  size_t n = known_count();
  /* Requests held by an operator's drain now get 503 instead of a DLL
   * about to be unloaded. */
  for (size_t i = 0; i < n; i++) {
    AcquireSRWLockExclusive(&registry[i]->lock);
    ReleaseSRWLockExclusive(&registry[i]->lock);
    changed(registry[i]);
  }
  int busy = 0;
  for (size_t i = 0; i < n; i++) {
    ih_isapi_dll *d = registry[i];
    AcquireSRWLockExclusive(&d->lock);
    while (d->acting != NO_ACTION) /* an operator's action ends by its own deadline */
      SleepConditionVariableSRW(&d->changed, &d->lock, INFINITE, 0);
    BOOL loaded = d->state == DLL_READY || d->state == DLL_LOADING;
    ReleaseSRWLockExclusive(&d->lock);
    long left = 0;
    if (loaded && drain(d, deadline, DLL_UNLOADED, "server stop", &left) == DRAIN_GAVE_UP) {
      busy++;
      ih_log(IH_LOG_WARNING, IH_EV_EXT_BUSY_AT_UNLOAD,
             "extension %s still has %ld request(s) in flight after %lu s; left loaded", d->path, left,
             unload_timeout_ms / 1000ul);
    }
  }
  InterlockedExchange(&unloading_all, 0);
  return busy;
}

/* ---- operator actions ---- */

const char *ih_isapi_dll_action_name(enum ih_isapi_dll_action action)
{
  switch (action) {
  case IH_DLL_UNLOAD: return "unload";
  case IH_DLL_RELOAD: return "reload";
  case IH_DLL_STOP: return "stop";
  case IH_DLL_START: return "start";
  }
  return "?";
}

BOOL ih_isapi_dll_info_at(size_t i, ih_isapi_dll_info *out)
{
  if (i >= known_count())
    return FALSE;
  ih_isapi_dll *d = registry[i];
  AcquireSRWLockShared(&d->lock);
  memcpy(out->path, d->path, sizeof out->path);
  out->state = state_names[d->state];
  out->in_flight = d->in_flight;
  out->held = d->held;
  out->loads = d->loads;
  out->calls = (unsigned long long)d->calls;
  out->faults = (unsigned long long)d->faults;
  out->stuck = (unsigned long long)d->stuck;
  out->action = d->acting == NO_ACTION ? NULL : ih_isapi_dll_action_name((enum ih_isapi_dll_action)d->acting);
  memcpy(out->description, d->description, sizeof out->description);
  ReleaseSRWLockShared(&d->lock);
  return TRUE;
}

int ih_isapi_dll_begin(const char *path, enum ih_isapi_dll_action action, ih_isapi_dll **out, char *why,
                       size_t why_cap)
{
  const char *name = ih_isapi_dll_action_name(action);
  ih_isapi_dll *d = find(path, false);
  if (!d) {
    snprintf(why, why_cap, "no extension DLL %s is configured or has been requested", path);
    ih_log(IH_LOG_WARNING, IH_EV_EXT_ADMIN, "operator %s refused: %s", name, why);
    return 404;
  }
  int status = 0;
  long in_flight = 0;
  AcquireSRWLockExclusive(&d->lock);
  if (unloading_all) {
    status = 503;
    snprintf(why, why_cap, "the server is stopping");
  } else if (d->acting != NO_ACTION) {
    status = 409;
    snprintf(why, why_cap, "a %s of this DLL is in progress",
             ih_isapi_dll_action_name((enum ih_isapi_dll_action)d->acting));
  } else if (action == IH_DLL_START && d->state != DLL_STOPPED) {
    status = 409;
    snprintf(why, why_cap, "the DLL is not stopped (it is %s)", state_names[d->state]);
  } else if (action != IH_DLL_START && d->state == DLL_STOPPED) {
    status = 409;
    snprintf(why, why_cap, "the DLL is stopped; start it first");
  } else if (d->state == DLL_STUCK) {
    status = 409;
    snprintf(why, why_cap, "the DLL did not finish loading within startup_time_limit and is never called or "
             "unloaded again; restart the server");
  } else {
    d->acting = (int)action;
    in_flight = d->in_flight;
  }
  ReleaseSRWLockExclusive(&d->lock);
  if (status) {
    ih_log(IH_LOG_WARNING, IH_EV_EXT_ADMIN, "operator %s of extension %s refused: %s", name, d->path, why);
    return status;
  }
  if (action == IH_DLL_START)
    ih_log(IH_LOG_INFO, IH_EV_EXT_ADMIN, "operator start of extension %s", d->path);
  else
    ih_log(IH_LOG_INFO, IH_EV_EXT_ADMIN,
           "operator %s of extension %s: new requests are held while %ld in flight finish (up to %lu s)", name,
           d->path, in_flight, unload_timeout_ms / 1000ul);
  *out = d;
  return 0;
}

static void end_action(ih_isapi_dll *d)
{
  AcquireSRWLockExclusive(&d->lock);
  d->acting = NO_ACTION;
  ReleaseSRWLockExclusive(&d->lock);
  changed(d);
}

void ih_isapi_dll_abandon(ih_isapi_dll *d, enum ih_isapi_dll_action action, const char *why)
{
  ih_log(IH_LOG_ERROR, IH_EV_EXT_ADMIN, "operator %s of extension %s not started: %s",
         ih_isapi_dll_action_name(action), d->path, why);
  end_action(d);
}

/* Loads d again for an operator (reload, start) from LOADING, unless the
 * server has begun to stop meanwhile. */
static void load_for_operator(ih_isapi_dll *d, const char *name)
{
  if (unloading_all) {
    AcquireSRWLockExclusive(&d->lock);
    d->state = DLL_UNLOADED;
    ReleaseSRWLockExclusive(&d->lock);
    changed(d);
    ih_log(IH_LOG_WARNING, IH_EV_EXT_ADMIN, "%s of extension %s: not loaded again, the server is stopping", name,
           d->path);
    return;
  }
  AcquireSRWLockExclusive(&d->lock);
  enum dll_state state = d->state;
  ReleaseSRWLockExclusive(&d->lock);
  if (state != DLL_LOADING) {
    /* it got stuck loading for a request while this action drained it */
    ih_log(IH_LOG_WARNING, IH_EV_EXT_ADMIN, "%s of extension %s: not loaded again, it is %s", name, d->path,
           state_names[state]);
    return;
  }
  char err[600];
  enum ih_dll_load_outcome outcome = load_owned(d, err, sizeof err);
  if (outcome == IH_DLL_LOAD_OK)
    ih_log(IH_LOG_INFO, IH_EV_EXT_ADMIN, "%s of extension %s done: loaded, in service", name, d->path);
  else if (outcome == IH_DLL_LOAD_STUCK)
    ih_log(IH_LOG_ERROR, IH_EV_EXT_ADMIN, "%s of extension %s failed: %s; out of service until the server restarts",
           name, d->path, err);
  else
    ih_log(IH_LOG_ERROR, IH_EV_EXT_ADMIN, "%s of extension %s failed: %s; the next request tries to load it again",
           name, d->path, err);
}

void ih_isapi_dll_run(ih_isapi_dll *d, enum ih_isapi_dll_action action)
{
  const char *name = ih_isapi_dll_action_name(action);
  if (action == IH_DLL_START) {
    AcquireSRWLockExclusive(&d->lock);
    d->state = DLL_LOADING; /* from STOPPED (checked when claimed; only the owner leaves it) */
    ReleaseSRWLockExclusive(&d->lock);
    load_for_operator(d, name);
    end_action(d);
    return;
  }
  enum dll_state after = action == IH_DLL_STOP ? DLL_STOPPED : action == IH_DLL_RELOAD ? DLL_LOADING : DLL_UNLOADED;
  char why[32];
  snprintf(why, sizeof why, "operator %s", name);
  long left = 0;
  enum drain_result r = drain(d, GetTickCount64() + unload_timeout_ms, after, why, &left);
  if (r == DRAIN_GAVE_UP) {
    if (left < 0)
      ih_log(IH_LOG_WARNING, IH_EV_EXT_ADMIN,
             "%s of extension %s gave up after %lu s: GetExtensionVersion is still running", name, d->path,
             unload_timeout_ms / 1000ul);
    else
      ih_log(IH_LOG_WARNING, IH_EV_EXT_ADMIN,
             "%s of extension %s gave up after %lu s: %ld request(s) still in flight; the DLL stays in service "
             "and the held requests go on",
             name, d->path, unload_timeout_ms / 1000ul, left);
  } else if (action == IH_DLL_RELOAD) {
    load_for_operator(d, name);
  } else if (action == IH_DLL_STOP) {
    ih_log(IH_LOG_INFO, IH_EV_EXT_ADMIN, "stop of extension %s done%s: requests get 503 until start", d->path,
           r == DRAIN_NOT_LOADED ? " (it was not loaded)" : "");
  } else {
    ih_log(IH_LOG_INFO, IH_EV_EXT_ADMIN, "unload of extension %s done%s: the next request loads it again", d->path,
           r == DRAIN_NOT_LOADED ? " (it was not loaded)" : "");
  }
  end_action(d);
}
