/* The one way an ISAPI DLL is loaded, by the extension host
 * (isapi/isapi_dll_win32.c) and the filter host (filters/filter_host_win32.c)
 * alike: LoadLibraryExW with LOAD_WITH_ALTERED_SEARCH_PATH, GetProcAddress
 * of the three entry points, then the version call (GetExtensionVersion or
 * GetFilterVersion) under the crash guard, all on a thread of their own
 * waited for up to startup_time_limit (service/win32/dll_entry_win32.h).
 * What differs between the two hosts is a ih_dll_load_kind: the entry
 * point names and the version call. Win32 only.
 *
 * Both hosts load the path as configured, converted the same way
 * (ih_win32_path), so a DLL that is both an extension and a filter is one
 * module: the Windows loader returns the module it already mapped for the
 * same file and counts one more reference (MSDN LoadLibraryEx).
 *
 * In a worker whose pool has shadow_copy = on, the file loaded is a
 * private copy of the configured one (isapi_dll_shadow_win32.h), the same
 * copy for both hosts, so such a DLL is still one module. */
#ifndef IH_ISAPI_DLL_LOAD_WIN32_H
#define IH_ISAPI_DLL_LOAD_WIN32_H

#include <windows.h>
#include <httpext.h>
#include <httpfilt.h>
#include <stddef.h>

#include "core/events.h"

/* What the version entry point fills in: the caller's kind says which. */
typedef union ih_dll_version_info {
  HSE_VERSION_INFO extension;   /* GetExtensionVersion */
  HTTP_FILTER_VERSION filter;   /* GetFilterVersion */
} ih_dll_version_info;

/* One host's kind of DLL. Static: a load abandoned past startup_time_limit
 * still refers to it when (if ever) it returns. */
typedef struct ih_dll_load_kind {
  const char *kind;              /* "extension", "filter" (dll_entry_win32.h's kind, and messages) */
  const char *version_entry;     /* "GetExtensionVersion", "GetFilterVersion": required */
  const char *proc_entry;        /* "HttpExtensionProc", "HttpFilterProc": required */
  const char *terminate_entry;   /* "TerminateExtension", "TerminateFilter": optional */
  /* Calls the version entry point with *info (zeroed); on the loader
   * thread, under the crash guard, with the last error cleared. */
  BOOL (*call_version)(FARPROC version_entry, ih_dll_version_info *info);
  /* When the version call returned FALSE with the last error 0, this is
   * added after the error ("the filter declined to load"); NULL: nothing. */
  const char *declined;
  /* A load that returns after its waiter gave up is logged with this ID,
   * ending with what became of the DLL ("the filter stays unloaded until
   * the server restarts"). */
  enum ih_event_id late_event;
  const char *late_consequence;
} ih_dll_load_kind;

enum ih_dll_load_outcome {
  IH_DLL_LOAD_OK,
  IH_DLL_LOAD_FAILED, /* not loaded (nothing of it stays mapped, unless its version call crashed); try again later */
  IH_DLL_LOAD_STUCK,  /* did not return within the limit: never call, try or unload it again */
  IH_DLL_LOAD_WRONG_BITNESS, /* its PE headers say another bitness than the process's: never handed to
                                LoadLibraryEx (isapi_dll_image_win32.h); a failure like FAILED, tried again later */
};

/* A loaded DLL: the module, its entry points and the version answer. */
typedef struct ih_dll_loaded {
  HMODULE module;
  FARPROC proc;
  FARPROC terminate; /* NULL when not exported */
  ih_dll_version_info info;
} ih_dll_loaded;

/* Loads the DLL at path (UTF-8) as k says, waiting up to limit_ms. who
 * names it in the message logged if it returns too late ("extension
 * C:\x.dll", "filter f (C:\x.dll)"). On IH_DLL_LOAD_OK, *out. Otherwise
 * why says what went wrong, ending with the Win32 error
 * ("cannot load the DLL (Win32 error 126)") except for STUCK
 * ("GetFilterVersion did not return within startup_time_limit (90 s)"),
 * and *code is that error (ERROR_TIMEOUT when STUCK, ERROR_BAD_EXE_FORMAT
 * when WRONG_BITNESS, whose why names the DLL's machine and bitness and the
 * process's). Before LoadLibraryEx the file's PE headers are read: a DLL
 * of the other bitness is WRONG_BITNESS; when the loader then fails, what
 * the headers show is added ("cannot load the DLL: not a PE image: ..."). Logs nothing but the
 * late return: the caller logs the outcome with its own event IDs. */
enum ih_dll_load_outcome ih_dll_load(const ih_dll_load_kind *k, const char *path, const char *who, DWORD limit_ms,
                                     ih_dll_loaded *out, char *why, size_t cap, DWORD *code);

#endif
