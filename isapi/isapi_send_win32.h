/* ServerSupportFunction codes that produce a response (isapi_send_win32.c),
 * dispatched by isapi_ssf_win32.c. Each is called inside a callback (the
 * session entered), returns the DLL's BOOL and sets the Win32 error on
 * FALSE. Win32 only. */
#ifndef IH_ISAPI_SEND_WIN32_H
#define IH_ISAPI_SEND_WIN32_H

#include "isapi/isapi_call_win32.h"

BOOL isapi_ssf_send_response_header(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type);
BOOL isapi_ssf_send_response_header_ex(isapi_call *call, LPVOID buf);
BOOL isapi_ssf_redirect(isapi_call *call, LPVOID buf);
BOOL isapi_ssf_transmit_file(isapi_call *call, LPVOID buf);
BOOL isapi_ssf_vector_send(isapi_call *call, LPVOID buf);

#endif
