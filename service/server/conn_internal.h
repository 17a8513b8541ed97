/* What conn.c (the HTTP pipeline) and conn_ext.c (the ISAPI extension's I/O
 * on the same connection) share. Not for other modules: everything here is
 * called with the connection's lock held. */
#ifndef IH_CONN_INTERNAL_H
#define IH_CONN_INTERNAL_H

#include "server/conn.h"
#include "server/response.h"

/* File bytes per TransmitFile call: each chunk gets its own minimum-rate
 * deadline, so a transfer that stops moving is cancelled whatever its size. */
#define IH_CONN_FILE_CHUNK 65536u

/* The output buffer's size when a request takes it (request_begin in
 * conn.c); it grows from there (respond.c) and goes when the response has
 * been sent, so an idle connection holds none. A request never has less:
 * ih_response_finish writes its fixed 500 into it without allocating. */
#define IH_CONN_OUT_FIRST 8192u

/* Errors the connection reports itself (Win32 values, which is what the
 * platform reports too, so an extension sees familiar codes). */
#define IH_ERR_INVALID_DATA 13   /* ERROR_INVALID_DATA: malformed request body */
#define IH_ERR_CONN_RESET 10054  /* WSAECONNRESET: the client is gone */

/* Decrements a live count unless it is already zero: a release without a
 * take is logged (IH_EV_COUNT_UNDERFLOW, naming what) and ignored, in every
 * build. False when it was refused. */
bool conn_counter_down(atomic_llong *count, const char *what);

/* Deadlines read by the platform's timer sweep. */
void conn_set_deadline(ih_conn *c, uint64_t ms_from_now);
void conn_clear_deadline(ih_conn *c);
/* Grace period plus the time `bytes` take at min_body_rate. */
uint64_t conn_rate_deadline_ms(const ih_conn *c, uint64_t bytes);

/* Releases the lock taken by a pipeline entry point; then ends a session
 * whose start failed meanwhile (platform->ext_end_later). Every entry point
 * that can reach process_input leaves through it. */
void conn_unlock(ih_conn *c);
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
 * oversized chunked body (which of the two: req.body_refused). Marks
 * req.body_complete at the end. */
long conn_body_pull(ih_conn *c, char *dst, size_t cap);

/* The connection's one operation, posted with the IH_HOLD_IO its completion
 * releases (conn.c's posting functions are the only places it is taken).
 * conn_post_recv: a receive into c->in's free space (the caller sets the
 * deadline). conn_post_data: data[0..len) through the SEND_RAW_DATA
 * filters; the completion comes to ih_conn_on_sent. conn_post_file_chunk:
 * the next chunk of file[*offset, *offset + *left), head (c->out's own, or
 * NULL) in front, advancing *offset and *left; read into c->out and sent as
 * data when SEND_RAW_DATA filters must see it. */
void conn_post_recv(ih_conn *c);
void conn_post_data(ih_conn *c, const char *data, size_t len);
void conn_post_file_chunk(ih_conn *c, void *file, uint64_t *offset, uint64_t *left, const char *head,
                          size_t head_len);
/* Appends file[offset, offset + n) to c->out; false when it cannot. */
bool conn_read_file_chunk(ih_conn *c, void *file, uint64_t offset, size_t n);

/* ---- ISAPI filter notifications (conn_filters.c); lock held, no I/O ---- */

#include "filters/filter_chain.h"

bool conn_filters_want(ih_conn *c, uint32_t type);
/* Outgoing bytes must pass through conn_filter_raw_send: SEND_RAW_DATA
 * filters, or bytes a filter wrote waiting to go out first. */
bool conn_filter_sends_through(ih_conn *c);
/* READ_RAW_DATA on the bytes just received at c->in[from, from + *n): they
 * may change (c->in_len follows); READ_NEXT: they were taken, read more. */
enum ih_chain_result conn_filter_raw_read(ih_conn *c, size_t from, size_t *n);
/* The next receive's size: SF_REQ_SET_NEXT_READ_SIZE, or cap. */
size_t conn_filter_read_size(ih_conn *c, size_t cap);
/* PREPROC_HEADERS on the request's head; a changed head is parsed again
 * (*url_changed: route again). */
enum ih_chain_result conn_filter_preproc(ih_conn *c, bool *url_changed);
/* AUTHENTICATION (Basic credentials decoded into writable buffers), then
 * AUTH_COMPLETE on the request's head. */
enum ih_chain_result conn_filter_authenticate(ih_conn *c, bool *url_changed);
/* URL_MAP: the filters may rewrite physical[0..cap) in place. */
enum ih_chain_result conn_filter_url_map(ih_conn *c, const char *url, char *physical, size_t cap);
/* Before a response head in c->out[0..out_head_len) goes out (empty for
 * 0.9): ACCESS_DENIED for a 401 or 403 (a filter finishing the request
 * there may replace the response: *replaced, when replaced is not NULL),
 * then AddResponseHeaders lines (and, for 401/403, headers on denial) and
 * SEND_RESPONSE; the head is rewritten if anything changed. */
enum ih_chain_result conn_filter_send_response(ih_conn *c, int status, bool *replaced);
/* SEND_RAW_DATA on data[0..len): *out and *out_len are the bytes to send
 * (c->filter_send when filters touched them, with what they wrote in front). */
enum ih_chain_result conn_filter_raw_send(ih_conn *c, const char *data, size_t len, const char **out, size_t *out_len);
/* Turns what a filter sent (SF_REQ_SEND_RESPONSE_HEADER, WriteClient) into
 * the response in c->out; false when it sent nothing. */
bool conn_filter_take_response(ih_conn *c, bool finished_keep);
void conn_filter_log(ih_conn *c, ih_fn_log *log);
void conn_filter_end_of_request(ih_conn *c);
void conn_filter_end_of_session(ih_conn *c);

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
