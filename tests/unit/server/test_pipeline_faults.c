/* Allocation failures in the request pipeline (pipeline.c and what it
 * calls: the connection, the request, routing, responses, conn_ext.c,
 * conn_filters.c, file_cache.c, the filter chain), on the fake platform.
 * SQLite's fault injection is the model: each scenario runs once without
 * faults (the baseline), then with the 1st allocation failing, the 2nd,
 * ... (once, and from there on) until a run completes without reaching the
 * armed failure. After every run: no crash,
 * every holder released and every file closed (expect_all_released), and
 * the client got the baseline's responses, where one may be replaced by a
 * whole 500/503 (Content-Length and that many bytes), and the last may be
 * followed by a close instead (nothing, the same answer closing, or a body
 * cut after its whole head): never a half-built head. LeakSanitizer checks
 * each scenario (native builds). docs/testing.md, "Allocation failures". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_fake.h"
#include "core/ih_alloc.h"
#include "core/ih_thread.h"
#include "filters/filter_chain.h"
#include "filters/filter_headers.h"
#include "ih_test.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IH_HAVE_LSAN 1
#endif
#elif defined(__SANITIZE_ADDRESS__)
#define IH_HAVE_LSAN 1
#endif
#ifdef IH_HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

typedef struct scenario {
  const char *name;
  const char *peer;         /* NULL: 127.0.0.1 */
  const char *segments[6];  /* what the client sends, one receive each, then it closes */
  bool http09;              /* answers have no head */
  const char *expect;       /* in the fault-free run's wire, so the scenario does what it says */
  bool head;                /* a HEAD request: its 500 has a Content-Length and no body (RFC 9110 9.3.2) */
} scenario;

/* A request line that fills the 4 KB idle input buffer exactly: the buffer
 * must grow for the rest of the head, and again (to its full size, the
 * head parsed again) before the body is read. */
#define Q16 "qqqqqqqqqqqqqqqq"
#define Q64 Q16 Q16 Q16 Q16
#define Q1024 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64
#define FILLS_IDLE_BUFFER "POST /a.txt?" Q1024 Q1024 Q1024 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 Q64 \
  Q16 Q16 Q16 "qqqq"
_Static_assert(sizeof FILLS_IDLE_BUFFER - 1 == 4096, "one byte less than a full idle input buffer would not grow it");

