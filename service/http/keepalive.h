/* The single keep-alive/close decision. Everything that can end a connection
 * after a response (HTTP version, the client's wish, broken framing, a
 * response that is not self-delimiting, server drain, a handler's request)
 * is an input here; nothing else in the server decides it, and no input ever
 * touches a reference count. The truth table is in docs/keep-alive.md and
 * tests/unit/http/test_keepalive.c checks every row. */
#ifndef IH_KEEPALIVE_H
#define IH_KEEPALIVE_H

#include <stdbool.h>

typedef struct ih_keepalive_inputs {
  int version;               /* 9, 10 or 11 */
  bool client_allows;        /* from ih_http_framing.client_keep_alive */
  bool request_framing_ok;   /* the request (head and body) was read completely and correctly */
  bool request_refused;      /* the server answered 400 to a request it read but could not
                                interpret (a target or host it cannot use, CONNECT) */
  bool response_delimited;   /* response length is known: Content-Length, no body (304, HEAD), or chunked on 1.1 */
  bool server_draining;      /* graceful stop in progress */
  bool handler_wants_close;  /* e.g. an ISAPI extension asked to close (HSE_REQ_CLOSE_CONNECTION) */
} ih_keepalive_inputs;

bool ih_keepalive_decide(const ih_keepalive_inputs *in);

#endif
