/* The connection object (conn.h): its holders and counts, its
 * configuration generation, its input and output buffers, its deadline,
 * the transport calls that post its one operation (the only places
 * IH_HOLD_IO is taken) and the one close path. It knows nothing of requests'
 * handlers or of filters: what the pipeline must do when the connection
 * closes or goes is in the hooks it gave conn_create (ih_conn_hooks). */
#include "server/conn.h"
#include "server/conn_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "core/server_log.h"
#include "filters/filter_chain.h"

#define IH_BODY_BUFFER 16384u  /* input room beyond the largest head, for body reads */
/* The input buffer a connection holds between requests. Most request heads
 * fit in it; a longer one grows it on demand up to conn_in_full_cap, and it
 * goes back to this size once a request is over and nothing is buffered, so
 * an idle keep-alive connection costs little (nginx's
 * client_header_buffer_size idea). The parser's limits, not the buffer's
 * size, decide 414 and 431. */
#define IH_IN_IDLE 4096u

const char *ih_holder_name(enum ih_holder h)
{
  static const char *const names[IH_HOLD__COUNT] = { "socket", "io", "request", "timer", "isapi-session", "relay" };
  return (unsigned)h < IH_HOLD__COUNT ? names[h] : "?";
}

/* ---- references ---- */

void ih_conn_ref(ih_conn *c, enum ih_holder h)
{
  atomic_fetch_add(&c->refs[h], 1);
  atomic_fetch_add(&c->ref_total, 1);
}

bool ih_conn_try_ref(ih_conn *c, enum ih_holder h)
{
  int total = atomic_load(&c->ref_total);
  do {
    if (total == 0)
      return false; /* already queued for destruction: never resurrect */
  } while (!atomic_compare_exchange_weak(&c->ref_total, &total, total + 1));
  atomic_fetch_add(&c->refs[h], 1);
  return true;
}

/* A holder's count that would go below zero is a release without a take: a
 * defect of ours, never the client's doing. Decrementing anyway would make
 * ref_total reach zero while real holders remain, and the connection would
 * be freed under them (a double free in a release build, where assert is
 * gone). So the release is refused, logged with its own event ID, and the
 * connection is marked so that it is closed through the one close path:
 * its real holders then drain and it is destroyed once. */
static bool holder_count_down(ih_conn *c, enum ih_holder h)
{
  int before = atomic_load(&c->refs[h]);
  do {
    if (before <= 0) {
      ih_log(IH_LOG_ERROR, IH_EV_COUNT_UNDERFLOW,
             "connection from %s:%u: holder %s released more often than taken; closing the connection",
             c->peer_addr, (unsigned)c->peer_port, ih_holder_name(h));
      atomic_store(&c->count_underflow, true);
      return false;
    }
  } while (!atomic_compare_exchange_weak(&c->refs[h], &before, before - 1));
  return true;
}

static void total_count_down(ih_conn *c)
{
  int before = atomic_fetch_sub(&c->ref_total, 1);
  assert(before > 0 && "ref_total is the sum of the holders' counts, each checked above");
  if (before == 1)
    c->transport->destroy_later(c);
}

/* Without the lock: the end of a completion handler, or the platform. */
void ih_conn_unref(ih_conn *c, enum ih_holder h)
{
  if (!holder_count_down(c, h)) {
    ih_mutex_lock(c->lock);
    conn_close(c);
    ih_mutex_unlock(c->lock);
    return;
  }
  total_count_down(c);
}

/* With the lock held (conn_close, conn_request_end): the caller is inside
 * the pipeline, so the close the underflow asks for is left to it
 * (conn_response_done checks count_underflow; conn_close is closing). */
void conn_unref_locked(ih_conn *c, enum ih_holder h)
{
  if (holder_count_down(c, h))
    total_count_down(c);
}

int ih_conn_refs(ih_conn *c, enum ih_holder h) { return atomic_load(&c->refs[h]); }

/* ---- what the transport may change, each through one named function ---- */

bool ih_conn_timer_claim(ih_conn *c, uint64_t now_ms, bool all)
{
  uint64_t deadline = atomic_load(&c->deadline_ms);
  if (!all && (deadline == 0 || now_ms < deadline))
    return false;
  if (atomic_exchange(&c->timer_pending, true))
    return false; /* one notification at a time: the posted one has not run yet */
  if (!ih_conn_try_ref(c, IH_HOLD_TIMER)) {
    atomic_store(&c->timer_pending, false);
    return false; /* its last reference is gone; it is about to be destroyed */
  }
  return true;
}

