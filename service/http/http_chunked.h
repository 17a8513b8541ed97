/* Incremental decoder for the chunked transfer coding (RFC 9112 §7.1).
 * Pure and allocation-free; may decode in place (out == in). Sizes are checked
 * for overflow before they are used; chunk extensions and trailer fields are
 * accepted and discarded within fixed limits. */
#ifndef IH_HTTP_CHUNKED_H
#define IH_HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

enum ih_chunked_status {
  IH_CHUNKED_MORE = 0, /* all of the input was used, or out filled up first
                          (then *in_used < in_len: call again with the rest) */
  IH_CHUNKED_DONE,     /* last-chunk and trailers seen; *in_used marks the next message */
  IH_CHUNKED_ERROR,    /* malformed (400) */
  IH_CHUNKED_TOO_LARGE,/* decoded body would exceed max_body (413) */
};

typedef struct ih_chunked_decoder {
  int state;            /* private */
  uint64_t chunk_left;  /* private: data bytes left in the current chunk */
  uint64_t total;       /* decoded body bytes so far */
  uint64_t max_body;
  size_t line_len;      /* private: length of the current size/ext/trailer line */
  size_t trailer_bytes; /* private */
  int size_digits;      /* private */
} ih_chunked_decoder;

#define IH_CHUNKED_MAX_LINE 4096       /* chunk-size line incl. extensions */
#define IH_CHUNKED_MAX_TRAILERS 16384  /* all trailer lines together, CRLFs included;
                                          over it is IH_CHUNKED_ERROR */

void ih_chunked_init(ih_chunked_decoder *d, uint64_t max_body);

/* Decodes in[0..in_len) and appends decoded data to out (capacity out_cap).
 * out may equal in (in-place) but must not otherwise overlap it. Stops early
 * when out is full. *in_used = input bytes consumed, *out_len = bytes written. */
enum ih_chunked_status ih_chunked_decode(ih_chunked_decoder *d, const char *in, size_t in_len, size_t *in_used,
                                         char *out, size_t out_cap, size_t *out_len);

#endif
