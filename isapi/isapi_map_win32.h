/* MAP_URL_TO_PATH, _EX, their Unicode forms and NORMALIZE_URL
 * (isapi_map_win32.c), dispatched by isapi_ssf_win32.c. Win32 only. */
#ifndef IH_ISAPI_MAP_WIN32_H
#define IH_ISAPI_MAP_WIN32_H

#include "isapi/isapi_call_win32.h"

BOOL isapi_ssf_map_url_to_path(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type);
BOOL isapi_ssf_map_url_to_path_ex(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type);
BOOL isapi_ssf_map_unicode_url_to_path(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type);
BOOL isapi_ssf_map_unicode_url_to_path_ex(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type);
BOOL isapi_ssf_normalize_url(isapi_call *call, LPVOID buf);

#endif
