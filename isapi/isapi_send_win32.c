/* ServerSupportFunction codes that produce a response: SEND_RESPONSE_HEADER
 * and _EX, SEND_URL_REDIRECT_RESP and SEND_URL, TRANSMIT_FILE, VECTOR_SEND
 * (see isapi_send_win32.h). They check the DLL's arguments and send through
 * the layers below: a head through isapi_head_win32.c, the rest as steps of
 * an operation (isapi_async_win32.c). */
#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isapi/isapi_async_win32.h"
#include "isapi/isapi_call_win32.h"
#include "isapi/isapi_head_win32.h"
#include "isapi/isapi_send_win32.h"
#include "isapi/shared/isapi_guard_win32.h"

#define TEXT_MAX (1u << 20) /* longest status or header text we read from a DLL */

/* A string argument: readable, bounded. */
static BOOL text_arg(isapi_call *call, const char *s, size_t *len)
{
  if (s && ih_isapi_string(s, TEXT_MAX, len))
    return TRUE;
  isapi_call_misuse(call, MISUSE_BAD_POINTER, "ServerSupportFunction with an unreadable string");
  SetLastError(ERROR_INVALID_PARAMETER);
  return FALSE;
}

/* DLLs pass strlen, strlen + 1 or 0 as lengths: never read past the NUL. */
static size_t bounded_len(size_t actual, DWORD declared) { return declared && declared < actual ? declared : actual; }

BOOL isapi_ssf_send_response_header(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type)
{
  (void)size;
  const char *status = buf, *headers = (const char *)type; /* the SDK passes headers in lpdwDataType */
  size_t status_len = 0, headers_len = 0;
  if ((status && !text_arg(call, status, &status_len)) || (headers && !text_arg(call, headers, &headers_len)))
    return FALSE;
  return isapi_send_header_text(call, status, status_len, headers, headers_len, NULL);
}

BOOL isapi_ssf_send_response_header_ex(isapi_call *call, LPVOID buf)
{
  HSE_SEND_HEADER_EX_INFO *hi = buf;
  if (!ih_isapi_readable(hi, sizeof *hi)) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  size_t status_len = 0, headers_len = 0;
  if ((hi->pszStatus && !text_arg(call, hi->pszStatus, &status_len)) ||
      (hi->pszHeader && !text_arg(call, hi->pszHeader, &headers_len)))
    return FALSE;
  /* fKeepConn is advisory (KB 332143: IIS 6 honoured garbage in it): the
   * connection decides from the client and the response framing. */
  return isapi_send_header_text(call, hi->pszStatus, bounded_len(status_len, hi->cchStatus), hi->pszHeader,
                                bounded_len(headers_len, hi->cchHeader), NULL);
}

/* SEND_URL_REDIRECT_RESP and SEND_URL: a 302 with Location (IIS 6 documents
 * both so, ms525014 / ms524477) and a short HTML body for old clients. */
BOOL isapi_ssf_redirect(isapi_call *call, LPVOID buf)
{
  const char *location = buf;
  size_t len;
  if (!text_arg(call, location, &len))
    return FALSE;
  if (len == 0 || strpbrk(location, "\r\n")) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  size_t body_cap = 6 * len + 256, text_cap = body_cap + len + 128;
  char *body = malloc(body_cap), *text = malloc(text_cap);
  BOOL ok = FALSE;
  if (body && text) {
    /* The URL goes into an HTML attribute: escape what would end it. */
    size_t b = (size_t)snprintf(body, body_cap, "<html><head><title>Object moved</title></head><body>"
                                                "<h1>Object moved</h1>This object may be found <a href=\"");
    for (size_t i = 0; i < len; i++) {
      char ch = location[i];
      const char *rep = ch == '"' ? "&quot;" : ch == '<' ? "&lt;" : ch == '>' ? "&gt;" : ch == '&' ? "&amp;" : NULL;
      size_t n = rep ? strlen(rep) : 1;
      memcpy(body + b, rep ? rep : &ch, n);
      b += n;
    }
    b += (size_t)snprintf(body + b, body_cap - b, "\">here</a>.</body></html>");
    int n = snprintf(text, text_cap, "Location: %s\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n\r\n",
                     location, b);
    char *all = n > 0 ? realloc(text, (size_t)n + b) : NULL;
    if (all) {
      text = all;
      memcpy(text + n, body, b);
      call->ecb.dwHttpStatusCode = 302;
      ok = isapi_send_header_text(call, "302 Object moved", 16, text, (size_t)n + b, NULL);
    } else {
      SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    }
  } else {
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
  }
  free(body);
  free(text);
  return ok;
}

/* ---- TRANSMIT_FILE (ms525816): head, file, tail; always asynchronous ---- */

