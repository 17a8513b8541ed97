/* Connection lifetime and the HTTP/1.x pipeline state machine (see conn.h).
 *
 *   READ_HEAD --head parsed--> READ_BODY --body done--> SENDING --sent-->
 *       ^                        |  (Expect: 100-continue: SEND_CONTINUE)   |
 *       +------------------- keep-alive -------------------------------+
 *                                               close: LINGER -> CLOSED
 *
 * Every state that waits for the client has a deadline (header wait, idle
 * keep-alive, minimum body rate, send rate, lingering close); the platform's
 * timer sweep calls ih_conn_on_timer when it passes. */
#include "server/conn.h"
#include "server/conn_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "core/server_log.h"
#include "server/file_cache.h"
#include "http/keepalive.h"
#include "server/access_log.h"
#include "server/respond.h"
#include "server/response.h"
#include "server/route.h"

#define IH_LINGER_MS 2000u     /* how long to drain a closing client's bytes */
#define IH_BODY_BUFFER 16384u  /* input room beyond the largest head, for body reads */
/* The input buffer a connection holds between requests. Most request heads
 * fit in it; a longer one grows it on demand up to in_full_cap, and it goes
 * back to this size once a request is over and nothing is buffered, so an
 * idle keep-alive connection costs little (nginx's client_header_buffer_size
 * idea). The parser's limits, not the buffer's size, decide 414 and 431. */
#define IH_IN_IDLE 4096u

const char *ih_holder_name(enum ih_holder h)
{
  static const char *const names[IH_HOLD__COUNT] = { "socket", "io", "request", "timer", "isapi-session" };
  return (unsigned)h < IH_HOLD__COUNT ? names[h] : "?";
}

static ih_generation *generation_new(ih_server *s, const ih_config *cfg)
{
  ih_generation *g = ih_calloc(1, sizeof *g);
  if (!g)
    return NULL;
  g->config = cfg;
  g->server = s;
  atomic_init(&g->refs, 1); /* the server's, once published; the caller's until then */
  ih_http_limits_default(&g->limits);
  g->limits.max_request_line = cfg->server.max_request_line;
  g->limits.max_header_line = cfg->server.max_header_line;
  g->limits.max_header_bytes = cfg->server.max_header_bytes;
  g->limits.max_headers = cfg->server.max_headers;
  atomic_fetch_add(&s->counters.generations_live, 1);
  return g;
}

int ih_server_init(ih_server *s, const ih_config *cfg, const ih_platform *platform)
{
  memset(s, 0, sizeof *s);
  s->platform = platform;
  atomic_init(&s->draining, false);
  atomic_flag_clear(&s->current_lock);
  s->started_ms = ih_clock_ms();
  ih_generation *g = generation_new(s, cfg);
  s->file_cache = ih_file_cache_new(cfg->server.file_cache_entries, (uint64_t)cfg->server.file_cache_ttl * 1000u);
  if (!g || !s->file_cache) {
    ih_server_generation_free(g);
    ih_file_cache_free(s->file_cache);
    s->file_cache = NULL;
    return -1;
  }
  g->number = 1;
  atomic_init(&s->current, g);
  return 0;
}

/* A spin lock: held for a pointer load and an increment, or a swap. */
static void current_lock(ih_server *s)
{
  while (atomic_flag_test_and_set_explicit(&s->current_lock, memory_order_acquire))
    ;
}

static void current_unlock(ih_server *s) { atomic_flag_clear_explicit(&s->current_lock, memory_order_release); }

ih_generation *ih_server_acquire(ih_server *s)
{
  current_lock(s);
  ih_generation *g = atomic_load(&s->current);
  if (g) {
    int before = atomic_fetch_add(&g->refs, 1);
    assert(before > 0 && "a current generation always has the server's reference");
    (void)before;
  }
  current_unlock(s);
  return g;
}

void ih_generation_release(ih_generation *gen)
{
  int before = atomic_load(&gen->refs);
  do {
    if (before <= 0) {
      /* Freed already, or about to be by its last real holder: freeing
       * again would be a double free. */
      ih_log(IH_LOG_ERROR, IH_EV_COUNT_UNDERFLOW,
             "configuration generation %u released more often than acquired; the release is ignored", gen->number);
      return;
    }
  } while (!atomic_compare_exchange_weak(&gen->refs, &before, before - 1));
  if (before == 1)
    ih_server_generation_free(gen);
}

ih_generation *ih_server_generation_new(ih_server *s, ih_config *cfg)
{
  ih_generation *g = generation_new(s, cfg);
  if (g) {
    g->owned = cfg;
    g->number = ih_server_current(s)->number + 1;
  }
  return g;
}

void ih_server_generation_free(ih_generation *gen)
{
  if (gen) {
    conn_counter_down(&gen->server->counters.generations_live, "generations_live");
    ih_filter_table_free(gen->filters);
    ih_config_free(gen->owned);
    free(gen);
  }
}

void ih_server_generation_publish(ih_server *s, ih_generation *gen)
{
  current_lock(s);
  ih_generation *old = atomic_load(&s->current);
  atomic_store(&s->current, gen); /* gen's reference from ih_server_generation_new is the server's now */
  current_unlock(s);
  if (old)
    ih_generation_release(old);
}

