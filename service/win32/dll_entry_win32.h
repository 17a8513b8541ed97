/* Calls into the entry points of extension and filter DLLs that the server
 * itself waits for (LoadLibraryEx and GetExtensionVersion/GetFilterVersion
 * at load, TerminateExtension/TerminateFilter and FreeLibrary at unload),
 * as opposed to request calls, which have their own timeouts.
 *
 * Two things a DLL that never returns must not do to the server:
 *   - hang a load for ever: ih_dll_entry_bounded runs the load on a thread
 *     of its own and stops waiting after startup_time_limit (IIS's
 *     startupTimeLimit); the DLL then counts as not loaded;
 *   - hang a stop for ever: every such call is registered while it runs
 *     (ih_dll_entry_enter/leave), so the stop watchdog
 *     (stop_watchdog_win32.h) can name the DLL and entry point a stop is
 *     stuck in before it ends the process.
 * A call abandoned at load is never made again, and its DLL is never
 * unloaded: the thread still inside it cannot be taken out (TerminateThread
 * would leave the DLL's locks held; MSDN "TerminateThread"), and
 * FreeLibrary or DllMain(DLL_PROCESS_DETACH) would run code the stuck call
 * may still be using. Win32 only. */
#ifndef IH_DLL_ENTRY_WIN32_H
#define IH_DLL_ENTRY_WIN32_H

#include <windows.h>
#include <stddef.h>

/* One call in progress; lives where the caller says (its stack, or a
 * bounded call's job) from enter to leave. */
typedef struct ih_dll_entry {
  struct ih_dll_entry *prev, *next;
  const char *kind;            /* "extension", "filter" */
  const char *volatile entry;  /* "TerminateExtension", "GetFilterVersion", ... (static text) */
  char path[MAX_PATH * 3];     /* the DLL, as configured (UTF-8) */
  ULONGLONG since;             /* GetTickCount64 when it entered */
  DWORD thread;
  volatile LONG abandoned;     /* its waiter gave up (startup_time_limit) */
} ih_dll_entry;

/* Registers a call of entry in the DLL at path (copied) on this thread. */
void ih_dll_entry_enter(ih_dll_entry *e, const char *kind, const char *path, const char *entry);
/* The same call moves on to another entry point (e.g. GetExtensionVersion
 * after LoadLibraryEx). */
void ih_dll_entry_set(ih_dll_entry *e, const char *entry);
void ih_dll_entry_leave(ih_dll_entry *e);

/* The calls in progress that someone waits for (abandoned ones are not),
 * oldest first, as "TerminateExtension of extension C:\x.dll (for 3 s)"
 * joined with "; ", into out (always NUL-terminated). Returns how many. */
size_t ih_dll_entry_describe(char *out, size_t cap);

/* How many calls have been abandoned since the process started: their DLLs
 * must not be called again, DllMain(DLL_PROCESS_DETACH) included. */
LONG ih_dll_entry_abandoned(void);

/* ---- a load with a time limit ---- */

enum ih_bounded_result {
  IH_BOUNDED_DONE,        /* fn returned within the limit */
  IH_BOUNDED_NOT_STARTED, /* fn never began and never will: no thread (*error), or
                             the thread did not get to run within the limit (the
                             Windows loader busy, e.g. with another DllMain) */
  IH_BOUNDED_ABANDONED,   /* fn is still inside the DLL, in *where */
};

/* fn(e, arg) runs on the bounded call's thread, registered as e; it may
 * move e on with ih_dll_entry_set. */
typedef void (*ih_bounded_fn)(ih_dll_entry *e, void *arg);

/* Runs fn on a thread of its own (a 1 MB stack, as the extension pool's:
 * DLLs built for IIS expect at least 256 KB, KB Q189888) with a copy of
 * arg[0..arg_size), registered as a call of kind/path starting at entry,
 * and waits up to limit_ms for it.
 * DONE: fn's copy of arg is copied back into arg.
 * NOT_STARTED: *error says why (a Win32 error; WAIT_TIMEOUT when the
 * thread did not get to run in time); fn will not run.
 * ABANDONED: the call is marked abandoned and goes on with its own copy of
 * arg; *where is the entry point it was in. If fn ever returns, late(e,
 * copy) runs on that thread (it must not unload anything), then the copy
 * goes. late may be NULL. */
enum ih_bounded_result ih_dll_entry_bounded(const char *kind, const char *path, const char *entry, ih_bounded_fn fn,
                                            ih_bounded_fn late, void *arg, size_t arg_size, DWORD limit_ms,
                                            const char **where, DWORD *error);

#endif
