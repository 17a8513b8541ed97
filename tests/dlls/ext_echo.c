/* Test extension driven by its query string, for the integration tests:
 *   rc=keep|success|error|zero|unknown  what HttpExtensionProc returns
 *   rc=pending     returns PENDING; a thread sends the response, then calls
 *                  DONE_WITH_SESSION twice (the second must fail)
 *   rc=raw         writes its own "HTTP/1.0 200 OK" head with WriteClient
 *   rc=silent      sends nothing, sets dwHttpStatusCode = 204
 *   rc=nocontent   a 204 head with a body after its blank line, then a WriteClient
 *                  body too (neither may reach the client: RFC 9110 6.4.1)
 *   rc=stale       uses the ConnID of the previous request (must fail)
 *   rc=legacy      SEND_RESPONSE_HEADER, NULL status, "Status:" line, body after the blank line
 *   rc=close       a Content-Length response whose headers say "Connection: close"
 *   rc=own_date    a response with its own Date and Server headers
 *   rc=crash       an access violation inside HttpExtensionProc
 * The body reports what the extension saw: method, PATH_INFO, query,
 * server variables, and the request body read with ReadClient. */
#include <stdio.h>
#include <stdlib.h>

#include "ih_test_dll.h"

static HCONN previous_conn;
static char done_twice[32] = "none"; /* result of the last pending request's two DONE calls */

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  strcpy(ver->lpszExtensionDesc, "IsapiHost test: echo");
  return TRUE;
}

static void var(EXTENSION_CONTROL_BLOCK *ecb, const char *name, char *out, size_t cap)
{
  DWORD size = (DWORD)cap;
  if (!ecb->GetServerVariable(ecb->ConnID, (LPSTR)name, out, &size))
    snprintf(out, cap, "<error %lu>", GetLastError());
}

static int query_is(EXTENSION_CONTROL_BLOCK *ecb, const char *rc)
{
  const char *q = strstr(ecb->lpszQueryString, "rc=");
  size_t n = strlen(rc);
  return q && strncmp(q + 3, rc, n) == 0 && (q[3 + n] == '\0' || q[3 + n] == '&');
}

/* Builds the report: everything the extension saw. */
static int report(EXTENSION_CONTROL_BLOCK *ecb, char *out, size_t cap)
{
  /* read the whole body: lpbData, then ReadClient until it returns 0 bytes */
  unsigned long long total = ecb->cbAvailable, sum = 0;
  for (DWORD i = 0; i < ecb->cbAvailable; i++)
    sum += ecb->lpbData[i];
  int nul_ok = ecb->lpbData[ecb->cbAvailable] == 0;
  char buf[8192];
  for (;;) {
    DWORD n = sizeof buf;
    if (!ecb->ReadClient(ecb->ConnID, buf, &n) || n == 0)
      break;
    total += n;
    for (DWORD i = 0; i < n; i++)
      sum += (unsigned char)buf[i];
  }
  char agent[256], host[256], server_port[32], url[1024], all_http[2048], missing[64], remote_user[300],
      auth_type[64], x_added[64], https[16], port_secure[16], remote_addr[64], remote_port[16];
  var(ecb, "HTTP_USER_AGENT", agent, sizeof agent);
  var(ecb, "SERVER_NAME", host, sizeof host);
  var(ecb, "SERVER_PORT", server_port, sizeof server_port);
  var(ecb, "URL", url, sizeof url);
  var(ecb, "ALL_HTTP", all_http, sizeof all_http);
  var(ecb, "HTTP_X_NOT_SENT", missing, sizeof missing);
  /* what ISAPI filters may have changed (tests/integration/test_filters.py) */
  var(ecb, "REMOTE_USER", remote_user, sizeof remote_user);
  var(ecb, "AUTH_TYPE", auth_type, sizeof auth_type);
  var(ecb, "HTTP_X_ADDED", x_added, sizeof x_added);
  /* how the client reached the server (docs/deployment.md: behind a proxy) */
  var(ecb, "HTTPS", https, sizeof https);
  var(ecb, "SERVER_PORT_SECURE", port_secure, sizeof port_secure);
  var(ecb, "REMOTE_ADDR", remote_addr, sizeof remote_addr);
  var(ecb, "REMOTE_PORT", remote_port, sizeof remote_port);
  DWORD tiny = 1;
  char small[1];
  BOOL small_ok = ecb->GetServerVariable(ecb->ConnID, "REQUEST_METHOD", small, &tiny);
  DWORD small_err = GetLastError();
  return snprintf(out, cap,
                  "method=%s\npath_info=%s\nquery=%s\ncontent_type=%s\ntotal_bytes=%lu\navailable=%lu\n"
                  "read=%llu\nsum=%llu\nnul_terminated=%d\nuser_agent=%s\nserver_name=%s\nserver_port=%s\n"
                  "url=%s\nmissing=%s\nsize_query=%d/%lu/%lu\ndone_twice=%s\nremote_user=%s\nauth_type=%s\n"
                  "x_added=%s\npath_translated=%s\nhttps=%s\nserver_port_secure=%s\nremote_addr=%s\n"
                  "remote_port=%s\n",
                  ecb->lpszMethod, ecb->lpszPathInfo, ecb->lpszQueryString, ecb->lpszContentType,
                  ecb->cbTotalBytes, ecb->cbAvailable, total, sum, nul_ok, agent, host, server_port, url, missing,
                  small_ok, small_err, tiny, done_twice, remote_user, auth_type, x_added, ecb->lpszPathTranslated,
                  https, port_secure, remote_addr, remote_port);
}

