/* The ISAPI extension handler: an extension's I/O on its request's
 * connection (the ih_conn_ext_* functions of conn.h, which isapi/ calls)
 * and its side of the pipeline (conn_ext.h: start, completions, how it
 * ended). What is ISAPI's alone lives here, in its state (ih_ext_state),
 * allocated per extension request: the HSE status and the ECB's status
 * code, the head sent or held, what the response declared and sent, the
 * HTTP/0.9 head skipping, the one outstanding operation. The pipeline sees
 * only how the handler ended (handler.h).
 *
 * The connection runs one operation at a time, so an extension's send,
 * receive or file transfer occupies the same slot the pipeline uses; while
 * it runs, c->ext_state->op says what it is and who waits for it. A synchronous
 * caller sleeps on c->ext_state->cond with its result slot (a waiter) on its own
 * stack; an asynchronous one is called back once the lock is released, by
 * the I/O thread that saw the completion (the extension host then moves the
 * DLL's callback to its own pool: never inline, never on the I/O threads).
 *
 * The session end waits for an outstanding operation: ending it underneath
 * would start the next request's receive while the extension's send is
 * still in flight. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "core/server_log.h"
#include "server/conn_ext.h"
#include "server/conn_filters.h"
#include "server/conn_internal.h"
#include "server/conn_io.h"
#include "server/request.h"
#include "http/header_lines.h"
#include "http/http_status.h"
#include "server/respond.h"
#include "server/response.h"
#include "server/route.h"
#include "isapi/shared/isapi_response.h"
#include "isapi/isapi_session.h"

/* SEND: up to two buffers, then a file range; RECV: body bytes; NOW: a
 * synchronous write the extension's thread sends itself (send_now). */
enum ext_op_kind { EXT_OP_NONE = 0, EXT_OP_SEND, EXT_OP_RECV, EXT_OP_NOW };

#define EXT_LOG_MAX 4096u /* bytes an extension may add to its log record */
#define HOLD_HEAD_MS 200u /* longest a head waits for its body before going out alone */

struct ih_ext_waiter {
  bool done;
  int err;
  size_t bytes;
};

/* The one operation an extension has outstanding on its connection. */
typedef struct ih_ext_op {
  enum ext_op_kind kind;
  ih_ext_done done;             /* fn NULL: a synchronous caller waits (waiter) */
  struct ih_ext_waiter *waiter;
  size_t report_bytes;          /* what a successful completion reports */
  const char *second;           /* SEND: a second buffer sent after the first */
  size_t second_len;
  char *owned;                  /* SEND: a buffer of ours in flight (a held head), freed at the end */
  char *read_buf;               /* RECV: the extension's buffer */
  size_t read_cap;
  void *file;                   /* a file sent after the buffers */
  uint64_t file_offset, file_left;
  bool file_owned;              /* ours (a child's static response): closed when done;
                                   else the extension's, never closed here */
  bool cancelled;               /* HSE_REQ_CANCEL_IO asked for it */
} ih_ext_op;

/* The extension handler's state for the request it runs (c->ext_state):
 * allocated by conn_ext_start, freed when the session is over
 * (conn_ext_finish), so a connection between requests holds none of it. */
typedef struct ih_ext_state {
  bool running;                 /* between conn_ext_start and the end of its session */
  bool start_failed;            /* extension_start failed: the session ends at the pipeline's unlock */
  bool head_sent;               /* the response head has gone out (or raw bytes: raw) */
  bool raw;                     /* the extension wrote bytes before any header call: passed through */
  bool delimited;               /* the extension's response declares its length (or has none) */
  uint64_t declared_length;     /* Content-Length the extension declared, UINT64_MAX if none */
  uint64_t body_sent;           /* body bytes sent after the head */
  uint32_t hse_status;          /* how the session ended, for conn_ext_finish */
  int http_status;
  int skip_state;               /* HTTP/0.9: 0 undecided, 1 skipping a head the extension wrote, 2 body */
  int skip_newlines;            /* consecutive line ends seen while skipping */
  /* The one outstanding operation; synchronous callers wait on cond for
   * it, and for the slot to be free. */
  ih_cond *cond;
  ih_ext_op op;
  bool end_deferred;            /* the session ended while op was outstanding */
  /* A response head sent synchronously without a body is held back a moment
   * and goes out with the first body bytes (one send instead of two), when
   * the session ends, or when the deadline passes (conn_ext_on_deadline). */
  char *held_head;
  size_t held_head_len;
} ih_ext_state;

/* ---- the operation slot (lock held) ---- */

/* Waits until the slot is free for this caller. Synchronous callers take
 * turns; anything next to an asynchronous operation is refused. */
static int op_begin(ih_conn *c, const ih_ext_done *done)
{
  for (;;) {
    if (c->socket_closed || !c->ext_state || !c->ext_state->running)
      return IH_EXT_GONE;
    if (!c->ext_state->op.kind)
      return IH_EXT_OK;
    if (done || c->ext_state->op.done.fn)
      return IH_EXT_BUSY;
    ih_cond_wait(c->ext_state->cond, c->lock);
  }
}

