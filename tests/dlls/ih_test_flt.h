/* Shared bits of the test filter DLLs. They use only the SDK's httpfilt.h
 * (and httpext.h for a DLL that is also an extension), like any filter
 * built for IIS. */
#ifndef IH_TEST_FLT_H
#define IH_TEST_FLT_H

#include <windows.h>
#include <httpfilt.h>
#include <stdio.h>
#include <string.h>

#include "ih_test_fault.h"

#define IH_EXPORT __declspec(dllexport)

/* Fills the version structure as filters do. */
static inline void ih_flt_version(HTTP_FILTER_VERSION *ver, const char *desc, DWORD flags)
{
  ver->dwFilterVersion = HTTP_FILTER_REVISION;
  snprintf(ver->lpszFilterDesc, sizeof ver->lpszFilterDesc, "%s", desc);
  ver->dwFlags = flags;
}

#endif
