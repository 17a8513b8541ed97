/* Static content: files (through the small-file cache), conditional and
 * range requests, directories (the slash redirect, default documents, a
 * listing where the site enables it, else IIS's 403.14). Called with the
 * connection's lock held, for c->view. */
#ifndef IH_STATIC_FILE_H
#define IH_STATIC_FILE_H

#include <stdbool.h>

#include "server/response.h"

/* Answers for the file or directory at physical (a STATIC route: under
 * vdir, or where URL_MAP filters sent it): the response head (and a small
 * body) in c->out, a larger body as the plan's file, which the pipeline
 * sends and closes. Default documents are looked up under vdir. */
void ih_static_file_respond(ih_conn *c, const ih_vdir *vdir, const char *physical, ih_body_plan *plan);
/* Whether physical names a regular file (IIS's "verify that file exists"
 * of a script map); answered from the small-file cache when it can. */
bool ih_static_file_exists(ih_conn *c, const char *physical);

#endif
