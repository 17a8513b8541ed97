/* Status codes: reason phrases and the small HTML bodies of default error
 * responses. Portable. */
#ifndef IH_HTTP_STATUS_H
#define IH_HTTP_STATUS_H

#include <stddef.h>

/* RFC 9110 §15 reason phrase ("Not Found"); "Unknown" for unknown codes. */
const char *ih_http_reason(int status);
/* Writes a short text/html body for an error status; returns its length
 * (0 if cap is too small). Contains no request data (no reflection).
 * The body is NUL-terminated, so cap must exceed the length by one. */
size_t ih_http_error_body(int status, char *out, size_t cap);

#endif
