/* Unit tests for service/http/static_rules.c: HTTP dates, entity tags,
 * conditional requests (RFC 9110 13.2.2) and single byte ranges (14.1.2). */
#include <stdio.h>
#include <string.h>

#include "http/static_rules.h"
#include "ih_test.h"

#define T_1994 INT64_C(784111777) /* Sun, 06 Nov 1994 08:49:37 GMT */
#define T_MAX INT64_C(253402300799) /* Fri, 31 Dec 9999 23:59:59 GMT */

static ih_slice S(const char *s) { return ih_slice_from_cstr(s); }

/* ---- dates -------------------------------------------------------------- */

static void test_date_format(void)
{
  static const struct {
    int64_t t;
    const char *want;
  } v[] = {
    { 0, "Thu, 01 Jan 1970 00:00:00 GMT" },
    { T_1994, "Sun, 06 Nov 1994 08:49:37 GMT" },
    { INT64_C(68169600), "Tue, 29 Feb 1972 00:00:00 GMT" },
    { INT64_C(946684799), "Fri, 31 Dec 1999 23:59:59 GMT" },
    { INT64_C(946684800), "Sat, 01 Jan 2000 00:00:00 GMT" },
    { INT64_C(951782400), "Tue, 29 Feb 2000 00:00:00 GMT" },
    { INT64_C(1709208000), "Thu, 29 Feb 2024 12:00:00 GMT" },
    { INT64_C(2147483648), "Tue, 19 Jan 2038 03:14:08 GMT" },
    { INT64_C(4107542400), "Mon, 01 Mar 2100 00:00:00 GMT" },
    { INT64_C(13574563200), "Tue, 29 Feb 2400 00:00:00 GMT" },
    { T_MAX, "Fri, 31 Dec 9999 23:59:59 GMT" },
    /* clamped to the supported range */
    { -1, "Thu, 01 Jan 1970 00:00:00 GMT" },
    { INT64_MIN, "Thu, 01 Jan 1970 00:00:00 GMT" },
    { T_MAX + 1, "Fri, 31 Dec 9999 23:59:59 GMT" },
    { INT64_MAX, "Fri, 31 Dec 9999 23:59:59 GMT" },
  };
  IH_TEST("date format");
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char out[IH_HTTP_DATE_LEN + 1];
    memset(out, 'x', sizeof out);
    ih_http_date_format(v[i].t, out);
    IH_EQ_STR(out, v[i].want);
  }
}

