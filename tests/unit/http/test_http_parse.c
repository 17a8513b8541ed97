/* Unit tests for service/http/http_parse.c: request-head parsing, limits,
 * incremental feeding and body-framing analysis. Every parse input is also
 * fed byte by byte (with and without last_len) and must give the same result. */
#include "http/http_parse.h"
#include "ih_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LIT(s) s, sizeof(s) - 1

enum { P_DONE = IH_PARSE_DONE, P_MORE = IH_PARSE_INCOMPLETE, P_400 = IH_PARSE_BAD_REQUEST,
       P_414 = IH_PARSE_URI_TOO_LONG, P_431 = IH_PARSE_HEADERS_TOO_LARGE, P_505 = IH_PARSE_BAD_VERSION };

/* ---- feeding helpers ---- */

/* Feeds in[0..n) in growing prefixes of `step` bytes, each in an exactly sized
 * heap copy (so ASan sees any read past len), until a status other than
 * INCOMPLETE. Returns that status; *at = prefix length that produced it. */
static enum ih_http_parse_status feed(const char *in, size_t n, size_t step, bool use_last, const ih_http_limits *lim,
                                      ih_http_request_head *out, size_t *at, size_t *out_off)
{
  enum ih_http_parse_status st = IH_PARSE_INCOMPLETE;
  size_t last = 0, k = 0;
  *at = 0;
  while (k < n) {
    k = k + step < n ? k + step : n;
    char *copy = malloc(k);
    memcpy(copy, in, k);
    /* offsets into the copy are taken from its address as a number: GCC 12
     * at -O2 moves pointer arithmetic on `copy` past free() below and then
     * reports a use after free (-Wuse-after-free false positive) */
    const uintptr_t copy_at = (uintptr_t)copy;
    st = ih_http_parse_request(copy, k, use_last ? last : 0, lim, out);
    *out_off = (size_t)((uintptr_t)out->method.p - copy_at);
    if (st == IH_PARSE_DONE) /* rebase slices onto `in` for the caller */
      for (size_t i = 0; i < out->header_count; i++) {
        out->headers[i].name.p = in + ((uintptr_t)out->headers[i].name.p - copy_at);
        out->headers[i].value.p = in + ((uintptr_t)out->headers[i].value.p - copy_at);
      }
    free(copy);
    last = k;
    *at = k;
    if (st != IH_PARSE_INCOMPLETE)
      break;
  }
  return st;
}

/* Parses in[0..n) whole, then incrementally; checks that all agree and
 * returns the whole-buffer status with *out filled. */
static enum ih_http_parse_status parse_all_ways(const char *in, size_t n, const ih_http_limits *lim,
                                                ih_http_request_head *out)
{
  static ih_http_request_head inc; /* large: keep it off the stack */
  enum ih_http_parse_status st = ih_http_parse_request(in, n, 0, lim, out);
  IH_CHECK((st == IH_PARSE_DONE || st == IH_PARSE_INCOMPLETE) == (out->error_reason == NULL));
  if (st == IH_PARSE_DONE) {
    IH_CHECK(out->head_len <= n);
    IH_CHECK(out->method.p >= in && out->target.p + out->target.n <= in + out->head_len);
  }
  size_t step = n > 4096 ? 509 : 1;
  for (int use_last = 0; use_last < 2; use_last++) {
    size_t at, off;
    enum ih_http_parse_status st2 = feed(in, n, step, use_last, lim, &inc, &at, &off);
    IH_EQ_INT(st2, st);
    if (st != st2)
      continue;
    if (st == IH_PARSE_DONE) {
      IH_EQ_INT(inc.head_len, out->head_len);
      if (step == 1)
        IH_EQ_INT(at, out->head_len); /* decided at the head's last byte */
      IH_EQ_INT(inc.version, out->version);
      IH_EQ_INT(inc.header_count, out->header_count);
      IH_EQ_INT(off, (size_t)(out->method.p - in));
      for (size_t i = 0; i < out->header_count && i < inc.header_count; i++) {
        IH_CHECK(inc.headers[i].name.p == out->headers[i].name.p && inc.headers[i].name.n == out->headers[i].name.n);
        IH_CHECK(inc.headers[i].value.p == out->headers[i].value.p &&
                 inc.headers[i].value.n == out->headers[i].value.n);
      }
    } else if (st != IH_PARSE_INCOMPLETE) {
      IH_EQ_STR(inc.error_reason, out->error_reason);
    }
  }
  return st;
}

static ih_http_limits default_limits(void)
{
  ih_http_limits lim;
  ih_http_limits_default(&lim);
  return lim;
}

/* ---- table of whole requests ---- */

typedef struct parse_case {
  const char *in;
  size_t len;
  int status;
  int version;    /* when DONE */
  size_t headers; /* header_count when DONE */
  long head_len;  /* when DONE; -1 = the whole input */
} parse_case;

