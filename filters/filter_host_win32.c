/* Filter DLLs and HttpFilterProc calls (see filter_host_win32.h).
 *
 * Loading runs at start (one thread, before any connection), on a retry
 * thread, and at stop; host.lock keeps those apart. A call
 * (ih_filter_host_call) never takes it: it runs only for filters that are
 * in a chain, and a filter enters a chain only once loaded and leaves
 * only at stop, when no connection is left.
 *
 * A DLL that is both a filter and an extension is one module: both hosts
 * load it with LoadLibraryExW of the path as configured, converted the
 * same way (ih_win32_path), and the Windows loader returns the module it
 * already mapped for the same file, counting one more reference (MSDN
 * LoadLibraryEx and FreeLibrary: the loader keeps a per-process reference
 * count per module, runs DllMain only when it first maps it, and unmaps
 * it when FreeLibrary brings the count to zero). So the filter and the
 * extension share their globals, as they do in IIS, where filters and
 * extensions run in the same worker process; each host's FreeLibrary drops
 * only its own reference. Copying the file or loading it through another
 * name of the same file (an 8.3 name, a hard link, a \\?\ form) could map a
 * second, separate copy, so neither host ever does.
 *
 * LoadLibraryEx and GetFilterVersion run on a thread of their own (the
 * loader both hosts share, isapi/shared/isapi_dll_load_win32.h), waited
 * for up to startup_time_limit (dll_entry_win32.h), so a filter that never
 * returns cannot hold the start (or a retry, or the stop waiting for the
 * retry) for ever. Such a filter is STUCK: not loaded, its sites answer 503
 * or run without it as on_load_error says, and it is never tried, called
 * or unloaded again; its ih_filter.handle is &stuck_filter, which nothing
 * else uses, so a reload's table (take_load_state) keeps knowing it. */
#include "filters/filter_host_win32.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server_log.h"
#include "dll_entry_win32.h"
#include "filters/filter_call_win32.h"
#include "isapi/shared/isapi_dll_load_win32.h"
#include "isapi/shared/isapi_guard_win32.h"

/* Longest string accepted back from a filter in HTTP_FILTER_LOG. */
#define LOG_FIELD_MAX (64u * 1024u)

static struct {
  SRWLOCK lock;         /* start, retry and stop against each other */
  ih_server *server;
  volatile LONG failed; /* configured filters not loaded */
  volatile LONG retrying;
  BOOL stopped;
} host = { SRWLOCK_INIT, NULL, 0, 0, FALSE };

static const char *scope_of(const ih_filter *f, char *buf, size_t cap)
{
  if (!f->conf->site)
    return "global";
  snprintf(buf, cap, "site %s", f->conf->site->name);
  return buf;
}

/* f->error may be read by a connection (a 503 naming the filter) while a
 * retry rewrites it: the last byte stays NUL (the table is zeroed and only
 * [0, size - 2] is ever written), so a reader always finds an end. */
static void set_error(ih_filter *f, const char *text)
{
  size_t n = strlen(text);
  if (n > sizeof f->error - 2)
    n = sizeof f->error - 2;
  memcpy(f->error, text, n);
  f->error[n] = '\0';
}

/* ---- guarded entry points ---- */

typedef struct terminate_call {
  flt_terminate_fn fn;
} terminate_call;

static flt_dll stuck_filter; /* the handle of a filter whose load never returned */

static bool is_stuck(const ih_filter *f) { return f->handle == &stuck_filter; }

static void run_terminate(void *arg)
{
  terminate_call *t = arg;
  t->fn(0); /* "No values for dwFlags have been identified" (ms525148); the return value is ignored */
}

static void run_proc(void *arg)
{
  flt_call *k = arg;
  k->rc = k->dll->proc(k->pfc, (DWORD)k->type, k->notification);
}

/* ---- loading ---- */

/* GetFilterVersion is told the server's filter revision (ms525465). */
static BOOL call_version(FARPROC entry, ih_dll_version_info *info)
{
  info->filter.dwServerFilterVersion = HTTP_FILTER_REVISION;
  return ((flt_get_version_fn)(void (*)(void))entry)(&info->filter);
}

