/* ISAPI filter notifications at the pipeline's points (see
 * conn_filters.h): the connection turns its state into a notification's
 * payload, runs the chain (filters/filter_chain.c) and takes back what the
 * filters changed. Every function here runs with the connection's lock
 * held; none does I/O, closes the connection or decides keep-alive: what
 * filters write is queued and sent by the pipeline afterwards, and what
 * they answered is returned to the caller, which acts on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "core/ih_base64.h"
#include "filters/filter_chain.h"
#include "server/conn_filters.h"
#include "http/header_lines.h"
#include "http/http_status.h"
#include "server/response.h"

/* The chain for the connection's current request (the global one before
 * its site is known). */
static const ih_filter_chain *chain_of(ih_conn *c)
{
  return ih_filter_chain_for(c->gen->filters, c->req ? c->req->site : NULL);
}

bool conn_filters_want(ih_conn *c, uint32_t type)
{
  return c->filters && ih_filter_wants(chain_of(c), type);
}

bool conn_filter_sends_through(ih_conn *c)
{
  return c->filters && (c->filters->out_len || ih_filter_wants(chain_of(c), IH_SF_NOTIFY_SEND_RAW_DATA));
}

static enum ih_chain_result notify(ih_conn *c, uint32_t type, void *payload)
{
  return ih_filter_notify(c, c->filters, chain_of(c), type, payload);
}

/* ---- READ_RAW_DATA ---- */

enum ih_chain_result conn_filter_raw_read(ih_conn *c, size_t from, size_t *n)
{
  if (!c->filters || !ih_filter_wants(ih_filter_chain_for(c->gen->filters, NULL), IH_SF_NOTIFY_READ_RAW_DATA))
    return IH_CHAIN_CONTINUE;
  ih_fn_raw raw = { c->in + from, *n, c->in_cap - from };
  enum ih_chain_result r = ih_filter_notify(c, c->filters, ih_filter_chain_for(c->gen->filters, NULL),
                                            IH_SF_NOTIFY_READ_RAW_DATA, &raw);
  if (r == IH_CHAIN_READ_NEXT) {
    *n = 0; /* the filter keeps what it read, and wants more (ms525498) */
    c->in_len = from;
    return r;
  }
  /* What the filter left is the input: in place, or copied from a buffer
   * of its own (which must fit: the input buffer does not grow under
   * parsed slices). */
  if (raw.len > c->in_cap - from)
    return IH_CHAIN_ERROR;
  if (raw.data != c->in + from)
    memmove(c->in + from, raw.data, raw.len);
  *n = raw.len;
  c->in_len = from + raw.len;
  return r;
}

size_t conn_filter_read_size(ih_conn *c, size_t cap)
{
  uint32_t want = c->filters ? c->filters->next_read_size : 0;
  return want && want < cap ? want : cap;
}

/* ---- the request's headers: PREPROC_HEADERS, AUTH_COMPLETE ---- */

/* The request head again from what filters made of it: parsed like one
 * from the wire, so the rest of the pipeline and the extension (HTTP_*
 * variables) see the filters' headers. The body's framing stays what the
 * client sent, and so do the bytes the head took on the wire. */
