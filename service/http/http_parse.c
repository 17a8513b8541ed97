/* Strict incremental HTTP/1.x request-head parser and body-framing analysis
 * (see http_parse.h). Portable: no windows.h, no allocation, no globals.
 *
 * The head is parsed line by line from the start of the buffer. Syntax is
 * checked only on complete lines; the trailing incomplete line is checked
 * against the size limits only, and a complete line is checked against the
 * same limits before its syntax. So the status for a prefix of the input
 * never contradicts the status for the whole input: feeding the bytes one at
 * a time reaches the same result, at the byte that decides it. */
#include "http/http_parse.h"

#include <string.h>

#include "http/url_canon.h"

void ih_http_limits_default(ih_http_limits *lim)
{
  lim->max_request_line = 16384;
  lim->max_header_line = 16384;
  lim->max_header_bytes = 16384;
  lim->max_headers = 100;
}

/* ---- lines ---- */

/* One line of the head: content bytes at [start, start+len), without the
 * line end. An incomplete line's length excludes a final CR, which may be
 * the first half of a CRLF still in flight. */
typedef struct line {
  size_t start;
  size_t len;
  size_t next; /* offset just after the LF; valid when complete */
  bool complete;
} line;

static line line_at(const char *buf, size_t len, size_t start)
{
  line l = { start, 0, 0, false };
  const char *lf = start < len ? memchr(buf + start, '\n', len - start) : NULL;
  if (lf) {
    l.complete = true;
    l.next = (size_t)(lf - buf) + 1;
    l.len = l.next - 1 - start;
  } else {
    l.len = len - start;
  }
  if (l.len && buf[start + l.len - 1] == '\r')
    l.len--;
  return l;
}

static bool is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

static enum ih_http_parse_status fail(ih_http_request_head *out, enum ih_http_parse_status st, const char *why)
{
  out->error_reason = why;
  return st;
}

/* ---- request line (RFC 9112 3) ---- */

/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 2.3). */
static enum ih_http_parse_status parse_version(const char *v, size_t n, ih_http_request_head *out)
{
  if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || !ih_is_digit(v[5]) || v[6] != '.' || !ih_is_digit(v[7]))
    return fail(out, IH_PARSE_BAD_REQUEST, "invalid HTTP version");
  if (v[5] >= '2')
    return fail(out, IH_PARSE_BAD_VERSION, "HTTP major version not supported");
  if (v[5] == '0')
    return fail(out, IH_PARSE_BAD_REQUEST, "invalid HTTP version");
  /* RFC 9110 2.5: a higher minor version is served as the highest we know. */
  out->version = v[7] == '0' ? IH_HTTP_10 : IH_HTTP_11;
  return IH_PARSE_DONE;
}

/* request-line = method SP request-target SP HTTP-version; returns DONE when
 * the line is valid (out->version set; 9 for an HTTP/0.9 simple request). */
static enum ih_http_parse_status parse_request_line(const char *p, size_t n, ih_http_request_head *out)
{
  if (memchr(p, '\r', n))
    return fail(out, IH_PARSE_BAD_REQUEST, "bare CR in request line");
  size_t i = 0;
  while (i < n && ih_is_tchar((unsigned char)p[i]))
    i++;
  if (i == 0 || (i < n && p[i] != ' '))
    return fail(out, IH_PARSE_BAD_REQUEST, "invalid method");
  if (i == n)
    return fail(out, IH_PARSE_BAD_REQUEST, "missing request target");
  out->method = (ih_slice){ p, i };

  size_t t = ++i;
  while (i < n && p[i] != ' ') {
    if (is_ctl((unsigned char)p[i]))
      return fail(out, IH_PARSE_BAD_REQUEST, "control character in request target");
    i++;
  }
  if (i == t)
    return fail(out, IH_PARSE_BAD_REQUEST, "empty request target");
  out->target = (ih_slice){ p + t, i - t };

