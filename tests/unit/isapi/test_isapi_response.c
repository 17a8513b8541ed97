/* Unit tests for isapi/shared/isapi_response.c: status strings, header text of
 * SEND_RESPONSE_HEADER(_EX), and raw heads written by WriteClient.
 * Table-driven, with the inputs real DLLs send (Apache PR 29098 status lines,
 * missing final CRLF, bodies after the blank line, "Status:") and hostile ones
 * (conflicting or overflowing lengths, NUL, stray CR, folding). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ih_test.h"
#include "isapi/shared/isapi_response.h"

#define L(lit) lit, sizeof(lit) - 1

/* ---- status ---- */

static void test_status(void)
{
  IH_TEST("ih_isapi_parse_status table");
  static const struct {
    const char *in;
    size_t len; /* (size_t)-1: strlen */
    int code;
    const char *reason;
  } v[] = {
    { NULL, 0, 200, "OK" },
    { NULL, 25, 200, "OK" },
    { "", (size_t)-1, 200, "OK" },
    { " \t\r\n", (size_t)-1, 200, "OK" },
    { "200 OK", (size_t)-1, 200, "OK" },
    { "HTTP/1.1 200 OK", (size_t)-1, 200, "OK" },
    { "HTTP/1.0 404 Not Found", (size_t)-1, 404, "Not Found" },
    { "http/1.0 404 Gone Away", (size_t)-1, 404, "Gone Away" },
    { "HTTP/1.1\t201\tCreated", (size_t)-1, 201, "Created" },
    { "301", (size_t)-1, 301, "Moved Permanently" },
    { "Status: 302 Found", (size_t)-1, 302, "Found" },
    { "status:302", (size_t)-1, 302, "Found" },
    { "STATUS:  HTTP/1.1 500 Oops", (size_t)-1, 500, "Oops" },
    { "200 OK\r\n", (size_t)-1, 200, "OK" },
    { "200 OK\r\nSet-Cookie: x=1", (size_t)-1, 200, "OK" },
    { "200\r\nSet-Cookie: x=1", (size_t)-1, 200, "OK" },
    { "  404   Not   Found  ", (size_t)-1, 404, "Not   Found" },
    { "299", (size_t)-1, 299, "" },
    { "299 Custom Thing", (size_t)-1, 299, "Custom Thing" },
    { "999", (size_t)-1, 999, "" },
    { "100", (size_t)-1, 100, "Continue" },
    { "200 O\x01K\t", (size_t)-1, 200, "O K" },
    { "200 \x01\x02", (size_t)-1, 200, "OK" },
    { "200 caf\xC3\xA9", (size_t)-1, 200, "caf\xC3\xA9" },
    { "200 OK\0garbage", 14, 200, "OK" },
    { "404 Not Found", 3, 404, "Not Found" },
    { "404 Not Found", 5, 404, "N" },
    /* no valid code */
    { "099 Low", (size_t)-1, -1, "" },
    { "000", (size_t)-1, -1, "" },
    { "2000 OK", (size_t)-1, -1, "" },
    { "20 OK", (size_t)-1, -1, "" },
    { "200OK", (size_t)-1, -1, "" },
    { "OK", (size_t)-1, -1, "" },
    { "HTTP/1.1", (size_t)-1, -1, "" },
    { "HTTP/1.1 ", (size_t)-1, -1, "" },
    { "HTTP/1.1 OK 200", (size_t)-1, -1, "" },
    { "-200 OK", (size_t)-1, -1, "" },
    { "+200", (size_t)-1, -1, "" },
    { "Status:", (size_t)-1, -1, "" },
    { "Status: ", (size_t)-1, -1, "" },
    { "99999999999999999999 Big", (size_t)-1, -1, "" },
    { "4294967496", (size_t)-1, -1, "" },
    { "\0" "200 OK", 7, 200, "OK" }, /* a leading NUL: empty string */
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char reason[64];
    memset(reason, 'Z', sizeof reason);
    size_t len = v[i].len == (size_t)-1 ? strlen(v[i].in) : v[i].len;
    int code = ih_isapi_parse_status(v[i].in, len, reason, sizeof reason);
    int fails = ih_test_failures();
    IH_EQ_INT(code, v[i].code);
    IH_EQ_STR(reason, v[i].reason);
    if (ih_test_failures() != fails)
      ih_test_note("status row %zu", i);
    /* reason_out is optional */
    IH_EQ_INT(ih_isapi_parse_status(v[i].in, len, NULL, 0), v[i].code);
  }

  IH_TEST("reason truncated to the buffer, always NUL-terminated");
  char small[4];
  IH_EQ_INT(ih_isapi_parse_status(L("200 Very Long Reason"), small, sizeof small), 200);
  IH_EQ_STR(small, "Ver");
  IH_EQ_INT(ih_isapi_parse_status(L("404"), small, sizeof small), 404);
  IH_EQ_STR(small, "Not");
  char one[1] = { 'x' };
  IH_EQ_INT(ih_isapi_parse_status(L("200 OK"), one, 1), 200);
  IH_EQ_INT(one[0], 0);
}

