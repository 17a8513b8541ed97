/* Crash isolation for calls into extension DLLs: an access violation (or
 * any other fault) inside a guarded call is turned into an error return on
 * that thread, so a faulting DLL costs one request, not the server. As with
 * IIS, the DLL's own state (locks, heap) may be inconsistent afterwards; the
 * fault is logged so an operator can act. Win32 only. */
#ifndef IH_ISAPI_GUARD_WIN32_H
#define IH_ISAPI_GUARD_WIN32_H

#include <windows.h>
#include <httpext.h>

/* Installs the vectored exception handler (once, at start). */
void ih_isapi_guard_install(void);

/* Calls HttpExtensionProc / GetExtensionVersion under the guard. On a fault
 * they return FALSE / HSE_STATUS_ERROR and set *fault_code (else 0). */
DWORD ih_isapi_guarded_proc(PFN_HTTPEXTENSIONPROC proc, EXTENSION_CONTROL_BLOCK *ecb, DWORD *fault_code,
                            void **fault_address);
BOOL ih_isapi_guarded_version(PFN_GETEXTENSIONVERSION fn, HSE_VERSION_INFO *info, DWORD *fault_code,
                              void **fault_address);

#endif
