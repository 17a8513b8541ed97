/* Response generation for one parsed request: routing (site, status page,
 * virtual directory), static files, and error responses. Writes the
 * response head (and any small body) into c->out and, for file bodies, sets
 * c->req.file with the range to send. Called by conn.c with the lock held. */
#ifndef IH_RESPOND_H
#define IH_RESPOND_H

#include "http/conn.h"

typedef struct ih_body_plan {
  void *file;        /* NULL: the body (if any) is in c->out after the head */
  uint64_t offset;
  uint64_t length;
} ih_body_plan;

/* Handles c->req (head parsed, body consumed). */
void ih_respond_request(ih_conn *c, ih_body_plan *plan);
/* An error response for a request that could not be parsed or framed; the
 * connection will close after it (the request framing is not trusted). */
void ih_respond_error(ih_conn *c, int status, ih_body_plan *plan);
/* "HTTP/1.1 100 Continue" interim response into c->out. */
void ih_respond_continue(ih_conn *c);
/* Writes the W3C access-log line of the request just sent (if its site logs). */
void ih_respond_log(ih_conn *c);

#endif
