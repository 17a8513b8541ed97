/* The filter host's Win32 half against real filter DLLs built for the
 * target architecture (tests/dlls/flt_*.c): loading through the genuine
 * entry points, refusals with their Win32 error, the chains' order by
 * priority, one module for a DLL that is both a filter and an extension,
 * the httpfilt.h structures both ways and the callbacks' refusals, the
 * retry of a filter that failed, and the stop. The HTTP pipeline is not
 * involved: notifications are delivered by calling the platform hook
 * directly, with payloads built here. */
#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/server_log.h"
#include "filters/filter_chain.h"
#include "filters/filter_headers.h"
#include "filters/filter_host_win32.h"
#include "server/conn.h"
#include "http/http_parse.h"
#include "ih_test.h"
#include "isapi/isapi_dll_win32.h"
#include "support/win32_test_support.h"

static char dll_dir[MAX_PATH * 3];
static char log_text[65536];
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

static int count_of(const char *hay, const char *needle)
{
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/* The line of the log that contains both a and b, or NULL. */
static const char *log_line_with(const char *a, const char *b)
{
  static char line[2048];
  for (const char *p = log_text; *p;) {
    const char *end = strchr(p, '\n');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    snprintf(line, sizeof line, "%.*s", (int)n, p);
    if (strstr(line, a) && strstr(line, b))
      return line;
    p += n + (end ? 1 : 0);
  }
  return NULL;
}

static ih_filter *find(ih_filter_table *t, const char *name)
{
  for (size_t i = 0; i < t->count; i++)
    if (strcmp(t->filters[i].conf->name, name) == 0)
      return &t->filters[i];
  ih_test_note("no filter %s", name);
  return NULL;
}

static void chain_names(const ih_filter_chain *ch, char *out, size_t cap)
{
  out[0] = '\0';
  for (size_t i = 0; ch && i < ch->count; i++) {
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s%s", i ? "," : "", ch->filters[i]->conf->name);
  }
}

static HMODULE module_by_path(const char *path)
{
  wchar_t w[MAX_PATH * 3];
  MultiByteToWideChar(CP_UTF8, 0, path, -1, w, MAX_PATH * 3);
  return GetModuleHandleW(w);
}

/* A request header block, as PREPROC_HEADERS gets it. */
static void request_block(ih_hdr_block *b)
{
  static const char req[] = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
  static ih_http_request_head head;
  ih_http_limits lim;
  ih_http_limits_default(&lim);
  IH_EQ_INT(ih_http_parse_request(req, sizeof req - 1, 0, &lim, &head), IH_PARSE_DONE);
  IH_EQ_INT(ih_hdr_load_request(b, &head), IH_HDR_OK);
}

static const char *header(const ih_hdr_block *b, const char *name)
{
  static char buf[1024];
  uint32_t n = sizeof buf;
  if (ih_hdr_get(b, name, buf, &n) != IH_HDR_OK)
    return "(none)";
  return buf;
}

/* ---- the extension side of flt_both.dll ---- */

static char ext_body[512];
static size_t ext_body_len;
static char filter_module_var[64];

static BOOL WINAPI ecb_write(HCONN conn, LPVOID buf, LPDWORD bytes, DWORD flags)
{
  (void)conn;
  (void)flags;
  if (ext_body_len + *bytes < sizeof ext_body) {
    memcpy(ext_body + ext_body_len, buf, *bytes);
    ext_body_len += *bytes;
  }
  return TRUE;
}

static BOOL WINAPI ecb_ssf(HCONN conn, DWORD req, LPVOID buf, LPDWORD size, LPDWORD type)
{
  (void)conn;
  (void)buf;
  (void)size;
  (void)type;
  return req == HSE_REQ_SEND_RESPONSE_HEADER_EX;
}

static BOOL WINAPI ecb_var(HCONN conn, LPSTR name, LPVOID buf, LPDWORD size)
{
  (void)conn;
  if (strcmp(name, "HTTP_X_FILTER_MODULE") != 0) {
    SetLastError(ERROR_INVALID_INDEX);
    return FALSE;
  }
  DWORD need = (DWORD)strlen(filter_module_var) + 1;
  if (*size < need) {
    *size = need;
    SetLastError(ERROR_INSUFFICIENT_BUFFER);
    return FALSE;
  }
  memcpy(buf, filter_module_var, need);
  *size = need;
  return TRUE;
}

static BOOL WINAPI ecb_read(HCONN conn, LPVOID buf, LPDWORD size)
{
  (void)conn;
  (void)buf;
  *size = 0;
  return TRUE;
}

static void call_extension(ih_isapi_dll *d)
{
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
  ecb.GetServerVariable = ecb_var;
  ecb.WriteClient = ecb_write;
  ecb.ReadClient = ecb_read;
  ecb.ServerSupportFunction = ecb_ssf;
  IH_EQ_INT(ih_isapi_dll_call(d, &ecb), HSE_STATUS_SUCCESS_AND_KEEP_CONN);
}

/* ---- the tests ---- */

static ih_platform platform = { .filter_call = ih_filter_host_call };

static void test_misuse(ih_filter_table *t, ih_filter_conn *fc)
{
  ih_filter *m = find(t, "misuse");
  if (!IH_CHECK(m && m->loaded))
    return;

  IH_TEST("PREPROC_HEADERS: bad arguments fail cleanly, with IIS's errors");
  ih_hdr_block b;
  request_block(&b);
  ih_fn_headers h = { .block = &b, .http_status = 0 };
  IH_EQ_INT(ih_filter_host_call(NULL, fc, m, IH_SF_NOTIFY_PREPROC_HEADERS, &h), IH_SF_STATUS_REQ_NEXT_NOTIFICATION);
  IH_EQ_STR(header(&b, "X-Misuse:"),
            "nullname=87 badbuf=87 sizequery=122 size=2 nohdr=1413 nocolon=87 cert=87 connid=87 ssl=232 code99=87 "
            "proxy=ok normalize=ok url=/a/cA thread=87");
  IH_CHECK(fc->contexts[m->slot] == (void *)(ULONG_PTR)0x1234); /* pFilterContext kept */
  IH_CHECK(!fc->in_notification);
  IH_CHECK(log_line_with("IH3005", "0x00001234, not an SF_STATUS_TYPE") != NULL);
  IH_CHECK(log_line_with("IH3005", "not the current notification's") != NULL);
  IH_CHECK(log_line_with("IH3005", "SF_REQ_SET_CERTIFICATE_INFO") != NULL);
  IH_CHECK(log_line_with("IH3005", "SF_REQ_GET_CONNID") != NULL);
  ih_hdr_free(&b);

  IH_TEST("a callback after the notification returned: FALSE, ERROR_INVALID_PARAMETER");
  DWORD(WINAPI * late)(void) = (DWORD(WINAPI *)(void))(void (*)(void))GetProcAddress(ih_filter_host_module(m), "LateCall");
  if (IH_CHECK(late != NULL))
    IH_EQ_INT(late(), ERROR_INVALID_PARAMETER);

  IH_TEST("READ_RAW_DATA: a buffer of the filter's own is taken");
  char data[16] = "hello";
  ih_fn_raw raw = { data, 5, sizeof data };
  IH_EQ_INT(ih_filter_host_call(NULL, fc, m, IH_SF_NOTIFY_READ_RAW_DATA, &raw), IH_SF_STATUS_REQ_NEXT_NOTIFICATION);
  IH_CHECK(raw.data != data);
  IH_EQ_MEM(raw.data, raw.len, "replaced", 8);

  IH_TEST("SEND_RAW_DATA: cbInData beyond our buffer is cut to it");
  ih_fn_raw sent = { data, 5, sizeof data };
  IH_EQ_INT(ih_filter_host_call(NULL, fc, m, IH_SF_NOTIFY_SEND_RAW_DATA, &sent), IH_SF_STATUS_REQ_NEXT_NOTIFICATION);
  IH_CHECK(sent.data == data);
  IH_EQ_INT(sent.len, sizeof data);
  IH_CHECK(log_line_with("IH3005", "cbInData 116 is larger than the buffer") != NULL);

  IH_TEST("URL_MAP: a path without its NUL is cut within cbPathBuff");
  char physical[32] = "C:\\www\\x";
  ih_fn_url_map map = { "/x", physical, sizeof physical };
  IH_EQ_INT(ih_filter_host_call(NULL, fc, m, IH_SF_NOTIFY_URL_MAP, &map), IH_SF_STATUS_REQ_NEXT_NOTIFICATION);
  IH_EQ_INT(strlen(physical), sizeof physical - 1);
  IH_CHECK(physical[0] == 'A' && physical[30] == 'A');
  IH_CHECK(log_line_with("IH3005", "pszPhysicalPath left without a NUL") != NULL);

  IH_TEST("AUTHENTICATION: in place, or copied from the filter's buffer");
  char user[IH_SF_MAX_USERNAME] = "", password[IH_SF_MAX_PASSWORD] = "";
  ih_fn_auth auth = { user, sizeof user, password, sizeof password };
  IH_EQ_INT(ih_filter_host_call(NULL, fc, m, IH_SF_NOTIFY_AUTHENTICATION, &auth), IH_SF_STATUS_REQ_NEXT_NOTIFICATION);
  IH_EQ_STR(user, "bob");
  IH_EQ_STR(password, "secret");

  IH_TEST("AUTH_COMPLETE: GetUserToken gives a handle the filter closes");
  request_block(&b);
  IH_EQ_INT(ih_filter_host_call(NULL, fc, m, IH_SF_NOTIFY_AUTH_COMPLETE, &h), IH_SF_STATUS_REQ_NEXT_NOTIFICATION);
  IH_EQ_STR(header(&b, "X-Token:"), "token=ok close=ok nullptr=87");
  ih_hdr_free(&b);

  IH_TEST("ACCESS_DENIED: strings are never NULL");
  ih_fn_denied denied = { "/x", NULL, IH_SF_DENIED_LOGON };
  IH_EQ_INT(ih_filter_host_call(NULL, fc, m, IH_SF_NOTIFY_ACCESS_DENIED, &denied),
            IH_SF_STATUS_REQ_HANDLED_NOTIFICATION);

  IH_TEST("LOG: replaced strings and numbers come back; an unreadable pointer is refused");
  ih_fn_log log = { "127.0.0.1", "", "a", "GET", "/x", "q=1", 200, 0, 10, 20, 1 };
  IH_EQ_INT(ih_filter_host_call(NULL, fc, m, IH_SF_NOTIFY_LOG, &log), IH_SF_STATUS_REQ_NEXT_NOTIFICATION);
  IH_EQ_STR(log.target, "/replaced");
  IH_EQ_STR(log.parameters, "");
  IH_EQ_STR(log.server_name, "a");
  IH_EQ_STR(log.client_host, "127.0.0.1");
  IH_EQ_INT(log.http_status, 299);
  IH_EQ_INT(log.bytes_sent, 10);
  IH_CHECK(log_line_with("IH3005", "HTTP_FILTER_LOG.pszServerName points at no readable string") != NULL);

  IH_TEST("END_OF_REQUEST: pvNotification NULL; SF_STATUS_REQ_ERROR keeps the filter's last error");
  IH_EQ_INT(ih_filter_host_call(NULL, fc, m, IH_SF_NOTIFY_END_OF_REQUEST, NULL), IH_SF_STATUS_REQ_ERROR);
  IH_EQ_INT(GetLastError(), 4321);

  IH_TEST("a fault in HttpFilterProc: IH3003, FAULTED, the process goes on");
  IH_EQ_INT(ih_filter_host_call(NULL, fc, m, IH_SF_NOTIFY_END_OF_NET_SESSION, NULL), IH_SF_STATUS_FAULTED);
  const char *line = log_line_with("IH3003", "HttpFilterProc(END_OF_NET_SESSION)");
  IH_CHECK(line && strstr(line, "ERROR") && strstr(line, "filter misuse") && strstr(line, "0xc0000005"));
  IH_CHECK(!fc->in_notification);
}

int main(void)
{
  ih_test_dll_dir(dll_dir, sizeof dll_dir);
  ih_log_set_sink(capture_log, NULL);

  char late_path[MAX_PATH * 3], none_path[MAX_PATH * 3], both_path[MAX_PATH * 3];
  snprintf(late_path, sizeof late_path, "%s\\flt_late.dll", dll_dir);
  snprintf(none_path, sizeof none_path, "%s\\flt_order_none.dll", dll_dir);
  snprintf(both_path, sizeof both_path, "%s\\flt_both.dll", dll_dir);
  DeleteFileA(late_path); /* a previous run's */
  SetEnvironmentVariableA("IH_TEST_FLT_TERMINATED_high", NULL);

  /* File order deliberately differs from run order. */
  char text[8192];
  const char *d = dll_dir;
  snprintf(text, sizeof text,
           "[filter s_high]\nsite = a\ndll = %s\\flt_order_high2.dll\n"
           "[filter g_low2]\ndll = %s\\flt_order_low2.dll\n"
           "[filter g_low]\ndll = %s\\flt_order_low.dll\n"
           "[filter g_none]\ndll = %s\\flt_order_none.dll\n"
           "[filter g_high]\ndll = %s\\flt_order_high.dll\n"
           "[filter s_med]\nsite = a\ndll = %s\\flt_order_medium.dll\n"
           "[filter late]\ndll = %s\non_load_error = skip\n"
           "[filter refused]\nsite = b\ndll = %s\\flt_refuse.dll\n"
           "[filter both]\nsite = b\ndll = %s\n"
           "[filter misuse]\nsite = c\ndll = %s\\flt_misuse.dll\n"
           "[site a]\nbindings = *:80\nroot = www\n"
           "[site b]\nbindings = *:81\nroot = www\n"
           "[site c]\nbindings = *:82\nroot = www\n",
           d, d, d, d, d, d, late_path, d, both_path, d);
  char err[512];
  ih_config *cfg = NULL;
  if (ih_config_parse(text, strlen(text), "t.ini", "", &cfg, err, sizeof err) != 0) {
    ih_test_note("config: %s", err);
    IH_CHECK(0);
    return ih_test_finish();
  }
  ih_server srv;
  IH_EQ_INT(ih_server_init(&srv, cfg, &platform), 0);

  IH_TEST("start: every filter loaded through GetFilterVersion, or refused with its reason");
  IH_EQ_INT(ih_filter_host_start(&srv), 0);
  ih_filter_table *t = ih_server_current(&srv)->filters;
  if (!IH_CHECK(t != NULL && t->count == 10))
    return ih_test_finish();
  ih_filter *g_high = find(t, "g_high"), *refused = find(t, "refused"), *late = find(t, "late");
  ih_filter *both = find(t, "both");
  if (!IH_CHECK(g_high && refused && late && both))
    return ih_test_finish();
  IH_CHECK(g_high->loaded);
  IH_EQ_INT(g_high->flags, IH_SF_NOTIFY_ORDER_HIGH | IH_SF_NOTIFY_NONSECURE_PORT | IH_SF_NOTIFY_PREPROC_HEADERS |
                               IH_SF_NOTIFY_SEND_RESPONSE | IH_SF_NOTIFY_END_OF_NET_SESSION);
  IH_CHECK(g_high->handle != NULL);
  IH_CHECK(!refused->loaded);
  IH_EQ_STR(refused->error, "GetFilterVersion returned FALSE (Win32 error 5)");
  IH_CHECK(!late->loaded);
  IH_EQ_STR(late->error, "cannot load the DLL (Win32 error 126)");
  IH_EQ_INT(count_of(log_text, "IH3001"), 8);
  const char *line = log_line_with("IH3001", "filter g_high loaded");
  IH_CHECK(line && strstr(line, "\"IsapiHost test: order high\"") &&
           strstr(line, "notifications: PREPROC_HEADERS SEND_RESPONSE END_OF_NET_SESSION; ports: NONSECURE; "
                        "priority HIGH") &&
           strstr(line, "(global)"));
  line = log_line_with("IH3001", "filter g_none loaded");
  IH_CHECK(line && strstr(line, "priority none"));
  line = log_line_with("IH3002", "filter refused");
  IH_CHECK(line && strstr(line, "ERROR") && strstr(line, "site b answers 503") && strstr(line, "Win32 error 5"));
  line = log_line_with("IH3002", "filter late");
  IH_CHECK(line && strstr(line, "requests are served without it") && strstr(line, "Win32 error 126"));

  IH_TEST("chains: no priority, HIGH, MEDIUM, LOW; global first at one priority; then file order");
  char names[512];
  const ih_site *a = &cfg->sites[0], *b = &cfg->sites[1];
  chain_names(ih_filter_chain_for(t, a), names, sizeof names);
  IH_EQ_STR(names, "g_none,g_high,s_high,s_med,g_low2,g_low");
  chain_names(ih_filter_chain_for(t, NULL), names, sizeof names);
  IH_EQ_STR(names, "g_none,g_high,g_low2,g_low");
  const ih_filter_chain *chain_b = ih_filter_chain_for(t, b);
  chain_names(chain_b, names, sizeof names);
  IH_EQ_STR(names, "g_none,g_high,g_low2,g_low,both");
  IH_CHECK(chain_b->blocked && chain_b->blocked_by && strcmp(chain_b->blocked_by, "refused") == 0);
  IH_CHECK(!ih_filter_chain_for(t, a)->blocked); /* "late" is skip */

  IH_TEST("HttpFilterProc in chain order, through the genuine structures");
  ih_filter_conn *fc = ih_filter_conn_new(t);
  if (!IH_CHECK(fc != NULL))
    return ih_test_finish();
  ih_hdr_block hb;
  request_block(&hb);
  ih_fn_headers h = { .block = &hb };
  const ih_filter_chain *chain_a = ih_filter_chain_for(t, a);
  for (size_t i = 0; i < chain_a->count; i++)
    IH_EQ_INT(ih_filter_host_call(NULL, fc, chain_a->filters[i], IH_SF_NOTIFY_PREPROC_HEADERS, &h),
              IH_SF_STATUS_REQ_NEXT_NOTIFICATION);
  IH_EQ_STR(header(&hb, "X-Filter-Order:"), "none, high, high2, medium, low2, low");
  ih_hdr_free(&hb);

  IH_TEST("a DLL that is a filter and an extension is one module");
  HMODULE filter_module = ih_filter_host_module(both);
  IH_CHECK(filter_module != NULL);
  IH_CHECK(module_by_path(both_path) == filter_module);
  request_block(&hb);
  IH_EQ_INT(ih_filter_host_call(NULL, fc, both, IH_SF_NOTIFY_PREPROC_HEADERS, &h), IH_SF_STATUS_REQ_NEXT_NOTIFICATION);
  char hex[32];
  snprintf(hex, sizeof hex, "%llx", (unsigned long long)(ULONG_PTR)filter_module);
  IH_EQ_STR(header(&hb, "X-Filter-Module:"), hex);
  snprintf(filter_module_var, sizeof filter_module_var, "%s", header(&hb, "X-Filter-Module:"));
  ih_hdr_free(&hb);
  ih_isapi_dll *ext = ih_isapi_dll_acquire(both_path, err, sizeof err);
  if (IH_CHECK(ext != NULL)) {
    call_extension(ext);
    char want[256];
    snprintf(want, sizeof want, "extension module=%s\nHTTP_X_FILTER_MODULE=%s\nfilter inits=1\n", hex, hex);
    IH_EQ_MEM(ext_body, ext_body_len, want, strlen(want));
    ih_isapi_dll_release(ext);
  }
  IH_EQ_INT(ih_isapi_dll_unload_all(), 0);
  IH_CHECK(module_by_path(both_path) == filter_module); /* the filter's reference keeps it mapped */

  test_misuse(t, fc);
  ih_filter_conn_free(fc);

  IH_TEST("a filter that failed is loaded by a retry and joins its chains");
  /* A reload is under way: its generation was rebound before the retry
   * and is published after it. */
  ih_config *cfg2 = NULL;
  IH_EQ_INT(ih_config_parse(text, strlen(text), "t.ini", "", &cfg2, err, sizeof err), 0);
  ih_generation *gen2 = cfg2 ? ih_server_generation_new(&srv, cfg2) : NULL;
  if (!IH_CHECK(gen2 != NULL) || !IH_EQ_INT(ih_filter_host_rebind(&srv, gen2, err, sizeof err), 0))
    return ih_test_finish();
  IH_CHECK(!find(gen2->filters, "late")->loaded);
  int refused_reports = count_of(log_text, "filter refused (");
  IH_EQ_INT(ih_filter_host_failed(), 2);
  IH_CHECK(CopyFileA(none_path, late_path, FALSE));
  ih_filter_host_retry(); /* on a thread of its own */
  /* The count is updated last, after the chains are rebuilt. */
  for (int i = 0; i < 500 && ih_filter_host_failed() != 1; i++)
    Sleep(20);
  IH_EQ_INT(ih_filter_host_failed(), 1); /* "refused" still refuses */
  IH_CHECK(late->loaded);
  chain_names(ih_filter_chain_for(t, a), names, sizeof names);
  IH_EQ_STR(names, "g_none,late,g_high,s_high,s_med,g_low2,g_low");
  IH_CHECK(log_line_with("IH3001", "filter late loaded") != NULL);
  IH_EQ_INT(count_of(log_text, "filter refused ("), refused_reports); /* the same failure is not reported again */

  IH_TEST("a reload published after the retry takes over what it loaded");
  HMODULE late_module = late->handle;
  ih_filter_host_publish(&srv, gen2); /* the first generation, and t with it, is freed */
  t = ih_server_current(&srv)->filters;
  IH_CHECK(ih_server_current(&srv) == gen2 && t == gen2->filters);
  late = find(t, "late");
  IH_CHECK(late->loaded && late->handle == late_module);
  chain_names(ih_filter_chain_for(t, &cfg2->sites[0]), names, sizeof names);
  IH_EQ_STR(names, "g_none,late,g_high,s_high,s_med,g_low2,g_low");
  IH_EQ_INT(count_of(log_text, "filter late loaded"), 1); /* not loaded a second time */
  IH_EQ_INT(ih_filter_host_failed(), 1);

  IH_TEST("stop with a connection left: nothing is unloaded");
  atomic_store(&srv.counters.connections_live, 1);
  ih_filter_host_stop(&srv);
  IH_CHECK(ih_server_current(&srv)->filters == t);
  line = log_line_with("IH3004", "still open after the drain");
  IH_CHECK(line && strstr(line, "WARNING") && strstr(line, "9 filter(s) left loaded"));
  IH_CHECK(module_by_path(both_path) == filter_module);
  IH_EQ_INT(GetEnvironmentVariableA("IH_TEST_FLT_TERMINATED_high", err, sizeof err), 0);

  IH_TEST("stop: TerminateFilter(0), FreeLibrary, the table freed");
  atomic_store(&srv.counters.connections_live, 0);
  ih_filter_host_stop(&srv);
  IH_CHECK(ih_server_current(&srv)->filters == NULL);
  DWORD n = GetEnvironmentVariableA("IH_TEST_FLT_TERMINATED_high", err, sizeof err);
  IH_CHECK(n > 0 && strcmp(err, "0") == 0);
  IH_CHECK(module_by_path(both_path) == NULL); /* both hosts' references gone: unmapped */
  IH_EQ_INT(count_of(log_text, "IH3004 filter"), 9);
  IH_CHECK(log_line_with("IH3004", "filter misuse") && strstr(log_line_with("IH3004", "filter misuse"),
                                                                  "exports no TerminateFilter"));
  IH_CHECK(log_line_with("IH3004", "filter g_high") && strstr(log_line_with("IH3004", "filter g_high"),
                                                                  "after TerminateFilter(0)"));
  IH_CHECK(DeleteFileA(late_path)); /* unloaded: the file is no longer locked */

  ih_server_destroy(&srv);
  ih_config_free(cfg);
  ih_log_set_sink(NULL, NULL);
  if (ih_test_failures() || getenv("IH_TEST_VERBOSE"))
    fputs(log_text, stdout);
  return ih_test_finish();
}
