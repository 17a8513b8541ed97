/* The relay handler (conn_relay.h): the service's side of a request that
 * runs in a worker process.
 *
 * The connection runs one operation at a time, as for any handler: a send
 * of the worker's response bytes, or a receive of body bytes the worker
 * asked for. The worker's messages arrive on its link's reader thread and
 * are queued here (DATA) or noted (WANT, END); kick() starts the next
 * operation whenever the slot is free. A send's completion credits the
 * worker with the bytes the client took (relay.h: back-pressure), so what
 * waits here per request is bounded by the worker's window. */
#include "server/conn_relay.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/events.h"
#include "core/ih_alloc.h"
#include "core/server_log.h"
#include "server/conn_internal.h"
#include "server/relay.h"
#include "server/request.h"

enum relay_op { ROP_NONE, ROP_SEND, ROP_RECV };

/* Response bytes waiting to be sent: data[0..len), or (file) data as the
 * head and then file_length bytes of file from file_offset. */
typedef struct piece {
  struct piece *next;
  size_t len;
  void *file; /* the service's duplicate of the worker's file; closed with the piece */
  uint64_t file_offset, file_length;
  char data[];
} piece;

typedef struct ih_relay_state {
  ih_relay_link *link;
  uint64_t id;
  piece *q_head, *q_tail;  /* response bytes waiting for the slot */
  piece *sending;          /* the one in flight */
  enum relay_op op;
  bool want;               /* the worker waits for body bytes */
  bool ended;              /* END arrived (or the worker was lost) */
  bool lost;               /* the worker died before END */
  bool aborted;            /* ABORT sent */
  bool sent_any;           /* response bytes reached the client */
  bool finished;           /* conn_relay_finish ran */
  bool recv_yielded;       /* the body receive was cancelled to let response bytes out */
  uint16_t end_flags;
  int status;              /* as END reported it */
  size_t uncredited;       /* response bytes sent to the client and not yet credited to the worker */
  char *body_piece;        /* IH_CHAN_MAX_PAYLOAD bytes for the body after the first, made on first need */
} ih_relay_state;

/* The first body bytes travel with the request; the rest on demand. */
#define RELAY_FIRST_BODY 16384u

static void free_piece(ih_conn *c, piece *p)
{
  if (p && p->file)
    c->server->platform->file_close(p->file);
  free(p);
}

static void free_queue(ih_conn *c, ih_relay_state *st)
{
  for (piece *p = st->q_head, *n; p; p = n) {
    n = p->next;
    free_piece(c, p);
  }
  st->q_head = st->q_tail = NULL;
  free_piece(c, st->sending);
  st->sending = NULL;
}

bool conn_relay_running(const ih_conn *c) { return c->relay_state && !c->relay_state->finished; }
bool conn_relay_owns_io(const ih_conn *c) { return c->relay_state && c->relay_state->op != ROP_NONE; }

