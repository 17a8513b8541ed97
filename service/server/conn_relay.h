/* The relay handler: a request whose site and URL belong to a worker pool
 * runs in a worker process (relay.h), and this is the service's side of it
 * as the pipeline calls it: the request is sent, body bytes follow when the
 * worker asks, its response bytes go to the client unchanged, with credit
 * back per send, and its END says whether the connection stays. Lock held.
 *
 * Its state (c->relay_state) lives from conn_relay_start until the
 * connection is destroyed or the next request begins (conn_relay_release).
 * The worker's messages come through the pipeline (ih_relay_dispatch,
 * pipeline.h), as the transport's completions do. */
#ifndef IH_CONN_RELAY_H
#define IH_CONN_RELAY_H

#include <stdbool.h>

#include "pool/channel.h"
#include "server/conn.h"
#include "server/handler.h"
#include "server/relay_link.h"
#include "server/response.h"

/* Registers c->req with the worker's link and sends it, with the body
 * bytes already buffered; takes IH_HOLD_RELAY. Otherwise nothing is taken:
 * BODY_REFUSED, the chunked body buffered is malformed or too large
 * (c->req->body_refused says which); UNAVAILABLE, it could not be sent
 * (out of memory, a head too large for one message, the worker just
 * went), which the caller answers with 503. */
enum relay_start { RELAY_START_OK, RELAY_START_BODY_REFUSED, RELAY_START_UNAVAILABLE };
enum relay_start conn_relay_start(ih_conn *c, ih_relay_link *link);
/* Between conn_relay_start and the worker's END (or loss). */
bool conn_relay_running(const ih_conn *c);
/* The relay has the connection's operation outstanding. */
bool conn_relay_owns_io(const ih_conn *c);
/* Completions of its operation. */
void conn_relay_on_recv(ih_conn *c, size_t bytes, int err);
void conn_relay_on_sent(ih_conn *c, size_t bytes, int err);
/* A message of the worker's for this request (DATA, WANT, END). */
void conn_relay_on_msg(ih_conn *c, const ih_chan_msg *m);
/* The worker is gone with this request unfinished. */
void conn_relay_on_lost(ih_conn *c);
/* The connection closed under the relay: the worker is told (ABORT). */
void conn_relay_on_closing(ih_conn *c);
/* True once the worker's END (or its loss) has arrived and every response
 * byte has gone out: the request is over, ask conn_relay_finish. */
bool conn_relay_done(const ih_conn *c);
/* How it ended (handler.h); IH_HANDLER_ANSWER leaves a 502 in c->out and
 * *plan (the worker died before answering). */
enum ih_handler_end conn_relay_finish(ih_conn *c, ih_body_plan *plan);
/* Frees the relay's state for the request that ended (lock held), or at
 * the connection's end. */
void conn_relay_release(ih_conn *c);
/* The connection's worker-side connection closes (CLOSE) and its
 * reference to that worker's link goes: the connection's end, or its next
 * request going to another worker. */
void conn_relay_detach(ih_conn *c);

#endif
