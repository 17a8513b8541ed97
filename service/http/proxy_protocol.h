/* The PROXY protocol header a load balancer (HAProxy, nginx, AWS NLB...)
 * puts before the first byte of a connection, versions 1 (text) and 2
 * (binary), per HAProxy's "The PROXY protocol, Versions 1 & 2" (2020/03/05,
 * cited below as "PP" with its section numbers).
 *
 * Contract: a pure function over the bytes received so far. It never
 * allocates and never writes outside *out. Call it again with the same, longer
 * buffer as bytes arrive (the whole buffer each time, from the connection's
 * first byte). The result never depends on how the input was split: a header
 * that is complete gives the same DONE result, and a bad one the same error,
 * whatever the pieces; input that is a prefix of a valid header only ever
 * gives NEED_MORE. Bytes after the header (the HTTP request) are not looked
 * at. Unless the status is DONE, only need (NEED_MORE) or error and
 * error_text (ERROR) in *out are meaningful.
 *
 * The caller decides by configuration, never by guessing, that a binding
 * speaks this protocol (PP 5: a client that could choose would spoof its
 * address), and should accept it only from trusted proxies.
 *
 * Rules:
 * - Detection (PP 2.2 end): the first byte tells the version, 'P' for
 *   "PROXY" (v1) and CR for the v2 signature; input that stops matching the
 *   signature is NOT_PROXY at that byte, so a plain "GET / HTTP/1.1" is
 *   refused on its first byte (ih_proxy_could_be says the same alone).
 * - v1 (PP 2.1): "PROXY" SP ("TCP4"|"TCP6"|"UNKNOWN") ... CRLF within 107
 *   bytes. TCP4/TCP6 take exactly SP src SP dst SP sport SP dport, single
 *   spaces; addresses as ip_cidr.h's ih_ip_parse reads them, of the line's
 *   family (IPv4 text for TCP4, IPv6 text for TCP6). PP asks for IPv4
 *   numbers without leading zeros, which ih_ip_parse requires, and describes
 *   IPv6 as groups of 4 hex digits, but senders write what inet_ntop does
 *   ("2001:db8::1"), so groups of 1-4 digits are read. Ports 0-65535 in decimal
 *   without leading zeros (PP: "heading zeroes are not permitted"). After
 *   UNKNOWN anything up to the CRLF is ignored (PP says the receiver must).
 *   A CR not followed by LF, or an LF without CR, is an error (PP: "must not
 *   tolerate a single CR or LF").
 * - v2 (PP 2.2): the 12-byte signature, version 2, command LOCAL or PROXY,
 *   a family byte whose halves are known (AF_UNSPEC/INET/INET6/UNIX,
 *   UNSPEC/STREAM/DGRAM), and a length up to IH_PROXY_V2_MAX_LEN. LOCAL
 *   ignores the family and all address bytes (PP: "discard the protocol block
 *   including the family"). PROXY with INET, INET6 or UNIX needs the length
 *   to hold the addresses (12, 36, 216 bytes); the bytes after them must be
 *   whole TLVs (type, 16-bit length, value), which are skipped, except
 *   PP2_TYPE_SSL, whose flags are reported. A combination with UNSPEC in
 *   either half is accepted as family UNKNOWN (PP: the receiver is free to
 *   accept it and use the real endpoints). PP2_TYPE_CRC32C is not verified:
 *   PP 2.2.3 requires the check only of receivers that support it. */
#ifndef IH_PROXY_PROTOCOL_H
#define IH_PROXY_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ip_cidr.h"

#define IH_PROXY_V1_MAX_LINE 107 /* PP 2.1: the worst case, CRLF included */
/* The largest v2 length field we accept: the UNIX address block (216) plus
 * 1 KB of TLVs. PP allows up to 65535, but no proxy sends that much, and a
 * connection must not make us wait for (and buffer) 64 KB before its
 * request is even read. */
#define IH_PROXY_V2_MAX_LEN (216 + 1024)
#define IH_PROXY_V2_HEADER 16 /* signature, version/command, family, length */

enum ih_proxy_status {
  IH_PROXY_DONE = 0,  /* out->header_len bytes are the header */
  IH_PROXY_NEED_MORE, /* a valid prefix; out->need is the least total length to wait for */
  IH_PROXY_ERROR,     /* out->error says why; the connection must be closed */
};

