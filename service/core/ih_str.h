/* Length-delimited strings (slices into someone else's buffer) and the few
 * ASCII helpers HTTP needs. Portable: no windows.h. */
#ifndef IH_STR_H
#define IH_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A view of n bytes at p; never owns memory and is not NUL-terminated. */
typedef struct ih_slice {
  const char *p;
  size_t n;
} ih_slice;

#define IH_SLICE_LIT(s) ((ih_slice){ (s), sizeof(s) - 1 })

ih_slice ih_slice_from_cstr(const char *s);
bool ih_slice_eq(ih_slice a, ih_slice b);
/* ASCII case-insensitive equality, as HTTP field names and tokens compare. */
bool ih_slice_ieq(ih_slice a, ih_slice b);
bool ih_slice_ieq_cstr(ih_slice a, const char *s);
/* Removes leading and trailing SP and HTAB (RFC 9110 5.6.3 OWS). */
ih_slice ih_slice_trim_ows(ih_slice s);
/* Iterates a comma-separated list (RFC 9110 5.6.1), skipping empty elements.
 * *rest is advanced; returns false when no element is left. */
bool ih_slice_next_list_item(ih_slice *rest, ih_slice *item);
/* True if the comma-separated list s contains token (case-insensitive). */
bool ih_slice_list_has_token(ih_slice s, const char *token);

static inline char ih_ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }
/* RFC 9110 5.6.2 tchar. */
bool ih_is_tchar(unsigned char c);
static inline bool ih_is_digit(char c) { return c >= '0' && c <= '9'; }
/* Value of a hex digit (either case), or -1. */
int ih_hex_value(unsigned char c);
/* 1*DIGIT as an unsigned 64-bit number: no sign, no spaces, no overflow
 * (leading zeros allowed). False for anything else. */
bool ih_parse_u64(ih_slice s, uint64_t *out);

#endif
