/* Header objects for filters (see filter_headers.h). */
#include "filters/filter_headers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "http/header_lines.h"
#include "http/http_status.h"
#include "isapi/shared/isapi_response.h"

#define FIELDS_MIN 16

static char *dup_n(const char *s, size_t n)
{
  char *p = ih_malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

static bool ieq(const char *a, const char *b)
{
  for (; *a && *b; a++, b++)
    if (ih_ascii_lower(*a) != ih_ascii_lower(*b))
      return false;
  return *a == *b;
}

/* ---- validation ---- */

/* "Name:" -> the name's length (without the colon); 0 when not a header
 * name (special values have no colon). */
static size_t header_name_len(const char *name)
{
  size_t n = strlen(name);
  if (n < 2 || name[n - 1] != ':')
    return 0;
  for (size_t i = 0; i + 1 < n; i++)
    if (!ih_is_tchar((unsigned char)name[i]))
      return 0;
  return n - 1;
}

/* No CR, LF or other control bytes but HTAB (RFC 9110 5.5 field-value). */
static bool value_ok(const char *v)
{
  for (; *v; v++) {
    unsigned char ch = (unsigned char)*v;
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
      return false;
  }
  return true;
}

static bool token_ok(const char *v)
{
  if (!*v)
    return false;
  for (; *v; v++)
    if (!ih_is_tchar((unsigned char)*v))
      return false;
  return true;
}

/* A request-target a request line can carry: visible ASCII, no spaces. */
static bool target_ok(const char *v)
{
  if (!*v)
    return false;
  for (; *v; v++) {
    unsigned char ch = (unsigned char)*v;
    if (ch <= 0x20 || ch >= 0x7f)
      return false;
  }
  return true;
}

/* A field line of a loaded head worth keeping: a token name and a value
 * without control bytes (a NUL, a bare CR) that serialize would write
 * back verbatim. */
static bool field_ok(ih_slice name, ih_slice value)
{
  if (!name.n)
    return false;
  for (size_t i = 0; i < name.n; i++)
    if (!ih_is_tchar((unsigned char)name.p[i]))
      return false;
  for (size_t i = 0; i < value.n; i++) {
    unsigned char ch = (unsigned char)value.p[i];
    if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
      return false;
  }
  return true;
}

/* ---- fields ---- */

static enum ih_hdr_status reserve_bytes(ih_hdr_block *b, size_t more)
{
  if (more > IH_HDR_BYTES_MAX - b->bytes)
    return IH_HDR_NO_MEMORY;
  return IH_HDR_OK;
}

static enum ih_hdr_status append_field(ih_hdr_block *b, const char *name, size_t name_len, const char *value,
                                       size_t value_len)
{
  if (reserve_bytes(b, name_len + value_len) != IH_HDR_OK)
    return IH_HDR_NO_MEMORY;
  if (!b->response && b->count >= IH_HTTP_MAX_HEADERS)
    return IH_HDR_NO_MEMORY; /* a request is parsed again from the block: the parser's ceiling */
  if (b->count == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : FIELDS_MIN;
    ih_hdr_field *f = ih_realloc(b->fields, cap * sizeof *f);
    if (!f)
      return IH_HDR_NO_MEMORY;
    b->fields = f;
    b->cap = cap;
  }
  char *n = dup_n(name, name_len), *v = dup_n(value, value_len);
  if (!n || !v) {
    free(n);
    free(v);
    return IH_HDR_NO_MEMORY;
  }
  b->fields[b->count++] = (ih_hdr_field){ n, v };
  b->bytes += name_len + value_len;
  return IH_HDR_OK;
}

static void remove_field(ih_hdr_block *b, size_t i)
{
  b->bytes -= strlen(b->fields[i].name) + strlen(b->fields[i].value);
  free(b->fields[i].name);
  free(b->fields[i].value);
  memmove(&b->fields[i], &b->fields[i + 1], (b->count - i - 1) * sizeof *b->fields);
  b->count--;
}

static bool name_is(const ih_hdr_field *f, const char *name, size_t name_len)
{
  return strlen(f->name) == name_len && ih_slice_ieq((ih_slice){ f->name, name_len }, (ih_slice){ name, name_len });
}

/* ---- loading ---- */

enum ih_hdr_status ih_hdr_load_request(ih_hdr_block *b, const ih_http_request_head *head)
{
  memset(b, 0, sizeof *b);
  b->http09 = head->version == IH_HTTP_09;
  const char *version = head->version == IH_HTTP_09 ? "HTTP/0.9" : head->version == IH_HTTP_10 ? "HTTP/1.0" : "HTTP/1.1";
  b->method = dup_n(head->method.p, head->method.n);
  b->url = dup_n(head->target.p, head->target.n);
  b->version = dup_n(version, strlen(version));
  if (!b->method || !b->url || !b->version) {
    ih_hdr_free(b);
    return IH_HDR_NO_MEMORY;
  }
  for (size_t i = 0; i < head->header_count; i++) {
    const ih_http_header *h = &head->headers[i];
    if (append_field(b, h->name.p, h->name.n, h->value.p, h->value.n) != IH_HDR_OK) {
      ih_hdr_free(b);
      return IH_HDR_NO_MEMORY;
    }
  }
  return IH_HDR_OK;
}

enum ih_hdr_status ih_hdr_load_response(ih_hdr_block *b, const char *head, size_t len, bool http09)
{
  memset(b, 0, sizeof *b);
  b->response = true;
  b->http09 = http09;
  b->status = 200;
  ih_header_lines it = ih_header_lines_of(head, len);
  ih_header_line line;
  bool first = true;
  while (ih_header_lines_next(&it, &line)) {
    if (line.text.n == 0)
      break; /* the empty line ends the head */
    if (first) {
      char reason[128];
      int code = ih_isapi_parse_status(line.text.p, line.text.n, reason, sizeof reason);
      if (code > 0) {
        b->status = code;
        b->reason = dup_n(reason, strlen(reason));
        if (!b->reason)
          goto oom;
      }
      first = false;
    } else if (line.has_colon && field_ok(line.name, line.value) &&
               append_field(b, line.name.p, line.name.n, line.value.p, line.value.n) != IH_HDR_OK) {
      goto oom;
    }
  }
  if (!b->reason && !(b->reason = dup_n(ih_http_reason(b->status), strlen(ih_http_reason(b->status)))))
    goto oom;
  return IH_HDR_OK;
oom:
  ih_hdr_free(b);
  return IH_HDR_NO_MEMORY;
}

void ih_hdr_free(ih_hdr_block *b)
{
  for (size_t i = 0; i < b->count; i++) {
    free(b->fields[i].name);
    free(b->fields[i].value);
  }
  free(b->fields);
  free(b->method);
  free(b->url);
  free(b->version);
  free(b->reason);
  memset(b, 0, sizeof *b);
}

/* ---- GetHeader / SetHeader / AddHeader ---- */

static enum ih_hdr_status put(const char *value, size_t len, char *buf, uint32_t *size)
{
  if (len + 1 > UINT32_MAX)
    return IH_HDR_NO_MEMORY;
  uint32_t need = (uint32_t)len + 1;
  if (!buf || *size < need) {
    *size = need;
    return IH_HDR_INSUFFICIENT_BUFFER;
  }
  memcpy(buf, value, len);
  buf[len] = '\0';
  *size = need;
  return IH_HDR_OK;
}

/* The special value's slot: the request line's parts or the status. */
static char **special(ih_hdr_block *b, const char *name)
{
  if (b->response)
    return NULL;
  if (ieq(name, "method"))
    return &b->method;
  if (ieq(name, "url"))
    return &b->url;
  if (ieq(name, "version"))
    return &b->version;
  return NULL;
}

enum ih_hdr_status ih_hdr_get(const ih_hdr_block *b, const char *name, char *buf, uint32_t *size)
{
  if (!b || !name || !size)
    return IH_HDR_INVALID_PARAMETER;
  if (b->response && ieq(name, "status")) {
    char line[160];
    size_t n = (size_t)snprintf(line, sizeof line, "%d%s%s", b->status, b->reason && b->reason[0] ? " " : "",
                                b->reason ? b->reason : "");
    return put(line, n < sizeof line ? n : sizeof line - 1, buf, size);
  }
  char **sp = special((ih_hdr_block *)b, name);
  if (sp)
    return put(*sp, strlen(*sp), buf, size);
  size_t name_len = header_name_len(name);
  if (!name_len)
    return IH_HDR_INVALID_PARAMETER; /* IIS 6: a header name must end with ':' */
  /* several lines of one name: joined as one list value (RFC 9110 5.3) */
  size_t total = 0, found = 0;
  for (size_t i = 0; i < b->count; i++)
    if (name_is(&b->fields[i], name, name_len)) {
      total += (found ? 2 : 0) + strlen(b->fields[i].value);
      found++;
    }
  if (!found)
    return IH_HDR_INVALID_INDEX;
  if (found == 1)
    for (size_t i = 0; i < b->count; i++)
      if (name_is(&b->fields[i], name, name_len))
        return put(b->fields[i].value, total, buf, size);
  char *joined = ih_malloc(total + 1);
  if (!joined)
    return IH_HDR_NO_MEMORY;
  size_t at = 0, joined_count = 0;
  for (size_t i = 0; i < b->count; i++)
    if (name_is(&b->fields[i], name, name_len)) {
      if (joined_count++) { /* even after an empty value: total counted it */
        memcpy(joined + at, ", ", 2);
        at += 2;
      }
      size_t n = strlen(b->fields[i].value);
      memcpy(joined + at, b->fields[i].value, n);
      at += n;
    }
  enum ih_hdr_status st = put(joined, total, buf, size);
  free(joined);
  return st;
}

static enum ih_hdr_status set_special(ih_hdr_block *b, const char *name, const char *value)
{
  if (b->response) { /* "status": "404", "404 Not Found", even "HTTP/1.1 404" (lenient, as for extensions) */
    char reason[128];
    int code = *value ? ih_isapi_parse_status(value, strlen(value), reason, sizeof reason) : 0;
    if (code < 100 || code > 999)
      return IH_HDR_INVALID_PARAMETER; /* "" included: a status cannot be removed */
    char *r = dup_n(reason, strlen(reason));
    if (!r)
      return IH_HDR_NO_MEMORY;
    free(b->reason);
    b->reason = r;
    b->status = code;
    b->changed = true;
    return IH_HDR_OK;
  }
  char **sp = special(b, name);
  if (strlen(value) > IH_HDR_BYTES_MAX)
    return IH_HDR_NO_MEMORY;
  bool ok = ieq(name, "url") ? target_ok(value)
            : ieq(name, "method") ? token_ok(value)
                                  : !b->http09 && (!strcmp(value, "HTTP/1.0") || !strcmp(value, "HTTP/1.1"));
  if (!ok)
    return IH_HDR_INVALID_PARAMETER;
  char *v = dup_n(value, strlen(value));
  if (!v)
    return IH_HDR_NO_MEMORY;
  free(*sp);
  *sp = v;
  b->changed = true;
  return IH_HDR_OK;
}

enum ih_hdr_status ih_hdr_set(ih_hdr_block *b, const char *name, const char *value)
{
  if (!b || !name || !value || !value_ok(value))
    return IH_HDR_INVALID_PARAMETER;
  if ((b->response && ieq(name, "status")) || special(b, name))
    return set_special(b, name, value);
  size_t name_len = header_name_len(name);
  if (!name_len)
    return IH_HDR_INVALID_PARAMETER;
  /* Room for the new field counting what it replaces: a SetHeader that
   * fails leaves the block as it was. */
  size_t freed = 0, value_len = strlen(value);
  for (size_t i = 0; i < b->count; i++)
    if (name_is(&b->fields[i], name, name_len))
      freed += name_len + strlen(b->fields[i].value);
  if (*value && name_len + value_len > IH_HDR_BYTES_MAX - (b->bytes - freed))
    return IH_HDR_NO_MEMORY;
  size_t i = 0;
  while (i < b->count)
    if (name_is(&b->fields[i], name, name_len))
      remove_field(b, i);
    else
      i++;
  b->changed = true;
  if (!*value)
    return IH_HDR_OK; /* SetHeader with "" deletes (ms525099) */
  return append_field(b, name, name_len, value, value_len);
}

enum ih_hdr_status ih_hdr_add(ih_hdr_block *b, const char *name, const char *value)
{
  if (!b || !name || !value || !value_ok(value))
    return IH_HDR_INVALID_PARAMETER;
  if ((b->response && ieq(name, "status")) || special(b, name))
    return set_special(b, name, value); /* a request line has one of each */
  size_t name_len = header_name_len(name);
  if (!name_len)
    return IH_HDR_INVALID_PARAMETER;
  enum ih_hdr_status st = append_field(b, name, name_len, value, strlen(value));
  if (st == IH_HDR_OK)
    b->changed = true;
  return st;
}

/* ---- text ---- */

typedef struct writer {
  char *out;
  size_t cap, len;
} writer;

static void emit(writer *w, const char *s, size_t n)
{
  if (w->len < w->cap)
    memcpy(w->out + w->len, s, n <= w->cap - w->len ? n : w->cap - w->len);
  w->len += n;
}

static void emit_str(writer *w, const char *s) { emit(w, s, strlen(s)); }

size_t ih_hdr_serialize(const ih_hdr_block *b, char *out, size_t cap)
{
  writer w = { out, out ? cap : 0, 0 };
  if (b->response && b->http09)
    return 0;
  if (b->response) {
    char line[160];
    int n = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", b->status, b->reason ? b->reason : "");
    emit(&w, line, n > 0 && (size_t)n < sizeof line ? (size_t)n : 0);
  } else {
    emit_str(&w, b->method);
    emit(&w, " ", 1);
    emit_str(&w, b->url);
    emit(&w, " ", 1);
    emit_str(&w, b->version);
    emit(&w, "\r\n", 2);
  }
  for (size_t i = 0; i < b->count; i++) {
    emit_str(&w, b->fields[i].name);
    emit(&w, ": ", 2);
    emit_str(&w, b->fields[i].value);
    emit(&w, "\r\n", 2);
  }
  emit(&w, "\r\n", 2);
  return w.len;
}
