/* UTC calendar arithmetic (see ih_time.h). Years are counted from March, so
 * the leap day is the last day of a year and month lengths are regular;
 * days decompose into 400-, 100-, 4- and 1-year cycles. */
#include "core/ih_time.h"

#define DAYS_0000_03_01_TO_EPOCH 719468

static const int march_month_start[12] = { 0, 31, 61, 92, 122, 153, 184, 214, 245, 275, 306, 337 };

int64_t ih_time_clamp(int64_t t) { return t < 0 ? 0 : t > IH_MAX_UNIX_TIME ? IH_MAX_UNIX_TIME : t; }

bool ih_is_leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int ih_days_in_month(int y, int m)
{
  static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  return m == 2 && ih_is_leap_year(y) ? 29 : len[m - 1];
}

int64_t ih_days_from_civil(int y, int m, int d)
{
  int64_t ya = y - (m <= 2); /* year counted from March */
  int mi = (m + 9) % 12;     /* March = 0 .. February = 11 */
  return 365 * ya + ya / 4 - ya / 100 + ya / 400 + march_month_start[mi] + (d - 1) - DAYS_0000_03_01_TO_EPOCH;
}

ih_utc ih_utc_from_unix(int64_t t)
{
  ih_utc u;
  t = ih_time_clamp(t);
  int64_t days = t / IH_SECS_PER_DAY;
  int secs = (int)(t % IH_SECS_PER_DAY);
  int64_t n = days + DAYS_0000_03_01_TO_EPOCH;
  int64_t c400 = n / 146097;
  n %= 146097;
  int64_t c100 = n / 36524;
  if (c100 == 4) /* the 400th year's leap day */
    c100 = 3;
  n -= c100 * 36524;
  int64_t c4 = n / 1461;
  n %= 1461;
  int64_t c1 = n / 365;
  if (c1 == 4) /* the 4th year's leap day */
    c1 = 3;
  n -= c1 * 365;
  int mi = 11;
  while (march_month_start[mi] > n)
    mi--;
  u.day = (int)(n - march_month_start[mi]) + 1;
  u.month = mi < 10 ? mi + 3 : mi - 9;
  u.year = (int)(400 * c400 + 100 * c100 + 4 * c4 + c1 + (mi >= 10));
  u.hour = secs / 3600;
  u.minute = secs / 60 % 60;
  u.second = secs % 60;
  u.weekday = (int)((days + 4) % 7); /* 1970-01-01 was a Thursday */
  return u;
}
