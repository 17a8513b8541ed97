/* Unit tests for service/http/url_canon.c: a table of canonicalisation
 * vectors {raw path, status, canonical path}, buffer-size behaviour, long
 * inputs, ih_url_split and ih_url_status_text. */
#include "http/url_canon.h"
#include "ih_test.h"

#include <stdio.h>
#include <string.h>

typedef struct vec {
  const char *in;
  size_t len; /* sizeof the literal - 1, so embedded NULs count */
  enum ih_url_status st;
  const char *out; /* canonical path when st == IH_URL_OK */
} vec;

#define OK(in, out) { in, sizeof(in) - 1, IH_URL_OK, out }
#define BAD(in, st) { in, sizeof(in) - 1, st, "" }

static const vec vectors[] = {
  /* plain paths and empty segments */
  OK("/", "/"),
  OK("/a", "/a"),
  OK("/a/b", "/a/b"),
  OK("/a/b/", "/a/b/"),
  OK("/index.html", "/index.html"),
  OK("/a//b", "/a/b"),
  OK("/a///b//", "/a/b/"),
  OK("/a/b//", "/a/b/"),
  OK("/a b", "/a b"),
  OK("/a+b", "/a+b"),
  OK("/a+b/c+d?", "/a+b/c+d?"), /* canonicalize sees paths only; '?' is literal */
  OK("/.htaccess", "/.htaccess"),
  OK("/a.b.c", "/a.b.c"),
  /* dot segments (RFC 3986 §5.2.4) */
  OK("/.", "/"),
  OK("/./", "/"),
  OK("/./a", "/a"),
  OK("/.//a", "/a"),
  OK("/a/.", "/a/"),
  OK("/a/./", "/a/"),
  OK("/a/./b", "/a/b"),
  OK("/a/b/.", "/a/b/"),
  OK("/a/..", "/"),
  OK("/a/../", "/"),
  OK("/a/../b/", "/b/"),
  OK("/a/b/..", "/a/"),
  OK("/a/b/../c", "/a/c"),
  OK("/a/b/../../c", "/c"),
  OK("/a/./../b", "/b"),
  OK("/a/b/c/../../d/./e/..", "/a/d/"),
  OK("/a/../b/../c", "/c"),
  OK("/a/.b", "/a/.b"),
  OK("/a/..b", "/a/..b"),
  OK("/a/b..c", "/a/b..c"),
  /* percent-decoded dot segments and separators */
  OK("/a/%2e/b", "/a/b"),
  OK("/a/%2E", "/a/"),
  OK("/a/b/%2e", "/a/b/"),
  OK("/a/%2e%2e/b", "/b"),
  OK("/a/%2E%2E/b", "/b"),
  OK("/a/.%2e/b", "/b"),
  OK("/a/%2e./b", "/b"),
  OK("/a/b/%2e%2e", "/a/"),
  OK("/a%2fb", "/a/b"),
  OK("/a%2Fb", "/a/b"),
  OK("/a/b%2f", "/a/b/"),
  OK("/a%2F..%2Fb", "/b"),
  OK("/a%2f%2e%2e%2fb", "/b"),
  OK("/a\\b", "/a/b"),
  OK("\\a\\b", "/a/b"),
  OK("\\", "/"),
  OK("/a/b\\", "/a/b/"),
  OK("/a\\..\\b", "/b"),
  OK("/a%5cb", "/a/b"),
  OK("/a%5C..%5Cb", "/b"),
  OK("/a/%5c", "/a/"),
  /* decode exactly once */
  OK("/%41%42c", "/ABc"),
  OK("/%7e", "/~"),
  OK("/a%20b", "/a b"),
  OK("/a%2bb", "/a+b"),
  OK("/a%25", "/a%"),
  OK("/%25", "/%"),
  OK("/%252e", "/%2e"),
  OK("/%252e%252e/x", "/%2e%2e/x"),
  OK("/%25%32%65", "/%2e"),
  OK("/%252F", "/%2F"),
  OK("/%255c", "/%5c"),
  OK("/%3f%23", "/?#"),
  OK("/%7B%7d", "/{}"),
  /* valid UTF-8, encoded or raw */
  OK("/caf%C3%A9", "/caf\xC3\xA9"),
  OK("/caf\xC3\xA9", "/caf\xC3\xA9"),
  OK("/%c3%a9t%c3%a9/", "/\xC3\xA9t\xC3\xA9/"),
  OK("/%E2%82%AC", "/\xE2\x82\xAC"),
  OK("/%F0%9F%98%80", "/\xF0\x9F\x98\x80"),
  OK("/\xF0\x9F\x98\x80", "/\xF0\x9F\x98\x80"),
  OK("/%C3\xA9", "/\xC3\xA9"), /* one byte escaped, one raw: the same string */
  OK("/%C2%80", "/\xC2\x80"),
  OK("/%DF%BF", "/\xDF\xBF"),
  OK("/%E0%A0%80", "/\xE0\xA0\x80"),
  OK("/%ED%9F%BF", "/\xED\x9F\xBF"),
  OK("/%EE%80%80", "/\xEE\x80\x80"),
  OK("/%EF%BF%BF", "/\xEF\xBF\xBF"),
  OK("/%F0%90%80%80", "/\xF0\x90\x80\x80"),
  OK("/%F4%8F%BF%BF", "/\xF4\x8F\xBF\xBF"),
  OK("/%EF%BC%8E", "/\xEF\xBC\x8E"), /* U+FF0E fullwidth '.' is just a character */
  /* names close to the Windows rules that are fine */
  OK("/console", "/console"),
  OK("/com10", "/com10"),
  OK("/lpt", "/lpt"),
  OK("/com", "/com"),
  OK("/conx", "/conx"),
  OK("/xcon", "/xcon"),
  OK("/con_", "/con_"),
  OK("/com1a", "/com1a"),
  OK("/com1$", "/com1$"),
  OK("/conin", "/conin"),
  OK("/CONIN$x", "/CONIN$x"),
  OK("/.con", "/.con"),
  OK("/a.con", "/a.con"),
  OK("/a.nul.txt", "/a.nul.txt"),
  OK("/lpt%C2%B4", "/lpt\xC2\xB4"), /* U+00B4 is not a superscript digit */
  OK("/com%C2%B9x", "/com\xC2\xB9x"),
  OK("/com%C2%B4", "/com\xC2\xB4"),
  OK("/~user", "/~user"),
  OK("/~user/x", "/~user/x"),
  OK("/a~b", "/a~b"),
  OK("/a~", "/a~"),
  OK("/~", "/~"),
  OK("/a~1b", "/a~1b"),
  OK("/a.~1", "/a.~1"),
  OK("/a.b~1", "/a.b~1"),
  OK("/.a .b", "/.a .b"),
  OK("/a. b", "/a. b"),
  OK("/ a", "/ a"),

  /* UNC and device namespace */
  BAD("//", IH_URL_UNC),
  BAD("///", IH_URL_UNC),
  BAD("//server/share", IH_URL_UNC),
  BAD("\\\\server\\share", IH_URL_UNC),
  BAD("\\\\?\\C:\\x", IH_URL_UNC),
  BAD("\\\\.\\pipe\\x", IH_URL_UNC),
  BAD("/\\server", IH_URL_UNC),
  BAD("\\/server", IH_URL_UNC),
  BAD("/%5Cserver", IH_URL_UNC),
  BAD("/%5c%5cserver", IH_URL_UNC),
  BAD("%5C%5Cserver", IH_URL_UNC),
  BAD("/%2f", IH_URL_UNC),
  BAD("/%2Fetc/passwd", IH_URL_UNC),
  BAD("//con", IH_URL_UNC),

  /* not a path */
  BAD("", IH_URL_BAD_FORM),
  BAD("a", IH_URL_BAD_FORM),
  BAD("a/b", IH_URL_BAD_FORM),
  BAD("*", IH_URL_BAD_FORM),
  BAD(".", IH_URL_BAD_FORM),
  BAD("..", IH_URL_BAD_FORM),
  BAD(" /a", IH_URL_BAD_FORM),
  BAD("%2Fa", IH_URL_BAD_FORM),
  BAD("%5Ca", IH_URL_BAD_FORM),
  BAD("http://x/", IH_URL_BAD_FORM),
  BAD("c:/x", IH_URL_BAD_FORM),

  /* bad escapes */
  BAD("/%", IH_URL_BAD_ESCAPE),
  BAD("/%4", IH_URL_BAD_ESCAPE),
  BAD("/a%", IH_URL_BAD_ESCAPE),
  BAD("/a%2", IH_URL_BAD_ESCAPE),
  BAD("/%G0", IH_URL_BAD_ESCAPE),
  BAD("/%0G", IH_URL_BAD_ESCAPE),
  BAD("/%%41", IH_URL_BAD_ESCAPE),
  BAD("/%-1", IH_URL_BAD_ESCAPE),
  BAD("/% 41", IH_URL_BAD_ESCAPE),
  BAD("/%x41", IH_URL_BAD_ESCAPE),
  BAD("/%u002e", IH_URL_BAD_ESCAPE), /* IIS %u escapes are not decoded */
  BAD("/%2e%", IH_URL_BAD_ESCAPE),
  BAD("%zz", IH_URL_BAD_ESCAPE), /* byte problems come before BAD_FORM */

  /* NUL */
  BAD("/%00", IH_URL_NUL),
  BAD("/a%00.txt", IH_URL_NUL),
  BAD("/a%00", IH_URL_NUL),
  BAD("/\0", IH_URL_NUL),
  BAD("/a\0b", IH_URL_NUL),
  BAD("\0/a", IH_URL_NUL),

  /* control characters */
  BAD("/%01", IH_URL_CONTROL),
  BAD("/%09", IH_URL_CONTROL),
  BAD("/%0a", IH_URL_CONTROL),
  BAD("/a%0D%0AX-Injected:%201", IH_URL_CONTROL),
  BAD("/%1f", IH_URL_CONTROL),
  BAD("/%1F", IH_URL_CONTROL),
  BAD("/%7f", IH_URL_CONTROL),
  BAD("/%7F", IH_URL_CONTROL),
  BAD("/a\tb", IH_URL_CONTROL),
  BAD("/a\x01", IH_URL_CONTROL),
  BAD("/a\x7f", IH_URL_CONTROL),
  BAD("/a\r\n", IH_URL_CONTROL),

  /* invalid UTF-8 after decoding */
  BAD("/%C0%AF", IH_URL_BAD_UTF8),     /* overlong '/' */
  BAD("/%C0%AE%C0%AE/x", IH_URL_BAD_UTF8), /* overlong ".." */
  BAD("/%C1%BF", IH_URL_BAD_UTF8),
  BAD("/%E0%80%AF", IH_URL_BAD_UTF8),
  BAD("/%E0%9F%BF", IH_URL_BAD_UTF8),
  BAD("/%F0%80%80%AF", IH_URL_BAD_UTF8),
  BAD("/%F0%8F%BF%BF", IH_URL_BAD_UTF8),
  BAD("/%ED%A0%80", IH_URL_BAD_UTF8),  /* U+D800 */
  BAD("/%ED%BF%BF", IH_URL_BAD_UTF8),  /* U+DFFF */
  BAD("/%ED%A0%BD%ED%B8%80", IH_URL_BAD_UTF8), /* CESU-8 surrogate pair */
  BAD("/%F4%90%80%80", IH_URL_BAD_UTF8), /* U+110000 */
  BAD("/%F5%80%80%80", IH_URL_BAD_UTF8),
  BAD("/%F8%88%80%80%80", IH_URL_BAD_UTF8),
  BAD("/%FE", IH_URL_BAD_UTF8),
  BAD("/%FF", IH_URL_BAD_UTF8),
  BAD("/%80", IH_URL_BAD_UTF8),
  BAD("/%BF", IH_URL_BAD_UTF8),
  BAD("/a%C3", IH_URL_BAD_UTF8),
  BAD("/%C3/", IH_URL_BAD_UTF8),
  BAD("/%C3a", IH_URL_BAD_UTF8),
  BAD("/%E2%82", IH_URL_BAD_UTF8),
  BAD("/%E2%82/x", IH_URL_BAD_UTF8),
  BAD("/%F0%9F%98", IH_URL_BAD_UTF8),
  BAD("/%C3%A9%A9", IH_URL_BAD_UTF8),
  BAD("/\xC3", IH_URL_BAD_UTF8),
  BAD("/\xC0\xAF", IH_URL_BAD_UTF8),
  BAD("/\xE2\x82", IH_URL_BAD_UTF8),
  BAD("/\xFF", IH_URL_BAD_UTF8),

  /* above the root */
  BAD("/..", IH_URL_ABOVE_ROOT),
  BAD("/../", IH_URL_ABOVE_ROOT),
  BAD("/../a", IH_URL_ABOVE_ROOT),
  BAD("/./..", IH_URL_ABOVE_ROOT),
  BAD("/a/../..", IH_URL_ABOVE_ROOT),
  BAD("/a/b/../../../c", IH_URL_ABOVE_ROOT),
  BAD("/a/../../b/..", IH_URL_ABOVE_ROOT),
  BAD("/%2e%2e", IH_URL_ABOVE_ROOT),
  BAD("/%2E%2E/", IH_URL_ABOVE_ROOT),
  BAD("/.%2e/etc/passwd", IH_URL_ABOVE_ROOT),
  BAD("\\..\\windows\\win.ini", IH_URL_ABOVE_ROOT),
  BAD("/a%2f..%2f..%2fb", IH_URL_ABOVE_ROOT),
  BAD("/a%5c..%5c..%5cb", IH_URL_ABOVE_ROOT),
  BAD("/../con", IH_URL_ABOVE_ROOT), /* left to right: ".." comes first */

  /* NTFS alternate data streams and drive letters */
  BAD("/file.txt::$DATA", IH_URL_STREAM),
  BAD("/default.asp::$data", IH_URL_STREAM),
  BAD("/file.txt:secret", IH_URL_STREAM),
  BAD("/dir::$INDEX_ALLOCATION/x", IH_URL_STREAM),
  BAD("/c:/x", IH_URL_STREAM),
  BAD("/C:", IH_URL_STREAM),
  BAD("/a/b:c", IH_URL_STREAM),
  BAD("/a%3ab", IH_URL_STREAM),
  BAD("/a%3Ab", IH_URL_STREAM),
  BAD("/:", IH_URL_STREAM),
  BAD("/..:", IH_URL_STREAM),
  BAD("/a:b/../c", IH_URL_STREAM), /* removed segments are checked too */
  BAD("/con:", IH_URL_STREAM),
  BAD("/a~1:x", IH_URL_STREAM),

  /* trailing dots and spaces */
  BAD("/index.html.", IH_URL_TRAILING_DOT_SPACE),
  BAD("/index.html%2e", IH_URL_TRAILING_DOT_SPACE),
  BAD("/index.html%2E/", IH_URL_TRAILING_DOT_SPACE),
  BAD("/a ", IH_URL_TRAILING_DOT_SPACE),
  BAD("/a%20", IH_URL_TRAILING_DOT_SPACE),
  BAD("/ ", IH_URL_TRAILING_DOT_SPACE),
  BAD("/...", IH_URL_TRAILING_DOT_SPACE),
  BAD("/....", IH_URL_TRAILING_DOT_SPACE),
  BAD("/x/.../y", IH_URL_TRAILING_DOT_SPACE),
  BAD("/. ", IH_URL_TRAILING_DOT_SPACE),
  BAD("/.. ", IH_URL_TRAILING_DOT_SPACE),
  BAD("/%2e%2e%20", IH_URL_TRAILING_DOT_SPACE),
  BAD("/a./b", IH_URL_TRAILING_DOT_SPACE),
  BAD("/a ./b", IH_URL_TRAILING_DOT_SPACE),
  BAD("/a. ", IH_URL_TRAILING_DOT_SPACE),
  BAD("/dir%2e/x", IH_URL_TRAILING_DOT_SPACE),
  BAD("/a%2e%2e", IH_URL_TRAILING_DOT_SPACE),
  BAD("/.a.", IH_URL_TRAILING_DOT_SPACE),
  BAD("/con.", IH_URL_TRAILING_DOT_SPACE),
  BAD("/PROGRA~1.", IH_URL_TRAILING_DOT_SPACE),
  BAD("/secret.txt%20%20", IH_URL_TRAILING_DOT_SPACE),

  /* reserved device names */
  BAD("/con", IH_URL_DEVICE_NAME),
  BAD("/CON", IH_URL_DEVICE_NAME),
  BAD("/Con.txt", IH_URL_DEVICE_NAME),
  BAD("/nul", IH_URL_DEVICE_NAME),
  BAD("/nul.tar.gz", IH_URL_DEVICE_NAME),
  BAD("/prn", IH_URL_DEVICE_NAME),
  BAD("/aux.c", IH_URL_DEVICE_NAME),
  BAD("/AuX", IH_URL_DEVICE_NAME),
  BAD("/com0", IH_URL_DEVICE_NAME),
  BAD("/com1", IH_URL_DEVICE_NAME),
  BAD("/COM9", IH_URL_DEVICE_NAME),
  BAD("/COM1 .txt", IH_URL_DEVICE_NAME),
  BAD("/com1%20%20.txt", IH_URL_DEVICE_NAME),
  BAD("/lpt0", IH_URL_DEVICE_NAME),
  BAD("/lpt1", IH_URL_DEVICE_NAME),
  BAD("/LPT9.log", IH_URL_DEVICE_NAME),
  BAD("/conin$", IH_URL_DEVICE_NAME),
  BAD("/CONIN$.txt", IH_URL_DEVICE_NAME),
  BAD("/CONOUT$", IH_URL_DEVICE_NAME),
  BAD("/conout$.x.y", IH_URL_DEVICE_NAME),
  BAD("/com%C2%B9", IH_URL_DEVICE_NAME),
  BAD("/COM%c2%b2", IH_URL_DEVICE_NAME),
  BAD("/com%C2%B3.txt", IH_URL_DEVICE_NAME),
  BAD("/LPT%C2%B2.txt", IH_URL_DEVICE_NAME),
  BAD("/lpt\xC2\xB9", IH_URL_DEVICE_NAME),
  BAD("/con%20.txt", IH_URL_DEVICE_NAME),
  BAD("/con..txt", IH_URL_DEVICE_NAME),
  BAD("/%63%6f%6e", IH_URL_DEVICE_NAME),
  BAD("/a/b/nul", IH_URL_DEVICE_NAME),
  BAD("/nul/x", IH_URL_DEVICE_NAME),
  BAD("/con/../x", IH_URL_DEVICE_NAME),
  BAD("/con/../..", IH_URL_DEVICE_NAME),

  /* 8.3 short names */
  BAD("/PROGRA~1", IH_URL_SHORT_NAME),
  BAD("/progra~1/x", IH_URL_SHORT_NAME),
  BAD("/secret~12.txt", IH_URL_SHORT_NAME),
  BAD("/FOO~1.TXT", IH_URL_SHORT_NAME),
  BAD("/x/DOCUME~1/y", IH_URL_SHORT_NAME),
  BAD("/a~1", IH_URL_SHORT_NAME),
  BAD("/~1", IH_URL_SHORT_NAME),
  BAD("/a~b~3.txt", IH_URL_SHORT_NAME),
  BAD("/a~~1", IH_URL_SHORT_NAME),
  BAD("/a%7e1", IH_URL_SHORT_NAME),
  BAD("/WEB~1.CON", IH_URL_SHORT_NAME),
  BAD("/a~1.b~c/x", IH_URL_SHORT_NAME),

  /* ordering between problems */
  BAD("/con/%00", IH_URL_NUL),
  BAD("/%01%00", IH_URL_CONTROL),
  BAD("/%00%01", IH_URL_NUL),
  BAD("/%C3%00", IH_URL_NUL),
  BAD("/%zz%00", IH_URL_BAD_ESCAPE),
  BAD("/%00%zz", IH_URL_NUL),
  BAD("/con/%C3", IH_URL_BAD_UTF8),
  BAD("//%00", IH_URL_NUL),
  BAD("//..", IH_URL_UNC),
};


