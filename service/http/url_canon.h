/* Request-target handling before any file access: split, percent-decode once,
 * validate UTF-8, remove dot segments, and refuse names that Windows would
 * alias to another file. Portable and allocation-free.
 *
 * The result is the canonical URL path used for routing, logging and (via
 * the site's virtual directories) file lookup: it starts with '/', uses '/'
 * only, has no empty, "." or ".." segments, and keeps a trailing '/' when the
 * request had one. */
#ifndef IH_URL_CANON_H
#define IH_URL_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ih_str.h"

enum ih_url_status {
  IH_URL_OK = 0,
  IH_URL_BAD_FORM,      /* not origin-form/absolute-form/"*" */
  IH_URL_BAD_ESCAPE,    /* '%' not followed by two hex digits */
  IH_URL_NUL,           /* %00 (or a raw NUL) */
  IH_URL_BAD_UTF8,      /* invalid, overlong or surrogate UTF-8 after decoding */
  IH_URL_CONTROL,       /* decoded control character (0x01-0x1F, 0x7F) */
  IH_URL_ABOVE_ROOT,    /* ".." would leave the root */
  IH_URL_STREAM,        /* ':' in a segment (NTFS alternate data stream, drive letter) */
  IH_URL_TRAILING_DOT_SPACE, /* segment ends in '.' or ' ' (Windows strips them) */
  IH_URL_DEVICE_NAME,   /* CON, PRN, AUX, NUL, COM0-9, LPT0-9, CONIN$, CONOUT$ (any extension) */
  IH_URL_SHORT_NAME,    /* looks like an 8.3 short name ("PROGRA~1") */
  IH_URL_UNC,           /* "\\\\?\\", "\\\\.\\" or UNC "//server" forms */
  IH_URL_TOO_LONG,      /* output would exceed the caller's buffer */
};

/* An authority as a Host field value (RFC 9110 7.2) or an absolute-form
 * target (RFC 9112 3.2.2) carries it: uri-host [ ":" port ] (RFC 3986
 * 3.2.2-3.2.3), without userinfo. */
typedef struct ih_host {
  ih_slice name;  /* uri-host as sent: reg-name or IPv4address, or an
                     IP-literal with its brackets ("[::1]"); into authority */
  bool has_port;
  uint16_t port;
} ih_host;

/* Parses authority[0..n). True when it is a valid uri-host [ ":" port ]:
 * the host is a non-empty reg-name (unreserved, pct-encoded, sub-delims: no
 * SP, CTL, '/', '\', '<', '@' ...) or an IP-literal in brackets, and a
 * port, when the ':' is there, is 1 to 5 digits up to 65535 (an empty port
 * is refused, as http.sys does). On false *out is zeroed. This is the one
 * host parser: Host fields, absolute-form targets, routing and SERVER_NAME
 * all take the host from it. */
bool ih_host_parse(ih_slice authority, ih_host *out);

/* Text for logs ("percent escape is not two hex digits", ...). */
const char *ih_url_status_text(enum ih_url_status st);

/* Splits a request-target into path, query and (for absolute-form) host.
 * "*" yields path "*". The fragment never reaches a server, '#' is an error.
 * Returns IH_URL_OK or IH_URL_BAD_FORM.
 *
 * Details: origin-form is "/path[?query]"; absolute-form is
 * "http[s]://authority[/path][?query]" (scheme case-insensitive), where
 * *host is the authority as written, "host[:port]" (what a Host header
 * would carry; RFC 9112 §3.2.2), and an empty path becomes "/" (a static
 * string, not part of target). Userinfo ('@'), an empty host or a bad port
 * is BAD_FORM, as is any raw SP, control byte or DEL anywhere in target.
 * The query excludes the '?'; query->p is NULL when there was no '?', and
 * host->p is NULL unless absolute-form. Slices point into target. Any out
 * pointer may be NULL; on error all are set to { NULL, 0 }. */
enum ih_url_status ih_url_split(ih_slice target, ih_slice *path, ih_slice *query, ih_slice *host);

/* Canonicalises a raw (still percent-encoded) path into out[0..out_cap),
 * NUL-terminated; *out_len excludes the NUL. '\\' (raw or %5C) is treated as
 * '/'. Percent-decoding happens exactly once: "%252e" becomes "%2e", a
 * literal file name, never "." .
 *
 * Details: "%2F" also separates segments (the output is decoded, so it could
 * not be told apart), and decoded "%2e%2e" is a ".." segment. A trailing '/'
 * is kept when the last segment is empty, "." or ".." ("/a/b/." -> "/a/b/").
 * Every decoded segment is checked, including ones a later ".." removes.
 * When several problems exist, the first in this order is reported:
 *   1. BAD_FORM for an empty path;
 *   2. byte-level problems, leftmost first: BAD_ESCAPE, NUL, CONTROL,
 *      BAD_UTF8 (a truncated sequence is reported where it is cut off);
 *   3. UNC when the first two decoded bytes are separators ("//", "\\\\",
 *      "/%5C", "%5C%5C");
 *   4. BAD_FORM when the raw path does not start with '/' or '\\';
 *   5. segments left to right: ABOVE_ROOT for a ".." with nothing to pop,
 *      otherwise STREAM, TRAILING_DOT_SPACE, DEVICE_NAME, SHORT_NAME;
 *   6. TOO_LONG, only when the final result (plus NUL) exceeds out_cap.
 * On any error *out_len is 0 and, when out_cap > 0, out is "". out_len may
 * be NULL. The result is never longer than raw_path. */
enum ih_url_status ih_url_canonicalize(ih_slice raw_path, char *out, size_t out_cap, size_t *out_len);

#endif
