/* Response heads from ISAPI extensions (see isapi_response.h).
 *
 * The header text of HSE_REQ_SEND_RESPONSE_HEADER (IIS 6 SDK ms525533) and
 * HSE_REQ_SEND_RESPONSE_HEADER_EX (ms524709) is read in two walks over the
 * same bytes: the first decides what the fields mean (status, framing,
 * connection), the second writes the normalised copy using those verdicts,
 * so a Content-Length is only ever copied once the whole text is known to
 * agree with it. Both walks share one field reader, so they can never
 * disagree about where a field starts or ends. */
#include "isapi/shared/isapi_response.h"

#include <string.h>

#include "http/header_lines.h"
#include "http/http_status.h"

/* ---- small helpers ---- */

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static bool is_ows(char c) { return c == ' ' || c == '\t'; }
static bool is_ctl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7F; }

static bool starts_with_i(const char *p, size_t n, const char *prefix)
{
  size_t k = strlen(prefix);
  return n >= k && ih_slice_ieq((ih_slice){ p, k }, (ih_slice){ prefix, k });
}

/* Field values may hold HTAB and obs-text, no other control bytes. */
static bool value_ok(ih_slice v)
{
  for (size_t i = 0; i < v.n; i++)
    if (is_ctl((unsigned char)v.p[i]))
      return false;
  return true;
}

/* ---- status string ---- */

static void copy_reason(char *out, size_t cap, const char *p, size_t n)
{
  if (!out || !cap)
    return;
  size_t k = n < cap - 1 ? n : cap - 1;
  for (size_t i = 0; i < k; i++)
    out[i] = is_ctl((unsigned char)p[i]) ? ' ' : p[i];
  while (k && is_ows(out[k - 1])) /* truncation may have cut before a space */
    k--;
  out[k] = '\0';
}

static void table_reason(int code, char *out, size_t cap)
{
  const char *r = ih_http_reason(code);
  if (strcmp(r, "Unknown") == 0)
    r = "";
  copy_reason(out, cap, r, strlen(r));
}

int ih_isapi_parse_status(const char *status, size_t len, char *reason_out, size_t cap)
{
  if (reason_out && cap)
    reason_out[0] = '\0';
  size_t n = 0;
  if (status) {
    const char *nul = memchr(status, '\0', len);
    n = nul ? (size_t)(nul - status) : len;
  }
  size_t i = 0;
  while (i < n && is_ws(status[i]))
    i++;
  if (i == n) {
    copy_reason(reason_out, cap, "OK", 2);
    return 200;
  }
  if (starts_with_i(status + i, n - i, "Status:")) {
    i += 7;
    while (i < n && is_ws(status[i]))
      i++;
  }
  if (starts_with_i(status + i, n - i, "HTTP/")) {
    while (i < n && !is_ws(status[i]))
      i++;
    while (i < n && is_ws(status[i]))
      i++;
  }
  if (n - i < 3 || !ih_is_digit(status[i]) || !ih_is_digit(status[i + 1]) || !ih_is_digit(status[i + 2]) ||
      status[i] == '0')
    return -1;
  if (n - i > 3 && !is_ws(status[i + 3]))
    return -1; /* "2000", "200OK" */
  int code = (status[i] - '0') * 100 + (status[i + 1] - '0') * 10 + (status[i + 2] - '0');
  i += 3;

  /* the reason: the rest of this line, control bytes counted as space */
  size_t end = i;
  while (end < n && status[end] != '\r' && status[end] != '\n')
    end++;
  while (i < end && (is_ows(status[i]) || is_ctl((unsigned char)status[i])))
    i++;
  while (end > i && (is_ows(status[end - 1]) || is_ctl((unsigned char)status[end - 1])))
    end--;
  if (end > i)
    copy_reason(reason_out, cap, status + i, end - i);
  else
    table_reason(code, reason_out, cap);
  return code;
}

/* ---- lines and fields: split by the one header-block reader ---- */

typedef ih_header_lines lines;

/* Next physical line without its line end (header_lines.h). *terminated
 * says whether an LF ended it (false when there is no line at all). */