static const scenario scenarios[] = {
  { .name = "keep-alive GET", .segments = { "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", "GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n" } },
  { .name = "pipelined", .segments = { "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /missing.txt HTTP/1.1\r\nHost: x\r\n\r\n" } },
  { .name = "HTTP/1.0 close", .segments = { "GET /a.txt HTTP/1.0\r\n\r\n" } },
  { .name = "HTTP/1.0 keep-alive", .segments = { "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" } },
  { .name = "HTTP/0.9 found", .segments = { "GET /a.txt\r\n" }, .http09 = true },
  { .name = "HTTP/0.9 missing", .segments = { "GET /nothing.txt\r\n" }, .http09 = true },
  { .name = "400 framing", .segments = { "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc" } },
  { .name = "400 request line", .segments = { "GET  /a.txt HTTP/1.1\r\nHost: x\r\n\r\n" } },
  { .name = "Expect: 100-continue", .segments = { "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", "hello" } },
  { .name = "chunked body then pipelined", .segments = { "POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
      "GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n" } },
  { .name = "directory, default document, listing", .segments = { "GET /sub HTTP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /sub/ HTTP/1.1\r\nHost: x\r\n\r\n" } },
  { .name = "status page", .segments = { "GET /_isapihost/status HTTP/1.1\r\nHost: x\r\n\r\n" } },
  { .name = "extension admin page", .segments = { "GET /_isapihost/status/extensions HTTP/1.1\r\nHost: x\r\n\r\n",
                                                  "POST /_isapihost/status/extensions?action=unload&dll=a.dll HTTP/1.1\r\n"
                                                  "Host: x\r\nContent-Length: 0\r\n\r\n" },
    .expect = "{\"dlls\":[]}" },
  { .name = "pools admin page", .segments = { "GET /_isapihost/status/pools HTTP/1.1\r\nHost: x\r\n\r\n",
                                              "POST /_isapihost/status/pools?action=recycle&pool=w HTTP/1.1\r\n"
                                              "Host: x\r\nContent-Length: 0\r\n\r\n" },
    .expect = "{\"pool\":\"w\",\"action\":\"recycle\",\"started\":true}" },
  { .name = "HEAD and OPTIONS", .segments = { "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n" },
    .expect = "Allow: ", .head = true },
  { .name = "ranges and conditional", .segments = { "GET /big.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=2-4\r\n\r\n",
      "GET /big.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=50-\r\n\r\n",
      "GET /big.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: Sun, 06 Nov 2033 08:49:37 GMT\r\n\r\n" } },
  { .name = "extension: head and two writes", .segments = { "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n",
                                                           "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n" },
    .expect = "\r\n\r\nhello" },
  { .name = "extension: HSE_REQ_EXEC_URL of a file", .segments = { "GET /child.isa HTTP/1.1\r\nHost: x\r\n\r\n" },
    .expect = "\r\n\r\nAAAA" },
  { .name = "extension: HSE_REQ_SEND_CUSTOM_ERROR", .segments = { "GET /status.isa HTTP/1.1\r\nHost: x\r\n\r\n" },
    .expect = "404 Not Found" },
  { .name = "extension: ReadClient, then a head and TransmitFile",
    .segments = { "POST /file.isa HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabcd", "efghij" },
    .expect = "\r\n\r\n0123456789abcdefghij" },
  { .name = "large file in chunks", .segments = { "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n" } },
  { .name = "extension pre-read", .segments = { "POST /app.isa HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabcdef" } },
  { .name = "a head longer than the idle input buffer, with a body",
    .segments = { FILLS_IDLE_BUFFER, Q64 " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel", "lo",
                  "GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n" },
    .expect = "405 Method Not Allowed" },
};

/* ---- one run ---- */

#define MAX_UNITS 16
typedef struct outcome {
  char wire[1 << 19];
  size_t wire_len;
  size_t unit_end[MAX_UNITS]; /* the wire's length when each request ended */
  int units;
  bool server_closed; /* the server closed (or sent its FIN) before the client did */
  bool refused;       /* the connection could not even be created */
} outcome;

static outcome baseline, run;
static bool with_filters;
static ih_filter_table *table;

/* What differs from run to run, or with a filter's edits that could not
 * allocate, is taken out: Date values (blanked, same length) and the
 * test filter's own header lines. */
static void normalise(outcome *o)
{
  static const char date[] = "\r\nDate: ";
  for (const char *p = o->wire; (p = find_bytes(p, o->wire_len - (size_t)(p - o->wire), date, sizeof date - 1));) {
    char *v = (char *)p + sizeof date - 1;
    while ((size_t)(v - o->wire) < o->wire_len && *v != '\r')
      *v++ = 'X';
    p = v;
  }
  static const char *const lines[] = { "X-Early: 1\r\n", "X-Filter: on\r\n" };
  for (size_t l = 0; l < 2; l++) {
    size_t n = strlen(lines[l]);
    const char *p;
    while ((p = find_bytes(o->wire, o->wire_len, lines[l], n)) != NULL) {
      size_t at = (size_t)(p - o->wire);
      memmove(o->wire + at, o->wire + at + n, o->wire_len - at - n);
      o->wire_len -= n;
      for (int u = 0; u < o->units; u++)
        if (o->unit_end[u] > at)
          o->unit_end[u] -= n;
    }
  }
}

/* ---- a scripted extension on its own thread (ih_thread.h), as in
 * test_pipeline.c: it calls the blocking ih_conn_ext_* entry points while the
 * pump below plays the I/O pool. A careful DLL: a call that fails ends the
 * session with HSE_STATUS_ERROR. ---- */
static atomic_int ext_started, ext_finished;