static void run_vector(const vec *v, size_t idx)
{
  char out[256];
  size_t out_len = 12345;
  memset(out, 'X', sizeof out);
  enum ih_url_status st = ih_url_canonicalize((ih_slice){ v->in, v->len }, out, sizeof out, &out_len);
  char label[64];
  snprintf(label, sizeof label, "vector %zu", idx);
  IH_TEST(label);
  if (!IH_EQ_INT(st, v->st))
    ih_test_note("  input \"%s\"", v->in);
  if (v->st == IH_URL_OK) {
    if (!IH_EQ_STR(out, v->out))
      ih_test_note("  input \"%s\"", v->in);
    IH_EQ_INT(out_len, strlen(v->out));
  } else {
    IH_EQ_STR(out, "");
    IH_EQ_INT(out_len, 0);
  }
}

static void test_table(void)
{
  size_t n = sizeof vectors / sizeof vectors[0];
  for (size_t i = 0; i < n; i++)
    run_vector(&vectors[i], i);
  ih_test_note("%zu canonicalisation vectors", n);
}

static enum ih_url_status canon(const char *in, char *out, size_t cap, size_t *len)
{
  return ih_url_canonicalize(ih_slice_from_cstr(in), out, cap, len);
}

static void test_buffer_sizes(void)
{
  IH_TEST("buffer sizes");
  char buf[16];
  size_t len = 99;

  /* exact fit needs room for the NUL; nothing past out_cap is written */
  memset(buf, 'X', sizeof buf);
  IH_EQ_INT(canon("/abc", buf, 4, &len), IH_URL_TOO_LONG);
  IH_EQ_STR(buf, "");
  IH_EQ_INT(len, 0);
  IH_CHECK(buf[4] == 'X' && buf[15] == 'X');
  memset(buf, 'X', sizeof buf);
  IH_EQ_INT(canon("/abc", buf, 5, &len), IH_URL_OK);
  IH_EQ_STR(buf, "/abc");
  IH_EQ_INT(len, 4);
  IH_CHECK(buf[5] == 'X');

  /* the root needs two bytes */
  memset(buf, 'X', sizeof buf);
  IH_EQ_INT(canon("/", buf, 1, &len), IH_URL_TOO_LONG);
  IH_EQ_INT(buf[0], 0);
  IH_CHECK(buf[1] == 'X');
  IH_EQ_INT(canon("/", buf, 2, &len), IH_URL_OK);
  IH_EQ_STR(buf, "/");
  IH_EQ_INT(canon("/a/", buf, 3, &len), IH_URL_TOO_LONG);
  IH_EQ_INT(canon("/a/", buf, 4, &len), IH_URL_OK);
  IH_EQ_STR(buf, "/a/");

  /* only the final result counts, not what ".." later removes */
  IH_EQ_INT(canon("/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/..", buf, 2, &len), IH_URL_OK);
  IH_EQ_STR(buf, "/");
  IH_EQ_INT(canon("/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/../b/", buf, 4, &len), IH_URL_OK);
  IH_EQ_STR(buf, "/b/");
  IH_EQ_INT(canon("/%41%42%43", buf, 5, &len), IH_URL_OK); /* decoded length counts */
  IH_EQ_STR(buf, "/ABC");

  /* zero capacity: nothing is written, out may be NULL */
  IH_EQ_INT(canon("/abc", NULL, 0, &len), IH_URL_TOO_LONG);
  IH_EQ_INT(canon("/abc", NULL, 0, NULL), IH_URL_TOO_LONG);
  buf[0] = 'X';
  IH_EQ_INT(canon("/abc", buf, 0, &len), IH_URL_TOO_LONG);
  IH_CHECK(buf[0] == 'X');

  /* other problems win over TOO_LONG, whatever the buffer */
  IH_EQ_INT(canon("/%00", NULL, 0, &len), IH_URL_NUL);
  IH_EQ_INT(canon("/con", buf, 1, &len), IH_URL_DEVICE_NAME);
  IH_EQ_INT(canon("/../aaaaaaaaaaaaaaaaaaaaaa", buf, 2, &len), IH_URL_ABOVE_ROOT);

  /* out_len may be NULL */
  IH_EQ_INT(canon("/x/./y", buf, sizeof buf, NULL), IH_URL_OK);
  IH_EQ_STR(buf, "/x/y");
  /* a NULL slice is not a path */
  IH_EQ_INT(ih_url_canonicalize((ih_slice){ NULL, 0 }, buf, sizeof buf, &len), IH_URL_BAD_FORM);

  /* every prefix capacity of a longer result */
  const char *in = "/d%C3%A9j%C3%A0/./vu/../x%20y/";
  const char *want = "/d\xC3\xA9j\xC3\xA0/x y/";
  size_t wl = strlen(want);
  for (size_t cap = 0; cap <= wl + 1; cap++) {
    char b[64];
    memset(b, 'X', sizeof b);
    enum ih_url_status st = canon(in, b, cap, &len);
    if (cap <= wl) {
      IH_EQ_INT(st, IH_URL_TOO_LONG);
      if (cap)
        IH_EQ_INT(b[0], 0);
    } else {
      IH_EQ_INT(st, IH_URL_OK);
      IH_EQ_STR(b, want);
    }
    IH_CHECK(b[cap] == 'X');
  }
}

