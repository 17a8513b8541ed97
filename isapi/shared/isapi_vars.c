/* Server variables (see isapi_vars.h for the list and the size contract of
 * GetServerVariable, IIS 6 SDK ms525335 / ms524602).
 *
 * Every value is produced twice by the same code: once into a counting sink
 * to learn the size, and, only if the caller's buffer is large enough, once
 * more into the buffer. So nothing is allocated, and a short buffer is never
 * touched. The UNICODE_ form runs the same producers through a sink that
 * converts to UTF-16LE on the way. */
#include "isapi/shared/isapi_vars.h"

#include <string.h>

/* ---- output sink ---- */

typedef struct sink {
  unsigned char *buf; /* NULL: count only */
  size_t len;         /* bytes produced so far (in the output encoding) */
  bool wide;          /* UTF-16LE output */
} sink;

static void emit_unit(sink *s, uint32_t cp)
{
  if (!s->wide) {
    if (s->buf)
      s->buf[s->len] = (unsigned char)cp;
    s->len++;
    return;
  }
  uint16_t units[2];
  int n = 0;
  if (cp >= 0x10000) {
    cp -= 0x10000;
    units[n++] = (uint16_t)(0xD800 + (cp >> 10));
    units[n++] = (uint16_t)(0xDC00 + (cp & 0x3FF));
  } else {
    units[n++] = (uint16_t)cp;
  }
  for (int i = 0; i < n; i++) {
    if (s->buf) {
      s->buf[s->len] = (unsigned char)(units[i] & 0xFF);
      s->buf[s->len + 1] = (unsigned char)(units[i] >> 8);
    }
    s->len += 2;
  }
}

/* Length of the valid UTF-8 sequence at p[0..n) and its code point, or 0
 * when p[0] does not start one (overlong forms and surrogates are invalid). */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
  unsigned char c = p[0];
  size_t len;
  uint32_t v, min;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if (c >= 0xC2 && c <= 0xDF) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    v = (v << 6) | (p[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  *cp = v;
  return len;
}

/* Writes n bytes of a value. CR, LF and NUL become SP so a value is always
 * one line (and a C string). */
static void put(sink *s, const char *p, size_t n)
{
  const unsigned char *u = (const unsigned char *)p;
  size_t i = 0;
  while (i < n) {
    uint32_t cp = u[i];
    size_t used = 1;
    if (cp == '\r' || cp == '\n' || cp == 0) {
      cp = ' ';
    } else if (s->wide && cp >= 0x80) {
      used = utf8_decode(u + i, n - i, &cp);
      if (!used) {
        cp = u[i]; /* Latin-1 fallback for a stray byte */
        used = 1;
      }
    }
    emit_unit(s, cp);
    i += used;
  }
}

/* Separators (line breaks of ALL_HTTP / ALL_RAW) go through unfiltered. */
static void put_sep(sink *s, const char *lit)
{
  for (; *lit; lit++)
    emit_unit(s, (unsigned char)*lit);
}

static void put_cstr(sink *s, const char *str) { put(s, str, strlen(str)); }
static void put_slice(sink *s, ih_slice v) { put(s, v.p, v.p ? v.n : 0); }

static void put_u64(sink *s, uint64_t v)
{
  char digits[20];
  size_t n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  char out[20];
  for (size_t i = 0; i < n; i++)
    out[i] = digits[n - 1 - i];
  put(s, out, n);
}

/* ---- header lookup ---- */

/* Header name matching. HTTP_ form: '_' in the wanted name stands for '-'
 * only. HEADER_ form: plain case-insensitive equality. */
static bool name_matches(ih_slice header, ih_slice want, bool underscore_is_dash)
{
  if (header.n != want.n)
    return false;
  for (size_t i = 0; i < want.n; i++) {
    char w = want.p[i], h = header.p[i];
    if (underscore_is_dash && w == '_') {
      if (h != '-')
        return false;
    } else if (ih_ascii_lower(w) != ih_ascii_lower(h)) {
      return false;
    }
  }
  return true;
}

/* Writes the values of every header matching want, joined with ", " ("; "
 * for Cookie). False when there is none. */
static bool put_header(sink *s, const ih_isapi_request_info *ri, ih_slice want, bool underscore_is_dash)
{
  bool found = false;
  for (size_t i = 0; i < ri->header_count; i++) {
    const ih_http_header *h = &ri->headers[i];
    if (!name_matches(h->name, want, underscore_is_dash))
      continue;
    if (found)
      put_sep(s, ih_slice_ieq_cstr(h->name, "Cookie") ? "; " : ", ");
    put_slice(s, h->value);
    found = true;
  }
  return found;
}

static void put_all_http(sink *s, const ih_isapi_request_info *ri)
{
  for (size_t i = 0; i < ri->header_count; i++) {
    ih_slice name = ri->headers[i].name;
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++)
      seen = ih_slice_ieq(ri->headers[j].name, name);
    if (seen)
      continue; /* already listed with its duplicates */
    put_sep(s, "HTTP_");
    for (size_t k = 0; k < name.n; k++) {
      char c = name.p[k];
      c = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
      put(s, &c, 1);
    }
    put_sep(s, ":");
    put_header(s, ri, name, false);
    put_sep(s, "\n");
  }
}

