/* Test extension for the URL-mapping ServerSupportFunction codes, driven by
 * its query string (values percent-encoded; the DLL decodes them once):
 *   mode=map&form=F&url=U[&size=N][&exsize=null|bogus]
 *       maps U with one form F:
 *         plain   HSE_REQ_MAP_URL_TO_PATH, in place; *lpdwSize = N (default:
 *                 the whole buffer); lpdwDataType points to a patterned
 *                 block that must stay untouched
 *         ex      HSE_REQ_MAP_URL_TO_PATH_EX; lpdwSize = &strlen(U), NULL
 *                 (exsize=null) or a bogus pointer (exsize=bogus)
 *         uplain  HSE_REQ_MAP_UNICODE_URL_TO_PATH (U converted from UTF-8)
 *         uex     HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX
 *       and reports ok, err, the path (UTF-8), sizes, flags and matching
 *       lengths, and whether what must not change did not
 *   mode=normalize&url=U   HSE_REQ_NORMALIZE_URL on a copy of U
 *   mode=bogus             NULL, bogus, read-only and unterminated pointers
 *                          to every form; each reports ok/err */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#include "ih_test_dll.h"

#define BUF 8192 /* bytes of the plain forms' buffers */

IH_EXPORT BOOL WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  strcpy(ver->lpszExtensionDesc, "IsapiHost test: URL mapping");
  return TRUE;
}

static BOOL ssf(EXTENSION_CONTROL_BLOCK *ecb, DWORD req, void *buf, DWORD *size, DWORD *type)
{
  return ecb->ServerSupportFunction(ecb->ConnID, req, buf, size, type);
}

/* ---- query parameters ---- */

static int hex(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Value of key in the query, percent-decoded once, into out; FALSE if absent. */
static BOOL param(EXTENSION_CONTROL_BLOCK *ecb, const char *key, char *out, size_t cap)
{
  size_t klen = strlen(key);
  const char *p = ecb->lpszQueryString;
  while (*p) {
    const char *end = strchr(p, '&');
    if (!end)
      end = p + strlen(p);
    if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
      size_t n = 0;
      for (const char *v = p + klen + 1; v < end && n + 1 < cap; v++) {
        if (*v == '%' && v + 2 < end && hex(v[1]) >= 0 && hex(v[2]) >= 0) {
          out[n++] = (char)(hex(v[1]) * 16 + hex(v[2]));
          v += 2;
        } else {
          out[n++] = *v;
        }
      }
      out[n] = '\0';
      return TRUE;
    }
    p = *end ? end + 1 : end;
  }
  return FALSE;
}

/* ---- the report and the buffers of one request (on the heap: requests
 * may run on several threads at once) ---- */

typedef struct report {
  char text[16384];
  size_t n;
  char url[BUF], arg[BUF], path[BUF * 2];
  char buf[BUF];
  WCHAR wbuf[BUF / 2], wurl[BUF / 2];
} report;

static void add(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(report *r, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(r->text + r->n, sizeof r->text - r->n, fmt, ap);
  va_end(ap);
  if (k > 0)
    r->n += (size_t)k < sizeof r->text - r->n ? (size_t)k : sizeof r->text - r->n - 1;
}

static void send_report(EXTENSION_CONTROL_BLOCK *ecb, report *r)
{
  char headers[128];
  snprintf(headers, sizeof headers, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %u\r\n\r\n",
           (unsigned)r->n);
  ih_send_headers(ecb, "200 OK", headers, TRUE);
  DWORD n = (DWORD)r->n;
  ecb->WriteClient(ecb->ConnID, r->text, &n, HSE_IO_SYNC);
}

static BOOL all_bytes(const void *p, size_t n, unsigned char value)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != value)
      return FALSE;
  return TRUE;
}

/* UTF-16 -> UTF-8 for the report. */
static void utf8_of(const WCHAR *w, char *out, int cap)
{
  if (WideCharToMultiByte(CP_UTF8, 0, w, -1, out, cap, NULL, NULL) <= 0)
    strcpy(out, "<not UTF-16>");
}

