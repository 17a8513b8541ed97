/* The request pipeline of a connection (pipeline.c): the entry points its
 * transport (transport.h) and the platform call. Each takes the
 * connection's lock. */
#ifndef IH_PIPELINE_H
#define IH_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "server/conn.h"

/* Creates a connection on transport t (its per-connection data:
 * transport_data), for an accepted socket or another transport's stream
 * (holder: IH_HOLD_SOCKET), and counts it as live. Returns NULL when out of
 * memory. */
ih_conn *ih_conn_new(ih_server *s, const ih_transport *t, void *transport_data, const char *local_addr,
                     uint16_t local_port, const char *peer_addr, uint16_t peer_port);
/* Starts the pipeline: posts the first receive. */
void ih_conn_start(ih_conn *c);

/* Completion handlers, called by the transport (transport.h); each releases
 * the reference its operation or notification held. err != 0 means the
 * operation failed (any error: the connection is gone or was cancelled);
 * the transport passes the operation's own Win32 error, which the debug log
 * shows (IH_EV_IO_ERROR). */
void ih_conn_on_recv(ih_conn *c, size_t bytes, int err);
void ih_conn_on_sent(ih_conn *c, size_t bytes, int err);
void ih_conn_on_timer(ih_conn *c); /* deadline passed or drain requested */

/* The extension's session is over (ih_conn_ext_end handed it to the
 * platform's ext_end_later, which calls this on a pool thread): the
 * pipeline asks the extension handler how it ended and goes on. */
void ih_conn_on_ext_end(ih_conn *c);

/* A worker process's message about a request it runs (server/relay.h),
 * from its link's reader thread; and the worker's loss (its process ended
 * without GOODBYE, or was killed), after that thread stopped: each of its
 * requests ends (502, or the connection closes); returns how many, and
 * names the first few in which[0..cap). */
struct ih_relay_link;
struct ih_chan_msg;
void ih_relay_dispatch(struct ih_relay_link *link, const struct ih_chan_msg *m);
size_t ih_relay_lost(struct ih_relay_link *link, char *which, size_t cap);

#endif