static void *ext_thread(void *arg)
{
  ih_conn *c = arg;
  uint32_t hse = 2; /* HSE_STATUS_SUCCESS_AND_KEEP_CONN */
  if (strcmp(c->req->path, "/child.isa") == 0) {
    /* HSE_REQ_EXEC_URL of a static file, answered as the extension's response */
    int status = 0;
    ih_request *child = ih_conn_ext_child_new(c, "GET", "/a.txt", NULL, 0, &status);
    if (!child) {
      if (ih_conn_ext_send_status(c, status, false, NULL) != IH_EXT_OK)
        hse = 4;
    } else {
      if (ih_conn_ext_child_respond(c, child, false, &status, NULL) != IH_EXT_OK)
        hse = 4;
      ih_conn_ext_child_free(child);
    }
  } else if (strcmp(c->req->path, "/status.isa") == 0) {
    /* HSE_REQ_SEND_CUSTOM_ERROR: the site's error page, built by the server */
    if (ih_conn_ext_send_status(c, 404, false, NULL) != IH_EXT_OK)
      hse = 4;
  } else if (strcmp(c->req->path, "/file.isa") == 0) {
    /* the body read past the pre-read, then HSE_REQ_TRANSMIT_FILE after a head */
    char body[16];
    size_t n = sizeof body;
    static const char hdrs[] = "Content-Length: 20\r\n";
    ih_ext_head h = { 200, "OK", hdrs, strlen(hdrs), "", 0, false };
    if (ih_conn_ext_read(c, body, &n, NULL) != IH_EXT_OK || ih_conn_ext_send_head(c, &h, NULL) != IH_EXT_OK ||
        ih_conn_ext_send_file(c, &fs[5], 0, 20, NULL) != IH_EXT_OK)
      hse = 4;
  } else {
    static const char hdrs[] = "Content-Type: text/plain\r\nContent-Length: 5\r\n";
    ih_ext_head h = { 200, "OK", hdrs, strlen(hdrs), "", 0, false };
    ih_conn_ext_log_append(c, "&ext=1", 6); /* HSE_APPEND_LOG_PARAMETER */
    if (ih_conn_ext_send_head(c, &h, NULL) != IH_EXT_OK || ih_conn_ext_write(c, "hel", 3, NULL) != IH_EXT_OK ||
        ih_conn_ext_write(c, "lo", 2, NULL) != IH_EXT_OK)
      hse = 4; /* HSE_STATUS_ERROR */
  }
  ih_conn_ext_end(c, hse, 200);
  atomic_store(&ext_finished, 1);
  return NULL;
}

static bool f_extension_start(ih_conn *c)
{
  atomic_store(&ext_finished, 0);
  ih_thread *t = ih_thread_start(ext_thread, c);
  if (!t)
    return false;
  atomic_store(&ext_started, 1);
  ih_thread_detach(t);
  return true;
}

static bool extension_busy(void)
{
  return (atomic_load(&ext_started) && !atomic_load(&ext_finished)) || atomic_load(&ext_end_posted);
}

static void converse(const scenario *s, outcome *o)
{
  memset(o, 0, sizeof *o);
  free(fake.send_copy);
  memset(&fake, 0, sizeof fake);
  ih_conn *c = ih_conn_new(&server, &fake_transport, NULL, "127.0.0.1", 80, s->peer ? s->peer : "127.0.0.1", 50000);
  if (!c) {
    o->refused = true; /* the platform closes the accepted socket: the client sees a close */
    return;
  }
  ih_conn_start(c);
  size_t next = 0;
  bool client_closed = false;
  long long ended = 0;
  atomic_store(&ext_started, 0);
  atomic_store(&ext_end_posted, 0);
  for (long spins = 0; spins < 2000000; spins++) {
    ih_mutex_lock(c->lock); /* an extension's thread may be posting */
    enum fake_op op = fake.op;
    bool closed = fake.socket_closed, fin = fake.shutdown_sent;
    ih_mutex_unlock(c->lock);
    bool ext_busy = extension_busy();
    bool more_to_send = next < sizeof s->segments / sizeof s->segments[0] && s->segments[next];
    if (op == OP_NONE && !ext_busy)
      break;
    if ((closed || fin) && !client_closed)
      o->server_closed = true; /* a FIN (lingering close) or the socket */
    if (closed && op != OP_NONE) {
      pending_fails(c); /* what is pending on a closed socket completes with an error */
    } else if (op == OP_SEND || op == OP_SEND_FILE) {
      send_completes(c);
    } else if (atomic_exchange(&ext_end_posted, 0)) {
      ih_conn_on_ext_end(c); /* the pool's part of ending the session */
    } else if (ext_busy && !(op == OP_RECV && more_to_send)) {
      ih_thread_yield(); /* the extension is working */
      continue;
    } else if (more_to_send) { /* to the pipeline, or to an extension's ReadClient */
      client_sends(c, s->segments[next++]);
    } else {
      client_closed = true;
      client_closes(c);
    }
    long long now = atomic_load(&server.counters.requests_total);
    if (now != ended && o->units < MAX_UNITS)
      o->unit_end[o->units++] = fake.wire_len;
    ended = now;
  }
  if (fake.socket_closed && !client_closed)
    o->server_closed = true;
  IH_EQ_INT(fake.op, OP_NONE);
  expect_all_released(c);
  memcpy(o->wire, fake.wire, fake.wire_len);
  o->wire_len = fake.wire_len;
  normalise(o);
}

