/* Unit tests for service/http/proxy_protocol.c: the v1 lines of HAProxy's
 * spec ("The PROXY protocol, Versions 1 & 2", 2.1), v2 headers built byte
 * by byte (LOCAL, TCP4, TCP6 with TLVs, UDP, UNIX, UNSPEC), every refusal,
 * and for each of them every split of the input: a valid header gives
 * NEED_MORE (with a need that is right) until it is whole, then the same
 * result as in one piece; a bad one gives NEED_MORE or the same error. */
#include "http/proxy_protocol.h"
#include "ih_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bytes {
  uint8_t b[1400];
  size_t n;
} bytes;

static void put(bytes *x, const void *p, size_t n)
{
  memcpy(x->b + x->n, p, n);
  x->n += n;
}
static void put8(bytes *x, unsigned v) { x->b[x->n++] = (uint8_t)v; }
static void put16(bytes *x, unsigned v)
{
  put8(x, v >> 8);
  put8(x, v & 0xff);
}
static void put_str(bytes *x, const char *s) { put(x, s, strlen(s)); }

static const uint8_t sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

/* a v2 header's first 16 bytes */
static bytes v2(unsigned ver_cmd, unsigned fam, unsigned len)
{
  bytes x = { .n = 0 };
  put(&x, sig, sizeof sig);
  put8(&x, ver_cmd);
  put8(&x, fam);
  put16(&x, len);
  return x;
}

static void tlv(bytes *x, unsigned type, const void *v, size_t n)
{
  put8(x, type);
  put16(x, (unsigned)n);
  put(x, v, n);
}

static bool same_result(const ih_proxy_result *a, const ih_proxy_result *b)
{
  return a->version == b->version && a->command == b->command && a->family == b->family &&
         a->use_addresses == b->use_addresses && memcmp(&a->src, &b->src, sizeof a->src) == 0 &&
         memcmp(&a->dst, &b->dst, sizeof a->dst) == 0 && strcmp(a->src_text, b->src_text) == 0 &&
         strcmp(a->dst_text, b->dst_text) == 0 && a->src_port == b->src_port && a->dst_port == b->dst_port &&
         a->ssl == b->ssl && a->ssl_client_verified == b->ssl_client_verified &&
         a->header_len == b->header_len;
}

/* Parses x whole (exact copy on the heap, so ASan sees any overread) and
 * every prefix of it; checks the split property; returns the whole result. */
static enum ih_proxy_status parse_all_splits(const uint8_t *data, size_t n, ih_proxy_result *whole)
{
  uint8_t *copy = malloc(n ? n : 1);
  memcpy(copy, data, n);
  enum ih_proxy_status st = ih_proxy_parse(copy, n, whole);
  for (size_t k = 0; k < n; k++) {
    uint8_t *part = malloc(k ? k : 1);
    memcpy(part, data, k);
    ih_proxy_result r;
    enum ih_proxy_status ps = ih_proxy_parse(part, k, &r);
    free(part);
    bool ok;
    if (st == IH_PROXY_DONE && k < whole->header_len)
      ok = ps == IH_PROXY_NEED_MORE && r.need > k && r.need <= whole->header_len;
    else if (st == IH_PROXY_DONE)
      ok = ps == IH_PROXY_DONE && same_result(&r, whole);
    else if (st == IH_PROXY_ERROR)
      ok = (ps == IH_PROXY_NEED_MORE && r.need > k) || (ps == IH_PROXY_ERROR && r.error == whole->error);
    else
      ok = ps == IH_PROXY_NEED_MORE && r.need > k;
    if (!IH_CHECK(ok)) {
      ih_test_note("prefix of %zu bytes (of %zu): status %d error %d need %zu; whole: status %d error %d", k, n,
                   ps, r.error, r.need, st, whole->error);
      break;
    }
    /* the detector agrees with the parser */
    if (!IH_EQ_INT(ih_proxy_could_be(data, k), !(ps == IH_PROXY_ERROR && r.error == IH_PROXY_NOT_PROXY)))
      break;
  }
  free(copy);
  return st;
}

static void expect_done(const uint8_t *data, size_t n, ih_proxy_result *r)
{
  if (!IH_EQ_INT(parse_all_splits(data, n, r), IH_PROXY_DONE))
    ih_test_note("error: %s", r->error_text ? r->error_text : "(none)");
  IH_CHECK(r->error == IH_PROXY_OK && r->error_text == NULL);
}