static const ih_dll_load_kind filter_kind = {
  .kind = "filter",
  .version_entry = "GetFilterVersion",
  .proc_entry = "HttpFilterProc",
  .terminate_entry = "TerminateFilter",
  .call_version = call_version,
  /* SetLastError(0) before FALSE asks IIS not to log an error event
   * (ms525465); the filter still does not load. */
  .declined = "the filter declined to load",
  .late_event = IH_EV_FILTER_STARTUP_TIME_LIMIT,
  .late_consequence = "the filter stays unloaded until the server restarts",
};

/* One attempt at f's DLL (isapi/shared/isapi_dll_load_win32.h), waited for
 * up to limit_ms. On success *out is the loaded filter and ver its
 * GetFilterVersion answer; else why (for f->error), *code, and *outcome
 * says how it failed (STUCK: the DLL did not return in time; WRONG_BITNESS:
 * built for the other bitness, never handed to the loader). */
static flt_dll *load_dll(const ih_filter *f, DWORD limit_ms, HTTP_FILTER_VERSION *ver, char *why, size_t cap,
                         DWORD *code, enum ih_dll_load_outcome *outcome)
{
  char who[MAX_PATH * 3 + 160];
  snprintf(who, sizeof who, "filter %s (%s)", f->conf->name, f->conf->dll_path);
  ih_dll_loaded m;
  enum ih_dll_load_outcome r = ih_dll_load(&filter_kind, f->conf->dll_path, who, limit_ms, &m, why, cap, code);
  *outcome = r;
  if (r != IH_DLL_LOAD_OK)
    return NULL;
  *ver = m.info.filter;
  flt_dll *d = calloc(1, sizeof *d);
  if (!d) {
    *code = ERROR_NOT_ENOUGH_MEMORY;
    *outcome = IH_DLL_LOAD_FAILED;
    snprintf(why, cap, "out of memory (Win32 error %lu)", *code);
    FreeLibrary(m.module); /* GetFilterVersion ran: the SDK offers no way back but TerminateFilter */
    return NULL;
  }
  ver->lpszFilterDesc[SF_MAX_FILTER_DESC_LEN - 1] = '\0'; /* never trust the DLL to terminate it */
  d->module = m.module;
  d->proc = (flt_proc_fn)(void (*)(void))m.proc;
  d->terminate = (flt_terminate_fn)(void (*)(void))m.terminate;
  d->filter_version = ver->dwFilterVersion;
  memcpy(d->description, ver->lpszFilterDesc, sizeof d->description);
  return d;
}

/* What happens to f's requests while it is not loaded, in words, until
 * `until` ("it loads", "the server restarts"). */
static const char *consequence_of(const ih_filter *f, const char *until, char *buf, size_t cap)
{
  if (f->conf->skip_on_load_error)
    snprintf(buf, cap, "requests are served without it (on_load_error = skip)");
  else if (!f->conf->site)
    snprintf(buf, cap, "every site answers 503 until %s (on_load_error = fail)", until);
  else
    snprintf(buf, cap, "site %s answers 503 until %s (on_load_error = fail)", f->conf->site->name, until);
  return buf;
}

/* Loads f (not loaded, not stuck), waiting up to limit_ms, and logs the
 * outcome; quiet_if_same: a retry whose failure is the one already
 * reported says nothing. TRUE when loaded. */
