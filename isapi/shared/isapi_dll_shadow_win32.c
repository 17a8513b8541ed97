/* Shadow copies of ISAPI DLLs (see isapi_dll_shadow_win32.h).
 *
 * One table per process, behind one lock: the loader's threads add to it
 * (ih_dll_shadow_prepare), the worker's reader thread checks it
 * (ih_dll_shadow_changed). The copying itself runs outside the lock, so a
 * large DLL being copied does not hold up the reader. */
#include "isapi/shared/isapi_dll_shadow_win32.h"

#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "core/server_log.h"
#include "isapi/shared/isapi_dll_shadow.h"
#include "win32_util.h"

#define SHADOW_ROOT_NAME L"isapihost-shadow"
#define DIR_CAP 1024 /* UTF-16 units: %TEMP% and the directory's own name */

/* One DLL copied in this process. */
typedef struct shadow_dll {
  wchar_t *original_w; /* as configured, in Windows form: what is compared and checked */
  char *original;      /* as configured (UTF-8): what is reported */
  char *copy;          /* the copy's path (UTF-8): what is loaded */
  ih_dll_watch watch;
} shadow_dll;

static struct {
  SRWLOCK lock;
  bool on;
  wchar_t dir[DIR_CAP];
  shadow_dll *dlls;
  size_t count, cap;
  unsigned next_index; /* the per-DLL subdirectories: 1, 2, ... */
} sh = { .lock = SRWLOCK_INIT };

static wchar_t *join(const wchar_t *dir, const wchar_t *name)
{
  size_t a = wcslen(dir), b = wcslen(name);
  wchar_t *p = malloc((a + b + 2) * sizeof *p);
  if (!p)
    return NULL;
  memcpy(p, dir, a * sizeof *p);
  p[a] = L'\\';
  memcpy(p + a + 1, name, (b + 1) * sizeof *p);
  return p;
}

/* Deletes dir and everything in it; true when dir is gone. A link to a
 * directory is removed, never followed. Read-only files (CopyFile copies
 * the original's attributes) are made writable first. */
static bool remove_tree(const wchar_t *dir)
{
  bool ok = true;
  wchar_t *pattern = join(dir, L"*");
  if (!pattern)
    return false;
  WIN32_FIND_DATAW fd;
  HANDLE h = FindFirstFileW(pattern, &fd);
  free(pattern);
  if (h != INVALID_HANDLE_VALUE) {
    do {
      if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0)
        continue;
      wchar_t *child = join(dir, fd.cFileName);
      if (!child) {
        ok = false;
        continue;
      }
      if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) && !(fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)) {
        ok = remove_tree(child) && ok;
      } else if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
        ok = RemoveDirectoryW(child) && ok;
      } else {
        if (fd.dwFileAttributes & FILE_ATTRIBUTE_READONLY)
          SetFileAttributesW(child, FILE_ATTRIBUTE_NORMAL);
        ok = DeleteFileW(child) && ok;
      }
      free(child);
    } while (FindNextFileW(h, &fd));
    FindClose(h);
  }
  return RemoveDirectoryW(dir) && ok;
}

/* Whether process pid is gone. A process this account may not open
 * (ERROR_ACCESS_DENIED: another account's worker) counts as running. */
static bool process_gone(unsigned long pid)
{
  HANDLE p = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
  if (!p)
    return GetLastError() == ERROR_INVALID_PARAMETER; /* no such process */
  bool gone = WaitForSingleObject(p, 0) == WAIT_OBJECT_0;
  CloseHandle(p);
  return gone;
}

/* Removes the directories under root of processes that no longer run:
 * those of workers that crashed or were ended before they could remove
 * their own. Anything whose name is not <pool>-<pid> is left alone. */
