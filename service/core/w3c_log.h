/* W3C extended log format, with IIS's default field set:
 * date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip
 * cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken
 * Pure formatting; writing files is the platform layer's job. */
#ifndef IH_W3C_LOG_H
#define IH_W3C_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/ih_str.h"

/* The access-log record of one request, built once (server/access_log.c)
 * and written in the site's log_format: W3C here, or JSON (json_log.h)
 * with the same fields. Empty text = the field has no value. */
typedef struct ih_w3c_record {
  int64_t time_unix;   /* UTC seconds when the response was finished */
  const char *s_ip;    /* server address (text) */
  ih_slice method;
  ih_slice uri_stem;   /* canonical path, or the raw target if it was refused */
  ih_slice uri_query;  /* without '?'; empty = "-" */
  unsigned s_port;
  ih_slice username;   /* empty = "-" */
  const char *c_ip;
  ih_slice user_agent; /* spaces become '+', as IIS writes them */
  ih_slice referer;
  int status;
  int substatus;
  unsigned win32_status;
  unsigned time_taken_ms;
} ih_w3c_record;

/* "#Software: ...\r\n#Version: 1.0\r\n#Date: yyyy-mm-dd hh:mm:ss\r\n#Fields: ...\r\n".
 * Returns bytes written (excl. NUL), or 0 if cap is too small. */
size_t ih_w3c_format_header(int64_t now_unix, const char *software, char *out, size_t cap);
/* One line ending in CRLF. Fields are never empty ('-') and never contain
 * spaces or control bytes (they are escaped), so a line always has 15 fields.
 * Returns bytes written (excl. NUL), or 0 if cap is too small. */
size_t ih_w3c_format_line(const ih_w3c_record *r, char *out, size_t cap);
/* Daily file name as IIS names UTF-8 logs: "u_exYYMMDD.log" (cap >= 15,
 * otherwise an empty string). Times outside 1970..9999 are clamped. */
void ih_w3c_file_name(int64_t unix_time, char *out, size_t cap);
/* The same daily name with another extension ("u_exYYMMDD" + extension):
 * every access-log format rolls over and is named by the same rule. */
void ih_log_daily_file_name(int64_t unix_time, const char *extension, char *out, size_t cap);
/* Start of the UTC day containing unix_time (rollover boundary). */
int64_t ih_w3c_day_start(int64_t unix_time);

#endif