static void op_set(ih_conn *c, enum ext_op_kind kind, const ih_ext_done *done, struct ih_ext_waiter *w,
                   size_t report_bytes)
{
  memset(&c->ext_state->op, 0, sizeof c->ext_state->op);
  c->ext_state->op.kind = kind;
  if (done)
    c->ext_state->op.done = *done;
  else
    c->ext_state->op.waiter = w;
  c->ext_state->op.report_bytes = report_bytes;
}

/* The operation is over: wake its waiter, or leave the callback to `after`;
 * a session end that waited for it goes ahead. */
static void op_finish(ih_conn *c, size_t bytes, int err, conn_ext_after *after)
{
  ih_ext_op op = c->ext_state->op;
  c->ext_state->op.kind = EXT_OP_NONE;
  if (c->ext_state->held_head)
    conn_set_deadline(c, HOLD_HEAD_MS); /* a read went first: the held head still goes out soon */
  else
    conn_clear_deadline(c);
  if (op.file_owned)
    c->server->platform->file_close(op.file);
  free(op.owned);
  if (op.waiter) {
    op.waiter->done = true;
    op.waiter->err = err;
    op.waiter->bytes = bytes;
  } else {
    after->fn = op.done.fn;
    after->ctx = op.done.ctx;
    after->bytes = bytes;
    after->err = err;
  }
  if (c->ext_state->end_deferred) {
    c->ext_state->end_deferred = false;
    after->end_session = true;
  }
  ih_cond_broadcast(c->ext_state->cond); /* the waiter, and synchronous callers waiting for the slot */
}

static int op_wait(ih_conn *c, struct ih_ext_waiter *w, size_t *bytes)
{
  while (!w->done)
    ih_cond_wait(c->ext_state->cond, c->lock);
  if (bytes)
    *bytes = w->bytes;
  return w->err ? IH_EXT_GONE : IH_EXT_OK;
}

/* An asynchronous operation that needed no I/O still completes through the
 * callback (after the lock is released), so the caller sees one path. */
static void complete_now(const ih_ext_done *done, size_t bytes, conn_ext_after *after)
{
  after->fn = done->fn;
  after->ctx = done->ctx;
  after->bytes = bytes;
  after->err = 0;
}

/* ---- posting: through conn_io.c's functions, whose transport calls
 * (conn.c) are the only ones that take the IH_HOLD_IO a completion
 * releases ---- */

static void post_send(ih_conn *c, const char *data, size_t len) { conn_post_data(c, data, len); }

static void post_recv(ih_conn *c)
{
  conn_set_deadline(c, conn_rate_deadline_ms(c, 0));
  conn_post_recv(c);
}

/* c->out is free once the operation's buffers have gone out, so a chunk
 * SEND_RAW_DATA filters must see can be read into it. */
static void post_file_chunk(ih_conn *c)
{
  ih_ext_op *op = &c->ext_state->op;
  conn_post_file_chunk(c, op->file, &op->file_offset, &op->file_left, NULL, 0);
}

/* Starts the SEND operation already set up in c->ext_state->op: a held head goes
 * out in front of data[0..n) (one buffer when data is small), then the
 * op's file, if any. */
#define COALESCE_MAX 16384u

static void start_send(ih_conn *c, const char *data, size_t n)
{
  ih_ext_op *op = &c->ext_state->op;
  char *held = c->ext_state->held_head;
  size_t held_len = c->ext_state->held_head_len;
  c->ext_state->held_head = NULL;
  c->ext_state->held_head_len = 0;
  if (!held) {
    if (n)
      post_send(c, data, n);
    else
      post_file_chunk(c);
    return;
  }
  assert(!op->second_len); /* only a head carries a second buffer, and a held head is one */
  op->owned = held;
  if (n && n <= COALESCE_MAX) {
    char *joined = ih_realloc(held, held_len + n);
    if (joined) {
      memcpy(joined + held_len, data, n);
      op->owned = joined;
      post_send(c, joined, held_len + n);
      return;
    }
  }
  if (n) {
    op->second = data;
    op->second_len = n;
  }
  post_send(c, held, held_len);
}

/* A synchronous write, sent by the calling thread itself (transport
 * send_now): no completion packet, no I/O thread woken, no wait when the
 * socket takes the bytes at once, which is most of an extension's cost
 * under Wine. A held head goes in front. Lock held on entry and on return;
 * released while sending. */
static int send_now(ih_conn *c, const char *data, size_t n, const char *data2, size_t n2, size_t report,
                    conn_ext_after *after)
{
  char *held = c->ext_state->held_head, *joined = NULL;
  size_t held_len = c->ext_state->held_head_len;
  c->ext_state->held_head = NULL;
  c->ext_state->held_head_len = 0;
  if (held && n <= COALESCE_MAX && (joined = ih_realloc(held, held_len + n)) != NULL) {
    memcpy(joined + held_len, data, n);
    held = NULL;
  }
  op_set(c, EXT_OP_NOW, NULL, NULL, report);
  c->ext_state->op.owned = joined ? joined : held;
  conn_set_deadline(c, conn_rate_deadline_ms(c, held_len + n + n2));
  c->sending_now = true;
  ih_mutex_unlock(c->lock);
  int err = 0;
  if (joined) {
    err = c->transport->send_now(c, joined, held_len + n);
  } else {
    if (held)
      err = c->transport->send_now(c, held, held_len);
    if (!err && n)
      err = c->transport->send_now(c, data, n);
  }
  if (!err && n2)
    err = c->transport->send_now(c, data2, n2);
  ih_mutex_lock(c->lock);
  c->sending_now = false;
  if (!err)
    conn_count_sent(c, held_len + n + n2);
  if (c->close_deferred) {
    c->close_deferred = false;
    c->transport->close_socket(c);
  }
  op_finish(c, report, err ? err : (c->socket_closed ? IH_ERR_CONN_RESET : 0), after);
  if (err && !c->socket_closed)
    conn_close(c);
  return err || c->socket_closed ? IH_EXT_GONE : IH_EXT_OK;
}

