/* Unit tests for service/core/mime.c. */
#include "core/mime.h"
#include "ih_test.h"

#include <string.h>

static const char *look(const char *ext) { return ih_mime_lookup(ih_slice_from_cstr(ext), NULL, 0); }

static void test_table_shape(void)
{
  IH_TEST("table shape");
  size_t n = 0;
  const ih_mime_entry *t = ih_mime_defaults(&n);
  IH_CHECK(t != NULL);
  IH_CHECK(n >= 370);
  IH_CHECK(ih_mime_defaults(NULL) == t);
  int sorted = 1, lower = 1, typed = 1, found = 1;
  for (size_t i = 0; i < n; i++) {
    if (i && strcmp(t[i - 1].ext, t[i].ext) >= 0) {
      sorted = 0;
      ih_test_note("not sorted at %s / %s", t[i - 1].ext, t[i].ext);
    }
    if (t[i].ext[0] != '.' || !t[i].ext[1])
      lower = 0;
    for (const char *c = t[i].ext; *c; c++)
      if (*c >= 'A' && *c <= 'Z')
        lower = 0;
    if (!strchr(t[i].type, '/'))
      typed = 0;
    /* Every entry must be reachable through the binary search. */
    if (look(t[i].ext) != t[i].type) {
      found = 0;
      ih_test_note("lookup misses %s", t[i].ext);
    }
  }
  IH_CHECK(sorted);
  IH_CHECK(lower);
  IH_CHECK(typed);
  IH_CHECK(found);
}

static void test_known_entries(void)
{
  IH_TEST("known entries");
  static const struct {
    const char *ext, *type;
  } cases[] = {
    { ".htm", "text/html" },
    { ".html", "text/html" },
    { ".css", "text/css" },
    { ".js", "application/javascript" },
    { ".json", "application/json" },
    { ".txt", "text/plain" },
    { ".png", "image/png" },
    { ".jpg", "image/jpeg" },
    { ".jpeg", "image/jpeg" },
    { ".gif", "image/gif" },
    { ".svg", "image/svg+xml" },
    { ".ico", "image/x-icon" },
    { ".xml", "text/xml" },
    { ".pdf", "application/pdf" },
    { ".zip", "application/x-zip-compressed" },
    { ".woff", "font/x-woff" },
    { ".woff2", "application/font-woff2" },
    { ".mp4", "video/mp4" },
    { ".wasm", "application/wasm" },
    { ".exe", "application/octet-stream" },
    { ".dll", "application/x-msdownload" },
    { ".323", "text/h323" },
    { ".dll.config", "text/xml" },
    { ".ivf", "video/x-ivf" },
    { ".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *got = look(cases[i].ext);
    IH_EQ_STR(got ? got : "(null)", cases[i].type);
  }
}

static void test_lookup_rules(void)
{
  IH_TEST("lookup rules");
  IH_EQ_STR(look(".HTML"), "text/html");
  IH_EQ_STR(look(".Js"), "application/javascript");
  IH_EQ_STR(look(".IVF"), "video/x-ivf");
  IH_CHECK(look(".foo") == NULL);
  IH_CHECK(look("html") == NULL); /* the dot is part of the key */
  IH_CHECK(look(".") == NULL);
  IH_CHECK(look("") == NULL);
  IH_CHECK(look(".htmlx") == NULL);
  IH_CHECK(look(".ht") == NULL);
  IH_CHECK(look(".zzzz") == NULL);
  IH_CHECK(look(".0") == NULL);
  IH_CHECK(ih_mime_lookup((ih_slice){ NULL, 0 }, NULL, 0) == NULL);
  /* A slice is not NUL-terminated: only n bytes count. */
  IH_EQ_STR(ih_mime_lookup((ih_slice){ ".html.bak", 5 }, NULL, 0), "text/html");
}

static void test_overrides(void)
{
  IH_TEST("overrides");
  static const ih_mime_entry extra[] = {
    { ".foo", "application/x-foo" },
    { ".html", "text/html; charset=utf-8" },
    { ".css", "" },
  };
  IH_EQ_STR(ih_mime_lookup(IH_SLICE_LIT(".FOO"), extra, 3), "application/x-foo");
  IH_EQ_STR(ih_mime_lookup(IH_SLICE_LIT(".html"), extra, 3), "text/html; charset=utf-8");
  IH_CHECK(ih_mime_lookup(IH_SLICE_LIT(".css"), extra, 3) == NULL); /* removed */
  IH_CHECK(ih_mime_lookup(IH_SLICE_LIT(".CSS"), extra, 3) == NULL);
  IH_EQ_STR(ih_mime_lookup(IH_SLICE_LIT(".png"), extra, 3), "image/png");
  IH_CHECK(ih_mime_lookup(IH_SLICE_LIT(".bar"), extra, 3) == NULL);
  /* extra_count bounds the overrides that are consulted. */
  IH_EQ_STR(ih_mime_lookup(IH_SLICE_LIT(".css"), extra, 2), "text/css");
}

int main(void)
{
  test_table_shape();
  test_known_entries();
  test_lookup_rules();
  test_overrides();
  return ih_test_finish();
}
