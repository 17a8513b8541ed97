/* The worker's end of the relay (relay_worker.h): the channel as a
 * transport (transport.h) for the connections of relayed requests.
 *
 * Locking: the transport's operations are called with the connection's
 * lock held and take the worker's lock (w->lock) inside it; the reader
 * thread's dispatch takes only w->lock; completions and destructions are
 * queued under w->lock and run by ih_relay_worker_run with no lock held, so
 * the order c->lock -> w->lock is never reversed. */
#include "server/relay_worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/events.h"
#include "core/ih_alloc.h"
#include "core/server_log.h"
#include "server/conn.h"
#include "server/pipeline.h"
#include "server/relay.h"
#include "server/request.h"

#define ERR_CONN_RESET 10054 /* WSAECONNRESET: the client went (ABORT) */
#define ERR_ABORTED 995      /* ERROR_OPERATION_ABORTED: cancel_io */

typedef struct vconn {
  struct vconn *next, *prev;
  ih_relay_worker *w;
  ih_conn *c;
  uint64_t id;
  /* input: the head and the body as received, re-framed when chunked */
  char *in;
  size_t in_len, in_off, in_cap;
  bool chunked, body_end, want_sent;
  /* the one outstanding operation */
  bool recv_pending;
  char *recv_buf;
  size_t recv_cap;
  bool send_pending;
  size_t send_len;
  uint64_t inflight; /* response bytes sent and not yet credited */
  bool ended;        /* END sent */
  bool kept;         /* ... with END_KEEP: waiting for the client's next request (or CLOSE) */
  bool service_closed; /* CLOSE received: end of stream */
  bool aborted;      /* ABORT received */
  bool abortive;     /* abort_socket */
  bool head_sent;
  bool closed;
  /* Its one completion waiting for the reader thread (one operation is
   * outstanding at a time, so one slot is enough and nothing is allocated
   * on the way), and its place in the queue of connections to destroy. */
  struct vconn *done_next;
  bool done_queued, done_is_recv;
  size_t done_bytes;
  int done_err;
  struct vconn *doomed_next;
} vconn;

struct ih_relay_worker {
  ih_server *server;
  ih_chan *ch;
  void (*wake_self)(void *ctx);
  void *wake_ctx;
  ih_mutex *lock;
  vconn *conns;
  long live;
  vconn *done_head, *done_tail;
  vconn *doomed;
  bool (*export_file)(void *file, uint64_t *token);
  char *file_piece; /* IH_CHAN_MAX_PAYLOAD bytes for files copied through the channel; used under lock */
};

void ih_relay_worker_set_file_export(ih_relay_worker *w, bool (*export_file)(void *file, uint64_t *token))
{
  w->export_file = export_file;
}

static const ih_transport relay_transport;

ih_relay_worker *ih_relay_worker_new(ih_server *s, ih_chan *ch, void (*wake_self)(void *ctx), void *wake_ctx)
{
  ih_relay_worker *w = ih_calloc(1, sizeof *w);
  if (!w)
    return NULL;
  w->lock = ih_mutex_new();
  if (!w->lock) {
    free(w);
    return NULL;
  }
  w->server = s;
  w->ch = ch;
  w->wake_self = wake_self;
  w->wake_ctx = wake_ctx;
  return w;
}

void ih_relay_worker_free(ih_relay_worker *w)
{
  if (!w)
    return;
  ih_mutex_free(w->lock);
  free(w->file_piece);
  free(w);
}

long ih_relay_worker_live(ih_relay_worker *w)
{
  ih_mutex_lock(w->lock);
  long n = w->live;
  ih_mutex_unlock(w->lock);
  return n;
}

static vconn *find(ih_relay_worker *w, uint64_t id)
{
  for (vconn *vc = w->conns; vc; vc = vc->next)
    if (vc->id == id)
      return vc;
  return NULL;
}

/* w->lock held. The completion runs later, on the reader thread. */
static void complete(vconn *vc, bool is_recv, size_t bytes, int err)
{
  ih_relay_worker *w = vc->w;
  vc->done_queued = true;
  vc->done_is_recv = is_recv;
  vc->done_bytes = bytes;
  vc->done_err = err;
  vc->done_next = NULL;
  if (w->done_tail)
    w->done_tail->done_next = vc;
  else
    w->done_head = vc;
  w->done_tail = vc;
  if (w->wake_self)
    w->wake_self(w->wake_ctx);
}

/* w->lock held: fills a pending receive from the input, or ends it, or
 * asks the service for more body. */
