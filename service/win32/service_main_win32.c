/* isapihost.exe as an NT service (see service_main_win32.h).
 *
 * The control handler only records what was asked and wakes the service's
 * main thread, which does the work (MSDN "Service Control Handler
 * Function": a handler must return within 30 seconds). A ticker thread
 * advances the checkpoint every second while a state is pending, so a slow
 * start (filters loading) or a long drain is not taken for a hung service. */
#include <windows.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/cmdline.h"
#include "core/preshutdown.h"
#include "core/server_log.h"
#include "server_host_win32.h"
#include "service_main_win32.h"
#include "stop_watchdog_win32.h"

#define START_WAIT_MS 30000u  /* wait hint while starting (advanced every second by the ticker) */
#define CONTINUE_WAIT_MS 30000u
#define TICK_MS 1000u

enum { ASK_STOP = 1, ASK_PAUSE = 2, ASK_CONTINUE = 4, ASK_RELOAD = 8 };

static struct {
  wchar_t name[IH_SERVICE_NAME_MAX + 1];
  const char *config;
  SERVICE_STATUS_HANDLE handle;
  SERVICE_STATUS status;
  SRWLOCK lock;              /* status: the main thread, the ticker and INTERROGATE */
  HANDLE wake;               /* auto-reset: something was asked */
  volatile LONG asked;       /* ASK_* bits */
  volatile LONG stop_control;/* the control that asked to stop, for the log */
  HANDLE ticker, ticker_stop;
  int exit_code;
} svc;

static BOOL pending(DWORD state)
{
  return state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING || state == SERVICE_PAUSE_PENDING ||
         state == SERVICE_CONTINUE_PENDING;
}

/* Caller holds svc.lock. */
static void send_status(void)
{
  if (!SetServiceStatus(svc.handle, &svc.status))
    ih_log(IH_LOG_WARNING, IH_EV_SERVICE, "SetServiceStatus(state %lu) failed (Win32 error %lu)",
           svc.status.dwCurrentState, GetLastError());
}

/* Reports state; controls are accepted only in RUNNING and PAUSED (MSDN:
 * none while pending). */
static void report(DWORD state, DWORD wait_hint, DWORD exit_code, DWORD specific)
{
  AcquireSRWLockExclusive(&svc.lock);
  svc.status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  svc.status.dwCurrentState = state;
  svc.status.dwControlsAccepted =
      (state == SERVICE_RUNNING || state == SERVICE_PAUSED)
          ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PRESHUTDOWN |
                SERVICE_ACCEPT_PAUSE_CONTINUE | SERVICE_ACCEPT_PARAMCHANGE
          : 0;
  svc.status.dwWin32ExitCode = exit_code;
  svc.status.dwServiceSpecificExitCode = specific;
  svc.status.dwCheckPoint = pending(state) ? 1 : 0;
  svc.status.dwWaitHint = pending(state) ? wait_hint : 0;
  send_status();
  ReleaseSRWLockExclusive(&svc.lock);
}

static DWORD WINAPI ticker_main(LPVOID arg)
{
  (void)arg;
  while (WaitForSingleObject(svc.ticker_stop, TICK_MS) == WAIT_TIMEOUT) {
    AcquireSRWLockExclusive(&svc.lock);
    if (pending(svc.status.dwCurrentState)) {
      svc.status.dwCheckPoint++; /* still working: the wait hint starts again */
      send_status();
    }
    ReleaseSRWLockExclusive(&svc.lock);
  }
  return 0;
}

static const char *control_name(DWORD control)
{
  switch (control) {
  case SERVICE_CONTROL_STOP: return "STOP";
  case SERVICE_CONTROL_SHUTDOWN: return "SHUTDOWN";
  case SERVICE_CONTROL_PRESHUTDOWN: return "PRESHUTDOWN";
  case SERVICE_CONTROL_PAUSE: return "PAUSE";
  case SERVICE_CONTROL_CONTINUE: return "CONTINUE";
  case SERVICE_CONTROL_PARAMCHANGE: return "PARAMCHANGE";
  default: return "?";
  }
}

/* The pending state goes out before the handler returns, so whoever sent
 * the control sees it taken at once (MSDN "Service Control Handler
 * Function"); the main thread does the work and reports the end. */
static void ask(LONG what, DWORD pending_state, DWORD wait_hint)
{
  AcquireSRWLockExclusive(&svc.lock);
  DWORD state = svc.status.dwCurrentState;
  bool takes = pending_state == SERVICE_STOP_PENDING ? state == SERVICE_RUNNING || state == SERVICE_PAUSED
               : pending_state == SERVICE_PAUSE_PENDING    ? state == SERVICE_RUNNING
               : pending_state == SERVICE_CONTINUE_PENDING ? state == SERVICE_PAUSED
                                                           : false;
  if (takes) {
    svc.status.dwCurrentState = pending_state;
    svc.status.dwControlsAccepted = 0;
    svc.status.dwCheckPoint = 1;
    svc.status.dwWaitHint = wait_hint;
    send_status();
  }
  ReleaseSRWLockExclusive(&svc.lock);
  InterlockedOr(&svc.asked, what);
  SetEvent(svc.wake);
}

