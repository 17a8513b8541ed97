/* Unit tests for isapi/shared/isapi_vars.c: every server variable against a fixed
 * request, the GetServerVariable size contract (IIS 6 SDK ms525335: size
 * counts the NUL, a short buffer is never written, the required size comes
 * back), unknown and empty names, header lookups, UNICODE_ values and the
 * one-line guarantee. */
#include <stdio.h>
#include <string.h>

#include "ih_test.h"
#include "isapi/shared/isapi_vars.h"

#define S(lit) IH_SLICE_LIT(lit)

static ih_http_header fixture_headers[] = {
  { S("Host"), S("www.example.com:8080") },
  { S("User-Agent"), S("UA/1.0") },
  { S("Accept"), S("*/*") },
  { S("X-Multi"), S("a") },
  { S("x-multi"), S("b") },
  { S("Cookie"), S("a=1") },
  { S("Cookie"), S("b=2") },
  { S("X_Under"), S("u") },
  { S("Content-Type"), S("text/plain") },
  { S("Method"), S("not-the-method") },
};

static ih_isapi_request_info fixture(void)
{
  ih_isapi_request_info ri;
  memset(&ri, 0, sizeof ri);
  ri.method = S("POST");
  ri.raw_url = S("/scripts/app.dll/p%C3%A9?x=1&y=2");
  ri.url = S("/scripts/app.dll/p\xC3\xA9");
  ri.query = S("x=1&y=2");
  ri.version = IH_HTTP_11;
  ri.headers = fixture_headers;
  ri.header_count = sizeof fixture_headers / sizeof fixture_headers[0];
  ri.script_name = S("/scripts/app.dll");
  ri.path_info = S("/scripts/app.dll/p\xC3\xA9");
  ri.path_translated = S("C:\\site\\scripts\\app.dll\\p\xC3\xA9");
  ri.script_translated = S("C:\\site\\scripts\\app.dll");
  ri.content_type = (ih_slice){ NULL, 0 }; /* from the header */
  ri.content_length = 42;
  ri.remote_addr = S("192.0.2.7");
  ri.remote_port = 51234;
  ri.local_addr = S("198.51.100.1");
  ri.server_name = S("www.example.com"); /* from Host "www.example.com:8080" (isapi_request_info.c) */
  ri.server_port = 8080;
  ri.instance_id = 3;
  ri.app_vdir = S("/scripts/");
  ri.appl_physical_path = S("C:\\site\\scripts");
  return ri;
}

static const char all_http[] = "HTTP_HOST:www.example.com:8080\n"
                               "HTTP_USER_AGENT:UA/1.0\n"
                               "HTTP_ACCEPT:*/*\n"
                               "HTTP_X_MULTI:a, b\n"
                               "HTTP_COOKIE:a=1; b=2\n"
                               "HTTP_X_UNDER:u\n"
                               "HTTP_CONTENT_TYPE:text/plain\n"
                               "HTTP_METHOD:not-the-method\n";

static const char all_raw[] = "Host: www.example.com:8080\r\n"
                              "User-Agent: UA/1.0\r\n"
                              "Accept: */*\r\n"
                              "X-Multi: a\r\n"
                              "x-multi: b\r\n"
                              "Cookie: a=1\r\n"
                              "Cookie: b=2\r\n"
                              "X_Under: u\r\n"
                              "Content-Type: text/plain\r\n"
                              "Method: not-the-method\r\n";

typedef struct row {
  const char *name;
  enum ih_var_status status;
  const char *value; /* for IH_VAR_OK */
} row;