static const parse_case cases[] = {
  /* valid requests */
  { LIT("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), P_DONE, 11, 1, -1 },
  { LIT("GET / HTTP/1.0\r\n\r\n"), P_DONE, 10, 0, -1 },
  { LIT("GET / HTTP/1.1\n\n"), P_DONE, 11, 0, -1 },
  { LIT("GET / HTTP/1.1\r\nHost: a\n\r\n"), P_DONE, 11, 1, -1 },
  { LIT("POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n"), P_DONE, 11, 2, -1 },
  { LIT("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"), P_DONE, 11, 1, -1 },
  { LIT("PUT /x HTTP/1.1\r\nHost: a\r\n\r\n"), P_DONE, 11, 1, -1 },
  { LIT("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n"), P_DONE, 11, 1, -1 },
  { LIT("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), P_DONE, 11, 1, -1 },
  { LIT("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n"), P_DONE, 11, 1, -1 },
  { LIT("PROPFIND /dav HTTP/1.1\r\nHost: a\r\nDepth: 1\r\n\r\n"), P_DONE, 11, 2, -1 },
  { LIT("M-SEARCH! * HTTP/1.1\r\n\r\n"), P_DONE, 11, 0, -1 },
  { LIT("GET http://example.com:8080/a?b=c#f HTTP/1.1\r\nHost: example.com\r\n\r\n"), P_DONE, 11, 1, -1 },
  { LIT("GET /\xc3\xa9t\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), P_DONE, 11, 1, -1 }, /* non-ASCII target kept */
  { LIT("GET / HTTP/1.1\r\nX-Empty:\r\nX-Blank: \t \r\n\r\n"), P_DONE, 11, 2, -1 },
  { LIT("GET / HTTP/1.1\r\nX: obs-text \x80\xff ok\r\n\r\n"), P_DONE, 11, 1, -1 },
  { LIT("GET / HTTP/1.1\r\nX: a\tb\r\n\r\n"), P_DONE, 11, 1, -1 },
  { LIT("\r\n\r\nGET / HTTP/1.1\r\n\r\n"), P_DONE, 11, 0, -1 }, /* leading empty lines */
  { LIT("\r\n\n\r\n\nGET / HTTP/1.1\r\n\r\n"), P_DONE, 11, 0, -1 }, /* IH_HTTP_MAX_EMPTY_LINES of them */
  { LIT("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"), P_400, 0, 0, 0 }, /* one more: no request */
  { LIT("\r\n\r\n\r\n\r\n\r\n"), P_400, 0, 0, 0 }, /* decided without waiting for the header timeout */
  { LIT("\n\n\n\n\n"), P_400, 0, 0, 0 },
  { LIT("\rGET / HTTP/1.1\r\n\r\n"), P_400, 0, 0, 0 }, /* bare CR before the request line */
  { LIT("\rG"), P_400, 0, 0, 0 },                        /* ... refused at the byte after it */
  { LIT("\r\n\r\r"), P_400, 0, 0, 0 },
  { LIT("GET /a\rb"), P_MORE, 0, 0, 0 },                 /* inside the line: decided at its end */
  { LIT("GET /a\rb HTTP/1.1\r\n"), P_400, 0, 0, 0 },
  { LIT("\r"), P_MORE, 0, 0, 0 },                        /* may be the first half of a CRLF */
  { LIT("\r\n\r"), P_MORE, 0, 0, 0 },
  { LIT("\n\nGET / HTTP/1.1\r\n\r\n"), P_DONE, 11, 0, -1 },
  /* versions */
  { LIT("GET / HTTP/1.2\r\n\r\n"), P_DONE, 11, 0, -1 },
  { LIT("GET / HTTP/1.9\r\n\r\n"), P_DONE, 11, 0, -1 },
  { LIT("GET / HTTP/2.0\r\n\r\n"), P_505, 0, 0, 0 },
  { LIT("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), P_505, 0, 0, 0 },
  { LIT("GET / HTTP/9.9\r\n\r\n"), P_505, 0, 0, 0 },
  { LIT("GET / http/1.1\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/0.9\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.10\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/11\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/a.b\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTPS/1.1\r\n\r\n"), P_400, 0, 0, 0 },
  /* HTTP/0.9 */
  { LIT("GET /path\r\n"), P_DONE, 9, 0, -1 },
  { LIT("GET /path\n"), P_DONE, 9, 0, -1 },
  { LIT("GET /path\r\nHost: a\r\n\r\n"), P_DONE, 9, 0, 11 },
  { LIT("POST /path\r\n"), P_400, 0, 0, 0 },
  { LIT("get /path\r\n"), P_400, 0, 0, 0 },
  { LIT("GET /path \r\n"), P_400, 0, 0, 0 },
  /* request-line syntax */
  { LIT("GET  / HTTP/1.1\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET /  HTTP/1.1\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1 \r\n\r\n"), P_400, 0, 0, 0 },
  { LIT(" GET / HTTP/1.1\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET\t/ HTTP/1.1\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("G(T / HTTP/1.1\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET /a\tb HTTP/1.1\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET /a\x7f HTTP/1.1\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET /a\0b HTTP/1.1\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\rHost: a\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("\rGET / HTTP/1.1\r\n\r\n"), P_400, 0, 0, 0 },
  /* field-line syntax */
  { LIT("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nHo st: a\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nHost a\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nHostA\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\n: a\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n  c\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\n\tX: b\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nX: a\x01" "b\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), P_400, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nX: a\r\n\r\r\n"), P_400, 0, 0, 0 },
  /* incomplete */
  { LIT(""), P_MORE, 0, 0, 0 },
  { LIT("\r\n"), P_MORE, 0, 0, 0 },
  { LIT("GET / HTTP/1.1"), P_MORE, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\n"), P_MORE, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nHost: a\r\n"), P_MORE, 0, 0, 0 },
  { LIT("GET / HTTP/1.1\r\nHost: a\r\n\r"), P_MORE, 0, 0, 0 },
  { LIT("GET /path"), P_MORE, 0, 0, 0 },
};

static void test_table(void)
{
  IH_TEST("table");
  ih_http_limits lim = default_limits();
  static ih_http_request_head h;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const parse_case *c = &cases[i];
    enum ih_http_parse_status st = parse_all_ways(c->in, c->len, &lim, &h);
    if (!IH_EQ_INT(st, c->status))
      ih_test_note("case %zu: %s", i, c->in);
    if (st != IH_PARSE_DONE || c->status != IH_PARSE_DONE)
      continue;
    IH_EQ_INT(h.version, c->version);
    IH_EQ_INT(h.header_count, c->headers);
    IH_EQ_INT(h.head_len, c->head_len < 0 ? c->len : (size_t)c->head_len);
  }
}

/* ---- slices ---- */

static void test_slices(void)
{
  IH_TEST("slices");
  static ih_http_request_head h;
  const char in[] = "POST http://h.example/p?q HTTP/1.1\r\n"
                    "Host:h.example\r\n"
                    "X-Trim: \t value with  inner \t \r\n"
                    "X-Empty:\r\n"
                    "x-case-KEPT:  v\r\n"
                    "\r\nBODY";
  IH_EQ_INT(parse_all_ways(in, sizeof in - 1, NULL, &h), IH_PARSE_DONE);
  IH_EQ_MEM(h.method.p, h.method.n, "POST", 4);
  IH_EQ_MEM(h.target.p, h.target.n, "http://h.example/p?q", 20);
  IH_EQ_INT(h.version, IH_HTTP_11);
  IH_EQ_INT(h.head_len, sizeof in - 1 - 4);
  IH_EQ_INT(h.header_count, 4);
  IH_EQ_MEM(h.headers[0].name.p, h.headers[0].name.n, "Host", 4);
  IH_EQ_MEM(h.headers[0].value.p, h.headers[0].value.n, "h.example", 9);
  IH_EQ_MEM(h.headers[1].value.p, h.headers[1].value.n, "value with  inner", 17);
  IH_EQ_INT(h.headers[2].value.n, 0);
  IH_EQ_MEM(h.headers[3].name.p, h.headers[3].name.n, "x-case-KEPT", 11);
  IH_EQ_MEM(h.headers[3].value.p, h.headers[3].value.n, "v", 1);

  const ih_http_header *f = ih_http_find_header(&h, "x-trim");
  IH_CHECK(f == &h.headers[1]);
  IH_CHECK(ih_http_find_header(&h, "X-CASE-kept") == &h.headers[3]);
  IH_CHECK(ih_http_find_header(&h, "X-Missing") == NULL);
  IH_CHECK(ih_http_find_header(&h, "X-Tri") == NULL);

  /* HTTP/0.9 slices */
  IH_EQ_INT(parse_all_ways(LIT("GET /old\r\n"), NULL, &h), IH_PARSE_DONE);
  IH_EQ_MEM(h.target.p, h.target.n, "/old", 4);
  IH_EQ_INT(h.version, IH_HTTP_09);
  IH_EQ_INT(h.header_count, 0);
}

static void test_error_reasons(void)
{
  IH_TEST("error reasons");
  static ih_http_request_head h;
  IH_EQ_INT(parse_all_ways(LIT("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"), NULL, &h), IH_PARSE_BAD_REQUEST);
  IH_EQ_STR(h.error_reason, "obs-fold in header field");
  IH_EQ_INT(parse_all_ways(LIT("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), NULL, &h), IH_PARSE_BAD_REQUEST);
  IH_EQ_STR(h.error_reason, "space before colon");
  IH_EQ_INT(parse_all_ways(LIT("GET / HTTP/1.1\r\n c: d\r\n\r\n"), NULL, &h), IH_PARSE_BAD_REQUEST);
  IH_EQ_STR(h.error_reason, "whitespace before first header field");
  IH_EQ_INT(parse_all_ways(LIT("GET / HTTP/1.1\rX\r\n\r\n"), NULL, &h), IH_PARSE_BAD_REQUEST);
  IH_EQ_STR(h.error_reason, "bare CR in request line");
  IH_EQ_INT(parse_all_ways(LIT("GET / HTTP/3.0\r\n\r\n"), NULL, &h), IH_PARSE_BAD_VERSION);
  IH_CHECK(h.error_reason != NULL);
}

/* ---- pipelining ---- */

static void test_pipelined(void)
{
  IH_TEST("pipelined");
  static ih_http_request_head h;
  const char in[] = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                    "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /c\r\n";
  size_t first = sizeof "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n" - 1;
  size_t len = sizeof in - 1;
  IH_EQ_INT(parse_all_ways(in, len, NULL, &h), IH_PARSE_DONE);
  IH_EQ_INT(h.head_len, first);
  IH_EQ_MEM(h.target.p, h.target.n, "/a", 2);
  size_t off = first + 3;
  IH_EQ_INT(parse_all_ways(in + off, len - off, NULL, &h), IH_PARSE_DONE);
  IH_EQ_MEM(h.target.p, h.target.n, "/b", 2);
  IH_EQ_INT(h.version, IH_HTTP_11);
  off += h.head_len;
  IH_EQ_INT(parse_all_ways(in + off, len - off, NULL, &h), IH_PARSE_DONE);
  IH_EQ_MEM(h.target.p, h.target.n, "/c", 2);
  IH_EQ_INT(h.version, IH_HTTP_09);
  IH_EQ_INT(off + h.head_len, len);
}

/* ---- limits ---- */

/* Builds "GET /" + pad 'x' + " HTTP/1.1" + rest into buf; returns its length. */
static size_t build_request_line(char *buf, size_t line_len, const char *rest)
{
  size_t pad = line_len - strlen("GET / HTTP/1.1");
  size_t n = 0;
  memcpy(buf, "GET /", 5);
  n = 5;
  memset(buf + n, 'x', pad);
  n += pad;
  memcpy(buf + n, " HTTP/1.1", 9);
  n += 9;
  memcpy(buf + n, rest, strlen(rest));
  return n + strlen(rest);
}

/* Appends a field line "X:" + pad 'v' of exactly line_len bytes (+ CRLF). */
static size_t add_field(char *buf, size_t n, size_t line_len, char name)
{
  buf[n++] = name;
  buf[n++] = ':';
  memset(buf + n, 'v', line_len - 2);
  n += line_len - 2;
  buf[n++] = '\r';
  buf[n++] = '\n';
  return n;
}

static void test_small_limits(void)
{
  IH_TEST("small limits");
  static ih_http_request_head h;
  static char buf[256];
  ih_http_limits lim = { .max_request_line = 20, .max_header_line = 10, .max_header_bytes = 25, .max_headers = 3 };
  size_t n;

  /* request line: 20 bytes ok, 21 too long, even without a line end */
  n = build_request_line(buf, 20, "\r\n\r\n");
  IH_EQ_INT(parse_all_ways(buf, n, &lim, &h), IH_PARSE_DONE);
  n = build_request_line(buf, 21, "\r\n\r\n");
  IH_EQ_INT(parse_all_ways(buf, n, &lim, &h), IH_PARSE_URI_TOO_LONG);
  n = build_request_line(buf, 20, "");
  IH_EQ_INT(parse_all_ways(buf, n, &lim, &h), IH_PARSE_INCOMPLETE);
  n = build_request_line(buf, 20, "\r");
  IH_EQ_INT(parse_all_ways(buf, n, &lim, &h), IH_PARSE_INCOMPLETE);
  n = build_request_line(buf, 21, "");
  IH_EQ_INT(parse_all_ways(buf, n, &lim, &h), IH_PARSE_URI_TOO_LONG);
  IH_EQ_STR(h.error_reason, "request line too long");
  /* leading empty lines count toward the request-line limit */
  memcpy(buf, "\r\n", 2);
  n = 2 + build_request_line(buf + 2, 18, "\r\n\r\n");
  IH_EQ_INT(parse_all_ways(buf, n, &lim, &h), IH_PARSE_DONE);
  n = 2 + build_request_line(buf + 2, 19, "\r\n\r\n");
  IH_EQ_INT(parse_all_ways(buf, n, &lim, &h), IH_PARSE_URI_TOO_LONG);
  memset(buf, '\n', 21);
  IH_EQ_INT(parse_all_ways(buf, IH_HTTP_MAX_EMPTY_LINES, &lim, &h), IH_PARSE_INCOMPLETE);
  IH_EQ_INT(parse_all_ways(buf, IH_HTTP_MAX_EMPTY_LINES + 1, &lim, &h), IH_PARSE_BAD_REQUEST);
  /* an HTTP/0.9 line at the limit */
  n = 0;
  memcpy(buf, "GET /", 5);
  memset(buf + 5, 'p', 15);
  memcpy(buf + 20, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, 22, &lim, &h), IH_PARSE_DONE);
  IH_EQ_INT(h.version, IH_HTTP_09);

  /* one field line: 10 ok, 11 too long, even without a line end */
  n = build_request_line(buf, 14, "\r\n");
  size_t base = n;
  n = add_field(buf, base, 10, 'A');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_DONE);
  n = add_field(buf, base, 11, 'A');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_HEADERS_TOO_LARGE);
  IH_EQ_STR(h.error_reason, "header field line too long");
  IH_EQ_INT(parse_all_ways(buf, n - 2, &lim, &h), IH_PARSE_HEADERS_TOO_LARGE);
  IH_EQ_INT(parse_all_ways(buf, n - 3, &lim, &h), IH_PARSE_INCOMPLETE);

  /* all field lines: 25 ok, 26 too large */
  n = add_field(buf, base, 10, 'A');
  n = add_field(buf, n, 10, 'B');
  size_t two = n;
  n = add_field(buf, two, 5, 'C');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_DONE);
  IH_EQ_INT(h.header_count, 3);
  n = add_field(buf, two, 6, 'C');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_HEADERS_TOO_LARGE);
  IH_EQ_STR(h.error_reason, "header section too large");
  IH_EQ_INT(parse_all_ways(buf, n - 2, &lim, &h), IH_PARSE_HEADERS_TOO_LARGE);

  /* count: 3 ok, a 4th field (even its first byte) too many */
  n = base;
  for (char c = 'A'; c < 'D'; c++)
    n = add_field(buf, n, 3, c);
  size_t three = n;
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_DONE);
  n = add_field(buf, three, 3, 'D');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_HEADERS_TOO_LARGE);
  IH_EQ_STR(h.error_reason, "too many header fields");
  IH_EQ_INT(parse_all_ways(buf, three + 1, &lim, &h), IH_PARSE_HEADERS_TOO_LARGE);
  buf[three] = '\r';
  IH_EQ_INT(parse_all_ways(buf, three + 1, &lim, &h), IH_PARSE_INCOMPLETE);
}

static void test_default_limits(void)
{
  IH_TEST("default limits");
  static ih_http_request_head h;
  static char buf[40000];
  ih_http_limits lim = default_limits();
  IH_EQ_INT(lim.max_request_line, 16384);
  IH_EQ_INT(lim.max_header_line, 16384);
  IH_EQ_INT(lim.max_header_bytes, 16384);
  IH_EQ_INT(lim.max_headers, 100);
  size_t n;

  n = build_request_line(buf, 16384, "\r\n\r\n");
  IH_EQ_INT(parse_all_ways(buf, n, &lim, &h), IH_PARSE_DONE);
  IH_EQ_INT(h.target.n, 16384 - 14 + 1);
  n = build_request_line(buf, 16385, "\r\n\r\n");
  IH_EQ_INT(parse_all_ways(buf, n, &lim, &h), IH_PARSE_URI_TOO_LONG);
  n = build_request_line(buf, 16385, "");
  IH_EQ_INT(parse_all_ways(buf, n, &lim, &h), IH_PARSE_URI_TOO_LONG);
  /* NULL limits mean the defaults */
  IH_EQ_INT(parse_all_ways(buf, n, NULL, &h), IH_PARSE_URI_TOO_LONG);

  size_t base = build_request_line(buf, 14, "\r\n");
  n = add_field(buf, base, 16384, 'X');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_DONE);
  n = add_field(buf, base, 16385, 'X');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_HEADERS_TOO_LARGE);

  n = add_field(buf, base, 8192, 'X');
  n = add_field(buf, n, 8192, 'Y');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_DONE);
  n = add_field(buf, base, 8192, 'X');
  n = add_field(buf, n, 8193, 'Y');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_HEADERS_TOO_LARGE);

  n = base;
  for (int i = 0; i < 100; i++)
    n = add_field(buf, n, 4, 'A');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_DONE);
  IH_EQ_INT(h.header_count, 100);
  n = add_field(buf, n, 4, 'A');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_HEADERS_TOO_LARGE);

  /* max_headers above the array size is clamped to IH_HTTP_MAX_HEADERS */
  lim.max_headers = 1000;
  n = base;
  for (int i = 0; i < IH_HTTP_MAX_HEADERS; i++)
    n = add_field(buf, n, 4, 'A');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_DONE);
  IH_EQ_INT(h.header_count, IH_HTTP_MAX_HEADERS);
  n = add_field(buf, n, 4, 'A');
  memcpy(buf + n, "\r\n", 2);
  IH_EQ_INT(parse_all_ways(buf, n + 2, &lim, &h), IH_PARSE_HEADERS_TOO_LARGE);
}

