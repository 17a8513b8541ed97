/* A request on its connection (server/conn.h: ih_request): its beginning
 * and end, the only places IH_HOLD_REQUEST is taken and released, and its
 * body as it is read from the connection's input buffer. Lock held. */
#ifndef IH_REQUEST_H
#define IH_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "server/conn.h"

/* The request's memory, taken when its first bytes are parsed (through the
 * allocation seam, core/ih_alloc.h); false when out of memory (the caller
 * closes the connection: nothing can be answered without a request). */
bool conn_request_new(ih_conn *c);
/* Who the request's client is and how it reached us, once its head is
 * parsed: the connection's peer (a PROXY header's client, if any) over the
 * connection's kind of port, unless the peer is one of trusted_proxies and
 * its forwarding headers say more (Forwarded, X-Forwarded-For,
 * X-Forwarded-Proto and X-Forwarded-Port: http/forwarded.h,
 * docs/deployment.md). Sets client_addr, client_port, secure and
 * server_port; headers a trusted proxy garbled are ignored (IH1308). */
void conn_request_resolve_client(ih_conn *c);
/* Frees the request (after conn_request_end): between requests, and at the
 * connection's end. */
void conn_request_free(ih_conn *c);

/* The output buffer a request's answer is built in (IH_CONN_OUT_FIRST),
 * IH_HOLD_REQUEST and the in-flight count. False when out of memory:
 * nothing can be answered then, so the caller closes the connection
 * (logged here). */
bool conn_request_begin(ih_conn *c);
/* Releases IH_HOLD_REQUEST (idempotent) and what the request owned, after
 * END_OF_REQUEST. */
void conn_request_end(ih_conn *c);

/* Who answered the request (enum ih_metrics_handler, server/metrics.h):
 * the metrics' handler label, and what a worker reports for a relayed one. */
unsigned conn_request_handler(const ih_request *r);
/* ... and that it was h (a filter that finished it, a server page, a
 * worker's report), which stands whatever routing decides later. */
void conn_request_answered_by(ih_request *r, unsigned h);

/* Up to cap decoded body bytes already buffered; -1 for a malformed or
 * oversized chunked body (which of the two: req.body_refused). Marks
 * req.body_complete at the end. */
long conn_body_pull(ih_conn *c, char *dst, size_t cap);
/* Drops the body bytes already buffered (a static handler needs none):
 * 1 when the body is complete, 0 when more must be read, -1 when the
 * chunked body was refused (req.body_refused says why). */
int conn_body_skip(ih_conn *c);

#endif
