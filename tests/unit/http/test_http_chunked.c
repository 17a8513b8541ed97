/* Unit tests for service/http/http_chunked.c. Every case is decoded all at
 * once, byte by byte, in place, in odd-sized pieces and into a one-byte
 * output buffer; all must give the same status, consumption and output. */
#include "http/http_chunked.h"
#include "ih_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIT(s) s, sizeof(s) - 1

enum { C_MORE = IH_CHUNKED_MORE, C_DONE = IH_CHUNKED_DONE, C_ERR = IH_CHUNKED_ERROR, C_BIG = IH_CHUNKED_TOO_LARGE };

typedef struct result {
  int status;
  size_t used;
  size_t out_len;
  uint64_t total;
} result;

/* Feeds in[0..n) in pieces of `piece` input bytes and with at most `cap`
 * bytes of output room per call, until a final status or the input ends. */
static result decode_pieces(const char *in, size_t n, uint64_t max_body, size_t piece, size_t cap, char *out)
{
  ih_chunked_decoder d;
  ih_chunked_init(&d, max_body);
  result r = { IH_CHUNKED_MORE, 0, 0, 0 };
  bool bounds_ok = true;
  while (r.used < n && r.status == IH_CHUNKED_MORE) {
    size_t in_len = n - r.used < piece ? n - r.used : piece;
    size_t used, got;
    r.status = ih_chunked_decode(&d, in + r.used, in_len, &used, out + r.out_len, cap, &got);
    bounds_ok &= used <= in_len && got <= cap;
    /* MORE uses all the input unless the output filled up */
    bounds_ok &= r.status != IH_CHUNKED_MORE || used == in_len || got == cap;
    r.used += used;
    r.out_len += got;
  }
  IH_CHECK(bounds_ok);
  r.total = d.total;
  return r;
}

static result decode_in_place(const char *in, size_t n, uint64_t max_body, char **buf)
{
  ih_chunked_decoder d;
  ih_chunked_init(&d, max_body);
  *buf = malloc(n ? n : 1);
  memcpy(*buf, in, n);
  result r;
  r.status = ih_chunked_decode(&d, *buf, n, &r.used, *buf, n, &r.out_len);
  r.total = d.total;
  return r;
}

/* Runs every feeding strategy on one input and checks they agree with the
 * expectations. want_used < 0 means the whole input. */
static void check_decode(const char *in, size_t n, uint64_t max_body, int want_status, const char *want,
                         size_t want_len, long want_used)
{
  size_t used = want_used < 0 ? n : (size_t)want_used;
  char *out = malloc(n + 1);
  static const struct { size_t piece, cap; } ways[] = {
    { (size_t)-1, (size_t)-1 }, { 1, (size_t)-1 }, { 2, (size_t)-1 }, { 3, (size_t)-1 }, { 7, (size_t)-1 },
    { (size_t)-1, 1 }, { 5, 2 },
  };
  for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++) {
    size_t cap = ways[w].cap == (size_t)-1 ? n + 1 : ways[w].cap;
    result r = decode_pieces(in, n, max_body, ways[w].piece, cap, out);
    int ok = IH_EQ_INT(r.status, want_status);
    ok &= IH_EQ_INT(r.used, used);
    ok &= IH_EQ_MEM(out, r.out_len, want, want_len);
    ok &= IH_EQ_INT(r.total, r.out_len);
    if (!ok)
      ih_test_note("way %zu, input: %.*s", w, (int)(n < 60 ? n : 60), in);
  }
  char *buf;
  result r = decode_in_place(in, n, max_body, &buf);
  IH_EQ_INT(r.status, want_status);
  IH_EQ_INT(r.used, used);
  IH_EQ_MEM(buf, r.out_len, want, want_len);
  free(buf);
  free(out);
}

typedef struct chunked_case {
  const char *in;
  size_t len;
  uint64_t max_body;
  int status;
  const char *want;
  size_t want_len;
  long used; /* -1: the whole input */
} chunked_case;

#define ANY UINT64_MAX

