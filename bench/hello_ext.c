/*
 * hello_ext.c - the benchmark's hello-world ISAPI extension (bench/README.md).
 *
 * Built like any IIS extension DLL: only windows.h and httpext.h, undecorated
 * exports (-Wl,--kill-at). Every request gets "200 OK" with Content-Type and
 * Content-Length through HSE_REQ_SEND_RESPONSE_HEADER_EX (fKeepConn TRUE),
 * then the body through one synchronous WriteClient, and the call returns
 * HSE_STATUS_SUCCESS_AND_KEEP_CONN.
 *
 * The body is byte for byte the 1,024-byte index.html that bench/run.sh
 * writes for the static and bare targets (run.sh checks it with cmp), so all
 * three send the same body size. Keep BODY_HEAD, BODY_TAIL and BODY_SIZE in
 * step with html_head, html_tail and the size in run.sh.
 */
#include <windows.h>
#include <httpext.h>

#define EXPORT __declspec(dllexport)

#define BODY_SIZE 1024
#define BODY_HEAD "<!DOCTYPE html><html><head><title>IsapiHost bench</title></head><body><p>"
#define BODY_TAIL "</p></body></html>\n"
#define STR_(x) #x
#define STR(x) STR_(x)
#define HEADERS "Content-Type: text/html\r\nContent-Length: " STR(BODY_SIZE) "\r\n\r\n"

static char body[BODY_SIZE];

BOOL EXPORT WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  static const char desc[] = "IsapiHost bench: hello";
  const DWORD head = sizeof BODY_HEAD - 1, tail = sizeof BODY_TAIL - 1;

  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  CopyMemory(ver->lpszExtensionDesc, desc, sizeof desc);
  CopyMemory(body, BODY_HEAD, head);
  FillMemory(body + head, BODY_SIZE - head - tail, 'x');
  CopyMemory(body + BODY_SIZE - tail, BODY_TAIL, tail);
  return TRUE;
}

DWORD EXPORT WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  HSE_SEND_HEADER_EX_INFO hi = { "200 OK", HEADERS, sizeof "200 OK" - 1, sizeof HEADERS - 1, TRUE };
  DWORD n = BODY_SIZE;

  if (!ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL))
    return HSE_STATUS_ERROR;
  if (!ecb->WriteClient(ecb->ConnID, body, &n, HSE_IO_SYNC))
    return HSE_STATUS_ERROR;
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}

BOOL EXPORT WINAPI TerminateExtension(DWORD flags)
{
  (void)flags;
  return TRUE;
}
