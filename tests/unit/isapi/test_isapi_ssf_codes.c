/* The ServerSupportFunction table (isapi/isapi_ssf_codes.c) and the one in
 * docs/compatibility.md say the same: every code once, with its name, and
 * "supported" or "not offered (error N)" as the table has it. Codes are in
 * numeric order and unique. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ih_test.h"
#include "isapi/isapi_ssf_codes.h"
#include "isapi/shared/isapi_sdk.h"

#ifndef IH_SOURCE_DIR
#error "IH_SOURCE_DIR must name the source tree"
#endif

static char *read_doc(size_t *len)
{
  char *text = ih_test_read_source(IH_SOURCE_DIR, "docs/compatibility.md");
  *len = text ? strlen(text) : 0;
  return text;
}

static void test_table_is_ordered(void)
{
  IH_TEST("codes are unique and in order; lookups find them");
  size_t n;
  const ih_isapi_ssf_code *t = ih_isapi_ssf_table(&n);
  IH_CHECK(n >= 40);
  for (size_t i = 0; i < n; i++) {
    if (i)
      IH_CHECK(t[i - 1].value < t[i].value);
    IH_CHECK(ih_isapi_ssf_lookup(t[i].value) == &t[i]);
    IH_CHECK(t[i].supported ? t[i].error == 0 : t[i].error != 0);
  }
  IH_CHECK(ih_isapi_ssf_lookup(4242) == NULL);
}

/* Every code isapi_sdk.h knows (the httpext.h ones, checked against the
 * header at compile time, and the legacy ones) has a row, under its own
 * name and number; and the table has no row besides them. */
static void test_table_is_the_sdk_list(void)
{
  IH_TEST("the table has one row per isapi_sdk.h code, with the SDK's name and number");
  static const struct {
    uint32_t value;
    const char *name;
  } sdk[] = {
#define ROW(name, value) { value, #name },
    IH_HSE_REQ_CODES(ROW) IH_HSE_REQ_LEGACY_CODES(ROW)
#undef ROW
  };
  size_t n;
  ih_isapi_ssf_table(&n);
  IH_EQ_INT((long long)n, (long long)(sizeof sdk / sizeof sdk[0]));
  for (size_t i = 0; i < sizeof sdk / sizeof sdk[0]; i++) {
    const ih_isapi_ssf_code *c = ih_isapi_ssf_lookup(sdk[i].value);
    if (!IH_CHECK(c != NULL))
      ih_test_note("no row for %s (%u)", sdk[i].name, (unsigned)sdk[i].value);
    else if (!IH_CHECK(strcmp(c->name, sdk[i].name) == 0))
      ih_test_note("%u is %s in the table, %s in isapi_sdk.h", (unsigned)sdk[i].value, c->name, sdk[i].name);
  }
  /* spot checks against httpext.h as printed (HSE_REQ_END_RESERVED 1000 + n) */
  IH_EQ_INT(IH_HSE_REQ_DONE_WITH_SESSION, 4);
  IH_EQ_INT(IH_HSE_REQ_EXEC_URL, 1026);
  IH_EQ_INT(IH_HSE_REQ_CANCEL_IO, 1049);
}

static void test_doc_matches(void)
{
  IH_TEST("docs/compatibility.md lists every code as the table says");
  size_t len;
  char *doc = read_doc(&len);
  if (!IH_CHECK(doc != NULL))
    return;
  size_t n;
  const ih_isapi_ssf_code *t = ih_isapi_ssf_table(&n);
  for (size_t i = 0; i < n; i++) {
    char row[160];
    if (t[i].supported)
      snprintf(row, sizeof row, "| %u | `%s` | supported |", (unsigned)t[i].value, t[i].name);
    else
      snprintf(row, sizeof row, "| %u | `%s` | not offered (error %u) |", (unsigned)t[i].value, t[i].name,
               (unsigned)t[i].error);
    const char *at = strstr(doc, row);
    if (!IH_CHECK(at != NULL))
      ih_test_note("missing or different in the doc: %s", row);
    else
      IH_CHECK(strstr(at + 1, row) == NULL); /* once */
  }
  /* and no row for a code the table does not have */
  int rows = 0; /* lines "| <number> | `HSE_..." */
  for (const char *p = doc; (p = strstr(p, "\n| ")) != NULL; p++) {
    const char *q = p + 3;
    while (*q >= '0' && *q <= '9')
      q++;
    if (q > p + 3 && strncmp(q, " | `HSE_", 8) == 0)
      rows++;
  }
  IH_EQ_INT(rows, (long long)n);
  free(doc);
}

int main(void)
{
  test_table_is_ordered();
  test_table_is_the_sdk_list();
  test_doc_matches();
  return ih_test_finish();
}
