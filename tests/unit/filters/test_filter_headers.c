/* Unit tests for filters/filter_headers.c: the header objects filters see
 * through GetHeader, SetHeader and AddHeader (IIS 6 SDK ms525690, ms525099,
 * ms525116) in PREPROC_HEADERS, AUTH_COMPLETE and SEND_RESPONSE.
 *
 * Covered: loading from a parsed request head and from a response head,
 * header names (trailing colon, no case) and the special values "method",
 * "url", "version" and "status", the GetServerVariable-style size contract,
 * replace / delete / duplicate semantics, refusal of CR, LF and control
 * bytes (no header smuggling or response splitting), the changed flag, the
 * serialised head parsing again, the HTTP/0.9 response object (KB Q323064),
 * and the IH_HDR_BYTES_MAX bound sized independently of the body
 * (KB Q266356, KB 819876). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/filter_headers.h"
#include "http/http_parse.h"
#include "ih_test.h"

/* The parser's output is large (IH_HTTP_MAX_HEADERS entries): keep it off
 * the stack. */
static ih_http_request_head parsed;

/* Parses text as a request head (default limits) and loads it into b.
 * Returns false (b zeroed) when either step fails. */
static bool load_request_text(ih_hdr_block *b, const char *text, size_t len)
{
  memset(b, 0, sizeof *b);
  memset(&parsed, 0, sizeof parsed);
  enum ih_http_parse_status ps = ih_http_parse_request(text, len, 0, NULL, &parsed);
  IH_EQ_INT(ps, IH_PARSE_DONE);
  if (ps != IH_PARSE_DONE)
    return false;
  enum ih_hdr_status hs = ih_hdr_load_request(b, &parsed);
  IH_EQ_INT(hs, IH_HDR_OK);
  return hs == IH_HDR_OK;
}

static bool load_request(ih_hdr_block *b, const char *text) { return load_request_text(b, text, strlen(text)); }

static bool load_response(ih_hdr_block *b, const char *text, bool http09)
{
  enum ih_hdr_status hs = ih_hdr_load_response(b, text, strlen(text), http09);
  IH_EQ_INT(hs, IH_HDR_OK);
  return hs == IH_HDR_OK;
}

/* GetHeader into buf (one buffer per call site, so two results can be
 * compared); "<status N>" when the call fails. */
static const char *get_into(const ih_hdr_block *b, const char *name, char *buf, uint32_t cap)
{
  uint32_t size = cap;
  enum ih_hdr_status st = ih_hdr_get(b, name, buf, &size);
  if (st != IH_HDR_OK) {
    snprintf(buf, cap, "<status %d>", (int)st);
    return buf;
  }
  IH_EQ_INT(size, strlen(buf) + 1); /* size counts the NUL */
  return buf;
}

#define GET(b, name) get_into((b), (name), (char[4096]){ 0 }, 4096)

/* The status of a GetHeader size query (NULL buffer). */
static enum ih_hdr_status get_status(const ih_hdr_block *b, const char *name)
{
  uint32_t size = 0;
  return ih_hdr_get(b, name, NULL, &size);
}

/* bytes is the sum of the names' and values' lengths, and within bounds. */
static bool bytes_consistent(const ih_hdr_block *b)
{
  size_t sum = 0;
  for (size_t i = 0; i < b->count; i++)
    sum += strlen(b->fields[i].name) + strlen(b->fields[i].value);
  return sum == b->bytes && b->bytes <= IH_HDR_BYTES_MAX && b->count <= b->cap;
}

/* The serialised head as a NUL-terminated heap string; checks that the
 * size query, the exact write and a short write agree. */
static char *serialize(const ih_hdr_block *b, size_t *len_out)
{
  size_t len = ih_hdr_serialize(b, NULL, 0);
  char *text = malloc(len + 1);
  IH_CHECK(text != NULL);
  if (!text)
    return NULL;
  IH_EQ_INT(ih_hdr_serialize(b, text, len), len);
  text[len] = '\0';
  if (len > 4) {
    /* a short buffer: the same length comes back, only cap bytes written */
    char *part = malloc(len);
    memset(part, '#', len);
    IH_EQ_INT(ih_hdr_serialize(b, part, len - 4), len);
    IH_EQ_MEM(part, len - 4, text, len - 4);
    IH_EQ_MEM(part + len - 4, 4, "####", 4);
    free(part);
  }
  if (len_out)
    *len_out = len;
  return text;
}

static const char *find_value(const ih_http_request_head *h, const char *name)
{
  static char value[1024];
  const ih_http_header *f = ih_http_find_header(h, name);
  if (!f)
    return "<none>";
  snprintf(value, sizeof value, "%.*s", (int)f->value.n, f->value.p);
  return value;
}

static size_t count_named(const ih_http_request_head *h, const char *name)
{
  size_t n = 0;
  for (size_t i = 0; i < h->header_count; i++)
    n += ih_slice_ieq_cstr(h->headers[i].name, name);
  return n;
}

static const char request_text[] = "GET /a/b?x=1 HTTP/1.1\r\n"
                                   "Host: www.example.com\r\n"
                                   "Accept: */*\r\n"
                                   "X-Multi: a\r\n"
                                   "x-multi: b\r\n"
                                   "X-Empty:\r\n"
                                   "\r\n";

