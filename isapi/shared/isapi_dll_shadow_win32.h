/* Shadow copies of ISAPI DLLs in a worker process (docs/pools.md#shadow-copies).
 *
 * When on, the shared loader (isapi_dll_load_win32.c) does not load a
 * filter or extension DLL from the site but from a private copy made
 * just before LoadLibraryEx, in <shadow dir>\<n>\<file name> (a directory
 * per DLL: two DLLs of the same name in different sites never collide,
 * and each copy keeps its name, which DLLs that look at their own module
 * name see). The original is then never open, so a new build can be
 * copied over it, or it can be deleted, while the worker runs. The worker
 * checks the originals about once a second (ih_dll_shadow_changed) and
 * asks the service to recycle it when one changed.
 *
 * Off by default: only isapihost-worker.exe turns it on, for a pool with
 * shadow_copy = on. The service process never does, so its in-process
 * pools load DLLs in place as IIS does. Win32 only; the portable decisions
 * are in isapi_dll_shadow.h. */
#ifndef IH_ISAPI_DLL_SHADOW_WIN32_H
#define IH_ISAPI_DLL_SHADOW_WIN32_H

#include <stdbool.h>
#include <stddef.h>

/* Turns shadow copies on for this worker of pool: its directory is
 * %TEMP%\isapihost-shadow\<pool>-<pid>\ (isapi_dll_shadow.h). First removes
 * the directories there of processes that no longer run (workers that
 * crashed before they could remove their own; best effort, logged at
 * DEBUG). A directory that cannot be made is logged (IH4008) and shadow
 * copies stay off: DLLs are loaded in place. Returns whether they are on. */
bool ih_dll_shadow_start(const char *pool);

/* dir (UTF-8) becomes this process's shadow directory, made afresh (what
 * an earlier process of the same pid left there is removed), and copies
 * made before, elsewhere, are forgotten; NULL turns shadow copies off (the
 * default). False (logged as IH4008) when the directory cannot be made:
 * then they are off. */
bool ih_dll_load_set_shadow_dir(const char *dir);

/* For the loader, before LoadLibraryEx of original (UTF-8, as configured):
 * true with the copy's path in load_path when the DLL is to be loaded
 * from its shadow copy (made now, or the one made for an earlier load of
 * the same file in this process, so a DLL that is both filter and
 * extension stays one module); false to load original in place: shadow
 * copies are off, original is a bare name left to the loader's search, or
 * the copy could not be made (logged as IH4008, naming who). */
bool ih_dll_shadow_prepare(const char *original, const char *who, char *load_path, size_t cap);

/* About once a second, from the worker's reader loop: true, with its
 * original path in path, for a DLL whose original's last-write time or
 * size differ (twice in a row, so not while a copy is under way) from what
 * was copied; each DLL at most once in this process. A deleted original is
 * not a change: the worker keeps serving its copy. */
bool ih_dll_shadow_changed(char *path, size_t cap);

/* At a clean exit, after the DLLs were terminated and unloaded: removes
 * this process's shadow directory (what cannot be removed, such as a DLL
 * that stays mapped, is left for the stale sweep) and turns copies off. */
void ih_dll_shadow_stop(void);

#endif
