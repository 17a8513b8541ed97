/* libFuzzer target for the request-head parser and framing analysis.
 * Properties: the whole buffer and a piecewise feed (with and without
 * last_len) agree; consumption stays within the input; slices lie inside it;
 * errors carry a reason; framing never reports a length over max_body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_parse.h"

#define REQUIRE(c) \
  do {             \
    if (!(c))      \
      abort();     \
  } while (0)

static bool inside(ih_slice s, const char *buf, size_t len)
{
  return s.n == 0 || (s.p >= buf && s.p + s.n <= buf + len);
}

static void check_head(const char *buf, size_t len, enum ih_http_parse_status st, const ih_http_request_head *h,
                       const ih_http_limits *lim)
{
  REQUIRE(st >= IH_PARSE_DONE && st <= IH_PARSE_BAD_VERSION);
  REQUIRE((st == IH_PARSE_DONE || st == IH_PARSE_INCOMPLETE) == (h->error_reason == NULL));
  if (st != IH_PARSE_DONE)
    return;
  REQUIRE(h->head_len > 0 && h->head_len <= len);
  REQUIRE(h->version == IH_HTTP_09 || h->version == IH_HTTP_10 || h->version == IH_HTTP_11);
  REQUIRE(h->header_count <= lim->max_headers && h->header_count <= IH_HTTP_MAX_HEADERS);
  REQUIRE(h->method.n > 0 && inside(h->method, buf, h->head_len));
  REQUIRE(h->target.n > 0 && inside(h->target, buf, h->head_len));
  size_t total = 0;
  for (size_t i = 0; i < h->header_count; i++) {
    REQUIRE(h->headers[i].name.n > 0 && inside(h->headers[i].name, buf, h->head_len));
    REQUIRE(inside(h->headers[i].value, buf, h->head_len));
    REQUIRE(h->headers[i].name.n + 1 + h->headers[i].value.n <= lim->max_header_line);
    total += h->headers[i].name.n + 1 + h->headers[i].value.n;
  }
  REQUIRE(total <= lim->max_header_bytes);
}

static void check_framing(const char *buf, size_t len, const ih_http_request_head *h)
{
  static const uint64_t bodies[] = { 0, 100, UINT64_MAX };
  for (size_t i = 0; i < 3; i++) {
    ih_http_framing f;
    enum ih_http_framing_status st = ih_http_framing_analyse(h, bodies[i], &f);
    REQUIRE(st >= IH_FRAMING_OK && st <= IH_FRAMING_EXPECTATION_FAILED);
    REQUIRE((st == IH_FRAMING_OK) == (f.error_reason == NULL));
    REQUIRE(inside(f.host, buf, len));
    if (st == IH_FRAMING_OK) {
      REQUIRE(!f.chunked || f.content_length == 0);
      REQUIRE(f.content_length <= bodies[i]);
      REQUIRE(h->version != IH_HTTP_09 || !f.client_keep_alive);
    }
  }
}

/* Feeds buf[0..len) in growing prefixes, each an exactly sized heap copy so
 * that a read past the prefix is caught by ASan; compares with `whole`. */
static void check_incremental(const uint8_t *data, size_t len, const ih_http_limits *lim, bool use_last,
                              enum ih_http_parse_status whole, const ih_http_request_head *wh)
{
  static ih_http_request_head h;
  size_t step = len > 512 ? 1 + len / 97 : 1;
  size_t last = 0, k = 0;
  enum ih_http_parse_status st = IH_PARSE_INCOMPLETE;
  while (k < len) {
    k = k + step < len ? k + step : len;
    /* vary the step a little, driven by the data */
    if (step > 1 && k < len)
      k -= data[k] % step;
    char *copy = malloc(k);
    memcpy(copy, data, k);
    st = ih_http_parse_request(copy, k, use_last ? last : 0, lim, &h);
    check_head(copy, k, st, &h, lim);
    if (st == IH_PARSE_DONE) {
      REQUIRE(h.head_len == wh->head_len && h.header_count == wh->header_count && h.version == wh->version);
      REQUIRE(h.method.p - copy == wh->method.p - (const char *)data && h.method.n == wh->method.n);
      REQUIRE(h.target.p - copy == wh->target.p - (const char *)data && h.target.n == wh->target.n);
      for (size_t i = 0; i < h.header_count; i++) {
        REQUIRE(h.headers[i].name.p - copy == wh->headers[i].name.p - (const char *)data);
        REQUIRE(h.headers[i].value.p - copy == wh->headers[i].value.p - (const char *)data);
        REQUIRE(h.headers[i].value.n == wh->headers[i].value.n);
      }
      if (step == 1)
        REQUIRE(k == h.head_len);
    }
    free(copy);
    last = k;
    if (st != IH_PARSE_INCOMPLETE)
      break;
  }
  REQUIRE(st == whole);
  if (st != IH_PARSE_DONE && st != IH_PARSE_INCOMPLETE)
    REQUIRE(strcmp(h.error_reason, wh->error_reason) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static ih_http_request_head whole;
  ih_http_limits lims[2];
  ih_http_limits_default(&lims[0]);
  lims[1] = (ih_http_limits){ .max_request_line = 40, .max_header_line = 24, .max_header_bytes = 64,
                              .max_headers = 4 };
  const char *buf = (const char *)data;
  for (int i = 0; i < 2; i++) {
    enum ih_http_parse_status st = ih_http_parse_request(buf, size, 0, &lims[i], &whole);
    check_head(buf, size, st, &whole, &lims[i]);
    check_incremental(data, size, &lims[i], true, st, &whole);
    check_incremental(data, size, &lims[i], false, st, &whole);
    if (st == IH_PARSE_DONE) {
      check_framing(buf, size, &whole);
      /* a pipelined follower parses independently */
      if (whole.head_len < size) {
        static ih_http_request_head next;
        enum ih_http_parse_status st2 =
          ih_http_parse_request(buf + whole.head_len, size - whole.head_len, 0, &lims[i], &next);
        check_head(buf + whole.head_len, size - whole.head_len, st2, &next, &lims[i]);
      }
    }
  }
  return 0;
}
