/* Unit tests for service/core/ih_time.c: calendar arithmetic checked against
 * known dates and against a day-by-day walk over the whole range. */
#include "core/ih_time.h"
#include "ih_test.h"

int main(void)
{
  IH_TEST("known instants");
  ih_utc u = ih_utc_from_unix(0);
  IH_CHECK(u.year == 1970 && u.month == 1 && u.day == 1 && u.hour == 0 && u.weekday == 4);
  u = ih_utc_from_unix(784111777); /* RFC 9110's example: Sun, 06 Nov 1994 08:49:37 GMT */
  IH_CHECK(u.year == 1994 && u.month == 11 && u.day == 6 && u.hour == 8 && u.minute == 49 && u.second == 37);
  IH_EQ_INT(u.weekday, 0);
  u = ih_utc_from_unix(951782400); /* 2000-02-29, a 400-year leap day */
  IH_CHECK(u.year == 2000 && u.month == 2 && u.day == 29);
  u = ih_utc_from_unix(IH_MAX_UNIX_TIME);
  IH_CHECK(u.year == 9999 && u.month == 12 && u.day == 31 && u.hour == 23 && u.second == 59);

  IH_TEST("clamping");
  IH_EQ_INT(ih_time_clamp(-5), 0);
  IH_EQ_INT(ih_time_clamp(IH_MAX_UNIX_TIME + 1), IH_MAX_UNIX_TIME);
  u = ih_utc_from_unix(-86400);
  IH_CHECK(u.year == 1970 && u.day == 1);

  IH_TEST("leap years");
  IH_CHECK(ih_is_leap_year(2000) && ih_is_leap_year(2024) && !ih_is_leap_year(2100) && !ih_is_leap_year(2023));
  IH_EQ_INT(ih_days_in_month(2100, 2), 28);
  IH_EQ_INT(ih_days_in_month(2096, 2), 29);

  IH_TEST("every day from 1970 to 9999 round-trips and advances by one");
  int y = 1970, m = 1, d = 1, wd = 4, bad = 0;
  for (int64_t day = 0; y <= 9999; day++) {
    ih_utc v = ih_utc_from_unix(day * IH_SECS_PER_DAY + 43200);
    if (v.year != y || v.month != m || v.day != d || v.weekday != wd || ih_days_from_civil(y, m, d) != day)
      bad++;
    wd = (wd + 1) % 7;
    if (++d > ih_days_in_month(y, m)) {
      d = 1;
      if (++m > 12) {
        m = 1;
        y++;
      }
    }
  }
  IH_EQ_INT(bad, 0);
  return ih_test_finish();
}