static const row rows[] = {
  { "ALL_HTTP", IH_VAR_OK, all_http },
  { "ALL_RAW", IH_VAR_OK, all_raw },
  { "APP_POOL_ID", IH_VAR_OK, "DefaultAppPool" },
  { "APPL_MD_PATH", IH_VAR_OK, "/LM/W3SVC/3/ROOT/scripts" },
  { "APPL_PHYSICAL_PATH", IH_VAR_OK, "C:\\site\\scripts\\" },
  { "AUTH_PASSWORD", IH_VAR_OK, "" },
  { "AUTH_TYPE", IH_VAR_OK, "" },
  { "AUTH_USER", IH_VAR_OK, "" },
  { "CACHE_URL", IH_VAR_NO_DATA, NULL },
  { "CERT_COOKIE", IH_VAR_NO_DATA, NULL },
  { "CERT_FLAGS", IH_VAR_NO_DATA, NULL },
  { "CERT_ISSUER", IH_VAR_NO_DATA, NULL },
  { "CERT_KEYSIZE", IH_VAR_NO_DATA, NULL },
  { "CERT_SECRETKEYSIZE", IH_VAR_NO_DATA, NULL },
  { "CERT_SERIALNUMBER", IH_VAR_NO_DATA, NULL },
  { "CERT_SERVER_ISSUER", IH_VAR_NO_DATA, NULL },
  { "CERT_SERVER_SUBJECT", IH_VAR_NO_DATA, NULL },
  { "CERT_SUBJECT", IH_VAR_NO_DATA, NULL },
  { "CONTENT_LENGTH", IH_VAR_OK, "42" },
  { "CONTENT_TYPE", IH_VAR_OK, "text/plain" },
  { "GATEWAY_INTERFACE", IH_VAR_OK, "CGI/1.1" },
  { "HTTP_METHOD", IH_VAR_OK, "POST" }, /* not the "Method" header */
  { "HTTP_URL", IH_VAR_OK, "/scripts/app.dll/p%C3%A9?x=1&y=2" },
  { "HTTP_VERSION", IH_VAR_OK, "HTTP/1.1" },
  { "HTTPS", IH_VAR_OK, "off" },
  { "HTTPS_KEYSIZE", IH_VAR_NO_DATA, NULL },
  { "HTTPS_SECRETKEYSIZE", IH_VAR_NO_DATA, NULL },
  { "HTTPS_SERVER_ISSUER", IH_VAR_NO_DATA, NULL },
  { "HTTPS_SERVER_SUBJECT", IH_VAR_NO_DATA, NULL },
  { "INSTANCE_ID", IH_VAR_OK, "3" },
  { "INSTANCE_META_PATH", IH_VAR_OK, "/LM/W3SVC/3" },
  { "LOCAL_ADDR", IH_VAR_OK, "198.51.100.1" },
  { "LOGON_USER", IH_VAR_OK, "" },
  { "PATH_INFO", IH_VAR_OK, "/scripts/app.dll/p\xC3\xA9" },
  { "PATH_TRANSLATED", IH_VAR_OK, "C:\\site\\scripts\\app.dll\\p\xC3\xA9" },
  { "QUERY_STRING", IH_VAR_OK, "x=1&y=2" },
  { "REMOTE_ADDR", IH_VAR_OK, "192.0.2.7" },
  { "REMOTE_HOST", IH_VAR_OK, "192.0.2.7" },
  { "REMOTE_PORT", IH_VAR_OK, "51234" },
  { "REMOTE_USER", IH_VAR_OK, "" },
  { "REQUEST_METHOD", IH_VAR_OK, "POST" },
  { "SCRIPT_NAME", IH_VAR_OK, "/scripts/app.dll" },
  { "SCRIPT_TRANSLATED", IH_VAR_OK, "\\\\?\\C:\\site\\scripts\\app.dll" },
  { "SERVER_NAME", IH_VAR_OK, "www.example.com" },
  { "SERVER_PORT", IH_VAR_OK, "8080" },
  { "SERVER_PORT_SECURE", IH_VAR_OK, "0" },
  { "SERVER_PROTOCOL", IH_VAR_OK, "HTTP/1.1" },
  { "SERVER_SOFTWARE", IH_VAR_OK, IH_SERVER_SOFTWARE },
  { "SSI_EXEC_DISABLED", IH_VAR_OK, "1" },
  { "UNENCODED_URL", IH_VAR_OK, "/scripts/app.dll/p%C3%A9?x=1&y=2" },
  { "UNMAPPED_REMOTE_USER", IH_VAR_OK, "" },
  { "URL", IH_VAR_OK, "/scripts/app.dll/p\xC3\xA9" },
  { "URL_PATH_INFO", IH_VAR_OK, "/scripts/app.dll/p\xC3\xA9" },
  /* headers */
  { "HTTP_HOST", IH_VAR_OK, "www.example.com:8080" },
  { "HTTP_USER_AGENT", IH_VAR_OK, "UA/1.0" },
  { "http_user_agent", IH_VAR_OK, "UA/1.0" },
  { "HTTP_USER-AGENT", IH_VAR_OK, "UA/1.0" },
  { "HTTP_X_MULTI", IH_VAR_OK, "a, b" },
  { "HTTP_COOKIE", IH_VAR_OK, "a=1; b=2" },
  { "HTTP_X_UNDER", IH_VAR_INVALID_INDEX, NULL }, /* '_' stands for '-' only: not sent as X-Under */
  { "HEADER_X_Under", IH_VAR_OK, "u" },
  { "HEADER_x_under", IH_VAR_OK, "u" },
  { "HEADER_User-Agent", IH_VAR_OK, "UA/1.0" },
  { "HEADER_User_Agent", IH_VAR_INVALID_INDEX, NULL }, /* no translation in HEADER_ */
  { "HEADER_X-Multi", IH_VAR_OK, "a, b" },
  /* a header the request does not carry is ERROR_INVALID_INDEX, not
   * ERROR_NO_DATA: DLLs take 1413 to mean "not sent" and fail on 232 */
  { "HTTP_X_MISSING", IH_VAR_INVALID_INDEX, NULL },
  { "HTTP_CONNECTION", IH_VAR_INVALID_INDEX, NULL },
  { "HEADER_X-Not-Sent", IH_VAR_INVALID_INDEX, NULL },
  { "HEADER_Connection", IH_VAR_INVALID_INDEX, NULL },
  { "UNICODE_HTTP_X_NOT_SENT", IH_VAR_INVALID_INDEX, NULL },
  { "UNICODE_HEADER_X-Not-Sent", IH_VAR_INVALID_INDEX, NULL },
  { "HTTP_CONTENT_TYPE", IH_VAR_OK, "text/plain" },
  /* names */
  { "url", IH_VAR_OK, "/scripts/app.dll/p\xC3\xA9" },
  { "Server_Port", IH_VAR_OK, "8080" },
  { "NO_SUCH_VAR", IH_VAR_INVALID_INDEX, NULL },
  { "", IH_VAR_INVALID_INDEX, NULL },
  { "HTTP_", IH_VAR_INVALID_INDEX, NULL },
  { "HEADER_", IH_VAR_INVALID_INDEX, NULL },
  { "UNICODE_", IH_VAR_INVALID_INDEX, NULL },
  { "UNICODE_NO_SUCH_VAR", IH_VAR_INVALID_INDEX, NULL },
  { "UNICODE_UNICODE_URL", IH_VAR_INVALID_INDEX, NULL },
  { "URL ", IH_VAR_INVALID_INDEX, NULL },
  { "DOCUMENT_ROOT", IH_VAR_INVALID_INDEX, NULL }, /* IIS 7+ */
  { "SERVER_ADDR", IH_VAR_INVALID_INDEX, NULL },   /* Apache / IIS 7+ */
  { "UNICODE_CERT_FLAGS", IH_VAR_NO_DATA, NULL },
  { "UNICODE_HTTP_X_MISSING", IH_VAR_INVALID_INDEX, NULL },
};

