/* Status codes (see http_status.h): reason phrases from RFC 9110 15 (plus
 * RFC 6585 429/431 and RFC 7725 451) and the bodies of default error pages.
 * The bodies are built only from the status code and fixed text, so nothing
 * from a request can be reflected into them. */
#include "http/http_status.h"

#include <stdio.h>

typedef struct status_text {
  int code;
  const char *reason;
  const char *explanation; /* NULL: use the generic sentence */
} status_text;

static const status_text table[] = {
  { 100, "Continue", NULL },
  { 101, "Switching Protocols", NULL },
  { 200, "OK", NULL },
  { 201, "Created", NULL },
  { 202, "Accepted", NULL },
  { 203, "Non-Authoritative Information", NULL },
  { 204, "No Content", NULL },
  { 205, "Reset Content", NULL },
  { 206, "Partial Content", NULL },
  { 300, "Multiple Choices", NULL },
  { 301, "Moved Permanently", NULL },
  { 302, "Found", NULL },
  { 303, "See Other", NULL },
  { 304, "Not Modified", NULL },
  { 305, "Use Proxy", NULL },
  { 306, "Unused", NULL }, /* RFC 9110 15.4.7: "306 (Unused)" */
  { 307, "Temporary Redirect", NULL },
  { 308, "Permanent Redirect", NULL },
  { 400, "Bad Request", "The server could not understand the request because it is malformed." },
  { 401, "Unauthorized", NULL },
  { 402, "Payment Required", NULL },
  { 403, "Forbidden", "You do not have permission to access the requested resource." },
  { 404, "Not Found", "The requested resource could not be found on this server." },
  { 405, "Method Not Allowed", "The request method is not supported for the requested resource." },
  { 406, "Not Acceptable", NULL },
  { 407, "Proxy Authentication Required", NULL },
  { 408, "Request Timeout", NULL },
  { 409, "Conflict", NULL },
  { 410, "Gone", NULL },
  { 411, "Length Required", "The request must specify a Content-Length for its body." },
  { 412, "Precondition Failed", "A precondition given in the request headers was not met." },
  { 413, "Content Too Large", "The request body is larger than the server is willing to process." },
  { 414, "URI Too Long", "The request target is longer than the server is willing to process." },
  { 415, "Unsupported Media Type", NULL },
  { 416, "Range Not Satisfiable", "The requested byte range lies outside the resource." },
  { 417, "Expectation Failed", "The expectation given in the Expect header could not be met." },
  { 421, "Misdirected Request", NULL },
  { 422, "Unprocessable Content", NULL },
  { 426, "Upgrade Required", NULL },
  { 429, "Too Many Requests", NULL },                /* RFC 6585 */
  { 431, "Request Header Fields Too Large",          /* RFC 6585 */
    "The request header fields are larger than the server is willing to process." },
  { 451, "Unavailable For Legal Reasons", NULL },    /* RFC 7725 */
  { 500, "Internal Server Error", "The server encountered an internal error and could not complete the request." },
  { 501, "Not Implemented", "The server does not support the functionality required by the request." },
  { 502, "Bad Gateway", NULL },
  { 503, "Service Unavailable", "The server is temporarily unable to handle the request; please try again later." },
  { 504, "Gateway Timeout", NULL },
  { 505, "HTTP Version Not Supported", "The server does not support the HTTP version used in the request." },
};

static const status_text *find(int status)
{
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (table[i].code == status)
      return &table[i];
  return NULL;
}

const char *ih_http_reason(int status)
{
  const status_text *t = find(status);
  return t ? t->reason : "Unknown";
}

/* The body is NUL-terminated; cap must leave room for the NUL. On a short
 * buffer the result is 0 and out holds an empty string (if cap > 0). */
size_t ih_http_error_body(int status, char *out, size_t cap)
{
  const status_text *t = find(status);
  const char *reason = t ? t->reason : "Unknown";
  const char *why = t && t->explanation ? t->explanation
                    : status >= 500     ? "The server could not complete the request."
                                        : "The request could not be completed.";
  if (!out || cap == 0)
    return 0;
  int n = snprintf(out, cap,
                   "<!DOCTYPE html><html><head><title>%d %s</title></head>"
                   "<body><h1>%d %s</h1><p>%s</p></body></html>",
                   status, reason, status, reason, why);
  if (n < 0 || (size_t)n >= cap) {
    out[0] = '\0';
    return 0;
  }
  return (size_t)n;
}

bool ih_http_status_has_no_body(int status) { return (status >= 100 && status <= 199) || status == 204 || status == 304; }

bool ih_http_response_has_no_body(int status, bool head_request)
{
  return head_request || ih_http_status_has_no_body(status);
}
