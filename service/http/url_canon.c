/* Request-target splitting and URL path canonicalisation (see url_canon.h).
 *
 * ih_url_canonicalize works in three passes over the raw path so that it
 * needs no scratch memory and reports TOO_LONG only for the final result:
 *   A. percent-decode and check every byte (escapes, NUL, controls, UTF-8);
 *   B. walk the decoded segments left to right: dot segments, Windows
 *      aliasing rules, and ".." that would leave the root;
 *   C. walk the segments right to left, writing the kept ones backwards into
 *      the caller's buffer (RFC 3986 §5.2.4 remove_dot_segments, done from
 *      the end: a ".." drops the nearest kept segment to its left).
 * Pass A guarantees every '%' starts a valid three-byte escape, which is
 * what lets passes B and C step over escapes in either direction. */
#include "http/url_canon.h"

#include <string.h>

const char *ih_url_status_text(enum ih_url_status st)
{
  switch (st) {
  case IH_URL_OK: return "ok";
  case IH_URL_BAD_FORM: return "request-target is not origin-form, absolute-form or \"*\"";
  case IH_URL_BAD_ESCAPE: return "percent escape is not two hex digits";
  case IH_URL_NUL: return "path contains a NUL byte";
  case IH_URL_BAD_UTF8: return "decoded path is not valid UTF-8";
  case IH_URL_CONTROL: return "decoded path contains a control character";
  case IH_URL_ABOVE_ROOT: return "\"..\" would leave the root";
  case IH_URL_STREAM: return "':' in a path segment (alternate data stream or drive)";
  case IH_URL_TRAILING_DOT_SPACE: return "path segment ends in '.' or ' '";
  case IH_URL_DEVICE_NAME: return "path segment is a reserved device name";
  case IH_URL_SHORT_NAME: return "path segment looks like an 8.3 short name";
  case IH_URL_UNC: return "path starts with two separators (UNC or device namespace)";
  case IH_URL_TOO_LONG: return "canonical path does not fit the buffer";
  }
  return "unknown URL status";
}

/* ---- ih_url_split ------------------------------------------------------ */



static bool is_alnum(unsigned char c)
{
  return ih_is_digit((char)c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 3986 §3.2.2 reg-name: unreserved / pct-encoded / sub-delims. */
static bool valid_reg_name(const unsigned char *p, size_t n)
{
  if (n == 0)
    return false; /* RFC 9110 §4.2.1: an empty host must be rejected */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = p[i];
    if (c == '%') {
      if (n - i < 3 || ih_hex_value(p[i + 1]) < 0 || ih_hex_value(p[i + 2]) < 0)
        return false;
      i += 2;
    } else if (!is_alnum(c) && (c == 0 || !strchr("-._~!$&'()*+,;=", c))) {
      return false;
    }
  }
  return true;
}

/* IP-literal = "[" ( IPv6address / IPvFuture ) "]" (RFC 3986 3.2.2), checked
 * for its alphabet only: hex digits, ':' and '.' for IPv6 (an embedded IPv4
 * tail included), or "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ).
 * Nothing in it reaches a file system; routing compares it as text. */
static bool valid_ip_literal(const unsigned char *p, size_t n)
{
  if (n && (p[0] == 'v' || p[0] == 'V')) {
    size_t i = 1;
    while (i < n && ih_hex_value(p[i]) >= 0)
      i++;
    if (i == 1 || i >= n || p[i] != '.' || i + 1 == n)
      return false;
    for (i++; i < n; i++)
      if (!is_alnum(p[i]) && (p[i] == 0 || !strchr("-._~!$&'()*+,;=:", p[i])))
        return false;
    return true;
  }
  bool colon = false;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == ':')
      colon = true;
    else if (ih_hex_value(p[i]) < 0 && p[i] != '.')
      return false;
  }
  return colon;
}