static BOOL respond(EXTENSION_CONTROL_BLOCK *ecb, const char *body, int n)
{
  char headers[128];
  snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n", n);
  if (!ih_send_headers(ecb, "200 OK", headers, TRUE))
    return FALSE;
  DWORD len = (DWORD)n;
  return ecb->WriteClient(ecb->ConnID, (void *)body, &len, HSE_IO_SYNC);
}

static DWORD WINAPI finish_later(LPVOID arg)
{
  EXTENSION_CONTROL_BLOCK *ecb = arg;
  Sleep(20); /* let HttpExtensionProc return PENDING first */
  char body[4096];
  int n = report(ecb, body, sizeof body);
  respond(ecb, body, n);
  DWORD status = HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  HCONN conn = ecb->ConnID;
  /* The ECB is gone once the session is done: keep what the second call needs. */
  BOOL(WINAPI * ssf)(HCONN, DWORD, LPVOID, LPDWORD, LPDWORD) = ecb->ServerSupportFunction;
  BOOL first = ssf(conn, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL);
  BOOL second = ssf(conn, HSE_REQ_DONE_WITH_SESSION, &status, NULL, NULL); /* must be refused */
  snprintf(done_twice, sizeof done_twice, "%d/%d/%lu", first, second, GetLastError());
  return 0;
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  if (query_is(ecb, "stale")) {
    DWORD n = 5;
    BOOL ok = previous_conn && ecb->WriteClient(previous_conn, "stale", &n, HSE_IO_SYNC);
    DWORD err = GetLastError();
    char body[64];
    int len = snprintf(body, sizeof body, "stale_write=%d/%lu\n", ok, err);
    respond(ecb, body, len);
    previous_conn = ecb->ConnID;
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  previous_conn = ecb->ConnID;
  if (query_is(ecb, "crash")) {
    ih_test_fault(16);
    return HSE_STATUS_SUCCESS;
  }
  if (query_is(ecb, "legacy")) {
    char headers[] = "Status: 201 Created\r\nContent-Type: text/plain\r\n\r\nbody after the blank line";
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER, NULL, NULL, (LPDWORD)headers);
    return HSE_STATUS_SUCCESS;
  }
  if (query_is(ecb, "close")) {
    ih_send_headers(ecb, "200 OK", "Content-Length: 2\r\nConnection: close\r\n\r\n", TRUE);
    ih_write(ecb, "ok");
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  if (query_is(ecb, "own_date")) {
    ih_send_headers(ecb, "200 OK",
                    "Date: Tue, 01 Jan 2030 00:00:00 GMT\r\nServer: EchoServer/2.0\r\nContent-Length: 2\r\n\r\n", TRUE);
    ih_write(ecb, "ok");
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  if (query_is(ecb, "pending")) {
    HANDLE t = CreateThread(NULL, 0, finish_later, ecb, 0, NULL);
    if (!t)
      return HSE_STATUS_ERROR;
    CloseHandle(t);
    return HSE_STATUS_PENDING;
  }
  if (query_is(ecb, "nocontent")) {
    ih_send_headers(ecb, "204 No Content", "X-Kind: bodiless\r\n\r\nin-head body", TRUE);
    ih_write(ecb, "written body");
    return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
  }
  if (query_is(ecb, "silent")) {
    ecb->dwHttpStatusCode = 204;
    return HSE_STATUS_SUCCESS;
  }
  char body[4096];
  int n = report(ecb, body, sizeof body);
  if (query_is(ecb, "raw")) {
    char all[4300];
    DWORD len = (DWORD)snprintf(all, sizeof all, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n%s", body);
    ecb->WriteClient(ecb->ConnID, all, &len, HSE_IO_SYNC);
    return HSE_STATUS_SUCCESS;
  }
  if (!respond(ecb, body, n))
    return HSE_STATUS_ERROR;
  if (query_is(ecb, "success"))
    return HSE_STATUS_SUCCESS;
  if (query_is(ecb, "error"))
    return HSE_STATUS_ERROR;
  if (query_is(ecb, "zero"))
    return 0;
  if (query_is(ecb, "unknown"))
    return 77;
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}
