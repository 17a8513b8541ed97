/* POSIX implementation of ih_thread.h (native Linux builds only; the Windows
 * build uses service/win32/thread_win32.c). */
#ifndef _WIN32
#include "core/ih_thread.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

struct ih_mutex {
  pthread_mutex_t m;
};

ih_mutex *ih_mutex_new(void)
{
  ih_mutex *m = malloc(sizeof *m);
  if (m && pthread_mutex_init(&m->m, NULL) != 0) {
    free(m);
    return NULL;
  }
  return m;
}

void ih_mutex_free(ih_mutex *m)
{
  if (!m)
    return;
  pthread_mutex_destroy(&m->m);
  free(m);
}

void ih_mutex_lock(ih_mutex *m) { pthread_mutex_lock(&m->m); }
void ih_mutex_unlock(ih_mutex *m) { pthread_mutex_unlock(&m->m); }

struct ih_cond {
  pthread_cond_t cv;
};

ih_cond *ih_cond_new(void)
{
  ih_cond *c = malloc(sizeof *c);
  if (c && pthread_cond_init(&c->cv, NULL) != 0) {
    free(c);
    return NULL;
  }
  return c;
}

void ih_cond_free(ih_cond *c)
{
  if (!c)
    return;
  pthread_cond_destroy(&c->cv);
  free(c);
}

void ih_cond_wait(ih_cond *c, ih_mutex *m) { pthread_cond_wait(&c->cv, &m->m); }
void ih_cond_broadcast(ih_cond *c) { pthread_cond_broadcast(&c->cv); }

struct ih_thread {
  pthread_t id;
};

ih_thread *ih_thread_start(ih_thread_fn fn, void *arg)
{
  ih_thread *t = malloc(sizeof *t);
  if (t && pthread_create(&t->id, NULL, fn, arg) != 0) {
    free(t);
    return NULL;
  }
  return t;
}

void *ih_thread_join(ih_thread *t)
{
  void *result = NULL;
  pthread_join(t->id, &result);
  free(t);
  return result;
}

void ih_thread_detach(ih_thread *t)
{
  pthread_detach(t->id);
  free(t);
}

void ih_thread_yield(void) { sched_yield(); }

uint64_t ih_clock_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t ih_wall_seconds(void) { return (int64_t)time(NULL); }
#endif
