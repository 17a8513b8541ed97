/* The ECB's data callbacks (isapi_ecb_win32.c); the host points each new
 * ECB at them when the call starts. Win32 only. */
#ifndef IH_ISAPI_ECB_WIN32_H
#define IH_ISAPI_ECB_WIN32_H

#include <windows.h>
#include <httpext.h>

BOOL WINAPI isapi_cb_get_server_variable(HCONN hconn, LPSTR name, LPVOID buf, LPDWORD size);
BOOL WINAPI isapi_cb_write_client(HCONN hconn, LPVOID buf, LPDWORD bytes, DWORD flags);
BOOL WINAPI isapi_cb_read_client(HCONN hconn, LPVOID buf, LPDWORD size);

#endif