static int rebuild_head(ih_conn *c, const ih_hdr_block *b)
{
  ih_request *r = c->req;
  /* HTTP/0.9 has a method and a url, nothing else a filter can change */
  size_t len = b->http09 ? strlen(b->method) + strlen(b->url) + 3 : ih_hdr_serialize(b, NULL, 0);
  char *text = ih_malloc(len + 1);
  if (!text)
    return -1;
  if (b->http09)
    snprintf(text, len + 1, "%s %s\r\n", b->method, b->url);
  else
    ih_hdr_serialize(b, text, len);
  text[len] = '\0';
  /* The block's limits, not the client's: a filter may grow the head up to
   * IH_HDR_BYTES_MAX of names and values (plus ": " and CRLF per field). */
  ih_http_limits lim = c->gen->limits;
  lim.max_header_bytes = IH_HDR_BYTES_MAX + 4 * IH_HTTP_MAX_HEADERS + 4;
  lim.max_header_line = IH_HDR_BYTES_MAX + 4;
  lim.max_headers = IH_HTTP_MAX_HEADERS;
  lim.max_request_line = IH_HDR_BYTES_MAX + 64;
  ih_http_request_head head;
  if (ih_http_parse_request(text, len, 0, &lim, &head) != IH_PARSE_DONE) {
    free(text);
    return -1;
  }
  head.head_len = r->head.head_len; /* the bytes the head took on the wire */
  free(r->own_text);
  r->own_text = text;
  r->head = head;
  /* A new url or Host: route.c works out the canonical path (and the query,
   * which pointed into the old text) and the site again. */
  r->path_known = false;
  r->site = NULL;
  r->head_only = ih_slice_eq(r->head.method, IH_SLICE_LIT("HEAD"));
  /* A new Host may mean another site; one the parser would refuse from a
   * client is the filter's error. */
  ih_http_framing host;
  if (ih_http_request_host(&r->head, &host) != IH_FRAMING_OK)
    return -1;
  r->framing.host = host.host;
  r->framing.host_name = host.host_name;
  return 0;
}

static enum ih_chain_result request_headers(ih_conn *c, uint32_t type, bool *url_changed)
{
  *url_changed = false;
  if (!conn_filters_want(c, type))
    return IH_CHAIN_CONTINUE;
  ih_hdr_block b;
  if (ih_hdr_load_request(&b, &c->req->head) != IH_HDR_OK)
    return IH_CHAIN_ERROR;
  char *url_before = ih_strdup(b.url);
  ih_fn_headers payload = { &b, 0 };
  enum ih_chain_result r = notify(c, type, &payload);
  if (b.changed && r != IH_CHAIN_FAULT) {
    *url_changed = url_before && strcmp(url_before, b.url) != 0;
    if (rebuild_head(c, &b) != 0)
      r = IH_CHAIN_ERROR;
  }
  free(url_before);
  ih_hdr_free(&b);
  return r;
}

enum ih_chain_result conn_filter_preproc(ih_conn *c, bool *url_changed)
{
  return request_headers(c, IH_SF_NOTIFY_PREPROC_HEADERS, url_changed);
}

/* ---- AUTHENTICATION, AUTH_COMPLETE ---- */

/* "Basic <base64 of user:password>" (RFC 7617), decoded into the filter
 * state; anything else leaves the request anonymous. */
static void basic_credentials(ih_conn *c, ih_filter_conn *fc)
{
  const ih_http_header *h = ih_http_find_header(&c->req->head, "Authorization");
  fc->user[0] = fc->password[0] = '\0';
  if (!h || h->value.n < 6 || !ih_slice_ieq((ih_slice){ h->value.p, 6 }, IH_SLICE_LIT("Basic ")))
    return;
  char decoded[IH_SF_MAX_USERNAME + IH_SF_MAX_PASSWORD];
  size_t len;
  if (!ih_base64_decode(ih_slice_trim_ows((ih_slice){ h->value.p + 6, h->value.n - 6 }), decoded, sizeof decoded,
                        &len))
    return;
  char *colon = memchr(decoded, ':', len);
  if (!colon)
    return;
  size_t ul = (size_t)(colon - decoded), pl = len - ul - 1;
  if (ul >= sizeof fc->user || pl >= sizeof fc->password)
    return;
  memcpy(fc->user, decoded, ul);
  fc->user[ul] = '\0';
  memcpy(fc->password, colon + 1, pl);
  fc->password[pl] = '\0';
}

