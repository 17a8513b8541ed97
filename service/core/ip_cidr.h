/* IP addresses as text, and address lists (trusted_proxies) of addresses and
 * CIDR prefixes. Portable and allocation-free: no inet_pton/inet_ntop, so
 * the same strict rules hold on every platform.
 *
 * Contract:
 * - ih_ip_parse accepts exactly the RFC 3986 3.2.2 forms: IPv4address is
 *   four decimal octets 0-255 with no leading zeros ("010.1.1.1" could be
 *   octal to inet_aton, so it is refused; so are "10.1", "10.0.0.0.1",
 *   "0x0a.0.0.1"); IPv6address is RFC 4291 2.2 text (groups of 1-4 hex digits,
 *   one "::", an IPv4address in the last 32 bits), without brackets and
 *   without a zone ("%eth0"). Anything else, including surrounding spaces,
 *   is refused.
 * - ih_ip_format writes IPv4 as dotted decimal and IPv6 in RFC 5952's
 *   canonical form (lower case, no leading zeros, the longest run of two or
 *   more zero groups as "::", the first such run on a tie, and IPv4-mapped
 *   addresses as "::ffff:a.b.c.d", RFC 5952 5).
 * - An address list is items separated by commas and/or SP/HTAB (empty items
 *   are skipped); an item is an address or address "/" prefix length
 *   (decimal, no leading zeros; at most 32 or 128). A prefix with host bits
 *   set ("10.1.2.3/8") is accepted and masked to its network ("10.0.0.0/8"),
 *   as nginx's set_real_ip_from does; the list reports the first such item
 *   (masked_at) so the caller can warn that the low bits mean nothing.
 * - IPv4-mapped IPv6 (::ffff:0:0/96, RFC 4291 2.5.5.2) is the IPv4 address
 *   it carries, on both sides: a mapped address matches IPv4 entries, and an
 *   entry inside ::ffff:0:0/96 with a prefix of 96 or more is stored as the
 *   IPv4 entry it describes. Other IPv6 entries (even "::/0") match IPv6
 *   addresses only, so trusting "all IPv6" never trusts all IPv4 too. */
#ifndef IH_IP_CIDR_H
#define IH_IP_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ih_str.h"

/* Longest text ih_ip_format writes, with its NUL:
 * "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" is 45 characters. */
#define IH_IP_TEXT_MAX 46

typedef struct ih_ip_addr {
  uint8_t family;    /* 4 or 6 */
  uint8_t bytes[16]; /* network order; IPv4 uses bytes[0..4) */
} ih_ip_addr;

/* Parses text[0..n) as an IPv4 or IPv6 address (rules above). On false
 * *out is zeroed. */
bool ih_ip_parse(ih_slice text, ih_ip_addr *out);

/* Writes a's text into out[0..cap), NUL-terminated; returns its length
 * (without the NUL), or 0 when cap is too small (out is then "" if cap > 0).
 * cap >= IH_IP_TEXT_MAX always suffices. */
size_t ih_ip_format(const ih_ip_addr *a, char *out, size_t cap);

/* The IPv4 address an IPv4-mapped IPv6 address carries; any other address
 * is returned unchanged. */
ih_ip_addr ih_ip_unmap(const ih_ip_addr *a);

typedef struct ih_cidr {
  ih_ip_addr net;  /* host bits zero; family 4 for IPv4 and mapped entries */
  uint8_t prefix;  /* 0..32 or 0..128 */
} ih_cidr;

enum ih_cidr_status {
  IH_CIDR_OK = 0,
  IH_CIDR_BAD_ADDRESS,   /* the part before '/' is not an address */
  IH_CIDR_BAD_PREFIX,    /* after '/': empty, not decimal, or a leading zero */
  IH_CIDR_PREFIX_RANGE,  /* prefix longer than the address (33+ for IPv4, 129+ for IPv6) */
  IH_CIDR_TOO_MANY,      /* more items than the caller's array holds */
};

typedef struct ih_cidr_parse_info {
  enum ih_cidr_status status;
  size_t count;          /* items in the list (on error: parsed before the bad one) */
  size_t error_at;       /* on error: offset of the bad item in the text */
  ih_slice error_item;   /* on error: the bad item */
  bool masked;           /* an item had host bits set (accepted, masked) */
  size_t masked_at;      /* the first such item's offset */
  ih_slice masked_item;  /* and the item as written */
} ih_cidr_parse_info;

/* Parses the list text into items[0..cap). items may be NULL to validate and
 * count only (cap is then ignored). The first bad item stops the parse;
 * info->status says why and info->error_at / error_item where. Returns
 * info->status. */
enum ih_cidr_status ih_cidr_list_parse(ih_slice text, ih_cidr *items, size_t cap,
                                       ih_cidr_parse_info *info);

/* Text for logs ("prefix length is longer than the address", ...). */
const char *ih_cidr_status_text(enum ih_cidr_status st);

/* True when a (unmapped first) lies in one of items[0..count). */
bool ih_cidr_list_match(const ih_cidr *items, size_t count, const ih_ip_addr *a);

/* The same for an address as text; false when text is not an address. */
bool ih_cidr_list_match_text(const ih_cidr *items, size_t count, ih_slice text);

/* A TCP port as decimal text, 0-65535, 1 to 5 digits, nothing else; with
 * leading zeros ("08080") only when leading_zeros (RFC 7239's node-port is
 * 1*5DIGIT; the PROXY protocol and X-Forwarded-Port refuse them). False and
 * *out untouched otherwise. */
bool ih_port_parse(ih_slice text, bool leading_zeros, uint16_t *out);

#endif