  if (i == n) {
    /* HTTP/0.9 simple request: "GET" SP target, nothing else. */
    if (out->method.n != 3 || memcmp(p, "GET", 3) != 0)
      return fail(out, IH_PARSE_BAD_REQUEST, "missing HTTP version");
    out->version = IH_HTTP_09;
    return IH_PARSE_DONE;
  }
  return parse_version(p + i + 1, n - i - 1, out);
}

/* ---- field lines (RFC 9112 5, RFC 9110 5.5) ---- */

/* Returns NULL when the field line is valid and stores it in *h, else the
 * reason it is not. `first` tells whether it directly follows the request line. */
static const char *parse_field(const char *p, size_t n, bool first, ih_http_header *h)
{
  if (p[0] == ' ' || p[0] == '\t') /* RFC 9112 2.2 and 5.2 */
    return first ? "whitespace before first header field" : "obs-fold in header field";
  if (memchr(p, '\r', n))
    return "bare CR in header field";
  size_t i = 0;
  while (i < n && ih_is_tchar((unsigned char)p[i]))
    i++;
  if (i < n && (p[i] == ' ' || p[i] == '\t')) {
    size_t j = i;
    while (j < n && (p[j] == ' ' || p[j] == '\t'))
      j++;
    /* RFC 9112 5.1: no whitespace between field name and colon. */
    return (j < n && p[j] == ':') ? "space before colon" : "whitespace in field name";
  }
  if (i == n)
    return "missing colon in header field";
  if (p[i] != ':')
    return "invalid character in field name";
  if (i == 0)
    return "empty field name";
  for (size_t k = i + 1; k < n; k++) {
    unsigned char c = (unsigned char)p[k];
    if (is_ctl(c) && c != '\t') /* obs-text (0x80-0xFF) is allowed */
      return "control character in field value";
  }
  h->name = (ih_slice){ p, i };
  h->value = ih_slice_trim_ows((ih_slice){ p + i + 1, n - i - 1 });
  return NULL;
}

/* The reason a field line of n bytes breaks a limit, or NULL. When both the
 * line and the section limit are broken, names the one a byte-by-byte feed
 * would hit first, so incremental and whole-buffer parses agree. */
static const char *field_limit(size_t n, size_t max_line, size_t room)
{
  if (n <= max_line && n <= room)
    return NULL;
  return max_line <= room ? "header field line too long" : "header section too large";
}

static enum ih_http_parse_status parse_fields(const char *buf, size_t len, size_t pos, const ih_http_limits *lim,
                                              ih_http_request_head *out)
{
  size_t max_headers = lim->max_headers < IH_HTTP_MAX_HEADERS ? lim->max_headers : IH_HTTP_MAX_HEADERS;
  size_t total = 0;
  for (;;) {
    line l = line_at(buf, len, pos);
    if (l.len) {
      if (out->header_count >= max_headers)
        return fail(out, IH_PARSE_HEADERS_TOO_LARGE, "too many header fields");
      const char *why = field_limit(l.len, lim->max_header_line, lim->max_header_bytes - total);
      if (why)
        return fail(out, IH_PARSE_HEADERS_TOO_LARGE, why);
    }
    if (!l.complete)
      return IH_PARSE_INCOMPLETE;
    if (!l.len) {
      out->head_len = l.next;
      return IH_PARSE_DONE;
    }
    const char *why = parse_field(buf + l.start, l.len, out->header_count == 0, &out->headers[out->header_count]);
    if (why)
      return fail(out, IH_PARSE_BAD_REQUEST, why);
    out->header_count++;
    total += l.len;
    pos = l.next;
  }
}

/* ---- incremental fast path ---- */

/* True when buf[0..len) is certainly still INCOMPLETE, given that the previous
 * call on buf[0..last_len) returned INCOMPLETE (the contract of last_len). If
 * the new bytes complete no line, only the trailing line can have grown past
 * a limit; that is checked conservatively here without re-parsing the head.
 * Whenever in doubt the caller falls back to the full parse. */
