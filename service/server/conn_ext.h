/* The ISAPI extension handler as the pipeline calls it (conn_ext.c); its
 * other side, the ih_conn_ext_* functions the extension host calls, is in
 * conn.h. Lock held unless said otherwise. */
#ifndef IH_CONN_EXT_H
#define IH_CONN_EXT_H

#include <stdbool.h>
#include <stddef.h>

#include "server/conn.h"
#include "server/handler.h"
#include "server/response.h"

/* Hands c->req to the extension host once its pre-read is complete: the
 * handler's state (c->ext_state), IH_HOLD_ISAPI_SESSION, then the
 * platform's extension_start. A call the host cannot start (out of memory,
 * too many calls) ends like one that ran, answering 503:
 * conn_ext_take_start_failure then says so once. False, with nothing
 * taken, when there is no memory for the state (the caller answers 503). */
bool conn_ext_start(ih_conn *c);
/* True, once, when a session's start failed under the lock: the caller
 * hands it to platform->ext_end_later after releasing the lock. */
bool conn_ext_take_start_failure(ih_conn *c);
/* Between conn_ext_start and the session's end: the request is the
 * extension's, and only its end ends it. */
bool conn_ext_running(const ih_conn *c);
/* The extension has an operation outstanding: completions are its own. */
bool conn_ext_owns_io(const ih_conn *c);

/* What an extension operation's completion leaves to do once the lock is
 * released: call the extension host back, and/or end the session. */
typedef struct conn_ext_after {
  void (*fn)(void *ctx, size_t bytes, int err);
  void *ctx;
  size_t bytes;
  int err;
  bool end_session;
} conn_ext_after;

/* Completions of the extension's operation (conn_ext_owns_io). */
void conn_ext_on_recv(ih_conn *c, size_t bytes, int err, conn_ext_after *after);
void conn_ext_on_sent(ih_conn *c, size_t bytes, int err, conn_ext_after *after);
/* The connection's deadline passed while an extension runs: sends a held
 * response head if nothing else is in flight. True when it did (the
 * deadline was not a timeout). */
bool conn_ext_on_deadline(ih_conn *c);
/* Runs what the completion left to do; without the lock. */
void conn_ext_run_after(ih_conn *c, conn_ext_after *after);

/* The session is over (ih_conn_on_ext_end): how it ended, for the pipeline
 * to act on (handler.h); for IH_HANDLER_ANSWER the response is in c->out
 * and *plan. */
enum ih_handler_end conn_ext_finish(ih_conn *c, ih_body_plan *plan);
/* The one release of IH_HOLD_ISAPI_SESSION, last thing of
 * ih_conn_on_ext_end; without the lock. */
void conn_ext_session_release(ih_conn *c);
/* Frees what an extension left on the connection (its state, a held head):
 * the connection's end. */
void conn_ext_release(ih_conn *c);

#endif
