/* Unit tests for service/core/w3c_log.c: header, line layout and escaping,
 * file names and day boundaries. */
#include <string.h>

#include "core/w3c_log.h"
#include "ih_test.h"

#define T_1994 INT64_C(784111777) /* 1994-11-06 08:49:37 UTC */
#define T_MAX INT64_C(253402300799) /* 9999-12-31 23:59:59 UTC */

static ih_slice S(const char *s) { return ih_slice_from_cstr(s); }

static ih_w3c_record sample(void)
{
  ih_w3c_record r = {
    .time_unix = T_1994,
    .s_ip = "192.168.1.10",
    .method = S("GET"),
    .uri_stem = S("/scripts/app.dll"),
    .uri_query = S("a=1&b=2"),
    .s_port = 80,
    .username = S(""),
    .c_ip = "10.0.0.5",
    .user_agent = S("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
    .referer = S("http://example.com/x?y=1"),
    .status = 200,
    .substatus = 0,
    .win32_status = 0,
    .time_taken_ms = 15,
  };
  return r;
}

/* Line structure: CRLF at the end, 15 single-space-separated non-empty
 * fields of printable ASCII. Returns the field count or -1. */
static int count_fields(const char *line, size_t n)
{
  if (n < 2 || line[n - 2] != '\r' || line[n - 1] != '\n')
    return -1;
  int fields = 1;
  for (size_t i = 0; i < n - 2; i++) {
    unsigned char c = (unsigned char)line[i];
    if (c == ' ') {
      if (i == 0 || line[i - 1] == ' ' || i == n - 3)
        return -1; /* empty field */
      fields++;
    } else if (c < 0x21 || c > 0x7e) {
      return -1;
    }
  }
  return fields;
}

static void test_header(void)
{
  IH_TEST("header");
  char out[512];
  size_t n = ih_w3c_format_header(T_1994, "IsapiHost/0.1", out, sizeof out);
  const char *want = "#Software: IsapiHost/0.1\r\n#Version: 1.0\r\n#Date: 1994-11-06 08:49:37\r\n"
                     "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
                     "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\r\n";
  IH_EQ_INT(n, strlen(want));
  IH_EQ_STR(out, want);
  /* Spaces kept in the software name, line breaks cannot be injected. */
  n = ih_w3c_format_header(0, "Microsoft Internet Information Services 10.0\r\n#Fields: x", out, sizeof out);
  IH_CHECK(n > 0);
  IH_CHECK(strncmp(out, "#Software: Microsoft Internet Information Services 10.0%0D%0A#Fields: x\r\n#Version: 1.0\r\n"
                        "#Date: 1970-01-01 00:00:00\r\n",
                   strlen("#Software: Microsoft Internet Information Services 10.0%0D%0A#Fields: x\r\n"
                          "#Version: 1.0\r\n#Date: 1970-01-01 00:00:00\r\n")) == 0);
  n = ih_w3c_format_header(T_MAX, NULL, out, sizeof out);
  IH_CHECK(n > 0 && strncmp(out, "#Software: -\r\n#Version: 1.0\r\n#Date: 9999-12-31 23:59:59\r\n", 57) == 0);
  /* Too small: 0, no overflow. */
  size_t full = ih_w3c_format_header(T_1994, "IsapiHost/0.1", out, sizeof out);
  int bad = 0;
  for (size_t cap = 0; cap <= full + 1; cap++) {
    char buf[512];
    memset(buf, '#', sizeof buf);
    size_t got = ih_w3c_format_header(T_1994, "IsapiHost/0.1", buf, cap);
    bad += buf[cap] != '#' || (cap > full ? got != full : got != 0);
  }
  IH_EQ_INT(bad, 0);
}

static void test_line(void)
{
  IH_TEST("line");
  char out[1024];
  ih_w3c_record r = sample();
  size_t n = ih_w3c_format_line(&r, out, sizeof out);
  const char *want = "1994-11-06 08:49:37 192.168.1.10 GET /scripts/app.dll a=1&b=2 80 - 10.0.0.5 "
                     "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) http://example.com/x?y=1 200 0 0 15\r\n";
  IH_EQ_INT(n, strlen(want));
  IH_EQ_STR(out, want);
  IH_EQ_INT(count_fields(out, n), 15);

  /* Empty and NULL fields become '-'. */
  ih_w3c_record e = { 0 };
  n = ih_w3c_format_line(&e, out, sizeof out);
  IH_EQ_STR(out, "1970-01-01 00:00:00 - - - - 0 - - - - 0 0 0 0\r\n");
  IH_EQ_INT(count_fields(out, n), 15);

  /* Numbers at their limits. */
  e.status = -1;
  e.substatus = -2147483647 - 1;
  e.win32_status = 4294967295u;
  e.time_taken_ms = 4294967295u;
  e.s_port = 65535;
  e.time_unix = T_MAX;
  n = ih_w3c_format_line(&e, out, sizeof out);
  IH_EQ_STR(out, "9999-12-31 23:59:59 - - - - 65535 - - - - -1 -2147483648 4294967295 4294967295\r\n");
  e.time_unix = -5; /* clamped */
  ih_w3c_format_line(&e, out, sizeof out);
  IH_CHECK(strncmp(out, "1970-01-01 00:00:00 ", 20) == 0);
  e.time_unix = INT64_C(951825600); /* 2000-02-29 12:00:00 */
  ih_w3c_format_line(&e, out, sizeof out);
  IH_CHECK(strncmp(out, "2000-02-29 12:00:00 ", 20) == 0);
}

static void test_escaping(void)
{
  static const struct {
    const char *in;
    const char *want;
  } v[] = {
    { "", "-" },
    { " ", "+" },
    { "a b  c", "a+b++c" },
    { "a+b", "a+b" }, /* '+' is kept as IIS does */
    { "100%", "100%" },
    { "\r\n", "%0D%0A" },
    { "\t\x01\x1f\x7f", "%09%01%1F%7F" },
    { "caf\xc3\xa9", "caf%C3%A9" },
    { "\xff", "%FF" },
    { "-", "-" },
    { "\"quoted\"", "\"quoted\"" },
  };
  IH_TEST("escaping");
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    /* the same value in every text field */
    ih_w3c_record r = sample();
    r.s_ip = r.c_ip = v[i].in;
    r.method = r.uri_stem = r.uri_query = r.username = r.user_agent = r.referer = S(v[i].in);
    char out[1024], want[1024];
    size_t n = ih_w3c_format_line(&r, out, sizeof out);
    const char *w = v[i].want;
    /* build the expected line by hand */
    size_t k = 0;
    const char *parts[] = { "1994-11-06", "08:49:37", w, w, w, w, "80", w, w, w, w, "200", "0", "0", "15" };
    for (size_t p = 0; p < 15; p++) {
      size_t l = strlen(parts[p]);
      memcpy(want + k, parts[p], l);
      k += l;
      want[k++] = p == 14 ? '\r' : ' ';
    }
    want[k++] = '\n';
    want[k] = '\0';
    if (!IH_EQ_STR(out, want))
      ih_test_note("  case %d", (int)i);
    IH_EQ_INT(count_fields(out, n), 15);
  }
  /* A slice is not NUL-terminated and may contain NUL bytes. */
  ih_w3c_record r = sample();
  r.user_agent = (ih_slice){ "a\0b c", 3 };
  char out[1024];
  ih_w3c_format_line(&r, out, sizeof out);
  IH_CHECK(strstr(out, " a%00b ") != NULL);
}

