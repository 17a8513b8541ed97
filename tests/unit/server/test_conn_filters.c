/* ISAPI filter notifications in the connection pipeline (conn_filters.c and
 * the filter points of conn.c and respond.c), on the fake platform: each
 * notification at its IIS 6 point and with a whole structure, for every
 * protocol version and error path (KB Q323064), what filters change taking
 * effect, each SF_STATUS_* answer, and END_OF_NET_SESSION exactly once per
 * connection however it ends. Every scenario ends with every count back at
 * zero (expect_all_released). The "filters" are C functions behind a fake
 * platform->filter_call; the Win32 half that calls real DLLs is tested
 * under Wine (tests/integration). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_fake.h"
#include "filters/filter_chain.h"
#include "isapi/shared/isapi_vars.h"
#include "ih_test.h"

/* ---- fake filters ---- */

/* [filter A] global, [filter B] site Test, [filter C] global (both
 * on_load_error = skip), [filter D] site Test (fail), loaded but silent
 * unless a test leaves it out. */
#define FILTERS 4

typedef uint32_t (*filter_fn)(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload);

static filter_fn behaviour[FILTERS];
static char trace[4096]; /* "A:PRE B:PRE ..." in call order */
static int session_ends[FILTERS];
static ih_filter_table *table;

static const char *type_name(uint32_t type)
{
  switch (type) {
  case IH_SF_NOTIFY_READ_RAW_DATA: return "RAW";
  case IH_SF_NOTIFY_PREPROC_HEADERS: return "PRE";
  case IH_SF_NOTIFY_URL_MAP: return "MAP";
  case IH_SF_NOTIFY_AUTHENTICATION: return "AUTH";
  case IH_SF_NOTIFY_AUTH_COMPLETE: return "DONE";
  case IH_SF_NOTIFY_ACCESS_DENIED: return "DENIED";
  case IH_SF_NOTIFY_SEND_RESPONSE: return "RESP";
  case IH_SF_NOTIFY_SEND_RAW_DATA: return "SEND";
  case IH_SF_NOTIFY_LOG: return "LOG";
  case IH_SF_NOTIFY_END_OF_REQUEST: return "END";
  case IH_SF_NOTIFY_END_OF_NET_SESSION: return "EONS";
  }
  return "?";
}

/* What every notification must get: a whole structure (KB Q323064). */
static bool payload_whole(uint32_t type, void *payload)
{
  switch (type) {
  case IH_SF_NOTIFY_READ_RAW_DATA:
  case IH_SF_NOTIFY_SEND_RAW_DATA: {
    ih_fn_raw *r = payload;
    return r && r->data && r->len <= r->cap;
  }
  case IH_SF_NOTIFY_PREPROC_HEADERS:
  case IH_SF_NOTIFY_AUTH_COMPLETE:
  case IH_SF_NOTIFY_SEND_RESPONSE: {
    ih_fn_headers *h = payload;
    return h && h->block && (h->block->response == (type == IH_SF_NOTIFY_SEND_RESPONSE));
  }
  case IH_SF_NOTIFY_URL_MAP: {
    ih_fn_url_map *m = payload;
    return m && m->url && m->physical && m->cap >= 260;
  }
  case IH_SF_NOTIFY_AUTHENTICATION: {
    ih_fn_auth *a = payload;
    return a && a->user && a->password && a->user_cap >= IH_SF_MAX_USERNAME &&
           a->password_cap >= IH_SF_MAX_PASSWORD;
  }
  case IH_SF_NOTIFY_ACCESS_DENIED: {
    ih_fn_denied *d = payload;
    return d && d->url && d->physical && d->reason;
  }
  case IH_SF_NOTIFY_LOG: {
    ih_fn_log *l = payload;
    return l && l->client_host && l->client_user && l->server_name && l->operation && l->target && l->parameters;
  }
  default:
    return payload == NULL;
  }
}

