/* Routing (see route.h). */
#include "server/route.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "core/physical_path.h"
#include "core/server_log.h"
#include "http/url_canon.h"
#include "server/admin.h"
#include "server/conn_filters.h"
#include "server/conn_internal.h"
#include "server/static_file.h"

/* The physical path of canonical URL path url under vdir, in the Windows
 * form every consumer gets (core/physical_path.h); false when it would not
 * fit in cap. */
static bool join_path(char *out, size_t cap, const ih_vdir *vdir, ih_slice url, const char *leaf)
{
  return ih_physical_path_join(vdir, url, leaf, out, cap, NULL);
}

/* The request's canonical path, worked out once: a request is routed in
 * steps (its pool, its site for the filters, extension or not, its URL_MAP
 * path, its handler), each of which needs it, until a filter rewrites the
 * head (conn_filters.c's rebuild_head forgets it). */
static enum ih_url_status canonical_path(ih_conn *c)
{
  ih_request *r = c->view;
  if (r->path_known)
    return (enum ih_url_status)r->path_status;
  ih_slice path, query;
  enum ih_url_status st = ih_url_split(r->head.target, &path, &query, NULL);
  if (st == IH_URL_OK) {
    r->query = query;
    size_t len;
    st = ih_url_canonicalize(path, r->path, sizeof r->path, &len);
  }
  r->path_known = true;
  r->path_status = (int)st;
  return st;
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

/* The physical path of the script at url into t; false, with the refusal
 * in *deny_status, when it does not fit (414) or must exist as a file and
 * does not (404: a script map's "verify that file exists", a .dll). */
static bool locate_script(ih_conn *c, const ih_vdir *vdir, ih_slice url, bool must_exist, ih_ext_target *t,
                          int *deny_status)
{
  if (!join_path(t->script_physical, sizeof t->script_physical, vdir, url, NULL)) {
    *deny_status = 414;
    return false;
  }
  if (must_exist && !ih_static_file_exists(c, t->script_physical)) {
    *deny_status = 404;
    return false;
  }
  return true;
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
      if (!locate_script(c, vdir, path, m->check_file, t, deny_status))
        return EXT_DENY;
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
        if (!locate_script(c, vdir, script_url, true, t, deny_status))
          return EXT_DENY;
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
  if (!locate_script(c, vdir, path, m->check_file, t, deny_status))
    return EXT_DENY;
  t->dll_path = m->dll_path;
  t->script_url_len = path.n;
  return EXT_RUN;
}

/* <status_path> followed by suffix ("/extensions", "/pools"): the operator
 * pages beside the status page (docs/operations.md). */
static bool is_status_subpage(const ih_config *cfg, ih_slice path, const char *suffix)
{
  size_t n = strlen(cfg->server.status_path);
  size_t skip = n && cfg->server.status_path[n - 1] == '/'; /* "/status/" + "extensions" */
  size_t suffix_len = strlen(suffix);
  return n && path.n == n + suffix_len - skip && ih_slice_ieq_cstr((ih_slice){ path.p, n }, cfg->server.status_path) &&
         ih_slice_ieq_cstr((ih_slice){ path.p + n, path.n - n }, suffix + skip);
}

/* <status_path>/extensions: the extension DLLs' operator page. */
static bool is_ext_admin_path(const ih_config *cfg, ih_slice path)
{
  return is_status_subpage(cfg, path, "/extensions");
}

/* <status_path>/pools: the worker pools' operator page. */
static bool is_pools_admin_path(const ih_config *cfg, ih_slice path)
{
  return is_status_subpage(cfg, path, "/pools");
}

/* <metrics_path>: the Prometheus page (docs/operations.md, "Metrics"). */
static bool is_metrics_path(const ih_config *cfg, ih_slice path)
{
  return cfg->server.metrics_path[0] && ih_slice_ieq_cstr(path, cfg->server.metrics_path);
}

/* health_path: the load balancer's health URL (docs/deployment.md). */
static bool is_health_path(const ih_config *cfg, ih_slice path)
{
  return cfg->server.health_path[0] && ih_slice_ieq_cstr(path, cfg->server.health_path);
}

/* The status page, its operator pages, the metrics page and the health
 * URL: the server's
 * own, never a site's content, whatever pool or virtual directory covers
 * the path. */
static bool is_server_page(const ih_config *cfg, ih_slice path)
{
  return is_metrics_path(cfg, path) || is_health_path(cfg, path) ||
         (cfg->server.status_path[0] && (ih_slice_ieq_cstr(path, cfg->server.status_path) ||
                                         is_ext_admin_path(cfg, path) || is_pools_admin_path(cfg, path)));
}

const ih_pool_conf *ih_route_pool(ih_conn *c)
{
  const ih_config *cfg = c->gen->config;
  const ih_site *site = ih_route_find_site(c);
  if (!site || canonical_path(c) != IH_URL_OK)
    return NULL;
  ih_slice path = ih_slice_from_cstr(c->view->path);
  /* The status and admin pages are the server's, whatever pool the site's
   * root has: never relayed to a worker. */
  if (is_server_page(cfg, path))
    return NULL;
  return ih_site_pool_for_path(cfg, site, path);
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
  if (is_server_page(cfg, path))
    return NULL;
  return ih_site_map_path(r->site, path, rest);
}

bool ih_route_extension(ih_conn *c)
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

const ih_site *ih_route_find_site(ih_conn *c)
{
  ih_request *r = c->view;
  if (!r->site && canonical_path(c) == IH_URL_OK)
    r->site = ih_config_find_site(c->gen->config, c->local_addr, c->local_port, r->framing.host_name);
  return r->site;
}

enum ih_chain_result ih_route_url_map(ih_conn *c)
{
  ih_request *r = c->req;
  if (!conn_filters_want(c, IH_SF_NOTIFY_URL_MAP))
    return IH_CHAIN_CONTINUE;
  if (r->is_extension && !r->ext.direct_dll) /* the script's path: PATH_TRANSLATED */
    return conn_filter_url_map(c, r->path, r->ext.script_physical, sizeof r->ext.script_physical);
  char physical[IH_ROUTE_PHYSICAL_MAX];
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

static void route_error(ih_route *out, int status)
{
  out->kind = IH_ROUTE_ERROR;
  out->status = status;
}

/* A page of the server's own that only reads (status, metrics, health):
 * 404 to a client that may not see it (as if it did not exist), 405 to
 * anything but GET and HEAD. */
static void read_only_page(ih_conn *c, ih_route *out, enum ih_route_kind kind)
{
  ih_request *r = c->view;
  if (!ih_admin_peer_may_read(c)) {
    route_error(out, 404);
  } else if (!ih_slice_eq(r->head.method, IH_SLICE_LIT("GET")) && !r->head_only) {
    route_error(out, 405);
    out->header_name = "Allow";
    snprintf(out->header_value, sizeof out->header_value, "GET, HEAD");
  } else {
    out->kind = kind;
  }
}

void ih_route_request(ih_conn *c, ih_route *out)
{
  ih_request *r = c->view;
  const ih_config *cfg = c->gen->config;
  ih_slice method = r->head.method;
  memset(out, 0, offsetof(ih_route, physical));
  out->physical[0] = '\0';

  if (!is_known_method(method)) {
    route_error(out, 501);
    return;
  }
  if (ih_slice_eq(method, IH_SLICE_LIT("OPTIONS")) && ih_slice_eq(r->head.target, IH_SLICE_LIT("*"))) {
    out->kind = IH_ROUTE_OPTIONS;
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
    route_error(out, alias ? 404 : (us == IH_URL_TOO_LONG ? 414 : 400));
    return;
  }
  /* The health URL is the instance's, whatever Host a balancer's check
   * sends (often none, or its own name): before the site. */
  if (is_health_path(cfg, ih_slice_from_cstr(r->path))) {
    read_only_page(c, out, IH_ROUTE_HEALTH);
    return;
  }
  /* The request's host (http_parse.h: the absolute-form target's, else
   * Host's, without the port) picks the site. */
  r->site = ih_config_find_site(cfg, c->local_addr, c->local_port, r->framing.host_name);
  if (!r->site) {
    route_error(out, 400); /* http.sys: "Bad Request - Invalid Hostname" */
    return;
  }
  ih_slice path = ih_slice_from_cstr(r->path);
  bool get_or_head = ih_slice_eq(method, IH_SLICE_LIT("GET")) || r->head_only;

  bool status_page = cfg->server.status_path[0] && ih_slice_ieq_cstr(path, cfg->server.status_path);
  if (status_page || is_metrics_path(cfg, path)) {
    read_only_page(c, out, status_page ? IH_ROUTE_STATUS_PAGE : IH_ROUTE_METRICS_PAGE);
    return;
  }
  if (is_ext_admin_path(cfg, path)) {
    out->kind = IH_ROUTE_EXT_ADMIN;
    return;
  }
  if (is_pools_admin_path(cfg, path)) {
    out->kind = IH_ROUTE_POOLS_ADMIN;
    return;
  }

  ih_slice rest;
  const ih_vdir *vdir = ih_site_map_path(r->site, path, &rest);
  if (!vdir) {
    route_error(out, 403);
    return;
  }
  ih_ext_target t;
  int deny = 500;
  enum ext_class ec = classify_extension(c, vdir, rest, &t, &deny, out->header_value, sizeof out->header_value);
  if (ec == EXT_DENY) {
    route_error(out, deny);
    out->header_name = deny == 405 ? "Allow" : NULL;
    return;
  }
  if (ec == EXT_RUN) { /* routed at head time; only reached without an extension host */
    route_error(out, 501);
    return;
  }
  if (!(vdir->permissions & IH_PERM_READ)) {
    route_error(out, 403);
    return;
  }
  if (ih_slice_eq(method, IH_SLICE_LIT("OPTIONS"))) {
    out->kind = IH_ROUTE_OPTIONS;
    return;
  }
  if (!get_or_head) {
    route_error(out, 405);
    out->header_name = "Allow";
    snprintf(out->header_value, sizeof out->header_value, "%s", IH_ROUTE_ALLOW_STATIC);
    return;
  }
  if (!join_path(out->physical, sizeof out->physical, vdir, path, NULL)) {
    route_error(out, 414);
    return;
  }
  if (r->filter_physical) /* where URL_MAP filters sent it */
    snprintf(out->physical, sizeof out->physical, "%s", r->filter_physical);
  out->kind = IH_ROUTE_STATIC;
  out->vdir = vdir;
}
