/* The one reader of a "Name: value" header block: the text of
 * HSE_REQ_SEND_RESPONSE_HEADER(_EX), a filter's SF_REQ_SEND_RESPONSE_HEADER
 * or AddResponseHeaders, and the blocks the server builds from them.
 * Portable, allocation-free, over the caller's bytes.
 *
 * Line breaks (RFC 9112 2.2: a recipient may take a bare LF as the line
 * terminator and ignore a preceding CR): a line ends at LF, and every CR
 * directly before that LF (or before the end of the text) belongs to the
 * line end; the last line may lack its LF. A field line (RFC 9112 5) is split at its first colon; its value
 * has OWS trimmed at both ends (RFC 9110 5.5). What each caller then accepts
 * (token names, clean values, obs-fold) is its own policy. */
#ifndef IH_HEADER_LINES_H
#define IH_HEADER_LINES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ih_str.h"

typedef struct ih_header_lines {
  const char *p;
  size_t end;
  size_t pos; /* the next line starts here; may be saved and restored to look ahead */
} ih_header_lines;

typedef struct ih_header_line {
  ih_slice raw;     /* the line as written, its line end included */
  ih_slice text;    /* without its line end: "" for the empty line ending a head */
  bool terminated;  /* an LF ended it */
  bool has_colon;
  ih_slice name;    /* text before the first colon, untrimmed ("" without one) */
  ih_slice value;   /* text after it, OWS trimmed ("" without one) */
} ih_header_line;

/* An iterator over text[0..len) (NULL with 0 is an empty block). */
ih_header_lines ih_header_lines_of(const char *text, size_t len);
/* The next line, or false at the end of the text. */
bool ih_header_lines_next(ih_header_lines *it, ih_header_line *line);

#endif
