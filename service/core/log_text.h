/* The bounded text writer both access-log formats write with (w3c_log.c,
 * json_log.c): numbers, UTC dates and times, and the all-or-nothing rule
 * (once something does not fit, the line is dropped and the formatter
 * returns 0), written once. Internal to the log formatters; portable. */
#ifndef IH_LOG_TEXT_H
#define IH_LOG_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/ih_time.h"

/* One byte of cap is always kept for the NUL. */
typedef struct ih_log_text {
  char *out;
  size_t cap, len;
  bool full;
} ih_log_text;

static inline ih_log_text ih_log_text_start(char *out, size_t cap)
{
  ih_log_text w = { out, out ? cap : 0, 0, false };
  return w;
}

static inline void ih_log_text_char(ih_log_text *w, char c)
{
  if (w->full || w->len + 1 >= w->cap) {
    w->full = true;
    return;
  }
  w->out[w->len++] = c;
}

static inline void ih_log_text_mem(ih_log_text *w, const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    ih_log_text_char(w, p[i]);
}

static inline void ih_log_text_cstr(ih_log_text *w, const char *s) { ih_log_text_mem(w, s, strlen(s)); }

static inline void ih_log_text_uint(ih_log_text *w, unsigned long long v)
{
  char buf[24];
  size_t n = 0;
  do {
    buf[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n)
    ih_log_text_char(w, buf[--n]);
}

static inline void ih_log_text_int(ih_log_text *w, long long v)
{
  if (v < 0) {
    ih_log_text_char(w, '-');
    ih_log_text_uint(w, 0ULL - (unsigned long long)v);
  } else {
    ih_log_text_uint(w, (unsigned long long)v);
  }
}

static inline void ih_log_text_2digits(ih_log_text *w, int v)
{
  ih_log_text_char(w, (char)('0' + v / 10 % 10));
  ih_log_text_char(w, (char)('0' + v % 10));
}

/* "YYYY-MM-DD" of a UTC time (clamped to 1970..9999 by ih_utc_from_unix). */
static inline void ih_log_text_date(ih_log_text *w, const ih_utc *u)
{
  ih_log_text_2digits(w, u->year / 100);
  ih_log_text_2digits(w, u->year % 100);
  ih_log_text_char(w, '-');
  ih_log_text_2digits(w, u->month);
  ih_log_text_char(w, '-');
  ih_log_text_2digits(w, u->day);
}

/* "hh:mm:ss" */
static inline void ih_log_text_time(ih_log_text *w, const ih_utc *u)
{
  ih_log_text_2digits(w, u->hour);
  ih_log_text_char(w, ':');
  ih_log_text_2digits(w, u->minute);
  ih_log_text_char(w, ':');
  ih_log_text_2digits(w, u->second);
}

/* NUL-terminates; returns the length, or 0 (and an empty string) when
 * something did not fit. */
static inline size_t ih_log_text_finish(ih_log_text *w)
{
  if (w->full) {
    if (w->cap)
      w->out[0] = '\0';
    return 0;
  }
  w->out[w->len] = '\0';
  return w->len;
}

#endif
