/* Unit tests for isapi/shared/isapi_map.c: HSE_REQ_MAP_URL_TO_PATH(_EX) against
 * configs parsed from text (root and nested vdirs, drive and UNC roots,
 * relative paths), the canonicaliser's refusals and their Win32 classes,
 * the size contract (required size, no partial write, MAX_PATH, in place),
 * flags per permission set, cchMatchingPath/URL, and HSE_REQ_NORMALIZE_URL. */
#include <stdio.h>
#include <string.h>

#include "core/physical_path.h"
#include "ih_test.h"
#include "isapi/shared/isapi_map.h"

static const char config_text[] = "[site a]\n"
                                  "bindings = *:80\n"
                                  "root = C:\\inetpub\\wwwroot\n"
                                  "[vdir a /scripts]\n"
                                  "path = C:\\inetpub\\scripts\\\n"
                                  "permissions = script, execute\n"
                                  "[vdir a /scripts/oop]\n"
                                  "path = D:/oop\n"
                                  "permissions = execute\n"
                                  "[vdir a /data]\n"
                                  "path = \\\\server\\share\\data\n"
                                  "permissions = none\n"
                                  "[vdir a /drive]\n"
                                  "path = E:\\\n"
                                  "permissions = read, script\n"
                                  "[vdir a /caf\xc3\xa9]\n"
                                  "path = C:\\cafe\n"
                                  "[site rel]\n"
                                  "bindings = *:81\n"
                                  "root = www\n"
                                  "[vdir rel /x]\n"
                                  "path = sub/dir/\n";

static ih_config *load(const char *text)
{
  char err[256] = "";
  ih_config *c = NULL;
  if (ih_config_parse(text, strlen(text), "t.ini", "base", &c, err, sizeof err) != 0)
    ih_test_note("config: %s", err);
  IH_CHECK(c != NULL);
  return c;
}

/* path + matching_path must equal the canonical URL + matching_url, with
 * '/' written as '\'. */
static void check_invariant(const char *url, const char *path, const ih_isapi_mapping *m)
{
  const char *q = strchr(url, '?');
  size_t n = q ? (size_t)(q - url) : strlen(url);
  char canon[IH_ISAPI_URL_MAX];
  size_t clen = 0;
  IH_EQ_INT(ih_url_canonicalize((ih_slice){ url, n }, canon, sizeof canon, &clen), IH_URL_OK);
  IH_CHECK(m->matching_url <= clen && m->matching_path <= m->path_len);
  if (m->matching_url > clen || m->matching_path > m->path_len)
    return;
  char want[IH_ISAPI_URL_MAX];
  size_t k = 0;
  for (size_t i = m->matching_url; i < clen; i++)
    want[k++] = canon[i] == '/' ? '\\' : canon[i];
  IH_EQ_MEM(path + m->matching_path, m->path_len - m->matching_path, want, k);
  IH_CHECK(strchr(path, '/') == NULL);
}

