/* The IOCP engine: one completion port, a pool of worker threads, listeners
 * with several outstanding AcceptEx each, overlapped WSARecv / WSASend /
 * TransmitFile for connections, a timer sweep, and graceful stop. It
 * implements the platform table of server/conn.h; all HTTP logic is portable. */
#ifndef IH_IOCP_SERVER_H
#define IH_IOCP_SERVER_H

#include "core/config.h"

/* Opens the listeners and starts the workers. Returns 0, or -1 with the
 * reason already logged. */
int ih_iocp_start(const ih_config *cfg);
/* Graceful stop: stop accepting, close idle connections, let in-flight
 * requests finish within drain_timeout, cancel what is left, join the
 * workers. Returns the number of connections that had to be cancelled. */
int ih_iocp_stop(void);

/* SERVICE_CONTROL_PAUSE: every listener closes (new connections are
 * refused); open connections go on. */
int ih_iocp_pause(void);
/* SERVICE_CONTROL_CONTINUE: the listeners open again. -1 (logged) when
 * one cannot be bound. */
int ih_iocp_continue(void);
/* SERVICE_CONTROL_PARAMCHANGE with a configuration already parsed (taken
 * over, freed on failure): requests that begin from now on use it, those in
 * flight finish under theirs;
 * bindings that appeared open, those that went close. Refused (-1 and
 * why) when the [filter] sections changed or a new binding cannot be
 * bound; the running configuration then stays. */
int ih_iocp_reload(ih_config *cfg, char *why, size_t cap);

#endif