/* ---- header text ---- */

typedef struct hrow {
  const char *in;
  size_t len;           /* 0: strlen(in) */
  const char *out;
  const char *body;     /* NULL: no empty line */
  int status;
  int cl;               /* -1: no valid Content-Length */
  bool cl_present;
  bool te;
  bool chunked;
  bool close;
  bool keep_alive;
  bool delimited;
  int kept;
  int dropped;
} hrow;

static const hrow hrows[] = {
  /* what the SDK documents, and the usual deviations */
  { .in = "Content-Type: text/html\r\n\r\n", .out = "Content-Type: text/html\r\n", .body = "", .cl = -1, .kept = 1 },
  { .in = "Content-Type: text/html\r\n", .out = "Content-Type: text/html\r\n", .cl = -1, .kept = 1 },
  { .in = "Content-Type: text/html", .out = "Content-Type: text/html\r\n", .cl = -1, .kept = 1 },
  { .in = "Content-Type: text/html\n\n<html>", .out = "Content-Type: text/html\r\n", .body = "<html>", .cl = -1,
    .kept = 1 },
  { .in = "Content-Type: text/html\r\nContent-Length: 5\r\n\r\nhello",
    .out = "Content-Type: text/html\r\nContent-Length: 5\r\n", .body = "hello", .cl = 5, .cl_present = true,
    .delimited = true, .kept = 2 },
  { .in = "A: 1\r\nB: 2\nC: 3\r\n", .out = "A: 1\r\nB: 2\r\nC: 3\r\n", .cl = -1, .kept = 3 },
  { .in = "", .out = "", .cl = -1 },
  { .in = "\r\n", .out = "", .body = "", .cl = -1 },
  { .in = "\r\n<html>", .out = "", .body = "<html>", .cl = -1 },
  { .in = "\n\n", .out = "", .body = "\n", .cl = -1 },
  { .in = "X: y\r\n\r\n\r\nbody", .out = "X: y\r\n", .body = "\r\nbody", .cl = -1, .kept = 1 },
  { .in = "X: y\r", .out = "X: y\r\n", .cl = -1, .kept = 1 },
  { .in = "X: y\r\r\n\r\n", .out = "X: y\r\n", .body = "", .cl = -1, .kept = 1 },
  { .in = "X: y\r\n\r", .out = "X: y\r\n", .body = "", .cl = -1, .kept = 1 },
  /* NUL ends the text (cchHeader = strlen + 1, or too large) */
  { .in = "Content-Type: text/html\r\n\r\n", .len = 28, .out = "Content-Type: text/html\r\n", .body = "", .cl = -1,
    .kept = 1 },
  { .in = "X: a\0b\r\nY: c", .len = 12, .out = "X: a\r\n", .cl = -1, .kept = 1 },
  { .in = "\0X: a", .len = 5, .out = "", .cl = -1 },
  { .in = "X: a\r\n\r\nbo\0dy", .len = 13, .out = "X: a\r\n", .body = "bo", .cl = -1, .kept = 1 },
  /* Content-Length */
  { .in = "Content-Length: 5\r\nContent-Length: 5\r\n", .out = "Content-Length: 5\r\n", .cl = 5, .cl_present = true,
    .delimited = true, .kept = 1 },
  { .in = "Content-Length: 5\r\nContent-Length: 6\r\n", .out = "", .cl = -1, .cl_present = true },
  { .in = "Content-Length: 6\r\nX: 1\r\nContent-Length: 5\r\n", .out = "X: 1\r\n", .cl = -1, .cl_present = true,
    .kept = 1 },
  { .in = "Content-Length: -1", .out = "", .cl = -1, .cl_present = true },
  { .in = "Content-Length: +5", .out = "", .cl = -1, .cl_present = true },
  { .in = "Content-Length: 0x10", .out = "", .cl = -1, .cl_present = true },
  { .in = "Content-Length: 5 5", .out = "", .cl = -1, .cl_present = true },
  { .in = "Content-Length: ", .out = "", .cl = -1, .cl_present = true },
  { .in = "Content-Length: ,", .out = "", .cl = -1, .cl_present = true },
  { .in = "Content-Length: 5, 6", .out = "", .cl = -1, .cl_present = true },
  { .in = "Content-Length: 5, 5", .out = "Content-Length: 5\r\n", .cl = 5, .cl_present = true, .delimited = true,
    .kept = 1 },
  { .in = "Content-Length: 18446744073709551616", .out = "", .cl = -1, .cl_present = true },
  { .in = "Content-Length: 99999999999999999999999999", .out = "", .cl = -1, .cl_present = true },
  { .in = "content-length: 007", .out = "content-length: 7\r\n", .cl = 7, .cl_present = true, .delimited = true,
    .kept = 1 },
  { .in = "Content-Length: 0", .out = "Content-Length: 0\r\n", .cl = 0, .cl_present = true, .delimited = true,
    .kept = 1 },
  { .in = "Content-Length : 3", .out = "Content-Length: 3\r\n", .cl = 3, .cl_present = true, .delimited = true,
    .kept = 1 },
  /* a damaged Content-Length still poisons the length */
  { .in = "Content-Length: 5\x01\r\nContent-Length: 5", .out = "", .cl = -1, .cl_present = true, .dropped = 1 },
  { .in = "Content-Length: 5\r\n 6\r\n", .out = "", .cl = -1, .cl_present = true, .dropped = 2 },
  /* Transfer-Encoding */
  { .in = "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", .out = "Transfer-Encoding: chunked\r\n", .cl = 5,
    .cl_present = true, .te = true, .chunked = true, .delimited = true, .kept = 1 },
  { .in = "Transfer-Encoding: gzip, chunked", .out = "Transfer-Encoding: gzip, chunked\r\n", .cl = -1, .te = true,
    .chunked = true, .delimited = true, .kept = 1 },
  { .in = "Transfer-Encoding: CHUNKED", .out = "Transfer-Encoding: CHUNKED\r\n", .cl = -1, .te = true,
    .chunked = true, .delimited = true, .kept = 1 },
  { .in = "Transfer-Encoding: chunked, gzip", .out = "Transfer-Encoding: chunked, gzip\r\n", .cl = -1, .te = true,
    .kept = 1 },
  { .in = "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
    .out = "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", .cl = -1, .te = true, .kept = 2 },
  { .in = "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked",
    .out = "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", .cl = -1, .te = true, .chunked = true,
    .delimited = true, .kept = 2 },
  { .in = "Transfer-Encoding: gzip\r\nContent-Length: 5", .out = "Transfer-Encoding: gzip\r\n", .cl = 5,
    .cl_present = true, .te = true, .kept = 1 },
  { .in = "Transfer-Encoding: chunked\x01", .out = "", .cl = -1, .te = true, .dropped = 1 },
  { .in = "Transfer-Encoding: gzip\x01\r\nTransfer-Encoding: chunked\r\nX: 1", .out = "X: 1\r\n", .cl = -1,
    .te = true, .kept = 1, .dropped = 1 }, /* one bad line: no Transfer-Encoding at all */
  { .in = "Transfer-Encoding: chunked\r\nTransfer-Encoding:\r\n gzip", .out = "", .cl = -1, .te = true,
    .dropped = 2 },
  { .in = "Transfer-Encoding:", .out = "Transfer-Encoding:\r\n", .cl = -1, .te = true, .kept = 1 },
  /* Connection and Status are consumed */
  { .in = "Connection: close\r\nX-A: 1", .out = "X-A: 1\r\n", .cl = -1, .close = true, .kept = 1 },
  { .in = "Connection: Keep-Alive, Upgrade", .out = "", .cl = -1, .keep_alive = true },
  { .in = "Connection: keep-alive\r\n close", .out = "", .cl = -1, .close = true, .keep_alive = true },
  { .in = "Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\n", .out = "Content-Type: text/plain\r\n",
    .body = "", .status = 404, .cl = -1, .kept = 1 },
  { .in = "Status: 201\r\nStatus: 202", .out = "", .status = 201, .cl = -1 },
  { .in = "Status: abc\r\nX: y", .out = "X: y\r\n", .cl = -1, .kept = 1 },
  { .in = "Status:\r\nStatus: 410", .out = "", .status = 410, .cl = -1 },
  { .in = "Status: 200\r\n x", .out = "", .cl = -1, .dropped = 2 },
  { .in = "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n", .out = "Location: /x\r\n", .body = "", .status = 302,
    .cl = -1, .kept = 1 },
  { .in = "HTTP/1.1 junk\r\nX: y", .out = "X: y\r\n", .cl = -1, .kept = 1, .dropped = 1 },
  { .in = "X: y\r\nHTTP/1.1 200 OK\r\n", .out = "X: y\r\n", .cl = -1, .kept = 1, .dropped = 1 },
  { .in = "HTTP/1.1 404 Nope\r\nStatus: 500\r\n", .out = "", .status = 404, .cl = -1 },
  /* malformed lines are dropped */
  { .in = "X: a\rY: b\r\nZ: c", .out = "Z: c\r\n", .cl = -1, .kept = 1, .dropped = 1 },
  { .in = "garbage\r\nX: y", .out = "X: y\r\n", .cl = -1, .kept = 1, .dropped = 1 },
  { .in = "X Y: z\r\n", .out = "", .cl = -1, .dropped = 1 },
  { .in = ": x\r\n", .out = "", .cl = -1, .dropped = 1 },
  { .in = "X(: x\r\n", .out = "", .cl = -1, .dropped = 1 },
  { .in = "X: a\x01" "b\r\n", .out = "", .cl = -1, .dropped = 1 },
  { .in = "X: a\x7f" "b\r\n", .out = "", .cl = -1, .dropped = 1 },
  { .in = "X: caf\xE9", .out = "X: caf\xE9\r\n", .cl = -1, .kept = 1 },
  { .in = "X: a\tb", .out = "X: a\tb\r\n", .cl = -1, .kept = 1 },
  { .in = "X-Empty:", .out = "X-Empty:\r\n", .cl = -1, .kept = 1 },
  { .in = "X-Empty: \t ", .out = "X-Empty:\r\n", .cl = -1, .kept = 1 },
  { .in = "X:no-space", .out = "X: no-space\r\n", .cl = -1, .kept = 1 },
  { .in = "X: a: b", .out = "X: a: b\r\n", .cl = -1, .kept = 1 },
  /* obs-fold */
  { .in = "X: a\r\n  b\r\n\tc\r\nY: d", .out = "X: a b c\r\nY: d\r\n", .cl = -1, .kept = 2 },
  { .in = "X:\r\n b", .out = "X: b\r\n", .cl = -1, .kept = 1 },
  { .in = "X: a\r\n \r\nY: d", .out = "X: a\r\nY: d\r\n", .cl = -1, .kept = 2 },
  { .in = "  a\r\nX: y", .out = "X: y\r\n", .cl = -1, .kept = 1, .dropped = 1 },
  { .in = "bad\r\n cont\r\nX: y", .out = "X: y\r\n", .cl = -1, .kept = 1, .dropped = 2 },
  { .in = "X: a\r\n b\x01\r\nY: d", .out = "Y: d\r\n", .cl = -1, .kept = 1, .dropped = 2 },
};