static void test_mapping(const ih_site *a, const ih_site *rel)
{
  IH_TEST("map: root, nested vdirs, drive and UNC roots, relative paths");
  static const struct {
    int site; /* 0 = a, 1 = rel */
    const char *url, *path;
    unsigned matching_path, matching_url;
    uint32_t flags;
  } cases[] = {
    { 0, "/", "C:\\inetpub\\wwwroot\\", 18, 0, IH_HSE_URL_FLAGS_READ },
    { 0, "/index.htm", "C:\\inetpub\\wwwroot\\index.htm", 18, 0, IH_HSE_URL_FLAGS_READ },
    { 0, "/a/b/", "C:\\inetpub\\wwwroot\\a\\b\\", 18, 0, IH_HSE_URL_FLAGS_READ },
    /* "/scripts" -> "...\scripts", "/scripts/" -> "...\scripts\" (ms525532 examples);
     * the configured trailing '\' is not doubled */
    { 0, "/scripts", "C:\\inetpub\\scripts", 18, 8, IH_HSE_URL_FLAGS_SCRIPT | IH_HSE_URL_FLAGS_EXECUTE },
    { 0, "/scripts/", "C:\\inetpub\\scripts\\", 18, 8, IH_HSE_URL_FLAGS_SCRIPT | IH_HSE_URL_FLAGS_EXECUTE },
    { 0, "/Scripts/App.dll/extra", "C:\\inetpub\\scripts\\App.dll\\extra", 18, 8,
      IH_HSE_URL_FLAGS_SCRIPT | IH_HSE_URL_FLAGS_EXECUTE },
    { 0, "/scripts/oop/x.dll", "D:\\oop\\x.dll", 6, 12, IH_HSE_URL_FLAGS_EXECUTE },
    { 0, "/SCRIPTS/OOP", "D:\\oop", 6, 12, IH_HSE_URL_FLAGS_EXECUTE },
    { 0, "/scripts/oopx", "C:\\inetpub\\scripts\\oopx", 18, 8, IH_HSE_URL_FLAGS_SCRIPT | IH_HSE_URL_FLAGS_EXECUTE },
    { 0, "/scriptsx", "C:\\inetpub\\wwwroot\\scriptsx", 18, 0, IH_HSE_URL_FLAGS_READ },
    { 0, "/data/f.txt", "\\\\server\\share\\data\\f.txt", 19, 5, 0 },
    /* a drive root stays "E:\", never the drive-relative "E:" */
    { 0, "/drive", "E:\\", 3, 6, IH_HSE_URL_FLAGS_READ | IH_HSE_URL_FLAGS_SCRIPT },
    { 0, "/drive/", "E:\\", 2, 6, IH_HSE_URL_FLAGS_READ | IH_HSE_URL_FLAGS_SCRIPT },
    { 0, "/drive/x/y.txt", "E:\\x\\y.txt", 2, 6, IH_HSE_URL_FLAGS_READ | IH_HSE_URL_FLAGS_SCRIPT },
    /* percent-encoded input, decoded once; UTF-8 vdir names */
    { 0, "/a%20b/%41.txt", "C:\\inetpub\\wwwroot\\a b\\A.txt", 18, 0, IH_HSE_URL_FLAGS_READ },
    { 0, "/caf%C3%A9/menu", "C:\\cafe\\menu", 7, 6, IH_HSE_URL_FLAGS_READ },
    { 0, "/CAF\xc3\xa9", "C:\\cafe", 7, 6, IH_HSE_URL_FLAGS_READ },
    { 0, "/100%2525", "C:\\inetpub\\wwwroot\\100%25", 18, 0, IH_HSE_URL_FLAGS_READ },
    /* dot segments and backslashes, as the router resolves them */
    { 0, "/scripts/../index.htm", "C:\\inetpub\\wwwroot\\index.htm", 18, 0, IH_HSE_URL_FLAGS_READ },
    { 0, "/x/./y/../z", "C:\\inetpub\\wwwroot\\x\\z", 18, 0, IH_HSE_URL_FLAGS_READ },
    { 0, "/scripts/%2e%2e/y", "C:\\inetpub\\wwwroot\\y", 18, 0, IH_HSE_URL_FLAGS_READ },
    { 0, "/a/b/..", "C:\\inetpub\\wwwroot\\a\\", 18, 0, IH_HSE_URL_FLAGS_READ },
    { 0, "\\scripts\\x.dll", "C:\\inetpub\\scripts\\x.dll", 18, 8, IH_HSE_URL_FLAGS_SCRIPT | IH_HSE_URL_FLAGS_EXECUTE },
    { 0, "/scripts%5cx.dll", "C:\\inetpub\\scripts\\x.dll", 18, 8, IH_HSE_URL_FLAGS_SCRIPT | IH_HSE_URL_FLAGS_EXECUTE },
    /* the query is not part of the path; '#' is an ordinary byte */
    { 0, "/scripts/x.dll?a=1/../../..", "C:\\inetpub\\scripts\\x.dll", 18, 8,
      IH_HSE_URL_FLAGS_SCRIPT | IH_HSE_URL_FLAGS_EXECUTE },
    { 0, "/?", "C:\\inetpub\\wwwroot\\", 18, 0, IH_HSE_URL_FLAGS_READ },
    { 0, "/a#b", "C:\\inetpub\\wwwroot\\a#b", 18, 0, IH_HSE_URL_FLAGS_READ },
    /* relative physical paths (joined to the config directory) get '\' too */
    { 1, "/", "base\\www\\", 8, 0, IH_HSE_URL_FLAGS_READ },
    { 1, "/x/y", "base\\sub\\dir\\y", 12, 2, IH_HSE_URL_FLAGS_READ },
    { 1, "/x", "base\\sub\\dir", 12, 2, IH_HSE_URL_FLAGS_READ },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const ih_site *s = cases[i].site ? rel : a;
    char path[512];
    memset(path, 'Z', sizeof path);
    ih_isapi_mapping m;
    int st = ih_isapi_map_url(s, cases[i].url, strlen(cases[i].url), path, sizeof path, &m);
    if (st != IH_MAP_OK) {
      ih_test_note("url %s: status %d (%s)", cases[i].url, st, ih_url_status_text(m.url_status));
      IH_EQ_INT(st, IH_MAP_OK);
      continue;
    }
    IH_EQ_STR(path, cases[i].path);
    IH_EQ_INT(m.path_len, strlen(cases[i].path));
    IH_EQ_INT(m.matching_path, cases[i].matching_path);
    IH_EQ_INT(m.matching_url, cases[i].matching_url);
    IH_EQ_INT(m.flags, cases[i].flags);
    IH_EQ_INT(m.url_status, IH_URL_OK);
    IH_CHECK(m.vdir != NULL);
    IH_CHECK(path[m.path_len + 1] == 'Z'); /* nothing written after the NUL */
    check_invariant(cases[i].url, path, &m);
  }
  /* the vdir is reported, and its URL prefix is what matching_url counts */
  ih_isapi_mapping m;
  char path[128];
  IH_EQ_INT(ih_isapi_map_url(a, "/Scripts/OOP/a", 14, path, sizeof path, &m), IH_MAP_OK);
  IH_EQ_STR(m.vdir ? m.vdir->url_path : "", "/scripts/oop");
  IH_EQ_INT(ih_isapi_map_url(a, "/q", 2, path, sizeof path, &m), IH_MAP_OK);
  IH_CHECK(m.vdir == &a->vdirs[0]);
  /* url_len, not the NUL, ends the URL */
  IH_EQ_INT(ih_isapi_map_url(a, "/scripts/x.dll", 8, path, sizeof path, &m), IH_MAP_OK);
  IH_EQ_STR(path, "C:\\inetpub\\scripts");
}