static void put_all_raw(sink *s, const ih_isapi_request_info *ri)
{
  for (size_t i = 0; i < ri->header_count; i++) {
    put_slice(s, ri->headers[i].name);
    put_sep(s, ": ");
    put_slice(s, ri->headers[i].value);
    put_sep(s, "\r\n");
  }
}

/* ---- the variables ---- */

enum var_id {
  V_ALL_HTTP, V_ALL_RAW, V_APP_POOL_ID, V_APPL_MD_PATH, V_APPL_PHYSICAL_PATH, V_AUTH_PASSWORD,
  V_AUTH_TYPE, V_AUTH_USER, V_CACHE_URL, V_CERT, V_CONTENT_LENGTH, V_CONTENT_TYPE,
  V_GATEWAY_INTERFACE, V_HTTP_METHOD, V_HTTP_URL, V_HTTP_VERSION, V_HTTPS, V_HTTPS_TLS,
  V_INSTANCE_ID, V_INSTANCE_META_PATH, V_LOCAL_ADDR, V_LOGON_USER, V_PATH_INFO,
  V_PATH_TRANSLATED, V_QUERY_STRING, V_REMOTE_ADDR, V_REMOTE_HOST, V_REMOTE_PORT,
  V_REMOTE_USER, V_REQUEST_METHOD, V_SCRIPT_NAME, V_SCRIPT_TRANSLATED, V_SERVER_NAME,
  V_SERVER_PORT, V_SERVER_PORT_SECURE, V_SERVER_PROTOCOL, V_SERVER_SOFTWARE,
  V_SSI_EXEC_DISABLED, V_UNENCODED_URL, V_UNMAPPED_REMOTE_USER, V_URL, V_URL_PATH_INFO,
};