/* ---- what the client may see ---- */

typedef struct span {
  const char *p;
  size_t n;
} span;

static span unit(const outcome *o, int u)
{
  size_t from = u ? o->unit_end[u - 1] : 0;
  size_t to = u < o->units ? o->unit_end[u] : o->wire_len;
  return (span){ o->wire + from, to - from };
}

/* One whole 500 or 503: head, Content-Length, exactly that many body bytes
 * (none to HEAD). */
static bool whole_failure_response(span r, bool head)
{
  static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n"; /* may have gone before */
  if (r.n >= sizeof cont - 1 && memcmp(r.p, cont, sizeof cont - 1) == 0)
    r = (span){ r.p + sizeof cont - 1, r.n - (sizeof cont - 1) };
  if (r.n < 13 || (memcmp(r.p, "HTTP/1.1 500 ", 13) != 0 && memcmp(r.p, "HTTP/1.1 503 ", 13) != 0))
    return false;
  const char *end = find_bytes(r.p, r.n, "\r\n\r\n", 4);
  if (!end)
    return false;
  size_t head_len = (size_t)(end - r.p) + 4;
  const char *cl = find_bytes(r.p, head_len, "\r\nContent-Length: ", 18);
  return cl && (strtoull(cl + 18, NULL, 10) == r.n - head_len || (head && r.n == head_len));
}

static bool same_span(span a, span b) { return a.n == b.n && memcmp(a.p, b.p, a.n) == 0; }

/* The span without its Connection header line, into buf. */
static span without_connection(span a, char *buf, size_t cap)
{
  const char *line = find_bytes(a.p, a.n, "\r\nConnection: ", 14);
  const char *end = line ? find_bytes(line + 2, a.n - (size_t)(line + 2 - a.p), "\r\n", 2) : NULL;
  if (!end || a.n > cap)
    return a;
  size_t before = (size_t)(line - a.p), cut = (size_t)(end - line);
  memcpy(buf, a.p, before);
  memcpy(buf + before, end, a.n - before - cut);
  return (span){ buf, a.n - cut };
}

/* The baseline's response, but closing: a request that failed after its
 * answer was made (a filter's own response, then SF_STATUS_REQ_ERROR). */
static bool same_but_closing(span r, span b)
{
  static char rb[1 << 16], bb[1 << 16];
  return find_bytes(r.p, r.n, "\r\nConnection: close\r\n", 21) &&
         same_span(without_connection(r, rb, sizeof rb), without_connection(b, bb, sizeof bb));
}