static void try_fill_recv(vconn *vc)
{
  if (!vc->recv_pending)
    return;
  size_t avail = vc->in_len - vc->in_off;
  if (avail) {
    size_t n = avail < vc->recv_cap ? avail : vc->recv_cap;
    memcpy(vc->recv_buf, vc->in + vc->in_off, n);
    vc->in_off += n;
    if (vc->in_off == vc->in_len)
      vc->in_off = vc->in_len = 0;
    vc->recv_pending = false;
    complete(vc, true, n, 0);
  } else if (vc->aborted || vc->closed) {
    vc->recv_pending = false;
    complete(vc, true, 0, ERR_CONN_RESET);
  } else if (vc->service_closed) {
    vc->recv_pending = false; /* the client's connection is over for this worker */
    complete(vc, true, 0, 0);
  } else if (vc->ended && vc->kept) {
    /* between requests: the next REQUEST (or CLOSE) completes it */
  } else if (vc->body_end || vc->ended) {
    vc->recv_pending = false; /* end of stream: the request was all there is */
    complete(vc, true, 0, 0);
  } else if (!vc->want_sent) {
    vc->want_sent = true;
    ih_chan_send1(vc->w->ch, RELAY_WANT, 0, vc->id, NULL, 0);
  }
}

/* w->lock held: a pending send whose bytes fit the window again completes. */
static void try_finish_send(vconn *vc)
{
  if (!vc->send_pending)
    return;
  if (vc->aborted || vc->closed) {
    vc->send_pending = false;
    complete(vc, false, 0, ERR_CONN_RESET);
  } else if (vc->inflight <= RELAY_WINDOW) {
    vc->send_pending = false;
    complete(vc, false, vc->send_len, 0);
  }
}

static bool input_append(vconn *vc, const void *data, size_t len)
{
  if (vc->in_len + len > vc->in_cap) {
    if (vc->in_off) { /* consumed bytes go first */
      memmove(vc->in, vc->in + vc->in_off, vc->in_len - vc->in_off);
      vc->in_len -= vc->in_off;
      vc->in_off = 0;
    }
    if (vc->in_len + len > vc->in_cap) {
      size_t cap = vc->in_cap ? vc->in_cap : 4096;
      while (cap < vc->in_len + len)
        cap *= 2;
      char *in = ih_realloc(vc->in, cap);
      if (!in)
        return false;
      vc->in = in;
      vc->in_cap = cap;
    }
  }
  memcpy(vc->in + vc->in_len, data, len);
  vc->in_len += len;
  return true;
}

/* Body bytes as the worker's pipeline must read them: as they were when
 * the client sent Content-Length; framed as chunks again when it sent a
 * chunked body (the service decoded it to find its end; extensions and
 * filters in the worker see what they would have seen in process, minus
 * trailers). */
static bool body_append(vconn *vc, const unsigned char *data, size_t len, bool end)
{
  bool ok = true;
  if (vc->chunked && len) {
    char size_line[24];
    int n = snprintf(size_line, sizeof size_line, "%zx\r\n", len);
    ok = input_append(vc, size_line, (size_t)n) && input_append(vc, data, len) && input_append(vc, "\r\n", 2);
  } else if (len) {
    ok = input_append(vc, data, len);
  }
  if (ok && end && vc->chunked)
    ok = input_append(vc, "0\r\n\r\n", 5);
  if (end)
    vc->body_end = true;
  return ok;
}

/* w->lock held: the request is over for the service (once). */
static void send_end(vconn *vc, bool keep)
{
  if (vc->ended)
    return;
  vc->ended = true;
  vc->kept = keep && !vc->abortive;
  uint16_t flags = (keep && !vc->abortive ? RELAY_END_KEEP : 0) | (vc->abortive ? RELAY_END_ABORTIVE : 0) |
                   (vc->head_sent ? RELAY_END_HEAD_SENT : 0);
  /* The connection's lock is held (every transport operation's caller
   * holds it): its request, if any, is stable. */
  uint32_t status = vc->c && vc->c->req ? (uint32_t)vc->c->req->status : 0;
  if (vc->c && vc->c->req)
    flags |= (uint16_t)((conn_request_handler(vc->c->req) << RELAY_END_HANDLER_SHIFT) & RELAY_END_HANDLER_MASK);
  ih_chan_send1(vc->w->ch, RELAY_END, flags, vc->id, &status, sizeof status);
}

/* ---- the transport ---- */

static void t_recv(ih_conn *c, char *buf, size_t cap)
{
  vconn *vc = c->transport_data;
  ih_mutex_lock(vc->w->lock);
  vc->recv_pending = true;
  vc->recv_buf = buf;
  vc->recv_cap = cap;
  try_fill_recv(vc);
  ih_mutex_unlock(vc->w->lock);
}

