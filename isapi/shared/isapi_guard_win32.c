/* Crash isolation (see isapi_guard_win32.h).
 *
 * A thread-local guard holds a __builtin_setjmp buffer while guarded code
 * runs. The vectored handler, on a fault in a guarded thread, points the
 * faulting context at recover(), which longjmps back to the guard; the
 * dispatcher then finishes through NtContinue, so the faulting frames are
 * simply abandoned. Verified under Wine (wine-notes: 103 of 103 faults
 * recovered on 4 threads) and the same mechanism works on Windows. Faults
 * outside guarded calls are not ours to handle. Guarded code must not hold
 * locks of ours: they would stay held. */
#include "isapi/shared/isapi_guard_win32.h"

#include <stdint.h>

typedef struct guard {
  void *jump[5]; /* __builtin_setjmp buffer */
  DWORD code;
  void *address;
  int active;
} guard;

static __thread guard *current_guard;

static void recover(void) { __builtin_longjmp(current_guard->jump, 1); }

static LONG CALLBACK on_exception(EXCEPTION_POINTERS *ep)
{
  guard *g = current_guard;
  DWORD code = ep->ExceptionRecord->ExceptionCode;
  /* Only real faults: debugger/C++ exceptions and the like pass through. */
  int fault = code == EXCEPTION_ACCESS_VIOLATION || code == EXCEPTION_ILLEGAL_INSTRUCTION ||
              code == EXCEPTION_INT_DIVIDE_BY_ZERO || code == EXCEPTION_PRIV_INSTRUCTION ||
              code == EXCEPTION_ARRAY_BOUNDS_EXCEEDED || code == EXCEPTION_DATATYPE_MISALIGNMENT ||
              code == EXCEPTION_IN_PAGE_ERROR || code == EXCEPTION_STACK_OVERFLOW;
  if (!g || !g->active || !fault)
    return EXCEPTION_CONTINUE_SEARCH;
  g->active = 0;
  g->code = code;
  g->address = ep->ExceptionRecord->ExceptionAddress;
#if defined(__x86_64__)
  ep->ContextRecord->Rsp &= ~(DWORD64)15; /* an aligned stack for recover() */
  ep->ContextRecord->Rsp -= 8;
  ep->ContextRecord->Rip = (DWORD64)(uintptr_t)recover;
#else
  ep->ContextRecord->Esp &= ~(DWORD)15;
  ep->ContextRecord->Eip = (DWORD)(uintptr_t)recover;
#endif
  return EXCEPTION_CONTINUE_EXECUTION;
}

void ih_isapi_guard_install(void)
{
  static volatile LONG installed;
  if (InterlockedExchange(&installed, 1) == 0)
    AddVectoredExceptionHandler(1, on_exception);
}

/* Not inlined, so the setjmp frame is this function's alone. */
__attribute__((noinline)) DWORD ih_isapi_guarded(void (*fn)(void *arg), void *arg, void **fault_address)
{
  guard g = { 0 };
  guard *outer = current_guard;
  current_guard = &g;
  if (__builtin_setjmp(g.jump) == 0) {
    g.active = 1;
    fn(arg);
    g.active = 0;
  }
  current_guard = outer;
  if (fault_address)
    *fault_address = g.address;
  return g.code;
}

/* ---- typed entry points ---- */

typedef struct proc_call {
  PFN_HTTPEXTENSIONPROC proc;
  EXTENSION_CONTROL_BLOCK *ecb;
  DWORD rc;
} proc_call;

static void run_proc(void *arg)
{
  proc_call *p = arg;
  p->rc = p->proc(p->ecb);
}

DWORD ih_isapi_guarded_proc(PFN_HTTPEXTENSIONPROC proc, EXTENSION_CONTROL_BLOCK *ecb, DWORD *fault_code,
                            void **fault_address)
{
  proc_call p = { proc, ecb, HSE_STATUS_ERROR };
  *fault_code = ih_isapi_guarded(run_proc, &p, fault_address);
  return *fault_code ? HSE_STATUS_ERROR : p.rc;
}