static void expect_error(const char *what, const uint8_t *data, size_t n, enum ih_proxy_error e)
{
  ih_proxy_result r;
  enum ih_proxy_status st = parse_all_splits(data, n, &r);
  if (!IH_EQ_INT(st, IH_PROXY_ERROR) || !IH_EQ_INT(r.error, e))
    ih_test_note("%s: %s", what, r.error_text ? r.error_text : "(none)");
  else
    IH_EQ_STR(r.error_text, ih_proxy_error_text(e));
}

static void expect_done_str(const char *s, ih_proxy_result *r) { expect_done((const uint8_t *)s, strlen(s), r); }
static void expect_error_str(const char *s, enum ih_proxy_error e) { expect_error(s, (const uint8_t *)s, strlen(s), e); }

static void test_v1(void)
{
  ih_proxy_result r;
  IH_TEST("v1: the spec's example before an HTTP request");
  const char *ex = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n";
  expect_done_str(ex, &r);
  IH_EQ_INT(r.header_len, strlen("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"));
  IH_EQ_INT(r.version, 1);
  IH_EQ_INT(r.command, IH_PROXY_CMD_PROXY);
  IH_EQ_INT(r.family, IH_PROXY_FAM_TCP4);
  IH_CHECK(r.use_addresses);
  IH_EQ_STR(r.src_text, "192.168.0.1");
  IH_EQ_STR(r.dst_text, "192.168.0.11");
  IH_EQ_INT(r.src_port, 56324);
  IH_EQ_INT(r.dst_port, 443);
  IH_EQ_INT(r.src.family, 4);
  IH_CHECK(memcmp(r.src.bytes, "\xc0\xa8\x00\x01", 4) == 0);

  IH_TEST("v1: the spec's longest lines");
  const char *v4max = "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
  IH_EQ_INT(strlen(v4max), 56);
  expect_done_str(v4max, &r);
  IH_EQ_INT(r.header_len, 56);
  IH_EQ_INT(r.src_port, 65535);
  const char *v6max = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                      "65535 65535\r\n";
  IH_EQ_INT(strlen(v6max), 104);
  expect_done_str(v6max, &r);
  IH_EQ_INT(r.family, IH_PROXY_FAM_TCP6);
  IH_EQ_STR(r.dst_text, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  const char *unknown_max = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  IH_EQ_INT(strlen(unknown_max), 107);
  expect_done_str(unknown_max, &r);
  IH_EQ_INT(r.header_len, 107);
  IH_EQ_INT(r.family, IH_PROXY_FAM_UNKNOWN);
  IH_CHECK(!r.use_addresses);
  IH_EQ_STR(r.src_text, "");

  IH_TEST("v1: UNKNOWN means the real peer, with or without anything after it");
  expect_done_str("PROXY UNKNOWN\r\n", &r);
  IH_EQ_INT(r.header_len, 15);
  IH_EQ_INT(r.family, IH_PROXY_FAM_UNKNOWN);
  IH_CHECK(!r.use_addresses);
  expect_done_str("PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\nGET", &r);
  IH_EQ_INT(r.header_len, 35);
  expect_done_str("PROXY UNKNOWN anything\x01 at all, \xff\r\n", &r);

  IH_TEST("v1: IPv6 addresses come out in RFC 5952 form; port 0 and zero addresses");
  expect_done_str("PROXY TCP6 2001:DB8:0:0:0:0:0:0001 ::ffff:10.1.2.3 0 8080\r\n", &r);
  IH_EQ_STR(r.src_text, "2001:db8::1");
  IH_EQ_STR(r.dst_text, "::ffff:10.1.2.3");
  IH_EQ_INT(r.src_port, 0);
  IH_EQ_INT(r.dst_port, 8080);
  expect_done_str("PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n", &r);
  IH_EQ_STR(r.src_text, "0.0.0.0");

  IH_TEST("v1: refusals");
  expect_error_str("GET / HTTP/1.1\r\n", IH_PROXY_NOT_PROXY);
  expect_error_str("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", IH_PROXY_NOT_PROXY);
  expect_error_str("PROXX", IH_PROXY_NOT_PROXY);
  expect_error_str("PR\r\n", IH_PROXY_NOT_PROXY);
  expect_error_str("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", IH_PROXY_V1_BAD_TOKEN);
  expect_error_str("PROXY\r\n", IH_PROXY_V1_BAD_TOKEN);
  expect_error_str("PROXY \r\n", IH_PROXY_V1_BAD_TOKEN);
  expect_error_str("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", IH_PROXY_V1_BAD_TOKEN);
  expect_error_str("PROXY TCP4\r\n", IH_PROXY_V1_BAD_TOKEN);
  expect_error_str("PROXY TCP4 \r\n", IH_PROXY_V1_BAD_TOKEN);
  expect_error_str("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", IH_PROXY_V1_BAD_TOKEN);
  expect_error_str("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", IH_PROXY_V1_BAD_TOKEN);
  expect_error_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", IH_PROXY_V1_BAD_TOKEN);
  expect_error_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", IH_PROXY_V1_BAD_TOKEN);
  expect_error_str("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", IH_PROXY_V1_BAD_TOKEN);
  expect_error_str("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", IH_PROXY_V1_BAD_PROTOCOL);
  expect_error_str("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", IH_PROXY_V1_BAD_PROTOCOL);
  expect_error_str("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", IH_PROXY_V1_BAD_PROTOCOL);
  expect_error_str("PROXY UNKNOWNX\r\n", IH_PROXY_V1_BAD_PROTOCOL);
  expect_error_str("PROXY unknown\r\n", IH_PROXY_V1_BAD_PROTOCOL);
  expect_error_str("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", IH_PROXY_V1_BAD_ADDRESS);
  expect_error_str("PROXY TCP4 1.2.3.4 ::1 1 2\r\n", IH_PROXY_V1_BAD_ADDRESS);
  expect_error_str("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", IH_PROXY_V1_BAD_ADDRESS);
  expect_error_str("PROXY TCP4 010.2.3.4 5.6.7.8 1 2\r\n", IH_PROXY_V1_BAD_ADDRESS);
  expect_error_str("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", IH_PROXY_V1_BAD_ADDRESS);
  expect_error_str("PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n", IH_PROXY_V1_BAD_ADDRESS);
  expect_error_str("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", IH_PROXY_V1_BAD_ADDRESS);
  expect_error_str("PROXY TCP6 [::1] ::1 1 2\r\n", IH_PROXY_V1_BAD_ADDRESS);
  expect_error_str("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", IH_PROXY_V1_BAD_PORT);
  expect_error_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 080\r\n", IH_PROXY_V1_BAD_PORT);
  expect_error_str("PROXY TCP4 1.2.3.4 5.6.7.8 00 2\r\n", IH_PROXY_V1_BAD_PORT);
  expect_error_str("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", IH_PROXY_V1_BAD_PORT);
  expect_error_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2a\r\n", IH_PROXY_V1_BAD_PORT);
  expect_error_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 100000\r\n", IH_PROXY_V1_BAD_PORT);
  expect_error_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", IH_PROXY_V1_BAD_LINE_END);
  expect_error_str("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", IH_PROXY_V1_BAD_LINE_END);
  expect_error_str("PROXY UNKNOWN\r\r\n", IH_PROXY_V1_BAD_LINE_END);
  expect_error_str("PROXY UNKNOWN\n\r\n", IH_PROXY_V1_BAD_LINE_END);

  IH_TEST("v1: no CRLF within 107 bytes");
  char line[200];
  memset(line, 'x', sizeof line);
  memcpy(line, "PROXY UNKNOWN ", 14);
  expect_error("107 bytes, no CRLF", (const uint8_t *)line, 107, IH_PROXY_V1_TOO_LONG);
  memcpy(line + 106, "\r\n", 2); /* 108 with the CRLF */
  expect_error("CRLF at 107-108", (const uint8_t *)line, 108, IH_PROXY_V1_TOO_LONG);
  memcpy(line + 105, "\r\n", 2); /* exactly 107 */
  expect_done((const uint8_t *)line, 107, &r);
  IH_EQ_INT(r.header_len, 107);
  ih_proxy_result small;
  IH_EQ_INT(ih_proxy_parse(line, 106, &small), IH_PROXY_NEED_MORE);
  IH_EQ_INT(small.need, 107);
}

static void test_v2(void)
{
  ih_proxy_result r;
  IH_TEST("v2: LOCAL (a health check): the real endpoints, whatever the block says");
  bytes x = v2(0x20, 0x00, 0);
  expect_done(x.b, x.n, &r);
  IH_EQ_INT(r.version, 2);
  IH_EQ_INT(r.command, IH_PROXY_CMD_LOCAL);
  IH_EQ_INT(r.family, IH_PROXY_FAM_UNKNOWN);
  IH_CHECK(!r.use_addresses);
  IH_EQ_INT(r.header_len, 16);
  x = v2(0x20, 0x11, 12); /* LOCAL with an address block: skipped, not used */
  put(&x, "\x7f\x00\x00\x01\x7f\x00\x00\x01\x00\x50\x00\x50", 12);
  expect_done(x.b, x.n, &r);
  IH_EQ_INT(r.header_len, 28);
  IH_EQ_INT(r.family, IH_PROXY_FAM_UNKNOWN);
  IH_EQ_STR(r.src_text, "");
  x = v2(0x20, 0xff, 3); /* PP: LOCAL ignores the family; its bytes are skipped unread */
  put(&x, "\x01\x02\x03", 3);
  expect_done(x.b, x.n, &r);
  IH_EQ_INT(r.header_len, 19);

  IH_TEST("v2: PROXY TCP over IPv4, then the request");
  x = v2(0x21, 0x11, 12);
  put(&x, "\xc0\x00\x02\x01", 4);  /* 192.0.2.1 */
  put(&x, "\xc6\x33\x64\x02", 4);  /* 198.51.100.2 */
  put16(&x, 56324);
  put16(&x, 443);
  put_str(&x, "GET / HTTP/1.1\r\n");
  expect_done(x.b, x.n, &r);
  IH_EQ_INT(r.header_len, 28);
  IH_EQ_INT(r.command, IH_PROXY_CMD_PROXY);
  IH_EQ_INT(r.family, IH_PROXY_FAM_TCP4);
  IH_CHECK(r.use_addresses);
  IH_EQ_STR(r.src_text, "192.0.2.1");
  IH_EQ_STR(r.dst_text, "198.51.100.2");
  IH_EQ_INT(r.src_port, 56324);
  IH_EQ_INT(r.dst_port, 443);
  IH_CHECK(!r.ssl);

  IH_TEST("v2: PROXY TCP over IPv6 with TLVs (ALPN, authority, NOOP, CRC32C, SSL with sub-TLVs)");
  bytes body = { .n = 0 };
  put(&body, "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16);
  put(&body, "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x0a\x01\x02\x03", 16);
  put16(&body, 1);
  put16(&body, 8443);
  tlv(&body, 0x01, "h2", 2);
  tlv(&body, 0x02, "example.com", 11);
  tlv(&body, 0x04, "", 0);
  tlv(&body, 0x03, "\xde\xad\xbe\xef", 4); /* not verified (header) */
  bytes ssl = { .n = 0 };
  put8(&ssl, 0x01 | 0x02); /* PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN */
  put(&ssl, "\x00\x00\x00\x00", 4); /* verify: 0 = verified */
  tlv(&ssl, 0x21, "TLSv1.3", 7);
  tlv(&ssl, 0x22, "client.example", 14);
  tlv(&body, 0x20, ssl.b, ssl.n);
  tlv(&body, 0xe0, "custom", 6);
  x = v2(0x21, 0x21, (unsigned)body.n);
  put(&x, body.b, body.n);
  expect_done(x.b, x.n, &r);
  IH_EQ_INT(r.header_len, 16 + body.n);
  IH_EQ_INT(r.family, IH_PROXY_FAM_TCP6);
  IH_CHECK(r.use_addresses);
  IH_EQ_STR(r.src_text, "2001:db8::1");
  IH_EQ_STR(r.dst_text, "::ffff:10.1.2.3");
  IH_EQ_INT(r.src_port, 1);
  IH_EQ_INT(r.dst_port, 8443);
  IH_CHECK(r.ssl);
  IH_CHECK(r.ssl_client_verified);

  IH_TEST("v2: SSL without a verified client certificate");
  ssl.n = 0;
  put8(&ssl, 0x01 | 0x02);
  put(&ssl, "\x00\x00\x00\x01", 4); /* verify failed */
  x = v2(0x21, 0x11, 12 + 3 + (unsigned)ssl.n);
  put(&x, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02", 12);
  tlv(&x, 0x20, ssl.b, ssl.n);
  expect_done(x.b, x.n, &r);
  IH_CHECK(r.ssl && !r.ssl_client_verified);
  x = v2(0x21, 0x11, 12 + 3 + 5);
  put(&x, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02", 12);
  tlv(&x, 0x20, "\x01\x00\x00\x00\x00", 5); /* TLS, no client certificate */
  expect_done(x.b, x.n, &r);
  IH_CHECK(r.ssl && !r.ssl_client_verified);

  IH_TEST("v2: UDP and UNIX are not TCP: the caller uses the real peer");
  x = v2(0x21, 0x12, 12);
  put(&x, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x35\x00\x35", 12);
  expect_done(x.b, x.n, &r);
  IH_EQ_INT(r.family, IH_PROXY_FAM_UDP4);
  IH_CHECK(!r.use_addresses);
  IH_EQ_STR(r.src_text, "1.2.3.4");
  IH_EQ_INT(r.src_port, 53);
  x = v2(0x21, 0x22, 36);
  put(&x, "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16);
  put(&x, "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02", 16);
  put16(&x, 1);
  put16(&x, 2);
  expect_done(x.b, x.n, &r);
  IH_EQ_INT(r.family, IH_PROXY_FAM_UDP6);
  IH_CHECK(!r.use_addresses);
  IH_EQ_STR(r.dst_text, "::2");
  uint8_t unix_addrs[216] = { 0 };
  memcpy(unix_addrs, "/run/haproxy.sock", 17);
  x = v2(0x21, 0x31, 216);
  put(&x, unix_addrs, sizeof unix_addrs);
  expect_done(x.b, x.n, &r);
  IH_EQ_INT(r.family, IH_PROXY_FAM_UNIX_STREAM);
  IH_CHECK(!r.use_addresses);
  IH_EQ_STR(r.src_text, "");
  IH_EQ_INT(r.header_len, 232);
  x = v2(0x21, 0x32, 216 + 3);
  put(&x, unix_addrs, sizeof unix_addrs);
  tlv(&x, 0x04, "", 0);
  expect_done(x.b, x.n, &r);
  IH_EQ_INT(r.family, IH_PROXY_FAM_UNIX_DGRAM);

  IH_TEST("v2: UNSPEC in either half is accepted as UNKNOWN, the address bytes skipped");
  static const unsigned unspec[] = { 0x00, 0x10, 0x20, 0x30, 0x01, 0x02 };
  for (size_t i = 0; i < sizeof unspec / sizeof unspec[0]; i++) {
    x = v2(0x21, unspec[i], 5);
    put(&x, "\x01\x02\x03\x04\x05", 5); /* not TLVs: not read */
    expect_done(x.b, x.n, &r);
    IH_EQ_INT(r.family, IH_PROXY_FAM_UNKNOWN);
    IH_EQ_INT(r.command, IH_PROXY_CMD_PROXY);
    IH_CHECK(!r.use_addresses);
    IH_EQ_INT(r.header_len, 21);
  }

  IH_TEST("v2: the length's limit");
  x = v2(0x21, 0x11, IH_PROXY_V2_MAX_LEN);
  put(&x, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02", 12);
  bytes pad = { .n = 0 };
  uint8_t zeros[IH_PROXY_V2_MAX_LEN] = { 0 };
  tlv(&pad, 0x04, zeros, IH_PROXY_V2_MAX_LEN - 12 - 3);
  put(&x, pad.b, pad.n);
  expect_done(x.b, x.n, &r);
  IH_EQ_INT(r.header_len, 16 + IH_PROXY_V2_MAX_LEN);
  ih_proxy_result part;
  IH_EQ_INT(ih_proxy_parse(x.b, 16, &part), IH_PROXY_NEED_MORE);
  IH_EQ_INT(part.need, 16 + IH_PROXY_V2_MAX_LEN);

  IH_TEST("v2: refusals");
  x = v2(0x21, 0x11, 12);
  x.b[3] = 0x0B;
  expect_error("signature", x.b, 16, IH_PROXY_NOT_PROXY);
  x = v2(0x21, 0x11, 12);
  x.b[4] = 'X';
  expect_error("signature NUL", x.b, 16, IH_PROXY_NOT_PROXY);
  expect_error("HTTP after CRLF", (const uint8_t *)"\r\nGET / HTTP/1.1\r\n", 18, IH_PROXY_NOT_PROXY);
  static const unsigned bad_versions[] = { 0x11, 0x01, 0x31, 0xf1, 0x10 };
  for (size_t i = 0; i < sizeof bad_versions / sizeof bad_versions[0]; i++) {
    x = v2(bad_versions[i], 0x11, 0);
    expect_error("version", x.b, x.n, IH_PROXY_V2_BAD_VERSION);
  }
  static const unsigned bad_commands[] = { 0x22, 0x2f, 0x23 };
  for (size_t i = 0; i < sizeof bad_commands / sizeof bad_commands[0]; i++) {
    x = v2(bad_commands[i], 0x11, 0);
    expect_error("command", x.b, x.n, IH_PROXY_V2_BAD_COMMAND);
  }
  static const unsigned bad_families[] = { 0x41, 0xf1, 0x13, 0x1f, 0x40, 0x03 };
  for (size_t i = 0; i < sizeof bad_families / sizeof bad_families[0]; i++) {
    x = v2(0x21, bad_families[i], 12);
    put(&x, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02", 12);
    expect_error("family", x.b, x.n, IH_PROXY_V2_BAD_FAMILY);
  }
  x = v2(0x21, 0x11, IH_PROXY_V2_MAX_LEN + 1);
  expect_error("length", x.b, x.n, IH_PROXY_V2_TOO_LONG);
  x = v2(0x20, 0x00, 0xffff);
  expect_error("length (LOCAL)", x.b, x.n, IH_PROXY_V2_TOO_LONG);
  x = v2(0x21, 0x11, 11);
  put(&x, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00", 11);
  expect_error("IPv4 block", x.b, x.n, IH_PROXY_V2_SHORT_ADDRESS);
  x = v2(0x21, 0x21, 12);
  put(&x, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02", 12);
  expect_error("IPv6 block", x.b, x.n, IH_PROXY_V2_SHORT_ADDRESS);
  x = v2(0x21, 0x31, 215);
  put(&x, unix_addrs, 215);
  expect_error("UNIX block", x.b, x.n, IH_PROXY_V2_SHORT_ADDRESS);
  x = v2(0x21, 0x11, 14); /* two bytes after the addresses: not a TLV */
  put(&x, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02\x04\x00", 14);
  expect_error("TLV header cut", x.b, x.n, IH_PROXY_V2_BAD_TLV);
  x = v2(0x21, 0x11, 12 + 3 + 2);
  put(&x, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02", 12);
  tlv(&x, 0x01, "h2", 2);
  x.b[16 + 12 + 2] = 3; /* value length 3, only 2 left */
  expect_error("TLV value cut", x.b, x.n, IH_PROXY_V2_BAD_TLV);
  x = v2(0x21, 0x11, 12 + 3 + 4);
  put(&x, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02", 12);
  tlv(&x, 0x20, "\x01\x00\x00\x00", 4); /* SSL TLV shorter than client + verify */
  expect_error("SSL TLV short", x.b, x.n, IH_PROXY_V2_BAD_TLV);
  x = v2(0x21, 0x11, 12 + 3 + 5 + 3);
  put(&x, "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02", 12);
  tlv(&x, 0x20, "\x01\x00\x00\x00\x00\x21\x00\x05", 8); /* sub-TLV claims 5, has 0 */
  expect_error("SSL sub-TLV cut", x.b, x.n, IH_PROXY_V2_BAD_TLV);
}

static void test_detect(void)
{
  IH_TEST("detector: the first byte that cannot be a header says so");
  IH_CHECK(ih_proxy_could_be("", 0));
  IH_CHECK(!ih_proxy_could_be("G", 1));
  IH_CHECK(!ih_proxy_could_be("\x16\x03\x01", 3)); /* a TLS ClientHello */
  IH_CHECK(ih_proxy_could_be("P", 1));
  IH_CHECK(ih_proxy_could_be("\r", 1));
  IH_CHECK(!ih_proxy_could_be("PUT ", 4));
  IH_CHECK(ih_proxy_could_be("PROXY TCP4", 10));
  IH_CHECK(!ih_proxy_could_be("\r\n\r\nX", 5));
  IH_CHECK(ih_proxy_could_be(sig, 12));
  ih_proxy_result r;
  IH_EQ_INT(ih_proxy_parse("G", 1, &r), IH_PROXY_ERROR);
  IH_EQ_INT(r.error, IH_PROXY_NOT_PROXY);
  IH_EQ_INT(ih_proxy_parse("", 0, &r), IH_PROXY_NEED_MORE);
  IH_EQ_INT(r.need, 1);
  IH_EQ_INT(ih_proxy_parse(sig, 5, &r), IH_PROXY_NEED_MORE);
  IH_EQ_INT(r.need, 16);
  for (int e = IH_PROXY_OK; e <= IH_PROXY_V2_BAD_TLV; e++)
    IH_CHECK(strlen(ih_proxy_error_text((enum ih_proxy_error)e)) > 1);
}

int main(void)
{
  test_v1();
  test_v2();
  test_detect();
  return ih_test_finish();
}
