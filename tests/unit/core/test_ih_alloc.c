/* The allocation seam (core/ih_alloc.h): disarmed, every call is the C
 * library's; armed with n, exactly the nth allocation from then fails, once,
 * whichever function makes it (or, armed "from", every one after it too),
 * and a failed realloc leaves the block as it
 * was. */
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "ih_test.h"

static void test_disarmed(void)
{
  IH_TEST("disarmed: the C library's behaviour");
  char *p = ih_malloc(4);
  IH_CHECK(p != NULL);
  char *q = ih_strdup("abc");
  IH_EQ_STR(q, "abc");
  int *z = ih_calloc(4, sizeof *z);
  IH_CHECK(z && z[0] == 0 && z[3] == 0);
  p = ih_realloc(p, 64);
  IH_CHECK(p != NULL);
  IH_CHECK(!ih_alloc_faults_off()); /* nothing was armed, nothing injected */
  free(p), free(q), free(z);
}

static void test_nth_fails_once(void)
{
  IH_TEST("armed with 3: the third allocation fails, the others succeed");
  ih_alloc_fail_nth(3);
  char *a = ih_malloc(8);
  char *b = ih_strdup("x");
  char *c = ih_realloc(a, 128); /* the third: NULL, a untouched */
  int *d = ih_calloc(2, sizeof *d);
  IH_CHECK(a && b && !c && d);
  IH_EQ_INT(ih_alloc_counted(), 4);
  IH_CHECK(ih_alloc_faults_off());
  memset(a, 'a', 8); /* still a's 8 bytes (ASan would see a freed block) */
  free(a), free(b), free(d);

  IH_TEST("armed past the last allocation: nothing injected");
  ih_alloc_fail_nth(5);
  free(ih_malloc(1));
  IH_CHECK(!ih_alloc_faults_off());
}

static void test_from_nth_on(void)
{
  IH_TEST("armed from 2 on: the first succeeds, every later one fails");
  ih_alloc_fail_from(2);
  char *a = ih_malloc(1);
  char *b = ih_strdup("b");
  void *c = ih_calloc(1, 1);
  char *d = ih_realloc(a, 16);
  IH_CHECK(a && !b && !c && !d);
  IH_CHECK(ih_alloc_faults_off());
  free(a);
}

int main(void)
{
  test_disarmed();
  test_nth_fails_once();
  test_from_nth_on();
  return ih_test_finish();
}