/* Pseudo-random bytes in every field: always 15 printable fields. */
static void test_line_random(void)
{
  IH_TEST("line random");
  uint32_t seed = 12345;
  int bad = 0;
  for (int iter = 0; iter < 2000; iter++) {
    char pool[8][40];
    for (int f = 0; f < 8; f++) {
      for (int i = 0; i < 39; i++) {
        seed = seed * 1103515245u + 12345u;
        pool[f][i] = (char)(seed >> 16);
      }
      pool[f][39] = '\0';
    }
    ih_w3c_record r = sample();
    size_t len = (size_t)iter % 40;
    r.method = (ih_slice){ pool[0], len };
    r.uri_stem = (ih_slice){ pool[1], len };
    r.uri_query = (ih_slice){ pool[2], (len * 7) % 40 };
    r.username = (ih_slice){ pool[3], len };
    r.user_agent = (ih_slice){ pool[4], 39 };
    r.referer = (ih_slice){ pool[5], (len * 3) % 40 };
    r.s_ip = pool[6]; /* NUL-terminated at its first zero byte */
    r.c_ip = pool[7];
    r.time_unix = (int64_t)seed * 16381;
    r.status = (int)seed;
    char out[2048];
    size_t n = ih_w3c_format_line(&r, out, sizeof out);
    bad += n == 0 || n != strlen(out) || count_fields(out, n) != 15;
    /* Every shorter buffer gives 0 without writing past cap. */
    if (iter % 50 == 0) {
      for (size_t cap = 0; cap <= n; cap++) {
        char buf[2048];
        memset(buf, '#', sizeof buf);
        bad += ih_w3c_format_line(&r, buf, cap) != 0 || buf[cap] != '#';
      }
    }
  }
  IH_EQ_INT(bad, 0);
}

