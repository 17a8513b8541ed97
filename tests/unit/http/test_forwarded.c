/* Unit tests for service/http/forwarded.c: the client's address and scheme
 * from X-Forwarded-For/-Proto and RFC 7239 Forwarded behind trusted
 * proxies. Spoofing first (an untrusted peer changes nothing; addresses a
 * client put in front of the proxy's are never taken), then the walk over
 * several hops and field lines, unknown and obfuscated hops, ports, IPv6,
 * the RFC 7239 examples, malformed headers, which header wins, and the
 * convenience that reads a parsed request head. */
#include "http/forwarded.h"
#include "ih_test.h"

#include <string.h>

#define MAX_LINES 4

typedef struct hdrs {
  const char *fwd[MAX_LINES];
  const char *xff[MAX_LINES];
  const char *xfp[MAX_LINES];
} hdrs;

static size_t to_slices(const char *const *lines, ih_slice *out)
{
  size_t n = 0;
  while (n < MAX_LINES && lines[n]) {
    out[n] = ih_slice_from_cstr(lines[n]);
    n++;
  }
  return n;
}

static const char *trusted_list = "10.0.0.0/8, 2001:db8:ffff::/48, 198.51.100.17";

static enum ih_fwd_status run_src(const char *peer, bool peer_https, enum ih_fwd_source source, hdrs h,
                                  ih_fwd_result *out)
{
  ih_cidr trusted[8];
  ih_cidr_parse_info info;
  if (!IH_EQ_INT(ih_cidr_list_parse(ih_slice_from_cstr(trusted_list), trusted, 8, &info), IH_CIDR_OK))
    return IH_FWD_PEER_NOT_ADDRESS;
  ih_slice fwd[MAX_LINES], xff[MAX_LINES], xfp[MAX_LINES];
  ih_fwd_input in = {
    .peer = ih_slice_from_cstr(peer),
    .peer_https = peer_https,
    .trusted = trusted,
    .trusted_count = info.count,
    .source = source,
    .forwarded = fwd,
    .forwarded_count = to_slices(h.fwd, fwd),
    .xff = xff,
    .xff_count = to_slices(h.xff, xff),
    .xfp = xfp,
    .xfp_count = to_slices(h.xfp, xfp),
  };
  enum ih_fwd_status st = ih_fwd_resolve(&in, out);
  IH_EQ_INT(out->status, st);
  IH_CHECK((st == IH_FWD_OK) == (out->reason == NULL));
  return st;
}

static enum ih_fwd_status run(const char *peer, hdrs h, ih_fwd_result *out)
{
  return run_src(peer, false, IH_FWD_AUTO, h, out);
}

/* the client (and from) for headers that must be taken as they are */
static void expect(const char *peer, hdrs h, const char *client, enum ih_fwd_from from, int line)
{
  ih_fwd_result r;
  enum ih_fwd_status st = run(peer, h, &r);
  bool ok = IH_EQ_INT(st, IH_FWD_OK);
  ok = IH_EQ_STR(r.client_text, client) && ok;
  ok = IH_EQ_INT(r.from, from) && ok;
  if (!ok)
    ih_test_note("case at line %d: %s", line, r.reason ? r.reason : "");
}
#define EXPECT(peer, h, client, from) expect(peer, h, client, from, __LINE__)

/* a header ignored as a whole: the peer, and why */
static void expect_bad(const char *peer, hdrs h, enum ih_fwd_status want, int line)
{
  ih_fwd_result r;
  enum ih_fwd_status st = run(peer, h, &r);
  bool ok = IH_EQ_INT(st, want);
  ok = IH_EQ_INT(r.from, IH_FWD_FROM_PEER) && ok;
  ok = IH_CHECK(r.reason && strlen(r.reason) > 10) && ok;
  if (!ok)
    ih_test_note("case at line %d", line);
}
#define EXPECT_BAD(peer, h, want) expect_bad(peer, h, want, __LINE__)

#define XFF(...) ((hdrs){ .xff = { __VA_ARGS__ } })
#define FWD(...) ((hdrs){ .fwd = { __VA_ARGS__ } })

