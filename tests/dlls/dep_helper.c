/* A DLL an extension needs (ext_dep.c imports from it), found only next to
 * that extension: what a DLL loaded from a shadow copy cannot find
 * (tests/win32/test_dll_shadow_win32.c). Not an ISAPI DLL. */
#include <windows.h>

__declspec(dllexport) int dep_helper_answer(void) { return 42; }
