/* What extension DLLs built for IIS expect of the machine they run on,
 * beyond the ISAPI entry points: the registry values they probe to detect
 * IIS. (Winsock being initialised and big enough thread stacks are the
 * caller's and the thread pools' part: see main_win32.c and
 * isapi_host_win32.c.) */
#ifndef IH_IIS_COMPAT_WIN32_H
#define IH_IIS_COMPAT_WIN32_H

/* Called once at start-up, after the server log is up and before any
 * extension DLL can load. Ensures HKLM\SYSTEM\CurrentControlSet\Services\
 * W3SVC\Parameters has REG_DWORD MajorVersion = 6 and MinorVersion = 0 (the
 * IIS 6.0 IsapiHost emulates). Values that exist are never changed (a real
 * IIS may be installed); missing ones are created (INFO IH2009). If they
 * cannot be created, logs WARNING IH2009 and returns: the server still runs,
 * only DLLs that insist on finding IIS will not. */
void ih_iis_compat_init(void);

#endif