static bool still_incomplete(const char *buf, size_t len, size_t last_len, const ih_http_limits *lim)
{
  if (last_len == 0 || last_len >= len || memchr(buf + last_len, '\n', len - last_len))
    return false;
  /* A CR that is now followed by something may be a bare CR before the
   * request line: let the full parse decide. */
  if (memchr(buf + last_len - 1, '\r', len - last_len))
    return false;
  size_t ls = last_len; /* start of the trailing line */
  while (ls > 0 && buf[ls - 1] != '\n')
    ls--;
  /* Only when the line was already non-empty at last_len: then it was
   * already counted against max_headers and cannot become the empty line. */
  if (ls == last_len || buf[ls] == '\r')
    return false;
  size_t n = len - ls - (buf[len - 1] == '\r');
  size_t rs = 0; /* start of the request line, after leading empty lines */
  while (rs < ls && (buf[rs] == '\r' || buf[rs] == '\n'))
    rs++;
  if (rs == ls)
    return ls + n <= lim->max_request_line;
  const char *lf = memchr(buf + rs, '\n', ls - rs);
  if (!lf)
    return false;
  /* Field bytes so far are at most the bytes between request line and ls. */
  size_t before = ls - (size_t)(lf + 1 - buf);
  return n <= lim->max_header_line && before <= lim->max_header_bytes && n <= lim->max_header_bytes - before;
}

/* ---- entry points ---- */

enum ih_http_parse_status ih_http_parse_request(const char *buf, size_t len, size_t last_len,
                                                const ih_http_limits *lim, ih_http_request_head *out)
{
  ih_http_limits defaults;
  if (!lim) {
    ih_http_limits_default(&defaults);
    lim = &defaults;
  }
  out->method = (ih_slice){ buf, 0 };
  out->target = (ih_slice){ buf, 0 };
  out->version = 0;
  out->header_count = 0;
  out->head_len = 0;
  out->error_reason = NULL;
  if (still_incomplete(buf, len, last_len, lim))
    return IH_PARSE_INCOMPLETE;

  /* RFC 9112 2.2: a server SHOULD ignore at least one empty line before the
   * request line. A few are skipped (clients have sent a CRLF after a POST
   * body); more are no request at all, and get 400 instead of holding the
   * connection until the header timeout. Their bytes also count toward
   * max_request_line. */
  size_t pos = 0, empty_lines = 0;
  line l;
  for (;;) {
    l = line_at(buf, len, pos);
    /* A line that starts with a CR not followed by LF is neither an empty
     * line nor a request line (RFC 9112 2.2): refused as soon as the byte
     * after the CR is here, not when a LF finally comes. Checked before the
     * length only while that byte lies within max_request_line, so a feed
     * byte by byte decides exactly as the whole buffer does. */
    if (l.start + 1 < len && buf[l.start] == '\r' && buf[l.start + 1] != '\n' &&
        l.start + 1 < lim->max_request_line)
      return fail(out, IH_PARSE_BAD_REQUEST, "bare CR before the request line");
    if (l.start + l.len > lim->max_request_line)
      return fail(out, IH_PARSE_URI_TOO_LONG, "request line too long");
    if (!l.complete)
      return IH_PARSE_INCOMPLETE;
    if (l.len)
      break;
    if (++empty_lines > IH_HTTP_MAX_EMPTY_LINES)
      return fail(out, IH_PARSE_BAD_REQUEST, "too many empty lines before the request line");
    pos = l.next;
  }
  enum ih_http_parse_status st = parse_request_line(buf + l.start, l.len, out);
  if (st != IH_PARSE_DONE)
    return st;
  if (out->version == IH_HTTP_09) {
    out->head_len = l.next;
    return IH_PARSE_DONE;
  }
  st = parse_fields(buf, len, l.next, lim, out);
  if (st != IH_PARSE_DONE)
    out->header_count = 0;
  return st;
}

const ih_http_header *ih_http_find_header(const ih_http_request_head *h, const char *name)
{
  for (size_t i = 0; i < h->header_count; i++)
    if (ih_slice_ieq_cstr(h->headers[i].name, name))
      return &h->headers[i];
  return NULL;
}

/* ---- body framing (RFC 9112 6) ---- */

typedef enum ih_http_framing_status framing_status;

