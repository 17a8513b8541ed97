/* Test "extension" without HttpExtensionProc: the host must refuse it. */
#include "ih_test_dll.h"

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  strcpy(ver->lpszExtensionDesc, "no HttpExtensionProc");
  return TRUE;
}
