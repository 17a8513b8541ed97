/* PROXY protocol v1 and v2 header parser (see proxy_protocol.h; "PP" is
 * HAProxy's "The PROXY protocol, Versions 1 & 2"). */
#include "http/proxy_protocol.h"

#include <string.h>

static const uint8_t v1_signature[5] = { 'P', 'R', 'O', 'X', 'Y' };
/* PP 2.2: chosen so that no HTTP, TLS, SMTP... peer sends it. */
static const uint8_t v2_signature[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                          0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

/* PP2 TLV types and PP2_TYPE_SSL client bits (PP 2.2, 2.2.6) */
#define PP2_TYPE_SSL 0x20
#define PP2_CLIENT_SSL 0x01
#define PP2_CLIENT_CERT_CONN 0x02
#define PP2_CLIENT_CERT_SESS 0x04

const char *ih_proxy_error_text(enum ih_proxy_error e)
{
  switch (e) {
  case IH_PROXY_OK:
    return "ok";
  case IH_PROXY_NOT_PROXY:
    return "not a PROXY protocol header";
  case IH_PROXY_V1_TOO_LONG:
    return "PROXY v1 line has no CRLF within 107 bytes";
  case IH_PROXY_V1_BAD_LINE_END:
    return "PROXY v1 line has a CR or LF that is not a CRLF";
  case IH_PROXY_V1_BAD_TOKEN:
    return "PROXY v1 line has a missing, doubled or extra field separator";
  case IH_PROXY_V1_BAD_PROTOCOL:
    return "PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN";
  case IH_PROXY_V1_BAD_ADDRESS:
    return "PROXY v1 address is not an address of the line's family";
  case IH_PROXY_V1_BAD_PORT:
    return "PROXY v1 port is not 0-65535 without leading zeros";
  case IH_PROXY_V2_BAD_VERSION:
    return "PROXY v2 version is not 2";
  case IH_PROXY_V2_BAD_COMMAND:
    return "PROXY v2 command is neither LOCAL nor PROXY";
  case IH_PROXY_V2_BAD_FAMILY:
    return "PROXY v2 address family or transport protocol is unassigned";
  case IH_PROXY_V2_TOO_LONG:
    return "PROXY v2 header is longer than accepted";
  case IH_PROXY_V2_SHORT_ADDRESS:
    return "PROXY v2 length is too short for the family's addresses";
  case IH_PROXY_V2_BAD_TLV:
    return "PROXY v2 TLV runs past the end of the header";
  }
  return "unknown PROXY protocol error";
}

static enum ih_proxy_status fail(ih_proxy_result *out, enum ih_proxy_error e)
{
  out->error = e;
  out->error_text = ih_proxy_error_text(e);
  return IH_PROXY_ERROR;
}

static enum ih_proxy_status need_more(ih_proxy_result *out, size_t need)
{
  out->need = need;
  return IH_PROXY_NEED_MORE;
}

bool ih_proxy_could_be(const void *buf, size_t len)
{
  const uint8_t *b = buf;
  if (len == 0)
    return true;
  const uint8_t *sig = b[0] == 'P' ? v1_signature : v2_signature;
  size_t sig_len = b[0] == 'P' ? sizeof v1_signature : sizeof v2_signature;
  size_t n = len < sig_len ? len : sig_len;
  return memcmp(b, sig, n) == 0;
}

/* ---- version 1 (PP 2.1) --------------------------------------------------- */

/* The field at line[*pos..) up to the next SP or the end; it must not be
 * empty. When more fields follow, exactly one SP must come next. */
static bool next_field(const uint8_t *line, size_t n, size_t *pos, bool last, ih_slice *field)
{
  size_t start = *pos, i = start;
  while (i < n && line[i] != ' ')
    i++;
  if (i == start)
    return false;
  *field = (ih_slice){ (const char *)line + start, i - start };
  if (last)
    return i == n;
  if (i == n)
    return false;
  *pos = i + 1;
  return true;
}

static bool slice_is(ih_slice s, const char *lit)
{
  size_t n = strlen(lit);
  return s.n == n && memcmp(s.p, lit, n) == 0;
}

static enum ih_proxy_status parse_v1(const uint8_t *b, size_t len, ih_proxy_result *out)
{
  /* PP 2.1: wait for the CRLF before decoding anything, but refuse a bare CR
   * or LF, and a line without CRLF in 107 bytes, as soon as they are seen. */
  size_t eol = 0;
  bool found = false;
  size_t scan = len < IH_PROXY_V1_MAX_LINE ? len : IH_PROXY_V1_MAX_LINE;
  for (size_t i = sizeof v1_signature; i < scan && !found; i++) {
    if (i == sizeof v1_signature && b[i] != ' ')
      return fail(out, IH_PROXY_V1_BAD_TOKEN);
    if (b[i] == '\n')
      return fail(out, IH_PROXY_V1_BAD_LINE_END);
    if (b[i] == '\r') {
      if (i + 2 > IH_PROXY_V1_MAX_LINE)
        return fail(out, IH_PROXY_V1_TOO_LONG);
      if (i + 1 == len)
        return need_more(out, len + 1);
      if (b[i + 1] != '\n')
        return fail(out, IH_PROXY_V1_BAD_LINE_END);
      eol = i;
      found = true;
    }
  }
  if (!found) {
    if (len >= IH_PROXY_V1_MAX_LINE)
      return fail(out, IH_PROXY_V1_TOO_LONG);
    return need_more(out, len + 1);
  }

  out->version = 1;
  out->command = IH_PROXY_CMD_PROXY;
  size_t pos = sizeof v1_signature + 1;
  size_t start = pos;
  while (pos < eol && b[pos] != ' ')
    pos++;
  ih_slice proto = { (const char *)b + start, pos - start };
  if (proto.n == 0)
    return fail(out, IH_PROXY_V1_BAD_TOKEN);
  /* PP 2.1: after UNKNOWN "the receiver must ignore anything presented
   * before the CRLF", and use the real connection's endpoints. */
  if (slice_is(proto, "UNKNOWN")) {
    out->family = IH_PROXY_FAM_UNKNOWN;
    out->header_len = eol + 2;
    return IH_PROXY_DONE;
  }
  int family;
  if (slice_is(proto, "TCP4"))
    family = 4;
  else if (slice_is(proto, "TCP6"))
    family = 6;
  else
    return fail(out, IH_PROXY_V1_BAD_PROTOCOL);
  if (pos == eol)
    return fail(out, IH_PROXY_V1_BAD_TOKEN);
  pos++;
  ih_slice src, dst, sport, dport;
  if (!next_field(b, eol, &pos, false, &src) || !next_field(b, eol, &pos, false, &dst) ||
      !next_field(b, eol, &pos, false, &sport) || !next_field(b, eol, &pos, true, &dport))
    return fail(out, IH_PROXY_V1_BAD_TOKEN);
  /* PP 2.1: "The advertised protocol family dictates what format to use." */
  if (!ih_ip_parse(src, &out->src) || out->src.family != family || !ih_ip_parse(dst, &out->dst) ||
      out->dst.family != family) {
    memset(&out->src, 0, sizeof out->src);
    memset(&out->dst, 0, sizeof out->dst);
    return fail(out, IH_PROXY_V1_BAD_ADDRESS);
  }
  /* PP 2.1: "heading zeroes are not permitted" */
  if (!ih_port_parse(sport, false, &out->src_port) || !ih_port_parse(dport, false, &out->dst_port))
    return fail(out, IH_PROXY_V1_BAD_PORT);
  out->family = family == 4 ? IH_PROXY_FAM_TCP4 : IH_PROXY_FAM_TCP6;
  out->use_addresses = true;
  ih_ip_format(&out->src, out->src_text, sizeof out->src_text);
  ih_ip_format(&out->dst, out->dst_text, sizeof out->dst_text);
  out->header_len = eol + 2;
  return IH_PROXY_DONE;
}

/* ---- version 2 (PP 2.2) --------------------------------------------------- */

static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

/* Walks the TLVs in p[0..n): each must fit whole (PP 2.2: type, 16-bit
 * length, value). Reads PP2_TYPE_SSL when top_level. */
static bool walk_tlvs(const uint8_t *p, size_t n, bool top_level, ih_proxy_result *out)
{
  size_t off = 0;
  while (off < n) {
    if (n - off < 3)
      return false;
    uint8_t type = p[off];
    size_t vlen = be16(p + off + 1);
    const uint8_t *v = p + off + 3;
    if (vlen > n - off - 3)
      return false;
    if (top_level && type == PP2_TYPE_SSL) {
      /* PP 2.2.6: uint8_t client; uint32_t verify; then sub-TLVs */
      if (vlen < 5 || !walk_tlvs(v + 5, vlen - 5, false, out))
        return false;
      uint32_t verify = (uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 8 | v[4];
      out->ssl = (v[0] & PP2_CLIENT_SSL) != 0;
      out->ssl_client_verified = (v[0] & (PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS)) != 0 && verify == 0;
    }
    off += 3 + vlen;
  }
  return true;
}

static enum ih_proxy_status parse_v2(const uint8_t *b, size_t len, ih_proxy_result *out)
{
  if (len <= 12)
    return need_more(out, IH_PROXY_V2_HEADER);
  /* PP 2.2: "the receiver must only accept" version 2; commands other than
   * LOCAL and PROXY "must" drop the connection. */
  if (b[12] >> 4 != 2)
    return fail(out, IH_PROXY_V2_BAD_VERSION);
  unsigned command = b[12] & 0x0f;
  if (command > IH_PROXY_CMD_PROXY)
    return fail(out, IH_PROXY_V2_BAD_COMMAND);
  if (len == 13)
    return need_more(out, IH_PROXY_V2_HEADER);
  /* LOCAL discards the family with the rest of the block (PP 2.2). */
  unsigned af = b[13] >> 4, proto = b[13] & 0x0f;
  if (command == IH_PROXY_CMD_PROXY && (af > 3 || proto > 2))
    return fail(out, IH_PROXY_V2_BAD_FAMILY);
  if (len < IH_PROXY_V2_HEADER)
    return need_more(out, IH_PROXY_V2_HEADER);
  size_t body = be16(b + 14);
  if (body > IH_PROXY_V2_MAX_LEN)
    return fail(out, IH_PROXY_V2_TOO_LONG);
  enum ih_proxy_family family = IH_PROXY_FAM_UNKNOWN;
  size_t addr_len = 0;
  if (command == IH_PROXY_CMD_PROXY && af != 0 && proto != 0) {
    static const enum ih_proxy_family families[3][2] = {
      { IH_PROXY_FAM_TCP4, IH_PROXY_FAM_UDP4 },
      { IH_PROXY_FAM_TCP6, IH_PROXY_FAM_UDP6 },
      { IH_PROXY_FAM_UNIX_STREAM, IH_PROXY_FAM_UNIX_DGRAM },
    };
    static const size_t addr_lens[3] = { 2 * 4 + 2 * 2, 2 * 16 + 2 * 2, 2 * 108 };
    family = families[af - 1][proto - 1];
    addr_len = addr_lens[af - 1];
  }
  /* Known as soon as the length is: no point waiting for the rest. */
  if (body < addr_len)
    return fail(out, IH_PROXY_V2_SHORT_ADDRESS);
  size_t total = IH_PROXY_V2_HEADER + body;
  if (len < total)
    return need_more(out, total);

  const uint8_t *a = b + IH_PROXY_V2_HEADER;
  /* Where the address block is unknown (LOCAL, UNSPEC) so is where TLVs
   * start: PP 2.2 says to skip the length's bytes, and we do. */
  if (family != IH_PROXY_FAM_UNKNOWN && !walk_tlvs(a + addr_len, body - addr_len, true, out)) {
    out->ssl = out->ssl_client_verified = false;
    return fail(out, IH_PROXY_V2_BAD_TLV);
  }
  out->version = 2;
  out->command = (enum ih_proxy_command)command;
  out->family = family;
  if (af == 1 || af == 2) {
    if (family != IH_PROXY_FAM_UNKNOWN) {
      size_t alen = af == 1 ? 4 : 16;
      out->src.family = out->dst.family = af == 1 ? 4 : 6;
      memcpy(out->src.bytes, a, alen);
      memcpy(out->dst.bytes, a + alen, alen);
      out->src_port = (uint16_t)be16(a + 2 * alen);
      out->dst_port = (uint16_t)be16(a + 2 * alen + 2);
      ih_ip_format(&out->src, out->src_text, sizeof out->src_text);
      ih_ip_format(&out->dst, out->dst_text, sizeof out->dst_text);
    }
  }
  out->use_addresses = family == IH_PROXY_FAM_TCP4 || family == IH_PROXY_FAM_TCP6;
  out->header_len = total;
  return IH_PROXY_DONE;
}

enum ih_proxy_status ih_proxy_parse(const void *buf, size_t len, ih_proxy_result *out)
{
  const uint8_t *b = buf;
  memset(out, 0, sizeof *out);
  if (len == 0)
    return need_more(out, 1);
  if (!ih_proxy_could_be(b, len))
    return fail(out, IH_PROXY_NOT_PROXY);
  if (b[0] == 'P') {
    if (len <= sizeof v1_signature)
      return need_more(out, len + 1);
    return parse_v1(b, len, out);
  }
  return parse_v2(b, len, out);
}
