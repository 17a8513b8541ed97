/* Shadow copies through the shared loader (isapi/shared/isapi_dll_shadow_win32.h),
 * with real DLLs of this build: off by default (loaded in place); when on,
 * loaded from <dir>\<n>\<file name>, the same copy for a second load of the
 * same file (one module), a subdirectory per DLL so equal names do not
 * collide, the original free to be overwritten or deleted; the change
 * check reports an overwrite once (after seeing it twice) and a deletion
 * never; a copy that cannot be made, or that cannot find a DLL it needs
 * next to it, loads in place with IH4008; stop
 * removes the directory; start removes the directories of dead processes
 * and nothing else. */
#include <windows.h>
#include <httpext.h>
#include <tlhelp32.h>
#include <stdio.h>
#include <string.h>

#include "core/server_log.h"
#include "ih_test.h"
#include "isapi/shared/isapi_dll_load_win32.h"
#include "isapi/shared/isapi_dll_shadow.h"
#include "isapi/shared/isapi_dll_shadow_win32.h"
#include "support/win32_test_support.h"

static char dll_dir[MAX_PATH * 3];
static char temp_dir[MAX_PATH * 3];

/* IH4008 events, as the worker's event sink would send them. */
static volatile LONG shadow_warnings, shadow_debug;
static char last_warning[1024];

static void on_event(void *ctx, enum ih_log_level level, enum ih_event_id id, const char *message)
{
  (void)ctx;
  if (id != IH_EV_POOL_SHADOW_COPY)
    return;
  if (level == IH_LOG_WARNING) {
    InterlockedIncrement(&shadow_warnings);
    snprintf(last_warning, sizeof last_warning, "%s", message);
  } else if (level == IH_LOG_DEBUG) {
    InterlockedIncrement(&shadow_debug);
  }
  ih_test_note("IH4008 %s: %s", ih_log_level_name(level), message);
}

