/* The httpext.h and httpfilt.h values portable code needs, repeated here so
 * it needs no Windows header; both hosts' portable halves use them.
 * isapi_sdk_check_win32.c checks every one against the SDK headers at
 * compile time (a MinGW build fails if one differs). Portable: no
 * windows.h. Values: shared/reference/isapi-surface.md section 1. */
#ifndef IH_ISAPI_SDK_H
#define IH_ISAPI_SDK_H

/* ---- httpext.h ---- */

/* HttpExtensionProc return codes / DONE_WITH_SESSION statuses. */
#define IH_HSE_STATUS_SUCCESS 1u
#define IH_HSE_STATUS_SUCCESS_AND_KEEP_CONN 2u
#define IH_HSE_STATUS_PENDING 3u
#define IH_HSE_STATUS_ERROR 4u

/* HSE_URL_MAPEX_INFO.dwFlags (they equal the metabase AccessPerm bits
 * MD_ACCESS_READ/WRITE/EXECUTE/SSL/SCRIPT they come from). */
#define IH_HSE_URL_FLAGS_READ 0x1u
#define IH_HSE_URL_FLAGS_WRITE 0x2u
#define IH_HSE_URL_FLAGS_EXECUTE 0x4u
#define IH_HSE_URL_FLAGS_SSL 0x8u
#define IH_HSE_URL_FLAGS_SCRIPT 0x200u

/* ServerSupportFunction codes, X(name, value): each becomes IH_<name> (an
 * enum constant, ih_hse_req) and isapi_sdk_check_win32.c asserts every one
 * equals httpext.h's <name>, so the SSF table (isapi/isapi_ssf_codes.c),
 * which is built from these names, cannot carry a wrong number. Values:
 * httpext.h, HSE_REQ_BASE + n and HSE_REQ_END_RESERVED (1000) + n. */
#define IH_HSE_REQ_CODES(X)                                                                                  \
  X(HSE_REQ_SEND_URL_REDIRECT_RESP, 1)                                                                       \
  X(HSE_REQ_SEND_URL, 2)                                                                                     \
  X(HSE_REQ_SEND_RESPONSE_HEADER, 3)                                                                         \
  X(HSE_REQ_DONE_WITH_SESSION, 4)                                                                            \
  X(HSE_REQ_MAP_URL_TO_PATH, 1001)                                                                           \
  X(HSE_REQ_GET_SSPI_INFO, 1002)                                                                             \
  X(HSE_APPEND_LOG_PARAMETER, 1003)                                                                          \
  X(HSE_REQ_IO_COMPLETION, 1005)                                                                             \
  X(HSE_REQ_TRANSMIT_FILE, 1006)                                                                             \
  X(HSE_REQ_REFRESH_ISAPI_ACL, 1007)                                                                         \
  X(HSE_REQ_IS_KEEP_CONN, 1008)                                                                              \
  X(HSE_REQ_ASYNC_READ_CLIENT, 1010)                                                                         \
  X(HSE_REQ_GET_IMPERSONATION_TOKEN, 1011)                                                                   \
  X(HSE_REQ_MAP_URL_TO_PATH_EX, 1012)                                                                        \
  X(HSE_REQ_ABORTIVE_CLOSE, 1014)                                                                            \
  X(HSE_REQ_GET_CERT_INFO_EX, 1015)                                                                          \
  X(HSE_REQ_SEND_RESPONSE_HEADER_EX, 1016)                                                                   \
  X(HSE_REQ_CLOSE_CONNECTION, 1017)                                                                          \
  X(HSE_REQ_IS_CONNECTED, 1018)                                                                              \
  X(HSE_REQ_MAP_UNICODE_URL_TO_PATH, 1023)                                                                   \
  X(HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX, 1024)                                                                \
  X(HSE_REQ_EXEC_UNICODE_URL, 1025)                                                                          \
  X(HSE_REQ_EXEC_URL, 1026)                                                                                  \
  X(HSE_REQ_GET_EXEC_URL_STATUS, 1027)                                                                       \
  X(HSE_REQ_SEND_CUSTOM_ERROR, 1028)                                                                         \
  X(HSE_REQ_IS_IN_PROCESS, 1030)                                                                             \
  X(HSE_REQ_REPORT_UNHEALTHY, 1032)                                                                          \
  X(HSE_REQ_NORMALIZE_URL, 1033)                                                                             \
  X(HSE_REQ_VECTOR_SEND, 1037)                                                                               \
  X(HSE_REQ_GET_ANONYMOUS_TOKEN, 1038)                                                                       \
  X(HSE_REQ_GET_CACHE_INVALIDATION_CALLBACK, 1040)                                                           \
  X(HSE_REQ_GET_UNICODE_ANONYMOUS_TOKEN, 1041)                                                               \
  X(HSE_REQ_GET_TRACE_INFO, 1042)                                                                            \
  X(HSE_REQ_SET_FLUSH_FLAG, 1043)                                                                            \
  X(HSE_REQ_GET_TRACE_INFO_EX, 1044)                                                                         \
  X(HSE_REQ_RAISE_TRACE_EVENT, 1045)                                                                         \
  X(HSE_REQ_GET_CONFIG_OBJECT, 1046)                                                                         \
  X(HSE_REQ_GET_WORKER_PROCESS_SETTINGS, 1047)                                                               \
  X(HSE_REQ_GET_PROTOCOL_MANAGER_CUSTOM_INTERFACE_CALLBACK, 1048)                                            \
  X(HSE_REQ_CANCEL_IO, 1049)                                                                                 \
  X(HSE_REQ_GET_CHANNEL_BINDING_TOKEN, 1050)

