/* Crash isolation for calls into extension DLLs: an access violation (or
 * any other fault) inside a guarded call is turned into an error return on
 * that thread, so a faulting DLL costs one request, not the server. As with
 * IIS, the DLL's own state (locks, heap) may be inconsistent afterwards; the
 * fault is logged so an operator can act. The same guard checks pointers a
 * DLL passes in before the host writes through them. Win32 only. */
#ifndef IH_ISAPI_GUARD_WIN32_H
#define IH_ISAPI_GUARD_WIN32_H

#include <windows.h>
#include <httpext.h>

/* Installs the vectored exception handler (once, at start). */
void ih_isapi_guard_install(void);

/* Runs fn(arg) under the guard. Returns 0, or the exception code of a fault
 * inside it (then *fault_address says where; fn did not finish). Nests. */
DWORD ih_isapi_guarded(void (*fn)(void *arg), void *arg, void **fault_address);

/* The entry points under the guard. On a fault they return FALSE /
 * HSE_STATUS_ERROR and set *fault_code (else 0). */
DWORD ih_isapi_guarded_proc(PFN_HTTPEXTENSIONPROC proc, EXTENSION_CONTROL_BLOCK *ecb, DWORD *fault_code,
                            void **fault_address);
DWORD ih_isapi_guarded_completion(PFN_HSE_IO_COMPLETION fn, EXTENSION_CONTROL_BLOCK *ecb, void *ctx, DWORD bytes,
                                  DWORD error, void **fault_address);
BOOL ih_isapi_guarded_terminate(PFN_TERMINATEEXTENSION fn, DWORD flags, DWORD *fault_code);

/* Pointer checks for what a DLL passes to a callback: TRUE when n bytes at
 * p can be read (written), touching every page under the guard. A NULL p
 * with n > 0 fails; n == 0 always succeeds. Writing probes rewrite the bytes
 * they touch with their own values. */
BOOL ih_isapi_readable(const void *p, size_t n);
BOOL ih_isapi_writable(void *p, size_t n);
/* Length of the NUL-terminated string at s, if readable and shorter than
 * max; FALSE otherwise. */
BOOL ih_isapi_string(const char *s, size_t max, size_t *len);
BOOL ih_isapi_wstring(const WCHAR *s, size_t max, size_t *len);

#endif
