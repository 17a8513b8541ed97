/* The allocation seam (ih_alloc.h). The counters are touched only while a
 * test has armed it; atomic, for a test whose scripted extension allocates
 * on its own thread. */
#include "core/ih_alloc.h"

#include <string.h>

atomic_bool ih_alloc_faults_armed;

static atomic_ulong counted;
static unsigned long fail_at;
static bool and_after;
static atomic_bool injected;

bool ih_alloc_fault_now(void)
{
  unsigned long n = atomic_fetch_add(&counted, 1) + 1;
  if (n < fail_at || (n > fail_at && !and_after))
    return false;
  atomic_store(&injected, true);
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
  atomic_store(&counted, 0);
  fail_at = n;
  and_after = persistent;
  atomic_store(&injected, false);
  atomic_store(&ih_alloc_faults_armed, n != 0);
}

void ih_alloc_fail_nth(unsigned long n) { arm(n, false); }
void ih_alloc_fail_from(unsigned long n) { arm(n, true); }

bool ih_alloc_faults_off(void)
{
  atomic_store(&ih_alloc_faults_armed, false);
  return atomic_load(&injected);
}

unsigned long ih_alloc_counted(void) { return atomic_load(&counted); }
