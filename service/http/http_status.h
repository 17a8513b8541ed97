/* Status codes: reason phrases and the small HTML bodies of default error
 * responses. Portable. */
#ifndef IH_HTTP_STATUS_H
#define IH_HTTP_STATUS_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 9110 §15 reason phrase ("Not Found"); "Unknown" for unknown codes. */
const char *ih_http_reason(int status);
/* Writes a short text/html body for an error status; returns its length
 * (0 if cap is too small). Contains no request data (no reflection).
 * The body is NUL-terminated, so cap must exceed the length by one. */
size_t ih_http_error_body(int status, char *out, size_t cap);

/* True when a response with this status has no content, whatever its
 * header fields say: 1xx (RFC 9110 15.2, the head ends at its empty line),
 * 204 (15.3.5) and 304 (15.4.5). Such a response is delimited by its head
 * alone; a body written for it is never sent, and it carries no
 * Content-Length of ours (RFC 9110 8.6 forbids one in 1xx and 204; in 304
 * it would describe the representation, not this response). */
bool ih_http_status_has_no_body(int status);
/* The whole rule of RFC 9110 6.4.1: the status above, or a response to
 * HEAD (9.3.2). The one test every response writer uses. */
bool ih_http_response_has_no_body(int status, bool head_request);

#endif
