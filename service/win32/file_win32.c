/* File-system operations of the platform table: open, read, list. Files are
 * opened for TransmitFile with sharing that lets editors replace them while
 * they are being served. */
#include <windows.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "file_win32.h"
#include "win32_util.h"

static enum ih_fs_status fs_status(DWORD err)
{
  switch (err) {
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
  case ERROR_INVALID_NAME:
  case ERROR_BAD_PATHNAME:
  case ERROR_DIRECTORY:
  case ERROR_FILENAME_EXCED_RANGE:
    return IH_FS_NOT_FOUND;
  case ERROR_ACCESS_DENIED:
  case ERROR_SHARING_VIOLATION:
    return IH_FS_DENIED;
  default:
    return IH_FS_ERROR;
  }
}

/* Characters no Windows file name may contain; '*' and '?' would also act as
 * wildcards in FindFirstFile. The URL canonicaliser lets them through (they
 * are valid in URLs), so the file layer refuses them. */
static bool has_invalid_name_chars(const char *path)
{
  return strpbrk(path, "<>\"|?*") != NULL;
}

enum ih_fs_status ih_win32_file_open(const char *path, void **file, ih_file_info *info)
{
  if (has_invalid_name_chars(path))
    return IH_FS_NOT_FOUND;
  wchar_t *w = ih_win32_path(path);
  if (!w)
    return IH_FS_NOT_FOUND;
  /* BACKUP_SEMANTICS lets the same call open directories, so one call tells
   * file from directory without a race between stat and open. */
  HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_SEQUENTIAL_SCAN, NULL);
  DWORD err = GetLastError();
  free(w);
  if (h == INVALID_HANDLE_VALUE)
    return fs_status(err);
  BY_HANDLE_FILE_INFORMATION fi;
  if (!GetFileInformationByHandle(h, &fi)) {
    err = GetLastError();
    CloseHandle(h);
    return fs_status(err);
  }
  info->is_dir = (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
  info->size = info->is_dir ? 0 : ((uint64_t)fi.nFileSizeHigh << 32 | fi.nFileSizeLow);
  info->mtime_unix = ih_win32_filetime_to_unix(fi.ftLastWriteTime);
  *file = h;
  return IH_FS_OK;
}

enum ih_fs_status ih_win32_file_read(void *file, uint64_t offset, char *buf, size_t len, size_t *got)
{
  OVERLAPPED ov = { 0 };
  ov.Offset = (DWORD)offset;
  ov.OffsetHigh = (DWORD)(offset >> 32);
  DWORD n = 0;
  if (len > 0x7fffffff)
    len = 0x7fffffff;
  if (!ReadFile((HANDLE)file, buf, (DWORD)len, &n, &ov) && GetLastError() != ERROR_HANDLE_EOF)
    return IH_FS_ERROR;
  *got = n;
  return IH_FS_OK;
}

void ih_win32_file_close(void *file) { CloseHandle((HANDLE)file); }

enum ih_fs_status ih_win32_dir_list(const char *path, ih_dir_entry_fn fn, void *arg)
{
  if (has_invalid_name_chars(path))
    return IH_FS_NOT_FOUND;
  wchar_t *w = ih_win32_path(path);
  if (!w)
    return IH_FS_NOT_FOUND;
  size_t n = wcslen(w);
  wchar_t *pattern = malloc((n + 3) * sizeof *pattern);
  if (!pattern) {
    free(w);
    return IH_FS_ERROR;
  }
  wmemcpy(pattern, w, n);
  if (n && pattern[n - 1] != L'\\')
    pattern[n++] = L'\\';
  pattern[n++] = L'*';
  pattern[n] = L'\0';
  free(w);
  WIN32_FIND_DATAW fd;
  HANDLE h = FindFirstFileW(pattern, &fd);
  DWORD err = GetLastError();
  free(pattern);
  if (h == INVALID_HANDLE_VALUE)
    return fs_status(err);
  do {
    if (!wcscmp(fd.cFileName, L".") || !wcscmp(fd.cFileName, L"..") ||
        (fd.dwFileAttributes & (FILE_ATTRIBUTE_HIDDEN | FILE_ATTRIBUTE_SYSTEM)))
      continue;
    char name[MAX_PATH * 4];
    if (!ih_win32_to_utf8(fd.cFileName, name, sizeof name))
      continue;
    bool is_dir = (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
    fn(arg, name, is_dir, (uint64_t)fd.nFileSizeHigh << 32 | fd.nFileSizeLow,
       ih_win32_filetime_to_unix(fd.ftLastWriteTime));
  } while (FindNextFileW(h, &fd));
  FindClose(h);
  return IH_FS_OK;
}
