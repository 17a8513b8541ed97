/* The allocation seam (ih_alloc.h). The counters are touched only while a
 * test has armed it, from the test's one thread. */
#include "core/ih_alloc.h"

#include <string.h>

atomic_bool ih_alloc_faults_armed;

static unsigned long counted, fail_at;
static bool injected, and_after;

bool ih_alloc_fault_now(void)
{
  ++counted;
  if (counted < fail_at || (counted > fail_at && !and_after))
    return false;
  injected = true;
  return true;
}

char *ih_strdup(const char *s)
{
  size_t n = strlen(s) + 1;
  char *p = ih_malloc(n);
  if (p)
    memcpy(p, s, n);
  return p;
}

static void arm(unsigned long n, bool persistent)
{
  counted = 0;
  fail_at = n;
  and_after = persistent;
  injected = false;
  atomic_store(&ih_alloc_faults_armed, n != 0);
}

void ih_alloc_fail_nth(unsigned long n) { arm(n, false); }
void ih_alloc_fail_from(unsigned long n) { arm(n, true); }

bool ih_alloc_faults_off(void)
{
  atomic_store(&ih_alloc_faults_armed, false);
  return injected;
}

unsigned long ih_alloc_counted(void) { return counted; }
