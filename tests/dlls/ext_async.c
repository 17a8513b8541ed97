/* Test extension for asynchronous I/O and the response-producing
 * ServerSupportFunction codes, driven by its query string (mode=...):
 *   chain&n=N      N asynchronous 1-byte WriteClients, each issued from the
 *                  previous one's completion; then a report of the deepest
 *                  stack seen in a completion and whether any completion ran
 *                  inside the WriteClient that started it
 *   read           the body read with HSE_REQ_ASYNC_READ_CLIENT chains
 *   busy           an async read is outstanding; a second one and a
 *                  synchronous write must be refused; the response follows
 *                  when the read completes
 *   close          CLOSE_CONNECTION with an async read outstanding; the
 *                  completion must come (with an error), then DONE
 *   cancel         CANCEL_IO with an async read outstanding, then a response
 *   transmit       TRANSMIT_FILE of the script file (PATH_TRANSLATED) with
 *                  HSE_IO_SEND_HEADERS, a tail, &off=&len= (BytesToWrite),
 *                  &cb=tf (pfnHseIO instead of IO_COMPLETION), &disc=1
 *                  (DISCONNECT_AFTER_SEND), &raw=1 (no SEND_HEADERS: the head
 *                  is in pHead)
 *   transmit_past  TRANSMIT_FILE with Offset past the end: must fail 10022
 *   vector&async=0|1  VECTOR_SEND: head + memory + file range + memory
 *   crashcb        the completion callback of an async write faults
 *   done_early     DONE_WITH_SESSION (NULL status) inside HttpExtensionProc,
 *                  which then returns PENDING (Apache PR 11918 order)
 *   bogus          wrong pointers where DLLs pass them: bad buffers, a bogus
 *                  lpdwSize where the size is unused, NULL status for DONE
 *   redirect       HSE_REQ_SEND_URL_REDIRECT_RESP
 *   send_url       HSE_REQ_SEND_URL (a 302 on IIS 6)
 *   abort          part of a response, then HSE_REQ_ABORTIVE_CLOSE (RST)
 *   log            HSE_APPEND_LOG_PARAMETER twice and lpszLogData
 *   state          IS_KEEP_CONN, IS_CONNECTED, IS_IN_PROCESS, an unsupported code */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ih_test_dll.h"

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  strcpy(ver->lpszExtensionDesc, "IsapiHost test: async");
  return TRUE;
}

static BOOL has(EXTENSION_CONTROL_BLOCK *ecb, const char *flag)
{
  return strstr(ecb->lpszQueryString, flag) != NULL;
}

static unsigned long long num(EXTENSION_CONTROL_BLOCK *ecb, const char *key, unsigned long long dflt)
{
  const char *p = strstr(ecb->lpszQueryString, key);
  return p ? strtoull(p + strlen(key), NULL, 10) : dflt;
}

static BOOL ssf(EXTENSION_CONTROL_BLOCK *ecb, DWORD req, void *buf, DWORD *size, DWORD *type)
{
  return ecb->ServerSupportFunction(ecb->ConnID, req, buf, size, type);
}