static void test_long_paths(void)
{
  IH_TEST("long paths");
  static char in[20000];
  static char out[20000];
  size_t len, n = 0;

  /* 3000 levels down and back up again */
  for (int i = 0; i < 3000; i++) {
    memcpy(in + n, "/ab", 3);
    n += 3;
  }
  for (int i = 0; i < 3000; i++) {
    memcpy(in + n, "/..", 3);
    n += 3;
  }
  IH_EQ_INT(ih_url_canonicalize((ih_slice){ in, n }, out, sizeof out, &len), IH_URL_OK);
  IH_EQ_STR(out, "/");
  memcpy(in + n, "/..", 3);
  IH_EQ_INT(ih_url_canonicalize((ih_slice){ in, n + 3 }, out, sizeof out, &len), IH_URL_ABOVE_ROOT);

  /* one 10000-byte segment, percent-encoded: 30000 raw bytes would not fit in
   * "in", so use 6000 escapes (18000 raw bytes) */
  n = 0;
  in[n++] = '/';
  for (int i = 0; i < 6000; i++) {
    memcpy(in + n, "%61", 3);
    n += 3;
  }
  IH_EQ_INT(ih_url_canonicalize((ih_slice){ in, n }, out, sizeof out, &len), IH_URL_OK);
  IH_EQ_INT(len, 6001);
  IH_CHECK(out[0] == '/' && out[1] == 'a' && out[6000] == 'a' && out[6001] == 0);
  IH_EQ_INT(ih_url_canonicalize((ih_slice){ in, n }, out, 6001, &len), IH_URL_TOO_LONG);
  IH_EQ_INT(ih_url_canonicalize((ih_slice){ in, n }, out, 6002, &len), IH_URL_OK);

  /* a long base is never a device name, and "~1" still counts at its end */
  n = 0;
  in[n++] = '/';
  memset(in + n, 'c', 5000);
  n += 5000;
  IH_EQ_INT(ih_url_canonicalize((ih_slice){ in, n }, out, sizeof out, &len), IH_URL_OK);
  memcpy(in + n, "~1.txt", 6);
  IH_EQ_INT(ih_url_canonicalize((ih_slice){ in, n + 6 }, out, sizeof out, &len), IH_URL_SHORT_NAME);
  /* trailing spaces before the extension of a device name, many of them */
  n = 0;
  memcpy(in, "/nul", 4);
  n = 4;
  memset(in + n, ' ', 3000);
  n += 3000;
  memcpy(in + n, ".txt", 4);
  IH_EQ_INT(ih_url_canonicalize((ih_slice){ in, n + 4 }, out, sizeof out, &len), IH_URL_DEVICE_NAME);
}