static void test_spoofing(void)
{
  IH_TEST("spoofing: an untrusted peer's headers change nothing");
  ih_fwd_result r;
  EXPECT("203.0.113.9", XFF("1.2.3.4"), "203.0.113.9", IH_FWD_FROM_PEER);
  EXPECT("203.0.113.9", FWD("for=1.2.3.4"), "203.0.113.9", IH_FWD_FROM_PEER);
  EXPECT("2001:db8::9", XFF("10.0.0.2"), "2001:db8::9", IH_FWD_FROM_PEER);
  /* not even a malformed one is read */
  EXPECT("203.0.113.9", FWD("for=\"unbalanced"), "203.0.113.9", IH_FWD_FROM_PEER);
  IH_EQ_INT(run_src("203.0.113.9", false, IH_FWD_AUTO,
                    (hdrs){ .xff = { "1.2.3.4" }, .xfp = { "https" } }, &r), IH_FWD_OK);
  IH_CHECK(!r.https);
  IH_EQ_INT(run_src("203.0.113.9", true, IH_FWD_AUTO, (hdrs){ .xfp = { "http" } }, &r), IH_FWD_OK);
  IH_CHECK(r.https);

  IH_TEST("spoofing: a trusted proxy's hop is taken; what the client prepended is not");
  EXPECT("10.0.0.1", XFF("1.2.3.4, 10.0.0.2"), "1.2.3.4", IH_FWD_FROM_XFF);
  EXPECT("10.0.0.1", XFF("6.6.6.6, 1.2.3.4"), "1.2.3.4", IH_FWD_FROM_XFF);
  EXPECT("10.0.0.1", XFF("6.6.6.6, 1.2.3.4, 10.0.0.2"), "1.2.3.4", IH_FWD_FROM_XFF);
  EXPECT("10.0.0.1", XFF("6.6.6.6", "1.2.3.4"), "1.2.3.4", IH_FWD_FROM_XFF);
  /* the client's part may be anything, even what we cannot read */
  EXPECT("10.0.0.1", XFF("not an address, 1.2.3.4"), "1.2.3.4", IH_FWD_FROM_XFF);
  EXPECT("10.0.0.1", XFF("10.0.0.7, 1.2.3.4"), "1.2.3.4", IH_FWD_FROM_XFF); /* a trusted-looking lie */
  EXPECT("10.0.0.1", FWD("for=6.6.6.6, for=1.2.3.4"), "1.2.3.4", IH_FWD_FROM_FORWARDED);
  EXPECT("10.0.0.1", FWD("for=6.6.6.6", "for=1.2.3.4"), "1.2.3.4", IH_FWD_FROM_FORWARDED);
  EXPECT("10.0.0.1", FWD("for=\"[::1\", for=1.2.3.4"), "1.2.3.4", IH_FWD_FROM_FORWARDED);
  EXPECT("10.0.0.1", FWD("for=6.6.6.6;proto=1bad, for=1.2.3.4"), "1.2.3.4", IH_FWD_FROM_FORWARDED);
  /* a scheme the client claimed in its own hop is not taken either */
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_AUTO, FWD("for=6.6.6.6;proto=https, for=1.2.3.4;proto=http"), &r),
            IH_FWD_OK);
  IH_CHECK(!r.https);
}

