/* DLL entry-point calls the server waits for (see dll_entry_win32.h).
 *
 * The registry is a doubly linked list under one SRW lock; entries live in
 * their callers' memory. No DLL code ever runs under the lock, so the stop
 * watchdog can always read it.
 *
 * A bounded call is a job shared by the waiter and the thread, freed by
 * whichever lets go last. Its state moves once from QUEUED (the thread has
 * not reached fn) or RUNNING (fn is in the DLL) to DONE (the thread) or
 * ABANDONED (the waiter), by compare-exchange, so the two always agree on
 * the outcome: a thread that finds its job abandoned before fn never calls
 * it; one that finds it abandoned after fn runs late() instead of handing
 * back. The waiter waits on an event, not on the thread's handle: a thread
 * ends only after DllMain(DLL_THREAD_DETACH) of every DLL, under the
 * loader lock, which a DLL stuck in DllMain elsewhere may hold for ever. */
#include "dll_entry_win32.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOUNDED_STACK (1u << 20)

static SRWLOCK registry_lock = SRWLOCK_INIT;
static ih_dll_entry *oldest, *newest;
static volatile LONG abandoned_calls;

void ih_dll_entry_enter(ih_dll_entry *e, const char *kind, const char *path, const char *entry)
{
  e->kind = kind;
  e->entry = entry;
  snprintf(e->path, sizeof e->path, "%s", path);
  e->since = GetTickCount64();
  e->thread = GetCurrentThreadId();
  e->abandoned = 0;
  e->next = NULL;
  AcquireSRWLockExclusive(&registry_lock);
  e->prev = newest;
  if (newest)
    newest->next = e;
  else
    oldest = e;
  newest = e;
  ReleaseSRWLockExclusive(&registry_lock);
}

void ih_dll_entry_set(ih_dll_entry *e, const char *entry) { e->entry = entry; }

void ih_dll_entry_leave(ih_dll_entry *e)
{
  AcquireSRWLockExclusive(&registry_lock);
  if (e->prev)
    e->prev->next = e->next;
  else
    oldest = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    newest = e->prev;
  ReleaseSRWLockExclusive(&registry_lock);
}

size_t ih_dll_entry_describe(char *out, size_t cap)
{
  size_t count = 0, used = 0;
  if (cap)
    out[0] = '\0';
  ULONGLONG now = GetTickCount64();
  AcquireSRWLockShared(&registry_lock);
  for (const ih_dll_entry *e = oldest; e; e = e->next) {
    if (e->abandoned)
      continue;
    if (used < cap) {
      int n = snprintf(out + used, cap - used, "%s%s of %s %s (for %llu s)", count ? "; " : "", e->entry, e->kind,
                       e->path, (unsigned long long)((now - e->since) / 1000u));
      if (n > 0)
        used += (size_t)n < cap - used ? (size_t)n : cap - used;
    }
    count++;
  }
  ReleaseSRWLockShared(&registry_lock);
  return count;
}

LONG ih_dll_entry_abandoned(void) { return abandoned_calls; }

/* ---- bounded calls ---- */

enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_ABANDONED };

typedef struct job {
  volatile LONG refs; /* the waiter's and the thread's */
  volatile LONG state;
  HANDLE done;        /* set by the thread when it hands back (DONE) */
  ih_bounded_fn fn, late;
  ih_dll_entry entry;
  const char *kind, *first_entry;
  size_t arg_size;
  _Alignas(16) unsigned char arg[];
} job;

static void job_release(job *j)
{
  if (InterlockedDecrement(&j->refs) == 0) {
    CloseHandle(j->done);
    free(j);
  }
}

static DWORD WINAPI job_main(LPVOID param)
{
  job *j = param;
  if (InterlockedCompareExchange(&j->state, JOB_RUNNING, JOB_QUEUED) == JOB_QUEUED) {
    j->fn(&j->entry, j->arg);
    if (InterlockedCompareExchange(&j->state, JOB_DONE, JOB_RUNNING) == JOB_RUNNING)
      SetEvent(j->done);
    else if (j->late) /* abandoned meanwhile: nobody takes the result */
      j->late(&j->entry, j->arg);
    ih_dll_entry_leave(&j->entry);
  }
  job_release(j);
  return 0;
}

enum ih_bounded_result ih_dll_entry_bounded(const char *kind, const char *path, const char *entry, ih_bounded_fn fn,
                                            ih_bounded_fn late, void *arg, size_t arg_size, DWORD limit_ms,
                                            const char **where, DWORD *error)
{
  *where = entry;
  *error = 0;
  job *j = calloc(1, sizeof *j + arg_size);
  if (!j) {
    *error = ERROR_NOT_ENOUGH_MEMORY;
    return IH_BOUNDED_NOT_STARTED;
  }
  j->done = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!j->done) {
    *error = GetLastError();
    free(j);
    return IH_BOUNDED_NOT_STARTED;
  }
  j->refs = 2;
  j->state = JOB_QUEUED;
  j->fn = fn;
  j->late = late;
  j->arg_size = arg_size;
  memcpy(j->arg, arg, arg_size);
  /* Registered now, so a stop meanwhile sees the load it may wait for; the
   * thread id is the waiter's until the thread takes it over. */
  ih_dll_entry_enter(&j->entry, kind, path, entry);
  HANDLE th = CreateThread(NULL, BOUNDED_STACK, job_main, j, STACK_SIZE_PARAM_IS_A_RESERVATION, &j->entry.thread);
  if (!th) {
    *error = GetLastError();
    ih_dll_entry_leave(&j->entry);
    j->refs = 1;
    job_release(j);
    return IH_BOUNDED_NOT_STARTED;
  }
  CloseHandle(th);
  enum ih_bounded_result result = IH_BOUNDED_DONE;
  if (WaitForSingleObject(j->done, limit_ms) != WAIT_OBJECT_0) {
    LONG was = InterlockedCompareExchange(&j->state, JOB_ABANDONED, JOB_QUEUED);
    if (was == JOB_QUEUED) {
      /* fn will never run; the thread, when it does, only lets go */
      *error = WAIT_TIMEOUT;
      ih_dll_entry_leave(&j->entry);
      result = IH_BOUNDED_NOT_STARTED;
    } else if (was == JOB_RUNNING &&
               InterlockedCompareExchange(&j->state, JOB_ABANDONED, JOB_RUNNING) == JOB_RUNNING) {
      InterlockedExchange(&j->entry.abandoned, 1);
      InterlockedIncrement(&abandoned_calls);
      *where = j->entry.entry;
      result = IH_BOUNDED_ABANDONED;
    }
    /* else DONE just now: taken as in time */
  }
  if (result == IH_BOUNDED_DONE)
    memcpy(arg, j->arg, arg_size);
  job_release(j);
  return result;
}
