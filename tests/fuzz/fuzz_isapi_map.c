/* libFuzzer target for isapi/shared/isapi_map.c (HSE_REQ_MAP_URL_TO_PATH(_EX),
 * HSE_REQ_NORMALIZE_URL).
 *
 * Input: byte 0 picks one of three configurations, byte 1 the output
 * buffer size, the rest is the URL the "DLL" passes. Checks:
 *  - the status agrees with ih_url_canonicalize on the part before '?'
 *    (the router's canonicaliser): OK exactly when it accepts, NOT_FOUND
 *    exactly for the alias names, BAD_URL otherwise;
 *  - exactly-sized heap buffers (ASan sees any overrun); INSUFFICIENT_BUFFER
 *    exactly when path_len + 1 > cap, and then not one byte written;
 *  - every mapped path: NUL at path_len, no '/', no "." or ".." segment, no
 *    doubled '\' after the vdir part, starts with the vdir's physical path,
 *    path + matching_path == canonical URL + matching_url with '/' -> '\',
 *    matching_url names the vdir, flags follow its permissions;
 *  - mapping in place (path buffer = URL buffer) gives the same result;
 *  - NORMALIZE_URL: same verdict as the mapping, buffer untouched on error,
 *    never longer, canonical path + query unchanged on success. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isapi/shared/isapi_map.h"

#define REQUIRE(cond)                                                                  \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      fprintf(stderr, "fuzz_isapi_map: %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
      abort();                                                                         \
    }                                                                                  \
  } while (0)

static const char *const config_texts[] = {
  "[site a]\nbindings = *:80\nroot = C:\\inetpub\\wwwroot\n"
  "[vdir a /scripts]\npath = C:\\inetpub\\scripts\\\npermissions = script, execute\n"
  "[vdir a /scripts/oop]\npath = D:/oop\npermissions = execute\n"
  "[vdir a /data]\npath = \\\\server\\share\\data\npermissions = none\n"
  "[vdir a /drive]\npath = E:\\\npermissions = read, script, execute\n"
  "[vdir a /caf\xc3\xa9]\npath = C:\\cafe\n",
  /* POSIX-looking roots: "/" alone, a trailing '/', a relative path */
  "[site b]\nbindings = *:80\nroot = /\npermissions = read, execute\n"
  "[vdir b /x]\npath = /srv/x/\n"
  "[vdir b /x/y/z]\npath = rel/z\npermissions = script\n",
  "[site c]\nbindings = *:80\nroot = C:\\\npermissions = none\n"
  "[vdir c /a]\npath = C:\\\\\n"
  "[vdir c /a/b]\npath = F:\\deep\\er\\path\\that\\is\\long\\enough\\to\\matter\\for\\max\\path\n",
};
#define NCONFIG (sizeof config_texts / sizeof config_texts[0])

static ih_config *configs[NCONFIG];

static void init_configs(void)
{
  if (configs[0])
    return;
  for (size_t i = 0; i < NCONFIG; i++) {
    char err[256];
    if (ih_config_parse(config_texts[i], strlen(config_texts[i]), "fuzz.ini", "", &configs[i], err, sizeof err)) {
      fprintf(stderr, "fuzz_isapi_map: config %zu: %s\n", i, err);
      abort();
    }
  }
}

static int is_alias(enum ih_url_status st)
{
  return st == IH_URL_STREAM || st == IH_URL_TRAILING_DOT_SPACE || st == IH_URL_DEVICE_NAME ||
         st == IH_URL_SHORT_NAME;
}

static int ieq(const char *a, const char *b, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z')
      x += 32;
    if (y >= 'A' && y <= 'Z')
      y += 32;
    if (x != y)
      return 0;
  }
  return 1;
}