/* Codes DLLs use that httpext.h does not define (so nothing to check them
 * against unless a header defines them): EXTENSION_TRIGGER, from IIS 5
 * (Apache mod_isapi.h keeps it as 1020). */
#define IH_HSE_REQ_LEGACY_CODES(X) X(HSE_REQ_EXTENSION_TRIGGER, 1020)

#define IH_HSE_REQ_ENUM_(name, value) IH_##name = value,
enum ih_hse_req { IH_HSE_REQ_CODES(IH_HSE_REQ_ENUM_) IH_HSE_REQ_LEGACY_CODES(IH_HSE_REQ_ENUM_) };
#undef IH_HSE_REQ_ENUM_

/* winerror.h: the errors of codes the SSF table does not offer. */
#define IH_ERROR_NOT_SUPPORTED 50u
#define IH_ERROR_INVALID_PARAMETER 87u
#define IH_ERROR_NO_DATA 232u

/* ---- httpfilt.h ---- */

#define IH_SF_NOTIFY_SECURE_PORT 0x00000001u
#define IH_SF_NOTIFY_NONSECURE_PORT 0x00000002u
#define IH_SF_NOTIFY_READ_RAW_DATA 0x00008000u
#define IH_SF_NOTIFY_PREPROC_HEADERS 0x00004000u
#define IH_SF_NOTIFY_AUTHENTICATION 0x00002000u
#define IH_SF_NOTIFY_URL_MAP 0x00001000u
#define IH_SF_NOTIFY_ACCESS_DENIED 0x00000800u
#define IH_SF_NOTIFY_SEND_RESPONSE 0x00000040u
#define IH_SF_NOTIFY_SEND_RAW_DATA 0x00000400u
#define IH_SF_NOTIFY_LOG 0x00000200u
#define IH_SF_NOTIFY_END_OF_REQUEST 0x00000080u
#define IH_SF_NOTIFY_END_OF_NET_SESSION 0x00000100u
#define IH_SF_NOTIFY_AUTH_COMPLETE 0x04000000u
#define IH_SF_NOTIFY_ORDER_HIGH 0x00080000u
#define IH_SF_NOTIFY_ORDER_MEDIUM 0x00040000u
#define IH_SF_NOTIFY_ORDER_LOW 0x00020000u
#define IH_SF_NOTIFY_ORDER_MASK (IH_SF_NOTIFY_ORDER_HIGH | IH_SF_NOTIFY_ORDER_MEDIUM | IH_SF_NOTIFY_ORDER_LOW)

#define IH_SF_STATUS_REQ_FINISHED 0x8000000u
#define IH_SF_STATUS_REQ_FINISHED_KEEP_CONN 0x8000001u
#define IH_SF_STATUS_REQ_NEXT_NOTIFICATION 0x8000002u
#define IH_SF_STATUS_REQ_HANDLED_NOTIFICATION 0x8000003u
#define IH_SF_STATUS_REQ_ERROR 0x8000004u
#define IH_SF_STATUS_REQ_READ_NEXT 0x8000005u

#define IH_SF_DENIED_LOGON 0x00000001u
#define IH_SF_DENIED_RESOURCE 0x00000002u
#define IH_SF_DENIED_FILTER 0x00000004u
#define IH_SF_DENIED_APPLICATION 0x00000008u
#define IH_SF_DENIED_BY_CONFIG 0x00010000u

#define IH_SF_MAX_USERNAME 257u
#define IH_SF_MAX_PASSWORD 257u

#endif
