/* Unit tests for service/core/physical_path.c: the one URL -> physical path
 * join (root, vdirs, trailing separators, drive and UNC roots, default
 * document leaves, refusal of what does not fit, the matching counts and
 * their invariant) and the Windows form configured paths are put in at load. */
#include <stdio.h>
#include <string.h>

#include "core/physical_path.h"
#include "ih_test.h"

static ih_vdir vdir(const char *url_path, const char *physical)
{
  return (ih_vdir){ .url_path = (char *)url_path, .physical_path = (char *)physical, .permissions = IH_PERM_READ };
}

/* out + matching_path equals url + matching_url (then the leaf) with '/'
 * written '\', and no '/' is left anywhere. */
static void check_invariant(const char *url, const char *leaf, const char *out, const ih_physical_path *pp)
{
  char want[512];
  size_t k = 0;
  for (size_t i = pp->matching_url; url[i] && k < sizeof want - 1; i++)
    want[k++] = url[i] == '/' ? '\\' : url[i];
  if (leaf && *leaf) {
    if (!(k ? want[k - 1] == '\\' : pp->matching_path && out[pp->matching_path - 1] == '\\'))
      want[k++] = '\\';
    for (; *leaf && k < sizeof want - 1; leaf++)
      want[k++] = *leaf == '/' ? '\\' : *leaf;
  }
  IH_CHECK(pp->matching_path <= pp->len);
  if (pp->matching_path <= pp->len)
    IH_EQ_MEM(out + pp->matching_path, pp->len - pp->matching_path, want, k);
  IH_CHECK(strchr(out, '/') == NULL);
}

