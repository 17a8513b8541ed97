/* The handler step (see respond.h): one switch from the route to the code
 * that answers it. */
#include "server/respond.h"

#include <string.h>

#include "server/admin.h"
#include "server/request.h"
#include "server/route.h"
#include "server/static_file.h"

/* OPTIONS names the methods static content allows (RFC 9110 9.3.7). */
static void options_response(ih_conn *c)
{
  ih_response_head_begin(c, 200);
  ih_response_head_field(c, "Allow", "%s", IH_ROUTE_ALLOW_STATIC);
  ih_response_head_field(c, "Content-Length", "0");
  ih_response_head_end(c, true);
}

void ih_respond_request(ih_conn *c, ih_body_plan *plan)
{
  ih_route route;
  ih_route_request(c, &route);
  memset(plan, 0, sizeof *plan);
  switch (route.kind) {
  case IH_ROUTE_ERROR:
    ih_response_error_with(c, route.status, route.header_name, route.header_value, plan);
    return;
  case IH_ROUTE_OPTIONS:
    options_response(c);
    return;
  case IH_ROUTE_STATUS_PAGE:
    conn_request_answered_by(c->view, IH_MH_ADMIN);
    ih_admin_status_page(c, plan);
    return;
  case IH_ROUTE_METRICS_PAGE:
    conn_request_answered_by(c->view, IH_MH_ADMIN);
    ih_admin_metrics_page(c, plan);
    return;
  case IH_ROUTE_EXT_ADMIN:
    conn_request_answered_by(c->view, IH_MH_ADMIN);
    ih_admin_extensions_page(c, plan);
    return;
  case IH_ROUTE_POOLS_ADMIN:
    conn_request_answered_by(c->view, IH_MH_ADMIN);
    ih_admin_pools_page(c, plan);
    return;
  case IH_ROUTE_HEALTH:
    conn_request_answered_by(c->view, IH_MH_ADMIN);
    ih_admin_health_page(c, plan);
    return;
  case IH_ROUTE_STATIC:
    ih_static_file_respond(c, route.vdir, route.physical, plan);
    return;
  }
}
