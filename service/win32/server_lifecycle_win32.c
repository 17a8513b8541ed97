/* The server's life (see server_lifecycle_win32.h).
 *
 * Pause, continue, reload and stop take control_lock, so they happen one
 * at a time and a stop waits for a reload in progress. */
#include <winsock2.h>
#include <windows.h>
#include <stdio.h>
#include <string.h>

#include "core/server_log.h"
#include "iocp_engine_win32.h"
#include "listeners_win32.h"
#include "server/conn.h"
#include "server_lifecycle_win32.h"
#include "stop_watchdog_win32.h"

#define SWEEP_INTERVAL_MS 100

static struct {
  ih_server server;
  volatile LONG stopping;
  SRWLOCK control_lock; /* pause, continue, reload and stop, one at a time */
  HANDLE sweep_thread;
  HANDLE sweep_stop;
  const ih_lifecycle_hosts *hosts;
} g;

/* ---- the timer sweep ---- */

static DWORD WINAPI sweep_main(LPVOID arg)
{
  (void)arg;
  ULONGLONG next_retry = GetTickCount64() + g.hosts->retry_ms;
  while (WaitForSingleObject(g.sweep_stop, SWEEP_INTERVAL_MS) == WAIT_TIMEOUT) {
    ih_iocp_engine_notify_timers(FALSE);
    if (g.hosts->retry && g.hosts->retry_ms && GetTickCount64() >= next_retry) {
      next_retry = GetTickCount64() + g.hosts->retry_ms;
      g.hosts->retry();
    }
  }
  return 0;
}

/* ---- start and stop ---- */

int ih_lifecycle_start(const ih_config *cfg, const ih_platform *platform, const ih_lifecycle_hosts *hosts)
{
  memset(&g, 0, sizeof g);
  g.hosts = hosts;
  InitializeSRWLock(&g.control_lock);
  ih_listeners_init(&g.server);
  if (ih_server_init(&g.server, cfg, platform) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "out of memory");
    return -1;
  }
  if (ih_iocp_engine_open() != 0)
    return -1;
  if (hosts->start(cfg, &g.server) != 0)
    return -1;
  if (ih_listeners_open(cfg) != 0)
    return -1;
  if (ih_iocp_engine_start(cfg->server.worker_threads) != 0)
    return -1;
  g.sweep_stop = CreateEventW(NULL, TRUE, FALSE, NULL);
  g.sweep_thread = CreateThread(NULL, 0, sweep_main, NULL, 0, NULL);
  return ih_listeners_accept(cfg->server.accepts_per_listener);
}

static BOOL wait_until(BOOL (*done)(void), DWORD timeout_ms)
{
  uint64_t end = ih_clock_ms() + timeout_ms;
  while (!done()) {
    if (ih_clock_ms() >= end)
      return FALSE;
    Sleep(20);
  }
  return TRUE;
}

static BOOL no_connections(void) { return atomic_load(&g.server.counters.connections_live) == 0; }

int ih_lifecycle_stop(void)
{
  int cancelled = 0;
  ih_log(IH_LOG_INFO, IH_EV_STOPPING, "stopping: no new connections; draining %lld connection(s)",
         atomic_load(&g.server.counters.connections_live));
  AcquireSRWLockExclusive(&g.control_lock); /* a pause, continue or reload in progress finishes first */
  InterlockedExchange(&g.stopping, 1);
  ih_listeners_stop(); /* first: no accept that completes from now on becomes a connection */
  ih_server_begin_drain(&g.server);
  ReleaseSRWLockExclusive(&g.control_lock);
  ih_iocp_engine_notify_timers(TRUE); /* idle keep-alive connections close now */
  DWORD drain_ms = ih_server_current(&g.server)->config->server.drain_timeout * 1000u;
  if (!wait_until(no_connections, drain_ms)) {
    cancelled = (int)atomic_load(&g.server.counters.connections_live);
    ih_log(IH_LOG_WARNING, IH_EV_DRAIN_TIMEOUT, "drain timeout (%u s): cancelling %d connection(s)",
           ih_server_current(&g.server)->config->server.drain_timeout, cancelled);
    ih_iocp_engine_cancel_all();
    wait_until(no_connections, 10000);
  }
  wait_until(ih_listeners_idle, 5000);
  if (g.hosts)
    g.hosts->stop(&g.server);
  ih_stop_watchdog_phase("stopping the I/O threads");
  SetEvent(g.sweep_stop);
  WaitForSingleObject(g.sweep_thread, INFINITE);
  CloseHandle(g.sweep_thread);
  CloseHandle(g.sweep_stop);
  ih_iocp_engine_stop();
  ih_listeners_free();
  ih_server_destroy(&g.server);
  ih_log(IH_LOG_INFO, IH_EV_STOPPED, "stopped: %lld connections, %lld requests served",
         atomic_load(&g.server.counters.connections_total), atomic_load(&g.server.counters.requests_total));
  return cancelled;
}

/* ---- pause, continue, reload (the service's controls) ---- */

void ih_lifecycle_set_leaving(bool leaving) { atomic_store(&g.server.leaving, leaving); }

int ih_lifecycle_pause(void)
{
  AcquireSRWLockExclusive(&g.control_lock);
  if (!g.stopping)
    ih_listeners_pause();
  ReleaseSRWLockExclusive(&g.control_lock);
  return 0;
}

int ih_lifecycle_continue(void)
{
  int rc = 0;
  AcquireSRWLockExclusive(&g.control_lock);
  if (!g.stopping)
    rc = ih_listeners_continue();
  ReleaseSRWLockExclusive(&g.control_lock);
  return rc;
}

/* Settings read once at start: a reload that changes them says so. */
static void note_start_only_settings(const ih_server_config *was, const ih_server_config *now)
{
  if (was->worker_threads != now->worker_threads || was->isapi_threads != now->isapi_threads ||
      was->isapi_max_threads != now->isapi_max_threads || strcmp(was->log_dir, now->log_dir) != 0 ||
      was->file_cache_entries != now->file_cache_entries || was->file_cache_ttl != now->file_cache_ttl ||
      was->accepts_per_listener != now->accepts_per_listener)
    ih_log(IH_LOG_WARNING, IH_EV_RELOADED,
           "worker_threads, isapi_threads, isapi_max_threads, log_dir, file_cache_* and accepts_per_listener "
           "keep their running values until the service restarts");
}

int ih_lifecycle_reload(ih_config *cfg, char *why, size_t cap)
{
  why[0] = '\0';
  AcquireSRWLockExclusive(&g.control_lock);
  ih_generation *gen = g.stopping ? NULL : ih_server_generation_new(&g.server, cfg);
  if (!gen) {
    snprintf(why, cap, g.stopping ? "the server is stopping" : "out of memory");
    ih_config_free(cfg);
    ReleaseSRWLockExclusive(&g.control_lock);
    return -1;
  }
  int rc = g.hosts->rebind(&g.server, gen, why, cap);
  if (rc == 0)
    rc = ih_listeners_rebind(cfg, why, cap);
  if (rc != 0) {
    ih_server_generation_free(gen);
    ReleaseSRWLockExclusive(&g.control_lock);
    return -1;
  }
  note_start_only_settings(&ih_server_current(&g.server)->config->server, &cfg->server);
  g.hosts->publish(&g.server, cfg, gen);
  ih_log(IH_LOG_INFO, IH_EV_RELOADED,
         "configuration reloaded (generation %u): requests from now on use it; those in flight finish under theirs",
         gen->number);
  ReleaseSRWLockExclusive(&g.control_lock);
  return 0;
}
