/* Worker pools in the service (pool_manager_win32.h).
 *
 * Each worker has a reader thread that polls its channel and sleeps on the
 * service's doorbell and the worker's process handle at once, so a worker
 * that dies is noticed at once: the thread reads what the worker managed
 * to send, then ends its requests (ih_relay_lost: 502, or the client's
 * connection closes) and leaves. Whether it crashed is decided by the
 * protocol, not the exit code (a stack overflow exits with 0 under Wine,
 * wine-notes): it crashed unless it said GOODBYE.
 *
 * One timer thread (tick) keeps every pool at strength, sends pings and
 * recycles. Locking: one lock (mgr.lock) over the pools' worker lists and
 * their health; the reader threads take it only to change a worker's
 * state. Workers are freed only by the timer thread, after their reader
 * thread has been joined. */
#include <windows.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_thread.h"
#include "core/metrics_text.h"
#include "core/server_log.h"
#include "file_win32.h"
#include "iocp_engine_win32.h"
#include "isapi/isapi_dll_win32.h"
#include "logwriter_win32.h"
#include "pool/channel.h"
#include "pool/pool_health.h"
#include "core/pool_identity.h"
#include "pool_identity_win32.h"
#include "pool_manager_win32.h"
#include "process_stats_win32.h"
#include "server/pipeline.h"
#include "server/relay.h"
#include "worker_channel_win32.h"

#define TICK_MS 250u

enum worker_state { W_STARTING, W_READY, W_RETIRING, W_DEAD };

typedef struct pool_rt pool_rt;

typedef struct worker {
  struct worker *next;
  pool_rt *pool;
  enum worker_state state;
  ih_worker_channel chan;
  ih_chan *ch;
  ih_relay_link *link;
  HANDLE process, reader;
  DWORD pid;
  uint64_t spawned_ms, ready_ms, retire_deadline_ms;
  volatile LONG goodbye, unhealthy, exited, recycle_asked, dll_changed, refused, config_changed;
  uint64_t ping_sent_ms, pong_ms, ping_seq;
  relay_pong last_pong;
  char *dll_stats;          /* its last DLL_STATS (relay.h), for the metrics page; under mgr.lock */
  size_t dll_stats_len;
  const char *calling_dll; /* unknown here: the worker's own crash log names it */
} worker;

struct pool_rt {
  const ih_pool_conf *conf;
  ih_pool_health health;
  ih_recycle_clock clock;
  worker *workers;
  unsigned next_pick;
  bool start_failure_logged;
  bool identity_logged;
  volatile LONG refused; /* a worker said it cannot serve this pool: stopped, not retried */
  uint64_t crashes_logged;
};

static struct {
  const ih_config *cfg;      /* the configuration started with */
  ih_server *server;         /* the server whose current configuration names the sites (attach) */
  char *config_path;
  char worker_dir[MAX_PATH];
  CRITICAL_SECTION lock;
  pool_rt *pools;
  size_t pool_count;
  HANDLE job, tick_thread, stop_event;
  bool started;
} mgr;

static uint64_t now_ms(void) { return ih_clock_ms(); }

/* Time since `since`, which another thread may have set after `now` was
 * read (a worker spawned by a request, a pong): 0 then, never a wrap. */
static uint64_t elapsed(uint64_t now, uint64_t since) { return now > since ? now - since : 0; }

/* ---- a worker's channel, read on its own thread ---- */

static void ring_service(void *ctx)
{
  worker *w = ctx;
  SetEvent(w->chan.wake_worker);
}

/* A worker's access line goes to its site's log as the current
 * configuration has it: a reload may have added the site, or moved its
 * log_dir. The generation is held while the line is queued (the writer
 * copies the directory). */
static void write_access_line(unsigned site_id, enum ih_log_format format, int64_t unix_time, const char *line,
                              size_t len)
{
  ih_generation *gen = mgr.server ? ih_server_acquire(mgr.server) : NULL;
  const ih_config *cfg = gen ? gen->config : mgr.cfg; /* the server is gone during a stop: the first one */
  for (size_t i = 0; cfg && i < cfg->site_count; i++)
    if (cfg->sites[i].id == site_id) {
      ih_logwriter_access_line_as(&cfg->sites[i], format, unix_time, line, len);
      break;
    }
  if (gen)
    ih_generation_release(gen);
}

void ih_pool_manager_attach(ih_server *server) { mgr.server = server; }

