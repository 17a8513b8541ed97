/* The background log writer: server log lines, W3C headers written once per
 * new file, daily rollover by the line's UTC day, everything flushed by stop. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server_log.h"
#include "ih_test.h"
#include "logwriter_win32.h"
#include "win32_util.h"

static size_t read_file(const char *path, char *buf, size_t cap)
{
  wchar_t *w = ih_win32_path(path);
  HANDLE h = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
  free(w);
  if (h == INVALID_HANDLE_VALUE)
    return 0;
  DWORD n = 0;
  ReadFile(h, buf, (DWORD)cap - 1, &n, NULL);
  CloseHandle(h);
  buf[n] = '\0';
  return n;
}

/* Deletes dir and everything under it (the test's own files only). */
static void remove_tree(const char *dir)
{
  char pattern[MAX_PATH * 3];
  snprintf(pattern, sizeof pattern, "%s/*", dir);
  wchar_t *w = ih_win32_path(pattern);
  WIN32_FIND_DATAW fd;
  HANDLE h = FindFirstFileW(w, &fd);
  free(w);
  if (h != INVALID_HANDLE_VALUE) {
    do {
      if (!wcscmp(fd.cFileName, L".") || !wcscmp(fd.cFileName, L".."))
        continue;
      char name[MAX_PATH * 3], child[MAX_PATH * 6];
      ih_win32_to_utf8(fd.cFileName, name, sizeof name);
      snprintf(child, sizeof child, "%s/%s", dir, name);
      if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
        remove_tree(child);
      } else {
        wchar_t *wc = ih_win32_path(child);
        DeleteFileW(wc);
        free(wc);
      }
    } while (FindNextFileW(h, &fd));
    FindClose(h);
  }
  w = ih_win32_path(dir);
  RemoveDirectoryW(w);
  free(w);
}

static int count(const char *hay, const char *needle)
{
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

int main(void)
{
  wchar_t tmp[MAX_PATH];
  GetTempPathW(MAX_PATH, tmp);
  char tmp8[MAX_PATH * 3], dir[MAX_PATH * 3], site_dir[MAX_PATH * 3];
  ih_win32_to_utf8(tmp, tmp8, sizeof tmp8);
  /* Unique per run: Wine reuses process IDs once its wineserver restarts,
   * and an earlier run's files would double every count. */
  LARGE_INTEGER now;
  QueryPerformanceCounter(&now);
  snprintf(dir, sizeof dir, "%sih-logs-%lu-%llx", tmp8, GetCurrentProcessId(), (unsigned long long)now.QuadPart);
  snprintf(site_dir, sizeof site_dir, "%s/W3SVC7", dir);

  IH_TEST("start creates the directory and the server log");
  IH_EQ_INT(ih_logwriter_start(dir), 0);
  ih_log(IH_LOG_INFO, IH_EV_STARTING, "hello %d", 42);
  ih_log(IH_LOG_DEBUG, IH_EV_IDLE_TIMEOUT, "not written at the default level");

  ih_site site = { .name = "s", .id = 7, .log_enabled = true, .log_dir = site_dir };
  int64_t day1 = 1763683200; /* 2025-11-21 00:00:00 UTC */
  for (int i = 0; i < 3; i++)
    ih_logwriter_access_line(&site, day1 + 60 * i, "line-day1\r\n", 11);
  ih_logwriter_access_line(&site, day1 + 86400 + 5, "line-day2\r\n", 11);
  ih_logwriter_stop();

  IH_TEST("server log");
  char buf[8192], path[MAX_PATH * 3];
  snprintf(path, sizeof path, "%s/server.log", dir);
  read_file(path, buf, sizeof buf);
  IH_CHECK(strstr(buf, " INFO IH1001 hello 42\n") != NULL);
  IH_CHECK(strstr(buf, "not written") == NULL);

  IH_TEST("daily rollover with one header per file");
  snprintf(path, sizeof path, "%s/u_ex251121.log", site_dir);
  read_file(path, buf, sizeof buf);
  IH_EQ_INT(count(buf, "#Fields: "), 1);
  IH_EQ_INT(count(buf, "line-day1"), 3);
  IH_EQ_INT(count(buf, "line-day2"), 0);
  snprintf(path, sizeof path, "%s/u_ex251122.log", site_dir);
  read_file(path, buf, sizeof buf);
  IH_EQ_INT(count(buf, "#Fields: "), 1);
  IH_EQ_INT(count(buf, "line-day2"), 1);

  IH_TEST("appending to an existing file adds no second header");
  IH_EQ_INT(ih_logwriter_start(dir), 0);
  ih_logwriter_access_line(&site, day1 + 600, "line-again\r\n", 12);
  ih_logwriter_stop();
  snprintf(path, sizeof path, "%s/u_ex251121.log", site_dir);
  read_file(path, buf, sizeof buf);
  IH_EQ_INT(count(buf, "#Fields: "), 1);
  IH_EQ_INT(count(buf, "line-again"), 1);

  IH_TEST("a line outlives its site: 300 reloads' copies of one site share one file");
  IH_EQ_INT(ih_logwriter_start(dir), 0);
  int64_t day3 = day1 + 2 * 86400;
  for (int i = 0; i < 300; i++) {
    /* Each reload's configuration has its own site and strings; it may be
     * freed before the writer gets to the line. */
    ih_site *gen_site = calloc(1, sizeof *gen_site);
    gen_site->log_dir = _strdup(site_dir);
    ih_logwriter_access_line(gen_site, day3 + i, "line-reloaded\r\n", 15);
    memset(gen_site->log_dir, 'x', strlen(gen_site->log_dir));
    free(gen_site->log_dir);
    free(gen_site);
  }
  ih_logwriter_stop();
  snprintf(path, sizeof path, "%s/u_ex251123.log", site_dir);
  read_file(path, buf, sizeof buf);
  IH_EQ_INT(count(buf, "#Fields: "), 1);
  IH_EQ_INT(count(buf, "line-reloaded"), 300);

  IH_TEST("more log directories than the table starts with");
  IH_EQ_INT(ih_logwriter_start(dir), 0);
  enum { DIRS = 40 };
  for (int i = 0; i < DIRS; i++) {
    char many[MAX_PATH * 3];
    snprintf(many, sizeof many, "%s/many%02d", dir, i);
    ih_site one = { .name = "m", .id = 100 + (unsigned)i, .log_enabled = true, .log_dir = many };
    ih_logwriter_access_line(&one, day1, "line-many\r\n", 11);
  }
  ih_logwriter_stop();
  int written = 0;
  for (int i = 0; i < DIRS; i++) {
    snprintf(path, sizeof path, "%s/many%02d/u_ex251121.log", dir, i);
    read_file(path, buf, sizeof buf);
    written += count(buf, "line-many");
  }
  IH_EQ_INT(written, DIRS);
  remove_tree(dir);
  return ih_test_finish();
}