static void test_refused(const ih_site *a)
{
  IH_TEST("map: URLs the router refuses");
  static const struct {
    const char *url;
    int status;
    enum ih_url_status why;
  } cases[] = {
    /* 400 at the router -> ERROR_INVALID_PARAMETER */
    { "", IH_MAP_BAD_URL, IH_URL_BAD_FORM },
    { "?x=1", IH_MAP_BAD_URL, IH_URL_BAD_FORM },
    { "scripts/x.dll", IH_MAP_BAD_URL, IH_URL_BAD_FORM },
    { "x", IH_MAP_BAD_URL, IH_URL_BAD_FORM },
    { "http://host/x", IH_MAP_BAD_URL, IH_URL_BAD_FORM },
    { "*", IH_MAP_BAD_URL, IH_URL_BAD_FORM },
    { "/..", IH_MAP_BAD_URL, IH_URL_ABOVE_ROOT },
    { "/../x", IH_MAP_BAD_URL, IH_URL_ABOVE_ROOT },
    { "/scripts/../../x", IH_MAP_BAD_URL, IH_URL_ABOVE_ROOT },
    { "/%2e%2e/win.ini", IH_MAP_BAD_URL, IH_URL_ABOVE_ROOT },
    { "/scripts/..%5c..%5cwin.ini", IH_MAP_BAD_URL, IH_URL_ABOVE_ROOT },
    { "//server/share", IH_MAP_BAD_URL, IH_URL_UNC },
    { "\\\\?\\C:\\x", IH_MAP_BAD_URL, IH_URL_UNC },
    { "/a%zz", IH_MAP_BAD_URL, IH_URL_BAD_ESCAPE },
    { "/a%2", IH_MAP_BAD_URL, IH_URL_BAD_ESCAPE },
    { "/100%", IH_MAP_BAD_URL, IH_URL_BAD_ESCAPE },
    { "/a%00b", IH_MAP_BAD_URL, IH_URL_NUL },
    { "/a%0d%0a", IH_MAP_BAD_URL, IH_URL_CONTROL },
    { "/%c0%af", IH_MAP_BAD_URL, IH_URL_BAD_UTF8 },
    { "/\xff", IH_MAP_BAD_URL, IH_URL_BAD_UTF8 },
    /* 404 at the router (names Windows would alias) -> ERROR_PATH_NOT_FOUND */
    { "/CON", IH_MAP_NOT_FOUND, IH_URL_DEVICE_NAME },
    { "/scripts/nul.txt", IH_MAP_NOT_FOUND, IH_URL_DEVICE_NAME },
    { "/x.txt::$DATA", IH_MAP_NOT_FOUND, IH_URL_STREAM },
    { "/C:/windows", IH_MAP_NOT_FOUND, IH_URL_STREAM },
    { "/file.txt.", IH_MAP_NOT_FOUND, IH_URL_TRAILING_DOT_SPACE },
    { "/file.txt%20", IH_MAP_NOT_FOUND, IH_URL_TRAILING_DOT_SPACE },
    { "/PROGRA~1/x", IH_MAP_NOT_FOUND, IH_URL_SHORT_NAME },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[64];
    memset(path, 'Z', sizeof path);
    ih_isapi_mapping m;
    int st = ih_isapi_map_url(a, cases[i].url, strlen(cases[i].url), path, sizeof path, &m);
    if (st != cases[i].status)
      ih_test_note("url %s", cases[i].url);
    IH_EQ_INT(st, cases[i].status);
    IH_EQ_INT(m.url_status, cases[i].why);
    IH_CHECK(path[0] == 'Z'); /* nothing written */
  }
  ih_isapi_mapping m;
  char path[64];
  IH_EQ_INT(ih_isapi_map_url(a, NULL, 5, path, sizeof path, &m), IH_MAP_BAD_URL);
  /* an embedded NUL within url_len is refused, as %00 is */
  IH_EQ_INT(ih_isapi_map_url(a, "/a\0b", 4, path, sizeof path, &m), IH_MAP_BAD_URL);
  IH_EQ_INT(m.url_status, IH_URL_NUL);

  /* The router keeps canonical paths of up to 2047 bytes (414 above). */
  static char url[IH_ISAPI_URL_MAX + 8];
  url[0] = '/';
  memset(url + 1, 'a', IH_ISAPI_URL_MAX - 2);
  url[IH_ISAPI_URL_MAX - 1] = '\0';
  static char big[IH_ISAPI_URL_MAX + 64];
  IH_EQ_INT(ih_isapi_map_url(a, url, IH_ISAPI_URL_MAX - 1, big, sizeof big, &m), IH_MAP_OK);
  IH_EQ_INT(m.path_len, 18 + IH_ISAPI_URL_MAX - 1);
  IH_EQ_INT(ih_isapi_map_url(a, url, IH_ISAPI_URL_MAX - 1, NULL, 0, &m), IH_MAP_INSUFFICIENT_BUFFER);
  url[IH_ISAPI_URL_MAX - 1] = 'a';
  IH_EQ_INT(ih_isapi_map_url(a, url, IH_ISAPI_URL_MAX, big, sizeof big, &m), IH_MAP_BAD_URL);
  IH_EQ_INT(m.url_status, IH_URL_TOO_LONG);
  /* ...but a long raw URL with a short canonical form is fine */
  char dots[3000];
  size_t n = 0;
  while (n + 3 < 2900) {
    memcpy(dots + n, "/a/..", 5);
    n += 5;
  }
  memcpy(dots + n, "/z", 3);
  IH_EQ_INT(ih_isapi_map_url(a, dots, strlen(dots), big, sizeof big, &m), IH_MAP_OK);
  IH_EQ_STR(big, "C:\\inetpub\\wwwroot\\z");
}

