/* The Prometheus text exposition format (see metrics_text.h). */
#include "core/metrics_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"

void ih_mtext_init(ih_mtext *t) { memset(t, 0, sizeof *t); }

void ih_mtext_free(ih_mtext *t)
{
  free(t->p);
  memset(t, 0, sizeof *t);
}

static bool reserve(ih_mtext *t, size_t more)
{
  if (t->oom)
    return false;
  if (t->len + more + 1 <= t->cap)
    return true;
  size_t cap = t->cap ? t->cap : 4096;
  while (cap < t->len + more + 1)
    cap *= 2;
  char *p = ih_realloc(t->p, cap);
  if (!p) {
    t->oom = true;
    return false;
  }
  t->p = p;
  t->cap = cap;
  return true;
}

static void put(ih_mtext *t, const char *s, size_t n)
{
  if (!reserve(t, n))
    return;
  memcpy(t->p + t->len, s, n);
  t->len += n;
  t->p[t->len] = '\0';
}

static void put_str(ih_mtext *t, const char *s) { put(t, s, strlen(s)); }

/* The format's escaping: label values escape '\\', '"' and line feed; HELP
 * text only '\\' and line feed (a quote is literal there). */
static void put_escaped(ih_mtext *t, const char *s, bool quote_too)
{
  for (const char *p = s; *p; p++) {
    if (*p == '\\')
      put(t, "\\\\", 2);
    else if (*p == '\n')
      put(t, "\\n", 2);
    else if (*p == '"' && quote_too)
      put(t, "\\\"", 2);
    else
      put(t, p, 1);
  }
}

void ih_mtext_family(ih_mtext *t, const char *name, const char *type, const char *help)
{
  put_str(t, "# HELP ");
  put_str(t, name);
  put_str(t, " ");
  put_escaped(t, help, false);
  put_str(t, "\n# TYPE ");
  put_str(t, name);
  put_str(t, " ");
  put_str(t, type);
  put_str(t, "\n");
}

static void put_series(ih_mtext *t, const char *name, const ih_mlabel *labels, size_t nlabels, const char *le)
{
  put_str(t, name);
  if (!nlabels && !le)
    return;
  put_str(t, "{");
  for (size_t i = 0; i < nlabels; i++) {
    put_str(t, i ? "," : "");
    put_str(t, labels[i].name);
    put_str(t, "=\"");
    put_escaped(t, labels[i].value ? labels[i].value : "", true);
    put_str(t, "\"");
  }
  if (le) {
    put_str(t, nlabels ? ",le=\"" : "le=\"");
    put_str(t, le);
    put_str(t, "\"");
  }
  put_str(t, "}");
}

static void put_value(ih_mtext *t, const char *text)
{
  put_str(t, " ");
  put_str(t, text);
  put_str(t, "\n");
}

void ih_mtext_sample_u64(ih_mtext *t, const char *name, const ih_mlabel *labels, size_t nlabels, uint64_t value)
{
  char v[32];
  snprintf(v, sizeof v, "%" PRIu64, value);
  put_series(t, name, labels, nlabels, NULL);
  put_value(t, v);
}

void ih_mtext_sample_i64(ih_mtext *t, const char *name, const ih_mlabel *labels, size_t nlabels, int64_t value)
{
  char v[32];
  snprintf(v, sizeof v, "%" PRId64, value);
  put_series(t, name, labels, nlabels, NULL);
  put_value(t, v);
}

void ih_mtext_sample_micro(ih_mtext *t, const char *name, const ih_mlabel *labels, size_t nlabels, uint64_t micros)
{
  char v[48];
  snprintf(v, sizeof v, "%" PRIu64 ".%06" PRIu64, micros / 1000000u, micros % 1000000u);
  put_series(t, name, labels, nlabels, NULL);
  put_value(t, v);
}

void ih_mtext_sample_bucket(ih_mtext *t, const char *name, const ih_mlabel *labels, size_t nlabels, const char *le,
                            uint64_t value)
{
  char v[32];
  snprintf(v, sizeof v, "%" PRIu64, value);
  put_series(t, name, labels, nlabels, le);
  put_value(t, v);
}
