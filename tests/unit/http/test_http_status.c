/* Unit tests for service/http/http_status.c: reason phrases and default
 * error bodies. */
#include <stdio.h>
#include <string.h>

#include "http/http_status.h"
#include "ih_test.h"

static void test_reasons(void)
{
  static const struct {
    int code;
    const char *reason;
  } v[] = {
    { 100, "Continue" },
    { 101, "Switching Protocols" },
    { 200, "OK" },
    { 201, "Created" },
    { 202, "Accepted" },
    { 203, "Non-Authoritative Information" },
    { 204, "No Content" },
    { 205, "Reset Content" },
    { 206, "Partial Content" },
    { 300, "Multiple Choices" },
    { 301, "Moved Permanently" },
    { 302, "Found" },
    { 303, "See Other" },
    { 304, "Not Modified" },
    { 305, "Use Proxy" },
    { 306, "Unused" },
    { 307, "Temporary Redirect" },
    { 308, "Permanent Redirect" },
    { 400, "Bad Request" },
    { 401, "Unauthorized" },
    { 402, "Payment Required" },
    { 403, "Forbidden" },
    { 404, "Not Found" },
    { 405, "Method Not Allowed" },
    { 406, "Not Acceptable" },
    { 407, "Proxy Authentication Required" },
    { 408, "Request Timeout" },
    { 409, "Conflict" },
    { 410, "Gone" },
    { 411, "Length Required" },
    { 412, "Precondition Failed" },
    { 413, "Content Too Large" },
    { 414, "URI Too Long" },
    { 415, "Unsupported Media Type" },
    { 416, "Range Not Satisfiable" },
    { 417, "Expectation Failed" },
    { 421, "Misdirected Request" },
    { 422, "Unprocessable Content" },
    { 426, "Upgrade Required" },
    { 429, "Too Many Requests" },
    { 431, "Request Header Fields Too Large" },
    { 451, "Unavailable For Legal Reasons" },
    { 500, "Internal Server Error" },
    { 501, "Not Implemented" },
    { 502, "Bad Gateway" },
    { 503, "Service Unavailable" },
    { 504, "Gateway Timeout" },
    { 505, "HTTP Version Not Supported" },
    /* unknown */
    { 0, "Unknown" },
    { -1, "Unknown" },
    { 99, "Unknown" },
    { 102, "Unknown" },
    { 207, "Unknown" },
    { 418, "Unknown" },
    { 420, "Unknown" },
    { 506, "Unknown" },
    { 600, "Unknown" },
    { 1000, "Unknown" },
  };
  IH_TEST("reasons");
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (!IH_EQ_STR(ih_http_reason(v[i].code), v[i].reason))
      ih_test_note("  status %d", v[i].code);
  /* Every phrase is a valid reason-phrase (RFC 9112 4: HTAB / SP / VCHAR). */
  int bad = 0;
  for (int code = -5; code < 1100; code++)
    for (const char *p = ih_http_reason(code); *p; p++)
      bad += *p != ' ' && (*p < 0x21 || *p > 0x7e);
  IH_EQ_INT(bad, 0);
}

static void test_bodies(void)
{
  static const int common[] = { 400, 403, 404, 405, 411, 412, 413, 414, 416, 417, 431, 500, 501, 503, 505 };
  IH_TEST("error bodies");
  char body[1024];
  size_t n = ih_http_error_body(404, body, sizeof body);
  IH_EQ_INT(n, strlen(body));
  IH_EQ_STR(body, "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body>"
                  "<h1>404 Not Found</h1><p>The requested resource could not be found on this server.</p>"
                  "</body></html>");

  /* Each common status has its own sentence; others share a generic one. */
  char generic[1024];
  ih_http_error_body(418, generic, sizeof generic);
  const char *generic_p = strstr(generic, "<p>");
  for (size_t i = 0; i < sizeof common / sizeof common[0]; i++) {
    char want[128];
    n = ih_http_error_body(common[i], body, sizeof body);
    IH_CHECK(n > 0 && n == strlen(body));
    snprintf(want, sizeof want, "<title>%d %s</title>", common[i], ih_http_reason(common[i]));
    IH_CHECK(strstr(body, want) != NULL);
    snprintf(want, sizeof want, "<h1>%d %s</h1>", common[i], ih_http_reason(common[i]));
    IH_CHECK(strstr(body, want) != NULL);
    const char *p = strstr(body, "<p>");
    if (!IH_CHECK(p && generic_p && strcmp(p, generic_p) != 0))
      ih_test_note("  status %d uses the generic sentence", common[i]);
  }

  /* Every status: well-formed page naming the status, no markup from data. */
  int bad = 0;
  for (int code = -1; code < 1000; code++) {
    char want[32];
    n = ih_http_error_body(code, body, sizeof body);
    snprintf(want, sizeof want, "<title>%d ", code);
    bad += n == 0 || n != strlen(body) || strncmp(body, "<!DOCTYPE html><html>", 21) != 0 ||
           strcmp(body + n - 14, "</body></html>") != 0 || !strstr(body, want) || strchr(body, '\r') ||
           strchr(body, '\n');
  }
  IH_EQ_INT(bad, 0);
  ih_http_error_body(999, body, sizeof body);
  IH_CHECK(strstr(body, "999 Unknown") != NULL);

  /* Capacity: the NUL must fit; too small gives 0 and never overflows. */
  size_t full = ih_http_error_body(500, body, sizeof body);
  char small[1024];
  for (size_t cap = 0; cap <= full + 1; cap++) {
    memset(small, '#', sizeof small);
    size_t got = ih_http_error_body(500, small, cap);
    if (cap > full) {
      IH_EQ_INT(got, full);
      IH_EQ_STR(small, body);
    } else if (got != 0 || (cap > 0 && small[0] != '\0')) {
      IH_CHECK(!"short buffer must give 0 and an empty string");
      ih_test_note("  cap %d", (int)cap);
    }
    IH_CHECK(small[cap] == '#'); /* nothing written at or after cap */
  }
  IH_EQ_INT(ih_http_error_body(500, NULL, 0), 0);
}

/* RFC 9110 6.4.1: 1xx, 204, 304 and every response to HEAD have no content. */
static void test_no_body(void)
{
  IH_TEST("ih_http_status_has_no_body / ih_http_response_has_no_body");
  for (int s = 100; s <= 999; s++) {
    bool none = s < 200 || s == 204 || s == 304;
    if (ih_http_status_has_no_body(s) != none || ih_http_response_has_no_body(s, false) != none ||
        !ih_http_response_has_no_body(s, true)) {
      IH_CHECK(!"wrong body rule");
      ih_test_note("  status %d", s);
    }
  }
  IH_CHECK(ih_http_status_has_no_body(101) && ih_http_status_has_no_body(103));
  IH_CHECK(!ih_http_status_has_no_body(200) && !ih_http_status_has_no_body(205) && !ih_http_status_has_no_body(206));
}

int main(void)
{
  test_reasons();
  test_bodies();
  test_no_body();
  return ih_test_finish();
}
