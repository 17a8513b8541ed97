/* The response in the connection's output buffer (see response.h). */
#include "server/response.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mime.h"
#include "core/ih_alloc.h"
#include "core/server_log.h"
#include "http/header_lines.h"
#include "http/http_status.h"
#include "http/keepalive.h"
#include "http/static_rules.h"
#include "server/conn_internal.h"
#include "ih_version.h"

/* ---- the output buffer ---- */

bool ih_response_reserve(ih_conn *c, size_t more)
{
  if (c->out_len + more + 1 <= c->out_cap)
    return true;
  size_t cap = c->out_cap ? c->out_cap : IH_CONN_OUT_FIRST;
  while (cap < c->out_len + more + 1)
    cap *= 2;
  if (cap > IH_RESPONSE_MAX)
    return false;
  char *p = ih_realloc(c->out, cap);
  if (!p)
    return false;
  c->out = p;
  c->out_cap = cap;
  return true;
}

bool ih_response_try_append(ih_conn *c, const void *data, size_t len)
{
  if (!ih_response_reserve(c, len))
    return false;
  memcpy(c->out + c->out_len, data, len);
  c->out_len += len;
  return true;
}

void ih_response_append(ih_conn *c, const void *data, size_t len)
{
  if (!ih_response_try_append(c, data, len))
    c->out_incomplete = true;
}

void ih_response_printf(ih_conn *c, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !ih_response_reserve(c, (size_t)n)) {
    c->out_incomplete = true;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(c->out + c->out_len, c->out_cap - c->out_len, fmt, ap);
  va_end(ap);
  c->out_len += (size_t)n;
}

bool ih_response_replace_head(ih_conn *c, const char *head, size_t len)
{
  size_t body = c->out_len - c->out_head_len;
  if (len > c->out_head_len && !ih_response_reserve(c, len - c->out_head_len))
    return false;
  memmove(c->out + len, c->out + c->out_head_len, body);
  memcpy(c->out, head, len);
  c->out_len = len + body;
  c->out_head_len = len;
  return true;
}

/* ---- heads ---- */

static bool head_wanted(const ih_conn *c) { return c->view->head.version != IH_HTTP_09; }

/* A new response replaces whatever the buffer held for this request. */
static void head_reset(ih_conn *c, int status)
{
  c->out_len = 0;
  c->out_head_len = 0;
  c->out_incomplete = false;
  c->head_filtered = false;
  c->view->status = status;
}

/* The keep-alive decision (keepalive.h), made here and nowhere else: every
 * response head ends through this function, and it stores the result in
 * the request for the pipeline to act on once the response has been sent. */
static bool decide_keep_alive(ih_conn *c, bool delimited)
{
  const ih_request *r = c->req;
  ih_keepalive_inputs in = {
    .version = r->head.version ? r->head.version : IH_HTTP_11,
    .client_allows = r->framing.client_keep_alive,
    .request_framing_ok = r->framing_ok,
    .request_refused = r->refused,
    /* A 1xx is interim (RFC 9110 15.2): sent as the final answer, it leaves
     * the client waiting for one that never comes, so only the connection's
     * end can tell it the response is over. */
    .response_delimited = delimited && c->view->status >= 200,
    .server_draining = atomic_load(&c->server->draining),
    .handler_wants_close = r->close_wanted,
  };
  c->req->keep_alive = ih_keepalive_decide(&in);
  return c->req->keep_alive;
}

void ih_response_head_begin(ih_conn *c, int status)
{
  head_reset(c, status);
  if (!head_wanted(c))
    return;
  char date[IH_HTTP_DATE_LEN + 1];
  ih_http_date_format(ih_wall_seconds(), date);
  ih_response_printf(c, "HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\n", status, ih_http_reason(status),
                     IH_SERVER_SOFTWARE, date);
}

