/* The Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): a family's
 * "# HELP" and "# TYPE" lines, then its samples, one a line,
 * "name{label="value",...} number". Label values are escaped as the format
 * says (backslash, double quote and line feed as \\, \" and \n), HELP text
 * likewise (backslash and line feed), so no value a client or a
 * configuration chooses can break a line. Portable: no windows.h. */
#ifndef IH_METRICS_TEXT_H
#define IH_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a metrics page answers with (the format's version and charset). */
#define IH_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A growing text; oom once an allocation failed (the text is then incomplete
 * and must not be served). */
typedef struct ih_mtext {
  char *p;
  size_t len, cap;
  bool oom;
} ih_mtext;

/* One label: name (a Prometheus label name, chosen by the code) and value
 * (any bytes; escaped). */
typedef struct ih_mlabel {
  const char *name;
  const char *value;
} ih_mlabel;

void ih_mtext_init(ih_mtext *t);
void ih_mtext_free(ih_mtext *t);

/* "# HELP name help" and "# TYPE name type" (type: "counter", "gauge",
 * "histogram", "untyped"). */
void ih_mtext_family(ih_mtext *t, const char *name, const char *type, const char *help);
/* name{labels} value, value a whole number. */
void ih_mtext_sample_u64(ih_mtext *t, const char *name, const ih_mlabel *labels, size_t nlabels, uint64_t value);
void ih_mtext_sample_i64(ih_mtext *t, const char *name, const ih_mlabel *labels, size_t nlabels, int64_t value);
/* name{labels} value, value given in millionths (a duration's seconds from
 * microseconds): written exactly, "1.250000", with no rounding of a double. */
void ih_mtext_sample_micro(ih_mtext *t, const char *name, const ih_mlabel *labels, size_t nlabels, uint64_t micros);
/* name{labels,le="le"} value: a histogram bucket ("+Inf" for the last). */
void ih_mtext_sample_bucket(ih_mtext *t, const char *name, const ih_mlabel *labels, size_t nlabels, const char *le,
                            uint64_t value);

#endif