static void sweep_stale(const wchar_t *root)
{
  wchar_t *pattern = join(root, L"*");
  if (!pattern)
    return;
  WIN32_FIND_DATAW fd;
  HANDLE h = FindFirstFileW(pattern, &fd);
  free(pattern);
  if (h == INVALID_HANDLE_VALUE)
    return;
  do {
    char name[MAX_PATH * 3];
    unsigned long pid;
    if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) || !ih_win32_to_utf8(fd.cFileName, name, sizeof name) ||
        !ih_dll_shadow_dir_pid(name, &pid) || pid == GetCurrentProcessId() || !process_gone(pid))
      continue;
    wchar_t *stale = join(root, fd.cFileName);
    if (!stale)
      continue;
    bool removed = remove_tree(stale);
    DWORD err = GetLastError();
    free(stale);
    if (removed)
      ih_log(IH_LOG_DEBUG, IH_EV_POOL_SHADOW_COPY, "removed the shadow directory %s of process %lu, which no longer runs",
             name, pid);
    else
      ih_log(IH_LOG_DEBUG, IH_EV_POOL_SHADOW_COPY,
             "cannot remove all of the shadow directory %s of process %lu, which no longer runs (Win32 error %lu); "
             "tried again when the next worker starts", name, pid, err);
  } while (FindNextFileW(h, &fd));
  FindClose(h);
}

bool ih_dll_shadow_start(const char *pool)
{
  wchar_t temp[MAX_PATH + 1];
  DWORD n = GetTempPathW(MAX_PATH + 1, temp);
  if (n == 0 || n > MAX_PATH) {
    ih_log(IH_LOG_WARNING, IH_EV_POOL_SHADOW_COPY,
           "no temporary directory for shadow copies (GetTempPath, Win32 error %lu): DLLs are loaded in place, so "
           "their files stay locked while this worker runs", n ? (unsigned long)ERROR_BUFFER_OVERFLOW : GetLastError());
    return false;
  }
  /* GetTempPath ends with a backslash */
  wchar_t root[DIR_CAP];
  char name[256];
  if (!ih_dll_shadow_dir_name(pool, GetCurrentProcessId(), name, sizeof name)) {
    ih_log(IH_LOG_WARNING, IH_EV_POOL_SHADOW_COPY, "the pool's name is too long for a shadow directory: DLLs are "
           "loaded in place, so their files stay locked while this worker runs");
    return false;
  }
  swprintf(root, DIR_CAP, L"%ls%ls", temp, SHADOW_ROOT_NAME);
  sweep_stale(root);
  char dir[DIR_CAP * 3];
  char root_utf8[DIR_CAP * 3];
  if (!ih_win32_to_utf8(root, root_utf8, sizeof root_utf8))
    return false;
  snprintf(dir, sizeof dir, "%s\\%s", root_utf8, name);
  return ih_dll_load_set_shadow_dir(dir);
}

/* Forgets every copy (under the lock): they belong to the directory being
 * left, and a new one starts numbering again. */
static void forget_locked(void)
{
  for (size_t i = 0; i < sh.count; i++) {
    free(sh.dlls[i].original_w);
    free(sh.dlls[i].original);
    free(sh.dlls[i].copy);
  }
  sh.count = 0;
  sh.next_index = 0;
}

bool ih_dll_load_set_shadow_dir(const char *dir)
{
  if (!dir) {
    AcquireSRWLockExclusive(&sh.lock);
    sh.on = false;
    ReleaseSRWLockExclusive(&sh.lock);
    return true;
  }
  wchar_t *w = ih_win32_path(dir);
  DWORD err = ERROR_INVALID_NAME;
  bool ok = w && wcslen(w) < DIR_CAP;
  if (ok) {
    /* Left by an earlier process with this pid: nothing uses it now. */
    if (GetFileAttributesW(w) != INVALID_FILE_ATTRIBUTES)
      remove_tree(w);
    ok = ih_win32_mkdirs(w);
    err = GetLastError();
  }
  if (!ok) {
    ih_log(IH_LOG_WARNING, IH_EV_POOL_SHADOW_COPY,
           "cannot make the shadow directory %s (Win32 error %lu): DLLs are loaded in place, so their files stay "
           "locked while this worker runs", dir, err);
    free(w);
    return false;
  }
  AcquireSRWLockExclusive(&sh.lock);
  forget_locked();
  wcscpy(sh.dir, w);
  sh.on = true;
  ReleaseSRWLockExclusive(&sh.lock);
  free(w);
  return true;
}