static const chunked_case cases[] = {
  /* normal */
  { LIT("5\r\nhello\r\n0\r\n\r\n"), ANY, C_DONE, LIT("hello"), -1 },
  { LIT("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), ANY, C_DONE, LIT("hello world"), -1 },
  { LIT("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n"), ANY, C_DONE, LIT("0123456789abcdefghij"), -1 },
  { LIT("0005\r\nhello\r\n000\r\n\r\n"), ANY, C_DONE, LIT("hello"), -1 },
  { LIT("0\r\n\r\n"), ANY, C_DONE, LIT(""), -1 },
  { LIT("5\nhello\n0\n\n"), ANY, C_DONE, LIT("hello"), -1 },
  { LIT("3\r\n\r\n\0\r\n0\r\n\r\n"), ANY, C_DONE, LIT("\r\n\0"), -1 },
  /* incomplete */
  { LIT(""), ANY, C_MORE, LIT(""), -1 },
  { LIT("5"), ANY, C_MORE, LIT(""), -1 },
  { LIT("5\r\nhel"), ANY, C_MORE, LIT("hel"), -1 },
  { LIT("5\r\nhello\r"), ANY, C_MORE, LIT("hello"), -1 },
  { LIT("5\r\nhello\r\n0\r\n"), ANY, C_MORE, LIT("hello"), -1 },
  { LIT("5\r\nhello\r\n0\r\nX: y\r\n\r"), ANY, C_MORE, LIT("hello"), -1 },
  /* DONE leaves *in_used at the next message */
  { LIT("0\r\n\r\nGET / HTTP/1.1\r\n\r\n"), ANY, C_DONE, LIT(""), 5 },
  { LIT("2\r\nab\r\n0\r\nT: v\r\n\r\nPOST"), ANY, C_DONE, LIT("ab"), 18 },
  { LIT("0\n\nx"), ANY, C_DONE, LIT(""), 3 },
  /* extensions (RFC 9112 7.1.1) */
  { LIT("5;name=value\r\nhello\r\n0;last\r\n\r\n"), ANY, C_DONE, LIT("hello"), -1 },
  { LIT("5 ; a = b ;c\t;d= e\r\nhello\r\n0\r\n\r\n"), ANY, C_DONE, LIT("hello"), -1 },
  { LIT("5;a=\"x y;\\\"z\"\r\nhello\r\n0\r\n\r\n"), ANY, C_DONE, LIT("hello"), -1 },
  { LIT("5;a=\"\" ;b\r\nhello\r\n0\r\n\r\n"), ANY, C_DONE, LIT("hello"), -1 },
  { LIT("5 \t ;a \t =b\r\nhello\r\n0\r\n\r\n"), ANY, C_DONE, LIT("hello"), -1 },
  { LIT("5;a=\"\x80\"\r\nhello\r\n0\r\n\r\n"), ANY, C_DONE, LIT("hello"), -1 },
  { LIT("5;\r\nhello"), ANY, C_ERR, LIT(""), 2 },
  { LIT("5;=x\r\n"), ANY, C_ERR, LIT(""), 2 },
  { LIT("5 \r\nhello"), ANY, C_ERR, LIT(""), 2 },
  { LIT("5;a \r\nhello"), ANY, C_ERR, LIT(""), 4 },
  { LIT("5;a=\r\n"), ANY, C_ERR, LIT(""), 4 },
  { LIT("5;a b\r\n"), ANY, C_ERR, LIT(""), 4 },
  { LIT("5;a=b=c\r\n"), ANY, C_ERR, LIT(""), 5 },
  { LIT("5;a=\"x\r\n"), ANY, C_ERR, LIT(""), 6 },
  { LIT("5;a=\"x\"y\r\n"), ANY, C_ERR, LIT(""), 7 },
  { LIT("5;a=\"\\\x01\"\r\n"), ANY, C_ERR, LIT(""), 6 },
  /* trailers */
  { LIT("5\r\nhello\r\n0\r\nX-Sum: abc\r\nEmpty:\r\n\r\n"), ANY, C_DONE, LIT("hello"), -1 },
  { LIT("0\r\nX: a\tb\x80\r\n\r\n"), ANY, C_DONE, LIT(""), -1 },
  { LIT("0\nX: a\n\n"), ANY, C_DONE, LIT(""), -1 },
  { LIT("0\r\nX: a\r\n b\r\n\r\n"), ANY, C_ERR, LIT(""), 9 },
  { LIT("0\r\nX a\r\n\r\n"), ANY, C_ERR, LIT(""), 4 },
  { LIT("0\r\n: a\r\n\r\n"), ANY, C_ERR, LIT(""), 3 },
  { LIT("0\r\nX: a\x01\r\n\r\n"), ANY, C_ERR, LIT(""), 7 },
  { LIT("0\r\nX: a\rb\r\n\r\n"), ANY, C_ERR, LIT(""), 8 },
  { LIT("0\r\n\rx"), ANY, C_ERR, LIT(""), 4 },
  /* framing errors */
  { LIT("5\r\nhelloX\r\n0\r\n\r\n"), ANY, C_ERR, LIT("hello"), 8 },
  { LIT("5\r\nhello\rX"), ANY, C_ERR, LIT("hello"), 9 },
  { LIT("5\r\nhello0\r\n\r\n"), ANY, C_ERR, LIT("hello"), 8 },
  { LIT("g\r\n"), ANY, C_ERR, LIT(""), 0 },
  { LIT("\r\n"), ANY, C_ERR, LIT(""), 0 },
  { LIT(";a\r\n"), ANY, C_ERR, LIT(""), 0 },
  { LIT("-5\r\n"), ANY, C_ERR, LIT(""), 0 },
  { LIT("+5\r\n"), ANY, C_ERR, LIT(""), 0 },
  { LIT("0x5\r\n"), ANY, C_ERR, LIT(""), 1 },
  { LIT(" 5\r\n"), ANY, C_ERR, LIT(""), 0 },
  { LIT("5\rhello"), ANY, C_ERR, LIT(""), 2 },
  { LIT("5\r\nhello\r\n5 5\r\n"), ANY, C_ERR, LIT("hello"), 12 },
  /* sizes: overflow and max_body */
  { LIT("000000000000000a\r\n"), ANY, C_MORE, LIT(""), -1 },
  { LIT("0000000000000000a\r\n"), ANY, C_BIG, LIT(""), 16 },
  { LIT("ffffffffffffffff\r\n"), ANY, C_MORE, LIT(""), -1 },
  { LIT("ffffffffffffffff0\r\n"), ANY, C_BIG, LIT(""), 16 },
  { LIT("10000000000000000\r\n"), ANY, C_BIG, LIT(""), 16 },
  { LIT("1\r\nx\r\nffffffffffffffff\r\n"), ANY, C_BIG, LIT("x"), 21 },
  { LIT("a\r\n0123456789\r\n0\r\n\r\n"), 10, C_DONE, LIT("0123456789"), -1 },
  { LIT("b\r\n0123456789a\r\n0\r\n\r\n"), 10, C_BIG, LIT(""), 0 },
  { LIT("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), 10, C_DONE, LIT("helloworld"), -1 },
  { LIT("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), 10, C_BIG, LIT("hello"), 10 },
  { LIT("5\r\nhello\r\n10\r\n"), 10, C_BIG, LIT("hello"), 11 },
  { LIT("0\r\n\r\n"), 0, C_DONE, LIT(""), -1 },
  { LIT("1\r\n"), 0, C_BIG, LIT(""), 0 },
  { LIT("00000\r\n\r\n"), 0, C_DONE, LIT(""), -1 },
};

static void test_table(void)
{
  IH_TEST("table");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const chunked_case *c = &cases[i];
    int fails = ih_test_failures();
    check_decode(c->in, c->len, c->max_body, c->status, c->want, c->want_len, c->used);
    if (ih_test_failures() != fails)
      ih_test_note("case %zu", i);
  }
}

/* Size-line and trailer limits, at exactly the limit and one past it. */
static void test_limits(void)
{
  IH_TEST("limits");
  static char buf[IH_CHUNKED_MAX_TRAILERS + 64];
  size_t n;

  /* "1;" + name: the size line, without CRLF, is IH_CHUNKED_MAX_LINE bytes */
  memcpy(buf, "1;", 2);
  memset(buf + 2, 'e', IH_CHUNKED_MAX_LINE - 2);
  n = IH_CHUNKED_MAX_LINE;
  memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 10);
  check_decode(buf, n + 10, ANY, C_DONE, "x", 1, -1);
  memset(buf + 2, 'e', IH_CHUNKED_MAX_LINE - 1);
  n = IH_CHUNKED_MAX_LINE + 1;
  memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 10);
  check_decode(buf, n + 10, ANY, C_ERR, "", 0, IH_CHUNKED_MAX_LINE);

  /* trailer section (all its bytes, line ends included) of exactly the limit */
  memcpy(buf, "0\r\nX:", 5);
  size_t pad = IH_CHUNKED_MAX_TRAILERS - 6;
  memset(buf + 5, 'v', pad);
  n = 5 + pad;
  memcpy(buf + n, "\r\n\r\n", 4);
  check_decode(buf, n + 4, ANY, C_DONE, "", 0, -1);
  memset(buf + 5, 'v', pad + 1);
  n = 5 + pad + 1;
  memcpy(buf + n, "\r\n\r\n", 4);
  check_decode(buf, n + 4, ANY, C_ERR, "", 0, 3 + IH_CHUNKED_MAX_TRAILERS);
}

/* A large body in many chunks, decoded in place and in pieces. */
static void test_large(void)
{
  IH_TEST("large");
  size_t cap = 1 << 16;
  char *in = malloc(cap), *want = malloc(cap);
  size_t n = 0, w = 0;
  for (size_t size = 1; size < 300; size += 7) {
    n += (size_t)sprintf(in + n, "%zx;i=%zu\r\n", size, size);
    for (size_t k = 0; k < size; k++)
      in[n++] = want[w++] = (char)('a' + (k + size) % 26);
    in[n++] = '\r';
    in[n++] = '\n';
  }
  n += (size_t)sprintf(in + n, "0\r\nDigest: x\r\n\r\n");
  check_decode(in, n, ANY, C_DONE, want, w, -1);
  check_decode(in, n, w, C_DONE, want, w, -1);
  free(in);
  free(want);
}

static void test_sticky(void)
{
  IH_TEST("sticky final states");
  ih_chunked_decoder d;
  char out[16];
  size_t used, got;
  ih_chunked_init(&d, ANY);
  IH_EQ_INT(ih_chunked_decode(&d, LIT("0\r\n\r\nabc"), &used, out, sizeof out, &got), IH_CHUNKED_DONE);
  IH_EQ_INT(used, 5);
  IH_EQ_INT(ih_chunked_decode(&d, LIT("1\r\na\r\n"), &used, out, sizeof out, &got), IH_CHUNKED_DONE);
  IH_EQ_INT(used, 0);
  IH_EQ_INT(got, 0);

  ih_chunked_init(&d, ANY);
  IH_EQ_INT(ih_chunked_decode(&d, LIT("z"), &used, out, sizeof out, &got), IH_CHUNKED_ERROR);
  IH_EQ_INT(ih_chunked_decode(&d, LIT("0\r\n\r\n"), &used, out, sizeof out, &got), IH_CHUNKED_ERROR);
  IH_EQ_INT(used, 0);

  ih_chunked_init(&d, 1);
  IH_EQ_INT(ih_chunked_decode(&d, LIT("2"), &used, out, sizeof out, &got), IH_CHUNKED_TOO_LARGE);
  IH_EQ_INT(ih_chunked_decode(&d, LIT("\r\n"), &used, out, sizeof out, &got), IH_CHUNKED_TOO_LARGE);

  /* output room 0: framing still advances, data waits */
  ih_chunked_init(&d, ANY);
  IH_EQ_INT(ih_chunked_decode(&d, LIT("3\r\nabc\r\n"), &used, out, 0, &got), IH_CHUNKED_MORE);
  IH_EQ_INT(used, 3);
  IH_EQ_INT(got, 0);
  IH_EQ_INT(ih_chunked_decode(&d, LIT("abc\r\n0\r\n\r\n"), &used, out, sizeof out, &got), IH_CHUNKED_DONE);
  IH_EQ_MEM(out, got, "abc", 3);
  IH_EQ_INT(d.total, 3);
}

int main(void)
{
  test_table();
  test_limits();
  test_large();
  test_sticky();
  return ih_test_finish();
}
