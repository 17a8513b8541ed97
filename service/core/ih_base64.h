/* Base64 decoding (RFC 4648 section 4), for HTTP Basic credentials
 * (RFC 7617). Portable. */
#ifndef IH_BASE64_H
#define IH_BASE64_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ih_str.h"

/* Decodes in into out[0..cap) and NUL-terminates it; *len gets the byte
 * count. False for a character outside the alphabet, misplaced padding,
 * leftover bits, or output (plus the NUL) longer than cap. */
bool ih_base64_decode(ih_slice in, char *out, size_t cap, size_t *len);

#endif