enum ih_chain_result conn_filter_authenticate(ih_conn *c, bool *url_changed)
{
  *url_changed = false;
  ih_filter_conn *fc = c->filters;
  if (!fc)
    return IH_CHAIN_CONTINUE;
  enum ih_chain_result r = IH_CHAIN_CONTINUE;
  fc->user[0] = fc->password[0] = '\0';
  /* No Windows logon here: the identity is what AUTHENTICATION filters
   * leave, and without one the request stays anonymous. */
  if (conn_filters_want(c, IH_SF_NOTIFY_AUTHENTICATION)) {
    basic_credentials(c, fc);
    /* writable buffers of SF_MAX_USERNAME / SF_MAX_PASSWORD (ms525382) */
    ih_fn_auth auth = { fc->user, sizeof fc->user, fc->password, sizeof fc->password };
    r = notify(c, IH_SF_NOTIFY_AUTHENTICATION, &auth);
    fc->user[sizeof fc->user - 1] = fc->password[sizeof fc->password - 1] = '\0';
  }
  fc->authenticated_phase = true;
  if (r == IH_CHAIN_CONTINUE)
    r = request_headers(c, IH_SF_NOTIFY_AUTH_COMPLETE, url_changed);
  return r;
}

/* ---- URL_MAP ---- */

enum ih_chain_result conn_filter_url_map(ih_conn *c, const char *url, char *physical, size_t cap)
{
  if (!conn_filters_want(c, IH_SF_NOTIFY_URL_MAP))
    return IH_CHAIN_CONTINUE;
  ih_fn_url_map map = { url, physical, cap };
  enum ih_chain_result r = notify(c, IH_SF_NOTIFY_URL_MAP, &map);
  physical[cap - 1] = '\0'; /* edited in place, within cbPathBuff (ms525116) */
  return r;
}

/* ---- ACCESS_DENIED, SEND_RESPONSE ---- */

/* Why a 401 or 403 is being sent, as SF_DENIED_* (ms525878). */
static uint32_t denial_reason(ih_conn *c, int status)
{
  if (c->filters->head_from_filter)
    return IH_SF_DENIED_FILTER;
  if (c->state == IH_CONN_EXT_RUNNING) /* a head the extension sends while it runs */
    return IH_SF_DENIED_APPLICATION;
  return status == 401 ? IH_SF_DENIED_LOGON : IH_SF_DENIED_RESOURCE | IH_SF_DENIED_BY_CONFIG;
}

/* ACCESS_DENIED before a 401 or 403, once per request. A filter that
 * finishes the request here with a response of its own replaces ours
 * (*replaced); one that finishes it without one leaves ours, and the
 * connection closes after it. */
static enum ih_chain_result access_denied(ih_conn *c, int status, bool *replaced)
{
  ih_filter_conn *fc = c->filters;
  if ((status != 401 && status != 403) || fc->denied_notified || !conn_filters_want(c, IH_SF_NOTIFY_ACCESS_DENIED))
    return IH_CHAIN_CONTINUE;
  fc->denied_notified = true;
  const char *physical = c->req->is_extension ? c->req->ext.script_physical
                         : c->req->filter_physical ? c->req->filter_physical
                                                  : "";
  ih_fn_denied d = { c->req->path, physical, denial_reason(c, status) };
  enum ih_chain_result r = notify(c, IH_SF_NOTIFY_ACCESS_DENIED, &d);
  if (r != IH_CHAIN_FINISHED && r != IH_CHAIN_FINISHED_KEEP)
    return r;
  if (replaced && conn_filter_take_response(c, r == IH_CHAIN_FINISHED_KEEP)) {
    *replaced = true;
    return IH_CHAIN_CONTINUE; /* its head goes through SEND_RESPONSE like ours */
  }
  c->req->close_wanted = true;
  return IH_CHAIN_CONTINUE;
}

/* The lines of an AddResponseHeaders or ADD_HEADERS_ON_DENIAL text into
 * the response block; true when any was added. */
