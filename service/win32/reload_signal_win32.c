/* The foreground server's reload request (see reload_signal_win32.h). */
#include "reload_signal_win32.h"

#include <stdio.h>

#include "core/server_log.h"

static BOOL event_name(const char *name, wchar_t *out, size_t cap)
{
  wchar_t wide[128];
  if (!MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, name, -1, wide, 128))
    return FALSE;
  int n = _snwprintf(out, cap, L"Local\\IsapiHost.reload.%ls", wide);
  return n > 0 && (size_t)n < cap;
}

HANDLE ih_reload_signal_listen(const char *name)
{
  wchar_t wname[160];
  if (!event_name(name, wname, 160))
    return NULL;
  HANDLE ev = CreateEventW(NULL, FALSE, FALSE, wname);
  if (!ev) {
    ih_log(IH_LOG_WARNING, IH_EV_RELOADED, "reload --name %s cannot reach this server: event not created (Win32 error %lu)",
           name, GetLastError());
    return NULL;
  }
  if (GetLastError() == ERROR_ALREADY_EXISTS) {
    CloseHandle(ev);
    ih_log(IH_LOG_WARNING, IH_EV_RELOADED,
           "another server already runs as %s: reload --name %s reaches that one, not this one", name, name);
    return NULL;
  }
  ih_log(IH_LOG_INFO, IH_EV_RELOADED, "running as %s: isapihost reload --name %s reloads the configuration", name,
         name);
  return ev;
}

int ih_reload_signal_send(const char *name)
{
  wchar_t wname[160];
  if (!event_name(name, wname, 160)) {
    SetLastError(ERROR_INVALID_NAME);
    return -1;
  }
  HANDLE ev = OpenEventW(EVENT_MODIFY_STATE, FALSE, wname);
  if (!ev)
    return GetLastError() == ERROR_FILE_NOT_FOUND ? 1 : -1;
  BOOL ok = SetEvent(ev);
  DWORD err = GetLastError();
  CloseHandle(ev);
  SetLastError(err);
  return ok ? 0 : -1;
}
