/* The request pipeline of a connection (pipeline.h), in the order a request
 * lives on it:
 *
 *   1. accept          ih_conn_new, ih_conn_start
 *   2. read            ih_conn_on_recv (READ_RAW_DATA filters), wait_for_input
 *   3. parse           process_input, read_head
 *   4. request filters run_request_filters (PREPROC_HEADERS .. AUTH_COMPLETE)
 *   5. route           relay_to_worker (a worker pool's request is handed
 *                      over whole: conn_relay.h, and its messages come
 *                      back through ih_relay_dispatch), ih_route_extension
 *   6. body            begin_body, read_body (100 Continue, the extension's pre-read)
 *   7. handler         run_static (respond.h: files, the status and admin
 *                      pages) or conn_ext_start (conn_ext.h), whose end comes
 *                      back through ih_conn_on_ext_end
 *   8. response filters start_response (SEND_RESPONSE), then
 *   9. send            conn_io.h (SEND_RAW_DATA), ih_conn_on_sent
 *  10. log             ih_access_log_write (LOG filters)
 *  11. end of request  response_done: conn_request_end (END_OF_REQUEST)
 *  12. keep or close   response_done: the next request (3), or linger and close
 *
 * and what can happen to it meanwhile: timers (ih_conn_on_timer), a long
 * idle between requests (park), and the connection's close and end (the
 * hooks the connection object calls).
 *
 *   READ_HEAD --head parsed--> READ_BODY --body done--> SENDING --sent-->
 *       ^                        |  (Expect: 100-continue: SEND_CONTINUE)   |
 *       |                        +--> EXT_RUNNING --session over--> SENDING |
 *       +------------------- keep-alive -------------------------------+
 *                                               close: LINGER -> CLOSED
 *
 * Every state that waits for the client has a deadline (header wait, idle
 * keep-alive, minimum body rate, send rate, lingering close); the
 * transport's timer sweep calls ih_conn_on_timer when it passes.
 *
 * The pipeline calls down into the layers below it (the connection object,
 * its I/O, the request, the filters, the handlers) and none of them calls
 * it: the connection object reaches it only through the two hooks given
 * to it here (conn_internal.h), a handler only by ending (handler.h). The
 * keep-alive decision is made where a response head is written (response.c)
 * and rechecked once, when a handler that ran on its own ends
 * (extension_ended, ih_response_end_decide). */
#include "server/pipeline.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "core/ih_time.h"
#include "core/server_log.h"
#include "http/proxy_protocol.h"
#include "server/access_log.h"
#include "server/conn_ext.h"
#include "server/conn_relay.h"
#include "server/conn_filters.h"
#include "server/conn_internal.h"
#include "server/conn_io.h"
#include "server/handler.h"
#include "server/relay.h"
#include "server/request.h"
#include "server/respond.h"
#include "server/response.h"
#include "server/route.h"

#define IH_LINGER_MS 2000u /* how long to drain a closing client's bytes */
/* An idle keep-alive connection waits this long with its input buffer and
 * a receive posted into it; then it parks: the receive is cancelled, the
 * buffer given back, and a zero-byte receive waits for the client's next
 * bytes (nginx frees its buffers while a connection idles). Not at once:
 * under Wine a zero-byte read costs wineserver round trips on every
 * exchange (wine-notes), so only connections that stay idle pay them. */
#define IH_PARK_AFTER_MS 2000u

static void process_input(ih_conn *c);
static bool read_head(ih_conn *c);
static bool run_request_filters(ih_conn *c);
static bool filter_stopped(ih_conn *c, enum ih_chain_result fr);
static void begin_body(ih_conn *c);
static void body_setup(ih_conn *c);
static bool relay_to_worker(ih_conn *c);
static void relay_check_end(ih_conn *c);
static void handler_ended(ih_conn *c, enum ih_handler_end how, ih_body_plan *plan, bool write_log);
static void refuse_chunked_body(ih_conn *c, enum ih_chunked_status st);
static void read_body(ih_conn *c);
static void start_response(ih_conn *c, ih_body_plan *plan);
static void fail_request(ih_conn *c, int status, const char *reason);
static void response_done(ih_conn *c);
static void pipeline_unlock(ih_conn *c);
static void log_io_error(ih_conn *c, const char *what, int err);
static void on_closing(ih_conn *c);
static void on_destroying(ih_conn *c);
static bool proxy_peer_trusted(ih_conn *c);
static bool may_park(ih_conn *c);
static void park(ih_conn *c);

