/* The allocation seam of the portable code: ih_malloc, ih_calloc,
 * ih_realloc and ih_strdup behave exactly as the C library's functions (and
 * what they return is released with free), except that a test can make the
 * Nth allocation from now fail, to prove every failure path answers, closes
 * and releases what it held (docs/testing.md, "Allocation failures").
 *
 * In production nothing arms it: the cost is one relaxed load of a flag and
 * a branch that is never taken. A test arms and disarms it while no other
 * thread allocates. */
#ifndef IH_ALLOC_H
#define IH_ALLOC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

extern atomic_bool ih_alloc_faults_armed;

/* Counts one allocation while armed; true when it is the one to fail. */
bool ih_alloc_fault_now(void);

static inline bool ih_alloc_should_fail(void)
{
  if (__builtin_expect(atomic_load_explicit(&ih_alloc_faults_armed, memory_order_relaxed), 0))
    return ih_alloc_fault_now();
  return false;
}

static inline void *ih_malloc(size_t n) { return ih_alloc_should_fail() ? NULL : malloc(n); }
static inline void *ih_calloc(size_t count, size_t size) { return ih_alloc_should_fail() ? NULL : calloc(count, size); }
/* Like realloc, a failure leaves p allocated and unchanged. */
static inline void *ih_realloc(void *p, size_t n) { return ih_alloc_should_fail() ? NULL : realloc(p, n); }
char *ih_strdup(const char *s);

/* Arms fault injection: the nth allocation from now (1 for the next one)
 * returns NULL, once; the ones before and after it succeed. */
void ih_alloc_fail_nth(unsigned long n);
/* The same, and every allocation after it fails too (memory stays short). */
void ih_alloc_fail_from(unsigned long n);
/* Disarms it. Returns true if a failure was injected. */
bool ih_alloc_faults_off(void);
/* Allocations counted since ih_alloc_fail_nth. */
unsigned long ih_alloc_counted(void);

#endif
