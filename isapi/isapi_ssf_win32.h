/* ServerSupportFunction: the entry the host puts in every ECB, and the
 * dispatcher behind it (isapi_ssf_win32.c), which hands each code to its
 * family's file (isapi_send_win32.h, isapi_exec_win32.h,
 * isapi_map_win32.h) or answers it itself. docs/compatibility.md lists
 * every code. Win32 only. */
#ifndef IH_ISAPI_SSF_WIN32_H
#define IH_ISAPI_SSF_WIN32_H

#include <windows.h>
#include <httpext.h>

/* Takes the process token GET_IMPERSONATION_TOKEN hands out. */
void isapi_ssf_init(void);

/* EXTENSION_CONTROL_BLOCK.ServerSupportFunction. */
BOOL WINAPI isapi_cb_server_support_function(HCONN hconn, DWORD req, LPVOID buf, LPDWORD size, LPDWORD type);

#endif
