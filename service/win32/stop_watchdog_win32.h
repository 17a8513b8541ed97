/* A stop always finishes: a watchdog armed when a stop is asked for (Ctrl+C,
 * SIGINT under Wine, the SCM's STOP, SHUTDOWN or PRESHUTDOWN, `isapihost
 * stop`) ends the process when the whole stop (drain, TerminateExtension
 * and TerminateFilter, log flush) has not finished within
 * shutdown_time_limit, as IIS's WAS does to a worker process after its
 * shutdownTimeLimit (IIS "applicationPools/add/processModel"). Before the
 * process ends it logs what the stop was stuck in (IH1012: the DLL and
 * entry point, or the phase of the stop), waits a moment for the server log
 * and the Event Log to take the line, lets the service tell the SCM, and
 * exits with IH_EXIT_STOP_TIME_LIMIT. Win32 only. */
#ifndef IH_STOP_WATCHDOG_WIN32_H
#define IH_STOP_WATCHDOG_WIN32_H

#include <windows.h>

/* The process exit code (and the service's service-specific exit code) of
 * a stop ended by the watchdog. 124, as timeout(1) reports a command it
 * had to end; its low byte is what Wine hands the shell, and no other exit
 * of isapihost.exe (0-3), nor the low byte of a crash's NTSTATUS
 * (0xC0000005 -> 5, 0xC0000409 -> 9, 0xC000001D -> 29, 0xC00000FD -> 253,
 * 0xC0000374 -> 116), is 124. docs/operations.md. */
#define IH_EXIT_STOP_TIME_LIMIT 124

/* Creates the watchdog's thread, which sleeps until armed. Called once at
 * start, before any DLL is loaded: a thread created later could not start
 * while a DLL's DllMain holds the loader lock, the very case it is for.
 * Returns 0, or -1 with GetLastError(). */
int ih_stop_watchdog_start(void);

/* A stop was asked for: the clock starts now (limit_s seconds). Later calls
 * do nothing (the first request's time counts). Any thread, including a
 * console control handler; also before ih_stop_watchdog_start. */
void ih_stop_watchdog_arm(unsigned limit_s);

/* What the stop is doing now, for IH1012 when no DLL entry point is to
 * blame (static text: "draining connections", ...). */
void ih_stop_watchdog_phase(const char *phase);

/* The stop has finished (or the server never started): the watchdog stands
 * down. If it has already fired, this never returns: the process is being
 * ended with IH_EXIT_STOP_TIME_LIMIT. */
void ih_stop_watchdog_finished(void);

/* Runs on the watchdog's thread just before the process ends (the NT
 * service reports SERVICE_STOPPED with exit_code as its service-specific
 * exit code). Set before a stop can be asked for. */
void ih_stop_watchdog_on_exit(void (*hook)(DWORD exit_code));

#endif