static void on_message(void *ctx, const ih_chan_msg *m)
{
  worker *w = ctx;
  switch (m->type) {
  case RELAY_READY:
    EnterCriticalSection(&mgr.lock);
    if (w->state == W_STARTING) {
      w->state = W_READY;
      w->ready_ms = now_ms();
      w->pong_ms = w->ready_ms;
      ih_pool_health_on_started(&w->pool->health, w->ready_ms);
    }
    LeaveCriticalSection(&mgr.lock);
    ih_log(IH_LOG_INFO, IH_EV_POOL_WORKER_STARTED, "pool %s: worker %lu ready (%u-bit) in %llu ms", w->pool->conf->name,
           w->pid, (unsigned)(sizeof(void *) * 8), (unsigned long long)(w->ready_ms - w->spawned_ms));
    return;
  case RELAY_PONG:
    if (m->len >= sizeof w->last_pong) {
      memcpy(&w->last_pong, m->payload, sizeof w->last_pong);
      w->pong_ms = now_ms();
    }
    return;
  case RELAY_EVENT: {
    relay_event_fixed f;
    if (m->len < sizeof f)
      return;
    memcpy(&f, m->payload, sizeof f);
    ih_log((enum ih_log_level)f.level, (enum ih_event_id)f.event_id, "[pool %s, worker %lu] %.*s", w->pool->conf->name,
           w->pid, (int)(m->len - sizeof f), (const char *)m->payload + sizeof f);
    return;
  }
  case RELAY_LOG: {
    relay_log_fixed f;
    if (m->len < sizeof f)
      return;
    memcpy(&f, m->payload, sizeof f);
    enum ih_log_format format = f.log_format == IH_LOG_FORMAT_JSON ? IH_LOG_FORMAT_JSON : IH_LOG_FORMAT_W3C;
    write_access_line(f.site_id, format, f.unix_time, (const char *)m->payload + sizeof f, m->len - sizeof f);
    return;
  }
  case RELAY_UNHEALTHY:
    if (!InterlockedExchange(&w->unhealthy, 1))
      ih_log(IH_LOG_WARNING, IH_EV_POOL_RECYCLE, "pool %s: worker %lu reports itself unhealthy (%.*s); it is recycled",
             w->pool->conf->name, w->pid, (int)m->len, (const char *)m->payload);
    return;
  case RELAY_REFUSED:
    InterlockedExchange(&w->refused, 1);
    if (!InterlockedExchange(&w->pool->refused, 1))
      ih_log(IH_LOG_ERROR, IH_EV_POOL_START_FAILED,
             "pool %s cannot run in a worker process: %.*s; the pool is stopped (its requests get 503) until the "
             "configuration changes and the server restarts",
             w->pool->conf->name, (int)m->len, (const char *)m->payload);
    return;
  case RELAY_DLL_CHANGED:
    if (!InterlockedExchange(&w->dll_changed, 1))
      ih_log(IH_LOG_INFO, IH_EV_POOL_SHADOW_COPY, "pool %s: %.*s changed on disk; worker %lu is recycled onto it",
             w->pool->conf->name, (int)m->len, (const char *)m->payload, w->pid);
    return;
  case RELAY_GOODBYE:
    InterlockedExchange(&w->goodbye, 1);
    return;
  case RELAY_DLL_STATS: {
    char *copy = m->len ? malloc(m->len) : NULL;
    if (m->len && !copy)
      return; /* the page keeps the last ones */
    if (copy)
      memcpy(copy, m->payload, m->len);
    EnterCriticalSection(&mgr.lock);
    free(w->dll_stats);
    w->dll_stats = copy;
    w->dll_stats_len = m->len;
    LeaveCriticalSection(&mgr.lock);
    return;
  }
  default:
    ih_relay_dispatch(w->link, m);
  }
}

static DWORD WINAPI reader_main(void *arg)
{
  worker *w = arg;
  HANDLE waits[2] = { w->chan.wake_service, w->process };
  for (;;) {
    ih_iocp_engine_batch_begin(); /* the sends it starts that complete at once finish here */
    int n = ih_chan_poll(w->ch, on_message, w, 256);
    ih_iocp_engine_batch_end();
    if (n < 0) {
      ih_log(IH_LOG_ERROR, IH_EV_POOL_PROTOCOL, "pool %s: worker %lu sent a malformed message; killing it",
             w->pool->conf->name, w->pid);
      TerminateProcess(w->process, 1);
      break;
    }
    if (n > 0 || ih_worker_channel_spin(w->ch))
      continue;
    if (!ih_chan_may_sleep(w->ch))
      continue;
    DWORD r = WaitForMultipleObjects(2, waits, FALSE, 1000);
    ih_chan_woke(w->ch);
    if (r == WAIT_OBJECT_0 + 1) {
      while (ih_chan_poll(w->ch, on_message, w, 256) > 0) {
      } /* what it sent before it went */
      break;
    }
  }
  /* Gone. First no request can pick it any more (so the client that gets
   * its request's 502 below and asks again reaches a new worker), then its
   * requests end. */
  DWORD code = 0;
  GetExitCodeProcess(w->process, &code);
  bool crashed = !w->goodbye && !w->refused;
  uint64_t now = now_ms();
  EnterCriticalSection(&mgr.lock);
  enum worker_state was = w->state;
  w->state = W_DEAD;
  enum ih_pool_state after = ih_pool_health_state(&w->pool->health);
  if (w->refused)
    ih_pool_health_on_stop(&w->pool->health, now);
  if (crashed && was == W_STARTING)
    after = ih_pool_health_on_start_failed(&w->pool->health, now);
  else if (crashed)
    after = ih_pool_health_on_crash(&w->pool->health, now);
  if (was == W_RETIRING)
    ih_pool_health_on_recycle_end(&w->pool->health, now);
  uint32_t retry = ih_pool_health_retry_after_s(&w->pool->health, now);
  LeaveCriticalSection(&mgr.lock);
  char which[512];
  size_t lost = ih_relay_lost(w->link, which, sizeof which);
  char words[IH_WORKER_LAST_WORDS];
  snprintf(words, sizeof words, "%s", w->chan.last_words);
  if (crashed)
    ih_log(IH_LOG_ERROR, IH_EV_POOL_WORKER_EXITED,
           "pool %s: worker %lu crashed (exit code 0x%08lx, without its goodbye%s%s) after %llu requests; %zu in "
           "flight failed%s%s; the next request gets a new worker",
           w->pool->conf->name, w->pid, code, words[0] ? ": " : "", words, (unsigned long long)ih_relay_link_requests(w->link),
           lost, lost ? ": " : "", which);
  else if (!w->refused)
    ih_log(IH_LOG_INFO, IH_EV_POOL_WORKER_EXITED, "pool %s: worker %lu exited after %llu requests", w->pool->conf->name,
           w->pid, (unsigned long long)ih_relay_link_requests(w->link));
  if (crashed && after == IH_POOL_FAILING)
    ih_log(IH_LOG_ERROR, IH_EV_POOL_FAILING,
           "pool %s is failing: %u crashes within %u s; requests get 503 with Retry-After: %u, and the pool tries again "
           "by itself",
           w->pool->conf->name, w->pool->conf->rapid_fail_max_crashes, w->pool->conf->rapid_fail_interval, retry);
  InterlockedExchange(&w->exited, 1);
  SetEvent(mgr.stop_event); /* wakes the tick: a replacement, soon */
  return 0;
}

