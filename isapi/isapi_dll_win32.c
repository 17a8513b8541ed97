/* Extension DLL lifecycle (see isapi_dll_win32.h).
 *
 * The registry is a small array under one SRW lock, searched by path
 * (case-insensitive: NTFS). Each entry has its own lock held exclusively
 * while it loads, so a DLL's GetExtensionVersion runs once even when its
 * first requests arrive together (mod_isapi keeps a per-DLL lock for the
 * same reason). */
#include "isapi/isapi_dll_win32.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server_log.h"
#include "isapi/isapi_guard_win32.h"
#include "win32_util.h"

#define MAX_DLLS 256

enum dll_state { DLL_UNLOADED, DLL_READY };

struct ih_isapi_dll {
  char path[MAX_PATH * 3];
  SRWLOCK load_lock;
  enum dll_state state;
  HMODULE module;
  PFN_GETEXTENSIONVERSION get_version;
  PFN_HTTPEXTENSIONPROC proc;
  PFN_TERMINATEEXTENSION terminate; /* optional export */
  char description[HSE_MAX_EXT_DLL_NAME_LEN + 1];
  volatile LONG in_flight;
  volatile LONG logged[IH_ISAPI_DLL_LOG_KEYS / 32]; /* ih_isapi_dll_first_time bits */
};

static SRWLOCK registry_lock = SRWLOCK_INIT;
static ih_isapi_dll *registry[MAX_DLLS];
static size_t registry_count;

/* Windows paths compare without case and with either separator: one DLL
 * reached as a script map and as a direct URL is loaded once. */
static bool same_path(const char *a, const char *b)
{
  for (; *a && *b; a++, b++) {
    char x = *a == '/' ? '\\' : *a, y = *b == '/' ? '\\' : *b;
    if (x != y && tolower((unsigned char)x) != tolower((unsigned char)y))
      return false;
  }
  return *a == *b;
}

static ih_isapi_dll *find_or_add(const char *path)
{
  AcquireSRWLockExclusive(&registry_lock);
  ih_isapi_dll *found = NULL;
  for (size_t i = 0; i < registry_count && !found; i++)
    if (same_path(registry[i]->path, path))
      found = registry[i];
  if (!found && registry_count < MAX_DLLS && strlen(path) < sizeof found->path) {
    found = calloc(1, sizeof *found);
    if (found) {
      strcpy(found->path, path);
      InitializeSRWLock(&found->load_lock);
      registry[registry_count++] = found;
    }
  }
  ReleaseSRWLockExclusive(&registry_lock);
  return found;
}

static void fail(char *err, size_t cap, const char *path, const char *what, DWORD code)
{
  snprintf(err, cap, "%s: %s (Win32 error %lu)", path, what, code);
  ih_log(IH_LOG_ERROR, IH_EV_EXT_LOAD_FAILED, "extension %s", err);
}