static void test_buffer_sizes(const ih_site *a)
{
  IH_TEST("map: buffer size contract");
  const char *url = "/scripts/app.dll";
  const char *want = "C:\\inetpub\\scripts\\app.dll";
  size_t len = strlen(want);
  char path[64];
  ih_isapi_mapping m;

  /* size query: no buffer, every field filled, path_len + 1 is the size */
  IH_EQ_INT(ih_isapi_map_url(a, url, strlen(url), NULL, 0, &m), IH_MAP_INSUFFICIENT_BUFFER);
  IH_EQ_INT(m.path_len, len);
  IH_EQ_INT(m.flags, IH_HSE_URL_FLAGS_SCRIPT | IH_HSE_URL_FLAGS_EXECUTE);
  IH_EQ_INT(m.matching_path, 18);
  IH_EQ_INT(m.matching_url, 8);
  IH_EQ_INT(ih_isapi_map_url(a, url, strlen(url), path, 0, &m), IH_MAP_INSUFFICIENT_BUFFER);

  /* one byte short (no room for the NUL): nothing written at all */
  memset(path, 'Z', sizeof path);
  IH_EQ_INT(ih_isapi_map_url(a, url, strlen(url), path, len, &m), IH_MAP_INSUFFICIENT_BUFFER);
  IH_EQ_INT(m.path_len, len);
  size_t untouched = 0;
  while (untouched < sizeof path && path[untouched] == 'Z')
    untouched++;
  IH_EQ_INT(untouched, sizeof path);

  /* exact fit */
  IH_EQ_INT(ih_isapi_map_url(a, url, strlen(url), path, len + 1, &m), IH_MAP_OK);
  IH_EQ_STR(path, want);
  IH_CHECK(path[len + 1] == 'Z');

  /* MAX_PATH, as the _EX forms use it: 259 characters fit, 260 do not */
  char u[300] = "/";
  size_t need = IH_ISAPI_MAX_PATH - 1 - 18; /* root is 18 bytes; the URL adds '\' + name */
  memset(u + 1, 'n', need - 1);
  u[need] = '\0';
  char ex[IH_ISAPI_MAX_PATH];
  IH_EQ_INT(ih_isapi_map_url(a, u, strlen(u), ex, sizeof ex, &m), IH_MAP_OK);
  IH_EQ_INT(m.path_len, IH_ISAPI_MAX_PATH - 1);
  IH_EQ_INT(strlen(ex), IH_ISAPI_MAX_PATH - 1);
  u[need] = 'n';
  u[need + 1] = '\0';
  memset(ex, 'Z', sizeof ex);
  IH_EQ_INT(ih_isapi_map_url(a, u, strlen(u), ex, sizeof ex, &m), IH_MAP_INSUFFICIENT_BUFFER);
  IH_EQ_INT(m.path_len, IH_ISAPI_MAX_PATH);
  IH_CHECK(ex[0] == 'Z' && ex[IH_ISAPI_MAX_PATH - 1] == 'Z');

  /* HSE_REQ_MAP_URL_TO_PATH maps in place: the URL's buffer receives the path */
  char inplace[64] = "/scripts/../Scripts/x.dll?q=1";
  IH_EQ_INT(ih_isapi_map_url(a, inplace, strlen(inplace), inplace, sizeof inplace, &m), IH_MAP_OK);
  IH_EQ_STR(inplace, "C:\\inetpub\\scripts\\x.dll");
  /* in place and too small: the URL stays as it was */
  char small[24] = "/scripts/x.dll";
  IH_EQ_INT(ih_isapi_map_url(a, small, strlen(small), small, sizeof small, &m), IH_MAP_INSUFFICIENT_BUFFER);
  IH_EQ_STR(small, "/scripts/x.dll");
  IH_EQ_INT(m.path_len, strlen("C:\\inetpub\\scripts\\x.dll"));
}