static void check_path(const ih_site *site, const char *path, const ih_isapi_mapping *m, const char *canon,
                       size_t clen)
{
  REQUIRE(strlen(path) == m->path_len);
  REQUIRE(strchr(path, '/') == NULL);
  /* no dot segments anywhere (the configured paths have none either) */
  size_t seg = 0;
  for (size_t i = 0; i <= m->path_len; i++) {
    if (i == m->path_len || path[i] == '\\') {
      size_t n = i - seg;
      REQUIRE(!(n == 1 && path[seg] == '.'));
      REQUIRE(!(n == 2 && path[seg] == '.' && path[seg + 1] == '.'));
      seg = i + 1;
    }
  }
  /* separators are never doubled by the join or the rest */
  for (size_t i = m->matching_path ? m->matching_path : 1; i < m->path_len; i++)
    REQUIRE(!(path[i - 1] == '\\' && path[i] == '\\'));

  const ih_vdir *v = m->vdir;
  REQUIRE(v != NULL && v >= site->vdirs && v < site->vdirs + site->vdir_count);
  /* the vdir part is the configured physical path with '/' -> '\' */
  REQUIRE(m->matching_path <= m->path_len && m->matching_path <= strlen(v->physical_path));
  for (size_t i = 0; i < m->matching_path; i++) {
    char c = v->physical_path[i] == '/' ? '\\' : v->physical_path[i];
    REQUIRE(path[i] == c);
  }
  /* matching_url names the vdir: 0 for the root, else its url_path */
  size_t ulen = strlen(v->url_path);
  REQUIRE(m->matching_url == (ulen <= 1 ? 0 : ulen));
  REQUIRE(m->matching_url <= clen && ieq(canon, v->url_path, m->matching_url));
  /* the rest is the canonical URL's rest */
  REQUIRE(m->path_len - m->matching_path == clen - m->matching_url);
  for (size_t i = 0; i < clen - m->matching_url; i++) {
    char c = canon[m->matching_url + i];
    REQUIRE(path[m->matching_path + i] == (c == '/' ? '\\' : c));
  }
  uint32_t want = 0;
  if (v->permissions & IH_PERM_READ)
    want |= IH_HSE_URL_FLAGS_READ;
  if (v->permissions & IH_PERM_SCRIPT)
    want |= IH_HSE_URL_FLAGS_SCRIPT;
  if (v->permissions & IH_PERM_EXECUTE)
    want |= IH_HSE_URL_FLAGS_EXECUTE;
  REQUIRE(m->flags == want);
}

static void same_mapping(const ih_isapi_mapping *a, const ih_isapi_mapping *b)
{
  REQUIRE(a->path_len == b->path_len && a->flags == b->flags && a->matching_path == b->matching_path &&
          a->matching_url == b->matching_url && a->vdir == b->vdir && a->url_status == b->url_status);
}