static bool acceptable(const scenario *s, char *why, size_t why_len)
{
  if (run.refused)
    return true;
  int j = 0;
  for (int i = 0; i < run.units; i++, j++) {
    span r = unit(&run, i);
    span b = j < baseline.units ? unit(&baseline, j) : (span){ "", 0 };
    if (same_span(r, b))
      continue;
    if (s->http09 ? !find_bytes(r.p, r.n, "HTTP/", 5) : whole_failure_response(r, s->head))
      continue; /* this request failed whole: 0.9 answers have no head */
    bool last = run.server_closed && i == run.units - 1 && unit(&run, run.units).n == 0;
    if (last && (r.n == 0 || same_span(r, (span){ "HTTP/1.1 100 Continue\r\n\r\n", 25 }) || same_but_closing(r, b)))
      continue; /* nothing final, or the answer it had but closing; then the close */
    if (last && r.n < b.n && memcmp(r.p, b.p, r.n) == 0 && (s->http09 || find_bytes(r.p, r.n, "\r\n\r\n", 4)))
      continue; /* cut by the close after a whole head (an extension's write failed) */
    snprintf(why, why_len, "response %d is neither the baseline's nor a whole 500/503: \"%.*s\"", i,
             (int)(r.n < 200 ? r.n : 200), r.p);
    return false;
  }
  span t = unit(&run, run.units);
  if (t.n == 0 && (run.server_closed || j >= baseline.units))
    return true;
  if (!run.server_closed) {
    snprintf(why, why_len, "the connection stayed open with %d of %d requests answered", j, baseline.units);
    return false;
  }
  /* A response cut by a close after its head went out whole: the client
   * sees fewer bytes than Content-Length, then the close (an incomplete
   * message, RFC 9112 8). */
  span b = j < baseline.units ? unit(&baseline, j) : (span){ "", 0 };
  if (t.n <= b.n && memcmp(t.p, b.p, t.n) == 0 && (s->http09 || find_bytes(t.p, t.n, "\r\n\r\n", 4)))
    return true;
  snprintf(why, why_len, "after %d responses, a close after \"%.*s\"", run.units, (int)(t.n < 200 ? t.n : 200), t.p);
  return false;
}

/* ---- the server, fresh for every run (an empty small-file cache) ---- */

static uint32_t filter_flags;

static void server_up(void)
{
  IH_EQ_INT(ih_server_init(&server, cfg, &fake_platform), 0);
  if (with_filters) {
    table = ih_filter_table_new(cfg);
    IH_CHECK(table != NULL);
    table->filters[0].flags = filter_flags;
    table->filters[0].loaded = true;
    IH_EQ_INT(ih_filter_table_build(table), 0);
    ih_server_current(&server)->filters = table; /* freed with the server */
  }
}

static void server_down(void) { ih_server_destroy(&server); }

static int leaks(void)
{
#ifdef IH_HAVE_LSAN
  return __lsan_do_recoverable_leak_check();
#else
  return 0;
#endif
}

static unsigned long total_runs;

static void fail_each_allocation(const scenario *s, bool and_after)
{
  char title[200];
  snprintf(title, sizeof title, "%s%s: every allocation fails %s", s->name, with_filters ? " (filters)" : "",
           and_after ? "with every one after it" : "once");
  const char *only = getenv("IH_FAULTS_ONLY"); /* a part of the title: runs only those scenarios */
  if (only && !strstr(title, only))
    return;
  IH_TEST(title);
  server_up();
  converse(s, &baseline);
  server_down();
  IH_CHECK(!baseline.refused && baseline.wire_len > 0);
  if (s->expect && !IH_CHECK(find_bytes(baseline.wire, baseline.wire_len, s->expect, strlen(s->expect))))
    ih_test_note("  the baseline has no \"%s\": %.*s", s->expect, (int)baseline.wire_len, baseline.wire);
  for (unsigned long n = 1;; n++) {
    server_up();
    if (and_after)
      ih_alloc_fail_from(n);
    else
      ih_alloc_fail_nth(n);
    converse(s, &run);
    bool injected = ih_alloc_faults_off();
    server_down();
    total_runs++;
    char why[512] = "";
    if (!IH_CHECK(acceptable(s, why, sizeof why))) {
      ih_test_note("  allocation %lu failed: %s", n, why);
      if (getenv("IH_FAULTS_VERBOSE"))
        ih_test_note("  wire (%d units, server closed %d): %.*s", run.units, run.server_closed, (int)run.wire_len,
                     run.wire);
    }
    if (ih_test_failures() > 50)
      return;
    if (!injected)
      break; /* the scenario made fewer than n allocations: every one has failed */
  }
  /* Once per scenario (a check per run would double the run time): set
   * IH_FAULTS_ONLY to the scenario and bisect n to find the one. */
  if (!IH_CHECK(leaks() == 0))
    ih_test_note("  a run of this scenario leaked");
}