static void test_join(void)
{
  IH_TEST("join: root, vdirs, trailing separators, drive and UNC roots, '/' in the configuration");
  static const struct {
    const char *url_path, *physical, *url, *leaf, *want;
    size_t matching_path, matching_url;
  } cases[] = {
    /* the root: its URL prefix is empty, so "/" is "root\" */
    { "/", "C:\\www", "/", NULL, "C:\\www\\", 6, 0 },
    { "/", "C:\\www", "/uc/hello.htm", NULL, "C:\\www\\uc\\hello.htm", 6, 0 },
    { "/", "C:\\www", "/a/b/", NULL, "C:\\www\\a\\b\\", 6, 0 },
    { "/", "C:\\www", "/sub", NULL, "C:\\www\\sub", 6, 0 },
    /* configured trailing separators are not doubled */
    { "/", "C:\\www\\", "/a.txt", NULL, "C:\\www\\a.txt", 6, 0 },
    { "/", "C:\\www\\\\", "/a.txt", NULL, "C:\\www\\a.txt", 6, 0 },
    { "/", "C:\\www\\", "/", NULL, "C:\\www\\", 6, 0 },
    /* a vdir: its prefix is replaced by its directory; a trailing '/' in
     * the URL gives a trailing '\' (ms525532's examples) */
    { "/scripts", "C:\\inetpub\\scripts\\", "/scripts", NULL, "C:\\inetpub\\scripts", 18, 8 },
    { "/scripts", "C:\\inetpub\\scripts\\", "/scripts/", NULL, "C:\\inetpub\\scripts\\", 18, 8 },
    { "/scripts", "C:\\inetpub\\scripts", "/Scripts/App.dll/extra", NULL, "C:\\inetpub\\scripts\\App.dll\\extra", 18,
      8 },
    { "/a/b", "D:\\deep", "/a/b/c.htm", NULL, "D:\\deep\\c.htm", 7, 4 },
    /* a drive root stays whole, never the drive-relative "E:" */
    { "/drive", "E:\\", "/drive", NULL, "E:\\", 3, 6 },
    { "/drive", "E:\\", "/drive/", NULL, "E:\\", 2, 6 },
    { "/drive", "E:\\", "/drive/x/y.txt", NULL, "E:\\x\\y.txt", 2, 6 },
    { "/drive", "E:\\\\", "/drive", NULL, "E:\\", 3, 6 },
    { "/drive", "E:/", "/drive/x", NULL, "E:\\x", 2, 6 },
    { "/", "\\\\?\\C:\\", "/", NULL, "\\\\?\\C:\\", 6, 0 },
    { "/", "\\\\?\\C:\\", "/x", NULL, "\\\\?\\C:\\x", 6, 0 },
    { "/", "\\", "/a", NULL, "\\a", 0, 0 },
    { "/", "\\\\server\\share\\", "/f.txt", NULL, "\\\\server\\share\\f.txt", 14, 0 },
    /* '/' anywhere in the configured path is written '\' */
    { "/", "d:/www/", "/a/b", NULL, "d:\\www\\a\\b", 6, 0 },
    { "/x", "base/sub/dir/", "/x/y", NULL, "base\\sub\\dir\\y", 12, 2 },
    /* default documents: one '\' before the leaf, whatever the URL ends with */
    { "/", "C:\\www", "/", "default.htm", "C:\\www\\default.htm", 6, 0 },
    { "/", "C:\\www\\", "/sub/", "index.html", "C:\\www\\sub\\index.html", 6, 0 },
    { "/scripts", "C:\\inetpub\\scripts", "/scripts", "default.htm", "C:\\inetpub\\scripts\\default.htm", 18, 8 },
    { "/drive", "E:\\", "/drive", "default.htm", "E:\\default.htm", 3, 6 },
    { "/drive", "E:\\", "/drive/", "default.htm", "E:\\default.htm", 2, 6 },
    { "/", "C:\\www", "/sub/", "", "C:\\www\\sub\\", 6, 0 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ih_vdir v = vdir(cases[i].url_path, cases[i].physical);
    char out[512];
    memset(out, 'Z', sizeof out);
    ih_physical_path pp;
    bool ok = ih_physical_path_join(&v, ih_slice_from_cstr(cases[i].url), cases[i].leaf, out, sizeof out, &pp);
    if (!IH_CHECK(ok)) {
      ih_test_note("case %zu: %s + %s refused", i, cases[i].physical, cases[i].url);
      continue;
    }
    if (!IH_EQ_STR(out, cases[i].want))
      ih_test_note("case %zu: %s + %s", i, cases[i].physical, cases[i].url);
    IH_EQ_INT(pp.len, strlen(cases[i].want));
    IH_EQ_INT(pp.matching_path, cases[i].matching_path);
    IH_EQ_INT(pp.matching_url, cases[i].matching_url);
    IH_CHECK(out[pp.len + 1] == 'Z'); /* nothing written after the NUL */
    check_invariant(cases[i].url, cases[i].leaf, out, &pp);
  }
  /* info is optional */
  ih_vdir v = vdir("/", "C:\\www");
  char out[64];
  IH_CHECK(ih_physical_path_join(&v, IH_SLICE_LIT("/a"), NULL, out, sizeof out, NULL));
  IH_EQ_STR(out, "C:\\www\\a");
  /* the URL is a slice: its length, not a NUL, ends it */
  IH_CHECK(ih_physical_path_join(&v, (ih_slice){ "/a/b.htm", 2 }, NULL, out, sizeof out, NULL));
  IH_EQ_STR(out, "C:\\www\\a");
}

static void test_too_long(void)
{
  IH_TEST("join: a path that does not fit is refused whole, with its length; a size query");
  ih_vdir v = vdir("/", "C:\\www");
  const char *want = "C:\\www\\uc\\hello.htm"; /* 19 bytes */
  ih_physical_path pp;
  char out[64];
  memset(out, 'Z', sizeof out);
  IH_CHECK(!ih_physical_path_join(&v, IH_SLICE_LIT("/uc/hello.htm"), NULL, out, 19, &pp)); /* no room for the NUL */
  IH_EQ_INT(pp.len, 19);
  IH_EQ_INT(pp.matching_path, 6);
  for (size_t i = 0; i < sizeof out; i++)
    if (!IH_CHECK(out[i] == 'Z')) /* never a truncated path */
      break;
  IH_CHECK(ih_physical_path_join(&v, IH_SLICE_LIT("/uc/hello.htm"), NULL, out, 20, &pp));
  IH_EQ_STR(out, want);
  IH_CHECK(!ih_physical_path_join(&v, IH_SLICE_LIT("/uc/hello.htm"), NULL, NULL, 0, &pp)); /* size query */
  IH_EQ_INT(pp.len, 19);
  /* the leaf counts too */
  IH_CHECK(!ih_physical_path_join(&v, IH_SLICE_LIT("/uc/"), "hello.htm", out, 19, &pp));
  IH_EQ_INT(pp.len, 19);
  /* a URL as long as the router takes, under a long root, exceeds the
   * router's buffer: refused (the router answers 414) */
  static char url[2048], root[2100];
  memset(url, 'a', sizeof url - 1);
  url[0] = '/';
  memset(root, 'r', sizeof root - 1);
  root[0] = 'C', root[1] = ':', root[2] = '\\';
  ih_vdir deep = vdir("/", root);
  static char big[IH_PHYSICAL_PATH_MAX];
  IH_CHECK(!ih_physical_path_join(&deep, ih_slice_from_cstr(url), NULL, big, sizeof big, &pp));
  IH_EQ_INT(pp.len, strlen(root) + strlen(url));
}

static void test_normalize(void)
{
  IH_TEST("normalize: every '/' of a configured path becomes '\\'");
  char a[] = "base/www", b[] = "d:/x/y/", c[] = "C:\\already\\so", d[] = "";
  ih_physical_path_normalize(a);
  ih_physical_path_normalize(b);
  ih_physical_path_normalize(c);
  ih_physical_path_normalize(d);
  ih_physical_path_normalize(NULL);
  IH_EQ_STR(a, "base\\www");
  IH_EQ_STR(b, "d:\\x\\y\\");
  IH_EQ_STR(c, "C:\\already\\so");
  IH_EQ_STR(d, "");
}

static void test_config_paths(void)
{
  IH_TEST("config: roots, vdir paths and error pages are loaded in Windows form");
  static const char text[] = "[site a]\nbindings = *:80\nroot = www\nerror_page.404 = errors/404.htm\n"
                             "[vdir a /v]\npath = d:/data/v/\n"
                             "[vdir a /u]\npath = /srv/u\n";
  static const struct {
    const char *base, *root, *v, *u, *page;
  } cases[] = {
    { "C:\\cfg", "C:\\cfg\\www", "d:\\data\\v\\", "\\srv\\u", "C:\\cfg\\errors\\404.htm" },
    { "C:\\cfg\\", "C:\\cfg\\www", "d:\\data\\v\\", "\\srv\\u", "C:\\cfg\\errors\\404.htm" },
    { "/etc/isapihost", "\\etc\\isapihost\\www", "d:\\data\\v\\", "\\srv\\u", "\\etc\\isapihost\\errors\\404.htm" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[256] = "";
    ih_config *c = NULL;
    if (ih_config_parse(text, sizeof text - 1, "t.ini", cases[i].base, &c, err, sizeof err) != 0) {
      ih_test_note("config: %s", err);
      IH_CHECK(c != NULL);
      continue;
    }
    const ih_site *s = &c->sites[0];
    IH_EQ_STR(s->vdirs[0].physical_path, cases[i].root);
    for (size_t k = 1; k < s->vdir_count; k++)
      IH_EQ_STR(s->vdirs[k].physical_path, strcmp(s->vdirs[k].url_path, "/v") == 0 ? cases[i].v : cases[i].u);
    const ih_error_page *e = ih_site_error_page(s, 404);
    IH_EQ_STR(e ? e->physical_path : "", cases[i].page);
    /* and a join from them is all '\' */
    char out[256];
    IH_CHECK(ih_physical_path_join(&s->vdirs[0], IH_SLICE_LIT("/uc/hello.htm"), NULL, out, sizeof out, NULL));
    IH_CHECK(strchr(out, '/') == NULL);
    ih_config_free(c);
  }
}

int main(void)
{
  test_join();
  test_too_long();
  test_normalize();
  test_config_paths();
  return ih_test_finish();
}