/* Loads d (its load lock held exclusively). */
static BOOL load(ih_isapi_dll *d, char *err, size_t cap)
{
  wchar_t *w = ih_win32_path(d->path);
  if (!w) {
    fail(err, cap, d->path, "path is not valid UTF-8", ERROR_INVALID_NAME);
    return FALSE;
  }
  /* ALTERED_SEARCH_PATH: the DLL's own directory is searched for its
   * dependencies, as IIS does for extensions. */
  HMODULE m = LoadLibraryExW(w, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
  DWORD code = GetLastError();
  free(w);
  if (!m) {
    fail(err, cap, d->path, "cannot load the DLL", code);
    return FALSE;
  }
  PFN_GETEXTENSIONVERSION get_version = (PFN_GETEXTENSIONVERSION)(void (*)(void))GetProcAddress(m, "GetExtensionVersion");
  PFN_HTTPEXTENSIONPROC proc = (PFN_HTTPEXTENSIONPROC)(void (*)(void))GetProcAddress(m, "HttpExtensionProc");
  if (!get_version || !proc) {
    fail(err, cap, d->path, get_version ? "does not export HttpExtensionProc" : "does not export GetExtensionVersion",
         ERROR_PROC_NOT_FOUND);
    FreeLibrary(m);
    return FALSE;
  }
  HSE_VERSION_INFO info;
  memset(&info, 0, sizeof info);
  SetLastError(0);
  DWORD fault = 0;
  void *fault_at = NULL;
  ih_isapi_guard_install();
  if (!ih_isapi_guarded_version(get_version, &info, &fault, &fault_at)) {
    code = GetLastError();
    if (fault) {
      char what[96];
      snprintf(what, sizeof what, "GetExtensionVersion crashed (exception 0x%08lx at %p)", fault, fault_at);
      fail(err, cap, d->path, what, ERROR_DLL_INIT_FAILED);
      /* not FreeLibrary: the DLL may be in any state; leave it mapped */
      return FALSE;
    }
    fail(err, cap, d->path, "GetExtensionVersion returned FALSE", code);
    FreeLibrary(m);
    return FALSE;
  }
  info.lpszExtensionDesc[HSE_MAX_EXT_DLL_NAME_LEN - 1] = '\0'; /* never trust the DLL to terminate it */
  memcpy(d->description, info.lpszExtensionDesc, sizeof info.lpszExtensionDesc);
  d->module = m;
  d->get_version = get_version;
  d->proc = proc;
  d->terminate = (PFN_TERMINATEEXTENSION)(void (*)(void))GetProcAddress(m, "TerminateExtension");
  d->state = DLL_READY;
  ih_log(IH_LOG_INFO, IH_EV_EXT_LOADED, "extension %s loaded: \"%s\", ISAPI %u.%u", d->path, d->description,
         (unsigned)HIWORD(info.dwExtensionVersion), (unsigned)LOWORD(info.dwExtensionVersion));
  return TRUE;
}

ih_isapi_dll *ih_isapi_dll_acquire(const char *path, char *err, size_t err_cap)
{
  ih_isapi_dll *d = find_or_add(path);
  if (!d) {
    snprintf(err, err_cap, "%s: too many extension DLLs or path too long", path);
    ih_log(IH_LOG_ERROR, IH_EV_EXT_LOAD_FAILED, "extension %s", err);
    return NULL;
  }
  /* Fast path: loaded. The shared lock keeps unload from racing us. */
  AcquireSRWLockShared(&d->load_lock);
  if (d->state == DLL_READY) {
    InterlockedIncrement(&d->in_flight);
    ReleaseSRWLockShared(&d->load_lock);
    return d;
  }
  ReleaseSRWLockShared(&d->load_lock);
  AcquireSRWLockExclusive(&d->load_lock);
  BOOL ok = d->state == DLL_READY || load(d, err, err_cap);
  if (ok)
    InterlockedIncrement(&d->in_flight);
  ReleaseSRWLockExclusive(&d->load_lock);
  return ok ? d : NULL;
}

void ih_isapi_dll_release(ih_isapi_dll *d) { InterlockedDecrement(&d->in_flight); }

DWORD ih_isapi_dll_call(ih_isapi_dll *d, EXTENSION_CONTROL_BLOCK *ecb)
{
  DWORD fault = 0;
  void *fault_at = NULL;
  DWORD rc = ih_isapi_guarded_proc(d->proc, ecb, &fault, &fault_at);
  if (fault)
    ih_log(IH_LOG_ERROR, IH_EV_EXT_CRASHED,
           "extension %s crashed in HttpExtensionProc (exception 0x%08lx at %p); the request fails, the server goes on",
           d->path, fault, fault_at);
  return rc;
}

BOOL ih_isapi_dll_first_time(ih_isapi_dll *d, unsigned key)
{
  if (key >= IH_ISAPI_DLL_LOG_KEYS)
    key = IH_ISAPI_DLL_LOG_KEYS - 1;
  LONG bit = (LONG)(1UL << (key % 32));
  return (InterlockedOr(&d->logged[key / 32], bit) & bit) == 0;
}

const char *ih_isapi_dll_path(const ih_isapi_dll *d) { return d->path; }
const char *ih_isapi_dll_description(const ih_isapi_dll *d) { return d->description; }

int ih_isapi_dll_unload_all(void)
{
  int busy = 0;
  AcquireSRWLockExclusive(&registry_lock);
  for (size_t i = 0; i < registry_count; i++) {
    ih_isapi_dll *d = registry[i];
    AcquireSRWLockExclusive(&d->load_lock);
    if (d->state == DLL_READY) {
      LONG n = d->in_flight;
      if (n) {
        busy++;
        ih_log(IH_LOG_WARNING, IH_EV_EXT_BUSY_AT_UNLOAD, "extension %s still has %ld request(s) in flight; left loaded",
               d->path, (long)n);
      } else {
        DWORD fault = 0;
        if (d->terminate && !ih_isapi_guarded_terminate(d->terminate, HSE_TERM_MUST_UNLOAD, &fault))
          ih_log(IH_LOG_ERROR, IH_EV_EXT_CRASHED, "extension %s crashed in TerminateExtension (exception 0x%08lx)",
                 d->path, fault);
        FreeLibrary(d->module);
        d->module = NULL;
        d->state = DLL_UNLOADED;
        ih_log(IH_LOG_INFO, IH_EV_EXT_UNLOADED, "extension %s terminated and unloaded", d->path);
      }
    }
    ReleaseSRWLockExclusive(&d->load_lock);
  }
  ReleaseSRWLockExclusive(&registry_lock);
  return busy;
}