static bool is_ascii(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s >= 0x80)
      return false;
  return true;
}

/* Checks one narrow row: status, value, and the size contract. */
static void check_row(const ih_isapi_request_info *ri, const row *r)
{
  unsigned char buf[1024];
  uint32_t size = 7777;
  memset(buf, 0xAA, sizeof buf);
  enum ih_var_status st = ih_isapi_get_var(ri, r->name, NULL, &size);
  if (r->status != IH_VAR_OK) {
    if (!IH_EQ_INT(st, r->status))
      ih_test_note("variable %s", r->name);
    IH_EQ_INT(size, 7777); /* unchanged */
    size = sizeof buf;
    IH_EQ_INT(ih_isapi_get_var(ri, r->name, buf, &size), r->status);
    IH_EQ_INT(size, sizeof buf);
    IH_EQ_INT(buf[0], 0xAA);
    return;
  }
  size_t want = strlen(r->value) + 1;
  if (!IH_EQ_INT(st, IH_VAR_INSUFFICIENT_BUFFER) || !IH_EQ_INT(size, want))
    ih_test_note("variable %s", r->name);

  /* one byte short: nothing written, required size back */
  size = (uint32_t)want - 1;
  IH_EQ_INT(ih_isapi_get_var(ri, r->name, buf, &size), IH_VAR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, want);
  for (size_t i = 0; i < sizeof buf; i++)
    if (buf[i] != 0xAA) {
      IH_CHECK(!"short buffer was written");
      ih_test_note("variable %s, byte %zu", r->name, i);
      break;
    }

  /* exact size */
  size = (uint32_t)want;
  IH_EQ_INT(ih_isapi_get_var(ri, r->name, buf, &size), IH_VAR_OK);
  IH_EQ_INT(size, want);
  if (!IH_EQ_MEM(buf, size, r->value, want))
    ih_test_note("variable %s", r->name);
  IH_EQ_INT(buf[want], 0xAA); /* nothing past the NUL */

  /* roomy buffer: same answer */
  size = sizeof buf;
  IH_EQ_INT(ih_isapi_get_var(ri, r->name, buf, &size), IH_VAR_OK);
  IH_EQ_INT(size, want);

  /* the UNICODE_ twin of an ASCII value: each byte widened, 2-byte NUL */
  if (!is_ascii(r->value) || strncmp(r->name, "UNICODE_", 8) == 0)
    return;
  char uname[96];
  snprintf(uname, sizeof uname, "UNICODE_%s", r->name);
  unsigned char wide[2048];
  size_t wlen = 2 * want;
  for (size_t i = 0; i < want; i++) {
    wide[2 * i] = (unsigned char)r->value[i];
    wide[2 * i + 1] = 0;
  }
  size = 0;
  IH_EQ_INT(ih_isapi_get_var(ri, uname, buf, &size), IH_VAR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, wlen);
  size = (uint32_t)wlen - 1; /* odd and one short */
  memset(buf, 0xAA, sizeof buf);
  IH_EQ_INT(ih_isapi_get_var(ri, uname, buf, &size), IH_VAR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, wlen);
  IH_EQ_INT(buf[0], 0xAA);
  size = (uint32_t)wlen;
  IH_EQ_INT(ih_isapi_get_var(ri, uname, buf, &size), IH_VAR_OK);
  IH_EQ_INT(size, wlen);
  if (!IH_EQ_MEM(buf, size, wide, wlen))
    ih_test_note("variable %s", uname);
}