/* ---- response bookkeeping ---- */

/* Content-Length and chunked coding the extension's header block declares
 * (already normalised by ih_isapi_parse_headers: one valid Content-Length at
 * most). UINT64_MAX: no length. */
static uint64_t declared_length(const char *headers, size_t len, bool *chunked)
{
  uint64_t n = UINT64_MAX;
  *chunked = false;
  ih_header_lines it = ih_header_lines_of(headers, len);
  ih_header_line line;
  while (ih_header_lines_next(&it, &line)) {
    ih_slice name = ih_slice_trim_ows(line.name);
    uint64_t v;
    if (!line.has_colon)
      continue;
    if (ih_slice_ieq_cstr(name, "Content-Length") && ih_parse_u64(line.value, &v))
      n = (n == UINT64_MAX || n == v) ? v : UINT64_MAX - 1; /* conflicting lengths: never delimited */
    else if (ih_slice_ieq_cstr(name, "Transfer-Encoding") && ih_slice_list_has_token(line.value, "chunked"))
      *chunked = true;
  }
  return n;
}

/* HTTP/0.9 clients never get a head (RFC 9112 Appendix C.1), even one the
 * extension wrote itself: drop everything up to its blank line. */
static size_t skip_head_for_09(ih_ext_state *x, const char **data, size_t len)
{
  const char *p = *data;
  if (x->skip_state == 0)
    x->skip_state = (len >= 5 && memcmp(p, "HTTP/", 5) == 0) ? 1 : 2;
  size_t i = 0;
  while (x->skip_state == 1 && i < len) {
    if (p[i] == '\n') {
      if (++x->skip_newlines == 2)
        x->skip_state = 2;
    } else if (p[i] != '\r') {
      x->skip_newlines = 0;
    }
    i++;
  }
  *data = p + i;
  return len - i;
}

/* Body bytes before any header call: the extension writes its own head, so
 * they pass through untouched, and the connection closes after this
 * response. Its head is read for the status only (the access log): keeping
 * the connection would mean trusting a DLL's Content-Length over bytes we
 * never frame, counted across writes whose head may itself span writes, and
 * a DLL wrong about it would have its surplus read as the next response.
 * DLLs that want a kept connection use SEND_RESPONSE_HEADER(_EX). */
static void begin_raw_response(ih_request *r, ih_ext_state *x, const char *p, size_t len)
{
  x->head_sent = true;
  x->raw = true;
  r->status = 200;
  ih_isapi_raw_head raw;
  if (p && ih_isapi_sniff_raw_head(p, len, &raw) != IH_ISAPI_RAW_NOT_HTTP)
    r->status = raw.status; /* for the access log */
}

/* SEND_RESPONSE (and ACCESS_DENIED) on a head just written into c->out
 * for the extension. A filter that fails or crashes there closes the
 * connection (IH_EXT_GONE); one that finishes the request lets this
 * response go out and closes after it. */
static int filter_head(ih_conn *c, int status)
{
  if (!c->filters)
    return IH_EXT_OK;
  enum ih_chain_result fr = conn_filter_send_response(c, status, NULL);
  c->head_filtered = true;
  if (fr == IH_CHAIN_FAULT || fr == IH_CHAIN_ERROR) {
    conn_close(c);
    return IH_EXT_GONE;
  }
  if (fr == IH_CHAIN_FINISHED)
    c->req->close_wanted = true;
  return IH_EXT_OK;
}

/* ---- entry points ---- */

