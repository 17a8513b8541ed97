/* The server's life in this process (see server_host_win32.h): the
 * composition root. Only here do the configuration, the logs, the
 * extension and filter hosts, the files and the I/O engine come together
 * into the platform the portable pipeline runs on, and only here is the
 * server (server_lifecycle_win32.h) started and stopped, for the
 * foreground run and the service alike. */
#include <winsock2.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/metrics_text.h"
#include "core/server_log.h"
#include "dll_entry_win32.h"
#include "eventlog_win32.h"
#include "file_win32.h"
#include "filters/filter_host_win32.h"
#include "iis_compat_win32.h"
#include "iocp_engine_win32.h"
#include "isapi/isapi_dll_win32.h"
#include "isapi/isapi_host_win32.h"
#include "logwriter_win32.h"
#include "pool_manager_win32.h"
#include "process_stats_win32.h"
#include "server/conn.h"
#include "server_host_win32.h"
#include "server_lifecycle_win32.h"
#include "stop_watchdog_win32.h"

/* shutdown_time_limit before a configuration is read (config.c's default) */
#define DEFAULT_SHUTDOWN_TIME_LIMIT 90u

static struct {
  char *config_path;
  ih_config *cfg;          /* the configuration started with (later ones belong to the engine) */
  unsigned drain_timeout;  /* of the newest configuration */
  unsigned drain_delay;    /* of the newest configuration */
  volatile unsigned shutdown_time_limit; /* of the newest configuration; read by control handlers */
  BOOL winsock, logs, events, engine, pools;
} host;

/* What the portable pipeline runs on besides its connections' transport:
 * files, the access logs, the extension and filter hosts, the process
 * figures. */
static ih_platform platform;
_Static_assert((int)IH_POOL_RECYCLE_STARTED == (int)IH_PLATFORM_RECYCLE_STARTED &&
                   (int)IH_POOL_RECYCLE_NO_POOL == (int)IH_PLATFORM_RECYCLE_NO_POOL &&
                   (int)IH_POOL_RECYCLE_NOT_RUNNING == (int)IH_PLATFORM_RECYCLE_NOT_RUNNING,
               "ih_pool_manager_recycle is the platform's pool_recycle");

/* The metrics page's platform families: extension DLLs, worker pools. */
static void win32_metrics_text(ih_mtext *t)
{
  ih_isapi_metrics_text(t, ih_pool_manager_dll_metrics, NULL);
  ih_pool_manager_metrics_text(t);
}

static const ih_platform *win32_platform(void)
{
  memset(&platform, 0, sizeof platform);
  ih_iocp_engine_platform_services(&platform);
  platform.file_open = ih_win32_file_open;
  platform.file_read = ih_win32_file_read;
  platform.file_close = ih_win32_file_close;
  platform.dir_list = ih_win32_dir_list;
  platform.access_log = ih_logwriter_access_line;
  platform.extension_start = ih_isapi_host_extension_start;
  platform.filter_call = ih_filter_host_call;
  platform.process_stats = ih_win32_process_stats;
  platform.ext_admin = ih_isapi_admin;
  platform.relay_pick = ih_pool_manager_pick;
  platform.pools_status = ih_pool_manager_status_json;
  platform.pool_recycle = ih_pool_manager_recycle;
  platform.metrics_text = win32_metrics_text;
  platform.pool_failing = ih_pool_manager_failing;
  return &platform;
}

/* A site filter loads in this process when its site has a directory in an
 * inprocess pool; a site served only by worker pools has its filters in
 * the workers (docs/pools.md). Global filters load everywhere. */
static bool filter_runs_here(const ih_filter_conf *f)
{
  if (!f->site)
    return true;
  if (!f->site->pool || f->site->pool->mode == IH_POOL_INPROCESS)
    return true;
  for (size_t i = 1; i < f->site->vdir_count; i++)
    if (f->site->vdirs[i].pool && f->site->vdirs[i].pool->mode == IH_POOL_INPROCESS)
      return true;
  return false;
}

/* The extension and filter hosts, started and stopped at the server's
 * points (server_lifecycle_win32.h). */
static int hosts_start(const ih_config *cfg, ih_server *server)
{
  ih_pool_manager_attach(server);
  ih_filter_host_set_scope(filter_runs_here);
  if (ih_isapi_host_start(cfg) != 0)
    return -1;
  /* Filters see every connection from its first bytes: loaded before any
   * listener opens. */
  return ih_filter_host_start(server);
}

