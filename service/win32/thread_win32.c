/* Win32 implementation of core/ih_thread.h. */
#include <windows.h>
#include <stdlib.h>

#include "core/ih_thread.h"

struct ih_mutex {
  CRITICAL_SECTION cs;
};

ih_mutex *ih_mutex_new(void)
{
  ih_mutex *m = malloc(sizeof *m);
  if (m)
    InitializeCriticalSection(&m->cs);
  return m;
}

void ih_mutex_free(ih_mutex *m)
{
  if (!m)
    return;
  DeleteCriticalSection(&m->cs);
  free(m);
}

void ih_mutex_lock(ih_mutex *m) { EnterCriticalSection(&m->cs); }
void ih_mutex_unlock(ih_mutex *m) { LeaveCriticalSection(&m->cs); }

uint64_t ih_clock_ms(void) { return GetTickCount64(); }

int64_t ih_wall_seconds(void)
{
  FILETIME ft;
  GetSystemTimeAsFileTime(&ft);
  ULARGE_INTEGER t = { .LowPart = ft.dwLowDateTime, .HighPart = ft.dwHighDateTime };
  /* FILETIME counts 100 ns intervals since 1601-01-01. */
  return (int64_t)(t.QuadPart / 10000000ull) - 11644473600ll;
}