static bool add_header_lines(ih_hdr_block *b, const char *p, size_t len)
{
  bool changed = false;
  ih_header_lines it = ih_header_lines_of(p, len);
  ih_header_line line;
  while (ih_header_lines_next(&it, &line)) {
    char name[256], value[8192];
    size_t nl = line.name.n + 1; /* the colon too: the header objects' "Name:" form */
    if (!line.has_colon || nl >= sizeof name || line.value.n >= sizeof value)
      continue;
    memcpy(name, line.name.p, nl);
    name[nl] = '\0';
    memcpy(value, line.value.p, line.value.n);
    value[line.value.n] = '\0';
    /* Server and Date have one value each (RFC 9110 10.2.4, 6.6.1): the
     * filter's replaces ours rather than following it. */
    bool single = ih_slice_ieq_cstr(line.name, "Server") || ih_slice_ieq_cstr(line.name, "Date");
    changed |= (single ? ih_hdr_set(b, name, value) : ih_hdr_add(b, name, value)) == IH_HDR_OK;
  }
  return changed;
}

enum ih_chain_result conn_filter_send_response(ih_conn *c, int status, bool *replaced)
{
  ih_filter_conn *fc = c->filters;
  if (replaced)
    *replaced = false;
  if (!fc)
    return IH_CHAIN_CONTINUE;
  enum ih_chain_result r = access_denied(c, status, replaced);
  if (r != IH_CHAIN_CONTINUE)
    return r;
  status = c->req->status; /* a filter's response may have taken the place of ours */
  bool http09 = c->req->head.version == IH_HTTP_09;
  bool denied = status == 401 || status == 403;
  bool want = conn_filters_want(c, IH_SF_NOTIFY_SEND_RESPONSE);
  if (!fc->add_headers_len && !(denied && fc->denial_headers_len) && !want)
    return IH_CHAIN_CONTINUE;
  /* A valid object for every response, 0.9's (empty) included: KB Q323064. */
  ih_hdr_block b;
  if (ih_hdr_load_response(&b, c->out, c->out_head_len, http09) != IH_HDR_OK)
    return IH_CHAIN_ERROR;
  b.status = status;
  /* AddResponseHeaders lines go into the next head (ms524503); headers
   * asked for on denial into a 401 or 403 (ms524985). */
  bool changed = add_header_lines(&b, fc->add_headers, fc->add_headers_len);
  if (denied)
    changed |= add_header_lines(&b, fc->denial_headers, fc->denial_headers_len);
  free(fc->add_headers);
  fc->add_headers = NULL;
  fc->add_headers_len = 0;
  if (want) {
    ih_fn_headers payload = { &b, (uint32_t)status };
    r = notify(c, IH_SF_NOTIFY_SEND_RESPONSE, &payload);
  }
  if (r != IH_CHAIN_FAULT && (changed || b.changed)) {
    c->req->status = b.status; /* 0.9 too: the log keeps the status though nothing reaches the wire */
    if (!http09) {
      size_t len = ih_hdr_serialize(&b, NULL, 0);
      char *head = ih_malloc(len);
      if (!head || !ih_response_replace_head(c, head, ih_hdr_serialize(&b, head, len)))
        r = IH_CHAIN_ERROR;
      free(head);
    }
  }
  ih_hdr_free(&b);
  return r;
}

/* ---- SEND_RAW_DATA ---- */