/* Checks one ih_url_split result; want_* NULL means "p must be NULL". */
static void split_ok(const char *target, const char *want_path, const char *want_query,
                     const char *want_host)
{
  ih_slice path, query, host;
  enum ih_url_status st = ih_url_split(ih_slice_from_cstr(target), &path, &query, &host);
  if (!IH_EQ_INT(st, IH_URL_OK)) {
    ih_test_note("  target \"%s\"", target);
    return;
  }
  IH_EQ_MEM(path.p, path.n, want_path, strlen(want_path));
  if (want_query)
    IH_CHECK(query.p && query.n == strlen(want_query) && memcmp(query.p, want_query, query.n) == 0);
  else
    IH_CHECK(query.p == NULL && query.n == 0);
  if (want_host)
    IH_CHECK(host.p && host.n == strlen(want_host) && memcmp(host.p, want_host, host.n) == 0);
  else
    IH_CHECK(host.p == NULL && host.n == 0);
}

static void split_bad(const char *target, size_t len)
{
  ih_slice path = IH_SLICE_LIT("x"), query = IH_SLICE_LIT("x"), host = IH_SLICE_LIT("x");
  if (!IH_EQ_INT(ih_url_split((ih_slice){ target, len }, &path, &query, &host), IH_URL_BAD_FORM))
    ih_test_note("  target \"%s\"", target);
  IH_CHECK(path.p == NULL && path.n == 0 && query.p == NULL && host.p == NULL);
}