static void test_file_name_and_day(void)
{
  static const struct {
    int64_t t;
    const char *name;
    int64_t day;
  } v[] = {
    { 0, "u_ex700101.log", 0 },
    { T_1994, "u_ex941106.log", INT64_C(784080000) },
    { INT64_C(951868799), "u_ex000229.log", INT64_C(951782400) }, /* 2000-02-29 23:59:59 */
    { INT64_C(951868800), "u_ex000301.log", INT64_C(951868800) },
    { INT64_C(1709251199), "u_ex240229.log", INT64_C(1709164800) },
    { T_MAX, "u_ex991231.log", INT64_C(253402214400) },
    { -1, "u_ex700101.log", 0 },               /* clamped */
    { INT64_MIN, "u_ex700101.log", 0 },
    { INT64_MAX, "u_ex991231.log", INT64_C(253402214400) },
  };
  IH_TEST("file name and day");
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char name[32];
    memset(name, 'x', sizeof name);
    ih_w3c_file_name(v[i].t, name, sizeof name);
    IH_EQ_STR(name, v[i].name);
    IH_EQ_INT(ih_w3c_day_start(v[i].t), v[i].day);
    char again[32];
    ih_w3c_file_name(ih_w3c_day_start(v[i].t), again, sizeof again);
    IH_EQ_STR(again, name);
  }
  char name[32];
  memset(name, 'x', sizeof name);
  ih_w3c_file_name(T_1994, name, 15); /* exactly enough */
  IH_EQ_STR(name, "u_ex941106.log");
  memset(name, 'x', sizeof name);
  ih_w3c_file_name(T_1994, name, 14); /* too small: empty, nothing past cap */
  IH_EQ_STR(name, "");
  IH_CHECK(name[14] == 'x');
  ih_w3c_file_name(T_1994, NULL, 0);
  /* Day boundaries: every second of a day maps to the same start. */
  IH_EQ_INT(ih_w3c_day_start(INT64_C(784080000) + 86399), INT64_C(784080000));
  IH_EQ_INT(ih_w3c_day_start(INT64_C(784080000) + 86400), INT64_C(784166400));
}

int main(void)
{
  test_header();
  test_line();
  test_escaping();
  test_line_random();
  test_file_name_and_day();
  return ih_test_finish();
}