/* ---- mode=map ---- */

static void map_plain(EXTENSION_CONTROL_BLOCK *ecb, report *r, const char *url, BOOL has_size, DWORD size)
{
  char *buf = r->buf;
  unsigned char type_block[sizeof(HSE_URL_MAPEX_INFO)];
  size_t len = strlen(url);
  memset(buf, '#', BUF);
  memcpy(buf, url, len + 1);
  memset(type_block, 0xA5, sizeof type_block);
  DWORD sz = has_size && size < BUF ? size : BUF;
  SetLastError(0);
  BOOL ok = ssf(ecb, HSE_REQ_MAP_URL_TO_PATH, buf, &sz, (DWORD *)(void *)type_block);
  DWORD err = ok ? 0 : GetLastError();
  add(r, "ok=%d\nerr=%lu\nsize=%lu\n", ok, err, sz);
  if (ok) {
    size_t plen = strnlen(buf, BUF);
    add(r, "path=%s\nlen=%u\n", buf, (unsigned)plen);
    /* nothing written after the path's NUL (nor after the URL's) */
    size_t end = (plen > len ? plen : len) + 1;
    add(r, "tail_untouched=%d\n", all_bytes(buf + end, BUF - end, '#'));
  } else {
    add(r, "untouched=%d\n", memcmp(buf, url, len + 1) == 0 && all_bytes(buf + len + 1, BUF - len - 1, '#'));
  }
  add(r, "type_untouched=%d\n", all_bytes(type_block, sizeof type_block, 0xA5));
}

static void map_ex(EXTENSION_CONTROL_BLOCK *ecb, report *r, const char *url, const char *exsize)
{
  char *buf = r->buf;
  HSE_URL_MAPEX_INFO info;
  size_t len = strlen(url);
  memcpy(buf, url, len + 1);
  memset(&info, 0x5A, sizeof info);
  DWORD sz = (DWORD)len;
  DWORD *psz = &sz;
  if (strcmp(exsize, "null") == 0)
    psz = NULL;
  else if (strcmp(exsize, "bogus") == 0)
    psz = (DWORD *)(uintptr_t)16;
  SetLastError(0);
  BOOL ok = ssf(ecb, HSE_REQ_MAP_URL_TO_PATH_EX, buf, psz, (DWORD *)(void *)&info);
  DWORD err = ok ? 0 : GetLastError();
  add(r, "ok=%d\nerr=%lu\n", ok, err);
  if (ok)
    add(r, "path=%.*s\nflags=0x%lx\nmpath=%lu\nmurl=%lu\nreserved=%lu/%lu\n", MAX_PATH, info.lpszPath, info.dwFlags,
        info.cchMatchingPath, info.cchMatchingURL, info.dwReserved1, info.dwReserved2);
  else
    add(r, "untouched=%d\n", all_bytes(&info, sizeof info, 0x5A));
  add(r, "url_untouched=%d\n", strcmp(buf, url) == 0);
  if (psz == &sz)
    add(r, "size_untouched=%d\n", sz == (DWORD)len);
}

