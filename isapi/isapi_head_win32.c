/* A DLL's response head from the status string and header text it passes
 * (see isapi_head_win32.h). SEND_RESPONSE_HEADER takes the status in
 * lpvBuffer and the header text in lpdwDataType (IIS 6 SDK ms525533),
 * SEND_RESPONSE_HEADER_EX the same pair with lengths (ms524709); DLLs
 * written for IIS pass both in several shapes, so they are parsed leniently
 * (isapi/shared/isapi_response.c, docs/compatibility.md). Below the
 * asynchronous operations, whose head step sends through it. */
#include <windows.h>
#include <httpext.h>
#include <stdlib.h>

#include "isapi/isapi_call_win32.h"
#include "isapi/isapi_head_win32.h"
#include "isapi/shared/isapi_response.h"

/* Status string and header text as DLLs pass them, parsed leniently:
 * "200 OK", "HTTP/1.1 200 OK", a bare "301", a body after the blank line,
 * a missing final CRLF (ih_isapi_parse_*). */
BOOL isapi_send_header_text(isapi_call *call, const char *status, size_t status_len, const char *headers,
                            size_t headers_len, const ih_ext_done *done)
{
  size_t cap = IH_ISAPI_HEADERS_OUT_MAX(headers_len);
  char *norm = malloc(cap);
  ih_isapi_header_info hi;
  if (!norm || !ih_isapi_parse_headers(headers ? headers : "", headers_len, norm, cap, &hi)) {
    free(norm);
    SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return FALSE;
  }
  /* The status argument wins; without one, a "Status:" line or a leading
   * "HTTP/1.x NNN" line in the header text; else 200. */
  char reason[128] = "";
  int code = status ? ih_isapi_parse_status(status, status_len, reason, sizeof reason) : -1;
  if (code < 0 && hi.status)
    code = ih_isapi_parse_status(hi.status_text.p, hi.status_text.n, reason, sizeof reason);
  if (code < 0) {
    code = 200;
    reason[0] = '\0';
  }
  call->responded = TRUE;
  int rc;
  if (call->no_headers) {
    /* HSE_EXEC_URL_NO_HEADERS: a child's structured head is dropped; a body
     * after its blank line still goes out (ms525511). */
    rc = ih_conn_ext_write(call->conn, hi.body.p ? hi.body.p : "", hi.body.n, done);
  } else {
    ih_ext_head head = { code, reason, norm, hi.out_len, hi.body.p ? hi.body.p : "", hi.body.n, hi.conn_close };
    rc = ih_conn_ext_send_head(call->conn, &head, done);
    if (rc == IH_EXT_OK)
      call->sent_status = code;
  }
  free(norm); /* the head is in the connection's buffer now */
  if (rc == IH_EXT_REFUSED)
    isapi_call_misuse(call, MISUSE_HEAD_TWICE, "a second response head for one request (the SDK allows one)");
  isapi_set_ext_error(rc);
  return rc == IH_EXT_OK;
}

