/* A DLL's response head, from the status string and header text it passes
 * (SEND_RESPONSE_HEADER and _EX, redirects, the heads of TRANSMIT_FILE and
 * VECTOR_SEND, the host's own 503). Below the asynchronous operations,
 * whose head step sends through it. Win32 only. */
#ifndef IH_ISAPI_HEAD_WIN32_H
#define IH_ISAPI_HEAD_WIN32_H

#include "isapi/isapi_call_win32.h"

/* Parses status and headers leniently and hands the head to the connection
 * (done: NULL for synchronous). FALSE with the Win32 error set. */
BOOL isapi_send_header_text(isapi_call *call, const char *status, size_t status_len, const char *headers,
                            size_t headers_len, const ih_ext_done *done);

#endif
