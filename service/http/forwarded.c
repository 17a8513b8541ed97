/* Client address and scheme from forwarding headers (see forwarded.h). */
#include "http/forwarded.h"

#include <string.h>

/* Longest node text we read (forwarded.h): "[" IPv6 "]:" port is 47 + 6. */
#define NODE_MAX 63

enum hop_kind {
  HOP_TRUSTED,  /* an address in the trusted list: another proxy */
  HOP_CLIENT,   /* an address not in the list: the walk stops here */
  HOP_OPAQUE,   /* "unknown", "_obf" or no for=: stops, the last trusted hop is used */
  HOP_BAD,      /* not a node: a trusted proxy sent what we cannot read */
};

enum proto_state { PROTO_NONE, PROTO_HTTPS, PROTO_OTHER, PROTO_BAD };

typedef struct hop {
  enum hop_kind kind;
  ih_ip_addr addr;
  bool has_port;
  uint16_t port;
  enum proto_state proto; /* Forwarded: the element's proto= */
  size_t index;           /* position from the left */
  const char *bad;        /* HOP_BAD: why */
} hop;

/* The right-to-left walk of forwarded.h, done in one pass from the left:
 * where a walk from the right stops is the rightmost hop that is not a
 * trusted address, and everything to the right of that one is trusted. */
typedef struct walk {
  const ih_fwd_input *in;
  size_t count;
  bool stopped;
  hop stop;        /* the rightmost hop that is not trusted */
  bool have_after;
  hop after;       /* the (trusted) hop just right of it */
  hop first;       /* the leftmost hop, the client when every hop is trusted */
} walk;

static void walk_add(walk *w, hop *h)
{
  h->index = w->count;
  if (w->count == 0)
    w->first = *h;
  w->count++;
  if (h->kind != HOP_TRUSTED) {
    w->stopped = true;
    w->stop = *h;
    w->have_after = false;
  } else if (w->stopped && !w->have_after) {
    w->after = *h;
    w->have_after = true;
  }
}

static bool is_obf_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || ih_is_digit(c) || c == '.' || c == '_' ||
         c == '-';
}

/* RFC 7239 6.3 obfnode / obfport: "_" 1*( ALPHA / DIGIT / "." / "_" / "-" ) */
static bool is_obf(ih_slice s)
{
  if (s.n < 2 || s.p[0] != '_')
    return false;
  for (size_t i = 1; i < s.n; i++)
    if (!is_obf_char(s.p[i]))
      return false;
  return true;
}

/* A node (RFC 7239 6) when forwarded_syntax, else an X-Forwarded-For
 * element (forwarded.h: also a bare IPv6 address, no obfuscation). Sets
 * kind (never HOP_TRUSTED/CLIENT: the caller checks the list), addr, port. */
static void parse_node(ih_slice s, bool forwarded_syntax, hop *h)
{
  h->kind = HOP_BAD;
  h->bad = forwarded_syntax ? "Forwarded for= is not a node (address, [IPv6], unknown or _obfuscated)"
                            : "X-Forwarded-For element is not an address";
  ih_slice name = s, port = { NULL, 0 };
  bool has_port = false;
  if (s.n && s.p[0] == '[') {
    const char *close = memchr(s.p, ']', s.n);
    if (!close)
      return;
    name = (ih_slice){ s.p + 1, (size_t)(close - s.p) - 1 };
    size_t used = (size_t)(close - s.p) + 1;
    if (used < s.n) {
      if (s.p[used] != ':')
        return;
      has_port = true;
      port = (ih_slice){ s.p + used + 1, s.n - used - 1 };
    }
    if (!ih_ip_parse(name, &h->addr) || h->addr.family != 6)
      return;
  } else {
    const char *colon = memchr(s.p, ':', s.n);
    /* a bare IPv6 address in X-Forwarded-For has several colons; one colon
     * separates a port */
    bool bare_v6 = !forwarded_syntax && colon && memchr(colon + 1, ':', s.n - (size_t)(colon - s.p) - 1);
    if (colon && !bare_v6) {
      name = (ih_slice){ s.p, (size_t)(colon - s.p) };
      has_port = true;
      port = (ih_slice){ colon + 1, s.n - name.n - 1 };
    }
    if (ih_slice_ieq_cstr(name, "unknown") || (forwarded_syntax && is_obf(name))) {
      if (has_port && !ih_port_parse(port, true, &h->port) && !(forwarded_syntax && is_obf(port)))
        return;
      h->kind = HOP_OPAQUE;
      h->port = 0;
      h->bad = NULL;
      return;
    }
    /* RFC 7239 6: an IPv6 node is always in brackets */
    if (!ih_ip_parse(name, &h->addr) || (forwarded_syntax && h->addr.family != 4))
      return;
  }
  if (has_port) {
    if (ih_port_parse(port, true, &h->port))
      h->has_port = true;
    else if (!(forwarded_syntax && is_obf(port)))
      return;
  }
  h->kind = HOP_CLIENT; /* until the trusted list says otherwise */
  h->bad = NULL;
}