int ih_conn_ext_send_head(ih_conn *c, const ih_ext_head *h, const ih_ext_done *done)
{
  conn_ext_after after = { 0 };
  struct ih_ext_waiter w = { 0 };
  ih_mutex_lock(c->lock);
  ih_request *r = c->req;
  ih_ext_state *x = c->ext_state;
  int rc = op_begin(c, done);
  if (rc == IH_EXT_OK && x->head_sent)
    rc = IH_EXT_REFUSED; /* the SDK allows one head per request (ms525533) */
  if (rc != IH_EXT_OK) {
    ih_mutex_unlock(c->lock);
    return rc;
  }
  bool chunked;
  x->declared_length = declared_length(h->headers, h->headers_len, &chunked);
  bool bodiless = ih_http_response_has_no_body(h->status, r->head_only);
  bool delimited =
      bodiless || x->declared_length < UINT64_MAX - 1 || (chunked && r->head.version == IH_HTTP_11);
  /* A response the extension wants closed counts as undelimited: the one
   * decision then closes (and announces it). */
  x->delimited = delimited && !h->close;
  x->head_sent = true;
  ih_response_ext_head(c, h->status, h->reason, h->headers, h->headers_len, x->delimited);
  if (c->out_incomplete) {
    /* The extension's head does not fit (respond.h): it never goes out
     * half-built, and the extension's further writes fail. */
    ih_log(IH_LOG_ERROR, IH_EV_RESPONSE_INCOMPLETE,
           "the response head of the extension for %s (%zu bytes of headers) could not be built: connection closed",
           r->path, h->headers_len);
    conn_close(c);
    ih_mutex_unlock(c->lock);
    return IH_EXT_GONE;
  }
  if (filter_head(c, h->status) != IH_EXT_OK) {
    ih_mutex_unlock(c->lock);
    return IH_EXT_GONE;
  }
  /* One send when the body fits the output buffer; else a second buffer. */
  const char *second = NULL;
  size_t second_len = 0;
  size_t body_len = bodiless ? 0 : h->body_len; /* RFC 9110 6.4.1: never sent */
  if (body_len && !ih_response_try_append(c, h->body, body_len)) {
    second = h->body;
    second_len = body_len;
  }
  x->body_sent += body_len;
  if (c->out_len == 0 && second_len == 0) {
    if (done)
      complete_now(done, 0, &after);
  } else if (!done && h->body_len == 0 && (c->ext_state->held_head = ih_malloc(c->out_len)) != NULL) {
    /* Held: most extensions write the body right after the head, and one
     * send instead of two is most of an extension's cost under Wine. */
    memcpy(c->ext_state->held_head, c->out, c->out_len);
    c->ext_state->held_head_len = c->out_len;
    conn_set_deadline(c, HOLD_HEAD_MS);
  } else if (!done && c->transport->send_now && !conn_filter_sends_through(c)) {
    rc = send_now(c, c->out, c->out_len, second, second_len, 0, &after);
  } else {
    op_set(c, EXT_OP_SEND, done, &w, 0);
    if (c->out_len) {
      c->ext_state->op.second = second;
      c->ext_state->op.second_len = second_len;
      post_send(c, c->out, c->out_len);
    } else {
      post_send(c, second, second_len);
    }
    if (!done)
      rc = op_wait(c, &w, NULL);
  }
  ih_mutex_unlock(c->lock);
  conn_ext_run_after(c, &after);
  return rc;
}

int ih_conn_ext_write(ih_conn *c, const void *data, size_t len, const ih_ext_done *done)
{
  conn_ext_after after = { 0 };
  struct ih_ext_waiter w = { 0 };
  ih_mutex_lock(c->lock);
  ih_request *r = c->req;
  ih_ext_state *x = c->ext_state;
  int rc = op_begin(c, done);
  if (rc != IH_EXT_OK) {
    ih_mutex_unlock(c->lock);
    return rc;
  }
  const char *p = data;
  size_t n = len;
  if (!x->head_sent)
    begin_raw_response(r, x, p, n);
  if (r->head.version == IH_HTTP_09 && x->raw)
    n = skip_head_for_09(x, &p, n);
  else if (!x->raw && ih_http_response_has_no_body(r->status, r->head_only))
    n = 0; /* HEAD, 1xx, 204, 304: the body many DLLs write anyway is dropped (RFC 9110 6.4.1), as http.sys does */
  else if (!x->raw)
    x->body_sent += n;
  if (n == 0) {
    if (done)
      complete_now(done, len, &after);
  } else if (!done && c->transport->send_now && !conn_filter_sends_through(c)) {
    rc = send_now(c, p, n, NULL, 0, len, &after);
  } else {
    op_set(c, EXT_OP_SEND, done, &w, len);
    start_send(c, p, n);
    if (!done)
      rc = op_wait(c, &w, NULL);
  }
  ih_mutex_unlock(c->lock);
  conn_ext_run_after(c, &after);
  return rc;
}

int ih_conn_ext_read(ih_conn *c, void *buf, size_t *len, const ih_ext_done *done)
{
  conn_ext_after after = { 0 };
  struct ih_ext_waiter w = { 0 };
  ih_mutex_lock(c->lock);
  int rc = op_begin(c, done);
  if (rc != IH_EXT_OK) {
    ih_mutex_unlock(c->lock);
    return rc;
  }
  long n = conn_body_pull(c, buf, *len);
  if (n < 0) {
    rc = IH_EXT_GONE; /* malformed chunked body: the request closes at its end */
  } else if (n > 0 || c->req->body_complete) {
    if (done)
      complete_now(done, (size_t)n, &after);
    else
      *len = (size_t)n;
  } else if (c->in_len == c->in_cap) {
    rc = IH_EXT_GONE; /* no progress possible (the parser's limits make this unreachable) */
  } else {
    op_set(c, EXT_OP_RECV, done, &w, 0);
    c->ext_state->op.read_buf = buf;
    c->ext_state->op.read_cap = *len;
    post_recv(c);
    if (!done)
      rc = op_wait(c, &w, len);
  }
  ih_mutex_unlock(c->lock);
  conn_ext_run_after(c, &after);
  return rc;
}

