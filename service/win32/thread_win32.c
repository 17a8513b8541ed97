/* Win32 implementation of core/ih_thread.h. */
#include <windows.h>
#include <stdatomic.h>
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

/* Win32 threads return a DWORD, so fn's pointer result is kept here. The
 * block has two owners, the thread and its handle's holder (join or
 * detach): the last of the two to let go frees it, so a detached thread
 * that finishes first, or last, never leaks or touches freed memory. */
struct ih_thread {
  HANDLE handle;
  ih_thread_fn fn;
  void *arg;
  void *result;
  atomic_int owners;
};

static void thread_release(ih_thread *t)
{
  if (atomic_fetch_sub(&t->owners, 1) == 1)
    free(t);
}

static DWORD WINAPI thread_main(void *param)
{
  ih_thread *t = param;
  t->result = t->fn(t->arg);
  thread_release(t);
  return 0;
}

ih_thread *ih_thread_start(ih_thread_fn fn, void *arg)
{
  ih_thread *t = malloc(sizeof *t);
  if (!t)
    return NULL;
  t->fn = fn;
  t->arg = arg;
  t->result = NULL;
  atomic_init(&t->owners, 2);
  t->handle = CreateThread(NULL, 0, thread_main, t, 0, NULL);
  if (!t->handle) {
    free(t);
    return NULL;
  }
  return t;
}

void *ih_thread_join(ih_thread *t)
{
  WaitForSingleObject(t->handle, INFINITE);
  CloseHandle(t->handle);
  void *result = t->result; /* written before the thread ended: the wait orders it */
  thread_release(t);
  return result;
}

void ih_thread_detach(ih_thread *t)
{
  CloseHandle(t->handle);
  thread_release(t);
}

/* The Win32 counterpart of sched_yield (Microsoft Learn, "SwitchToThread
 * function"); a spin-wait calling it keeps going when nothing else is ready. */
void ih_thread_yield(void) { SwitchToThread(); }

uint64_t ih_clock_ms(void) { return GetTickCount64(); }

int64_t ih_wall_seconds(void)
{
  FILETIME ft;
  GetSystemTimeAsFileTime(&ft);
  ULARGE_INTEGER t = { .LowPart = ft.dwLowDateTime, .HighPart = ft.dwHighDateTime };
  /* FILETIME counts 100 ns intervals since 1601-01-01. */
  return (int64_t)(t.QuadPart / 10000000ull) - 11644473600ll;
}
