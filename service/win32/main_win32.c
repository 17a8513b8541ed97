/* isapihost.exe entry point: the commands of core/cmdline.h.
 *
 * Exit codes: 0 done (a clean stop), 1 failure, 2 usage or configuration
 * error; `status` also 3 (installed, not running); 124 a stop that did not
 * finish within shutdown_time_limit (stop_watchdog_win32.h). */
#include <windows.h>
#include <stdio.h>

#include "core/cmdline.h"
#include "core/server_log.h"
#include "pool_identity_win32.h"
#include "reload_signal_win32.h"
#include "server_host_win32.h"
#include "service_cmd_win32.h"
#include "service_main_win32.h"

static HANDLE stop_event;
static volatile LONG stop_signal = -1;

static BOOL WINAPI on_console_ctrl(DWORD type)
{
  /* Ctrl+C (SIGINT under Wine), Ctrl+Break, console close: graceful stop,
   * within shutdown_time_limit from now. */
  if (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT || type == CTRL_CLOSE_EVENT) {
    InterlockedCompareExchange(&stop_signal, (LONG)type, -1);
    ih_host_stop_requested();
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

/* `run`: in the foreground until Ctrl+C; with --name, `reload --name`
 * reloads the configuration (reload_signal_win32.h). */
static int run(const ih_command *cmd)
{
  stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  SetConsoleCtrlHandler(on_console_ctrl, TRUE);
  int rc = ih_host_start(cmd->config, NULL);
  if (rc != 0)
    return rc;
  HANDLE waits[2] = { stop_event, cmd->name_given ? ih_reload_signal_listen(cmd->name) : NULL };
  DWORD count = waits[1] ? 2 : 1;
  while (WaitForMultipleObjects(count, waits, FALSE, INFINITE) == WAIT_OBJECT_0 + 1)
    ih_host_reload(); /* logs whether it did (IH1010) */
  ih_log(IH_LOG_INFO, IH_EV_STOP_REQUESTED, "stop requested (%s)", ctrl_name(stop_signal));
  if (waits[1])
    CloseHandle(waits[1]); /* no reload reaches a stopping server */
  ih_host_stop();
  return 0;
}

int main(int argc, char **argv)
{
  ih_command cmd;
  char err[512];
  if (ih_command_parse(argc, argv, &cmd, err, sizeof err) != 0) {
    fprintf(stderr, "isapihost: %s\n%s", err, ih_command_usage());
    return 2;
  }
  switch (cmd.kind) {
  case IH_CMD_VERSION:
    printf("IsapiHost %s\n", IH_VERSION);
    return 0;
  case IH_CMD_HELP:
    fputs(ih_command_usage(), stdout);
    return 0;
  case IH_CMD_RUN: return ih_host_exit(run(&cmd));
  case IH_CMD_SERVICE: return ih_host_exit(ih_service_run(cmd.name, cmd.config));
  case IH_CMD_INSTALL: return ih_service_install(&cmd);
  case IH_CMD_UNINSTALL: return ih_service_uninstall(&cmd);
  case IH_CMD_START: return ih_service_start(&cmd);
  case IH_CMD_STOP: return ih_service_stop(&cmd);
  case IH_CMD_STATUS: return ih_service_status(&cmd);
  case IH_CMD_PAUSE: return ih_service_pause(&cmd);
  case IH_CMD_CONTINUE: return ih_service_continue(&cmd);
  case IH_CMD_RELOAD: return ih_service_reload(&cmd);
  case IH_CMD_RECYCLE: return ih_service_recycle(&cmd);
  case IH_CMD_POOL_PASSWORD: {
    char config[MAX_PATH * 3];
    if (!cmd.clear && ih_service_config_file(&cmd, config, sizeof config) != 0) {
      fprintf(stderr, "isapihost pool-password: the configuration path is not usable\n");
      return 2;
    }
    return ih_pool_password_command(&cmd, cmd.clear ? NULL : config);
  }
  }
  return 2;
}
