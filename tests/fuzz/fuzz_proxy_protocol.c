/* libFuzzer target for service/http/proxy_protocol.c (and the address
 * parser of service/core/ip_cidr.c it uses).
 *
 * The input is a connection's first bytes. Checks:
 *  - the result is consistent: status and error agree, header_len fits in
 *    the input, a v1 header ends in CRLF within 107 bytes, a v2 header is 16
 *    bytes plus its length field; NEED_MORE asks for more than it has;
 *  - the split property of proxy_protocol.h: every prefix of the input gives
 *    NEED_MORE or the same error (prefixes of a DONE header give NEED_MORE
 *    with a need not past the header, and the full header gives the same
 *    result); the detector agrees with NOT_PROXY;
 *  - round trip: a DONE TCP header rebuilt from its result (as a v1 line and
 *    as a v2 block) parses to the same endpoints;
 *  - the same bytes as address text and as a trusted_proxies list: parse,
 *    format and parse again give the same address; a list parses the same
 *    with and without an array; each entry has no host bits and matches its
 *    own network address. */
#include "core/ip_cidr.h"
#include "http/proxy_protocol.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                                                                \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "fuzz_proxy_protocol: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                       \
    }                                                                                \
  } while (0)

static bool same_result(const ih_proxy_result *a, const ih_proxy_result *b)
{
  return a->version == b->version && a->command == b->command && a->family == b->family &&
         a->use_addresses == b->use_addresses && memcmp(&a->src, &b->src, sizeof a->src) == 0 &&
         memcmp(&a->dst, &b->dst, sizeof a->dst) == 0 && strcmp(a->src_text, b->src_text) == 0 &&
         strcmp(a->dst_text, b->dst_text) == 0 && a->src_port == b->src_port && a->dst_port == b->dst_port &&
         a->ssl == b->ssl && a->ssl_client_verified == b->ssl_client_verified && a->header_len == b->header_len;
}

/* parse an exact heap copy of data[0..n) so ASan sees any overread */
static enum ih_proxy_status parse_copy(const uint8_t *data, size_t n, ih_proxy_result *r)
{
  uint8_t *copy = malloc(n ? n : 1);
  memcpy(copy, data, n);
  enum ih_proxy_status st = ih_proxy_parse(copy, n, r);
  free(copy);
  return st;
}

static void check_prefix(const uint8_t *data, size_t k, enum ih_proxy_status st, const ih_proxy_result *whole)
{
  ih_proxy_result r;
  enum ih_proxy_status ps = parse_copy(data, k, &r);
  if (st == IH_PROXY_DONE && k < whole->header_len)
    REQUIRE(ps == IH_PROXY_NEED_MORE && r.need > k && r.need <= whole->header_len);
  else if (st == IH_PROXY_DONE)
    REQUIRE(ps == IH_PROXY_DONE && same_result(&r, whole));
  else if (st == IH_PROXY_ERROR)
    REQUIRE((ps == IH_PROXY_NEED_MORE && r.need > k) || (ps == IH_PROXY_ERROR && r.error == whole->error));
  else
    REQUIRE(ps == IH_PROXY_NEED_MORE && r.need > k);
  REQUIRE(ih_proxy_could_be(data, k) == !(ps == IH_PROXY_ERROR && r.error == IH_PROXY_NOT_PROXY));
}

static void check_round_trip(const ih_proxy_result *r)
{
  if (!r->use_addresses)
    return;
  char line[IH_PROXY_V1_MAX_LINE + 1];
  int n = snprintf(line, sizeof line, "PROXY %s %s %s %u %u\r\n", r->family == IH_PROXY_FAM_TCP4 ? "TCP4" : "TCP6",
                   r->src_text, r->dst_text, r->src_port, r->dst_port);
  REQUIRE(n > 0 && (size_t)n <= IH_PROXY_V1_MAX_LINE);
  ih_proxy_result again;
  REQUIRE(ih_proxy_parse(line, (size_t)n, &again) == IH_PROXY_DONE);
  REQUIRE(again.header_len == (size_t)n && again.family == r->family);
  REQUIRE(memcmp(&again.src, &r->src, sizeof r->src) == 0 && memcmp(&again.dst, &r->dst, sizeof r->dst) == 0);
  REQUIRE(again.src_port == r->src_port && again.dst_port == r->dst_port);

  static const uint8_t sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
  uint8_t v2[16 + 36];
  size_t alen = r->family == IH_PROXY_FAM_TCP4 ? 4 : 16;
  memcpy(v2, sig, 12);
  v2[12] = 0x21;
  v2[13] = r->family == IH_PROXY_FAM_TCP4 ? 0x11 : 0x21;
  v2[14] = 0;
  v2[15] = (uint8_t)(2 * alen + 4);
  memcpy(v2 + 16, r->src.bytes, alen);
  memcpy(v2 + 16 + alen, r->dst.bytes, alen);
  v2[16 + 2 * alen] = (uint8_t)(r->src_port >> 8);
  v2[17 + 2 * alen] = (uint8_t)r->src_port;
  v2[18 + 2 * alen] = (uint8_t)(r->dst_port >> 8);
  v2[19 + 2 * alen] = (uint8_t)r->dst_port;
  REQUIRE(ih_proxy_parse(v2, 20 + 2 * alen, &again) == IH_PROXY_DONE);
  REQUIRE(strcmp(again.src_text, r->src_text) == 0 && strcmp(again.dst_text, r->dst_text) == 0);
  REQUIRE(again.src_port == r->src_port && again.dst_port == r->dst_port);
}