static void map_uplain(EXTENSION_CONTROL_BLOCK *ecb, report *r, const char *url, BOOL has_size, DWORD size)
{
  WCHAR *wbuf = r->wbuf, *wurl = r->wurl;
  unsigned char type_block[sizeof(HSE_UNICODE_URL_MAPEX_INFO)];
  int wlen = MultiByteToWideChar(CP_UTF8, 0, url, -1, wurl, BUF / 2); /* with the NUL */
  if (wlen <= 0) {
    add(r, "bad_test_url=1\n");
    return;
  }
  for (size_t i = 0; i < BUF / 2; i++)
    wbuf[i] = 0x2323;
  memcpy(wbuf, wurl, (size_t)wlen * sizeof(WCHAR));
  memset(type_block, 0xA5, sizeof type_block);
  DWORD sz = has_size && size < BUF ? size : BUF; /* bytes */
  SetLastError(0);
  BOOL ok = ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH, wbuf, &sz, (DWORD *)(void *)type_block);
  DWORD err = ok ? 0 : GetLastError();
  add(r, "ok=%d\nerr=%lu\nsize=%lu\n", ok, err, sz);
  if (ok) {
    utf8_of(wbuf, r->path, sizeof r->path);
    add(r, "path=%s\nwlen=%u\n", r->path, (unsigned)wcsnlen(wbuf, BUF / 2));
  } else {
    BOOL same = memcmp(wbuf, wurl, (size_t)wlen * sizeof(WCHAR)) == 0;
    for (size_t i = (size_t)wlen; i < BUF / 2 && same; i++)
      same = wbuf[i] == 0x2323;
    add(r, "untouched=%d\n", same);
  }
  add(r, "type_untouched=%d\n", all_bytes(type_block, sizeof type_block, 0xA5));
}

static void map_uex(EXTENSION_CONTROL_BLOCK *ecb, report *r, const char *url, const char *exsize)
{
  WCHAR *wurl = r->wurl, *wcopy = r->wbuf;
  /* The header's layout, and two DWORDs after it that must stay as they
   * are (ms525973 shows two reserved fields the header does not have). */
  struct {
    HSE_UNICODE_URL_MAPEX_INFO info;
    DWORD after[2];
  } block;
  int wlen = MultiByteToWideChar(CP_UTF8, 0, url, -1, wurl, BUF / 2);
  if (wlen <= 0) {
    add(r, "bad_test_url=1\n");
    return;
  }
  memcpy(wcopy, wurl, (size_t)wlen * sizeof(WCHAR));
  memset(&block, 0x5A, sizeof block);
  DWORD sz = (DWORD)(wlen - 1);
  DWORD *psz = strcmp(exsize, "null") == 0 ? NULL : strcmp(exsize, "bogus") == 0 ? (DWORD *)(uintptr_t)16 : &sz;
  SetLastError(0);
  BOOL ok = ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX, wurl, psz, (DWORD *)(void *)&block.info);
  DWORD err = ok ? 0 : GetLastError();
  add(r, "ok=%d\nerr=%lu\n", ok, err);
  if (ok) {
    WCHAR terminated[MAX_PATH + 1];
    memcpy(terminated, block.info.lpszPath, sizeof block.info.lpszPath);
    terminated[MAX_PATH] = 0;
    utf8_of(terminated, r->path, sizeof r->path);
    add(r, "path=%s\nwlen=%u\nflags=0x%lx\nmpath=%lu\nmurl=%lu\n", r->path, (unsigned)wcsnlen(terminated, MAX_PATH),
        block.info.dwFlags, block.info.cchMatchingPath, block.info.cchMatchingURL);
  } else {
    add(r, "untouched=%d\n", all_bytes(&block.info, sizeof block.info, 0x5A));
  }
  add(r, "after_untouched=%d\n", all_bytes(block.after, sizeof block.after, 0x5A));
  add(r, "url_untouched=%d\n", memcmp(wurl, wcopy, (size_t)wlen * sizeof(WCHAR)) == 0);
  if (psz == &sz)
    add(r, "size_untouched=%d\n", sz == (DWORD)(wlen - 1));
}

static void do_map(EXTENSION_CONTROL_BLOCK *ecb, report *r)
{
  char *url = r->url, form[16], num[32], exsize[16];
  if (!param(ecb, "url", url, BUF) || !param(ecb, "form", form, sizeof form)) {
    add(r, "missing=url or form\n");
    return;
  }
  BOOL has_size = param(ecb, "size", num, sizeof num);
  DWORD size = has_size ? (DWORD)strtoul(num, NULL, 10) : 0;
  if (!param(ecb, "exsize", exsize, sizeof exsize))
    strcpy(exsize, "len");
  if (strcmp(form, "plain") == 0)
    map_plain(ecb, r, url, has_size, size);
  else if (strcmp(form, "ex") == 0)
    map_ex(ecb, r, url, exsize);
  else if (strcmp(form, "uplain") == 0)
    map_uplain(ecb, r, url, has_size, size);
  else if (strcmp(form, "uex") == 0)
    map_uex(ecb, r, url, exsize);
  else
    add(r, "unknown_form=%s\n", form);
}

