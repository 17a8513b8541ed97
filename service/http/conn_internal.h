/* What conn.c (the HTTP pipeline) and conn_ext.c (the ISAPI extension's I/O
 * on the same connection) share. Not for other modules: everything here is
 * called with the connection's lock held. */
#ifndef IH_CONN_INTERNAL_H
#define IH_CONN_INTERNAL_H

#include "http/conn.h"
#include "http/respond.h"

/* File bytes per TransmitFile call: each chunk gets its own minimum-rate
 * deadline, so a transfer that stops moving is cancelled whatever its size. */
#define IH_CONN_FILE_CHUNK 65536u

/* Errors the connection reports itself (Win32 values, which is what the
 * platform reports too, so an extension sees familiar codes). */
#define IH_ERR_INVALID_DATA 13   /* ERROR_INVALID_DATA: malformed request body */
#define IH_ERR_CONN_RESET 10054  /* WSAECONNRESET: the client is gone */

/* Deadlines read by the platform's timer sweep. */
void conn_set_deadline(ih_conn *c, uint64_t ms_from_now);
void conn_clear_deadline(ih_conn *c);
/* Grace period plus the time `bytes` take at min_body_rate. */
uint64_t conn_rate_deadline_ms(const ih_conn *c, uint64_t bytes);

/* The one close path (releases IH_HOLD_SOCKET); ends the request unless an
 * extension still runs it. */
void conn_close(ih_conn *c);
/* Releases IH_HOLD_REQUEST (idempotent) and what the request owned. */
void conn_request_end(ih_conn *c);
/* Sends c->out and the plan's file as the response. */
void conn_start_response(ih_conn *c, ih_body_plan *plan);
/* The response went out: keep alive (next request) or close. */
void conn_response_done(ih_conn *c);
/* Up to cap decoded body bytes already buffered; -1 for a malformed or
 * oversized chunked body. Marks req.body_complete at the end. */
long conn_body_pull(ih_conn *c, char *dst, size_t cap);

/* What an extension operation's completion leaves to do once the lock is
 * released: call the extension host back, and/or end the session. */
typedef struct conn_ext_after {
  void (*fn)(void *ctx, size_t bytes, int err);
  void *ctx;
  size_t bytes;
  int err;
  bool end_session;
} conn_ext_after;

/* Completions of the extension's operation (c->ext_op.kind != 0). */
void conn_ext_on_recv(ih_conn *c, size_t bytes, int err, conn_ext_after *after);
void conn_ext_on_sent(ih_conn *c, size_t bytes, int err, conn_ext_after *after);
/* The connection's deadline passed while an extension runs: sends a held
 * response head if nothing else is in flight. True when it did (the
 * deadline was not a timeout). */
bool conn_ext_on_deadline(ih_conn *c);
/* True while an extension's thread is in platform->send_now. */
bool conn_ext_sending_now(const ih_conn *c);
/* Frees what an extension left on the connection (a held head). */
void conn_ext_release(ih_conn *c);
/* Runs what the completion left to do; without the lock. */
void conn_ext_run_after(ih_conn *c, conn_ext_after *after);

#endif
