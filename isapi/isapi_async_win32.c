/* A DLL's operations on its connection, synchronous and asynchronous (see
 * isapi_async_win32.h). Above the call object (isapi_call_win32.c) and the
 * head sender (isapi_head_win32.c); below everything that starts them.
 *
 * IIS 6 ("Using Asynchronous I/O Processing", ms525028) runs the DLL's
 * completion callback on a pool thread, with the ECB, its context, the byte
 * count and an error. Here an operation is a short list of steps (a
 * TRANSMIT_FILE is head, file, tail; a VECTOR_SEND one step per element),
 * each one connection operation. The steps advance on whatever thread
 * completes the previous one; the DLL's callback always runs on the
 * extension pool, never on the stack that started the operation: a DLL
 * that issues its next write from its callback 10,000 times uses one pool
 * item per round, not 10,000 stack frames.
 *
 * A step can complete before the call that started it returns. The phase
 * word settles who goes on: the starter marks STARTING; the completion
 * either finds STARTING and leaves a note (DONE_INLINE) for the starter's
 * loop, or finds RUNNING and continues itself. */
#include <windows.h>
#include <httpext.h>
#include <stdlib.h>
#include <string.h>

#include "isapi/isapi_async_win32.h"
#include "isapi/isapi_call_win32.h"
#include "isapi/isapi_head_win32.h"
#include "isapi/shared/isapi_guard_win32.h"

enum { PHASE_STARTING, PHASE_RUNNING, PHASE_DONE_INLINE };

struct isapi_async {
  ih_pool_item item;          /* runs the DLL's callback on the pool */
  isapi_call *call;           /* holds a reference until the callback has run */
  PFN_HSE_IO_COMPLETION fn;
  void *ctx;
  ih_ext_done done;           /* the connection calls step_done */
  volatile LONG phase;
  size_t next, count;
  DWORD total, error;
  isapi_step steps[];
};

/* Starts the current step. Returns 0, or the Win32 error that kept it from
 * starting (then nothing will complete). */
static DWORD start_step(isapi_async *a)
{
  const isapi_step *s = &a->steps[a->next];
  ih_conn *c = a->call->conn;
  if (s->kind != STEP_READ)
    a->call->responded = TRUE;
  int rc;
  switch (s->kind) {
  case STEP_HEAD:
    if (!isapi_send_header_text(a->call, s->status, s->status_len, s->data, s->len, &a->done))
      return GetLastError();
    return 0;
  case STEP_WRITE:
    rc = ih_conn_ext_write(c, s->data, s->len, &a->done);
    break;
  case STEP_READ: {
    if (a->call->no_conn_body) { /* a child's body was its parent's entity, all in lpbData */
      a->done.fn(a->done.ctx, 0, 0);
      return 0;
    }
    size_t n = s->len;
    rc = ih_conn_ext_read(c, (void *)s->data, &n, &a->done);
    break;
  }
  case STEP_FILE:
    rc = ih_conn_ext_send_file(c, s->file, s->offset, s->length, &a->done);
    break;
  default:
    return ERROR_INVALID_PARAMETER;
  }
  if (rc == IH_EXT_OK)
    return 0;
  isapi_set_ext_error(rc);
  return GetLastError();
}

static void run_callback(ih_pool_item *item)
{
  isapi_async *a = (isapi_async *)item;
  isapi_call *call = a->call;
  /* After the session ended the ECB is no longer the DLL's to use. */
  if (a->fn && !isapi_call_ending(call)) {
    call->in_dll = "its I/O completion callback";
    void *at = NULL;
    DWORD fault = ih_isapi_guarded_completion(a->fn, &call->ecb, a->ctx, a->total, a->error, &at);
    call->in_dll = NULL;
    if (fault)
      isapi_call_fault(call, "its I/O completion callback", fault, at);
  }
  free(a);
  isapi_call_unref(call);
}

/* Starts steps until one is pending, or all are done (then the callback is
 * queued). */
