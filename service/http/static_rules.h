/* Static-file decisions that depend only on request fields and file metadata:
 * HTTP dates, entity tags, conditional requests (RFC 9110 §13) and single
 * byte ranges (RFC 9110 §14). Portable; file I/O happens elsewhere. */
#ifndef IH_STATIC_RULES_H
#define IH_STATIC_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ih_str.h"

#define IH_HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* IMF-fixdate; out needs IH_HTTP_DATE_LEN + 1 bytes (NUL-terminated).
 * Times outside 1970-01-01 .. 9999-12-31 23:59:59 UTC are clamped. */
void ih_http_date_format(int64_t unix_seconds, char *out);
/* Accepts IMF-fixdate, RFC 850 and asctime forms (RFC 9110 5.6.7), years
 * 1970..9999, exact-case names; RFC 850 two-digit years: 70..99 -> 19xx,
 * 00..69 -> 20xx. On failure *unix_seconds is left untouched. */
bool ih_http_date_parse(ih_slice s, int64_t *unix_seconds);

/* Strong validator from modification time and size: "\"<hex>:<hex>\"".
 * out needs 48 bytes; returns the length. */
size_t ih_etag_make(int64_t mtime_unix, uint64_t size, char *out);

enum ih_cond_result {
  IH_COND_PROCEED = 0,
  IH_COND_NOT_MODIFIED,        /* 304 (GET/HEAD only) */
  IH_COND_PRECONDITION_FAILED, /* 412 */
};

typedef struct ih_cond_fields {
  ih_slice if_match, if_none_match, if_modified_since, if_unmodified_since; /* empty = absent */
} ih_cond_fields;

/* RFC 9110 13.2.2 evaluation order; If-None-Match uses weak comparison,
 * If-Match strong; dates compare at one-second resolution. */
enum ih_cond_result ih_conditional_eval(const ih_cond_fields *f, bool get_or_head, ih_slice etag,
                                        int64_t mtime_unix);

enum ih_range_result {
  IH_RANGE_FULL = 0,          /* no usable Range: send 200 with the whole file */
  IH_RANGE_PARTIAL,           /* 206: *first, *length */
  IH_RANGE_UNSATISFIABLE,     /* 416 with "Content-Range: bytes * /size" */
};

/* Evaluates Range (and If-Range) for a GET of a representation of `size`
 * bytes. Only a single "bytes=" range is honoured: several ranges, another
 * unit or bad syntax fall back to IH_RANGE_FULL (RFC 9110 14.2 allows
 * ignoring Range). If-Range that does not match (strong etag, or an exact
 * Last-Modified date) also gives IH_RANGE_FULL.
 * Outputs are always set: PARTIAL gives length > 0 and first + length <= size;
 * FULL gives 0 / size; UNSATISFIABLE gives 0 / 0. Numbers longer than 64 bits
 * are evaluated exactly (huge first-pos -> UNSATISFIABLE, huge last-pos or
 * suffix-length -> clipped). For size 0 a non-zero suffix-range gives FULL:
 * RFC 9110 14.1.2 calls it satisfiable, but no 206 can describe it. */
enum ih_range_result ih_range_eval(ih_slice range, ih_slice if_range, ih_slice etag, int64_t mtime_unix,
                                   uint64_t size, uint64_t *first, uint64_t *length);

#endif
