/* Routing: which handler answers a request, decided from its head alone
 * (target, Host, method, the site's virtual directories and script maps).
 *
 * The order of checks follows IIS: the request-target is canonicalised
 * before anything touches the file system; the site is chosen by binding
 * and Host; the status page and its operator pages (extensions, pools)
 * belong to the server, not to a site's content; virtual-directory permissions are
 * checked before any file is opened; a script map or a .dll in an
 * executable directory runs an ISAPI extension, and script source is never
 * served as a file. Called with the connection's lock held, for c->view. */
#ifndef IH_ROUTE_H
#define IH_ROUTE_H

#include <stdbool.h>

#include "filters/filter_chain.h"
#include "server/conn.h"

#define IH_ROUTE_PHYSICAL_MAX 4096

enum ih_route_kind {
  IH_ROUTE_ERROR,       /* answered with status (and header, if named) */
  IH_ROUTE_OPTIONS,     /* OPTIONS * or OPTIONS on readable content: Allow */
  IH_ROUTE_STATUS_PAGE, /* the server's status page (loopback, GET/HEAD) */
  IH_ROUTE_EXT_ADMIN,   /* <status_path>/extensions */
  IH_ROUTE_POOLS_ADMIN, /* <status_path>/pools */
  IH_ROUTE_METRICS_PAGE, /* <metrics_path>: Prometheus text (loopback, GET/HEAD) */
  IH_ROUTE_HEALTH,      /* health_path: the load balancer's check (loopback, GET/HEAD) */
  IH_ROUTE_STATIC,      /* a file or directory under vdir: physical */
};

typedef struct ih_route {
  enum ih_route_kind kind;
  int status;                 /* ERROR */
  const char *header_name;    /* ERROR: Allow for a 405; NULL: none */
  char header_value[256];
  const ih_vdir *vdir;        /* STATIC */
  char physical[IH_ROUTE_PHYSICAL_MAX]; /* STATIC: where URL_MAP filters left it, else the vdir's join */
} ih_route;

/* The methods a static response allows (OPTIONS and 405 answers). */
#define IH_ROUTE_ALLOW_STATIC "OPTIONS, GET, HEAD"

/* Decides, once the head is parsed, whether the request runs an ISAPI
 * extension; if so fills c->view->ext and returns true. Refusals (no
 * script permission, verb not allowed, missing file) return false and are
 * answered by ih_route_request's ERROR route after the body, like any
 * other response. */
bool ih_route_extension(ih_conn *c);
/* The pool that runs c->req (docs/pools.md): by its site and canonical
 * path. NULL when it has no site or its path is refused (the pipeline
 * answers it in process, as any other refusal). */
const ih_pool_conf *ih_route_pool(ih_conn *c);
/* Every other request's route (the body has been read). */
void ih_route_request(ih_conn *c, ih_route *out);
/* The site of c->view (Host header or absolute target, local address),
 * also set in c->view->site; NULL when none serves it (answered 400 later).
 * Site filters need it from PREPROC_HEADERS on. */
const ih_site *ih_route_find_site(ih_conn *c);
/* SF_NOTIFY_URL_MAP for c->req once it is routed, where IIS runs it
 * (before AUTHENTICATION): a script's physical path as the filters leave
 * it becomes PATH_TRANSLATED; a static file's is what is served
 * (c->req->filter_physical). */
enum ih_chain_result ih_route_url_map(ih_conn *c);

#endif
