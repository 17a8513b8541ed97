/* ISAPI filters, the portable half (see filter_chain.h). */
#include "filters/filter_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "server/conn.h"
#include "isapi/shared/isapi_request_info.h"
#include "isapi/shared/isapi_response.h"
#include "isapi/shared/isapi_vars.h"

#define OUT_MAX (16u << 20)       /* what filters may queue for one response */
#define HEADER_TEXT_MAX 65536u    /* AddResponseHeaders / ADD_HEADERS_ON_DENIAL per request */

struct ih_filter_alloc {
  ih_filter_alloc *next;
  size_t size;
  max_align_t data[]; /* what AllocMem hands out: aligned for anything */
};

/* The chains of one build (see ih_filter_table). */
struct ih_filter_generation {
  struct ih_filter_generation *older;
  ih_filter_chain global;
  ih_filter_chain *sites;
};
typedef struct ih_filter_generation generation;

/* ---- the table and its chains ---- */

/* A filter with no priority bit runs before the prioritised ones
 * (KB Q237471); one with several bits counts as its highest. */
static int priority_rank(uint32_t flags)
{
  if (flags & IH_SF_NOTIFY_ORDER_HIGH)
    return 1;
  if (flags & IH_SF_NOTIFY_ORDER_MEDIUM)
    return 2;
  if (flags & IH_SF_NOTIFY_ORDER_LOW)
    return 3;
  return 0;
}

static int compare_filters(const void *a, const void *b)
{
  const ih_filter *x = *(const ih_filter *const *)a, *y = *(const ih_filter *const *)b;
  int px = priority_rank(x->flags), py = priority_rank(y->flags);
  if (px != py)
    return px - py;
  bool gx = x->conf->site == NULL, gy = y->conf->site == NULL;
  if (gx != gy)
    return gx ? -1 : 1; /* at one priority, global filters first */
  return x->conf->order < y->conf->order ? -1 : x->conf->order > y->conf->order;
}

ih_filter_table *ih_filter_table_new(const ih_config *cfg)
{
  ih_filter_table *t = ih_calloc(1, sizeof *t);
  if (!t)
    return NULL;
  t->cfg = cfg;
  t->count = cfg->filter_count;
  t->site_count = cfg->site_count;
  atomic_init(&t->current, NULL);
  if (t->count) {
    t->filters = ih_calloc(t->count, sizeof *t->filters);
    if (!t->filters) {
      free(t);
      return NULL;
    }
    for (size_t i = 0; i < t->count; i++) {
      t->filters[i].conf = &cfg->filters[i];
      t->filters[i].slot = (unsigned)i;
      snprintf(t->filters[i].error, sizeof t->filters[i].error, "not loaded yet");
    }
  }
  return t;
}

static int build_chain(const ih_filter_table *t, const ih_site *site, ih_filter_chain *out)
{
  memset(out, 0, sizeof *out);
  if (!t->count)
    return 0;
  out->filters = ih_calloc(t->count, sizeof *out->filters);
  if (!out->filters)
    return -1;
  for (size_t i = 0; i < t->count; i++) {
    ih_filter *f = &t->filters[i];
    if (f->conf->site && f->conf->site != site)
      continue; /* another site's, or a site filter for the global chain */
    if (f->elsewhere)
      continue; /* its site's requests run in another process */
    if (!f->loaded) {
      if (!f->conf->skip_on_load_error && !out->blocked) {
        out->blocked = true; /* IIS 6: a site whose filter did not load answers 503 */
        out->blocked_by = f->conf->name;
      }
      continue;
    }
    out->filters[out->count++] = f;
    out->wanted |= f->flags & ~(IH_SF_NOTIFY_ORDER_MASK | IH_SF_NOTIFY_SECURE_PORT | IH_SF_NOTIFY_NONSECURE_PORT);
  }
  qsort(out->filters, out->count, sizeof *out->filters, compare_filters);
  return 0;
}

static void free_generation(generation *g, size_t site_count)
{
  free(g->global.filters);
  for (size_t i = 0; g->sites && i < site_count; i++)
    free(g->sites[i].filters);
  free(g->sites);
  free(g);
}

