/* IP address text and address lists (see ip_cidr.h). */
#include "core/ip_cidr.h"

#include <string.h>

/* One decimal octet of an IPv4address (RFC 3986 3.2.2 dec-octet): "0" or
 * 1-3 digits without a leading zero, up to 255. Advances *i. */
static bool parse_dec_octet(const char *s, size_t n, size_t *i, uint8_t *out)
{
  size_t start = *i;
  unsigned v = 0;
  while (*i < n && ih_is_digit(s[*i]) && *i - start < 3)
    v = v * 10 + (unsigned)(s[(*i)++] - '0');
  size_t digits = *i - start;
  if (digits == 0 || v > 255 || (digits > 1 && s[start] == '0'))
    return false;
  /* a fourth digit is not an octet ("1000") */
  if (*i < n && ih_is_digit(s[*i]))
    return false;
  *out = (uint8_t)v;
  return true;
}

static bool parse_v4(const char *s, size_t n, uint8_t out[4])
{
  size_t i = 0;
  for (int k = 0; k < 4; k++) {
    if (k > 0) {
      if (i >= n || s[i] != '.')
        return false;
      i++;
    }
    if (!parse_dec_octet(s, n, &i, &out[k]))
      return false;
  }
  return i == n;
}

/* RFC 4291 2.2: x:x:x:x:x:x:x:x with 1-4 hex digits a group, one "::" for
 * one or more zero groups, and forms 3's dotted IPv4 in the last 32 bits. */
static bool parse_v6(const char *s, size_t n, uint8_t out[16])
{
  uint16_t groups[8];
  int count = 0, gap = -1; /* gap: groups before the "::" */
  size_t i = 0;
  if (n < 2)
    return false;
  if (s[0] == ':') {
    if (s[1] != ':')
      return false;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    /* an embedded IPv4address: a '.' before the next ':' */
    size_t j = i;
    while (j < n && s[j] != ':' && s[j] != '.')
      j++;
    if (j < n && s[j] == '.') {
      if (count > 6)
        return false;
      uint8_t v4[4];
      if (!parse_v4(s + i, n - i, v4))
        return false;
      groups[count++] = (uint16_t)(v4[0] << 8 | v4[1]);
      groups[count++] = (uint16_t)(v4[2] << 8 | v4[3]);
      i = n;
      break;
    }
    if (count == 8)
      return false;
    unsigned v = 0;
    size_t start = i;
    while (i < n && i - start < 4 && ih_hex_value((unsigned char)s[i]) >= 0)
      v = v * 16 + (unsigned)ih_hex_value((unsigned char)s[i++]);
    if (i == start || (i < n && s[i] != ':'))
      return false;
    groups[count++] = (uint16_t)v;
    if (i == n)
      break;
    /* s[i] == ':' */
    if (i + 1 < n && s[i + 1] == ':') {
      if (gap >= 0)
        return false;
      gap = count;
      i += 2;
    } else {
      i++;
      if (i == n)
        return false; /* "1::2:" ends in a lone ':' */
    }
  }
  if (gap >= 0 ? count > 7 : count != 8)
    return false;
  int zeros = 8 - count;
  int k = 0;
  for (int g = 0; g < count; g++) {
    if (g == gap)
      for (int z = 0; z < zeros; z++)
        out[2 * k] = 0, out[2 * k + 1] = 0, k++;
    out[2 * k] = (uint8_t)(groups[g] >> 8);
    out[2 * k + 1] = (uint8_t)groups[g];
    k++;
  }
  if (gap == count) /* "::" at the end (or the whole "::") */
    for (int z = 0; z < zeros; z++)
      out[2 * k] = 0, out[2 * k + 1] = 0, k++;
  return k == 8;
}

bool ih_ip_parse(ih_slice text, ih_ip_addr *out)
{
  memset(out, 0, sizeof *out);
  if (text.n == 0 || text.n >= IH_IP_TEXT_MAX)
    return false;
  if (memchr(text.p, ':', text.n)) {
    if (!parse_v6(text.p, text.n, out->bytes)) {
      memset(out, 0, sizeof *out);
      return false;
    }
    out->family = 6;
    return true;
  }
  if (!parse_v4(text.p, text.n, out->bytes)) {
    memset(out, 0, sizeof *out);
    return false;
  }
  out->family = 4;
  return true;
}