static void test_xff(void)
{
  ih_fwd_result r;
  IH_TEST("X-Forwarded-For: every hop trusted gives the leftmost; empty elements skipped");
  EXPECT("10.0.0.1", XFF("10.0.0.3, 10.0.0.2"), "10.0.0.3", IH_FWD_FROM_XFF);
  EXPECT("10.0.0.1", XFF("10.0.0.3"), "10.0.0.3", IH_FWD_FROM_XFF);
  EXPECT("10.0.0.1", XFF("1.2.3.4,, 10.0.0.2 ,"), "1.2.3.4", IH_FWD_FROM_XFF);
  EXPECT("10.0.0.1", XFF("1.2.3.4", "", "10.0.0.2"), "1.2.3.4", IH_FWD_FROM_XFF);
  EXPECT("10.0.0.1", XFF(" , "), "10.0.0.1", IH_FWD_FROM_PEER);
  EXPECT("10.0.0.1", XFF(NULL), "10.0.0.1", IH_FWD_FROM_PEER);

  IH_TEST("X-Forwarded-For: IPv6, mapped addresses, ports");
  EXPECT("10.0.0.1", XFF("2001:DB8::0001"), "2001:db8::1", IH_FWD_FROM_XFF);
  EXPECT("10.0.0.1", XFF("[2001:db8::1]"), "2001:db8::1", IH_FWD_FROM_XFF);
  EXPECT("10.0.0.1", XFF("1.2.3.4, ::ffff:10.0.0.2"), "1.2.3.4", IH_FWD_FROM_XFF);
  EXPECT("::ffff:10.0.0.1", XFF("1.2.3.4"), "1.2.3.4", IH_FWD_FROM_XFF);
  EXPECT("2001:db8:ffff::1", XFF("1.2.3.4, 2001:db8:ffff::2"), "1.2.3.4", IH_FWD_FROM_XFF);
  IH_EQ_INT(run("10.0.0.1", XFF("1.2.3.4:5678"), &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "1.2.3.4");
  IH_CHECK(r.has_port);
  IH_EQ_INT(r.port, 5678);
  IH_EQ_INT(run("10.0.0.1", XFF("[2001:db8::1]:443, 10.0.0.2:80"), &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "2001:db8::1");
  IH_CHECK(r.has_port);
  IH_EQ_INT(r.port, 443);
  IH_EQ_INT(run("10.0.0.1", XFF("1.2.3.4"), &r), IH_FWD_OK);
  IH_CHECK(!r.has_port);

  IH_TEST("X-Forwarded-For: \"unknown\" stops the walk at the last trusted hop");
  EXPECT("10.0.0.1", XFF("1.2.3.4, unknown, 10.0.0.2"), "10.0.0.2", IH_FWD_FROM_XFF);
  EXPECT("10.0.0.1", XFF("1.2.3.4, UNKNOWN"), "10.0.0.1", IH_FWD_FROM_PEER);

  IH_TEST("X-Forwarded-For: a hop a trusted proxy wrote that is not an address: ignored");
  EXPECT_BAD("10.0.0.1", XFF("1.2.3.4, 10.0.0.300"), IH_FWD_BAD_XFF);
  EXPECT_BAD("10.0.0.1", XFF("junk"), IH_FWD_BAD_XFF);
  EXPECT_BAD("10.0.0.1", XFF("1.2.3.4, 10.0.0.2, 010.0.0.3"), IH_FWD_BAD_XFF);
  EXPECT_BAD("10.0.0.1", XFF("[1.2.3.4]"), IH_FWD_BAD_XFF);
  EXPECT_BAD("10.0.0.1", XFF("1.2.3.4:99999"), IH_FWD_BAD_XFF);
  EXPECT_BAD("10.0.0.1", XFF("1.2.3.4:"), IH_FWD_BAD_XFF);
  EXPECT_BAD("10.0.0.1", XFF("[::1]x"), IH_FWD_BAD_XFF);
  EXPECT_BAD("10.0.0.1", XFF("[::1"), IH_FWD_BAD_XFF);
  EXPECT_BAD("10.0.0.1", XFF("_hidden"), IH_FWD_BAD_XFF); /* obfuscation is Forwarded's */
  EXPECT_BAD("10.0.0.1", XFF("1.2.3.4 5.6.7.8"), IH_FWD_BAD_XFF);
  EXPECT_BAD("10.0.0.1", XFF("fe80::1%eth0"), IH_FWD_BAD_XFF);

  IH_TEST("X-Forwarded-Proto: from the client's hop");
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_AUTO,
                    (hdrs){ .xff = { "1.2.3.4, 10.0.0.2" }, .xfp = { "https, http" } }, &r), IH_FWD_OK);
  IH_CHECK(r.https);
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_AUTO,
                    (hdrs){ .xff = { "6.6.6.6, 1.2.3.4" }, .xfp = { "https", "http" } }, &r), IH_FWD_OK);
  IH_CHECK(!r.https);
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_AUTO,
                    (hdrs){ .xff = { "1.2.3.4, 10.0.0.2" }, .xfp = { "HTTPS" } }, &r), IH_FWD_OK);
  IH_CHECK(r.https);
  IH_EQ_INT(run_src("10.0.0.1", true, IH_FWD_AUTO, (hdrs){ .xff = { "1.2.3.4" }, .xfp = { "Http" } }, &r),
            IH_FWD_OK);
  IH_CHECK(!r.https);
  IH_EQ_INT(run_src("10.0.0.1", true, IH_FWD_AUTO, (hdrs){ .xff = { "1.2.3.4" } }, &r), IH_FWD_OK);
  IH_CHECK(r.https); /* no X-Forwarded-Proto: the connection's own */
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_AUTO, (hdrs){ .xfp = { "https" } }, &r), IH_FWD_OK);
  IH_CHECK(r.https); /* the peer's own word about the request */
  IH_EQ_STR(r.client_text, "10.0.0.1");
  /* "unknown": the view of the hop that wrote it */
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_AUTO,
                    (hdrs){ .xff = { "1.2.3.4, unknown, 10.0.0.2" }, .xfp = { "http, https, http" } }, &r),
            IH_FWD_OK);
  IH_CHECK(r.https);
  IH_EQ_STR(r.client_text, "10.0.0.2");

  IH_TEST("X-Forwarded-Proto that cannot be used: the address is still taken");
  IH_EQ_INT(run_src("10.0.0.1", true, IH_FWD_AUTO,
                    (hdrs){ .xff = { "1.2.3.4, 10.0.0.2" }, .xfp = { "http, http, https" } }, &r), IH_FWD_BAD_XFP);
  IH_EQ_STR(r.client_text, "1.2.3.4");
  IH_EQ_INT(r.from, IH_FWD_FROM_XFF);
  IH_CHECK(r.https && r.reason);
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_AUTO, (hdrs){ .xff = { "1.2.3.4" }, .xfp = { "ftp" } }, &r),
            IH_FWD_BAD_XFP);
  IH_EQ_STR(r.client_text, "1.2.3.4");
  IH_CHECK(!r.https);
}

