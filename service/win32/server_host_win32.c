/* The server's life in this process (see server_host_win32.h). */
#include <winsock2.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/server_log.h"
#include "eventlog_win32.h"
#include "iis_compat_win32.h"
#include "iocp_server.h"
#include "logwriter_win32.h"
#include "server_host_win32.h"

static struct {
  char *config_path;
  ih_config *cfg;          /* the configuration started with (later ones belong to the engine) */
  unsigned drain_timeout;  /* of the newest configuration */
  BOOL winsock, logs, events, engine;
} host;

static void release(void)
{
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

int ih_host_start(const char *config_path, const wchar_t *event_source)
{
  char err[1024];
  host.config_path = _strdup(config_path);
  if (!host.config_path || ih_config_load_file(config_path, &host.cfg, err, sizeof err) != 0) {
    fprintf(stderr, "isapihost: IH%04d configuration rejected: %s\n", IH_EV_CONFIG_INVALID,
            host.config_path ? err : "out of memory");
    release();
    return 2;
  }
  host.drain_timeout = host.cfg->server.drain_timeout;
  WSADATA wsa;
  if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
    fprintf(stderr, "isapihost: Winsock 2.2 is not available\n");
    release();
    return 1;
  }
  host.winsock = TRUE;
  if (ih_logwriter_start(host.cfg->server.log_dir) != 0) {
    release();
    return 1;
  }
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
   * loads. DLLs load only on threads ih_iocp_start creates. */
  ih_iis_compat_init();
  host.engine = TRUE;
  if (ih_iocp_start(host.cfg) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "start-up failed; see the messages above");
    ih_iocp_stop();
    release();
    return 1;
  }
  return 0;
}

void ih_host_stop(void)
{
  if (host.engine)
    ih_iocp_stop();
  release();
}

int ih_host_pause(void) { return ih_iocp_pause(); }

int ih_host_continue(void) { return ih_iocp_continue(); }

int ih_host_reload(void)
{
  char err[1024], why[512];
  ih_config *cfg = NULL;
  ih_log(IH_LOG_INFO, IH_EV_RELOADED, "reloading %s", host.config_path);
  if (ih_config_load_file(host.config_path, &cfg, err, sizeof err) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_RELOADED, "reload refused, the running configuration stays: %s", err);
    return -1;
  }
  unsigned drain = cfg->server.drain_timeout;
  if (ih_iocp_reload(cfg, why, sizeof why) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_RELOADED, "reload refused, the running configuration stays: %s", why);
    return -1;
  }
  host.drain_timeout = drain;
  return 0;
}

unsigned ih_host_stop_wait_ms(void)
{
  /* the drain, the cancellation of what is left (10 s), DLL unloading */
  return (host.drain_timeout + 30u) * 1000u;
}