static void check_hrow(size_t i, const hrow *r)
{
  size_t len = r->len ? r->len : strlen(r->in);
  size_t cap = IH_ISAPI_HEADERS_OUT_MAX(len);
  char *out = malloc(cap + 1);
  ih_isapi_header_info info;
  bool ok = ih_isapi_parse_headers(r->in, len, out, cap, &info);
  int fails = ih_test_failures();
  IH_CHECK(ok);
  IH_EQ_MEM(out, info.out_len, r->out, strlen(r->out));
  if (r->body) {
    IH_CHECK(info.has_body);
    IH_EQ_MEM(info.body.p, info.body.n, r->body, strlen(r->body));
    IH_CHECK(info.body.p >= r->in && info.body.p + info.body.n <= r->in + len);
  } else {
    IH_CHECK(!info.has_body);
    IH_CHECK(info.body.p == NULL && info.body.n == 0);
  }
  IH_EQ_INT(info.status, r->status);
  IH_EQ_INT(info.content_length_valid, r->cl >= 0);
  IH_EQ_INT(info.content_length, r->cl >= 0 ? r->cl : 0);
  IH_EQ_INT(info.content_length_present, r->cl_present || r->cl >= 0);
  IH_EQ_INT(info.transfer_encoding, r->te);
  IH_EQ_INT(info.chunked, r->chunked);
  IH_EQ_INT(info.conn_close, r->close);
  IH_EQ_INT(info.conn_keep_alive, r->keep_alive);
  IH_EQ_INT(info.delimited, r->delimited);
  IH_EQ_INT(info.lines_kept, r->kept);
  IH_EQ_INT(info.lines_dropped, r->dropped);
  if (ih_test_failures() != fails)
    ih_test_note("header row %zu: \"%s\"", i, r->in);

  /* exact size works; one byte less fails and reports the size */
  size_t need = info.out_len;
  char *exact = malloc(need ? need : 1);
  ih_isapi_header_info again;
  IH_CHECK(ih_isapi_parse_headers(r->in, len, exact, need, &again));
  IH_EQ_MEM(exact, again.out_len, out, need);
  if (need) {
    IH_CHECK(!ih_isapi_parse_headers(r->in, len, exact, need - 1, &again));
    IH_EQ_INT(again.out_len, need);
    IH_EQ_INT(again.delimited, info.delimited); /* the rest is filled in anyway */
    IH_EQ_INT(again.status, info.status);
  }
  IH_EQ_INT(ih_isapi_parse_headers(r->in, len, NULL, 0, &again), need == 0);
  IH_EQ_INT(again.out_len, need);
  free(exact);
  free(out);
}