static void test_table(void)
{
  IH_TEST("every variable, narrow and UNICODE_, with the size contract");
  ih_isapi_request_info ri = fixture();
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    check_row(&ri, &rows[i]);
}

static enum ih_var_status get(const ih_isapi_request_info *ri, const char *name, char *out, size_t cap)
{
  uint32_t size = (uint32_t)cap;
  enum ih_var_status st = ih_isapi_get_var(ri, name, out, &size);
  if (st != IH_VAR_OK && cap)
    out[0] = '\0';
  return st;
}

static void test_bad_arguments(void)
{
  IH_TEST("NULL arguments");
  ih_isapi_request_info ri = fixture();
  char buf[16];
  uint32_t size = sizeof buf;
  IH_EQ_INT(ih_isapi_get_var(&ri, NULL, buf, &size), IH_VAR_INVALID_INDEX);
  IH_EQ_INT(ih_isapi_get_var(NULL, "URL", buf, &size), IH_VAR_INVALID_INDEX);
  IH_EQ_INT(ih_isapi_get_var(&ri, "URL", buf, NULL), IH_VAR_INVALID_INDEX);
  IH_EQ_INT(size, sizeof buf);

  IH_TEST("empty value still costs its NUL");
  size = 0;
  IH_EQ_INT(ih_isapi_get_var(&ri, "AUTH_TYPE", NULL, &size), IH_VAR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, 1);
  size = 0;
  IH_EQ_INT(ih_isapi_get_var(&ri, "UNICODE_AUTH_TYPE", NULL, &size), IH_VAR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, 2);
  size = 5;
  buf[0] = 'x';
  IH_EQ_INT(ih_isapi_get_var(&ri, "AUTH_TYPE", NULL, &size), IH_VAR_INSUFFICIENT_BUFFER); /* NULL buffer */
  IH_EQ_INT(size, 1);
}

