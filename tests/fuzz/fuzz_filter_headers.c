/* libFuzzer target for filters/filter_headers.c: the header objects ISAPI
 * filters edit with GetHeader, SetHeader and AddHeader.
 *
 * Input: byte 0 picks the object (bit 0: response, else request; bit 1 with
 * bit 0: an HTTP/0.9 response); then the head text up to the first two NUL
 * bytes (a request head is parsed with ih_http_parse_request; one that does
 * not parse is replaced by a fixed head so the operations still run); then
 * operations, each an opcode byte, a name and a value (NUL-terminated
 * strings; a name "@c" stands for a dictionary entry, so the special values
 * and existing names come up often).
 *
 * Properties checked after every operation:
 * - bytes <= IH_HDR_BYTES_MAX, count <= cap, bytes equals the names' and
 *   values' lengths (at least them, when the loaded head held a NUL);
 * - a request's fields are tokens with clean values; its request line parts
 *   are a token, a target without SP/CTL and one of the three versions;
 *   a response's status is 100..999 with a one-line reason;
 * - SetHeader/AddHeader with CR, LF or another control byte in the value
 *   (or a name without a colon) is refused with INVALID_PARAMETER; what is
 *   accepted reads back through GetHeader; AddHeader runs out of room
 *   (NO_MEMORY) exactly when IH_HDR_BYTES_MAX would be passed;
 * - GetHeader keeps its size contract: a size query, an exact buffer and a
 *   buffer one byte short agree, and the short one is never written;
 * - ih_hdr_serialize gives the same length for a size query, an exact write
 *   and a short write (which writes a prefix); an HTTP/0.9 response is 0
 *   bytes; a response starts "HTTP/1.1 NNN "; a request head (not 0.9, with
 *   no more fields than the parser takes) parses again to the same request
 *   line and fields, and (at the end) loading and serialising that again is
 *   a fixpoint. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_str.h"
#include "filters/filter_headers.h"
#include "http/http_parse.h"

#define REQUIRE(c) \
  do {             \
    if (!(c))      \
      abort();     \
  } while (0)

#define MAX_OPS 64
#define MAX_NAME 256
#define MAX_VALUE 4096
#define MAX_AMPLIFIED (64u * 1024u)

static const char *const dictionary[] = {
  "Host:", "host:", "method", "url", "version", "status", "Content-Length:", "X-A:", "x-a:", "Set-Cookie:",
  "Status", "URL", ":", "", "Host", "Transfer-Encoding:",
};

static bool is_ctl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

/* Through strcspn: the harness's own byte loops would cost more than the
 * code under test (values run to IH_HDR_BYTES_MAX). */