enum ih_proxy_error {
  IH_PROXY_OK = 0,
  IH_PROXY_NOT_PROXY,        /* neither "PROXY" nor the v2 signature */
  IH_PROXY_V1_TOO_LONG,      /* no CRLF within 107 bytes */
  IH_PROXY_V1_BAD_LINE_END,  /* a CR without LF, or an LF without CR */
  IH_PROXY_V1_BAD_TOKEN,     /* missing or doubled space, missing or extra field */
  IH_PROXY_V1_BAD_PROTOCOL,  /* not TCP4, TCP6 or UNKNOWN */
  IH_PROXY_V1_BAD_ADDRESS,   /* not an address, or not of the line's family */
  IH_PROXY_V1_BAD_PORT,      /* not 0-65535, or with a leading zero */
  IH_PROXY_V2_BAD_VERSION,   /* version nibble is not 2 */
  IH_PROXY_V2_BAD_COMMAND,   /* neither LOCAL nor PROXY */
  IH_PROXY_V2_BAD_FAMILY,    /* address family above 3 or protocol above 2 */
  IH_PROXY_V2_TOO_LONG,      /* length above IH_PROXY_V2_MAX_LEN */
  IH_PROXY_V2_SHORT_ADDRESS, /* length smaller than the family's address block */
  IH_PROXY_V2_BAD_TLV,       /* a TLV (or PP2_TYPE_SSL sub-TLV) runs past its container */
};

enum ih_proxy_command {
  IH_PROXY_CMD_LOCAL = 0, /* v2 LOCAL: the proxy's own connection (health check) */
  IH_PROXY_CMD_PROXY = 1, /* relayed; v1 is always PROXY */
};

enum ih_proxy_family {
  IH_PROXY_FAM_UNKNOWN = 0, /* v1 UNKNOWN, v2 AF_UNSPEC/UNSPEC, or LOCAL */
  IH_PROXY_FAM_TCP4,
  IH_PROXY_FAM_TCP6,
  IH_PROXY_FAM_UDP4,        /* v2 only */
  IH_PROXY_FAM_UDP6,        /* v2 only */
  IH_PROXY_FAM_UNIX_STREAM, /* v2 only */
  IH_PROXY_FAM_UNIX_DGRAM,  /* v2 only */
};

typedef struct ih_proxy_result {
  int version;                  /* 1 or 2 */
  enum ih_proxy_command command;
  enum ih_proxy_family family;
  /* True only for PROXY with TCP4 or TCP6: then src/dst are the client's
   * and the server's endpoints and replace the socket's. Otherwise the
   * caller uses the real connection's endpoints (PP 2.1 UNKNOWN, 2.2 LOCAL;
   * UDP and UNIX are not what an HTTP connection can have been). */
  bool use_addresses;
  /* For TCP4/TCP6/UDP4/UDP6: the addresses, binary and as ih_ip_format
   * text (IPv6 in RFC 5952 form), and the ports. Zero/"" otherwise. */
  ih_ip_addr src, dst;
  char src_text[IH_IP_TEXT_MAX], dst_text[IH_IP_TEXT_MAX];
  uint16_t src_port, dst_port;
  /* v2 PP2_TYPE_SSL (PP 2.2.6), when present: the client reached the proxy
   * over TLS (PP2_CLIENT_SSL), and it presented a certificate that the
   * proxy verified (PP2_CLIENT_CERT_CONN or _SESS with verify == 0). */
  bool ssl;
  bool ssl_client_verified;
  size_t header_len;            /* DONE: bytes of the header, to skip */
  size_t need;                  /* NEED_MORE: wait until at least this many bytes in all */
  enum ih_proxy_error error;    /* ERROR: why */
  const char *error_text;       /* ERROR: static text for the log */
} ih_proxy_result;

/* Parses the header at the start of buf[0..len) (rules above). */
enum ih_proxy_status ih_proxy_parse(const void *buf, size_t len, ih_proxy_result *out);

/* False as soon as buf[0..len) cannot be the start of a v1 or v2 header
 * (len 0 is true): what ih_proxy_parse reports as NOT_PROXY. */
bool ih_proxy_could_be(const void *buf, size_t len);

/* Text for logs. */
const char *ih_proxy_error_text(enum ih_proxy_error e);

#endif