static const uint8_t mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool is_mapped(const ih_ip_addr *a)
{
  return a->family == 6 && memcmp(a->bytes, mapped_prefix, 12) == 0;
}

ih_ip_addr ih_ip_unmap(const ih_ip_addr *a)
{
  if (!is_mapped(a))
    return *a;
  ih_ip_addr v4 = { .family = 4 };
  memcpy(v4.bytes, a->bytes + 12, 4);
  return v4;
}

static size_t put_dec(char *p, unsigned v)
{
  char tmp[3];
  size_t n = 0;
  do
    tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  for (size_t i = 0; i < n; i++)
    p[i] = tmp[n - 1 - i];
  return n;
}

static size_t put_v4(char *p, const uint8_t b[4])
{
  size_t n = 0;
  for (int k = 0; k < 4; k++) {
    if (k)
      p[n++] = '.';
    n += put_dec(p + n, b[k]);
  }
  return n;
}

size_t ih_ip_format(const ih_ip_addr *a, char *out, size_t cap)
{
  char buf[IH_IP_TEXT_MAX];
  size_t n = 0;
  if (a->family == 4) {
    n = put_v4(buf, a->bytes);
  } else {
    uint16_t g[8];
    for (int k = 0; k < 8; k++)
      g[k] = (uint16_t)(a->bytes[2 * k] << 8 | a->bytes[2 * k + 1]);
    /* RFC 5952 4.2: "::" replaces the longest run of zero groups, only a
     * run of two or more (4.2.2), the first one on a tie (4.2.3). */
    int best = -1, best_len = 1;
    for (int k = 0; k < 8;) {
      if (g[k] != 0) {
        k++;
        continue;
      }
      int run = k;
      while (k < 8 && g[k] == 0)
        k++;
      if (k - run > best_len)
        best = run, best_len = k - run;
    }
    /* RFC 5952 5: IPv4-mapped addresses keep their dotted quad. */
    int hex_groups = is_mapped(a) ? 6 : 8;
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < hex_groups;) {
      if (k == best) {
        buf[n++] = ':';
        if (k == 0)
          buf[n++] = ':';
        k += best_len;
        continue;
      }
      /* 4.1: no leading zeros; 4.3: lower case */
      bool started = false;
      for (int shift = 12; shift >= 0; shift -= 4) {
        unsigned d = (g[k] >> shift) & 0xf;
        if (d || started || shift == 0) {
          buf[n++] = hex[d];
          started = true;
        }
      }
      k++;
      if (k < 8)
        buf[n++] = ':';
    }
    if (hex_groups == 6)
      n += put_v4(buf + n, a->bytes + 12);
  }
  if (n + 1 > cap) {
    if (cap > 0)
      out[0] = '\0';
    return 0;
  }
  memcpy(out, buf, n);
  out[n] = '\0';
  return n;
}

/* ---- lists ------------------------------------------------------------- */

static bool is_list_sep(char c) { return c == ',' || c == ' ' || c == '\t'; }

/* Clears the bits after the first prefix bits; true if any was set. */
static bool mask_host_bits(uint8_t *bytes, size_t len, unsigned prefix)
{
  bool had = false;
  for (size_t i = 0; i < len; i++) {
    unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * (unsigned)i : 0;
    uint8_t mask = (uint8_t)(keep == 8 ? 0xff : (0xff << (8 - keep)) & 0xff);
    if (bytes[i] & (uint8_t)~mask)
      had = true;
    bytes[i] &= mask;
  }
  return had;
}