int ih_conn_ext_send_file(ih_conn *c, void *file, uint64_t offset, uint64_t length, const ih_ext_done *done)
{
  conn_ext_after after = { 0 };
  struct ih_ext_waiter w = { 0 };
  ih_mutex_lock(c->lock);
  ih_request *r = c->req;
  ih_ext_state *x = c->ext_state;
  int rc = op_begin(c, done);
  if (rc != IH_EXT_OK) {
    ih_mutex_unlock(c->lock);
    return rc;
  }
  if (!x->head_sent)
    begin_raw_response(r, x, NULL, 0);
  size_t report = length > SIZE_MAX ? SIZE_MAX : (size_t)length;
  if (!x->raw && ih_http_response_has_no_body(r->status, r->head_only))
    length = 0; /* HEAD, 1xx, 204, 304: no body (RFC 9110 6.4.1) */
  if (!x->raw)
    x->body_sent += length;
  if (length == 0) {
    if (done)
      complete_now(done, 0, &after);
  } else {
    op_set(c, EXT_OP_SEND, done, &w, report);
    c->ext_state->op.file = file;
    c->ext_state->op.file_offset = offset;
    c->ext_state->op.file_left = length;
    start_send(c, NULL, 0);
    if (!done)
      rc = op_wait(c, &w, NULL);
  }
  ih_mutex_unlock(c->lock);
  conn_ext_run_after(c, &after);
  return rc;
}

/* ---- responses the server writes for the extension (EXEC_URL children,
 * SEND_CUSTOM_ERROR): respond.c has put a head and a body into c->out (and
 * maybe a file of ours into plan) ---- */

/* Sends c->out (from its head, or after it: no_headers) and the plan's
 * file as the extension's operation, and accounts for it in the
 * connection's response. Lock held, slot free. */
static int send_prepared(ih_conn *c, int status, ih_body_plan *plan, bool no_headers, const ih_ext_done *done,
                         struct ih_ext_waiter *w, conn_ext_after *after)
{
  ih_request *r = c->req;
  ih_ext_state *x = c->ext_state;
  if (!ih_response_finish(c, plan)) {
    status = 500; /* a fixed 500 with Connection: close replaced what could not be built */
    r->close_wanted = true;
  }
  if (c->out_head_len && !no_headers && !x->head_sent && filter_head(c, status) != IH_EXT_OK) {
    if (plan->file)
      c->server->platform->file_close(plan->file);
    return IH_EXT_GONE;
  }
  size_t head = c->out_head_len, start = no_headers ? head : 0;
  uint64_t body = (c->out_len - head) + (plan->file ? plan->length : 0);
  if (head && !no_headers) {
    if (!x->head_sent) {
      /* Our own head, with Content-Length: the response is delimited. */
      x->head_sent = true;
      x->delimited = true;
      x->declared_length = body;
      r->status = status;
    } else {
      x->raw = true; /* a second head inside the body: we cannot vouch for the framing */
    }
  } else if (!x->head_sent) {
    begin_raw_response(r, x, NULL, 0);
  }
  if (!x->raw)
    x->body_sent += body;
  size_t n = c->out_len - start;
  if (n == 0 && !plan->file && !c->ext_state->held_head) {
    if (done)
      complete_now(done, 0, after);
    return IH_EXT_OK;
  }
  op_set(c, EXT_OP_SEND, done, w, 0);
  c->ext_state->op.file = plan->file;
  c->ext_state->op.file_offset = plan->offset;
  c->ext_state->op.file_left = plan->file ? plan->length : 0;
  c->ext_state->op.file_owned = plan->file != NULL;
  if (n || c->ext_state->op.file_left || c->ext_state->held_head)
    start_send(c, c->out + start, n);
  else
    op_finish(c, 0, 0, after); /* an empty file: done, and closed */
  return done ? IH_EXT_OK : op_wait(c, w, NULL);
}

/* Whether header text has a field line named name (any case). */
static bool has_field(const char *text, size_t len, const char *name)
{
  ih_header_lines it = ih_header_lines_of(text, len);
  ih_header_line line;
  while (ih_header_lines_next(&it, &line))
    if (line.has_colon && ih_slice_ieq_cstr(line.name, name))
      return true;
  return false;
}