enum ih_chain_result conn_filter_raw_send(ih_conn *c, const char *data, size_t len, const char **out, size_t *out_len)
{
  *out = data;
  *out_len = len;
  ih_filter_conn *fc = c->filters;
  if (!conn_filter_sends_through(c))
    return IH_CHAIN_CONTINUE;
  /* A copy of our own the filters may edit in place; what filters wrote
   * meanwhile (WriteClient) goes in front of it. */
  size_t queued = fc ? fc->out_len : 0;
  if (c->filter_send_cap < queued + len + 1) {
    char *p = ih_realloc(c->filter_send, queued + len + 1);
    if (!p)
      return IH_CHAIN_ERROR;
    c->filter_send = p;
    c->filter_send_cap = queued + len + 1;
  }
  if (queued)
    memcpy(c->filter_send, fc->out, queued);
  memcpy(c->filter_send + queued, data, len);
  fc->out_len = 0;
  ih_fn_raw raw = { c->filter_send + queued, len, c->filter_send_cap - queued };
  enum ih_chain_result r = notify(c, IH_SF_NOTIFY_SEND_RAW_DATA, &raw);
  if (r == IH_CHAIN_FAULT || r == IH_CHAIN_ERROR)
    return r;
  size_t total = queued + raw.len + fc->out_len;
  if (raw.data != c->filter_send + queued || total + 1 > c->filter_send_cap) {
    /* replaced by a buffer of the filter's own (or grown): assemble anew */
    char *p = ih_malloc(total + 1);
    if (!p)
      return IH_CHAIN_ERROR;
    memcpy(p, c->filter_send, queued);
    if (raw.len)
      memcpy(p + queued, raw.data, raw.len);
    if (fc->out_len)
      memcpy(p + queued + raw.len, fc->out, fc->out_len);
    free(c->filter_send);
    c->filter_send = p;
    c->filter_send_cap = total + 1;
  } else if (fc->out_len) {
    memcpy(c->filter_send + queued + raw.len, fc->out, fc->out_len);
  }
  fc->out_len = 0;
  *out = c->filter_send;
  *out_len = total;
  return r;
}

/* ---- a response a filter made ---- */

bool conn_filter_take_response(ih_conn *c, bool finished_keep)
{
  ih_filter_conn *fc = c->filters;
  if (!fc || (!fc->head_pending && !fc->out_len))
    return false;
  ih_request *r = c->req;
  c->out_len = c->out_head_len = 0;
  bool bodiless = r->head_only;
  if (fc->head_pending) {
    bodiless = ih_http_response_has_no_body(fc->head_status, r->head_only);
    bool delimited = !fc->head_close && (bodiless || (fc->head_length != UINT64_MAX && fc->head_length == fc->out_len) ||
                                         (fc->head_chunked && r->head.version == IH_HTTP_11));
    /* FINISHED closes; FINISHED_KEEP_CONN keeps the connection when the
     * response allows it (MFC docs, aa294768). */
    if (!finished_keep)
      r->close_wanted = true;
    ih_response_ext_head(c, fc->head_status, fc->head_reason, fc->head_lines, fc->head_lines_len, delimited);
    fc->head_pending = false;
    fc->head_from_filter = true; /* SEND_RESPONSE sees it next, as it sees ours */
  } else {
    /* only raw bytes: the filter wrote its own response, whose end we
     * cannot know, and which has no head for SEND_RESPONSE */
    r->close_wanted = true;
    ih_response_headless(c, 200);
  }
  if (fc->out_len && !bodiless && !ih_response_try_append(c, fc->out, fc->out_len))
    c->out_incomplete = true; /* never sent short: ih_response_finish answers 500 */
  fc->out_len = 0;
  return true;
}

/* ---- LOG, END_OF_REQUEST, END_OF_NET_SESSION ---- */

void conn_filter_log(ih_conn *c, ih_fn_log *log)
{
  if (conn_filters_want(c, IH_SF_NOTIFY_LOG))
    notify(c, IH_SF_NOTIFY_LOG, log);
}

void conn_filter_end_of_request(ih_conn *c)
{
  if (!c->filters)
    return;
  if (conn_filters_want(c, IH_SF_NOTIFY_END_OF_REQUEST))
    notify(c, IH_SF_NOTIFY_END_OF_REQUEST, NULL);
  c->filter_site = c->req->site ? c->req->site : c->filter_site;
  ih_filter_conn_request_done(c->filters);
}

void conn_filter_end_of_session(ih_conn *c)
{
  ih_filter_conn *fc = c->filters;
  if (!fc || fc->end_of_session_sent)
    return;
  fc->end_of_session_sent = true;
  const ih_filter_chain *chain = ih_filter_chain_for(c->gen->filters, c->filter_site);
  ih_filter_notify(c, fc, chain, IH_SF_NOTIFY_END_OF_NET_SESSION, NULL);
}
