/* The extension DLL loader against real DLLs built for the target
 * architecture (tests/dlls): genuine entry points, one GetExtensionVersion
 * under concurrency, clear refusals, TerminateExtension at unload and never
 * while a request is in flight. */
#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <string.h>

#include "core/server_log.h"
#include "ih_test.h"
#include "isapi/isapi_dll_win32.h"
#include "support/win32_test_support.h"

static char dll_dir[MAX_PATH * 3];
static char log_text[8192];
static size_t log_len;

static void capture_log(void *ctx, enum ih_log_level level, const char *line, size_t len)
{
  (void)ctx;
  (void)level;
  if (log_len + len < sizeof log_text) {
    memcpy(log_text + log_len, line, len);
    log_len += len;
    log_text[log_len] = '\0';
  }
}

static void dll_path(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s\\%s", dll_dir, name); }

/* A minimal ECB whose callbacks record what the DLL sent. */
static char sent[1024];
static size_t sent_len;
static char status_sent[64];

static BOOL WINAPI cb_write(HCONN conn, LPVOID buf, LPDWORD bytes, DWORD flags)
{
  (void)conn;
  (void)flags;
  memcpy(sent + sent_len, buf, *bytes);
  sent_len += *bytes;
  return TRUE;
}

static BOOL WINAPI cb_ssf(HCONN conn, DWORD req, LPVOID buf, LPDWORD size, LPDWORD type)
{
  (void)conn;
  (void)size;
  (void)type;
  if (req != HSE_REQ_SEND_RESPONSE_HEADER_EX)
    return FALSE;
  HSE_SEND_HEADER_EX_INFO *hi = buf;
  snprintf(status_sent, sizeof status_sent, "%.*s", (int)hi->cchStatus, hi->pszStatus);
  memcpy(sent + sent_len, hi->pszHeader, hi->cchHeader);
  sent_len += hi->cchHeader;
  return TRUE;
}

static BOOL WINAPI cb_var(HCONN conn, LPSTR name, LPVOID buf, LPDWORD size)
{
  (void)conn;
  (void)name;
  (void)buf;
  (void)size;
  SetLastError(ERROR_INVALID_INDEX);
  return FALSE;
}

static BOOL WINAPI cb_read(HCONN conn, LPVOID buf, LPDWORD size)
{
  (void)conn;
  (void)buf;
  *size = 0;
  return TRUE;
}

static DWORD WINAPI acquire_concurrently(LPVOID arg)
{
  char err[512];
  ih_isapi_dll *d = ih_isapi_dll_acquire(arg, err, sizeof err);
  if (d)
    ih_isapi_dll_release(d);
  return d != NULL;
}

int main(void)
{
  ih_test_dll_dir(dll_dir, sizeof dll_dir);
  ih_log_set_sink(capture_log, NULL);

  IH_TEST("load once, even when first requests arrive together");
  char path[MAX_PATH * 3], err[512];
  dll_path(path, sizeof path, "ext_hello.dll");
  HANDLE threads[8];
  for (int i = 0; i < 8; i++)
    threads[i] = CreateThread(NULL, 0, acquire_concurrently, path, 0, NULL);
  WaitForMultipleObjects(8, threads, TRUE, INFINITE);
  for (int i = 0; i < 8; i++) {
    DWORD ok = 0;
    GetExitCodeThread(threads[i], &ok);
    IH_EQ_INT(ok, 1);
    CloseHandle(threads[i]);
  }
  int loads = 0;
  for (const char *p = strstr(log_text, "IH2001"); p; p = strstr(p + 1, "IH2001"))
    loads++;
  IH_EQ_INT(loads, 1);
  IH_CHECK(strstr(log_text, "\"IsapiHost test: hello\", ISAPI 6.0") != NULL);

  IH_TEST("HttpExtensionProc through a real ECB");
  ih_isapi_dll *d = ih_isapi_dll_acquire(path, err, sizeof err);
  if (IH_CHECK(d != NULL)) {
    IH_EQ_STR(ih_isapi_dll_description(d), "IsapiHost test: hello");
    EXTENSION_CONTROL_BLOCK ecb;
    memset(&ecb, 0, sizeof ecb);
    ecb.cbSize = sizeof ecb;
    ecb.dwVersion = MAKELONG(0, 6);
    ecb.lpszMethod = "GET";
    ecb.lpszQueryString = "";
    ecb.lpszPathInfo = "/x";
    ecb.lpszPathTranslated = "";
    ecb.lpszContentType = "";
    ecb.lpbData = (LPBYTE) "";
    ecb.GetServerVariable = cb_var;
    ecb.WriteClient = cb_write;
    ecb.ReadClient = cb_read;
    ecb.ServerSupportFunction = cb_ssf;
    DWORD rc = ih_isapi_dll_call(d, &ecb);
    IH_EQ_INT(rc, HSE_STATUS_SUCCESS_AND_KEEP_CONN);
    IH_EQ_STR(status_sent, "200 OK");
    IH_EQ_MEM(sent, sent_len, "Content-Type: text/plain\r\nContent-Length: 18\r\n\r\nhello from GET /x\n", 66);

    IH_TEST("no unload while a request is in flight");
    IH_EQ_INT(ih_isapi_dll_unload_all(), 1);
    IH_CHECK(strstr(log_text, "IH2004") != NULL);
    IH_EQ_INT(GetEnvironmentVariableA("IH_TEST_EXT_HELLO_TERMINATED", err, sizeof err), 0);
    ih_isapi_dll_release(d);
  }

  IH_TEST("unload calls TerminateExtension(HSE_TERM_MUST_UNLOAD)");
  IH_EQ_INT(ih_isapi_dll_unload_all(), 0);
  DWORD n = GetEnvironmentVariableA("IH_TEST_EXT_HELLO_TERMINATED", err, sizeof err);
  IH_CHECK(n > 0 && strcmp(err, "2") == 0);
  IH_CHECK(strstr(log_text, "IH2003") != NULL);
  d = ih_isapi_dll_acquire(path, err, sizeof err); /* loads again after an unload */
  IH_CHECK(d != NULL);
  if (d)
    ih_isapi_dll_release(d);

  IH_TEST("refusals name the DLL and the Win32 error");
  dll_path(path, sizeof path, "ext_refuse.dll");
  IH_CHECK(ih_isapi_dll_acquire(path, err, sizeof err) == NULL);
  IH_CHECK(strstr(err, "ext_refuse.dll: GetExtensionVersion returned FALSE (Win32 error 5)") != NULL);
  dll_path(path, sizeof path, "ext_noproc.dll");
  IH_CHECK(ih_isapi_dll_acquire(path, err, sizeof err) == NULL);
  IH_CHECK(strstr(err, "does not export HttpExtensionProc (Win32 error 127)") != NULL);
  dll_path(path, sizeof path, "ext_missing.dll");
  IH_CHECK(ih_isapi_dll_acquire(path, err, sizeof err) == NULL);
  IH_CHECK(strstr(err, "ext_missing.dll: cannot load the DLL (Win32 error 126)") != NULL);
  IH_CHECK(strstr(log_text, "IH2002") != NULL);
  ih_isapi_dll_unload_all();
  ih_log_set_sink(NULL, NULL);
  return ih_test_finish();
}
