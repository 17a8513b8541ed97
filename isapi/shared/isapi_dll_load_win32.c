/* The one DLL loader of both hosts (see isapi_dll_load_win32.h).
 *
 * The loader thread does LoadLibraryEx, GetProcAddress and the version
 * call, nothing else, on its own copy of a load_call; the waiter decides
 * what follows (FreeLibrary, or keeping the module), or, when the waiter
 * gave up, late_load logs and leaves the DLL as it is: mapped, never
 * called and never unloaded (dll_entry_win32.h). */
#include "isapi/shared/isapi_dll_load_win32.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "core/server_log.h"
#include "dll_entry_win32.h"
#include "isapi/shared/isapi_dll_image_win32.h"
#include "isapi/shared/isapi_dll_shadow_win32.h"
#include "isapi/shared/isapi_guard_win32.h"
#include "win32_util.h"

/* What the loader thread did, handed back to the thread that waits for it. */
typedef struct load_call {
  const ih_dll_load_kind *k;
  char path[MAX_PATH * 3];     /* what is loaded: the DLL as configured, or its shadow copy */
  char original[MAX_PATH * 3]; /* when path is a shadow copy: the DLL as configured; else "" */
  bool in_place;               /* the copy did not load for want of a DLL it needs: the original did */
  char who[MAX_PATH * 3 + 160]; /* for a late message */
  enum { STEP_BAD_PATH, STEP_WRONG_BITNESS, STEP_NOT_LOADED, STEP_NO_EXPORT, STEP_CALLED } step;
  char image[320]; /* STEP_WRONG_BITNESS: why; STEP_NOT_LOADED: what the headers show, if anything */
  DWORD code; /* GetLastError after the step that failed, or after the version call */
  HMODULE module;
  FARPROC version, proc, terminate;
  BOOL ok;
  DWORD fault;
  void *fault_at;
  ih_dll_version_info info;
} load_call;

static void run_version(void *arg)
{
  load_call *c = arg;
  c->ok = c->k->call_version(c->version, &c->info);
}

