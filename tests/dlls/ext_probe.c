/* Test extension that reports what DLLs built for IIS take for granted about
 * their host, for tests/integration/test_isapi_env.py. GetExtensionVersion
 * records, the way such DLLs find it out:
 *   winsock_in_init  1 if a socket can be created without this DLL calling
 *                    WSAStartup (the host must have); winsock_error is the
 *                    WSAGetLastError() of a failure (10093 WSANOTINITIALISED)
 *   major, minor     HKLM\SYSTEM\CurrentControlSet\Services\W3SVC\Parameters
 *                    MajorVersion / MinorVersion (RegOpenKeyExA +
 *                    RegQueryValueExA, no WOW64 flags), or "missing:<error>"
 *   stack_init       bytes reserved for the calling thread's stack
 * and HttpExtensionProc adds stack_request for the request thread.
 * IIS gave extension threads at least 256 KB (KB Q189888).
 * A query "vars=NAME,NAME,..." adds one line per name, as a DLL that asks
 * for a list of variables sees them: "var:NAME=ok:<bytes>" (the size
 * GetServerVariable reports, NUL included) or "var:NAME=error:<GetLastError>"
 * (1413 ERROR_INVALID_INDEX, 232 ERROR_NO_DATA, ...). */
#include <winsock2.h>

#include <stdio.h>

#include "ih_test_dll.h"

static int winsock_in_init;
static int winsock_error;
static char major[32], minor[32];
static SIZE_T stack_init;

/* Reservation of the current thread's stack: from the allocation base of the
 * region holding a local variable up to the TIB's StackBase (NT_TIB opens
 * the TEB; winnt.h's GetCurrentFiber reads it the same way). */
static SIZE_T stack_reservation(void)
{
  volatile char here = 0;
  MEMORY_BASIC_INFORMATION mbi;
  if (!VirtualQuery((const void *)&here, &mbi, sizeof mbi))
    return 0;
  /* mingw-w64 reads the TEB at a constant %gs/%fs offset, which GCC 12 at
   * -O2 takes for an out-of-bounds access (-Warray-bounds treats constant
   * addresses below 4 KiB as null-pointer offsets): a false positive. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
  const NT_TIB *tib = (const NT_TIB *)NtCurrentTeb();
#pragma GCC diagnostic pop
  return (SIZE_T)((const char *)tib->StackBase - (const char *)mbi.AllocationBase);
}

static void read_version(HKEY key, const char *name, char *out, size_t cap)
{
  DWORD value = 0, type = 0, size = sizeof value;
  LONG rc = RegQueryValueExA(key, name, NULL, &type, (BYTE *)&value, &size);
  if (rc != ERROR_SUCCESS)
    snprintf(out, cap, "missing:%ld", rc);
  else if (type != REG_DWORD)
    snprintf(out, cap, "type:%lu", type);
  else
    snprintf(out, cap, "%lu", value);
}

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
  if (s == INVALID_SOCKET) {
    winsock_error = WSAGetLastError();
  } else {
    winsock_in_init = 1;
    closesocket(s);
  }

  HKEY key;
  LONG rc = RegOpenKeyExA(HKEY_LOCAL_MACHINE, "SYSTEM\\CurrentControlSet\\Services\\W3SVC\\Parameters", 0,
                          KEY_QUERY_VALUE, &key);
  if (rc == ERROR_SUCCESS) {
    read_version(key, "MajorVersion", major, sizeof major);
    read_version(key, "MinorVersion", minor, sizeof minor);
    RegCloseKey(key);
  } else {
    snprintf(major, sizeof major, "missing:%ld", rc);
    snprintf(minor, sizeof minor, "missing:%ld", rc);
  }

  stack_init = stack_reservation();

  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  strcpy(ver->lpszExtensionDesc, "IsapiHost test: host environment probe");
  return TRUE;
}

/* Appends the "var:" lines for the comma-separated names in list. */
static int report_variables(EXTENSION_CONTROL_BLOCK *ecb, const char *list, char *out, size_t cap)
{
  int n = 0;
  while (*list && n >= 0 && (size_t)n < cap) {
    size_t len = strcspn(list, ",");
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), list);
    char value[512];
    DWORD size = sizeof value;
    if (ecb->GetServerVariable(ecb->ConnID, name, value, &size))
      n += snprintf(out + n, cap - (size_t)n, "var:%s=ok:%lu\n", name, (unsigned long)size);
    else
      n += snprintf(out + n, cap - (size_t)n, "var:%s=error:%lu\n", name, (unsigned long)GetLastError());
    list += len;
    if (*list == ',')
      list++;
  }
  return n;
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  char body[4096], headers[128];
  int n = snprintf(body, sizeof body,
                   "winsock_in_init=%d\nwinsock_error=%d\nmajor=%s\nminor=%s\nstack_init=%llu\nstack_request=%llu\n",
                   winsock_in_init, winsock_error, major, minor, (unsigned long long)stack_init,
                   (unsigned long long)stack_reservation());
  if (strncmp(ecb->lpszQueryString, "vars=", 5) == 0)
    n += report_variables(ecb, ecb->lpszQueryString + 5, body + n, sizeof body - (size_t)n);
  if ((size_t)n >= sizeof body)
    n = (int)sizeof body - 1; /* snprintf stopped at the end of body */
  snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n", n);
  if (!ih_send_headers(ecb, "200 OK", headers, TRUE))
    return HSE_STATUS_ERROR;
  DWORD len = (DWORD)n;
  if (!ecb->WriteClient(ecb->ConnID, body, &len, HSE_IO_SYNC))
    return HSE_STATUS_ERROR;
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}