/* What the connection object calls back: nothing else of the pipeline. */
static const ih_conn_hooks pipeline_hooks = { .closing = on_closing, .destroying = on_destroying };

/* ---- 1. accept ---- */

ih_conn *ih_conn_new(ih_server *s, const ih_transport *t, void *transport_data, const char *local_addr,
                     uint16_t local_port, const char *peer_addr, uint16_t peer_port)
{
  return conn_create(s, t, transport_data, &pipeline_hooks, local_addr, local_port, peer_addr, peer_port);
}

void ih_conn_start(ih_conn *c)
{
  ih_mutex_lock(c->lock);
  if (c->proxy_pending && !proxy_peer_trusted(c))
    conn_close(c);
  else
    process_input(c); /* nothing buffered: waits for the first request (or closes if draining) */
  pipeline_unlock(c);
}

/* ---- 1b. the PROXY header (docs/deployment.md) ---- */

/* A binding with proxy_protocol = on takes connections from load balancers
 * that begin each one with a PROXY protocol header naming the client
 * (http/proxy_protocol.h). Only a trusted proxy may name one: anyone else
 * could claim any address. */
static bool proxy_peer_trusted(ih_conn *c)
{
  const ih_server_config *sc = &c->gen->config->server;
  if (ih_cidr_list_match_text(sc->trusted_proxies, sc->trusted_proxy_count, ih_slice_from_cstr(c->peer_addr)))
    return true;
  ih_log(IH_LOG_WARNING, IH_EV_PROXY_REFUSED,
         "connection from %s:%u to %s:%u closed: its binding takes PROXY protocol headers, and only from "
         "trusted_proxies, which %s is not in",
         c->peer_addr, (unsigned)c->peer_port, c->local_addr, (unsigned)c->local_port, c->peer_addr);
  return false;
}

/* The header, from c->in[0..in_len) (the connection's first bytes). True
 * when it has been read and removed, and what follows it (maybe nothing
 * yet) is the first request's; false when more bytes are awaited, or the
 * connection was closed. The client it names becomes the connection's
 * peer, for everything that asks (REMOTE_ADDR, the access log, filters);
 * a LOCAL header (the proxy's own health check) or one of an unknown
 * family leaves the real peer. */
static bool read_proxy_header(ih_conn *c)
{
  ih_proxy_result pr;
  enum ih_proxy_status st = ih_proxy_parse(c->in, c->in_len, &pr);
  if (st == IH_PROXY_NEED_MORE) {
    if (pr.need > c->in_cap && !conn_in_grow(c, pr.need)) {
      conn_close(c);
      return false;
    }
    if (!c->head_bytes_seen) { /* the header counts against header_timeout, as a request head would */
      c->head_bytes_seen = true;
      c->head_started_ms = ih_clock_ms();
      conn_set_deadline(c, (uint64_t)c->gen->config->server.header_timeout * 1000u);
    }
    conn_post_recv(c);
    return false;
  }
  if (st == IH_PROXY_ERROR) {
    ih_log(IH_LOG_WARNING, IH_EV_PROXY_REFUSED,
           "connection from %s:%u to %s:%u closed: its binding takes a PROXY protocol header first, and it sent %s",
           c->peer_addr, (unsigned)c->peer_port, c->local_addr, (unsigned)c->local_port, pr.error_text);
    conn_close(c);
    return false;
  }
  if (pr.use_addresses) {
    snprintf(c->proxy_addr, sizeof c->proxy_addr, "%s", c->peer_addr);
    conn_set_peer(c, pr.src_text, pr.src_port);
  }
  memmove(c->in, c->in + pr.header_len, c->in_len - pr.header_len);
  c->in_len -= pr.header_len;
  c->proxy_pending = false;
  c->head_bytes_seen = false; /* the request's own header_timeout starts with its first byte */
  return true;
}

/* ---- 2. read ---- */

/* READ_RAW_DATA on bytes just received at c->in[from, from + n). False:
 * the pipeline must not go on with them (more is being read, or the
 * request was answered or the connection closed). */
static bool filter_raw_input(ih_conn *c, size_t from, size_t n)
{
  enum ih_chain_result fr = conn_filter_raw_read(c, from, &n);
  if (fr == IH_CHAIN_READ_NEXT) {
    conn_post_recv(c); /* the filter took them and wants more (an opaque stream) */
    return false;
  }
  return !filter_stopped(c, fr);
}

