/* Shared bits of the test extension DLLs. They use only the SDK's
 * httpext.h, like any DLL built for IIS. */
#ifndef IH_TEST_DLL_H
#define IH_TEST_DLL_H

#include <windows.h>
#include <httpext.h>
#include <string.h>

#include "ih_test_fault.h"

#define IH_EXPORT __declspec(dllexport)

/* Sends status + headers with SEND_RESPONSE_HEADER_EX. */
static inline BOOL ih_send_headers(EXTENSION_CONTROL_BLOCK *ecb, const char *status, const char *headers, BOOL keep)
{
  HSE_SEND_HEADER_EX_INFO hi;
  hi.pszStatus = status;
  hi.pszHeader = headers;
  hi.cchStatus = (DWORD)strlen(status);
  hi.cchHeader = (DWORD)strlen(headers);
  hi.fKeepConn = keep;
  return ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL);
}

static inline BOOL ih_write(EXTENSION_CONTROL_BLOCK *ecb, const char *text)
{
  DWORD n = (DWORD)strlen(text);
  return ecb->WriteClient(ecb->ConnID, (void *)text, &n, HSE_IO_SYNC);
}

#endif
