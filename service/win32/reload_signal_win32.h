/* How `isapihost reload --name NAME` reaches a foreground server (`run
 * --name NAME`), which has no SCM to send PARAMCHANGE through: a named
 * auto-reset event, Local\IsapiHost.reload.NAME, that the server waits on.
 * Local: the session's namespace, where a console program may create
 * objects without SeCreateGlobalPrivilege. */
#ifndef IH_RELOAD_SIGNAL_WIN32_H
#define IH_RELOAD_SIGNAL_WIN32_H

#include <windows.h>

/* The server's end: the event for name (UTF-8), or NULL when it cannot be
 * created or another server already answers to that name (logged, IH1010
 * WARNING: that one gets the reloads). */
HANDLE ih_reload_signal_listen(const char *name);

/* The command's end. 0: signalled; 1: no foreground server answers to
 * name; -1: another error (GetLastError). */
int ih_reload_signal_send(const char *name);

#endif