void ih_conn_on_recv(ih_conn *c, size_t bytes, int err)
{
  conn_ext_after after = { 0 };
  ih_mutex_lock(c->lock);
  bool cancelled_idle = c->parking && err; /* data that raced the cancel is read as usual */
  c->parking = false;
  if (conn_ext_owns_io(c)) {
    conn_ext_on_recv(c, bytes, err, &after); /* an extension's ReadClient */
  } else if (conn_relay_owns_io(c)) {
    conn_relay_on_recv(c, bytes, err); /* body bytes a worker asked for */
    relay_check_end(c);
  } else if (c->state == IH_CONN_CLOSED) {
    /* socket already closed; nothing to do but drop the reference */
  } else if (cancelled_idle) {
    park(c);
  } else if (c->parked) {
    /* The zero-byte receive completed: the client sent something (or
     * closed, which the next receive reads as usual). */
    c->parked = false;
    if (err) {
      log_io_error(c, "receive", err);
      conn_close(c);
    } else if (!conn_in_take(c)) {
      conn_close(c); /* no memory for its bytes; it was idle, nothing is lost */
    } else {
      conn_post_recv(c);
    }
  } else if (err || bytes == 0) {
    if (err)
      log_io_error(c, "receive", err);
    conn_close(c); /* EOF, reset, cancellation after a timeout: the connection is over */
  } else {
    atomic_fetch_add(&c->server->counters.bytes_received, (long long)bytes);
    if (c->state == IH_CONN_LINGER) {
      c->in_len = 0; /* discard; keep draining until EOF or the linger deadline */
      conn_post_recv(c);
    } else {
      size_t from = c->in_len;
      c->in_len += bytes;
      /* 1b: a PROXY header comes before anything a filter or the parser sees */
      bool header_first = c->proxy_pending;
      bool go_on = !header_first || read_proxy_header(c);
      if (go_on && header_first) { /* the header went: what is left of the input is new */
        from = 0;
        bytes = c->in_len;
      }
      if (go_on && (!bytes || !c->filters || filter_raw_input(c, from, bytes)))
        process_input(c);
    }
  }
  pipeline_unlock(c);
  conn_ext_run_after(c, &after);
  ih_conn_unref(c, IH_HOLD_IO);
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
    if (!c->head_bytes_seen) {
      /* idle: the keep-alive deadline, or first the time to park (on_timer) */
      uint64_t idle_ms = (uint64_t)sc->keepalive_timeout * 1000u;
      c->idle_until_ms = ih_clock_ms() + idle_ms;
      conn_set_deadline(c, may_park(c) && idle_ms > IH_PARK_AFTER_MS ? IH_PARK_AFTER_MS : idle_ms);
    }
    /* else: the header deadline set at the first byte stands (slowloris) */
  } else if (c->state == IH_CONN_READ_BODY) {
    uint64_t elapsed = ih_clock_ms() - c->req->body_started_ms;
    uint64_t allowed = conn_rate_deadline_ms(c, c->req->body_received);
    conn_set_deadline(c, allowed > elapsed ? allowed - elapsed : 1);
  }
  conn_post_recv(c);
}

/* Runs the pipeline on buffered input until it must wait for I/O: the
 * head (3-5), then the body (6) and the handler (7). */
static void process_input(ih_conn *c)
{
  if (c->state == IH_CONN_READ_HEAD) {
    if (!read_head(c))
      return;
    begin_body(c);
  }
  if (c->state == IH_CONN_READ_BODY)
    read_body(c);
}

/* ---- 3. parse ---- */

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
 * (conn_in_full_cap), so raised header limits apply here too. */
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

/* A request with a body reads it through the input buffer, after its head:
 * the buffer takes its full size first (what it always had before it
 * started small), so body reads, chunk lines and an extension's ReadClient
 * have the room they always had. The head's slices point into the buffer,
 * so after it moved the head (moved to the front) is parsed again: the same
 * bytes under the same limits give the same result. False when out of
 * memory (nothing moved then). */