#define SPLIT_BAD(t) split_bad(t, sizeof(t) - 1)

static void test_split(void)
{
  IH_TEST("split origin-form");
  split_ok("/", "/", NULL, NULL);
  split_ok("/a/b", "/a/b", NULL, NULL);
  split_ok("/a?b=c", "/a", "b=c", NULL);
  split_ok("/a?", "/a", "", NULL);
  split_ok("/?x", "/", "x", NULL);
  split_ok("/a?b?c", "/a", "b?c", NULL);
  split_ok("/a%3Fb?c%23d", "/a%3Fb", "c%23d", NULL);
  split_ok("//server/share", "//server/share", NULL, NULL); /* canonicalize refuses it */
  split_ok("/caf\xC3\xA9", "/caf\xC3\xA9", NULL, NULL);
  split_ok("/a+b?q=a+b", "/a+b", "q=a+b", NULL);

  IH_TEST("split asterisk");
  split_ok("*", "*", NULL, NULL);
  SPLIT_BAD("*?x");
  SPLIT_BAD("**");
  SPLIT_BAD("*/");

  IH_TEST("split absolute-form");
  split_ok("http://example.com/a?b", "/a", "b", "example.com");
  split_ok("http://example.com", "/", NULL, "example.com");
  split_ok("http://example.com?q", "/", "q", "example.com");
  split_ok("http://example.com/", "/", NULL, "example.com");
  split_ok("https://example.com:8443/x/y", "/x/y", NULL, "example.com:8443");
  split_ok("HTTP://Example.COM/A", "/A", NULL, "Example.COM");
  split_ok("HtTpS://h/", "/", NULL, "h");
  split_ok("http://127.0.0.1:80/", "/", NULL, "127.0.0.1:80");
  split_ok("http://[::1]:8080/p", "/p", NULL, "[::1]:8080");
  split_ok("http://[2001:db8::1]/", "/", NULL, "[2001:db8::1]");
  split_ok("http://my-host_1.example/p", "/p", NULL, "my-host_1.example");
  split_ok("http://h%41st/", "/", NULL, "h%41st");
  split_ok("http://host//x", "//x", NULL, "host");
  split_ok("http://host:65535/", "/", NULL, "host:65535");
  /* the host slice points into the target */
  {
    const char *t = "http://h:1/p?q";
    ih_slice path, query, host;
    IH_EQ_INT(ih_url_split(ih_slice_from_cstr(t), &path, &query, &host), IH_URL_OK);
    IH_CHECK(host.p == t + 7 && path.p == t + 10 && query.p == t + 13);
    /* out pointers are optional */
    IH_EQ_INT(ih_url_split(ih_slice_from_cstr(t), NULL, NULL, NULL), IH_URL_OK);
    IH_EQ_INT(ih_url_split(ih_slice_from_cstr(t), &path, NULL, NULL), IH_URL_OK);
    IH_EQ_MEM(path.p, path.n, "/p", 2);
  }

  IH_TEST("split errors");
  SPLIT_BAD("");
  SPLIT_BAD("path");
  SPLIT_BAD("a/b");
  SPLIT_BAD("\\a");
  SPLIT_BAD("#");
  SPLIT_BAD("/a#b");
  SPLIT_BAD("/a?b#c");
  SPLIT_BAD("/#");
  SPLIT_BAD("http://h/#x");
  SPLIT_BAD("http://h#x");
  SPLIT_BAD("ftp://h/");
  SPLIT_BAD("httpx://h/");
  SPLIT_BAD("http:/h/");
  SPLIT_BAD("http//h/");
  SPLIT_BAD("http:");
  SPLIT_BAD("http://");
  SPLIT_BAD("http:///p");
  SPLIT_BAD("http://:80/p");
  SPLIT_BAD("http://user@h/");
  SPLIT_BAD("http://user:pw@h/");
  SPLIT_BAD("http://h:x/");
  SPLIT_BAD("http://h:65536/");
  SPLIT_BAD("http://h:123456/");
  SPLIT_BAD("http://h:80:80/");
  SPLIT_BAD("http://[::1/");
  SPLIT_BAD("http://[]/");
  SPLIT_BAD("http://[::1]x/");
  SPLIT_BAD("http://h\\x/");
  SPLIT_BAD("http://host:/p"); /* an empty port: refused like a Host field's */
  SPLIT_BAD("http://h%4/");
  SPLIT_BAD("http://h<>/");
  SPLIT_BAD("example.com:80");
  SPLIT_BAD("/a b");
  SPLIT_BAD("/a\tb");
  SPLIT_BAD("/a\r\n");
  SPLIT_BAD("/a?b c");
  SPLIT_BAD("/a\x7f");
  SPLIT_BAD("/a\0b");
  IH_EQ_INT(ih_url_split((ih_slice){ NULL, 0 }, NULL, NULL, NULL), IH_URL_BAD_FORM);
}

