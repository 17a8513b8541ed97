/* Small helpers shared by the Win32 files: UTF-8 <-> UTF-16 paths and
 * FILETIME conversion. */
#ifndef IH_WIN32_UTIL_H
#define IH_WIN32_UTIL_H

#include <windows.h>
#include <stdint.h>

/* UTF-8 path to a newly allocated UTF-16 path with '/' turned into '\\'.
 * Returns NULL on invalid UTF-8 or allocation failure. free() the result. */
wchar_t *ih_win32_path(const char *utf8);
/* UTF-16 to UTF-8 into out (NUL-terminated); false if it does not fit. */
BOOL ih_win32_to_utf8(const wchar_t *w, char *out, int cap);
int64_t ih_win32_filetime_to_unix(FILETIME ft);
/* Creates dir and its parents (UTF-16); TRUE if it exists afterwards. */
BOOL ih_win32_mkdirs(const wchar_t *dir);

#endif
