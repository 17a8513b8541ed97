/* Helpers shared by the Win32 files (see win32_util.h). */
#include "win32_util.h"

#include <stdlib.h>
#include <wchar.h>

wchar_t *ih_win32_path(const char *utf8)
{
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL, 0);
  if (n <= 0)
    return NULL;
  wchar_t *w = malloc((size_t)n * sizeof *w);
  if (!w)
    return NULL;
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, w, n);
  for (wchar_t *p = w; *p; p++)
    if (*p == L'/')
      *p = L'\\';
  return w;
}

BOOL ih_win32_to_utf8(const wchar_t *w, char *out, int cap)
{
  return WideCharToMultiByte(CP_UTF8, 0, w, -1, out, cap, NULL, NULL) > 0;
}

int64_t ih_win32_filetime_to_unix(FILETIME ft)
{
  ULARGE_INTEGER t = { .LowPart = ft.dwLowDateTime, .HighPart = ft.dwHighDateTime };
  return (int64_t)(t.QuadPart / 10000000ull) - 11644473600ll;
}

BOOL ih_win32_mkdirs(const wchar_t *dir)
{
  size_t len = wcslen(dir);
  wchar_t *copy = malloc((len + 1) * sizeof *copy);
  if (!copy)
    return FALSE;
  wmemcpy(copy, dir, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (copy[i] == L'\\' || copy[i] == L'\0') {
      wchar_t saved = copy[i];
      copy[i] = L'\0';
      /* skip "C:" and the empty root of "\\x" */
      if (!(i == 2 && copy[1] == L':'))
        CreateDirectoryW(copy, NULL);
      copy[i] = saved;
    }
  }
  DWORD attr = GetFileAttributesW(copy);
  free(copy);
  return attr != INVALID_FILE_ATTRIBUTES && (attr & FILE_ATTRIBUTE_DIRECTORY);
}
