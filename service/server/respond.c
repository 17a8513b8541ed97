/* Response generation: routing, static files, the status page, error
 * responses and the access-log record (see respond.h).
 *
 * Order of checks follows IIS: the request-target is canonicalised before
 * anything touches the file system; the site is chosen by binding and Host;
 * the status page is answered only to loopback clients; virtual-directory
 * permissions are checked before the file is opened; unknown extensions are
 * not served (IIS 404.3); directories redirect to their slash form, then use
 * a default document, then a listing only where enabled (else 403.14). */
#include "server/respond.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "core/ih_compiler.h"
#include "core/mime.h"
#include "core/physical_path.h"
#include "core/server_log.h"
#include "core/w3c_log.h"
#include "filters/filter_chain.h"
#include "server/conn_filters.h"
#include "server/conn_internal.h"
#include "server/file_cache.h"
#include "http/header_lines.h"
#include "http/http_status.h"
#include "http/static_rules.h"
#include "http/url_canon.h"
#include "ih_version.h"

#define IH_OUT_MAX (4u << 20) /* largest in-memory response (listing, status) */
#define IH_PHYS_MAX 4096
#define IH_SMALL_FILE 65536u /* bodies up to this size are read and sent from memory */
#define IH_LOG_FIELD_MAX 1024 /* bytes of User-Agent, Referer, query kept in the access log */

static const char ALLOW_STATIC[] = "OPTIONS, GET, HEAD";

/* ---- output buffer ---- */

static bool out_reserve(ih_conn *c, size_t more)
{
  if (c->out_len + more + 1 <= c->out_cap)
    return true;
  size_t cap = c->out_cap ? c->out_cap : IH_CONN_OUT_FIRST;
  while (cap < c->out_len + more + 1)
    cap *= 2;
  if (cap > IH_OUT_MAX)
    return false;
  char *p = ih_realloc(c->out, cap);
  if (!p)
    return false;
  c->out = p;
  c->out_cap = cap;
  return true;
}

/* The writers below do not return their failure: they mark the response
 * in c->out incomplete (out of memory, or past IH_OUT_MAX), and it is never
 * sent as it is (ih_respond_finish). */
static void out_append(ih_conn *c, const char *data, size_t len)
{
  if (!out_reserve(c, len)) {
    c->out_incomplete = true;
    return;
  }
  memcpy(c->out + c->out_len, data, len);
  c->out_len += len;
}

bool ih_respond_out_append(ih_conn *c, const void *data, size_t len)
{
  if (!out_reserve(c, len))
    return false;
  memcpy(c->out + c->out_len, data, len);
  c->out_len += len;
  return true;
}

bool ih_respond_out_reserve(ih_conn *c, size_t more) { return out_reserve(c, more); }

bool ih_respond_replace_head(ih_conn *c, const char *head, size_t len)
{
  size_t body = c->out_len - c->out_head_len;
  if (len > c->out_head_len && !out_reserve(c, len - c->out_head_len))
    return false;
  memmove(c->out + len, c->out + c->out_head_len, body);
  memcpy(c->out, head, len);
  c->out_len = len + body;
  c->out_head_len = len;
  return true;
}

static void out_str(ih_conn *c, const char *s) { out_append(c, s, strlen(s)); }

static void out_printf(ih_conn *c, const char *fmt, ...) IH_PRINTF(2, 3);
static void out_printf(ih_conn *c, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !out_reserve(c, (size_t)n)) {
    c->out_incomplete = true;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(c->out + c->out_len, c->out_cap - c->out_len, fmt, ap);
  va_end(ap);
  c->out_len += (size_t)n;
}

/* ---- response head ----
 * HTTP/0.9 has no status line and no headers (RFC 9112 Appendix C.1; IIS 7
 * and later send the body only), so every head writer is a no-op for it. */

static bool head_wanted(const ih_conn *c) { return c->view->head.version != IH_HTTP_09; }

static void head_begin(ih_conn *c, int status)
{
  c->out_len = 0;
  c->out_head_len = 0;
  c->out_incomplete = false;
  c->head_filtered = false;
  c->view->status = status;
  if (!head_wanted(c))
    return;
  char date[IH_HTTP_DATE_LEN + 1];
  ih_http_date_format(ih_wall_seconds(), date);
  out_printf(c, "HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\n", status, ih_http_reason(status), IH_SERVER_SOFTWARE,
             date);
}