static void classify(const ih_fwd_input *in, hop *h)
{
  if (h->kind == HOP_CLIENT && ih_cidr_list_match(in->trusted, in->trusted_count, &h->addr))
    h->kind = HOP_TRUSTED;
}

/* ---- Forwarded (RFC 7239 4) ------------------------------------------------ */

/* RFC 9110 5.6.4 qdtext / quoted-pair's second byte */
static bool is_qdtext(unsigned char c)
{
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E) || c >= 0x80;
}

static bool is_pair_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7F); }

/* A value (token or quoted-string) at s[*i..); advances past it. */
static bool scan_value(ih_slice s, size_t *i, ih_slice *raw)
{
  size_t start = *i;
  if (*i < s.n && s.p[*i] == '"') {
    (*i)++;
    for (;;) {
      if (*i >= s.n)
        return false;
      unsigned char c = (unsigned char)s.p[*i];
      if (c == '"')
        break;
      if (c == '\\') {
        if (*i + 1 >= s.n || !is_pair_char((unsigned char)s.p[*i + 1]))
          return false;
        *i += 2;
      } else if (is_qdtext(c)) {
        (*i)++;
      } else {
        return false;
      }
    }
    (*i)++;
  } else {
    while (*i < s.n && ih_is_tchar((unsigned char)s.p[*i]))
      (*i)++;
    if (*i == start)
      return false;
  }
  *raw = (ih_slice){ s.p + start, *i - start };
  return true;
}

/* The value's text: a token as is, a quoted-string unquoted and unescaped
 * into buf. False when longer than cap. */
static bool value_text(ih_slice raw, char *buf, size_t cap, ih_slice *text)
{
  if (raw.n == 0 || raw.p[0] != '"') {
    *text = raw;
    return true;
  }
  size_t n = 0;
  for (size_t i = 1; i + 1 < raw.n; i++) {
    if (raw.p[i] == '\\')
      i++;
    if (n == cap)
      return false;
    buf[n++] = raw.p[i];
  }
  *text = (ih_slice){ buf, n };
  return true;
}

/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static enum proto_state proto_of(ih_slice raw)
{
  char buf[NODE_MAX];
  ih_slice t;
  if (!value_text(raw, buf, sizeof buf, &t) || t.n == 0)
    return PROTO_BAD;
  for (size_t i = 0; i < t.n; i++) {
    char c = ih_ascii_lower(t.p[i]);
    bool alpha = c >= 'a' && c <= 'z';
    if (!alpha && (i == 0 || !(ih_is_digit(c) || c == '+' || c == '-' || c == '.')))
      return PROTO_BAD;
  }
  return ih_slice_ieq_cstr(t, "https") ? PROTO_HTTPS : PROTO_OTHER;
}

typedef struct element {
  unsigned pairs;
  bool has_for, has_by, has_host, has_proto;
  ih_slice for_raw, proto_raw;
} element;

static void element_end(walk *w, element *e)
{
  if (e->pairs == 0) /* an empty list element (RFC 9110 5.6.1) */
    return;
  hop h = { .kind = HOP_OPAQUE };
  if (e->has_for) {
    char buf[NODE_MAX];
    ih_slice node;
    if (value_text(e->for_raw, buf, sizeof buf, &node)) {
      parse_node(node, true, &h);
      classify(w->in, &h);
    } else {
      h.kind = HOP_BAD;
      h.bad = "Forwarded for= is longer than any node";
    }
  }
  h.proto = e->has_proto ? proto_of(e->proto_raw) : PROTO_NONE;
  walk_add(w, &h);
  memset(e, 0, sizeof *e);
}

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