/* Length of the uri-host at the start of p[0..n), or 0 when there is none. */
static size_t uri_host_len(const unsigned char *p, size_t n)
{
  if (n && p[0] == '[') {
    const unsigned char *close = memchr(p, ']', n);
    if (!close || !valid_ip_literal(p + 1, (size_t)(close - p) - 1))
      return 0;
    return (size_t)(close - p) + 1;
  }
  size_t end = 0;
  while (end < n && p[end] != ':')
    end++;
  return valid_reg_name(p, end) ? end : 0;
}

bool ih_host_parse(ih_slice authority, ih_host *out)
{
  const unsigned char *p = (const unsigned char *)authority.p;
  size_t n = p ? authority.n : 0;
  memset(out, 0, sizeof *out);
  size_t host_end = uri_host_len(p, n);
  if (host_end == 0)
    return false;
  unsigned long port = 0;
  if (host_end < n) {
    /* port = 1*5DIGIT up to 65535. RFC 3986 3.2.3 allows an empty port,
     * but http.sys refuses "host:" with 400 and nothing legitimate sends it. */
    size_t digits = n - host_end - 1;
    if (p[host_end] != ':' || digits == 0 || digits > 5)
      return false;
    for (size_t i = host_end + 1; i < n; i++) {
      if (!ih_is_digit((char)p[i]))
        return false;
      port = port * 10 + (unsigned long)(p[i] - '0');
    }
    if (port > 65535)
      return false;
  }
  out->name = (ih_slice){ authority.p, host_end };
  out->has_port = host_end < n;
  out->port = (uint16_t)port;
  return true;
}

/* Length of "http://" or "https://" (any case) at the start of p, else 0. */
static size_t scheme_prefix(const unsigned char *p, size_t n)
{
  static const char http[] = "http";
  size_t i = 0;
  while (i < 4 && i < n && ih_ascii_lower((char)p[i]) == http[i])
    i++;
  if (i < 4)
    return 0;
  if (i < n && ih_ascii_lower((char)p[i]) == 's')
    i++;
  if (n - i < 3 || memcmp(p + i, "://", 3) != 0)
    return 0;
  return i + 3;
}

enum ih_url_status ih_url_split(ih_slice target, ih_slice *path, ih_slice *query, ih_slice *host)
{
  static const char root[] = "/";
  const unsigned char *p = (const unsigned char *)target.p;
  size_t n = target.n;
  ih_slice pa = { NULL, 0 }, qu = { NULL, 0 }, ho = { NULL, 0 };

  if (path)
    *path = pa;
  if (query)
    *query = qu;
  if (host)
    *host = ho;
  if (n == 0 || !p)
    return IH_URL_BAD_FORM;
  /* No fragment ever reaches a server; no raw SP/CTL in any RFC 3986 form. */
  for (size_t i = 0; i < n; i++)
    if (p[i] == '#' || p[i] <= 0x20 || p[i] == 0x7f)
      return IH_URL_BAD_FORM;

  if (n == 1 && p[0] == '*') {
    pa = target;
  } else {
    size_t start = 0; /* where the path begins */
    if (p[0] != '/') {
      size_t auth = scheme_prefix(p, n);
      if (!auth)
        return IH_URL_BAD_FORM;
      size_t end = auth;
      while (end < n && p[end] != '/' && p[end] != '?')
        end++;
      ih_host parsed;
      if (!ih_host_parse((ih_slice){ target.p + auth, end - auth }, &parsed))
        return IH_URL_BAD_FORM;
      ho = (ih_slice){ target.p + auth, end - auth };
      start = end;
    }
    size_t q = start;
    while (q < n && p[q] != '?')
      q++;
    pa = (ih_slice){ target.p + start, q - start };
    if (pa.n == 0)
      pa = (ih_slice){ root, 1 }; /* "http://host" or "http://host?x" */
    if (q < n)
      qu = (ih_slice){ target.p + q + 1, n - q - 1 };
  }
  if (path)
    *path = pa;
  if (query)
    *query = qu;
  if (host)
    *host = ho;
  return IH_URL_OK;
}

