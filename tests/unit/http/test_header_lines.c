/* Unit tests for service/http/header_lines.c: the one reader of
 * "Name: value" header blocks. */
#include <string.h>

#include "http/header_lines.h"
#include "ih_test.h"

typedef struct expect {
  const char *raw, *text, *name, *value;
  bool terminated, has_colon;
} expect;

static void check_block(const char *block, size_t len, const expect *want, size_t count)
{
  ih_header_lines it = ih_header_lines_of(block, len);
  ih_header_line line;
  size_t i = 0;
  while (ih_header_lines_next(&it, &line)) {
    if (!IH_CHECK(i < count))
      return;
    const expect *e = &want[i++];
    IH_EQ_MEM(line.raw.p, line.raw.n, e->raw, strlen(e->raw));
    IH_EQ_MEM(line.text.p, line.text.n, e->text, strlen(e->text));
    IH_EQ_MEM(line.name.p, line.name.n, e->name, strlen(e->name));
    IH_EQ_MEM(line.value.p, line.value.n, e->value, strlen(e->value));
    IH_EQ_INT(line.terminated, e->terminated);
    IH_EQ_INT(line.has_colon, e->has_colon);
  }
  IH_EQ_INT(i, count);
}

static void test_lines(void)
{
  IH_TEST("CRLF, bare LF, several CRs, no final line break");
  static const char block[] = "Content-Type: text/plain\r\nX-A:b\nX-B: \t two words \t\r\r\nNo colon here\r\n"
                              "X-Empty:\r\n\r\nbody: not a field\r";
  static const expect want[] = {
    { "Content-Type: text/plain\r\n", "Content-Type: text/plain", "Content-Type", "text/plain", true, true },
    { "X-A:b\n", "X-A:b", "X-A", "b", true, true },
    { "X-B: \t two words \t\r\r\n", "X-B: \t two words \t", "X-B", "two words", true, true },
    { "No colon here\r\n", "No colon here", "", "", true, false },
    { "X-Empty:\r\n", "X-Empty:", "X-Empty", "", true, true },
    { "\r\n", "", "", "", true, false },
    { "body: not a field\r", "body: not a field", "body", "not a field", false, true },
  };
  check_block(block, sizeof block - 1, want, sizeof want / sizeof want[0]);

  IH_TEST("the name is what precedes the first colon, untrimmed");
  static const expect names[] = {
    { "Name : a:b\n", "Name : a:b", "Name ", "a:b", true, true },
    { ": v", ": v", "", "v", false, true },
  };
  check_block("Name : a:b\n: v", 14, names, 2);

  IH_TEST("empty and NULL blocks have no lines; a NUL is an ordinary byte");
  check_block(NULL, 0, NULL, 0);
  check_block("", 0, NULL, 0);
  static const expect nul[] = { { "X: a\0b\n", "X: a\0b", "X", "a\0b", true, true } };
  ih_header_lines it = ih_header_lines_of("X: a\0b\n", 7);
  ih_header_line line;
  IH_CHECK(ih_header_lines_next(&it, &line) && line.value.n == 3 && memcmp(line.value.p, nul[0].value, 3) == 0);
  IH_CHECK(!ih_header_lines_next(&it, &line));

  IH_TEST("a saved position looks ahead and comes back");
  it = ih_header_lines_of("A: 1\n B\nC: 2\n", 13);
  IH_CHECK(ih_header_lines_next(&it, &line));
  size_t saved = it.pos;
  IH_CHECK(ih_header_lines_next(&it, &line) && line.text.p[0] == ' ');
  it.pos = saved;
  IH_CHECK(ih_header_lines_next(&it, &line) && ih_slice_eq(line.text, IH_SLICE_LIT(" B")));
  IH_CHECK(ih_header_lines_next(&it, &line) && ih_slice_eq(line.name, IH_SLICE_LIT("C")));
}

int main(void)
{
  test_lines();
  return ih_test_finish();
}
