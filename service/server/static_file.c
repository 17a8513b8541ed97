/* Static content (see static_file.h).
 *
 * As IIS does: unknown extensions are not served (404.3); directories
 * redirect to their slash form, then use a default document, then a
 * listing only where enabled (else 403.14). Conditional requests and
 * ranges follow RFC 9110 13 and 14 (http/static_rules.h). */
#include "server/static_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "core/physical_path.h"
#include "core/server_log.h"
#include "http/http_status.h"
#include "http/static_rules.h"
#include "server/conn_internal.h"
#include "server/file_cache.h"

#define IH_SMALL_FILE 65536u /* bodies up to this size are read and sent from memory */
#define IH_STATIC_PATH_MAX 4096 /* a default document's physical path */

static void out_str(ih_conn *c, const char *s) { ih_response_append(c, s, strlen(s)); }

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
    ih_response_head_begin(c, 304);
    ih_response_head_field(c, "ETag", "%s", etag);
    ih_response_head_field(c, "Last-Modified", "%s", last_modified);
    ih_response_head_end(c, true); /* 304 never has a body (RFC 9110 15.4.5) */
    file_ref_close(c, f);
    return;
  }
  if (cr == IH_COND_PRECONDITION_FAILED) {
    file_ref_close(c, f);
    ih_response_error(c, 412, plan);
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
    ih_response_error_with(c, 416, "Content-Range", content_range, plan);
    return;
  }
  if (rr == IH_RANGE_PARTIAL)
    status = 206;
  else
    first = 0, length = info->size;
  ih_response_head_begin(c, status);
  ih_response_head_field(c, "Content-Type", "%s", type);
  ih_response_head_field(c, "Last-Modified", "%s", last_modified);
  ih_response_head_field(c, "ETag", "%s", etag);
  ih_response_head_field(c, "Accept-Ranges", "bytes");
  if (status == 206)
    ih_response_head_field(c, "Content-Range", "bytes %llu-%llu/%llu", (unsigned long long)first,
               (unsigned long long)(first + length - 1), (unsigned long long)info->size);
  ih_response_head_field(c, "Content-Length", "%llu", (unsigned long long)length);
  ih_response_head_end(c, true);
  if (c->view->head_only || length == 0) {
    file_ref_close(c, f);
    return;
  }
  if (f->cached) {
    ih_response_append(c, f->cached->data + first, (size_t)length);
    file_ref_close(c, f);
    return;
  }
  if (length <= IH_SMALL_FILE && ih_response_reserve(c, (size_t)length)) {
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

bool ih_static_file_exists(ih_conn *c, const char *physical)
{
  file_ref f;
  file_ref_open(c, physical, &f);
  bool exists = f.status == IH_FS_OK && !f.info.is_dir;
  file_ref_close(c, &f);
  return exists;
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
    default: ih_response_append(c, s, 1);
    }
  }
}

static void url_escape_append(ih_conn *c, const char *s)
{
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-._~/", ch))
      ih_response_append(c, s, 1);
    else
      ih_response_printf(c, "%%%02X", ch);
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
    ih_response_printf(c, "%llu", (unsigned long long)size);
  ih_response_printf(c, "</td><td>%s</td></tr>\n", date);
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
    ih_response_error(c, 500, &ignored);
    return;
  }
  size_t body_len = c->out_len;
  char *body = ih_malloc(body_len);
  if (!body) {
    ih_body_plan ignored;
    ih_response_error(c, 500, &ignored);
    return;
  }
  memcpy(body, c->out, body_len);
  ih_response_head_begin(c, 200);
  ih_response_head_field(c, "Content-Type", "text/html; charset=utf-8");
  ih_response_head_field(c, "Content-Length", "%zu", body_len);
  ih_response_head_end(c, true);
  if (!c->view->head_only)
    ih_response_append(c, body, body_len);
  free(body);
}

void ih_static_file_respond(ih_conn *c, const ih_vdir *vdir, const char *physical, ih_body_plan *plan)
{
  ih_request *r = c->view;
  ih_slice path = ih_slice_from_cstr(r->path);
  memset(plan, 0, sizeof *plan);
  file_ref f;
  file_ref_open(c, physical, &f);
  if (f.status == IH_FS_OK && f.info.is_dir) {
    file_ref_close(c, &f);
    if (path.p[path.n - 1] != '/') {
      /* IIS redirects a directory to its slash form so relative links work. */
      char location[2200];
      snprintf(location, sizeof location, "%s/%s%.*s", r->path, r->query.n ? "?" : "", (int)r->query.n,
               r->query.n ? r->query.p : "");
      ih_response_error_with(c, 301, "Location", location, plan);
      return;
    }
    for (size_t i = 0; i < r->site->default_document_count; i++) {
      char doc[IH_STATIC_PATH_MAX];
      if (!ih_physical_path_join(vdir, path, r->site->default_documents[i], doc, sizeof doc, NULL))
        continue;
      file_ref_open(c, doc, &f);
      if (f.status == IH_FS_OK && !f.info.is_dir) {
        const char *type = ih_response_content_type(c, doc);
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
      ih_response_error(c, 403, plan); /* IIS 403.14: listing denied */
    return;
  }
  if (f.status != IH_FS_OK) {
    if (f.status == IH_FS_ERROR)
      ih_log(IH_LOG_WARNING, IH_EV_FILE_ERROR, "cannot open %s", physical);
    file_ref_close(c, &f);
    ih_response_error(c, f.status == IH_FS_DENIED ? 403 : f.status == IH_FS_NOT_FOUND ? 404 : 500, plan);
    return;
  }
  const char *type = ih_response_content_type(c, physical);
  if (!type) {
    file_ref_close(c, &f);
    ih_response_error(c, 404, plan); /* IIS 404.3: no MIME map entry */
    return;
  }
  serve_file(c, &f, type, plan);
}