ih_request *ih_conn_ext_child_new(ih_conn *c, const char *method, const char *target, const char *headers,
                                  unsigned wildcard_skip, int *status)
{
  ih_mutex_lock(c->lock);
  const ih_request *parent = c->req;
  /* Rebuild the parent's header lines when the child does not replace them
   * (HSE_EXEC_URL_INFO.pszChildHeaders NULL: "the parent's headers"). */
  size_t headers_len = 0;
  if (headers) {
    headers_len = strlen(headers);
  } else {
    for (size_t i = 0; i < parent->head.header_count; i++)
      headers_len += parent->head.headers[i].name.n + parent->head.headers[i].value.n + 4;
  }
  bool host_given = false;
  size_t cap = strlen(method) + strlen(target) + headers_len + parent->framing.host.n + 64;
  ih_request *child = ih_calloc(1, sizeof *child);
  char *text = ih_malloc(cap);
  *status = 503;
  if (!child || !text) {
    free(child);
    free(text);
    ih_mutex_unlock(c->lock);
    return NULL;
  }
  /* HTTP/0.9 has no headers to parse: the child is parsed as 1.0 and then
   * answered as 0.9 (no head). */
  size_t n = (size_t)snprintf(text, cap, "%s %s HTTP/1.%d\r\n", method, target,
                              parent->head.version == IH_HTTP_11 ? 1 : 0);
  if (headers) {
    memcpy(text + n, headers, headers_len);
    host_given = has_field(text + n, headers_len, "Host");
    n += headers_len;
  } else {
    for (size_t i = 0; i < parent->head.header_count; i++) {
      const ih_http_header *h = &parent->head.headers[i];
      n += (size_t)snprintf(text + n, cap - n, "%.*s: %.*s\r\n", (int)h->name.n, h->name.p, (int)h->value.n,
                            h->value.p);
    }
    host_given = true;
  }
  if (!host_given && parent->framing.host.n) /* the child stays on the parent's site */
    n += (size_t)snprintf(text + n, cap - n, "Host: %.*s\r\n", (int)parent->framing.host.n, parent->framing.host.p);
  if (n + 3 > cap) {
    free(child);
    free(text);
    ih_mutex_unlock(c->lock);
    return NULL;
  }
  memcpy(text + n, "\r\n", 3);
  n += 2;
  child->own_text = text;
  enum ih_http_parse_status ps = ih_http_parse_request(text, n, 0, &c->gen->limits, &child->head);
  enum ih_http_framing_status fs = IH_FRAMING_BAD_REQUEST;
  if (ps == IH_PARSE_DONE)
    fs = ih_http_framing_analyse(&child->head, c->gen->config->server.max_body, &child->framing);
  /* A child's body is its parent's, or the entity given with it, never its
   * own framing: a POST without Content-Length is fine here. */
  if (fs == IH_FRAMING_LENGTH_REQUIRED || fs == IH_FRAMING_EXPECTATION_FAILED)
    fs = IH_FRAMING_OK;
  if (ps != IH_PARSE_DONE || fs != IH_FRAMING_OK) {
    *status = ps == IH_PARSE_URI_TOO_LONG ? 414 : ps == IH_PARSE_HEADERS_TOO_LARGE ? 431 : 400;
    ih_conn_ext_child_free(child);
    ih_mutex_unlock(c->lock);
    return NULL;
  }
  child->head.version = parent->head.version;
  child->head_only = ih_slice_eq(child->head.method, IH_SLICE_LIT("HEAD"));
  child->wildcard_skip = wildcard_skip;
  child->framing_ok = true;
  child->body_complete = parent->body_complete;
  child->secure = parent->secure; /* the same client, reached the same way */
  child->server_port = parent->server_port;
  memcpy(child->client_addr, parent->client_addr, sizeof child->client_addr);
  child->client_port = parent->client_port;
  c->view = child;
  child->is_extension = ih_route_extension(c);
  c->view = c->req;
  *status = 0;
  ih_mutex_unlock(c->lock);
  return child;
}

void ih_conn_ext_child_free(ih_request *child)
{
  if (child) {
    free(child->own_text);
    free(child);
  }
}

int ih_conn_ext_child_respond(ih_conn *c, ih_request *child, bool no_headers, int *status_out,
                              const ih_ext_done *done)
{
  conn_ext_after after = { 0 };
  struct ih_ext_waiter w = { 0 };
  ih_mutex_lock(c->lock);
  int rc = op_begin(c, done);
  if (rc == IH_EXT_OK) {
    ih_body_plan plan;
    c->view = child;
    ih_respond_request(c, &plan);
    c->view = c->req;
    *status_out = child->status;
    rc = send_prepared(c, child->status, &plan, no_headers, done, &w, &after);
  }
  ih_mutex_unlock(c->lock);
  conn_ext_run_after(c, &after);
  return rc;
}

int ih_conn_ext_send_status(ih_conn *c, int status, bool no_headers, const ih_ext_done *done)
{
  conn_ext_after after = { 0 };
  struct ih_ext_waiter w = { 0 };
  ih_mutex_lock(c->lock);
  int rc = op_begin(c, done);
  if (rc == IH_EXT_OK && c->ext_state->head_sent && !no_headers)
    rc = IH_EXT_REFUSED; /* a response has started: it cannot become an error page now */
  if (rc == IH_EXT_OK) {
    ih_body_plan plan;
    ih_response_ext_default(c, status, &plan);
    rc = send_prepared(c, status, &plan, no_headers, done, &w, &after);
  }
  ih_mutex_unlock(c->lock);
  conn_ext_run_after(c, &after);
  return rc;
}

void ih_conn_ext_cancel(ih_conn *c)
{
  ih_mutex_lock(c->lock);
  if (c->ext_state && c->ext_state->op.kind && !c->ext_state->op.cancelled && !c->socket_closed) {
    /* A send stopped half-way leaves the response unframed: close after it. */
    c->ext_state->op.cancelled = true;
    c->req->close_wanted = true;
    if (c->transport->cancel_io)
      c->transport->cancel_io(c);
  }
  ih_mutex_unlock(c->lock);
}

void ih_conn_ext_close(ih_conn *c, bool abortive)
{
  ih_mutex_lock(c->lock);
  if (!c->socket_closed) {
    if (abortive && c->transport->abort_socket)
      c->transport->abort_socket(c);
    conn_close(c); /* the request stays with the extension until its session ends */
  }
  ih_mutex_unlock(c->lock);
}