static void done(EXTENSION_CONTROL_BLOCK *ecb, DWORD status)
{
  ssf(ecb, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
}

/* A complete text/plain response with Content-Length, synchronously. */
static void respond_text(EXTENSION_CONTROL_BLOCK *ecb, const char *text)
{
  char headers[128];
  snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %u\r\n\r\n", (unsigned)strlen(text));
  ih_send_headers(ecb, "200 OK", headers, TRUE);
  ih_write(ecb, text);
}

/* ---- chain ---- */

/* Stack depth is measured per pool thread: against the first completion
 * that thread ran. */
static __thread char *first_local_on_thread;

typedef struct chain {
  unsigned long left, issued;
  size_t deepest;
  volatile LONG in_write; /* a WriteClient of ours is on the stack */
  LONG inline_completions;
  DWORD thread;
  char byte;
} chain;

static void WINAPI chain_done(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD bytes, DWORD err)
{
  chain *ch = ctx;
  char here;
  if (!first_local_on_thread)
    first_local_on_thread = &here;
  char *first = first_local_on_thread;
  size_t depth = first > &here ? (size_t)(first - &here) : (size_t)(&here - first);
  if (depth > ch->deepest)
    ch->deepest = depth;
  if (ch->in_write && GetCurrentThreadId() == ch->thread)
    ch->inline_completions++;
  if (err || bytes != 1 || ch->left == 0) {
    char report[256];
    snprintf(report, sizeof report, "\nissued=%lu\nerr=%lu\nbytes=%lu\ndeepest=%zu\ninline=%ld\n", ch->issued, err,
             bytes, ch->deepest, ch->inline_completions);
    ih_write(ecb, report);
    free(ch);
    done(ecb, HSE_STATUS_SUCCESS);
    return;
  }
  ch->left--;
  ch->issued++;
  DWORD n = 1;
  ch->thread = GetCurrentThreadId();
  ch->in_write = 1;
  BOOL ok = ecb->WriteClient(ecb->ConnID, &ch->byte, &n, HSE_IO_ASYNC);
  ch->in_write = 0;
  if (!ok) {
    free(ch);
    done(ecb, HSE_STATUS_ERROR);
  }
}

static DWORD start_chain(EXTENSION_CONTROL_BLOCK *ecb)
{
  chain *ch = calloc(1, sizeof *ch);
  ch->left = (unsigned long)num(ecb, "n=", 100);
  ch->byte = 'x';
  /* No Content-Length: the response ends when the connection closes. */
  ih_send_headers(ecb, "200 OK", "Content-Type: text/plain\r\n\r\n", FALSE);
  ssf(ecb, HSE_REQ_IO_COMPLETION, (void *)chain_done, NULL, (DWORD *)ch);
  ch->left--;
  ch->issued++;
  DWORD n = 1;
  ch->thread = GetCurrentThreadId();
  ch->in_write = 1;
  BOOL ok = ecb->WriteClient(ecb->ConnID, &ch->byte, &n, HSE_IO_ASYNC);
  ch->in_write = 0;
  return ok ? HSE_STATUS_PENDING : HSE_STATUS_ERROR;
}

/* ---- async reads ---- */

typedef struct reader {
  char buf[3000];
  unsigned long long total, sum;
  unsigned long reads;
  BOOL second_refused, sync_write_refused;
  DWORD second_err, sync_err;
  int mode; /* 0 read, 1 busy, 2 close, 3 cancel */
} reader;

static BOOL read_more(EXTENSION_CONTROL_BLOCK *ecb, reader *r)
{
  DWORD size = sizeof r->buf, type = HSE_IO_ASYNC;
  return ssf(ecb, HSE_REQ_ASYNC_READ_CLIENT, r->buf, &size, &type);
}

static void WINAPI read_done(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD bytes, DWORD err)
{
  reader *r = ctx;
  char report[512];
  if (r->mode == 2) { /* close: we only owe DONE after the completion */
    free(r);
    done(ecb, HSE_STATUS_SUCCESS);
    return;
  }
  if (r->mode == 3) {
    snprintf(report, sizeof report, "cancelled_err=%lu\n", err);
    respond_text(ecb, report);
    free(r);
    done(ecb, HSE_STATUS_SUCCESS_AND_KEEP_CONN);
    return;
  }
  if (!err && bytes) {
    r->reads++;
    r->total += bytes;
    for (DWORD i = 0; i < bytes; i++)
      r->sum += (unsigned char)r->buf[i];
    if (r->mode == 0 && read_more(ecb, r))
      return;
    if (r->mode == 0) {
      free(r);
      done(ecb, HSE_STATUS_ERROR);
      return;
    }
  }
  snprintf(report, sizeof report, "total=%llu\nsum=%llu\nerr=%lu\nsecond_refused=%d/%lu\nsync_write_refused=%d/%lu\n",
           r->total, r->sum, err, r->second_refused, r->second_err, r->sync_write_refused,
           r->sync_err);
  respond_text(ecb, report);
  free(r);
  done(ecb, HSE_STATUS_SUCCESS_AND_KEEP_CONN);
}

static DWORD start_read(EXTENSION_CONTROL_BLOCK *ecb, int mode)
{
  reader *r = calloc(1, sizeof *r);
  r->mode = mode;
  for (DWORD i = 0; i < ecb->cbAvailable; i++)
    r->sum += ecb->lpbData[i];
  r->total = ecb->cbAvailable;
  ssf(ecb, HSE_REQ_IO_COMPLETION, (void *)read_done, NULL, (DWORD *)r);
  if (!read_more(ecb, r)) {
    free(r);
    return HSE_STATUS_ERROR;
  }
  if (mode == 1) { /* one operation at a time: both must be refused */
    char other[16];
    DWORD size = sizeof other, type = HSE_IO_ASYNC;
    r->second_refused = !ssf(ecb, HSE_REQ_ASYNC_READ_CLIENT, other, &size, &type);
    r->second_err = GetLastError();
    DWORD n = 2;
    r->sync_write_refused = !ecb->WriteClient(ecb->ConnID, "no", &n, HSE_IO_SYNC);
    r->sync_err = GetLastError();
  } else if (mode == 2) {
    ssf(ecb, HSE_REQ_CLOSE_CONNECTION, NULL, NULL, NULL);
  } else if (mode == 3) {
    ssf(ecb, HSE_REQ_CANCEL_IO, NULL, NULL, NULL);
  }
  return HSE_STATUS_PENDING;
}

/* ---- TRANSMIT_FILE ---- */

typedef struct transmit {
  HANDLE file;
  char head[256];
  char tail[32];
} transmit;

static void WINAPI transmit_done(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD bytes, DWORD err)
{
  transmit *t = ctx;
  (void)bytes;
  CloseHandle(t->file);
  free(t);
  done(ecb, err ? HSE_STATUS_ERROR : HSE_STATUS_SUCCESS_AND_KEEP_CONN);
}

static HANDLE open_script(EXTENSION_CONTROL_BLOCK *ecb, LARGE_INTEGER *size)
{
  HANDLE f = CreateFileA(ecb->lpszPathTranslated, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
  if (f != INVALID_HANDLE_VALUE)
    GetFileSizeEx(f, size);
  return f;
}

static DWORD start_transmit(EXTENSION_CONTROL_BLOCK *ecb, BOOL past_end)
{
  LARGE_INTEGER size;
  HANDLE f = open_script(ecb, &size);
  if (f == INVALID_HANDLE_VALUE)
    return HSE_STATUS_ERROR;
  transmit *t = calloc(1, sizeof *t);
  t->file = f;
  DWORD off = (DWORD)num(ecb, "off=", 0), len = (DWORD)num(ecb, "len=", 0);
  if (past_end)
    off = (DWORD)size.QuadPart + 10;
  DWORD body = (len ? len : (DWORD)size.QuadPart - off);
  strcpy(t->tail, "--tail--");
  HSE_TF_INFO tf;
  memset(&tf, 0, sizeof tf);
  tf.hFile = f;
  tf.Offset = off;
  tf.BytesToWrite = len;
  tf.pTail = t->tail;
  tf.TailLength = (DWORD)strlen(t->tail);
  tf.dwFlags = HSE_IO_ASYNC;
  if (has(ecb, "raw=1")) {
    snprintf(t->head, sizeof t->head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %lu\r\n\r\n",
             body + tf.TailLength);
  } else {
    snprintf(t->head, sizeof t->head, "Content-Type: text/plain\r\nContent-Length: %lu\r\n\r\n", body + tf.TailLength);
    tf.dwFlags |= HSE_IO_SEND_HEADERS;
    tf.pszStatusCode = "200 OK";
  }
  tf.pHead = t->head;
  tf.HeadLength = (DWORD)strlen(t->head);
  if (has(ecb, "disc=1"))
    tf.dwFlags |= HSE_IO_DISCONNECT_AFTER_SEND;
  if (has(ecb, "cb=tf")) {
    tf.pfnHseIO = transmit_done;
    tf.pContext = t;
  } else {
    ssf(ecb, HSE_REQ_IO_COMPLETION, (void *)transmit_done, NULL, (DWORD *)t);
  }
  if (!ssf(ecb, HSE_REQ_TRANSMIT_FILE, &tf, NULL, NULL)) {
    DWORD err = GetLastError();
    CloseHandle(f);
    free(t);
    char text[64];
    snprintf(text, sizeof text, "transmit_refused=%lu\n", err);
    respond_text(ecb, text);
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  return HSE_STATUS_PENDING;
}

/* ---- VECTOR_SEND ---- */

typedef struct vector {
  HANDLE file;
  HSE_VECTOR_ELEMENT el[3];
  HSE_RESPONSE_VECTOR v;
  char headers[128];
} vector;

static void WINAPI vector_done(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD bytes, DWORD err)
{
  vector *v = ctx;
  (void)bytes;
  CloseHandle(v->file);
  free(v);
  done(ecb, err ? HSE_STATUS_ERROR : HSE_STATUS_SUCCESS_AND_KEEP_CONN);
}

static DWORD start_vector(EXTENSION_CONTROL_BLOCK *ecb)
{
  static char first[] = "<first>", last[] = "<last>";
  LARGE_INTEGER size;
  HANDLE f = open_script(ecb, &size);
  if (f == INVALID_HANDLE_VALUE)
    return HSE_STATUS_ERROR;
  vector *v = calloc(1, sizeof *v);
  v->file = f;
  v->el[0] = (HSE_VECTOR_ELEMENT){ HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER, first, 0, 7 };
  v->el[1] = (HSE_VECTOR_ELEMENT){ HSE_VECTOR_ELEMENT_TYPE_FILE_HANDLE, f, 2, 5 };
  v->el[2] = (HSE_VECTOR_ELEMENT){ HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER, last, 0, 6 };
  snprintf(v->headers, sizeof v->headers, "Content-Type: text/plain\r\nContent-Length: 18\r\n\r\n");
  BOOL async = has(ecb, "async=1");
  v->v.dwFlags = HSE_IO_SEND_HEADERS | HSE_IO_FINAL_SEND | (async ? HSE_IO_ASYNC : HSE_IO_SYNC);
  v->v.pszStatus = "200 OK";
  v->v.pszHeaders = v->headers;
  v->v.nElementCount = 3;
  v->v.lpElementArray = v->el;
  if (async)
    ssf(ecb, HSE_REQ_IO_COMPLETION, (void *)vector_done, NULL, (DWORD *)v);
  BOOL ok = ssf(ecb, HSE_REQ_VECTOR_SEND, &v->v, NULL, NULL);
  if (async)
    return ok ? HSE_STATUS_PENDING : HSE_STATUS_ERROR;
  CloseHandle(f);
  free(v);
  return ok ? HSE_STATUS_SUCCESS_AND_KEEP_CONN : HSE_STATUS_ERROR;
}

/* ---- faults and misuse ---- */

static void WINAPI crashing_done(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD bytes, DWORD err)
{
  (void)ecb, (void)ctx, (void)bytes, (void)err;
  ih_test_fault(24);
}

static DWORD start_crash_in_callback(EXTENSION_CONTROL_BLOCK *ecb)
{
  static char text[] = "partial";
  ih_send_headers(ecb, "200 OK", "Content-Type: text/plain\r\nContent-Length: 100\r\n\r\n", TRUE);
  ssf(ecb, HSE_REQ_IO_COMPLETION, (void *)crashing_done, NULL, NULL);
  DWORD n = 7;
  return ecb->WriteClient(ecb->ConnID, text, &n, HSE_IO_ASYNC) ? HSE_STATUS_PENDING : HSE_STATUS_ERROR;
}

static DWORD bogus(EXTENSION_CONTROL_BLOCK *ecb)
{
  char report[512];
  DWORD size = 4096;
  BOOL var_ok = ecb->GetServerVariable(ecb->ConnID, "URL", (void *)(uintptr_t)8, &size);
  DWORD var_err = GetLastError();
  DWORD n = 100;
  BOOL write_ok = ecb->WriteClient(ecb->ConnID, (void *)(uintptr_t)8, &n, HSE_IO_SYNC);
  DWORD write_err = GetLastError();
  BOOL name_ok = ecb->GetServerVariable(ecb->ConnID, (LPSTR)(uintptr_t)16, report, &size);
  DWORD name_err = GetLastError();
  BOOL unsupported_ok = ssf(ecb, HSE_REQ_GET_CERT_INFO_EX, NULL, NULL, NULL);
  DWORD unsupported_err = GetLastError();
  BOOL unknown_ok = ssf(ecb, 4242, NULL, NULL, NULL);
  DWORD unknown_err = GetLastError();
  DWORD two = 2;
  BOOL foreign_ok = ecb->WriteClient((HCONN)(uintptr_t)0x12345678, "no", &two, HSE_IO_SYNC);
  DWORD foreign_err = GetLastError();
  snprintf(report, sizeof report,
           "var=%d/%lu\nwrite=%d/%lu\nname=%d/%lu\nunsupported=%d/%lu\nunknown=%d/%lu\nforeign=%d/%lu\n", var_ok,
           var_err, write_ok, write_err, name_ok, name_err, unsupported_ok, unsupported_err, unknown_ok, unknown_err,
           foreign_ok, foreign_err);
  /* SEND_RESPONSE_HEADER never reads lpdwSize: a bogus one must not matter */
  char headers[700];
  snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %u\r\n\r\n%s",
           (unsigned)strlen(report), report);
  ssf(ecb, HSE_REQ_SEND_RESPONSE_HEADER, "200 OK", (DWORD *)(uintptr_t)12, (DWORD *)headers);
  /* PENDING then DONE_WITH_SESSION with a NULL status */
  ssf(ecb, HSE_REQ_DONE_WITH_SESSION, NULL, NULL, NULL);
  return HSE_STATUS_PENDING;
}

static DWORD state(EXTENSION_CONTROL_BLOCK *ecb)
{
  BOOL keep = -1, connected = -1;
  DWORD in_process = 77;
  ssf(ecb, HSE_REQ_IS_KEEP_CONN, &keep, NULL, NULL);
  ssf(ecb, HSE_REQ_IS_CONNECTED, &connected, NULL, NULL);
  ssf(ecb, HSE_REQ_IS_IN_PROCESS, &in_process, NULL, NULL);
  HANDLE token = NULL;
  BOOL token_ok = ssf(ecb, HSE_REQ_GET_IMPERSONATION_TOKEN, &token, NULL, NULL);
  BOOL impersonated = token_ok && ImpersonateLoggedOnUser(token);
  if (impersonated)
    RevertToSelf();
  BOOL flush = ssf(ecb, HSE_REQ_SET_FLUSH_FLAG, (void *)(uintptr_t)TRUE, NULL, NULL);
  BOOL unhealthy = ssf(ecb, HSE_REQ_REPORT_UNHEALTHY, "test extension feels unwell", NULL, NULL);
  char text[256];
  snprintf(text, sizeof text, "keep=%d\nconnected=%d\nin_process=%lu\ntoken=%d\nimpersonated=%d\nflush=%d\nunhealthy=%d\n",
           keep, connected, in_process, token_ok && token, impersonated, flush, unhealthy);
  respond_text(ecb, text);
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  if (has(ecb, "mode=chain"))
    return start_chain(ecb);
  if (has(ecb, "mode=read"))
    return start_read(ecb, 0);
  if (has(ecb, "mode=busy"))
    return start_read(ecb, 1);
  if (has(ecb, "mode=close"))
    return start_read(ecb, 2);
  if (has(ecb, "mode=cancel"))
    return start_read(ecb, 3);
  if (has(ecb, "mode=transmit_past"))
    return start_transmit(ecb, TRUE);
  if (has(ecb, "mode=transmit"))
    return start_transmit(ecb, FALSE);
  if (has(ecb, "mode=vector"))
    return start_vector(ecb);
  if (has(ecb, "mode=crashcb"))
    return start_crash_in_callback(ecb);
  if (has(ecb, "mode=bogus"))
    return bogus(ecb);
  if (has(ecb, "mode=state"))
    return state(ecb);
  if (has(ecb, "mode=done_early")) {
    respond_text(ecb, "done before PENDING\n");
    ssf(ecb, HSE_REQ_DONE_WITH_SESSION, NULL, NULL, NULL);
    return HSE_STATUS_PENDING;
  }
  if (has(ecb, "mode=send_url")) { /* IIS 6 documents SEND_URL as a 302 too (ms524477) */
    ssf(ecb, HSE_REQ_SEND_URL, "/elsewhere/page.txt", NULL, NULL);
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  if (has(ecb, "mode=abort")) { /* part of a response, then a reset */
    ih_send_headers(ecb, "200 OK", "Content-Type: text/plain\r\nContent-Length: 100\r\n\r\n", TRUE);
    ih_write(ecb, "partial");
    ssf(ecb, HSE_REQ_ABORTIVE_CLOSE, NULL, NULL, NULL);
    return HSE_STATUS_SUCCESS;
  }
  if (has(ecb, "mode=redirect")) {
    ssf(ecb, HSE_REQ_SEND_URL_REDIRECT_RESP, "http://example.test/elsewhere?a=\"1\"", NULL, NULL);
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  if (has(ecb, "mode=log")) {
    ssf(ecb, HSE_APPEND_LOG_PARAMETER, "|first", NULL, NULL);
    ssf(ecb, HSE_APPEND_LOG_PARAMETER, "|second", NULL, NULL);
    strcpy(ecb->lpszLogData, "|logdata");
    respond_text(ecb, "logged\n");
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  respond_text(ecb, "unknown mode\n");
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}
