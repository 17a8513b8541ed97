/* Internal to the filter host's Win32 files (filter_host_win32.c,
 * filter_callbacks_win32.c, filter_messages_win32.c): a loaded filter DLL, one HttpFilterProc call
 * in progress, and the callbacks handed to filters. */
#ifndef IH_FILTER_CALL_WIN32_H
#define IH_FILTER_CALL_WIN32_H

#include <windows.h>
#include <httpfilt.h>
#include <stdint.h>

#include "core/ih_compiler.h"
#include "filters/filter_chain.h"
#include "server/conn.h"

/* httpfilt.h declares the entry points but names no pointer types. */
typedef BOOL(WINAPI *flt_get_version_fn)(HTTP_FILTER_VERSION *ver);
typedef DWORD(WINAPI *flt_proc_fn)(HTTP_FILTER_CONTEXT *pfc, DWORD type, VOID *notification);
typedef BOOL(WINAPI *flt_terminate_fn)(DWORD flags);

/* ih_filter.handle of a loaded filter. */
typedef struct flt_dll {
  HMODULE module;
  flt_proc_fn proc;
  flt_terminate_fn terminate; /* optional export */
  DWORD filter_version;
  char description[SF_MAX_FILTER_DESC_LEN];
  volatile LONG logged; /* misuse kinds already reported (bits, flt_misuse) */
} flt_dll;

/* One HttpFilterProc call; HTTP_FILTER_CONTEXT.ServerContext points here.
 * Lives on the calling thread's stack for the duration of the call. */
typedef struct flt_call {
  HTTP_FILTER_CONTEXT *pfc;
  ih_conn *c;
  ih_filter_conn *fc;
  const ih_filter *f;
  flt_dll *dll;
  uint32_t type;        /* IH_SF_NOTIFY_* */
  void *payload;        /* the portable payload (filter_chain.h) */
  void *notification;   /* what pvNotification points at */
  DWORD rc;
} flt_call;

/* The call running on this thread (NULL outside HttpFilterProc): a
 * callback is honoured only for it, so a filter calling back after its
 * notification returned, or from a thread of its own, gets FALSE and
 * ERROR_INVALID_PARAMETER instead of touching a connection that may be
 * gone. Nests (saved and restored by the caller). */
extern __thread flt_call *flt_current;

/* Misuse kinds, each reported once per filter (IH3005). Unsupported
 * ServerSupportFunction codes use FLT_MISUSE_SSF_BASE + code. */
enum flt_misuse_kind {
  FLT_MISUSE_STATUS,          /* an unknown SF_STATUS_* return value */
  FLT_MISUSE_RAW_LEN,         /* cbInData beyond our buffer */
  FLT_MISUSE_BAD_RESULT,      /* an unusable pointer left in a notification structure */
  FLT_MISUSE_UNTERMINATED,    /* a string left without its NUL */
  FLT_MISUSE_BAD_POINTER,     /* a callback argument that cannot be read or written */
  FLT_MISUSE_WRONG_TIME,      /* a callback not valid in this notification */
  FLT_MISUSE_REFUSED,         /* a header text or response head the server refused */
  FLT_MISUSE_SSF_BASE = 16,   /* + SF_REQ_* code (codes above 14: 30) */
  FLT_MISUSE_SSF_OTHER = 30,
};
void flt_misuse(const flt_call *k, unsigned kind, const char *fmt, ...) IH_PRINTF(3, 4);

/* "notifications: PREPROC_HEADERS URL_MAP; ports: NONSECURE; priority HIGH"
 * from GetFilterVersion's dwFlags, into out (always NUL-terminated). */
void flt_describe_flags(uint32_t flags, char *out, size_t cap);

/* The callbacks of HTTP_FILTER_CONTEXT and of the notification structures
 * (httpfilt.h signatures). */
BOOL WINAPI flt_cb_get_server_variable(HTTP_FILTER_CONTEXT *pfc, LPSTR name, LPVOID buf, LPDWORD size);
BOOL WINAPI flt_cb_add_response_headers(HTTP_FILTER_CONTEXT *pfc, LPSTR headers, DWORD reserved);
BOOL WINAPI flt_cb_write_client(HTTP_FILTER_CONTEXT *pfc, LPVOID buf, LPDWORD bytes, DWORD reserved);
VOID *WINAPI flt_cb_alloc_mem(HTTP_FILTER_CONTEXT *pfc, DWORD size, DWORD reserved);
BOOL WINAPI flt_cb_server_support_function(HTTP_FILTER_CONTEXT *pfc, enum SF_REQ_TYPE req, PVOID data, ULONG_PTR ul1,
                                           ULONG_PTR ul2);
BOOL WINAPI flt_cb_get_header(HTTP_FILTER_CONTEXT *pfc, LPSTR name, LPVOID buf, LPDWORD size);
BOOL WINAPI flt_cb_set_header(HTTP_FILTER_CONTEXT *pfc, LPSTR name, LPSTR value);
BOOL WINAPI flt_cb_add_header(HTTP_FILTER_CONTEXT *pfc, LPSTR name, LPSTR value);
BOOL WINAPI flt_cb_get_user_token(HTTP_FILTER_CONTEXT *pfc, HANDLE *token);

/* Creates the process's impersonation token GetUserToken duplicates (once). */
void flt_token_init(void);

#endif