/* ---- mode=normalize ---- */

static void do_normalize(EXTENSION_CONTROL_BLOCK *ecb, report *r)
{
  char *url = r->url, *copy = r->buf;
  if (!param(ecb, "url", url, BUF)) {
    add(r, "missing=url\n");
    return;
  }
  strcpy(copy, url);
  SetLastError(0);
  BOOL ok = ssf(ecb, HSE_REQ_NORMALIZE_URL, copy, NULL, NULL);
  DWORD err = ok ? 0 : GetLastError();
  add(r, "ok=%d\nerr=%lu\n", ok, err);
  if (ok)
    add(r, "url=%s\n", copy);
  else
    add(r, "untouched=%d\n", strcmp(copy, url) == 0);
}

/* ---- mode=bogus ---- */

static void result(report *r, const char *name, BOOL ok)
{
  add(r, "%s=%d/%lu\n", name, ok, ok ? 0 : GetLastError());
}

static void do_bogus(EXTENSION_CONTROL_BLOCK *ecb, report *r)
{
  void *bogus = (void *)(uintptr_t)8;
  DWORD *bogus_dw = (DWORD *)(uintptr_t)16;
  char buf[512];
  WCHAR wbuf[256];
  DWORD size;
  HSE_URL_MAPEX_INFO info;
  HSE_UNICODE_URL_MAPEX_INFO winfo;

  /* A read-only page holding "/ro.txt" (ANSI and UTF-16), and an
   * unterminated page of 'a' followed by an inaccessible one. */
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  DWORD page = si.dwPageSize;
  char *ro = VirtualAlloc(NULL, page, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  char *unterminated = VirtualAlloc(NULL, 2 * (size_t)page, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  DWORD old;
  if (!ro || !unterminated) {
    add(r, "setup_failed=1\n");
    return;
  }
  strcpy(ro, "/ro.txt");
  MultiByteToWideChar(CP_UTF8, 0, "/ro.txt", -1, (WCHAR *)(void *)(ro + 64), 32);
  VirtualProtect(ro, page, PAGE_READONLY, &old);
  memset(unterminated, 'a', page);
  unterminated[0] = '/';
  VirtualProtect(unterminated + page, page, PAGE_NOACCESS, &old);
  WCHAR *wro = (WCHAR *)(void *)(ro + 64);

  /* HSE_REQ_MAP_URL_TO_PATH */
  size = sizeof buf;
  result(r, "plain_null_buf", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH, NULL, &size, NULL));
  size = sizeof buf;
  result(r, "plain_bogus_buf", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH, bogus, &size, NULL));
  strcpy(buf, "/a.txt");
  result(r, "plain_null_size", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH, buf, NULL, NULL));
  result(r, "plain_bogus_size", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH, buf, bogus_dw, NULL));
  size = 4096;
  result(r, "plain_readonly_buf", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH, ro, &size, NULL));
  size = 4096;
  result(r, "plain_unterminated", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH, unterminated, &size, NULL));
  size = sizeof buf;
  result(r, "plain_bogus_type", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH, buf, &size, (DWORD *)(uintptr_t)24));
  add(r, "plain_bogus_type_path_ends=%d\n", size == strlen(buf) + 1 && strstr(buf, "\\a.txt") != NULL);

  /* HSE_REQ_MAP_URL_TO_PATH_EX */
  strcpy(buf, "/a.txt");
  size = 6;
  result(r, "ex_null_info", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH_EX, buf, &size, NULL));
  result(r, "ex_bogus_info", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH_EX, buf, &size, bogus_dw));
  result(r, "ex_readonly_info", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH_EX, buf, &size, (DWORD *)(void *)ro));
  result(r, "ex_null_url", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH_EX, NULL, &size, (DWORD *)(void *)&info));
  result(r, "ex_bogus_url", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH_EX, bogus, &size, (DWORD *)(void *)&info));
  /* _EX never writes lpvBuffer: a read-only URL is fine */
  result(r, "ex_readonly_url", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH_EX, ro, &size, (DWORD *)(void *)&info));
  result(r, "ex_bogus_size", ssf(ecb, HSE_REQ_MAP_URL_TO_PATH_EX, buf, bogus_dw, (DWORD *)(void *)&info));

  /* HSE_REQ_MAP_UNICODE_URL_TO_PATH */
  size = sizeof wbuf;
  result(r, "uplain_null_buf", ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH, NULL, &size, NULL));
  result(r, "uplain_bogus_buf", ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH, bogus, &size, NULL));
  MultiByteToWideChar(CP_UTF8, 0, "/a.txt", -1, wbuf, 256);
  result(r, "uplain_null_size", ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH, wbuf, NULL, NULL));
  result(r, "uplain_bogus_size", ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH, wbuf, bogus_dw, NULL));
  size = 4096;
  result(r, "uplain_readonly_buf", ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH, wro, &size, NULL));
  wbuf[0] = L'/';
  wbuf[1] = 0xD800; /* an unpaired surrogate: no UTF-8 for it */
  wbuf[2] = L'x';
  wbuf[3] = 0;
  size = sizeof wbuf;
  result(r, "uplain_lone_surrogate", ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH, wbuf, &size, NULL));
  add(r, "uplain_lone_surrogate_untouched=%d\n", wbuf[0] == L'/' && wbuf[1] == 0xD800 && wbuf[2] == L'x' && !wbuf[3]);

  /* HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX */
  MultiByteToWideChar(CP_UTF8, 0, "/a.txt", -1, wbuf, 256);
  result(r, "uex_null_info", ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX, wbuf, NULL, NULL));
  result(r, "uex_bogus_info", ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX, wbuf, NULL, bogus_dw));
  result(r, "uex_null_url", ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX, NULL, NULL, (DWORD *)(void *)&winfo));
  result(r, "uex_bogus_url", ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX, bogus, NULL, (DWORD *)(void *)&winfo));
  result(r, "uex_readonly_url", ssf(ecb, HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX, wro, NULL, (DWORD *)(void *)&winfo));

  /* HSE_REQ_NORMALIZE_URL */
  result(r, "normalize_null", ssf(ecb, HSE_REQ_NORMALIZE_URL, NULL, NULL, NULL));
  result(r, "normalize_bogus", ssf(ecb, HSE_REQ_NORMALIZE_URL, bogus, NULL, NULL));
  result(r, "normalize_readonly", ssf(ecb, HSE_REQ_NORMALIZE_URL, ro, NULL, NULL));
  result(r, "normalize_unterminated", ssf(ecb, HSE_REQ_NORMALIZE_URL, unterminated, NULL, NULL));
  strcpy(buf, "/x/../y.txt");
  result(r, "normalize_bogus_size", ssf(ecb, HSE_REQ_NORMALIZE_URL, buf, bogus_dw, bogus_dw));
  add(r, "normalize_bogus_size_url=%s\n", buf);

  VirtualFree(ro, 0, MEM_RELEASE);
  VirtualFree(unterminated, 0, MEM_RELEASE);
}

IH_EXPORT DWORD WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  report *r = calloc(1, sizeof *r);
  char mode[32];
  if (!r)
    return HSE_STATUS_ERROR;
  if (!param(ecb, "mode", mode, sizeof mode))
    strcpy(mode, "");
  if (strcmp(mode, "map") == 0)
    do_map(ecb, r);
  else if (strcmp(mode, "normalize") == 0)
    do_normalize(ecb, r);
  else if (strcmp(mode, "bogus") == 0)
    do_bogus(ecb, r);
  else
    add(r, "unknown_mode=%s\n", mode);
  send_report(ecb, r);
  free(r);
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}