enum relay_start conn_relay_start(ih_conn *c, ih_relay_link *link)
{
  ih_request *r = c->req;
  ih_relay_state *st = ih_calloc(1, sizeof *st);
  char *body = ih_malloc(RELAY_FIRST_BODY);
  if (!st || !body) {
    free(st);
    free(body);
    return RELAY_START_UNAVAILABLE;
  }
  long n = conn_body_pull(c, body, RELAY_FIRST_BODY);
  if (n < 0) {
    free(st);
    free(body);
    return RELAY_START_BODY_REFUSED;
  }
  relay_request_fixed f = {
    .local_port = c->local_port,
    .peer_port = c->peer_port,
    .local_addr_len = (uint16_t)strlen(c->local_addr),
    .peer_addr_len = (uint16_t)strlen(c->peer_addr),
    .head_len = (uint32_t)r->head.head_len,
    .body_len = (uint32_t)n,
  };
  const void *parts[5] = { &f, c->local_addr, c->peer_addr, c->in + c->in_start, body };
  size_t lens[5] = { sizeof f, f.local_addr_len, f.peer_addr_len, f.head_len, (size_t)n };
  uint16_t flags = (r->framing.chunked ? RELAY_BODY_CHUNKED : 0) | (r->body_complete ? RELAY_BODY_END : 0);
  size_t total = lens[0] + lens[1] + lens[2] + lens[3] + lens[4];
  if (c->relay_link != link)
    conn_relay_detach(c); /* its requests move to another worker */
  uint64_t id = total <= IH_CHAN_MAX_PAYLOAD ? ih_relay_link_add(link, c, c->relay_id) : 0;
  /* The head was parsed from c->in: it is still there, whole, at in_start
   * (conn_body_pull discards only body bytes after it). */
  if (!id || !ih_relay_link_send(link, RELAY_REQUEST, flags, id, parts, lens, 5)) {
    if (id)
      ih_relay_link_take(link, id); /* never sent: nothing can answer it */
    free(st);
    free(body);
    return RELAY_START_UNAVAILABLE;
  }
  free(body);
  if (!c->relay_link) {
    ih_relay_link_ref(link);
    c->relay_link = link;
    c->relay_id = id;
  }
  /* The worker's answer comes through the link's reader thread, which
   * takes this connection's lock first: the reference is in place before
   * anything can be done with the entry. */
  ih_conn_ref(c, IH_HOLD_RELAY);
  st->link = link;
  st->id = id;
  c->relay_state = st;
  conn_clear_deadline(c); /* the worker may take its time; a hung one is the pool's concern (pings) */
  return RELAY_START_OK;
}

/* Tells the worker to give the request up (once). */
static void abort_relay(ih_conn *c)
{
  ih_relay_state *st = c->relay_state;
  if (st->aborted || st->ended)
    return;
  st->aborted = true;
  ih_relay_link_send1(st->link, RELAY_ABORT, 0, st->id, NULL, 0);
}

/* Body bytes for a worker that asked: buffered ones now, else a receive. */
static void feed_body(ih_conn *c)
{
  ih_relay_state *st = c->relay_state;
  ih_request *r = c->req;
  if (!st->body_piece)
    st->body_piece = ih_malloc(IH_CHAN_MAX_PAYLOAD); /* freed with the state: one per request with a long body */
  char *buf = st->body_piece;
  if (!buf) {
    ih_log(IH_LOG_ERROR, IH_EV_POOL_PROTOCOL, "out of memory relaying a body from %s:%u", c->peer_addr,
           (unsigned)c->peer_port);
    abort_relay(c);
    conn_close(c);
    return;
  }
  long n = conn_body_pull(c, buf, IH_CHAN_MAX_PAYLOAD);
  if (n < 0) {
    ih_log(IH_LOG_INFO, IH_EV_BAD_REQUEST, "dropping %s:%u: %s chunked body", c->peer_addr,
           (unsigned)c->peer_port, r->body_refused == IH_CHUNKED_TOO_LARGE ? "oversized" : "malformed");
    abort_relay(c);
    conn_close(c);
  } else if (n > 0 || r->body_complete) {
    st->want = false;
    if (!ih_relay_link_send1(st->link, RELAY_BODY, r->body_complete ? RELAY_BODY_END : 0, st->id,
                       buf, (size_t)n)) {
      abort_relay(c);
      conn_close(c);
    }
  } else if (c->in_len == c->in_cap) {
    abort_relay(c); /* no progress possible (the parser's limits make this unreachable) */
    conn_close(c);
  } else {
    st->op = ROP_RECV;
    conn_set_deadline(c, conn_rate_deadline_ms(c, r->body_received));
    conn_transport_recv(c, c->in_cap - c->in_len);
  }
}

/* Starts the next operation if the slot is free: response bytes first. */
static void kick(ih_conn *c)
{
  ih_relay_state *st = c->relay_state;
  if (st->op != ROP_NONE || c->state == IH_CONN_CLOSED)
    return;
  if (st->q_head) {
    piece *p = st->q_head;
    st->q_head = p->next;
    if (!st->q_head)
      st->q_tail = NULL;
    st->sending = p;
    st->op = ROP_SEND;
    conn_set_deadline(c, conn_rate_deadline_ms(c, p->len + p->file_length));
    if (p->file) {
      ih_relay_link_count_file(st->link);
      conn_transport_send_file(c, p->file, p->file_offset, p->file_length, p->data, p->len);
    }
    else {
      conn_transport_send(c, p->data, p->len);
    }
  } else if (st->want && !st->ended) {
    feed_body(c);
  }
}