static void test_flags(void)
{
  IH_TEST("map: flags per permission set");
  static const struct {
    const char *perms;
    uint32_t flags;
  } sets[] = {
    { "none", 0 },
    { "read", IH_HSE_URL_FLAGS_READ },
    /* IH_PERM_SCRIPT is 2, which is HSE_URL_FLAGS_WRITE: must not leak through */
    { "script", IH_HSE_URL_FLAGS_SCRIPT },
    { "execute", IH_HSE_URL_FLAGS_EXECUTE },
    { "read, script", IH_HSE_URL_FLAGS_READ | IH_HSE_URL_FLAGS_SCRIPT },
    { "read, execute", IH_HSE_URL_FLAGS_READ | IH_HSE_URL_FLAGS_EXECUTE },
    { "script, execute", IH_HSE_URL_FLAGS_SCRIPT | IH_HSE_URL_FLAGS_EXECUTE },
    { "read, script, execute", IH_HSE_URL_FLAGS_READ | IH_HSE_URL_FLAGS_SCRIPT | IH_HSE_URL_FLAGS_EXECUTE },
  };
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, "[site a]\nbindings = *:80\nroot = C:\\w\npermissions = %s\n[vdir a /v]\npath = D:\\v\n"
             "permissions = %s\n", sets[i].perms, sets[i].perms);
    ih_config *c = load(text);
    if (!c)
      continue;
    char path[64];
    ih_isapi_mapping m;
    IH_EQ_INT(ih_isapi_map_url(&c->sites[0], "/f", 2, path, sizeof path, &m), IH_MAP_OK);
    IH_EQ_INT(m.flags, sets[i].flags);
    IH_EQ_INT(ih_isapi_map_url(&c->sites[0], "/v/f", 4, path, sizeof path, &m), IH_MAP_OK);
    IH_EQ_INT(m.flags, sets[i].flags);
    IH_CHECK(!(m.flags & (IH_HSE_URL_FLAGS_WRITE | IH_HSE_URL_FLAGS_SSL)));
    ih_config_free(c);
  }
}

