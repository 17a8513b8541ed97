/* The deliberate access violation of the test DLLs that fault on purpose
 * (an extension or filter that crashes, as the DLLs behind KB Q142658 and
 * KB Q323064 did). */
#ifndef IH_TEST_FAULT_H
#define IH_TEST_FAULT_H

#include <stdint.h>

/* Writes to `address`, a small address in the never-mapped first page, so
 * the write raises an access violation (STATUS_ACCESS_VIOLATION) right here.
 * The pointer itself is volatile: with a plain constant GCC 12 at -O2
 * proves the write out of bounds and refuses it (-Warray-bounds takes any
 * constant address below its --param=min-pagesize for a null-pointer
 * offset), and could also drop or move a write it knows to be undefined.
 * Through a volatile pointer the compiler neither sees the address nor
 * skips the store, at every optimisation level. */
static inline void ih_test_fault(uintptr_t address)
{
  volatile int *volatile nowhere = (volatile int *)address;
  *nowhere = 1;
}

#endif
