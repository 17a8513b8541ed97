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
#include "core/log_text.h"

#include <stdbool.h>
#include <string.h>

static const char fields_line[] =
  "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
  "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n";

/* "YYYY-MM-DD hh:mm:ss" */
static void put_datetime(ih_log_text *w, int64_t t)
{
  ih_utc u = ih_utc_from_unix(t);
  ih_log_text_date(w, &u);
  ih_log_text_char(w, ' ');
  ih_log_text_time(w, &u);
}

/* Escapes one byte of a text field; keep_space is for the #Software line. */
static void put_escaped_byte(ih_log_text *w, unsigned char c, bool keep_space)
{
  static const char hex[] = "0123456789ABCDEF";
  if (c == ' ' && !keep_space) {
    ih_log_text_char(w, '+');
  } else if (c < 0x20 || c >= 0x7f) {
    ih_log_text_char(w, '%');
    ih_log_text_char(w, hex[c >> 4]);
    ih_log_text_char(w, hex[c & 0xf]);
  } else {
    ih_log_text_char(w, (char)c);
  }
}

static void put_field(ih_log_text *w, const char *p, size_t n)
{
  if (!p || n == 0) {
    ih_log_text_char(w, '-');
    return;
  }
  for (size_t i = 0; i < n; i++)
    put_escaped_byte(w, (unsigned char)p[i], false);
}

static void put_field_slice(ih_log_text *w, ih_slice s) { put_field(w, s.p, s.n); }

static void put_field_cstr(ih_log_text *w, const char *s) { put_field(w, s, s ? strlen(s) : 0); }

size_t ih_w3c_format_header(int64_t now_unix, const char *software, char *out, size_t cap)
{
  ih_log_text w = ih_log_text_start(out, cap);
  ih_log_text_cstr(&w, "#Software: ");
  if (software && *software) {
    for (const char *p = software; *p; p++)
      put_escaped_byte(&w, (unsigned char)*p, true); /* no CR/LF injection */
  } else {
    ih_log_text_char(&w, '-');
  }
  ih_log_text_cstr(&w, "\r\n#Version: 1.0\r\n#Date: ");
  put_datetime(&w, now_unix);
  ih_log_text_cstr(&w, "\r\n");
  ih_log_text_cstr(&w, fields_line);
  return ih_log_text_finish(&w);
}

size_t ih_w3c_format_line(const ih_w3c_record *r, char *out, size_t cap)
{
  ih_log_text w = ih_log_text_start(out, cap);
  put_datetime(&w, r->time_unix); /* date and time: fields 1 and 2 */
  ih_log_text_char(&w, ' ');
  put_field_cstr(&w, r->s_ip);
  ih_log_text_char(&w, ' ');
  put_field_slice(&w, r->method);
  ih_log_text_char(&w, ' ');
  put_field_slice(&w, r->uri_stem);
  ih_log_text_char(&w, ' ');
  put_field_slice(&w, r->uri_query);
  ih_log_text_char(&w, ' ');
  ih_log_text_uint(&w, r->s_port);
  ih_log_text_char(&w, ' ');
  put_field_slice(&w, r->username);
  ih_log_text_char(&w, ' ');
  put_field_cstr(&w, r->c_ip);
  ih_log_text_char(&w, ' ');
  put_field_slice(&w, r->user_agent);
  ih_log_text_char(&w, ' ');
  put_field_slice(&w, r->referer);
  ih_log_text_char(&w, ' ');
  ih_log_text_int(&w, r->status);
  ih_log_text_char(&w, ' ');
  ih_log_text_int(&w, r->substatus);
  ih_log_text_char(&w, ' ');
  ih_log_text_uint(&w, r->win32_status);
  ih_log_text_char(&w, ' ');
  ih_log_text_uint(&w, r->time_taken_ms);
  ih_log_text_cstr(&w, "\r\n");
  return ih_log_text_finish(&w);
}

/* "u_exYYMMDD" + extension; an empty string when it does not fit. */
void ih_log_daily_file_name(int64_t unix_time, const char *extension, char *out, size_t cap)
{
  ih_log_text w = ih_log_text_start(out, cap);
  ih_utc u = ih_utc_from_unix(unix_time);
  ih_log_text_cstr(&w, "u_ex");
  ih_log_text_2digits(&w, u.year % 100);
  ih_log_text_2digits(&w, u.month);
  ih_log_text_2digits(&w, u.day);
  ih_log_text_cstr(&w, extension);
  ih_log_text_finish(&w);
}

/* "u_exYYMMDD.log"; needs cap >= 15, otherwise an empty string is written. */
void ih_w3c_file_name(int64_t unix_time, char *out, size_t cap) { ih_log_daily_file_name(unix_time, ".log", out, cap); }

/* Times outside the supported range are clamped first, so the result always
 * names the same day as ih_w3c_file_name(unix_time). */
int64_t ih_w3c_day_start(int64_t unix_time)
{
  int64_t t = ih_time_clamp(unix_time);
  return t - t % IH_SECS_PER_DAY;
}