static void hosts_stop(ih_server *server)
{
  ih_stop_watchdog_phase("stopping the extension threads and unloading extensions");
  ih_isapi_host_stop(); /* requests have drained: stop the pool, terminate and unload DLLs */
  /* Each destroyed connection has had END_OF_NET_SESSION; with none left,
   * TerminateFilter and FreeLibrary (else the filters stay loaded). */
  ih_stop_watchdog_phase("unloading filters");
  ih_filter_host_stop(server);
}

static int hosts_rebind(ih_server *server, ih_generation *gen, char *why, size_t cap)
{
  return ih_filter_host_rebind(server, gen, why, cap);
}

static void hosts_publish(ih_server *server, const ih_config *cfg, ih_generation *gen)
{
  ih_isapi_host_reconfigure(cfg);
  ih_filter_host_publish(server, gen);
}

/* Filter DLLs that did not load are tried again (on a thread of their own:
 * the caller drives the timers). */
static void hosts_retry(void)
{
  if (ih_filter_host_failed())
    ih_filter_host_retry();
}

static const ih_lifecycle_hosts win32_hosts = {
  .start = hosts_start,
  .stop = hosts_stop,
  .rebind = hosts_rebind,
  .publish = hosts_publish,
  .retry = hosts_retry,
  .retry_ms = IH_FILTER_RETRY_MS,
};

static void release(void)
{
  if (host.pools)
    ih_pool_manager_stop();
  if (host.events)
    ih_eventlog_stop();
  if (host.logs)
    ih_logwriter_stop();
  if (host.winsock)
    WSACleanup();
  ih_config_free(host.cfg);
  free(host.config_path);
  memset(&host, 0, sizeof host);
}

/* A start that failed ends here: no stop will follow, so the watchdog (armed
 * if a stop was asked for meanwhile) stands down. */
static int start_failed(int rc)
{
  release();
  ih_stop_watchdog_finished();
  return rc;
}

int ih_host_start(const char *config_path, const wchar_t *event_source)
{
  char err[1024];
  /* First: its thread must exist before any DLL can hold the loader lock. */
  if (ih_stop_watchdog_start() != 0) {
    fprintf(stderr, "isapihost: cannot start the stop watchdog (Win32 error %lu)\n", GetLastError());
    return start_failed(1);
  }
  host.config_path = _strdup(config_path);
  if (!host.config_path || ih_config_load_file(config_path, &host.cfg, err, sizeof err) != 0) {
    fprintf(stderr, "isapihost: IH%04d configuration rejected: %s\n", IH_EV_CONFIG_INVALID,
            host.config_path ? err : "out of memory");
    return start_failed(2);
  }
  host.drain_timeout = host.cfg->server.drain_timeout;
  host.drain_delay = host.cfg->server.drain_delay;
  host.shutdown_time_limit = host.cfg->server.shutdown_time_limit;
  WSADATA wsa;
  if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
    fprintf(stderr, "isapihost: Winsock 2.2 is not available\n");
    return start_failed(1);
  }
  host.winsock = TRUE;
  if (ih_logwriter_start(host.cfg->server.log_dir) != 0)
    return start_failed(1);
  host.logs = TRUE;
  /* A service reports to the Event Log too; without it the server runs on
   * (server.log has every event). */
  if (event_source && !(host.events = ih_eventlog_start(event_source) == 0))
    ih_log(IH_LOG_WARNING, IH_EV_SERVICE, "no Event Log source %ls (Win32 error %lu); events go to server.log only",
           event_source, GetLastError());
  ih_log(IH_LOG_INFO, IH_EV_STARTING, "IsapiHost %s starting with %s", IH_VERSION, config_path);
  /* Order matters: extension DLLs built for IIS use sockets in
   * GetExtensionVersion without calling WSAStartup themselves, and some
   * probe the registry for IIS, so Winsock (above) and the IIS values (here,
   * once the server log can report them) must be in place before any DLL
   * loads. DLLs load only on threads ih_lifecycle_start creates. */
  ih_iis_compat_init();
  /* Worker pools before the listeners: their workers are warm when the
   * first request comes. */
  if (ih_pool_manager_start(host.cfg, config_path) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot start the worker pools");
    return start_failed(1);
  }
  host.pools = TRUE;
  host.engine = TRUE;
  if (ih_lifecycle_start(host.cfg, win32_platform(), &win32_hosts) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "start-up failed; see the messages above");
    ih_lifecycle_stop();
    return start_failed(1);
  }
  return 0;
}