static void check_proxy(const uint8_t *data, size_t size)
{
  ih_proxy_result r;
  enum ih_proxy_status st = parse_copy(data, size, &r);
  REQUIRE(st == IH_PROXY_DONE || st == IH_PROXY_NEED_MORE || st == IH_PROXY_ERROR);
  if (st == IH_PROXY_DONE) {
    REQUIRE(r.error == IH_PROXY_OK && r.error_text == NULL);
    REQUIRE(r.header_len <= size && r.header_len >= 15);
    if (r.version == 1) {
      REQUIRE(r.header_len <= IH_PROXY_V1_MAX_LINE);
      REQUIRE(data[r.header_len - 2] == '\r' && data[r.header_len - 1] == '\n');
      REQUIRE(memchr(data, '\n', r.header_len - 1) == NULL);
      REQUIRE(memcmp(data, "PROXY ", 6) == 0);
    } else {
      REQUIRE(r.version == 2);
      REQUIRE(r.header_len == 16 + ((size_t)data[14] << 8 | data[15]));
      REQUIRE(r.header_len <= 16 + IH_PROXY_V2_MAX_LEN);
    }
    REQUIRE(r.use_addresses == (r.command == IH_PROXY_CMD_PROXY &&
                                (r.family == IH_PROXY_FAM_TCP4 || r.family == IH_PROXY_FAM_TCP6)));
    if (r.use_addresses) {
      ih_ip_addr a;
      REQUIRE(ih_ip_parse(ih_slice_from_cstr(r.src_text), &a) && memcmp(&a, &r.src, sizeof a) == 0);
      REQUIRE(ih_ip_parse(ih_slice_from_cstr(r.dst_text), &a) && memcmp(&a, &r.dst, sizeof a) == 0);
      REQUIRE(r.src.family == (r.family == IH_PROXY_FAM_TCP4 ? 4 : 6));
    }
  } else if (st == IH_PROXY_NEED_MORE) {
    REQUIRE(r.need > size);
    REQUIRE(size < 16 + IH_PROXY_V2_MAX_LEN);
  } else {
    REQUIRE(r.error != IH_PROXY_OK && r.error_text && strcmp(r.error_text, ih_proxy_error_text(r.error)) == 0);
  }
  /* every prefix of a short input; for longer ones the ones that matter */
  size_t limit = size < 140 ? size : 140;
  for (size_t k = 0; k < limit; k++)
    check_prefix(data, k, st, &r);
  if (st == IH_PROXY_DONE && r.header_len > 0) {
    check_prefix(data, r.header_len - 1, st, &r);
    check_prefix(data, r.header_len, st, &r);
  }
  if (size > 0)
    check_prefix(data, size - 1, st, &r);
  if (st == IH_PROXY_DONE)
    check_round_trip(&r);
}

static void check_addresses(const uint8_t *data, size_t size)
{
  ih_slice text = { (const char *)data, size };
  ih_ip_addr a, b;
  if (ih_ip_parse(text, &a)) {
    REQUIRE(a.family == 4 || a.family == 6);
    char buf[IH_IP_TEXT_MAX], buf2[IH_IP_TEXT_MAX];
    size_t n = ih_ip_format(&a, buf, sizeof buf);
    REQUIRE(n > 0 && n < IH_IP_TEXT_MAX && strlen(buf) == n);
    REQUIRE(ih_ip_parse((ih_slice){ buf, n }, &b) && memcmp(&a, &b, sizeof a) == 0);
    REQUIRE(ih_ip_format(&b, buf2, sizeof buf2) == n && strcmp(buf, buf2) == 0);
    REQUIRE(ih_ip_format(&a, buf2, n) == 0);
  } else {
    static const ih_ip_addr zero;
    REQUIRE(memcmp(&a, &zero, sizeof a) == 0);
  }

  ih_cidr_parse_info counted, filled;
  enum ih_cidr_status cs = ih_cidr_list_parse(text, NULL, 0, &counted);
  size_t cap = counted.count ? counted.count : 1;
  ih_cidr *items = malloc(cap * sizeof *items);
  REQUIRE(ih_cidr_list_parse(text, items, cap, &filled) == cs);
  REQUIRE(filled.count == counted.count && filled.error_at == counted.error_at);
  if (cs != IH_CIDR_OK) {
    REQUIRE(counted.error_at < size && counted.error_item.p == text.p + counted.error_at);
    REQUIRE(strlen(ih_cidr_status_text(cs)) > 0);
  }
  for (size_t i = 0; i < filled.count; i++) {
    const ih_cidr *c = &items[i];
    unsigned bits = c->net.family == 4 ? 32 : 128;
    REQUIRE(c->prefix <= bits);
    for (unsigned bit = c->prefix; bit < bits; bit++)
      REQUIRE(!(c->net.bytes[bit / 8] & (0x80 >> (bit % 8))));
    REQUIRE(ih_cidr_list_match(c, 1, &c->net));
  }
  free(items);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size > 4096)
    return 0;
  check_proxy(data, size);
  check_addresses(data, size);
  return 0;
}