static void test_unicode(void)
{
  IH_TEST("UNICODE_: UTF-8 decoded, stray bytes as Latin-1, surrogate pairs");
  ih_isapi_request_info ri = fixture();
  unsigned char buf[256];
  uint32_t size = sizeof buf;
  IH_EQ_INT(ih_isapi_get_var(&ri, "UNICODE_URL", buf, &size), IH_VAR_OK);
  /* "/scripts/app.dll/p" is 18 units, then U+00E9, then NUL: 20 units */
  IH_EQ_INT(size, 40);
  IH_EQ_MEM(buf + 36, 4, "\xE9\x00\x00\x00", 4);
  IH_EQ_MEM(buf, 4, "/\0s\0", 4);

  ih_http_header h[] = {
    { S("X-Bytes"), S("\xFF" "a\xC3(\xF0\x9F\x98\x80" "b\xED\xA0\x80") },
  };
  ri.headers = h;
  ri.header_count = 1;
  size = sizeof buf;
  IH_EQ_INT(ih_isapi_get_var(&ri, "UNICODE_HTTP_X_BYTES", buf, &size), IH_VAR_OK);
  /* FF -> U+00FF; a; C3 (cut sequence) -> U+00C3; (; U+1F600 -> D83D DE00; b;
   * ED A0 80 (a UTF-8 surrogate, invalid) -> U+00ED U+00A0 U+0080; NUL */
  static const unsigned char want[] = { 0xFF, 0, 'a', 0, 0xC3, 0, '(', 0, 0x3D, 0xD8, 0x00, 0xDE, 'b', 0,
                                        0xED, 0,    0xA0, 0, 0x80, 0, 0, 0 };
  IH_EQ_MEM(buf, size, want, sizeof want);
  /* the narrow form keeps the bytes as they are */
  char narrow[64];
  IH_EQ_INT(get(&ri, "HTTP_X_BYTES", narrow, sizeof narrow), IH_VAR_OK);
  IH_EQ_STR(narrow, "\xFF" "a\xC3(\xF0\x9F\x98\x80" "b\xED\xA0\x80");

  IH_TEST("UNICODE_ALL_RAW keeps its CRLF separators");
  size = sizeof buf;
  IH_EQ_INT(ih_isapi_get_var(&ri, "unicode_all_raw", buf, &size), IH_VAR_OK);
  IH_EQ_MEM(buf, 16, "X\0-\0B\0y\0t\0e\0s\0:\0", 16);
  IH_EQ_MEM(buf + size - 6, 6, "\r\0\n\0\0\0", 6);
}

