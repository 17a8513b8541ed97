/* Incremental decoder for the chunked transfer coding (see http_chunked.h).
 * A byte-at-a-time state machine over the framing, with bulk copies of chunk
 * data; the result never depends on how the input is split. Portable. */
#include "http/http_chunked.h"

#include <stdbool.h>
#include <string.h>

#include "core/ih_str.h"

/* RFC 9112 7.1:
 *   chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-ext  = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
 *   last-chunk = 1*("0") [ chunk-ext ] CRLF
 *   trailer-section = *( field-line CRLF ), then CRLF */
enum {
  ST_SIZE,          /* chunk-size hex digits */
  ST_EXT_BWS,       /* whitespace after the size or a value: ";" must follow */
  ST_EXT_NAME_PRE,  /* after ";": BWS then ext-name */
  ST_EXT_NAME,
  ST_EXT_NAME_BWS,  /* whitespace after ext-name: "=" or ";" must follow */
  ST_EXT_VAL_PRE,   /* after "=": BWS then token or quoted-string */
  ST_EXT_TOKEN,
  ST_EXT_QUOTED,
  ST_EXT_QPAIR,     /* after a backslash in a quoted-string */
  ST_EXT_QEND,      /* after the closing quote */
  ST_SIZE_LF,       /* CR seen at the end of the size line */
  ST_DATA,
  ST_DATA_CR,       /* CRLF after chunk-data */
  ST_DATA_LF,
  ST_TRAILER,       /* start of a trailer field line or of the final empty line */
  ST_TRAILER_NAME,
  ST_TRAILER_VALUE,
  ST_TRAILER_LF,
  ST_END_LF,        /* CR of the final empty line seen */
  ST_DONE,
  ST_ERROR,
  ST_TOO_LARGE,
};

#define MAX_SIZE_DIGITS 16 /* 16 hex digits fill a uint64_t */

void ih_chunked_init(ih_chunked_decoder *d, uint64_t max_body)
{
  memset(d, 0, sizeof *d);
  d->state = ST_SIZE;
  d->max_body = max_body;
}

static bool is_ws(unsigned char c) { return c == ' ' || c == '\t'; }


/* qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 5.6.4) */
static bool is_qdtext(unsigned char c) { return c == '\t' || (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f); }

static int set_state(ih_chunked_decoder *d, int state)
{
  d->state = state;
  return state;
}

/* End of the chunk-size line: data follows, or the trailer section for the
 * last chunk. */
static int end_size_line(ih_chunked_decoder *d)
{
  if (d->chunk_left == 0) {
    d->trailer_bytes = 0;
    return set_state(d, ST_TRAILER);
  }
  return set_state(d, ST_DATA);
}

static int size_digit(ih_chunked_decoder *d, int v)
{
  /* Checked before use: at most 16 digits, so the shift cannot overflow,
   * and never more than the body limit still allows. */
  if (++d->size_digits > MAX_SIZE_DIGITS)
    return set_state(d, ST_TOO_LARGE);
  d->chunk_left = d->chunk_left << 4 | (uint64_t)v;
  if (d->chunk_left > d->max_body - d->total)
    return set_state(d, ST_TOO_LARGE);
  return ST_SIZE;
}

/* One byte of the chunk-size line (size digits and extensions). */
static int size_line_byte(ih_chunked_decoder *d, unsigned char c)
{
  if (c != '\r' && c != '\n' && ++d->line_len > IH_CHUNKED_MAX_LINE)
    return set_state(d, ST_ERROR);
  switch (d->state) {
  case ST_SIZE: {
    int v = ih_hex_value(c);
    if (v >= 0)
      return size_digit(d, v);
    if (d->size_digits == 0)
      return set_state(d, ST_ERROR);
    break;
  }
  case ST_EXT_BWS:
    if (is_ws(c))
      return ST_EXT_BWS;
    return set_state(d, c == ';' ? ST_EXT_NAME_PRE : ST_ERROR);
  case ST_EXT_NAME_PRE:
    if (is_ws(c))
      return ST_EXT_NAME_PRE;
    return set_state(d, ih_is_tchar(c) ? ST_EXT_NAME : ST_ERROR);
  case ST_EXT_NAME:
    if (ih_is_tchar(c))
      return ST_EXT_NAME;
    if (is_ws(c))
      return set_state(d, ST_EXT_NAME_BWS);
    if (c == '=')
      return set_state(d, ST_EXT_VAL_PRE);
    break;
  case ST_EXT_NAME_BWS:
    if (is_ws(c))
      return ST_EXT_NAME_BWS;
    if (c == '=')
      return set_state(d, ST_EXT_VAL_PRE);
    return set_state(d, c == ';' ? ST_EXT_NAME_PRE : ST_ERROR);
  case ST_EXT_VAL_PRE:
    if (is_ws(c))
      return ST_EXT_VAL_PRE;
    if (c == '"')
      return set_state(d, ST_EXT_QUOTED);
    return set_state(d, ih_is_tchar(c) ? ST_EXT_TOKEN : ST_ERROR);
  case ST_EXT_TOKEN:
    if (ih_is_tchar(c))
      return ST_EXT_TOKEN;
    break;
  case ST_EXT_QUOTED:
    if (c == '"')
      return set_state(d, ST_EXT_QEND);
    if (c == '\\')
      return set_state(d, ST_EXT_QPAIR);
    return is_qdtext(c) ? ST_EXT_QUOTED : set_state(d, ST_ERROR);
  case ST_EXT_QPAIR: /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
    return set_state(d, (c == '\t' || (c >= 0x20 && c != 0x7f)) ? ST_EXT_QUOTED : ST_ERROR);
  case ST_EXT_QEND:
    break;
  case ST_SIZE_LF:
    return c == '\n' ? end_size_line(d) : set_state(d, ST_ERROR);
  }
  /* After the size, a name, a token or a quoted value: the line may go on
   * with BWS or ";", or end (CRLF, or a bare LF as in the head parser). */
  if (is_ws(c))
    return set_state(d, ST_EXT_BWS);
  if (c == ';')
    return set_state(d, ST_EXT_NAME_PRE);
  if (c == '\r')
    return set_state(d, ST_SIZE_LF);
  if (c == '\n')
    return end_size_line(d);
  return set_state(d, ST_ERROR);
}