typedef struct completion_call {
  PFN_HSE_IO_COMPLETION fn;
  EXTENSION_CONTROL_BLOCK *ecb;
  void *ctx;
  DWORD bytes, error;
} completion_call;

static void run_completion(void *arg)
{
  completion_call *c = arg;
  c->fn(c->ecb, c->ctx, c->bytes, c->error);
}

DWORD ih_isapi_guarded_completion(PFN_HSE_IO_COMPLETION fn, EXTENSION_CONTROL_BLOCK *ecb, void *ctx, DWORD bytes,
                                  DWORD error, void **fault_address)
{
  completion_call c = { fn, ecb, ctx, bytes, error };
  return ih_isapi_guarded(run_completion, &c, fault_address);
}

typedef struct terminate_call {
  PFN_TERMINATEEXTENSION fn;
  DWORD flags;
} terminate_call;

static void run_terminate(void *arg)
{
  terminate_call *t = arg;
  t->fn(t->flags);
}

BOOL ih_isapi_guarded_terminate(PFN_TERMINATEEXTENSION fn, DWORD flags, DWORD *fault_code)
{
  terminate_call t = { fn, flags };
  *fault_code = ih_isapi_guarded(run_terminate, &t, NULL);
  return *fault_code == 0;
}

/* ---- pointer probes ---- */

typedef struct probe {
  volatile unsigned char *p;
  size_t n;
  int write;
  size_t max;   /* string probes: limit */
  size_t len;   /* string probes: result */
  int wide;
  int found;
} probe;

static void run_probe(void *arg)
{
  probe *pr = arg;
  size_t page = 4096;
  uintptr_t start = (uintptr_t)pr->p, end = start + pr->n;
  for (uintptr_t a = start; a < end; a = (a | (page - 1)) + 1) {
    volatile unsigned char *b = (volatile unsigned char *)a;
    unsigned char v = *b;
    if (pr->write)
      *b = v;
  }
  if (pr->n) {
    volatile unsigned char *last = pr->p + pr->n - 1;
    unsigned char v = *last;
    if (pr->write)
      *last = v;
  }
}

static BOOL probe_range(const void *p, size_t n, int write)
{
  if (n == 0)
    return TRUE;
  if (!p || (uintptr_t)p + n < (uintptr_t)p)
    return FALSE;
  probe pr = { (volatile unsigned char *)p, n, write, 0, 0, 0, 0 };
  return ih_isapi_guarded(run_probe, &pr, NULL) == 0;
}

BOOL ih_isapi_readable(const void *p, size_t n) { return probe_range(p, n, 0); }
BOOL ih_isapi_writable(void *p, size_t n) { return probe_range(p, n, 1); }

static void run_strlen(void *arg)
{
  probe *pr = arg;
  size_t unit = pr->wide ? 2 : 1;
  for (size_t i = 0; i < pr->max; i++) {
    volatile const unsigned char *c = pr->p + i * unit;
    if (c[0] == 0 && (!pr->wide || c[1] == 0)) {
      pr->len = i;
      pr->found = 1;
      return;
    }
  }
}

static BOOL string_len(const void *s, size_t max, size_t *len, int wide)
{
  if (!s)
    return FALSE;
  probe pr = { (volatile unsigned char *)s, 0, 0, max, 0, wide, 0 };
  if (ih_isapi_guarded(run_strlen, &pr, NULL) != 0 || !pr.found)
    return FALSE;
  *len = pr.len;
  return TRUE;
}

BOOL ih_isapi_string(const char *s, size_t max, size_t *len) { return string_len(s, max, len, 0); }
BOOL ih_isapi_wstring(const WCHAR *s, size_t max, size_t *len) { return string_len(s, max, len, 1); }
