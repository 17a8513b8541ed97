/* The server's own pages, answered only to loopback clients: the status
 * page (live counts as JSON) and the operator pages of the extension DLLs
 * at <status_path>/extensions and of the worker pools at
 * <status_path>/pools (docs/operations.md), and the health URL a load
 * balancer checks (health_path, docs/deployment.md). Called with the
 * connection's lock held, for c->view, once the route has chosen them. */
#ifndef IH_ADMIN_H
#define IH_ADMIN_H

#include "server/response.h"

void ih_admin_status_page(ih_conn *c, ih_body_plan *plan);
void ih_admin_extensions_page(ih_conn *c, ih_body_plan *plan);
void ih_admin_pools_page(ih_conn *c, ih_body_plan *plan);
void ih_admin_health_page(ih_conn *c, ih_body_plan *plan);

#endif
