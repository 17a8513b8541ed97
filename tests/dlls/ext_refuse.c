/* Test extension whose GetExtensionVersion fails with ERROR_ACCESS_DENIED:
 * the host must log the DLL and the error and answer 500. */
#include "ih_test_dll.h"

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  (void)ver;
  SetLastError(ERROR_ACCESS_DENIED);
  return FALSE;
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  (void)ecb;
  return HSE_STATUS_ERROR; /* never called */
}
