/* The server's own pages, answered only to loopback clients: the status
 * page (live counts as JSON), the metrics page (Prometheus text) and the
 * operator pages of the extension DLLs
 * at <status_path>/extensions and of the worker pools at
 * <status_path>/pools (docs/operations.md), and the health URL a load
 * balancer checks (health_path, docs/deployment.md). Called with the
 * connection's lock held, for c->view, once the route has chosen them. */
#ifndef IH_ADMIN_H
#define IH_ADMIN_H

#include "server/response.h"

/* Whether c's client may read the server's operator pages (status,
 * metrics, extensions, pools, the health URL): the one place that decides
 * it, for every one of them. The request's client as trusted proxies name
 * it (docs/deployment.md), else the peer, on loopback or itself one of
 * trusted_proxies. */
bool ih_admin_peer_may_read(const ih_conn *c);

void ih_admin_status_page(ih_conn *c, ih_body_plan *plan);
/* <metrics_path>: the Prometheus text exposition (docs/operations.md,
 * "Metrics"); the route has checked the peer and the method. */
void ih_admin_metrics_page(ih_conn *c, ih_body_plan *plan);
void ih_admin_extensions_page(ih_conn *c, ih_body_plan *plan);
void ih_admin_pools_page(ih_conn *c, ih_body_plan *plan);
void ih_admin_health_page(ih_conn *c, ih_body_plan *plan);

#endif