/* ---- ih_url_canonicalize ------------------------------------------------ */

static bool is_sep(unsigned char c) { return c == '/' || c == '\\'; }

/* Decodes the unit (raw byte or %XX) at p[i]; returns its width, or 0 for a
 * '%' not followed by two hex digits. */
static size_t unit_fwd(const unsigned char *p, size_t n, size_t i, unsigned char *val)
{
  if (p[i] != '%') {
    *val = p[i];
    return 1;
  }
  if (n - i < 3)
    return 0;
  int hi = ih_hex_value(p[i + 1]), lo = ih_hex_value(p[i + 2]);
  if (hi < 0 || lo < 0)
    return 0;
  *val = (unsigned char)(hi << 4 | lo);
  return 3;
}

/* Decodes the unit that ends just before p[end] (only after pass A: every
 * '%' then starts a valid escape, and hex digits are never '%'). */
static size_t unit_back(const unsigned char *p, size_t end, unsigned char *val)
{
  if (end >= 3 && p[end - 3] == '%') {
    *val = (unsigned char)(ih_hex_value(p[end - 2]) << 4 | ih_hex_value(p[end - 1]));
    return 3;
  }
  *val = p[end - 1];
  return 1;
}

/* Incremental UTF-8 check (RFC 3629 §4): rejects overlongs, surrogates,
 * code points above U+10FFFF and stray continuation bytes. */
typedef struct utf8_check {
  unsigned need;          /* continuation bytes still expected */
  unsigned char lo, hi;   /* allowed range of the next continuation byte */
} utf8_check;

static bool utf8_step(utf8_check *u, unsigned char b)
{
  if (u->need) {
    if (b < u->lo || b > u->hi)
      return false;
    u->need--;
    u->lo = 0x80;
    u->hi = 0xBF;
    return true;
  }
  u->lo = 0x80;
  u->hi = 0xBF;
  if (b < 0x80)
    return true;
  if (b < 0xC2) /* continuation byte, or C0/C1 (always overlong) */
    return false;
  if (b < 0xE0) {
    u->need = 1;
  } else if (b < 0xF0) {
    u->need = 2;
    if (b == 0xE0)
      u->lo = 0xA0; /* overlong below U+0800 */
    if (b == 0xED)
      u->hi = 0x9F; /* surrogates U+D800-DFFF */
  } else if (b < 0xF5) {
    u->need = 3;
    if (b == 0xF0)
      u->lo = 0x90; /* overlong below U+10000 */
    if (b == 0xF4)
      u->hi = 0x8F; /* above U+10FFFF */
  } else {
    return false;
  }
  return true;
}

/* Pass A: byte-level problems, leftmost first. */
static enum ih_url_status check_bytes(const unsigned char *p, size_t n)
{
  utf8_check u = { 0, 0x80, 0xBF };
  for (size_t i = 0; i < n;) {
    unsigned char b;
    size_t w = unit_fwd(p, n, i, &b);
    if (!w)
      return IH_URL_BAD_ESCAPE;
    if (b == 0)
      return IH_URL_NUL;
    if (b < 0x20 || b == 0x7f)
      return IH_URL_CONTROL;
    if (!utf8_step(&u, b))
      return IH_URL_BAD_UTF8;
    i += w;
  }
  return u.need ? IH_URL_BAD_UTF8 : IH_URL_OK;
}

/* What pass B remembers about the decoded segment being read. The "base" is
 * the part before the first '.', which is what Windows compares against
 * device names and what carries an 8.3 "~N" tail. */
typedef struct seg_state {
  size_t len;             /* decoded bytes so far */
  bool all_dots;
  bool colon;
  unsigned char last;
  bool in_base;           /* no '.' seen yet */
  unsigned char base[8];  /* first bytes of the base (device names are <= 7) */
  size_t base_len;
  size_t base_trim;       /* base length without trailing spaces */
  int tilde;              /* 0: none, 1: base ends in '~', 2: in "~digits" */
} seg_state;

