/* Test extension that reports every physical path the host hands it, the
 * way a DLL built for IIS reads them, for tests/integration/test_isapi_map.py:
 *   ecb_path_translated   ECB lpszPathTranslated
 *   PATH_TRANSLATED, SCRIPT_TRANSLATED, APPL_PHYSICAL_PATH, URL
 *                         GetServerVariable
 *   map                   HSE_REQ_MAP_URL_TO_PATH of the URL variable
 *   map_ex                HSE_REQ_MAP_URL_TO_PATH_EX of it (lpszPath)
 * and, when the query is "map=U" (U taken as it is, no decoding), map_arg and
 * map_arg_ex: the same two forms for U. A failed call reports
 * "error:<GetLastError()>". One "name=value" line each. */
#include <stdio.h>
#include <stdlib.h>

#include "ih_test_dll.h"

#define PATH_BUF 4096

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  strcpy(ver->lpszExtensionDesc, "IsapiHost test: physical paths");
  return TRUE;
}

static void line(char *body, size_t cap, const char *name, const char *value)
{
  size_t n = strlen(body);
  snprintf(body + n, cap - n, "%s=%s\n", name, value);
}

static void error_text(char *out, size_t cap) { snprintf(out, cap, "error:%lu", GetLastError()); }

static void variable(EXTENSION_CONTROL_BLOCK *ecb, const char *name, char *body, size_t cap)
{
  char value[PATH_BUF];
  DWORD size = sizeof value;
  if (!ecb->GetServerVariable(ecb->ConnID, (LPSTR)name, value, &size))
    error_text(value, sizeof value);
  line(body, cap, name, value);
}

/* MAP_URL_TO_PATH (in place) and _EX of url, reported as name and name_ex. */
static void map_both(EXTENSION_CONTROL_BLOCK *ecb, const char *url, const char *name, char *body, size_t cap)
{
  char path[PATH_BUF], key[64];
  snprintf(path, sizeof path, "%s", url);
  DWORD size = sizeof path;
  if (!ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_MAP_URL_TO_PATH, path, &size, NULL))
    error_text(path, sizeof path);
  line(body, cap, name, path);

  HSE_URL_MAPEX_INFO info;
  memset(&info, 0, sizeof info);
  char copy[PATH_BUF];
  snprintf(copy, sizeof copy, "%s", url);
  DWORD len = (DWORD)strlen(copy);
  if (!ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_MAP_URL_TO_PATH_EX, copy, &len, (DWORD *)(void *)&info))
    error_text(info.lpszPath, sizeof info.lpszPath);
  snprintf(key, sizeof key, "%s_ex", name);
  line(body, cap, key, info.lpszPath);
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  const size_t cap = 8 * PATH_BUF;
  char *body = malloc(cap);
  if (!body)
    return HSE_STATUS_ERROR;
  body[0] = '\0';
  line(body, cap, "ecb_path_translated", ecb->lpszPathTranslated);
  variable(ecb, "PATH_TRANSLATED", body, cap);
  variable(ecb, "SCRIPT_TRANSLATED", body, cap);
  variable(ecb, "APPL_PHYSICAL_PATH", body, cap);
  variable(ecb, "URL", body, cap);

  char url[PATH_BUF];
  DWORD size = sizeof url;
  if (ecb->GetServerVariable(ecb->ConnID, (LPSTR) "URL", url, &size))
    map_both(ecb, url, "map", body, cap);
  if (strncmp(ecb->lpszQueryString, "map=", 4) == 0)
    map_both(ecb, ecb->lpszQueryString + 4, "map_arg", body, cap);

  char headers[128];
  snprintf(headers, sizeof headers, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %u\r\n\r\n",
           (unsigned)strlen(body));
  BOOL sent = ih_send_headers(ecb, "200 OK", headers, TRUE) && ih_write(ecb, body);
  free(body);
  return sent ? HSE_STATUS_SUCCESS_AND_KEEP_CONN : HSE_STATUS_ERROR;
}