/* Reads one Forwarded field line into the walk. NULL when it is Forwarded
 * syntax, else why not. */
static const char *forwarded_line(walk *w, ih_slice s)
{
  element e = { 0 };
  size_t i = 0;
  for (;;) {
    while (i < s.n && is_ows(s.p[i]))
      i++;
    if (i == s.n)
      break;
    if (s.p[i] == ',') {
      element_end(w, &e);
      i++;
      continue;
    }
    if (s.p[i] == ';') {
      i++;
      continue;
    }
    size_t name_start = i;
    while (i < s.n && ih_is_tchar((unsigned char)s.p[i]))
      i++;
    ih_slice name = { s.p + name_start, i - name_start };
    if (name.n == 0)
      return "Forwarded has a character where a parameter name should be";
    if (i == s.n || s.p[i] != '=')
      return "Forwarded parameter has no '=' right after its name";
    i++;
    ih_slice raw;
    if (!scan_value(s, &i, &raw))
      return "Forwarded value is neither a token nor a quoted-string";
    while (i < s.n && is_ows(s.p[i]))
      i++;
    if (i < s.n && s.p[i] != ',' && s.p[i] != ';')
      return "Forwarded value is followed by something other than ';' or ','";
    /* RFC 7239 4: "Each parameter MUST NOT occur more than once per
     * forwarded-element." */
    bool *seen = NULL;
    if (ih_slice_ieq_cstr(name, "for"))
      seen = &e.has_for, e.for_raw = raw;
    else if (ih_slice_ieq_cstr(name, "proto"))
      seen = &e.has_proto, e.proto_raw = raw;
    else if (ih_slice_ieq_cstr(name, "by"))
      seen = &e.has_by;
    else if (ih_slice_ieq_cstr(name, "host"))
      seen = &e.has_host;
    if (seen) {
      if (*seen)
        return "Forwarded element has a parameter twice";
      *seen = true;
    }
    e.pairs++;
  }
  element_end(w, &e);
  return NULL;
}

/* ---- X-Forwarded-For / X-Forwarded-Proto ----------------------------------- */

static void xff_line(walk *w, ih_slice s)
{
  ih_slice item;
  while (ih_slice_next_list_item(&s, &item)) {
    hop h = { 0 };
    parse_node(item, false, &h);
    classify(w->in, &h);
    walk_add(w, &h);
  }
}

/* The X-Forwarded-Proto value for the hop at index of count (forwarded.h). */
static enum proto_state xfp_for(const ih_fwd_input *in, size_t index, size_t count)
{
  size_t values = 0;
  for (size_t l = 0; l < in->xfp_count; l++) {
    ih_slice s = in->xfp[l], item;
    while (ih_slice_next_list_item(&s, &item))
      values++;
  }
  if (values == 0)
    return PROTO_NONE;
  size_t want;
  if (values == count)
    want = index;
  else if (values == 1)
    want = 0;
  else
    return PROTO_BAD;
  size_t k = 0;
  for (size_t l = 0; l < in->xfp_count; l++) {
    ih_slice s = in->xfp[l], item;
    while (ih_slice_next_list_item(&s, &item))
      if (k++ == want) {
        if (ih_slice_ieq_cstr(item, "https"))
          return PROTO_HTTPS;
        if (ih_slice_ieq_cstr(item, "http"))
          return PROTO_OTHER;
        return PROTO_BAD;
      }
  }
  return PROTO_BAD; /* not reached: want < values */
}

/* ---- the decision ------------------------------------------------------------ */

static void set_client(ih_fwd_result *out, const ih_ip_addr *a, bool has_port, uint16_t port)
{
  out->client = *a;
  ih_ip_format(a, out->client_text, sizeof out->client_text);
  out->has_port = has_port;
  out->port = has_port ? port : 0;
}

static enum ih_fwd_status finish(ih_fwd_result *out, enum ih_fwd_status st, const char *reason)
{
  out->status = st;
  out->reason = reason;
  return st;
}

static bool forwarded_present(const ih_fwd_input *in)
{
  walk w = { .in = in };
  for (size_t l = 0; l < in->forwarded_count; l++)
    if (forwarded_line(&w, in->forwarded[l]) || w.count > 0)
      return true; /* malformed counts as present: it is not ours to skip */
  return false;
}