static BOOL load_filter(ih_filter *f, DWORD limit_ms, BOOL quiet_if_same)
{
  HTTP_FILTER_VERSION ver;
  char why[sizeof f->error];
  DWORD code = 0;
  enum ih_dll_load_outcome outcome = IH_DLL_LOAD_FAILED;
  char scope[160], consequence[240];
  flt_dll *d = load_dll(f, limit_ms, &ver, why, sizeof why, &code, &outcome);
  if (!d && outcome == IH_DLL_LOAD_STUCK) {
    set_error(f, why);
    f->handle = &stuck_filter; /* loaded stays false: never in a chain, never retried */
    ih_log(IH_LOG_ERROR, IH_EV_FILTER_STARTUP_TIME_LIMIT,
           "filter %s (%s, %s) not loaded: %s; %s; it is not tried, called or unloaded again until the server "
           "restarts",
           f->conf->name, f->conf->dll_path, scope_of(f, scope, sizeof scope), why,
           consequence_of(f, "the server restarts", consequence, sizeof consequence));
    return FALSE;
  }
  if (!d) {
    BOOL same = strcmp(f->error, why) == 0;
    set_error(f, why);
    if (quiet_if_same && same)
      return FALSE;
    /* a DLL of the other bitness: IH3007, else as any failure, IH3002 */
    BOOL wrong_bitness = outcome == IH_DLL_LOAD_WRONG_BITNESS;
    ih_log(code == 0 ? IH_LOG_WARNING : IH_LOG_ERROR,
           wrong_bitness ? IH_EV_FILTER_WRONG_BITNESS : IH_EV_FILTER_LOAD_FAILED,
           "filter %s (%s, %s) not loaded: %s; %s; tried again every %u s", f->conf->name, f->conf->dll_path,
           scope_of(f, scope, sizeof scope), why, consequence_of(f, "it loads", consequence, sizeof consequence),
           IH_FILTER_RETRY_MS / 1000u);
    return FALSE;
  }
  char words[400];
  flt_describe_flags(ver.dwFlags, words, sizeof words);
  f->flags = ver.dwFlags;
  f->handle = d;
  f->error[0] = '\0';
  /* flags and handle before loaded: a rebuild running on another CPU, or a
   * reader of the chains it makes, must never see loaded without them. */
  MemoryBarrier();
  f->loaded = true;
  ih_log(IH_LOG_INFO, IH_EV_FILTER_LOADED, "filter %s loaded from %s (%s): \"%s\", filter version %u.%u; %s",
         f->conf->name, f->conf->dll_path, scope_of(f, scope, sizeof scope), d->description,
         (unsigned)HIWORD(d->filter_version), (unsigned)LOWORD(d->filter_version), words);
  return TRUE;
}

/* Which filters this process loads (a worker: those of its pool's sites
 * and the global ones); NULL: all. */
static bool (*filter_scope)(const ih_filter_conf *conf);

void ih_filter_host_set_scope(bool (*in_scope)(const ih_filter_conf *conf)) { filter_scope = in_scope; }

static bool out_of_scope(const ih_filter *f) { return filter_scope && !filter_scope(f->conf); }

int ih_filter_host_start(ih_server *server)
{
  ih_isapi_guard_install();
  flt_token_init();
  ih_generation *gen = ih_server_current(server);
  ih_filter_table *t = ih_filter_table_new(gen->config);
  if (!t) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "out of memory (filter table)");
    return -1;
  }
  AcquireSRWLockExclusive(&host.lock);
  host.server = server;
  host.stopped = FALSE;
  gen->filters = t;
  LONG failed = 0;
  DWORD limit_ms = gen->config->server.startup_time_limit * 1000u;
  for (size_t i = 0; i < t->count; i++) {
    t->filters[i].error[sizeof t->filters[i].error - 1] = '\0'; /* set_error's invariant */
    if (out_of_scope(&t->filters[i])) {
      /* Another pool's site's filter: never loaded here, never tried again;
       * no request of that site comes to this process. */
      snprintf(t->filters[i].error, sizeof t->filters[i].error, "its site is served by another pool");
      t->filters[i].elsewhere = true;
      continue;
    }
    if (!load_filter(&t->filters[i], limit_ms, FALSE) && !is_stuck(&t->filters[i]))
      failed++;
  }
  InterlockedExchange(&host.failed, failed);
  int rc = ih_filter_table_build(t);
  ReleaseSRWLockExclusive(&host.lock);
  if (rc != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "out of memory (filter chains)");
    return -1;
  }
  return 0;
}

unsigned ih_filter_host_failed(void) { return (unsigned)host.failed; }