void conn_relay_on_msg(ih_conn *c, const ih_chan_msg *m)
{
  ih_relay_state *st = c->relay_state;
  if (!st || st->ended)
    return;
  switch (m->type) {
  case RELAY_DATA:
  case RELAY_FILE: {
    relay_file_fixed f = { 0 };
    size_t skip = 0;
    if (m->type == RELAY_FILE) {
      if (m->len < sizeof f)
        return;
      memcpy(&f, m->payload, sizeof f);
      skip = sizeof f;
    }
    void *file = (void *)(uintptr_t)f.file;
    if (st->aborted || c->state == IH_CONN_CLOSED || (m->len == 0 && !file)) {
      if (file)
        c->server->platform->file_close(file);
      return;
    }
    piece *p = ih_malloc(sizeof *p + m->len - skip);
    if (!p) {
      if (file)
        c->server->platform->file_close(file);
      ih_log(IH_LOG_ERROR, IH_EV_POOL_PROTOCOL, "out of memory relaying a response to %s:%u", c->peer_addr,
             (unsigned)c->peer_port);
      abort_relay(c);
      conn_close(c);
      return;
    }
    p->next = NULL;
    p->len = m->len - skip;
    p->file = file;
    p->file_offset = f.offset;
    p->file_length = f.length;
    memcpy(p->data, m->payload + skip, p->len);
    if (st->q_tail)
      st->q_tail->next = p;
    else
      st->q_head = p;
    st->q_tail = p;
    if (st->op == ROP_RECV && !st->recv_yielded) {
      /* The worker answers before it has read the body it asked for (an
       * extension that cancelled its read, one that answers early): the
       * one operation slot goes to the response. Its want stays; the body
       * is read again once the response bytes are out. */
      st->recv_yielded = true;
      c->transport->cancel_io(c);
    }
    break;
  }
  case RELAY_WANT:
    st->want = true;
    break;
  case RELAY_END:
    st->ended = true;
    st->end_flags = m->flags;
    if (m->len >= sizeof(uint32_t)) {
      uint32_t status;
      memcpy(&status, m->payload, sizeof status);
      st->status = (int)status;
    }
    if (st->op == ROP_RECV)
      c->transport->cancel_io(c); /* it no longer wants the body it asked for */
    break;
  default:
    return;
  }
  kick(c);
}

void conn_relay_on_lost(ih_conn *c)
{
  ih_relay_state *st = c->relay_state;
  if (!st || st->ended)
    return;
  st->ended = st->lost = true;
  piece *in_flight = st->sending;
  st->sending = NULL; /* its completion still comes and frees it */
  free_queue(c, st);
  st->sending = in_flight;
  if (st->op == ROP_RECV)
    c->transport->cancel_io(c);
}

void conn_relay_on_closing(ih_conn *c)
{
  if (c->relay_state)
    abort_relay(c);
}

void conn_relay_on_recv(ih_conn *c, size_t bytes, int err)
{
  ih_relay_state *st = c->relay_state;
  bool yielded = st->recv_yielded;
  st->op = ROP_NONE;
  st->recv_yielded = false;
  if (st->ended) {
    c->in_len += err ? 0 : bytes; /* raced the cancel: the bytes are the body's, dropped with it */
    kick(c);                      /* what the worker sent before its END goes out now */
    return;
  }
  if (yielded && err && c->state != IH_CONN_CLOSED) {
    kick(c); /* cancelled for the response's sake: its bytes go out first */
    return;
  }
  if (err || bytes == 0 || c->state == IH_CONN_CLOSED) {
    abort_relay(c); /* the client went in the middle of its body */
    if (c->state != IH_CONN_CLOSED)
      conn_close(c);
    return;
  }
  atomic_fetch_add(&c->server->counters.bytes_received, (long long)bytes);
  c->in_len += bytes;
  kick(c);
}