static void test_normalize(const ih_site *a)
{
  IH_TEST("normalize");
  static const struct {
    const char *in, *out;
  } ok[] = {
    { "/", "/" },
    { "/a/./b/../c%20d", "/a/c d" },
    { "\\a\\b\\", "/a/b/" },
    { "/a/b/..", "/a/" },
    { "/caf%C3%A9", "/caf\xc3\xa9" },
    { "/100%2525", "/100%25" },
    { "/a/b?x=%20&y=../..", "/a/b?x=%20&y=../.." },
    { "/x/../y?", "/y?" },
    { "/a%2fb", "/a/b" },
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char buf[128];
    memset(buf, 'Z', sizeof buf);
    size_t n = strlen(ok[i].in);
    memcpy(buf, ok[i].in, n + 1);
    enum ih_url_status why = IH_URL_TOO_LONG;
    IH_EQ_INT(ih_isapi_normalize_url(buf, n + 1, &why), IH_MAP_OK);
    IH_EQ_STR(buf, ok[i].out);
    IH_EQ_INT(why, IH_URL_OK);
    /* bytes after the input's NUL are never touched */
    IH_CHECK(buf[n + 1] == 'Z');
    /* idempotent on the path (no '%' left to decode) */
    if (!strchr(ok[i].out, '%')) {
      char again[128];
      memcpy(again, buf, strlen(buf) + 1);
      IH_EQ_INT(ih_isapi_normalize_url(again, sizeof again, NULL), IH_MAP_OK);
      IH_EQ_STR(again, buf);
    }
  }
  static const struct {
    const char *in;
    int status;
    enum ih_url_status why;
  } bad[] = {
    { "", IH_MAP_BAD_URL, IH_URL_BAD_FORM },
    { "a/b", IH_MAP_BAD_URL, IH_URL_BAD_FORM },
    { "/../x", IH_MAP_BAD_URL, IH_URL_ABOVE_ROOT },
    { "/scripts/..%2f..%2fwin.ini", IH_MAP_BAD_URL, IH_URL_ABOVE_ROOT },
    { "//srv/share", IH_MAP_BAD_URL, IH_URL_UNC },
    { "/a%zz", IH_MAP_BAD_URL, IH_URL_BAD_ESCAPE },
    { "/a%00", IH_MAP_BAD_URL, IH_URL_NUL },
    { "/CON", IH_MAP_NOT_FOUND, IH_URL_DEVICE_NAME },
    { "/x::$DATA", IH_MAP_NOT_FOUND, IH_URL_STREAM },
    { "/x.", IH_MAP_NOT_FOUND, IH_URL_TRAILING_DOT_SPACE },
    { "/PROGRA~1", IH_MAP_NOT_FOUND, IH_URL_SHORT_NAME },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char buf[64];
    size_t n = strlen(bad[i].in);
    memcpy(buf, bad[i].in, n + 1);
    enum ih_url_status why = IH_URL_OK;
    IH_EQ_INT(ih_isapi_normalize_url(buf, n + 1, &why), bad[i].status);
    IH_EQ_INT(why, bad[i].why);
    IH_EQ_STR(buf, bad[i].in); /* untouched */
    /* the same verdict as MAP_URL_TO_PATH for that URL */
    char path[64];
    ih_isapi_mapping m;
    IH_EQ_INT(ih_isapi_map_url(a, bad[i].in, n, path, sizeof path, &m), bad[i].status);
  }
  /* no NUL within cap, or no buffer: refused, nothing written */
  char nonul[4] = { '/', 'a', '/', '.' };
  IH_EQ_INT(ih_isapi_normalize_url(nonul, sizeof nonul, NULL), IH_MAP_BAD_URL);
  IH_CHECK(memcmp(nonul, "/a/.", 4) == 0);
  IH_EQ_INT(ih_isapi_normalize_url(NULL, 10, NULL), IH_MAP_BAD_URL);
  IH_EQ_INT(ih_isapi_normalize_url(nonul, 0, NULL), IH_MAP_BAD_URL);

  /* canonical longer than the router keeps: refused, like MAP_URL_TO_PATH */
  static char big[IH_ISAPI_URL_MAX + 2];
  big[0] = '/';
  memset(big + 1, 'b', IH_ISAPI_URL_MAX - 1);
  big[IH_ISAPI_URL_MAX] = '\0';
  enum ih_url_status why;
  IH_EQ_INT(ih_isapi_normalize_url(big, sizeof big, &why), IH_MAP_BAD_URL);
  IH_EQ_INT(why, IH_URL_TOO_LONG);
  IH_CHECK(big[1] == 'b' && big[IH_ISAPI_URL_MAX - 1] == 'b');

  /* a normalised URL maps to the same path as the original */
  static const char *const urls[] = { "/scripts/./x/../App.dll", "/%73cripts/x", "/drive%2fq" };
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
    char buf[64], p1[64], p2[64];
    ih_isapi_mapping m1, m2;
    memcpy(buf, urls[i], strlen(urls[i]) + 1);
    IH_EQ_INT(ih_isapi_map_url(a, buf, strlen(buf), p1, sizeof p1, &m1), IH_MAP_OK);
    IH_EQ_INT(ih_isapi_normalize_url(buf, strlen(buf) + 1, NULL), IH_MAP_OK);
    IH_EQ_INT(ih_isapi_map_url(a, buf, strlen(buf), p2, sizeof p2, &m2), IH_MAP_OK);
    IH_EQ_STR(p2, p1);
    IH_EQ_INT(m2.matching_url, m1.matching_url);
  }
}

