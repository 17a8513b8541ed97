/* The ServerSupportFunction table (isapi/isapi_ssf_codes.c) and the one in
 * docs/compatibility.md say the same: every code once, with its name, and
 * "supported" or "not offered (error N)" as the table has it. Codes are in
 * numeric order and unique. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ih_test.h"
#include "isapi/isapi_ssf_codes.h"

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
  test_doc_matches();
  return ih_test_finish();
}
