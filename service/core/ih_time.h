/* UTC calendar arithmetic shared by HTTP dates, the W3C log and the server
 * log: no gmtime/timegm, which differ between C runtimes and are not
 * thread-safe on every one of them. Proleptic Gregorian, years 1970-9999. */
#ifndef IH_TIME_H
#define IH_TIME_H

#include <stdbool.h>
#include <stdint.h>

#define IH_SECS_PER_DAY 86400
#define IH_MAX_UNIX_TIME INT64_C(253402300799) /* 9999-12-31 23:59:59 */

typedef struct ih_utc {
  int year, month, day; /* month 1-12, day 1-31 */
  int hour, minute, second;
  int weekday;          /* 0 = Sunday */
} ih_utc;

/* Clamps t to [0, IH_MAX_UNIX_TIME] so every output is well formed. */
int64_t ih_time_clamp(int64_t t);
/* Splits a Unix time (clamped) into UTC fields. */
ih_utc ih_utc_from_unix(int64_t t);
/* Days since 1970-01-01 of a valid date (year >= 1). */
int64_t ih_days_from_civil(int year, int month, int day);
bool ih_is_leap_year(int year);
int ih_days_in_month(int year, int month);

#endif