void ih_conn_expire_now(ih_conn *c) { atomic_store(&c->deadline_ms, 1); }

void ih_conn_cancel(ih_conn *c)
{
  atomic_store(&c->cancelled, true);
  atomic_store(&c->deadline_ms, 1);
}

void ih_conn_abandon(ih_conn *c)
{
  ih_mutex_lock(c->lock);
  conn_close(c);
  ih_mutex_unlock(c->lock);
}

/* ---- buffers ---- */

/* The most input a request can need buffered at once: the largest head the
 * limits allow, plus room for body reads. */
size_t conn_in_full_cap(const ih_conn *c)
{
  const ih_server_config *sc = &c->gen->config->server;
  return sc->max_request_line + sc->max_header_bytes + 2 * sc->max_headers + 64 + IH_BODY_BUFFER;
}

/* READ_RAW_DATA filters are given the input buffer's free space to write
 * into (cbInBuffer, ms525498); for them it keeps its full size. */
bool conn_in_stays_full(ih_conn *c)
{
  return c->filters && ih_filter_wants(ih_filter_chain_for(c->gen->filters, NULL), IH_SF_NOTIFY_READ_RAW_DATA);
}

/* Grows the input buffer to at least want bytes (never past conn_in_full_cap).
 * Only where no parsed slice points into it: realloc may move it. False
 * when out of memory (the buffer is then unchanged). */
bool conn_in_grow(ih_conn *c, size_t want)
{
  size_t full = conn_in_full_cap(c);
  if (want > full)
    want = full;
  if (c->in_cap >= want)
    return true;
  char *p = ih_realloc(c->in, want);
  if (!p)
    return false;
  c->in = p;
  c->in_cap = want;
  return true;
}

/* Between requests, with nothing buffered: back to the idle size. A
 * failed shrink keeps the larger buffer, which works as well. */
void conn_in_shrink_idle(ih_conn *c)
{
  if (c->in_cap <= IH_IN_IDLE || conn_in_stays_full(c))
    return;
  char *p = ih_realloc(c->in, IH_IN_IDLE);
  if (p) {
    c->in = p;
    c->in_cap = IH_IN_IDLE;
  }
}

void conn_in_release(ih_conn *c)
{
  free(c->in);
  c->in = NULL;
  c->in_cap = c->in_len = c->in_start = 0;
}

bool conn_in_take(ih_conn *c)
{
  if (c->in)
    return true;
  c->in = ih_malloc(IH_IN_IDLE);
  if (!c->in)
    return false;
  c->in_cap = IH_IN_IDLE;
  c->in_len = c->in_start = 0;
  return true;
}

/* The response has gone out whole (no send is in flight): the output
 * buffer goes, so a connection waiting for its next request holds none. */
void conn_out_release(ih_conn *c)
{
  free(c->out);
  c->out = NULL;
  c->out_cap = c->out_len = c->out_head_len = 0;
}

/* ---- birth and death ---- */

ih_conn *conn_create(ih_server *s, const ih_transport *t, void *transport_data, const ih_conn_hooks *hooks,
                     const char *local_addr, uint16_t local_port, const char *peer_addr, uint16_t peer_port)
{
  ih_conn *c = ih_calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->gen = ih_server_acquire(s);
  c->lock = ih_mutex_new();
  bool wants_filters = c->gen->filters && c->gen->filters->count;
  if (wants_filters)
    c->filters = ih_filter_conn_new(c->gen->filters);
  c->in_cap = conn_in_stays_full(c) ? conn_in_full_cap(c) : IH_IN_IDLE;
  c->in = ih_malloc(c->in_cap);
  if (!c->in || !c->lock || (wants_filters && !c->filters)) {
    ih_filter_conn_free(c->filters);
    free(c->in);
    ih_mutex_free(c->lock);
    ih_generation_release(c->gen); /* the only reference it took */
    free(c);
    return NULL;
  }
  c->server = s;
  c->transport = t;
  c->transport_data = transport_data;
  c->hooks = hooks;
  snprintf(c->local_addr, sizeof c->local_addr, "%s", local_addr);
  c->local_port = local_port;
  conn_set_peer(c, peer_addr, peer_port);
  ih_endpoint_facts ep = ih_config_endpoint(c->gen->config, local_addr, local_port);
  c->secure_port = ep.secure;
  c->proxy_pending = ep.proxy_protocol;
  c->state = IH_CONN_READ_HEAD;
  ih_conn_ref(c, IH_HOLD_SOCKET);
  atomic_fetch_add(&s->counters.connections_live, 1);
  atomic_fetch_add(&s->counters.connections_total, 1);
  return c;
}