static void test_headers(void)
{
  IH_TEST("ih_isapi_parse_headers table");
  for (size_t i = 0; i < sizeof hrows / sizeof hrows[0]; i++)
    check_hrow(i, &hrows[i]);

  IH_TEST("NULL text");
  ih_isapi_header_info info;
  char out[8];
  IH_CHECK(ih_isapi_parse_headers(NULL, 0, out, sizeof out, &info));
  IH_EQ_INT(info.out_len, 0);
  IH_CHECK(!info.has_body);

  IH_TEST("worst-case growth stays within IH_ISAPI_HEADERS_OUT_MAX");
  static const char *units[] = { "a:b\n", "a:\n", "a:b\n c\n", "a:" };
  for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
    size_t ulen = strlen(units[u]), n = 1000;
    char *in = malloc(ulen * n);
    for (size_t i = 0; i < n; i++)
      memcpy(in + i * ulen, units[u], ulen);
    size_t cap = IH_ISAPI_HEADERS_OUT_MAX(ulen * n);
    char *o = malloc(cap);
    IH_CHECK(ih_isapi_parse_headers(in, ulen * n, o, cap, &info));
    IH_CHECK(info.out_len <= cap);
    free(o);
    free(in);
  }

  IH_TEST("huge header text: 200,000 fields, one enormous value");
  size_t n = 200000;
  char *big = malloc(n * 6);
  for (size_t i = 0; i < n; i++)
    memcpy(big + i * 6, "X: 1\r\n", 6);
  char *o = malloc(IH_ISAPI_HEADERS_OUT_MAX(n * 6));
  IH_CHECK(ih_isapi_parse_headers(big, n * 6, o, IH_ISAPI_HEADERS_OUT_MAX(n * 6), &info));
  IH_EQ_INT(info.lines_kept, n);
  IH_EQ_INT(info.out_len, n * 6);
  memset(big, 'v', n * 6);
  memcpy(big, "Content-Length: ", 16);
  memset(big + 16, '9', n * 6 - 16);
  IH_CHECK(ih_isapi_parse_headers(big, n * 6, o, IH_ISAPI_HEADERS_OUT_MAX(n * 6), &info));
  IH_CHECK(info.content_length_present && !info.content_length_valid && !info.delimited);
  IH_EQ_INT(info.out_len, 0);
  free(o);
  free(big);
}