/* ---- starting a worker ---- */

/* The program of p's bitness: the service's own worker, or on a 64-bit
 * service the x86 one installed beside it; NULL for a 64-bit pool on a
 * 32-bit service, which cannot be (no 64-bit code from a 32-bit process). */
static const char *worker_program(const pool_rt *p)
{
  unsigned own = (unsigned)(sizeof(void *) * 8);
  unsigned want = p->conf->bitness_given ? p->conf->bitness : own;
  if (want == own)
    return "isapihost-worker.exe";
  return own == 64 ? "isapihost-worker-x86.exe" : NULL;
}

/* Under Wine (ntdll exports wine_get_version): no Windows accounts exist,
 * every process runs as the Linux user. */
static bool under_wine(void)
{
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

enum identity_plan { ID_INHERIT, ID_LOGON, ID_REFUSED };

/* How p's workers get their account (docs/pools.md, Identity;
 * core/pool_identity.h): the service's own (empty, or LocalSystem for a
 * service that runs as it), or one logged on (pool_identity_win32.h): a
 * built-in service account, the pool's virtual account IIS AppPool\<pool>,
 * or a user with the password stored for the pool. The configuration
 * refused a malformed identity already; one still invalid here is refused.
 * Under Wine, which has no accounts: the service's own, said once. */
static enum identity_plan identity_plan(pool_rt *p, ih_identity *id)
{
  const char *text = p->conf->identity ? p->conf->identity : "";
  switch (ih_identity_parse(text, p->conf->name, id)) {
  case IH_IDENTITY_INHERIT: return ID_INHERIT;
  case IH_IDENTITY_INVALID:
    if (!p->identity_logged)
      ih_log(IH_LOG_ERROR, IH_EV_POOL_START_FAILED, "pool %s: identity %s cannot be used: %s; the pool is stopped",
             p->conf->name, text, id->reason);
    p->identity_logged = true;
    return ID_REFUSED;
  default: break;
  }
  if (under_wine()) {
    if (!p->identity_logged)
      ih_log(IH_LOG_INFO, IH_EV_POOL_WORKER_STARTED,
             "pool %s: identity %s is not applied under Wine, which has no Windows accounts; its workers run as "
             "the Linux user that runs Wine",
             p->conf->name, text);
    p->identity_logged = true;
    return ID_INHERIT;
  }
  return ID_LOGON;
}

/* mgr.lock held: the pool cannot start workers until the server restarts. */
static void stop_pool(pool_rt *p)
{
  InterlockedExchange(&p->refused, 1);
  ih_pool_health_on_stop(&p->health, now_ms());
}

/* mgr.lock held. */
static worker *spawn(pool_rt *p)
{
  ih_identity id;
  enum identity_plan plan = identity_plan(p, &id);
  if (plan == ID_REFUSED) {
    stop_pool(p);
    return NULL;
  }
  const char *name = worker_program(p);
  if (!name) {
    if (!p->start_failure_logged)
      ih_log(IH_LOG_ERROR, IH_EV_POOL_START_FAILED,
             "pool %s has bitness = 64, which a 32-bit service cannot run; its requests get 503 (install the x64 "
             "package, or give the pool bitness = 32)",
             p->conf->name);
    p->start_failure_logged = true;
    stop_pool(p);
    return NULL;
  }
  /* Logged on first: the channel's DACL names the account's own SID. */
  HANDLE token = NULL;
  char grant[192] = "";
  if (plan == ID_LOGON) {
    char why[768];
    enum ih_pool_logon logon = ih_pool_identity_logon(p->conf->name, &id, &token, why, sizeof why);
    if (logon == IH_POOL_LOGON_STOP) {
      ih_log(IH_LOG_ERROR, IH_EV_POOL_START_FAILED,
             "pool %s: %s; the pool is stopped (its requests get 503) until the server restarts", p->conf->name, why);
      stop_pool(p);
      return NULL;
    }
    if (logon == IH_POOL_LOGON_OK && !ih_pool_token_user_sid(token, grant, sizeof grant)) {
      snprintf(why, sizeof why, "cannot read the SID of the account logged on (Win32 error %lu)", GetLastError());
      CloseHandle(token);
      token = NULL;
      logon = IH_POOL_LOGON_RETRY;
    }
    if (logon != IH_POOL_LOGON_OK) {
      ih_log(p->start_failure_logged ? IH_LOG_DEBUG : IH_LOG_ERROR, IH_EV_POOL_START_FAILED,
             "pool %s: %s; the pool backs off and tries again", p->conf->name, why);
      p->start_failure_logged = true;
      ih_pool_health_on_start_failed(&p->health, now_ms());
      return NULL;
    }
  }
  worker *w = calloc(1, sizeof *w);
  if (!w || ih_worker_channel_create(&w->chan, IH_CHAN_RING_BYTES, token ? grant : NULL) != 0) {
    if (w)
      ih_log(IH_LOG_ERROR, IH_EV_POOL_START_FAILED, "pool %s: cannot create a worker's channel (Win32 error %lu)",
             p->conf->name, GetLastError());
    if (token)
      CloseHandle(token);
    free(w);
    return NULL;
  }
  w->pool = p;
  w->ch = ih_chan_new(w->chan.view, w->chan.ring_bytes, 0, ring_service, w);
  w->link = w->ch ? ih_relay_link_new(w->ch, w) : NULL;
  if (w->link)
    ih_relay_link_set_file_close(w->link, ih_win32_file_close); /* handles the worker hands over (RELAY_FILE) */
  char program[MAX_PATH + 64], cmd[3 * MAX_PATH];
  snprintf(program, sizeof program, "%s\\%s", mgr.worker_dir, name);
  snprintf(cmd, sizeof cmd, "\"%s\" --config \"%s\" --pool \"%s\" --channel %s --ring %u --parent %lu", program,
           mgr.config_path, p->conf->name, w->chan.name, (unsigned)w->chan.ring_bytes, GetCurrentProcessId());
  STARTUPINFOA si = { .cb = sizeof si };
  PROCESS_INFORMATION pi;
  w->spawned_ms = now_ms();
  BOOL created = FALSE;
  if (w->link && token)
    created = CreateProcessAsUserA(token, program, cmd, NULL, NULL, FALSE, CREATE_SUSPENDED | DETACHED_PROCESS,
                                   NULL, NULL, &si, &pi);
  else if (w->link)
    created = CreateProcessA(program, cmd, NULL, NULL, FALSE, CREATE_SUSPENDED | DETACHED_PROCESS, NULL, NULL, &si,
                             &pi);
  if (token)
    CloseHandle(token);
  if (!created) {
    DWORD err = GetLastError();
    enum ih_log_level level = p->start_failure_logged ? IH_LOG_DEBUG : IH_LOG_ERROR;
    p->start_failure_logged = true;
    const char *why = "";
    if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND)
      why = ": the program is not installed beside isapihost.exe";
    else if (strstr(name, "x86"))
      why = ": this machine cannot run a 32-bit worker (bitness = 32)";
    ih_log(level, IH_EV_POOL_START_FAILED, "pool %s: cannot start %s (Win32 error %lu)%s; the pool backs off and tries again",
           p->conf->name, program, err, why);
    ih_relay_link_unref(w->link);
    ih_chan_free(w->ch);
    ih_worker_channel_close(&w->chan);
    free(w);
    ih_pool_health_on_start_failed(&p->health, now_ms());
    return NULL;
  }
  if (mgr.job)
    AssignProcessToJobObject(mgr.job, pi.hProcess); /* it dies with the service */
  ResumeThread(pi.hThread);
  CloseHandle(pi.hThread);
  w->process = pi.hProcess;
  w->pid = pi.dwProcessId;
  w->state = W_STARTING;
  w->reader = CreateThread(NULL, 0, reader_main, w, 0, NULL);
  if (!w->reader) {
    TerminateProcess(w->process, 1);
    WaitForSingleObject(w->process, 5000);
    char none[8];
    ih_relay_lost(w->link, none, sizeof none);
    CloseHandle(w->process);
    ih_relay_link_unref(w->link);
    ih_chan_free(w->ch);
    ih_worker_channel_close(&w->chan);
    free(w);
    return NULL;
  }
  w->next = p->workers;
  p->workers = w;
  return w;
}

