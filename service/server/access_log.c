/* The access-log line (see access_log.h): the record of a request is built
 * once, the LOG filters see it, and only then is it written in the site's
 * log_format (W3C or JSON lines). */
#include "server/access_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "core/ih_time.h"
#include "core/json_log.h"
#include "core/w3c_log.h"
#include "filters/filter_chain.h"
#include "server/conn_filters.h"
#include "server/conn_internal.h"

#define IH_LOG_FIELD_MAX 1024 /* bytes of User-Agent, Referer, query kept in the access log */

static ih_slice header_value(const ih_request *r, const char *name)
{
  const ih_http_header *h = ih_http_find_header(&r->head, name);
  return h ? h->value : (ih_slice){ "", 0 };
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
    .bytes_sent = (uint32_t)(c->req->response_bytes > UINT32_MAX ? UINT32_MAX : c->req->response_bytes),
    .bytes_received = (uint32_t)(c->req->body_received > UINT32_MAX - c->req->head.head_len
                                     ? UINT32_MAX
                                     : c->req->head.head_len + c->req->body_received),
    .ms_taken = rec->time_taken_ms,
  };
  conn_filter_log(c, &log);
  /* Capped like the client's fields, so the line always fits. */
  snprintf(k->client_ip, sizeof k->client_ip, "%s", log.client_host ? log.client_host : "");
  rec->c_ip = k->client_ip;
  rec->username = capped(log.client_user, IH_LOG_FIELD_MAX);
  rec->method = capped(log.operation, IH_LOG_FIELD_MAX);
  rec->uri_stem = capped(log.target, sizeof c->req->path);
  rec->uri_query = capped(log.parameters, IH_LOG_FIELD_MAX);
  rec->status = (int)log.http_status;
  rec->win32_status = log.win32_status;
  rec->time_taken_ms = log.ms_taken;
}

/* The record of c->req as IIS logs it, before the LOG filters. query_buf
 * (2 * IH_LOG_FIELD_MAX) holds the query when an extension appended to it. */
static ih_w3c_record build_record(const ih_conn *c, int64_t now, char *query_buf, size_t query_cap)
{
  const ih_request *r = c->req;
  /* Client-controlled fields are capped so the line (escaping can make
   * them six times longer) always fits and no request is left out. */
  ih_slice agent = header_value(r, "User-Agent"), referer = header_value(r, "Referer"), query = r->query;
  agent.n = agent.n > IH_LOG_FIELD_MAX ? IH_LOG_FIELD_MAX : agent.n;
  referer.n = referer.n > IH_LOG_FIELD_MAX ? IH_LOG_FIELD_MAX : referer.n;
  query.n = query.n > IH_LOG_FIELD_MAX ? IH_LOG_FIELD_MAX : query.n;
  /* What an extension adds (HSE_APPEND_LOG_PARAMETER, lpszLogData) goes
   * after the query in cs-uri-query, where IIS puts it (ms524660). */
  if (r->log_append_len) {
    int n = snprintf(query_buf, query_cap, "%.*s%.*s", (int)query.n, query.p ? query.p : "",
                     (int)(r->log_append_len > IH_LOG_FIELD_MAX ? IH_LOG_FIELD_MAX : r->log_append_len), r->log_append);
    query = (ih_slice){ query_buf, n < 0 ? 0 : (size_t)n < query_cap ? (size_t)n : query_cap - 1 };
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
    .c_ip = c->req->client_addr, /* the peer, or whom trusted proxies name (conn_request_resolve_client) */
    .user_agent = agent,
    .referer = referer,
    .status = r->status,
    .substatus = 0,
    .win32_status = 0,
    .time_taken_ms = (unsigned)(ih_clock_ms() - r->started_ms),
  };
  if (c->filters && c->filters->user[0])
    rec.username = ih_slice_from_cstr(c->filters->user); /* AUTHENTICATION's user (filters) */
  return rec;
}

/* The one place the format is chosen (config.h: log_format). */
static size_t format_line(enum ih_log_format format, const ih_w3c_record *rec, char *out, size_t cap)
{
  if (format == IH_LOG_FORMAT_JSON)
    return ih_json_format_line(rec, out, cap);
  return ih_w3c_format_line(rec, out, cap);
}

/* Longest line of either format: every capped field escaped at its worst
 * (W3C: 3 bytes a byte, "%XX"; JSON: 6, "\u00XX"), plus a filter's user
 * and method, the numbers and the JSON keys. */
#define IH_LOG_LINE_MAX (6 * (sizeof ((ih_request *)0)->path + 6 * IH_LOG_FIELD_MAX) + 1024)

void ih_access_log_write(ih_conn *c)
{
  const ih_request *r = c->req;
  if (!r->site || !r->site->log_enabled)
    return;
  int64_t now = ih_wall_seconds();
  char query_buf[2 * IH_LOG_FIELD_MAX];
  ih_w3c_record rec = build_record(c, now, query_buf, sizeof query_buf);
  log_copies copies;
  log_through_filters(c, &rec, &copies);
  char line[IH_LOG_LINE_MAX];
  size_t len = format_line(r->site->log_format, &rec, line, sizeof line);
  log_copies_free(&copies);
  if (len)
    c->server->platform->access_log(r->site, now, line, len);
}