static enum ih_cidr_status parse_item(ih_slice item, ih_cidr *out, bool *masked)
{
  const char *slash = memchr(item.p, '/', item.n);
  ih_slice addr = { item.p, slash ? (size_t)(slash - item.p) : item.n };
  ih_ip_addr a;
  if (!ih_ip_parse(addr, &a))
    return IH_CIDR_BAD_ADDRESS;
  unsigned bits = a.family == 4 ? 32 : 128, prefix = bits;
  if (slash) {
    ih_slice p = { slash + 1, item.n - addr.n - 1 };
    if (p.n == 0 || p.n > 3 || (p.n > 1 && p.p[0] == '0'))
      return IH_CIDR_BAD_PREFIX;
    prefix = 0;
    for (size_t i = 0; i < p.n; i++) {
      if (!ih_is_digit(p.p[i]))
        return IH_CIDR_BAD_PREFIX;
      prefix = prefix * 10 + (unsigned)(p.p[i] - '0');
    }
    if (prefix > bits)
      return IH_CIDR_PREFIX_RANGE;
  }
  *masked = mask_host_bits(a.bytes, bits / 8, prefix);
  /* A mapped entry that covers only mapped addresses is the IPv4 entry it
   * describes (see the header). */
  if (is_mapped(&a) && prefix >= 96) {
    a = ih_ip_unmap(&a);
    prefix -= 96;
  }
  out->net = a;
  out->prefix = (uint8_t)prefix;
  return IH_CIDR_OK;
}

enum ih_cidr_status ih_cidr_list_parse(ih_slice text, ih_cidr *items, size_t cap,
                                       ih_cidr_parse_info *info)
{
  memset(info, 0, sizeof *info);
  size_t i = 0;
  while (i < text.n) {
    if (is_list_sep(text.p[i])) {
      i++;
      continue;
    }
    size_t start = i;
    while (i < text.n && !is_list_sep(text.p[i]))
      i++;
    ih_slice item = { text.p + start, i - start };
    ih_cidr c;
    bool masked = false;
    enum ih_cidr_status st = parse_item(item, &c, &masked);
    if (st == IH_CIDR_OK && items && info->count == cap)
      st = IH_CIDR_TOO_MANY;
    if (st != IH_CIDR_OK) {
      info->status = st;
      info->error_at = start;
      info->error_item = item;
      return st;
    }
    if (masked && !info->masked) {
      info->masked = true;
      info->masked_at = start;
      info->masked_item = item;
    }
    if (items)
      items[info->count] = c;
    info->count++;
  }
  return IH_CIDR_OK;
}

const char *ih_cidr_status_text(enum ih_cidr_status st)
{
  switch (st) {
  case IH_CIDR_OK:
    return "ok";
  case IH_CIDR_BAD_ADDRESS:
    return "not an IPv4 or IPv6 address";
  case IH_CIDR_BAD_PREFIX:
    return "prefix length after '/' is not a decimal number without leading zeros";
  case IH_CIDR_PREFIX_RANGE:
    return "prefix length is longer than the address";
  case IH_CIDR_TOO_MANY:
    return "too many entries";
  }
  return "unknown address list error";
}

static bool in_prefix(const ih_cidr *c, const ih_ip_addr *a)
{
  if (c->net.family != a->family)
    return false;
  unsigned full = c->prefix / 8, rest = c->prefix % 8;
  if (memcmp(c->net.bytes, a->bytes, full) != 0)
    return false;
  if (rest == 0)
    return true;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (a->bytes[full] & mask) == c->net.bytes[full];
}

bool ih_cidr_list_match(const ih_cidr *items, size_t count, const ih_ip_addr *a)
{
  ih_ip_addr u = ih_ip_unmap(a);
  for (size_t i = 0; i < count; i++)
    if (in_prefix(&items[i], &u))
      return true;
  return false;
}

bool ih_cidr_list_match_text(const ih_cidr *items, size_t count, ih_slice text)
{
  ih_ip_addr a;
  return ih_ip_parse(text, &a) && ih_cidr_list_match(items, count, &a);
}

bool ih_port_parse(ih_slice text, bool leading_zeros, uint16_t *out)
{
  if (text.n == 0 || text.n > 5 || (!leading_zeros && text.n > 1 && text.p[0] == '0'))
    return false;
  unsigned v = 0;
  for (size_t i = 0; i < text.n; i++) {
    if (text.p[i] < '0' || text.p[i] > '9')
      return false;
    v = v * 10 + (unsigned)(text.p[i] - '0');
  }
  if (v > 65535)
    return false;
  *out = (uint16_t)v;
  return true;
}