static bool has_ctl(const char *s)
{
  static const char ctl[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x0a\x0b\x0c\x0d\x0e\x0f"
                            "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f";
  return s[strcspn(s, ctl)] != '\0';
}

static bool is_token(const char *s)
{
  if (!*s)
    return false;
  for (; *s; s++)
    if (!ih_is_tchar((unsigned char)*s))
      return false;
  return true;
}

/* "Name:" with a token name: a header name GetHeader and friends accept. */
static bool is_header_name(const char *name)
{
  size_t n = strlen(name);
  if (n < 2 || name[n - 1] != ':')
    return false;
  for (size_t i = 0; i + 1 < n; i++)
    if (!ih_is_tchar((unsigned char)name[i]))
      return false;
  return true;
}

static bool ieq(const char *a, const char *b)
{
  return ih_slice_ieq(ih_slice_from_cstr(a), ih_slice_from_cstr(b));
}

static bool is_special(const ih_hdr_block *b, const char *name)
{
  if (b->response)
    return ieq(name, "status");
  return ieq(name, "method") || ieq(name, "url") || ieq(name, "version");
}

typedef struct reader {
  const uint8_t *p;
  size_t left;
} reader;

/* The next NUL-terminated string (at most max bytes kept) as an exactly
 * sized heap copy, so ASan sees any over-read. */
static char *next_string(reader *r, size_t max)
{
  size_t n = 0;
  while (n < r->left && r->p[n] != 0)
    n++;
  size_t keep = n < max ? n : max;
  char *s = malloc(keep + 1);
  memcpy(s, r->p, keep);
  s[keep] = '\0';
  size_t used = n < r->left ? n + 1 : n;
  r->p += used;
  r->left -= used;
  return s;
}

static const char *resolve(const char *name)
{
  if (name[0] == '@' && name[1] && !name[2])
    return dictionary[(unsigned char)name[1] % (sizeof dictionary / sizeof dictionary[0])];
  return name;
}

/* ---- invariants of the block ---- */

static void check_block(const ih_hdr_block *b, bool head_clean)
{
  REQUIRE(b->bytes <= IH_HDR_BYTES_MAX);
  REQUIRE(b->count <= b->cap);
  REQUIRE(b->count == 0 || b->fields != NULL);
  size_t sum = 0;
  for (size_t i = 0; i < b->count; i++) {
    REQUIRE(b->fields[i].name && b->fields[i].value);
    sum += strlen(b->fields[i].name) + strlen(b->fields[i].value);
    if (!b->response) { /* from the parser or from SetHeader/AddHeader: both clean */
      REQUIRE(is_token(b->fields[i].name));
      REQUIRE(!has_ctl(b->fields[i].value));
    }
  }
  REQUIRE(head_clean ? sum == b->bytes : sum <= b->bytes);
  if (b->response) {
    REQUIRE(b->status >= 100 && b->status <= 999);
    REQUIRE(b->reason && !strchr(b->reason, '\r') && !strchr(b->reason, '\n'));
  } else {
    REQUIRE(b->method && b->url && b->version);
    REQUIRE(is_token(b->method));
    REQUIRE(b->url[0] != '\0');
    for (const char *u = b->url; *u; u++)
      REQUIRE(*u != ' ' && !is_ctl((unsigned char)*u));
    REQUIRE(!strcmp(b->version, "HTTP/0.9") || !strcmp(b->version, "HTTP/1.0") || !strcmp(b->version, "HTTP/1.1"));
    REQUIRE((strcmp(b->version, "HTTP/0.9") == 0) == b->http09);
  }
}

/* GetHeader's size contract; returns the value (heap) or NULL. */
static char *check_get(const ih_hdr_block *b, const char *name, bool head_clean)
{
  uint32_t size = 0;
  enum ih_hdr_status st = ih_hdr_get(b, name, NULL, &size);
  REQUIRE(st == IH_HDR_INSUFFICIENT_BUFFER || st == IH_HDR_INVALID_INDEX || st == IH_HDR_INVALID_PARAMETER);
  if (!is_special(b, name) && !is_header_name(name))
    REQUIRE(st == IH_HDR_INVALID_PARAMETER);
  if (st == IH_HDR_INVALID_PARAMETER)
    REQUIRE(!is_special(b, name) && !is_header_name(name));
  if (st != IH_HDR_INSUFFICIENT_BUFFER)
    return NULL;
  REQUIRE(size >= 1);
  char *value = malloc(size);
  uint32_t got = size;
  REQUIRE(ih_hdr_get(b, name, value, &got) == IH_HDR_OK);
  REQUIRE(got == size && value[size - 1] == '\0');
  if (head_clean)
    REQUIRE(strlen(value) + 1 == size);
  if (!b->response)
    REQUIRE(!strchr(value, '\r') && !strchr(value, '\n'));
  if (head_clean && is_header_name(name)) {
    /* every field of the name, in order, joined with ", " (and nothing else) */
    ih_slice want_name = { name, strlen(name) - 1 };
    size_t at = 0, joined = 0;
    for (size_t i = 0; i < b->count; i++) {
      if (!ih_slice_ieq(ih_slice_from_cstr(b->fields[i].name), want_name))
        continue;
      if (joined++) {
        REQUIRE(at + 2 < size && !memcmp(value + at, ", ", 2));
        at += 2;
      }
      size_t n = strlen(b->fields[i].value);
      REQUIRE(at + n < size && !memcmp(value + at, b->fields[i].value, n));
      at += n;
    }
    REQUIRE(joined > 0 && at + 1 == size);
  }
  /* one byte short: refused, the size needed back, nothing written */
  char *short_buf = malloc(size);
  memset(short_buf, 0xAB, size);
  got = size - 1;
  REQUIRE(ih_hdr_get(b, name, size > 1 ? short_buf : NULL, &got) == IH_HDR_INSUFFICIENT_BUFFER);
  REQUIRE(got == size);
  REQUIRE((unsigned char)short_buf[0] == 0xAB && !memcmp(short_buf, short_buf + 1, size - 1)); /* all 0xAB */
  free(short_buf);
  return value;
}

static void check_set(ih_hdr_block *b, const char *name, const char *value, bool add, bool head_clean)
{
  size_t bytes_before = b->bytes;
  enum ih_hdr_status st = add ? ih_hdr_add(b, name, value) : ih_hdr_set(b, name, value);
  REQUIRE(st == IH_HDR_OK || st == IH_HDR_INVALID_PARAMETER || st == IH_HDR_NO_MEMORY);
  if (has_ctl(value) || (!is_special(b, name) && !is_header_name(name)))
    REQUIRE(st == IH_HDR_INVALID_PARAMETER);
  if (st == IH_HDR_OK)
    REQUIRE(b->changed);
  if (is_special(b, name)) {
    if (st == IH_HDR_OK && !b->response) {
      char *got = check_get(b, name, head_clean);
      REQUIRE(got && !strcmp(got, value));
      free(got);
    }
    if (st == IH_HDR_NO_MEMORY)
      abort(); /* special values are not counted against the bound */
    return;
  }
  if (!is_header_name(name))
    return;
  size_t grow = strlen(name) - 1 + strlen(value);
  if (add) {
    /* a valid field is refused for room exactly when it would pass the bound */
    if (!has_ctl(value))
      REQUIRE(st == (bytes_before + grow > IH_HDR_BYTES_MAX ? IH_HDR_NO_MEMORY : IH_HDR_OK));
    REQUIRE(b->bytes == (st == IH_HDR_OK ? bytes_before + grow : bytes_before));
  }
  if (st != IH_HDR_OK)
    return;
  char *got = check_get(b, name, head_clean);
  if (!add && !*value) {
    REQUIRE(got == NULL); /* SetHeader "" deleted every field of the name */
  } else {
    REQUIRE(got != NULL);
    size_t gl = strlen(got), vl = strlen(value);
    if (add)
      REQUIRE((gl >= vl && !strcmp(got + gl - vl, value)) || !head_clean);
    else
      REQUIRE(!strcmp(got, value) || !head_clean);
  }
  free(got);
}

/* ---- the serialised head ---- */

static ih_http_request_head reparsed, reparsed2;

static void generous_limits(ih_http_limits *lim)
{
  ih_http_limits_default(lim);
  lim->max_request_line = SIZE_MAX / 4;
  lim->max_header_line = SIZE_MAX / 4;
  lim->max_header_bytes = SIZE_MAX / 4;
  lim->max_headers = IH_HTTP_MAX_HEADERS;
}

static char *check_serialize(const ih_hdr_block *b, size_t *len_out)
{
  size_t len = ih_hdr_serialize(b, NULL, 0);
  if (b->response && b->http09)
    REQUIRE(len == 0);
  char *text = malloc(len + 1);
  REQUIRE(ih_hdr_serialize(b, text, len) == len);
  text[len] = '\0';
  REQUIRE(ih_hdr_serialize(b, text, 0) == len);
  if (len) {
    size_t cap = len / 2;
    char *part = malloc(cap ? cap : 1);
    REQUIRE(ih_hdr_serialize(b, part, cap) == len);
    REQUIRE(memcmp(part, text, cap) == 0);
    free(part);
    REQUIRE(len >= 4 && !memcmp(text + len - 4, "\r\n\r\n", 4)); /* the empty line ends it */
  }
  if (b->response && !b->http09) {
    REQUIRE(len >= 15 && !memcmp(text, "HTTP/1.1 ", 9));
    REQUIRE(ih_is_digit(text[9]) && ih_is_digit(text[10]) && ih_is_digit(text[11]) && text[12] == ' ');
    REQUIRE((text[9] - '0') * 100 + (text[10] - '0') * 10 + (text[11] - '0') == b->status);
  }
  *len_out = len;
  return text;
}

static bool same_slice(ih_slice s, const char *c) { return s.n == strlen(c) && !memcmp(s.p, c, s.n); }

/* A request head as a filter left it parses again as the same request. */
static void check_reparse(const ih_hdr_block *b, const char *text, size_t len, bool fixpoint)
{
  if (b->response || b->http09 || b->count > IH_HTTP_MAX_HEADERS)
    return; /* 0.9 has no head to parse; the parser takes at most that many fields */
  ih_http_limits lim;
  generous_limits(&lim);
  REQUIRE(ih_http_parse_request(text, len, 0, &lim, &reparsed) == IH_PARSE_DONE);
  REQUIRE(reparsed.head_len == len);
  REQUIRE(same_slice(reparsed.method, b->method));
  REQUIRE(same_slice(reparsed.target, b->url));
  REQUIRE(reparsed.version == (!strcmp(b->version, "HTTP/1.0") ? IH_HTTP_10 : IH_HTTP_11));
  REQUIRE(reparsed.header_count == b->count);
  for (size_t i = 0; i < b->count; i++) {
    REQUIRE(same_slice(reparsed.headers[i].name, b->fields[i].name));
    ih_slice v = ih_slice_trim_ows(ih_slice_from_cstr(b->fields[i].value));
    REQUIRE(ih_slice_eq(reparsed.headers[i].value, v));
  }
  if (!fixpoint)
    return;
  /* load, serialise, parse, load, serialise: a fixpoint after one round */
  ih_hdr_block b2, b3;
  REQUIRE(ih_hdr_load_request(&b2, &reparsed) == IH_HDR_OK);
  check_block(&b2, true);
  size_t len2;
  char *text2 = check_serialize(&b2, &len2);
  REQUIRE(ih_http_parse_request(text2, len2, 0, &lim, &reparsed2) == IH_PARSE_DONE);
  REQUIRE(ih_hdr_load_request(&b3, &reparsed2) == IH_HDR_OK);
  size_t len3;
  char *text3 = check_serialize(&b3, &len3);
  REQUIRE(len3 == len2 && !memcmp(text2, text3, len2));
  free(text3);
  free(text2);
  ih_hdr_free(&b3);
  ih_hdr_free(&b2);
}

/* ---- entry point ---- */

static ih_http_request_head parsed;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  unsigned mode = data[0];
  reader r = { data + 1, size - 1 };
  /* the head: up to the first two NUL bytes */
  size_t head_len = 0;
  while (head_len + 1 < r.left && !(r.p[head_len] == 0 && r.p[head_len + 1] == 0))
    head_len++;
  if (head_len + 1 >= r.left)
    head_len = r.left;
  char *head = malloc(head_len ? head_len : 1);
  if (head_len)
    memcpy(head, r.p, head_len);
  size_t used = head_len + 2 <= r.left ? head_len + 2 : r.left;
  r.p += used;
  r.left -= used;

  ih_hdr_block b;
  bool head_clean = true;
  if (mode & 1) {
    bool http09 = (mode & 2) != 0;
    head_clean = memchr(head, '\0', head_len) == NULL;
    REQUIRE(ih_hdr_load_response(&b, head, head_len, http09) == IH_HDR_OK);
    REQUIRE(b.response && b.http09 == http09 && !b.changed);
  } else {
    ih_http_limits lim;
    ih_http_limits_default(&lim);
    if (ih_http_parse_request(head, head_len, 0, &lim, &parsed) != IH_PARSE_DONE) {
      static const char fallback[] = "GET /fallback HTTP/1.1\r\nHost: fuzz\r\nX-A: 1\r\n\r\n";
      REQUIRE(ih_http_parse_request(fallback, sizeof fallback - 1, 0, &lim, &parsed) == IH_PARSE_DONE);
    }
    REQUIRE(ih_hdr_load_request(&b, &parsed) == IH_HDR_OK);
    REQUIRE(!b.response && b.count == parsed.header_count && !b.changed);
  }
  free(head); /* the block holds copies */
  check_block(&b, head_clean);

  for (int ops = 0; ops < MAX_OPS && r.left > 0; ops++) {
    unsigned op = *r.p++ % 8;
    r.left--;
    char *name_text = next_string(&r, MAX_NAME);
    char *value = next_string(&r, MAX_VALUE);
    const char *name = resolve(name_text);
    switch (op) {
    case 0: /* GetHeader */
      free(check_get(&b, name, head_clean));
      break;
    case 1: /* SetHeader */
      check_set(&b, name, value, false, head_clean);
      break;
    case 2: /* AddHeader */
      check_set(&b, name, value, true, head_clean);
      break;
    case 3: /* SetHeader "" deletes */
      check_set(&b, name, "", false, head_clean);
      break;
    case 4: { /* AddHeader with a long value: towards IH_HDR_BYTES_MAX */
      size_t n = ((unsigned char)value[0] + 1u) * 256u;
      if (n > MAX_AMPLIFIED)
        n = MAX_AMPLIFIED;
      char *big = malloc(n + 1);
      memset(big, value[0] && !is_ctl((unsigned char)value[0]) ? value[0] : 'v', n);
      big[n] = '\0';
      check_set(&b, name, big, true, head_clean);
      free(big);
      break;
    }
    case 5: { /* the special values */
      static const char *const specials[] = { "method", "url", "version", "status" };
      for (size_t i = 0; i < 4; i++)
        free(check_get(&b, specials[i], head_clean));
      break;
    }
    default: { /* serialise (and parse again) */
      size_t len;
      char *text = check_serialize(&b, &len);
      if (head_clean)
        check_reparse(&b, text, len, false);
      free(text);
      break;
    }
    }
    check_block(&b, head_clean);
    free(name_text);
    free(value);
  }

  size_t len;
  char *text = check_serialize(&b, &len);
  if (head_clean)
    check_reparse(&b, text, len, true);
  free(text);
  ih_hdr_free(&b);
  REQUIRE(b.count == 0 && b.fields == NULL && b.bytes == 0);
  return 0;
}