static bool next_line(lines *it, ih_slice *line, bool *terminated)
{
  ih_header_line l;
  if (terminated)
    *terminated = false;
  if (!ih_header_lines_next(it, &l))
    return false;
  *line = l.text;
  if (terminated)
    *terminated = l.terminated;
  return true;
}

enum field_kind { F_BAD, F_OTHER, F_STATUS, F_CONNECTION, F_CONTENT_LENGTH, F_TRANSFER_ENCODING };

typedef struct field {
  enum field_kind kind;
  enum field_kind named;    /* kind by name even when the field is bad (F_OTHER if unknown) */
  ih_slice name, value;     /* value of the first line, OWS-trimmed */
  size_t cont_begin;        /* continuation lines lie in [cont_begin, cont_end) of the text */
  size_t cont_end;
  size_t ncont;
} field;

static enum field_kind kind_of(ih_slice name)
{
  if (ih_slice_ieq_cstr(name, "Status"))
    return F_STATUS;
  if (ih_slice_ieq_cstr(name, "Connection"))
    return F_CONNECTION;
  if (ih_slice_ieq_cstr(name, "Content-Length"))
    return F_CONTENT_LENGTH;
  if (ih_slice_ieq_cstr(name, "Transfer-Encoding"))
    return F_TRANSFER_ENCODING;
  return F_OTHER;
}

/* Iterates the continuation lines of f (each OWS-trimmed). */
static bool next_piece(const lines *text, const field *f, size_t *pos, ih_slice *piece)
{
  if (*pos >= f->cont_end)
    return false;
  lines it = { text->p, f->cont_end, *pos };
  ih_slice line;
  next_line(&it, &line, NULL);
  *pos = it.pos;
  *piece = ih_slice_trim_ows(line);
  return true;
}

/* Parses the field whose first line is `line`; it->pos is just past it and
 * is advanced over any continuation lines. */
static void read_field(lines *it, const ih_header_line *line, field *f)
{
  memset(f, 0, sizeof *f);
  f->kind = F_BAD;
  f->named = F_OTHER;
  f->cont_begin = f->cont_end = it->pos;
  for (;;) {
    size_t saved = it->pos;
    ih_slice c;
    if (!next_line(it, &c, NULL))
      break;
    if (c.n == 0 || !is_ows(c.p[0])) {
      it->pos = saved;
      break;
    }
    f->ncont++;
    f->cont_end = it->pos;
  }

  if (!line->has_colon)
    return;
  ih_slice name = line->name; /* lenient: "Content-Length : 3" is read too */
  while (name.n && is_ows(name.p[name.n - 1]))
    name.n--;
  if (!name.n)
    return;
  for (size_t i = 0; i < name.n; i++)
    if (!ih_is_tchar((unsigned char)name.p[i]))
      return;
  f->name = name;
  f->named = kind_of(name);
  f->value = line->value;
  if (!value_ok(f->value))
    return;
  lines text = { it->p, it->end, 0 };
  size_t pos = f->cont_begin;
  ih_slice piece;
  while (next_piece(&text, f, &pos, &piece))
    if (!value_ok(piece))
      return;
  f->kind = f->named;
}

/* ---- the meaning of the fields ---- */

typedef struct analysis {
  int status;
  ih_slice status_text;
  bool cl_present;
  bool cl_bad;
  bool cl_seen_value;
  uint64_t cl;
  bool te;
  bool te_bad;
  size_t chunked_count;
  bool last_chunked;
  bool close;
  bool keep_alive;
  size_t dropped;
  size_t folds;
  bool has_body;
  ih_slice body;
} analysis;

/* Content-Length value: 1*DIGIT, or a list of identical ones. */
static bool parse_cl(ih_slice v, uint64_t *out)
{
  ih_slice item;
  bool any = false;
  uint64_t first = 0;
  while (ih_slice_next_list_item(&v, &item)) {
    uint64_t x;
    if (!ih_parse_u64(item, &x) || (any && x != first))
      return false;
    first = x;
    any = true;
  }
  if (any)
    *out = first;
  return any;
}

static void note_connection(analysis *a, ih_slice v)
{
  if (ih_slice_list_has_token(v, "close"))
    a->close = true;
  if (ih_slice_list_has_token(v, "keep-alive"))
    a->keep_alive = true;
}