void ih_conn_ext_close_after(ih_conn *c)
{
  ih_mutex_lock(c->lock);
  c->req->close_wanted = true;
  ih_mutex_unlock(c->lock);
}

bool ih_conn_ext_connected(ih_conn *c)
{
  ih_mutex_lock(c->lock);
  bool alive = !c->socket_closed && (!c->transport->peer_alive || c->transport->peer_alive(c));
  ih_mutex_unlock(c->lock);
  return alive;
}

bool ih_conn_ext_client_keeps_alive(ih_conn *c)
{
  ih_mutex_lock(c->lock);
  const ih_request *r = c->req;
  bool keep = r->head.version != IH_HTTP_09 && r->framing.client_keep_alive && !r->close_wanted &&
              !atomic_load(&c->server->draining);
  ih_mutex_unlock(c->lock);
  return keep;
}

void ih_conn_ext_log_append(ih_conn *c, const char *text, size_t len)
{
  ih_mutex_lock(c->lock);
  ih_request *r = c->req;
  if (len > EXT_LOG_MAX - r->log_append_len)
    len = EXT_LOG_MAX - r->log_append_len;
  char *p = len ? ih_realloc(r->log_append, r->log_append_len + len + 1) : NULL;
  if (p) {
    memcpy(p + r->log_append_len, text, len);
    r->log_append_len += len;
    p[r->log_append_len] = '\0';
    r->log_append = p;
  }
  ih_mutex_unlock(c->lock);
}

bool ih_conn_filter_url_map(ih_conn *c, const char *url, char *path, size_t cap)
{
  ih_mutex_lock(c->lock);
  bool ran = !c->socket_closed && conn_filters_want(c, IH_SF_NOTIFY_URL_MAP);
  if (ran) {
    enum ih_chain_result r = conn_filter_url_map(c, url, path, cap);
    if (r == IH_CHAIN_FAULT || r == IH_CHAIN_ERROR)
      conn_close(c); /* the extension's next call finds the client gone */
  }
  ih_mutex_unlock(c->lock);
  return ran;
}


void ih_conn_ext_end(ih_conn *c, uint32_t hse_status, int http_status)
{
  ih_mutex_lock(c->lock);
  c->ext_state->hse_status = hse_status;
  c->ext_state->http_status = http_status;
  if (c->ext_state->held_head && !c->ext_state->op.kind && !c->socket_closed) {
    op_set(c, EXT_OP_SEND, NULL, NULL, 0); /* the held head goes out before the end */
    start_send(c, NULL, 0);
  }
  bool wait_for_op = c->ext_state->op.kind != EXT_OP_NONE;
  if (wait_for_op)
    c->ext_state->end_deferred = true; /* op_finish ends it */
  ih_mutex_unlock(c->lock);
  /* IH_HOLD_ISAPI_SESSION is kept across the hop and released there. */
  if (!wait_for_op)
    c->server->platform->ext_end_later(c);
}

/* The state goes with the session: a connection between requests, or
 * serving a static one, holds none of it. Nothing waits on its condition
 * any more (the extension host lets a session end only when no callback is
 * in progress, isapi_call_win32.h). */
static void state_free(ih_conn *c)
{
  ih_ext_state *x = c->ext_state;
  if (!x)
    return;
  c->ext_state = NULL;
  free(x->held_head);
  ih_cond_free(x->cond);
  free(x);
}

enum ih_handler_end conn_ext_finish(ih_conn *c, ih_body_plan *plan)
{
  ih_request *r = c->req;
  ih_ext_state x = *c->ext_state;
  state_free(c); /* a head still held here had nowhere to go: the client is gone */
  /* The extension host's one rule (isapi_session.h): SUCCESS, KEEP_CONN
   * and 0 may keep the connection; ERROR and unknown values close it. */
  bool status_ok = ih_isapi_status_allows_keep_alive(x.hse_status);
  r->framing_ok = r->body_complete; /* a body the extension left unread: the connection cannot go on */
  if (c->socket_closed)
    return IH_HANDLER_FAILED;
  if (!x.head_sent) {
    /* Nothing was sent: answer with the status the extension left in the
     * ECB, or 500 when it failed. */
    int status = status_ok ? (x.http_status >= 100 && x.http_status <= 999 ? x.http_status : 200) : 500;
    if (!status_ok)
      r->close_wanted = true; /* HSE_STATUS_ERROR: "the server can disconnect" (ms525010), and it does */
    ih_response_ext_default(c, status, plan);
    return IH_HANDLER_ANSWER;
  }
  /* Its own bytes (never framed by us), a length it did not meet, or its
   * wish: the connection closes after this response. */
  bool delimited = !x.raw && x.delimited &&
                   (ih_http_response_has_no_body(r->status, r->head_only) || x.declared_length >= UINT64_MAX - 1 ||
                    x.body_sent == x.declared_length);
  return delimited && status_ok && !r->close_wanted ? IH_HANDLER_OK : IH_HANDLER_CLOSE_WANTED;
}

void conn_ext_session_release(ih_conn *c)
{
  ih_counter_down(&c->server->counters.isapi_sessions, "isapi_sessions");
  ih_conn_unref(c, IH_HOLD_ISAPI_SESSION);
}

