/* What the Win32-layer tests share: where the test DLLs are, a scratch
 * directory of the test's own, and the extension entry points as the
 * shared DLL loader (isapi/shared/isapi_dll_load_win32.h) is told them. */
#ifndef IH_WIN32_TEST_SUPPORT_H
#define IH_WIN32_TEST_SUPPORT_H

#include <stddef.h>

#include "isapi/shared/isapi_dll_load_win32.h"

/* The directory of the test DLLs (tests/dlls of the build: the test
 * program's directory's sibling "dlls"), as a plain full path, which is
 * what GetModuleHandle compares a loaded module's path with. */
void ih_test_dll_dir(char *out, size_t cap);

/* %TEMP%\<name>_<pid>, created: a directory no other test run uses. */
void ih_test_scratch_dir(char *out, size_t cap, const char *name);

/* An ISAPI extension: GetExtensionVersion, HttpExtensionProc,
 * TerminateExtension. */
extern const ih_dll_load_kind ih_test_extension_kind;

#endif