/* MAP_URL_TO_PATH is the router's join: for every URL the string the
 * router opens and hands URL_MAP and PATH_TRANSLATED (core/physical_path.h),
 * the configured path in Windows form (config.c normalises it at load). */
static void test_same_join_as_the_router(const ih_site *a, const ih_site *rel)
{
  IH_TEST("map: the router's physical path, byte for byte");
  static const struct {
    int site;
    const char *url;
  } cases[] = {
    { 0, "/" }, { 0, "/uc/hello.htm" }, { 0, "/scripts" }, { 0, "/scripts/" }, { 0, "/scripts/oop/x.dll" },
    { 0, "/drive" }, { 0, "/drive/x/" }, { 0, "/data/f.txt" }, { 1, "/" }, { 1, "/x/uc/y.htm" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const ih_site *s = cases[i].site ? rel : a;
    ih_slice url = ih_slice_from_cstr(cases[i].url);
    const ih_vdir *v = ih_site_map_path(s, url, NULL);
    char routed[512], mapped[512];
    ih_physical_path pp;
    IH_CHECK(v && ih_physical_path_join(v, url, NULL, routed, sizeof routed, &pp));
    ih_isapi_mapping m;
    IH_EQ_INT(ih_isapi_map_url(s, cases[i].url, url.n, mapped, sizeof mapped, &m), IH_MAP_OK);
    IH_EQ_STR(mapped, routed);
    IH_EQ_INT(m.matching_path, pp.matching_path);
    IH_EQ_INT(m.matching_url, pp.matching_url);
  }
  /* the relative, '/'-written vdir of site rel is stored in Windows form */
  IH_EQ_STR(rel->vdirs[1].physical_path, "base\\sub\\dir\\");
}

int main(void)
{
  ih_config *c = load(config_text);
  if (c && c->site_count == 2) {
    test_mapping(&c->sites[0], &c->sites[1]);
    test_refused(&c->sites[0]);
    test_buffer_sizes(&c->sites[0]);
    test_normalize(&c->sites[0]);
    test_same_join_as_the_router(&c->sites[0], &c->sites[1]);
  }
  ih_config_free(c);
  test_flags();
  return ih_test_finish();
}