bool ih_addr_is_loopback(const char *addr)
{
  return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 || strncmp(addr, "::ffff:127.", 11) == 0;
}

void conn_set_peer(ih_conn *c, const char *addr, uint16_t port)
{
  snprintf(c->peer_addr, sizeof c->peer_addr, "%s", addr);
  c->peer_port = port;
  c->peer_is_loopback = ih_addr_is_loopback(addr);
}

void ih_conn_destroy(ih_conn *c)
{
  assert(atomic_load(&c->ref_total) == 0);
  for (int h = 0; h < IH_HOLD__COUNT; h++)
    assert(atomic_load(&c->refs[h]) == 0);
  /* The connection's last moment, whatever ended it (close, reset,
   * timeout, stop): the pipeline's END_OF_NET_SESSION and what its request
   * and handler left. Before the live count drops: a stop that sees no
   * connection left unloads the filters. */
  c->hooks->destroying(c);
  ih_counter_down(&c->server->counters.connections_live, "connections_live");
  ih_filter_conn_free(c->filters); /* what filters allocated for it (AllocMem lives as long as the connection) */
  free(c->filter_send);
  ih_mutex_free(c->lock);
  free(c->in);
  free(c->out);
  ih_generation_release(c->gen); /* last: the filter contexts above point into its table */
  free(c);
}

/* ---- deadlines ---- */

/* A cancelled connection keeps the deadline that has passed (ih_conn_cancel). */
void conn_set_deadline(ih_conn *c, uint64_t ms_from_now)
{
  if (!atomic_load(&c->cancelled))
    atomic_store(&c->deadline_ms, ih_clock_ms() + ms_from_now);
}

void conn_clear_deadline(ih_conn *c)
{
  if (!atomic_load(&c->cancelled))
    atomic_store(&c->deadline_ms, 0);
}

/* Minimum-rate deadline: a grace period plus the time `bytes` take at the
 * configured minimum rate (http.sys's MinSendRate idea, applied both ways). */
uint64_t conn_rate_deadline_ms(const ih_conn *c, uint64_t bytes)
{
  const ih_server_config *sc = &c->gen->config->server;
  uint64_t rate = sc->min_body_rate ? sc->min_body_rate : 1;
  return (uint64_t)sc->body_timeout * 1000u + bytes * 1000u / rate;
}

/* ---- the transport's operations: the only places IH_HOLD_IO is taken
 * (each one completes once, releasing it: transport.h) ---- */

void conn_transport_recv(ih_conn *c, size_t max)
{
  ih_conn_ref(c, IH_HOLD_IO);
  c->transport->recv(c, c->in ? c->in + c->in_len : NULL, max); /* NULL, 0: a parked connection's zero-byte read */
}

void conn_transport_send(ih_conn *c, const char *data, size_t len)
{
  ih_conn_ref(c, IH_HOLD_IO);
  c->transport->send(c, data, len);
}

void conn_transport_send_file(ih_conn *c, void *file, uint64_t offset, uint64_t length, const char *head,
                              size_t head_len)
{
  ih_conn_ref(c, IH_HOLD_IO);
  c->transport->send_file(c, file, offset, length, head, head_len);
}

/* ---- closing: the only place IH_HOLD_SOCKET is released ---- */

void conn_close(ih_conn *c)
{
  if (c->socket_closed)
    return;
  c->hooks->closing(c); /* the pipeline ends the request, unless a handler still owns it */
  c->socket_closed = true;
  c->state = IH_CONN_CLOSED;
  conn_clear_deadline(c);
  if (c->sending_now) {
    /* An extension's thread is inside send_now with this socket: stop that
     * send, and close when it returns, so the handle cannot be reused under
     * it. */
    c->close_deferred = true;
    c->transport->cancel_io(c);
  } else {
    c->transport->close_socket(c);
  }
  conn_unref_locked(c, IH_HOLD_SOCKET);
}
