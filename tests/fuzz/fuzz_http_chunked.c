/* libFuzzer target for the chunked decoder. Properties: decoding all at
 * once, in data-driven pieces, in place, and into a tiny output buffer give
 * identical status, consumption and output; the decoded total never exceeds
 * max_body and equals the bytes written. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_chunked.h"

#define REQUIRE(c) \
  do {             \
    if (!(c))      \
      abort();     \
  } while (0)

typedef struct result {
  enum ih_chunked_status status;
  size_t used;
  size_t out_len;
} result;

/* Feeds the input in pieces whose sizes come from a small PRNG seeded by
 * `seed`, with at most `cap` bytes of output room per call. */
static result decode_pieces(const char *in, size_t n, uint64_t max_body, uint32_t seed, size_t cap, char *out)
{
  ih_chunked_decoder d;
  ih_chunked_init(&d, max_body);
  result r = { IH_CHUNKED_MORE, 0, 0 };
  while (r.status == IH_CHUNKED_MORE && r.used < n) {
    seed = seed * 1103515245u + 12345u;
    size_t piece = seed ? 1 + (seed >> 16) % 17 : n;
    size_t in_len = n - r.used < piece ? n - r.used : piece;
    size_t used, got;
    r.status = ih_chunked_decode(&d, in + r.used, in_len, &used, out + r.out_len, cap, &got);
    REQUIRE(used <= in_len && got <= cap && got <= used);
    REQUIRE(r.status != IH_CHUNKED_MORE || used == in_len || got == cap);
    r.used += used;
    r.out_len += got;
    REQUIRE(d.total == r.out_len && d.total <= max_body);
  }
  return r;
}

static void same(result a, const char *ao, result b, const char *bo)
{
  REQUIRE(a.status == b.status && a.used == b.used && a.out_len == b.out_len);
  REQUIRE(a.out_len == 0 || memcmp(ao, bo, a.out_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const uint64_t bodies[] = { UINT64_MAX, 64, 0 };
  const char *in = (const char *)data;
  char *ref = malloc(size + 1), *out = malloc(size + 1), *buf = malloc(size + 1);
  uint32_t seed = 2166136261u;
  for (size_t i = 0; i < size; i++)
    seed = (seed ^ data[i]) * 16777619u;
  for (size_t b = 0; b < sizeof bodies / sizeof bodies[0]; b++) {
    ih_chunked_decoder d;
    ih_chunked_init(&d, bodies[b]);
    result whole;
    whole.status = ih_chunked_decode(&d, in, size, &whole.used, ref, size + 1, &whole.out_len);
    REQUIRE(whole.used <= size && whole.out_len <= whole.used);
    REQUIRE(d.total == whole.out_len && d.total <= bodies[b]);
    REQUIRE(whole.status != IH_CHUNKED_MORE || whole.used == size);

    same(whole, ref, decode_pieces(in, size, bodies[b], 0, size + 1, out), out);
    same(whole, ref, decode_pieces(in, size, bodies[b], seed | 1, size + 1, out), out);
    same(whole, ref, decode_pieces(in, size, bodies[b], seed | 1, 1 + seed % 3, out), out);

    /* in place */
    memcpy(buf, in, size);
    ih_chunked_init(&d, bodies[b]);
    result inplace;
    inplace.status = ih_chunked_decode(&d, buf, size, &inplace.used, buf, size, &inplace.out_len);
    same(whole, ref, inplace, buf);
  }
  free(ref);
  free(out);
  free(buf);
  return 0;
}