/* Feeding in uneven pieces, as recv() would, with last_len. */
static void test_pieces(void)
{
  IH_TEST("pieces");
  static ih_http_request_head h;
  const char in[] = "\r\nGET /p HTTP/1.1\r\nHost: a\r\nUser-Agent: t/1\r\nAccept: */*\r\n\r\nnext";
  size_t len = sizeof in - 1;
  for (size_t step = 1; step < 20; step++) {
    size_t last = 0, k = 0;
    enum ih_http_parse_status st = IH_PARSE_INCOMPLETE;
    while (st == IH_PARSE_INCOMPLETE && k < len) {
      k = k + step < len ? k + step : len;
      st = ih_http_parse_request(in, k, last, NULL, &h);
      last = k;
    }
    IH_EQ_INT(st, IH_PARSE_DONE);
    IH_EQ_INT(h.head_len, len - 4);
    IH_EQ_INT(h.header_count, 3);
  }
}

/* ---- framing ---- */

typedef struct framing_case {
  const char *req;
  int status;
  bool chunked;
  uint64_t content_length;
  bool keep_alive;
  bool expect_continue;
} framing_case;

enum { F_OK = IH_FRAMING_OK, F_400 = IH_FRAMING_BAD_REQUEST, F_501 = IH_FRAMING_NOT_IMPLEMENTED,
       F_411 = IH_FRAMING_LENGTH_REQUIRED, F_413 = IH_FRAMING_TOO_LARGE, F_417 = IH_FRAMING_EXPECTATION_FAILED };