static void run_steps(isapi_async *a)
{
  while (!a->error && a->next < a->count) {
    InterlockedExchange(&a->phase, PHASE_STARTING);
    DWORD err = start_step(a);
    if (err) {
      a->error = err;
      break;
    }
    if (InterlockedCompareExchange(&a->phase, PHASE_RUNNING, PHASE_STARTING) == PHASE_STARTING)
      return; /* pending: step_done goes on */
  }
  ih_isapi_pool_post(&a->item);
}

static void step_done(void *ctx, size_t bytes, int err)
{
  isapi_async *a = ctx;
  if (a->steps[a->next].counts)
    a->total += (DWORD)bytes;
  a->error = (DWORD)err;
  a->next++;
  if (InterlockedCompareExchange(&a->phase, PHASE_DONE_INLINE, PHASE_STARTING) == PHASE_STARTING)
    return; /* completed inside start_step: the starter's loop goes on */
  run_steps(a);
}

BOOL isapi_async_start(isapi_call *call, const isapi_step *steps, size_t n, PFN_HSE_IO_COMPLETION fn, void *ctx)
{
  isapi_async *a = calloc(1, sizeof *a + n * sizeof *steps);
  if (!a) {
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return FALSE;
  }
  a->item.run = run_callback;
  a->call = call;
  a->fn = fn;
  a->ctx = ctx;
  a->done.fn = step_done;
  a->done.ctx = a;
  a->count = n;
  memcpy(a->steps, steps, n * sizeof *steps);
  isapi_call_ref(call);
  if (n == 0) {
    ih_isapi_pool_post(&a->item);
    return TRUE;
  }
  /* The first step starts here so that a refusal (a second asynchronous
   * operation, a client already gone) is the DLL's FALSE, not a callback. */
  a->phase = PHASE_STARTING;
  DWORD err = start_step(a);
  if (err) {
    free(a);
    isapi_call_unref(call);
    SetLastError(err);
    if (err == ERROR_INVALID_PARAMETER)
      isapi_call_misuse(call, MISUSE_SECOND_ASYNC,
                        "an I/O call while an asynchronous operation was outstanding (one at a time, ms525028)");
    return FALSE;
  }
  if (InterlockedCompareExchange(&a->phase, PHASE_RUNNING, PHASE_STARTING) != PHASE_STARTING)
    run_steps(a); /* the first step completed at once: go on from here */
  return TRUE;
}

void isapi_async_complete(isapi_call *call, PFN_HSE_IO_COMPLETION fn, void *ctx, DWORD bytes, DWORD error)
{
  isapi_async *a = calloc(1, sizeof *a);
  if (!a)
    return; /* out of memory: the DLL's callback is lost, as on IIS */
  a->item.run = run_callback;
  a->call = call;
  a->fn = fn;
  a->ctx = ctx;
  a->total = bytes;
  a->error = error;
  isapi_call_ref(call);
  ih_isapi_pool_post(&a->item);
}

BOOL isapi_sync_run(isapi_call *call, const isapi_step *steps, size_t n, DWORD *bytes)
{
  DWORD total = 0;
  for (size_t i = 0; i < n; i++) {
    const isapi_step *s = &steps[i];
    int rc = IH_EXT_OK;
    if (s->kind != STEP_READ)
      call->responded = TRUE;
    switch (s->kind) {
    case STEP_HEAD:
      if (!isapi_send_header_text(call, s->status, s->status_len, s->data, s->len, NULL))
        return FALSE;
      break;
    case STEP_WRITE:
      rc = ih_conn_ext_write(call->conn, s->data, s->len, NULL);
      break;
    case STEP_READ: {
      size_t got = s->len;
      if (call->no_conn_body)
        got = 0;
      else
        rc = ih_conn_ext_read(call->conn, (void *)s->data, &got, NULL);
      if (rc == IH_EXT_OK && s->counts)
        total += (DWORD)got;
      break;
    }
    case STEP_FILE:
      rc = ih_conn_ext_send_file(call->conn, s->file, s->offset, s->length, NULL);
      break;
    }
    if (rc != IH_EXT_OK) {
      isapi_set_ext_error(rc);
      return FALSE;
    }
    if (s->counts && s->kind != STEP_READ)
      total += (DWORD)(s->kind == STEP_FILE ? s->length : s->len);
  }
  if (bytes)
    *bytes = total;
  return TRUE;
}
