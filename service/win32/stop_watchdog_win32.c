/* The stop watchdog (see stop_watchdog_win32.h).
 *
 * Its thread exists from start-up and waits for the armed event; armed, it
 * waits for the finished event until the deadline. Whoever moves `state`
 * first decides: ARMED -> FIRED (the watchdog ends the process) or ARMED or
 * IDLE -> FINISHED (the stop won). Nothing the watchdog does after firing
 * waits without a bound, and it never touches the loader lock: the process
 * ends with TerminateProcess, not ExitProcess, which would call every DLL's
 * DllMain(DLL_PROCESS_DETACH), the stuck one's included (MSDN
 * "ExitProcess", "Terminating a Process"). */
#include "stop_watchdog_win32.h"

#include <stdio.h>

#include "core/ih_thread.h"
#include "core/preshutdown.h"
#include "core/server_log.h"
#include "dll_entry_win32.h"
#include "eventlog_win32.h"
#include "isapi/isapi_host_win32.h"
#include "logwriter_win32.h"

/* How long the watchdog waits for the server log and the Event Log to take
 * its line, each: a log that does not answer in that time will not. */
#define FLUSH_WAIT_MS 3000u
/* ...and both waits fit in what the service's preshutdown timeout gives
 * past shutdown_time_limit, so Windows does not move on at system shutdown
 * before the line is written (core/preshutdown.h). */
_Static_assert(2u * FLUSH_WAIT_MS < IH_PRESHUTDOWN_MARGIN_S * 1000u,
               "the watchdog's flush waits must fit in the preshutdown margin");

enum { IDLE, ARMED, FIRED, FINISHED };

static INIT_ONCE events_once = INIT_ONCE_STATIC_INIT;
static HANDLE armed_event, finished_event; /* manual-reset */
static volatile LONG state = IDLE;
static unsigned limit_seconds;
static ULONGLONG deadline;
static const char *volatile phase = "waiting for the stop to begin";
static void (*volatile exit_hook)(DWORD exit_code);
static HANDLE thread;

static BOOL CALLBACK create_events(PINIT_ONCE once, PVOID param, PVOID *context)
{
  (void)once, (void)param, (void)context;
  armed_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  finished_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  return armed_event && finished_event;
}

static BOOL events(void) { return InitOnceExecuteOnce(&events_once, create_events, NULL, NULL); }

/* IH1012, with the DLL entry points still running (or the phase), then the
 * end of the process. */
static void fire(void)
{
  char what[1400];
  int n = 0;
  char entries[1024];
  if (ih_dll_entry_describe(entries, sizeof entries) > 0) {
    n = snprintf(what, sizeof what, "stuck in %s", entries);
  } else {
    char running[400];
    size_t requests = ih_isapi_host_describe_running(running, sizeof running);
    n = snprintf(what, sizeof what, "stuck %s%s%s", phase, requests ? "; " : "", requests ? running : "");
  }
  if (n < 0)
    what[0] = '\0';
  char message[IH_LOG_MESSAGE_MAX];
  snprintf(message, sizeof message,
           "the stop did not finish within shutdown_time_limit (%u s): %s; ending the process with exit code %d",
           limit_seconds, what, IH_EXIT_STOP_TIME_LIMIT);
  ih_log(IH_LOG_ERROR, IH_EV_STOP_TIME_LIMIT, "%s", message);
  /* The log writer's sink has echoed the line to stderr; make sure it
   * reaches server.log and the Event Log too. A writer that has already
   * stopped (the stop was flushing the logs) took no line and echoed none:
   * stderr at least gets it. */
  if (!ih_logwriter_flush(FLUSH_WAIT_MS)) {
    char line[IH_LOG_MESSAGE_MAX + 64];
    size_t n = ih_log_format(line, sizeof line, ih_wall_seconds(), IH_LOG_ERROR, IH_EV_STOP_TIME_LIMIT, message);
    fwrite(line, 1, n, stderr);
  }
  ih_eventlog_flush(FLUSH_WAIT_MS);
  fflush(NULL);
  void (*hook)(DWORD) = exit_hook;
  if (hook)
    hook(IH_EXIT_STOP_TIME_LIMIT);
  TerminateProcess(GetCurrentProcess(), IH_EXIT_STOP_TIME_LIMIT);
}

static DWORD WINAPI watchdog_main(LPVOID arg)
{
  (void)arg;
  HANDLE wake[2] = { finished_event, armed_event };
  /* finished before armed: the server never stopped through us */
  if (WaitForMultipleObjects(2, wake, FALSE, INFINITE) == WAIT_OBJECT_0)
    return 0;
  for (;;) {
    ULONGLONG now = GetTickCount64();
    if (now >= deadline)
      break;
    ULONGLONG left = deadline - now;
    if (WaitForSingleObject(finished_event, left < INFINITE ? (DWORD)left : INFINITE - 1) == WAIT_OBJECT_0)
      return 0;
  }
  if (InterlockedCompareExchange(&state, FIRED, ARMED) == ARMED)
    fire();
  return 0;
}

int ih_stop_watchdog_start(void)
{
  if (!events())
    return -1;
  if (thread)
    return 0;
  thread = CreateThread(NULL, 0, watchdog_main, NULL, 0, NULL);
  return thread ? 0 : -1;
}

void ih_stop_watchdog_arm(unsigned limit_s)
{
  if (!events())
    return;
  /* Only the first arm sets the clock; its values are written before the
   * event that makes the thread read them. */
  if (InterlockedCompareExchange(&state, ARMED, IDLE) != IDLE)
    return;
  limit_seconds = limit_s;
  deadline = GetTickCount64() + (ULONGLONG)limit_s * 1000u;
  MemoryBarrier();
  SetEvent(armed_event);
}

void ih_stop_watchdog_phase(const char *what) { phase = what; }

void ih_stop_watchdog_finished(void)
{
  for (;;) {
    LONG was = state;
    if (was == FIRED) {
      /* Too late: the watchdog is ending the process with its exit code,
       * which must not be replaced by this thread's. */
      for (;;)
        Sleep(INFINITE);
    }
    if (was == FINISHED || InterlockedCompareExchange(&state, FINISHED, was) == was)
      break;
  }
  if (events())
    SetEvent(finished_event);
}

void ih_stop_watchdog_on_exit(void (*hook)(DWORD exit_code)) { exit_hook = hook; }
