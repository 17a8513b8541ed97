/* Win32 implementation of core/ih_thread.h. */
#include <windows.h>
#include <stdlib.h>

#include "core/ih_thread.h"

/* SRW locks rather than critical sections: under Wine a contended critical
 * section waits through the wineserver, an SRW lock on a futex; on Windows
 * both are fine. Not recursive, which the callers never need. */
struct ih_mutex {
  SRWLOCK lock;
};

ih_mutex *ih_mutex_new(void)
{
  ih_mutex *m = malloc(sizeof *m);
  if (m)
    InitializeSRWLock(&m->lock);
  return m;
}

void ih_mutex_free(ih_mutex *m) { free(m); }

void ih_mutex_lock(ih_mutex *m) { AcquireSRWLockExclusive(&m->lock); }
void ih_mutex_unlock(ih_mutex *m) { ReleaseSRWLockExclusive(&m->lock); }

struct ih_cond {
  CONDITION_VARIABLE cv;
};

ih_cond *ih_cond_new(void)
{
  ih_cond *c = malloc(sizeof *c);
  if (c)
    InitializeConditionVariable(&c->cv);
  return c;
}

void ih_cond_free(ih_cond *c) { free(c); }
void ih_cond_wait(ih_cond *c, ih_mutex *m) { SleepConditionVariableSRW(&c->cv, &m->lock, INFINITE, 0); }
void ih_cond_broadcast(ih_cond *c) { WakeAllConditionVariable(&c->cv); }

uint64_t ih_clock_ms(void) { return GetTickCount64(); }

int64_t ih_wall_seconds(void)
{
  FILETIME ft;
  GetSystemTimeAsFileTime(&ft);
  ULARGE_INTEGER t = { .LowPart = ft.dwLowDateTime, .HighPart = ft.dwHighDateTime };
  /* FILETIME counts 100 ns intervals since 1601-01-01. */
  return (int64_t)(t.QuadPart / 10000000ull) - 11644473600ll;
}
