/* Static-file rules (see static_rules.h): HTTP-date conversion (RFC 9110
 * 5.6.7), entity tags (RFC 9110 8.8.3), conditional requests (RFC 9110 13)
 * and single byte ranges (RFC 9110 14).
 *
 * Dates are converted with core/ih_time (no timegm/gmtime).
 * Supported range: 1970-01-01 00:00:00 .. 9999-12-31 23:59:59 UTC.
 *
 * Pure functions: no allocation, no global mutable state. */
#include "http/static_rules.h"

#include <string.h>

#include "core/ih_time.h"

static const char day_names[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const long_day_names[7] = { "Sunday",   "Monday", "Tuesday", "Wednesday",
                                               "Thursday", "Friday", "Saturday" };
static const char month_names[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
/* ---- HTTP-date ---------------------------------------------------------- */

static void put2(char *p, int v)
{
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
}

/* Out-of-range times are clamped to the supported range so the output is
 * always a well-formed IMF-fixdate. */
void ih_http_date_format(int64_t unix_seconds, char *out)
{
  ih_utc u = ih_utc_from_unix(unix_seconds);
  /* "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 5.6.7 IMF-fixdate) */
  memcpy(out, day_names[u.weekday], 3);
  out[3] = ',';
  out[4] = ' ';
  put2(out + 5, u.day);
  out[7] = ' ';
  memcpy(out + 8, month_names[u.month - 1], 3);
  out[11] = ' ';
  put2(out + 12, u.year / 100);
  put2(out + 14, u.year % 100);
  out[16] = ' ';
  put2(out + 17, u.hour);
  out[19] = ':';
  put2(out + 20, u.minute);
  out[22] = ':';
  put2(out + 23, u.second);
  memcpy(out + 25, " GMT", 4);
  out[IH_HTTP_DATE_LEN] = '\0';
}


/* Exactly n decimal digits at p. */
static bool digits(const char *p, int n, int *v)
{
  int r = 0;
  for (int i = 0; i < n; i++) {
    if (!ih_is_digit(p[i]))
      return false;
    r = r * 10 + (p[i] - '0');
  }
  *v = r;
  return true;
}

/* Month names are case-sensitive (RFC 9110 5.6.7). Returns 1..12 or 0. */
static int month_from_name(const char *p)
{
  for (int i = 0; i < 12; i++)
    if (memcmp(p, month_names[i], 3) == 0)
      return i + 1;
  return 0;
}

static bool is_day_name(const char *p)
{
  for (int i = 0; i < 7; i++)
    if (memcmp(p, day_names[i], 3) == 0)
      return true;
  return false;
}

/* "hh:mm:ss" with hour 0..23, minute and second 0..59 (no leap second). */
static bool parse_time(const char *p, int *secs)
{
  int h, mi, s;
  if (!digits(p, 2, &h) || p[2] != ':' || !digits(p + 3, 2, &mi) || p[5] != ':' || !digits(p + 6, 2, &s))
    return false;
  if (h > 23 || mi > 59 || s > 59)
    return false;
  *secs = h * 3600 + mi * 60 + s;
  return true;
}

static bool make_time(int y, int m, int d, int secs, int64_t *out)
{
  if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > ih_days_in_month(y, m))
    return false;
  *out = ih_days_from_civil(y, m, d) * IH_SECS_PER_DAY + secs;
  return true;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
static bool parse_imf_fixdate(const char *p, int64_t *out)
{
  int d, y, secs, m;
  if (!is_day_name(p) || memcmp(p + 3, ", ", 2) != 0 || !digits(p + 5, 2, &d) || p[7] != ' ')
    return false;
  if (!(m = month_from_name(p + 8)) || p[11] != ' ' || !digits(p + 12, 4, &y) || p[16] != ' ')
    return false;
  if (!parse_time(p + 17, &secs) || memcmp(p + 25, " GMT", 4) != 0)
    return false;
  return make_time(y, m, d, secs, out);
}

/* asctime: "Sun Nov  6 08:49:37 1994" (day is 2DIGIT or SP DIGIT) */
static bool parse_asctime(const char *p, int64_t *out)
{
  int d, y, secs, m;
  if (!is_day_name(p) || p[3] != ' ' || !(m = month_from_name(p + 4)) || p[7] != ' ')
    return false;
  if (p[8] == ' ') {
    if (!digits(p + 9, 1, &d))
      return false;
  } else if (!digits(p + 8, 2, &d)) {
    return false;
  }
  if (p[10] != ' ' || !parse_time(p + 11, &secs) || p[19] != ' ' || !digits(p + 20, 4, &y))
    return false;
  return make_time(y, m, d, secs, out);
}

/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". Two-digit years use a fixed
 * pivot: 70..99 -> 1970..1999, 00..69 -> 2000..2069. This is the RFC 9110
 * 5.6.7 "more than 50 years in the future" rule evaluated for the 2020s, and
 * keeps the result independent of the current clock. */
static bool parse_rfc850(const char *p, size_t n, int64_t *out)
{
  size_t name_len = 0;
  for (int i = 0; i < 7; i++) {
    size_t l = strlen(long_day_names[i]);
    if (n > l && memcmp(p, long_day_names[i], l) == 0 && p[l] == ',') {
      name_len = l;
      break;
    }
  }
  if (!name_len || n != name_len + 24)
    return false;
  p += name_len; /* ", 06-Nov-94 08:49:37 GMT" */
  int d, y, secs, m;
  if (memcmp(p, ", ", 2) != 0 || !digits(p + 2, 2, &d) || p[4] != '-' || !(m = month_from_name(p + 5)))
    return false;
  if (p[8] != '-' || !digits(p + 9, 2, &y) || p[11] != ' ' || !parse_time(p + 12, &secs))
    return false;
  if (memcmp(p + 20, " GMT", 4) != 0)
    return false;
  y += y >= 70 ? 1900 : 2000;
  return make_time(y, m, d, secs, out);
}

/* Accepts the three forms of RFC 9110 5.6.7 with surrounding OWS. Names,
 * "GMT" and the punctuation are case- and space-exact. The day name must be a
 * valid name but is not checked against the date (recipients should be
 * robust, RFC 9110 5.6.7). */
bool ih_http_date_parse(ih_slice s, int64_t *unix_seconds)
{
  s = ih_slice_trim_ows(s);
  int64_t t;
  bool ok;
  if (s.n == IH_HTTP_DATE_LEN && s.p[3] == ',')
    ok = parse_imf_fixdate(s.p, &t);
  else if (s.n == 24 && s.p[3] == ' ')
    ok = parse_asctime(s.p, &t);
  else
    ok = parse_rfc850(s.p, s.n, &t);
  if (ok)
    *unix_seconds = t;
  return ok;
}

/* ---- entity tags (RFC 9110 8.8.3) --------------------------------------- */

size_t ih_etag_make(int64_t mtime_unix, uint64_t size, char *out)
{
  static const char hex[] = "0123456789abcdef";
  /* Negative times (never produced by the file layer) are shown as their
   * 64-bit two's complement so the tag stays deterministic. */
  uint64_t parts[2] = { (uint64_t)mtime_unix, size };
  size_t n = 0;
  out[n++] = '"';
  for (int k = 0; k < 2; k++) {
    if (k)
      out[n++] = ':';
    int shift = 60;
    while (shift > 0 && ((parts[k] >> shift) & 0xf) == 0)
      shift -= 4;
    for (; shift >= 0; shift -= 4)
      out[n++] = hex[(parts[k] >> shift) & 0xf];
  }
  out[n++] = '"';
  out[n] = '\0';
  return n;
}

typedef struct etag_val {
  bool weak;
  ih_slice opaque; /* including the quotes */
} etag_val;

/* etagc = %x21 / %x23-7E / obs-text */
static bool is_etagc(unsigned char c) { return c == 0x21 || (c >= 0x23 && c != 0x7f); }

/* Parses one entity-tag at the start of s; returns its length or 0. */
static size_t parse_etag(ih_slice s, etag_val *e)
{
  size_t i = 0;
  e->weak = false;
  if (s.n >= 2 && s.p[0] == 'W' && s.p[1] == '/') { /* weak = %s"W/" */
    e->weak = true;
    i = 2;
  }
  if (i >= s.n || s.p[i] != '"')
    return 0;
  size_t start = i++;
  while (i < s.n && is_etagc((unsigned char)s.p[i]))
    i++;
  if (i >= s.n || s.p[i] != '"')
    return 0;
  i++;
  e->opaque = (ih_slice){ s.p + start, i - start };
  return i;
}

/* RFC 9110 8.8.3.2: strong comparison needs both tags strong; weak
 * comparison only compares the opaque-tags. */
static bool etag_match(const etag_val *a, const etag_val *b, bool weak_cmp)
{
  if (!weak_cmp && (a->weak || b->weak))
    return false;
  return ih_slice_eq(a->opaque, b->opaque);
}

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

/* Evaluates an If-Match / If-None-Match value ("*" / 1#entity-tag) against
 * the current tag of an existing representation. "*" matches any existing
 * representation. A malformed list never matches, even if an earlier member
 * did; empty list elements are skipped (RFC 9110 5.6.1). */
static bool etag_list_matches(ih_slice list, ih_slice current, bool weak_cmp)
{
  list = ih_slice_trim_ows(list);
  if (list.n == 1 && list.p[0] == '*')
    return true;
  etag_val cur;
  ih_slice cur_s = ih_slice_trim_ows(current);
  bool have_cur = cur_s.n && parse_etag(cur_s, &cur) == cur_s.n;
  bool matched = false;
  size_t members = 0;
  size_t i = 0;
  for (;;) {
    while (i < list.n && (is_ows(list.p[i]) || list.p[i] == ','))
      i++;
    if (i >= list.n)
      break;
    etag_val e;
    size_t used = parse_etag((ih_slice){ list.p + i, list.n - i }, &e);
    if (!used)
      return false;
    i += used;
    members++;
    if (have_cur && etag_match(&e, &cur, weak_cmp))
      matched = true;
    while (i < list.n && is_ows(list.p[i]))
      i++;
    if (i < list.n && list.p[i] != ',')
      return false; /* junk after a tag */
  }
  return members > 0 && matched;
}

/* ---- conditional requests (RFC 9110 13.2.2) ----------------------------- */

/* A field whose value is empty (after OWS) counts as absent. */
static bool present(ih_slice s) { return ih_slice_trim_ows(s).n > 0; }

/* Invalid dates are ignored (RFC 9110 13.1.3, 13.1.4). If-Modified-Since is
 * not compared against the current clock here (this module has none). */
enum ih_cond_result ih_conditional_eval(const ih_cond_fields *f, bool get_or_head, ih_slice etag,
                                        int64_t mtime_unix)
{
  int64_t date;
  /* Step 1: If-Match (strong); step 2 only when If-Match is absent. */
  if (present(f->if_match)) {
    if (!etag_list_matches(f->if_match, etag, false))
      return IH_COND_PRECONDITION_FAILED;
  } else if (present(f->if_unmodified_since) && ih_http_date_parse(f->if_unmodified_since, &date)) {
    if (mtime_unix > date)
      return IH_COND_PRECONDITION_FAILED;
  }
  /* Step 3: If-None-Match (weak); step 4 only when it is absent. */
  if (present(f->if_none_match)) {
    if (etag_list_matches(f->if_none_match, etag, true))
      return get_or_head ? IH_COND_NOT_MODIFIED : IH_COND_PRECONDITION_FAILED;
  } else if (get_or_head && present(f->if_modified_since) && ih_http_date_parse(f->if_modified_since, &date)) {
    if (mtime_unix <= date)
      return IH_COND_NOT_MODIFIED;
  }
  return IH_COND_PROCEED;
}

/* ---- byte ranges (RFC 9110 14.1.2, 13.1.5) ------------------------------ */

static bool all_digits(ih_slice s)
{
  if (!s.n)
    return false;
  for (size_t i = 0; i < s.n; i++)
    if (!ih_is_digit(s.p[i]))
      return false;
  return true;
}

/* Decimal value saturated at UINT64_MAX (a saturated first-pos is still
 * >= any size, a saturated last-pos or suffix-length is clipped anyway). */
static uint64_t parse_u64_sat(ih_slice s)
{
  uint64_t v = 0;
  for (size_t i = 0; i < s.n; i++) {
    unsigned dgt = (unsigned)(s.p[i] - '0');
    if (v > (UINT64_MAX - dgt) / 10)
      return UINT64_MAX;
    v = v * 10 + dgt;
  }
  return v;
}

/* Compares two digit strings numerically without converting them, so the
 * "first-pos > last-pos" test is exact even beyond 64 bits. */
static int dec_cmp(ih_slice a, ih_slice b)
{
  while (a.n > 1 && a.p[0] == '0') {
    a.p++;
    a.n--;
  }
  while (b.n > 1 && b.p[0] == '0') {
    b.p++;
    b.n--;
  }
  if (a.n != b.n)
    return a.n < b.n ? -1 : 1;
  int c = memcmp(a.p, b.p, a.n);
  return c < 0 ? -1 : c > 0;
}

/* RFC 9110 13.1.5: If-Range is an entity-tag that must strongly match, or an
 * HTTP-date that must equal Last-Modified exactly; anything else fails. */
static bool if_range_ok(ih_slice if_range, ih_slice current, int64_t mtime_unix)
{
  ih_slice v = ih_slice_trim_ows(if_range);
  if (!v.n)
    return true; /* absent */
  etag_val e;
  if (v.p[0] == '"' || (v.n >= 2 && v.p[0] == 'W' && v.p[1] == '/')) {
    etag_val cur;
    ih_slice cur_s = ih_slice_trim_ows(current);
    if (parse_etag(v, &e) != v.n || !cur_s.n || parse_etag(cur_s, &cur) != cur_s.n)
      return false;
    return etag_match(&e, &cur, false);
  }
  int64_t date;
  return ih_http_date_parse(v, &date) && date == mtime_unix;
}

/* Choices beyond the header contract:
 *  - OWS is accepted around the whole value, around '=', around each
 *    range-spec and around its '-'; empty list elements are skipped.
 *  - Numbers of any length are accepted and evaluated exactly: a first-pos
 *    beyond 64 bits is unsatisfiable, a huge last-pos is clipped to size-1,
 *    a huge suffix-length selects the whole representation.
 *  - size == 0: an int-range is unsatisfiable; a non-zero suffix-range is
 *    satisfiable per RFC 9110 14.1.2 but no 206 can describe an empty range,
 *    so it gives IH_RANGE_FULL (an empty 200).
 * Outputs: PARTIAL sets *first and *length (length > 0, first + length <= size);
 * FULL sets 0/size; UNSATISFIABLE sets 0/0. */
enum ih_range_result ih_range_eval(ih_slice range, ih_slice if_range, ih_slice etag, int64_t mtime_unix,
                                   uint64_t size, uint64_t *first, uint64_t *length)
{
  *first = 0;
  *length = size;
  ih_slice s = ih_slice_trim_ows(range);
  if (!s.n)
    return IH_RANGE_FULL; /* If-Range without Range is ignored */
  if (!if_range_ok(if_range, etag, mtime_unix))
    return IH_RANGE_FULL;

  const char *eq = memchr(s.p, '=', s.n);
  if (!eq)
    return IH_RANGE_FULL;
  ih_slice unit = ih_slice_trim_ows((ih_slice){ s.p, (size_t)(eq - s.p) });
  if (!ih_slice_ieq_cstr(unit, "bytes"))
    return IH_RANGE_FULL;
  ih_slice set = { eq + 1, s.n - (size_t)(eq - s.p) - 1 };
  ih_slice spec, extra;
  if (!ih_slice_next_list_item(&set, &spec) || ih_slice_next_list_item(&set, &extra))
    return IH_RANGE_FULL; /* no range-spec, or several */

  const char *dash = memchr(spec.p, '-', spec.n);
  if (!dash)
    return IH_RANGE_FULL;
  ih_slice a = ih_slice_trim_ows((ih_slice){ spec.p, (size_t)(dash - spec.p) });
  ih_slice b = ih_slice_trim_ows((ih_slice){ dash + 1, spec.n - (size_t)(dash - spec.p) - 1 });

  if (!a.n) { /* suffix-range = "-" suffix-length */
    if (!all_digits(b))
      return IH_RANGE_FULL;
    uint64_t n = parse_u64_sat(b);
    if (n == 0) {
      *length = 0;
      return IH_RANGE_UNSATISFIABLE;
    }
    if (size == 0)
      return IH_RANGE_FULL;
    *first = n >= size ? 0 : size - n;
    *length = n >= size ? size : n;
    return IH_RANGE_PARTIAL;
  }

  /* int-range = first-pos "-" [ last-pos ] */
  if (!all_digits(a) || (b.n && !all_digits(b)))
    return IH_RANGE_FULL;
  if (b.n && dec_cmp(a, b) > 0)
    return IH_RANGE_FULL; /* invalid range-spec: ignore Range */
  uint64_t lo = parse_u64_sat(a);
  if (lo >= size) {
    *length = 0;
    return IH_RANGE_UNSATISFIABLE;
  }
  uint64_t hi = b.n ? parse_u64_sat(b) : UINT64_MAX;
  if (hi > size - 1)
    hi = size - 1;
  *first = lo;
  *length = hi - lo + 1;
  return IH_RANGE_PARTIAL;
}