void ih_host_stop_requested(void)
{
  /* drain_delay comes first, and does not eat into the stop's own time */
  unsigned limit = host.shutdown_time_limit;
  ih_stop_watchdog_arm((limit ? limit : DEFAULT_SHUTDOWN_TIME_LIMIT) + host.drain_delay);
}

/* A graceful stop or a pause begins: the health URL answers 503 from now
 * on, while the listeners stay open and every request is served for
 * drain_delay seconds, so a load balancer's checks see it and take this
 * instance out before it refuses connections (docs/deployment.md). */
static void leave_rotation(enum ih_event_id event, const char *what)
{
  if (!host.engine)
    return;
  ih_lifecycle_set_leaving(true);
  unsigned delay = host.drain_delay;
  if (!delay)
    return;
  ih_log(IH_LOG_INFO, event,
         "%s: the health URL answers 503; still serving for drain_delay (%u s) before the listeners close", what,
         delay);
  Sleep(delay * 1000u);
}

void ih_host_stop(void)
{
  ih_host_stop_requested(); /* the clock runs from the request, if a handler saw it first */
  ih_stop_watchdog_phase("leaving the load balancer's rotation (drain_delay)");
  leave_rotation(IH_EV_STOPPING, "stopping");
  ih_stop_watchdog_phase("draining connections");
  if (host.engine)
    ih_lifecycle_stop();
  if (host.pools) {
    ih_stop_watchdog_phase("stopping the worker pools");
    ih_pool_manager_stop(); /* after the drain: their requests are over */
    host.pools = FALSE;
  }
  ih_stop_watchdog_phase("flushing the logs");
  release();
  ih_stop_watchdog_finished();
}

int ih_host_exit(int rc)
{
  /* ExitProcess would call DllMain(DLL_PROCESS_DETACH) of every DLL still
   * mapped, including one whose load was abandoned with a thread still
   * inside it (dll_entry_win32.h): that DLL is never called again. The
   * logs are closed by now; only the C runtime's buffers are left. */
  if (ih_dll_entry_abandoned() > 0) {
    fflush(NULL);
    TerminateProcess(GetCurrentProcess(), (UINT)rc);
  }
  return rc;
}

int ih_host_pause(void)
{
  leave_rotation(IH_EV_PAUSED, "pausing");
  return ih_lifecycle_pause();
}

int ih_host_continue(void)
{
  int rc = ih_lifecycle_continue();
  if (rc == 0)
    ih_lifecycle_set_leaving(false); /* listening again: back in the rotation */
  return rc;
}

int ih_host_reload(void)
{
  char err[1024], why[512];
  ih_config *cfg = NULL;
  ih_log(IH_LOG_INFO, IH_EV_RELOADED, "reloading %s", host.config_path);
  if (ih_config_load_file(host.config_path, &cfg, err, sizeof err) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_RELOADED, "reload refused, the running configuration stays: %s", err);
    return -1;
  }
  unsigned drain = cfg->server.drain_timeout, shutdown_limit = cfg->server.shutdown_time_limit,
           delay = cfg->server.drain_delay;
  if (ih_lifecycle_reload(cfg, why, sizeof why) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_RELOADED, "reload refused, the running configuration stays: %s", why);
    return -1;
  }
  host.drain_timeout = drain;
  host.drain_delay = delay;
  host.shutdown_time_limit = shutdown_limit;
  if (host.pools)
    ih_pool_manager_reloaded(); /* workers read the file when they start */
  return 0;
}

unsigned ih_host_stop_wait_ms(void)
{
  /* the drain, the cancellation of what is left (10 s), DLL unloading; never
   * more than shutdown_time_limit, when the watchdog ends the stop (plus a
   * moment for it to flush the logs) */
  unsigned s = host.drain_timeout + 30u, limit = host.shutdown_time_limit;
  if (limit && s > limit + 5u)
    s = limit + 5u;
  return (s + host.drain_delay) * 1000u;
}

unsigned ih_host_pause_wait_ms(void) { return (10u + host.drain_delay) * 1000u; }

unsigned ih_host_shutdown_time_limit(void) { return host.shutdown_time_limit; }