/* The work of a retry, on the retry thread (or a test's). */
static void retry_now(void)
{
  AcquireSRWLockExclusive(&host.lock);
  /* A reference: a reload may publish a new generation meanwhile and
   * release this one. */
  ih_generation *gen = host.server ? ih_server_acquire(host.server) : NULL;
  ih_filter_table *t = gen ? gen->filters : NULL;
  if (!host.stopped && t) {
    LONG failed = 0;
    BOOL any = FALSE;
    DWORD limit_ms = gen->config->server.startup_time_limit * 1000u;
    for (size_t i = 0; i < t->count; i++) {
      ih_filter *f = &t->filters[i];
      if (f->loaded || is_stuck(f) || f->elsewhere)
        continue;
      if (load_filter(f, limit_ms, TRUE))
        any = TRUE;
      else if (!is_stuck(f))
        failed++;
    }
    if (any && ih_filter_table_build(t) != 0)
      ih_log(IH_LOG_ERROR, IH_EV_FILTER_LOAD_FAILED,
             "out of memory rebuilding the filter chains; filters loaded since start are not called yet");
    InterlockedExchange(&host.failed, failed); /* last: a waiter sees the chains rebuilt */
  }
  if (gen)
    ih_generation_release(gen);
  ReleaseSRWLockExclusive(&host.lock);
}

static DWORD WINAPI retry_main(LPVOID arg)
{
  (void)arg;
  retry_now();
  InterlockedExchange(&host.retrying, 0);
  return 0;
}

/* On a thread of its own: DllMain and GetFilterVersion may take their
 * time, and the sweep thread that asks drives every connection's timers. */
void ih_filter_host_retry(void)
{
  if (host.failed == 0 || host.stopped || InterlockedCompareExchange(&host.retrying, 1, 0) != 0)
    return;
  HANDLE th = CreateThread(NULL, 0, retry_main, NULL, 0, NULL);
  if (th)
    CloseHandle(th);
  else
    InterlockedExchange(&host.retrying, 0); /* the next sweep tries again */
}

/* ---- a reloaded configuration ---- */

static bool same_text(const char *a, const char *b) { return (!a && !b) || (a && b && strcmp(a, b) == 0); }

/* Whether two configurations have the same filters, in the same order, for
 * the same sites (by name). */
static bool same_filters(const ih_config *a, const ih_config *b, char *why, size_t cap)
{
  if (a->filter_count != b->filter_count) {
    snprintf(why, cap, "the [filter] sections changed (%zu before, %zu now)", a->filter_count, b->filter_count);
    return false;
  }
  for (size_t i = 0; i < a->filter_count; i++) {
    const ih_filter_conf *x = &a->filters[i], *y = &b->filters[i];
    if (!same_text(x->name, y->name) || !same_text(x->dll_path, y->dll_path) ||
        !same_text(x->site ? x->site->name : NULL, y->site ? y->site->name : NULL) ||
        x->skip_on_load_error != y->skip_on_load_error) {
      snprintf(why, cap, "[filter %s] changed", y->name);
      return false;
    }
  }
  return true;
}

/* f (a reloaded table's) takes the DLL o (the running table's) loaded, or
 * o's failure: the same module, never loaded twice. */
static void take_load_state(ih_filter *f, const ih_filter *o)
{
  f->flags = o->flags;
  f->handle = o->handle;
  memcpy(f->error, o->error, sizeof f->error);
  f->loaded = o->loaded;
  f->elsewhere = o->elsewhere;
}

int ih_filter_host_rebind(ih_server *server, ih_generation *gen, char *why, size_t cap)
{
  AcquireSRWLockExclusive(&host.lock);
  ih_filter_table *old = ih_server_current(server)->filters;
  int rc = -1;
  if (!old) {
    snprintf(why, cap, "the filter host is not running");
  } else if (same_filters(old->cfg, gen->config, why, cap)) {
    ih_filter_table *t = ih_filter_table_new(gen->config);
    if (!t) {
      snprintf(why, cap, "out of memory");
    } else {
      /* The same DLLs, loaded once: the new table points at them. */
      for (size_t i = 0; i < t->count; i++)
        take_load_state(&t->filters[i], &old->filters[i]);
      if (ih_filter_table_build(t) != 0) {
        ih_filter_table_free(t);
        snprintf(why, cap, "out of memory");
      } else {
        gen->filters = t;
        rc = 0;
      }
    }
  }
  ReleaseSRWLockExclusive(&host.lock);
  return rc;
}