static bool body_room(ih_conn *c)
{
  ih_request *r = c->req;
  if (c->in_cap >= conn_in_full_cap(c))
    return true;
  if (!conn_in_grow(c, conn_in_full_cap(c)))
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

/* Parses the head of the next request (3), runs the request filters (4)
 * and routes it (5). True when it is routed and its body comes next; false
 * when more input is awaited, or the request was answered or the
 * connection closed. */
static bool read_head(ih_conn *c)
{
  /* Empty lines before a request line are the parser's to skip and to
   * bound (RFC 9112 2.2; http_parse.h): they begin a request's head. */
  if (c->in_start == c->in_len) {
    c->in_start = c->in_len = 0;
    conn_in_shrink_idle(c); /* no request, nothing buffered: idle */
    if (atomic_load(&c->server->draining)) {
      conn_close(c); /* idle during a graceful stop: nothing is lost */
      return false;
    }
    wait_for_input(c);
    return false;
  }
  if (!c->req && !conn_request_new(c)) {
    conn_close(c);
    return false;
  }
  if (!c->head_bytes_seen) {
    adopt_newest_generation(c); /* a request begins: under the newest configuration */
    c->head_bytes_seen = true;
    c->head_started_ms = ih_clock_ms();
    conn_set_deadline(c, (uint64_t)c->gen->config->server.header_timeout * 1000u);
  }
  const ih_server_config *sc = &c->gen->config->server;
  ih_request *r = c->req;
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
    if (c->in_len == c->in_cap && !conn_in_grow(c, c->in_cap * 2)) {
      fail_request(c, 503, "out of memory for the request head");
      return false;
    }
    wait_for_input(c);
    return false;
  }
  if (!conn_request_begin(c)) {
    conn_close(c);
    return false;
  }
  if (st != IH_PARSE_DONE) {
    fail_request(c, parse_status(st), r->head.error_reason);
    return false;
  }
  enum ih_http_framing_status fs = ih_http_framing_analyse(&r->head, sc->max_body, &r->framing);
  if (fs != IH_FRAMING_OK) {
    fail_request(c, framing_status(fs), r->framing.error_reason);
    return false;
  }
  if ((r->framing.chunked || r->framing.content_length > 0) && !body_room(c)) {
    fail_request(c, 503, "out of memory for the request body");
    return false;
  }
  r->head_only = ih_slice_eq(r->head.method, IH_SLICE_LIT("HEAD"));
  conn_request_resolve_client(c); /* before anything asks who the client is: filters, pools, handlers */
  if (relay_to_worker(c))
    return false; /* 5. a worker pool's request: the worker runs the rest (filters too) */
  if (c->filters)
    return run_request_filters(c);
  r->is_extension = ih_route_extension(c); /* 5. route */
  return true;
}

/* ---- 4. request filters, and 5. routing between them ---- */

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
  ih_request *r = c->req;
  if (fr == IH_CHAIN_CONTINUE || fr == IH_CHAIN_READ_NEXT)
    return false;
  if (fr == IH_CHAIN_FAULT) {
    conn_close(c);
    return true;
  }
  if (!r->active && !conn_request_begin(c)) {
    conn_close(c);
    return true;
  }
  /* A body not yet read leaves the connection unusable after this answer. */
  r->framing_ok = r->head.method.n && !r->framing.chunked && r->framing.content_length == 0;
  if (fr == IH_CHAIN_ERROR)
    r->close_wanted = true;
  else /* SF_STATUS_REQ_FINISHED(_KEEP_CONN): the filter answered it, for the metrics */
    conn_request_answered_by(r, IH_MH_FILTER);
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
  start_response(c, &plan);
  return true;
}

/* What filters do between the head and the handler, in IIS's order: the
 * site's filters must all be loaded (else 503), PREPROC_HEADERS (a changed
 * head is parsed again), routing, URL_MAP, AUTHENTICATION and
 * AUTH_COMPLETE; a url changed there routes once more, and nothing loops.
 * False: the request was answered or the connection closed. */
static bool run_request_filters(ih_conn *c)
{
  ih_request *r = c->req;
  const ih_filter_chain *chain = ih_filter_chain_for(c->gen->filters, ih_route_find_site(c));
  if (chain && chain->blocked) {
    ih_log(IH_LOG_DEBUG, IH_EV_FILTER_LOAD_FAILED, "503 to %s:%u: filter %s is not loaded", c->peer_addr,
           (unsigned)c->peer_port, chain->blocked_by);
    ih_body_plan plan = { 0 };
    r->framing_ok = false;
    ih_response_error(c, 503, &plan);
    start_response(c, &plan);
    return false;
  }
  bool url_changed;
  if (filter_stopped(c, conn_filter_preproc(c, &url_changed)))
    return false;
  r->is_extension = ih_route_extension(c);
  if (filter_stopped(c, ih_route_url_map(c)))
    return false;
  if (filter_stopped(c, conn_filter_authenticate(c, &url_changed)))
    return false;
  if (url_changed) {
    free(r->filter_physical);
    r->filter_physical = NULL;
    r->is_extension = ih_route_extension(c);
    if (filter_stopped(c, ih_route_url_map(c)))
      return false;
  }
  return true;
}