static framing_status framing_fail(ih_http_framing *out, framing_status st, const char *why)
{
  out->error_reason = why;
  return st;
}

static bool name_is(const ih_http_header *f, const char *name) { return ih_slice_ieq_cstr(f->name, name); }

/* RFC 9112 9.3: persistence defaults by version, "close" always wins. */
static bool keep_alive(const ih_http_request_head *h)
{
  if (h->version == IH_HTTP_09)
    return false;
  bool close = false, keep = false;
  for (size_t i = 0; i < h->header_count; i++) {
    if (!name_is(&h->headers[i], "Connection"))
      continue;
    close |= ih_slice_list_has_token(h->headers[i].value, "close");
    keep |= ih_slice_list_has_token(h->headers[i].value, "keep-alive");
  }
  if (close)
    return false;
  return h->version == IH_HTTP_11 || keep;
}

enum ih_http_framing_status ih_http_request_host(const ih_http_request_head *h, ih_http_framing *out)
{
  out->host = (ih_slice){ "", 0 };
  out->host_name = (ih_slice){ "", 0 };
  /* RFC 9112 3.2: exactly one Host in HTTP/1.1; never more than one. */
  size_t count = 0;
  for (size_t i = 0; i < h->header_count; i++) {
    if (!name_is(&h->headers[i], "Host"))
      continue;
    if (count++ == 0)
      out->host = h->headers[i].value;
  }
  if (count > 1)
    return framing_fail(out, IH_FRAMING_BAD_REQUEST, "more than one Host field");
  if (count == 0 && h->version == IH_HTTP_11)
    return framing_fail(out, IH_FRAMING_BAD_REQUEST, "missing Host field");
  /* RFC 9110 7.2: Host = uri-host [ ":" port ]. An empty value is what a
   * client sends for a target without authority (RFC 9112 3.2): no host. */
  ih_host parsed;
  if (out->host.n && !ih_host_parse(out->host, &parsed))
    return framing_fail(out, IH_FRAMING_BAD_REQUEST, "invalid Host field");
  if (out->host.n)
    out->host_name = parsed.name;
  /* RFC 9112 3.2.2: an absolute-form target's authority overrides Host. A
   * malformed target is refused by the URL check that follows. */
  ih_slice authority;
  if (ih_url_split(h->target, NULL, NULL, &authority) == IH_URL_OK && authority.p &&
      ih_host_parse(authority, &parsed))
    out->host_name = parsed.name;
  return IH_FRAMING_OK;
}

/* Transfer-Encoding across all its field lines, in order (RFC 9112 6.1). */
static framing_status check_transfer_encoding(const ih_http_request_head *h, ih_http_framing *out)
{
  size_t chunked = 0;
  bool other = false, last_chunked = false;
  for (size_t i = 0; i < h->header_count; i++) {
    if (!name_is(&h->headers[i], "Transfer-Encoding"))
      continue;
    ih_slice rest = h->headers[i].value, item;
    while (ih_slice_next_list_item(&rest, &item)) {
      last_chunked = ih_slice_ieq_cstr(item, "chunked");
      chunked += last_chunked;
      other |= !last_chunked;
    }
  }
  if (h->version == IH_HTTP_10)
    return framing_fail(out, IH_FRAMING_BAD_REQUEST, "Transfer-Encoding in HTTP/1.0 request");
  /* RFC 9112 6.3 item 4: the length cannot be determined -> 400. */
  if (!last_chunked)
    return framing_fail(out, IH_FRAMING_BAD_REQUEST, "chunked not final");
  if (chunked > 1) /* RFC 9112 7: chunked MUST NOT be applied more than once */
    return framing_fail(out, IH_FRAMING_BAD_REQUEST, "chunked applied more than once");
  if (other) /* RFC 9112 6.1: unknown transfer coding -> 501 */
    return framing_fail(out, IH_FRAMING_NOT_IMPLEMENTED, "unsupported transfer coding");
  out->chunked = true;
  return IH_FRAMING_OK;
}