void ih_filter_host_publish(ih_server *server, ih_generation *gen)
{
  AcquireSRWLockExclusive(&host.lock);
  const ih_filter_table *old = ih_server_current(server)->filters;
  ih_filter_table *t = gen->filters;
  bool taken = false;
  for (size_t i = 0; old && t && i < t->count && i < old->count; i++) {
    /* loaded, or stuck, by a retry since the rebind: either way never loaded again */
    const ih_filter *was = &old->filters[i];
    if ((was->loaded && !t->filters[i].loaded) || (is_stuck(was) && !is_stuck(&t->filters[i]))) {
      take_load_state(&t->filters[i], &old->filters[i]);
      taken = true;
    }
  }
  if (taken && ih_filter_table_build(t) != 0)
    ih_log(IH_LOG_ERROR, IH_EV_FILTER_LOAD_FAILED,
           "out of memory rebuilding the filter chains; filters loaded since start are not called yet");
  ih_server_generation_publish(server, gen);
  ReleaseSRWLockExclusive(&host.lock);
}

/* ---- stopping ---- */

void ih_filter_host_stop(ih_server *server)
{
  /* Waits for a retry in progress; none starts after this. */
  AcquireSRWLockExclusive(&host.lock);
  host.stopped = TRUE;
  ih_generation *gen = ih_server_current(server);
  ih_filter_table *t = gen->filters;
  if (!t) {
    ReleaseSRWLockExclusive(&host.lock);
    return;
  }
  long long live = atomic_load(&server->counters.connections_live);
  if (live > 0) {
    /* END_OF_NET_SESSION is delivered as each connection is destroyed; a
     * connection still here may yet deliver it, so its filters' code must
     * stay mapped and the table allocated. */
    size_t loaded = 0;
    for (size_t i = 0; i < t->count; i++)
      loaded += t->filters[i].loaded;
    if (loaded)
      ih_log(IH_LOG_WARNING, IH_EV_FILTER_UNLOADED,
             "%lld connection(s) still open after the drain: %zu filter(s) left loaded, TerminateFilter not called",
             live, loaded);
    ReleaseSRWLockExclusive(&host.lock);
    return;
  }
  for (size_t i = 0; i < t->count; i++) {
    ih_filter *f = &t->filters[i];
    flt_dll *d = f->handle;
    if (!f->loaded || !d)
      continue;
    f->loaded = false;
    /* Registered while it runs: a filter that never returns from either
     * keeps the stop from finishing, and the stop watchdog names it (IH1012). */
    ih_dll_entry entry;
    ih_dll_entry_enter(&entry, "filter", f->conf->dll_path, "TerminateFilter");
    DWORD fault = 0;
    void *fault_at = NULL;
    if (d->terminate) {
      terminate_call tc = { d->terminate };
      fault = ih_isapi_guarded(run_terminate, &tc, &fault_at);
    }
    if (fault)
      ih_log(IH_LOG_ERROR, IH_EV_FILTER_CRASHED, "filter %s (%s) crashed in TerminateFilter (exception 0x%08lx at %p)",
             f->conf->name, f->conf->dll_path, fault, fault_at);
    /* The module stays mapped while the extension host holds it too. */
    ih_dll_entry_set(&entry, "FreeLibrary (DllMain)");
    FreeLibrary(d->module);
    ih_dll_entry_leave(&entry);
    ih_log(IH_LOG_INFO, IH_EV_FILTER_UNLOADED, "filter %s (%s) unloaded (%s)", f->conf->name, f->conf->dll_path,
           !d->terminate ? "it exports no TerminateFilter" : fault ? "TerminateFilter faulted" : "after TerminateFilter(0)");
    f->handle = NULL;
    free(d);
  }
  gen->filters = NULL; /* older generations' tables share these DLLs: freed with the server, untouched */
  ih_filter_table_free(t);
  host.server = NULL;
  InterlockedExchange(&host.failed, 0);
  ReleaseSRWLockExclusive(&host.lock);
}

HMODULE ih_filter_host_module(const ih_filter *f)
{
  const flt_dll *d = f->loaded ? f->handle : NULL;
  return d ? d->module : NULL;
}

/* ---- one call ---- */

/* The notification structures a call may pass (httpfilt.h). */
typedef union flt_notification {
  HTTP_FILTER_RAW_DATA raw;
  HTTP_FILTER_PREPROC_HEADERS headers; /* also HTTP_FILTER_SEND_RESPONSE */
  HTTP_FILTER_AUTH_COMPLETE_INFO auth_complete;
  HTTP_FILTER_URL_MAP url_map;
  HTTP_FILTER_AUTHENT authent;
  HTTP_FILTER_ACCESS_DENIED denied;
  HTTP_FILTER_LOG log;
} flt_notification;

