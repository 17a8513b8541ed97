/* libFuzzer target for service/http/forwarded.c.
 *
 * Input: the first byte picks the source (bits 0-1), the connection's
 * scheme (bit 2) and the peer (bits 3-5, from a table of trusted and
 * untrusted IPv4, IPv6 and mapped addresses); the rest is field lines
 * separated by '\n', each starting with a letter that names its header
 * ('F' Forwarded, 'X' X-Forwarded-For, 'P' X-Forwarded-Proto; others are
 * ignored). The trusted list is fixed. Checks:
 *  - status and reason agree; the client text is the client's canonical form;
 *  - an untrusted peer changes nothing, whatever the headers;
 *  - a header ignored as a whole leaves the peer and its scheme;
 *  - anti-spoofing: when the client is an untrusted address taken from a
 *    header, adding field lines before that header's (what a client sends,
 *    in front of what the proxies append) changes neither the client nor
 *    its port. */
#include "http/forwarded.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                                                             \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "fuzz_forwarded: %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
      abort();                                                                    \
    }                                                                             \
  } while (0)

#define MAX_LINES 32

static const char *const peers[8] = {
  "10.0.0.1", "203.0.113.9", "2001:db8::1", "2001:db9::1", "::ffff:10.0.0.9", "::ffff:8.8.8.8", "192.168.1.5",
  "::1",
};

static ih_cidr trusted[8];
static size_t trusted_count;

static void setup(void)
{
  if (trusted_count)
    return;
  ih_cidr_parse_info info;
  const char *list = "10.0.0.0/8, 2001:db8::/32, ::ffff:192.168.0.0/112, ::1";
  REQUIRE(ih_cidr_list_parse(ih_slice_from_cstr(list), trusted, 8, &info) == IH_CIDR_OK);
  trusted_count = info.count;
}

static void check_result(const ih_fwd_input *in, const ih_fwd_result *r, enum ih_fwd_status st)
{
  REQUIRE(r->status == st && st >= IH_FWD_OK && st <= IH_FWD_BAD_XFP);
  REQUIRE((st == IH_FWD_OK) == (r->reason == NULL));
  REQUIRE(st != IH_FWD_PEER_NOT_ADDRESS); /* the table's peers are addresses */
  ih_ip_addr a, peer;
  REQUIRE(ih_ip_parse(ih_slice_from_cstr(r->client_text), &a) && memcmp(&a, &r->client, sizeof a) == 0);
  char buf[IH_IP_TEXT_MAX];
  ih_ip_format(&r->client, buf, sizeof buf);
  REQUIRE(strcmp(buf, r->client_text) == 0);
  REQUIRE(ih_ip_parse(in->peer, &peer));
  bool peer_trusted = ih_cidr_list_match(trusted, trusted_count, &peer);
  if (!peer_trusted || st == IH_FWD_BAD_FORWARDED || st == IH_FWD_BAD_XFF) {
    REQUIRE(memcmp(&r->client, &peer, sizeof peer) == 0);
    REQUIRE(r->from == IH_FWD_FROM_PEER && !r->has_port);
    REQUIRE(r->https == in->peer_https);
    REQUIRE(peer_trusted || st == IH_FWD_OK);
  }
  if (r->from == IH_FWD_FROM_PEER)
    REQUIRE(memcmp(&r->client, &peer, sizeof peer) == 0 && !r->has_port);
  if (st == IH_FWD_BAD_XFP)
    REQUIRE(r->https == in->peer_https);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0 || size > 8192)
    return 0;
  setup();
  /* one heap copy, so ASan sees any read past a line */
  char *text = malloc(size);
  memcpy(text, data, size);
  static const enum ih_fwd_source sources[4] = { IH_FWD_AUTO, IH_FWD_FORWARDED, IH_FWD_XFF, IH_FWD_AUTO };
  ih_slice fwd[MAX_LINES + 1], xff[MAX_LINES + 1], xfp[MAX_LINES];
  ih_fwd_input in = {
    .peer = ih_slice_from_cstr(peers[(data[0] >> 3) & 7]),
    .peer_https = (data[0] & 4) != 0,
    .trusted = trusted,
    .trusted_count = trusted_count,
    .source = sources[data[0] & 3],
    .forwarded = fwd + 1,
    .xff = xff + 1,
    .xfp = xfp,
  };
  size_t i = 1;
  while (i < size) {
    size_t end = i;
    while (end < size && text[end] != '\n')
      end++;
    if (end > i) {
      ih_slice value = { text + i + 1, end - i - 1 };
      if (text[i] == 'F' && in.forwarded_count < MAX_LINES)
        fwd[1 + in.forwarded_count++] = value;
      else if (text[i] == 'X' && in.xff_count < MAX_LINES)
        xff[1 + in.xff_count++] = value;
      else if (text[i] == 'P' && in.xfp_count < MAX_LINES)
        xfp[in.xfp_count++] = value;
    }
    i = end + 1;
  }
  ih_fwd_result r;
  enum ih_fwd_status st = ih_fwd_resolve(&in, &r);
  check_result(&in, &r, st);

  /* anti-spoofing: lines in front of the header the client came from */
  if ((st == IH_FWD_OK || st == IH_FWD_BAD_XFP) && r.from != IH_FWD_FROM_PEER &&
      !ih_cidr_list_match(trusted, trusted_count, &r.client)) {
    static const char *const prepended[] = { "6.6.6.6", "10.0.0.7, 2001:db8::66", "garbage, [::1", "unknown",
                                             "for=6.6.6.6;proto=https", "for=10.0.0.7, for=\"[2001:db8::66]\"",
                                             "for=_hidden, for=unknown" };
    for (size_t k = 0; k < sizeof prepended / sizeof prepended[0]; k++) {
      ih_fwd_input spoof = in;
      if (r.from == IH_FWD_FROM_XFF) {
        xff[0] = ih_slice_from_cstr(prepended[k]);
        spoof.xff = xff;
        spoof.xff_count++;
      } else {
        if (k < 4) /* X-Forwarded-For syntax is not Forwarded syntax */
          continue;
        fwd[0] = ih_slice_from_cstr(prepended[k]);
        spoof.forwarded = fwd;
        spoof.forwarded_count++;
      }
      ih_fwd_result s;
      enum ih_fwd_status sst = ih_fwd_resolve(&spoof, &s);
      check_result(&spoof, &s, sst);
      REQUIRE(sst == IH_FWD_OK || sst == IH_FWD_BAD_XFP);
      REQUIRE(s.from == r.from && strcmp(s.client_text, r.client_text) == 0);
      REQUIRE(s.has_port == r.has_port && s.port == r.port);
    }
  }
  free(text);
  return 0;
}