/* w->lock held: data as DATA messages of at most the channel's payload. */
static void send_bytes(vconn *vc, const char *data, size_t len)
{
  while (len) {
    size_t n = len < IH_CHAN_MAX_PAYLOAD ? len : IH_CHAN_MAX_PAYLOAD;
    if (!ih_chan_send1(vc->w->ch, RELAY_DATA, 0, vc->id, data, n)) {
      vc->closed = true; /* no memory to queue it: the request cannot go on */
      return;
    }
    vc->inflight += n;
    vc->head_sent = true;
    data += n;
    len -= n;
  }
}

static void t_send(ih_conn *c, const char *data, size_t len)
{
  vconn *vc = c->transport_data;
  ih_mutex_lock(vc->w->lock);
  if (!vc->aborted && !vc->closed && !vc->ended)
    send_bytes(vc, data, len);
  vc->send_pending = true;
  vc->send_len = len;
  try_finish_send(vc);
  ih_mutex_unlock(vc->w->lock);
}

/* A file the service can send itself goes as a handle (FILE). Otherwise
 * its bytes go through the channel like any others: read here, in pieces,
 * on the calling thread, through the worker's one file buffer (the reads
 * are under its lock, which the channel's sends need anyway). */
static void t_send_file(ih_conn *c, void *file, uint64_t offset, uint64_t length, const char *head, size_t head_len)
{
  vconn *vc = c->transport_data;
  const ih_platform *p = vc->w->server->platform;
  size_t total = head_len + (size_t)length;
  relay_file_fixed f = { .offset = offset, .length = length };
  if (length && vc->w->export_file && head_len <= IH_CHAN_MAX_PAYLOAD - sizeof f &&
      vc->w->export_file(file, &f.file)) {
    /* The service sends the file from its own handle, and closes it in
     * every case, also when the request is gone by the time it reads this
     * (so the message goes even then). */
    const void *parts[2] = { &f, head };
    size_t lens[2] = { sizeof f, head_len };
    ih_mutex_lock(vc->w->lock);
    bool sent = ih_chan_send(vc->w->ch, RELAY_FILE, 0, vc->id, parts, lens, 2);
    if (sent && !vc->aborted && !vc->closed && !vc->ended) {
      vc->inflight += total;
      vc->head_sent = true;
    } else if (!sent) {
      vc->closed = true; /* no memory to queue it: the request cannot go on (the duplicate is lost with it) */
    }
    vc->send_pending = true;
    vc->send_len = total;
    try_finish_send(vc);
    ih_mutex_unlock(vc->w->lock);
    return;
  }
  ih_mutex_lock(vc->w->lock);
  if (length && !vc->w->file_piece)
    vc->w->file_piece = ih_malloc(IH_CHAN_MAX_PAYLOAD);
  char *buf = vc->w->file_piece;
  bool failed = length && !buf;
  if (!vc->aborted && !vc->closed && !vc->ended) {
    send_bytes(vc, head, head_len);
    while (!failed && length && !vc->closed) {
      size_t want = length < IH_CHAN_MAX_PAYLOAD ? (size_t)length : IH_CHAN_MAX_PAYLOAD, got = 0;
      if (p->file_read(file, offset, buf, want, &got) != IH_FS_OK || got == 0) {
        failed = true;
        break;
      }
      send_bytes(vc, buf, got);
      offset += got;
      length -= got;
    }
  }
  vc->send_pending = true;
  vc->send_len = total;
  if (failed) {
    vc->send_pending = false;
    complete(vc, false, 0, 30 /* ERROR_READ_FAULT */);
  } else {
    try_finish_send(vc);
  }
  ih_mutex_unlock(vc->w->lock);
}

static void t_shutdown_send(ih_conn *c)
{
  vconn *vc = c->transport_data;
  ih_mutex_lock(vc->w->lock);
  send_end(vc, false);
  ih_mutex_unlock(vc->w->lock);
}

static void t_close_socket(ih_conn *c)
{
  vconn *vc = c->transport_data;
  ih_mutex_lock(vc->w->lock);
  send_end(vc, false);
  vc->closed = true;
  try_fill_recv(vc);
  try_finish_send(vc);
  ih_mutex_unlock(vc->w->lock);
}

static void t_destroy_later(ih_conn *c)
{
  vconn *vc = c->transport_data;
  ih_mutex_lock(vc->w->lock);
  vc->doomed_next = vc->w->doomed;
  vc->w->doomed = vc;
  if (vc->w->wake_self)
    vc->w->wake_self(vc->w->wake_ctx);
  ih_mutex_unlock(vc->w->lock);
}

