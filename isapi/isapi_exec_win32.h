/* EXEC_URL, EXEC_UNICODE_URL, GET_EXEC_URL_STATUS and SEND_CUSTOM_ERROR
 * (isapi_exec_win32.c), dispatched by isapi_ssf_win32.c like the other
 * families; and the end of a child, which the call object reports through
 * isapi_call_hooks.child_ended. Win32 only. */
#ifndef IH_ISAPI_EXEC_WIN32_H
#define IH_ISAPI_EXEC_WIN32_H

#include "isapi/isapi_call_win32.h"

/* isapi_exec_depth: how deep EXEC_URL children may nest. */
void isapi_exec_configure(unsigned exec_depth);

BOOL isapi_ssf_exec_url(isapi_call *call, LPVOID buf);
BOOL isapi_ssf_exec_unicode_url(isapi_call *call, LPVOID buf);
BOOL isapi_ssf_get_exec_url_status(isapi_call *call, LPVOID buf);
BOOL isapi_ssf_send_custom_error(isapi_call *call, LPVOID buf);

/* A child session ended: its response is complete; the parent's EXEC_URL
 * completes with the child's status. The host registers it as
 * isapi_call_hooks.child_ended. */
void isapi_exec_child_ended(isapi_call *child);

#endif