static void seg_reset(seg_state *s)
{
  memset(s, 0, sizeof *s);
  s->all_dots = true;
  s->in_base = true;
}

static void seg_add(seg_state *s, unsigned char b)
{
  s->len++;
  s->last = b;
  if (b != '.')
    s->all_dots = false;
  if (b == ':')
    s->colon = true;
  if (!s->in_base)
    return;
  if (b == '.') {
    s->in_base = false;
    return;
  }
  if (s->base_len < sizeof s->base)
    s->base[s->base_len] = b;
  s->base_len++;
  if (b != ' ')
    s->base_trim = s->base_len;
  if (b == '~')
    s->tilde = 1;
  else if (ih_is_digit((char)b) && s->tilde)
    s->tilde = 2;
  else
    s->tilde = 0;
}

static bool base_is(const unsigned char *b, const char *name, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (ih_ascii_lower((char)b[i]) != name[i])
      return false;
  return true;
}

/* Microsoft "Naming Files, Paths, and Namespaces": CON, PRN, AUX, NUL,
 * COM0-9, LPT0-9 (and COM/LPT with superscript 1-3), also when followed by
 * an extension ("nul.txt") and with spaces before it ("com1 .txt").
 * CONIN$/CONOUT$ are the console buffers. */
static bool is_device(const seg_state *s)
{
  const unsigned char *b = s->base;
  size_t n = s->base_trim;
  if (n == 3)
    return base_is(b, "con", 3) || base_is(b, "prn", 3) || base_is(b, "aux", 3) ||
           base_is(b, "nul", 3);
  if (n == 6)
    return base_is(b, "conin$", 6);
  if (n == 7)
    return base_is(b, "conout$", 7);
  if (n != 4 && n != 5)
    return false;
  if (!base_is(b, "com", 3) && !base_is(b, "lpt", 3))
    return false;
  if (n == 4)
    return ih_is_digit((char)b[3]);
  /* U+00B9, U+00B2, U+00B3 SUPERSCRIPT ONE/TWO/THREE in UTF-8 */
  return b[3] == 0xC2 && (b[4] == 0xB9 || b[4] == 0xB2 || b[4] == 0xB3);
}

/* Windows-aliasing checks on one complete, non-dot, non-empty segment. */
static enum ih_url_status check_segment(const seg_state *s)
{
  if (s->colon) /* "file::$DATA", "c:" */
    return IH_URL_STREAM;
  if (s->last == '.' || s->last == ' ') /* Win32 strips these: "a.txt." opens "a.txt" */
    return IH_URL_TRAILING_DOT_SPACE;
  if (is_device(s))
    return IH_URL_DEVICE_NAME;
  if (s->tilde == 2) /* "PROGRA~1", "secret~12.txt" may name a long file */
    return IH_URL_SHORT_NAME;
  return IH_URL_OK;
}

/* Pass B: segment rules left to right. Every segment is checked, including
 * ones a later ".." removes. Sets *trailing when the last segment is empty,
 * "." or ".." (RFC 3986 §5.2.4 then leaves a trailing '/'). */
static enum ih_url_status check_segments(const unsigned char *p, size_t n, bool *trailing)
{
  seg_state s;
  size_t depth = 0;
  size_t i = 1; /* p[0] is a raw separator */
  seg_reset(&s);
  for (;;) {
    unsigned char b = 0;
    size_t w = i < n ? unit_fwd(p, n, i, &b) : 0;
    if (i < n && !is_sep(b)) {
      seg_add(&s, b);
      i += w;
      continue;
    }
    /* segment complete */
    if (s.len == 0 || (s.all_dots && s.len == 1)) {
      *trailing = true;
    } else if (s.all_dots && s.len == 2) {
      if (depth == 0)
        return IH_URL_ABOVE_ROOT; /* refuse rather than clamp at "/" */
      depth--;
      *trailing = true;
    } else {
      enum ih_url_status st = check_segment(&s);
      if (st != IH_URL_OK)
        return st;
      depth++;
      *trailing = false;
    }
    if (i >= n)
      return IH_URL_OK;
    i += w;
    seg_reset(&s);
  }
}

