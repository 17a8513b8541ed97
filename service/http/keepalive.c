/* The keep-alive/close decision (see keepalive.h). */
#include "http/keepalive.h"

#include "http/http_parse.h"

bool ih_keepalive_decide(const ih_keepalive_inputs *in)
{
  /* HTTP/0.9 has no headers, so nothing can delimit the response: the end of
   * the connection is the end of the body. */
  if (in->version == IH_HTTP_09)
    return false;
  /* After a framing error we cannot know where the next request starts
   * (RFC 9112 §11.2: request smuggling), so the connection must close. */
  if (!in->request_framing_ok)
    return false;
  /* A request read whole but refused as malformed (400) says the client
   * does not speak the HTTP we do: after a CONNECT it may already be
   * sending the tunnel's bytes (RFC 9110 9.3.6), which must not be read as
   * the next request. http.sys closes after its 400s too. */
  if (in->request_refused)
    return false;
  /* A response without a known length ends at connection close. */
  if (!in->response_delimited)
    return false;
  return in->client_allows && !in->server_draining && !in->handler_wants_close;
}
