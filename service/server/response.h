/* The response in the connection's output buffer: the writers every
 * handler uses (heads, bodies, error pages, 100 Continue, an extension's
 * head, the fixed 500), and the one place the keep-alive decision is made.
 *
 * A response head is written in three steps: ih_response_head_begin (status
 * line, Server, Date), ih_response_head_field for each header, and
 * ih_response_head_end, which makes the connection's keep-alive decision
 * (keepalive.h) for the request and writes its Connection line. Every head
 * the server sends ends there, including an extension's and a filter's, so
 * no other code decides keep-alive. HTTP/0.9 has no status line and no
 * headers (RFC 9112 Appendix C.1; IIS 7 and later send the body only): the
 * head writers write nothing for it, but the decision is still made.
 *
 * The writers that return nothing mark the response incomplete when they
 * cannot write (out of memory, or past the in-memory limit), and such a
 * response is never sent as it is (ih_response_finish). All are called with
 * the connection's lock held, for the request c->view. */
#ifndef IH_RESPONSE_H
#define IH_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ih_compiler.h"
#include "server/conn.h"

/* Largest response built in memory (a listing, the status page, an
 * extension's buffered head and body). */
#define IH_RESPONSE_MAX (4u << 20)

/* What the response's body is, beyond the bytes in c->out. */
typedef struct ih_body_plan {
  void *file;        /* NULL: the body (if any) is in c->out after the head */
  uint64_t offset;
  uint64_t length;
} ih_body_plan;

/* ---- the output buffer ---- */

/* Room for more bytes after c->out_len; false past the in-memory limit or
 * when out of memory. */
bool ih_response_reserve(ih_conn *c, size_t more);
/* Appends; on failure marks the response incomplete. */
void ih_response_append(ih_conn *c, const void *data, size_t len);
void ih_response_printf(ih_conn *c, const char *fmt, ...) IH_PRINTF(2, 3);
/* Appends; false (nothing appended, nothing marked) when it cannot. */
bool ih_response_try_append(ih_conn *c, const void *data, size_t len);
/* Replaces the head in c->out[0..out_head_len) with head[0..len), keeping
 * the body after it; false when out of memory. */
bool ih_response_replace_head(ih_conn *c, const char *head, size_t len);

/* ---- heads ---- */

void ih_response_head_begin(ih_conn *c, int status);
void ih_response_head_field(ih_conn *c, const char *name, const char *fmt, ...) IH_PRINTF(3, 4);
/* Ends the head with the keep-alive decision; `delimited`: the client can
 * tell where the body ends (Content-Length, no body, or chunked on 1.1). */
void ih_response_head_end(ih_conn *c, bool delimited);
/* The head of an extension's (or a filter's) response: our status line,
 * Server and Date unless the block has its own, the block's "Name: value"
 * lines except Connection (the connection is ours to manage), then the
 * keep-alive decision. */
void ih_response_ext_head(ih_conn *c, int status, const char *reason, const char *headers, size_t headers_len,
                          bool delimited);
/* The decision again, with what is known after the head was written (an
 * extension's end, a filter that finished during SEND_RESPONSE): it can
 * only turn the head's keep into close. */
void ih_response_end_decide(ih_conn *c, bool delimited);
/* A response with no head of ours (bytes a filter wrote itself): its end
 * cannot be known, so the connection closes after it. */
void ih_response_headless(ih_conn *c, int status);

/* ---- whole responses ---- */

/* The Content-Type of a file name by the configuration's MIME map; NULL
 * when its extension is not mapped (IIS 404.3). */
const char *ih_response_content_type(const ih_conn *c, const char *name);
/* An error response: the site's custom page for the status if one is
 * configured and readable, else a short built-in page; a 400 closes the
 * connection after it (keepalive.h). */
void ih_response_error(ih_conn *c, int status, ih_body_plan *plan);
/* The same with one more header (Allow for a 405, Location for a 301,
 * Content-Range for a 416). */
void ih_response_error_with(ih_conn *c, int status, const char *name, const char *value, ih_body_plan *plan);
/* "HTTP/1.1 100 Continue" interim response. */
void ih_response_continue(ih_conn *c);
/* The response of an extension that sent nothing (status < 400: an empty
 * one), or an error page. */
void ih_response_ext_default(ih_conn *c, int status, ih_body_plan *plan);

/* Checks the response in c->out before it is sent. When it could not be
 * built whole (a writer ran out of memory or past the in-memory limit), it
 * must not go out: a head without its Content-Length, or a body shorter
 * than announced, would desynchronise the client. It is replaced by a fixed
 * 500 written without allocating, the plan's file is closed, the
 * connection closes after it, and false is returned. */
bool ih_response_finish(ih_conn *c, ih_body_plan *plan);

#endif
