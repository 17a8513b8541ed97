/* Background log writer (see logwriter_win32.h). */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_log.h"
#include "core/server_log.h"
#include "core/w3c_log.h"
#include "ih_version.h"
#include "logwriter_win32.h"
#include "win32_util.h"

/* A queued line carries a copy of its log directory, not the site: the
 * site belongs to a configuration generation, which a reload may free
 * before the writer gets to the line. */
typedef struct log_entry {
  struct log_entry *next;
  const char *dir; /* NULL: server log; else the access log's directory, within data */
  enum ih_log_format format; /* of an access-log line */
  int64_t time;
  size_t len;
  char data[]; /* the line, then dir and its NUL */
} log_entry;

/* One per log directory and format, whichever sites and generations write
 * there: a W3C and a JSON log in one directory are two files (u_ex*.log,
 * u_ex*.json), and a reload that changes a site's format goes on in the
 * other one. */
typedef struct site_log {
  char *dir;
  enum ih_log_format format;
  HANDLE file;
  int64_t day; /* start of the UTC day the open file covers */
} site_log;

#define WAKE_BATCH 256      /* access-log lines queued before the writer is woken */
#define FLUSH_INTERVAL_MS 250 /* otherwise the writer wakes on its own this often */

static SRWLOCK queue_lock = SRWLOCK_INIT;
static CONDITION_VARIABLE queue_cv;
static log_entry *queue_head, *queue_tail;
static unsigned queued;
static BOOL stopping;
/* For ih_logwriter_flush, under queue_lock: lines queued and lines written
 * since start, and whether the writer thread is there to write them. */
static CONDITION_VARIABLE written_cv = CONDITION_VARIABLE_INIT;
static unsigned long long lines_queued, lines_written;
static BOOL writer_running;
static HANDLE writer_thread;
static HANDLE server_log_file = INVALID_HANDLE_VALUE;
static site_log *site_logs; /* grows with the log directories seen */
static size_t site_log_cap;
/* Lines bound for the same file are coalesced into one WriteFile: under
 * Wine each write is a wineserver round trip, the server's real bottleneck. */
static char pending[64 * 1024];
static size_t pending_len;
static HANDLE pending_file = INVALID_HANDLE_VALUE;
static size_t site_log_count;
static BOOL write_error_reported;

static HANDLE open_append(const char *dir, const char *name)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  wchar_t *wdir = ih_win32_path(dir);
  wchar_t *wpath = ih_win32_path(path);
  HANDLE h = INVALID_HANDLE_VALUE;
  if (wdir && wpath && ih_win32_mkdirs(wdir))
    h = CreateFileW(wpath, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                    OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE && !write_error_reported) {
    write_error_reported = TRUE;
    fprintf(stderr, "IH%04d cannot open log file %s (Win32 error %lu)\n", IH_EV_LOG_WRITE_FAILED, path,
            GetLastError());
  }
  free(wdir);
  free(wpath);
  return h;
}

static void write_all(HANDLE h, const char *data, size_t len)
{
  DWORD n;
  if (h != INVALID_HANDLE_VALUE)
    WriteFile(h, data, (DWORD)len, &n, NULL);
}

static void flush_pending(void)
{
  if (pending_len)
    write_all(pending_file, pending, pending_len);
  pending_len = 0;
  pending_file = INVALID_HANDLE_VALUE;
}

/* Appends to the coalescing buffer for file h, writing out what was there
 * first if it belongs to another file or the buffer is full. */
static void write_coalesced(HANDLE h, const char *data, size_t len)
{
  if (h == INVALID_HANDLE_VALUE)
    return;
  if (h != pending_file || pending_len + len > sizeof pending)
    flush_pending();
  if (len > sizeof pending) {
    write_all(h, data, len);
    return;
  }
  pending_file = h;
  memcpy(pending + pending_len, data, len);
  pending_len += len;
}