static void free_worker(worker *w)
{
  WaitForSingleObject(w->reader, INFINITE);
  CloseHandle(w->reader);
  CloseHandle(w->process);
  ih_relay_link_unref(w->link);
  ih_chan_free(w->ch);
  ih_worker_channel_close(&w->chan);
  free(w->dll_stats);
  free(w);
}

/* ---- picking a worker for a request ---- */

static bool recycle_now(pool_rt *p, worker *w, enum ih_recycle_reason why, uint64_t now);

ih_relay_link *ih_pool_manager_pick(ih_conn *c, const ih_pool_conf *pool, unsigned *retry_after_s)
{
  (void)c;
  ih_relay_link *link = NULL;
  /* By name: the request's configuration may be a reload's, whose pools
   * are numbered differently; the workers run the pools started with. */
  pool_rt *p = NULL;
  for (size_t i = 0; mgr.started && i < mgr.pool_count && !p; i++)
    if (_stricmp(mgr.pools[i].conf->name, pool->name) == 0 && mgr.pools[i].conf->mode == IH_POOL_WORKER)
      p = &mgr.pools[i];
  if (!p)
    return NULL; /* a worker pool a reload added: 503 until the server restarts (docs/pools.md) */
  EnterCriticalSection(&mgr.lock);
  uint64_t now = now_ms();
  /* Round robin over the web garden's live workers; one still starting
   * takes requests too (they wait in its ring until it reads them). */
  /* recycle_requests is exact: the request that reaches it is the
   * worker's last, and the next goes to its successor (the timer would see
   * a burst only after it). */
  if (pool->recycle_requests)
    for (worker *w = p->workers; w; w = w->next)
      if (w->state == W_READY && ih_relay_link_requests(w->link) >= pool->recycle_requests) {
        recycle_now(p, w, IH_RECYCLE_REQUESTS, now);
        break; /* spawn() changed the list */
      }
  unsigned n = 0;
  for (worker *w = p->workers; w; w = w->next)
    if (w->state == W_READY || w->state == W_STARTING)
      n++;
  if (n == 0 && !p->refused && ih_pool_health_may_start(&p->health, now)) {
    worker *w = spawn(p);
    n = w ? 1 : 0;
  }
  if (n) {
    unsigned k = p->next_pick++ % n;
    for (worker *w = p->workers; w; w = w->next)
      if ((w->state == W_READY || w->state == W_STARTING) && k-- == 0) {
        link = w->link;
        break;
      }
  } else if (ih_pool_health_state(&p->health) == IH_POOL_FAILING) {
    *retry_after_s = ih_pool_health_retry_after_s(&p->health, now);
  }
  LeaveCriticalSection(&mgr.lock);
  return link;
}

