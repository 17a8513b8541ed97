/* Test extension whose GetExtensionVersion faults (an access violation):
 * the request gets 500, the event names the DLL, and the server goes on. */

#include "ih_test_dll.h"

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  (void)ver;
  ih_test_fault(32);
  return TRUE;
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  (void)ecb;
  return HSE_STATUS_ERROR; /* never reached: the DLL never loads */
}