static const struct {
  const char *name;
  enum var_id id;
} vars[] = {
  { "ALL_HTTP", V_ALL_HTTP },
  { "ALL_RAW", V_ALL_RAW },
  { "APP_POOL_ID", V_APP_POOL_ID },
  { "APPL_MD_PATH", V_APPL_MD_PATH },
  { "APPL_PHYSICAL_PATH", V_APPL_PHYSICAL_PATH },
  { "AUTH_PASSWORD", V_AUTH_PASSWORD },
  { "AUTH_TYPE", V_AUTH_TYPE },
  { "AUTH_USER", V_AUTH_USER },
  { "CACHE_URL", V_CACHE_URL },
  { "CERT_COOKIE", V_CERT },
  { "CERT_FLAGS", V_CERT },
  { "CERT_ISSUER", V_CERT },
  { "CERT_KEYSIZE", V_CERT },
  { "CERT_SECRETKEYSIZE", V_CERT },
  { "CERT_SERIALNUMBER", V_CERT },
  { "CERT_SERVER_ISSUER", V_CERT },
  { "CERT_SERVER_SUBJECT", V_CERT },
  { "CERT_SUBJECT", V_CERT },
  { "CONTENT_LENGTH", V_CONTENT_LENGTH },
  { "CONTENT_TYPE", V_CONTENT_TYPE },
  { "GATEWAY_INTERFACE", V_GATEWAY_INTERFACE },
  { "HTTP_METHOD", V_HTTP_METHOD },
  { "HTTP_URL", V_HTTP_URL },
  { "HTTP_VERSION", V_HTTP_VERSION },
  { "HTTPS", V_HTTPS },
  { "HTTPS_KEYSIZE", V_HTTPS_TLS },
  { "HTTPS_SECRETKEYSIZE", V_HTTPS_TLS },
  { "HTTPS_SERVER_ISSUER", V_HTTPS_TLS },
  { "HTTPS_SERVER_SUBJECT", V_HTTPS_TLS },
  { "INSTANCE_ID", V_INSTANCE_ID },
  { "INSTANCE_META_PATH", V_INSTANCE_META_PATH },
  { "LOCAL_ADDR", V_LOCAL_ADDR },
  { "LOGON_USER", V_LOGON_USER },
  { "PATH_INFO", V_PATH_INFO },
  { "PATH_TRANSLATED", V_PATH_TRANSLATED },
  { "QUERY_STRING", V_QUERY_STRING },
  { "REMOTE_ADDR", V_REMOTE_ADDR },
  { "REMOTE_HOST", V_REMOTE_HOST },
  { "REMOTE_PORT", V_REMOTE_PORT },
  { "REMOTE_USER", V_REMOTE_USER },
  { "REQUEST_METHOD", V_REQUEST_METHOD },
  { "SCRIPT_NAME", V_SCRIPT_NAME },
  { "SCRIPT_TRANSLATED", V_SCRIPT_TRANSLATED },
  { "SERVER_NAME", V_SERVER_NAME },
  { "SERVER_PORT", V_SERVER_PORT },
  { "SERVER_PORT_SECURE", V_SERVER_PORT_SECURE },
  { "SERVER_PROTOCOL", V_SERVER_PROTOCOL },
  { "SERVER_SOFTWARE", V_SERVER_SOFTWARE },
  { "SSI_EXEC_DISABLED", V_SSI_EXEC_DISABLED },
  { "UNENCODED_URL", V_UNENCODED_URL },
  { "UNMAPPED_REMOTE_USER", V_UNMAPPED_REMOTE_USER },
  { "URL", V_URL },
  { "URL_PATH_INFO", V_URL_PATH_INFO },
};

static const char *protocol_text(int version)
{
  return version == IH_HTTP_09 ? "HTTP/0.9" : version == IH_HTTP_10 ? "HTTP/1.0" : "HTTP/1.1";
}

static void put_raw_url(sink *s, const ih_isapi_request_info *ri)
{
  if (ri->raw_url.p) {
    put_slice(s, ri->raw_url);
    return;
  }
  put_slice(s, ri->url);
  if (ri->query.p) {
    put_sep(s, "?");
    put_slice(s, ri->query);
  }
}

static void put_instance_path(sink *s, const ih_isapi_request_info *ri)
{
  put_sep(s, "/LM/W3SVC/");
  put_u64(s, ri->instance_id);
}