/* One byte of the trailer section; fields are checked and discarded. */
static int trailer_byte(ih_chunked_decoder *d, unsigned char c)
{
  if (++d->trailer_bytes > IH_CHUNKED_MAX_TRAILERS)
    return set_state(d, ST_ERROR);
  switch (d->state) {
  case ST_TRAILER:
    if (c == '\r')
      return set_state(d, ST_END_LF);
    if (c == '\n')
      return set_state(d, ST_DONE);
    /* a field name; whitespace here would be obs-fold (RFC 9112 5.2) */
    return set_state(d, ih_is_tchar(c) ? ST_TRAILER_NAME : ST_ERROR);
  case ST_TRAILER_NAME:
    if (ih_is_tchar(c))
      return ST_TRAILER_NAME;
    return set_state(d, c == ':' ? ST_TRAILER_VALUE : ST_ERROR);
  case ST_TRAILER_VALUE:
    if (c == '\r')
      return set_state(d, ST_TRAILER_LF);
    if (c == '\n')
      return set_state(d, ST_TRAILER);
    return (c < 0x20 && c != '\t') || c == 0x7f ? set_state(d, ST_ERROR) : ST_TRAILER_VALUE;
  case ST_TRAILER_LF:
    return set_state(d, c == '\n' ? ST_TRAILER : ST_ERROR);
  default: /* ST_END_LF */
    return set_state(d, c == '\n' ? ST_DONE : ST_ERROR);
  }
}

/* Advances the state machine by one framing byte; returns the new state. */
static int framing_byte(ih_chunked_decoder *d, unsigned char c)
{
  switch (d->state) {
  case ST_DATA_CR:
  case ST_DATA_LF:
    /* CRLF after chunk-data; a bare LF is accepted as in the head parser */
    if (c == '\r' && d->state == ST_DATA_CR)
      return set_state(d, ST_DATA_LF);
    if (c != '\n')
      return set_state(d, ST_ERROR);
    d->line_len = 0;
    d->size_digits = 0;
    d->chunk_left = 0;
    return set_state(d, ST_SIZE);
  case ST_TRAILER:
  case ST_TRAILER_NAME:
  case ST_TRAILER_VALUE:
  case ST_TRAILER_LF:
  case ST_END_LF:
    return trailer_byte(d, c);
  default:
    return size_line_byte(d, c);
  }
}

static enum ih_chunked_status status_of(int state)
{
  switch (state) {
  case ST_DONE:
    return IH_CHUNKED_DONE;
  case ST_ERROR:
    return IH_CHUNKED_ERROR;
  case ST_TOO_LARGE:
    return IH_CHUNKED_TOO_LARGE;
  default:
    return IH_CHUNKED_MORE;
  }
}

enum ih_chunked_status ih_chunked_decode(ih_chunked_decoder *d, const char *in, size_t in_len, size_t *in_used,
                                         char *out, size_t out_cap, size_t *out_len)
{
  size_t i = 0, o = 0;
  while (i < in_len && status_of(d->state) == IH_CHUNKED_MORE) {
    if (d->state == ST_DATA) {
      size_t n = in_len - i;
      if (n > out_cap - o)
        n = out_cap - o;
      if (n > d->chunk_left)
        n = (size_t)d->chunk_left;
      if (n == 0) /* out is full */
        break;
      memmove(out + o, in + i, n); /* in place: out + o <= in + i */
      i += n;
      o += n;
      d->chunk_left -= n;
      d->total += n;
      if (d->chunk_left == 0)
        d->state = ST_DATA_CR;
      continue;
    }
    int st = framing_byte(d, (unsigned char)in[i]);
    if (st != ST_ERROR && st != ST_TOO_LARGE) /* the offending byte is not consumed */
      i++;
  }
  *in_used = i;
  *out_len = o;
  return status_of(d->state);
}
