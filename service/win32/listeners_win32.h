/* The listeners: one listening socket per distinct (address, port) of the
 * configuration's bindings, each with several outstanding AcceptEx; the
 * accept completion (addresses, max_connections, handing the socket to
 * the engine), client-abort accounting, and the listeners' side of pause,
 * continue and reload. Completions arrive through the engine
 * (iocp_engine_win32.h); the server's life (server_lifecycle_win32.h)
 * drives the rest. */
#ifndef IH_LISTENERS_WIN32_H
#define IH_LISTENERS_WIN32_H

#include <windows.h>

#include "core/config.h"
#include "server/conn.h"

/* None yet, for server's connections. */
void ih_listeners_init(ih_server *server);
/* Binds and listens on every binding of cfg (not accepting yet) and loads
 * AcceptEx. 0, or -1 (logged). */
int ih_listeners_open(const ih_config *cfg);
/* Starts accepting on every listener: `slots` AcceptEx each. 0 or -1. */
int ih_listeners_accept(unsigned slots);
/* The stop: every listener closes for good; accepts still in flight come
 * back with errors and close their sockets. */
void ih_listeners_stop(void);
/* No AcceptEx in flight (the stop waits for it). */
BOOL ih_listeners_idle(void);
/* Frees what the listeners hold, once no worker runs any more. */
void ih_listeners_free(void);

/* SERVICE_CONTROL_PAUSE: every listener closes (new connections are
 * refused); open connections go on. */
void ih_listeners_pause(void);
/* SERVICE_CONTROL_CONTINUE: the listeners open again. -1 (logged) when
 * one cannot be bound. */
int ih_listeners_continue(void);
/* A reload's bindings (cfg): listeners no longer wanted close, new ones
 * open; when one cannot, everything goes back as it was and it is -1 and
 * why. */
int ih_listeners_rebind(const ih_config *cfg, char *why, size_t cap);

#endif