/* ---- the timer: strength, pings, recycling ---- */

static void retire(pool_rt *p, worker *w, enum ih_recycle_reason reason, uint64_t now)
{
  w->state = W_RETIRING;
  w->retire_deadline_ms = now + (uint64_t)p->conf->shutdown_time_limit * 1000u;
  ih_pool_health_on_recycle_begin(&p->health, reason, now);
  ih_chan_send1(w->ch, RELAY_STOP, 0, 0, NULL, 0);
  ih_log(IH_LOG_INFO, IH_EV_POOL_RECYCLE,
         "pool %s: recycling worker %lu (%s) after %llu requests; it finishes what it has, a new one takes new requests",
         p->conf->name, w->pid, ih_recycle_reason_name(reason), (unsigned long long)ih_relay_link_requests(w->link));
}

/* mgr.lock held: an overlapped recycle of w, the new worker first so no
 * request waits for one; one recycle at a time per pool (pool_health). */
static bool recycle_now(pool_rt *p, worker *w, enum ih_recycle_reason why, uint64_t now)
{
  if (ih_pool_health_state(&p->health) != IH_POOL_RUNNING || !spawn(p))
    return false;
  retire(p, w, why, now);
  return true;
}

static void tick_pool(pool_rt *p, uint64_t now)
{
  const ih_pool_conf *pc = p->conf;
  unsigned live = 0;
  for (worker **pw = &p->workers; *pw;) {
    worker *w = *pw;
    if (w->state == W_DEAD && w->exited) {
      *pw = w->next;
      LeaveCriticalSection(&mgr.lock);
      free_worker(w); /* joins its reader, which has finished */
      EnterCriticalSection(&mgr.lock);
      pw = &p->workers; /* the list may have changed meanwhile */
      continue;
    }
    if (w->state == W_RETIRING && now >= w->retire_deadline_ms) {
      ih_log(IH_LOG_WARNING, IH_EV_POOL_RECYCLE, "pool %s: worker %lu did not finish within %u s; killing it",
             pc->name, w->pid, pc->shutdown_time_limit);
      TerminateProcess(w->process, 1);
      w->retire_deadline_ms = UINT64_MAX;
    }
    if (w->state == W_STARTING && elapsed(now, w->spawned_ms) > (uint64_t)pc->startup_time_limit * 1000u) {
      ih_log(IH_LOG_ERROR, IH_EV_POOL_START_FAILED, "pool %s: worker %lu not ready within %u s; killing it", pc->name,
             w->pid, pc->startup_time_limit);
      TerminateProcess(w->process, 1);
      w->spawned_ms = UINT64_MAX / 2; /* once */
    }
    if (w->state == W_READY) {
      /* pings: a worker whose threads are all stuck answers none */
      if (pc->ping_interval) {
        if (w->ping_sent_ms > w->pong_ms && elapsed(now, w->ping_sent_ms) > (uint64_t)pc->ping_timeout * 1000u) {
          ih_log(IH_LOG_WARNING, IH_EV_POOL_PING_TIMEOUT, "pool %s: worker %lu did not answer a ping within %u s; killing it",
                 pc->name, w->pid, pc->ping_timeout);
          TerminateProcess(w->process, 1);
          w->ping_sent_ms = 0;
          w->pong_ms = UINT64_MAX / 2;
        } else if (w->ping_sent_ms <= w->pong_ms && elapsed(now, w->pong_ms) >= (uint64_t)pc->ping_interval * 1000u) {
          uint64_t seq = ++w->ping_seq;
          w->ping_sent_ms = now;
          ih_chan_send1(w->ch, RELAY_PING, 0, 0, &seq, sizeof seq);
        }
      }
      ih_recycle_settings rs = {
        .requests = pc->recycle_requests,
        .time_ms = (uint64_t)pc->recycle_time_minutes * 60000u,
        .schedule = pc->recycle_schedule_count ? pc->recycle_schedule : NULL,
        .schedule_count = pc->recycle_schedule_count,
        .private_memory_bytes = pc->recycle_private_memory,
      };
      ih_worker_facts facts = {
        .started_ms = w->ready_ms < now ? w->ready_ms : now,
        .requests_served = ih_relay_link_requests(w->link),
        .private_bytes = w->last_pong.private_bytes > 0 ? (uint64_t)w->last_pong.private_bytes : 0,
        .unhealthy_reported = w->unhealthy != 0,
        .command = w->recycle_asked != 0,
        .dll_changed = w->dll_changed != 0,
        .config_changed = w->config_changed != 0,
      };
      SYSTEMTIME lt;
      GetLocalTime(&lt);
      enum ih_recycle_reason why = ih_recycle_due(&rs, &facts, &p->clock, now, (unsigned)(lt.wHour * 60 + lt.wMinute));
      if (why != IH_RECYCLE_NONE && ih_pool_health_state(&p->health) == IH_POOL_RUNNING) {
        if (spawn(p)) { /* the new one first: no request waits for a worker */
          retire(p, w, why, now);
          live++; /* the new one, put before this loop's place in the list: it replaces w at strength */
        }
      }
    }
    if (w->state == W_READY || w->state == W_STARTING)
      live++;
    pw = &w->next;
  }
  /* at strength: the web garden's size, when the pool may start workers */
  while (live < pc->processes && !p->refused && ih_pool_health_may_start(&p->health, now) && spawn(p))
    live++;
}