static DWORD dword_of(size_t n) { return n > 0xFFFFFFFFu ? 0xFFFFFFFFu : (DWORD)n; }
static const char *str_or_empty(const char *s) { return s ? s : ""; }

/* The httpfilt.h structure for type from the payload; NULL for the
 * notifications that have none (END_OF_REQUEST, END_OF_NET_SESSION: IIS
 * passes NULL) and for an unknown type. */
static void *prepare(uint32_t type, void *payload, flt_notification *n)
{
  memset(n, 0, sizeof *n);
  if (!payload)
    return NULL;
  switch (type) {
  case IH_SF_NOTIFY_READ_RAW_DATA:
  case IH_SF_NOTIFY_SEND_RAW_DATA: {
    ih_fn_raw *p = payload;
    n->raw.pvInData = p->data;
    n->raw.cbInData = dword_of(p->len);
    n->raw.cbInBuffer = dword_of(p->cap);
    return &n->raw;
  }
  case IH_SF_NOTIFY_PREPROC_HEADERS:
  case IH_SF_NOTIFY_SEND_RESPONSE: {
    ih_fn_headers *p = payload;
    n->headers.GetHeader = flt_cb_get_header;
    n->headers.SetHeader = flt_cb_set_header;
    n->headers.AddHeader = flt_cb_add_header;
    n->headers.HttpStatus = p->http_status;
    return &n->headers;
  }
  case IH_SF_NOTIFY_AUTH_COMPLETE: {
    ih_fn_headers *p = payload;
    n->auth_complete.GetHeader = flt_cb_get_header;
    n->auth_complete.SetHeader = flt_cb_set_header;
    n->auth_complete.AddHeader = flt_cb_add_header;
    n->auth_complete.GetUserToken = flt_cb_get_user_token;
    n->auth_complete.HttpStatus = p->http_status;
    n->auth_complete.fResetAuth = FALSE;
    return &n->auth_complete;
  }
  case IH_SF_NOTIFY_URL_MAP: {
    ih_fn_url_map *p = payload;
    n->url_map.pszURL = str_or_empty(p->url);
    n->url_map.pszPhysicalPath = p->physical;
    n->url_map.cbPathBuff = dword_of(p->cap);
    return &n->url_map;
  }
  case IH_SF_NOTIFY_AUTHENTICATION: {
    ih_fn_auth *p = payload;
    n->authent.pszUser = p->user;
    n->authent.cbUserBuff = dword_of(p->user_cap);
    n->authent.pszPassword = p->password;
    n->authent.cbPasswordBuff = dword_of(p->password_cap);
    return &n->authent;
  }
  case IH_SF_NOTIFY_ACCESS_DENIED: {
    ih_fn_denied *p = payload;
    n->denied.pszURL = str_or_empty(p->url);
    n->denied.pszPhysicalPath = str_or_empty(p->physical);
    n->denied.dwReason = p->reason;
    return &n->denied;
  }
  case IH_SF_NOTIFY_LOG: {
    ih_fn_log *p = payload;
    n->log.pszClientHostName = str_or_empty(p->client_host);
    n->log.pszClientUserName = str_or_empty(p->client_user);
    n->log.pszServerName = str_or_empty(p->server_name);
    n->log.pszOperation = str_or_empty(p->operation);
    n->log.pszTarget = str_or_empty(p->target);
    n->log.pszParameters = str_or_empty(p->parameters);
    n->log.dwHttpStatus = p->http_status;
    n->log.dwWin32Status = p->win32_status;
    n->log.dwBytesSent = p->bytes_sent;
    n->log.dwBytesRecvd = p->bytes_received;
    n->log.msTimeForProcessing = p->ms_taken;
    return &n->log;
  }
  default:
    return NULL;
  }
}

/* A string buffer of ours the filter may have edited in place (or, against
 * the SDK, pointed elsewhere): NUL-terminated within cap afterwards. */