/* The copy already made of original_w, or NULL; under the lock. */
static const shadow_dll *find_locked(const wchar_t *original_w)
{
  for (size_t i = 0; i < sh.count; i++)
    if (_wcsicmp(sh.dlls[i].original_w, original_w) == 0)
      return &sh.dlls[i];
  return NULL;
}

static bool add_locked(wchar_t *original_w, const char *original, const char *copy, ih_dll_stamp copied)
{
  if (sh.count == sh.cap) {
    size_t cap = sh.cap ? sh.cap * 2 : 8;
    shadow_dll *d = realloc(sh.dlls, cap * sizeof *d);
    if (!d)
      return false;
    sh.dlls = d;
    sh.cap = cap;
  }
  shadow_dll *d = &sh.dlls[sh.count];
  memset(d, 0, sizeof *d);
  d->original = _strdup(original);
  d->copy = _strdup(copy);
  if (!d->original || !d->copy) {
    free(d->original);
    free(d->copy);
    return false;
  }
  d->original_w = original_w;
  d->watch.copied = copied;
  sh.count++;
  return true;
}

static ih_dll_stamp stamp_of(const WIN32_FILE_ATTRIBUTE_DATA *fa)
{
  ULARGE_INTEGER t = { .LowPart = fa->ftLastWriteTime.dwLowDateTime, .HighPart = fa->ftLastWriteTime.dwHighDateTime };
  return (ih_dll_stamp){ .write_time = t.QuadPart,
                         .size = ((uint64_t)fa->nFileSizeHigh << 32) | fa->nFileSizeLow };
}