enum ih_fwd_status ih_fwd_resolve(const ih_fwd_input *in, ih_fwd_result *out)
{
  memset(out, 0, sizeof *out);
  out->https = in->peer_https;
  ih_ip_addr peer;
  if (!ih_ip_parse(in->peer, &peer))
    return finish(out, IH_FWD_PEER_NOT_ADDRESS, "the peer's address is not an IP address");
  set_client(out, &peer, false, 0);
  /* Only a trusted proxy's headers mean anything: anyone else could write
   * any address in them. */
  if (!ih_cidr_list_match(in->trusted, in->trusted_count, &peer))
    return finish(out, IH_FWD_OK, NULL);

  bool use_forwarded = in->source == IH_FWD_FORWARDED || (in->source == IH_FWD_AUTO && forwarded_present(in));
  walk w = { .in = in };
  if (use_forwarded) {
    for (size_t l = 0; l < in->forwarded_count; l++) {
      const char *why = forwarded_line(&w, in->forwarded[l]);
      if (why)
        return finish(out, IH_FWD_BAD_FORWARDED, why);
    }
  } else {
    for (size_t l = 0; l < in->xff_count; l++)
      xff_line(&w, in->xff[l]);
  }
  const hop *chosen; /* the element whose view of the client we take */
  const hop *addr;   /* the hop whose address is the client */
  hop none = { .index = 0 };
  if (w.count == 0) {
    if (use_forwarded)
      return finish(out, IH_FWD_OK, NULL);
    /* No X-Forwarded-For: the peer is the client, and a single
     * X-Forwarded-Proto is its own word about the request. */
    chosen = &none;
    addr = NULL;
  } else if (!w.stopped) {
    chosen = addr = &w.first;
  } else {
    chosen = &w.stop;
    if (w.stop.kind == HOP_BAD)
      return finish(out, use_forwarded ? IH_FWD_BAD_FORWARDED : IH_FWD_BAD_XFF, w.stop.bad);
    addr = w.stop.kind == HOP_CLIENT ? &w.stop : w.have_after ? &w.after : NULL;
  }
  enum proto_state proto = use_forwarded ? chosen->proto : xfp_for(in, chosen->index, w.count);
  if (use_forwarded && proto == PROTO_BAD)
    return finish(out, IH_FWD_BAD_FORWARDED, "Forwarded proto= is not a URI scheme");

  if (addr) {
    set_client(out, &addr->addr, addr->has_port, addr->port);
    out->from = use_forwarded ? IH_FWD_FROM_FORWARDED : IH_FWD_FROM_XFF;
  } /* else: the peer itself wrote the opaque hop, and stays the client */
  if (proto == PROTO_BAD)
    return finish(out, IH_FWD_BAD_XFP,
                  "X-Forwarded-Proto does not line up with X-Forwarded-For, or is not http or https");
  if (proto != PROTO_NONE)
    out->https = proto == PROTO_HTTPS;
  return finish(out, IH_FWD_OK, NULL);
}

enum ih_fwd_status ih_fwd_resolve_head(const ih_http_request_head *h, ih_slice peer, bool peer_https,
                                       const ih_cidr *trusted, size_t trusted_count,
                                       enum ih_fwd_source source, ih_fwd_result *out)
{
  ih_slice fwd[IH_HTTP_MAX_HEADERS], xff[IH_HTTP_MAX_HEADERS], xfp[IH_HTTP_MAX_HEADERS];
  ih_fwd_input in = {
    .peer = peer,
    .peer_https = peer_https,
    .trusted = trusted,
    .trusted_count = trusted_count,
    .source = source,
    .forwarded = fwd,
    .xff = xff,
    .xfp = xfp,
  };
  size_t n = h->header_count < IH_HTTP_MAX_HEADERS ? h->header_count : IH_HTTP_MAX_HEADERS;
  for (size_t i = 0; i < n; i++) {
    const ih_http_header *f = &h->headers[i];
    if (ih_slice_ieq_cstr(f->name, "Forwarded"))
      fwd[in.forwarded_count++] = f->value;
    else if (ih_slice_ieq_cstr(f->name, "X-Forwarded-For"))
      xff[in.xff_count++] = f->value;
    else if (ih_slice_ieq_cstr(f->name, "X-Forwarded-Proto"))
      xfp[in.xfp_count++] = f->value;
  }
  return ih_fwd_resolve(&in, out);
}
