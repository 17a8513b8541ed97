/* Extension thread pool (see isapi_pool_win32.h).
 *
 * The queue is a completion port: posting is one call, and it hands items
 * to waiting threads in LIFO order, which keeps few threads warm. `queued`
 * counts items posted and not yet taken, `idle` threads waiting; when an
 * item arrives and queued exceeds idle, nobody will take it soon, so the
 * pool grows by one thread. The counts race benignly: at worst a thread too
 * many is started, never beyond max. */
#include "isapi/isapi_pool_win32.h"

#include <stdlib.h>

#include "core/server_log.h"

#define POOL_STACK (1u << 20)

static struct {
  HANDLE queue;
  HANDLE *threads;
  unsigned max;
  volatile LONG thread_count;
  volatile LONG idle;
  volatile LONG queued;
  volatile LONG max_logged;
  SRWLOCK grow_lock;
} pool;

static __thread BOOL on_pool_thread;

static DWORD WINAPI pool_main(LPVOID arg)
{
  (void)arg;
  on_pool_thread = TRUE;
  for (;;) {
    DWORD bytes;
    ULONG_PTR key;
    OVERLAPPED *ov = NULL;
    InterlockedIncrement(&pool.idle);
    BOOL ok = GetQueuedCompletionStatus(pool.queue, &bytes, &key, &ov, INFINITE);
    InterlockedDecrement(&pool.idle);
    if (!ok || !ov)
      return 0; /* the queue was closed, or a stop packet */
    InterlockedDecrement(&pool.queued);
    ih_pool_item *item = (ih_pool_item *)ov;
    item->run(item);
  }
}

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
  pool.threads = calloc(pool.max, sizeof *pool.threads);
  pool.queue = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
  if (!pool.threads || !pool.queue) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot create the ISAPI work queue (Win32 error %lu)", GetLastError());
    return -1;
  }
  for (unsigned i = 0; i < initial; i++)
    if (!grow())
      break;
  if (pool.thread_count == 0)
    return -1;
  ih_log(IH_LOG_INFO, IH_EV_ISAPI_POOL, "ISAPI thread pool: %ld threads, growing to at most %u",
         (long)pool.thread_count, pool.max);
  return 0;
}

void ih_isapi_pool_post(ih_pool_item *item)
{
  LONG queued = InterlockedIncrement(&pool.queued);
  if (queued > pool.idle) {
    if (grow()) {
      LONG n = pool.thread_count;
      if ((n & (n - 1)) == 0) /* a line per doubling, not per thread */
        ih_log(IH_LOG_INFO, IH_EV_ISAPI_POOL, "ISAPI thread pool grew to %ld threads: every thread was busy", (long)n);
    } else if ((unsigned)pool.thread_count >= pool.max && InterlockedExchange(&pool.max_logged, 1) == 0) {
      ih_log(IH_LOG_WARNING, IH_EV_ISAPI_POOL,
             "ISAPI thread pool is at isapi_max_threads (%u) and every thread is busy; extension requests wait",
             pool.max);
    }
  }
  PostQueuedCompletionStatus(pool.queue, 0, 0, (OVERLAPPED *)item);
}

void ih_isapi_pool_counts(unsigned *threads, unsigned *busy)
{
  LONG n = pool.thread_count, idle = pool.idle;
  *threads = (unsigned)n;
  *busy = (unsigned)(n > idle ? n - idle : 0);
}

void ih_isapi_pool_stop(DWORD wait_ms)
{
  if (!pool.queue)
    return;
  AcquireSRWLockExclusive(&pool.grow_lock);
  pool.max = 0; /* no more growth */
  LONG n = pool.thread_count;
  ReleaseSRWLockExclusive(&pool.grow_lock);
  for (LONG i = 0; i < n; i++)
    PostQueuedCompletionStatus(pool.queue, 0, 0, NULL);
  ULONGLONG end = GetTickCount64() + wait_ms;
  for (LONG i = 0; i < n; i++) {
    ULONGLONG now = GetTickCount64();
    DWORD left = now < end ? (DWORD)(end - now) : 0;
    if (WaitForSingleObject(pool.threads[i], left) == WAIT_OBJECT_0)
      CloseHandle(pool.threads[i]);
  }
  /* A thread still inside a DLL keeps the queue handle; the process is ending. */
}

BOOL ih_isapi_pool_is_pool_thread(void) { return on_pool_thread; }