bool ih_dll_shadow_prepare(const char *original, const char *who, char *load_path, size_t cap)
{
  /* a bare name is found by the loader's search: there is no file to copy */
  if (!strchr(original, '\\') && !strchr(original, '/'))
    return false;
  wchar_t *ow = ih_win32_path(original);
  if (!ow)
    return false;
  AcquireSRWLockExclusive(&sh.lock);
  if (!sh.on) {
    ReleaseSRWLockExclusive(&sh.lock);
    free(ow);
    return false;
  }
  const shadow_dll *known = find_locked(ow);
  if (known) {
    int n = snprintf(load_path, cap, "%s", known->copy);
    ReleaseSRWLockExclusive(&sh.lock);
    free(ow);
    return n > 0 && (size_t)n < cap;
  }
  unsigned index = ++sh.next_index;
  wchar_t dir[DIR_CAP];
  wcscpy(dir, sh.dir);
  ReleaseSRWLockExclusive(&sh.lock);

  /* The original's stamp before the copy: a change made while copying is
   * then seen as a change (a recycle too many), never missed. A file that
   * cannot be read is left to the loader, which says what is wrong. */
  WIN32_FILE_ATTRIBUTE_DATA fa;
  if (!GetFileAttributesExW(ow, GetFileExInfoStandard, &fa) || (fa.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
    free(ow);
    return false;
  }
  const wchar_t *file_name = wcsrchr(ow, L'\\') + 1;
  wchar_t sub_name[16];
  swprintf(sub_name, 16, L"%u", index);
  wchar_t *sub = join(dir, sub_name);
  wchar_t *copy_w = sub ? join(sub, file_name) : NULL;
  char copy[MAX_PATH * 3];
  DWORD err = ERROR_NOT_ENOUGH_MEMORY;
  bool copied = false;
  if (copy_w) {
    copied = (CreateDirectoryW(sub, NULL) || GetLastError() == ERROR_ALREADY_EXISTS) && CopyFileW(ow, copy_w, FALSE);
    err = copied ? 0 : GetLastError();
    if (copied && !ih_win32_to_utf8(copy_w, copy, sizeof copy)) {
      copied = false;
      err = ERROR_FILENAME_EXCED_RANGE;
    }
  }
  if (!copied) {
    char dir_utf8[DIR_CAP * 3] = "";
    ih_win32_to_utf8(dir, dir_utf8, sizeof dir_utf8);
    ih_log(IH_LOG_WARNING, IH_EV_POOL_SHADOW_COPY,
           "%s: cannot make its shadow copy in %s (Win32 error %lu): loaded in place, so its file stays locked "
           "while this worker runs", who, dir_utf8, err);
    free(sub);
    free(copy_w);
    free(ow);
    return false;
  }
  free(sub);
  free(copy_w);

  AcquireSRWLockExclusive(&sh.lock);
  /* another thread may have copied the same file meanwhile: one module */
  known = find_locked(ow);
  bool ok;
  if (!sh.on || wcscmp(sh.dir, dir) != 0) {
    /* copies were turned off or moved meanwhile: load this one, record nothing */
    int n = snprintf(load_path, cap, "%s", copy);
    ok = n > 0 && (size_t)n < cap;
    free(ow);
  } else if (known) {
    int n = snprintf(load_path, cap, "%s", known->copy);
    ok = n > 0 && (size_t)n < cap;
    free(ow);
  } else {
    int n = snprintf(load_path, cap, "%s", copy);
    ok = n > 0 && (size_t)n < cap && add_locked(ow, original, copy, stamp_of(&fa));
    if (!ok)
      free(ow);
  }
  ReleaseSRWLockExclusive(&sh.lock);
  return ok;
}

bool ih_dll_shadow_changed(char *path, size_t cap)
{
  bool changed = false;
  AcquireSRWLockExclusive(&sh.lock);
  for (size_t i = 0; i < sh.count && !changed; i++) {
    shadow_dll *d = &sh.dlls[i];
    if (d->watch.reported)
      continue;
    WIN32_FILE_ATTRIBUTE_DATA fa;
    bool exists = GetFileAttributesExW(d->original_w, GetFileExInfoStandard, &fa) != 0;
    if (!exists) {
      DWORD err = GetLastError();
      if (err != ERROR_FILE_NOT_FOUND && err != ERROR_PATH_NOT_FOUND)
        continue; /* cannot tell now (being replaced, access denied): look again next time */
    }
    ih_dll_stamp now = exists ? stamp_of(&fa) : (ih_dll_stamp){ 0 };
    if (ih_dll_watch_check(&d->watch, exists, now) == IH_DLL_WATCH_CHANGED) {
      snprintf(path, cap, "%s", d->original);
      changed = true;
    }
  }
  ReleaseSRWLockExclusive(&sh.lock);
  return changed;
}

void ih_dll_shadow_stop(void)
{
  AcquireSRWLockExclusive(&sh.lock);
  bool was_on = sh.on;
  sh.on = false;
  forget_locked();
  wchar_t dir[DIR_CAP];
  wcscpy(dir, sh.dir);
  ReleaseSRWLockExclusive(&sh.lock);
  if (!was_on)
    return;
  if (!remove_tree(dir)) {
    DWORD err = GetLastError();
    char dir_utf8[DIR_CAP * 3] = "";
    ih_win32_to_utf8(dir, dir_utf8, sizeof dir_utf8);
    ih_log(IH_LOG_DEBUG, IH_EV_POOL_SHADOW_COPY,
           "cannot remove all of the shadow directory %s (Win32 error %lu; a DLL that stays loaded keeps its copy); "
           "removed when a later worker starts", dir_utf8, err);
  }
}