#define H11 "GET / HTTP/1.1\r\nHost: a\r\n"
#define P11 "POST / HTTP/1.1\r\nHost: a\r\n"
#define P10 "POST / HTTP/1.0\r\n"
#define TE "Transfer-Encoding: "
#define CL "Content-Length: "
#define END "\r\n\r\n"

static const framing_case framing_cases[] = {
  /* connection persistence (RFC 9112 9.3) */
  { H11 "\r\n", F_OK, false, 0, true, false },
  { H11 "Connection: close" END, F_OK, false, 0, false, false },
  { H11 "Connection: Upgrade, CLOSE" END, F_OK, false, 0, false, false },
  { H11 "Connection: keep-alive" END, F_OK, false, 0, true, false },
  { "GET / HTTP/1.0\r\n\r\n", F_OK, false, 0, false, false },
  { "GET / HTTP/1.0\r\nConnection: Keep-Alive" END, F_OK, false, 0, true, false },
  { "GET / HTTP/1.0\r\nConnection: x\r\nConnection: keep-alive" END, F_OK, false, 0, true, false },
  { "GET / HTTP/1.0\r\nConnection: keep-alive, close" END, F_OK, false, 0, false, false },
  { "GET /\r\n", F_OK, false, 0, false, false },
  { "GET / HTTP/1.2\r\nHost: a\r\n\r\n", F_OK, false, 0, true, false },
  /* Host (RFC 9112 3.2) */
  { "GET / HTTP/1.1\r\n\r\n", F_400, false, 0, true, false },
  { H11 "Host: b" END, F_400, false, 0, true, false },
  { H11 "host: a" END, F_400, false, 0, true, false },
  { "GET / HTTP/1.0\r\nHost: a\r\nHost: a" END, F_400, false, 0, false, false },
  { "GET / HTTP/1.1\r\nHost:" END, F_OK, false, 0, true, false },
  /* Host = uri-host [ ":" port ] (RFC 9110 7.2): anything else is 400 */
  { "GET / HTTP/1.1\r\nHost: example.com:8080" END, F_OK, false, 0, true, false },
  { "GET / HTTP/1.1\r\nHost: [::1]:8080" END, F_OK, false, 0, true, false },
  { "GET / HTTP/1.1\r\nHost: evil example" END, F_400, false, 0, true, false },
  { "GET / HTTP/1.1\r\nHost: localhost/..\\.." END, F_400, false, 0, true, false },
  { "GET / HTTP/1.1\r\nHost: evil.example<script>" END, F_400, false, 0, true, false },
  { "GET / HTTP/1.1\r\nHost: a\tb" END, F_400, false, 0, true, false },
  { "GET / HTTP/1.1\r\nHost: a:" END, F_400, false, 0, true, false },
  { "GET / HTTP/1.1\r\nHost: a:99999" END, F_400, false, 0, true, false },
  { "GET / HTTP/1.1\r\nHost: user@a" END, F_400, false, 0, true, false },
  { "GET / HTTP/1.0\r\nHost: a b" END, F_400, false, 0, false, false },
  { "GET http://a/ HTTP/1.1\r\nHost: a b" END, F_400, false, 0, true, false },
  /* Content-Length (RFC 9110 8.6, RFC 9112 6.3) */
  { P11 CL "5" END, F_OK, false, 5, true, false },
  { P11 CL "0" END, F_OK, false, 0, true, false },
  { P11 CL "007" END, F_OK, false, 7, true, false },
  { P11 CL "5, 5" END, F_OK, false, 5, true, false },
  { P11 CL "5\r\n" CL "5" END, F_OK, false, 5, true, false },
  { P11 CL "1000" END, F_OK, false, 1000, true, false },
  { P11 CL "1001" END, F_413, false, 1001, true, false },
  { P11 CL "18446744073709551615" END, F_413, false, UINT64_MAX, true, false },
  { P11 CL "18446744073709551616" END, F_400, false, 0, true, false },
  { P11 CL "99999999999999999999999" END, F_400, false, 0, true, false },
  { P11 CL "5, 6" END, F_400, false, 0, true, false },
  { P11 CL "5\r\n" CL "6" END, F_400, false, 0, true, false },
  { P11 CL "+5" END, F_400, false, 0, true, false },
  { P11 CL "-1" END, F_400, false, 0, true, false },
  { P11 CL "5 5" END, F_400, false, 0, true, false },
  { P11 CL "0x5" END, F_400, false, 0, true, false },
  { P11 CL "5;" END, F_400, false, 0, true, false },
  { P11 "Content-Length:" END, F_400, false, 0, true, false },
  { P11 CL "," END, F_400, false, 0, true, false },
  { "GET / HTTP/1.1\r\nHost: a\r\n" CL "3" END, F_OK, false, 3, true, false },
  /* Transfer-Encoding (RFC 9112 6.1, 7) */
  { P11 TE "chunked" END, F_OK, true, 0, true, false },
  { P11 TE "Chunked" END, F_OK, true, 0, true, false },
  { H11 TE "chunked" END, F_OK, true, 0, true, false },
  { P11 TE "chunked\r\n" CL "5" END, F_400, false, 0, true, false },
  { P11 CL "5\r\n" TE "chunked" END, F_400, false, 0, true, false },
  { P10 TE "chunked" END, F_400, false, 0, false, false },
  { P11 TE "gzip" END, F_400, false, 0, true, false },
  { P11 TE "identity" END, F_400, false, 0, true, false },
  { P11 TE "chunked, gzip" END, F_400, false, 0, true, false },
  { P11 TE "chunked, chunked" END, F_400, false, 0, true, false },
  { P11 TE "chunked\r\n" TE "chunked" END, F_400, false, 0, true, false },
  { P11 "Transfer-Encoding:" END, F_400, false, 0, true, false },
  { P11 TE "gzip, chunked" END, F_501, false, 0, true, false },
  { P11 TE "gzip\r\n" TE "chunked" END, F_501, false, 0, true, false },
  { P11 TE "chunked;q=1" END, F_400, false, 0, true, false },
  /* length required (IIS) */
  { P11 "\r\n", F_411, false, 0, true, false },
  { "PUT /x HTTP/1.1\r\nHost: a\r\n\r\n", F_411, false, 0, true, false },
  { P10 "\r\n", F_411, false, 0, false, false },
  { "DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n", F_OK, false, 0, true, false },
  /* Expect (RFC 9110 10.1.1) */
  { P11 CL "5\r\nExpect: 100-continue" END, F_OK, false, 5, true, true },
  { P11 CL "5\r\nExpect: 100-Continue" END, F_OK, false, 5, true, true },
  { P10 CL "5\r\nExpect: 100-continue" END, F_OK, false, 5, false, false },
  { P11 CL "5\r\nExpect: 200-ok" END, F_417, false, 5, true, false },
  { P11 CL "5\r\nExpect: 100-continue, x" END, F_417, false, 5, true, false },
  { P11 CL "5\r\nExpect:" END, F_417, false, 5, true, false },
  { P10 CL "5\r\nExpect: foo" END, F_417, false, 5, false, false },
};