static void test_date_parse(void)
{
  static const struct {
    const char *s;
    int ok;
    int64_t t;
  } v[] = {
    /* the three forms of RFC 9110 5.6.7 */
    { "Sun, 06 Nov 1994 08:49:37 GMT", 1, T_1994 },
    { "Sunday, 06-Nov-94 08:49:37 GMT", 1, T_1994 },
    { "Sun Nov  6 08:49:37 1994", 1, T_1994 },
    { "Sun Nov 06 08:49:37 1994", 1, T_1994 }, /* asctime 2DIGIT day */
    { " \tSun, 06 Nov 1994 08:49:37 GMT\t ", 1, T_1994 }, /* OWS */
    /* epoch, limits, leap years */
    { "Thu, 01 Jan 1970 00:00:00 GMT", 1, 0 },
    { "Fri, 31 Dec 9999 23:59:59 GMT", 1, T_MAX },
    { "Tue, 29 Feb 2000 00:00:00 GMT", 1, INT64_C(951782400) },
    { "Tue Feb 29 00:00:00 2000", 1, INT64_C(951782400) },
    { "Tuesday, 29-Feb-00 00:00:00 GMT", 1, INT64_C(951782400) },
    { "Tue, 29 Feb 2400 00:00:00 GMT", 1, INT64_C(13574563200) },
    { "Thu, 29 Feb 2024 12:00:00 GMT", 1, INT64_C(1709208000) },
    { "Mon, 29 Feb 2100 00:00:00 GMT", 0, 0 }, /* 2100 is not a leap year */
    { "Wed, 29 Feb 2023 00:00:00 GMT", 0, 0 },
    { "Mon, 01 Mar 2100 00:00:00 GMT", 1, INT64_C(4107542400) },
    /* RFC 850 two-digit years: 70..99 -> 19xx, 00..69 -> 20xx */
    { "Thursday, 01-Jan-70 00:00:00 GMT", 1, 0 },
    { "Friday, 31-Dec-99 23:59:59 GMT", 1, INT64_C(946684799) },
    { "Saturday, 01-Jan-00 00:00:00 GMT", 1, INT64_C(946684800) },
    { "Tuesday, 31-Dec-69 23:59:59 GMT", 1, INT64_C(3155759999) },
    /* the day name is not cross-checked against the date */
    { "Mon, 06 Nov 1994 08:49:37 GMT", 1, T_1994 },
    /* invalid fields */
    { "Sun, 06 nov 1994 08:49:37 GMT", 0, 0 },  /* month case */
    { "Sun, 06 NOV 1994 08:49:37 GMT", 0, 0 },
    { "sun, 06 Nov 1994 08:49:37 GMT", 0, 0 },  /* day name case */
    { "Sun, 06 Nov 1994 08:49:37 gmt", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:37 UTC", 0, 0 },
    { "Sun, 00 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sun, 31 Nov 1994 08:49:37 GMT", 0, 0 },  /* November has 30 days */
    { "Sun, 32 Dec 1994 08:49:37 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 24:00:00 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 23:60:00 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 23:59:60 GMT", 0, 0 },  /* no leap seconds */
    { "Wed, 31 Dec 1969 23:59:59 GMT", 0, 0 },  /* before 1970 */
    { "Sun, 06 Nov 0000 08:49:37 GMT", 0, 0 },
    { "Sun 06 Nov 1994 08:49:37 GMT", 0, 0 },   /* missing comma */
    { "Sun,  6 Nov 1994 08:49:37 GMT", 0, 0 },  /* IMF needs 2DIGIT */
    { "Sun, 06 Nov 1994 08:49:37 GMT x", 0, 0 },
    { "Sun, 06 Nov 1994 8:49:37 GMT", 0, 0 },
    { "Sun, 06 Nov 1994 08:49:3a GMT", 0, 0 },
    { "Sun, 06 Nov 1994 08-49-37 GMT", 0, 0 },
    { "Sun, 06-Nov-94 08:49:37 GMT", 0, 0 },    /* RFC 850 needs long day name */
    { "Sunday, 06 Nov 1994 08:49:37 GMT", 0, 0 },
    { "Sunday, 06-Nov-1994 08:49:37 GMT", 0, 0 },
    { "Sunday, 31-Apr-94 08:49:37 GMT", 0, 0 },
    { "Sunday , 06-Nov-94 08:49:37 GMT", 0, 0 },
    { "Sun Nov 6 08:49:37 1994", 0, 0 },        /* asctime needs SP DIGIT */
    { "Sun Nov  6 08:49:37 94", 0, 0 },
    { "Sun Nov  6 08:49:37 1969", 0, 0 },
    { "Sun Nov 6  08:49:37 1994", 0, 0 },
    { "", 0, 0 },
    { "   ", 0, 0 },
    { "0", 0, 0 },
    { "784111777", 0, 0 },
  };
  IH_TEST("date parse");
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    int64_t t = -42;
    bool ok = ih_http_date_parse(S(v[i].s), &t);
    if (!IH_EQ_INT(ok, v[i].ok))
      ih_test_note("  input: \"%s\"", v[i].s);
    if (ok && v[i].ok && !IH_EQ_INT(t, v[i].t))
      ih_test_note("  input: \"%s\"", v[i].s);
    if (!ok)
      IH_EQ_INT(t, -42); /* untouched on failure */
  }
  /* A slice is not NUL-terminated: parse must stop at its length. */
  const char buf[] = "Sun, 06 Nov 1994 08:49:37 GMTXYZ";
  int64_t t = 0;
  IH_CHECK(ih_http_date_parse((ih_slice){ buf, IH_HTTP_DATE_LEN }, &t) && t == T_1994);
  IH_CHECK(!ih_http_date_parse((ih_slice){ buf, IH_HTTP_DATE_LEN - 1 }, &t));
}

/* Walks every day from 1970-01-01 to 9999-12-31 with an independent
 * day-by-day calendar and checks format and the round trip through parse
 * (on a sample of days that includes every month boundary). */
