/* The threading primitives portable code needs: a mutex, a condition
 * variable, a monotonic clock, and (for tests that play several threads) a
 * thread that can be started, joined or detached, and a yield. Implemented in ih_thread_posix.c (Linux) and
 * service/win32/thread_win32.c (Windows), so no portable file includes
 * windows.h. Counters use C11 <stdatomic.h> directly. */
#ifndef IH_THREAD_H
#define IH_THREAD_H

#include <stdint.h>

typedef struct ih_mutex ih_mutex;

ih_mutex *ih_mutex_new(void); /* NULL on allocation failure */
void ih_mutex_free(ih_mutex *m);
void ih_mutex_lock(ih_mutex *m);
void ih_mutex_unlock(ih_mutex *m);

/* Condition variable used with an ih_mutex: a thread outside the I/O pool
 * (an ISAPI extension's) waits for a completion the pool delivers. */
typedef struct ih_cond ih_cond;

ih_cond *ih_cond_new(void); /* NULL on allocation failure */
void ih_cond_free(ih_cond *c);
/* Atomically unlocks m, waits for a broadcast, locks m again. */
void ih_cond_wait(ih_cond *c, ih_mutex *m);
void ih_cond_broadcast(ih_cond *c);

/* A thread running fn(arg). The signature is pthread's, so fn's return value
 * reaches ih_thread_join on both platforms. */
typedef struct ih_thread ih_thread;
typedef void *(*ih_thread_fn)(void *arg);

ih_thread *ih_thread_start(ih_thread_fn fn, void *arg); /* NULL when it cannot start */
/* Waits for the thread to return, frees it, and returns what fn returned. */
void *ih_thread_join(ih_thread *t);
/* Lets the thread finish on its own; what it holds is freed when it returns. */
void ih_thread_detach(ih_thread *t);
/* Gives the processor to another ready thread (a spin-wait's pause). */
void ih_thread_yield(void);

/* Milliseconds from an arbitrary fixed origin; never goes backwards. */
uint64_t ih_clock_ms(void);
/* Seconds since 1970-01-01 UTC (wall clock, for Date and logs). */
int64_t ih_wall_seconds(void);

#endif