static void note_te(analysis *a, ih_slice v)
{
  ih_slice item;
  while (ih_slice_next_list_item(&v, &item)) {
    bool c = ih_slice_ieq_cstr(item, "chunked");
    a->chunked_count += c;
    a->last_chunked = c;
  }
}

static void analyse_field(analysis *a, const lines *text, const field *f)
{
  if (f->ncont)
    a->folds++;
  /* A damaged framing field still poisons the framing: the DLL meant it. */
  if (f->named == F_CONTENT_LENGTH) {
    a->cl_present = true;
    if (f->kind == F_BAD || f->ncont) {
      a->cl_bad = true;
      a->dropped += 1 + f->ncont;
      return;
    }
    uint64_t v;
    if (!parse_cl(f->value, &v) || (a->cl_seen_value && v != a->cl)) {
      a->cl_bad = true;
      return;
    }
    a->cl = v;
    a->cl_seen_value = true;
    return;
  }
  if (f->named == F_TRANSFER_ENCODING) {
    a->te = true;
    if (f->kind == F_BAD || f->ncont) {
      a->te_bad = true;
      a->dropped += 1 + f->ncont;
    } else {
      note_te(a, f->value);
    }
    return;
  }
  if (f->kind == F_BAD) {
    a->dropped += 1 + f->ncont;
    return;
  }
  if (f->kind == F_CONNECTION) {
    note_connection(a, f->value);
    size_t pos = f->cont_begin;
    ih_slice piece;
    while (next_piece(text, f, &pos, &piece))
      note_connection(a, piece);
  } else if (f->kind == F_STATUS) {
    if (f->ncont) {
      a->dropped += 1 + f->ncont;
    } else if (!a->status && f->value.n) {
      int code = ih_isapi_parse_status(f->value.p, f->value.n, NULL, 0);
      if (code > 0) {
        a->status = code;
        a->status_text = f->value;
      }
    }
  }
}

static bool cl_valid(const analysis *a) { return a->cl_present && !a->cl_bad && a->cl_seen_value; }
static bool te_chunked(const analysis *a) { return a->te && !a->te_bad && a->chunked_count == 1 && a->last_chunked; }

/* ---- output ---- */

typedef struct out_sink {
  char *p;
  size_t cap;
  size_t len;
} out_sink;

static void put(out_sink *o, const char *s, size_t n)
{
  if (o->p && n <= o->cap && o->len <= o->cap - n)
    memcpy(o->p + o->len, s, n);
  o->len += n;
}