/* Produces a fixed variable's value into s, or returns IH_VAR_NO_DATA. */
static enum ih_var_status produce(const ih_isapi_request_info *ri, enum var_id id, sink *s)
{
  switch (id) {
  case V_ALL_HTTP:
    put_all_http(s, ri);
    break;
  case V_ALL_RAW:
    put_all_raw(s, ri);
    break;
  case V_APP_POOL_ID:
    if (ri->app_pool_id.p)
      put_slice(s, ri->app_pool_id);
    else
      put_cstr(s, IH_ISAPI_DEFAULT_APP_POOL);
    break;
  case V_APPL_MD_PATH: {
    put_instance_path(s, ri);
    put_sep(s, "/ROOT");
    ih_slice v = ri->app_vdir.p ? ri->app_vdir : (ih_slice){ "", 0 };
    while (v.n && v.p[v.n - 1] == '/')
      v.n--;
    if (v.n && v.p[0] != '/')
      put_sep(s, "/");
    put_slice(s, v);
    break;
  }
  case V_APPL_PHYSICAL_PATH: {
    ih_slice v = ri->appl_physical_path;
    put_slice(s, v);
    if (v.p && v.n && v.p[v.n - 1] != '\\' && v.p[v.n - 1] != '/')
      put_sep(s, "\\");
    break;
  }
  case V_AUTH_PASSWORD:
    put_slice(s, ri->auth_password);
    break;
  case V_AUTH_TYPE:
    put_slice(s, ri->auth_type);
    break;
  case V_AUTH_USER:
  case V_REMOTE_USER:
  case V_UNMAPPED_REMOTE_USER:
    put_slice(s, ri->remote_user);
    break;
  case V_CACHE_URL:
  case V_CERT:
  case V_HTTPS_TLS:
    return IH_VAR_NO_DATA;
  case V_CONTENT_LENGTH:
    if (ri->chunked)
      return IH_VAR_NO_DATA;
    put_u64(s, ri->content_length);
    break;
  case V_CONTENT_TYPE:
    if (ri->content_type.p)
      put_slice(s, ri->content_type);
    else
      put_header(s, ri, IH_SLICE_LIT("Content-Type"), false);
    break;
  case V_GATEWAY_INTERFACE:
    put_cstr(s, "CGI/1.1");
    break;
  case V_HTTP_METHOD:
  case V_REQUEST_METHOD:
    put_slice(s, ri->method);
    break;
  case V_HTTP_URL:
  case V_UNENCODED_URL:
    put_raw_url(s, ri);
    break;
  case V_HTTP_VERSION:
  case V_SERVER_PROTOCOL:
    put_cstr(s, protocol_text(ri->version));
    break;
  case V_HTTPS:
    put_cstr(s, ri->https ? "on" : "off");
    break;
  case V_INSTANCE_ID:
    put_u64(s, ri->instance_id);
    break;
  case V_INSTANCE_META_PATH:
    put_instance_path(s, ri);
    break;
  case V_LOCAL_ADDR:
    put_slice(s, ri->local_addr);
    break;
  case V_LOGON_USER:
    put_slice(s, ri->logon_user);
    break;
  case V_PATH_INFO:
  case V_URL_PATH_INFO:
    put_slice(s, ri->path_info);
    break;
  case V_PATH_TRANSLATED:
    put_slice(s, ri->path_translated);
    break;
  case V_QUERY_STRING:
    put_slice(s, ri->query);
    break;
  case V_REMOTE_ADDR:
    put_slice(s, ri->remote_addr);
    break;
  case V_REMOTE_HOST:
    put_slice(s, ri->remote_host.p ? ri->remote_host : ri->remote_addr);
    break;
  case V_REMOTE_PORT:
    put_u64(s, ri->remote_port);
    break;
  case V_SCRIPT_NAME:
    put_slice(s, ri->script_name);
    break;
  case V_SCRIPT_TRANSLATED: {
    ih_slice v = ri->script_translated;
    if (!v.p || !v.n)
      return IH_VAR_NO_DATA;
    if (v.n >= 4 && memcmp(v.p, "\\\\?\\", 4) == 0) {
      /* already "\\?\..." */
    } else if (v.n >= 2 && v.p[0] == '\\' && v.p[1] == '\\') {
      put_sep(s, "\\\\?\\UNC\\");
      v.p += 2;
      v.n -= 2;
    } else {
      put_sep(s, "\\\\?\\");
    }
    put_slice(s, v);
    break;
  }
  case V_SERVER_NAME:
    put_slice(s, ri->server_name.p ? ri->server_name : ri->local_addr);
    break;
  case V_SERVER_PORT:
    put_u64(s, ri->server_port);
    break;
  case V_SERVER_PORT_SECURE:
    put_cstr(s, ri->https ? "1" : "0");
    break;
  case V_SERVER_SOFTWARE:
    if (ri->server_software.p)
      put_slice(s, ri->server_software);
    else
      put_cstr(s, IH_ISAPI_SERVER_SOFTWARE);
    break;
  case V_SSI_EXEC_DISABLED:
    put_cstr(s, "1");
    break;
  case V_URL:
    put_slice(s, ri->url);
    break;
  }
  return IH_VAR_OK;
}

