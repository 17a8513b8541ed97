/* The ECB's data callbacks: GetServerVariable, WriteClient, ReadClient.
 *
 * Each enters the session through its HCONN (a stale or foreign one gets
 * FALSE + ERROR_INVALID_PARAMETER) and checks the pointers the DLL passes
 * before using them, so a wrong argument costs the DLL an error, not the
 * server its life. */
#include <windows.h>
#include <httpext.h>
#include <stdlib.h>
#include <string.h>

#include "isapi/isapi_async_win32.h"
#include "isapi/isapi_call_win32.h"
#include "isapi/isapi_ecb_win32.h"
#include "isapi/shared/isapi_guard_win32.h"

#define NAME_MAX_LEN 1024 /* longest variable name we look at */

static BOOL bad_pointer(isapi_call *call, const char *what)
{
  isapi_call_misuse(call, MISUSE_BAD_POINTER, what);
  SetLastError(ERROR_INVALID_PARAMETER);
  return FALSE;
}

BOOL WINAPI isapi_cb_get_server_variable(HCONN hconn, LPSTR name, LPVOID buf, LPDWORD size)
{
  isapi_call *call = isapi_call_enter(hconn);
  if (!call)
    return FALSE;
  BOOL ok = FALSE;
  size_t name_len;
  if (!ih_isapi_string(name, NAME_MAX_LEN, &name_len) || !ih_isapi_writable(size, sizeof *size)) {
    bad_pointer(call, "GetServerVariable with an unreadable name or size pointer");
    isapi_call_leave(call);
    return FALSE;
  }
  /* Size first, then the value into our memory, then one guarded copy:
   * a bad buffer faults in the copy, under the guard, holding no lock. */
  uint32_t need = 0;
  enum ih_var_status st = ih_isapi_get_var(&call->info, name, NULL, &need);
  if (st == IH_VAR_INSUFFICIENT_BUFFER && buf && *size >= need) {
    char *value = malloc(need);
    uint32_t n = need;
    if (value && ih_isapi_get_var(&call->info, name, value, &n) == IH_VAR_OK) {
      if (ih_isapi_writable(buf, n)) {
        memcpy(buf, value, n);
        *size = n;
        ok = TRUE;
      } else {
        bad_pointer(call, "GetServerVariable with an unwritable buffer");
      }
    } else {
      SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    }
    free(value);
  } else if (st == IH_VAR_INSUFFICIENT_BUFFER) {
    *size = need; /* a size query (NULL buffer) or too small: nothing written */
    SetLastError(ERROR_INSUFFICIENT_BUFFER);
  } else {
    /* INVALID_INDEX: unknown name, or a header the request does not carry */
    SetLastError(st == IH_VAR_NO_DATA ? ERROR_NO_DATA : ERROR_INVALID_INDEX);
  }
  isapi_call_leave(call);
  return ok;
}

BOOL WINAPI isapi_cb_write_client(HCONN hconn, LPVOID buf, LPDWORD bytes, DWORD flags)
{
  isapi_call *call = isapi_call_enter(hconn);
  if (!call)
    return FALSE;
  BOOL ok = FALSE;
  if (!ih_isapi_writable(bytes, sizeof *bytes) || !ih_isapi_readable(buf, *bytes)) {
    bad_pointer(call, "WriteClient with an unreadable buffer or byte count");
  } else if (flags & HSE_IO_ASYNC) {
    /* The DLL's buffer must stay valid until its completion runs (SDK). */
    if (!call->io_completion) {
      isapi_call_misuse(call, MISUSE_ASYNC_WITHOUT_CALLBACK,
                        "asynchronous WriteClient before HSE_REQ_IO_COMPLETION set a callback");
      SetLastError(ERROR_INVALID_PARAMETER);
    } else {
      isapi_step step = { .kind = STEP_WRITE, .data = buf, .len = *bytes, .counts = TRUE };
      ok = isapi_async_start(call, &step, 1, call->io_completion, call->io_context);
    }
  } else {
    call->responded = TRUE;
    int rc = ih_conn_ext_write(call->conn, buf, *bytes, NULL);
    ok = rc == IH_EXT_OK;
    if (!ok)
      isapi_set_ext_error(rc);
  }
  isapi_call_leave(call);
  return ok;
}

BOOL WINAPI isapi_cb_read_client(HCONN hconn, LPVOID buf, LPDWORD size)
{
  isapi_call *call = isapi_call_enter(hconn);
  if (!call)
    return FALSE;
  BOOL ok = FALSE;
  if (!ih_isapi_writable(size, sizeof *size) || !buf || !ih_isapi_writable(buf, *size)) {
    bad_pointer(call, "ReadClient with an unwritable buffer or size");
  } else if (call->no_conn_body) {
    *size = 0; /* a child's body was its parent's entity, all in lpbData */
    ok = TRUE;
  } else {
    size_t n = *size;
    int rc = ih_conn_ext_read(call->conn, buf, &n, NULL);
    if (rc == IH_EXT_OK) {
      *size = (DWORD)n; /* 0: the whole body has been read */
      ok = TRUE;
    } else {
      isapi_set_ext_error(rc);
    }
  }
  isapi_call_leave(call);
  return ok;
}
