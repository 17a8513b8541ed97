/* The handler step of a request that does not run an ISAPI extension: the
 * route (route.h) names the handler, and its response is written into the
 * connection's output buffer (response.h), with a file body in the plan.
 * Called with the connection's lock held, for c->view (the request, or an
 * extension's child request: HSE_REQ_EXEC_URL of static content). */
#ifndef IH_RESPOND_H
#define IH_RESPOND_H

#include "server/response.h"

/* Handles c->view (head parsed, body consumed). */
void ih_respond_request(ih_conn *c, ih_body_plan *plan);

#endif