/* On the loader thread: LoadLibraryEx and the version call. */
static void run_load(ih_dll_entry *e, void *arg)
{
  load_call *c = arg;
  wchar_t *w = ih_win32_path(c->path);
  if (!w) {
    c->step = STEP_BAD_PATH;
    c->code = ERROR_INVALID_NAME;
    return;
  }
  /* The headers first: a DLL of the other bitness is never handed to the
   * loader, which would say only ERROR_BAD_EXE_FORMAT. A bare name is
   * left to the loader's search (the file read would be another one). */
  ih_dll_image img;
  if (wcschr(w, L'\\') && ih_dll_image_read(w, &img)) {
    if (ih_dll_image_wrong_bitness(&img, c->image, sizeof c->image)) {
      free(w);
      c->step = STEP_WRONG_BITNESS;
      c->code = ERROR_BAD_EXE_FORMAT;
      return;
    }
    ih_dll_image_note(&img, c->image, sizeof c->image);
  }
  /* ALTERED_SEARCH_PATH: the DLL's own directory is searched for its
   * dependencies, as IIS does for extensions and filters. */
  HMODULE m = LoadLibraryExW(w, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
  c->code = GetLastError();
  free(w);
  if (!m && c->original[0] && c->code == ERROR_MOD_NOT_FOUND) {
    /* The copy is there, so what is not found is a DLL it needs, which
     * the search finds only next to the original: load that instead. */
    wchar_t *o = ih_win32_path(c->original);
    if (o) {
      m = LoadLibraryExW(o, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
      if (m) { /* else the copy's error stands: what was tried first */
        c->in_place = true;
        c->code = GetLastError();
      }
      free(o);
    }
  }
  if (!m) {
    c->step = STEP_NOT_LOADED;
    return;
  }
  c->module = m;
  c->version = GetProcAddress(m, c->k->version_entry);
  c->proc = GetProcAddress(m, c->k->proc_entry);
  c->terminate = c->k->terminate_entry ? GetProcAddress(m, c->k->terminate_entry) : NULL;
  if (!c->version || !c->proc) {
    c->step = STEP_NO_EXPORT;
    return;
  }
  c->step = STEP_CALLED;
  ih_dll_entry_set(e, c->k->version_entry);
  memset(&c->info, 0, sizeof c->info);
  SetLastError(0);
  ih_isapi_guard_install();
  c->fault = ih_isapi_guarded(run_version, c, &c->fault_at);
  c->code = GetLastError();
  if (c->fault)
    c->ok = FALSE;
}

/* On the loader thread, when it returns after its waiter gave up: the DLL
 * stays as it is (mapped, never called, never unloaded). */
static void late_load(ih_dll_entry *e, void *arg)
{
  const load_call *c = arg;
  ih_log(IH_LOG_WARNING, c->k->late_event, "%s: %s returned after %llu s, past startup_time_limit%s; %s", c->who,
         e->entry, (unsigned long long)((GetTickCount64() - e->since) / 1000u),
         c->step != STEP_CALLED ? "" : c->fault ? " (it crashed)" : c->ok ? " (TRUE)" : " (FALSE)",
         c->k->late_consequence);
}

enum ih_dll_load_outcome ih_dll_load(const ih_dll_load_kind *k, const char *path, const char *who, DWORD limit_ms,
                                     ih_dll_loaded *out, char *why, size_t cap, DWORD *code)
{
  load_call c;
  memset(&c, 0, sizeof c);
  c.k = k;
  /* In a worker with shadow copies on, the copy is what is loaded (and
   * checked for bitness); everything reported still names path. */
  if (ih_dll_shadow_prepare(path, who, c.path, sizeof c.path))
    snprintf(c.original, sizeof c.original, "%s", path);
  else
    snprintf(c.path, sizeof c.path, "%s", path);
  snprintf(c.who, sizeof c.who, "%s", who);
  const char *where = NULL;
  enum ih_bounded_result r = ih_dll_entry_bounded(k->kind, path, "LoadLibraryEx (DllMain)", run_load, late_load, &c,
                                                  sizeof c, limit_ms, &where, code);
  if (r == IH_BOUNDED_NOT_STARTED) {
    /* nothing of the DLL ran: an ordinary failure, tried again later */
    if (*code == WAIT_TIMEOUT) {
      *code = ERROR_TIMEOUT;
      snprintf(why, cap, "its loading thread did not get to run within startup_time_limit (the Windows loader is "
               "busy, e.g. with another DLL's DllMain; Win32 error %lu)", *code);
    } else {
      snprintf(why, cap, "cannot start a thread to load it (Win32 error %lu)", *code);
    }
    return IH_DLL_LOAD_FAILED;
  }
  if (r == IH_BOUNDED_ABANDONED) {
    *code = ERROR_TIMEOUT;
    snprintf(why, cap, "%s did not return within startup_time_limit (%lu s)", where, (unsigned long)(limit_ms / 1000u));
    return IH_DLL_LOAD_STUCK;
  }
  *code = c.code;
  if (c.in_place)
    ih_log(IH_LOG_WARNING, IH_EV_POOL_SHADOW_COPY,
           "%s: does not load from its shadow copy (Win32 error %lu: a DLL it needs is not found next to the copy): "
           "loaded in place, so its file stays locked while this worker runs", who, (unsigned long)ERROR_MOD_NOT_FOUND);
  switch (c.step) {
  case STEP_BAD_PATH:
    snprintf(why, cap, "the path is not valid UTF-8 (Win32 error %lu)", *code);
    return IH_DLL_LOAD_FAILED;
  case STEP_WRONG_BITNESS:
    snprintf(why, cap, "%s (Win32 error %lu)", c.image, *code);
    return IH_DLL_LOAD_WRONG_BITNESS;
  case STEP_NOT_LOADED:
    if (c.image[0])
      snprintf(why, cap, "cannot load the DLL: %s (Win32 error %lu)", c.image, *code);
    else
      snprintf(why, cap, "cannot load the DLL (Win32 error %lu)", *code);
    return IH_DLL_LOAD_FAILED;
  case STEP_NO_EXPORT:
    *code = ERROR_PROC_NOT_FOUND;
    snprintf(why, cap, "does not export %s (Win32 error %lu)", c.version ? k->proc_entry : k->version_entry, *code);
    FreeLibrary(c.module);
    return IH_DLL_LOAD_FAILED;
  case STEP_CALLED:
    break;
  }
  if (c.fault) {
    *code = ERROR_DLL_INIT_FAILED;
    snprintf(why, cap, "%s crashed (exception 0x%08lx at %p; Win32 error %lu)", k->version_entry, c.fault, c.fault_at,
             *code);
    /* not FreeLibrary: the DLL may be in any state; leave it mapped */
    return IH_DLL_LOAD_FAILED;
  }
  if (!c.ok) {
    if (*code == 0 && k->declined)
      snprintf(why, cap, "%s returned FALSE (Win32 error 0: %s)", k->version_entry, k->declined);
    else
      snprintf(why, cap, "%s returned FALSE (Win32 error %lu)", k->version_entry, *code);
    FreeLibrary(c.module);
    return IH_DLL_LOAD_FAILED;
  }
  out->module = c.module;
  out->proc = c.proc;
  out->terminate = c.terminate;
  out->info = c.info;
  return IH_DLL_LOAD_OK;
}
