/* libFuzzer target for service/http/url_canon.c.
 *
 * The input is used as a raw path for ih_url_canonicalize and as a
 * request-target for ih_url_split. Checks:
 *  - differential: the result (status and output) equals a slow, allocating
 *    reference written independently from the contract in url_canon.h;
 *  - properties of every IH_URL_OK result (starts with '/', no "//", no dot
 *    segments, no '\\' ':' NUL or controls, valid UTF-8, no trailing '.'/' ',
 *    no device or 8.3 names, idempotent when it holds no '%', fits out_cap);
 *  - buffer sizes: exactly-sized heap buffers (so ASan sees any overrun),
 *    TOO_LONG exactly when the result does not fit, other errors regardless;
 *  - ih_url_split slices stay inside the target. */
#include "http/url_canon.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                                                       \
  do {                                                                      \
    if (!(cond)) {                                                          \
      fprintf(stderr, "fuzz_url_canon: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                              \
    }                                                                       \
  } while (0)

/* ---- reference implementation ------------------------------------------ */

static int hexdig(uint8_t c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Unicode 15 Table 3-7, "Well-Formed UTF-8 Byte Sequences". */
static const struct {
  uint8_t lead_lo, lead_hi, second_lo, second_hi, len;
} utf8_rows[] = {
  { 0x00, 0x7F, 0, 0, 1 },       { 0xC2, 0xDF, 0x80, 0xBF, 2 },
  { 0xE0, 0xE0, 0xA0, 0xBF, 3 }, { 0xE1, 0xEC, 0x80, 0xBF, 3 },
  { 0xED, 0xED, 0x80, 0x9F, 3 }, { 0xEE, 0xEF, 0x80, 0xBF, 3 },
  { 0xF0, 0xF0, 0x90, 0xBF, 4 }, { 0xF1, 0xF3, 0x80, 0xBF, 4 },
  { 0xF4, 0xF4, 0x80, 0x8F, 4 },
};

/* Index of the first byte at which d[0..n) stops being well-formed UTF-8
 * (n if the input just ends inside a sequence), or SIZE_MAX if valid. */
static size_t utf8_error_at(const uint8_t *d, size_t n)
{
  size_t i = 0;
  while (i < n) {
    size_t r = 0, rows = sizeof utf8_rows / sizeof utf8_rows[0];
    while (r < rows && !(d[i] >= utf8_rows[r].lead_lo && d[i] <= utf8_rows[r].lead_hi))
      r++;
    if (r == rows)
      return i;
    size_t len = utf8_rows[r].len;
    for (size_t k = 1; k < len; k++) {
      if (i + k >= n)
        return n;
      uint8_t lo = k == 1 ? utf8_rows[r].second_lo : 0x80;
      uint8_t hi = k == 1 ? utf8_rows[r].second_hi : 0xBF;
      if (d[i + k] < lo || d[i + k] > hi)
        return i + k;
    }
    i += len;
  }
  return SIZE_MAX;
}

static int ieq_ascii(const uint8_t *a, size_t n, const char *b)
{
  if (strlen(b) != n)
    return 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t x = a[i];
    if (x >= 'A' && x <= 'Z')
      x += 32;
    if (x != (uint8_t)b[i])
      return 0;
  }
  return 1;
}

static int ref_is_device(const uint8_t *s, size_t n)
{
  static const char *const fixed[] = { "con", "prn", "aux", "nul", "conin$", "conout$" };
  static const char *const sup[] = { "\xc2\xb9", "\xc2\xb2", "\xc2\xb3" };
  size_t base = 0;
  while (base < n && s[base] != '.')
    base++;
  while (base > 0 && s[base - 1] == ' ')
    base--;
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    if (ieq_ascii(s, base, fixed[i]))
      return 1;
  char name[8];
  for (int k = 0; k < 2; k++) {
    const char *stem = k ? "lpt" : "com";
    for (int d = 0; d < 13; d++) {
      if (d < 10)
        snprintf(name, sizeof name, "%s%d", stem, d);
      else
        snprintf(name, sizeof name, "%s%s", stem, sup[d - 10]);
      if (ieq_ascii(s, base, name))
        return 1;
    }
  }
  return 0;
}

static int ref_is_short(const uint8_t *s, size_t n)
{
  size_t base = 0;
  while (base < n && s[base] != '.')
    base++;
  size_t t = base;
  while (t > 0 && s[t - 1] >= '0' && s[t - 1] <= '9')
    t--;
  return t < base && t > 0 && s[t - 1] == '~';
}

static int ref_is_sep(uint8_t c) { return c == '/' || c == '\\'; }

/* Returns the status; on IH_URL_OK *res is a malloc'd NUL-terminated path. */
static enum ih_url_status ref_canon(const uint8_t *in, size_t n, char **res)
{
  *res = NULL;
  if (n == 0)
    return IH_URL_BAD_FORM;
  uint8_t *d = malloc(n);
  size_t m = 0, bad_at = SIZE_MAX;
  enum ih_url_status bad = IH_URL_OK;
  for (size_t i = 0; i < n; i++, m++) {
    uint8_t b = in[i];
    if (b == '%') {
      if (i + 2 >= n || hexdig(in[i + 1]) < 0 || hexdig(in[i + 2]) < 0) {
        bad = IH_URL_BAD_ESCAPE;
        break;
      }
      b = (uint8_t)(hexdig(in[i + 1]) * 16 + hexdig(in[i + 2]));
      i += 2;
    }
    if (b == 0 || b < 0x20 || b == 0x7F) {
      bad = b == 0 ? IH_URL_NUL : IH_URL_CONTROL;
      break;
    }
    d[m] = b;
  }
  /* a UTF-8 error earlier than the escape/control problem wins */
  bad_at = m;
  size_t u = utf8_error_at(d, m);
  if (u != SIZE_MAX && (u < bad_at || (u == bad_at && bad == IH_URL_OK))) {
    /* u == m with no other problem: truncated at the very end */
    bad = IH_URL_BAD_UTF8;
  }
  if (bad != IH_URL_OK) {
    free(d);
    return bad;
  }
  if (m >= 2 && ref_is_sep(d[0]) && ref_is_sep(d[1])) {
    free(d);
    return IH_URL_UNC;
  }
  if (!ref_is_sep(in[0])) {
    free(d);
    return IH_URL_BAD_FORM;
  }
  /* stack of kept segments, remove_dot_segments left to right */
  size_t *st_off = malloc(sizeof(size_t) * (m + 1));
  size_t *st_len = malloc(sizeof(size_t) * (m + 1));
  size_t depth = 0;
  int trailing = 0;
  enum ih_url_status result = IH_URL_OK;
  size_t pos = 1;
  for (;;) {
    size_t end = pos;
    while (end < m && !ref_is_sep(d[end]))
      end++;
    const uint8_t *s = d + pos;
    size_t len = end - pos;
    if (len == 0 || (len == 1 && s[0] == '.')) {
      trailing = 1;
    } else if (len == 2 && s[0] == '.' && s[1] == '.') {
      if (depth == 0) {
        result = IH_URL_ABOVE_ROOT;
        break;
      }
      depth--;
      trailing = 1;
    } else {
      if (memchr(s, ':', len))
        result = IH_URL_STREAM;
      else if (s[len - 1] == '.' || s[len - 1] == ' ')
        result = IH_URL_TRAILING_DOT_SPACE;
      else if (ref_is_device(s, len))
        result = IH_URL_DEVICE_NAME;
      else if (ref_is_short(s, len))
        result = IH_URL_SHORT_NAME;
      if (result != IH_URL_OK)
        break;
      st_off[depth] = pos;
      st_len[depth] = len;
      depth++;
      trailing = 0;
    }
    if (end >= m)
      break;
    pos = end + 1;
  }
  if (result == IH_URL_OK) {
    char *o = malloc(m + 2);
    size_t k = 0;
    for (size_t i = 0; i < depth; i++) {
      o[k++] = '/';
      memcpy(o + k, d + st_off[i], st_len[i]);
      k += st_len[i];
    }
    if (k == 0 || trailing)
      o[k++] = '/';
    o[k] = '\0';
    *res = o;
  }
  free(st_off);
  free(st_len);
  free(d);
  return result;
}

/* ---- property checks ---------------------------------------------------- */

static void check_ok_output(const char *o, size_t len)
{
  const uint8_t *p = (const uint8_t *)o;
  REQUIRE(len >= 1 && p[0] == '/');
  REQUIRE(strlen(o) == len);
  REQUIRE(utf8_error_at(p, len) == SIZE_MAX);
  for (size_t i = 0; i < len; i++) {
    REQUIRE(p[i] >= 0x20 && p[i] != 0x7F);
    REQUIRE(p[i] != '\\' && p[i] != ':');
  }
  /* each segment: not empty (except the trailing one), not a dot segment,
   * no trailing '.' or ' ', not a device or 8.3 name */
  size_t pos = 1;
  while (pos <= len) {
    size_t end = pos;
    while (end < len && p[end] != '/')
      end++;
    size_t sl = end - pos;
    if (sl == 0) {
      REQUIRE(end == len); /* only the last segment may be empty: no "//" */
      break;
    }
    const uint8_t *s = p + pos;
    REQUIRE(!(sl == 1 && s[0] == '.'));
    REQUIRE(!(sl == 2 && s[0] == '.' && s[1] == '.'));
    REQUIRE(s[sl - 1] != '.' && s[sl - 1] != ' ');
    REQUIRE(!ref_is_device(s, sl));
    REQUIRE(!ref_is_short(s, sl));
    pos = end + 1;
  }
  REQUIRE(strstr(o, "//") == NULL);
  REQUIRE(strstr(o, "/./") == NULL && strstr(o, "/../") == NULL);
}

static void check_canon(const uint8_t *data, size_t size)
{
  ih_slice raw = { (const char *)data, size };
  size_t cap = size + 1; /* the result is never longer than the input */
  char *out = malloc(cap);
  size_t len = 777;
  enum ih_url_status st = ih_url_canonicalize(raw, out, cap, &len);
  REQUIRE(st >= IH_URL_OK && st <= IH_URL_TOO_LONG);
  REQUIRE(st != IH_URL_TOO_LONG);
  REQUIRE(ih_url_status_text(st) != NULL);

  char *want = NULL;
  enum ih_url_status ref = ref_canon(data, size, &want);
  if (ref != st)
    fprintf(stderr, "status %d, reference %d\n", st, ref);
  REQUIRE(ref == st);

  if (st == IH_URL_OK) {
    REQUIRE(len < cap);
    REQUIRE(len <= size);
    check_ok_output(out, len);
    REQUIRE(strcmp(out, want) == 0);

    /* idempotent, unless decoding a '%' again would change it */
    if (!strchr(out, '%')) {
      char *again = malloc(len + 1);
      size_t len2 = 0;
      REQUIRE(ih_url_canonicalize((ih_slice){ out, len }, again, len + 1, &len2) == IH_URL_OK);
      REQUIRE(len2 == len && memcmp(again, out, len + 1) == 0);
      free(again);
    }

    /* one byte short: TOO_LONG, "" and nothing written past the end */
    char *tight = malloc(len);
    size_t tl = 5;
    REQUIRE(ih_url_canonicalize(raw, tight, len, &tl) == IH_URL_TOO_LONG);
    REQUIRE(tl == 0 && tight[0] == '\0');
    free(tight);
    /* exact fit */
    char *exact = malloc(len + 1);
    REQUIRE(ih_url_canonicalize(raw, exact, len + 1, &tl) == IH_URL_OK);
    REQUIRE(tl == len && memcmp(exact, out, len + 1) == 0);
    free(exact);
    REQUIRE(ih_url_canonicalize(raw, NULL, 0, NULL) == IH_URL_TOO_LONG);
  } else {
    REQUIRE(len == 0 && out[0] == '\0');
    /* a real problem is reported whatever the buffer size */
    char one[1] = { 'X' };
    REQUIRE(ih_url_canonicalize(raw, one, 1, &len) == st && one[0] == '\0');
    REQUIRE(ih_url_canonicalize(raw, NULL, 0, NULL) == st);
  }
  free(want);
  free(out);
}

static int within(ih_slice s, const uint8_t *data, size_t size)
{
  const char *b = (const char *)data;
  return s.p >= b && s.p + s.n <= b + size;
}

static void check_split(const uint8_t *data, size_t size)
{
  ih_slice target = { (const char *)data, size }, path, query, host;
  enum ih_url_status st = ih_url_split(target, &path, &query, &host);
  REQUIRE(st == IH_URL_OK || st == IH_URL_BAD_FORM);
  if (st != IH_URL_OK) {
    REQUIRE(path.p == NULL && query.p == NULL && host.p == NULL);
    return;
  }
  REQUIRE(size > 0 && memchr(data, '#', size) == NULL);
  for (size_t i = 0; i < size; i++)
    REQUIRE(data[i] > 0x20 && data[i] != 0x7F);
  REQUIRE(path.n > 0);
  REQUIRE(path.p[0] == '/' || (path.n == 1 && path.p[0] == '*' && size == 1));
  if (!(path.n == 1 && path.p[0] == '/' && !within(path, data, size)))
    REQUIRE(within(path, data, size));
  REQUIRE(memchr(path.p, '?', path.n) == NULL);
  if (query.p) {
    REQUIRE(within(query, data, size));
    REQUIRE(query.p > (const char *)data && query.p[-1] == '?');
    REQUIRE(query.p + query.n == (const char *)data + size);
  } else {
    REQUIRE(query.n == 0 && memchr(data, '?', size) == NULL);
  }
  if (host.p) {
    REQUIRE(host.n > 0 && within(host, data, size));
    REQUIRE(memchr(host.p, '@', host.n) == NULL && memchr(host.p, '/', host.n) == NULL);
    REQUIRE(data[0] == 'h' || data[0] == 'H');
  } else {
    REQUIRE(host.n == 0 && (data[0] == '/' || data[0] == '*'));
  }
  if (path.p[0] == '/') {
    char *out = malloc(path.n + 1);
    size_t len;
    enum ih_url_status cs = ih_url_canonicalize(path, out, path.n + 1, &len);
    REQUIRE(cs != IH_URL_BAD_FORM && cs != IH_URL_TOO_LONG);
    free(out);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* copy so that reads past the end of the input are caught by ASan */
  uint8_t *copy = malloc(size ? size : 1);
  if (size)
    memcpy(copy, data, size);
  check_canon(copy, size);
  check_split(copy, size);
  free(copy);
  return 0;
}