static uint32_t f_filter_call(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  size_t n = strlen(trace);
  snprintf(trace + n, sizeof trace - n, "%s%c:%s", n ? " " : "", "ABCD"[f->slot], type_name(type));
  if (!IH_CHECK(payload_whole(type, payload)))
    ih_test_note("%s for %c", type_name(type), "ABCD"[f->slot]);
  IH_CHECK(fc == c->filters && fc->in_notification);
  if (type == IH_SF_NOTIFY_END_OF_NET_SESSION)
    session_ends[f->slot]++;
  return behaviour[f->slot] ? behaviour[f->slot](c, fc, f, type, payload) : IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

#define ALL_NOTIFICATIONS                                                                                       \
  (IH_SF_NOTIFY_READ_RAW_DATA | IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_URL_MAP |                          \
   IH_SF_NOTIFY_AUTHENTICATION | IH_SF_NOTIFY_AUTH_COMPLETE | IH_SF_NOTIFY_ACCESS_DENIED |                     \
   IH_SF_NOTIFY_SEND_RESPONSE | IH_SF_NOTIFY_SEND_RAW_DATA | IH_SF_NOTIFY_LOG | IH_SF_NOTIFY_END_OF_REQUEST | \
   IH_SF_NOTIFY_END_OF_NET_SESSION)

/* Which filters are loaded and what they registered for (GetFilterVersion's
 * dwFlags); 0 leaves a filter unloaded. */
static bool d_loaded = true;
static void filters_are(uint32_t a, uint32_t b, uint32_t c_flags)
{
  uint32_t flags[FILTERS] = { a, b, c_flags, IH_SF_NOTIFY_ORDER_LOW };
  for (int i = 0; i < FILTERS; i++) {
    table->filters[i].flags = flags[i];
    table->filters[i].loaded = i == 3 ? d_loaded : flags[i] != 0;
    behaviour[i] = NULL;
    session_ends[i] = 0;
  }
  IH_EQ_INT(ih_filter_table_build(table), 0);
  trace[0] = '\0';
}

static bool trace_has(const char *s) { return strstr(trace, s) != NULL; }

/* One request and its whole response on a fresh connection; the client then
 * closes (keep-alive) or the server did. */
static ih_conn *request(const char *text)
{
  ih_conn *c = connect_client();
  client_sends(c, text);
  for (int i = 0; i < 64 && (fake.op == OP_SEND || fake.op == OP_SEND_FILE); i++)
    send_completes(c);
  return c;
}

static void finish(ih_conn *c)
{
  if (fake.op == OP_RECV && !fake.shutdown_sent)
    client_closes(c);
  else if (fake.op == OP_RECV)
    client_closes(c); /* lingering: the client's FIN ends it */
  expect_all_released(c);
}


/* ---- behaviours ---- */

static uint32_t rewrite_url(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)fc, (void)f;
  if (type == IH_SF_NOTIFY_PREPROC_HEADERS) {
    ih_fn_headers *h = payload;
    IH_EQ_INT(ih_hdr_set(h->block, "url", "/b.txt"), IH_HDR_OK);
    IH_EQ_INT(ih_hdr_add(h->block, "X-Added:", "yes"), IH_HDR_OK);
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static uint32_t response_headers(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)f;
  if (type == IH_SF_NOTIFY_PREPROC_HEADERS)
    IH_EQ_INT(ih_filter_cb_add_response_headers(fc, "X-Early: 1\r\n"), 0);
  if (type == IH_SF_NOTIFY_SEND_RESPONSE) {
    ih_fn_headers *h = payload;
    char buf[64];
    uint32_t size = sizeof buf;
    IH_EQ_INT(h->http_status, 200);
    IH_EQ_INT(ih_hdr_get(h->block, "status", buf, &size), IH_HDR_OK);
    IH_EQ_STR(buf, "200 OK");
    size = sizeof buf;
    IH_EQ_INT(ih_hdr_get(h->block, "X-Early:", buf, &size), IH_HDR_OK); /* AddResponseHeaders are in by now */
    IH_EQ_INT(ih_hdr_set(h->block, "X-Filter:", "on"), IH_HDR_OK);
    IH_EQ_INT(ih_hdr_set(h->block, "Server:", ""), IH_HDR_OK); /* "" deletes */
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

/* Q323064: every header call on an HTTP/0.9 response object. */
static int http09_checks;
static uint32_t header_calls_09(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)fc, (void)f;
  if (type != IH_SF_NOTIFY_SEND_RESPONSE)
    return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
  ih_fn_headers *h = payload;
  char buf[64];
  uint32_t size = sizeof buf;
  if (h->block->http09) {
    http09_checks++;
    IH_EQ_INT(ih_hdr_get(h->block, "Content-Length:", buf, &size), IH_HDR_INVALID_INDEX);
    size = sizeof buf;
    IH_EQ_INT(ih_hdr_get(h->block, "status", buf, &size), IH_HDR_OK);
  }
  IH_EQ_INT(ih_hdr_set(h->block, "X-Set:", "1"), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_add(h->block, "X-Add:", "2"), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_get(h->block, NULL, buf, &size), IH_HDR_INVALID_PARAMETER);
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static uint32_t upper_case_out(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)fc, (void)f;
  if (type == IH_SF_NOTIFY_SEND_RAW_DATA) {
    ih_fn_raw *r = payload;
    char *p = r->data;
    for (size_t i = 0; i < r->len; i++)
      if (p[i] >= 'a' && p[i] <= 'z')
        p[i] = (char)(p[i] - 32);
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

/* Replaces the outgoing buffer with one of its own (AllocMem) that wraps
 * the bytes in brackets. */
static uint32_t bracket_out(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)f;
  if (type == IH_SF_NOTIFY_SEND_RAW_DATA) {
    ih_fn_raw *r = payload;
    char *p = ih_filter_cb_alloc(fc, r->len + 2);
    p[0] = '[';
    memcpy(p + 1, r->data, r->len);
    p[r->len + 1] = ']';
    r->data = p;
    r->len += 2;
    r->cap = r->len; /* cbInBuffer goes with a buffer of its own */
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static uint32_t map_to_b(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)fc, (void)f;
  if (type == IH_SF_NOTIFY_URL_MAP) {
    ih_fn_url_map *m = payload;
    IH_EQ_STR(m->url, "/a.txt");
    IH_EQ_STR(m->physical, "C:\\site\\a.txt");
    snprintf(m->physical, m->cap, "C:\\site\\b.txt");
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

/* What URL_MAP filters were handed, for the Windows-path tests. */
static char url_map_seen[512];
static uint32_t record_url_map(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)fc, (void)f;
  if (type == IH_SF_NOTIFY_URL_MAP) {
    ih_fn_url_map *m = payload;
    snprintf(url_map_seen, sizeof url_map_seen, "%s", m->physical);
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

/* A real filter's rule: what IIS maps into a "\uc\" directory is served
 * from "\lc\" instead. It splits on '\' only, as filters built for IIS do. */
static uint32_t uc_to_lc(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  record_url_map(c, fc, f, type, payload);
  if (type == IH_SF_NOTIFY_URL_MAP) {
    ih_fn_url_map *m = payload;
    char *uc = strstr(m->physical, "\\uc\\");
    if (uc)
      memcpy(uc, "\\lc\\", 4);
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static char seen_user[64], seen_password[64];
static uint32_t authenticate(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)fc, (void)f;
  char buf[64];
  uint32_t size = sizeof buf;
  if (type == IH_SF_NOTIFY_PREPROC_HEADERS) /* KB 892988: not known yet, and no crash */
    IH_EQ_INT(ih_filter_cb_server_variable(c, "AUTH_TYPE", buf, &size), IH_VAR_NO_DATA);
  if (type == IH_SF_NOTIFY_AUTHENTICATION) {
    ih_fn_auth *a = payload;
    snprintf(seen_user, sizeof seen_user, "%s", a->user);
    snprintf(seen_password, sizeof seen_password, "%s", a->password);
    snprintf(a->user, a->user_cap, "mapped");
  }
  if (type == IH_SF_NOTIFY_AUTH_COMPLETE) {
    IH_EQ_INT(ih_filter_cb_server_variable(c, "REMOTE_USER", buf, &size), IH_VAR_OK);
    IH_EQ_STR(buf, "mapped");
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

/* A header added at PREPROC_HEADERS and another at AUTH_COMPLETE: the head
 * is rebuilt twice with the same url, so the request's query must be read
 * from the newest text (the first rebuilt one is freed by the second). */
static uint32_t add_headers_twice(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)fc, (void)f;
  if (type == IH_SF_NOTIFY_PREPROC_HEADERS || type == IH_SF_NOTIFY_AUTH_COMPLETE) {
    ih_fn_headers *h = payload;
    IH_EQ_INT(ih_hdr_add(h->block, type == IH_SF_NOTIFY_PREPROC_HEADERS ? "X-Pre:" : "X-Done:", "1"), IH_HDR_OK);
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

/* Server variables asked for at every notification, before anything is
 * known included (KB 892988). */
static int variable_calls;
static uint32_t ask_variables(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)fc, (void)f, (void)payload;
  static const char *const names[] = { "AUTH_TYPE", "AUTH_USER", "URL", "ALL_HTTP", "ALL_RAW", "HTTP_HOST",
                                       "REMOTE_ADDR", "QUERY_STRING", "SERVER_NAME", "PATH_TRANSLATED",
                                       "UNICODE_URL", "INSTANCE_ID", "NO_SUCH_VARIABLE" };
  char buf[512];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    uint32_t size = sizeof buf;
    int st = ih_filter_cb_server_variable(c, names[i], buf, &size);
    variable_calls++;
    if (i + 1 == sizeof names / sizeof names[0])
      IH_EQ_INT(st, IH_VAR_INVALID_INDEX);
    else if (strcmp(names[i], "REMOTE_ADDR") == 0)
      IH_EQ_INT(st, IH_VAR_OK);
    else if (type == IH_SF_NOTIFY_READ_RAW_DATA || type == IH_SF_NOTIFY_END_OF_NET_SESSION)
      IH_EQ_INT(st, IH_VAR_NO_DATA); /* no request yet, or none left */
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static uint32_t finish_with_401(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)f, (void)payload;
  if (type != IH_SF_NOTIFY_PREPROC_HEADERS)
    return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
  IH_EQ_INT(ih_filter_cb_send_response_header(c, fc, "401 Access Denied",
                                              "WWW-Authenticate: Basic realm=\"t\"\r\nContent-Length: 6\r\n\r\n"),
            0);
  IH_EQ_INT(ih_filter_cb_write(fc, "denied", 6), 0);
  return IH_SF_STATUS_REQ_FINISHED;
}

static uint32_t finish_keep(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)f, (void)payload;
  if (type != IH_SF_NOTIFY_PREPROC_HEADERS)
    return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
  IH_EQ_INT(ih_filter_cb_send_response_header(c, fc, "301", "Location: /x\r\nContent-Length: 0\r\n"), 0);
  return IH_SF_STATUS_REQ_FINISHED_KEEP_CONN;
}

/* A 103/204/304 head and a body anyway (RFC 9110 6.4.1: none may go out). */
static const char *finish_bodiless_status;
static uint32_t finish_keep_bodiless(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)f, (void)payload;
  if (type != IH_SF_NOTIFY_PREPROC_HEADERS)
    return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
  IH_EQ_INT(ih_filter_cb_send_response_header(c, fc, finish_bodiless_status, "X-Kind: bodiless\r\n"), 0);
  IH_EQ_INT(ih_filter_cb_write(fc, "written", 7), 0);
  return IH_SF_STATUS_REQ_FINISHED_KEEP_CONN;
}

static uint32_t error_in_preproc(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)fc, (void)f, (void)payload;
  return type == IH_SF_NOTIFY_PREPROC_HEADERS ? IH_SF_STATUS_REQ_ERROR : IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static uint32_t handled(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)fc, (void)f, (void)payload;
  return type == IH_SF_NOTIFY_SEND_RESPONSE ? IH_SF_STATUS_REQ_HANDLED_NOTIFICATION
                                            : IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static uint32_t crash_in(uint32_t when, uint32_t type)
{
  return type == when ? IH_SF_STATUS_FAULTED : IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}
static uint32_t crash_in_response(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)fc, (void)f, (void)payload;
  return crash_in(IH_SF_NOTIFY_SEND_RESPONSE, type);
}

static uint32_t disable_raw_send(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)payload;
  if (type == IH_SF_NOTIFY_PREPROC_HEADERS)
    ih_filter_cb_disable(fc, f, IH_SF_NOTIFY_SEND_RAW_DATA | IH_SF_NOTIFY_LOG);
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

/* READ_RAW_DATA: the first receive is a preamble the filter eats (an
 * opaque stream being negotiated), then it rewrites a request in place. */
static int raw_reads;
static uint32_t raw_reader(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)f;
  if (type != IH_SF_NOTIFY_READ_RAW_DATA)
    return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
  ih_fn_raw *r = payload;
  if (raw_reads++ == 0) {
    IH_EQ_MEM(r->data, r->len, "HELLO", 5);
    ih_filter_cb_set_next_read_size(fc, 4096);
    return IH_SF_STATUS_REQ_READ_NEXT;
  }
  char *p = r->data;
  for (size_t i = 0; i + 6 <= r->len; i++)
    if (memcmp(p + i, "/a.txt", 6) == 0)
      p[i + 1] = 'b';
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static uint32_t denial_headers(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)f;
  if (type == IH_SF_NOTIFY_PREPROC_HEADERS)
    IH_EQ_INT(ih_filter_cb_add_headers_on_denial(fc, "WWW-Authenticate: Basic realm=\"x\"\r\n"), 0);
  if (type == IH_SF_NOTIFY_ACCESS_DENIED) {
    ih_fn_denied *d = payload;
    IH_EQ_STR(d->url, "/sub/");
    IH_EQ_INT(d->reason, IH_SF_DENIED_RESOURCE | IH_SF_DENIED_BY_CONFIG);
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static uint32_t replace_log(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)c, (void)f;
  if (type == IH_SF_NOTIFY_LOG) {
    ih_fn_log *l = payload;
    IH_EQ_STR(l->target, "/a.txt");
    IH_EQ_INT(l->http_status, 200);
    char *t = ih_filter_cb_alloc(fc, 32);
    snprintf(t, 32, "/replaced");
    l->target = t;
    l->http_status = 299;
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

/* ---- tests ---- */

static void test_order_of_notifications(void)
{
  IH_TEST("every notification, at its IIS 6 point, in priority order");
  filters_are(ALL_NOTIFICATIONS | IH_SF_NOTIFY_ORDER_LOW, ALL_NOTIFICATIONS | IH_SF_NOTIFY_ORDER_HIGH, 0);
  ih_conn *c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 200 OK"));
  IH_EQ_STR(wire_body(), "AAAA");
  finish(c);
  /* READ_RAW_DATA only reaches global filters (KB 311852); B (HIGH) runs
   * before A (LOW); SEND_RAW_DATA the other way round (closest to the
   * wire last). */
  IH_EQ_STR(trace, "A:RAW B:PRE A:PRE B:MAP A:MAP B:AUTH A:AUTH B:DONE A:DONE B:RESP A:RESP A:SEND B:SEND B:LOG "
                   "A:LOG B:END A:END B:EONS A:EONS");
  IH_EQ_INT(session_ends[0], 1);
  IH_EQ_INT(session_ends[1], 1);
}

static void test_url_rewrite_and_headers(void)
{
  IH_TEST("PREPROC_HEADERS: a new url routes again; added headers are the request's");
  filters_are(IH_SF_NOTIFY_PREPROC_HEADERS, 0, 0);
  behaviour[0] = rewrite_url;
  ih_conn *c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(wire_body(), "BBBBBBBB");
  IH_CHECK(c->req == NULL); /* the request is over: an idle connection holds none */
  finish(c);

  IH_TEST("PREPROC_HEADERS: an HTTP/0.9 request's url can change too");
  filters_are(IH_SF_NOTIFY_PREPROC_HEADERS, 0, 0);
  behaviour[0] = rewrite_url;
  c = request("GET /a.txt\r\n");
  IH_EQ_MEM(fake.wire, fake.wire_len, "BBBBBBBB", 8);
  finish(c);

  IH_TEST("URL_MAP: the edited physical path is served");
  filters_are(IH_SF_NOTIFY_URL_MAP, 0, 0);
  behaviour[0] = map_to_b;
  c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(wire_body(), "BBBBBBBB");
  finish(c);

  IH_TEST("URL_MAP: the filter gets the Windows path, and that very string is opened");
  filters_are(IH_SF_NOTIFY_URL_MAP, 0, 0);
  behaviour[0] = record_url_map;
  url_map_seen[0] = '\0';
  c = request("GET /uc/hello.htm HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(url_map_seen, "C:\\site\\uc\\hello.htm");
  IH_EQ_STR(fake.last_open, "C:\\site\\uc\\hello.htm");
  IH_EQ_STR(wire_body(), "uc hello");
  finish(c);

  IH_TEST("URL_MAP: a trailing '/' gives a trailing '\\', the site root included");
  filters_are(IH_SF_NOTIFY_URL_MAP, 0, 0);
  behaviour[0] = record_url_map;
  c = request("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(url_map_seen, "C:\\site\\");
  IH_EQ_STR(wire_body(), "<h1>home</h1>");
  finish(c);
  c = request("GET /uc/ HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(url_map_seen, "C:\\site\\uc\\");
  IH_CHECK(wire_has("HTTP/1.1 403 ")); /* no default document there, no listing */
  finish(c);

  IH_TEST("URL_MAP: a filter that looks for \\uc\\ finds it, and the file it names is served");
  filters_are(IH_SF_NOTIFY_URL_MAP, 0, 0);
  behaviour[0] = uc_to_lc;
  url_map_seen[0] = '\0';
  c = request("GET /uc/hello.htm HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(url_map_seen, "C:\\site\\uc\\hello.htm");
  IH_EQ_STR(fake.last_open, "C:\\site\\lc\\hello.htm");
  IH_EQ_STR(wire_body(), "lc hello");
  finish(c);

  IH_TEST("SEND_RESPONSE and AddResponseHeaders change the head on the wire");
  filters_are(IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_SEND_RESPONSE, 0, 0);
  behaviour[0] = response_headers;
  c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("\r\nX-Filter: on\r\n"));
  IH_CHECK(wire_has("\r\nX-Early: 1\r\n"));
  IH_CHECK(!wire_has("Server:"));
  IH_EQ_STR(wire_body(), "AAAA");
  finish(c);
}

static void test_http09_and_errors(void)
{
  /* KB Q323064: SEND_RESPONSE for HTTP/0.9 under a filter crashed IIS. */
  static const char *const requests[] = {
    "GET /a.txt\r\n",                          /* 0.9: body only */
    "GET /missing.txt\r\n",                    /* 0.9 error */
    "GET /a.txt HTTP/1.0\r\n\r\n",             /* 1.0 */
    "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",  /* 1.1 */
    "GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n", /* 400 */
    "BAD\r\n\r\n",                              /* not a request line */
    "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",     /* 400: bad URL */
  };
  IH_TEST("every response, 0.9's and errors included, gets a whole header object (KB Q323064)");
  for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
    filters_are(ALL_NOTIFICATIONS, ALL_NOTIFICATIONS, ALL_NOTIFICATIONS);
    behaviour[0] = behaviour[1] = behaviour[2] = header_calls_09;
    http09_checks = 0;
    ih_conn *c = request(requests[i]);
    if (i == 0) {
      IH_EQ_INT(http09_checks, 3);
      IH_EQ_INT(fake.wire_len, 4); /* the body, nothing else */
      IH_EQ_MEM(fake.wire, fake.wire_len, "AAAA", 4);
    } else if (i == 1) {
      IH_EQ_INT(http09_checks, 3);
      IH_CHECK(!wire_has("HTTP/"));
      IH_CHECK(!wire_has("X-Set"));
    } else {
      IH_CHECK(wire_has("\r\nX-Set: 1\r\n"));
      IH_CHECK(wire_has("\r\nX-Add: 2\r\n"));
    }
    IH_CHECK(trace_has("A:RESP") && trace_has("C:RESP"));
    finish(c);
    IH_EQ_INT(session_ends[0], 1);
    IH_EQ_INT(session_ends[2], 1);
  }
}

static void test_raw_data(void)
{
  IH_TEST("SEND_RAW_DATA: edited in place, replaced, in reverse priority order; files go through it too");
  /* C has no priority bit: first in the chain (KB Q237471), so last for
   * SEND_RAW_DATA, closest to the wire; A (HIGH) edits before it. */
  filters_are(IH_SF_NOTIFY_SEND_RAW_DATA | IH_SF_NOTIFY_ORDER_HIGH, 0, IH_SF_NOTIFY_SEND_RAW_DATA);
  behaviour[0] = upper_case_out;
  behaviour[2] = bracket_out;
  ih_conn *c = request("GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_INT(fake.file_sends, 0); /* read through memory, not TransmitFile */
  IH_CHECK(fake.wire[0] == '[');
  IH_CHECK(wire_has("[HTTP/1.1 200 OK"));
  IH_CHECK(!wire_has("abcdefghij")); /* every file byte went through the upper-caser */
  IH_CHECK(wire_has("ABCDEFGHIJ"));
  IH_CHECK(fake.wire[fake.wire_len - 1] == ']');
  finish(c);

  IH_TEST("READ_RAW_DATA: READ_NEXT eats a preamble, an in-place edit changes the request");
  filters_are(IH_SF_NOTIFY_READ_RAW_DATA, 0, 0);
  behaviour[0] = raw_reader;
  raw_reads = 0;
  c = connect_client();
  client_sends(c, "HELLO");
  IH_EQ_INT(fake.op, OP_RECV); /* read again */
  IH_EQ_INT(fake.recv_cap, 4096); /* SF_REQ_SET_NEXT_READ_SIZE */
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  while (fake.op == OP_SEND || fake.op == OP_SEND_FILE)
    send_completes(c);
  IH_EQ_STR(wire_body(), "BBBBBBBB");
  finish(c);
}

static void test_authentication(void)
{
  IH_TEST("AUTHENTICATION: Basic credentials decoded into writable buffers; the filter's user is the request's");
  filters_are(IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_AUTHENTICATION | IH_SF_NOTIFY_AUTH_COMPLETE, 0, 0);
  behaviour[0] = authenticate;
  seen_user[0] = seen_password[0] = '\0';
  /* "user:pa:ss" */
  ih_conn *c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dXNlcjpwYTpzcw==\r\n\r\n");
  IH_EQ_STR(seen_user, "user");
  IH_EQ_STR(seen_password, "pa:ss");
  IH_CHECK(strstr(fake.last_access_line, " mapped ") != NULL); /* cs-username */
  finish(c);

  IH_TEST("a head rebuilt twice with the same url keeps its path and query (read from the newest text)");
  filters_are(IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_AUTH_COMPLETE, 0, 0);
  behaviour[0] = add_headers_twice;
  c = request("GET /a.txt?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(wire_body(), "AAAA");
  IH_CHECK(strstr(fake.last_access_line, " /a.txt q=1 ") != NULL); /* cs-uri-stem, cs-uri-query */
  finish(c);

  IH_TEST("server variables at every notification: NO_DATA for what is not known yet (KB 892988)");
  filters_are(ALL_NOTIFICATIONS, 0, 0);
  behaviour[0] = ask_variables;
  variable_calls = 0;
  c = request("GET /a.txt?q=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(wire_body(), "AAAA");
  finish(c);
  IH_CHECK(variable_calls >= 13 * 10);
}

static void test_return_codes(void)
{
  IH_TEST("FINISHED: the filter's response, then close; END_OF_REQUEST, LOG, END_OF_NET_SESSION still come");
  filters_are(ALL_NOTIFICATIONS, 0, 0);
  behaviour[0] = finish_with_401;
  ih_metrics_site *site = ih_metrics_site_named(&server.metrics, "Test");
  unsigned long long by_filter = atomic_load(&site->requests[IH_MM_GET][IH_MC_4XX][IH_MH_FILTER]);
  unsigned long long by_static = atomic_load(&site->requests[IH_MM_GET][IH_MC_4XX][IH_MH_STATIC]);
  ih_conn *c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 401 Access Denied\r\n"));
  IH_CHECK(wire_has("WWW-Authenticate: Basic realm=\"t\""));
  IH_EQ_STR(wire_body(), "denied");
  IH_CHECK(fake.shutdown_sent); /* closing */
  IH_CHECK(!trace_has("A:MAP"));  /* the pipeline stopped */
  IH_CHECK(trace_has("A:DENIED")); /* a filter's 401 is a denial too */
  IH_CHECK(trace_has("A:RESP") && trace_has("A:LOG") && trace_has("A:END"));
  IH_EQ_INT(fake.access_lines, 1);
  finish(c);
  IH_EQ_INT(session_ends[0], 1);
  /* the metrics' handler: the filter answered it (SF_STATUS_REQ_FINISHED) */
  IH_EQ_INT(atomic_load(&site->requests[IH_MM_GET][IH_MC_4XX][IH_MH_FILTER]) - by_filter, 1);
  IH_EQ_INT(atomic_load(&site->requests[IH_MM_GET][IH_MC_4XX][IH_MH_STATIC]) - by_static, 0);

  IH_TEST("FINISHED_KEEP_CONN: the filter's response, and the connection stays for the next request");
  filters_are(IH_SF_NOTIFY_PREPROC_HEADERS, 0, 0);
  behaviour[0] = finish_keep;
  c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 301 Moved Permanently\r\n")); /* the reason phrase added */
  IH_CHECK(!fake.shutdown_sent);
  IH_EQ_INT(fake.op, OP_RECV);
  behaviour[0] = NULL;
  fake.wire_len = 0;
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_EQ_STR(wire_body(), "AAAA");
  finish(c);

  static const char *const bodiless[] = { "103 Early Hints", "204 No Content", "304 Not Modified" };
  for (size_t i = 0; i < sizeof bodiless / sizeof bodiless[0]; i++) {
    IH_TEST("FINISHED_KEEP_CONN with a 1xx/204/304 head: what the filter wrote is not sent");
    ih_test_note("  %s", bodiless[i]);
    filters_are(IH_SF_NOTIFY_PREPROC_HEADERS, 0, 0);
    behaviour[0] = finish_keep_bodiless;
    finish_bodiless_status = bodiless[i];
    c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    IH_CHECK(wire_has("X-Kind: bodiless\r\n"));
    IH_CHECK(!wire_has("written"));
    if (bodiless[i][0] != '1') { /* a lone 1xx as the final head: whether to keep is not this rule's question */
      IH_CHECK(!fake.shutdown_sent);
      IH_EQ_INT(fake.op, OP_RECV);
    }
    behaviour[0] = NULL;
    finish(c);
  }

  IH_TEST("ERROR: 500, then close");
  filters_are(IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_LOG, 0, 0);
  behaviour[0] = error_in_preproc;
  c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 500 "));
  IH_CHECK(fake.shutdown_sent);
  IH_CHECK(trace_has("A:LOG"));
  finish(c);

  IH_TEST("HANDLED_NOTIFICATION: later filters do not see this notification");
  filters_are(IH_SF_NOTIFY_SEND_RESPONSE | IH_SF_NOTIFY_ORDER_HIGH,
              IH_SF_NOTIFY_SEND_RESPONSE | IH_SF_NOTIFY_ORDER_LOW, 0);
  behaviour[0] = handled;
  c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(trace, "A:RESP");
  IH_EQ_STR(wire_body(), "AAAA");
  finish(c);

  IH_TEST("SF_REQ_DISABLE_NOTIFICATIONS: for the rest of this request only");
  filters_are(IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_SEND_RAW_DATA | IH_SF_NOTIFY_LOG, 0, 0);
  behaviour[0] = disable_raw_send;
  c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(trace, "A:PRE");
  trace[0] = '\0';
  behaviour[0] = NULL;
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_EQ_STR(trace, "A:PRE A:SEND A:LOG");
  finish(c);
}

static void test_denied_and_log(void)
{
  IH_TEST("ACCESS_DENIED before a 403, with the headers asked for on denial");
  filters_are(IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_ACCESS_DENIED, 0, 0);
  behaviour[0] = denial_headers;
  ih_conn *c = request("GET /sub/ HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 403 "));
  IH_CHECK(wire_has("\r\nWWW-Authenticate: Basic realm=\"x\"\r\n"));
  IH_CHECK(trace_has("A:DENIED"));
  finish(c);

  IH_TEST("headers on denial stay out of a response that is not a denial");
  filters_are(IH_SF_NOTIFY_PREPROC_HEADERS, 0, 0);
  behaviour[0] = denial_headers;
  c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(!wire_has("WWW-Authenticate"));
  finish(c);

  IH_TEST("LOG: the line is written from what the filter left");
  filters_are(IH_SF_NOTIFY_LOG, 0, 0);
  behaviour[0] = replace_log;
  c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(strstr(fake.last_access_line, " /replaced ") != NULL);
  IH_CHECK(strstr(fake.last_access_line, " 299 ") != NULL);
  finish(c);
}

static void test_faults_and_session_ends(void)
{
  IH_TEST("a filter crashing in SEND_RESPONSE costs its connection only");
  filters_are(ALL_NOTIFICATIONS, 0, 0);
  behaviour[0] = crash_in_response;
  ih_conn *c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_INT(fake.wire_len, 0);
  IH_CHECK(fake.socket_closed);
  IH_CHECK(trace_has("A:END"));
  expect_all_released(c);
  IH_EQ_INT(session_ends[0], 1);

  IH_TEST("END_OF_NET_SESSION exactly once: client reset, timeout, reset mid-response");
  filters_are(ALL_NOTIFICATIONS, ALL_NOTIFICATIONS, 0);
  c = connect_client();
  pending_fails(c); /* reset while idle */
  expect_all_released(c);
  IH_EQ_INT(session_ends[0], 1);
  IH_EQ_INT(session_ends[1], 0); /* no request, no site: the site's filter never met it */

  filters_are(ALL_NOTIFICATIONS, ALL_NOTIFICATIONS, 0);
  c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\n"); /* half a head */
  timer_fires(c);
  pending_fails(c); /* the receive outstanding on the closed socket */
  expect_all_released(c);
  IH_EQ_INT(session_ends[0], 1);

  filters_are(ALL_NOTIFICATIONS, ALL_NOTIFICATIONS, 0);
  c = connect_client();
  client_sends(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n");
  pending_fails(c); /* reset mid-response */
  expect_all_released(c);
  IH_EQ_INT(session_ends[0], 1);
  IH_EQ_INT(session_ends[1], 1);
  IH_CHECK(trace_has("B:END"));
}

static void test_blocked_site(void)
{
  IH_TEST("a filter that did not load (on_load_error = fail): its site answers 503");
  d_loaded = false; /* D, the site's filter, is not loaded */
  filters_are(IH_SF_NOTIFY_LOG, 0, 0);
  ih_conn *c = request("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(wire_has("HTTP/1.1 503 "));
  IH_CHECK(trace_has("A:LOG"));
  finish(c);
  d_loaded = true;
}

int main(void)
{
  static const char ini[] = "[server]\nmax_header_bytes = 2048\n"
                            "[site Test]\nbindings = 127.0.0.1:80\nroot = C:\\site\npermissions = read, script\n"
                            "[filter A]\ndll = a.dll\non_load_error = skip\n"
                            "[filter B]\ndll = b.dll\nsite = Test\non_load_error = skip\n"
                            "[filter C]\ndll = c.dll\non_load_error = skip\n"
                            "[filter D]\ndll = d.dll\nsite = Test\n";
  if (!fake_setup(ini))
    return 1;
  fake_platform.filter_call = f_filter_call;
  ih_server_init(&server, cfg, &fake_platform);
  table = ih_filter_table_new(cfg);
  ih_server_current(&server)->filters = table; /* freed with the server */
  test_order_of_notifications();
  test_url_rewrite_and_headers();
  test_http09_and_errors();
  test_raw_data();
  test_authentication();
  test_return_codes();
  test_denied_and_log();
  test_faults_and_session_ends();
  test_blocked_site();
  free(fake.send_copy);
  ih_server_destroy(&server);
  ih_config_free(cfg);
  return ih_test_finish();
}