static void head_field(ih_conn *c, const char *name, const char *fmt, ...) IH_PRINTF(3, 4);
static void head_field(ih_conn *c, const char *name, const char *fmt, ...)
{
  if (!head_wanted(c))
    return;
  char value[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(value, sizeof value, fmt, ap);
  va_end(ap);
  out_printf(c, "%s: %s\r\n", name, value);
}

/* Ends the head with the connection decision; `delimited` says whether the
 * response length is known to the client (always true here: every response
 * this module writes has Content-Length or no body). */
static void head_end(ih_conn *c, bool delimited)
{
  bool keep = ih_conn_decide_keep_alive(c, delimited);
  if (!head_wanted(c))
    return;
  if (!keep)
    out_printf(c, "Connection: close\r\n");
  else if (c->view->head.version == IH_HTTP_10)
    out_printf(c, "Connection: keep-alive\r\n");
  out_str(c, "\r\n");
  c->out_head_len = c->out_len;
}

/* ---- errors ---- */

static const char *type_for_name(const ih_conn *c, const char *name)
{
  const char *dot = strrchr(name, '.');
  const char *slash = strrchr(name, '/');
  const char *bslash = strrchr(name, '\\');
  if (!dot || (slash && dot < slash) || (bslash && dot < bslash))
    return NULL;
  const ih_config *cfg = c->gen->config;
  return ih_mime_lookup(ih_slice_from_cstr(dot), cfg->mime, cfg->mime_count);
}

/* An error response: the site's custom page for the status if one is
 * configured and readable, else a short built-in page. */
static void error_response(ih_conn *c, int status, const char *extra_name, const char *extra_value,
                           ih_body_plan *plan)
{
  const ih_platform *pf = c->server->platform;
  const ih_site *site = c->view->site;
  const ih_error_page *page = site ? ih_site_error_page(site, status) : NULL;
  memset(plan, 0, sizeof *plan);
  if (status == 400)
    c->req.refused = true; /* the connection closes after it (keepalive.h) */
  if (page) {
    void *file;
    ih_file_info info;
    if (pf->file_open(page->physical_path, &file, &info) == IH_FS_OK && !info.is_dir) {
      const char *type = type_for_name(c, page->physical_path);
      head_begin(c, status);
      head_field(c, "Content-Type", "%s", type ? type : "text/html");
      head_field(c, "Content-Length", "%llu", (unsigned long long)info.size);
      if (extra_name)
        head_field(c, extra_name, "%s", extra_value);
      head_end(c, true);
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
  head_begin(c, status);
  head_field(c, "Content-Type", "text/html; charset=utf-8");
  head_field(c, "Content-Length", "%zu", body_len);
  if (extra_name)
    head_field(c, extra_name, "%s", extra_value);
  head_end(c, true);
  if (!c->view->head_only)
    out_append(c, body, body_len);
}

void ih_respond_error(ih_conn *c, int status, ih_body_plan *plan)
{
  error_response(c, status, NULL, NULL, plan);
}

void ih_respond_continue(ih_conn *c)
{
  static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
  c->out_len = 0;
  out_append(c, cont, sizeof cont - 1);
  c->out_head_len = c->out_len;
  c->head_filtered = true; /* an interim response: SEND_RESPONSE is for the final one */
}

/* ---- status page ---- */

static void status_page(ih_conn *c)
{
  const ih_counters *k = &c->server->counters;
  /* The asking connection and request are excluded, so an idle server
   * reports zero and tests can prove counts return to zero. */
  ih_process_stats ps = { -1, -1, -1, -1 };
  if (c->server->platform->process_stats)
    c->server->platform->process_stats(&ps);
  ih_generation *newest = ih_server_acquire(c->server);
  unsigned generation = newest ? newest->number : 0;
  if (newest)
    ih_generation_release(newest);
  char body[896];
  int n = snprintf(body, sizeof body,
                   "{\"connections_live\":%lld,\"requests_in_flight\":%lld,\"connections_total\":%lld,"
                   "\"requests_total\":%lld,\"bytes_received\":%lld,\"bytes_sent\":%lld,\"uptime_seconds\":%llu,"
                   "\"isapi_sessions\":%lld,\"isapi_threads\":%lld,\"isapi_busy\":%lld,"
                   "\"private_bytes\":%lld,\"handles\":%lld,\"config_generation\":%u,\"config_generations_live\":%lld,"
                   "\"client_aborts\":%lld}\n",
                   atomic_load(&k->connections_live) - 1, atomic_load(&k->requests_in_flight) - 1,
                   atomic_load(&k->connections_total), atomic_load(&k->requests_total),
                   atomic_load(&k->bytes_received), atomic_load(&k->bytes_sent),
                   (unsigned long long)((ih_clock_ms() - c->server->started_ms) / 1000u),
                   atomic_load(&k->isapi_sessions), ps.isapi_threads, ps.isapi_busy, ps.private_bytes, ps.handles,
                   generation, atomic_load(&k->generations_live), atomic_load(&k->client_aborts));
  head_begin(c, 200);
  head_field(c, "Content-Type", "application/json");
  head_field(c, "Cache-Control", "no-store");
  head_field(c, "Content-Length", "%d", n);
  head_end(c, true);
  if (!c->view->head_only)
    out_append(c, body, (size_t)n);
}

/* ---- extension admin: <status_path>/extensions (docs/operations.md) ----
 * Loopback only, like the status page. GET lists the extension DLLs; POST
 * ?action=unload|reload|stop|start&dll=<path> starts an action, which the
 * platform runs off the I/O threads (a drain may take isapi_unload_timeout)
 * and answers 202 at once. */

#define IH_EXT_ADMIN_JSON_MAX (1u << 20) /* room for the listing of every DLL the registry can hold */

static bool is_ext_admin_path(const ih_config *cfg, ih_slice path)
{
  static const char suffix[] = "/extensions";
  size_t n = strlen(cfg->server.status_path);
  size_t skip = n && cfg->server.status_path[n - 1] == '/'; /* "/status/" + "extensions" */
  return n && path.n == n + sizeof suffix - 1 - skip &&
         ih_slice_ieq_cstr((ih_slice){ path.p, n }, cfg->server.status_path) &&
         ih_slice_ieq_cstr((ih_slice){ path.p + n, path.n - n }, suffix + skip);
}

/* The value of name in an application/x-www-form-urlencoded query ('+' is a
 * space, %XX a byte) into out: 1 found, 0 absent, -1 malformed, holding a
 * NUL, or longer than cap - 1. */
static int query_param(ih_slice query, const char *name, char *out, size_t cap)
{
  size_t name_len = strlen(name);
  ih_slice rest = query, item;
  while (rest.n) {
    const char *amp = memchr(rest.p, '&', rest.n);
    item = (ih_slice){ rest.p, amp ? (size_t)(amp - rest.p) : rest.n };
    rest = amp ? (ih_slice){ amp + 1, rest.n - item.n - 1 } : (ih_slice){ rest.p + rest.n, 0 };
    if (item.n <= name_len || item.p[name_len] != '=' || memcmp(item.p, name, name_len) != 0)
      continue;
    size_t o = 0;
    for (size_t i = name_len + 1; i < item.n; i++) {
      int ch = (unsigned char)item.p[i];
      if (ch == '+') {
        ch = ' ';
      } else if (ch == '%') {
        int hi = i + 2 < item.n ? ih_hex_value((unsigned char)item.p[i + 1]) : -1;
        int lo = hi >= 0 ? ih_hex_value((unsigned char)item.p[i + 2]) : -1;
        if (lo < 0)
          return -1;
        ch = hi * 16 + lo;
        i += 2;
      }
      if (ch == 0 || o + 1 >= cap)
        return -1;
      out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 1;
  }
  return 0;
}

static void ext_admin_page(ih_conn *c, ih_body_plan *plan)
{
  ih_request *r = c->view;
  const ih_platform *pf = c->server->platform;
  bool get_or_head = ih_slice_eq(r->head.method, IH_SLICE_LIT("GET")) || r->head_only;
  if (!c->peer_is_loopback || !pf->ext_admin) {
    error_response(c, 404, NULL, NULL, plan);
    return;
  }
  if (!get_or_head && !ih_slice_eq(r->head.method, IH_SLICE_LIT("POST"))) {
    error_response(c, 405, "Allow", "GET, HEAD, POST", plan);
    return;
  }
  char *json = ih_malloc(IH_EXT_ADMIN_JSON_MAX);
  if (!json) {
    error_response(c, 503, NULL, NULL, plan);
    return;
  }
  int status;
  if (get_or_head) {
    status = pf->ext_admin(NULL, NULL, json, IH_EXT_ADMIN_JSON_MAX);
  } else {
    char action[16], dll[1024];
    int has_action = query_param(r->query, "action", action, sizeof action);
    int has_dll = query_param(r->query, "dll", dll, sizeof dll);
    if (has_action < 0 || has_dll < 0) {
      status = 400;
      snprintf(json, IH_EXT_ADMIN_JSON_MAX, "{\"error\":\"action= or dll= is malformed or too long\"}\n");
    } else {
      status = pf->ext_admin(has_action ? action : "", has_dll ? dll : "", json, IH_EXT_ADMIN_JSON_MAX);
    }
  }
  size_t n = strlen(json);
  head_begin(c, status);
  head_field(c, "Content-Type", "application/json");
  head_field(c, "Cache-Control", "no-store");
  head_field(c, "Content-Length", "%zu", n);
  head_end(c, true);
  if (!r->head_only)
    out_append(c, json, n);
  free(json);
}

/* ---- directory listing (only where a site enables it) ---- */

static void html_escape_append(ih_conn *c, const char *s)
{
  for (; *s; s++) {
    switch (*s) {
    case '<': out_str(c, "&lt;"); break;
    case '>': out_str(c, "&gt;"); break;
    case '&': out_str(c, "&amp;"); break;
    case '"': out_str(c, "&quot;"); break;
    default: out_append(c, s, 1);
    }
  }
}

static void url_escape_append(ih_conn *c, const char *s)
{
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-._~/", ch))
      out_append(c, s, 1);
    else
      out_printf(c, "%%%02X", ch);
  }
}

static void listing_entry(void *arg, const char *name, bool is_dir, uint64_t size, int64_t mtime)
{
  ih_conn *c = arg;
  char date[IH_HTTP_DATE_LEN + 1];
  ih_http_date_format(mtime, date);
  out_str(c, "<tr><td><a href=\"");
  url_escape_append(c, name);
  out_str(c, is_dir ? "/\">" : "\">");
  html_escape_append(c, name);
  out_str(c, is_dir ? "/</a></td><td>-" : "</a></td><td>");
  if (!is_dir)
    out_printf(c, "%llu", (unsigned long long)size);
  out_printf(c, "</td><td>%s</td></tr>\n", date);
}

static void directory_listing(ih_conn *c, const char *physical)
{
  /* Build the body first (after a placeholder), then write the head in front. */
  c->out_len = 0;
  out_str(c, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>");
  html_escape_append(c, c->view->path);
  out_str(c, "</title></head><body><h1>");
  html_escape_append(c, c->view->path);
  out_str(c, "</h1><table>\n");
  if (strcmp(c->view->path, "/") != 0)
    out_str(c, "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
  enum ih_fs_status st = c->server->platform->dir_list(physical, listing_entry, c);
  out_str(c, "</table></body></html>\n");
  if (st != IH_FS_OK || c->out_incomplete) {
    ih_body_plan ignored;
    error_response(c, 500, NULL, NULL, &ignored);
    return;
  }
  size_t body_len = c->out_len;
  char *body = ih_malloc(body_len);
  if (!body) {
    ih_body_plan ignored;
    error_response(c, 500, NULL, NULL, &ignored);
    return;
  }
  memcpy(body, c->out, body_len);
  head_begin(c, 200);
  head_field(c, "Content-Type", "text/html; charset=utf-8");
  head_field(c, "Content-Length", "%zu", body_len);
  head_end(c, true);
  if (!c->view->head_only)
    out_append(c, body, body_len);
  free(body);
}

/* ---- static files ---- */

static ih_slice header_value(const ih_conn *c, const char *name)
{
  const ih_http_header *h = ih_http_find_header(&c->view->head, name);
  return h ? h->value : (ih_slice){ "", 0 };
}

/* A file as the response code sees it: either a small-file cache entry (no
 * handle at all) or an open handle. file_ref_open fills it; file_ref_close
 * is the one release point, whichever it holds. */
typedef struct file_ref {
  enum ih_fs_status status;
  ih_file_info info;
  const ih_cached_file *cached; /* holds a cache reference */
  void *file;                   /* or holds an open handle */
} file_ref;

static void file_ref_close(ih_conn *c, file_ref *f)
{
  if (f->cached)
    ih_file_cache_release(c->server->file_cache, f->cached);
  if (f->file)
    c->server->platform->file_close(f->file);
  f->cached = NULL;
  f->file = NULL;
}

/* Opens path through the small-file cache: a fresh entry answers without
 * touching the file system; otherwise the file is opened and, if it is a
 * directory, missing, or small enough, the answer is cached. */
static void file_ref_open(ih_conn *c, const char *path, file_ref *f)
{
  const ih_platform *pf = c->server->platform;
  ih_file_cache *cache = c->server->file_cache;
  uint64_t now = ih_clock_ms();
  memset(f, 0, sizeof *f);
  f->cached = ih_file_cache_get(cache, path, now);
  if (f->cached) {
    f->status = f->cached->kind == IH_CACHED_NOT_FOUND ? IH_FS_NOT_FOUND : IH_FS_OK;
    f->info = f->cached->info;
    return;
  }
  f->status = pf->file_open(path, &f->file, &f->info);
  if (f->status == IH_FS_NOT_FOUND) {
    f->cached = ih_file_cache_put(cache, path, now, IH_CACHED_NOT_FOUND, &f->info, NULL, 0);
    return;
  }
  if (f->status != IH_FS_OK)
    return;
  if (f->info.is_dir) {
    f->cached = ih_file_cache_put(cache, path, now, IH_CACHED_DIR, &f->info, NULL, 0);
    if (f->cached) {
      pf->file_close(f->file);
      f->file = NULL;
    }
    return;
  }
  if (f->info.size <= IH_FILE_CACHE_MAX_FILE) {
    char *data = ih_malloc(f->info.size ? (size_t)f->info.size : 1);
    size_t got = 0;
    if (data && pf->file_read(f->file, 0, data, (size_t)f->info.size, &got) == IH_FS_OK && got == f->info.size) {
      f->cached = ih_file_cache_put(cache, path, now, IH_CACHED_FILE, &f->info, data, got);
      if (f->cached) {
        pf->file_close(f->file);
        f->file = NULL;
      }
    }
    free(data);
  }
}

static void serve_file(ih_conn *c, file_ref *f, const char *type, ih_body_plan *plan)
{
  const ih_platform *pf = c->server->platform;
  const ih_file_info *info = &f->info;
  char etag[48];
  ih_etag_make(info->mtime_unix, info->size, etag);
  char last_modified[IH_HTTP_DATE_LEN + 1];
  ih_http_date_format(info->mtime_unix, last_modified);
  ih_cond_fields cond = {
    .if_match = header_value(c, "If-Match"),
    .if_none_match = header_value(c, "If-None-Match"),
    .if_modified_since = header_value(c, "If-Modified-Since"),
    .if_unmodified_since = header_value(c, "If-Unmodified-Since"),
  };
  enum ih_cond_result cr = ih_conditional_eval(&cond, true, ih_slice_from_cstr(etag), info->mtime_unix);
  if (cr == IH_COND_NOT_MODIFIED) {
    head_begin(c, 304);
    head_field(c, "ETag", "%s", etag);
    head_field(c, "Last-Modified", "%s", last_modified);
    head_end(c, true); /* 304 never has a body (RFC 9110 15.4.5) */
    file_ref_close(c, f);
    return;
  }
  if (cr == IH_COND_PRECONDITION_FAILED) {
    file_ref_close(c, f);
    error_response(c, 412, NULL, NULL, plan);
    return;
  }
  uint64_t first = 0, length = info->size;
  int status = 200;
  enum ih_range_result rr = IH_RANGE_FULL;
  ih_slice range = header_value(c, "Range");
  if (range.n && ih_slice_eq(c->view->head.method, IH_SLICE_LIT("GET")))
    rr = ih_range_eval(range, header_value(c, "If-Range"), ih_slice_from_cstr(etag), info->mtime_unix, info->size,
                       &first, &length);
  if (rr == IH_RANGE_UNSATISFIABLE) {
    char content_range[64];
    snprintf(content_range, sizeof content_range, "bytes */%llu", (unsigned long long)info->size);
    file_ref_close(c, f);
    error_response(c, 416, "Content-Range", content_range, plan);
    return;
  }
  if (rr == IH_RANGE_PARTIAL)
    status = 206;
  else
    first = 0, length = info->size;
  head_begin(c, status);
  head_field(c, "Content-Type", "%s", type);
  head_field(c, "Last-Modified", "%s", last_modified);
  head_field(c, "ETag", "%s", etag);
  head_field(c, "Accept-Ranges", "bytes");
  if (status == 206)
    head_field(c, "Content-Range", "bytes %llu-%llu/%llu", (unsigned long long)first,
               (unsigned long long)(first + length - 1), (unsigned long long)info->size);
  head_field(c, "Content-Length", "%llu", (unsigned long long)length);
  head_end(c, true);
  if (c->view->head_only || length == 0) {
    file_ref_close(c, f);
    return;
  }
  if (f->cached) {
    out_append(c, f->cached->data + first, (size_t)length);
    file_ref_close(c, f);
    return;
  }
  if (length <= IH_SMALL_FILE && out_reserve(c, (size_t)length)) {
    /* Small bodies go out with the head in one send: one round trip, and no
     * TransmitFile, which under Wine sometimes misses a client's abort. */
    size_t got = 0;
    enum ih_fs_status st = pf->file_read(f->file, first, c->out + c->out_len, (size_t)length, &got);
    if (st == IH_FS_OK && got == length) {
      c->out_len += got;
      file_ref_close(c, f);
      return;
    }
    /* a short read (file changed under us): let TransmitFile send it */
  }
  plan->file = f->file; /* ownership passes to the pipeline, which closes it */
  f->file = NULL;
  plan->offset = first;
  plan->length = length;
}

/* The physical path of canonical URL path url under vdir, in the Windows
 * form every consumer gets (core/physical_path.h); false when it would not
 * fit in cap. */
static bool join_path(char *out, size_t cap, const ih_vdir *vdir, ih_slice url, const char *leaf)
{
  return ih_physical_path_join(vdir, url, leaf, out, cap, NULL);
}

static enum ih_url_status canonical_path(ih_conn *c)
{
  ih_slice path, query;
  enum ih_url_status st = ih_url_split(c->view->head.target, &path, &query, NULL);
  if (st != IH_URL_OK)
    return st;
  c->view->query = query;
  size_t len;
  return ih_url_canonicalize(path, c->view->path, sizeof c->view->path, &len);
}

static bool is_known_method(ih_slice m)
{
  static const char *const known[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH",
                                       "CONNECT", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK",
                                       "UNLOCK", "SEARCH" };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (ih_slice_eq(m, ih_slice_from_cstr(known[i])))
      return true;
  return false;
}

/* ---- ISAPI extensions: which requests run a DLL ---- */

enum ext_class { EXT_NONE, EXT_RUN, EXT_DENY };

static bool method_listed(const ih_script_map *m, ih_slice method)
{
  if (!m->verb_count)
    return true;
  for (size_t i = 0; i < m->verb_count; i++)
    if (ih_slice_eq(method, ih_slice_from_cstr(m->verbs[i])))
      return true;
  return false;
}

static void join_verbs(const ih_script_map *m, char *out, size_t cap)
{
  size_t n = 0;
  out[0] = '\0';
  for (size_t i = 0; i < m->verb_count && n + 1 < cap; i++)
    n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", m->verbs[i]);
}

#define IH_MAX_WILDCARDS 16 /* wildcard maps that can apply to one path */

static bool is_file(ih_conn *c, const char *physical)
{
  file_ref f;
  file_ref_open(c, physical, &f);
  bool exists = f.status == IH_FS_OK && !f.info.is_dir;
  file_ref_close(c, &f);
  return exists;
}

/* IIS's rules, in its order: a URL segment ending in ".dll" in a directory
 * with execute permission runs that DLL (PATH_INFO is what follows it); a
 * file whose extension has a script map runs the mapped DLL where script or
 * execute permission is set, and is refused (403.1) elsewhere so script
 * source is never served; the map's verbs and "verify that file exists"
 * are checked before the DLL is called. */
static enum ext_class classify_extension(ih_conn *c, const ih_vdir *vdir, ih_slice rest, ih_ext_target *t,
                                         int *deny_status, char *allow, size_t allow_cap)
{
  ih_request *r = c->view;
  ih_slice path = ih_slice_from_cstr(r->path);
  memset(t, 0, sizeof *t);
  t->vdir = vdir;
  t->wildcard_index = -1;
  /* Wildcard maps intercept every request of their path first (IIS 6
   * wildcard application maps), where scripts may run; one that does not
   * take this verb passes it on. A child request (EXEC_URL) skips the ones
   * its parent asked to ignore. */
  if (vdir->permissions & (IH_PERM_SCRIPT | IH_PERM_EXECUTE)) {
    const ih_script_map *maps[IH_MAX_WILDCARDS];
    size_t n = ih_site_wildcard_maps(r->site, path, maps, IH_MAX_WILDCARDS);
    for (size_t i = r->wildcard_skip; i < n && i < IH_MAX_WILDCARDS; i++) {
      const ih_script_map *m = maps[i];
      if (!method_listed(m, r->head.method))
        continue;
      if (!join_path(t->script_physical, sizeof t->script_physical, vdir, path, NULL)) {
        *deny_status = 414;
        return EXT_DENY;
      }
      if (m->check_file && !is_file(c, t->script_physical)) {
        *deny_status = 404;
        return EXT_DENY;
      }
      t->dll_path = m->dll_path;
      t->script_url_len = path.n;
      t->wildcard_index = (int)i;
      return EXT_RUN;
    }
  }
  if (vdir->permissions & IH_PERM_EXECUTE) {
    size_t vdir_len = path.n - rest.n;
    for (size_t i = vdir_len; i < path.n; i++) {
      size_t end = i;
      while (end < path.n && path.p[end] != '/')
        end++;
      ih_slice seg = { path.p + i, end - i };
      if (seg.n > 4 && ih_slice_ieq_cstr((ih_slice){ seg.p + seg.n - 4, 4 }, ".dll")) {
        ih_slice script_url = { path.p, end };
        if (!join_path(t->script_physical, sizeof t->script_physical, vdir, script_url, NULL)) {
          *deny_status = 414;
          return EXT_DENY;
        }
        if (!is_file(c, t->script_physical)) {
          *deny_status = 404;
          return EXT_DENY;
        }
        t->dll_path = t->script_physical;
        t->script_url_len = end;
        t->direct_dll = true;
        return EXT_RUN;
      }
      i = end;
    }
  }
  const ih_script_map *m = ih_site_script_map(r->site, path);
  if (!m)
    return EXT_NONE;
  if (!(vdir->permissions & (IH_PERM_SCRIPT | IH_PERM_EXECUTE))) {
    *deny_status = 403; /* IIS 403.1: execute access forbidden */
    return EXT_DENY;
  }
  if (!method_listed(m, r->head.method)) {
    join_verbs(m, allow, allow_cap);
    *deny_status = 405;
    return EXT_DENY;
  }
  if (!join_path(t->script_physical, sizeof t->script_physical, vdir, path, NULL)) {
    *deny_status = 414;
    return EXT_DENY;
  }
  if (m->check_file && !is_file(c, t->script_physical)) {
    *deny_status = 404;
    return EXT_DENY;
  }
  t->dll_path = m->dll_path;
  t->script_url_len = path.n;
  return EXT_RUN;
}

/* Canonical path, site and virtual directory of the request; false (and no
 * routing) when any of them is missing: the full answer comes later. */
static const ih_vdir *route_basics(ih_conn *c, ih_slice *rest)
{
  ih_request *r = c->view;
  const ih_config *cfg = c->gen->config;
  if (canonical_path(c) != IH_URL_OK)
    return NULL;
  r->site = ih_config_find_site(cfg, c->local_addr, c->local_port, r->framing.host_name);
  if (!r->site)
    return NULL;
  ih_slice path = ih_slice_from_cstr(r->path);
  if (cfg->server.status_path[0] &&
      (ih_slice_ieq_cstr(path, cfg->server.status_path) || is_ext_admin_path(cfg, path)))
    return NULL;
  return ih_site_map_path(r->site, path, rest);
}

bool ih_respond_route_extension(ih_conn *c)
{
  if (!c->server->platform->extension_start || !is_known_method(c->view->head.method))
    return false;
  ih_slice rest;
  const ih_vdir *vdir = route_basics(c, &rest);
  if (!vdir)
    return false;
  int deny = 0;
  char allow[256];
  return classify_extension(c, vdir, rest, &c->view->ext, &deny, allow, sizeof allow) == EXT_RUN;
}

const ih_site *ih_respond_find_site(ih_conn *c)
{
  ih_request *r = c->view;
  if (!r->site && canonical_path(c) == IH_URL_OK)
    r->site = ih_config_find_site(c->gen->config, c->local_addr, c->local_port, r->framing.host_name);
  return r->site;
}

enum ih_chain_result ih_respond_url_map(ih_conn *c)
{
  ih_request *r = &c->req;
  if (!conn_filters_want(c, IH_SF_NOTIFY_URL_MAP))
    return IH_CHAIN_CONTINUE;
  if (r->is_extension && !r->ext.direct_dll) /* the script's path: PATH_TRANSLATED */
    return conn_filter_url_map(c, r->path, r->ext.script_physical, sizeof r->ext.script_physical);
  char physical[IH_PHYS_MAX];
  if (r->is_extension) {
    /* The DLL itself: too late to change the handler (ms525116), so the
     * filter sees the path and its edit goes nowhere. */
    snprintf(physical, sizeof physical, "%s", r->ext.script_physical);
    return conn_filter_url_map(c, r->path, physical, sizeof physical);
  }
  const ih_vdir *vdir = route_basics(c, NULL);
  if (!vdir || !join_path(physical, sizeof physical, vdir, ih_slice_from_cstr(r->path), NULL))
    return IH_CHAIN_CONTINUE; /* refused later, whatever a filter would say */
  enum ih_chain_result fr = conn_filter_url_map(c, r->path, physical, sizeof physical);
  free(r->filter_physical);
  r->filter_physical = ih_strdup(physical); /* served instead */
  /* Out of memory: never serve the unmapped path the filter overruled; 500. */
  return r->filter_physical || fr != IH_CHAIN_CONTINUE ? fr : IH_CHAIN_ERROR;
}

void ih_respond_ext_head(ih_conn *c, int status, const char *reason, const char *headers, size_t headers_len,
                         bool delimited)
{
  c->out_len = 0;
  c->out_head_len = 0;
  c->out_incomplete = false;
  c->head_filtered = false;
  c->req.status = status;
  if (!head_wanted(c)) {
    ih_conn_decide_keep_alive(c, delimited);
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
  out_printf(c, "HTTP/1.1 %d %s\r\n", status, reason && reason[0] ? reason : ih_http_reason(status));
  if (!dll_server)
    out_printf(c, "Server: %s\r\n", IH_SERVER_SOFTWARE);
  if (!dll_date) {
    char date[IH_HTTP_DATE_LEN + 1];
    ih_http_date_format(ih_wall_seconds(), date);
    out_printf(c, "Date: %s\r\n", date);
  }
  it = ih_header_lines_of(headers, headers_len);
  while (ih_header_lines_next(&it, &line)) {
    /* Connection is ours: the one keep-alive decision writes it below. */
    if (!ih_slice_ieq_cstr(line.name, "Connection") && line.text.n)
      out_append(c, line.raw.p, line.raw.n);
  }
  head_end(c, delimited);
}

bool ih_respond_finish(ih_conn *c, ih_body_plan *plan)
{
  if (!c->out_incomplete)
    return true;
  ih_request *r = &c->req;
  ih_log(IH_LOG_ERROR, IH_EV_RESPONSE_INCOMPLETE,
         "the response to %.*s %s from %s:%u could not be built (status %d, out of memory or over %u bytes): "
         "500 sent instead, connection closed",
         (int)r->head.method.n, r->head.method.p, r->path, c->peer_addr, (unsigned)c->peer_port, r->status,
         IH_OUT_MAX);
  if (plan->file)
    c->server->platform->file_close(plan->file);
  memset(plan, 0, sizeof *plan);
  r->status = 500;
  r->keep_alive = false;
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

void ih_respond_ext_default(ih_conn *c, int status, ih_body_plan *plan)
{
  if (status >= 400) {
    error_response(c, status, NULL, NULL, plan);
    return;
  }
  memset(plan, 0, sizeof *plan);
  head_begin(c, status);
  if (!ih_http_status_has_no_body(status))
    head_field(c, "Content-Length", "0"); /* none in 1xx, 204, 304 (RFC 9110 8.6; http_status.h) */
  head_end(c, true);
}

void ih_respond_request(ih_conn *c, ih_body_plan *plan)
{
  ih_request *r = c->view;
  const ih_config *cfg = c->gen->config;
  memset(plan, 0, sizeof *plan);
  ih_slice method = r->head.method;

  if (!is_known_method(method)) {
    error_response(c, 501, NULL, NULL, plan);
    return;
  }
  if (ih_slice_eq(method, IH_SLICE_LIT("OPTIONS")) && ih_slice_eq(r->head.target, IH_SLICE_LIT("*"))) {
    head_begin(c, 200);
    head_field(c, "Allow", "%s", ALLOW_STATIC);
    head_field(c, "Content-Length", "0");
    head_end(c, true);
    return;
  }
  enum ih_url_status us = canonical_path(c);
  if (us != IH_URL_OK) {
    r->path[0] = '\0';
    ih_log(IH_LOG_INFO, IH_EV_URL_REJECTED, "URL from %s:%u refused: %s", c->peer_addr, (unsigned)c->peer_port,
           ih_url_status_text(us));
    /* Malformed URLs are a client error; names Windows would alias are
     * valid URLs that name nothing servable, so they are simply not found. */
    bool alias = us == IH_URL_STREAM || us == IH_URL_TRAILING_DOT_SPACE || us == IH_URL_DEVICE_NAME ||
                 us == IH_URL_SHORT_NAME;
    error_response(c, alias ? 404 : (us == IH_URL_TOO_LONG ? 414 : 400), NULL, NULL, plan);
    return;
  }
  /* The request's host (http_parse.h: the absolute-form target's, else
   * Host's, without the port) picks the site. */
  r->site = ih_config_find_site(cfg, c->local_addr, c->local_port, r->framing.host_name);
  if (!r->site) {
    error_response(c, 400, NULL, NULL, plan); /* http.sys: "Bad Request - Invalid Hostname" */
    return;
  }
  ih_slice path = ih_slice_from_cstr(r->path);
  bool get_or_head = ih_slice_eq(method, IH_SLICE_LIT("GET")) || r->head_only;

  if (cfg->server.status_path[0] && ih_slice_ieq_cstr(path, cfg->server.status_path)) {
    if (!c->peer_is_loopback)
      error_response(c, 404, NULL, NULL, plan);
    else if (!get_or_head)
      error_response(c, 405, "Allow", "GET, HEAD", plan);
    else
      status_page(c);
    return;
  }
  if (is_ext_admin_path(cfg, path)) {
    ext_admin_page(c, plan);
    return;
  }

  ih_slice rest;
  const ih_vdir *vdir = ih_site_map_path(r->site, path, &rest);
  if (!vdir) {
    error_response(c, 403, NULL, NULL, plan);
    return;
  }
  {
    ih_ext_target t;
    int deny = 500;
    char allow[256] = "";
    enum ext_class ec = classify_extension(c, vdir, rest, &t, &deny, allow, sizeof allow);
    if (ec == EXT_DENY) {
      error_response(c, deny, deny == 405 ? "Allow" : NULL, allow, plan);
      return;
    }
    if (ec == EXT_RUN) { /* routed at head time; only reached without an extension host */
      error_response(c, 501, NULL, NULL, plan);
      return;
    }
  }
  if (!(vdir->permissions & IH_PERM_READ)) {
    error_response(c, 403, NULL, NULL, plan);
    return;
  }
  if (ih_slice_eq(method, IH_SLICE_LIT("OPTIONS"))) {
    head_begin(c, 200);
    head_field(c, "Allow", "%s", ALLOW_STATIC);
    head_field(c, "Content-Length", "0");
    head_end(c, true);
    return;
  }
  if (!get_or_head) {
    error_response(c, 405, "Allow", ALLOW_STATIC, plan);
    return;
  }

  char physical[IH_PHYS_MAX];
  if (!join_path(physical, sizeof physical, vdir, path, NULL)) {
    error_response(c, 414, NULL, NULL, plan);
    return;
  }
  if (r->filter_physical) /* where URL_MAP filters sent it */
    snprintf(physical, sizeof physical, "%s", r->filter_physical);
  file_ref f;
  file_ref_open(c, physical, &f);
  if (f.status == IH_FS_OK && f.info.is_dir) {
    file_ref_close(c, &f);
    if (path.p[path.n - 1] != '/') {
      /* IIS redirects a directory to its slash form so relative links work. */
      char location[2200];
      snprintf(location, sizeof location, "%s/%s%.*s", r->path, r->query.n ? "?" : "", (int)r->query.n,
               r->query.n ? r->query.p : "");
      error_response(c, 301, "Location", location, plan);
      return;
    }
    for (size_t i = 0; i < r->site->default_document_count; i++) {
      char doc[IH_PHYS_MAX];
      if (!join_path(doc, sizeof doc, vdir, path, r->site->default_documents[i]))
        continue;
      file_ref_open(c, doc, &f);
      if (f.status == IH_FS_OK && !f.info.is_dir) {
        const char *type = type_for_name(c, doc);
        if (type) {
          serve_file(c, &f, type, plan);
          return;
        }
      }
      file_ref_close(c, &f);
    }
    if (r->site->directory_listing)
      directory_listing(c, physical);
    else
      error_response(c, 403, NULL, NULL, plan); /* IIS 403.14: listing denied */
    return;
  }
  if (f.status != IH_FS_OK) {
    if (f.status == IH_FS_ERROR)
      ih_log(IH_LOG_WARNING, IH_EV_FILE_ERROR, "cannot open %s", physical);
    file_ref_close(c, &f);
    error_response(c, f.status == IH_FS_DENIED ? 403 : f.status == IH_FS_NOT_FOUND ? 404 : 500, NULL, NULL, plan);
    return;
  }
  const char *type = type_for_name(c, physical);
  if (!type) {
    file_ref_close(c, &f);
    error_response(c, 404, NULL, NULL, plan); /* IIS 404.3: no MIME map entry */
    return;
  }
  serve_file(c, &f, type, plan);
}

/* SF_NOTIFY_LOG: the filters see the record as HTTP_FILTER_LOG and may
 * point its strings at memory of their own (AllocMem: it lives as long as
 * the connection) or change its numbers; the line is written from what
 * they leave. The record's slices are not terminated, so the filters get
 * copies, which the caller frees (log_copies_free) after formatting. */
typedef struct log_copies {
  char *text[5];
  char client_ip[64];
} log_copies;

static ih_slice capped(const char *s, size_t max)
{
  ih_slice v = ih_slice_from_cstr(s ? s : "");
  v.n = v.n > max ? max : v.n;
  return v;
}

static void log_copies_free(log_copies *k)
{
  for (int i = 0; i < 5; i++)
    free(k->text[i]);
}

static void log_through_filters(ih_conn *c, ih_w3c_record *rec, log_copies *k)
{
  memset(k, 0, sizeof *k);
  if (!conn_filters_want(c, IH_SF_NOTIFY_LOG))
    return;
  const ih_slice from[5] = { ih_slice_from_cstr(rec->c_ip), rec->username, rec->method, rec->uri_stem,
                             rec->uri_query };
  for (int i = 0; i < 5; i++) {
    k->text[i] = ih_malloc(from[i].n + 1);
    if (!k->text[i]) {
      log_copies_free(k);
      memset(k, 0, sizeof *k);
      return; /* out of memory: the line is written as it is */
    }
    if (from[i].n)
      memcpy(k->text[i], from[i].p, from[i].n);
    k->text[i][from[i].n] = '\0';
  }
  ih_fn_log log = {
    .client_host = k->text[0], .client_user = k->text[1], .server_name = c->local_addr, .operation = k->text[2],
    .target = k->text[3], .parameters = k->text[4], .http_status = (uint32_t)rec->status,
    .win32_status = rec->win32_status,
    .bytes_sent = (uint32_t)(c->req.response_bytes > UINT32_MAX ? UINT32_MAX : c->req.response_bytes),
    .bytes_received = (uint32_t)(c->req.body_received > UINT32_MAX - c->req.head.head_len
                                     ? UINT32_MAX
                                     : c->req.head.head_len + c->req.body_received),
    .ms_taken = rec->time_taken_ms,
  };
  conn_filter_log(c, &log);
  /* Capped like the client's fields, so the line always fits. */
  snprintf(k->client_ip, sizeof k->client_ip, "%s", log.client_host ? log.client_host : "");
  rec->c_ip = k->client_ip;
  rec->username = capped(log.client_user, IH_LOG_FIELD_MAX);
  rec->method = capped(log.operation, IH_LOG_FIELD_MAX);
  rec->uri_stem = capped(log.target, sizeof c->req.path);
  rec->uri_query = capped(log.parameters, IH_LOG_FIELD_MAX);
  rec->status = (int)log.http_status;
  rec->win32_status = log.win32_status;
  rec->time_taken_ms = log.ms_taken;
}

void ih_respond_log(ih_conn *c)
{
  const ih_request *r = &c->req;
  if (!r->site || !r->site->log_enabled)
    return;
  int64_t now = ih_wall_seconds();
  /* Client-controlled fields are capped so the line (escaping can triple
   * them) always fits and no request is left out of the log. */
  ih_slice agent = header_value(c, "User-Agent"), referer = header_value(c, "Referer"), query = r->query;
  agent.n = agent.n > IH_LOG_FIELD_MAX ? IH_LOG_FIELD_MAX : agent.n;
  referer.n = referer.n > IH_LOG_FIELD_MAX ? IH_LOG_FIELD_MAX : referer.n;
  query.n = query.n > IH_LOG_FIELD_MAX ? IH_LOG_FIELD_MAX : query.n;
  /* What an extension adds (HSE_APPEND_LOG_PARAMETER, lpszLogData) goes
   * after the query in cs-uri-query, where IIS puts it (ms524660). */
  char query_buf[2 * IH_LOG_FIELD_MAX];
  if (r->ext_log_len) {
    int n = snprintf(query_buf, sizeof query_buf, "%.*s%.*s", (int)query.n, query.p ? query.p : "",
                     (int)(r->ext_log_len > IH_LOG_FIELD_MAX ? IH_LOG_FIELD_MAX : r->ext_log_len), r->ext_log);
    query = (ih_slice){ query_buf, n < 0 ? 0 : (size_t)n < sizeof query_buf ? (size_t)n : sizeof query_buf - 1 };
  }
  ih_slice stem = r->path[0] ? ih_slice_from_cstr(r->path) : r->head.target;
  stem.n = stem.n > sizeof r->path ? sizeof r->path : stem.n;
  ih_w3c_record rec = {
    .time_unix = now,
    .s_ip = c->local_addr,
    .method = r->head.method,
    .uri_stem = stem,
    .uri_query = query,
    .s_port = c->local_port,
    .username = { "", 0 },
    .c_ip = c->peer_addr,
    .user_agent = agent,
    .referer = referer,
    .status = r->status,
    .substatus = 0,
    .win32_status = 0,
    .time_taken_ms = (unsigned)(ih_clock_ms() - r->started_ms),
  };
  if (c->filters && c->filters->user[0])
    rec.username = ih_slice_from_cstr(c->filters->user); /* AUTHENTICATION's user (filters) */
  log_copies copies;
  log_through_filters(c, &rec, &copies);
  char line[3 * (sizeof r->path + 6 * IH_LOG_FIELD_MAX) + 512]; /* + a filter's user and method */
  size_t len = ih_w3c_format_line(&rec, line, sizeof line);
  log_copies_free(&copies);
  if (len)
    c->server->platform->access_log(r->site, now, line, len);
}
