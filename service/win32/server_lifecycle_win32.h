/* The server's life: start (the engine, the hosts it is given, the
 * listeners, the timer sweep, in that order), graceful stop (drain,
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

/* What the server's life drives but does not own: the extension and filter
 * hosts, which the composition root (server_host_win32.c) chooses and
 * starts and stops through these, each at its point of the server's life. */
typedef struct ih_lifecycle_hosts {
  /* After the engine opens, before any listener does (filters see every
   * connection from its first bytes). 0, or -1 with the reason logged. */
  int (*start)(const ih_config *cfg, ih_server *server);
  /* After the drain (no connection is left), before the I/O threads stop:
   * extension sessions are over and every connection has had
   * END_OF_NET_SESSION. */
  void (*stop)(ih_server *server);
  /* A reload, before its generation is published: 0, or -1 and why (the
   * reload is refused). */
  int (*rebind)(ih_server *server, ih_generation *gen, char *why, size_t cap);
  /* The reload is taken: cfg becomes the running configuration. */
  void (*publish)(ih_server *server, const ih_config *cfg, ih_generation *gen);
  /* Called from the timer sweep every retry_ms (0: never). */
  void (*retry)(void);
  unsigned retry_ms;
} ih_lifecycle_hosts;

/* Opens the listeners and starts the workers, the connections served
 * through platform, with hosts (both must outlive the server). Returns 0,
 * or -1 with the reason already logged. */
int ih_lifecycle_start(const ih_config *cfg, const ih_platform *platform, const ih_lifecycle_hosts *hosts);
/* Graceful stop: stop accepting, close idle connections, let in-flight
 * requests finish within drain_timeout, cancel what is left, join the
 * workers. Returns the number of connections that had to be cancelled.
 * Also after a start that failed. */
int ih_lifecycle_stop(void);

/* A graceful stop or a pause begins (true), or a pause ended (false): the
 * health URL answers 503 while it is so (docs/deployment.md). */
void ih_lifecycle_set_leaving(bool leaving);

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