static void test_one_line(void)
{
  IH_TEST("CR, LF and NUL in sources never reach a value");
  ih_isapi_request_info ri = fixture();
  ih_http_header h[] = {
    { S("X-Evil"), { "a\r\nSet-Cookie: x\0y", 18 } },
  };
  ri.headers = h;
  ri.header_count = 1;
  ri.path_translated = (ih_slice){ "C:\\a\r\nb", 7 };
  char buf[256];
  uint32_t size = sizeof buf;
  IH_EQ_INT(ih_isapi_get_var(&ri, "HTTP_X_EVIL", buf, &size), IH_VAR_OK);
  IH_EQ_INT(size, 19);
  IH_EQ_MEM(buf, size, "a  Set-Cookie: x y", 19);
  IH_EQ_INT(get(&ri, "PATH_TRANSLATED", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "C:\\a  b");
  IH_EQ_INT(get(&ri, "ALL_HTTP", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "HTTP_X_EVIL:a  Set-Cookie: x y\n");
  IH_EQ_INT(get(&ri, "ALL_RAW", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "X-Evil: a  Set-Cookie: x y\r\n");
}

static void test_derived(void)
{
  char buf[256];
  IH_TEST("SERVER_NAME: the routed host it is given, else LOCAL_ADDR; never parsed from Host here");
  ih_isapi_request_info ri = fixture();
  ri.server_name = S("[2001:db8::1]");
  IH_EQ_INT(get(&ri, "SERVER_NAME", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "[2001:db8::1]");
  ih_http_header other[] = { { S("Host"), S("other.example:81") } };
  ri.headers = other;
  ri.header_count = 1;
  IH_EQ_INT(get(&ri, "SERVER_NAME", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "[2001:db8::1]"); /* an absolute-form target's host won over Host */
  ri = fixture();
  ri.server_name = (ih_slice){ NULL, 0 };
  IH_EQ_INT(get(&ri, "SERVER_NAME", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "198.51.100.1");

  IH_TEST("CONTENT_LENGTH: 0 without a body, NO_DATA when chunked, 64-bit");
  ri = fixture();
  ri.content_length = 0;
  IH_EQ_INT(get(&ri, "CONTENT_LENGTH", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "0");
  ri.content_length = UINT64_MAX;
  IH_EQ_INT(get(&ri, "CONTENT_LENGTH", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "18446744073709551615");
  ri.chunked = true;
  IH_EQ_INT(get(&ri, "CONTENT_LENGTH", buf, sizeof buf), IH_VAR_NO_DATA);

  IH_TEST("CONTENT_TYPE: field wins, header fallback, empty");
  ri = fixture();
  ri.content_type = S("application/x-www-form-urlencoded");
  IH_EQ_INT(get(&ri, "CONTENT_TYPE", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "application/x-www-form-urlencoded");
  ri.content_type = S("");
  IH_EQ_INT(get(&ri, "CONTENT_TYPE", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "");
  ri.content_type = (ih_slice){ NULL, 0 };
  ri.header_count = 0;
  IH_EQ_INT(get(&ri, "CONTENT_TYPE", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "");

  IH_TEST("APPL_MD_PATH and APPL_PHYSICAL_PATH");
  static const struct {
    const char *vdir, *md;
  } md[] = {
    { "/", "/LM/W3SVC/3/ROOT" },       { "", "/LM/W3SVC/3/ROOT" },
    { "/scripts", "/LM/W3SVC/3/ROOT/scripts" }, { "/a/b//", "/LM/W3SVC/3/ROOT/a/b" },
    { "x", "/LM/W3SVC/3/ROOT/x" },
  };
  ri = fixture();
  for (size_t i = 0; i < sizeof md / sizeof md[0]; i++) {
    ri.app_vdir = ih_slice_from_cstr(md[i].vdir);
    IH_EQ_INT(get(&ri, "APPL_MD_PATH", buf, sizeof buf), IH_VAR_OK);
    IH_EQ_STR(buf, md[i].md);
  }
  ri.app_vdir = (ih_slice){ NULL, 0 };
  ri.instance_id = 4294967295u;
  IH_EQ_INT(get(&ri, "APPL_MD_PATH", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "/LM/W3SVC/4294967295/ROOT");
  IH_EQ_INT(get(&ri, "INSTANCE_META_PATH", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "/LM/W3SVC/4294967295");
  static const struct {
    const char *in, *out;
  } phys[] = { { "C:\\x", "C:\\x\\" }, { "C:\\x\\", "C:\\x\\" }, { "C:/x/", "C:/x/" }, { "", "" } };
  for (size_t i = 0; i < sizeof phys / sizeof phys[0]; i++) {
    ri.appl_physical_path = ih_slice_from_cstr(phys[i].in);
    IH_EQ_INT(get(&ri, "APPL_PHYSICAL_PATH", buf, sizeof buf), IH_VAR_OK);
    IH_EQ_STR(buf, phys[i].out);
  }

  IH_TEST("SCRIPT_TRANSLATED in \\\\?\\ form");
  static const struct {
    const char *in, *out;
  } st[] = {
    { "C:\\a.dll", "\\\\?\\C:\\a.dll" },
    { "\\\\?\\C:\\a.dll", "\\\\?\\C:\\a.dll" },
    { "\\\\srv\\share\\a.dll", "\\\\?\\UNC\\srv\\share\\a.dll" },
  };
  for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
    ri.script_translated = ih_slice_from_cstr(st[i].in);
    IH_EQ_INT(get(&ri, "SCRIPT_TRANSLATED", buf, sizeof buf), IH_VAR_OK);
    IH_EQ_STR(buf, st[i].out);
  }
  ri.script_translated = S("");
  IH_EQ_INT(get(&ri, "SCRIPT_TRANSLATED", buf, sizeof buf), IH_VAR_NO_DATA);

  IH_TEST("fallbacks and settings");
  ri = fixture();
  ri.remote_host = S("client.example");
  ri.app_pool_id = S("Pool2");
  ri.server_software = S("Custom/1");
  ri.https = true;
  ri.auth_type = S("Basic");
  ri.remote_user = S("alice");
  ri.logon_user = S("DOMAIN\\alice");
  ri.auth_password = S("pw");
  static const struct {
    const char *name, *value;
  } set[] = {
    { "REMOTE_HOST", "client.example" }, { "APP_POOL_ID", "Pool2" }, { "SERVER_SOFTWARE", "Custom/1" },
    { "HTTPS", "on" },                   { "SERVER_PORT_SECURE", "1" }, { "AUTH_TYPE", "Basic" },
    { "AUTH_USER", "alice" },            { "REMOTE_USER", "alice" },  { "UNMAPPED_REMOTE_USER", "alice" },
    { "LOGON_USER", "DOMAIN\\alice" },   { "AUTH_PASSWORD", "pw" },
  };
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
    IH_EQ_INT(get(&ri, set[i].name, buf, sizeof buf), IH_VAR_OK);
    if (!IH_EQ_STR(buf, set[i].value))
      ih_test_note("variable %s", set[i].name);
  }
  ri.app_pool_id = S(""); /* set but empty stays empty */
  IH_EQ_INT(get(&ri, "APP_POOL_ID", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "");

  IH_TEST("HTTP_URL without raw_url is rebuilt from URL and query");
  ri = fixture();
  ri.raw_url = (ih_slice){ NULL, 0 };
  IH_EQ_INT(get(&ri, "HTTP_URL", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "/scripts/app.dll/p\xC3\xA9?x=1&y=2");
  ri.query = (ih_slice){ NULL, 0 };
  IH_EQ_INT(get(&ri, "UNENCODED_URL", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "/scripts/app.dll/p\xC3\xA9");
  IH_EQ_INT(get(&ri, "QUERY_STRING", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "");
}

static void test_http09(void)
{
  IH_TEST("HTTP/0.9 and 1.0: no headers, protocol text");
  ih_isapi_request_info ri = fixture();
  ri.version = IH_HTTP_09;
  ri.headers = NULL;
  ri.header_count = 0;
  char buf[64];
  IH_EQ_INT(get(&ri, "SERVER_PROTOCOL", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "HTTP/0.9");
  IH_EQ_INT(get(&ri, "ALL_HTTP", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "");
  IH_EQ_INT(get(&ri, "ALL_RAW", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "");
  IH_EQ_INT(get(&ri, "HTTP_HOST", buf, sizeof buf), IH_VAR_INVALID_INDEX); /* no header was sent */
  ri.version = IH_HTTP_10;
  IH_EQ_INT(get(&ri, "HTTP_VERSION", buf, sizeof buf), IH_VAR_OK);
  IH_EQ_STR(buf, "HTTP/1.0");
}

static void test_name_known(void)
{
  IH_TEST("names GetServerVariable can ever answer: the table and the header forms");
  static const char *const known[] = { "URL", "unicode_url", "CERT_FLAGS", "CACHE_URL", "ALL_RAW",
                                       "HTTP_CONNECTION", "http_x", "HEADER_X-Not-Sent",
                                       "UNICODE_HTTP_X_NOT_SENT", "UNICODE_HEADER_X-Not-Sent" };
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (!IH_CHECK(ih_isapi_var_name_known(known[i])))
      ih_test_note("name %s", known[i]);
  static const char *const unknown[] = { "", "NO_SUCH_VAR", "HTTP_", "HEADER_", "UNICODE_", "UNICODE_HTTP_",
                                         "UNICODE_UNICODE_URL", "DOCUMENT_ROOT", "URL " };
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
    if (!IH_CHECK(!ih_isapi_var_name_known(unknown[i])))
      ih_test_note("name %s", unknown[i]);
  IH_CHECK(!ih_isapi_var_name_known(NULL));
}

static void test_many_headers(void)
{
  IH_TEST("128 headers of one name: joined, exact size");
  static ih_http_header h[IH_HTTP_MAX_HEADERS];
  for (size_t i = 0; i < IH_HTTP_MAX_HEADERS; i++)
    h[i] = (ih_http_header){ S("X-Rep"), S("0123456789") };
  ih_isapi_request_info ri = fixture();
  ri.headers = h;
  ri.header_count = IH_HTTP_MAX_HEADERS;
  uint32_t size = 0;
  IH_EQ_INT(ih_isapi_get_var(&ri, "HTTP_X_REP", NULL, &size), IH_VAR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, 128 * 10 + 127 * 2 + 1);
  size = 0;
  IH_EQ_INT(ih_isapi_get_var(&ri, "ALL_HTTP", NULL, &size), IH_VAR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, strlen("HTTP_X_REP:\n") + 128 * 10 + 127 * 2 + 1);
  size = 0;
  IH_EQ_INT(ih_isapi_get_var(&ri, "ALL_RAW", NULL, &size), IH_VAR_INSUFFICIENT_BUFFER);
  IH_EQ_INT(size, 128 * strlen("X-Rep: 0123456789\r\n") + 1);
}

int main(void)
{
  test_table();
  test_bad_arguments();
  test_unicode();
  test_one_line();
  test_derived();
  test_http09();
  test_name_known();
  test_many_headers();
  return ih_test_finish();
}
