/* What an ISAPI extension sends as a response head, read leniently and
 * safely. Portable (no windows.h), allocation-free pure functions over the
 * caller's bytes.
 *
 * Three entry points, for the three ways a DLL starts a response:
 *
 *  - ih_isapi_parse_status: the status string of HSE_REQ_SEND_RESPONSE_HEADER
 *    (lpvBuffer) or HSE_SEND_HEADER_EX_INFO.pszStatus. IIS 6 SDK ms525533 and
 *    ms524709 (EX) document "200 OK"; real DLLs also send "HTTP/1.1 200 OK"
 *    (Apache PR 29098), a bare "302", "Status: 302 Found", NULL or "".
 *  - ih_isapi_parse_headers: the header text of the same calls
 *    (lpdwDataType / pszHeader). Documented as header lines ending in an extra
 *    CRLF; real DLLs forget that CRLF, use bare LF, put a body after the empty
 *    line (mod_isapi sends it as body), or pass a "Status:" line.
 *  - ih_isapi_sniff_raw_head: the first WriteClient of a DLL that never called
 *    a header function and writes its own "HTTP/1.x NNN ..." response: its
 *    status (for the log) and where its head ends, nothing about framing.
 *
 * Line breaks everywhere: LF, with any CRs directly before it removed; the
 * last line may lack its line break. A CR anywhere else in a line makes the
 * line malformed. */
#ifndef IH_ISAPI_RESPONSE_H
#define IH_ISAPI_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ih_str.h"

/* ---- status string ---- */

/* Reads a status code and reason from status[0..len) (a NUL ends it early;
 * status may be NULL). Accepted, with SP/HTAB/CR/LF around the parts:
 *   NULL, "" or only whitespace       -> 200, reason "OK"
 *   "200 OK", "404"                   -> code; a missing reason comes from the
 *                                        RFC 9110 table (ih_http_reason), "" for
 *                                        a code the table does not know
 *   "HTTP/1.1 200 OK", "HTTP/1.0 404" -> "HTTP/" and any version are skipped
 *   "Status: 302 Found"               -> case-insensitive "Status:" prefix
 *                                        (may precede an "HTTP/..." too)
 * The code is exactly three digits, 100-999, followed by the end, SP, HTAB,
 * CR or LF. The reason is the rest of that line: it stops at the first CR or
 * LF (anything after a line break is not part of a status line), control
 * bytes other than HTAB become SP, and SP, HTAB and control bytes are trimmed
 * from both ends. It is copied NUL-terminated into reason_out[0..cap),
 * truncated to cap - 1 bytes if needed (and then trimmed again); reason_out
 * may be NULL when cap is 0. Returns the code, or -1 when there is no valid
 * code (reason_out is then ""). */
int ih_isapi_parse_status(const char *status, size_t len, char *reason_out, size_t cap);

/* ---- header block of SEND_RESPONSE_HEADER(_EX) ---- */

typedef struct ih_isapi_header_info {
  size_t out_len;        /* bytes written to out; when the call returned false, bytes needed */
  ih_slice body;         /* bytes after the first empty line (into text); { NULL, 0 } if none */
  bool has_body;         /* an empty line was found (body may still be empty) */
  size_t lines_kept;     /* header fields copied to out */
  size_t lines_dropped;  /* malformed lines discarded: no colon, bad name, control bytes,
                            stray CR, a fold with nothing to continue, a folded framing
                            field, an unparsable leading status line. (Well-formed
                            Status/Connection fields and Content-Length fields left out
                            by the rule below are in neither count.) */

  int status;            /* from the first valid "Status:" field or a leading
                            "HTTP/x.y NNN" line; 0 when none */
  ih_slice status_text;  /* that field's value / that line (into text), for
                            ih_isapi_parse_status when the reason is wanted */

  bool content_length_present; /* at least one Content-Length field */
  bool content_length_valid;   /* present, every value 1*DIGIT without overflow, all equal
                                  (a "5, 5" list counts as 5; RFC 9110 8.6) */
  uint64_t content_length;     /* valid when content_length_valid */
  bool transfer_encoding;      /* at least one Transfer-Encoding field */
  bool chunked;                /* the final transfer coding is "chunked", named once */
  bool conn_close;             /* Connection has "close" */
  bool conn_keep_alive;        /* Connection has "keep-alive" */
  bool delimited;              /* the DLL's body is self-delimiting:
                                  transfer_encoding ? chunked : content_length_valid */
} ih_isapi_header_info;