static DWORD WINAPI handler(DWORD control, DWORD event_type, LPVOID event_data, LPVOID context)
{
  (void)event_type, (void)event_data, (void)context;
  switch (control) {
  case SERVICE_CONTROL_INTERROGATE:
    AcquireSRWLockExclusive(&svc.lock);
    send_status();
    ReleaseSRWLockExclusive(&svc.lock);
    return NO_ERROR;
  case SERVICE_CONTROL_STOP:
  case SERVICE_CONTROL_SHUTDOWN:
  case SERVICE_CONTROL_PRESHUTDOWN:
    InterlockedCompareExchange(&svc.stop_control, (LONG)control, 0);
    ih_host_stop_requested(); /* shutdown_time_limit runs from now */
    ask(ASK_STOP, SERVICE_STOP_PENDING, ih_host_stop_wait_ms());
    return NO_ERROR;
  case SERVICE_CONTROL_PAUSE:
    ask(ASK_PAUSE, SERVICE_PAUSE_PENDING, ih_host_pause_wait_ms());
    return NO_ERROR;
  case SERVICE_CONTROL_CONTINUE:
    ask(ASK_CONTINUE, SERVICE_CONTINUE_PENDING, CONTINUE_WAIT_MS);
    return NO_ERROR;
  case SERVICE_CONTROL_PARAMCHANGE:
    ask(ASK_RELOAD, 0, 0);
    return NO_ERROR;
  default:
    return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

/* The SCM's preshutdown timeout follows shutdown_time_limit
 * (core/preshutdown.h): at system shutdown Windows waits that long after
 * PRESHUTDOWN, so a stop that runs out is still logged (IH1012). Checked
 * when the service starts and after a reload, and set when it differs.
 * Setting it needs SERVICE_CHANGE_CONFIG on the service, which the default
 * service DACL gives administrators (LocalSystem among them) but not
 * LocalService or NetworkService (MSDN "Service Security and Access
 * Rights"); querying it is open to every service account. Where the
 * service cannot set it, it says so once per check (IH1011 warning). */
static void follow_preshutdown_timeout(void)
{
  unsigned limit = ih_host_shutdown_time_limit();
  DWORD want = ih_preshutdown_timeout_ms(limit);
  SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
  if (!scm) {
    ih_log(IH_LOG_WARNING, IH_EV_SERVICE, "cannot check the preshutdown timeout: OpenSCManager failed (Win32 error %lu)",
           GetLastError());
    return;
  }
  SERVICE_PRESHUTDOWN_INFO have = { 0 };
  DWORD needed = 0;
  SC_HANDLE s = OpenServiceW(scm, svc.name, SERVICE_QUERY_CONFIG);
  BOOL known = s && QueryServiceConfig2W(s, SERVICE_CONFIG_PRESHUTDOWN_INFO, (BYTE *)&have, sizeof have, &needed);
  if (s)
    CloseServiceHandle(s);
  if (known && have.dwPreshutdownTimeout == want) {
    CloseServiceHandle(scm);
    return;
  }
  SERVICE_PRESHUTDOWN_INFO info = { want };
  DWORD err = NO_ERROR;
  s = OpenServiceW(scm, svc.name, SERVICE_CHANGE_CONFIG);
  if (!s || !ChangeServiceConfig2W(s, SERVICE_CONFIG_PRESHUTDOWN_INFO, &info))
    err = GetLastError();
  if (s)
    CloseServiceHandle(s);
  CloseServiceHandle(scm);
  char was[32] = "unknown";
  if (known)
    snprintf(was, sizeof was, "%lu ms", (unsigned long)have.dwPreshutdownTimeout);
  if (err == NO_ERROR)
    ih_log(IH_LOG_INFO, IH_EV_SERVICE,
           "preshutdown timeout set to %lu ms (was %s): shutdown_time_limit %u s + %u s to log a stop that runs out",
           (unsigned long)want, was, limit, IH_PRESHUTDOWN_MARGIN_S);
  else
    ih_log(IH_LOG_WARNING, IH_EV_SERVICE,
           "the preshutdown timeout is %s, shutdown_time_limit (%u s) needs %lu ms, and this account cannot change "
           "it (Win32 error %lu): at system shutdown Windows may end the service before a stop that runs out is "
           "logged; an administrator can set it (docs/install.md)",
           was, limit, (unsigned long)want, (unsigned long)err);
}

/* The service's main thread, after RUNNING: one request at a time. */
static void serve(void)
{
  for (;;) {
    WaitForSingleObject(svc.wake, INFINITE);
    LONG asked = InterlockedExchange(&svc.asked, 0);
    if (asked & ASK_STOP) {
      ih_log(IH_LOG_INFO, IH_EV_STOP_REQUESTED, "stop requested (service control %s)",
             control_name((DWORD)svc.stop_control));
      report(SERVICE_STOP_PENDING, ih_host_stop_wait_ms(), NO_ERROR, 0);
      ih_host_stop();
      return;
    }
    if (asked & ASK_RELOAD) {
      ih_log(IH_LOG_INFO, IH_EV_SERVICE, "service control PARAMCHANGE: reloading the configuration");
      if (ih_host_reload() == 0)
        follow_preshutdown_timeout();
    }
    AcquireSRWLockShared(&svc.lock);
    DWORD state = svc.status.dwCurrentState; /* the handler has set the pending state */
    ReleaseSRWLockShared(&svc.lock);
    if ((asked & ASK_PAUSE) && state == SERVICE_PAUSE_PENDING) {
      ih_host_pause();
      report(SERVICE_PAUSED, 0, NO_ERROR, 0);
    } else if ((asked & ASK_CONTINUE) && state == SERVICE_CONTINUE_PENDING) {
      report(ih_host_continue() == 0 ? SERVICE_RUNNING : SERVICE_PAUSED, 0, NO_ERROR, 0);
    }
  }
}

/* The stop watchdog is about to end the process: the SCM hears that the
 * service stopped, so it is not taken for a crash and `net stop` and
 * `isapihost stop` return. It hears a clean stop (NO_ERROR): the stop was
 * asked for and did happen, and a stop with an error would make the
 * failure actions `isapihost install` sets ("enable actions for stops with
 * errors") start the service again after an operator stopped it. What was
 * stuck is in the IH1012 event; the process's own exit code is still 124. */
static void stopped_by_watchdog(DWORD exit_code)
{
  svc.exit_code = (int)exit_code;
  report(SERVICE_STOPPED, 0, NO_ERROR, 0);
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
  (void)argc, (void)argv;
  svc.handle = RegisterServiceCtrlHandlerExW(svc.name, handler, NULL);
  if (!svc.handle) {
    svc.exit_code = 1;
    return;
  }
  ih_stop_watchdog_on_exit(stopped_by_watchdog);
  report(SERVICE_START_PENDING, START_WAIT_MS, NO_ERROR, 0);
  svc.ticker = CreateThread(NULL, 0, ticker_main, NULL, 0, NULL);
  int rc = ih_host_start(svc.config, svc.name);
  if (rc != 0) {
    /* the SCM shows "service-specific error rc"; the reason is in the logs */
    svc.exit_code = rc;
    report(SERVICE_STOPPED, 0, ERROR_SERVICE_SPECIFIC_ERROR, (DWORD)rc);
  } else {
    ih_log(IH_LOG_INFO, IH_EV_SERVICE, "running as the service %ls (process %lu)", svc.name, GetCurrentProcessId());
    report(SERVICE_RUNNING, 0, NO_ERROR, 0);
    follow_preshutdown_timeout();
    serve();
    report(SERVICE_STOPPED, 0, NO_ERROR, 0); /* the process may end at once after this */
  }
  SetEvent(svc.ticker_stop);
  if (svc.ticker) {
    WaitForSingleObject(svc.ticker, INFINITE);
    CloseHandle(svc.ticker);
  }
}

int ih_service_run(const char *name, const char *config_path)
{
  memset(&svc, 0, sizeof svc);
  InitializeSRWLock(&svc.lock);
  MultiByteToWideChar(CP_UTF8, 0, name, -1, svc.name, IH_SERVICE_NAME_MAX + 1);
  svc.config = config_path;
  svc.wake = CreateEventW(NULL, FALSE, FALSE, NULL);
  svc.ticker_stop = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!svc.wake || !svc.ticker_stop) {
    fprintf(stderr, "isapihost service: cannot create events (Win32 error %lu)\n", GetLastError());
    return 1;
  }
  SERVICE_TABLE_ENTRYW table[] = { { svc.name, service_main }, { NULL, NULL } };
  if (!StartServiceCtrlDispatcherW(table)) {
    DWORD err = GetLastError();
    if (err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT)
      fprintf(stderr, "isapihost service: this command is for the Service Control Manager; start the service "
                      "with 'isapihost start --name %s' or 'net start %s', or run in the foreground with "
                      "'isapihost run --config FILE'\n",
              name, name);
    else
      fprintf(stderr, "isapihost service: StartServiceCtrlDispatcher failed (Win32 error %lu)\n", err);
    return 1;
  }
  CloseHandle(svc.wake);
  CloseHandle(svc.ticker_stop);
  return svc.exit_code;
}