static void test_split_then_canon(void)
{
  IH_TEST("split then canonicalize");
  ih_slice path, query, host;
  char out[64];
  size_t len;
  IH_EQ_INT(ih_url_split(IH_SLICE_LIT("http://h/a/../b%2Fc?x=%2e%2e"), &path, &query, &host),
            IH_URL_OK);
  IH_EQ_INT(ih_url_canonicalize(path, out, sizeof out, &len), IH_URL_OK);
  IH_EQ_STR(out, "/b/c");
  IH_EQ_MEM(query.p, query.n, "x=%2e%2e", 8);
  IH_EQ_INT(ih_url_split(IH_SLICE_LIT("http://h"), &path, &query, &host), IH_URL_OK);
  IH_EQ_INT(ih_url_canonicalize(path, out, sizeof out, &len), IH_URL_OK);
  IH_EQ_STR(out, "/");
  IH_EQ_INT(ih_url_split(IH_SLICE_LIT("*"), &path, &query, &host), IH_URL_OK);
  IH_EQ_INT(ih_url_canonicalize(path, out, sizeof out, &len), IH_URL_BAD_FORM);
}

static void test_status_text(void)
{
  IH_TEST("status text");
  for (int i = IH_URL_OK; i <= IH_URL_TOO_LONG; i++) {
    const char *t = ih_url_status_text((enum ih_url_status)i);
    IH_CHECK(t != NULL && t[0] != '\0');
    for (int j = IH_URL_OK; j < i; j++)
      IH_CHECK(strcmp(t, ih_url_status_text((enum ih_url_status)j)) != 0);
  }
  IH_EQ_STR(ih_url_status_text(IH_URL_BAD_ESCAPE), "percent escape is not two hex digits");
  IH_CHECK(ih_url_status_text((enum ih_url_status)(IH_URL_TOO_LONG + 1)) != NULL);
  IH_CHECK(ih_url_status_text((enum ih_url_status)-1) != NULL);
}