static void test_load_request(void)
{
  IH_TEST("load request: request line and fields are copied");
  /* From a private heap copy that is wiped and freed after loading: the
   * block must not point into the parsed buffer (ASan sees any use). */
  size_t n = sizeof request_text - 1;
  char *copy = malloc(n);
  memcpy(copy, request_text, n);
  ih_hdr_block b;
  bool ok = load_request_text(&b, copy, n);
  memset(copy, 'Z', n);
  free(copy);
  if (!ok)
    return;
  IH_CHECK(!b.response);
  IH_CHECK(!b.http09);
  IH_CHECK(!b.changed);
  IH_EQ_INT(b.count, 5);
  IH_CHECK(bytes_consistent(&b));
  IH_EQ_STR(GET(&b, "method"), "GET");
  IH_EQ_STR(GET(&b, "url"), "/a/b?x=1");
  IH_EQ_STR(GET(&b, "version"), "HTTP/1.1");
  /* special names compare without case too */
  IH_EQ_STR(GET(&b, "URL"), "/a/b?x=1");
  IH_EQ_STR(GET(&b, "Method"), "GET");
  IH_EQ_STR(GET(&b, "Accept:"), "*/*");
  IH_EQ_STR(GET(&b, "X-Empty:"), "");
  ih_hdr_free(&b);
  IH_EQ_INT(b.count, 0);
  IH_CHECK(b.fields == NULL && b.method == NULL);

  IH_TEST("load request: HTTP/1.0 and HTTP/0.9 versions");
  if (load_request(&b, "POST /form HTTP/1.0\r\nContent-Length: 0\r\n\r\n")) {
    IH_EQ_STR(GET(&b, "version"), "HTTP/1.0");
    IH_EQ_STR(GET(&b, "method"), "POST");
    IH_CHECK(!b.http09);
    ih_hdr_free(&b);
  }
  if (load_request(&b, "GET /old\r\n")) {
    IH_CHECK(b.http09);
    IH_CHECK(!b.response);
    IH_EQ_INT(b.count, 0);
    IH_EQ_STR(GET(&b, "version"), "HTTP/0.9");
    IH_EQ_STR(GET(&b, "url"), "/old");
    IH_EQ_INT(get_status(&b, "Host:"), IH_HDR_INVALID_INDEX);
    /* a 0.9 request stays 0.9: it has no head to give a version to */
    IH_EQ_INT(ih_hdr_set(&b, "version", "HTTP/1.1"), IH_HDR_INVALID_PARAMETER);
    IH_EQ_STR(GET(&b, "version"), "HTTP/0.9");
    IH_EQ_INT(ih_hdr_set(&b, "url", "/new"), IH_HDR_OK);
    IH_EQ_STR(GET(&b, "url"), "/new");
    ih_hdr_free(&b);
  }
}

