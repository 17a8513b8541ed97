/* Truth table of the keep-alive decision (service/http/keepalive.c); the
 * same table is in docs/keep-alive.md. Every combination of inputs is
 * checked against the rule written out independently below. */
#include "http/keepalive.h"
#include "ih_test.h"

static bool expected(int version, bool allows, bool framing_ok, bool refused, bool delimited, bool draining,
                     bool close)
{
  if (version == 9)
    return false; /* no headers: body ends at close */
  return allows && framing_ok && !refused && delimited && !draining && !close;
}

int main(void)
{
  IH_TEST("every row");
  static const int versions[] = { 9, 10, 11 };
  int rows = 0;
  for (int v = 0; v < 3; v++)
    for (int bits = 0; bits < 64; bits++) {
      ih_keepalive_inputs in = {
        .version = versions[v],
        .client_allows = bits & 1,
        .request_framing_ok = bits & 2,
        .response_delimited = bits & 4,
        .server_draining = bits & 8,
        .handler_wants_close = bits & 16,
        .request_refused = bits & 32,
      };
      bool want = expected(in.version, in.client_allows, in.request_framing_ok, in.request_refused,
                           in.response_delimited, in.server_draining, in.handler_wants_close);
      if (!IH_EQ_INT(ih_keepalive_decide(&in), want))
        ih_test_note("row: version=%d bits=%d", versions[v], bits);
      rows++;
    }
  IH_EQ_INT(rows, 192);

  IH_TEST("named rows");
  ih_keepalive_inputs http11 = { .version = 11, .client_allows = true, .request_framing_ok = true,
                                  .response_delimited = true };
  IH_CHECK(ih_keepalive_decide(&http11));
  ih_keepalive_inputs http10_no_ka = http11;
  http10_no_ka.version = 10;
  http10_no_ka.client_allows = false;
  IH_CHECK(!ih_keepalive_decide(&http10_no_ka));
  ih_keepalive_inputs undelimited = http11;
  undelimited.response_delimited = false;
  IH_CHECK(!ih_keepalive_decide(&undelimited));
  ih_keepalive_inputs http09 = http11;
  http09.version = 9;
  IH_CHECK(!ih_keepalive_decide(&http09));
  ih_keepalive_inputs refused = http11; /* CONNECT answered 400 */
  refused.request_refused = true;
  IH_CHECK(!ih_keepalive_decide(&refused));
  return ih_test_finish();
}