/* One ih_host_parse answer: valid with that name and port (-1: none), or
 * refused (want_name NULL). */
static void host_case(const char *in, const char *want_name, long want_port)
{
  ih_host h;
  bool ok = ih_host_parse(ih_slice_from_cstr(in), &h);
  if (!IH_EQ_INT(ok, want_name != NULL)) {
    ih_test_note("  host \"%s\"", in);
    return;
  }
  if (!ok) {
    IH_CHECK(h.name.n == 0 && !h.has_port);
    return;
  }
  IH_EQ_MEM(h.name.p, h.name.n, want_name, strlen(want_name));
  IH_EQ_INT(h.has_port, want_port >= 0);
  if (want_port >= 0)
    IH_EQ_INT(h.port, want_port);
}

static void test_host_parse(void)
{
  IH_TEST("host: uri-host [ \":\" port ] (RFC 9110 7.2, RFC 3986 3.2.2)");
  host_case("example.com", "example.com", -1);
  host_case("example.com:8080", "example.com", 8080);
  host_case("LOCALHOST:0", "LOCALHOST", 0);
  host_case("127.0.0.1:80", "127.0.0.1", 80);
  host_case("h:65535", "h", 65535);
  host_case("[::1]", "[::1]", -1);
  host_case("[::1]:8080", "[::1]", 8080);
  host_case("[2001:db8::7]", "[2001:db8::7]", -1);
  host_case("[::ffff:127.0.0.1]:1", "[::ffff:127.0.0.1]", 1);
  host_case("[v1.fe80::a+en1]", "[v1.fe80::a+en1]", -1);
  host_case("my-host_1.example", "my-host_1.example", -1);
  host_case("h%41st", "h%41st", -1);
  host_case("a!$&'()*+,;=b", "a!$&'()*+,;=b", -1);
  /* what the hostile corpus sent, and its relatives: all refused */
  host_case("evil example", NULL, 0);
  host_case("localhost/..\\..", NULL, 0);
  host_case("localhost/x", NULL, 0);
  host_case("localhost\\x", NULL, 0);
  host_case("evil.example<script>", NULL, 0);
  host_case("a\tb", NULL, 0);
  host_case("a\x01b", NULL, 0);
  host_case("a\x7f", NULL, 0);
  host_case("caf\xc3\xa9", NULL, 0);
  host_case("a\"b", NULL, 0);
  host_case("host:", NULL, 0);
  host_case(":80", NULL, 0);
  host_case("", NULL, 0);
  host_case("h:80:80", NULL, 0);
  host_case("h:-1", NULL, 0);
  host_case("h:+80", NULL, 0);
  host_case("h:65536", NULL, 0);
  host_case("h:123456", NULL, 0);
  host_case("user@h", NULL, 0);
  host_case("h%4", NULL, 0);
  host_case("h%zz", NULL, 0);
  host_case("[::1", NULL, 0);
  host_case("[]", NULL, 0);
  host_case("[::1]x", NULL, 0);
  host_case("[::1]:", NULL, 0);
  host_case("[1.2.3.4]", NULL, 0); /* IPv6 needs a ':' */
  host_case("[::g]", NULL, 0);
  host_case("[v1.]", NULL, 0);
  host_case("[v.x]", NULL, 0);
  host_case("[v1.a b]", NULL, 0);
  /* a NUL inside the slice is a byte like any other: refused */
  {
    ih_host h;
    IH_CHECK(!ih_host_parse((ih_slice){ "a\0b", 3 }, &h));
    IH_CHECK(!ih_host_parse((ih_slice){ "[v1.a\0]", 8 }, &h));
  }
}

int main(void)
{
  test_host_parse();
  test_table();
  test_buffer_sizes();
  test_long_paths();
  test_split();
  test_split_then_canon();
  test_status_text();
  return ih_test_finish();
}
