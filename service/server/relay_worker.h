/* The worker's end of the relay (relay.h): each REQUEST from the service
 * becomes a connection of the worker's own server whose transport is the
 * channel, and the whole pipeline runs on it as on a socket. Portable; the
 * worker's main program (service/win32/worker_main_win32.c) owns the
 * threads:
 *
 * - its reader thread polls the channel, hands each message to
 *   ih_relay_worker_dispatch, and then calls ih_relay_worker_run (the
 *   transport's completions and destructions, which must come "later and on
 *   another stack", transport.h); the transport asks for that through
 *   wake_self when it queues one from another thread;
 * - a timer thread calls ih_relay_worker_sweep (the transport's timer
 *   contract, transport.h).
 *
 * Messages about the worker as a whole (PING, STOP) are not this module's:
 * dispatch returns false for them and the caller handles them. */
#ifndef IH_RELAY_WORKER_H
#define IH_RELAY_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "pool/channel.h"
#include "server/server.h"

typedef struct ih_relay_worker ih_relay_worker;

/* wake_self makes the reader thread call ih_relay_worker_run soon (rings
 * its own doorbell). NULL when out of memory. */
ih_relay_worker *ih_relay_worker_new(ih_server *s, ih_chan *ch, void (*wake_self)(void *ctx), void *wake_ctx);
/* How a file of the worker's platform reaches the service without its
 * bytes crossing the channel: export_file makes a handle of it valid in
 * the service process (DuplicateHandle) and returns it as a number; false
 * when it cannot (the bytes are then sent through the channel). NULL (the
 * default): always through the channel. */
void ih_relay_worker_set_file_export(ih_relay_worker *w, bool (*export_file)(void *file, uint64_t *token));
/* After every connection is gone (ih_relay_worker_live is 0). */
void ih_relay_worker_free(ih_relay_worker *w);

/* A message for a request (REQUEST, BODY, CREDIT, ABORT): true. Others:
 * false, untouched. A REQUEST that cannot be served (out of memory, a
 * malformed message) is answered with END at once and logged. */
bool ih_relay_worker_dispatch(ih_relay_worker *w, const ih_chan_msg *m);
/* Delivers queued completions and destroys connections that asked for it;
 * true when it did anything. Reader thread only. */
bool ih_relay_worker_run(ih_relay_worker *w);
/* The timer sweep: deadlines that passed (all: every connection, a stop
 * that ran out of time) reach ih_conn_on_timer. Timer thread. */
void ih_relay_worker_sweep(ih_relay_worker *w, uint64_t now_ms, bool all);
/* Relayed connections not yet destroyed. */
long ih_relay_worker_live(ih_relay_worker *w);

#endif