BOOL isapi_ssf_transmit_file(isapi_call *call, LPVOID buf)
{
  HSE_TF_INFO *tf = buf;
  if (!ih_isapi_readable(tf, sizeof *tf)) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  if (!tf->hFile || tf->hFile == INVALID_HANDLE_VALUE) {
    SetLastError(ERROR_INVALID_HANDLE);
    return FALSE;
  }
  LARGE_INTEGER size;
  if (!GetFileSizeEx(tf->hFile, &size))
    return FALSE; /* not a file handle: GetFileSizeEx set the error */
  if ((uint64_t)tf->Offset > (uint64_t)size.QuadPart) {
    SetLastError(WSAEINVAL); /* an offset past the end fails (ms524981: error 10022) */
    return FALSE;
  }
  uint64_t length = tf->BytesToWrite ? tf->BytesToWrite : (uint64_t)size.QuadPart - tf->Offset;
  if (tf->Offset + length > (uint64_t)size.QuadPart)
    length = (uint64_t)size.QuadPart - tf->Offset;
  if ((tf->HeadLength && !ih_isapi_readable(tf->pHead, tf->HeadLength)) ||
      (tf->TailLength && !ih_isapi_readable(tf->pTail, tf->TailLength))) {
    isapi_call_misuse(call, MISUSE_BAD_POINTER, "TRANSMIT_FILE with an unreadable head or tail");
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  size_t status_len = 0;
  if ((tf->dwFlags & HSE_IO_SEND_HEADERS) && tf->pszStatusCode && !text_arg(call, tf->pszStatusCode, &status_len))
    return FALSE;

  isapi_step steps[3];
  size_t n = 0;
  if (tf->dwFlags & HSE_IO_SEND_HEADERS) {
    /* pHead is the header text of the response head we build from pszStatusCode. */
    steps[n++] = (isapi_step){ .kind = STEP_HEAD, .status = tf->pszStatusCode, .status_len = status_len,
                               .data = tf->pHead, .len = tf->pHead ? tf->HeadLength : 0 };
  } else if (tf->HeadLength) {
    steps[n++] = (isapi_step){ .kind = STEP_WRITE, .data = tf->pHead, .len = tf->HeadLength, .counts = TRUE };
  }
  steps[n++] = (isapi_step){ .kind = STEP_FILE, .file = tf->hFile, .offset = tf->Offset, .length = length,
                             .counts = TRUE };
  if (tf->TailLength)
    steps[n++] = (isapi_step){ .kind = STEP_WRITE, .data = tf->pTail, .len = tf->TailLength, .counts = TRUE };
  if (tf->dwFlags & HSE_IO_DISCONNECT_AFTER_SEND)
    ih_conn_ext_close_after(call->conn);
  /* pfnHseIO overrides the HSE_REQ_IO_COMPLETION callback for this call. */
  PFN_HSE_IO_COMPLETION fn = tf->pfnHseIO ? tf->pfnHseIO : call->io_completion;
  void *ctx = tf->pfnHseIO ? tf->pContext : (tf->pContext ? tf->pContext : call->io_context);
  return isapi_async_start(call, steps, n, fn, ctx);
}

/* ---- VECTOR_SEND (ms525867, ms525729): memory and file elements ---- */

BOOL isapi_ssf_vector_send(isapi_call *call, LPVOID buf)
{
  HSE_RESPONSE_VECTOR *v = buf;
  if (!ih_isapi_readable(v, sizeof *v) ||
      (v->nElementCount && !ih_isapi_readable(v->lpElementArray, v->nElementCount * sizeof *v->lpElementArray))) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  BOOL send_headers = (v->dwFlags & HSE_IO_SEND_HEADERS) != 0;
  /* Status and headers come with HSE_IO_SEND_HEADERS and only with it. */
  if (send_headers ? !v->pszHeaders : (v->pszStatus || v->pszHeaders)) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  BOOL async = (v->dwFlags & HSE_IO_ASYNC) != 0;
  if (async && !call->io_completion) {
    isapi_call_misuse(call, MISUSE_ASYNC_WITHOUT_CALLBACK,
                      "asynchronous VECTOR_SEND before HSE_REQ_IO_COMPLETION set a callback");
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  size_t status_len = 0, headers_len = 0;
  if (send_headers && ((v->pszStatus && !text_arg(call, v->pszStatus, &status_len)) ||
                       !text_arg(call, v->pszHeaders, &headers_len)))
    return FALSE;
  isapi_step *steps = calloc((size_t)v->nElementCount + 1, sizeof *steps);
  if (!steps) {
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return FALSE;
  }
  size_t n = 0;
  BOOL ok = TRUE;
  if (send_headers)
    steps[n++] = (isapi_step){ .kind = STEP_HEAD, .status = v->pszStatus, .status_len = status_len,
                               .data = v->pszHeaders, .len = headers_len };
  for (DWORD i = 0; i < v->nElementCount && ok; i++) {
    const HSE_VECTOR_ELEMENT *el = &v->lpElementArray[i];
    if (el->ElementType == HSE_VECTOR_ELEMENT_TYPE_MEMORY_BUFFER) {
      const char *p = (const char *)el->pvContext + el->cbOffset;
      if (el->cbSize > 0xffffffffu || !ih_isapi_readable(p, (size_t)el->cbSize)) {
        ok = FALSE;
        break;
      }
      steps[n++] = (isapi_step){ .kind = STEP_WRITE, .data = p, .len = (size_t)el->cbSize, .counts = TRUE };
    } else if (el->ElementType == HSE_VECTOR_ELEMENT_TYPE_FILE_HANDLE) {
      LARGE_INTEGER size;
      HANDLE f = el->pvContext;
      if (!f || f == INVALID_HANDLE_VALUE || !GetFileSizeEx(f, &size) || el->cbOffset > (ULONGLONG)size.QuadPart) {
        ok = FALSE;
        break;
      }
      /* cbSize 0: the rest of the file (as BytesToWrite 0 in TRANSMIT_FILE) */
      uint64_t rest = (uint64_t)size.QuadPart - el->cbOffset;
      uint64_t length = el->cbSize && el->cbSize < rest ? el->cbSize : rest;
      steps[n++] = (isapi_step){ .kind = STEP_FILE, .file = f, .offset = el->cbOffset, .length = length,
                                 .counts = TRUE };
    } else {
      ok = FALSE;
    }
  }
  if (!ok) {
    free(steps);
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  if (v->dwFlags & HSE_IO_DISCONNECT_AFTER_SEND)
    ih_conn_ext_close_after(call->conn);
  ok = async ? isapi_async_start(call, steps, n, call->io_completion, call->io_context)
             : isapi_sync_run(call, steps, n, NULL);
  free(steps);
  return ok;
}
