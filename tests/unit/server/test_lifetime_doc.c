/* docs/lifetime.md's holder table against the code's holder list:
 *   service/server/conn.h  enum ih_holder (IH_HOLD_<NAME>, then IH_HOLD__COUNT)
 *   ih_holder_name       the name each holder has in logs (event 1206)
 *   docs/lifetime.md     under "## Holders", one row
 *                        "| `IH_HOLD_<NAME>` | `<name>` | taken | released |"
 * Every holder is documented once with its log name, and the table has no
 * row for a holder the code no longer has. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/conn.h"
#include "ih_test.h"

#ifndef IH_SOURCE_DIR
#error "IH_SOURCE_DIR must name the source tree"
#endif

#define MAX_HOLDERS 32

static char *read_text(const char *rel) { return ih_test_read_source(IH_SOURCE_DIR, rel); }

static const char UPPER[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";

/* The IH_HOLD_ names of enum ih_holder, in order, without IH_HOLD__COUNT. */
static size_t parse_enum(const char *h, char names[][64])
{
  const char *p = strstr(h, "enum ih_holder {");
  const char *end = p ? strstr(p, "};") : NULL;
  size_t n = 0;
  while (p && end && (p = strstr(p, "IH_HOLD_")) != NULL && p < end && n < MAX_HOLDERS) {
    size_t len = strspn(p, UPPER);
    if (strncmp(p, "IH_HOLD__COUNT", len) != 0 && len < 64) {
      memcpy(names[n], p, len);
      names[n][len] = '\0';
      n++;
    }
    p += len;
  }
  return n;
}

typedef struct row {
  char holder[64];
  char log_name[64];
} row;

/* Rows of the first table after "## Holders", up to the next heading. */
static size_t parse_doc(const char *md, row *rows)
{
  const char *p = strstr(md, "\n## Holders");
  const char *end = p ? strstr(p + 1, "\n## ") : NULL;
  size_t n = 0;
  while (p && (p = strstr(p, "\n| `IH_HOLD_")) != NULL && (!end || p < end) && n < MAX_HOLDERS) {
    p += 4;
    size_t len = strspn(p, UPPER);
    if (len >= sizeof rows[n].holder)
      break;
    memcpy(rows[n].holder, p, len);
    rows[n].holder[len] = '\0';
    rows[n].log_name[0] = '\0';
    const char *q = p + len;
    if (strncmp(q, "` | `", 5) == 0) {
      q += 5;
      size_t nl = strcspn(q, "`\n");
      if (nl < sizeof rows[n].log_name) {
        memcpy(rows[n].log_name, q, nl);
        rows[n].log_name[nl] = '\0';
      }
    }
    n++;
  }
  return n;
}

int main(void)
{
  IH_TEST("docs/lifetime.md documents every holder of enum ih_holder, with its log name, and no other");
  char *h = read_text("service/server/conn.h");
  char *md = read_text("docs/lifetime.md");
  if (!IH_CHECK(h && md)) {
    free(h);
    free(md);
    return ih_test_finish();
  }
  static char names[MAX_HOLDERS][64];
  static row rows[MAX_HOLDERS];
  size_t n_enum = parse_enum(h, names);
  size_t n_doc = parse_doc(md, rows);
  /* the text parsed is the enum compiled here */
  IH_EQ_INT((long long)n_enum, IH_HOLD__COUNT);
  for (size_t i = 0; i < n_enum; i++) {
    int found = 0;
    for (size_t j = 0; j < n_doc; j++) {
      if (strcmp(rows[j].holder, names[i]) != 0)
        continue;
      found++;
      if (!IH_EQ_STR(rows[j].log_name, ih_holder_name((enum ih_holder)i)))
        ih_test_note("log name of %s in docs/lifetime.md", names[i]);
    }
    if (!IH_EQ_INT(found, 1))
      ih_test_note("%s: rows in docs/lifetime.md's holder table", names[i]);
  }
  for (size_t j = 0; j < n_doc; j++) {
    bool known = false;
    for (size_t i = 0; i < n_enum; i++)
      known = known || strcmp(rows[j].holder, names[i]) == 0;
    if (!IH_CHECK(known))
      ih_test_note("docs/lifetime.md documents %s, which enum ih_holder does not have", rows[j].holder);
  }
  /* the log names tell holders apart */
  for (int a = 0; a < IH_HOLD__COUNT; a++) {
    IH_CHECK(strcmp(ih_holder_name((enum ih_holder)a), "?") != 0);
    for (int b = a + 1; b < IH_HOLD__COUNT; b++)
      IH_CHECK(strcmp(ih_holder_name((enum ih_holder)a), ih_holder_name((enum ih_holder)b)) != 0);
  }
  free(h);
  free(md);
  return ih_test_finish();
}