static void put_u64(out_sink *o, uint64_t v)
{
  char d[20];
  size_t n = sizeof d;
  do {
    d[--n] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  put(o, d + n, sizeof d - n);
}

static void emit_field(out_sink *o, const lines *text, const field *f)
{
  put(o, f->name.p, f->name.n);
  put(o, ":", 1);
  if (f->value.n) {
    put(o, " ", 1);
    put(o, f->value.p, f->value.n);
  }
  size_t pos = f->cont_begin;
  ih_slice piece;
  while (next_piece(text, f, &pos, &piece)) {
    if (!piece.n)
      continue;
    put(o, " ", 1);
    put(o, piece.p, piece.n);
  }
  put(o, "\r\n", 2);
}

/* Walks the fields of text[0..end). Analyses when o is NULL; otherwise
 * writes the normalised copy according to the finished analysis *a and
 * counts *kept. allow_status_line: the first line may be "HTTP/x.y NNN". */
static void walk(const char *p, size_t end, bool allow_status_line, analysis *a, out_sink *o, size_t *kept)
{
  lines it = { p, end, 0 };
  lines text = { p, end, 0 };
  bool first = true;
  bool cl_written = false;
  ih_header_line hl;
  while (ih_header_lines_next(&it, &hl)) {
    ih_slice line = hl.text;
    if (line.n == 0) {
      if (!o) {
        a->has_body = true;
        a->body = (ih_slice){ p + it.pos, end - it.pos };
      }
      return;
    }
    if (is_ows(line.p[0])) { /* a fold with no field to continue */
      if (!o)
        a->dropped++;
      first = false;
      continue;
    }
    if (first && allow_status_line && starts_with_i(line.p, line.n, "HTTP/")) {
      first = false;
      field f;
      read_field(&it, &hl, &f); /* only to step over continuation lines */
      if (!o) {
        int code = ih_isapi_parse_status(line.p, line.n, NULL, 0);
        if (code > 0 && !a->status && !f.ncont) {
          a->status = code;
          a->status_text = line;
        } else {
          a->dropped += 1 + f.ncont;
        }
      }
      continue;
    }
    first = false;
    field f;
    read_field(&it, &hl, &f);
    if (!o) {
      analyse_field(a, &text, &f);
      continue;
    }
    switch (f.kind) {
    case F_OTHER:
      emit_field(o, &text, &f);
      ++*kept;
      break;
    case F_TRANSFER_ENCODING:
      if (f.ncont || a->te_bad)
        break; /* all or nothing, so out never claims a framing info denies */
      emit_field(o, &text, &f);
      ++*kept;
      break;
    case F_CONTENT_LENGTH:
      if (cl_written || !cl_valid(a) || a->te)
        break;
      put(o, f.name.p, f.name.n);
      put(o, ": ", 2);
      put_u64(o, a->cl);
      put(o, "\r\n", 2);
      cl_written = true;
      ++*kept;
      break;
    case F_BAD:
    case F_STATUS:
    case F_CONNECTION:
      break;
    }
  }
}

bool ih_isapi_parse_headers(const char *text, size_t len, char *out, size_t cap, ih_isapi_header_info *info)
{
  memset(info, 0, sizeof *info);
  size_t end = 0;
  if (text) {
    const char *nul = memchr(text, '\0', len);
    end = nul ? (size_t)(nul - text) : len;
  }
  analysis a;
  memset(&a, 0, sizeof a);
  if (end)
    walk(text, end, true, &a, NULL, NULL);

  info->has_body = a.has_body;
  info->body = a.has_body ? a.body : (ih_slice){ NULL, 0 };
  info->lines_dropped = a.dropped;
  info->status = a.status;
  info->status_text = a.status_text;
  info->content_length_present = a.cl_present;
  info->content_length_valid = cl_valid(&a);
  info->content_length = info->content_length_valid ? a.cl : 0;
  info->transfer_encoding = a.te;
  info->chunked = te_chunked(&a);
  info->conn_close = a.close;
  info->conn_keep_alive = a.keep_alive;
  info->delimited = a.te ? info->chunked : info->content_length_valid;

  out_sink o = { out, out ? cap : 0, 0 };
  if (end)
    walk(text, end, true, &a, &o, &info->lines_kept);
  info->out_len = o.len;
  return o.len <= o.cap;
}

/* ---- raw head from WriteClient ---- */

enum ih_isapi_raw_kind ih_isapi_sniff_raw_head(const char *data, size_t len, ih_isapi_raw_head *out)
{
  memset(out, 0, sizeof *out);
  if (!data || len < 12 || memcmp(data, "HTTP/1.", 7) != 0 || !ih_is_digit(data[7]) || data[8] != ' ' ||
      !ih_is_digit(data[9]) || !ih_is_digit(data[10]) || !ih_is_digit(data[11]) || data[9] == '0')
    return IH_ISAPI_RAW_NOT_HTTP;
  if (len > 12 && !is_ws(data[12]))
    return IH_ISAPI_RAW_NOT_HTTP;
  out->status = (data[9] - '0') * 100 + (data[10] - '0') * 10 + (data[11] - '0');
  out->version = data[7] == '0' ? 10 : 11;

  /* the status line, then the LF-terminated empty line that ends the head */
  lines it = { data, len, 0 };
  ih_slice line;
  bool terminated = false;
  if (!next_line(&it, &line, &terminated) || !terminated)
    return IH_ISAPI_RAW_PARTIAL;
  for (;;) {
    if (!next_line(&it, &line, &terminated))
      return IH_ISAPI_RAW_PARTIAL;
    if (line.n == 0 && terminated)
      break;
  }
  out->head_len = it.pos;
  return IH_ISAPI_RAW_COMPLETE;
}