static void test_date_every_day(void)
{
  static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
  static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
  IH_TEST("date every day");
  int y = 1970, m = 1, d = 1, w = 4;
  long long bad_format = 0, bad_parse = 0, days = 0;
  for (int64_t t = 0; t <= T_MAX; t += 86400) {
    /* every 5th day plus every month boundary and the end of February */
    if (days % 5 == 0 || d == 1 || d >= 28) {
      int64_t when = t + (days * 7919) % 86400; /* vary the time of day */
      char want[64], got[IH_HTTP_DATE_LEN + 1];
      int secs = (int)(when - t);
      snprintf(want, sizeof want, "%s, %02d %s %04d %02d:%02d:%02d GMT", wday[w], d, mon[m - 1], y,
               secs / 3600, secs / 60 % 60, secs % 60);
      ih_http_date_format(when, got);
      if (strcmp(want, got) != 0 && bad_format++ < 5)
        ih_test_note("  format(%lld) = %s, want %s", (long long)when, got, want);
      int64_t back = -1;
      if ((!ih_http_date_parse(S(got), &back) || back != when) && bad_parse++ < 5)
        ih_test_note("  parse(%s) = %lld", got, (long long)back);
    }
    /* advance the reference calendar */
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int mlen = m == 2 ? 28 + leap : (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
    if (++d > mlen) {
      d = 1;
      if (++m > 12) {
        m = 1;
        y++;
      }
    }
    w = (w + 1) % 7;
    days++;
  }
  IH_EQ_INT(bad_format, 0);
  IH_EQ_INT(bad_parse, 0);
  IH_EQ_INT(days, 2932897); /* 1970-01-01 .. 9999-12-31 inclusive */
  IH_EQ_INT(y, 10000);
}

/* ---- entity tags -------------------------------------------------------- */

static void test_etag(void)
{
  IH_TEST("etag");
  char out[48];
  memset(out, 'x', sizeof out);
  IH_EQ_INT(ih_etag_make(T_1994, 1234, out), 14);
  IH_EQ_STR(out, "\"2ebc98a1:4d2\"");
  IH_EQ_INT(ih_etag_make(0, 0, out), 5);
  IH_EQ_STR(out, "\"0:0\"");
  IH_EQ_INT(ih_etag_make(INT64_C(0x123456789abcdef0), UINT64_C(0xfedcba9876543210), out), 35);
  IH_EQ_STR(out, "\"123456789abcdef0:fedcba9876543210\"");
  IH_EQ_INT(ih_etag_make(-1, UINT64_MAX, out), 35);
  IH_EQ_STR(out, "\"ffffffffffffffff:ffffffffffffffff\"");
  IH_EQ_INT(ih_etag_make(16, 255, out), 7);
  IH_EQ_STR(out, "\"10:ff\"");
  /* different inputs, different tags */
  char other[48];
  ih_etag_make(T_1994, 1235, other);
  IH_CHECK(strcmp(out, other) != 0);
}

/* ---- conditional requests ----------------------------------------------- */

enum { P = IH_COND_PROCEED, NM = IH_COND_NOT_MODIFIED, PF = IH_COND_PRECONDITION_FAILED };
#define D_EQ "Sun, 06 Nov 1994 08:49:37 GMT"     /* == mtime */
#define D_BEFORE "Sun, 06 Nov 1994 08:49:36 GMT" /* mtime is newer */
#define D_AFTER "Sunday, 06-Nov-94 08:49:38 GMT" /* mtime is older */
#define D_BAD "Sun, 06 Nov 1994 08:49:37 XYZ"

static void test_conditional(void)
{
  static const struct {
    const char *im, *inm, *ims, *ius, *etag;
    bool get;
    int want;
  } v[] = {
    /* no conditions */
    { "", "", "", "", NULL, true, P },
    { "", "", "", "", NULL, false, P },
    /* (1) If-Match, strong comparison */
    { "\"abc\"", "", "", "", NULL, true, P },
    { "\"xyz\"", "", "", "", NULL, true, PF },
    { "\"xyz\"", "", "", "", NULL, false, PF },
    { "*", "", "", "", NULL, false, P },
    { " * ", "", "", "", NULL, false, P },
    { "W/\"abc\"", "", "", "", NULL, true, PF },
    { "\"xyz\", \"abc\"", "", "", "", NULL, true, P },
    { "\"xyz\",\t\"abc\" ,", "", "", "", NULL, true, P },
    { ",,\"abc\"", "", "", "", NULL, true, P },
    { "\"abc\"", "", "", "", "W/\"abc\"", true, PF }, /* weak current tag */
    { "abc", "", "", "", NULL, true, PF },            /* malformed */
    { "\"abc\", junk", "", "", "", NULL, true, PF },  /* malformed after a match */
    { "\"abc\" \"def\"", "", "", "", NULL, true, PF },
    { "\"abc", "", "", "", NULL, true, PF },
    { "*, \"abc\"", "", "", "", NULL, true, PF },
    { " , ", "", "", "", NULL, true, PF },
    { "\"ab\"c\"", "", "", "", NULL, true, PF },
    { "w/\"abc\"", "", "", "", NULL, true, PF },
    { "   ", "", "", "", NULL, true, P }, /* empty after OWS = absent */
    /* (2) If-Unmodified-Since, only without If-Match */
    { "", "", "", D_BEFORE, NULL, true, PF },
    { "", "", "", D_BEFORE, NULL, false, PF },
    { "", "", "", D_EQ, NULL, true, P },
    { "", "", "", D_AFTER, NULL, true, P },
    { "", "", "", D_BAD, NULL, true, P }, /* invalid date ignored */
    { "\"abc\"", "", "", D_BEFORE, NULL, true, P },
    { "\"xyz\"", "", "", D_AFTER, NULL, true, PF },
    /* (3) If-None-Match, weak comparison */
    { "", "\"abc\"", "", "", NULL, true, NM },
    { "", "\"abc\"", "", "", NULL, false, PF },
    { "", "W/\"abc\"", "", "", NULL, true, NM },
    { "", "\"abc\"", "", "", "W/\"abc\"", true, NM },
    { "", "\"xyz\"", "", "", NULL, true, P },
    { "", "\"xyz\"", "", "", NULL, false, P },
    { "", "*", "", "", NULL, true, NM },
    { "", "*", "", "", NULL, false, PF },
    { "", "\t\"xyz\" ,\t\"abc\"", "", "", NULL, true, NM },
    { "", "\"abc", "", "", NULL, true, P },          /* malformed: no match */
    { "", "\"abc\", x", "", "", NULL, true, P },
    { "", "\"a,b\"", "", "", "\"a,b\"", true, NM },  /* comma is an etagc */
    { "", "\"a\"", "", "", "\"a,b\"", true, P },
    { "", "\"\"", "", "", "\"\"", true, NM },        /* empty opaque-tag */
    /* (4) If-Modified-Since, GET/HEAD only, only without If-None-Match */
    { "", "", D_EQ, "", NULL, true, NM },
    { "", "", D_AFTER, "", NULL, true, NM },
    { "", "", D_BEFORE, "", NULL, true, P },
    { "", "", D_EQ, "", NULL, false, P },
    { "", "", D_BAD, "", NULL, true, P },
    { "", "", "Sun Nov  6 08:49:37 1994", "", NULL, true, NM },
    { "", "\"xyz\"", D_EQ, "", NULL, true, P },      /* INM present: IMS ignored */
    { "", "\"abc\"", D_BEFORE, "", NULL, true, NM },
    /* precedence across steps */
    { "\"xyz\"", "\"abc\"", "", "", NULL, true, PF },
    { "", "\"abc\"", "", D_BEFORE, NULL, true, PF },
    { "\"abc\"", "\"abc\"", "", "", NULL, true, NM },
    { "\"abc\"", "\"abc\"", "", "", NULL, false, PF },
    { "\"abc\"", "\"xyz\"", D_EQ, "", NULL, true, P },
    { "*", "", D_EQ, D_AFTER, NULL, true, NM },
    { "", "", D_EQ, D_BEFORE, NULL, true, PF },
  };
  IH_TEST("conditional");
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    ih_cond_fields f = { S(v[i].im), S(v[i].inm), S(v[i].ims), S(v[i].ius) };
    ih_slice etag = S(v[i].etag ? v[i].etag : "\"abc\"");
    enum ih_cond_result got = ih_conditional_eval(&f, v[i].get, etag, T_1994);
    if (!IH_EQ_INT(got, v[i].want))
      ih_test_note("  row %d: If-Match [%s] If-None-Match [%s] IMS [%s] IUS [%s] get=%d", (int)i, v[i].im,
                   v[i].inm, v[i].ims, v[i].ius, (int)v[i].get);
  }
  /* Absent fields may have a NULL pointer. */
  ih_cond_fields none = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
  IH_EQ_INT(ih_conditional_eval(&none, true, S("\"abc\""), T_1994), P);
}