/* RFC 9110 8.6 / RFC 9112 6.3 item 5: repeated fields or a list are accepted
 * only when all values are identical. */
static framing_status check_content_length(const ih_http_request_head *h, uint64_t max_body, ih_http_framing *out)
{
  bool seen = false;
  uint64_t cl = 0;
  for (size_t i = 0; i < h->header_count; i++) {
    if (!name_is(&h->headers[i], "Content-Length"))
      continue;
    ih_slice rest = h->headers[i].value, item;
    bool any = false;
    while (ih_slice_next_list_item(&rest, &item)) {
      uint64_t v;
      if (!ih_parse_u64(item, &v))
        return framing_fail(out, IH_FRAMING_BAD_REQUEST, "invalid Content-Length");
      if (seen && v != cl)
        return framing_fail(out, IH_FRAMING_BAD_REQUEST, "conflicting Content-Length values");
      cl = v;
      seen = any = true;
    }
    if (!any)
      return framing_fail(out, IH_FRAMING_BAD_REQUEST, "empty Content-Length");
  }
  out->content_length = cl;
  if (cl > max_body)
    return framing_fail(out, IH_FRAMING_TOO_LARGE, "Content-Length exceeds the body limit");
  return IH_FRAMING_OK;
}

static bool has_field(const ih_http_request_head *h, const char *name) { return ih_http_find_header(h, name) != NULL; }

static bool method_is(const ih_http_request_head *h, const char *m) { return ih_slice_eq(h->method, ih_slice_from_cstr(m)); }

static framing_status check_body(const ih_http_request_head *h, uint64_t max_body, ih_http_framing *out)
{
  bool te = has_field(h, "Transfer-Encoding"), cl = has_field(h, "Content-Length");
  /* RFC 9112 6.1: a server MAY reject CL+TE; we do (request smuggling). */
  if (te && cl)
    return framing_fail(out, IH_FRAMING_BAD_REQUEST, "both Transfer-Encoding and Content-Length");
  if (te)
    return check_transfer_encoding(h, out);
  if (cl)
    return check_content_length(h, max_body, out);
  /* IIS answers 411 to a POST or PUT without a declared length. */
  if (method_is(h, "POST") || method_is(h, "PUT"))
    return framing_fail(out, IH_FRAMING_LENGTH_REQUIRED, "POST or PUT without Content-Length");
  return IH_FRAMING_OK;
}

/* RFC 9110 10.1.1: only 100-continue is defined; an HTTP/1.0 100-continue
 * MUST be ignored. Anything else gets 417. */
static framing_status check_expect(const ih_http_request_head *h, ih_http_framing *out)
{
  for (size_t i = 0; i < h->header_count; i++) {
    if (!name_is(&h->headers[i], "Expect"))
      continue;
    ih_slice rest = h->headers[i].value, item;
    bool any = false;
    while (ih_slice_next_list_item(&rest, &item)) {
      if (!ih_slice_ieq_cstr(item, "100-continue"))
        return framing_fail(out, IH_FRAMING_EXPECTATION_FAILED, "unsupported expectation");
      any = true;
    }
    if (!any)
      return framing_fail(out, IH_FRAMING_EXPECTATION_FAILED, "empty Expect field");
    out->expect_continue = h->version == IH_HTTP_11;
  }
  return IH_FRAMING_OK;
}

enum ih_http_framing_status ih_http_framing_analyse(const ih_http_request_head *h, uint64_t max_body,
                                                    ih_http_framing *out)
{
  out->chunked = false;
  out->content_length = 0;
  out->expect_continue = false;
  out->host = (ih_slice){ "", 0 };
  out->host_name = (ih_slice){ "", 0 };
  out->error_reason = NULL;
  out->client_keep_alive = keep_alive(h);
  if (h->version == IH_HTTP_09) /* no fields, no body */
    return IH_FRAMING_OK;
  framing_status st = ih_http_request_host(h, out);
  if (st == IH_FRAMING_OK)
    st = check_body(h, max_body, out);
  if (st == IH_FRAMING_OK)
    st = check_expect(h, out);
  return st;
}
