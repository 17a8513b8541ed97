/* Implementation of the shared test harness (see ih_test.h). */
#include "ih_test.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *current_group = "";
/* Atomic: threaded tests check from several threads at once. */
static atomic_int passed;
static atomic_int failed;

void ih_test_begin(const char *name) { current_group = name; }

static void report_failure(const char *file, int line, const char *expr)
{
  printf("FAIL [%s] %s:%d: %s\n", current_group, file, line, expr);
}

int ih_test_check(int ok, const char *file, int line, const char *expr)
{
  if (ok) {
    passed++;
    return 1;
  }
  failed++;
  report_failure(file, line, expr);
  return 0;
}

int ih_test_check_int(long long got, long long want, const char *file, int line, const char *expr)
{
  if (!ih_test_check(got == want, file, line, expr))
    printf("      got %lld, want %lld\n", got, want);
  return got == want;
}

/* Prints a byte string with control bytes escaped so failures stay readable. */
static void print_escaped(const char *label, const void *data, size_t len)
{
  const unsigned char *p = data;
  printf("      %s (%zu bytes): \"", label, len);
  for (size_t i = 0; i < len && i < 400; i++) {
    if (p[i] == '\r')
      printf("\\r");
    else if (p[i] == '\n')
      printf("\\n");
    else if (p[i] < 0x20 || p[i] >= 0x7f)
      printf("\\x%02x", p[i]);
    else
      putchar(p[i]);
  }
  printf(len > 400 ? "\"...\n" : "\"\n");
}

int ih_test_check_mem(const void *got, size_t got_len, const void *want, size_t want_len,
                      const char *file, int line, const char *expr)
{
  int ok = got_len == want_len && (got_len == 0 || memcmp(got, want, got_len) == 0);
  if (!ih_test_check(ok, file, line, expr)) {
    print_escaped("got ", got, got_len);
    print_escaped("want", want, want_len);
  }
  return ok;
}

int ih_test_check_str(const char *got, const char *want, const char *file, int line, const char *expr)
{
  if (!got || !want) {
    int ok = got == want;
    if (!ih_test_check(ok, file, line, expr))
      printf("      got %s, want %s\n", got ? got : "NULL", want ? want : "NULL");
    return ok;
  }
  return ih_test_check_mem(got, strlen(got), want, strlen(want), file, line, expr);
}

void ih_test_note(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  printf("# ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
}

int ih_test_failures(void) { return atomic_load(&failed); }

int ih_test_finish(void)
{
  printf("%d passed, %d failed\n", atomic_load(&passed), atomic_load(&failed));
  fflush(stdout);
  return failed ? 1 : 0;
}

char *ih_test_read_source(const char *source_dir, const char *rel)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", source_dir, rel);
  FILE *f = fopen(path, "rb");
  if (!f) {
    ih_test_note("cannot open %s", path);
    return NULL;
  }
  char *text = malloc(1 << 20);
  size_t len = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
  fclose(f);
  if (text)
    text[len] = '\0';
  return text;
}