static void test_get_names(void)
{
  IH_TEST("GetHeader: header names end with a colon and ignore case");
  ih_hdr_block b;
  if (!load_request(&b, request_text))
    return;
  IH_EQ_STR(GET(&b, "Host:"), "www.example.com");
  IH_EQ_STR(GET(&b, "host:"), "www.example.com");
  IH_EQ_STR(GET(&b, "HOST:"), "www.example.com");
  /* several fields of one name: one list value (RFC 9110 5.3) */
  IH_EQ_STR(GET(&b, "X-Multi:"), "a, b");
  IH_EQ_STR(GET(&b, "x-MULTI:"), "a, b");

  IH_TEST("GetHeader: several fields of one name where the first ones are empty");
  /* A client can send "X-E:" then "X-E: z". The joined value is every
   * value with ", " between them, and the size says exactly that; no byte
   * of it is left unwritten. (Found by fuzz_filter_headers.) */
  ih_hdr_block e;
  if (load_request(&e, "GET / HTTP/1.1\r\nHost: h\r\nX-E:\r\nX-E: z\r\nX-Two:\r\nx-two:\r\n\r\n")) {
    char value[16];
    memset(value, '#', sizeof value);
    uint32_t size = 0;
    IH_EQ_INT(ih_hdr_get(&e, "X-E:", NULL, &size), IH_HDR_INSUFFICIENT_BUFFER);
    IH_EQ_INT(size, 4);
    size = sizeof value;
    IH_EQ_INT(ih_hdr_get(&e, "X-E:", value, &size), IH_HDR_OK);
    IH_EQ_MEM(value, size, ", z", 4);
    size = sizeof value;
    IH_EQ_INT(ih_hdr_get(&e, "X-Two:", value, &size), IH_HDR_OK);
    IH_EQ_MEM(value, size, ", ", 3);
    ih_hdr_free(&e);
  }

  IH_TEST("GetHeader: a name without its colon is refused (ERROR_INVALID_PARAMETER)");
  IH_EQ_INT(get_status(&b, "Host"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(get_status(&b, "host"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(get_status(&b, ""), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(get_status(&b, ":"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(get_status(&b, "Ho st:"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(get_status(&b, "Host::"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(get_status(&b, "Host :"), IH_HDR_INVALID_PARAMETER);
  /* "status" is the response's special value; a request has none */
  IH_EQ_INT(get_status(&b, "status"), IH_HDR_INVALID_PARAMETER);
  /* "method:" is a header named Method, not the request line's method */
  IH_EQ_INT(get_status(&b, "method:"), IH_HDR_INVALID_INDEX);

  IH_TEST("GetHeader: an unknown header is INVALID_INDEX");
  IH_EQ_INT(get_status(&b, "Missing:"), IH_HDR_INVALID_INDEX);
  IH_EQ_INT(get_status(&b, "Hos:"), IH_HDR_INVALID_INDEX);
  IH_EQ_INT(get_status(&b, "Hostx:"), IH_HDR_INVALID_INDEX);

  IH_TEST("GetHeader: NULL arguments are refused without writing");
  char buf[16];
  memset(buf, '#', sizeof buf);
  uint32_t size = sizeof buf;
  IH_EQ_INT(ih_hdr_get(&b, NULL, buf, &size), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(size, sizeof buf);
  IH_EQ_INT(ih_hdr_get(&b, "Host:", buf, NULL), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_get(NULL, "Host:", buf, &size), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(size, sizeof buf);
  IH_EQ_MEM(buf, 16, "################", 16);
  ih_hdr_free(&b);
}

static void test_get_sizes(void)
{
  IH_TEST("GetHeader: size counts the NUL; a short buffer is never written");
  ih_hdr_block b;
  if (!load_request(&b, request_text))
    return;
  const char *want = "www.example.com";
  uint32_t need = (uint32_t)strlen(want) + 1;

  /* NULL buffer: a size query */
  uint32_t size = 0;
  IH_EQ_INT(ih_hdr_get(&b, "Host:", NULL, &size), IH_HDR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, need);
  size = 1000; /* a NULL buffer with a large size is still a query */
  IH_EQ_INT(ih_hdr_get(&b, "Host:", NULL, &size), IH_HDR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, need);

  /* one byte short (no room for the NUL): nothing written, size needed back */
  char buf[64];
  memset(buf, '#', sizeof buf);
  size = need - 1;
  IH_EQ_INT(ih_hdr_get(&b, "Host:", buf, &size), IH_HDR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, need);
  for (size_t i = 0; i < sizeof buf; i++)
    if (!IH_CHECK(buf[i] == '#'))
      break;
  size = 0;
  IH_EQ_INT(ih_hdr_get(&b, "Host:", buf, &size), IH_HDR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, need);
  IH_CHECK(buf[0] == '#');

  /* exactly enough: value and NUL, nothing past them */
  size = need;
  IH_EQ_INT(ih_hdr_get(&b, "Host:", buf, &size), IH_HDR_OK);
  IH_EQ_INT(size, need);
  IH_EQ_MEM(buf, need, "www.example.com", need); /* includes the NUL */
  IH_CHECK(buf[need] == '#');

  /* more than enough: size becomes the bytes written */
  size = sizeof buf;
  IH_EQ_INT(ih_hdr_get(&b, "Host:", buf, &size), IH_HDR_OK);
  IH_EQ_INT(size, need);

  /* a joined value: "a, b" and its NUL */
  size = 0;
  IH_EQ_INT(ih_hdr_get(&b, "X-Multi:", NULL, &size), IH_HDR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, 5);
  memset(buf, '#', sizeof buf);
  size = 4;
  IH_EQ_INT(ih_hdr_get(&b, "X-Multi:", buf, &size), IH_HDR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, 5);
  IH_CHECK(buf[0] == '#');

  /* an empty value needs one byte */
  size = 0;
  IH_EQ_INT(ih_hdr_get(&b, "X-Empty:", NULL, &size), IH_HDR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, 1);

  /* special values follow the same contract */
  size = 0;
  IH_EQ_INT(ih_hdr_get(&b, "url", NULL, &size), IH_HDR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, strlen("/a/b?x=1") + 1);
  size = 3;
  memset(buf, '#', sizeof buf);
  IH_EQ_INT(ih_hdr_get(&b, "method", buf, &size), IH_HDR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, 4);
  IH_CHECK(buf[0] == '#');
  size = 4;
  IH_EQ_INT(ih_hdr_get(&b, "method", buf, &size), IH_HDR_OK);
  IH_EQ_STR(buf, "GET");
  ih_hdr_free(&b);
}

static void test_set_add(void)
{
  IH_TEST("SetHeader replaces every field of the name; \"\" deletes (ms525099)");
  ih_hdr_block b;
  if (!load_request(&b, request_text))
    return;
  IH_EQ_INT(ih_hdr_set(&b, "x-multi:", "c"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "X-Multi:"), "c");
  IH_EQ_INT(b.count, 4);
  IH_CHECK(b.changed);
  IH_CHECK(bytes_consistent(&b));
  IH_EQ_INT(ih_hdr_set(&b, "ACCEPT:", ""), IH_HDR_OK);
  IH_EQ_INT(get_status(&b, "Accept:"), IH_HDR_INVALID_INDEX);
  IH_EQ_INT(b.count, 3);
  IH_CHECK(bytes_consistent(&b));
  /* deleting what is not there succeeds and leaves the fields alone */
  IH_EQ_INT(ih_hdr_set(&b, "Not-There:", ""), IH_HDR_OK);
  IH_EQ_INT(b.count, 3);
  IH_EQ_INT(get_status(&b, "Not-There:"), IH_HDR_INVALID_INDEX);
  /* a new name is added */
  IH_EQ_INT(ih_hdr_set(&b, "X-New:", "v"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "x-new:"), "v");
  IH_EQ_INT(b.count, 4);

  IH_TEST("AddHeader adds a field even when the name is there (ms525116)");
  IH_EQ_INT(ih_hdr_add(&b, "X-New:", "w"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "X-New:"), "v, w");
  IH_EQ_INT(b.count, 5);
  IH_EQ_INT(ih_hdr_add(&b, "Host:", "other.example"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "Host:"), "www.example.com, other.example");
  IH_EQ_INT(ih_hdr_add(&b, "X-Blank:", ""), IH_HDR_OK); /* an empty field is a field */
  IH_EQ_STR(GET(&b, "X-Blank:"), "");
  IH_CHECK(bytes_consistent(&b));
  /* SetHeader of a duplicated name leaves exactly one */
  IH_EQ_INT(ih_hdr_set(&b, "host:", "only.example"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "Host:"), "only.example");
  size_t hosts = 0;
  for (size_t i = 0; i < b.count; i++)
    hosts += strcmp(b.fields[i].name, "Host") == 0 || strcmp(b.fields[i].name, "host") == 0;
  IH_EQ_INT(hosts, 1);
  /* a value with HTAB and obs-text is a valid field value */
  IH_EQ_INT(ih_hdr_set(&b, "X-Tab:", "a\tb \xC3\xA9"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "X-Tab:"), "a\tb \xC3\xA9");
  ih_hdr_free(&b);

  IH_TEST("special values: changed, never removed, validated");
  if (!load_request(&b, request_text))
    return;
  IH_EQ_INT(ih_hdr_set(&b, "method", "POST"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "method"), "POST");
  IH_CHECK(b.changed);
  IH_EQ_INT(ih_hdr_set(&b, "method", ""), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_set(&b, "method", "GE T"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_set(&b, "method", "GET/"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_STR(GET(&b, "method"), "POST");
  IH_EQ_INT(ih_hdr_set(&b, "URL", "/rewritten/path?q=%20"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "url"), "/rewritten/path?q=%20");
  IH_EQ_INT(ih_hdr_set(&b, "url", ""), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_set(&b, "url", "/with space"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_set(&b, "url", "/caf\xC3\xA9"), IH_HDR_INVALID_PARAMETER); /* must be percent-encoded */
  IH_EQ_STR(GET(&b, "url"), "/rewritten/path?q=%20");
  IH_EQ_INT(ih_hdr_set(&b, "version", "HTTP/1.0"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "version"), "HTTP/1.0");
  IH_EQ_INT(ih_hdr_set(&b, "version", "HTTP/2.0"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_set(&b, "version", "http/1.1"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_set(&b, "version", ""), IH_HDR_INVALID_PARAMETER);
  IH_EQ_STR(GET(&b, "version"), "HTTP/1.0");
  /* AddHeader of a special value sets it: a request line has one of each */
  IH_EQ_INT(ih_hdr_add(&b, "url", "/added"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "url"), "/added");
  IH_EQ_INT(ih_hdr_add(&b, "method", "PUT"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "method"), "PUT");
  IH_EQ_INT(b.count, 5); /* no field was made of them */
  ih_hdr_free(&b);

  IH_TEST("SetHeader / AddHeader: names without a colon and NULL arguments are refused");
  if (!load_request(&b, request_text))
    return;
  IH_EQ_INT(ih_hdr_set(&b, "Host", "x"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_add(&b, "Host", "x"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_add(&b, ":", "x"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_add(&b, "", "x"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_add(&b, "Bad Name:", "x"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_add(&b, "status", "200 OK"), IH_HDR_INVALID_PARAMETER); /* not a request value */
  IH_EQ_INT(ih_hdr_set(&b, NULL, "x"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_add(&b, NULL, "x"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_set(&b, "Host:", NULL), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_add(&b, "Host:", NULL), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_set(NULL, "Host:", "x"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_add(NULL, "Host:", "x"), IH_HDR_INVALID_PARAMETER);
  /* refused calls change nothing, not even the flag */
  IH_CHECK(!b.changed);
  IH_EQ_INT(b.count, 5);
  IH_EQ_STR(GET(&b, "Host:"), "www.example.com");
  ih_hdr_free(&b);
}

static void test_no_smuggling(void)
{
  IH_TEST("CR, LF and control bytes in a value are refused (no header smuggling)");
  ih_hdr_block b;
  if (!load_request(&b, request_text))
    return;
  static const char *const bad_values[] = {
    "v\r\nEvil: 1", "v\nEvil: 1", "v\rEvil: 1", "\r\n", "v\r\n\r\nGET /smuggled HTTP/1.1",
    "a\x01", "a\x7f", "\x1b[0m", "a\x0b", "a\x0c",
  };
  for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
    IH_EQ_INT(ih_hdr_set(&b, "X-A:", bad_values[i]), IH_HDR_INVALID_PARAMETER);
    IH_EQ_INT(ih_hdr_add(&b, "X-A:", bad_values[i]), IH_HDR_INVALID_PARAMETER);
    IH_EQ_INT(ih_hdr_set(&b, "Host:", bad_values[i]), IH_HDR_INVALID_PARAMETER);
  }
  /* the special values too: a request line cannot be split either */
  IH_EQ_INT(ih_hdr_set(&b, "url", "/a HTTP/1.1\r\nEvil: 1\r\n\r\nGET /b"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_set(&b, "method", "GET\r\n"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_set(&b, "version", "HTTP/1.1\r\nEvil: 1"), IH_HDR_INVALID_PARAMETER);
  /* and names */
  IH_EQ_INT(ih_hdr_add(&b, "Evil: 1\r\nX:", "v"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_add(&b, "X\n:", "v"), IH_HDR_INVALID_PARAMETER);
  /* a NUL ends a C string: nothing after it can reach the head */
  IH_EQ_INT(ih_hdr_set(&b, "X-Nul:", "a\0Evil: 1"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "X-Nul:"), "a");
  IH_EQ_STR(GET(&b, "Host:"), "www.example.com");
  IH_EQ_INT(get_status(&b, "X-A:"), IH_HDR_INVALID_INDEX);
  char *text = serialize(&b, NULL);
  if (text) {
    IH_CHECK(strstr(text, "Evil") == NULL);
    IH_CHECK(strstr(text, "smuggled") == NULL);
    free(text);
  }
  ih_hdr_free(&b);

  IH_TEST("response: CR or LF in a value or status is refused (no response splitting)");
  if (!load_response(&b, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", false))
    return;
  IH_EQ_INT(ih_hdr_set(&b, "Location:", "/x\r\nSet-Cookie: evil=1"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_add(&b, "Location:", "/x\nSet-Cookie: evil=1"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(ih_hdr_set(&b, "status", "302 Found\r\nSet-Cookie: evil=1"), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(b.status, 200);
  IH_CHECK(!b.changed);
  text = serialize(&b, NULL);
  if (text) {
    IH_EQ_STR(text, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n");
    free(text);
  }
  ih_hdr_free(&b);
}

static void test_round_trip(void)
{
  IH_TEST("serialize: an unchanged request parses to the same head");
  ih_hdr_block b;
  if (!load_request(&b, request_text))
    return;
  size_t len;
  char *text = serialize(&b, &len);
  if (text) {
    IH_EQ_STR(text, "GET /a/b?x=1 HTTP/1.1\r\n"
                    "Host: www.example.com\r\n"
                    "Accept: */*\r\n"
                    "X-Multi: a\r\n"
                    "x-multi: b\r\n"
                    "X-Empty: \r\n"
                    "\r\n");
    free(text);
  }
  ih_hdr_free(&b);

  IH_TEST("serialize: a changed request parses again and shows the changes");
  if (!load_request(&b, request_text))
    return;
  IH_EQ_INT(ih_hdr_set(&b, "method", "POST"), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_set(&b, "url", "/rewritten?q=1"), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_set(&b, "version", "HTTP/1.0"), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_set(&b, "Host:", "rewritten.example"), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_set(&b, "Accept:", ""), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_add(&b, "X-Filter:", "one"), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_add(&b, "X-Filter:", "two"), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_set(&b, "X-Padded:", "  inner  "), IH_HDR_OK);
  text = serialize(&b, &len);
  if (text) {
    ih_http_request_head *again = calloc(1, sizeof *again);
    IH_EQ_INT(ih_http_parse_request(text, len, 0, NULL, again), IH_PARSE_DONE);
    IH_EQ_INT(again->head_len, len);
    IH_CHECK(ih_slice_eq(again->method, IH_SLICE_LIT("POST")));
    IH_CHECK(ih_slice_eq(again->target, IH_SLICE_LIT("/rewritten?q=1")));
    IH_EQ_INT(again->version, IH_HTTP_10);
    IH_EQ_INT(again->header_count, b.count);
    IH_EQ_STR(find_value(again, "Host"), "rewritten.example");
    IH_EQ_INT(count_named(again, "Host"), 1);
    IH_EQ_STR(find_value(again, "Accept"), "<none>");
    IH_EQ_INT(count_named(again, "X-Filter"), 2);
    IH_EQ_INT(count_named(again, "X-Multi"), 2);
    IH_EQ_STR(find_value(again, "X-Padded"), "inner"); /* OWS is not part of a value */
    /* and a block loaded from it serialises to the same text */
    ih_hdr_block b2;
    IH_EQ_INT(ih_hdr_load_request(&b2, again), IH_HDR_OK);
    IH_EQ_STR(GET(&b2, "X-Filter:"), "one, two");
    size_t len2;
    char *text2 = serialize(&b2, &len2);
    if (text2) {
      /* identical except the padding the parser trimmed */
      IH_CHECK(strstr(text, "X-Padded:   inner  \r\n") != NULL);
      IH_CHECK(strstr(text2, "X-Padded: inner\r\n") != NULL);
      IH_EQ_INT(len2, len - 4);
      free(text2);
    }
    ih_hdr_free(&b2);
    free(again);
    free(text);
  }
  ih_hdr_free(&b);
}

static void test_response(void)
{
  static const char head[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: text/html\r\n"
                             "Content-Length: 5\r\n"
                             "Set-Cookie: a=1\r\n"
                             "Set-Cookie: b=2\r\n";
  char with_blank[sizeof head + 2];
  snprintf(with_blank, sizeof with_blank, "%s\r\n", head);
  const char *variants[] = { head, with_blank };
  for (size_t v = 0; v < 2; v++) {
    IH_TEST(v == 0 ? "load response: head without the final empty line"
                   : "load response: head with the final empty line");
    ih_hdr_block b;
    if (!load_response(&b, variants[v], false))
      continue;
    IH_CHECK(b.response);
    IH_CHECK(!b.http09);
    IH_CHECK(!b.changed);
    IH_EQ_INT(b.status, 200);
    IH_EQ_STR(b.reason, "OK");
    IH_EQ_INT(b.count, 4);
    IH_CHECK(bytes_consistent(&b));
    IH_EQ_STR(GET(&b, "status"), "200 OK");
    IH_EQ_STR(GET(&b, "STATUS"), "200 OK");
    IH_EQ_STR(GET(&b, "content-type:"), "text/html");
    IH_EQ_STR(GET(&b, "Content-Length:"), "5");
    IH_EQ_STR(GET(&b, "Set-Cookie:"), "a=1, b=2");
    /* the request's special values are not a response's */
    IH_EQ_INT(get_status(&b, "method"), IH_HDR_INVALID_PARAMETER);
    IH_EQ_INT(get_status(&b, "url"), IH_HDR_INVALID_PARAMETER);
    IH_EQ_INT(ih_hdr_set(&b, "url", "/x"), IH_HDR_INVALID_PARAMETER);
    IH_EQ_INT(get_status(&b, "Location:"), IH_HDR_INVALID_INDEX);
    size_t len;
    char *text = serialize(&b, &len);
    if (text) {
      IH_EQ_STR(text, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n"
                      "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n");
      free(text);
    }
    ih_hdr_free(&b);
  }

  IH_TEST("load response: bare LF lines, a body after the empty line, a status of the table");
  ih_hdr_block b;
  if (load_response(&b, "HTTP/1.1 404 Not Found\nX-A: 1\n\nX-Body: not a header\n", false)) {
    IH_EQ_INT(b.status, 404);
    IH_EQ_STR(GET(&b, "status"), "404 Not Found");
    IH_EQ_STR(GET(&b, "X-A:"), "1");
    IH_EQ_INT(get_status(&b, "X-Body:"), IH_HDR_INVALID_INDEX);
    IH_EQ_INT(b.count, 1);
    ih_hdr_free(&b);
  }
  /* a status line with its reason left out gets the RFC 9110 one */
  if (load_response(&b, "HTTP/1.1 304\r\nETag: \"x\"\r\n", false)) {
    IH_EQ_INT(b.status, 304);
    IH_EQ_STR(GET(&b, "status"), "304 Not Modified");
    IH_EQ_STR(GET(&b, "ETag:"), "\"x\"");
    ih_hdr_free(&b);
  }
  /* field values lose the whitespace around them */
  if (load_response(&b, "HTTP/1.1 200 OK\r\nX-Pad:   v  \r\n", false)) {
    IH_EQ_STR(GET(&b, "X-Pad:"), "v");
    ih_hdr_free(&b);
  }
  /* line ends as header_lines.h reads them everywhere: every CR before the
   * LF belongs to it, so "\r\r\n" ends a field line and a head alike (the
   * loader alone used to strip one CR, dropping the field and reading past
   * the empty line) */
  if (load_response(&b, "HTTP/1.1 200 OK\r\r\nX-Two-CRs: v\r\r\n\r\r\nX-Body: not a header\r\n", false)) {
    IH_EQ_STR(GET(&b, "X-Two-CRs:"), "v");
    IH_EQ_INT(get_status(&b, "X-Body:"), IH_HDR_INVALID_INDEX);
    IH_EQ_INT(b.count, 1);
    ih_hdr_free(&b);
  }
  /* empty text: a 200 OK without fields */
  if (load_response(&b, "", false)) {
    IH_EQ_INT(b.status, 200);
    IH_EQ_STR(GET(&b, "status"), "200 OK");
    IH_EQ_INT(b.count, 0);
    size_t len;
    char *text = serialize(&b, &len);
    if (text) {
      IH_EQ_STR(text, "HTTP/1.1 200 OK\r\n\r\n");
      free(text);
    }
    ih_hdr_free(&b);
  }

  IH_TEST("response \"status\": set and add change the whole status line");
  if (!load_response(&b, with_blank, false))
    return;
  IH_EQ_INT(ih_hdr_set(&b, "status", "302 Found"), IH_HDR_OK);
  IH_EQ_INT(b.status, 302);
  IH_EQ_STR(b.reason, "Found");
  IH_EQ_STR(GET(&b, "status"), "302 Found");
  IH_CHECK(b.changed);
  IH_EQ_INT(b.count, 4); /* a special value is never a field */
  /* a bare code gets its reason phrase (lenient, as for extensions) */
  IH_EQ_INT(ih_hdr_set(&b, "status", "301"), IH_HDR_OK);
  IH_EQ_INT(b.status, 301);
  IH_EQ_STR(GET(&b, "status"), "301 Moved Permanently");
  IH_EQ_INT(ih_hdr_set(&b, "Status", "HTTP/1.1 404"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "status"), "404 Not Found");
  IH_EQ_INT(ih_hdr_set(&b, "status", "401 Access Denied"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "status"), "401 Access Denied");
  IH_EQ_INT(ih_hdr_add(&b, "status", "500 Filter Says No"), IH_HDR_OK);
  IH_EQ_INT(b.status, 500);
  IH_EQ_STR(GET(&b, "status"), "500 Filter Says No");
  /* no valid code: refused, the status stays */
  static const char *const bad_status[] = { "abc", "99", "1000", "0200 OK", "200OK", "OK 200", "-200" };
  for (size_t i = 0; i < sizeof bad_status / sizeof bad_status[0]; i++)
    IH_EQ_INT(ih_hdr_set(&b, "status", bad_status[i]), IH_HDR_INVALID_PARAMETER);
  IH_EQ_INT(b.status, 500);
  IH_EQ_STR(GET(&b, "status"), "500 Filter Says No");
  /* the status line of the serialised head */
  IH_EQ_INT(ih_hdr_set(&b, "status", "302 Found"), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_set(&b, "Location:", "http://example.com/next"), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_set(&b, "Set-Cookie:", ""), IH_HDR_OK);
  size_t len;
  char *text = serialize(&b, &len);
  if (text) {
    IH_EQ_STR(text, "HTTP/1.1 302 Found\r\nContent-Type: text/html\r\nContent-Length: 5\r\n"
                    "Location: http://example.com/next\r\n\r\n");
    free(text);
  }
  ih_hdr_free(&b);
}

static void test_http09_response(void)
{
  IH_TEST("HTTP/0.9 response object: valid, empty, never written (KB Q323064)");
  ih_hdr_block b;
  if (!load_response(&b, "", true))
    return;
  IH_CHECK(b.response);
  IH_CHECK(b.http09);
  IH_EQ_INT(get_status(&b, "Content-Type:"), IH_HDR_INVALID_INDEX);
  IH_EQ_INT(get_status(&b, "Host:"), IH_HDR_INVALID_INDEX);
  IH_EQ_INT(get_status(&b, "Content-Length:"), IH_HDR_INVALID_INDEX);
  /* "status" works: the log keeps it though nothing reaches the wire */
  IH_EQ_STR(GET(&b, "status"), "200 OK");
  IH_EQ_INT(ih_hdr_set(&b, "status", "404"), IH_HDR_OK);
  IH_EQ_INT(b.status, 404);
  IH_EQ_STR(GET(&b, "status"), "404 Not Found");
  /* a filter written for HTTP/1.x does not fail on a 0.9 response */
  IH_EQ_INT(ih_hdr_set(&b, "X-Set:", "1"), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_add(&b, "X-Added:", "2"), IH_HDR_OK);
  IH_EQ_INT(ih_hdr_set(&b, "Content-Type:", ""), IH_HDR_OK);
  IH_CHECK(b.changed);
  IH_CHECK(bytes_consistent(&b));
  /* ... and none of it is ever serialised */
  IH_EQ_INT(ih_hdr_serialize(&b, NULL, 0), 0);
  char buf[32];
  memset(buf, '#', sizeof buf);
  IH_EQ_INT(ih_hdr_serialize(&b, buf, sizeof buf), 0);
  IH_EQ_MEM(buf, 4, "####", 4);
  ih_hdr_free(&b);
}

static void test_bytes_max(void)
{
  IH_TEST("IH_HDR_BYTES_MAX: many AddHeader calls end in NO_MEMORY, consistently (KB Q266356)");
  ih_hdr_block b;
  if (!load_request(&b, request_text))
    return;
  size_t loaded_count = b.count, loaded_bytes = b.bytes;
  enum { VALUE_LEN = 4000 }; /* few enough fields to stay under IH_HTTP_MAX_HEADERS */
  char *value = malloc(VALUE_LEN + 1);
  memset(value, 'v', VALUE_LEN);
  value[VALUE_LEN] = '\0';
  size_t added = 0, attempts = 0;
  enum ih_hdr_status st = IH_HDR_OK;
  while (attempts++ < IH_HDR_BYTES_MAX / VALUE_LEN + 10) {
    st = ih_hdr_add(&b, "X-Fill:", value);
    if (st != IH_HDR_OK)
      break;
    added++;
  }
  IH_EQ_INT(st, IH_HDR_NO_MEMORY);
  /* every successful call is one more field of "X-Fill" + VALUE_LEN bytes */
  IH_EQ_INT(added, (IH_HDR_BYTES_MAX - loaded_bytes) / (VALUE_LEN + 6));
  IH_EQ_INT(b.count, loaded_count + added);
  IH_EQ_INT(b.bytes, loaded_bytes + added * (VALUE_LEN + 6));
  IH_CHECK(b.bytes + VALUE_LEN + 6 > IH_HDR_BYTES_MAX);
  IH_CHECK(bytes_consistent(&b));
  /* the block still answers, and its joined value has every field */
  uint32_t size = 0;
  IH_EQ_INT(ih_hdr_get(&b, "X-Fill:", NULL, &size), IH_HDR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, added * VALUE_LEN + (added - 1) * 2 + 1);
  IH_EQ_STR(GET(&b, "Host:"), "www.example.com");
  size_t len = ih_hdr_serialize(&b, NULL, 0);
  IH_CHECK(len > b.bytes);
  /* SetHeader with a value that does not fit is refused the same way */
  IH_EQ_INT(ih_hdr_set(&b, "X-Other:", value), IH_HDR_NO_MEMORY);
  IH_EQ_INT(get_status(&b, "X-Other:"), IH_HDR_INVALID_INDEX);
  IH_CHECK(bytes_consistent(&b));

  IH_TEST("IH_HDR_BYTES_MAX: the exact boundary");
  size_t room = IH_HDR_BYTES_MAX - b.bytes; /* "Y" + a value of room - 1 fills it */
  char *exact = malloc(room);
  memset(exact, 'e', room - 1);
  exact[room - 1] = '\0';
  IH_EQ_INT(ih_hdr_add(&b, "Y:", exact), IH_HDR_OK);
  IH_EQ_INT(b.bytes, IH_HDR_BYTES_MAX);
  IH_EQ_INT(ih_hdr_add(&b, "Z:", ""), IH_HDR_NO_MEMORY); /* one more byte is too many */
  IH_EQ_INT(get_status(&b, "Z:"), IH_HDR_INVALID_INDEX);
  IH_CHECK(bytes_consistent(&b));
  free(exact);

  IH_TEST("IH_HDR_BYTES_MAX: SetHeader frees the room its old fields took");
  IH_EQ_INT(ih_hdr_set(&b, "x-fill:", "small"), IH_HDR_OK);
  IH_EQ_STR(GET(&b, "X-Fill:"), "small");
  IH_EQ_INT(b.count, loaded_count + 2);
  IH_CHECK(bytes_consistent(&b));
  IH_EQ_INT(ih_hdr_set(&b, "Y:", ""), IH_HDR_OK);
  IH_EQ_INT(b.bytes, loaded_bytes + strlen("X-Fill") + strlen("small"));
  IH_EQ_INT(ih_hdr_add(&b, "X-Again:", value), IH_HDR_OK);
  IH_CHECK(bytes_consistent(&b));
  free(value);
  ih_hdr_free(&b);

  IH_TEST("a request block holds at most IH_HTTP_MAX_HEADERS fields: it is parsed again");
  if (!load_request(&b, request_text))
    return;
  while (b.count < IH_HTTP_MAX_HEADERS)
    if (!IH_EQ_INT(ih_hdr_add(&b, "X-Many:", "1"), IH_HDR_OK))
      break;
  IH_EQ_INT(ih_hdr_add(&b, "X-Many:", "1"), IH_HDR_NO_MEMORY);
  IH_EQ_INT(b.count, IH_HTTP_MAX_HEADERS);
  IH_EQ_INT(ih_hdr_set(&b, "X-Many:", "one"), IH_HDR_OK); /* a SetHeader that shrinks still works */
  IH_EQ_STR(GET(&b, "X-Many:"), "one");
  IH_CHECK(bytes_consistent(&b));
  ih_hdr_free(&b);

  IH_TEST("IH_HDR_BYTES_MAX: response objects have the same bound");
  if (!load_response(&b, "HTTP/1.1 200 OK\r\n", false))
    return;
  char *big = malloc(IH_HDR_BYTES_MAX + 1);
  memset(big, 'b', IH_HDR_BYTES_MAX);
  big[IH_HDR_BYTES_MAX] = '\0';
  IH_EQ_INT(ih_hdr_add(&b, "X:", big), IH_HDR_NO_MEMORY); /* name + value is one byte over */
  big[IH_HDR_BYTES_MAX - 1] = '\0';
  IH_EQ_INT(ih_hdr_add(&b, "X:", big), IH_HDR_OK);
  IH_EQ_INT(b.bytes, IH_HDR_BYTES_MAX);
  IH_EQ_INT(ih_hdr_set(&b, "status", "404"), IH_HDR_OK); /* the status line is not counted */
  IH_CHECK(bytes_consistent(&b));
  free(big);
  ih_hdr_free(&b);
}

static void test_large_body(void)
{
  IH_TEST("a large request body is not header storage (KB 819876)");
  /* a head followed, in the same buffer, by 1 MiB of body */
  static const char head[] = "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n";
  size_t head_len = sizeof head - 1, total = head_len + (1u << 20);
  char *buf = malloc(total);
  memcpy(buf, head, head_len);
  memset(buf + head_len, 'B', total - head_len);
  ih_hdr_block b;
  if (load_request_text(&b, buf, total)) {
    IH_EQ_INT(parsed.head_len, head_len);
    IH_EQ_INT(b.count, 2);
    IH_EQ_INT(b.bytes, strlen("Host") + strlen("h") + strlen("Content-Length") + strlen("1048576"));
    /* nearly the whole budget is still there for filters' headers */
    size_t room = IH_HDR_BYTES_MAX - b.bytes - strlen("X-Big");
    char *value = malloc(room + 1);
    memset(value, 'x', room);
    value[room] = '\0';
    IH_EQ_INT(ih_hdr_add(&b, "X-Big:", value), IH_HDR_OK);
    IH_EQ_INT(b.bytes, IH_HDR_BYTES_MAX);
    IH_CHECK(bytes_consistent(&b));
    free(value);
    ih_hdr_free(&b);
  }
  free(buf);
}

int main(void)
{
  test_load_request();
  test_get_names();
  test_get_sizes();
  test_set_add();
  test_no_smuggling();
  test_round_trip();
  test_response();
  test_http09_response();
  test_bytes_max();
  test_large_body();
  return ih_test_finish();
}
