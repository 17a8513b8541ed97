/* Test DLL that is both a filter and an extension, as many IIS add-ons
 * are. The filter adds "X-Filter-Module: <its HMODULE>" to each request
 * (PREPROC_HEADERS); the extension answers its own HMODULE, the
 * HTTP_X_FILTER_MODULE variable and how many times GetFilterVersion ran in
 * its copy of the globals. One module: the two HMODULEs are equal and the
 * count is 1; two copies of the DLL would answer 0. */
#include <httpext.h>

#include "ih_test_flt.h"

static HMODULE self;
static volatile LONG filter_inits;

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
  (void)reserved;
  if (reason == DLL_PROCESS_ATTACH)
    self = instance;
  return TRUE;
}

IH_EXPORT BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *ver)
{
  InterlockedIncrement(&filter_inits);
  ih_flt_version(ver, "IsapiHost test: filter and extension",
                 SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_NONSECURE_PORT | SF_NOTIFY_PREPROC_HEADERS);
  return TRUE;
}

IH_EXPORT DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD type, VOID *notification)
{
  if (type == SF_NOTIFY_PREPROC_HEADERS) {
    HTTP_FILTER_PREPROC_HEADERS *h = notification;
    char hex[32];
    snprintf(hex, sizeof hex, "%llx", (unsigned long long)(ULONG_PTR)self);
    if (!h->AddHeader(pfc, "X-Filter-Module:", hex))
      return SF_STATUS_REQ_ERROR;
  }
  return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  snprintf(ver->lpszExtensionDesc, sizeof ver->lpszExtensionDesc, "IsapiHost test: filter and extension");
  return TRUE;
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  char var[64] = "";
  DWORD n = sizeof var;
  if (!ecb->GetServerVariable(ecb->ConnID, "HTTP_X_FILTER_MODULE", var, &n))
    snprintf(var, sizeof var, "(error %lu)", GetLastError());
  char body[256];
  int len = snprintf(body, sizeof body, "extension module=%llx\nHTTP_X_FILTER_MODULE=%s\nfilter inits=%ld\n",
                     (unsigned long long)(ULONG_PTR)self, var, (long)filter_inits);
  char headers[128];
  snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n", len);
  HSE_SEND_HEADER_EX_INFO hi;
  hi.pszStatus = "200 OK";
  hi.cchStatus = 6;
  hi.pszHeader = headers;
  hi.cchHeader = (DWORD)strlen(headers);
  hi.fKeepConn = TRUE;
  if (!ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL))
    return HSE_STATUS_ERROR;
  DWORD w = (DWORD)len;
  if (!ecb->WriteClient(ecb->ConnID, body, &w, HSE_IO_SYNC))
    return HSE_STATUS_ERROR;
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}
