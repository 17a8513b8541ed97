/* ServerSupportFunction handlers, one file per family, dispatched by
 * isapi_cb_server_support_function (isapi_ssf_win32.c). Each is called
 * inside a callback (the session entered), returns the DLL's BOOL and sets
 * the Win32 error on FALSE. docs/compatibility.md lists every code. */
#ifndef IH_ISAPI_SSF_WIN32_H
#define IH_ISAPI_SSF_WIN32_H

#include "isapi/isapi_call_win32.h"

/* isapi_ssf_win32.c: takes the process token GET_IMPERSONATION_TOKEN hands out. */
void isapi_ssf_init(void);

/* isapi_send_win32.c */
BOOL isapi_ssf_send_response_header(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type);
BOOL isapi_ssf_send_response_header_ex(isapi_call *call, LPVOID buf);
BOOL isapi_ssf_redirect(isapi_call *call, LPVOID buf);
BOOL isapi_ssf_transmit_file(isapi_call *call, LPVOID buf);
BOOL isapi_ssf_vector_send(isapi_call *call, LPVOID buf);

/* isapi_exec_win32.c: EXEC_URL, EXEC_UNICODE_URL, GET_EXEC_URL_STATUS, SEND_CUSTOM_ERROR */
void isapi_exec_configure(unsigned exec_depth);
BOOL isapi_ssf_exec_url(isapi_call *call, LPVOID buf);
BOOL isapi_ssf_exec_unicode_url(isapi_call *call, LPVOID buf);
BOOL isapi_ssf_get_exec_url_status(isapi_call *call, LPVOID buf);
BOOL isapi_ssf_send_custom_error(isapi_call *call, LPVOID buf);

/* isapi_map_win32.c: MAP_URL_TO_PATH, _EX, their Unicode forms, NORMALIZE_URL */
BOOL isapi_ssf_map_url_to_path(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type);
BOOL isapi_ssf_map_url_to_path_ex(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type);
BOOL isapi_ssf_map_unicode_url_to_path(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type);
BOOL isapi_ssf_map_unicode_url_to_path_ex(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type);
BOOL isapi_ssf_normalize_url(isapi_call *call, LPVOID buf);

#endif
