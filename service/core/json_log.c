/* JSON-lines access-log formatting (see json_log.h).
 *
 * Strings are escaped as RFC 8259 section 7 requires, and a little more so
 * that a line is printable ASCII-or-UTF-8 on one line:
 *   '"' -> \"   '\' -> \\   control bytes (0x00-0x1F) and DEL -> \u00XX
 *   valid UTF-8 sequences -> written as they are
 *   bytes that are not valid UTF-8 -> U+FFFD (as the bytes EF BF BD), one
 *     for each maximal invalid subpart (Unicode 15 section 3.9, "U+FFFD
 *     Substitution of Maximal Subparts", which WHATWG decoders follow).
 * Why U+FFFD and not \u00XX of the byte: \u00E9 would decode as the valid
 * character "é", which a reader could not tell from a client that sent a
 * real "é" (C3 A9): the log would state something the client did not send.
 * U+FFFD says "a byte here was not text". The exact bytes of such a
 * request stay available in the W3C format (%XX). RFC 8259 section 8.1
 * requires UTF-8 for JSON exchanged between systems, so a raw invalid byte
 * (which most shippers reject or mangle) is never written.
 * No allocation, no global mutable state. */
#include "core/json_log.h"

#include <stdbool.h>
#include <string.h>

#include "core/ih_time.h"
#include "core/log_text.h"

static void put_unicode_escape(ih_log_text *w, unsigned char c)
{
  static const char hex[] = "0123456789abcdef";
  ih_log_text_cstr(w, "\\u00");
  ih_log_text_char(w, hex[c >> 4]);
  ih_log_text_char(w, hex[c & 0xf]);
}

/* Length of the valid UTF-8 sequence at p[0..n) (1-4), or 0 when it is not
 * one; then *bad is the length of its maximal invalid subpart (>= 1): the
 * lead byte and the continuation bytes that could still have completed it.
 * Table 3-7 of the Unicode standard: no overlong forms, no surrogates
 * (ED A0-BF), nothing above U+10FFFF. */
static size_t utf8_sequence(const unsigned char *p, size_t n, size_t *bad)
{
  unsigned char c = p[0];
  size_t need;
  unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    need = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 3;
    if (c == 0xe0)
      lo = 0xa0;
    else if (c == 0xed)
      hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 4;
    if (c == 0xf0)
      lo = 0x90;
    else if (c == 0xf4)
      hi = 0x8f;
  } else {
    *bad = 1; /* 80-C1, F5-FF never start a sequence */
    return 0;
  }
  size_t i = 1;
  for (; i < need && i < n; i++) {
    unsigned char b = p[i];
    bool ok = i == 1 ? b >= lo && b <= hi : b >= 0x80 && b <= 0xbf;
    if (!ok)
      break;
  }
  if (i == need)
    return need;
  *bad = i;
  return 0;
}

static void put_string(ih_log_text *w, const char *text, size_t n)
{
  const unsigned char *p = (const unsigned char *)text;
  ih_log_text_char(w, '"');
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c == '"' || c == '\\') {
      ih_log_text_char(w, '\\');
      ih_log_text_char(w, (char)c);
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      put_unicode_escape(w, c);
      i++;
    } else {
      size_t bad = 0, len = utf8_sequence(p + i, n - i, &bad);
      if (len) {
        ih_log_text_mem(w, text + i, len);
        i += len;
      } else {
        ih_log_text_cstr(w, "\xef\xbf\xbd"); /* U+FFFD REPLACEMENT CHARACTER */
        i += bad;
      }
    }
  }
  ih_log_text_char(w, '"');
}

/* A text field: null when it has no value (W3C's "-"). */
static void put_text(ih_log_text *w, const char *key, const char *p, size_t n)
{
  ih_log_text_cstr(w, key);
  if (!p || n == 0)
    ih_log_text_cstr(w, "null");
  else
    put_string(w, p, n);
}

static void put_slice(ih_log_text *w, const char *key, ih_slice s) { put_text(w, key, s.p, s.n); }

static void put_cstr_field(ih_log_text *w, const char *key, const char *s)
{
  put_text(w, key, s, s ? strlen(s) : 0);
}

size_t ih_json_format_line(const ih_w3c_record *r, char *out, size_t cap)
{
  ih_log_text w = ih_log_text_start(out, cap);
  ih_utc u = ih_utc_from_unix(r->time_unix);
  ih_log_text_cstr(&w, "{\"@timestamp\":\""); /* ISO 8601 / RFC 3339, UTC */
  ih_log_text_date(&w, &u);
  ih_log_text_char(&w, 'T');
  ih_log_text_time(&w, &u);
  ih_log_text_cstr(&w, "Z\",\"date\":\"");
  ih_log_text_date(&w, &u);
  ih_log_text_cstr(&w, "\",\"time\":\"");
  ih_log_text_time(&w, &u);
  ih_log_text_char(&w, '"');
  /* The W3C fields, in the order of its #Fields line (w3c_log.h). */
  put_cstr_field(&w, ",\"s-ip\":", r->s_ip);
  put_slice(&w, ",\"cs-method\":", r->method);
  put_slice(&w, ",\"cs-uri-stem\":", r->uri_stem);
  put_slice(&w, ",\"cs-uri-query\":", r->uri_query);
  ih_log_text_cstr(&w, ",\"s-port\":");
  ih_log_text_uint(&w, r->s_port);
  put_slice(&w, ",\"cs-username\":", r->username);
  put_cstr_field(&w, ",\"c-ip\":", r->c_ip);
  put_slice(&w, ",\"cs(User-Agent)\":", r->user_agent);
  put_slice(&w, ",\"cs(Referer)\":", r->referer);
  ih_log_text_cstr(&w, ",\"sc-status\":");
  ih_log_text_int(&w, r->status);
  ih_log_text_cstr(&w, ",\"sc-substatus\":");
  ih_log_text_int(&w, r->substatus);
  ih_log_text_cstr(&w, ",\"sc-win32-status\":");
  ih_log_text_uint(&w, r->win32_status);
  ih_log_text_cstr(&w, ",\"time-taken\":");
  ih_log_text_uint(&w, r->time_taken_ms);
  ih_log_text_cstr(&w, "}\n");
  return ih_log_text_finish(&w);
}

void ih_json_file_name(int64_t unix_time, char *out, size_t cap)
{
  ih_log_daily_file_name(unix_time, ".json", out, cap);
}