static void take_string(flt_call *k, char *ours, size_t cap, const char *theirs, const char *field)
{
  if (!ours || cap == 0)
    return;
  if (theirs != ours) {
    size_t len;
    if (theirs && ih_isapi_string(theirs, cap, &len)) {
      memmove(ours, theirs, len + 1); /* their buffer: copied into ours, which the server reads */
      return;
    }
    flt_misuse(k, FLT_MISUSE_BAD_RESULT, "%s replaced by a pointer that is not a readable string shorter than %zu bytes; ignored",
               field, cap);
  }
  if (!memchr(ours, '\0', cap)) {
    ours[cap - 1] = '\0';
    flt_misuse(k, FLT_MISUSE_UNTERMINATED, "%s left without a NUL within its %zu bytes; cut", field, cap);
  }
}

/* A log field the filter may have pointed elsewhere: the strings are
 * read-only but their pointers replaceable, with memory that stays valid
 * (AllocMem'd or static; IIS 5 SDK "HTTP_FILTER_LOG", reference section
 * 2.7). It must be a readable string: the server copies it right after the
 * call. NULL is taken as "". */
static void take_log_field(flt_call *k, const char **field, const char *passed, const char *now, const char *name)
{
  if (now == passed)
    return;
  size_t len;
  if (!now)
    *field = "";
  else if (ih_isapi_string(now, LOG_FIELD_MAX, &len))
    *field = now;
  else
    flt_misuse(k, FLT_MISUSE_BAD_RESULT, "HTTP_FILTER_LOG.%s points at no readable string (up to %u bytes); ignored",
               name, LOG_FIELD_MAX);
}

/* Copies back what the filter may change. FALSE when it left something the
 * server cannot use (logged): the connection is closed. */
static BOOL finish(flt_call *k, flt_notification *n)
{
  if (!k->notification)
    return TRUE;
  switch (k->type) {
  case IH_SF_NOTIFY_READ_RAW_DATA:
  case IH_SF_NOTIFY_SEND_RAW_DATA: {
    ih_fn_raw *p = k->payload;
    if (n->raw.pvInData == p->data || n->raw.cbInData == 0) {
      /* In place (or nothing left): the bytes are in our buffer, up to its
       * size; a filter claiming more overran it or lies. */
      size_t len = n->raw.cbInData;
      if (len > p->cap) {
        flt_misuse(k, FLT_MISUSE_RAW_LEN,
                   "cbInData %lu is larger than the buffer (cbInBuffer %zu) pvInData still points at; cut to %zu",
                   (unsigned long)n->raw.cbInData, p->cap, p->cap);
        len = p->cap;
      }
      p->len = len;
      return TRUE;
    }
    /* A buffer of the filter's own (AllocMem'd or static, which must stay
     * valid: ms525733); the server copies from it after the call. Its true
     * size cannot be known; at least every byte claimed must be readable. */
    if (!n->raw.pvInData || !ih_isapi_readable(n->raw.pvInData, n->raw.cbInData)) {
      flt_misuse(k, FLT_MISUSE_BAD_RESULT, "pvInData replaced by %p, whose %lu bytes cannot be read; connection closed",
                 n->raw.pvInData, (unsigned long)n->raw.cbInData);
      return FALSE;
    }
    p->data = n->raw.pvInData;
    p->len = n->raw.cbInData;
    /* Only the claimed bytes are known to be there: a later filter may
     * edit them in place, not grow them (cbInBuffer is the filter's word). */
    p->cap = n->raw.cbInData;
    return TRUE;
  }
  case IH_SF_NOTIFY_PREPROC_HEADERS:
  case IH_SF_NOTIFY_SEND_RESPONSE: {
    ih_fn_headers *p = k->payload;
    p->http_status = n->headers.HttpStatus;
    return TRUE;
  }
  case IH_SF_NOTIFY_AUTH_COMPLETE: {
    /* fResetAuth has nothing to reset: requests are anonymous here. */
    ih_fn_headers *p = k->payload;
    p->http_status = n->auth_complete.HttpStatus;
    return TRUE;
  }
  case IH_SF_NOTIFY_URL_MAP: {
    ih_fn_url_map *p = k->payload;
    take_string(k, p->physical, p->cap, n->url_map.pszPhysicalPath, "HTTP_FILTER_URL_MAP.pszPhysicalPath");
    return TRUE;
  }
  case IH_SF_NOTIFY_AUTHENTICATION: {
    ih_fn_auth *p = k->payload;
    take_string(k, p->user, p->user_cap, n->authent.pszUser, "HTTP_FILTER_AUTHENT.pszUser");
    take_string(k, p->password, p->password_cap, n->authent.pszPassword, "HTTP_FILTER_AUTHENT.pszPassword");
    return TRUE;
  }
  case IH_SF_NOTIFY_LOG: {
    ih_fn_log *p = k->payload;
    flt_notification passed;
    prepare(IH_SF_NOTIFY_LOG, p, &passed); /* what we handed over, to see what changed */
    take_log_field(k, &p->client_host, passed.log.pszClientHostName, n->log.pszClientHostName, "pszClientHostName");
    take_log_field(k, &p->client_user, passed.log.pszClientUserName, n->log.pszClientUserName, "pszClientUserName");
    take_log_field(k, &p->server_name, passed.log.pszServerName, n->log.pszServerName, "pszServerName");
    take_log_field(k, &p->operation, passed.log.pszOperation, n->log.pszOperation, "pszOperation");
    take_log_field(k, &p->target, passed.log.pszTarget, n->log.pszTarget, "pszTarget");
    take_log_field(k, &p->parameters, passed.log.pszParameters, n->log.pszParameters, "pszParameters");
    p->http_status = n->log.dwHttpStatus;
    p->win32_status = n->log.dwWin32Status;
    p->bytes_sent = n->log.dwBytesSent;
    p->bytes_received = n->log.dwBytesRecvd;
    p->ms_taken = n->log.msTimeForProcessing;
    return TRUE;
  }
  default:
    return TRUE;
  }
}

