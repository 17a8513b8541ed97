/* isapihost.exe entry point.
 *
 *   isapihost run --config FILE   run in the foreground until Ctrl+C
 *   isapihost --version | --help
 *
 * Exit codes: 0 clean stop, 1 start-up failure, 2 usage or config error. */
#include <winsock2.h>
#include <windows.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/server_log.h"
#include "iis_compat_win32.h"
#include "iocp_server.h"
#include "logwriter_win32.h"

#define IH_VERSION "0.1.0"

static HANDLE stop_event;
static volatile LONG stop_signal = -1;

static BOOL WINAPI on_console_ctrl(DWORD type)
{
  /* Ctrl+C (SIGINT under Wine), Ctrl+Break, console close: graceful stop. */
  if (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT || type == CTRL_CLOSE_EVENT) {
    InterlockedCompareExchange(&stop_signal, (LONG)type, -1);
    SetEvent(stop_event);
    return TRUE;
  }
  return FALSE;
}

static const char *ctrl_name(LONG type)
{
  switch (type) {
  case CTRL_C_EVENT: return "Ctrl+C";
  case CTRL_BREAK_EVENT: return "Ctrl+Break";
  case CTRL_CLOSE_EVENT: return "console close";
  default: return "unknown";
  }
}

static void usage(FILE *to)
{
  fprintf(to, "usage: isapihost run --config FILE\n"
              "       isapihost --version\n"
              "Runs the IsapiHost web server in the foreground; Ctrl+C stops it gracefully.\n"
              "Configuration reference: docs/configuration.md\n");
}

static int run(const char *config_path)
{
  ih_config *cfg = NULL;
  char err[1024];
  if (ih_config_load_file(config_path, &cfg, err, sizeof err) != 0) {
    fprintf(stderr, "isapihost: IH%04d configuration rejected: %s\n", IH_EV_CONFIG_INVALID, err);
    return 2;
  }
  WSADATA wsa;
  if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
    fprintf(stderr, "isapihost: Winsock 2.2 is not available\n");
    ih_config_free(cfg);
    return 1;
  }
  if (ih_logwriter_start(cfg->server.log_dir) != 0) {
    ih_config_free(cfg);
    return 1;
  }
  ih_log(IH_LOG_INFO, IH_EV_STARTING, "IsapiHost %s starting with %s", IH_VERSION, config_path);
  /* Order matters: extension DLLs built for IIS use sockets in
   * GetExtensionVersion without calling WSAStartup themselves, and some
   * probe the registry for IIS, so Winsock (above) and the IIS values (here,
   * once the server log can report them) must be in place before any DLL
   * loads. DLLs load only on ISAPI pool threads, which ih_iocp_start
   * creates, so both come before it. */
  ih_iis_compat_init();
  stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  SetConsoleCtrlHandler(on_console_ctrl, TRUE);
  int rc = 0;
  if (ih_iocp_start(cfg) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "start-up failed; see the messages above");
    ih_iocp_stop();
    rc = 1;
  } else {
    WaitForSingleObject(stop_event, INFINITE);
    ih_log(IH_LOG_INFO, IH_EV_STOP_REQUESTED, "stop requested (%s)", ctrl_name(stop_signal));
    ih_iocp_stop();
  }
  ih_logwriter_stop();
  ih_config_free(cfg);
  WSACleanup();
  return rc;
}

int main(int argc, char **argv)
{
  if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v"))) {
    printf("IsapiHost %s\n", IH_VERSION);
    return 0;
  }
  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "/?"))) {
    usage(stdout);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "run") && !strcmp(argv[2], "--config"))
    return run(argv[3]);
  usage(stderr);
  return 2;
}
