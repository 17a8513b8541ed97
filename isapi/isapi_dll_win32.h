/* ISAPI extension DLLs through their genuine entry points: LoadLibraryEx,
 * GetExtensionVersion (once, under a per-DLL lock), HttpExtensionProc,
 * TerminateExtension(HSE_TERM_MUST_UNLOAD) and FreeLibrary only when no
 * request is in flight (Apache's CVE-2010-0425 unloaded under live
 * callbacks). Win32 only. */
#ifndef IH_ISAPI_DLL_WIN32_H
#define IH_ISAPI_DLL_WIN32_H

#include <windows.h>
#include <httpext.h>
#include <stddef.h>

typedef struct ih_isapi_dll ih_isapi_dll;

/* The extension at path (UTF-8), loaded on first use; concurrent first
 * callers wait for the one GetExtensionVersion call. Counts one request in
 * flight until ih_isapi_dll_release. NULL when the DLL is not usable: the
 * reason, naming the DLL and the Win32 error, is written to err and logged
 * (IH2002). A failed load is retried on a later request, as IIS does. */
ih_isapi_dll *ih_isapi_dll_acquire(const char *path, char *err, size_t err_cap);
void ih_isapi_dll_release(ih_isapi_dll *dll);
/* HttpExtensionProc under the crash guard: a fault is logged (IH2006) and
 * returned as HSE_STATUS_ERROR. */
DWORD ih_isapi_dll_call(ih_isapi_dll *dll, EXTENSION_CONTROL_BLOCK *ecb);
const char *ih_isapi_dll_path(const ih_isapi_dll *dll);
/* TRUE the first time key is seen for this DLL: messages logged "once per
 * DLL" (unsupported ServerSupportFunction codes use their code as the key,
 * misuse kinds IH_ISAPI_DLL_LOG_MISUSE + n). */
#define IH_ISAPI_DLL_LOG_KEYS 2112
#define IH_ISAPI_DLL_LOG_MISUSE 2048
BOOL ih_isapi_dll_first_time(ih_isapi_dll *dll, unsigned key);
const char *ih_isapi_dll_description(const ih_isapi_dll *dll);

/* Terminates and unloads every DLL with nothing in flight (IH2003); a DLL
 * still in use is left loaded and reported (IH2004). Returns how many were
 * left. Called at stop, after requests have drained. */
int ih_isapi_dll_unload_all(void);

#endif