/* What a (non-UNICODE_) name refers to. */
typedef enum lookup_kind { L_UNKNOWN, L_FIXED, L_HTTP, L_HEADER } lookup_kind;

static bool has_prefix(ih_slice name, const char *prefix)
{
  size_t n = strlen(prefix);
  return name.n > n && ih_slice_ieq((ih_slice){ name.p, n }, (ih_slice){ prefix, n });
}

static lookup_kind lookup(ih_slice name, enum var_id *id, ih_slice *header)
{
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    if (ih_slice_ieq_cstr(name, vars[i].name)) {
      *id = vars[i].id;
      return L_FIXED;
    }
  if (has_prefix(name, "HTTP_")) {
    *header = (ih_slice){ name.p + 5, name.n - 5 };
    return L_HTTP;
  }
  if (has_prefix(name, "HEADER_")) {
    *header = (ih_slice){ name.p + 7, name.n - 7 };
    return L_HEADER;
  }
  return L_UNKNOWN;
}

static enum ih_var_status run(const ih_isapi_request_info *ri, lookup_kind kind, enum var_id id,
                              ih_slice header, sink *s)
{
  switch (kind) {
  case L_FIXED:
    return produce(ri, id, s);
  case L_HTTP:
  case L_HEADER:
    /* A header variable exists only when the request carries the header:
     * ERROR_INVALID_INDEX, which DLLs written for IIS take to mean "not
     * sent" (a gateway that asks for a list of headers fails the request on
     * any other code). ERROR_NO_DATA is for a known variable without a
     * value (docs/compatibility.md, "Server variables"). */
    return put_header(s, ri, header, kind == L_HTTP) ? IH_VAR_OK : IH_VAR_INVALID_INDEX;
  case L_UNKNOWN:
    break;
  }
  return IH_VAR_INVALID_INDEX;
}

/* The name without a "UNICODE_" prefix; *wide says whether there was one. */
static ih_slice strip_unicode(const char *name, bool *wide)
{
  ih_slice n = ih_slice_from_cstr(name);
  *wide = has_prefix(n, "UNICODE_");
  if (*wide) {
    n.p += 8;
    n.n -= 8; /* "UNICODE_UNICODE_..." then finds nothing in lookup */
  }
  return n;
}

bool ih_isapi_var_name_known(const char *name)
{
  if (!name)
    return false;
  bool wide;
  enum var_id id = V_URL;
  ih_slice header = { NULL, 0 };
  return lookup(strip_unicode(name, &wide), &id, &header) != L_UNKNOWN;
}

enum ih_var_status ih_isapi_get_var(const ih_isapi_request_info *ri, const char *name, void *buf,
                                    uint32_t *size)
{
  if (!ri || !name || !size)
    return IH_VAR_INVALID_INDEX;
  bool wide;
  ih_slice n = strip_unicode(name, &wide);
  enum var_id id = V_URL;
  ih_slice header = { NULL, 0 };
  lookup_kind kind = lookup(n, &id, &header);
  if (kind == L_UNKNOWN)
    return IH_VAR_INVALID_INDEX;

  sink count = { NULL, 0, wide };
  enum ih_var_status st = run(ri, kind, id, header, &count);
  if (st != IH_VAR_OK)
    return st;
  size_t need = count.len + (wide ? 2 : 1);
  if (need > UINT32_MAX)
    return IH_VAR_NO_DATA; /* cannot be described in a DWORD */
  if (!buf || *size < need) {
    *size = (uint32_t)need;
    return IH_VAR_INSUFFICIENT_BUFFER;
  }
  sink out = { buf, 0, wide };
  run(ri, kind, id, header, &out);
  emit_unit(&out, 0);
  *size = (uint32_t)out.len;
  return IH_VAR_OK;
}
