/* Response generation for one parsed request: routing (site, status page,
 * virtual directory), static files, and error responses. Writes the
 * response head (and any small body) into c->out and, for file bodies, sets
 * c->req.file with the range to send. Called by conn.c with the lock held. */
#ifndef IH_RESPOND_H
#define IH_RESPOND_H

#include "filters/filter_chain.h"
#include "server/conn.h"

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
/* The site of c->view (Host header or absolute target, local address),
 * also set in c->view->site; NULL when none serves it (answered 400 later).
 * Site filters need it from PREPROC_HEADERS on. */
const ih_site *ih_respond_find_site(ih_conn *c);
/* SF_NOTIFY_URL_MAP for c->req once it is routed, where IIS runs it
 * (before AUTHENTICATION): a script's physical path as the filters leave
 * it becomes PATH_TRANSLATED; a static file's is what is served
 * (c->req.filter_physical). */
enum ih_chain_result ih_respond_url_map(ih_conn *c);
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

/* Room for more bytes after c->out_len; false past the in-memory limit. */
bool ih_respond_out_reserve(ih_conn *c, size_t more);

/* Replaces the head in c->out[0..out_head_len) with head[0..len), keeping
 * the body after it; false when out of memory. */
bool ih_respond_replace_head(ih_conn *c, const char *head, size_t len);

/* Checks the response in c->out before it is sent. When it could not be
 * built whole (a writer ran out of memory or past the in-memory limit), it
 * must not go out: a head without its Content-Length, or a body shorter
 * than announced, would desynchronise the client. It is replaced by a fixed
 * 500 written without allocating, the plan's file is closed, the
 * connection closes after it, and false is returned. */
bool ih_respond_finish(ih_conn *c, ih_body_plan *plan);

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