/* Writes src's bytes to dst (a new last-write time: now). */
static bool copy_bytes(const char *src, const char *dst)
{
  static char buf[1 << 20];
  HANDLE in = CreateFileA(src, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
  if (in == INVALID_HANDLE_VALUE)
    return false;
  DWORD n = 0;
  BOOL ok = ReadFile(in, buf, sizeof buf, &n, NULL);
  CloseHandle(in);
  HANDLE out = CreateFileA(dst, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  if (!ok || out == INVALID_HANDLE_VALUE)
    return false;
  DWORD done = 0;
  ok = WriteFile(out, buf, n, &done, NULL) && done == n;
  CloseHandle(out);
  return ok;
}

/* Some process other than this one that runs now (Wine's own services do). */
static unsigned long other_running_pid(void)
{
  unsigned long pid = 0;
  HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  PROCESSENTRY32 pe = { .dwSize = sizeof pe };
  if (snap != INVALID_HANDLE_VALUE && Process32First(snap, &pe)) {
    do {
      if (pe.th32ProcessID != 0 && pe.th32ProcessID != GetCurrentProcessId())
        pid = pe.th32ProcessID;
    } while (!pid && Process32Next(snap, &pe));
  }
  if (snap != INVALID_HANDLE_VALUE)
    CloseHandle(snap);
  return pid;
}

static bool exists(const char *path) { return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES; }

static HMODULE load(const char *path)
{
  ih_dll_loaded m;
  char why[512];
  DWORD code = 0;
  if (!IH_EQ_INT(ih_dll_load(&ih_test_extension_kind, path, "extension test", 30000, &m, why, sizeof why, &code), IH_DLL_LOAD_OK)) {
    ih_test_note("%s", why);
    return NULL;
  }
  return m.module;
}

static const char *module_path(HMODULE m)
{
  static char path[MAX_PATH * 3];
  path[0] = '\0';
  if (m)
    GetModuleFileNameA(m, path, sizeof path);
  return path;
}

int main(void)
{
  ih_test_dll_dir(dll_dir, sizeof dll_dir);
  ih_test_scratch_dir(temp_dir, sizeof temp_dir, "ih_dll_shadow");
  ih_log_set_level(IH_LOG_DEBUG);
  ih_log_set_event_sink(on_event, NULL);

  char hello[MAX_PATH * 3], echo[MAX_PATH * 3], site_a[MAX_PATH * 3], site_b[MAX_PATH * 3];
  char orig_a[MAX_PATH * 3], orig_b[MAX_PATH * 3], shadow[MAX_PATH * 3], want[MAX_PATH * 3];
  snprintf(hello, sizeof hello, "%s\\ext_hello.dll", dll_dir);
  snprintf(echo, sizeof echo, "%s\\ext_echo.dll", dll_dir);
  snprintf(site_a, sizeof site_a, "%s\\a", temp_dir);
  snprintf(site_b, sizeof site_b, "%s\\b", temp_dir);
  snprintf(orig_a, sizeof orig_a, "%s\\app.dll", site_a);
  snprintf(orig_b, sizeof orig_b, "%s\\app.dll", site_b); /* the same name in another site */
  snprintf(shadow, sizeof shadow, "%s\\shadow\\w-1", temp_dir);
  CreateDirectoryA(temp_dir, NULL);
  CreateDirectoryA(site_a, NULL);
  CreateDirectoryA(site_b, NULL);
  if (!IH_CHECK(copy_bytes(hello, orig_a) && copy_bytes(hello, orig_b)))
    return ih_test_finish();

  IH_TEST("off by default: loaded in place (the file locked while loaded), nothing to check");
  HMODULE m = load(orig_a);
  IH_CHECK(_stricmp(module_path(m), orig_a) == 0);
  IH_CHECK(!copy_bytes(echo, orig_a)); /* Windows, and Wine for Windows programs, refuse to write a mapped DLL */
  if (m)
    FreeLibrary(m);
  char changed[MAX_PATH * 3];
  IH_CHECK(!ih_dll_shadow_changed(changed, sizeof changed));

  IH_TEST("on: loaded from <dir>\\<n>\\<its own name>, the original not in use");
  IH_CHECK(ih_dll_load_set_shadow_dir(shadow));
  IH_CHECK(exists(shadow));
  HMODULE a1 = load(orig_a);
  snprintf(want, sizeof want, "%s\\1\\app.dll", shadow);
  IH_EQ_STR(module_path(a1), want);
  HMODULE a2 = load(orig_a); /* the filter host loading the same DLL: the same copy, one module */
  IH_CHECK(a1 && a2 == a1);
  HMODULE b = load(orig_b);
  snprintf(want, sizeof want, "%s\\2\\app.dll", shadow);
  IH_EQ_STR(module_path(b), want);
  IH_CHECK(b && b != a1);
  IH_EQ_INT(shadow_warnings, 0);
  IH_CHECK(!ih_dll_shadow_changed(changed, sizeof changed));

  IH_TEST("an overwritten original: reported once, at the second check that sees it");
  IH_CHECK(copy_bytes(echo, orig_a)); /* not locked: the copy is what is mapped */
  IH_CHECK(!ih_dll_shadow_changed(changed, sizeof changed));
  IH_CHECK(ih_dll_shadow_changed(changed, sizeof changed));
  IH_EQ_STR(changed, orig_a);
  IH_CHECK(!ih_dll_shadow_changed(changed, sizeof changed));
  IH_CHECK(!ih_dll_shadow_changed(changed, sizeof changed));

  IH_TEST("a deleted original: never reported");
  IH_CHECK(DeleteFileA(orig_b));
  for (int i = 0; i < 4; i++)
    IH_CHECK(!ih_dll_shadow_changed(changed, sizeof changed));
  IH_CHECK(GetProcAddress(b, "HttpExtensionProc") != NULL); /* still serving its copy */

  IH_TEST("a copy that cannot be made: IH4008, loaded in place");
  /* what was copied so far stays; a new DLL's subdirectory cannot be made */
  snprintf(want, sizeof want, "%s\\3", shadow);
  HANDLE blocker = CreateFileA(want, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  IH_CHECK(blocker != INVALID_HANDLE_VALUE);
  CloseHandle(blocker);
  char orig_c[MAX_PATH * 3];
  snprintf(orig_c, sizeof orig_c, "%s\\other.dll", site_a);
  IH_CHECK(copy_bytes(hello, orig_c));
  HMODULE c = load(orig_c);
  IH_CHECK(_stricmp(module_path(c), orig_c) == 0);
  IH_EQ_INT(shadow_warnings, 1);
  IH_CHECK(strstr(last_warning, "extension test: cannot make its shadow copy") != NULL);
  IH_CHECK(strstr(last_warning, "loaded in place") != NULL);
  if (c)
    FreeLibrary(c);

  IH_TEST("stop, with the DLLs unloaded: the directory goes, and copies are off");
  if (a1) {
    FreeLibrary(a1);
    FreeLibrary(a2);
  }
  if (b)
    FreeLibrary(b);
  ih_dll_shadow_stop();
  IH_CHECK(!exists(shadow));
  IH_CHECK(copy_bytes(hello, orig_b));
  m = load(orig_b);
  IH_CHECK(_stricmp(module_path(m), orig_b) == 0);
  if (m)
    FreeLibrary(m);

  IH_TEST("a shadow directory that cannot be made: IH4008, copies stay off");
  char under_file[MAX_PATH * 3];
  snprintf(under_file, sizeof under_file, "%s\\w-2", orig_a); /* orig_a is a file */
  IH_CHECK(!ih_dll_load_set_shadow_dir(under_file));
  IH_EQ_INT(shadow_warnings, 2);
  m = load(orig_a);
  IH_CHECK(_stricmp(module_path(m), orig_a) == 0);
  if (m)
    FreeLibrary(m);

  IH_TEST("start: the directories of dead processes go, the process's own is made, nothing else is touched");
  char root[MAX_PATH * 3], stale[MAX_PATH * 3], stale_file[MAX_PATH * 3], foreign[MAX_PATH * 3], own[MAX_PATH * 3],
      live[MAX_PATH * 3];
  char t[MAX_PATH];
  GetTempPathA(sizeof t, t); /* where ih_dll_shadow_start makes its root */
  snprintf(root, sizeof root, "%sisapihost-shadow", t);
  CreateDirectoryA(root, NULL);
  snprintf(stale, sizeof stale, "%s\\shadowtest-4294967292", root); /* no process has that pid */
  CreateDirectoryA(stale, NULL);
  snprintf(stale_file, sizeof stale_file, "%s\\1", stale);
  CreateDirectoryA(stale_file, NULL);
  snprintf(stale_file, sizeof stale_file, "%s\\1\\app.dll", stale);
  IH_CHECK(copy_bytes(hello, stale_file));
  SetFileAttributesA(stale_file, FILE_ATTRIBUTE_READONLY); /* CopyFile keeps a read-only original's attribute */
  snprintf(foreign, sizeof foreign, "%s\\shadowtest-notapid", root);
  CreateDirectoryA(foreign, NULL);
  /* the directory of another process that runs (a worker of another pool) */
  snprintf(live, sizeof live, "%s\\other-%lu", root, other_running_pid());
  CreateDirectoryA(live, NULL);
  long debug_before = shadow_debug;
  IH_CHECK(ih_dll_shadow_start("shadowtest"));
  IH_CHECK(!exists(stale));
  IH_CHECK(shadow_debug > debug_before);
  IH_CHECK(exists(foreign));
  IH_CHECK(other_running_pid() != 0 && exists(live));
  snprintf(own, sizeof own, "%s\\shadowtest-%lu", root, (unsigned long)GetCurrentProcessId());
  IH_CHECK(exists(own));
  m = load(orig_a);
  snprintf(want, sizeof want, "%s\\1\\app.dll", own);
  IH_CHECK(_stricmp(module_path(m), want) == 0);
  if (m)
    FreeLibrary(m);
  ih_dll_shadow_stop();
  IH_CHECK(!exists(own));
  RemoveDirectoryA(foreign);
  RemoveDirectoryA(live);

  IH_TEST("a DLL that needs a DLL next to it: the copy does not load, the original does, with IH4008");
  char site_d[MAX_PATH * 3], dep_src[MAX_PATH * 3], dep_dst[MAX_PATH * 3], ext_src[MAX_PATH * 3],
      orig_d[MAX_PATH * 3];
  snprintf(site_d, sizeof site_d, "%s\\d", temp_dir);
  CreateDirectoryA(site_d, NULL);
  snprintf(dep_src, sizeof dep_src, "%s\\dep_helper.dll", dll_dir);
  snprintf(dep_dst, sizeof dep_dst, "%s\\dep_helper.dll", site_d);
  snprintf(ext_src, sizeof ext_src, "%s\\ext_dep.dll", dll_dir);
  snprintf(orig_d, sizeof orig_d, "%s\\ext_dep.dll", site_d);
  IH_CHECK(copy_bytes(dep_src, dep_dst) && copy_bytes(ext_src, orig_d));
  IH_CHECK(ih_dll_shadow_start("shadowtest"));
  HMODULE d = load(orig_d);
  IH_CHECK(_stricmp(module_path(d), orig_d) == 0);
  IH_EQ_INT(shadow_warnings, 3);
  IH_CHECK(strstr(last_warning, "extension test: does not load from its shadow copy (Win32 error 126") != NULL);
  if (d)
    FreeLibrary(d);
  HMODULE dep = GetModuleHandleA("dep_helper.dll");
  if (dep) /* unloaded with ext_dep.dll, normally */
    FreeLibrary(dep);
  /* Under Wine the copy whose load failed stays in use until this process
   * ends, so stop may leave it: the sweep of a later start removes it. */
  ih_dll_shadow_stop();

  ih_log_set_event_sink(NULL, NULL);
  DeleteFileA(orig_a);
  DeleteFileA(orig_b);
  DeleteFileA(orig_c);
  RemoveDirectoryA(site_a);
  RemoveDirectoryA(site_b);
  DeleteFileA(orig_d);
  DeleteFileA(dep_dst);
  RemoveDirectoryA(site_d);
  snprintf(want, sizeof want, "%s\\shadow", temp_dir);
  RemoveDirectoryA(want);
  RemoveDirectoryA(temp_dir);
  return ih_test_finish();
}