static site_log *site_log_for(const char *dir, enum ih_log_format format)
{
  for (size_t i = 0; i < site_log_count; i++)
    if (site_logs[i].format == format && strcmp(site_logs[i].dir, dir) == 0)
      return &site_logs[i];
  if (site_log_count == site_log_cap) {
    size_t cap = site_log_cap ? 2 * site_log_cap : 16;
    site_log *grown = realloc(site_logs, cap * sizeof *grown);
    if (!grown)
      return NULL;
    site_logs = grown;
    site_log_cap = cap;
  }
  char *copy = _strdup(dir);
  if (!copy)
    return NULL;
  site_log *sl = &site_logs[site_log_count++];
  sl->dir = copy;
  sl->format = format;
  sl->file = INVALID_HANDLE_VALUE;
  sl->day = -1;
  return sl;
}

/* Daily rollover: the file is named after the UTC day of the line. A W3C
 * file starts with its #Software/#Version/#Date/#Fields header; a JSON
 * file has none (every line says what its fields are). */
static void write_access(const log_entry *e)
{
  site_log *sl = site_log_for(e->dir, e->format);
  if (!sl)
    return;
  int64_t day = ih_w3c_day_start(e->time);
  if (day != sl->day || sl->file == INVALID_HANDLE_VALUE) {
    flush_pending(); /* nothing buffered may outlive the handle it is for */
    if (sl->file != INVALID_HANDLE_VALUE)
      CloseHandle(sl->file);
    char name[64];
    if (sl->format == IH_LOG_FORMAT_JSON)
      ih_json_file_name(e->time, name, sizeof name);
    else
      ih_w3c_file_name(e->time, name, sizeof name);
    sl->file = open_append(sl->dir, name);
    sl->day = day;
    LARGE_INTEGER size = { 0 };
    if (sl->format == IH_LOG_FORMAT_W3C && sl->file != INVALID_HANDLE_VALUE && GetFileSizeEx(sl->file, &size) && size.QuadPart == 0) {
      char header[512];
      size_t n = ih_w3c_format_header(e->time, IH_SERVER_SOFTWARE, header, sizeof header);
      write_coalesced(sl->file, header, n);
    }
  }
  write_coalesced(sl->file, e->data, e->len);
}

static DWORD WINAPI writer_main(LPVOID arg)
{
  (void)arg;
  for (;;) {
    AcquireSRWLockExclusive(&queue_lock);
    /* Woken for a batch, a server log line or stop; else every interval. */
    while (!queue_head && !stopping)
      SleepConditionVariableSRW(&queue_cv, &queue_lock, FLUSH_INTERVAL_MS, 0);
    log_entry *batch = queue_head;
    queue_head = queue_tail = NULL;
    queued = 0;
    BOOL done = stopping && !batch;
    if (done)
      writer_running = FALSE;
    ReleaseSRWLockExclusive(&queue_lock);
    if (done) {
      WakeAllConditionVariable(&written_cv);
      break;
    }
    unsigned long long count = 0;
    while (batch) {
      log_entry *next = batch->next;
      if (batch->dir)
        write_access(batch);
      else
        write_coalesced(server_log_file, batch->data, batch->len);
      free(batch);
      batch = next;
      count++;
    }
    flush_pending(); /* a batch is on disk before the writer sleeps again */
    AcquireSRWLockExclusive(&queue_lock);
    lines_written += count;
    ReleaseSRWLockExclusive(&queue_lock);
    WakeAllConditionVariable(&written_cv);
  }
  return 0;
}