void conn_relay_on_sent(ih_conn *c, size_t bytes, int err)
{
  ih_relay_state *st = c->relay_state;
  size_t len = st->sending ? st->sending->len + (size_t)st->sending->file_length : 0;
  free_piece(c, st->sending);
  st->sending = NULL;
  st->op = ROP_NONE;
  (void)bytes;
  if (err || c->state == IH_CONN_CLOSED) {
    abort_relay(c);
    if (c->state != IH_CONN_CLOSED)
      conn_close(c);
    return;
  }
  st->sent_any = true;
  st->uncredited += len;
  /* Credit in batches: a response within the worker's window needs none
   * (each message to a sleeping worker costs a doorbell), and one beyond
   * it gets a quarter window at a time, which is always reached while the
   * worker waits (it has a whole window in flight here then). */
  if (!st->ended && st->uncredited >= RELAY_WINDOW / 4) {
    uint32_t credit = (uint32_t)st->uncredited;
    st->uncredited = 0;
    ih_relay_link_send1(st->link, RELAY_CREDIT, 0, st->id, &credit, sizeof credit);
  }
  kick(c);
}

bool conn_relay_done(const ih_conn *c)
{
  const ih_relay_state *st = c->relay_state;
  return st && !st->finished && st->ended && st->op == ROP_NONE && (!st->q_head || c->state == IH_CONN_CLOSED);
}

enum ih_handler_end conn_relay_finish(ih_conn *c, ih_body_plan *plan)
{
  ih_relay_state *st = c->relay_state;
  ih_request *r = c->req;
  st->finished = true;
  free_queue(c, st);
  if (c->state == IH_CONN_CLOSED)
    return IH_HANDLER_FAILED;
  if (st->lost) {
    if (st->sent_any)
      return IH_HANDLER_CLOSE_WANTED; /* a response cut short: only the close can tell the client */
    /* The worker died before answering: the client gets an answer (RFC
     * 9110 15.6.3). */
    r->framing_ok = false;
    ih_response_error(c, 502, plan);
    return IH_HANDLER_ANSWER;
  }
  if (st->end_flags & RELAY_END_ABORTIVE) {
    /* The worker's pipeline reset its connection (HSE_REQ_ABORTIVE_CLOSE): so does this one. */
    if (c->transport->abort_socket)
      c->transport->abort_socket(c);
    conn_close(c);
    return IH_HANDLER_FAILED;
  }
  if (!(st->end_flags & RELAY_END_HEAD_SENT) && !(st->end_flags & RELAY_END_KEEP)) {
    /* The worker's pipeline closed its connection without a word (an
     * extension that crashed, a filter that finished without a
     * response): this one closes the same way, as it would in process. */
    conn_close(c);
    return IH_HANDLER_FAILED;
  }
  c->view->status = st->status ? st->status : 200;
  conn_request_answered_by(r, (st->end_flags & RELAY_END_HANDLER_MASK) >> RELAY_END_HANDLER_SHIFT);
  r->framing_ok = r->body_complete;
  r->keep_alive = (st->end_flags & RELAY_END_KEEP) != 0;
  return r->keep_alive ? IH_HANDLER_OK : IH_HANDLER_CLOSE_WANTED;
}

void conn_relay_detach(ih_conn *c)
{
  if (!c->relay_link)
    return;
  ih_relay_link_send1(c->relay_link, RELAY_CLOSE, 0, c->relay_id, NULL, 0); /* refused if the worker is gone */
  ih_relay_link_unref(c->relay_link);
  c->relay_link = NULL;
  c->relay_id = 0;
}

void conn_relay_release(ih_conn *c)
{
  if (!c->relay_state)
    return;
  free_queue(c, c->relay_state);
  free(c->relay_state->body_piece);
  free(c->relay_state);
  c->relay_state = NULL;
}