static void t_cancel_io(ih_conn *c)
{
  vconn *vc = c->transport_data;
  ih_mutex_lock(vc->w->lock);
  if (vc->recv_pending) {
    vc->recv_pending = false;
    vc->want_sent = false; /* a later receive asks again (the service takes a repeated WANT as one) */
    complete(vc, true, 0, ERR_ABORTED);
  } else if (vc->send_pending) {
    vc->send_pending = false;
    complete(vc, false, 0, ERR_ABORTED);
  }
  ih_mutex_unlock(vc->w->lock);
}

static void t_abort_socket(ih_conn *c)
{
  vconn *vc = c->transport_data;
  ih_mutex_lock(vc->w->lock);
  vc->abortive = true;
  ih_mutex_unlock(vc->w->lock);
}

static bool t_peer_alive(ih_conn *c)
{
  vconn *vc = c->transport_data;
  ih_mutex_lock(vc->w->lock);
  bool alive = !vc->aborted;
  ih_mutex_unlock(vc->w->lock);
  return alive;
}

static void t_request_end(ih_conn *c, bool keep_alive)
{
  vconn *vc = c->transport_data;
  ih_mutex_lock(vc->w->lock);
  send_end(vc, keep_alive);
  ih_mutex_unlock(vc->w->lock);
}

static const ih_transport relay_transport = {
  .recv = t_recv,
  .send = t_send,
  .send_file = t_send_file,
  .shutdown_send = t_shutdown_send,
  .close_socket = t_close_socket,
  .destroy_later = t_destroy_later,
  .cancel_io = t_cancel_io,
  .abort_socket = t_abort_socket,
  .peer_alive = t_peer_alive,
  .send_now = NULL,
  .request_end = t_request_end,
};

/* ---- messages from the service ---- */