static void test_forwarded(void)
{
  ih_fwd_result r;
  IH_TEST("Forwarded: RFC 7239's examples (4, 6, 7.1)");
  IH_EQ_INT(run("10.0.0.1", FWD("for=192.0.2.60;proto=http;by=203.0.113.43"), &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "192.0.2.60");
  IH_EQ_INT(r.from, IH_FWD_FROM_FORWARDED);
  IH_CHECK(!r.https);
  IH_EQ_INT(run("10.0.0.1", FWD("For=\"[2001:db8:cafe::17]:4711\""), &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "2001:db8:cafe::17");
  IH_CHECK(r.has_port);
  IH_EQ_INT(r.port, 4711);
  EXPECT("10.0.0.1", FWD("for=192.0.2.43, for=198.51.100.17"), "192.0.2.43", IH_FWD_FROM_FORWARDED);
  EXPECT("10.0.0.1", FWD("for=192.0.2.43, for=\"[2001:db8:cafe::17]\""), "2001:db8:cafe::17",
         IH_FWD_FROM_FORWARDED);
  EXPECT("10.0.0.1", FWD("for=192.0.2.43", "for=198.51.100.17;by=203.0.113.60;proto=http;host=example.com"),
         "192.0.2.43", IH_FWD_FROM_FORWARDED);
  EXPECT("10.0.0.1", FWD("for=unknown"), "10.0.0.1", IH_FWD_FROM_PEER);
  EXPECT("10.0.0.1", FWD("for=\"_gazonk\""), "10.0.0.1", IH_FWD_FROM_PEER);
  EXPECT("10.0.0.1", FWD("for=\"[2001:db8:cafe::17]:_p8080\""), "2001:db8:cafe::17", IH_FWD_FROM_FORWARDED);

  IH_TEST("Forwarded: scheme of the client's hop; names and \"https\" in any case");
  IH_EQ_INT(run("10.0.0.1", FWD("for=6.6.6.6;proto=http, FOR=1.2.3.4;PROTO=HTTPS, for=10.0.0.2;proto=http"), &r),
            IH_FWD_OK);
  IH_EQ_STR(r.client_text, "1.2.3.4");
  IH_CHECK(r.https);
  IH_EQ_INT(run_src("10.0.0.1", true, IH_FWD_AUTO, FWD("for=1.2.3.4"), &r), IH_FWD_OK);
  IH_CHECK(r.https); /* no proto=: the connection's own */
  IH_EQ_INT(run_src("10.0.0.1", true, IH_FWD_AUTO, FWD("for=1.2.3.4;proto=ws"), &r), IH_FWD_OK);
  IH_CHECK(!r.https);

  IH_TEST("Forwarded: unknown, obfuscated or absent for= stops at the last trusted hop, with its scheme");
  IH_EQ_INT(run("10.0.0.1", FWD("for=1.2.3.4, for=_hidden;proto=https, for=10.0.0.2"), &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "10.0.0.2");
  IH_EQ_INT(r.from, IH_FWD_FROM_FORWARDED);
  IH_CHECK(r.https);
  EXPECT("10.0.0.1", FWD("for=1.2.3.4, for=unknown, for=10.0.0.2"), "10.0.0.2", IH_FWD_FROM_FORWARDED);
  EXPECT("10.0.0.1", FWD("for=1.2.3.4, for=\"unknown:80\""), "10.0.0.1", IH_FWD_FROM_PEER);
  EXPECT("10.0.0.1", FWD("for=1.2.3.4, for=\"_a.b-c_d:_port\""), "10.0.0.1", IH_FWD_FROM_PEER);
  IH_EQ_INT(run("10.0.0.1", FWD("for=1.2.3.4, by=10.0.0.5;proto=https"), &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "10.0.0.1");
  IH_EQ_INT(r.from, IH_FWD_FROM_PEER);
  IH_CHECK(r.https);

  IH_TEST("Forwarded: quoting, OWS around ',' and ';', empty elements and pairs");
  EXPECT("10.0.0.1", FWD("for=\"1.2.3.4\""), "1.2.3.4", IH_FWD_FROM_FORWARDED);
  EXPECT("10.0.0.1", FWD("for=\"1.2.3.\\4\""), "1.2.3.4", IH_FWD_FROM_FORWARDED);
  EXPECT("10.0.0.1", FWD("  for=1.2.3.4 ; proto=https ;, ,for=10.0.0.2 "), "1.2.3.4", IH_FWD_FROM_FORWARDED);
  EXPECT("10.0.0.1", FWD("for=1.2.3.4;;by=\"x,y;z\"", ",,"), "1.2.3.4", IH_FWD_FROM_FORWARDED);
  EXPECT("10.0.0.1", FWD("for=1.2.3.4;ext=\"a \\\"b\\\" c\";secret=x"), "1.2.3.4", IH_FWD_FROM_FORWARDED);

  IH_TEST("Forwarded: malformed from a trusted proxy: ignored as a whole");
  EXPECT_BAD("10.0.0.1", FWD("for=\"1.2.3.4"), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=1.2.3.4:80"), IH_FWD_BAD_FORWARDED); /* ':' needs quotes */
  EXPECT_BAD("10.0.0.1", FWD("for=[::1]"), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=1.2.3.4;for=5.6.7.8"), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=1.2.3.4;Proto=http;proto=https"), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for"), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for = 1.2.3.4"), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for="), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("=1.2.3.4"), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=1.2.3.4 by=5.6.7.8"), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=\"1.2.3.4\"x"), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=\"a\x01\""), IH_FWD_BAD_FORWARDED);
  /* the syntax anywhere, since elements are found from the left */
  EXPECT_BAD("10.0.0.1", FWD("for=\"6.6.6.6", "for=1.2.3.4"), IH_FWD_BAD_FORWARDED);
  /* a node a trusted proxy wrote */
  EXPECT_BAD("10.0.0.1", FWD("for=1.2.3.4, for=\"2001:db8::1\""), IH_FWD_BAD_FORWARDED); /* no brackets */
  EXPECT_BAD("10.0.0.1", FWD("for=\"[1.2.3.4]\""), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=1.2.3"), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=_"), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=\"_a:b\""), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=\"1.2.3.4:65536\""), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=\"[::1]:\""), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=\"[2001:db8:cafe::17]:4711:1\""), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1",
             FWD("for=\"_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
             IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=1.2.3.4;proto=\"ht tp\""), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=1.2.3.4;proto=1http"), IH_FWD_BAD_FORWARDED);
  EXPECT_BAD("10.0.0.1", FWD("for=1.2.3.4;proto=\"\""), IH_FWD_BAD_FORWARDED);
}

