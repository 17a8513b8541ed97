/* Truth table of the keep-alive decision (service/http/keepalive.c), written
 * out as literal rows: rows[] below is docs/keep-alive.md's table, row by
 * row, with each row's inputs spelled out in full (a row the doc reaches
 * "in this order" also names the earlier conditions that did not hold). The
 * test then checks all 192 combinations of the inputs: each matches exactly
 * one row (so the table is complete and its rows do not overlap), and the
 * decision is that row's result. */
#include "http/keepalive.h"
#include "ih_test.h"

/* One input's allowed values, as a set: a bool input is NO, YES or ANY;
 * the version is V09, V1X (1.0 or 1.1) or a single one of them. */
enum { NO = 1, YES = 2, ANY = NO | YES };
enum { V09 = 1, V10 = 2, V11 = 4, V1X = V10 | V11 };
enum { CLOSE = 0, KEEP = 1 };

typedef struct row {
  const char *doc_row; /* the # column of docs/keep-alive.md */
  int version, framing_ok, refused, delimited, client_allows, draining, wants_close;
  int result;
} row;

static const row rows[] = {
  /* #    version framing refused delimited allows draining wants_close  result */
  { "1",  V09,    ANY,    ANY,    ANY,      ANY,   ANY,     ANY,         CLOSE }, /* HTTP/0.9 */
  { "2",  V1X,    NO,     ANY,    ANY,      ANY,   ANY,     ANY,         CLOSE }, /* framing not trusted */
  { "2a", V1X,    YES,    YES,    ANY,      ANY,   ANY,     ANY,         CLOSE }, /* answered 400 */
  { "3",  V1X,    YES,    NO,     NO,       ANY,   ANY,     ANY,         CLOSE }, /* not delimited */
  { "4",  V1X,    YES,    NO,     YES,      NO,    ANY,     ANY,         CLOSE }, /* client does not allow */
  { "5",  V1X,    YES,    NO,     YES,      YES,   YES,     ANY,         CLOSE }, /* draining */
  { "6",  V1X,    YES,    NO,     YES,      YES,   NO,      YES,         CLOSE }, /* handler asked to close */
  { "7",  V1X,    YES,    NO,     YES,      YES,   NO,      NO,          KEEP },  /* otherwise */
};
enum { ROWS = sizeof rows / sizeof rows[0] };

static bool in_set(int set, bool value) { return set & (value ? YES : NO); }

static bool version_in(int set, int version)
{
  return set & (version == 9 ? V09 : version == 10 ? V10 : V11);
}

static bool matches(const row *r, const ih_keepalive_inputs *in)
{
  return version_in(r->version, in->version) && in_set(r->framing_ok, in->request_framing_ok) &&
         in_set(r->refused, in->request_refused) && in_set(r->delimited, in->response_delimited) &&
         in_set(r->client_allows, in->client_allows) && in_set(r->draining, in->server_draining) &&
         in_set(r->wants_close, in->handler_wants_close);
}

int main(void)
{
  IH_TEST("every combination: exactly one row of the table, and its result");
  static const int versions[] = { 9, 10, 11 };
  int combinations = 0, hits[ROWS] = { 0 };
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
      const row *match = NULL;
      int matching = 0;
      for (int r = 0; r < ROWS; r++)
        if (matches(&rows[r], &in)) {
          matching++;
          hits[r]++;
          match = &rows[r];
        }
      if (!IH_EQ_INT(matching, 1) || !IH_EQ_INT(ih_keepalive_decide(&in), match->result))
        ih_test_note("inputs: version=%d bits=%d (row %s)", versions[v], bits, match ? match->doc_row : "none");
      combinations++;
    }
  IH_EQ_INT(combinations, 192);
  for (int r = 0; r < ROWS; r++)
    if (!IH_CHECK(hits[r] > 0))
      ih_test_note("row %s matches no combination", rows[r].doc_row);

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
