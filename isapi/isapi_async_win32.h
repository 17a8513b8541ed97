/* A DLL's operations on its connection, synchronous and asynchronous
 * (isapi_async_win32.c). Above the call object and the head sender; used by
 * the ECB's WriteClient, ASYNC_READ_CLIENT, TRANSMIT_FILE, VECTOR_SEND and
 * EXEC_URL. Win32 only. */
#ifndef IH_ISAPI_ASYNC_WIN32_H
#define IH_ISAPI_ASYNC_WIN32_H

#include "isapi/isapi_call_win32.h"

/* One asynchronous operation of the DLL: up to a few steps (head, memory,
 * file, ...) run one after the other on the connection, then the DLL's
 * callback runs on the pool with the total byte count or the first error. */
typedef struct isapi_async isapi_async;

enum isapi_step_kind { STEP_HEAD, STEP_WRITE, STEP_READ, STEP_FILE };
typedef struct isapi_step {
  enum isapi_step_kind kind;
  const void *data;             /* WRITE, READ (buffer), HEAD (header text) */
  size_t len;                   /* WRITE/READ bytes, HEAD text length */
  const char *status;           /* HEAD: status string (may be NULL), its length */
  size_t status_len;
  HANDLE file;                  /* FILE */
  uint64_t offset, length;
  BOOL counts;                  /* its bytes count towards the completion's cbIO */
} isapi_step;

/* Starts steps[0..n) (copied) asynchronously; fn/ctx are the DLL's callback
 * (fn may be NULL: nothing is called back). FALSE with the Win32 error set
 * when it cannot start (nothing will be called back). */
BOOL isapi_async_start(isapi_call *call, const isapi_step *steps, size_t n, PFN_HSE_IO_COMPLETION fn, void *ctx);
/* Runs steps[0..n) synchronously; FALSE with the Win32 error set on failure.
 * *bytes (may be NULL) gets the counted bytes. */
BOOL isapi_sync_run(isapi_call *call, const isapi_step *steps, size_t n, DWORD *bytes);
/* Queues fn(ecb, ctx, bytes, error) on the pool, as an operation's
 * completion (EXEC_URL, SEND_CUSTOM_ERROR, a read past a child's entity). */
void isapi_async_complete(isapi_call *call, PFN_HSE_IO_COMPLETION fn, void *ctx, DWORD bytes, DWORD error);

#endif