int ih_filter_table_build(ih_filter_table *t)
{
  generation *g = ih_calloc(1, sizeof *g);
  if (!g)
    return -1;
  g->sites = ih_calloc(t->site_count ? t->site_count : 1, sizeof *g->sites);
  if (!g->sites || build_chain(t, NULL, &g->global) != 0) {
    free_generation(g, t->site_count);
    return -1;
  }
  for (size_t i = 0; i < t->site_count; i++)
    if (build_chain(t, &t->cfg->sites[i], &g->sites[i]) != 0) {
      free_generation(g, t->site_count);
      return -1;
    }
  g->older = atomic_load(&t->current);
  atomic_store(&t->current, g); /* builds happen on one thread at a time (start, retry) */
  return 0;
}

void ih_filter_table_free(ih_filter_table *t)
{
  if (!t)
    return;
  generation *g = atomic_load(&t->current);
  while (g) {
    generation *older = g->older;
    free_generation(g, t->site_count);
    g = older;
  }
  free(t->filters);
  free(t);
}

const ih_filter_chain *ih_filter_chain_for(const ih_filter_table *t, const ih_site *site)
{
  if (!t)
    return NULL;
  generation *g = atomic_load(&((ih_filter_table *)t)->current);
  if (!g)
    return NULL;
  if (!site)
    return &g->global;
  size_t i = (size_t)(site - t->cfg->sites);
  return i < t->site_count ? &g->sites[i] : &g->global;
}

/* ---- per connection ---- */

ih_filter_conn *ih_filter_conn_new(const ih_filter_table *t)
{
  ih_filter_conn *fc = ih_calloc(1, sizeof *fc);
  if (!fc)
    return NULL;
  fc->table = t;
  fc->contexts = ih_calloc(t->count ? t->count : 1, sizeof *fc->contexts);
  fc->disabled = ih_calloc(t->count ? t->count : 1, sizeof *fc->disabled);
  if (!fc->contexts || !fc->disabled) {
    ih_filter_conn_free(fc);
    return NULL;
  }
  return fc;
}

void ih_filter_conn_request_done(ih_filter_conn *fc)
{
  if (!fc)
    return;
  memset(fc->disabled, 0, (fc->table->count ? fc->table->count : 1) * sizeof *fc->disabled);
  free(fc->add_headers);
  free(fc->denial_headers);
  free(fc->head_lines);
  fc->add_headers = fc->denial_headers = fc->head_lines = NULL;
  fc->add_headers_len = fc->denial_headers_len = fc->head_lines_len = 0;
  fc->out_len = 0;
  fc->head_pending = fc->head_sent_this_request = false;
  fc->next_read_size = 0;
  fc->user[0] = fc->password[0] = '\0';
  fc->authenticated_phase = fc->denied_notified = fc->head_from_filter = false;
}

void ih_filter_conn_free(ih_filter_conn *fc)
{
  if (!fc)
    return;
  ih_filter_alloc *a = fc->allocs;
  while (a) {
    ih_filter_alloc *next = a->next;
    free(a);
    a = next;
  }
  free(fc->add_headers);
  free(fc->denial_headers);
  free(fc->head_lines);
  free(fc->out);
  free(fc->contexts);
  free(fc->disabled);
  free(fc);
}

/* ---- notifying ---- */