static void test_framing(void)
{
  IH_TEST("framing");
  static ih_http_request_head h;
  for (size_t i = 0; i < sizeof framing_cases / sizeof framing_cases[0]; i++) {
    const framing_case *c = &framing_cases[i];
    if (!IH_EQ_INT(parse_all_ways(c->req, strlen(c->req), NULL, &h), IH_PARSE_DONE))
      continue;
    ih_http_framing f;
    int st = ih_http_framing_analyse(&h, 1000, &f);
    if (!IH_EQ_INT(st, c->status))
      ih_test_note("framing case %zu: %s", i, c->req);
    IH_CHECK((st == IH_FRAMING_OK) == (f.error_reason == NULL));
    IH_EQ_INT(f.chunked, c->chunked);
    if (c->status == F_OK || c->status == F_413 || c->content_length)
      IH_EQ_INT(f.content_length, c->content_length);
    IH_EQ_INT(f.client_keep_alive, c->keep_alive);
    if (c->status == F_OK)
      IH_EQ_INT(f.expect_continue, c->expect_continue);
  }
}

static void test_framing_details(void)
{
  IH_TEST("framing details");
  static ih_http_request_head h;
  ih_http_framing f;
  IH_EQ_INT(parse_all_ways(LIT("GET / HTTP/1.1\r\nHost:  www.example.com:80 \r\n\r\n"), NULL, &h), IH_PARSE_DONE);
  IH_EQ_INT(ih_http_framing_analyse(&h, 0, &f), IH_FRAMING_OK);
  IH_EQ_MEM(f.host.p, f.host.n, "www.example.com:80", 18);
  IH_EQ_INT(f.content_length, 0);

  IH_EQ_MEM(f.host_name.p, f.host_name.n, "www.example.com", 15);
  IH_EQ_INT(parse_all_ways(LIT("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), NULL, &h), IH_PARSE_DONE);
  IH_EQ_INT(ih_http_framing_analyse(&h, 0, &f), IH_FRAMING_OK);
  IH_EQ_MEM(f.host_name.p, f.host_name.n, "[::1]", 5);
  IH_EQ_INT(parse_all_ways(LIT("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), NULL, &h), IH_PARSE_DONE);
  IH_EQ_INT(ih_http_framing_analyse(&h, 0, &f), IH_FRAMING_BAD_REQUEST);
  IH_EQ_STR(f.error_reason, "invalid Host field");
  /* RFC 9112 3.2.2: an absolute-form target's host overrides Host */
  IH_EQ_INT(parse_all_ways(LIT("GET http://Other.Example:81/x HTTP/1.1\r\nHost: a:80\r\n\r\n"), NULL, &h),
            IH_PARSE_DONE);
  IH_EQ_INT(ih_http_framing_analyse(&h, 0, &f), IH_FRAMING_OK);
  IH_EQ_MEM(f.host.p, f.host.n, "a:80", 4);
  IH_EQ_MEM(f.host_name.p, f.host_name.n, "Other.Example", 13);
  /* an empty Host names no host */
  IH_EQ_INT(parse_all_ways(LIT("GET / HTTP/1.1\r\nHost:\r\n\r\n"), NULL, &h), IH_PARSE_DONE);
  IH_EQ_INT(ih_http_framing_analyse(&h, 0, &f), IH_FRAMING_OK);
  IH_EQ_INT(f.host_name.n, 0);

  IH_EQ_INT(parse_all_ways(LIT("GET / HTTP/1.0\r\n\r\n"), NULL, &h), IH_PARSE_DONE);
  IH_EQ_INT(ih_http_framing_analyse(&h, 0, &f), IH_FRAMING_OK);
  IH_EQ_INT(f.host.n, 0);
  IH_EQ_INT(f.host_name.n, 0);

  /* max_body bounds Content-Length at exactly the limit */
  IH_EQ_INT(parse_all_ways(LIT("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"), NULL, &h), IH_PARSE_DONE);
  IH_EQ_INT(ih_http_framing_analyse(&h, 0, &f), IH_FRAMING_OK);
  IH_EQ_INT(parse_all_ways(LIT("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n"), NULL, &h), IH_PARSE_DONE);
  IH_EQ_INT(ih_http_framing_analyse(&h, 0, &f), IH_FRAMING_TOO_LARGE);
  IH_CHECK(f.error_reason != NULL);
  IH_EQ_INT(ih_http_framing_analyse(&h, 1, &f), IH_FRAMING_OK);
  IH_EQ_INT(f.content_length, 1);

  IH_EQ_INT(parse_all_ways(LIT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"), NULL, &h),
            IH_PARSE_DONE);
  IH_EQ_INT(ih_http_framing_analyse(&h, 10, &f), IH_FRAMING_BAD_REQUEST);
  IH_EQ_STR(f.error_reason, "chunked not final");
}

int main(void)
{
  test_table();
  test_slices();
  test_error_reasons();
  test_pipelined();
  test_small_limits();
  test_default_limits();
  test_pieces();
  test_framing();
  test_framing_details();
  return ih_test_finish();
}