static void test_sources(void)
{
  ih_fwd_result r;
  hdrs both = { .fwd = { "for=1.2.3.4" }, .xff = { "5.6.7.8" } };
  IH_TEST("which header: AUTO prefers Forwarded; either can be named");
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_AUTO, both, &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "1.2.3.4");
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_FORWARDED, both, &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "1.2.3.4");
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_XFF, both, &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "5.6.7.8");
  IH_EQ_INT(r.from, IH_FWD_FROM_XFF);
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_FORWARDED, XFF("5.6.7.8"), &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "10.0.0.1");
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_XFF, FWD("for=1.2.3.4"), &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "10.0.0.1");

  IH_TEST("which header: a Forwarded with no element is absent; a malformed one is not");
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_AUTO, (hdrs){ .fwd = { "", " , " }, .xff = { "5.6.7.8" } }, &r),
            IH_FWD_OK);
  IH_EQ_STR(r.client_text, "5.6.7.8");
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_AUTO, (hdrs){ .fwd = { "for=\"x" }, .xff = { "5.6.7.8" } }, &r),
            IH_FWD_BAD_FORWARDED);
  IH_EQ_STR(r.client_text, "10.0.0.1");
  IH_EQ_INT(run_src("10.0.0.1", false, IH_FWD_AUTO, (hdrs){ .fwd = { "for=1.2.3" }, .xff = { "5.6.7.8" } }, &r),
            IH_FWD_BAD_FORWARDED);
  IH_EQ_STR(r.client_text, "10.0.0.1");

  IH_TEST("the peer must be an address");
  IH_EQ_INT(run("not-an-address", XFF("1.2.3.4"), &r), IH_FWD_PEER_NOT_ADDRESS);
  IH_EQ_STR(r.client_text, "");
  IH_CHECK(r.reason != NULL);
  IH_EQ_INT(run("10.0.0.1:80", XFF("1.2.3.4"), &r), IH_FWD_PEER_NOT_ADDRESS);
  EXPECT("0:0:0:0:0:0:0:1", XFF("1.2.3.4"), "::1", IH_FWD_FROM_PEER); /* canonical text */

  IH_TEST("no trusted proxies at all: always the peer");
  ih_fwd_input in = { .peer = ih_slice_from_cstr("10.0.0.1"), .xff = &(ih_slice){ "1.2.3.4", 7 }, .xff_count = 1 };
  IH_EQ_INT(ih_fwd_resolve(&in, &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "10.0.0.1");
}

