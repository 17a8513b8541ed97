/* Test extension for HSE_REQ_EXEC_URL, GET_EXEC_URL_STATUS and
 * SEND_CUSTOM_ERROR, driven by its query string (mode=...):
 *   wild          (as a wildcard map) hand the request on with a NULL URL and
 *                 HSE_EXEC_URL_IGNORE_CURRENT_INTERCEPTOR, unless the query
 *                 says mode=self (answer itself) or mode=loop (hand it on
 *                 WITHOUT ignoring the interceptor: runaway recursion)
 *   rewrite&to=U  run URL U (a file, another extension, a missing one)
 *   entity&to=U   run U as a POST with our own entity and a replaced header
 *   noheaders&to=U&len=N  send our own head (Content-Length N), then U's body
 *   recurse&d=N   EXEC_URL of ourselves with d=N+1 until refused
 *   unicode       EXEC_UNICODE_URL of /dötä.txt
 *   custom&async=0|1  SEND_CUSTOM_ERROR "404 Not Found"
 *   status        report the last child's GET_EXEC_URL_STATUS */
#include <stdio.h>
#include <stdlib.h>

#include "ih_test_dll.h"

static HSE_EXEC_URL_STATUS last_status;
static DWORD last_ssf_error;

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  strcpy(ver->lpszExtensionDesc, "IsapiHost test: exec");
  return TRUE;
}

static BOOL has(EXTENSION_CONTROL_BLOCK *ecb, const char *flag) { return strstr(ecb->lpszQueryString, flag) != NULL; }

/* The value of key (e.g. "to=") up to the next '&', URL-decoded for %2F,
 * %3F, %26, %3D (enough for the tests). */
static void arg(EXTENSION_CONTROL_BLOCK *ecb, const char *key, char *out, size_t cap)
{
  out[0] = '\0';
  const char *p = strstr(ecb->lpszQueryString, key);
  if (!p)
    return;
  p += strlen(key);
  size_t n = 0;
  while (*p && *p != '&' && n + 1 < cap) {
    if (p[0] == '%' && p[1] && p[2]) {
      char hex[3] = { p[1], p[2], 0 };
      out[n++] = (char)strtol(hex, NULL, 16);
      p += 3;
    } else {
      out[n++] = *p++;
    }
  }
  out[n] = '\0';
}

static BOOL ssf(EXTENSION_CONTROL_BLOCK *ecb, DWORD req, void *buf)
{
  return ecb->ServerSupportFunction(ecb->ConnID, req, buf, NULL, NULL);
}

static void respond_text(EXTENSION_CONTROL_BLOCK *ecb, const char *text)
{
  char headers[128];
  snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %u\r\n\r\n", (unsigned)strlen(text));
  ih_send_headers(ecb, "200 OK", headers, TRUE);
  ih_write(ecb, text);
}

/* Every EXEC_URL here completes through this: remember the child's status,
 * then end our session. */
static void WINAPI exec_done(EXTENSION_CONTROL_BLOCK *ecb, PVOID ctx, DWORD bytes, DWORD err)
{
  (void)bytes, (void)err;
  ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_GET_EXEC_URL_STATUS, &last_status, NULL, NULL);
  free(ctx);
  DWORD status = HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
}

typedef struct exec_req {
  HSE_EXEC_URL_INFO info;
  HSE_EXEC_URL_ENTITY_INFO entity;
  char url[1024];
  char headers[256];
  char body[64];
} exec_req;

/* Starts an EXEC_URL; on refusal answers with the error and returns its
 * status code for HttpExtensionProc. */
