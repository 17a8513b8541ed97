/* Strict, incremental HTTP/1.x request-head parser (RFC 9112) and the
 * body-framing decision that follows it.
 *
 * Contract (picohttpparser's shape, llhttp's strictness): a pure function over
 * the caller's buffer. It never allocates and never writes outside *out.
 * Call it again with the same, longer buffer as bytes arrive; `last_len` is
 * the length passed on the previous call (0 the first time) so the search
 * for the end of the head resumes where it stopped. Limits are enforced on
 * incomplete input too, so a client cannot make us buffer past them.
 * Slices in *out point into buf and stay valid while buf does.
 * (Implementation notes: a non-zero last_len promises that the previous call,
 * with the same limits, returned INCOMPLETE. The result never depends on how
 * the input was split. Unless the status is DONE, only error_reason in *out
 * is meaningful. lim may be NULL for the defaults.) */
#ifndef IH_HTTP_PARSE_H
#define IH_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ih_str.h"

#define IH_HTTP_MAX_HEADERS 128 /* hard ceiling of the header array */
#define IH_HTTP_MAX_EMPTY_LINES 4 /* empty lines skipped before a request line */

enum ih_http_version {
  IH_HTTP_09 = 9,  /* "GET /path" CRLF: no headers, response is body only */
  IH_HTTP_10 = 10,
  IH_HTTP_11 = 11, /* also any HTTP/1.x with x > 1 (RFC 9110 2.5) */
};

enum ih_http_parse_status {
  IH_PARSE_DONE = 0,        /* head complete; out->head_len bytes consumed */
  IH_PARSE_INCOMPLETE,      /* need more bytes (limits not yet exceeded) */
  IH_PARSE_BAD_REQUEST,     /* 400: malformed request line or header */
  IH_PARSE_URI_TOO_LONG,    /* 414: request line longer than max_request_line */
  IH_PARSE_HEADERS_TOO_LARGE, /* 431: a header line, the total, or the count is over the limit */
  IH_PARSE_BAD_VERSION,     /* 505: HTTP/2.0 and above on an HTTP/1 connection */
};

typedef struct ih_http_limits {
  size_t max_request_line; /* bytes, without CRLF; http.sys default 16384. Empty
                              lines before the request line count toward it. */
  size_t max_header_line;  /* bytes of one field line (without CRLF); default 16384 */
  size_t max_header_bytes; /* all field lines together (without CRLFs); default 16384 */
  size_t max_headers;      /* count, <= IH_HTTP_MAX_HEADERS; default 100 */
} ih_http_limits;

void ih_http_limits_default(ih_http_limits *lim);

typedef struct ih_http_header {
  ih_slice name;  /* as sent (case kept) */
  ih_slice value; /* OWS trimmed on both sides */
} ih_http_header;

typedef struct ih_http_request_head {
  ih_slice method;
  ih_slice target;  /* request-target exactly as sent */
  int version;      /* enum ih_http_version */
  size_t header_count;
  ih_http_header headers[IH_HTTP_MAX_HEADERS];
  size_t head_len;  /* bytes of the whole head incl. the final empty line */
  const char *error_reason; /* static text for the log when status is an error */
} ih_http_request_head;

/* Parses the request head at buf[0..len). Rules (RFC 9112 §2-5):
 * - up to IH_HTTP_MAX_EMPTY_LINES empty lines (CRLF or LF) before the
 *   request line are skipped (2.2); one more is an error;
 * - line ends are CRLF; a bare LF is accepted, a bare CR is an error (2.2);
 *   one that starts a line before the request line is reported as soon as
 *   the byte after it arrives, without waiting for the line to end;
 * - request-line = method SP request-target SP HTTP-version, single SPs;
 *   method is a token; target has no CTL/SP; "GET target" CRLF alone is
 *   HTTP/0.9 (only GET) and ends the head right there;
 * - HTTP-version is case-sensitive "HTTP/" DIGIT "." DIGIT; 1.x>1 → 11,
 *   major >= 2 → 505, anything else → 400;
 * - field-name is a token, no whitespace before the colon (5.1 → 400);
 *   obs-fold (a line starting with SP/HTAB) → 400 (5.2);
 *   field values with CTLs other than HTAB → 400, obs-text (0x80-0xFF) allowed. */
enum ih_http_parse_status ih_http_parse_request(const char *buf, size_t len, size_t last_len,
                                                const ih_http_limits *lim, ih_http_request_head *out);

/* First header whose name matches (case-insensitive), or NULL. */
const ih_http_header *ih_http_find_header(const ih_http_request_head *h, const char *name);

/* ---- Body framing and connection semantics (RFC 9112 §6, §9.3) ---- */

enum ih_http_framing_status {
  IH_FRAMING_OK = 0,
  IH_FRAMING_BAD_REQUEST,     /* 400: CL+TE, bad or conflicting CL, TE in 1.0, chunked not final,
                                 missing/duplicate Host in 1.1, ... (reason set) */
  IH_FRAMING_NOT_IMPLEMENTED, /* 501: a transfer-coding other than chunked */
  IH_FRAMING_LENGTH_REQUIRED, /* 411: POST or PUT with neither Content-Length nor chunked (IIS rule) */
  IH_FRAMING_TOO_LARGE,       /* 413: Content-Length above max_body */
  IH_FRAMING_EXPECTATION_FAILED, /* 417: Expect with anything but 100-continue */
};

typedef struct ih_http_framing {
  bool chunked;           /* body is chunked (Transfer-Encoding: chunked, final) */
  uint64_t content_length;/* valid when !chunked; 0 = no body */
  bool client_keep_alive; /* 1.1: unless "Connection: close"; 1.0: only "Connection: keep-alive"; 0.9: never */
  bool expect_continue;   /* "Expect: 100-continue" on HTTP/1.1 */
  ih_slice host;          /* Host field value as sent (empty if absent) */
  ih_slice host_name;     /* the request's host without port: the absolute-form
                             target's, else the Host field's; empty when neither
                             names one. Site routing and SERVER_NAME use this. */
  const char *error_reason;
} ih_http_framing;

/* The Host rules alone (RFC 9112 3.2, 3.2.2; RFC 9110 7.2): one Host field
 * (exactly one in HTTP/1.1) whose value is empty or a valid
 * uri-host [ ":" port ] (url_canon.h's ih_host_parse), else BAD_REQUEST;
 * sets out->host and out->host_name. ih_http_framing_analyse calls it; so
 * does whoever lets a head be changed after it was parsed (filters). */
enum ih_http_framing_status ih_http_request_host(const ih_http_request_head *h, ih_http_framing *out);

/* Decides how the body is delimited and whether the client wants the
 * connection kept. max_body bounds Content-Length (chunked bodies are bounded
 * by the chunked decoder). */
enum ih_http_framing_status ih_http_framing_analyse(const ih_http_request_head *h, uint64_t max_body,
                                                    ih_http_framing *out);

#endif
