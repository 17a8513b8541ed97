/* The thread pool that calls into extension DLLs: HttpExtensionProc and the
 * DLLs' I/O completion callbacks run here, never on the I/O threads, so a
 * slow or blocked DLL cannot stall static files or other DLLs. Each thread
 * has a 1 MB stack reservation (IIS threads have 256 KB, KB Q189888, and
 * DLLs are written for at least that). The pool starts with `initial`
 * threads and grows, up to `max`, when queued work has not moved for a
 * moment: a DLL that blocks forever costs one thread, not the server.
 * Win32 only. */
#ifndef IH_ISAPI_POOL_WIN32_H
#define IH_ISAPI_POOL_WIN32_H

#include <windows.h>

typedef struct ih_pool_item ih_pool_item;
struct ih_pool_item {
  void (*run)(ih_pool_item *item); /* called once per post, on a pool thread */
  ih_pool_item *next;              /* the queue's; an item is queued at most once at a time */
};

/* Returns 0, or -1 (logged) when not even one thread could start. */
int ih_isapi_pool_start(unsigned initial, unsigned max);
/* Queues item; never blocks, never runs it on the caller's stack. */
void ih_isapi_pool_post(ih_pool_item *item);
/* Threads now, and how many are running an item. */
void ih_isapi_pool_counts(unsigned *threads, unsigned *busy);
/* Asks every thread to finish and waits up to wait_ms for them; threads
 * still inside a DLL after that are left (the process is ending). */
void ih_isapi_pool_stop(DWORD wait_ms);
/* True on a pool thread (its I/O outlives any DLL-created thread). */
BOOL ih_isapi_pool_is_pool_thread(void);

#endif