/* ---- raw heads ---- */

typedef struct rrow {
  const char *in;
  size_t len; /* 0: strlen */
  enum ih_isapi_raw_kind kind;
  int status;
  int version;
  const char *rest; /* COMPLETE: what follows the head */
} rrow;

static const rrow rrows[] = {
  { .in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", .kind = IH_ISAPI_RAW_COMPLETE, .status = 200,
    .version = 11, .rest = "hello" },
  { .in = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", .kind = IH_ISAPI_RAW_COMPLETE, .status = 200,
    .version = 10, .rest = "hello" },
  { .in = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\nConnection: Keep-Alive\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE,
    .status = 200, .version = 10, .rest = "" },
  { .in = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE,
    .status = 200, .version = 11, .rest = "" },
  { .in = "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 5\r\n\r\n",
    .kind = IH_ISAPI_RAW_COMPLETE, .status = 200, .version = 11, .rest = "" },
  { .in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello", .kind = IH_ISAPI_RAW_COMPLETE,
    .status = 200, .version = 11, .rest = "5\r\nhello" },
  { .in = "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE, .status = 200,
    .version = 10, .rest = "" },
  { .in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
    .kind = IH_ISAPI_RAW_COMPLETE, .status = 200, .version = 11, .rest = "" },
  { .in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE,
    .status = 200, .version = 11, .rest = "" },
  { .in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE,
    .status = 200, .version = 11, .rest = "" },
  { .in = "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE,
    .status = 200, .version = 11, .rest = "" },
  { .in = "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE, .status = 200,
    .version = 11, .rest = "" },
  { .in = "HTTP/1.1 200 OK\r\n\r\nbody", .kind = IH_ISAPI_RAW_COMPLETE, .status = 200, .version = 11,
    .rest = "body" },
  { .in = "HTTP/1.1 204 No Content\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE, .status = 204, .version = 11,
    .rest = "" },
  { .in = "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE, .status = 304,
    .version = 11, .rest = "" },
  { .in = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", .kind = IH_ISAPI_RAW_COMPLETE, .status = 100,
    .version = 11, .rest = "HTTP/1.1 200 OK\r\n" },
  { .in = "HTTP/1.1 200\nContent-Length: 0\n\n", .kind = IH_ISAPI_RAW_COMPLETE, .status = 200, .version = 11,
    .rest = "" },
  { .in = "HTTP/1.9 200 OK\r\nContent-Length: 0\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE, .status = 200,
    .version = 11, .rest = "" },
  /* malformed field lines: the head still ends at its empty line */
  { .in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nBad line\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE,
    .status = 200, .version = 11, .rest = "" },
  { .in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: a\r\n b\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE,
    .status = 200, .version = 11, .rest = "" },
  { .in = "HTTP/1.1 200 OK\r\nX: a\0b\r\nContent-Length: 1\r\n\r\nz", .len = 47, .kind = IH_ISAPI_RAW_COMPLETE,
    .status = 200, .version = 11, .rest = "z" },
  { .in = "HTTP/1.1 200 O\0K\r\nContent-Length: 1\r\n\r\nz", .len = 40, .kind = IH_ISAPI_RAW_COMPLETE,
    .status = 200, .version = 11, .rest = "z" },
  { .in = "HTTP/1.1 200 O\rK\r\nContent-Length: 1\r\n\r\nz", .kind = IH_ISAPI_RAW_COMPLETE, .status = 200,
    .version = 11, .rest = "z" },
  { .in = "HTTP/1.1 200 OK\r\nContent-Length: 5\x01\r\n\r\n", .kind = IH_ISAPI_RAW_COMPLETE, .status = 200,
    .version = 11, .rest = "" },
  /* head not complete in this write */
  { .in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", .kind = IH_ISAPI_RAW_PARTIAL, .status = 200, .version = 11 },
  { .in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r", .kind = IH_ISAPI_RAW_PARTIAL, .status = 200,
    .version = 11 },
  { .in = "HTTP/1.1 200 OK", .kind = IH_ISAPI_RAW_PARTIAL, .status = 200, .version = 11 },
  { .in = "HTTP/1.0 404", .kind = IH_ISAPI_RAW_PARTIAL, .status = 404, .version = 10 },
  /* not a status line */
  { .in = "HTTP/1.1 20", .kind = IH_ISAPI_RAW_NOT_HTTP },
  { .in = "<html>hello</html>", .kind = IH_ISAPI_RAW_NOT_HTTP },
  { .in = "Content-Type: text/html\r\n\r\nbody", .kind = IH_ISAPI_RAW_NOT_HTTP },
  { .in = "http/1.1 200 OK\r\n\r\n", .kind = IH_ISAPI_RAW_NOT_HTTP },
  { .in = "HTTP/2.0 200 OK\r\n\r\n", .kind = IH_ISAPI_RAW_NOT_HTTP },
  { .in = "HTTP/1.1 2000 OK\r\n\r\n", .kind = IH_ISAPI_RAW_NOT_HTTP },
  { .in = "HTTP/1.1 099 Low\r\n\r\n", .kind = IH_ISAPI_RAW_NOT_HTTP },
  { .in = "HTTP/1.1  200 OK\r\n\r\n", .kind = IH_ISAPI_RAW_NOT_HTTP },
  { .in = " HTTP/1.1 200 OK\r\n\r\n", .kind = IH_ISAPI_RAW_NOT_HTTP },
  { .in = "HTTP/1.x 200 OK\r\n\r\n", .kind = IH_ISAPI_RAW_NOT_HTTP },
  { .in = "HTTP/1.1 -20 OK\r\n\r\n", .kind = IH_ISAPI_RAW_NOT_HTTP },
  { .in = "", .kind = IH_ISAPI_RAW_NOT_HTTP },
};

static void test_raw(void)
{
  IH_TEST("ih_isapi_sniff_raw_head table");
  for (size_t i = 0; i < sizeof rrows / sizeof rrows[0]; i++) {
    const rrow *r = &rrows[i];
    size_t len = r->len ? r->len : strlen(r->in);
    ih_isapi_raw_head h;
    memset(&h, 0x5A, sizeof h);
    int fails = ih_test_failures();
    IH_EQ_INT(ih_isapi_sniff_raw_head(r->in, len, &h), r->kind);
    IH_EQ_INT(h.status, r->status);
    IH_EQ_INT(h.version, r->version);
    if (r->kind == IH_ISAPI_RAW_COMPLETE) {
      IH_EQ_MEM(r->in + h.head_len, len - h.head_len, r->rest, strlen(r->rest));
    } else {
      IH_EQ_INT(h.head_len, 0);
    }
    if (ih_test_failures() != fails)
      ih_test_note("raw row %zu: \"%s\"", i, r->in);
  }

  IH_TEST("NULL data; a long head");
  ih_isapi_raw_head h;
  IH_EQ_INT(ih_isapi_sniff_raw_head(NULL, 0, &h), IH_ISAPI_RAW_NOT_HTTP);
  size_t n = 100000;
  const char *pre = "HTTP/1.1 200 OK\r\n";
  size_t plen = strlen(pre);
  char *big = malloc(plen + n * 6 + 2 + 21);
  memcpy(big, pre, plen);
  for (size_t i = 0; i < n; i++)
    memcpy(big + plen + i * 6, "X: 1\r\n", 6);
  memcpy(big + plen + n * 6, "Content-Length: 0\r\n\r\n", 21);
  size_t total = plen + n * 6 + 21;
  IH_EQ_INT(ih_isapi_sniff_raw_head(big, total, &h), IH_ISAPI_RAW_COMPLETE);
  IH_EQ_INT(h.head_len, total);
  IH_EQ_INT(ih_isapi_sniff_raw_head(big, total - 2, &h), IH_ISAPI_RAW_PARTIAL);
  free(big);
}

int main(void)
{
  test_status();
  test_headers();
  test_raw();
  return ih_test_finish();
}