enum ih_chain_result ih_filter_notify(ih_conn *c, ih_filter_conn *fc, const ih_filter_chain *chain, uint32_t type,
                                      void *payload)
{
  if (!fc || !chain || !(chain->wanted & type) || !c->server->platform->filter_call)
    return IH_CHAIN_CONTINUE;
  bool backwards = type == IH_SF_NOTIFY_SEND_RAW_DATA; /* closest to the wire last (IIS 4 "Event Ordering") */
  /* The request's view once there is one (a trusted X-Forwarded-Proto can
   * make it secure), else the connection's port. */
  bool secure = c->req ? c->req->secure : c->secure_port;
  for (size_t k = 0; k < chain->count; k++) {
    const ih_filter *f = chain->filters[backwards ? chain->count - 1 - k : k];
    if (!(f->flags & type) || (fc->disabled[f->slot] & type))
      continue;
    /* A filter that named neither kind of port wants both (ms524610). */
    uint32_t ports = f->flags & (IH_SF_NOTIFY_SECURE_PORT | IH_SF_NOTIFY_NONSECURE_PORT);
    if (ports && !(ports & (secure ? IH_SF_NOTIFY_SECURE_PORT : IH_SF_NOTIFY_NONSECURE_PORT)))
      continue;
    fc->in_notification = true;
    uint32_t st = c->server->platform->filter_call(c, fc, f, type, payload);
    fc->in_notification = false;
    switch (st) {
    case IH_SF_STATUS_REQ_NEXT_NOTIFICATION:
      break;
    case IH_SF_STATUS_REQ_HANDLED_NOTIFICATION:
      return IH_CHAIN_CONTINUE; /* no later filter sees this notification */
    case IH_SF_STATUS_REQ_FINISHED:
      return IH_CHAIN_FINISHED;
    case IH_SF_STATUS_REQ_FINISHED_KEEP_CONN:
      return IH_CHAIN_FINISHED_KEEP;
    case IH_SF_STATUS_REQ_ERROR:
      return IH_CHAIN_ERROR;
    case IH_SF_STATUS_REQ_READ_NEXT:
      if (type == IH_SF_NOTIFY_READ_RAW_DATA)
        return IH_CHAIN_READ_NEXT;
      break; /* only meaningful for a raw read (ms525498): the chain goes on */
    case IH_SF_STATUS_FAULTED:
      return IH_CHAIN_FAULT;
    default:
      break; /* an unknown value (the platform logs it): as NEXT_NOTIFICATION */
    }
  }
  return IH_CHAIN_CONTINUE;
}

/* ---- callbacks ---- */

static int append(char **buf, size_t *len, size_t *cap, const void *data, size_t n, size_t max)
{
  if (n > max - *len)
    return -1;
  if (*len + n > *cap) {
    size_t want = *cap ? *cap : 1024;
    while (want < *len + n)
      want *= 2;
    char *p = ih_realloc(*buf, want);
    if (!p)
      return -1;
    *buf = p;
    *cap = want;
  }
  if (n)
    memcpy(*buf + *len, data, n);
  *len += n;
  return 0;
}

int ih_filter_cb_write(ih_filter_conn *fc, const void *data, size_t len)
{
  return append(&fc->out, &fc->out_len, &fc->out_cap, data, len, OUT_MAX);
}

/* Header lines as a filter passes them, normalised ("Name: value\r\n");
 * -1 when any line is malformed (nothing is kept then). */
static int add_lines(char **buf, size_t *len, const char *text)
{
  size_t n = strlen(text);
  size_t cap = IH_ISAPI_HEADERS_OUT_MAX(n);
  char *norm = ih_malloc(cap);
  ih_isapi_header_info hi;
  if (!norm)
    return -1;
  bool ok = ih_isapi_parse_headers(text, n, norm, cap, &hi) && hi.lines_dropped == 0 && !hi.has_body;
  size_t buf_cap = *len;
  if (ok)
    ok = append(buf, len, &buf_cap, norm, hi.out_len, HEADER_TEXT_MAX) == 0;
  free(norm);
  return ok ? 0 : -1;
}

int ih_filter_cb_add_response_headers(ih_filter_conn *fc, const char *text)
{
  return add_lines(&fc->add_headers, &fc->add_headers_len, text);
}

int ih_filter_cb_add_headers_on_denial(ih_filter_conn *fc, const char *text)
{
  return add_lines(&fc->denial_headers, &fc->denial_headers_len, text);
}

void *ih_filter_cb_alloc(ih_filter_conn *fc, size_t size)
{
  if (size > IH_FILTER_ALLOC_MAX - fc->alloc_bytes)
    return NULL;
  ih_filter_alloc *a = ih_calloc(1, sizeof *a + (size ? size : 1));
  if (!a)
    return NULL;
  a->size = size;
  a->next = fc->allocs;
  fc->allocs = a;
  fc->alloc_bytes += size;
  return a->data;
}