static DWORD WINAPI tick_main(void *arg)
{
  (void)arg;
  while (WaitForSingleObject(mgr.stop_event, TICK_MS) != WAIT_FAILED && mgr.started) {
    uint64_t now = now_ms();
    EnterCriticalSection(&mgr.lock);
    for (size_t i = 0; i < mgr.pool_count; i++)
      if (mgr.pools[i].conf->mode == IH_POOL_WORKER)
        tick_pool(&mgr.pools[i], now);
    LeaveCriticalSection(&mgr.lock);
  }
  return 0;
}

int ih_pool_manager_recycle(const char *pool_name)
{
  int rc = IH_POOL_RECYCLE_NO_POOL;
  if (!mgr.started || !pool_name)
    return rc;
  EnterCriticalSection(&mgr.lock);
  for (size_t i = 0; i < mgr.pool_count; i++) {
    pool_rt *p = &mgr.pools[i];
    if (_stricmp(p->conf->name, pool_name) != 0)
      continue;
    rc = IH_POOL_RECYCLE_NOT_RUNNING;
    if (p->conf->mode != IH_POOL_WORKER)
      break;
    for (worker *w = p->workers; w; w = w->next)
      if (w->state == W_READY) {
        InterlockedExchange(&w->recycle_asked, 1); /* the tick recycles it, overlapped */
        rc = IH_POOL_RECYCLE_STARTED;
      }
    break;
  }
  LeaveCriticalSection(&mgr.lock);
  if (rc == IH_POOL_RECYCLE_STARTED)
    SetEvent(mgr.stop_event); /* wakes the tick now */
  return rc;
}

void ih_pool_manager_reloaded(void)
{
  if (!mgr.started)
    return;
  EnterCriticalSection(&mgr.lock);
  for (size_t i = 0; i < mgr.pool_count; i++)
    for (worker *w = mgr.pools[i].workers; w; w = w->next)
      if (w->state == W_READY || w->state == W_STARTING)
        InterlockedExchange(&w->config_changed, 1); /* recycled, one at a time, onto the file as it is now */
  LeaveCriticalSection(&mgr.lock);
  SetEvent(mgr.stop_event);
}

/* ---- start, stop, status ---- */

int ih_pool_manager_start(const ih_config *cfg, const char *config_path)
{
  if (!ih_config_has_worker_pools(cfg))
    return 0;
  memset(&mgr, 0, sizeof mgr);
  InitializeCriticalSection(&mgr.lock);
  mgr.cfg = cfg;
  mgr.config_path = _strdup(config_path);
  GetModuleFileNameA(NULL, mgr.worker_dir, sizeof mgr.worker_dir);
  char *slash = strrchr(mgr.worker_dir, '\\');
  if (slash)
    *slash = '\0';
  mgr.pools = calloc(cfg->pool_count, sizeof *mgr.pools);
  mgr.pool_count = cfg->pool_count;
  mgr.stop_event = CreateEventW(NULL, FALSE, FALSE, NULL);
  mgr.job = CreateJobObjectW(NULL, NULL);
  if (mgr.job) {
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim = { 0 };
    lim.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    SetInformationJobObject(mgr.job, JobObjectExtendedLimitInformation, &lim, sizeof lim);
  }
  if (!mgr.config_path || !mgr.pools || !mgr.stop_event)
    return -1;
  uint64_t now = now_ms();
  for (size_t i = 0; i < cfg->pool_count; i++) {
    pool_rt *p = &mgr.pools[i];
    p->conf = &cfg->pools[i];
    ih_pool_health_settings hs = {
      .max_crashes = p->conf->rapid_fail_max_crashes,
      .interval_ms = (uint64_t)p->conf->rapid_fail_interval * 1000u,
      .backoff_max_ms = (uint64_t)p->conf->rapid_fail_backoff_max * 1000u,
    };
    ih_pool_health_init(&p->health, &hs);
    ih_recycle_clock_init(&p->clock);
    ih_pool_health_on_start(&p->health, now);
  }
  mgr.started = true;
  EnterCriticalSection(&mgr.lock);
  for (size_t i = 0; i < mgr.pool_count; i++)
    if (mgr.pools[i].conf->mode == IH_POOL_WORKER)
      tick_pool(&mgr.pools[i], now); /* warm workers before the first request */
  LeaveCriticalSection(&mgr.lock);
  mgr.tick_thread = CreateThread(NULL, 0, tick_main, NULL, 0, NULL);
  return mgr.tick_thread ? 0 : -1;
}