/* ---- a filter that uses what allocates: header edits, AddResponseHeaders,
 * AllocMem, a URL_MAP edit, and SEND_RAW_DATA (file bodies read into
 * memory). A real filter sees FALSE from a callback that could not
 * allocate and goes on: so does this one. */
static uint32_t f_filter_call(ih_conn *c, ih_filter_conn *fc, const ih_filter *f, uint32_t type, void *payload)
{
  (void)f;
  switch (type) {
  case IH_SF_NOTIFY_PREPROC_HEADERS: {
    ih_fn_headers *h = payload;
    (void)ih_hdr_add(h->block, "X-Added:", "yes");
    (void)ih_filter_cb_add_response_headers(fc, "X-Early: 1\r\n");
    (void)ih_filter_cb_alloc(fc, 100);
    if (strcmp(h->block->url, "/rewrite.txt") == 0 && ih_hdr_set(h->block, "url", "/b.txt") != IH_HDR_OK)
      return IH_SF_STATUS_REQ_ERROR; /* a rewrite it cannot make is this filter's error */
    if (strcmp(h->block->url, "/other") == 0 && ih_hdr_set(h->block, "url", "http://other/hello.htm") != IH_HDR_OK)
      return IH_SF_STATUS_REQ_ERROR; /* to the other site */
    if (strcmp(h->block->url, "/error") == 0)
      return IH_SF_STATUS_REQ_ERROR;
    if (strcmp(h->block->url, "/redirect") == 0) {
      /* the filter answers; if it could not, nothing goes out and the connection closes */
      (void)ih_filter_cb_send_response_header(c, fc, "301", "Location: /x\r\nContent-Length: 0\r\n");
      return IH_SF_STATUS_REQ_FINISHED_KEEP_CONN;
    }
    break;
  }
  case IH_SF_NOTIFY_URL_MAP: {
    ih_fn_url_map *m = payload;
    if (strcmp(m->url, "/mapped.txt") == 0)
      snprintf(m->physical, m->cap, "C:\\site\\b.txt");
    break;
  }
  case IH_SF_NOTIFY_SEND_RESPONSE: {
    ih_fn_headers *h = payload;
    (void)ih_hdr_set(h->block, "X-Filter:", "on");
    break;
  }
  default: break;
  }
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

static const scenario filter_scenarios[] = {
  { .name = "filters: URL_MAP to another file", .segments = { "GET /mapped.txt HTTP/1.1\r\nHost: x\r\n\r\n" } },
  { .name = "filters: PREPROC_HEADERS rewrites the url",
    .segments = { "GET /rewrite.txt HTTP/1.1\r\nHost: x\r\n\r\n", "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n" } },
  { .name = "filters: PREPROC_HEADERS sends the request to another site",
    .segments = { "GET /other HTTP/1.1\r\nHost: x\r\n\r\n" }, .expect = "\r\n\r\nuc hello" },
  { .name = "filters: a filter answers (SF_REQ_SEND_RESPONSE_HEADER, FINISHED_KEEP_CONN)",
    .segments = { "GET /redirect HTTP/1.1\r\nHost: x\r\n\r\n", "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n" } },
  { .name = "filters: SF_STATUS_REQ_ERROR", .segments = { "GET /error HTTP/1.1\r\nHost: x\r\n\r\n" } },
};

/* A reload (a new configuration, its generation and filter table) while
 * memory runs short: it either fails whole, with "out of memory" for a
 * configuration that could not be read, and the server keeps the
 * generation it had, or it is published whole; nothing leaks. */
static void reload_under_faults(const char *ini)
{
  for (int and_after = 0; and_after < 2; and_after++) {
    IH_TEST(and_after ? "reload: every allocation fails with every one after it" : "reload: every allocation fails once");
    for (unsigned long n = 1;; n++) {
      server_up();
      ih_generation *before = ih_server_current(&server);
      if (and_after)
        ih_alloc_fail_from(n);
      else
        ih_alloc_fail_nth(n);
      ih_config *next = NULL;
      char err[256] = "";
      ih_generation *gen = NULL;
      int rc = ih_config_parse(ini, strlen(ini), "reload.ini", "", &next, err, sizeof err);
      if (rc == 0 && (gen = ih_server_generation_new(&server, next)) == NULL)
        ih_config_free(next);
      ih_filter_table *t = gen ? ih_filter_table_new(next) : NULL;
      if (t) {
        gen->filters = t;
        ih_server_generation_publish(&server, gen);
      } else if (gen) {
        ih_server_generation_free(gen); /* frees next with it */
      }
      bool injected = ih_alloc_faults_off();
      if (rc != 0 && !IH_CHECK(strstr(err, "out of memory") != NULL))
        ih_test_note("  allocation %lu failed: %s", n, err);
      IH_CHECK(t ? ih_server_current(&server) == gen : ih_server_current(&server) == before);
      server_down();
      IH_EQ_INT(atomic_load(&server.counters.generations_live), 0);
      total_runs++;
      if (!injected)
        break;
    }
    if (!IH_CHECK(leaks() == 0))
      ih_test_note("  a reload leaked");
  }
}

static int f_ext_admin(const char *action, const char *dll, char *json, size_t cap)
{
  if (!action) {
    snprintf(json, cap, "{\"dlls\":[]}\n");
    return 200;
  }
  snprintf(json, cap, "{\"action\":\"%s\",\"dll\":\"%s\"}\n", action, dll);
  return 200;
}

static size_t f_pools_status(char *buf, size_t cap)
{
  snprintf(buf, cap, "[{\"name\":\"w\"}]");
  return strlen(buf);
}

static int f_pool_recycle(const char *pool)
{
  (void)pool;
  return IH_PLATFORM_RECYCLE_STARTED;
}

int main(void)
{
  static const char ini[] = "[server]\nmax_header_bytes = 2048\nisapi_preread = 4\n"
                            "[site Test]\nbindings = 127.0.0.1:80\nroot = C:\\site\npermissions = read, script\n"
                            "directory_listing = on\n"
                            "[site Other]\nbindings = 127.0.0.1:80:other\nroot = C:\\site\\uc\n"
                            "[scriptmap Test .isa]\ndll = /ext/app.dll\ncheck_file = off\n"
                            "[filter A]\ndll = a.dll\non_load_error = skip\n"
                            "[pool w]\nmode = worker\n";
  if (!fake_setup(ini))
    return 1;
  fake_platform.extension_start = f_extension_start;
  fake_platform.filter_call = f_filter_call;
  fake_platform.ext_admin = f_ext_admin;
  fake_platform.pools_status = f_pools_status;
  fake_platform.pool_recycle = f_pool_recycle;

  with_filters = false; /* no filter table: the pipeline without filters */
  for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
    for (int and_after = 0; and_after < 2; and_after++)
      fail_each_allocation(&scenarios[i], and_after);

  filter_flags = IH_SF_NOTIFY_READ_RAW_DATA | IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_URL_MAP |
                 IH_SF_NOTIFY_AUTHENTICATION | IH_SF_NOTIFY_SEND_RESPONSE | IH_SF_NOTIFY_SEND_RAW_DATA |
                 IH_SF_NOTIFY_LOG | IH_SF_NOTIFY_END_OF_REQUEST | IH_SF_NOTIFY_END_OF_NET_SESSION;
  with_filters = true;
  for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
    for (int and_after = 0; and_after < 2; and_after++)
      fail_each_allocation(&scenarios[i], and_after);
  for (size_t i = 0; i < sizeof filter_scenarios / sizeof filter_scenarios[0]; i++)
    for (int and_after = 0; and_after < 2; and_after++)
      fail_each_allocation(&filter_scenarios[i], and_after);

  reload_under_faults(ini);
  ih_test_note("%lu runs with allocations failing", total_runs);
  free(fake.send_copy);
  ih_config_free(cfg);
  return ih_test_finish();
}
