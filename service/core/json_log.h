/* The access log as JSON lines (log_format = json), for log shippers
 * (Filebeat, Vector, Fluent Bit): the record of w3c_log.h, with the W3C
 * field names as keys, one JSON object (RFC 8259) per line, after an
 * ISO 8601 UTC "@timestamp":
 *
 *   {"@timestamp":"1994-11-06T08:49:37Z","date":"1994-11-06","time":"08:49:37",
 *    "s-ip":"192.168.1.10","cs-method":"GET","cs-uri-stem":"/a.dll","cs-uri-query":null,
 *    "s-port":80,"cs-username":null,"c-ip":"10.0.0.5","cs(User-Agent)":"Mozilla/5.0 (X)",
 *    "cs(Referer)":null,"sc-status":200,"sc-substatus":0,"sc-win32-status":0,"time-taken":15}
 *
 * (one line, ending in LF). Numbers are JSON numbers, a text field without
 * a value is null (W3C's "-"), text is written as it is (spaces included:
 * W3C's '+' for a space is an artefact of its space-separated format).
 * Pure formatting; files are the platform layer's. */
#ifndef IH_JSON_LOG_H
#define IH_JSON_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/w3c_log.h"

/* One line ending in LF. Always valid JSON and valid UTF-8, whatever bytes
 * the record holds (json_log.c says how they are escaped).
 * Returns bytes written (excl. NUL), or 0 if cap is too small. */
size_t ih_json_format_line(const ih_w3c_record *r, char *out, size_t cap);
/* Daily file name: "u_exYYMMDD.json", the W3C name with the extension
 * that says what the file holds (cap >= 16, otherwise an empty string).
 * The day is the one of ih_w3c_day_start: both formats roll over alike. */
void ih_json_file_name(int64_t unix_time, char *out, size_t cap);

#endif
