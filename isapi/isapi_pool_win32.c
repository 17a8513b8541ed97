/* Extension thread pool (see isapi_pool_win32.h).
 *
 * The queue is a list under an SRW lock with a condition variable: under
 * Wine both are futexes in the process, while a completion port costs a
 * wineserver round trip to post and another to wait (docs/benchmarks.md).
 * The pool
 * grows only when work is stuck, not on a burst: a watcher looks every
 * GROW_CHECK_MS, and when items are queued and no thread has taken one for
 * that long, every thread is busy with something slow (a DLL that blocks),
 * so it adds a thread, up to max. A burst of short requests is absorbed by
 * the threads there are, and the process stays the same size under steady
 * load (the KB Q142658 soak measures exactly that). */
#include "isapi/isapi_pool_win32.h"

#include <stdlib.h>

#include "core/server_log.h"

#define POOL_STACK (1u << 20)

#define GROW_CHECK_MS 100

static struct {
  SRWLOCK lock;               /* guards the queue and stopping */
  CONDITION_VARIABLE ready;
  ih_pool_item *head, *tail;
  BOOL stopping;
  HANDLE *threads;
  unsigned max;
  volatile LONG thread_count;
  volatile LONG idle;
  volatile LONG queued;
  volatile LONG taken;        /* items taken so far: progress the watcher looks for */
  volatile LONG max_logged;
  SRWLOCK grow_lock;
  HANDLE watcher;
  HANDLE watcher_stop;
} pool;

static __thread BOOL on_pool_thread;

static DWORD WINAPI pool_main(LPVOID arg)
{
  (void)arg;
  on_pool_thread = TRUE;
  for (;;) {
    AcquireSRWLockExclusive(&pool.lock);
    InterlockedIncrement(&pool.idle);
    while (!pool.head && !pool.stopping)
      SleepConditionVariableSRW(&pool.ready, &pool.lock, INFINITE, 0);
    InterlockedDecrement(&pool.idle);
    ih_pool_item *item = pool.head;
    if (item) {
      pool.head = item->next;
      if (!pool.head)
        pool.tail = NULL;
    }
    ReleaseSRWLockExclusive(&pool.lock);
    if (!item)
      return 0; /* stopping, and nothing left to run */
    InterlockedDecrement(&pool.queued);
    InterlockedIncrement(&pool.taken);
    item->run(item);
  }
}

static DWORD WINAPI watcher_main(LPVOID arg);

/* Starts one more thread if below max; returns FALSE at max or on failure. */
static BOOL grow(void)
{
  BOOL ok = FALSE;
  AcquireSRWLockExclusive(&pool.grow_lock);
  unsigned n = (unsigned)pool.thread_count;
  if (n < pool.max) {
    HANDLE t = CreateThread(NULL, POOL_STACK, pool_main, NULL, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (t) {
      pool.threads[n] = t;
      InterlockedIncrement(&pool.thread_count);
      ok = TRUE;
    } else {
      ih_log(IH_LOG_ERROR, IH_EV_ISAPI_POOL, "cannot start an ISAPI thread (Win32 error %lu)", GetLastError());
    }
  }
  ReleaseSRWLockExclusive(&pool.grow_lock);
  return ok;
}

int ih_isapi_pool_start(unsigned initial, unsigned max)
{
  InitializeSRWLock(&pool.grow_lock);
  pool.max = max < 1 ? 1 : max;
  if (initial > pool.max)
    initial = pool.max;
  InitializeSRWLock(&pool.lock);
  InitializeConditionVariable(&pool.ready);
  pool.threads = calloc(pool.max, sizeof *pool.threads);
  if (!pool.threads) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot create the ISAPI work queue (out of memory)");
    return -1;
  }
  for (unsigned i = 0; i < initial; i++)
    if (!grow())
      break;
  if (pool.thread_count == 0)
    return -1;
  pool.watcher_stop = CreateEventW(NULL, TRUE, FALSE, NULL);
  pool.watcher = pool.watcher_stop ? CreateThread(NULL, 0, watcher_main, NULL, 0, NULL) : NULL;
  ih_log(IH_LOG_INFO, IH_EV_ISAPI_POOL, "ISAPI thread pool: %ld threads, growing to at most %u",
         (long)pool.thread_count, pool.max);
  return 0;
}

void ih_isapi_pool_post(ih_pool_item *item)
{
  item->next = NULL;
  InterlockedIncrement(&pool.queued);
  AcquireSRWLockExclusive(&pool.lock);
  if (pool.tail)
    pool.tail->next = item;
  else
    pool.head = item;
  pool.tail = item;
  ReleaseSRWLockExclusive(&pool.lock);
  WakeConditionVariable(&pool.ready);
}

/* Grows the pool while work waits and nothing is taken. */
static DWORD WINAPI watcher_main(LPVOID arg)
{
  (void)arg;
  LONG taken_before = pool.taken;
  while (WaitForSingleObject(pool.watcher_stop, GROW_CHECK_MS) == WAIT_TIMEOUT) {
    LONG taken = pool.taken;
    BOOL stuck = pool.queued > 0 && pool.idle == 0 && taken == taken_before;
    taken_before = taken;
    if (!stuck)
      continue;
    if (grow()) {
      LONG n = pool.thread_count;
      ih_log(IH_LOG_INFO, IH_EV_ISAPI_POOL,
             "ISAPI thread pool grew to %ld threads: every thread was busy and requests were waiting", (long)n);
    } else if ((unsigned)pool.thread_count >= pool.max && InterlockedExchange(&pool.max_logged, 1) == 0) {
      ih_log(IH_LOG_WARNING, IH_EV_ISAPI_POOL,
             "ISAPI thread pool is at isapi_max_threads (%u) and every thread is busy; extension requests wait",
             pool.max);
    }
  }
  return 0;
}

void ih_isapi_pool_counts(unsigned *threads, unsigned *busy)
{
  LONG n = pool.thread_count, idle = pool.idle;
  *threads = (unsigned)n;
  *busy = (unsigned)(n > idle ? n - idle : 0);
}

void ih_isapi_pool_stop(DWORD wait_ms)
{
  if (!pool.threads)
    return;
  if (pool.watcher) {
    SetEvent(pool.watcher_stop);
    WaitForSingleObject(pool.watcher, INFINITE);
    CloseHandle(pool.watcher);
    CloseHandle(pool.watcher_stop);
    pool.watcher = NULL;
  }
  AcquireSRWLockExclusive(&pool.grow_lock);
  pool.max = 0; /* no more growth */
  LONG n = pool.thread_count;
  ReleaseSRWLockExclusive(&pool.grow_lock);
  AcquireSRWLockExclusive(&pool.lock);
  pool.stopping = TRUE; /* threads finish what is queued, then return */
  ReleaseSRWLockExclusive(&pool.lock);
  WakeAllConditionVariable(&pool.ready);
  ULONGLONG end = GetTickCount64() + wait_ms;
  for (LONG i = 0; i < n; i++) {
    ULONGLONG now = GetTickCount64();
    DWORD left = now < end ? (DWORD)(end - now) : 0;
    if (WaitForSingleObject(pool.threads[i], left) == WAIT_OBJECT_0)
      CloseHandle(pool.threads[i]);
  }
  /* A thread still inside a DLL is left there; the process is ending. */
}

BOOL ih_isapi_pool_is_pool_thread(void) { return on_pool_thread; }
