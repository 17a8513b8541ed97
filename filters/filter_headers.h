/* Header objects ISAPI filters read and edit with GetHeader, SetHeader and
 * AddHeader (IIS 6 SDK ms525690, ms525099, ms525116): the request's in
 * SF_NOTIFY_PREPROC_HEADERS and SF_NOTIFY_AUTH_COMPLETE, the response's in
 * SF_NOTIFY_SEND_RESPONSE. Portable, no windows.h.
 *
 * Names: a header is named with its trailing colon ("Host:"); the special
 * values of the request line are "method", "url" and "version", of the
 * response line "status" ("200 OK"); all compared without case. A name
 * that is neither (no colon) is refused, as IIS 6 refuses it
 * (ERROR_INVALID_PARAMETER). Values may not hold CR, LF or NUL: a filter
 * cannot smuggle a header line (or split the response) through them.
 *
 * Storage is the object's own, grown on demand up to IH_HDR_BYTES_MAX
 * whatever the body's size (IIS 4/5 sized it from the request buffer and
 * corrupted the heap on many AddHeader calls, KB Q266356, or ran out of
 * memory counting entity bytes as headers, KB 819876). A request holds at
 * most IH_HTTP_MAX_HEADERS fields: it is parsed again from the block. A
 * call that fails for lack of room changes nothing.
 *
 * An HTTP/0.9 response object is valid and empty: GetHeader of a header
 * answers INVALID_INDEX, "status" works, SetHeader and AddHeader succeed,
 * and nothing of it ever reaches the wire (0.9 has no head; KB Q323064). */
#ifndef IH_FILTER_HEADERS_H
#define IH_FILTER_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http_parse.h"

#define IH_HDR_BYTES_MAX (256u * 1024u) /* names and values together */

enum ih_hdr_status {
  IH_HDR_OK = 0,
  IH_HDR_INSUFFICIENT_BUFFER, /* *size says how much is needed; nothing written */
  IH_HDR_INVALID_INDEX,       /* no such header */
  IH_HDR_INVALID_PARAMETER,   /* a bad name or value, NULL arguments */
  IH_HDR_NO_MEMORY,           /* IH_HDR_BYTES_MAX reached, or out of memory */
};

typedef struct ih_hdr_field {
  char *name;  /* without the colon */
  char *value;
} ih_hdr_field;

typedef struct ih_hdr_block {
  bool response;
  bool http09;        /* HTTP/0.9: a request without headers; a response never written */
  /* request line */
  char *method, *url, *version;
  /* response line */
  int status;
  char *reason;
  ih_hdr_field *fields;
  size_t count, cap;
  size_t bytes;       /* of names and values, against IH_HDR_BYTES_MAX */
  bool changed;       /* a SetHeader or AddHeader succeeded */
} ih_hdr_block;

/* From a parsed request head (copied: the block does not point into it). */
enum ih_hdr_status ih_hdr_load_request(ih_hdr_block *b, const ih_http_request_head *head);
/* From a response head as the server writes it ("HTTP/1.1 200 OK\r\n" and
 * "Name: value\r\n" lines, with or without the empty line); http09: an
 * empty object for a response that has no head. */
enum ih_hdr_status ih_hdr_load_response(ih_hdr_block *b, const char *head, size_t len, bool http09);
void ih_hdr_free(ih_hdr_block *b);

/* GetHeader: value and NUL into buf[0..*size), *size = bytes written with
 * the NUL; buf NULL or *size too small: INSUFFICIENT_BUFFER with the size
 * needed. Several headers of one name are joined with ", ". */
enum ih_hdr_status ih_hdr_get(const ih_hdr_block *b, const char *name, char *buf, uint32_t *size);
/* SetHeader: replaces every header of the name with one (or, for "", removes
 * them); a special value is changed (not removed). */
enum ih_hdr_status ih_hdr_set(ih_hdr_block *b, const char *name, const char *value);
/* AddHeader: one more header line, even of a name already there. */
enum ih_hdr_status ih_hdr_add(ih_hdr_block *b, const char *name, const char *value);

/* The head as text: "METHOD url VERSION\r\n" (request) or
 * "HTTP/1.1 NNN reason\r\n" (response), the fields, and the empty line.
 * Writes at most cap bytes (no NUL) and returns the length the whole head
 * needs; 0 for an HTTP/0.9 response. */
size_t ih_hdr_serialize(const ih_hdr_block *b, char *out, size_t cap);

#endif