static void copy_addr(char *dst, size_t cap, const unsigned char *src, size_t n)
{
  if (n >= cap)
    n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* The client connection's next request in this worker: its connection
 * here waits for it (END_KEEP), and reads it as the next bytes of its
 * stream. False when it has none (the first request, or its connection
 * here closed meanwhile, after its own keep-alive timeout): a new one. */
static bool next_request(ih_relay_worker *w, const ih_chan_msg *m, const relay_request_fixed *f)
{
  ih_mutex_lock(w->lock);
  vconn *vc = find(w, m->id);
  if (!vc || vc->closed || vc->service_closed || vc->aborted || !vc->ended || !vc->kept) {
    ih_mutex_unlock(w->lock);
    return false;
  }
  vc->ended = vc->kept = vc->body_end = vc->want_sent = vc->head_sent = vc->abortive = false;
  vc->inflight = 0;
  vc->chunked = (m->flags & RELAY_BODY_CHUNKED) != 0;
  const unsigned char *p = m->payload + sizeof *f + f->local_addr_len + f->peer_addr_len;
  if (!input_append(vc, p, f->head_len) || !body_append(vc, p + f->head_len, f->body_len, m->flags & RELAY_BODY_END))
    vc->closed = true; /* no memory for it: the connection fails, its END says so */
  try_fill_recv(vc);
  ih_mutex_unlock(w->lock);
  return true;
}

static void start_request(ih_relay_worker *w, const ih_chan_msg *m)
{
  relay_request_fixed f;
  if (m->len < sizeof f) {
    ih_log(IH_LOG_ERROR, IH_EV_POOL_PROTOCOL, "worker: malformed REQUEST %llu", (unsigned long long)m->id);
    ih_chan_send1(w->ch, RELAY_END, 0, m->id, NULL, 0);
    return;
  }
  memcpy(&f, m->payload, sizeof f);
  size_t need = sizeof f + (size_t)f.local_addr_len + f.peer_addr_len + f.head_len + f.body_len;
  if (need == m->len && next_request(w, m, &f))
    return;
  vconn *vc = ih_calloc(1, sizeof *vc);
  if (need != m->len || !vc) {
    free(vc);
    ih_log(IH_LOG_ERROR, IH_EV_POOL_PROTOCOL, "worker: %s for request %llu",
           vc ? "malformed REQUEST" : "out of memory", (unsigned long long)m->id);
    ih_chan_send1(w->ch, RELAY_END, 0, m->id, NULL, 0);
    return;
  }
  const unsigned char *p = m->payload + sizeof f;
  char local[48], peer[48];
  copy_addr(local, sizeof local, p, f.local_addr_len);
  p += f.local_addr_len;
  copy_addr(peer, sizeof peer, p, f.peer_addr_len);
  p += f.peer_addr_len;
  vc->w = w;
  vc->id = m->id;
  vc->chunked = (m->flags & RELAY_BODY_CHUNKED) != 0;
  bool ok = input_append(vc, p, f.head_len) && body_append(vc, p + f.head_len, f.body_len, m->flags & RELAY_BODY_END);
  ih_conn *c = ok ? ih_conn_new(w->server, &relay_transport, vc, local, f.local_port, peer, f.peer_port) : NULL;
  if (!c) {
    free(vc->in);
    free(vc);
    ih_log(IH_LOG_ERROR, IH_EV_POOL_PROTOCOL, "worker: out of memory for request %llu", (unsigned long long)m->id);
    ih_chan_send1(w->ch, RELAY_END, 0, m->id, NULL, 0);
    return;
  }
  vc->c = c;
  /* The service read the connection's PROXY header (if its binding takes
   * one): peer is the client it named, and the bytes are the request's. */
  c->proxy_pending = false;
  ih_mutex_lock(w->lock);
  vc->next = w->conns;
  if (w->conns)
    w->conns->prev = vc;
  w->conns = vc;
  w->live++;
  ih_mutex_unlock(w->lock);
  ih_conn_start(c);
}

bool ih_relay_worker_dispatch(ih_relay_worker *w, const ih_chan_msg *m)
{
  switch (m->type) {
  case RELAY_REQUEST:
    start_request(w, m);
    return true;
  case RELAY_BODY:
  case RELAY_CREDIT:
  case RELAY_ABORT:
  case RELAY_CLOSE:
    break;
  default:
    return false;
  }
  ih_mutex_lock(w->lock);
  vconn *vc = find(w, m->id);
  if (vc && m->type == RELAY_BODY) {
    vc->want_sent = false;
    if (!body_append(vc, m->payload, m->len, m->flags & RELAY_BODY_END))
      vc->closed = true; /* no memory for it: the request fails */
    try_fill_recv(vc);
  } else if (vc && m->type == RELAY_CREDIT && m->len == sizeof(uint32_t)) {
    uint32_t n;
    memcpy(&n, m->payload, sizeof n);
    vc->inflight = n < vc->inflight ? vc->inflight - n : 0;
    try_finish_send(vc);
  } else if (vc && m->type == RELAY_CLOSE) {
    vc->service_closed = true;
    try_fill_recv(vc);
  } else if (vc && m->type == RELAY_ABORT) {
    vc->aborted = true;
    ih_conn_expire_now(vc->c); /* the pipeline learns at its next operation or timer */
    try_fill_recv(vc);
    try_finish_send(vc);
  }
  ih_mutex_unlock(w->lock);
  return true;
}

bool ih_relay_worker_run(ih_relay_worker *w)
{
  bool any = false;
  for (;;) {
    ih_mutex_lock(w->lock);
    vconn *vc = w->done_head;
    if (vc) {
      w->done_head = vc->done_next;
      if (!w->done_head)
        w->done_tail = NULL;
      vc->done_queued = false;
      ih_conn *c = vc->c;
      bool is_recv = vc->done_is_recv;
      size_t bytes = vc->done_bytes;
      int err = vc->done_err;
      ih_mutex_unlock(w->lock);
      /* The operation's IH_HOLD_IO keeps c (and vc) alive until this returns. */
      if (is_recv)
        ih_conn_on_recv(c, bytes, err);
      else
        ih_conn_on_sent(c, bytes, err);
      any = true;
      continue;
    }
    /* Completions first: each holds a reference, so none is for these. */
    vconn *gone = w->doomed;
    w->doomed = NULL;
    for (vconn *g = gone; g; g = g->doomed_next) { /* out of the registry before it is freed */
      if (g->prev)
        g->prev->next = g->next;
      else
        w->conns = g->next;
      if (g->next)
        g->next->prev = g->prev;
      w->live--;
    }
    ih_mutex_unlock(w->lock);
    if (!gone)
      return any;
    any = true;
    while (gone) {
      vconn *next = gone->doomed_next;
      ih_conn_destroy(gone->c);
      free(gone->in);
      free(gone);
      gone = next;
    }
  }
}

void ih_relay_worker_sweep(ih_relay_worker *w, uint64_t now_ms, bool all)
{
  enum { BATCH = 64 };
  ih_conn *due[BATCH];
  size_t n = 0;
  ih_mutex_lock(w->lock);
  for (vconn *vc = w->conns; vc && n < BATCH; vc = vc->next)
    if (ih_conn_timer_claim(vc->c, now_ms, all))
      due[n++] = vc->c;
  ih_mutex_unlock(w->lock);
  for (size_t i = 0; i < n; i++)
    ih_conn_on_timer(due[i]);
}
