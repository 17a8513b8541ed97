/* Minimal test harness shared by native and Windows (Wine) test programs.
 *
 * A test program is a main() that calls its test functions and ends with
 * `return ih_test_finish();`. Checks never stop the program: a failure prints
 * file:line and the compared values; the summary line "N passed, N failed"
 * is printed last, and the exit code is non-zero when anything failed.
 * No dependency beyond libc, so it builds under MinGW too. */
#ifndef IH_TEST_H
#define IH_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/ih_compiler.h"

void ih_test_begin(const char *name); /* names the group of checks that follow */
int ih_test_check(int ok, const char *file, int line, const char *expr);
int ih_test_check_int(long long got, long long want, const char *file, int line, const char *expr);
int ih_test_check_str(const char *got, const char *want, const char *file, int line, const char *expr);
int ih_test_check_mem(const void *got, size_t got_len, const void *want, size_t want_len,
                      const char *file, int line, const char *expr);
void ih_test_note(const char *fmt, ...) IH_PRINTF(1, 2);
int ih_test_failures(void);
int ih_test_finish(void); /* prints the summary; returns the exit code */
/* A file of the source tree (IH_SOURCE_DIR, which every unit test gets)
 * read whole and NUL-terminated, for tests that hold a document against
 * the code; NULL (and a note) when it cannot be read. Up to 1 MB; the
 * caller frees it. */
char *ih_test_read_source(const char *source_dir, const char *rel);

#define IH_TEST(name) ih_test_begin(name)
#define IH_CHECK(cond) ih_test_check(!!(cond), __FILE__, __LINE__, #cond)
#define IH_EQ_INT(got, want) \
  ih_test_check_int((long long)(got), (long long)(want), __FILE__, __LINE__, #got " == " #want)
#define IH_EQ_STR(got, want) ih_test_check_str((got), (want), __FILE__, __LINE__, #got " == " #want)
#define IH_EQ_MEM(got, got_len, want, want_len) \
  ih_test_check_mem((got), (got_len), (want), (want_len), __FILE__, __LINE__, #got " == " #want)

#endif