void ih_pool_manager_stop(void)
{
  if (!mgr.started)
    return;
  mgr.started = false;
  SetEvent(mgr.stop_event);
  WaitForSingleObject(mgr.tick_thread, INFINITE);
  CloseHandle(mgr.tick_thread);
  uint64_t now = now_ms(), deadline = now;
  EnterCriticalSection(&mgr.lock);
  for (size_t i = 0; i < mgr.pool_count; i++) {
    pool_rt *p = &mgr.pools[i];
    ih_pool_health_on_stop(&p->health, now);
    for (worker *w = p->workers; w; w = w->next)
      if (w->state != W_DEAD) {
        ih_chan_send1(w->ch, RELAY_STOP, 0, 0, NULL, 0);
        uint64_t d = now + (uint64_t)p->conf->shutdown_time_limit * 1000u;
        deadline = d > deadline ? d : deadline;
      }
  }
  LeaveCriticalSection(&mgr.lock);
  /* TerminateExtension and TerminateFilter run in each worker; past the
   * limit the worker is ended. */
  for (size_t i = 0; i < mgr.pool_count; i++)
    for (worker *w = mgr.pools[i].workers, *next; w; w = next) {
      next = w->next;
      uint64_t t = now_ms();
      DWORD wait = t < deadline ? (DWORD)(deadline - t) : 0;
      if (WaitForSingleObject(w->process, wait) != WAIT_OBJECT_0) {
        ih_log(IH_LOG_WARNING, IH_EV_POOL_WORKER_EXITED, "pool %s: worker %lu did not stop in time; killing it",
               mgr.pools[i].conf->name, w->pid);
        TerminateProcess(w->process, 1);
      }
      free_worker(w);
    }
  if (mgr.job)
    CloseHandle(mgr.job);
  CloseHandle(mgr.stop_event);
  free(mgr.pools);
  free(mgr.config_path);
  DeleteCriticalSection(&mgr.lock);
  memset(&mgr, 0, sizeof mgr);
}

bool ih_pool_manager_failing(char *name, size_t cap)
{
  bool found = false;
  if (!mgr.started)
    return false;
  EnterCriticalSection(&mgr.lock);
  for (size_t i = 0; i < mgr.pool_count && !found; i++)
    if (mgr.pools[i].conf->mode == IH_POOL_WORKER && ih_pool_health_state(&mgr.pools[i].health) == IH_POOL_FAILING) {
      snprintf(name, cap, "%s", mgr.pools[i].conf->name);
      found = true;
    }
  LeaveCriticalSection(&mgr.lock);
  return found;
}

size_t ih_pool_manager_status_json(char *buf, size_t cap)
{
  size_t n = 0;
#define PUT(...)                                                   \
  do {                                                             \
    int k_ = snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__); \
    if (k_ > 0)                                                    \
      n += (size_t)k_;                                             \
  } while (0)
  PUT("[");
  if (mgr.started) {
    EnterCriticalSection(&mgr.lock);
    uint64_t now = now_ms();
    bool first = true;
    for (size_t i = 0; i < mgr.pool_count; i++) {
      pool_rt *p = &mgr.pools[i];
      if (p->conf->mode != IH_POOL_WORKER)
        continue;
      ih_pool_health_stats st;
      ih_pool_health_stats_get(&p->health, now, &st);
      PUT("%s{\"name\":\"%s\",\"mode\":\"worker\",\"bitness\":%u,\"state\":\"%s\",\"crashes\":%llu,"
          "\"retry_after\":%u,\"recycles\":{",
          first ? "" : ",", p->conf->name, p->conf->bitness_given ? p->conf->bitness : (unsigned)(sizeof(void *) * 8),
          ih_pool_state_name(st.state), (unsigned long long)st.crashes_total,
          st.state == IH_POOL_FAILING ? ih_pool_health_retry_after_s(&p->health, now) : 0);
      first = false;
      bool rfirst = true;
      for (int r = 1; r < IH_RECYCLE_REASON_COUNT; r++)
        if (st.recycles[r]) {
          PUT("%s\"%s\":%llu", rfirst ? "" : ",", ih_recycle_reason_name((enum ih_recycle_reason)r),
              (unsigned long long)st.recycles[r]);
          rfirst = false;
        }
      PUT("},\"workers\":[");
      bool wfirst = true;
      for (worker *w = p->workers; w; w = w->next) {
        if (w->state == W_DEAD)
          continue;
        static const char *const names[] = { "starting", "ready", "retiring", "dead" };
        PUT("%s{\"pid\":%lu,\"state\":\"%s\",\"up_ms\":%llu,\"requests\":%llu,\"files_by_handle\":%llu,\"in_flight\":%ld,"
            "\"private_bytes\":%lld,\"handles\":%lld,\"isapi_sessions\":%lld}",
            wfirst ? "" : ",", w->pid, names[w->state], (unsigned long long)elapsed(now, w->spawned_ms),
            (unsigned long long)ih_relay_link_requests(w->link), (unsigned long long)ih_relay_link_files(w->link),
            ih_relay_link_in_flight(w->link),
            (long long)w->last_pong.private_bytes, (long long)w->last_pong.handles,
            (long long)w->last_pong.isapi_sessions);
        wfirst = false;
      }
      PUT("]}");
    }
    LeaveCriticalSection(&mgr.lock);
  }
  PUT("]");
#undef PUT
  if (n >= cap && cap)
    buf[cap - 1] = '\0';
  return n < cap ? n : (cap ? cap - 1 : 0);
}

