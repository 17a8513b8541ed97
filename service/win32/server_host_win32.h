/* The server's life in this process, whoever drives it: the foreground
 * `run` command (Ctrl+C) or the NT service (the SCM's controls). One
 * server per process. */
#ifndef IH_SERVER_HOST_WIN32_H
#define IH_SERVER_HOST_WIN32_H

#include "ih_version.h"

/* Loads config_path, starts Winsock, the logs (and, for a service, the
 * Event Log source named event_source; NULL: none), the IIS values DLLs
 * probe, and the engine. Returns 0; 2 when the configuration is invalid
 * (the reason on stderr and, when a log is up, in it); 1 when start-up
 * failed (logged). On failure everything started is stopped again. */
int ih_host_start(const char *config_path, const wchar_t *event_source);
/* A stop was asked for (a console or service control handler; any
 * thread): shutdown_time_limit runs from now (stop_watchdog_win32.h). */
void ih_host_stop_requested(void);
/* Graceful stop within drain_timeout (IH1003, IH1004), then the logs; the
 * whole of it within shutdown_time_limit, or the process ends with exit
 * code 124 (IH1012). */
void ih_host_stop(void);
/* The end of a process that ran the server: returns rc, or ends the process
 * with rc at once when a DLL is stuck in an entry point (its DllMain must
 * not run again at exit). */
int ih_host_exit(int rc);
/* SERVICE_CONTROL_PAUSE / CONTINUE. A pause (like a stop) first leaves
 * the load balancer's rotation: the health URL answers 503 for
 * drain_delay seconds while the listeners stay open
 * (docs/deployment.md); continue puts it back. */
int ih_host_pause(void);
int ih_host_continue(void);
/* SERVICE_CONTROL_PARAMCHANGE: the configuration file is read again; an
 * invalid one, or one that cannot be applied, is refused (IH1010 ERROR)
 * and the running one stays. Returns 0 when applied. */
int ih_host_reload(void);
/* How long a stop, or a pause, may take, for the SCM's wait hint. */
unsigned ih_host_stop_wait_ms(void);
unsigned ih_host_pause_wait_ms(void);
/* shutdown_time_limit of the newest configuration (seconds), for the
 * service's preshutdown timeout (core/preshutdown.h). */
unsigned ih_host_shutdown_time_limit(void);

#endif