static void check_map(const ih_site *site, const char *url, size_t url_len, size_t cap)
{
  /* reference verdict: the router's canonicaliser on the part before '?' */
  const char *q = memchr(url, '?', url_len);
  size_t part = q ? (size_t)(q - url) : url_len;
  char canon[IH_ISAPI_URL_MAX];
  size_t clen = 0;
  enum ih_url_status ref = ih_url_canonicalize((ih_slice){ url, part }, canon, sizeof canon, &clen);

  char *buf = malloc(cap ? cap : 1);
  char *before = malloc(cap ? cap : 1);
  memset(buf, 0xA5, cap ? cap : 1);
  memcpy(before, buf, cap ? cap : 1);
  ih_isapi_mapping m;
  enum ih_isapi_map_status st = ih_isapi_map_url(site, url, url_len, cap ? buf : NULL, cap, &m);
  REQUIRE(m.url_status == ref);
  if (ref != IH_URL_OK) {
    REQUIRE(st == (is_alias(ref) ? IH_MAP_NOT_FOUND : IH_MAP_BAD_URL));
    REQUIRE(memcmp(buf, before, cap ? cap : 1) == 0);
    free(buf);
    free(before);
    return;
  }
  REQUIRE(st == IH_MAP_OK || st == IH_MAP_INSUFFICIENT_BUFFER);
  REQUIRE((st == IH_MAP_INSUFFICIENT_BUFFER) == (m.path_len + 1 > cap));
  if (st == IH_MAP_INSUFFICIENT_BUFFER)
    REQUIRE(memcmp(buf, before, cap ? cap : 1) == 0);

  /* exactly the size asked for: OK, same answer */
  char *exact = malloc(m.path_len + 1);
  ih_isapi_mapping m2;
  REQUIRE(ih_isapi_map_url(site, url, url_len, exact, m.path_len + 1, &m2) == IH_MAP_OK);
  same_mapping(&m, &m2);
  if (st == IH_MAP_OK) {
    REQUIRE(memcmp(buf, exact, m.path_len + 1) == 0);
    /* nothing written after the NUL */
    REQUIRE(memcmp(buf + m.path_len + 1, before + m.path_len + 1, cap - m.path_len - 1) == 0);
  }
  check_path(site, exact, &m2, canon, clen);

  /* in place, as HSE_REQ_MAP_URL_TO_PATH does it */
  size_t icap = (url_len > m.path_len ? url_len : m.path_len) + 1;
  char *inplace = malloc(icap);
  memcpy(inplace, url, url_len);
  inplace[url_len] = '\0';
  ih_isapi_mapping m3;
  REQUIRE(ih_isapi_map_url(site, inplace, url_len, inplace, icap, &m3) == IH_MAP_OK);
  same_mapping(&m, &m3);
  REQUIRE(memcmp(inplace, exact, m.path_len + 1) == 0);

  free(inplace);
  free(exact);
  free(buf);
  free(before);
}

static void check_normalize(const ih_site *site, const char *url, size_t url_len)
{
  /* the DLL's string ends at its first NUL */
  const char *nul = memchr(url, '\0', url_len);
  size_t len = nul ? (size_t)(nul - url) : url_len;
  char *buf = malloc(len + 1);
  memcpy(buf, url, len);
  buf[len] = '\0';
  enum ih_url_status why;
  enum ih_isapi_map_status st = ih_isapi_normalize_url(buf, len + 1, &why);

  ih_isapi_mapping m;
  enum ih_isapi_map_status mst = ih_isapi_map_url(site, url, len, NULL, 0, &m);
  REQUIRE(why == m.url_status);
  if (mst == IH_MAP_INSUFFICIENT_BUFFER)
    mst = IH_MAP_OK;
  REQUIRE(st == mst);
  if (st != IH_MAP_OK) {
    REQUIRE(memcmp(buf, url, len) == 0 && buf[len] == '\0');
    free(buf);
    return;
  }
  size_t out = strlen(buf);
  REQUIRE(out <= len);
  const char *q = memchr(url, '?', len);
  size_t part = q ? (size_t)(q - url) : len;
  char canon[IH_ISAPI_URL_MAX];
  size_t clen = 0;
  REQUIRE(ih_url_canonicalize((ih_slice){ url, part }, canon, sizeof canon, &clen) == IH_URL_OK);
  REQUIRE(out == clen + (len - part));
  REQUIRE(memcmp(buf, canon, clen) == 0);
  REQUIRE(memcmp(buf + clen, url + part, len - part) == 0);
  /* the path part has no dot segments */
  REQUIRE(strstr(canon, "/./") == NULL && strstr(canon, "/../") == NULL);
  free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  init_configs();
  if (size < 2)
    return 0;
  const ih_site *site = &configs[data[0] % NCONFIG]->sites[0];
  /* buffer sizes around the interesting ones: 0, tiny, MAX_PATH, large */
  static const size_t caps[] = { 0, 1, 2, 8, 32, IH_ISAPI_MAX_PATH, 1024, 4200 };
  size_t cap = caps[data[1] % (sizeof caps / sizeof caps[0])] + (data[1] >> 3) % 4;
  /* copy so that reads past the end of the URL are caught by ASan */
  size_t n = size - 2;
  char *url = malloc(n ? n : 1);
  if (n)
    memcpy(url, data + 2, n);
  check_map(site, url, n, cap);
  check_normalize(site, url, n);
  free(url);
  return 0;
}
