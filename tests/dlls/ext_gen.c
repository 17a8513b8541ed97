/* Test extension for replacing a DLL without stopping the server
 * (test_isapi_admin.py). Built twice: ext_gen.dll (generation 1) and
 * ext_gen2.dll (IH_GENERATION=2), so a test can swap the file on disk and
 * tell which build answered. Every answer says its generation and which
 * load of the file ran it (the performance counter at GetExtensionVersion).
 *   sleep=N    HttpExtensionProc sleeps N ms before answering
 *   pending    answers from a thread of its own after sleep=N ms, returning
 *              HSE_STATUS_PENDING, then HSE_REQ_DONE_WITH_SESSION
 *   async      sends its head, then the body with an asynchronous
 *              WriteClient whose completion sleeps N ms and ends the session
 * It appends "load", "done" (a delayed request finishing, before it ends its
 * session) and "terminate flags=F" lines to <the DLL's path>.log, so a test
 * sees the order of events across unloads. TerminateExtension waits for the
 * DLL's own threads: FreeLibrary follows it, and code of an unloaded DLL
 * must not run any more. */
#include <stdio.h>
#include <stdlib.h>

#include "ih_test_dll.h"

#ifndef IH_GENERATION
#define IH_GENERATION 1
#endif

static HINSTANCE self;
static CRITICAL_SECTION log_lock;
static long long instance;
#define MAX_WORKERS 256
static CRITICAL_SECTION workers_lock;
static HANDLE workers[MAX_WORKERS];
static int worker_count;

BOOL WINAPI DllMain(HINSTANCE h, DWORD reason, LPVOID reserved)
{
  (void)reserved;
  if (reason == DLL_PROCESS_ATTACH) {
    self = h;
    InitializeCriticalSection(&log_lock);
    InitializeCriticalSection(&workers_lock);
  } else if (reason == DLL_PROCESS_DETACH) {
    DeleteCriticalSection(&log_lock);
    DeleteCriticalSection(&workers_lock);
  }
  return TRUE;
}

static void note(const char *fmt, long long a, long long b)
{
  wchar_t path[MAX_PATH + 8];
  DWORD n = GetModuleFileNameW(self, path, MAX_PATH);
  if (n == 0 || n >= MAX_PATH)
    return;
  wcscpy(path + n, L".log");
  char line[160];
  int len = snprintf(line, sizeof line, fmt, a, b);
  EnterCriticalSection(&log_lock);
  HANDLE f = CreateFileW(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_ALWAYS,
                         FILE_ATTRIBUTE_NORMAL, NULL);
  if (f != INVALID_HANDLE_VALUE) {
    DWORD written;
    WriteFile(f, line, (DWORD)len, &written, NULL);
    CloseHandle(f);
  }
  LeaveCriticalSection(&log_lock);
}

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  LARGE_INTEGER now;
  QueryPerformanceCounter(&now);
  instance = now.QuadPart;
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  snprintf(ver->lpszExtensionDesc, HSE_MAX_EXT_DLL_NAME_LEN, "IsapiHost test: generation %d", IH_GENERATION);
  note("load generation=%lld instance=%lld\n", IH_GENERATION, instance);
  return TRUE;
}

static DWORD query_ms(const EXTENSION_CONTROL_BLOCK *ecb)
{
  const char *p = strstr(ecb->lpszQueryString, "sleep=");
  return p ? (DWORD)strtoul(p + 6, NULL, 10) : 0;
}

static int body_of(char *out, size_t cap)
{
  return snprintf(out, cap, "generation=%d\ninstance=%lld\n", IH_GENERATION, instance);
}

static BOOL answer(EXTENSION_CONTROL_BLOCK *ecb)
{
  char body[96], headers[96];
  int n = body_of(body, sizeof body);
  snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n", n);
  return ih_send_headers(ecb, "200 OK", headers, TRUE) && ih_write(ecb, body);
}

static void done_with_session(EXTENSION_CONTROL_BLOCK *ecb, const char *mode)
{
  note(mode[0] == 'p' ? "done generation=%lld mode=pending instance=%lld\n"
                      : "done generation=%lld mode=async instance=%lld\n",
       IH_GENERATION, instance);
  DWORD status = HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
}

static DWORD WINAPI pending_worker(LPVOID arg)
{
  EXTENSION_CONTROL_BLOCK *ecb = arg;
  Sleep(query_ms(ecb));
  answer(ecb);
  done_with_session(ecb, "pending");
  return 0;
}

/* The asynchronous body's completion: runs on the host's pool, counted as
 * the request's outstanding I/O until it returns. */
typedef struct async_ctx {
  char body[96];
  DWORD len;
  DWORD ms;
} async_ctx;

static VOID WINAPI async_done(EXTENSION_CONTROL_BLOCK *ecb, PVOID arg, DWORD bytes, DWORD error)
{
  (void)bytes;
  (void)error;
  async_ctx *ctx = arg;
  Sleep(ctx->ms);
  free(ctx);
  done_with_session(ecb, "async");
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  if (strstr(ecb->lpszQueryString, "pending")) {
    EnterCriticalSection(&workers_lock);
    HANDLE t = worker_count < MAX_WORKERS ? CreateThread(NULL, 0, pending_worker, ecb, 0, NULL) : NULL;
    if (t)
      workers[worker_count++] = t;
    LeaveCriticalSection(&workers_lock);
    return t ? HSE_STATUS_PENDING : HSE_STATUS_ERROR;
  }
  if (strstr(ecb->lpszQueryString, "async")) {
    async_ctx *ctx = malloc(sizeof *ctx);
    if (!ctx)
      return HSE_STATUS_ERROR;
    int n = body_of(ctx->body, sizeof ctx->body);
    ctx->len = (DWORD)n;
    ctx->ms = query_ms(ecb);
    char headers[96];
    snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n", n);
    DWORD type = HSE_IO_ASYNC;
    if (!ih_send_headers(ecb, "200 OK", headers, TRUE) ||
        !ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_IO_COMPLETION, (LPVOID)async_done, NULL, (LPDWORD)ctx) ||
        !ecb->WriteClient(ecb->ConnID, ctx->body, &ctx->len, type)) {
      free(ctx);
      return HSE_STATUS_ERROR;
    }
    return HSE_STATUS_PENDING;
  }
  Sleep(query_ms(ecb));
  return answer(ecb) ? HSE_STATUS_SUCCESS_AND_KEEP_CONN : HSE_STATUS_ERROR;
}

IH_EXPORT BOOL WINAPI TerminateExtension(DWORD flags)
{
  EnterCriticalSection(&workers_lock);
  for (int i = 0; i < worker_count; i++) {
    WaitForSingleObject(workers[i], INFINITE);
    CloseHandle(workers[i]);
  }
  worker_count = 0;
  LeaveCriticalSection(&workers_lock);
  note("terminate generation=%lld flags=%lld\n", IH_GENERATION, (long long)flags);
  return TRUE;
}