static void test_head(void)
{
  IH_TEST("from a parsed request head: every field line of each name, in order, any case");
  static const char req[] = "GET / HTTP/1.1\r\n"
                            "Host: example.com\r\n"
                            "X-Forwarded-For: 6.6.6.6\r\n"
                            "x-forwarded-for: 1.2.3.4, 10.0.0.2\r\n"
                            "X-FORWARDED-PROTO: https\r\n"
                            "Forwarded-Something: for=9.9.9.9\r\n"
                            "\r\n";
  static ih_http_request_head head;
  IH_EQ_INT(ih_http_parse_request(req, sizeof req - 1, 0, NULL, &head), IH_PARSE_DONE);
  ih_cidr trusted[2];
  ih_cidr_parse_info info;
  ih_cidr_list_parse(ih_slice_from_cstr("10.0.0.0/8"), trusted, 2, &info);
  ih_fwd_result r;
  IH_EQ_INT(ih_fwd_resolve_head(&head, ih_slice_from_cstr("10.0.0.1"), false, trusted, info.count, IH_FWD_AUTO, &r),
            IH_FWD_OK);
  IH_EQ_STR(r.client_text, "1.2.3.4");
  IH_CHECK(r.https);
  IH_EQ_INT(ih_fwd_resolve_head(&head, ih_slice_from_cstr("192.0.2.1"), false, trusted, info.count, IH_FWD_AUTO,
                                &r), IH_FWD_OK);
  IH_EQ_STR(r.client_text, "192.0.2.1");
  IH_CHECK(!r.https);

  static const char req2[] = "GET / HTTP/1.1\r\n"
                             "Host: example.com\r\n"
                             "Forwarded: for=6.6.6.6\r\n"
                             "FORWARDED: for=1.2.3.4;proto=https\r\n"
                             "X-Forwarded-For: 5.6.7.8\r\n"
                             "\r\n";
  IH_EQ_INT(ih_http_parse_request(req2, sizeof req2 - 1, 0, NULL, &head), IH_PARSE_DONE);
  IH_EQ_INT(ih_fwd_resolve_head(&head, ih_slice_from_cstr("10.0.0.1"), false, trusted, info.count, IH_FWD_AUTO, &r),
            IH_FWD_OK);
  IH_EQ_STR(r.client_text, "1.2.3.4");
  IH_CHECK(r.https);
}

int main(void)
{
  test_spoofing();
  test_xff();
  test_forwarded();
  test_sources();
  test_head();
  return ih_test_finish();
}