void ih_pool_manager_dll_metrics(ih_mtext *t, int family, void *ctx)
{
  (void)ctx;
  static const char *const names[] = {
    "isapihost_isapi_extension_calls_total", "isapihost_isapi_extension_faults_total",
    "isapihost_isapi_extension_stuck_calls_total", "isapihost_isapi_extension_in_flight",
    "isapihost_isapi_extension_loads_total", "isapihost_isapi_extension_state",
  };
  if (!mgr.started || family < 0 || family > IH_ISAPI_FAMILY_STATE)
    return;
  EnterCriticalSection(&mgr.lock);
  for (size_t i = 0; i < mgr.pool_count; i++)
    for (worker *w = mgr.pools[i].workers; w; w = w->next) {
      if (w->state == W_DEAD)
        continue;
      char pid[16];
      snprintf(pid, sizeof pid, "%lu", w->pid);
      for (size_t n = 0; n + sizeof(relay_dll_stat) <= w->dll_stats_len;) {
        relay_dll_stat r;
        memcpy(&r, w->dll_stats + n, sizeof r);
        n += sizeof r;
        if (r.path_len > w->dll_stats_len - n || r.path_len >= MAX_PATH * 3)
          break; /* a worker's malformed record: the rest is not read */
        char path[MAX_PATH * 3];
        memcpy(path, w->dll_stats + n, r.path_len);
        path[r.path_len] = '\0';
        n += r.path_len;
        if (family == IH_ISAPI_FAMILY_STATE) {
          for (unsigned s = 0; s < IH_ISAPI_DLL_STATE_COUNT; s++) {
            ih_mlabel l[] = { { "dll", path }, { "pool", mgr.pools[i].conf->name }, { "worker", pid },
                              { "state", ih_isapi_dll_states[s] } };
            ih_mtext_sample_u64(t, names[family], l, 4, r.state == s);
          }
          continue;
        }
        ih_mlabel l[] = { { "dll", path }, { "pool", mgr.pools[i].conf->name }, { "worker", pid } };
        unsigned long long v = family == 0 ? r.calls
                               : family == 1 ? r.faults
                               : family == 2 ? r.stuck
                               : family == 3 ? (unsigned long long)(r.in_flight > 0 ? r.in_flight : 0)
                                             : r.loads;
        ih_mtext_sample_u64(t, names[family], l, 3, v);
      }
    }
  LeaveCriticalSection(&mgr.lock);
}

void ih_pool_manager_metrics_text(ih_mtext *t)
{
  /* The status page's figures (ih_pool_manager_status_json), copied out
   * under the lock and written after it. */
  typedef struct pool_fig {
    const char *name;
    ih_pool_health_stats st;
    unsigned workers;
  } pool_fig;
  pool_fig *figs = NULL;
  size_t n = 0;
  if (mgr.started) {
    EnterCriticalSection(&mgr.lock);
    figs = calloc(mgr.pool_count ? mgr.pool_count : 1, sizeof *figs);
    uint64_t now = now_ms();
    for (size_t i = 0; figs && i < mgr.pool_count; i++) {
      pool_rt *p = &mgr.pools[i];
      if (p->conf->mode != IH_POOL_WORKER)
        continue;
      figs[n].name = p->conf->name; /* the manager's configuration lives until ih_pool_manager_stop */
      ih_pool_health_stats_get(&p->health, now, &figs[n].st);
      for (worker *w = p->workers; w; w = w->next)
        figs[n].workers += w->state != W_DEAD;
      n++;
    }
    LeaveCriticalSection(&mgr.lock);
    if (!figs) {
      t->oom = true;
      return;
    }
  }
  ih_mtext_family(t, "isapihost_pool_workers", "gauge",
                  "Worker processes of a worker pool now (starting, ready or retiring).");
  for (size_t i = 0; i < n; i++) {
    ih_mlabel l[] = { { "pool", figs[i].name } };
    ih_mtext_sample_u64(t, "isapihost_pool_workers", l, 1, figs[i].workers);
  }
  static const struct {
    const char *name, *help;
    size_t offset;
  } counters[] = {
    { "isapihost_pool_crashes_total", "Workers of a worker pool that crashed or were killed as hung.",
      offsetof(ih_pool_health_stats, crashes_total) },
    { "isapihost_pool_start_failures_total", "Workers of a worker pool that did not start or report ready.",
      offsetof(ih_pool_health_stats, start_failures_total) },
    { "isapihost_pool_rapid_fail_trips_total",
      "Times rapid-fail protection stopped a worker pool (it answers 503 and backs off).",
      offsetof(ih_pool_health_stats, failing_episodes_total) },
  };
  for (size_t c = 0; c < sizeof counters / sizeof counters[0]; c++) {
    ih_mtext_family(t, counters[c].name, "counter", counters[c].help);
    for (size_t i = 0; i < n; i++) {
      ih_mlabel l[] = { { "pool", figs[i].name } };
      ih_mtext_sample_u64(t, counters[c].name, l, 1,
                          *(const uint64_t *)(const void *)((const char *)&figs[i].st + counters[c].offset));
    }
  }
  ih_mtext_family(t, "isapihost_pool_recycles_total", "counter", "Recycles of a worker pool's workers, by reason.");
  for (size_t i = 0; i < n; i++)
    for (int r = 1; r < IH_RECYCLE_REASON_COUNT; r++) {
      ih_mlabel l[] = { { "pool", figs[i].name }, { "reason", ih_recycle_reason_name((enum ih_recycle_reason)r) } };
      ih_mtext_sample_u64(t, "isapihost_pool_recycles_total", l, 2, figs[i].st.recycles[r]);
    }
  ih_mtext_family(t, "isapihost_pool_state", "gauge",
                  "State of a worker pool: 1 for the state it is in, 0 for the others.");
  for (size_t i = 0; i < n; i++)
    for (int s = 0; s < IH_POOL_STATE_COUNT; s++) {
      ih_mlabel l[] = { { "pool", figs[i].name }, { "state", ih_pool_state_name((enum ih_pool_state)s) } };
      ih_mtext_sample_u64(t, "isapihost_pool_state", l, 2, figs[i].st.state == (enum ih_pool_state)s);
    }
  free(figs);
}
