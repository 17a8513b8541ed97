/* W3C extended log formatting (see w3c_log.h), laid out like IIS's default
 * "u_ex" logs. Every text field is escaped so that a line is always exactly
 * 15 space-separated fields of printable ASCII:
 *   empty -> "-", SP -> '+' (as IIS writes User-Agent), control bytes, DEL
 *   and bytes >= 0x80 -> "%XX"; everything else (including '+' and '%')
 *   is written as is.
 * Times are UTC; values outside 1970-01-01 .. 9999-12-31 23:59:59 are
 * clamped. Calendar arithmetic is our own (no gmtime: not thread-safe and
 * CRT-dependent). No allocation, no global mutable state. */
#include "core/w3c_log.h"

#include "core/ih_time.h"

#include <stdbool.h>
#include <string.h>

static const char fields_line[] =
  "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
  "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n";


/* Bounded writer: once something does not fit, everything after is dropped
 * and the caller reports 0. One byte of cap is always kept for the NUL. */
typedef struct writer {
  char *out;
  size_t cap, len;
  bool full;
} writer;

static void put_char(writer *w, char c)
{
  if (w->full || w->len + 1 >= w->cap) {
    w->full = true;
    return;
  }
  w->out[w->len++] = c;
}

static void put_mem(writer *w, const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    put_char(w, p[i]);
}

static void put_cstr(writer *w, const char *s) { put_mem(w, s, strlen(s)); }

static void put_uint(writer *w, unsigned long long v)
{
  char buf[24];
  size_t n = 0;
  do {
    buf[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n)
    put_char(w, buf[--n]);
}

static void put_int(writer *w, long long v)
{
  if (v < 0) {
    put_char(w, '-');
    put_uint(w, 0ULL - (unsigned long long)v);
  } else {
    put_uint(w, (unsigned long long)v);
  }
}

static void put_2(writer *w, int v)
{
  put_char(w, (char)('0' + v / 10 % 10));
  put_char(w, (char)('0' + v % 10));
}

/* "YYYY-MM-DD hh:mm:ss" */
static void put_datetime(writer *w, int64_t t)
{
  ih_utc u = ih_utc_from_unix(t);
  put_2(w, u.year / 100);
  put_2(w, u.year % 100);
  put_char(w, '-');
  put_2(w, u.month);
  put_char(w, '-');
  put_2(w, u.day);
  put_char(w, ' ');
  put_2(w, u.hour);
  put_char(w, ':');
  put_2(w, u.minute);
  put_char(w, ':');
  put_2(w, u.second);
}

/* Escapes one byte of a text field; keep_space is for the #Software line. */
static void put_escaped_byte(writer *w, unsigned char c, bool keep_space)
{
  static const char hex[] = "0123456789ABCDEF";
  if (c == ' ' && !keep_space) {
    put_char(w, '+');
  } else if (c < 0x20 || c >= 0x7f) {
    put_char(w, '%');
    put_char(w, hex[c >> 4]);
    put_char(w, hex[c & 0xf]);
  } else {
    put_char(w, (char)c);
  }
}

static void put_field(writer *w, const char *p, size_t n)
{
  if (!p || n == 0) {
    put_char(w, '-');
    return;
  }
  for (size_t i = 0; i < n; i++)
    put_escaped_byte(w, (unsigned char)p[i], false);
}

static void put_field_slice(writer *w, ih_slice s) { put_field(w, s.p, s.n); }

static void put_field_cstr(writer *w, const char *s) { put_field(w, s, s ? strlen(s) : 0); }

static size_t finish(writer *w)
{
  if (w->full) {
    if (w->cap)
      w->out[0] = '\0';
    return 0;
  }
  w->out[w->len] = '\0';
  return w->len;
}

size_t ih_w3c_format_header(int64_t now_unix, const char *software, char *out, size_t cap)
{
  writer w = { out, out ? cap : 0, 0, false };
  put_cstr(&w, "#Software: ");
  if (software && *software) {
    for (const char *p = software; *p; p++)
      put_escaped_byte(&w, (unsigned char)*p, true); /* no CR/LF injection */
  } else {
    put_char(&w, '-');
  }
  put_cstr(&w, "\r\n#Version: 1.0\r\n#Date: ");
  put_datetime(&w, now_unix);
  put_cstr(&w, "\r\n");
  put_cstr(&w, fields_line);
  return finish(&w);
}

size_t ih_w3c_format_line(const ih_w3c_record *r, char *out, size_t cap)
{
  writer w = { out, out ? cap : 0, 0, false };
  put_datetime(&w, r->time_unix); /* date and time: fields 1 and 2 */
  put_char(&w, ' ');
  put_field_cstr(&w, r->s_ip);
  put_char(&w, ' ');
  put_field_slice(&w, r->method);
  put_char(&w, ' ');
  put_field_slice(&w, r->uri_stem);
  put_char(&w, ' ');
  put_field_slice(&w, r->uri_query);
  put_char(&w, ' ');
  put_uint(&w, r->s_port);
  put_char(&w, ' ');
  put_field_slice(&w, r->username);
  put_char(&w, ' ');
  put_field_cstr(&w, r->c_ip);
  put_char(&w, ' ');
  put_field_slice(&w, r->user_agent);
  put_char(&w, ' ');
  put_field_slice(&w, r->referer);
  put_char(&w, ' ');
  put_int(&w, r->status);
  put_char(&w, ' ');
  put_int(&w, r->substatus);
  put_char(&w, ' ');
  put_uint(&w, r->win32_status);
  put_char(&w, ' ');
  put_uint(&w, r->time_taken_ms);
  put_cstr(&w, "\r\n");
  return finish(&w);
}

/* "u_exYYMMDD.log"; needs cap >= 15, otherwise an empty string is written. */
void ih_w3c_file_name(int64_t unix_time, char *out, size_t cap)
{
  writer w = { out, out ? cap : 0, 0, false };
  ih_utc u = ih_utc_from_unix(unix_time);
  put_cstr(&w, "u_ex");
  put_2(&w, u.year % 100);
  put_2(&w, u.month);
  put_2(&w, u.day);
  put_cstr(&w, ".log");
  finish(&w);
}

/* Times outside the supported range are clamped first, so the result always
 * names the same day as ih_w3c_file_name(unix_time). */
int64_t ih_w3c_day_start(int64_t unix_time)
{
  int64_t t = ih_time_clamp(unix_time);
  return t - t % IH_SECS_PER_DAY;
}
