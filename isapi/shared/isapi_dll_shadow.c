/* Shadow copies' portable decisions (see isapi_dll_shadow.h). */
#include "isapi/shared/isapi_dll_shadow.h"

#include <stdio.h>
#include <string.h>

bool ih_dll_shadow_dir_name(const char *pool, unsigned long pid, char *out, size_t cap)
{
  size_t n = 0;
  for (const char *p = pool; *p; p++) {
    char ch = *p;
    bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                 ch == '_' || ch == '-';
    if (n + 1 >= cap)
      return false;
    out[n++] = plain ? ch : '_';
  }
  if (n == 0) {
    if (cap < 2)
      return false;
    out[n++] = '_';
  }
  int w = snprintf(out + n, cap - n, "-%lu", pid);
  return w > 0 && (size_t)w < cap - n;
}

bool ih_dll_shadow_dir_pid(const char *name, unsigned long *pid)
{
  const char *dash = strrchr(name, '-');
  if (!dash || dash == name || !dash[1])
    return false;
  uint64_t v = 0;
  for (const char *p = dash + 1; *p; p++) {
    if (*p < '0' || *p > '9' || p - dash > 10)
      return false;
    v = v * 10u + (uint64_t)(*p - '0');
  }
  if (v == 0 || v > 0xffffffffUL)
    return false;
  *pid = (unsigned long)v;
  return true;
}

static bool same(ih_dll_stamp a, ih_dll_stamp b) { return a.write_time == b.write_time && a.size == b.size; }

enum ih_dll_watch_verdict ih_dll_watch_check(ih_dll_watch *w, bool exists, ih_dll_stamp now)
{
  if (w->reported)
    return IH_DLL_WATCH_DONE;
  if (!exists) {
    w->seen_valid = false;
    return IH_DLL_WATCH_GONE;
  }
  if (same(now, w->copied)) {
    w->seen_valid = false;
    return IH_DLL_WATCH_SAME;
  }
  if (!w->seen_valid || !same(now, w->seen)) {
    w->seen = now;
    w->seen_valid = true;
    return IH_DLL_WATCH_SETTLING;
  }
  w->reported = true;
  return IH_DLL_WATCH_CHANGED;
}