/* ---- the pipeline's side ---- */

bool conn_ext_start(ih_conn *c)
{
  ih_request *r = c->req;
  ih_ext_state *x = ih_calloc(1, sizeof *x);
  ih_cond *cond = x ? ih_cond_new() : NULL;
  if (!cond) {
    free(x);
    return false;
  }
  x->cond = cond;
  c->ext_state = x;
  c->state = IH_CONN_EXT_RUNNING;
  conn_clear_deadline(c); /* an extension may take its time; stuck ones are the host's concern */
  x->declared_length = UINT64_MAX;
  x->running = true;
  r->framing_ok = true; /* head and framing are valid; an unread body rest closes at the end */
  ih_conn_ref(c, IH_HOLD_ISAPI_SESSION);
  atomic_fetch_add(&c->server->counters.isapi_sessions, 1);
  if (!c->server->platform->extension_start(c)) {
    /* A session that could not start ends like one that ran: through
     * ih_conn_on_ext_end, which answers and releases IH_HOLD_ISAPI_SESSION
     * in its one place, on another stack once the lock is released
     * (conn_ext_take_start_failure). libuv queues a synchronous failure as
     * a completion for the same reason: one path, whichever way the
     * operation ends. */
    ih_log(IH_LOG_INFO, IH_EV_BAD_REQUEST, "%d %s from %s:%u: %s", 503, "rejected", c->peer_addr,
           (unsigned)c->peer_port, "the extension host cannot take more calls");
    x->hse_status = 1;   /* HSE_STATUS_SUCCESS: the end answers with ext_http_status */
    x->http_status = 503;
    x->start_failed = true;
  }
  return true;
}

bool conn_ext_take_start_failure(ih_conn *c)
{
  bool failed = c->ext_state && c->ext_state->start_failed;
  if (failed)
    c->ext_state->start_failed = false;
  return failed;
}

bool conn_ext_running(const ih_conn *c) { return c->ext_state && c->ext_state->running; }

bool conn_ext_owns_io(const ih_conn *c) { return c->ext_state && c->ext_state->op.kind != EXT_OP_NONE; }

/* ---- completions ---- */

void conn_ext_on_recv(ih_conn *c, size_t bytes, int err, conn_ext_after *after)
{
  ih_ext_op *op = &c->ext_state->op;
  if (err || bytes == 0 || c->socket_closed) {
    /* A reset is an error; an orderly close before the body ended reads as
     * the end (ReadClient: TRUE with 0 bytes), and the connection is over. */
    bool cancelled = op->cancelled;
    op_finish(c, 0, err ? err : (c->socket_closed ? IH_ERR_CONN_RESET : 0), after);
    if (!c->socket_closed && !cancelled)
      conn_close(c);
    return;
  }
  atomic_fetch_add(&c->server->counters.bytes_received, (long long)bytes);
  size_t from = c->in_len;
  c->in_len += bytes;
  if (c->filters) {
    enum ih_chain_result fr = conn_filter_raw_read(c, from, &bytes);
    if (fr == IH_CHAIN_READ_NEXT) {
      post_recv(c); /* the filter took them and wants more */
      return;
    }
    if (fr != IH_CHAIN_CONTINUE) {
      /* A filter ending the request in the middle of the body: the
       * extension's read fails and the connection closes. */
      op_finish(c, 0, IH_ERR_CONN_RESET, after);
      conn_close(c);
      return;
    }
  }
  long n = conn_body_pull(c, op->read_buf, op->read_cap);
  if (n < 0)
    op_finish(c, 0, IH_ERR_INVALID_DATA, after);
  else if (n > 0 || c->req->body_complete)
    op_finish(c, (size_t)n, 0, after);
  else if (c->in_len == c->in_cap)
    op_finish(c, 0, IH_ERR_INVALID_DATA, after);
  else
    post_recv(c); /* only chunk framing arrived: the same read goes on */
}

void conn_ext_on_sent(ih_conn *c, size_t bytes, int err, conn_ext_after *after)
{
  (void)bytes;
  ih_ext_op *op = &c->ext_state->op;
  if (err || c->socket_closed) {
    bool cancelled = op->cancelled;
    op_finish(c, 0, err ? err : IH_ERR_CONN_RESET, after);
    if (!c->socket_closed && !cancelled)
      conn_close(c);
  } else if (op->second_len) {
    const char *p = op->second;
    size_t n = op->second_len;
    op->second_len = 0;
    post_send(c, p, n);
  } else if (op->file_left) {
    post_file_chunk(c);
  } else {
    op_finish(c, op->report_bytes, 0, after);
  }
}

bool conn_ext_on_deadline(ih_conn *c)
{
  if (!c->ext_state || !c->ext_state->held_head || c->ext_state->op.kind || c->socket_closed)
    return false; /* an operation in flight past its deadline is a timeout */
  op_set(c, EXT_OP_SEND, NULL, NULL, 0);
  start_send(c, NULL, 0);
  return true;
}

void conn_ext_release(ih_conn *c) { state_free(c); }

void conn_ext_run_after(ih_conn *c, conn_ext_after *after)
{
  if (after->fn)
    after->fn(after->ctx, after->bytes, after->err);
  if (after->end_session)
    c->server->platform->ext_end_later(c);
}