/* Pass C: writes the kept segments backwards into out[0..cap-1), then moves
 * them to the front. Returns the length, or (size_t)-1 if they do not fit. */
static size_t write_segments(const unsigned char *p, size_t n, bool trailing, char *out, size_t cap)
{
  size_t top = cap - 1; /* out[top] is reserved for the NUL */
  size_t w = top;
  size_t skip = 0;  /* ".." seen that still have to drop a segment */
  size_t e = n;

  if (trailing) {
    if (w == 0)
      return (size_t)-1;
    out[--w] = '/';
  }
  while (e > 0) {
    /* find the segment [s, e) and its decoded length */
    size_t s = e, dlen = 0, dots = 0;
    unsigned char b;
    for (;;) {
      size_t uw = unit_back(p, s, &b);
      if (is_sep(b))
        break;
      s -= uw;
      dlen++;
      dots += b == '.';
    }
    if (dlen == 0 || (dots == dlen && dlen == 1)) {
      /* empty or "." */
    } else if (dots == dlen && dlen == 2) {
      skip++;
    } else if (skip) {
      skip--;
    } else {
      if (w < dlen + 1)
        return (size_t)-1;
      for (size_t k = e; k > s;) {
        k -= unit_back(p, k, &b);
        out[--w] = (char)b;
      }
      out[--w] = '/';
    }
    e = s - unit_back(p, s, &b); /* step over the separator before it */
  }
  if (w == top) { /* nothing kept: the root */
    if (w == 0)
      return (size_t)-1;
    out[--w] = '/';
  }
  size_t len = top - w;
  memmove(out, out + w, len);
  out[len] = '\0';
  return len;
}

static enum ih_url_status fail(enum ih_url_status st, char *out, size_t out_cap, size_t *out_len)
{
  if (out && out_cap > 0)
    out[0] = '\0';
  if (out_len)
    *out_len = 0;
  return st;
}

enum ih_url_status ih_url_canonicalize(ih_slice raw_path, char *out, size_t out_cap, size_t *out_len)
{
  const unsigned char *p = (const unsigned char *)raw_path.p;
  size_t n = raw_path.n;
  enum ih_url_status st;

  if (n == 0 || !p)
    return fail(IH_URL_BAD_FORM, out, out_cap, out_len);
  st = check_bytes(p, n);
  if (st != IH_URL_OK)
    return fail(st, out, out_cap, out_len);

  /* "//server", "\\\\?\\", "\\\\.\\", "/%5C..." are UNC / device namespace
   * forms to Windows; refuse them before they could be joined to a root. */
  /* u0 = 0 only for the compiler: after check_bytes() unit_fwd never fails
   * here, which GCC at -O3 cannot see (-Wmaybe-uninitialized) */
  unsigned char u0 = 0, u1 = 0;
  size_t w0 = unit_fwd(p, n, 0, &u0);
  if (w0 < n)
    unit_fwd(p, n, w0, &u1);
  if (is_sep(u0) && w0 < n && is_sep(u1))
    return fail(IH_URL_UNC, out, out_cap, out_len);
  if (!is_sep(p[0])) /* origin-form starts with a raw '/' ('\\' tolerated) */
    return fail(IH_URL_BAD_FORM, out, out_cap, out_len);

  bool trailing = false;
  st = check_segments(p, n, &trailing);
  if (st != IH_URL_OK)
    return fail(st, out, out_cap, out_len);

  if (!out || out_cap == 0)
    return fail(IH_URL_TOO_LONG, out, out_cap, out_len);
  size_t len = write_segments(p, n, trailing, out, out_cap);
  if (len == (size_t)-1)
    return fail(IH_URL_TOO_LONG, out, out_cap, out_len);
  if (out_len)
    *out_len = len;
  return IH_URL_OK;
}