void ih_response_head_field(ih_conn *c, const char *name, const char *fmt, ...)
{
  if (!head_wanted(c))
    return;
  char value[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(value, sizeof value, fmt, ap);
  va_end(ap);
  ih_response_printf(c, "%s: %s\r\n", name, value);
}

void ih_response_head_end(ih_conn *c, bool delimited)
{
  bool keep = decide_keep_alive(c, delimited);
  if (!head_wanted(c))
    return;
  if (!keep)
    ih_response_printf(c, "Connection: close\r\n");
  else if (c->view->head.version == IH_HTTP_10)
    ih_response_printf(c, "Connection: keep-alive\r\n");
  ih_response_append(c, "\r\n", 2);
  c->out_head_len = c->out_len;
}

void ih_response_ext_head(ih_conn *c, int status, const char *reason, const char *headers, size_t headers_len,
                          bool delimited)
{
  head_reset(c, status);
  if (!head_wanted(c)) {
    ih_response_head_end(c, delimited);
    return;
  }
  /* Server and Date have one value each (RFC 9110 10.2.4, 6.6.1): a DLL
   * that sends its own gets its value out, and ours stays away. */
  /* The block is already in "Name: value\r\n" form (ih_isapi_parse_headers,
   * a filter's SEND_RESPONSE_HEADER); its lines go out as written. */
  bool dll_server = false, dll_date = false;
  ih_header_lines it = ih_header_lines_of(headers, headers_len);
  ih_header_line line;
  while (ih_header_lines_next(&it, &line)) {
    dll_server |= ih_slice_ieq_cstr(line.name, "Server");
    dll_date |= ih_slice_ieq_cstr(line.name, "Date");
  }
  ih_response_printf(c, "HTTP/1.1 %d %s\r\n", status, reason && reason[0] ? reason : ih_http_reason(status));
  if (!dll_server)
    ih_response_printf(c, "Server: %s\r\n", IH_SERVER_SOFTWARE);
  if (!dll_date) {
    char date[IH_HTTP_DATE_LEN + 1];
    ih_http_date_format(ih_wall_seconds(), date);
    ih_response_printf(c, "Date: %s\r\n", date);
  }
  it = ih_header_lines_of(headers, headers_len);
  while (ih_header_lines_next(&it, &line)) {
    /* Connection is ours: the one keep-alive decision writes it below. */
    if (!ih_slice_ieq_cstr(line.name, "Connection") && line.text.n)
      ih_response_append(c, line.raw.p, line.raw.n);
  }
  ih_response_head_end(c, delimited);
}

void ih_response_end_decide(ih_conn *c, bool delimited)
{
  bool announced = c->req->keep_alive;
  c->req->keep_alive = decide_keep_alive(c, delimited) && announced;
}

void ih_response_headless(ih_conn *c, int status)
{
  c->view->status = status;
  decide_keep_alive(c, false);
  c->head_filtered = true; /* no head for SEND_RESPONSE to see */
}

/* ---- whole responses ---- */

const char *ih_response_content_type(const ih_conn *c, const char *name)
{
  const char *dot = strrchr(name, '.');
  const char *slash = strrchr(name, '/');
  const char *bslash = strrchr(name, '\\');
  if (!dot || (slash && dot < slash) || (bslash && dot < bslash))
    return NULL;
  const ih_config *cfg = c->gen->config;
  return ih_mime_lookup(ih_slice_from_cstr(dot), cfg->mime, cfg->mime_count);
}

void ih_response_error_with(ih_conn *c, int status, const char *extra_name, const char *extra_value,
                            ih_body_plan *plan)
{
  const ih_platform *pf = c->server->platform;
  const ih_site *site = c->view->site;
  const ih_error_page *page = site ? ih_site_error_page(site, status) : NULL;
  memset(plan, 0, sizeof *plan);
  if (status == 400)
    c->req->refused = true; /* the connection closes after it (keepalive.h) */
  if (page) {
    void *file;
    ih_file_info info;
    if (pf->file_open(page->physical_path, &file, &info) == IH_FS_OK && !info.is_dir) {
      const char *type = ih_response_content_type(c, page->physical_path);
      ih_response_head_begin(c, status);
      ih_response_head_field(c, "Content-Type", "%s", type ? type : "text/html");
      ih_response_head_field(c, "Content-Length", "%llu", (unsigned long long)info.size);
      if (extra_name)
        ih_response_head_field(c, extra_name, "%s", extra_value);
      ih_response_head_end(c, true);
      if (c->view->head_only || info.size == 0) {
        pf->file_close(file);
      } else {
        plan->file = file;
        plan->length = info.size;
      }
      return;
    }
    ih_log(IH_LOG_WARNING, IH_EV_FILE_ERROR, "custom error page for %d not readable: %s", status,
           page->physical_path);
  }
  char body[1024];
  size_t body_len = ih_http_error_body(status, body, sizeof body);
  ih_response_head_begin(c, status);
  ih_response_head_field(c, "Content-Type", "text/html; charset=utf-8");
  ih_response_head_field(c, "Content-Length", "%zu", body_len);
  if (extra_name)
    ih_response_head_field(c, extra_name, "%s", extra_value);
  ih_response_head_end(c, true);
  if (!c->view->head_only)
    ih_response_append(c, body, body_len);
}

void ih_response_error(ih_conn *c, int status, ih_body_plan *plan)
{
  ih_response_error_with(c, status, NULL, NULL, plan);
}

void ih_response_continue(ih_conn *c)
{
  static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
  c->out_len = 0;
  ih_response_append(c, cont, sizeof cont - 1);
  c->out_head_len = c->out_len;
  c->head_filtered = true; /* an interim response: SEND_RESPONSE is for the final one */
}

void ih_response_ext_default(ih_conn *c, int status, ih_body_plan *plan)
{
  if (status >= 400) {
    ih_response_error(c, status, plan);
    return;
  }
  memset(plan, 0, sizeof *plan);
  ih_response_head_begin(c, status);
  if (!ih_http_status_has_no_body(status))
    ih_response_head_field(c, "Content-Length", "0"); /* none in 1xx, 204, 304 (RFC 9110 8.6; http_status.h) */
  ih_response_head_end(c, true);
}

bool ih_response_finish(ih_conn *c, ih_body_plan *plan)
{
  if (!c->out_incomplete)
    return true;
  ih_request *r = c->req;
  ih_log(IH_LOG_ERROR, IH_EV_RESPONSE_INCOMPLETE,
         "the response to %.*s %s from %s:%u could not be built (status %d, out of memory or over %u bytes): "
         "500 sent instead, connection closed",
         (int)r->head.method.n, r->head.method.p, r->path, c->peer_addr, (unsigned)c->peer_port, r->status,
         IH_RESPONSE_MAX);
  if (plan->file)
    c->server->platform->file_close(plan->file);
  memset(plan, 0, sizeof *plan);
  r->status = 500;
  c->view->status = 500;
  /* What was announced did not go out: the connection ends after the 500. */
  decide_keep_alive(c, false);
  c->out_incomplete = false;
  c->out_len = 0;
  if (head_wanted(c) && c->out_cap >= IH_CONN_OUT_FIRST) {
    /* Written into the buffer the request has (never below its first
     * IH_CONN_OUT_FIRST bytes, request_begin): no allocation can fail here. */
    char date[IH_HTTP_DATE_LEN + 1];
    ih_http_date_format(ih_wall_seconds(), date);
    int n = snprintf(c->out, c->out_cap,
                     "HTTP/1.1 500 %s\r\nServer: %s\r\nDate: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                     ih_http_reason(500), IH_SERVER_SOFTWARE, date);
    c->out_len = n > 0 && (size_t)n < c->out_cap ? (size_t)n : 0;
  }
  c->out_head_len = c->out_len;
  return false;
}
