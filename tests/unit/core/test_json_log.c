/* Unit tests for service/core/json_log.c: every field with its W3C name,
 * numbers as numbers, empty text as null, RFC 8259 escaping, bytes that
 * are not UTF-8, and that every line (random bytes in every field) is one
 * valid JSON object with the expected keys, by a strict validator of the
 * test's own. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/json_log.h"
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
    .username = S("DOMAIN\\alice"),
    .c_ip = "10.0.0.5",
    .user_agent = S("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
    .referer = S("http://example.com/x?y=1"),
    .status = 404,
    .substatus = 2,
    .win32_status = 64,
    .time_taken_ms = 15,
  };
  return r;
}

/* The keys of a line, in order: "@timestamp" and then the W3C #Fields. */
static const char *const keys[] = {
  "@timestamp", "date",        "time",         "s-ip",           "cs-method",   "cs-uri-stem",
  "cs-uri-query", "s-port",    "cs-username",  "c-ip",           "cs(User-Agent)", "cs(Referer)",
  "sc-status",  "sc-substatus", "sc-win32-status", "time-taken",
};
#define KEY_COUNT (sizeof keys / sizeof keys[0])

/* ---- a strict validator of what a line may be (RFC 8259, RFC 3629) ---- */

typedef struct cursor {
  const unsigned char *p, *end;
} cursor;

/* One UTF-8 sequence at c->p (RFC 3629 section 4 grammar); advances. */
static bool utf8_char(cursor *c)
{
  const unsigned char *p = c->p;
  size_t left = (size_t)(c->end - p);
  unsigned char b0 = p[0];
#define CONT(i) (left > (i) && p[i] >= 0x80 && p[i] <= 0xbf)
  size_t n;
  if (b0 < 0x80)
    n = 1;
  else if (b0 >= 0xc2 && b0 <= 0xdf && CONT(1))
    n = 2;
  else if (b0 == 0xe0 && left > 2 && p[1] >= 0xa0 && p[1] <= 0xbf && CONT(2))
    n = 3;
  else if (((b0 >= 0xe1 && b0 <= 0xec) || b0 == 0xee || b0 == 0xef) && CONT(1) && CONT(2))
    n = 3;
  else if (b0 == 0xed && left > 2 && p[1] >= 0x80 && p[1] <= 0x9f && CONT(2))
    n = 3;
  else if (b0 == 0xf0 && left > 3 && p[1] >= 0x90 && p[1] <= 0xbf && CONT(2) && CONT(3))
    n = 4;
  else if (b0 >= 0xf1 && b0 <= 0xf3 && CONT(1) && CONT(2) && CONT(3))
    n = 4;
  else if (b0 == 0xf4 && left > 3 && p[1] >= 0x80 && p[1] <= 0x8f && CONT(2) && CONT(3))
    n = 4;
  else
    return false;
#undef CONT
  c->p += n;
  return true;
}

