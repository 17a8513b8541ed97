/* The client's address and scheme behind trusted reverse proxies, from the
 * forwarding headers: RFC 7239 Forwarded, or X-Forwarded-For with
 * X-Forwarded-Proto. One decision, a pure function of named facts
 * (ih_fwd_input): it never allocates, never logs (the caller logs the
 * reason it returns), and keeps no state.
 *
 * Contract:
 * - From a peer that is not in the trusted list nothing changes: the
 *   result is the peer and its own scheme, and no header is even read (a
 *   client talking to us directly can write any header it likes).
 * - From a trusted peer the chosen header's hops are walked from the right
 *   (the hop the peer itself added) to the left, as nginx's realip module
 *   with real_ip_recursive on and IIS ARR do: each hop whose address is
 *   trusted is another proxy and the walk goes on; the first hop that is
 *   not trusted is the client. Everything to the left of it was written by
 *   the client (or by proxies we do not know) and is never used, so a
 *   client that sends "X-Forwarded-For: 6.6.6.6" through a trusted proxy
 *   is still seen as its real address. If every hop is trusted, the client
 *   is the leftmost. A hop given as "unknown" or an obfuscated identifier
 *   ("_hidden", RFC 7239 6.2-6.3), or a Forwarded element without for=,
 *   also stops the walk: the client is then the last trusted hop (the one
 *   that wrote it; the peer when it is the rightmost) and the scheme that
 *   hop's element gives, if any.
 * - A hop that cannot be parsed where the walk reaches it means a trusted
 *   proxy sent something we do not understand: the header is ignored as a
 *   whole, the result is the peer, and the status and reason say why. So is
 *   a Forwarded header that is not Forwarded syntax anywhere (its elements
 *   cannot be told apart without reading it whole from the left). Either way
 *   a client can at most make itself look like the proxy, never like an
 *   address it chose.
 * - Which header (source): AUTO takes Forwarded when a Forwarded field has
 *   any element, else X-Forwarded-For; FORWARDED and XFF take only that one.
 *   AUTO prefers Forwarded because it is the standard (RFC 7239), carries
 *   the address and the scheme of one hop in one element (X-Forwarded-Proto
 *   has to be lined up with X-Forwarded-For by position) and writes IPv6
 *   and ports unambiguously. AUTO does not fall back to X-Forwarded-For
 *   when Forwarded is malformed: the malformed one may be the header the
 *   proxy wrote, and the other one the client's. A proxy must remove or
 *   overwrite the header it does not write; where it cannot, the operator
 *   names the one it writes (FORWARDED or XFF).
 * - Forwarded (RFC 7239 4): elements separated by commas, over any number of
 *   field lines in order; each element is pairs name=value separated by ';',
 *   with OWS accepted around ',' and ';' (not around '='); names are
 *   case-insensitive and appear at most once per element; values are tokens
 *   or quoted-strings (RFC 9110 5.6.4, quoted-pairs unescaped). for= is a
 *   node (RFC 7239 6): IPv4, "[IPv6]" (so quoted), "unknown" or "_obf", with
 *   an optional ":port" (decimal up to 65535, or an obfuscated "_port"), at
 *   most 63 characters. proto= is a URI scheme (RFC 3986 3.1); "https" (any
 *   case) makes https true, any other scheme false.
 * - X-Forwarded-For: addresses separated by commas, over any number of field
 *   lines in order (empty elements skipped): IPv4, IPv6 bare or in brackets,
 *   each optionally with ":port" ("1.2.3.4:5678", "[::1]:80", as Azure
 *   Application Gateway sends), or "unknown" (as Squid writes).
 * - X-Forwarded-Proto: "http" or "https" (any case), one value per hop. When
 *   it has as many values as X-Forwarded-For, the one at the client's
 *   position is used; when it has exactly one, that one (a proxy that sets
 *   it rather than appends; also without X-Forwarded-For); otherwise, or when that value is neither, the
 *   scheme is left as the peer's and the status says so (the address is
 *   still used). Without X-Forwarded-Proto, or without proto= in the chosen
 *   Forwarded element, the scheme is the peer's.
 * - Addresses are compared and reported as ip_cidr.h reads them
 *   (IPv4-mapped IPv6 is its IPv4 address for trust). */
#ifndef IH_FORWARDED_H
#define IH_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ih_str.h"
#include "http/http_parse.h"
#include "core/ip_cidr.h"

enum ih_fwd_source {
  IH_FWD_AUTO = 0,   /* Forwarded when present, else X-Forwarded-For */
  IH_FWD_FORWARDED,  /* only Forwarded */
  IH_FWD_XFF,        /* only X-Forwarded-For (+ X-Forwarded-Proto) */
};

typedef struct ih_fwd_input {
  ih_slice peer;           /* the connection's peer address as text, no port */
  bool peer_https;         /* the connection itself is TLS */
  const ih_cidr *trusted;  /* trusted_proxies (ih_cidr_list_parse) */
  size_t trusted_count;
  enum ih_fwd_source source;
  /* Field values per header name, in the order received (one slice per
   * field line, as ih_http_request_head holds them). */
  const ih_slice *forwarded;
  size_t forwarded_count;
  const ih_slice *xff;
  size_t xff_count;
  const ih_slice *xfp;
  size_t xfp_count;
} ih_fwd_input;

enum ih_fwd_status {
  IH_FWD_OK = 0,           /* the result is the client (the peer when nothing applied) */
  IH_FWD_PEER_NOT_ADDRESS, /* in->peer is not an address: nothing is trusted, client_text is "" */
  IH_FWD_BAD_FORWARDED,    /* Forwarded from a trusted peer is malformed: ignored, result is the peer */
  IH_FWD_BAD_XFF,          /* X-Forwarded-For from a trusted peer is malformed: ignored, result is the peer */
  IH_FWD_BAD_XFP,          /* X-Forwarded-Proto unusable: the address was taken, the scheme is the peer's */
};

enum ih_fwd_from {
  IH_FWD_FROM_PEER = 0,    /* the client is the peer itself */
  IH_FWD_FROM_FORWARDED,   /* taken from Forwarded */
  IH_FWD_FROM_XFF,         /* taken from X-Forwarded-For */
};

typedef struct ih_fwd_result {
  ih_ip_addr client;
  char client_text[IH_IP_TEXT_MAX]; /* ih_ip_format of client (RFC 5952 for IPv6) */
  bool has_port;          /* the chosen hop gave a numeric port */
  uint16_t port;
  bool https;             /* the client's scheme was https */
  enum ih_fwd_from from;
  enum ih_fwd_status status;
  const char *reason;     /* static text for the log when status is not OK, else NULL */
} ih_fwd_result;

/* The decision (rules above). Returns out->status. */
enum ih_fwd_status ih_fwd_resolve(const ih_fwd_input *in, ih_fwd_result *out);

/* The same with the header values taken from a parsed request head
 * (Forwarded, X-Forwarded-For and X-Forwarded-Proto, matched
 * case-insensitively, each field line in order). */
enum ih_fwd_status ih_fwd_resolve_head(const ih_http_request_head *h, ih_slice peer, bool peer_https,
                                       const ih_cidr *trusted, size_t trusted_count,
                                       enum ih_fwd_source source, ih_fwd_result *out);

#endif
