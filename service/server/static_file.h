/* Static content: files (through the small-file cache), conditional and
 * range requests, directories (the slash redirect, default documents, a
 * listing where the site enables it, else IIS's 403.14). Called with the
 * connection's lock held, for c->view. */
#ifndef IH_STATIC_FILE_H
#define IH_STATIC_FILE_H

#include <stdbool.h>

#include "server/response.h"
#include "server/route.h"

/* Answers a STATIC route: the response head (and a small body) in c->out,
 * a larger body as the plan's file, which the pipeline sends and closes. */
void ih_static_file_respond(ih_conn *c, const ih_route *route, ih_body_plan *plan);
/* Whether physical names a regular file (IIS's "verify that file exists"
 * of a script map); answered from the small-file cache when it can. */
bool ih_static_file_exists(ih_conn *c, const char *physical);

#endif
