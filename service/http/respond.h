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

/* Decides, once the head is parsed, whether the request runs an ISAPI
 * extension; if so fills c->req.ext and returns true. Refusals (no script
 * permission, verb not allowed, missing file) return false and are answered
 * by ih_respond_request after the body, like any other response. */
bool ih_respond_route_extension(ih_conn *c);
/* Head and body of a default response for an extension that sent nothing,
 * or a 500 for one that failed before sending anything. */
void ih_respond_ext_default(ih_conn *c, int status, ih_body_plan *plan);

/* Writes the head of an extension's response into c->out: our status line,
 * Server and Date, the extension's header lines (its own Connection lines
 * dropped: the connection is ours to manage), then the keep-alive decision.
 * Nothing for HTTP/0.9. */
void ih_respond_ext_head(ih_conn *c, int status, const char *reason, const char *headers, size_t headers_len,
                         bool delimited);

/* Appends to c->out (after a head written above); false when the in-memory
 * response limit would be exceeded (nothing appended). */
bool ih_respond_out_append(ih_conn *c, const void *data, size_t len);

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
