/* File-system half of the platform table and the UTF-8/UTF-16 path helpers,
 * against the real (Wine or Windows) file system. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "file_win32.h"
#include "ih_test.h"
#include "win32_util.h"

static char root[MAX_PATH * 3];

static void write_file(const char *rel, const char *data)
{
  char path[MAX_PATH * 3];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  wchar_t *w = ih_win32_path(path);
  HANDLE h = CreateFileW(w, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  DWORD n;
  IH_CHECK(h != INVALID_HANDLE_VALUE);
  WriteFile(h, data, (DWORD)strlen(data), &n, NULL);
  CloseHandle(h);
  free(w);
}

static int listed;
static bool saw_sub, saw_txt;
static void on_entry(void *arg, const char *name, bool is_dir, uint64_t size, int64_t mtime)
{
  (void)arg;
  (void)mtime;
  listed++;
  if (!strcmp(name, "sub") && is_dir)
    saw_sub = true;
  if (!strcmp(name, "h\xc3\xa9llo.txt") && !is_dir && size == 5)
    saw_txt = true;
}

int main(void)
{
  wchar_t tmp[MAX_PATH];
  GetTempPathW(MAX_PATH, tmp);
  char tmp8[MAX_PATH * 3];
  ih_win32_to_utf8(tmp, tmp8, sizeof tmp8);
  snprintf(root, sizeof root, "%sih-files-%lu/a/b", tmp8, GetCurrentProcessId());

  IH_TEST("paths and directories");
  wchar_t *w = ih_win32_path("C:/x/y");
  IH_CHECK(w && !wcscmp(w, L"C:\\x\\y"));
  free(w);
  IH_CHECK(ih_win32_path("bad\xff") == NULL);
  wchar_t *wroot = ih_win32_path(root);
  IH_CHECK(ih_win32_mkdirs(wroot));
  IH_CHECK(ih_win32_mkdirs(wroot)); /* existing is fine */
  char sub[MAX_PATH * 3];
  snprintf(sub, sizeof sub, "%s/sub", root);
  wchar_t *wsub = ih_win32_path(sub);
  IH_CHECK(ih_win32_mkdirs(wsub));

  IH_TEST("open, read, stat");
  write_file("h\xc3\xa9llo.txt", "hello");
  char path[MAX_PATH * 3];
  snprintf(path, sizeof path, "%s/h\xc3\xa9llo.txt", root);
  void *f = NULL;
  ih_file_info info;
  IH_EQ_INT(ih_win32_file_open(path, &f, &info), IH_FS_OK);
  IH_EQ_INT(info.size, 5);
  IH_CHECK(!info.is_dir);
  int64_t now = (int64_t)time(NULL);
  IH_CHECK(info.mtime_unix > now - 3600 && info.mtime_unix < now + 3600);
  char buf[16];
  size_t got = 0;
  IH_EQ_INT(ih_win32_file_read(f, 1, buf, sizeof buf, &got), IH_FS_OK);
  IH_EQ_MEM(buf, got, "ello", 4);
  ih_win32_file_close(f);

  IH_EQ_INT(ih_win32_file_open(root, &f, &info), IH_FS_OK);
  IH_CHECK(info.is_dir);
  ih_win32_file_close(f);
  snprintf(path, sizeof path, "%s/missing.txt", root);
  IH_EQ_INT(ih_win32_file_open(path, &f, &info), IH_FS_NOT_FOUND);
  snprintf(path, sizeof path, "%s/nodir/missing.txt", root);
  IH_EQ_INT(ih_win32_file_open(path, &f, &info), IH_FS_NOT_FOUND);

  IH_TEST("wildcards and invalid name characters are refused");
  snprintf(path, sizeof path, "%s/h*llo.txt", root);
  IH_EQ_INT(ih_win32_file_open(path, &f, &info), IH_FS_NOT_FOUND);
  snprintf(path, sizeof path, "%s/h?llo.txt", root);
  IH_EQ_INT(ih_win32_file_open(path, &f, &info), IH_FS_NOT_FOUND);
  snprintf(path, sizeof path, "%s/*", root);
  IH_EQ_INT(ih_win32_dir_list(path, on_entry, NULL), IH_FS_NOT_FOUND);

  IH_TEST("directory listing");
  IH_EQ_INT(ih_win32_dir_list(root, on_entry, NULL), IH_FS_OK);
  IH_EQ_INT(listed, 2);
  IH_CHECK(saw_sub && saw_txt);
  snprintf(path, sizeof path, "%s/nodir", root);
  IH_EQ_INT(ih_win32_dir_list(path, on_entry, NULL), IH_FS_NOT_FOUND);
  free(wroot);
  free(wsub);
  return ih_test_finish();
}
