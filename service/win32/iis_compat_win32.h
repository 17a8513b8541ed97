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
 * only DLLs that insist on finding IIS will not. Returns which values it
 * created (IH_IIS_COMPAT_*), for an installer to remove them again. */
unsigned ih_iis_compat_init(void);
/* The values ih_iis_compat_init reports as created (bit 0 MajorVersion,
 * bit 1 MinorVersion). */
#define IH_IIS_COMPAT_MAJOR 1u
#define IH_IIS_COMPAT_MINOR 2u
/* Uninstall: removes the values in created that still hold what we wrote,
 * then W3SVC\Parameters and W3SVC if nothing else is left in them (a real
 * IIS's key always has more). Returns 0 or the Win32 error. */
int ih_iis_compat_remove(unsigned created);

#endif
