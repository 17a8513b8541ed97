/* ServerSupportFunction: the dispatcher and the codes small enough to live
 * here (session end, connection state, logging, tokens). Above the families
 * it hands codes to (isapi_send_win32.c, isapi_exec_win32.c,
 * isapi_map_win32.c), below the host, which puts the entry into every ECB
 * when a call starts. IIS 6 semantics; every code, supported or not, is in
 * docs/compatibility.md. A code we do not offer returns FALSE with the error
 * IIS documents for it and is logged once per DLL (IH2005). */
#include <windows.h>
#include <httpext.h>
#include <string.h>

#include "core/server_log.h"
#include "isapi/isapi_async_win32.h"
#include "isapi/isapi_call_win32.h"
#include "isapi/isapi_exec_win32.h"
#include "isapi/isapi_map_win32.h"
#include "isapi/isapi_send_win32.h"
#include "isapi/isapi_ssf_codes.h"
#include "isapi/isapi_ssf_win32.h"
#include "isapi/shared/isapi_guard_win32.h"

#define LOG_TEXT_MAX 4096

static HANDLE impersonation_token; /* the process's identity, as an impersonation token; ours to keep */

static BOOL out_bool(void *buf, BOOL value)
{
  if (!ih_isapi_writable(buf, sizeof(BOOL))) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  *(BOOL *)buf = value;
  return TRUE;
}

/* HSE_REQ_DONE_WITH_SESSION (ms525588): lpvBuffer may hold an HSE_STATUS_*
 * (KEEP_CONN honoured as any status: the connection decides) or be NULL. */