/* An out buffer of this many bytes is always large enough. */
#define IH_ISAPI_HEADERS_OUT_MAX(len) (2 * (size_t)(len) + 2)

/* Splits the header text text[0..len) into fields and an optional body and
 * writes the fields, normalised, to out[0..cap): each "Name: value\r\n"
 * (just "Name:\r\n" for an empty value), in input order, no empty line and
 * no NUL at the end (the caller appends the final CRLF). text may be NULL
 * when len is 0.
 *
 * Rules:
 * - A NUL ends the text: DLLs pass cchHeader = strlen + 1, or too large.
 * - The first empty line ends the fields; everything after it is the body.
 * - A field is name ":" value. The name is 1*tchar; SP/HTAB between name and
 *   colon is tolerated and removed. The value is OWS-trimmed and may not
 *   contain control bytes other than HTAB (obs-text is kept).
 * - A line starting with SP/HTAB continues the previous kept field (obs-fold,
 *   RFC 9112 5.2); it is joined with one SP.
 * - The first line may be a status line ("HTTP/1.1 302 Found"): it sets
 *   status and is not copied.
 * - Consumed, not copied: "Status" (sets status; CGI style) and "Connection"
 *   (sets conn_*): the server writes its own Connection field from its single
 *   keep-alive decision (service/http/keepalive.h).
 * - Content-Length is copied once, and only when content_length_valid and no
 *   Transfer-Encoding is present (RFC 9112 6.1: never both); otherwise every
 *   Content-Length line is left out so a wrong length never reaches the
 *   client. Transfer-Encoding lines are copied as sent (the DLL chunks its
 *   own body) when every one of them is well-formed; one malformed or folded
 *   Transfer-Encoding line leaves them all out (and the response is not
 *   delimited), so out never announces a framing that info denies.
 * - When info->transfer_encoding is true the caller must not add chunking of
 *   its own; unless info->chunked, it closes the connection after the body.
 *   When !info->delimited and there is no Transfer-Encoding, the caller
 *   either closes after the body or (HTTP/1.1 only) chunks it itself.
 * Returns false (and sets info->out_len to the size needed; the contents of
 * out are then unspecified) when cap is too small; every other field of info
 * is filled in either case. Never reads past text[len). */
bool ih_isapi_parse_headers(const char *text, size_t len, char *out, size_t cap, ih_isapi_header_info *info);

/* ---- raw response written by WriteClient before any header call ---- */

enum ih_isapi_raw_kind {
  IH_ISAPI_RAW_NOT_HTTP = 0, /* does not start with "HTTP/1.d NNN": treat the bytes as body */
  IH_ISAPI_RAW_PARTIAL,      /* a status line, but the empty line ending the head is not in
                                this write */
  IH_ISAPI_RAW_COMPLETE,     /* the whole head is in this write */
};

typedef struct ih_isapi_raw_head {
  int status;            /* NNN (PARTIAL, COMPLETE) */
  int version;           /* 10 for HTTP/1.0, 11 for HTTP/1.1-1.9 */
  size_t head_len;       /* COMPLETE: bytes up to and including the empty line */
} ih_isapi_raw_head;

/* Examines only this one write, data[0..len) (raw bytes; NUL is an ordinary
 * byte here), up to its end of head. The detection is not incremental: a DLL
 * that writes its status line and its fields in separate WriteClient calls
 * gets PARTIAL. The bytes are sent unchanged by the caller; nothing here
 * rewrites them, and nothing here judges their framing: the server never
 * keeps a connection after a response it did not frame itself
 * (service/server/conn_ext.c, begin_raw_response). out is always fully
 * initialised. */
enum ih_isapi_raw_kind ih_isapi_sniff_raw_head(const char *data, size_t len, ih_isapi_raw_head *out);

#endif