static bool is_hex(unsigned char h)
{
  return (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F');
}

/* A JSON string; its raw text (between the quotes) to out when given. */
static bool json_string(cursor *c, char *out, size_t cap)
{
  if (c->p >= c->end || *c->p != '"')
    return false;
  const unsigned char *start = ++c->p;
  while (c->p < c->end && *c->p != '"') {
    unsigned char b = *c->p;
    if (b < 0x20)
      return false; /* unescaped control character */
    if (b == '\\') {
      if (c->end - c->p < 2)
        return false;
      unsigned char e = c->p[1];
      if (e == 'u') {
        if (c->end - c->p < 6 || !is_hex(c->p[2]) || !is_hex(c->p[3]) || !is_hex(c->p[4]) || !is_hex(c->p[5]))
          return false;
        c->p += 6;
      } else if (strchr("\"\\/bfnrt", e) && e) {
        c->p += 2;
      } else {
        return false;
      }
    } else if (!utf8_char(c)) {
      return false;
    }
  }
  if (c->p >= c->end)
    return false;
  if (out) {
    size_t n = (size_t)(c->p - start);
    if (n >= cap)
      return false;
    memcpy(out, start, n);
    out[n] = '\0';
  }
  c->p++;
  return true;
}

/* -? (0 | [1-9][0-9]*): the formatter writes integers only. */
static bool json_integer(cursor *c)
{
  if (c->p < c->end && *c->p == '-')
    c->p++;
  if (c->p >= c->end || *c->p < '0' || *c->p > '9')
    return false;
  if (*c->p == '0') {
    c->p++;
  } else {
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
      c->p++;
  }
  return true;
}

/* One object per line: {"key":value,...}\n, the keys of `keys` in order,
 * each value a string, an integer or null; nothing after the LF. */
static bool valid_line(const char *line, size_t n)
{
  cursor c = { (const unsigned char *)line, (const unsigned char *)line + n };
  if (c.p >= c.end || *c.p++ != '{')
    return false;
  for (size_t k = 0; k < KEY_COUNT; k++) {
    char key[64];
    if (k && (c.p >= c.end || *c.p++ != ','))
      return false;
    if (!json_string(&c, key, sizeof key) || strcmp(key, keys[k]) != 0)
      return false;
    if (c.p >= c.end || *c.p++ != ':')
      return false;
    if (c.p < c.end && *c.p == '"') {
      if (!json_string(&c, NULL, 0))
        return false;
    } else if ((size_t)(c.end - c.p) >= 4 && memcmp(c.p, "null", 4) == 0) {
      c.p += 4;
    } else if (!json_integer(&c)) {
      return false;
    }
  }
  return c.end - c.p == 2 && c.p[0] == '}' && c.p[1] == '\n';
}

/* ---- tests ---- */

static void test_line_every_field(void)
{
  IH_TEST("line: every field, numbers, names");
  ih_w3c_record r = sample();
  char out[2048];
  size_t n = ih_json_format_line(&r, out, sizeof out);
  const char *want = "{\"@timestamp\":\"1994-11-06T08:49:37Z\",\"date\":\"1994-11-06\",\"time\":\"08:49:37\","
                     "\"s-ip\":\"192.168.1.10\",\"cs-method\":\"GET\",\"cs-uri-stem\":\"/scripts/app.dll\","
                     "\"cs-uri-query\":\"a=1&b=2\",\"s-port\":80,\"cs-username\":\"DOMAIN\\\\alice\","
                     "\"c-ip\":\"10.0.0.5\",\"cs(User-Agent)\":\"Mozilla/5.0 (Windows NT 10.0; Win64; x64)\","
                     "\"cs(Referer)\":\"http://example.com/x?y=1\",\"sc-status\":404,\"sc-substatus\":2,"
                     "\"sc-win32-status\":64,\"time-taken\":15}\n";
  IH_EQ_STR(out, want);
  IH_EQ_INT(n, strlen(want));
  IH_CHECK(valid_line(out, n));
  /* Numbers at their extremes stay plain JSON integers. */
  r.status = -1;
  r.substatus = -2147483647 - 1;
  r.win32_status = 4294967295u;
  r.time_taken_ms = 4294967295u;
  r.s_port = 65535;
  r.time_unix = T_MAX;
  n = ih_json_format_line(&r, out, sizeof out);
  IH_CHECK(valid_line(out, n));
  IH_CHECK(strstr(out, "{\"@timestamp\":\"9999-12-31T23:59:59Z\",\"date\":\"9999-12-31\",\"time\":\"23:59:59\",") ==
           out);
  IH_CHECK(strstr(out, ",\"s-port\":65535,") != NULL);
  IH_CHECK(strstr(out, ",\"sc-status\":-1,\"sc-substatus\":-2147483648,\"sc-win32-status\":4294967295,"
                       "\"time-taken\":4294967295}\n") != NULL);
  r.time_unix = -5; /* clamped, as the W3C line */
  n = ih_json_format_line(&r, out, sizeof out);
  IH_CHECK(strncmp(out, "{\"@timestamp\":\"1970-01-01T00:00:00Z\",", 37) == 0);
}

static void test_empty_is_null(void)
{
  IH_TEST("empty text fields are null, not \"-\"");
  ih_w3c_record r = sample();
  r.s_ip = NULL;
  r.method = S("");
  r.uri_stem = (ih_slice){ NULL, 0 };
  r.uri_query = S("");
  r.username = S("");
  r.c_ip = "";
  r.user_agent = S("");
  r.referer = (ih_slice){ "x", 0 };
  char out[2048];
  size_t n = ih_json_format_line(&r, out, sizeof out);
  const char *want = "{\"@timestamp\":\"1994-11-06T08:49:37Z\",\"date\":\"1994-11-06\",\"time\":\"08:49:37\","
                     "\"s-ip\":null,\"cs-method\":null,\"cs-uri-stem\":null,\"cs-uri-query\":null,\"s-port\":80,"
                     "\"cs-username\":null,\"c-ip\":null,\"cs(User-Agent)\":null,\"cs(Referer)\":null,"
                     "\"sc-status\":404,\"sc-substatus\":2,\"sc-win32-status\":64,\"time-taken\":15}\n";
  IH_EQ_STR(out, want);
  IH_CHECK(valid_line(out, n));
  /* A real "-" is text, kept as such. */
  r.uri_query = S("-");
  ih_json_format_line(&r, out, sizeof out);
  IH_CHECK(strstr(out, "\"cs-uri-query\":\"-\"") != NULL);
}

/* The cs-uri-query value of a line whose query is `in` (n bytes). */
static const char *query_value(const char *in, size_t n, char *out, size_t cap)
{
  ih_w3c_record r = sample();
  r.uri_query = (ih_slice){ in, n };
  size_t len = ih_json_format_line(&r, out, cap);
  if (!len || !valid_line(out, len)) {
    ih_test_note("  not a valid line: %s", out);
    return "(invalid)";
  }
  char *v = strstr(out, "\"cs-uri-query\":");
  char *end = strstr(out, ",\"s-port\":");
  if (!v || !end)
    return "(missing)";
  *end = '\0';
  return v + strlen("\"cs-uri-query\":");
}

static void test_escaping(void)
{
  static const struct {
    const char *in;
    size_t n;
    const char *want; /* the JSON value as written */
  } v[] = {
    { "say \"hi\"", 8, "\"say \\\"hi\\\"\"" },
    { "a\\b", 3, "\"a\\\\b\"" },
    { "\\\"", 2, "\"\\\\\\\"\"" },
    { "tab\there\r\n", 10, "\"tab\\u0009here\\u000d\\u000a\"" },
    { "\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"" },
    { "nul\0in", 6, "\"nul\\u0000in\"" },
    { "/ is fine + % '", 15, "\"/ is fine + % '\"" },
    { "<script>", 8, "\"<script>\"" },
    /* valid UTF-8 is written as it is: é, €, U+10FFFF, 😀 */
    { "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"" },
    { "\xe2\x82\xac", 3, "\"\xe2\x82\xac\"" },
    { "\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\"" },
    { "\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"" },
    /* not UTF-8: one U+FFFD (EF BF BD) per maximal invalid subpart */
    { "caf\xe9", 4, "\"caf\xef\xbf\xbd\"" },                       /* Latin-1 é */
    { "\x80", 1, "\"\xef\xbf\xbd\"" },                              /* lone continuation */
    { "\xff\xfe", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"" },              /* never in UTF-8 */
    { "\xc0\xaf", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"" },              /* overlong '/' */
    { "\xe0\x80\xaf", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" }, /* overlong, 3 bytes */
    { "\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" }, /* a surrogate */
    { "\xf4\x90\x80\x80", 4, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" }, /* > U+10FFFF */
    { "\xe2\x82x", 3, "\"\xef\xbf\xbdx\"" },                        /* cut short: one U+FFFD */
    { "a\xe2\x82", 3, "\"a\xef\xbf\xbd\"" },                        /* cut short at the end */
    { "\xf0\x9f\x98", 3, "\"\xef\xbf\xbd\"" },
    { "\xc3\"", 2, "\"\xef\xbf\xbd\\\"\"" },                        /* the quote after it is still escaped */
    { "\xc3\x01", 2, "\"\xef\xbf\xbd\\u0001\"" },
  };
  IH_TEST("escaping: quotes, backslashes, control characters, bytes that are not UTF-8");
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char out[4096];
    const char *got = query_value(v[i].in, v[i].n, out, sizeof out);
    if (strcmp(got, v[i].want) != 0)
      ih_test_note("  case %d", (int)i);
    IH_EQ_STR(got, v[i].want);
  }
  /* The same rules in every text field. */
  ih_w3c_record r = sample();
  r.s_ip = "\"ip\"";
  r.method = S("G\"T");
  r.uri_stem = S("/a\\b\x01");
  r.username = S("\xff");
  r.c_ip = "c\n";
  r.user_agent = S("UA \"quoted\" \xc3");
  r.referer = S("r\x7f");
  char out[2048];
  size_t n = ih_json_format_line(&r, out, sizeof out);
  IH_CHECK(valid_line(out, n));
  IH_CHECK(strstr(out, "\"s-ip\":\"\\\"ip\\\"\",\"cs-method\":\"G\\\"T\",\"cs-uri-stem\":\"/a\\\\b\\u0001\",") != NULL);
  IH_CHECK(strstr(out, "\"cs-username\":\"\xef\xbf\xbd\",\"c-ip\":\"c\\u000a\","
                       "\"cs(User-Agent)\":\"UA \\\"quoted\\\" \xef\xbf\xbd\",\"cs(Referer)\":\"r\\u007f\",") != NULL);
}

/* Pseudo-random bytes in every field: always one valid JSON line; every
 * shorter buffer gives 0 without writing past cap. */
static void test_line_random(void)
{
  IH_TEST("line random: always valid JSON and UTF-8");
  uint32_t seed = 4242;
  int bad = 0;
  for (int iter = 0; iter < 3000; iter++) {
    char pool[8][48];
    for (int f = 0; f < 8; f++) {
      for (int i = 0; i < 47; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned b = seed >> 16;
        /* half the time bias toward UTF-8 lead/continuation bytes and the
         * characters that need escaping */
        static const unsigned char hot[] = { 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0xed, 0xa0, 0x80, '"', '\\', 0 };
        pool[f][i] = (char)((b & 0x100) ? hot[b % sizeof hot] : b);
      }
      pool[f][47] = '\0';
    }
    ih_w3c_record r = sample();
    size_t len = (size_t)iter % 48;
    r.method = (ih_slice){ pool[0], len };
    r.uri_stem = (ih_slice){ pool[1], len };
    r.uri_query = (ih_slice){ pool[2], (len * 7) % 48 };
    r.username = (ih_slice){ pool[3], len };
    r.user_agent = (ih_slice){ pool[4], 47 };
    r.referer = (ih_slice){ pool[5], (len * 3) % 48 };
    r.s_ip = pool[6]; /* NUL-terminated at its first zero byte */
    r.c_ip = pool[7];
    r.time_unix = (int64_t)seed * 16381;
    r.status = (int)seed;
    char out[4096];
    size_t n = ih_json_format_line(&r, out, sizeof out);
    bool ok = n != 0 && n == strlen(out) && valid_line(out, n);
    if (!ok && bad == 0)
      ih_test_note("  iteration %d: %s", iter, out);
    bad += !ok;
    if (iter % 60 == 0) {
      for (size_t cap = 0; cap <= n; cap++) {
        char buf[4096];
        memset(buf, '#', sizeof buf);
        bad += ih_json_format_line(&r, buf, cap) != 0 || buf[cap] != '#';
      }
    }
  }
  IH_EQ_INT(bad, 0);
}

static void test_validator_refuses(void)
{
  IH_TEST("the test's validator refuses what is not a valid line");
  char out[2048];
  size_t n = ih_json_format_line(&(ih_w3c_record){ .time_unix = T_1994 }, out, sizeof out);
  IH_CHECK(valid_line(out, n));
  char bad[2048];
  static const struct {
    const char *from, *to;
  } edits[] = {
    { "\"s-port\":0", "\"s-port\":\"-\"x" }, { "null", "nul" }, { "\"s-port\":0", "\"s-port\":01" },
    { "08:49:37\"", "08:49:37\x01\"" },       { "08:49:37\"", "08:49:37\xe9\"" }, { "08:49:37\"", "08:49:37\\x\"" },
  };
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    char *at = strstr(out, edits[i].from);
    IH_CHECK(at != NULL);
    if (!at)
      continue;
    size_t head = (size_t)(at - out);
    snprintf(bad, sizeof bad, "%.*s%s%s", (int)head, out, edits[i].to, at + strlen(edits[i].from));
    IH_CHECK(!valid_line(bad, strlen(bad)));
  }
  IH_CHECK(!valid_line(out, n - 1)); /* no LF */
}

static void test_file_name(void)
{
  IH_TEST("file name: u_exYYMMDD.json, the W3C day");
  static const struct {
    int64_t t;
    const char *name;
  } v[] = {
    { 0, "u_ex700101.json" },
    { T_1994, "u_ex941106.json" },
    { INT64_C(951868799), "u_ex000229.json" },
    { INT64_C(951868800), "u_ex000301.json" },
    { T_MAX, "u_ex991231.json" },
    { -1, "u_ex700101.json" },
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    char name[32], w3c[32];
    ih_json_file_name(v[i].t, name, sizeof name);
    IH_EQ_STR(name, v[i].name);
    /* the same day as the W3C file of that time: the same rollover */
    ih_w3c_file_name(v[i].t, w3c, sizeof w3c);
    IH_CHECK(strncmp(name, w3c, 10) == 0);
    ih_json_file_name(ih_w3c_day_start(v[i].t), w3c, sizeof w3c);
    IH_EQ_STR(w3c, name);
  }
  char name[32];
  memset(name, 'x', sizeof name);
  ih_json_file_name(T_1994, name, 16); /* exactly enough */
  IH_EQ_STR(name, "u_ex941106.json");
  memset(name, 'x', sizeof name);
  ih_json_file_name(T_1994, name, 15); /* too small: empty, nothing past cap */
  IH_EQ_STR(name, "");
  IH_CHECK(name[15] == 'x');
  ih_json_file_name(T_1994, NULL, 0);
}

int main(void)
{
  test_line_every_field();
  test_empty_is_null();
  test_escaping();
  test_line_random();
  test_validator_refuses();
  test_file_name();
  return ih_test_finish();
}
