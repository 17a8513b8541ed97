/* Sample ISAPI extension shipped with IsapiHost: a page showing what an
 * extension sees (ECB fields and server variables) and echoing a form POST
 * read with ReadClient. Built like any IIS extension: only httpext.h. */
#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <string.h>

#define EXPORT __declspec(dllexport)

BOOL EXPORT WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  strcpy(ver->lpszExtensionDesc, "IsapiHost sample: hello");
  return TRUE;
}

/* Appends text to out with <, >, & and quotes escaped. */
static size_t put_escaped(char *out, size_t pos, size_t cap, const char *text)
{
  for (; *text && pos + 7 < cap; text++) {
    const char *rep = *text == '<' ? "&lt;" : *text == '>' ? "&gt;" : *text == '&' ? "&amp;" : *text == '"' ? "&quot;" : NULL;
    if (rep) {
      memcpy(out + pos, rep, strlen(rep));
      pos += strlen(rep);
    } else {
      out[pos++] = *text;
    }
  }
  out[pos] = '\0';
  return pos;
}

static size_t put(char *out, size_t pos, size_t cap, const char *text)
{
  size_t n = strlen(text);
  if (pos + n >= cap)
    n = cap - pos - 1;
  memcpy(out + pos, text, n);
  out[pos + n] = '\0';
  return pos + n;
}

static size_t put_var(EXTENSION_CONTROL_BLOCK *ecb, char *out, size_t pos, size_t cap, const char *name)
{
  char value[1024];
  DWORD size = sizeof value;
  if (!ecb->GetServerVariable(ecb->ConnID, (LPSTR)name, value, &size))
    strcpy(value, "(not set)");
  pos = put(out, pos, cap, "<tr><th>");
  pos = put(out, pos, cap, name);
  pos = put(out, pos, cap, "</th><td>");
  pos = put_escaped(out, pos, cap, value);
  return put(out, pos, cap, "</td></tr>\n");
}

DWORD EXPORT WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  static char page[16384];
  char posted[2048] = "";
  size_t have = 0;
  if (ecb->cbAvailable) {
    have = ecb->cbAvailable < sizeof posted - 1 ? ecb->cbAvailable : sizeof posted - 1;
    memcpy(posted, ecb->lpbData, have);
  }
  while (have < sizeof posted - 1 && ecb->cbTotalBytes > ecb->cbAvailable) {
    DWORD n = (DWORD)(sizeof posted - 1 - have);
    if (!ecb->ReadClient(ecb->ConnID, posted + have, &n) || n == 0)
      break;
    have += n;
  }
  posted[have] = '\0';

  size_t pos = 0, cap = sizeof page;
  pos = put(page, pos, cap,
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Hello from ISAPI</title>"
            "<link rel=\"stylesheet\" href=\"/style.css\"></head><body><h1>Hello from an ISAPI extension</h1>\n"
            "<p>This page was written by <code>hello.dll</code> through <code>HttpExtensionProc</code>, "
            "mapped to <code>.isa</code> files.</p><table>\n");
  static const char *const vars[] = { "REQUEST_METHOD", "URL", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR",
                                      "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE",
                                      "HTTP_USER_AGENT", "INSTANCE_ID" };
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    pos = put_var(ecb, page, pos, cap, vars[i]);
  pos = put(page, pos, cap, "</table>\n<form method=\"post\"><input name=\"message\" placeholder=\"say something\">"
                            "<button>POST it</button></form>\n");
  if (have) {
    pos = put(page, pos, cap, "<p>You posted: <code>");
    pos = put_escaped(page, pos, cap, posted);
    pos = put(page, pos, cap, "</code></p>\n");
  }
  pos = put(page, pos, cap, "<p><a href=\"/\">Back to the sample site</a></p></body></html>\n");

  char headers[128];
  snprintf(headers, sizeof headers, "Content-Type: text/html; charset=utf-8\r\nContent-Length: %u\r\n\r\n",
           (unsigned)pos);
  HSE_SEND_HEADER_EX_INFO hi = { "200 OK", headers, 6, (DWORD)strlen(headers), TRUE };
  if (!ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL))
    return HSE_STATUS_ERROR;
  DWORD n = (DWORD)pos;
  if (!ecb->WriteClient(ecb->ConnID, page, &n, HSE_IO_SYNC))
    return HSE_STATUS_ERROR;
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}