int ih_filter_cb_send_response_header(ih_conn *c, ih_filter_conn *fc, const char *status, const char *headers)
{
  (void)c;
  if (fc->head_sent_this_request)
    return -1; /* once per request (ms525219) */
  char reason[sizeof fc->head_reason];
  int code = status ? ih_isapi_parse_status(status, strlen(status), reason, sizeof reason) : 200;
  if (!status)
    snprintf(reason, sizeof reason, "OK");
  if (code < 100 || code > 999)
    return -1;
  size_t n = headers ? strlen(headers) : 0;
  size_t cap = IH_ISAPI_HEADERS_OUT_MAX(n);
  char *norm = ih_malloc(cap);
  ih_isapi_header_info hi;
  if (!norm || !ih_isapi_parse_headers(headers ? headers : "", n, norm, cap, &hi)) {
    free(norm);
    return -1;
  }
  /* text after the empty line is the start of the body */
  if (hi.body.n && ih_filter_cb_write(fc, hi.body.p, hi.body.n) != 0) {
    free(norm);
    return -1;
  }
  free(fc->head_lines);
  fc->head_lines = norm;
  fc->head_lines_len = hi.out_len;
  fc->head_status = code;
  snprintf(fc->head_reason, sizeof fc->head_reason, "%s", reason);
  fc->head_close = hi.conn_close;
  fc->head_chunked = hi.transfer_encoding && hi.chunked;
  fc->head_length = !hi.transfer_encoding && hi.content_length_valid ? hi.content_length : UINT64_MAX;
  fc->head_pending = fc->head_sent_this_request = true;
  return 0;
}

void ih_filter_cb_set_next_read_size(ih_filter_conn *fc, uint32_t size) { fc->next_read_size = size; }

void ih_filter_cb_disable(ih_filter_conn *fc, const ih_filter *f, uint32_t types) { fc->disabled[f->slot] |= types; }

uint32_t ih_filter_cb_instance_id(ih_conn *c) { return c->req && c->req->site ? c->req->site->id : 0; }

/* Variables a filter may ask for before the request head is known: the
 * connection's own. */
static bool connection_variable(const char *name)
{
  static const char *const known[] = { "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_PORT", "LOCAL_ADDR", "SERVER_PORT",
                                       "SERVER_PORT_SECURE", "HTTPS", "SERVER_SOFTWARE", "GATEWAY_INTERFACE" };
  if (strncmp(name, "UNICODE_", 8) == 0)
    name += 8;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (ih_slice_ieq_cstr(ih_slice_from_cstr(name), known[i]))
      return true;
  return false;
}

/* Variables that name the authenticated user: not known before the
 * AUTHENTICATION notification (KB 892988: IIS 6 crashed answering
 * AUTH_TYPE there). */
static bool identity_variable(const char *name)
{
  static const char *const known[] = { "AUTH_TYPE", "AUTH_USER", "AUTH_PASSWORD", "REMOTE_USER", "LOGON_USER",
                                       "UNMAPPED_REMOTE_USER" };
  if (strncmp(name, "UNICODE_", 8) == 0)
    name += 8;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (ih_slice_ieq_cstr(ih_slice_from_cstr(name), known[i]))
      return true;
  return false;
}

int ih_filter_cb_server_variable(ih_conn *c, const char *name, void *buf, uint32_t *size)
{
  ih_filter_conn *fc = c->filters;
  /* an unknown name stays unknown whatever the phase; a header the head
   * turns out not to carry is INVALID_INDEX from ih_isapi_get_var below */
  if (!ih_isapi_var_name_known(name))
    return IH_VAR_INVALID_INDEX;
  /* Between requests (READ_RAW_DATA of the next one, END_OF_NET_SESSION)
   * the connection has no request: only its own variables are known. */
  static const ih_request no_request;
  const ih_request *r = c->req ? c->req : &no_request;
  bool head_known = r->active && r->head.method.n > 0;
  if (!head_known && !connection_variable(name))
    return IH_VAR_NO_DATA;
  if (identity_variable(name) && !(fc && fc->authenticated_phase))
    return IH_VAR_NO_DATA;
  ih_isapi_request_info ri;
  ih_isapi_info_from_request(&ri, c, r, fc ? fc->user : NULL, fc ? fc->password : NULL);
  return ih_isapi_get_var(&ri, name, buf, size);
}