void ih_server_destroy(ih_server *s)
{
  current_lock(s);
  ih_generation *g = atomic_load(&s->current);
  atomic_store(&s->current, NULL);
  current_unlock(s);
  if (g)
    ih_generation_release(g);
  ih_file_cache_free(s->file_cache);
  s->file_cache = NULL;
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

bool conn_counter_down(atomic_llong *count, const char *what)
{
  long long before = atomic_load(count);
  do {
    if (before <= 0) {
      ih_log(IH_LOG_ERROR, IH_EV_COUNT_UNDERFLOW, "%s released more often than taken; the release is ignored",
             what);
      return false;
    }
  } while (!atomic_compare_exchange_weak(count, &before, before - 1));
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
    c->server->platform->destroy_later(c);
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
static void conn_unref_locked(ih_conn *c, enum ih_holder h)
{
  if (holder_count_down(c, h))
    total_count_down(c);
}

int ih_conn_refs(ih_conn *c, enum ih_holder h) { return atomic_load(&c->refs[h]); }

/* ---- what the platform may change, each through one named function ---- */

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

void ih_conn_abandon(ih_conn *c)
{
  ih_mutex_lock(c->lock);
  conn_close(c);
  ih_mutex_unlock(c->lock);
}

void ih_server_begin_drain(ih_server *s) { atomic_store(&s->draining, true); }

void ih_server_count_client_abort(ih_server *s) { atomic_fetch_add(&s->counters.client_aborts, 1); }

/* The most input a request can need buffered at once: the largest head the
 * limits allow, plus room for body reads. */
static size_t in_full_cap(const ih_conn *c)
{
  const ih_server_config *sc = &c->gen->config->server;
  return sc->max_request_line + sc->max_header_bytes + 2 * sc->max_headers + 64 + IH_BODY_BUFFER;
}

/* READ_RAW_DATA filters are given the input buffer's free space to write
 * into (cbInBuffer, ms525498); for them it keeps its full size. */
static bool in_stays_full(ih_conn *c)
{
  return c->filters && ih_filter_wants(ih_filter_chain_for(c->gen->filters, NULL), IH_SF_NOTIFY_READ_RAW_DATA);
}

/* Grows the input buffer to at least want bytes (never past in_full_cap).
 * Only where no parsed slice points into it: realloc may move it. False
 * when out of memory (the buffer is then unchanged). */
static bool in_grow(ih_conn *c, size_t want)
{
  size_t full = in_full_cap(c);
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
static void in_shrink_idle(ih_conn *c)
{
  if (c->in_cap <= IH_IN_IDLE || in_stays_full(c))
    return;
  char *p = ih_realloc(c->in, IH_IN_IDLE);
  if (p) {
    c->in = p;
    c->in_cap = IH_IN_IDLE;
  }
}

ih_conn *ih_conn_new(ih_server *s, void *platform_data, const char *local_addr, uint16_t local_port,
                     const char *peer_addr, uint16_t peer_port)
{
  ih_conn *c = ih_calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->gen = ih_server_acquire(s);
  c->lock = ih_mutex_new();
  c->ext_cond = ih_cond_new();
  bool wants_filters = c->gen->filters && c->gen->filters->count;
  if (wants_filters)
    c->filters = ih_filter_conn_new(c->gen->filters);
  c->in_cap = in_stays_full(c) ? in_full_cap(c) : IH_IN_IDLE;
  c->in = ih_malloc(c->in_cap);
  if (!c->in || !c->lock || !c->ext_cond || (wants_filters && !c->filters)) {
    ih_filter_conn_free(c->filters);
    free(c->in);
    ih_mutex_free(c->lock);
    ih_cond_free(c->ext_cond);
    ih_generation_release(c->gen); /* the only reference it took */
    free(c);
    return NULL;
  }
  c->server = s;
  c->platform_data = platform_data;
  snprintf(c->local_addr, sizeof c->local_addr, "%s", local_addr);
  snprintf(c->peer_addr, sizeof c->peer_addr, "%s", peer_addr);
  c->local_port = local_port;
  c->peer_port = peer_port;
  c->peer_is_loopback = strncmp(peer_addr, "127.", 4) == 0 || strcmp(peer_addr, "::1") == 0 ||
                        strncmp(peer_addr, "::ffff:127.", 11) == 0;
  c->state = IH_CONN_READ_HEAD;
  c->view = &c->req;
  ih_conn_ref(c, IH_HOLD_SOCKET);
  atomic_fetch_add(&s->counters.connections_live, 1);
  atomic_fetch_add(&s->counters.connections_total, 1);
  return c;
}

void ih_conn_destroy(ih_conn *c)
{
  assert(atomic_load(&c->ref_total) == 0);
  for (int h = 0; h < IH_HOLD__COUNT; h++)
    assert(atomic_load(&c->refs[h]) == 0);
  /* The connection's last moment, whatever ended it (close, reset,
   * timeout, stop): END_OF_NET_SESSION exactly once, then what filters
   * allocated for it goes (AllocMem lives as long as the connection).
   * Before the live count drops: a stop that sees no connection left
   * unloads the filters. */
  ih_mutex_lock(c->lock);
  conn_filter_end_of_session(c);
  ih_mutex_unlock(c->lock);
  conn_counter_down(&c->server->counters.connections_live, "connections_live");
  ih_filter_conn_free(c->filters);
  free(c->filter_send);
  free(c->req.own_text);
  conn_ext_release(c);
  ih_mutex_free(c->lock);
  ih_cond_free(c->ext_cond);
  free(c->in);
  free(c->out);
  ih_generation_release(c->gen); /* last: the filter contexts above point into its table */
  free(c);
}

/* ---- deadlines ---- */

void conn_set_deadline(ih_conn *c, uint64_t ms_from_now)
{
  atomic_store(&c->deadline_ms, ih_clock_ms() + ms_from_now);
}

void conn_clear_deadline(ih_conn *c) { atomic_store(&c->deadline_ms, 0); }

/* Minimum-rate deadline: a grace period plus the time `bytes` take at the
 * configured minimum rate (http.sys's MinSendRate idea, applied both ways). */
uint64_t conn_rate_deadline_ms(const ih_conn *c, uint64_t bytes)
{
  const ih_server_config *sc = &c->gen->config->server;
  uint64_t rate = sc->min_body_rate ? sc->min_body_rate : 1;
  return (uint64_t)sc->body_timeout * 1000u + bytes * 1000u / rate;
}

/* ---- I/O posting: the only places IH_HOLD_IO is taken, for the pipeline
 * and for an extension's operations (conn_ext.c) alike ---- */

void conn_post_recv(ih_conn *c)
{
  ih_conn_ref(c, IH_HOLD_IO);
  c->server->platform->recv(c, c->in + c->in_len, conn_filter_read_size(c, c->in_cap - c->in_len));
}

static void post_recv(ih_conn *c) { conn_post_recv(c); }

/* Sends data through the SEND_RAW_DATA filters (and what filters wrote
 * before it); a filter that fails or crashes closes the connection, and
 * the send then fails as usual: one completion either way. */
void conn_post_data(ih_conn *c, const char *data, size_t len)
{
  const char *out = data;
  size_t out_len = len;
  if (c->filters) {
    enum ih_chain_result r = conn_filter_raw_send(c, data, len, &out, &out_len);
    if (r == IH_CHAIN_FAULT || r == IH_CHAIN_ERROR)
      conn_close(c);
  }
  conn_set_deadline(c, conn_rate_deadline_ms(c, out_len));
  ih_conn_ref(c, IH_HOLD_IO);
  c->server->platform->send(c, out, out_len);
}

static void post_send(ih_conn *c) { conn_post_data(c, c->out, c->out_len); }

bool conn_read_file_chunk(ih_conn *c, void *file, uint64_t offset, size_t n)
{
  size_t got = 0;
  if (!ih_response_reserve(c, n) ||
      c->server->platform->file_read(file, offset, c->out + c->out_len, n, &got) != IH_FS_OK || got != n)
    return false;
  c->out_len += n;
  return true;
}

/* File bodies go out in chunks, each with its own minimum-rate deadline, so
 * a transfer that stops moving is cancelled within minutes whatever the
 * file's size. The head rides with the first chunk. SEND_RAW_DATA filters
 * see every outgoing byte, so for them the chunk is read into memory
 * (after the head) instead of going out with TransmitFile. */
void conn_post_file_chunk(ih_conn *c, void *file, uint64_t *offset, uint64_t *left, const char *head, size_t head_len)
{
  uint64_t chunk = *left < IH_CONN_FILE_CHUNK ? *left : IH_CONN_FILE_CHUNK;
  if (conn_filter_sends_through(c)) {
    c->out_len = head ? head_len : 0; /* head is c->out's own */
    if (!conn_read_file_chunk(c, file, *offset, (size_t)chunk))
      conn_close(c); /* the send below then fails: one completion, as always */
    *offset += chunk;
    *left -= chunk;
    post_send(c);
    return;
  }
  conn_set_deadline(c, conn_rate_deadline_ms(c, head_len + chunk));
  ih_conn_ref(c, IH_HOLD_IO);
  c->server->platform->send_file(c, file, *offset, chunk, head, head_len);
  *offset += chunk;
  *left -= chunk;
}

static void post_file_chunk(ih_conn *c, const char *head, size_t head_len)
{
  conn_post_file_chunk(c, c->req.file, &c->req.file_offset, &c->req.file_left, head, head_len);
}

/* ---- requests: the only places IH_HOLD_REQUEST is taken and released ---- */

/* The output buffer a request's answer is built in (IH_CONN_OUT_FIRST).
 * False when out of memory: nothing can be answered then, so the caller
 * closes the connection (logged here). */
static bool request_begin(ih_conn *c)
{
  ih_request *r = &c->req;
  if (!c->out) {
    c->out = ih_malloc(IH_CONN_OUT_FIRST);
    if (!c->out) {
      ih_log(IH_LOG_ERROR, IH_EV_RESPONSE_INCOMPLETE,
             "no memory for the response to %s:%u: connection closed without one", c->peer_addr,
             (unsigned)c->peer_port);
      return false;
    }
    c->out_cap = IH_CONN_OUT_FIRST;
    c->out_len = c->out_head_len = 0;
  }
  r->active = true;
  r->started_ms = ih_clock_ms();
  ih_conn_ref(c, IH_HOLD_REQUEST);
  atomic_fetch_add(&c->server->counters.requests_in_flight, 1);
  return true;
}

/* The response has gone out whole (no send is in flight): the output
 * buffer goes, so a connection waiting for its next request holds none. */
static void out_release(ih_conn *c)
{
  free(c->out);
  c->out = NULL;
  c->out_cap = c->out_len = c->out_head_len = 0;
}

void conn_request_end(ih_conn *c)
{
  ih_request *r = &c->req;
  free(r->ext_preread);
  r->ext_preread = NULL;
  free(r->ext_log);
  r->ext_log = NULL;
  r->ext_log_len = 0;
  free(r->filter_physical);
  r->filter_physical = NULL;
  if (r->file) {
    c->server->platform->file_close(r->file);
    r->file = NULL;
  }
  if (!r->active)
    return;
  conn_filter_end_of_request(c); /* for every request, however it ended */
  r->active = false;
  conn_counter_down(&c->server->counters.requests_in_flight, "requests_in_flight");
  atomic_fetch_add(&c->server->counters.requests_total, 1);
  conn_unref_locked(c, IH_HOLD_REQUEST);
}

/* ---- closing: the only place IH_HOLD_SOCKET is released ---- */

void conn_close(ih_conn *c)
{
  if (c->socket_closed)
    return;
  if (!c->req.ext_running) /* else the extension still holds it: ih_conn_ext_end ends it */
    conn_request_end(c);
  c->socket_closed = true;
  c->state = IH_CONN_CLOSED;
  conn_clear_deadline(c);
  if (conn_ext_sending_now(c)) {
    /* An extension's thread is inside send_now with this socket: stop that
     * send, and close when it returns, so the handle cannot be reused under
     * it. */
    c->close_deferred = true;
    c->server->platform->cancel_io(c);
  } else {
    c->server->platform->close_socket(c);
  }
  conn_unref_locked(c, IH_HOLD_SOCKET);
}

/* Graceful close after a final response: FIN first, then read and discard
 * what the client still sends for a short while, so unread request bytes do
 * not make our close a reset that destroys the response in flight
 * (RFC 9112 §9.6). */
static void conn_linger(ih_conn *c)
{
  c->server->platform->shutdown_send(c);
  c->state = IH_CONN_LINGER;
  c->in_len = c->in_start = 0;
  conn_set_deadline(c, IH_LINGER_MS);
  post_recv(c);
}

/* Every pipeline entry point leaves through here: a session whose start
 * failed under the lock (dispatch_extension) is handed to its end now,
 * without the lock, as platform->ext_end_later requires. */
void conn_unlock(ih_conn *c)
{
  bool end_session = c->ext_start_failed;
  c->ext_start_failed = false;
  ih_mutex_unlock(c->lock);
  if (end_session)
    c->server->platform->ext_end_later(c);
}

/* ---- the pipeline ---- */

static const ih_site *site_named(const ih_config *cfg, const char *name)
{
  for (size_t i = 0; i < cfg->site_count; i++)
    if (ih_slice_ieq_cstr(ih_slice_from_cstr(cfg->sites[i].name), name))
      return &cfg->sites[i];
  return NULL;
}

/* Between two requests: the next one follows the newest configuration, so
 * a reload reaches connections that stay open (a proxy's, say) from their
 * next request on, as an IIS metabase change does; the request in flight
 * during the reload finished under the one it started with. The input
 * buffer grows up to what the adopted configuration's limits allow
 * (in_full_cap), so raised header limits apply here too. */
static void adopt_newest_generation(ih_conn *c)
{
  if (atomic_load(&c->server->current) == c->gen)
    return; /* the common case, without the lock; a reload in between is seen next time */
  ih_generation *next = ih_server_acquire(c->server);
  if (!next || next == c->gen) {
    if (next)
      ih_generation_release(next);
    return;
  }
  size_t had = c->gen->filters ? c->gen->filters->count : 0, has = next->filters ? next->filters->count : 0;
  if ((c->filters != NULL) != (has > 0) || (c->filters && had != has)) {
    ih_generation_release(next); /* cannot happen (a reload keeps the [filter] sections); keep the old */
    return;
  }
  if (c->filters)
    c->filters->table = next->filters; /* the same filters in the same slots; contexts stay */
  if (c->filter_site)
    c->filter_site = site_named(next->config, c->filter_site->name);
  ih_generation *old = c->gen;
  c->gen = next;
  ih_generation_release(old);
}

static void reset_for_next_request(ih_conn *c)
{
  free(c->req.own_text); /* a head filters rewrote */
  memset(&c->req, 0, sizeof c->req);
  c->parse_last_len = 0;
  c->head_bytes_seen = false;
  c->state = IH_CONN_READ_HEAD;
}

/* Removes consumed body bytes [from, from+n) keeping what follows. */
static void discard_input(ih_conn *c, size_t from, size_t n)
{
  memmove(c->in + from, c->in + from + n, c->in_len - from - n);
  c->in_len -= n;
}

void conn_start_response(ih_conn *c, ih_body_plan *plan)
{
  ih_request *r = &c->req;
  c->state = IH_CONN_SENDING;
  ih_response_finish(c, plan);
  if (!c->head_filtered) {
    c->head_filtered = true;
    bool replaced;
    enum ih_chain_result fr = conn_filter_send_response(c, r->status, &replaced);
    c->head_filtered = true;
    if (replaced && plan->file) { /* a filter answered the denial itself */
      c->server->platform->file_close(plan->file);
      memset(plan, 0, sizeof *plan);
    }
    if (fr == IH_CHAIN_FAULT || fr == IH_CHAIN_ERROR) {
      if (plan->file)
        c->server->platform->file_close(plan->file);
      conn_close(c);
      return;
    }
    if (fr == IH_CHAIN_FINISHED)
      r->keep_alive = false; /* finished during SEND_RESPONSE: this response, then close */
  }
  r->response_bytes = c->out_len + (plan->file ? plan->length : 0);
  r->file = plan->file;
  if (plan->file) {
    r->file_offset = plan->offset;
    r->file_left = plan->length;
    post_file_chunk(c, c->out, c->out_len);
  } else {
    post_send(c);
  }
}

static void fail_request(ih_conn *c, int status, const char *reason)
{
  ih_body_plan plan = { 0 };
  if (!c->req.active && !request_begin(c)) {
    conn_close(c);
    return;
  }
  c->req.framing_ok = false;
  ih_log(IH_LOG_INFO, IH_EV_BAD_REQUEST, "%d %s from %s:%u: %s", status, "rejected", c->peer_addr,
         (unsigned)c->peer_port, reason ? reason : "");
  ih_response_error(c, status, &plan);
  conn_start_response(c, &plan);
}

static int framing_status(enum ih_http_framing_status st)
{
  switch (st) {
  case IH_FRAMING_OK: return 200;
  case IH_FRAMING_BAD_REQUEST: return 400;
  case IH_FRAMING_NOT_IMPLEMENTED: return 501;
  case IH_FRAMING_LENGTH_REQUIRED: return 411;
  case IH_FRAMING_TOO_LARGE: return 413;
  case IH_FRAMING_EXPECTATION_FAILED: return 417;
  }
  return 400;
}

static int parse_status(enum ih_http_parse_status st)
{
  switch (st) {
  case IH_PARSE_URI_TOO_LONG: return 414;
  case IH_PARSE_HEADERS_TOO_LARGE: return 431;
  case IH_PARSE_BAD_VERSION: return 505;
  default: return 400;
  }
}

/* A chunked body the decoder refused: 413 past max_body, like a
 * Content-Length above it (RFC 9110 15.5.14), 400 when it is malformed. */
static void refuse_chunked_body(ih_conn *c, enum ih_chunked_status st)
{
  if (st == IH_CHUNKED_TOO_LARGE)
    fail_request(c, 413, "chunked body exceeds max_body");
  else
    fail_request(c, 400, "malformed chunked body");
}

/* Consumes body bytes already buffered after the head. Returns true when the
 * body is complete; false when more must be read (or the request failed). */
static bool consume_body(ih_conn *c, bool *failed)
{
  ih_request *r = &c->req;
  size_t body_at = c->in_start + r->head.head_len;
  size_t avail = c->in_len - body_at;
  *failed = false;
  if (!r->framing.chunked) {
    size_t take = avail < r->body_left ? avail : (size_t)r->body_left;
    discard_input(c, body_at, take);
    r->body_left -= take;
    r->body_received += take;
    return r->body_left == 0;
  }
  size_t used = 0, out_len = 0;
  /* Decoded data is not needed by static handlers: decode in place and drop. */
  enum ih_chunked_status st =
      ih_chunked_decode(&r->chunked, c->in + body_at, avail, &used, c->in + body_at, avail, &out_len);
  discard_input(c, body_at, used);
  r->body_received = r->chunked.total;
  if (st == IH_CHUNKED_ERROR || st == IH_CHUNKED_TOO_LARGE) {
    *failed = true;
    refuse_chunked_body(c, st);
    return false;
  }
  return st == IH_CHUNKED_DONE;
}

/* Moves up to cap decoded body bytes that are already buffered into dst
 * (Content-Length or chunked) and marks the body complete at its end.
 * Returns the byte count, or -1 for a malformed or oversized chunked body. */
long conn_body_pull(ih_conn *c, char *dst, size_t cap)
{
  ih_request *r = &c->req;
  size_t body_at = c->in_start + r->head.head_len;
  size_t avail = c->in_len - body_at;
  if (r->body_complete)
    return 0;
  if (!r->framing.chunked) {
    size_t take = avail < r->body_left ? avail : (size_t)r->body_left;
    take = take < cap ? take : cap;
    memcpy(dst, c->in + body_at, take);
    discard_input(c, body_at, take);
    r->body_left -= take;
    r->body_received += take;
    r->body_complete = r->body_left == 0;
    return (long)take;
  }
  size_t used = 0, out_len = 0;
  enum ih_chunked_status st = ih_chunked_decode(&r->chunked, c->in + body_at, avail, &used, dst, cap, &out_len);
  discard_input(c, body_at, used);
  r->body_received = r->chunked.total;
  if (st == IH_CHUNKED_ERROR || st == IH_CHUNKED_TOO_LARGE) {
    r->body_refused = st;
    return -1;
  }
  r->body_complete = st == IH_CHUNKED_DONE;
  return (long)out_len;
}

/* Hands the request to the extension host once the pre-read is complete:
 * isapi_preread bytes, or the whole body if it is shorter (IIS's
 * UploadReadAheadSize). */
static void dispatch_extension(ih_conn *c)
{
  ih_request *r = &c->req;
  c->state = IH_CONN_EXT_RUNNING;
  conn_clear_deadline(c); /* an extension may take its time; stuck ones are the host's concern */
  r->ext_declared_length = UINT64_MAX;
  r->ext_running = true;
  r->framing_ok = true; /* head and framing are valid; an unread body rest closes at the end */
  ih_conn_ref(c, IH_HOLD_ISAPI_SESSION);
  atomic_fetch_add(&c->server->counters.isapi_sessions, 1);
  if (!c->server->platform->extension_start(c)) {
    /* A session that could not start ends like one that ran: through
     * ih_conn_on_ext_end, which answers and releases IH_HOLD_ISAPI_SESSION
     * in its one place, on another stack once the lock is released
     * (conn_unlock). libuv queues a synchronous failure as a completion
     * for the same reason: one path, whichever way the operation ends. */
    ih_log(IH_LOG_INFO, IH_EV_BAD_REQUEST, "%d %s from %s:%u: %s", 503, "rejected", c->peer_addr,
           (unsigned)c->peer_port, "the extension host cannot take more calls");
    r->ext_hse_status = 1;   /* HSE_STATUS_SUCCESS: the end answers with ext_http_status */
    r->ext_http_status = 503;
    c->ext_start_failed = true;
  }
}

/* Reads the pre-read part of an extension request's body. Returns true when
 * the extension has been started; false when waiting for input or failed. */
static bool preread_extension_body(ih_conn *c)
{
  ih_request *r = &c->req;
  size_t cap = c->gen->config->server.isapi_preread;
  if (!r->ext_preread) {
    r->ext_preread = ih_malloc(cap + 1);
    if (!r->ext_preread) {
      fail_request(c, 503, "out of memory for the request body");
      return false;
    }
    r->body_complete = !r->framing.chunked && r->body_left == 0;
  }
  for (;;) {
    long n = conn_body_pull(c, r->ext_preread + r->ext_preread_len, cap - r->ext_preread_len);
    if (n < 0) {
      refuse_chunked_body(c, r->body_refused);
      return false;
    }
    r->ext_preread_len += (size_t)n;
    if (r->body_complete || r->ext_preread_len == cap) {
      r->ext_preread[r->ext_preread_len] = '\0'; /* DLLs rely on lpbData being NUL-terminated */
      dispatch_extension(c);
      return true;
    }
    if (n == 0)
      return false; /* need more input */
  }
}

static void wait_for_input(ih_conn *c)
{
  const ih_server_config *sc = &c->gen->config->server;
  if (c->in_len == c->in_cap) {
    /* Limits are enforced by the parser, so this means the buffer is
     * exhausted by a body read that makes no progress; refuse it. */
    fail_request(c, 431, "input buffer exhausted");
    return;
  }
  if (c->state == IH_CONN_READ_HEAD) {
    if (!c->head_bytes_seen)
      conn_set_deadline(c, (uint64_t)sc->keepalive_timeout * 1000u);
    /* else: the header deadline set at the first byte stands (slowloris) */
  } else if (c->state == IH_CONN_READ_BODY) {
    uint64_t elapsed = ih_clock_ms() - c->req.body_started_ms;
    uint64_t allowed = conn_rate_deadline_ms(c, c->req.body_received);
    conn_set_deadline(c, allowed > elapsed ? allowed - elapsed : 1);
  }
  post_recv(c);
}

/* A request with a body reads it through the input buffer, after its head:
 * the buffer takes its full size first (what it always had before it
 * started small), so body reads, chunk lines and an extension's ReadClient
 * have the room they always had. The head's slices point into the buffer,
 * so after it moved the head (moved to the front) is parsed again: the same
 * bytes under the same limits give the same result. False when out of
 * memory (nothing moved then). */
static bool body_room(ih_conn *c)
{
  ih_request *r = &c->req;
  if (c->in_cap >= in_full_cap(c))
    return true;
  if (!in_grow(c, in_full_cap(c)))
    return false;
  size_t avail = c->in_len - c->in_start;
  memmove(c->in, c->in + c->in_start, avail);
  c->in_len = avail;
  c->in_start = 0;
  c->parse_last_len = 0;
  enum ih_http_parse_status again = ih_http_parse_request(c->in, avail, 0, &c->gen->limits, &r->head);
  enum ih_http_framing_status fs =
      ih_http_framing_analyse(&r->head, c->gen->config->server.max_body, &r->framing);
  assert(again == IH_PARSE_DONE && fs == IH_FRAMING_OK);
  (void)again;
  (void)fs;
  return true;
}

/* ---- ISAPI filters between the head and the handler ---- */

/* A notification's answer before the handler runs. FAULT closes the
 * connection (the filter host logged it); ERROR answers 500, or what the
 * filter sent, and closes; FINISHED and FINISHED_KEEP_CONN send what the
 * filter sent (SF_REQ_SEND_RESPONSE_HEADER, WriteClient) and end the
 * request there, the first closing after it, the second keeping the
 * connection when the response and the unread body allow. END_OF_REQUEST,
 * LOG and END_OF_NET_SESSION still follow. Returns true when the pipeline
 * stops here. */
static bool filter_stopped(ih_conn *c, enum ih_chain_result fr)
{
  ih_request *r = &c->req;
  if (fr == IH_CHAIN_CONTINUE || fr == IH_CHAIN_READ_NEXT)
    return false;
  if (fr == IH_CHAIN_FAULT) {
    conn_close(c);
    return true;
  }
  if (!r->active && !request_begin(c)) {
    conn_close(c);
    return true;
  }
  /* A body not yet read leaves the connection unusable after this answer. */
  r->framing_ok = r->head.method.n && !r->framing.chunked && r->framing.content_length == 0;
  if (fr == IH_CHAIN_ERROR)
    r->ext_must_close = true;
  ih_body_plan plan = { 0 };
  bool sent = conn_filter_take_response(c, fr == IH_CHAIN_FINISHED_KEEP);
  if (!sent && fr == IH_CHAIN_ERROR) {
    ih_response_error(c, 500, &plan);
  } else if (!sent) {
    /* Finished with nothing to send: the client gets no answer, so the
     * connection cannot be kept for a next one. */
    ih_access_log_write(c);
    conn_close(c);
    return true;
  }
  c->state = IH_CONN_SENDING;
  conn_start_response(c, &plan);
  return true;
}

/* What filters do between the head and the handler, in IIS's order: the
 * site's filters must all be loaded (else 503), PREPROC_HEADERS (a changed
 * head is parsed again), routing, URL_MAP, AUTHENTICATION and
 * AUTH_COMPLETE; a url changed there routes once more, and nothing loops.
 * False: the request was answered or the connection closed. */
static bool run_request_filters(ih_conn *c)
{
  ih_request *r = &c->req;
  const ih_filter_chain *chain = ih_filter_chain_for(c->gen->filters, ih_route_find_site(c));
  if (chain && chain->blocked) {
    ih_log(IH_LOG_DEBUG, IH_EV_FILTER_LOAD_FAILED, "503 to %s:%u: filter %s is not loaded", c->peer_addr,
           (unsigned)c->peer_port, chain->blocked_by);
    ih_body_plan plan = { 0 };
    r->framing_ok = false;
    ih_response_error(c, 503, &plan);
    conn_start_response(c, &plan);
    return false;
  }
  bool url_changed;
  if (filter_stopped(c, conn_filter_preproc(c, &url_changed)))
    return false;
  if (url_changed)
    r->site = NULL; /* "url" (or Host) changed: its site again */
  r->is_extension = ih_route_extension(c);
  if (filter_stopped(c, ih_route_url_map(c)))
    return false;
  if (filter_stopped(c, conn_filter_authenticate(c, &url_changed)))
    return false;
  if (url_changed) {
    r->site = NULL;
    free(r->filter_physical);
    r->filter_physical = NULL;
    r->is_extension = ih_route_extension(c);
    if (filter_stopped(c, ih_route_url_map(c)))
      return false;
  }
  return true;
}

/* READ_RAW_DATA on bytes just received at c->in[from, from + n). False:
 * the pipeline must not go on with them (more is being read, or the
 * request was answered or the connection closed). */
static bool filter_raw_input(ih_conn *c, size_t from, size_t n)
{
  enum ih_chain_result fr = conn_filter_raw_read(c, from, &n);
  if (fr == IH_CHAIN_READ_NEXT) {
    post_recv(c); /* the filter took them and wants more (an opaque stream) */
    return false;
  }
  return !filter_stopped(c, fr);
}

/* Runs the state machine on buffered input until it must wait for I/O. */
static void process_input(ih_conn *c)
{
  const ih_server_config *sc = &c->gen->config->server;
  for (;;) {
    if (c->state == IH_CONN_READ_HEAD) {
      /* Empty lines before a request line are the parser's to skip and to
       * bound (RFC 9112 2.2; http_parse.h): they begin a request's head. */
      if (c->in_start == c->in_len) {
        c->in_start = c->in_len = 0;
        in_shrink_idle(c); /* no request, nothing buffered: idle */
        if (atomic_load(&c->server->draining)) {
          conn_close(c); /* idle during a graceful stop: nothing is lost */
          return;
        }
        wait_for_input(c);
        return;
      }
      if (!c->head_bytes_seen) {
        adopt_newest_generation(c); /* a request begins: under the newest configuration */
        sc = &c->gen->config->server;
        c->head_bytes_seen = true;
        c->head_started_ms = ih_clock_ms();
        conn_set_deadline(c, (uint64_t)sc->header_timeout * 1000u);
      }
      ih_request *r = &c->req;
      size_t avail = c->in_len - c->in_start;
      enum ih_http_parse_status st =
          ih_http_parse_request(c->in + c->in_start, avail, c->parse_last_len, &c->gen->limits, &r->head);
      if (st == IH_PARSE_INCOMPLETE) {
        c->parse_last_len = avail;
        if (c->in_start > 0) { /* make room: move the partial head to the front */
          memmove(c->in, c->in + c->in_start, avail);
          c->in_len = avail;
          c->in_start = 0;
        }
        /* The parser starts again from the buffer's start on every call, so
         * nothing points into the buffer yet: it may move. */
        if (c->in_len == c->in_cap && !in_grow(c, c->in_cap * 2)) {
          fail_request(c, 503, "out of memory for the request head");
          return;
        }
        wait_for_input(c);
        return;
      }
      if (!request_begin(c)) {
        conn_close(c);
        return;
      }
      if (st != IH_PARSE_DONE) {
        fail_request(c, parse_status(st), r->head.error_reason);
        return;
      }
      enum ih_http_framing_status fs = ih_http_framing_analyse(&r->head, sc->max_body, &r->framing);
      if (fs != IH_FRAMING_OK) {
        fail_request(c, framing_status(fs), r->framing.error_reason);
        return;
      }
      if ((r->framing.chunked || r->framing.content_length > 0) && !body_room(c)) {
        fail_request(c, 503, "out of memory for the request body");
        return;
      }
      r->head_only = ih_slice_eq(r->head.method, IH_SLICE_LIT("HEAD"));
      if (!c->filters)
        r->is_extension = ih_route_extension(c);
      else if (!run_request_filters(c))
        return;
      r->body_left = r->framing.chunked ? 0 : r->framing.content_length;
      r->body_started_ms = ih_clock_ms();
      if (r->framing.chunked)
        ih_chunked_init(&r->chunked, sc->max_body);
      c->state = IH_CONN_READ_BODY;
      bool has_body = r->framing.chunked || r->body_left > 0;
      size_t buffered_body = c->in_len - c->in_start - r->head.head_len;
      if (has_body && r->framing.expect_continue && buffered_body == 0) {
        /* RFC 9110 10.1.1: tell the client to go on before we read. */
        ih_response_continue(c);
        c->state = IH_CONN_SEND_CONTINUE;
        post_send(c);
        return;
      }
    }
    if (c->state == IH_CONN_READ_BODY && c->req.is_extension) {
      if (!preread_extension_body(c) && c->state == IH_CONN_READ_BODY)
        wait_for_input(c);
      return;
    }
    if (c->state == IH_CONN_READ_BODY) {
      bool failed;
      if (!consume_body(c, &failed)) {
        if (!failed)
          wait_for_input(c);
        return;
      }
      c->req.framing_ok = true;
      ih_body_plan plan = { 0 };
      ih_respond_request(c, &plan);
      conn_start_response(c, &plan);
      return;
    }
    return;
  }
}

/* A response has been sent completely. */
void conn_response_done(ih_conn *c)
{
  bool keep = c->req.keep_alive;
  size_t consumed = c->req.framing_ok ? c->req.head.head_len : 0;
  conn_request_end(c);
  out_release(c);
  if (atomic_load(&c->count_underflow)) {
    conn_close(c); /* a count went wrong (logged): no next request on this connection */
    return;
  }
  if (!keep) {
    conn_linger(c);
    return;
  }
  c->in_start += consumed;
  reset_for_next_request(c);
  conn_clear_deadline(c);
  process_input(c); /* a pipelined request may already be buffered */
}

/* Any failed operation means the connection is gone, whatever the error;
 * which one it was (ERROR_NETNAME_DELETED for a reset, ERROR_OPERATION_ABORTED
 * for a cancellation, ...) is kept for the debug log rather than folded into
 * one code. DEBUG: clients going away is normal traffic. */
static void log_io_error(ih_conn *c, const char *what, int err)
{
  ih_log(IH_LOG_DEBUG, IH_EV_IO_ERROR, "connection from %s:%u: %s failed (Win32 error %d); closing it", c->peer_addr,
         (unsigned)c->peer_port, what, err);
}

void ih_conn_start(ih_conn *c)
{
  ih_mutex_lock(c->lock);
  process_input(c); /* nothing buffered: waits for the first request (or closes if draining) */
  conn_unlock(c);
}

void ih_conn_on_recv(ih_conn *c, size_t bytes, int err)
{
  conn_ext_after after = { 0 };
  ih_mutex_lock(c->lock);
  if (c->ext_op.kind) {
    conn_ext_on_recv(c, bytes, err, &after); /* an extension's ReadClient */
  } else if (c->state == IH_CONN_CLOSED) {
    /* socket already closed; nothing to do but drop the reference */
  } else if (err || bytes == 0) {
    if (err)
      log_io_error(c, "receive", err);
    conn_close(c); /* EOF, reset, cancellation after a timeout: the connection is over */
  } else {
    atomic_fetch_add(&c->server->counters.bytes_received, (long long)bytes);
    if (c->state == IH_CONN_LINGER) {
      c->in_len = 0; /* discard; keep draining until EOF or the linger deadline */
      post_recv(c);
    } else {
      size_t from = c->in_len;
      c->in_len += bytes;
      if (!c->filters || filter_raw_input(c, from, bytes))
        process_input(c);
    }
  }
  conn_unlock(c);
  conn_ext_run_after(c, &after);
  ih_conn_unref(c, IH_HOLD_IO);
}

void ih_conn_on_sent(ih_conn *c, size_t bytes, int err)
{
  conn_ext_after after = { 0 };
  ih_mutex_lock(c->lock);
  atomic_fetch_add(&c->server->counters.bytes_sent, (long long)bytes);
  if (c->ext_op.kind) {
    conn_ext_on_sent(c, bytes, err, &after); /* an extension's write, head or file */
  } else if (c->state == IH_CONN_CLOSED) {
  } else if (err) {
    log_io_error(c, "send", err);
    conn_close(c);
  } else if (c->state == IH_CONN_SEND_CONTINUE) {
    c->state = IH_CONN_READ_BODY;
    process_input(c);
  } else if (c->req.file && c->req.file_left) {
    post_file_chunk(c, NULL, 0);
  } else {
    ih_access_log_write(c);
    conn_response_done(c);
  }
  conn_unlock(c);
  conn_ext_run_after(c, &after);
  ih_conn_unref(c, IH_HOLD_IO);
}

void ih_conn_on_timer(ih_conn *c)
{
  ih_mutex_lock(c->lock);
  atomic_store(&c->timer_pending, false);
  uint64_t deadline = atomic_load(&c->deadline_ms);
  bool expired = deadline != 0 && ih_clock_ms() >= deadline;
  bool idle = c->state == IH_CONN_READ_HEAD && !c->head_bytes_seen;
  bool draining = atomic_load(&c->server->draining);
  /* Closing the socket here (under the lock) rather than cancelling the
   * operation means a byte that arrives at the same moment cannot revive
   * the connection: its receive completes with an error either way. */
  if (c->state == IH_CONN_CLOSED) {
  } else if (idle && (expired || draining)) {
    ih_log(IH_LOG_DEBUG, IH_EV_IDLE_TIMEOUT, "closing idle connection from %s:%u", c->peer_addr,
           (unsigned)c->peer_port);
    conn_close(c);
  } else if (expired && c->state == IH_CONN_EXT_RUNNING && conn_ext_on_deadline(c)) {
    /* not a timeout: the extension's held head went out */
  } else if (expired) {
    if (c->state == IH_CONN_READ_HEAD)
      ih_log(IH_LOG_WARNING, IH_EV_HEADER_TIMEOUT, "dropping %s:%u: request head not complete after %u s",
             c->peer_addr, (unsigned)c->peer_port, c->gen->config->server.header_timeout);
    else if (c->state == IH_CONN_READ_BODY)
      ih_log(IH_LOG_WARNING, IH_EV_BODY_TIMEOUT, "dropping %s:%u: request body slower than %u bytes/s",
             c->peer_addr, (unsigned)c->peer_port, c->gen->config->server.min_body_rate);
    conn_close(c);
  }
  ih_mutex_unlock(c->lock);
  ih_conn_unref(c, IH_HOLD_TIMER);
}