/* ---- ranges ------------------------------------------------------------- */

enum { F = IH_RANGE_FULL, R = IH_RANGE_PARTIAL, U = IH_RANGE_UNSATISFIABLE };

static void test_range(void)
{
  static const struct {
    const char *range, *if_range;
    uint64_t size;
    int want;
    uint64_t first, length;
  } v[] = {
    /* each form */
    { "bytes=0-499", "", 1000, R, 0, 500 },
    { "bytes=500-999", "", 1000, R, 500, 500 },
    { "bytes=500-", "", 1000, R, 500, 500 },
    { "bytes=-200", "", 1000, R, 800, 200 },
    { "bytes=0-0", "", 1000, R, 0, 1 },
    { "bytes=999-", "", 1000, R, 999, 1 },
    { "bytes=999-999", "", 1000, R, 999, 1 },
    { "bytes=-1", "", 1000, R, 999, 1 },
    { "bytes=0-", "", 1, R, 0, 1 },
    /* clipping */
    { "bytes=0-5000", "", 1000, R, 0, 1000 },
    { "bytes=900-1000", "", 1000, R, 900, 100 },
    { "bytes=-1000", "", 1000, R, 0, 1000 },
    { "bytes=-2000", "", 1000, R, 0, 1000 },
    /* unsatisfiable */
    { "bytes=1000-", "", 1000, U, 0, 0 },
    { "bytes=1000-2000", "", 1000, U, 0, 0 },
    { "bytes=-0", "", 1000, U, 0, 0 },
    { "bytes=-000", "", 1000, U, 0, 0 },
    /* size 0 */
    { "bytes=0-", "", 0, U, 0, 0 },
    { "bytes=0-0", "", 0, U, 0, 0 },
    { "bytes=-0", "", 0, U, 0, 0 },
    { "bytes=-5", "", 0, F, 0, 0 }, /* satisfiable but no 206 can say so */
    /* case and OWS */
    { "Bytes=0-1", "", 1000, R, 0, 2 },
    { "BYTES = 0-1", "", 1000, R, 0, 2 },
    { " \tbytes=0-1 \t", "", 1000, R, 0, 2 },
    { "bytes= 0 - 1 ", "", 1000, R, 0, 2 },
    { "bytes=0-1,", "", 1000, R, 0, 2 },   /* empty list elements */
    { "bytes=, ,-5", "", 1000, R, 995, 5 },
    { "bytes=0001-02", "", 1000, R, 1, 2 },
    /* several ranges: ignored */
    { "bytes=0-1,5-6", "", 1000, F, 0, 1000 },
    { "bytes=0-1, 0-1", "", 1000, F, 0, 1000 },
    { "bytes=5000-,6000-", "", 1000, F, 0, 1000 },
    /* bad syntax or unit: ignored */
    { "bytes=5-4", "", 1000, F, 0, 1000 },
    { "bytes=5000-4000", "", 1000, F, 0, 1000 },
    { "items=0-1", "", 1000, F, 0, 1000 },
    { "bytes", "", 1000, F, 0, 1000 },
    { "bytes=", "", 1000, F, 0, 1000 },
    { "bytes=,", "", 1000, F, 0, 1000 },
    { "bytes=-", "", 1000, F, 0, 1000 },
    { "bytes=a-b", "", 1000, F, 0, 1000 },
    { "bytes=1-2-3", "", 1000, F, 0, 1000 },
    { "bytes=--1", "", 1000, F, 0, 1000 },
    { "bytes=+1-2", "", 1000, F, 0, 1000 },
    { "bytes=0x10-", "", 1000, F, 0, 1000 },
    { "bytes=1 2-3", "", 1000, F, 0, 1000 },
    { "bytes=5", "", 1000, F, 0, 1000 },
    { "bytes=0-1;x", "", 1000, F, 0, 1000 },
    { "bytes==0-1", "", 1000, F, 0, 1000 },
    { "=0-1", "", 1000, F, 0, 1000 },
    { "bytes 0-1", "", 1000, F, 0, 1000 },
    /* numbers beyond 64 bits */
    { "bytes=99999999999999999999999-", "", 1000, U, 0, 0 },
    { "bytes=18446744073709551616-", "", 1000, U, 0, 0 },
    { "bytes=0-99999999999999999999999", "", 1000, R, 0, 1000 },
    { "bytes=-99999999999999999999999", "", 1000, R, 0, 1000 },
    { "bytes=99999999999999999999999-99999999999999999999998", "", 1000, F, 0, 1000 },
    { "bytes=99999999999999999999998-99999999999999999999999", "", 1000, U, 0, 0 },
    { "bytes=18446744073709551615-18446744073709551616", "", 1000, U, 0, 0 },
    { "bytes=000000000000000000000000000001-2", "", 1000, R, 1, 2 },
    /* largest sizes */
    { "bytes=0-", "", UINT64_MAX, R, 0, UINT64_MAX },
    { "bytes=-1", "", UINT64_MAX, R, UINT64_MAX - 1, 1 },
    { "bytes=18446744073709551614-", "", UINT64_MAX, R, UINT64_MAX - 1, 1 },
    { "bytes=18446744073709551615-", "", UINT64_MAX, U, 0, 0 },
    { "bytes=1-99999999999999999999", "", UINT64_MAX, R, 1, UINT64_MAX - 1 },
    /* If-Range (current tag "abc", mtime T_1994) */
    { "bytes=0-9", "\"abc\"", 1000, R, 0, 10 },
    { "bytes=0-9", " \"abc\" ", 1000, R, 0, 10 },
    { "bytes=0-9", "\"xyz\"", 1000, F, 0, 1000 },
    { "bytes=0-9", "W/\"abc\"", 1000, F, 0, 1000 }, /* weak never matches */
    { "bytes=0-9", "\"abc\", \"xyz\"", 1000, F, 0, 1000 },
    { "bytes=0-9", "\"abc", 1000, F, 0, 1000 },
    { "bytes=0-9", D_EQ, 1000, R, 0, 10 },
    { "bytes=0-9", "Sun Nov  6 08:49:37 1994", 1000, R, 0, 10 },
    { "bytes=0-9", D_BEFORE, 1000, F, 0, 1000 },
    { "bytes=0-9", D_AFTER, 1000, F, 0, 1000 },
    { "bytes=0-9", D_BAD, 1000, F, 0, 1000 },
    { "bytes=0-9", "garbage", 1000, F, 0, 1000 },
    { "bytes=5000-", "\"xyz\"", 1000, F, 0, 1000 }, /* mismatch beats 416 */
    { "bytes=5000-", "\"abc\"", 1000, U, 0, 0 },
    { "", "\"abc\"", 1000, F, 0, 1000 }, /* If-Range without Range */
    { "", "", 1000, F, 0, 1000 },
    { "   ", "", 1000, F, 0, 1000 },
  };
  IH_TEST("range");
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    uint64_t first = 77, length = 77;
    enum ih_range_result got =
      ih_range_eval(S(v[i].range), S(v[i].if_range), S("\"abc\""), T_1994, v[i].size, &first, &length);
    int ok = IH_EQ_INT(got, v[i].want);
    ok &= IH_EQ_INT(first, v[i].first);
    ok &= IH_EQ_INT(length, v[i].want == F ? v[i].size : v[i].length);
    if (!ok)
      ih_test_note("  row %d: Range [%s] If-Range [%s] size %llu", (int)i, v[i].range, v[i].if_range,
                   (unsigned long long)v[i].size);
  }
  /* A weak current tag can never satisfy If-Range. */
  uint64_t first, length;
  IH_EQ_INT(ih_range_eval(S("bytes=0-1"), S("W/\"abc\""), S("W/\"abc\""), T_1994, 10, &first, &length), F);
  IH_EQ_INT(ih_range_eval(S("bytes=0-1"), S("\"abc\""), S("W/\"abc\""), T_1994, 10, &first, &length), F);
  /* Range slice is not NUL-terminated. */
  const char buf[] = "bytes=0-12345";
  IH_EQ_INT(ih_range_eval((ih_slice){ buf, 9 }, S(""), S("\"abc\""), T_1994, 1000, &first, &length), R);
  IH_EQ_INT(length, 2);
}

/* Every prefix of some valid headers must be handled (and stay in range). */
static void test_range_prefixes(void)
{
  static const char *const inputs[] = { "bytes=123-4567", "bytes=-42", "Bytes = 7 - ", "bytes=0-1,2-3" };
  IH_TEST("range prefixes");
  for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
    size_t n = strlen(inputs[k]);
    for (size_t cut = 0; cut <= n; cut++) {
      for (uint64_t size = 0; size < 5000; size += 613) {
        uint64_t first, length;
        enum ih_range_result r =
          ih_range_eval((ih_slice){ inputs[k], cut }, S(""), S("\"abc\""), 0, size, &first, &length);
        if (r == IH_RANGE_PARTIAL)
          IH_CHECK(length > 0 && first < size && length <= size - first);
      }
    }
  }
}

int main(void)
{
  test_date_format();
  test_date_parse();
  test_date_every_day();
  test_etag();
  test_conditional();
  test_range();
  test_range_prefixes();
  return ih_test_finish();
}