static void enqueue(const char *dir, enum ih_log_format format, int64_t time, const char *line, size_t len)
{
  size_t dir_size = dir ? strlen(dir) + 1 : 0;
  log_entry *e = malloc(sizeof *e + len + dir_size);
  if (!e)
    return;
  e->next = NULL;
  e->format = format;
  e->time = time;
  e->len = len;
  memcpy(e->data, line, len);
  e->dir = NULL;
  if (dir) {
    memcpy(e->data + len, dir, dir_size);
    e->dir = e->data + len;
  }
  AcquireSRWLockExclusive(&queue_lock);
  if (queue_tail)
    queue_tail->next = e;
  else
    queue_head = e;
  queue_tail = e;
  lines_queued++;
  /* Access lines are batched so the writer is not woken for every request;
   * server log lines (errors, start, stop) are written at once. */
  BOOL wake = !dir || ++queued >= WAKE_BATCH;
  ReleaseSRWLockExclusive(&queue_lock);
  if (wake)
    WakeConditionVariable(&queue_cv);
}

void ih_logwriter_server_line(void *ctx, enum ih_log_level level, const char *line, size_t len)
{
  (void)ctx;
  (void)level;
  fwrite(line, 1, len, stderr);
  fflush(stderr);
  enqueue(NULL, IH_LOG_FORMAT_W3C, 0, line, len);
}

void ih_logwriter_access_line(const ih_site *site, int64_t unix_time, const char *line, size_t len)
{
  enqueue(site->log_dir, site->log_format, unix_time, line, len);
}

void ih_logwriter_access_line_as(const ih_site *site, enum ih_log_format format, int64_t unix_time, const char *line,
                                 size_t len)
{
  enqueue(site->log_dir, format, unix_time, line, len);
}

int ih_logwriter_start(const char *log_dir)
{
  InitializeConditionVariable(&queue_cv);
  server_log_file = open_append(log_dir, "server.log");
  if (server_log_file == INVALID_HANDLE_VALUE)
    return -1;
  AcquireSRWLockExclusive(&queue_lock);
  writer_running = TRUE;
  ReleaseSRWLockExclusive(&queue_lock);
  writer_thread = CreateThread(NULL, 0, writer_main, NULL, 0, NULL);
  if (!writer_thread) {
    writer_running = FALSE;
    fprintf(stderr, "isapihost: cannot start the log writer thread (Win32 error %lu)\n", GetLastError());
    return -1;
  }
  ih_log_set_sink(ih_logwriter_server_line, NULL);
  return 0;
}

BOOL ih_logwriter_flush(DWORD timeout_ms)
{
  ULONGLONG deadline = GetTickCount64() + timeout_ms;
  AcquireSRWLockExclusive(&queue_lock);
  unsigned long long target = lines_queued;
  BOOL woken = queue_head != NULL;
  ReleaseSRWLockExclusive(&queue_lock);
  if (woken)
    WakeConditionVariable(&queue_cv); /* access lines wait for a batch otherwise */
  AcquireSRWLockExclusive(&queue_lock);
  while (lines_written < target && writer_running) {
    ULONGLONG now = GetTickCount64();
    if (now >= deadline)
      break;
    SleepConditionVariableSRW(&written_cv, &queue_lock, (DWORD)(deadline - now), 0);
  }
  BOOL written = lines_written >= target;
  ReleaseSRWLockExclusive(&queue_lock);
  return written;
}

void ih_logwriter_stop(void)
{
  if (!writer_thread)
    return;
  AcquireSRWLockExclusive(&queue_lock);
  stopping = TRUE;
  ReleaseSRWLockExclusive(&queue_lock);
  WakeConditionVariable(&queue_cv);
  WaitForSingleObject(writer_thread, INFINITE);
  CloseHandle(writer_thread);
  writer_thread = NULL;
  stopping = FALSE; /* the writer may be started again (tests, reload) */
  ih_log_set_sink(NULL, NULL);
  for (size_t i = 0; i < site_log_count; i++) {
    if (site_logs[i].file != INVALID_HANDLE_VALUE)
      CloseHandle(site_logs[i].file);
    free(site_logs[i].dir);
  }
  free(site_logs);
  site_logs = NULL;
  site_log_count = site_log_cap = 0;
  if (server_log_file != INVALID_HANDLE_VALUE)
    CloseHandle(server_log_file);
  server_log_file = INVALID_HANDLE_VALUE;
}