static BOOL done_with_session(isapi_call *call, LPVOID buf)
{
  uint32_t value = HSE_STATUS_SUCCESS;
  if (buf && ih_isapi_readable(buf, sizeof(DWORD)))
    value = *(const DWORD *)buf;
  enum ih_isapi_done_result r = ih_isapi_session_on_done(&call->session, buf ? &value : NULL);
  if (r == IH_DONE_REFUSED) {
    /* a second DONE is refused, never a second release (KB Q142658) */
    isapi_call_misuse(call, MISUSE_DONE_TWICE, "HSE_REQ_DONE_WITH_SESSION called twice, or without HSE_STATUS_PENDING");
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  if (r == IH_DONE_END_NOW)
    isapi_call_end(call); /* runs when this callback leaves */
  return TRUE;
}

/* HSE_REQ_IO_COMPLETION (ms524573): the callback for asynchronous
 * operations; the last call wins, NULL disables. */
static BOOL io_completion(isapi_call *call, LPVOID buf, LPDWORD type)
{
  call->io_completion = (PFN_HSE_IO_COMPLETION)(void (*)(void))buf;
  call->io_context = type;
  return TRUE;
}

/* HSE_REQ_ASYNC_READ_CLIENT (ms524596): lpdwDataType must say HSE_IO_ASYNC;
 * the completion reports the bytes read, 0 at the end of the body. */
static BOOL async_read_client(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type)
{
  if (!ih_isapi_writable(size, sizeof *size) || !type || !ih_isapi_readable(type, sizeof *type) ||
      *type != HSE_IO_ASYNC || !buf || !ih_isapi_writable(buf, *size)) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  if (!call->io_completion) {
    isapi_call_misuse(call, MISUSE_ASYNC_WITHOUT_CALLBACK,
                      "HSE_REQ_ASYNC_READ_CLIENT before HSE_REQ_IO_COMPLETION set a callback");
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  isapi_step step = { .kind = STEP_READ, .data = buf, .len = *size, .counts = TRUE };
  return isapi_async_start(call, &step, 1, call->io_completion, call->io_context);
}

/* HSE_APPEND_LOG_PARAMETER (ms524660): appended to cs-uri-query; several
 * calls accumulate. */
static BOOL append_log(isapi_call *call, LPVOID buf)
{
  size_t len;
  if (!buf || !ih_isapi_string(buf, LOG_TEXT_MAX, &len)) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  ih_conn_ext_log_append(call->conn, buf, len);
  return TRUE;
}

static void (*unhealthy_hook)(const char *dll, const char *reason, size_t len);

void ih_isapi_host_on_unhealthy(void (*fn)(const char *dll, const char *reason, size_t len)) { unhealthy_hook = fn; }

/* HSE_REQ_REPORT_UNHEALTHY (ms524715): IIS recycles the worker process;
 * here the reason goes to the operator, and in a worker process to the
 * hook, which tells the service (the pool recycles the worker). */
static BOOL report_unhealthy(isapi_call *call, LPVOID buf)
{
  size_t len = 0;
  const char *reason = buf && ih_isapi_string(buf, 512, &len) ? buf : "(no reason given)";
  if (reason != buf)
    len = strlen(reason);
  ih_log(IH_LOG_WARNING, IH_EV_EXT_UNHEALTHY, "extension %s reports itself unhealthy: %.*s", call->dll_path, (int)len,
         reason);
  if (unhealthy_hook)
    unhealthy_hook(call->dll_path, reason, len);
  return TRUE;
}

/* HSE_REQ_GET_IMPERSONATION_TOKEN (ms525991): the token of the request's
 * user. Requests are anonymous and run as the service's account, so it is
 * that identity; owned by the server, the DLL must not close it. */
static BOOL get_impersonation_token(LPVOID buf)
{
  if (!impersonation_token) {
    SetLastError(ERROR_NO_TOKEN);
    return FALSE;
  }
  if (!ih_isapi_writable(buf, sizeof(HANDLE))) {
    SetLastError(ERROR_INVALID_PARAMETER);
    return FALSE;
  }
  *(HANDLE *)buf = impersonation_token;
  return TRUE;
}

static BOOL unsupported(isapi_call *call, DWORD req)
{
  const ih_isapi_ssf_code *code = ih_isapi_ssf_lookup(req);
  DWORD err = code ? code->error : ERROR_INVALID_PARAMETER;
  if (call->dll && ih_isapi_dll_first_time(call->dll, req < IH_ISAPI_DLL_LOG_MISUSE ? req : IH_ISAPI_DLL_LOG_MISUSE - 1))
    ih_log(IH_LOG_WARNING, IH_EV_EXT_UNSUPPORTED,
           "extension %s asked for ServerSupportFunction %lu (%s), which IsapiHost does not offer; "
           "it returned FALSE with Win32 error %lu (reported once per DLL and code)",
           call->dll_path, req, code ? code->name : "unknown code", err);
  SetLastError(err);
  return FALSE;
}

BOOL WINAPI isapi_cb_server_support_function(HCONN hconn, DWORD req, LPVOID buf, LPDWORD size, LPDWORD type)
{
  isapi_call *call = isapi_call_enter(hconn);
  if (!call)
    return FALSE;
  BOOL ok;
  switch (req) {
  case HSE_REQ_SEND_RESPONSE_HEADER: ok = isapi_ssf_send_response_header(call, buf, size, type); break;
  case HSE_REQ_SEND_RESPONSE_HEADER_EX: ok = isapi_ssf_send_response_header_ex(call, buf); break;
  case HSE_REQ_SEND_URL_REDIRECT_RESP:
  case HSE_REQ_SEND_URL: ok = isapi_ssf_redirect(call, buf); break;
  case HSE_REQ_DONE_WITH_SESSION: ok = done_with_session(call, buf); break;
  case HSE_REQ_IO_COMPLETION: ok = io_completion(call, buf, type); break;
  case HSE_REQ_ASYNC_READ_CLIENT: ok = async_read_client(call, buf, size, type); break;
  case HSE_REQ_TRANSMIT_FILE: ok = isapi_ssf_transmit_file(call, buf); break;
  case HSE_REQ_VECTOR_SEND: ok = isapi_ssf_vector_send(call, buf); break;
  case HSE_APPEND_LOG_PARAMETER: ok = append_log(call, buf); break;
  case HSE_REQ_IS_KEEP_CONN: ok = out_bool(buf, ih_conn_ext_client_keeps_alive(call->conn)); break;
  case HSE_REQ_IS_CONNECTED: ok = out_bool(buf, ih_conn_ext_connected(call->conn)); break;
  case HSE_REQ_CLOSE_CONNECTION:
  case HSE_REQ_ABORTIVE_CLOSE:
    ih_conn_ext_close(call->conn, req == HSE_REQ_ABORTIVE_CLOSE);
    ok = TRUE;
    break;
  case HSE_REQ_CANCEL_IO:
    ih_conn_ext_cancel(call->conn);
    ok = TRUE;
    break;
  case HSE_REQ_SET_FLUSH_FLAG: ok = TRUE; break; /* every write is sent at once: nothing to flush */
  case HSE_REQ_REFRESH_ISAPI_ACL: ok = TRUE; break; /* no ACL cache to refresh (ms524306) */
  case HSE_REQ_IS_IN_PROCESS:
    if (ih_isapi_writable(buf, sizeof(DWORD))) {
      *(DWORD *)buf = HSE_APP_FLAG_IN_PROCESS;
      ok = TRUE;
    } else {
      SetLastError(ERROR_INVALID_PARAMETER);
      ok = FALSE;
    }
    break;
  case HSE_REQ_REPORT_UNHEALTHY: ok = report_unhealthy(call, buf); break;
  case HSE_REQ_GET_IMPERSONATION_TOKEN: ok = get_impersonation_token(buf); break;
  case HSE_REQ_MAP_URL_TO_PATH: ok = isapi_ssf_map_url_to_path(call, buf, size, type); break;
  case HSE_REQ_MAP_URL_TO_PATH_EX: ok = isapi_ssf_map_url_to_path_ex(call, buf, size, type); break;
  case HSE_REQ_MAP_UNICODE_URL_TO_PATH: ok = isapi_ssf_map_unicode_url_to_path(call, buf, size, type); break;
  case HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX: ok = isapi_ssf_map_unicode_url_to_path_ex(call, buf, size, type); break;
  case HSE_REQ_NORMALIZE_URL: ok = isapi_ssf_normalize_url(call, buf); break;
  case HSE_REQ_EXEC_URL: ok = isapi_ssf_exec_url(call, buf); break;
  case HSE_REQ_EXEC_UNICODE_URL: ok = isapi_ssf_exec_unicode_url(call, buf); break;
  case HSE_REQ_GET_EXEC_URL_STATUS: ok = isapi_ssf_get_exec_url_status(call, buf); break;
  case HSE_REQ_SEND_CUSTOM_ERROR: ok = isapi_ssf_send_custom_error(call, buf); break;
  default: ok = unsupported(call, req); break;
  }
  isapi_call_leave(call);
  return ok;
}

void isapi_ssf_init(void)
{
  HANDLE process_token;
  if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY | TOKEN_DUPLICATE | TOKEN_IMPERSONATE, &process_token)) {
    if (!DuplicateToken(process_token, SecurityImpersonation, &impersonation_token))
      impersonation_token = NULL;
    CloseHandle(process_token);
  }
}
