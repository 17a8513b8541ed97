/* A request's beginning and end, and its body (request.h). */
#include "server/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "http/forwarded.h"
#include "core/server_log.h"
#include "server/conn_filters.h"
#include "server/conn_internal.h"

bool conn_request_new(ih_conn *c)
{
  ih_request *r = ih_calloc(1, sizeof *r);
  if (!r) {
    ih_log(IH_LOG_ERROR, IH_EV_RESPONSE_INCOMPLETE,
           "no memory for a request from %s:%u: connection closed without an answer", c->peer_addr,
           (unsigned)c->peer_port);
    return false;
  }
  /* How the client reached us, as far as the connection tells; trusted
   * forwarding headers may say more once the head is read. */
  r->secure = c->secure_port;
  r->server_port = c->local_port;
  snprintf(r->client_addr, sizeof r->client_addr, "%s", c->peer_addr);
  r->client_port = c->peer_port;
  c->req = c->view = r;
  return true;
}

/* X-Forwarded-Port (a de facto header: nginx's $server_port, AWS ELB):
 * the port the client connected to on the proxy; 0 when absent or not a
 * port. */
static uint16_t forwarded_port(const ih_http_request_head *h)
{
  const ih_http_header *f = ih_http_find_header(h, "X-Forwarded-Port");
  uint16_t port = 0;
  if (f && ih_port_parse(ih_slice_trim_ows(f->value), false, &port))
    return port;
  return 0;
}

void conn_request_resolve_client(ih_conn *c)
{
  ih_request *r = c->req;
  const ih_server_config *sc = &c->gen->config->server;
  if (!sc->trusted_proxy_count)
    return; /* nobody's headers are believed: the peer, as conn_request_new set it */
  static const enum ih_fwd_source sources[] = { [IH_FORWARDED_AUTO] = IH_FWD_AUTO,
                                                [IH_FORWARDED_RFC7239] = IH_FWD_FORWARDED,
                                                [IH_FORWARDED_XFF] = IH_FWD_XFF };
  ih_fwd_result fr;
  enum ih_fwd_status st =
      ih_fwd_resolve_head(&r->head, ih_slice_from_cstr(c->peer_addr), c->secure_port, sc->trusted_proxies,
                          sc->trusted_proxy_count, sources[sc->forwarded_headers], &fr);
  if (st == IH_FWD_PEER_NOT_ADDRESS)
    return;
  if (st != IH_FWD_OK)
    ih_log(IH_LOG_INFO, IH_EV_FORWARDED_IGNORED, "forwarding headers from trusted proxy %s:%u ignored: %s",
           c->peer_addr, (unsigned)c->peer_port, fr.reason ? fr.reason : "malformed");
  r->secure = c->secure_port || fr.https; /* a secure = on binding stays secure, whatever a proxy says */
  if (fr.from != IH_FWD_FROM_PEER) {
    snprintf(r->client_addr, sizeof r->client_addr, "%s", fr.client_text);
    r->client_port = fr.has_port ? fr.port : 0;
    uint16_t port = forwarded_port(&r->head);
    if (port)
      r->server_port = port;
  }
}

void conn_request_free(ih_conn *c)
{
  if (!c->req)
    return;
  free(c->req->own_text); /* a head filters rewrote */
  free(c->req);
  c->req = c->view = NULL;
}

bool conn_request_begin(ih_conn *c)
{
  ih_request *r = c->req;
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

unsigned conn_request_handler(const ih_request *r)
{
  if (r->answered_by_set)
    return r->answered_by;
  return r->is_extension ? IH_MH_EXTENSION : IH_MH_STATIC;
}

void conn_request_answered_by(ih_request *r, unsigned h)
{
  r->answered_by_set = true;
  r->answered_by = (uint8_t)(h < IH_MH_COUNT ? h : IH_MH_STATIC);
}

/* The metrics' one count of a request (server/metrics.h), where every
 * request ends, however it ended: in process, an extension's, or one a
 * worker ran (the service counts it here with the status and handler the
 * worker reported; the worker's own counts never leave the worker). */
static void count_request(ih_conn *c)
{
  const ih_request *r = c->req;
  const ih_config *cfg = c->gen->config;
  ih_metrics_site *slot = c->server->metrics.no_site;
  if (r->site && r->site >= cfg->sites && r->site < cfg->sites + cfg->site_count)
    slot = c->gen->metrics_sites[r->site - cfg->sites];
  uint64_t now = ih_clock_ms();
  ih_metrics_request m = {
    .method = ih_metrics_method_of(r->head.method),
    .status = r->status,
    .handler = (enum ih_metrics_handler)conn_request_handler(r),
    .duration_us = (now > r->started_ms ? now - r->started_ms : 0) * 1000u,
    .received_bytes = r->head.head_len + r->body_received, /* as the LOG filters are told */
    .sent_bytes = r->sent_bytes,
  };
  ih_metrics_count(slot, &m);
}

void conn_request_end(ih_conn *c)
{
  ih_request *r = c->req;
  if (!r)
    return; /* between requests: nothing to end */
  free(r->body_preread);
  r->body_preread = NULL;
  free(r->log_append);
  r->log_append = NULL;
  r->log_append_len = 0;
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
  count_request(c);
  ih_counter_down(&c->server->counters.requests_in_flight, "requests_in_flight");
  atomic_fetch_add(&c->server->counters.requests_total, 1);
  conn_unref_locked(c, IH_HOLD_REQUEST);
}

/* ---- the body ---- */

/* Removes consumed body bytes [from, from+n) keeping what follows. */
static void discard_input(ih_conn *c, size_t from, size_t n)
{
  memmove(c->in + from, c->in + from + n, c->in_len - from - n);
  c->in_len -= n;
}

int conn_body_skip(ih_conn *c)
{
  ih_request *r = c->req;
  size_t body_at = c->in_start + r->head.head_len;
  size_t avail = c->in_len - body_at;
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
    r->body_refused = st;
    return -1;
  }
  return st == IH_CHUNKED_DONE;
}

/* Moves up to cap decoded body bytes that are already buffered into dst
 * (Content-Length or chunked) and marks the body complete at its end. */
long conn_body_pull(ih_conn *c, char *dst, size_t cap)
{
  ih_request *r = c->req;
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
