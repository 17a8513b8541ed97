/* The server's life: start (the engine, the extension and filter hosts,
 * the listeners, the timer sweep, in that order), graceful stop (drain,
 * cancel what is left, the phases the stop watchdog reports), the
 * service's pause and continue, and reload (a new generation published to
 * requests that begin from then on). It drives the I/O engine
 * (iocp_engine_win32.h) and the listeners (listeners_win32.h) and owns the
 * portable server state (server/conn.h); server_host_win32.c decides what
 * platform it runs on. */
#ifndef IH_SERVER_LIFECYCLE_WIN32_H
#define IH_SERVER_LIFECYCLE_WIN32_H

#include <stddef.h>

#include "core/config.h"
#include "server/conn.h"

/* Opens the listeners and starts the workers, the connections served
 * through platform (which must outlive the server). Returns 0, or -1 with
 * the reason already logged. */
int ih_lifecycle_start(const ih_config *cfg, const ih_platform *platform);
/* Graceful stop: stop accepting, close idle connections, let in-flight
 * requests finish within drain_timeout, cancel what is left, join the
 * workers. Returns the number of connections that had to be cancelled.
 * Also after a start that failed. */
int ih_lifecycle_stop(void);

/* SERVICE_CONTROL_PAUSE: every listener closes (new connections are
 * refused); open connections go on. */
int ih_lifecycle_pause(void);
/* SERVICE_CONTROL_CONTINUE: the listeners open again. -1 (logged) when
 * one cannot be bound. */
int ih_lifecycle_continue(void);
/* SERVICE_CONTROL_PARAMCHANGE with a configuration already parsed (taken
 * over, freed on failure): requests that begin from now on use it, those in
 * flight finish under theirs;
 * bindings that appeared open, those that went close. Refused (-1 and
 * why) when the [filter] sections changed or a new binding cannot be
 * bound; the running configuration then stays. */
int ih_lifecycle_reload(ih_config *cfg, char *why, size_t cap);

#endif