uint32_t ih_filter_host_call(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  flt_dll *d = f->handle;
  if (!f->loaded || !d || !fc)
    return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
  flt_notification n;
  flt_call k = { .c = c, .fc = fc, .f = f, .dll = d, .type = type, .payload = payload };
  k.notification = prepare(type, payload, &n);
  HTTP_FILTER_CONTEXT ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.cbSize = sizeof ctx;
  ctx.Revision = HTTP_FILTER_REVISION;
  ctx.ServerContext = &k;
  ctx.fIsSecurePort = FALSE; /* no TLS here */
  ctx.pFilterContext = fc->contexts[f->slot];
  ctx.GetServerVariable = flt_cb_get_server_variable;
  ctx.AddResponseHeaders = flt_cb_add_response_headers;
  ctx.WriteClient = flt_cb_write_client;
  ctx.AllocMem = flt_cb_alloc_mem;
  ctx.ServerSupportFunction = flt_cb_server_support_function;
  k.pfc = &ctx;

  flt_call *outer = flt_current;
  bool was_in = fc->in_notification;
  flt_current = &k;
  fc->in_notification = true;
  void *fault_at = NULL;
  DWORD fault = ih_isapi_guarded(run_proc, &k, &fault_at);
  /* SF_STATUS_REQ_ERROR: "the server uses SetLastError's value"; kept for
   * the caller across what follows. */
  DWORD last_error = GetLastError();
  fc->in_notification = was_in;
  flt_current = outer;
  fc->contexts[f->slot] = ctx.pFilterContext; /* kept for the connection (END_OF_NET_SESSION frees it) */

  if (fault) {
    ih_log(IH_LOG_ERROR, IH_EV_FILTER_CRASHED,
           "filter %s (%s) crashed in HttpFilterProc(%s) (exception 0x%08lx at %p); the connection is closed, the "
           "server goes on",
           f->conf->name, f->conf->dll_path, ih_filter_notification_name(type), fault, fault_at);
    return IH_SF_STATUS_FAULTED;
  }
  uint32_t rc = k.rc;
  if (!finish(&k, &n))
    rc = IH_SF_STATUS_FAULTED;
  else if (rc < IH_SF_STATUS_REQ_FINISHED || rc > IH_SF_STATUS_REQ_READ_NEXT) {
    flt_misuse(&k, FLT_MISUSE_STATUS, "HttpFilterProc returned 0x%08lx, not an SF_STATUS_TYPE; taken as "
               "SF_STATUS_REQ_NEXT_NOTIFICATION", (unsigned long)k.rc);
    rc = IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
  }
  SetLastError(last_error);
  return rc;
}
