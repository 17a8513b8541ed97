/* The portable decisions of shadow copies (docs/pools.md#shadow-copies):
 * what a worker's shadow directory is called, which directory names are a
 * worker's (and of which process), and whether a DLL's original file has
 * changed since it was copied. The copying, the stat calls and the
 * directories themselves are Win32 (isapi_dll_shadow_win32.h). */
#ifndef IH_ISAPI_DLL_SHADOW_H
#define IH_ISAPI_DLL_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The directory (under %TEMP%\isapihost-shadow\) a worker copies its DLLs
 * into: "<pool>-<pid>". A pool name is letters, digits, '.', '_' and '-'
 * (configuration.md); anything else is written as '_', so the name is
 * always a valid file name. Returns false when it does not fit in cap. */
bool ih_dll_shadow_dir_name(const char *pool, unsigned long pid, char *out, size_t cap);

/* The process id in a directory name made by ih_dll_shadow_dir_name (the
 * digits after the last '-'): false for any other name (".", "..", a file
 * someone else put there), which the stale sweep then leaves alone. */
bool ih_dll_shadow_dir_pid(const char *name, unsigned long *pid);

/* What identifies a version of a file: its last-write time (any unit,
 * compared for equality only) and its size. */
typedef struct ih_dll_stamp {
  uint64_t write_time;
  uint64_t size;
} ih_dll_stamp;

/* One DLL's original, watched since its copy was made. */
typedef struct ih_dll_watch {
  ih_dll_stamp copied;  /* the original when it was copied */
  ih_dll_stamp seen;    /* a different stamp seen at the last check, when seen_valid */
  bool seen_valid;
  bool reported;        /* the change was reported: never again in this process */
} ih_dll_watch;

enum ih_dll_watch_verdict {
  IH_DLL_WATCH_SAME,     /* the original is what was copied */
  IH_DLL_WATCH_SETTLING, /* it differs, but not yet twice the same way: a copy may be under way */
  IH_DLL_WATCH_CHANGED,  /* it differs, the same way twice in a row: report it (once) */
  IH_DLL_WATCH_GONE,     /* the original is not there: not a change (the copy keeps serving) */
  IH_DLL_WATCH_DONE,     /* reported before: nothing more to say */
};

/* One check of w against the original as it is now (exists, now). A
 * change is reported only when two checks in a row see the same new
 * stamp, so a new build still being written (its size or time moving) is
 * not taken, half-written, by the workers that replace this one. A deleted
 * original is GONE and forgets what was seen: a file put back later is
 * compared afresh (and, if it differs from the copy, is a change). */
enum ih_dll_watch_verdict ih_dll_watch_check(ih_dll_watch *w, bool exists, ih_dll_stamp now);

#endif
