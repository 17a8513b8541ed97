/* libFuzzer target for service/http/static_rules.c.
 *
 * Input layout:
 *   byte 0        flags: 1 = size mod 4096, 2 = mtime mod 2^34; 4 / 8 = also
 *                 evaluate the Range with If-Range set to the current etag /
 *                 the mtime as an HTTP-date (both must match)
 *   bytes 1..8    representation size (little endian)
 *   bytes 9..16   mtime (little endian, signed)
 *   the rest      "\n"-separated: Range, If-Range, date, If-Match, If-None-Match
 * Checks: a PARTIAL range lies inside the file and never overflows; dates
 * parse into the supported range and survive parse -> format -> parse; a
 * matching If-Range never changes the range result; conditionals never give
 * 304 for other methods. Violations abort. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/static_rules.h"

#define MAX_UNIX_TIME INT64_C(253402300799)

static uint64_t load_le(const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static void check(int ok)
{
  if (!ok)
    abort();
}

static void check_range(enum ih_range_result r, uint64_t size, uint64_t first, uint64_t length)
{
  switch (r) {
  case IH_RANGE_PARTIAL:
    check(length > 0 && first < size && length <= size - first);
    break;
  case IH_RANGE_FULL:
    check(first == 0 && length == size);
    break;
  case IH_RANGE_UNSATISFIABLE:
    check(first == 0 && length == 0);
    break;
  default:
    check(0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uint8_t head[17] = { 0 };
  size_t hn = size < sizeof head ? size : sizeof head;
  if (hn)
    memcpy(head, data, hn);
  const char *text = (const char *)data + hn;
  size_t text_n = size - hn;

  unsigned flags = head[0];
  uint64_t rep_size = load_le(head + 1);
  if (flags & 1)
    rep_size %= 4096;
  int64_t mtime = (int64_t)load_le(head + 9);
  if (flags & 2)
    mtime = (int64_t)((uint64_t)mtime % (UINT64_C(1) << 34));

  /* Split the text into up to five fields. */
  ih_slice f[5] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
  size_t k = 0, start = 0;
  for (size_t i = 0; i <= text_n && k < 5; i++) {
    if (i == text_n || text[i] == '\n') {
      f[k++] = (ih_slice){ text + start, i - start };
      start = i + 1;
    }
  }
  ih_slice range = f[0], if_range = f[1], date = f[2];

  char etag[48];
  size_t etag_n = ih_etag_make(mtime, rep_size, etag);
  check(etag_n >= 5 && etag_n <= 35 && etag_n == strlen(etag));
  ih_slice etag_s = { etag, etag_n };

  /* Ranges. */
  uint64_t first = 1, length = 1;
  enum ih_range_result r = ih_range_eval(range, if_range, etag_s, mtime, rep_size, &first, &length);
  check_range(r, rep_size, first, length);

  uint64_t first0 = 1, length0 = 1;
  enum ih_range_result r0 = ih_range_eval(range, (ih_slice){ NULL, 0 }, etag_s, mtime, rep_size, &first0, &length0);
  check_range(r0, rep_size, first0, length0);

  char mdate[IH_HTTP_DATE_LEN + 1];
  ih_http_date_format(mtime, mdate);
  if (flags & 4) { /* a matching etag validator changes nothing */
    uint64_t f1, l1;
    check(ih_range_eval(range, etag_s, etag_s, mtime, rep_size, &f1, &l1) == r0 && f1 == first0 && l1 == length0);
  }
  if ((flags & 8) && mtime >= 0 && mtime <= MAX_UNIX_TIME) { /* so is an exact date */
    uint64_t f1, l1;
    ih_slice ds = { mdate, IH_HTTP_DATE_LEN };
    check(ih_range_eval(range, ds, etag_s, mtime, rep_size, &f1, &l1) == r0 && f1 == first0 && l1 == length0);
  }

  /* Dates: format always yields a parseable IMF-fixdate of the clamped time. */
  int64_t t;
  check(strlen(mdate) == IH_HTTP_DATE_LEN);
  check(ih_http_date_parse((ih_slice){ mdate, IH_HTTP_DATE_LEN }, &t));
  check(t == (mtime < 0 ? 0 : mtime > MAX_UNIX_TIME ? MAX_UNIX_TIME : mtime));
  /* parse -> format -> parse is the identity on accepted input. */
  if (ih_http_date_parse(date, &t)) {
    check(t >= 0 && t <= MAX_UNIX_TIME);
    char buf[IH_HTTP_DATE_LEN + 1];
    ih_http_date_format(t, buf);
    int64_t t2 = -1;
    check(ih_http_date_parse((ih_slice){ buf, IH_HTTP_DATE_LEN }, &t2) && t2 == t);
  }

  /* Conditionals: all four fields from the input. */
  ih_cond_fields cf = { f[3], f[4], date, if_range };
  enum ih_cond_result c = ih_conditional_eval(&cf, false, etag_s, mtime);
  check(c == IH_COND_PROCEED || c == IH_COND_PRECONDITION_FAILED);
  c = ih_conditional_eval(&cf, true, etag_s, mtime);
  check(c == IH_COND_PROCEED || c == IH_COND_NOT_MODIFIED || c == IH_COND_PRECONDITION_FAILED);
  /* "*" always matches an existing file. */
  ih_cond_fields star = { { "*", 1 }, { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
  check(ih_conditional_eval(&star, false, etag_s, mtime) == IH_COND_PROCEED);
  /* A list holding the current tag matches If-Match, unless malformed. */
  ih_cond_fields own = { etag_s, etag_s, { NULL, 0 }, { NULL, 0 } };
  check(ih_conditional_eval(&own, true, etag_s, mtime) == IH_COND_NOT_MODIFIED);
  return 0;
}