/* ---- 5. a worker pool's request ---- */

/* A request whose site and path belong to a worker pool goes to one of its
 * workers as soon as its head is parsed (IIS 6 runs filters in w3wp): the
 * worker's pipeline reads its body (asking for it: "100 Continue" is the
 * worker's to send) and writes its response; this connection carries the
 * bytes (conn_relay.h). True when the request is handed over, or answered
 * here because no worker can take it. */
static bool relay_to_worker(ih_conn *c)
{
  const ih_platform *pf = c->server->platform;
  if (!pf->relay_pick || !ih_config_has_worker_pools(c->gen->config))
    return false;
  const ih_pool_conf *pool = ih_route_pool(c);
  if (!pool || pool->mode != IH_POOL_WORKER)
    return false;
  ih_request *r = c->req;
  body_setup(c);
  unsigned retry_after = 0;
  ih_relay_link *link = pf->relay_pick(c, pool, &retry_after);
  enum relay_start rs = link ? conn_relay_start(c, link) : RELAY_START_UNAVAILABLE;
  if (rs == RELAY_START_OK) {
    c->state = IH_CONN_RELAYING;
    return true;
  }
  if (rs == RELAY_START_BODY_REFUSED) {
    refuse_chunked_body(c, r->body_refused);
    return true;
  }
  /* The pool has no worker for it now (starting, backing off after
   * crashes): 503, with when to come back if the pool knows (RFC 9110
   * 15.6.4, 10.2.3). Its body is not read: the connection closes after. */
  ih_log(IH_LOG_DEBUG, IH_EV_POOL_START_FAILED, "503 to %s:%u: pool %s has no worker for it", c->peer_addr,
         (unsigned)c->peer_port, pool->name);
  ih_body_plan plan = { 0 };
  r->framing_ok = false;
  if (retry_after) {
    char value[16];
    snprintf(value, sizeof value, "%u", retry_after);
    ih_response_error_with(c, 503, "Retry-After", value, &plan);
  } else {
    ih_response_error(c, 503, &plan);
  }
  start_response(c, &plan);
  return true;
}

/* The one release point of IH_HOLD_RELAY (conn.h, docs/lifetime.md): the
 * request is out of its worker's registry (ih_relay_link_take gave it to
 * the caller), so nothing the worker sends can reach it any more. Called
 * after the connection's lock is dropped, as the last reference may go. */
static void relay_release(ih_conn *c)
{
  ih_conn_unref(c, IH_HOLD_RELAY);
}

/* The worker's message for a request it runs (any thread: its link's
 * reader). END is the worker's last word about it: the request's
 * IH_HOLD_RELAY goes with it. */
void ih_relay_dispatch(ih_relay_link *link, const ih_chan_msg *m)
{
  ih_conn *c = ih_relay_link_find(link, m->id);
  if (!c) {
    ih_relay_link_drop_file(link, m); /* a request already over for us: a handle it handed over still closes */
    return;
  }
  ih_mutex_lock(c->lock);
  conn_relay_on_msg(c, m);
  relay_check_end(c);
  pipeline_unlock(c);
  if (m->type == RELAY_END && ih_relay_link_take(link, m->id) == c)
    relay_release(c);
}

/* The worker died or was killed: each of its requests ends (502 when the
 * client had nothing yet, else the connection closes), and no more are
 * registered. After its reader thread has stopped. Returns how many there
 * were; which[0..cap) names the first few ("GET /a.isa?x, ..."). */
size_t ih_relay_lost(ih_relay_link *link, char *which, size_t cap)
{
  uint64_t id;
  size_t lost = 0, used = 0;
  if (cap)
    which[0] = '\0';
  while ((id = ih_relay_link_close(link)) != 0) {
    ih_conn *c = ih_relay_link_take(link, id);
    ih_mutex_lock(c->lock);
    if (c->req && lost < 3 && used < cap) { /* for the operator: what the worker was doing */
      const ih_http_request_head *h = &c->req->head;
      int n = snprintf(which + used, cap - used, "%s%.*s %.*s", lost ? ", " : "", (int)h->method.n, h->method.p,
                       (int)(h->target.n > 200 ? 200 : h->target.n), h->target.p);
      used = n < 0 ? used : used + (size_t)n >= cap ? cap - 1 : used + (size_t)n;
    }
    lost++;
    conn_relay_on_lost(c);
    relay_check_end(c);
    pipeline_unlock(c);
    relay_release(c); /* a worker that cannot END */
  }
  return lost;
}