static DWORD exec(EXTENSION_CONTROL_BLOCK *ecb, exec_req *x, int depth)
{
  ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_IO_COMPLETION, (void *)exec_done, NULL, (DWORD *)x);
  if (ssf(ecb, HSE_REQ_EXEC_URL, &x->info))
    return HSE_STATUS_PENDING;
  last_ssf_error = GetLastError();
  free(x);
  char text[64];
  snprintf(text, sizeof text, "exec_refused=%lu\nat_depth=%d\n", last_ssf_error, depth);
  respond_text(ecb, text);
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  exec_req *x = calloc(1, sizeof *x);
  if (!x)
    return HSE_STATUS_ERROR;
  if (has(ecb, "mode=self")) {
    free(x);
    char text[512];
    snprintf(text, sizeof text, "wildcard answered %s (PATH_TRANSLATED %s)\n", ecb->lpszPathInfo,
             ecb->lpszPathTranslated);
    respond_text(ecb, text);
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  if (has(ecb, "mode=status")) {
    free(x);
    char text[128];
    snprintf(text, sizeof text, "status=%u\nsubstatus=%u\nwin32=%lu\n", last_status.uHttpStatusCode,
             last_status.uHttpSubStatus, last_status.dwWin32Error);
    respond_text(ecb, text);
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  if (has(ecb, "mode=custom")) {
    free(x);
    HSE_CUSTOM_ERROR_INFO ce = { "404 Not Found", 0, has(ecb, "async=1") };
    if (ce.fAsync)
      ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_IO_COMPLETION, (void *)exec_done, NULL, NULL);
    if (!ssf(ecb, HSE_REQ_SEND_CUSTOM_ERROR, &ce))
      return HSE_STATUS_ERROR;
    return ce.fAsync ? HSE_STATUS_PENDING : HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  if (has(ecb, "mode=rewrite") || has(ecb, "mode=entity") || has(ecb, "mode=noheaders")) {
    arg(ecb, "to=", x->url, sizeof x->url);
    x->info.pszUrl = x->url;
    if (has(ecb, "mode=entity")) {
      strcpy(x->body, "entity from the parent");
      x->entity.lpbData = x->body;
      x->entity.cbAvailable = (DWORD)strlen(x->body);
      x->info.pEntity = &x->entity;
      x->info.pszMethod = "POST";
      strcpy(x->headers, "Host: localhost\r\nUser-Agent: child-agent\r\nContent-Type: text/x-child\r\n");
      x->info.pszChildHeaders = x->headers;
    }
    if (has(ecb, "mode=noheaders")) {
      char len[16], headers[128];
      arg(ecb, "len=", len, sizeof len);
      snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %s\r\nX-Parent: yes\r\n\r\n", len);
      ih_send_headers(ecb, "200 OK", headers, TRUE);
      x->info.dwExecUrlFlags = HSE_EXEC_URL_NO_HEADERS;
    }
    return exec(ecb, x, 0);
  }
  if (has(ecb, "mode=unicode")) { /* EXEC_UNICODE_URL to a file with a non-ASCII name */
    static HSE_EXEC_UNICODE_URL_INFO info;
    static WCHAR url[] = L"/d\u00f6t\u00e4.txt";
    memset(&info, 0, sizeof info);
    info.pszUrl = url;
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_IO_COMPLETION, (void *)exec_done, NULL, (DWORD *)x);
    if (ssf(ecb, HSE_REQ_EXEC_UNICODE_URL, &info))
      return HSE_STATUS_PENDING;
    free(x);
    return HSE_STATUS_ERROR;
  }
  if (has(ecb, "mode=recurse")) {
    char d[16];
    arg(ecb, "d=", d, sizeof d);
    int depth = atoi(d);
    snprintf(x->url, sizeof x->url, "%s?mode=recurse&d=%d", ecb->lpszPathInfo, depth + 1);
    x->info.pszUrl = x->url;
    return exec(ecb, x, depth);
  }
  /* As a wildcard map: pass the request on unchanged (or loop on ourselves). */
  x->info.pszUrl = NULL;
  x->info.dwExecUrlFlags = has(ecb, "mode=loop") ? 0 : HSE_EXEC_URL_IGNORE_CURRENT_INTERCEPTOR;
  return exec(ecb, x, 0);
}
