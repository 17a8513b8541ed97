/* The ServerSupportFunction code table (see isapi_ssf_codes.h). Values are
 * httpext.h's (identical in the Windows SDK), by name from isapi_sdk.h;
 * errors for codes not offered:
 * ERROR_NO_DATA (232) where the data does not exist here (no SSPI, no TLS
 * client certificate, no anonymous-user configuration), ERROR_NOT_SUPPORTED
 * (50) for IIS 7 pipeline and tracing internals, ERROR_INVALID_PARAMETER
 * (87) for legacy codes IIS 6 itself refuses. */
#include "isapi/isapi_ssf_codes.h"
#include "isapi/shared/isapi_sdk.h"

#define NO_DATA IH_ERROR_NO_DATA
#define NOT_SUPPORTED IH_ERROR_NOT_SUPPORTED
#define INVALID_PARAMETER IH_ERROR_INVALID_PARAMETER

/* A row by the code's name only: its number is isapi_sdk.h's IH_<name>,
 * which the MinGW build asserts equal to httpext.h's (isapi_sdk_check_win32.c),
 * and its text is the same name, so neither can be typed wrong. */
#define CODE(name, supported, error) { IH_##name, #name, supported, error }

static const ih_isapi_ssf_code codes[] = {
  CODE(HSE_REQ_SEND_URL_REDIRECT_RESP, true, 0),
  CODE(HSE_REQ_SEND_URL, true, 0),
  CODE(HSE_REQ_SEND_RESPONSE_HEADER, true, 0),
  CODE(HSE_REQ_DONE_WITH_SESSION, true, 0),
  CODE(HSE_REQ_MAP_URL_TO_PATH, true, 0),
  CODE(HSE_REQ_GET_SSPI_INFO, false, NO_DATA),
  CODE(HSE_APPEND_LOG_PARAMETER, true, 0),
  CODE(HSE_REQ_IO_COMPLETION, true, 0),
  CODE(HSE_REQ_TRANSMIT_FILE, true, 0),
  CODE(HSE_REQ_REFRESH_ISAPI_ACL, true, 0),
  CODE(HSE_REQ_IS_KEEP_CONN, true, 0),
  CODE(HSE_REQ_ASYNC_READ_CLIENT, true, 0),
  CODE(HSE_REQ_GET_IMPERSONATION_TOKEN, true, 0),
  CODE(HSE_REQ_MAP_URL_TO_PATH_EX, true, 0),
  CODE(HSE_REQ_ABORTIVE_CLOSE, true, 0),
  CODE(HSE_REQ_GET_CERT_INFO_EX, false, NO_DATA),
  CODE(HSE_REQ_SEND_RESPONSE_HEADER_EX, true, 0),
  CODE(HSE_REQ_CLOSE_CONNECTION, true, 0),
  CODE(HSE_REQ_IS_CONNECTED, true, 0),
  CODE(HSE_REQ_EXTENSION_TRIGGER, false, INVALID_PARAMETER),
  CODE(HSE_REQ_MAP_UNICODE_URL_TO_PATH, true, 0),
  CODE(HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX, true, 0),
  CODE(HSE_REQ_EXEC_UNICODE_URL, true, 0),
  CODE(HSE_REQ_EXEC_URL, true, 0),
  CODE(HSE_REQ_GET_EXEC_URL_STATUS, true, 0),
  CODE(HSE_REQ_SEND_CUSTOM_ERROR, true, 0),
  CODE(HSE_REQ_IS_IN_PROCESS, true, 0),
  CODE(HSE_REQ_REPORT_UNHEALTHY, true, 0),
  CODE(HSE_REQ_NORMALIZE_URL, true, 0),
  CODE(HSE_REQ_VECTOR_SEND, true, 0),
  CODE(HSE_REQ_GET_ANONYMOUS_TOKEN, false, NO_DATA),
  CODE(HSE_REQ_GET_CACHE_INVALIDATION_CALLBACK, false, NOT_SUPPORTED),
  CODE(HSE_REQ_GET_UNICODE_ANONYMOUS_TOKEN, false, NO_DATA),
  CODE(HSE_REQ_GET_TRACE_INFO, false, NOT_SUPPORTED),
  CODE(HSE_REQ_SET_FLUSH_FLAG, true, 0),
  CODE(HSE_REQ_GET_TRACE_INFO_EX, false, NOT_SUPPORTED),
  CODE(HSE_REQ_RAISE_TRACE_EVENT, false, NOT_SUPPORTED),
  CODE(HSE_REQ_GET_CONFIG_OBJECT, false, NOT_SUPPORTED),
  CODE(HSE_REQ_GET_WORKER_PROCESS_SETTINGS, false, NOT_SUPPORTED),
  CODE(HSE_REQ_GET_PROTOCOL_MANAGER_CUSTOM_INTERFACE_CALLBACK, false, NOT_SUPPORTED),
  CODE(HSE_REQ_CANCEL_IO, true, 0),
  CODE(HSE_REQ_GET_CHANNEL_BINDING_TOKEN, false, NO_DATA),
};

const ih_isapi_ssf_code *ih_isapi_ssf_lookup(uint32_t value)
{
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    if (codes[i].value == value)
      return &codes[i];
  return NULL;
}

const ih_isapi_ssf_code *ih_isapi_ssf_table(size_t *count)
{
  *count = sizeof codes / sizeof codes[0];
  return codes;
}
