/* The two threading primitives portable code needs: a mutex and a monotonic
 * clock. Implemented in ih_thread_posix.c (Linux) and
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

/* Milliseconds from an arbitrary fixed origin; never goes backwards. */
uint64_t ih_clock_ms(void);
/* Seconds since 1970-01-01 UTC (wall clock, for Date and logs). */
int64_t ih_wall_seconds(void);

#endif
