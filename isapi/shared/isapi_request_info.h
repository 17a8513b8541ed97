/* The facts of a request as server variables see them
 * (ih_isapi_request_info, isapi_vars.h), taken from the connection and one
 * of its requests: an extension's session (the request itself or an
 * EXEC_URL child) and filters' GetServerVariable both use it. Portable. */
#ifndef IH_ISAPI_REQUEST_INFO_H
#define IH_ISAPI_REQUEST_INFO_H

#include "server/conn.h"
#include "isapi/shared/isapi_vars.h"

/* Fills ri (zeroed first) from c and r. Slices point into r and c, which
 * must outlive every use of ri. Script mapping comes from r->ext when the
 * request runs an extension; otherwise SCRIPT_NAME and PATH_INFO are the
 * URL and PATH_TRANSLATED is empty. user/password: the identity a filter's
 * AUTHENTICATION left (NULL or "": anonymous). */
void ih_isapi_info_from_request(ih_isapi_request_info *ri, const ih_conn *c, const ih_request *r, const char *user,
                                const char *password);

#endif