/* Once the worker has ended (or is lost) and every byte it sent has gone
 * out: the request ends as an extension's does, its keep-alive decision
 * (the worker's, made with the head it wrote) rechecked here. The access
 * log line is the worker's, except for a 502 written here. */
static void relay_check_end(ih_conn *c)
{
  if (!conn_relay_done(c))
    return;
  ih_body_plan plan = { 0 };
  handler_ended(c, conn_relay_finish(c, &plan), &plan, false);
}

/* ---- 6. body ---- */

/* Where the body's bytes stand before any is read. */
static void body_setup(ih_conn *c)
{
  ih_request *r = c->req;
  r->body_left = r->framing.chunked ? 0 : r->framing.content_length;
  r->body_started_ms = ih_clock_ms();
  if (r->framing.chunked)
    ih_chunked_init(&r->chunked, c->gen->config->server.max_body);
}

/* The head is routed: the body comes next, after "100 Continue" when the
 * client waits for it (RFC 9110 10.1.1). */
static void begin_body(ih_conn *c)
{
  ih_request *r = c->req;
  body_setup(c);
  c->state = IH_CONN_READ_BODY;
  bool has_body = r->framing.chunked || r->body_left > 0;
  size_t buffered_body = c->in_len - c->in_start - r->head.head_len;
  if (has_body && r->framing.expect_continue && buffered_body == 0) {
    ih_response_continue(c);
    c->state = IH_CONN_SEND_CONTINUE;
    conn_post_data(c, c->out, c->out_len); /* ih_conn_on_sent goes on reading */
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

/* Reads the pre-read part of an extension request's body: isapi_preread
 * bytes, or the whole body if it is shorter (IIS's UploadReadAheadSize).
 * True when it is complete; false when waiting for input or failed. */
static bool preread_extension_body(ih_conn *c)
{
  ih_request *r = c->req;
  size_t cap = c->gen->config->server.isapi_preread;
  if (!r->body_preread) {
    r->body_preread = ih_malloc(cap + 1);
    if (!r->body_preread) {
      fail_request(c, 503, "out of memory for the request body");
      return false;
    }
    r->body_complete = !r->framing.chunked && r->body_left == 0;
  }
  for (;;) {
    long n = conn_body_pull(c, r->body_preread + r->body_preread_len, cap - r->body_preread_len);
    if (n < 0) {
      refuse_chunked_body(c, r->body_refused);
      return false;
    }
    r->body_preread_len += (size_t)n;
    if (r->body_complete || r->body_preread_len == cap) {
      r->body_preread[r->body_preread_len] = '\0'; /* DLLs rely on lpbData being NUL-terminated */
      return true;
    }
    if (n == 0)
      return false; /* need more input */
  }
}

/* ---- 7. handler ---- */

/* A static file, a directory listing, the status or admin page, or an
 * error: answered at once (respond.h), the whole body read first. */
static void run_static(ih_conn *c)
{
  c->req->framing_ok = true;
  ih_body_plan plan = { 0 };
  ih_respond_request(c, &plan);
  start_response(c, &plan);
}

/* The body as the request's handler needs it, then the handler: an
 * extension gets its pre-read and runs on its own (conn_ext.h), anything
 * else is answered once the body has been read and dropped. */
static void read_body(ih_conn *c)
{
  if (c->req->is_extension) {
    if (preread_extension_body(c)) {
      if (!conn_ext_start(c)) /* its end comes back through ih_conn_on_ext_end */
        fail_request(c, 503, "out of memory for the extension");
    } else if (c->state == IH_CONN_READ_BODY)
      wait_for_input(c);
    return;
  }
  int got = conn_body_skip(c);
  if (got < 0)
    refuse_chunked_body(c, c->req->body_refused);
  else if (got == 0)
    wait_for_input(c);
  else
    run_static(c);
}

/* The extension's session is over (handler_ended says what follows). */
static void extension_ended(ih_conn *c)
{
  ih_body_plan plan = { 0 };
  handler_ended(c, conn_ext_finish(c, &plan), &plan, true);
}

/* A handler that ran on its own (an extension, a worker's relay) is over:
 * what is left to do as it says (handler.h). It has answered (or answers
 * now, ANSWER), and the head it sent announced a keep-alive decision that
 * its end can only turn into "close": the decision is rechecked with what
 * is known now (a body it left unread, a stop begun meanwhile, its wish to
 * close). write_log: the access-log line is ours to write (a worker writes
 * its own). */
static void handler_ended(ih_conn *c, enum ih_handler_end how, ih_body_plan *plan, bool write_log)
{
  switch (how) {
  case IH_HANDLER_FAILED:
    conn_request_end(c);
    return;
  case IH_HANDLER_ANSWER:
    start_response(c, plan);
    return;
  case IH_HANDLER_CLOSE_WANTED:
    c->req->close_wanted = true;
    break;
  case IH_HANDLER_OK:
    break;
  }
  ih_response_end_decide(c, true); /* delimited: the handler says close when it is not */
  if (write_log)
    ih_access_log_write(c);
  response_done(c);
}

void ih_conn_on_ext_end(ih_conn *c)
{
  ih_mutex_lock(c->lock);
  extension_ended(c);
  pipeline_unlock(c); /* a pipelined extension request may have failed to start */
  conn_ext_session_release(c);
}

/* ---- 8. response filters, 9. send ---- */

/* Sends c->out and the plan's file as the request's response, after the
 * SEND_RESPONSE filters have seen its head. */
static void start_response(ih_conn *c, ih_body_plan *plan)
{
  ih_request *r = c->req;
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
    if (fr == IH_CHAIN_FINISHED) { /* finished during SEND_RESPONSE: this response, then close */
      r->close_wanted = true;
      ih_response_end_decide(c, true);
    }
  }
  r->response_bytes = c->out_len + (plan->file ? plan->length : 0);
  r->file = plan->file;
  if (plan->file) {
    r->file_offset = plan->offset;
    r->file_left = plan->length;
    conn_post_file_chunk(c, r->file, &r->file_offset, &r->file_left, c->out, c->out_len);
  } else {
    conn_post_data(c, c->out, c->out_len);
  }
}

/* A request answered with an error before any handler ran: the connection
 * closes after it (its framing is not trusted). */
static void fail_request(ih_conn *c, int status, const char *reason)
{
  ih_body_plan plan = { 0 };
  if (!c->req->active && !conn_request_begin(c)) {
    conn_close(c);
    return;
  }
  c->req->framing_ok = false;
  ih_log(IH_LOG_INFO, IH_EV_BAD_REQUEST, "%d %s from %s:%u: %s", status, "rejected", c->peer_addr,
         (unsigned)c->peer_port, reason ? reason : "");
  ih_response_error(c, status, &plan);
  start_response(c, &plan);
}

void ih_conn_on_sent(ih_conn *c, size_t bytes, int err)
{
  conn_ext_after after = { 0 };
  ih_mutex_lock(c->lock);
  conn_count_sent(c, bytes);
  if (conn_ext_owns_io(c)) {
    conn_ext_on_sent(c, bytes, err, &after); /* an extension's write, head or file */
  } else if (conn_relay_owns_io(c)) {
    conn_relay_on_sent(c, bytes, err); /* a worker's response bytes */
    relay_check_end(c);
  } else if (c->state == IH_CONN_CLOSED) {
  } else if (err) {
    log_io_error(c, "send", err);
    conn_close(c);
  } else if (c->state == IH_CONN_SEND_CONTINUE) {
    c->state = IH_CONN_READ_BODY;
    process_input(c);
  } else if (c->req && c->req->file && c->req->file_left) {
    conn_post_file_chunk(c, c->req->file, &c->req->file_offset, &c->req->file_left, NULL, 0);
  } else {
    ih_access_log_write(c); /* 10. log */
    response_done(c);
  }
  pipeline_unlock(c);
  conn_ext_run_after(c, &after);
  ih_conn_unref(c, IH_HOLD_IO);
}

/* ---- 11. end of request, 12. keep or close ---- */

/* Graceful close after a final response: FIN first, then read and discard
 * what the client still sends for a short while, so unread request bytes do
 * not make our close a reset that destroys the response in flight
 * (RFC 9112 §9.6). */
static void linger(ih_conn *c)
{
  c->transport->shutdown_send(c);
  c->state = IH_CONN_LINGER;
  c->in_len = c->in_start = 0;
  conn_set_deadline(c, IH_LINGER_MS);
  conn_post_recv(c);
}

static void reset_for_next_request(ih_conn *c)
{
  conn_relay_release(c);
  conn_request_free(c); /* an idle connection holds no request */
  c->parse_last_len = 0;
  c->head_bytes_seen = false;
  c->state = IH_CONN_READ_HEAD;
}

/* A response has been sent completely: the request ends, and the decision
 * made when its head was written is acted on. */
static void response_done(ih_conn *c)
{
  bool keep = c->req->keep_alive;
  size_t consumed = c->req->framing_ok ? c->req->head.head_len : 0;
  conn_request_end(c);
  conn_out_release(c);
  if (atomic_load(&c->count_underflow)) {
    conn_close(c); /* a count went wrong (logged): no next request on this connection */
    return;
  }
  if (c->transport->request_end)
    c->transport->request_end(c, keep);
  if (!keep) {
    linger(c);
    return;
  }
  c->in_start += consumed;
  reset_for_next_request(c);
  conn_clear_deadline(c);
  process_input(c); /* a pipelined request may already be buffered */
}

/* ---- meanwhile: timers ---- */

void ih_conn_on_timer(ih_conn *c)
{
  ih_mutex_lock(c->lock);
  atomic_store(&c->timer_pending, false);
  uint64_t deadline = atomic_load(&c->deadline_ms);
  uint64_t now = ih_clock_ms();
  bool expired = deadline != 0 && now >= deadline;
  bool idle = c->state == IH_CONN_READ_HEAD && !c->head_bytes_seen;
  bool draining = atomic_load(&c->server->draining);
  /* idle and not yet past the keep-alive deadline: park rather than close
   * (ih_conn_expire_now's deadline of 1 means every deadline passed) */
  bool park_time = idle && expired && !draining && deadline != 1 && now < c->idle_until_ms && !c->parking &&
                   !c->parked && may_park(c);
  /* Closing the socket here (under the lock) rather than cancelling the
   * operation means a byte that arrives at the same moment cannot revive
   * the connection: its receive completes with an error either way. */
  if (c->state == IH_CONN_CLOSED) {
  } else if (atomic_load(&c->cancelled)) {
    ih_log(IH_LOG_DEBUG, IH_EV_DRAIN_TIMEOUT, "closing %s:%u: the stop ran out of drain time", c->peer_addr,
           (unsigned)c->peer_port);
    conn_close(c);
  } else if (park_time) {
    c->parking = true; /* its completion parks it (ih_conn_on_recv) */
    conn_set_deadline(c, c->idle_until_ms - now);
    c->transport->cancel_io(c);
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

/* ---- meanwhile: a long idle ---- */

/* Whether an idle connection can give its input buffer back: its transport
 * can cancel the receive, and no READ_RAW_DATA filter writes into the
 * buffer's free space. */
static bool may_park(ih_conn *c) { return c->transport->cancel_io && !conn_in_stays_full(c); }

/* The receive cancelled after a long idle has completed: nothing is
 * buffered (the connection was idle), so the buffer goes, and a zero-byte
 * receive (which completes when the client sends, closes or resets) waits
 * instead. */
static void park(ih_conn *c)
{
  conn_in_release(c);
  c->parked = true;
  conn_post_recv(c); /* of 0 bytes: the buffer's free space */
}

/* ---- the connection's close and end ---- */

/* Every pipeline entry point leaves through here: a session whose start
 * failed under the lock (conn_ext_start) is handed to its end now, without
 * the lock, as platform->ext_end_later requires. */
static void pipeline_unlock(ih_conn *c)
{
  bool end_session = conn_ext_take_start_failure(c);
  ih_mutex_unlock(c->lock);
  if (end_session)
    c->server->platform->ext_end_later(c);
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

/* The connection object's close path: the request ends with it, unless the
 * extension still runs it (its session's end ends it then). */
static void on_closing(ih_conn *c)
{
  if (conn_relay_running(c))
    conn_relay_on_closing(c); /* the worker is told; its END (or loss) ends the request */
  else if (!conn_ext_running(c))
    conn_request_end(c);
}

/* The connection's last moment, whatever ended it (close, reset, timeout,
 * stop): END_OF_NET_SESSION exactly once, and what its last request and
 * handler left. */
static void on_destroying(ih_conn *c)
{
  ih_mutex_lock(c->lock);
  conn_filter_end_of_session(c);
  ih_mutex_unlock(c->lock);
  conn_request_free(c);
  conn_ext_release(c);
  conn_relay_release(c);
  conn_relay_detach(c); /* its worker-side connection ends too: END_OF_NET_SESSION there */
}
