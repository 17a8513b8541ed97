/* ServerSupportFunction URL mapping with IIS 6 semantics:
 * HSE_REQ_MAP_URL_TO_PATH (1001, ms525532), HSE_REQ_MAP_URL_TO_PATH_EX (1012,
 * ms524961, HSE_URL_MAPEX_INFO ms524968), their Unicode forms (1023,
 * ms525683; 1024, ms524933, HSE_UNICODE_URL_MAPEX_INFO ms525973) and
 * HSE_REQ_NORMALIZE_URL (1033, ms525993), on the portable core isapi/shared/isapi_map.c
 * (which holds the URL rules and the status -> error table).
 *
 * Every form maps into a private UTF-8 buffer first, hands it to the
 * URL_MAP seam, and only then measures the result in the caller's units and
 * copies it out. So a refused URL or a too-small buffer leaves every output
 * of the DLL untouched (no partial or truncated paths: a truncated path can
 * name another file), and the size check sees the path a filter produced.
 *
 * Choices where the SDK pages are silent or unclear:
 *  - Sizes of the Unicode plain form are in bytes, in and out, NUL included:
 *    ms525683 says the size "contains the number of bytes needed", and
 *    IIS 7's IHttpContext::MapPath (ms694057) also sizes its WCHAR path
 *    in bytes. Reading a WCHAR count as bytes can only under-use a buffer;
 *    the opposite would overrun it.
 *  - On success *lpdwSize gets the bytes written, NUL included: the same
 *    number a too-small buffer reports, so one rule serves both.
 *  - _EX: lpdwSize is "the size of the buffer specified in lpvBuffer"
 *    (ms524961), i.e. of the URL, whose NUL already delimits it. It is
 *    optional (NULL is fine) and never read or written; lpvBuffer is never
 *    written either.
 *  - _EX: a path longer than lpszPath[MAX_PATH] fails with
 *    ERROR_INSUFFICIENT_BUFFER (IIS 6, ms524961); unlike IIS 6, whose
 *    buffer "still contains the truncated data", nothing is written.
 *  - HSE_UNICODE_URL_MAPEX_INFO has no reserved fields in httpext.h although
 *    ms525973 shows two: the header's layout is what DLLs are compiled
 *    with, so nothing is written past it. HSE_URL_MAPEX_INFO's
 *    dwReserved1/2 are set to zero.
 *  - The ANSI forms take and return UTF-8 bytes, like every other string the
 *    host gives a DLL (ECB lpszPathTranslated, server variables); only the
 *    Unicode forms convert (UTF-16 <-> UTF-8, CP_UTF8). A URL with an
 *    unpaired surrogate is refused as the router refuses invalid UTF-8.
 *  - NORMALIZE_URL writes in place, so a read-only string fails
 *    (ERROR_INVALID_PARAMETER) even when it is already canonical.
 *  - A URL that is not NUL-terminated within URL_READ_MAX bytes is treated
 *    as a bad pointer. */
#include <windows.h>
#include <httpext.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "isapi/isapi_call_win32.h"
#include "isapi/shared/isapi_guard_win32.h"
#include "isapi/shared/isapi_map.h"
#include "isapi/isapi_map_win32.h"

/* Longest URL string read from a DLL (query included). The mapped part is
 * at most IH_ISAPI_URL_MAX bytes once canonical; this only bounds the scan
 * for the NUL of a string that has none. */
#define URL_READ_MAX (1u << 20)

/* Room a URL_MAP filter gets to lengthen the path (cbPathBuff - path - NUL). */
#define FILTER_ROOM IH_ISAPI_MAX_PATH

typedef struct mapped {
  char *path;          /* UTF-8, NUL-terminated, ours (free) */
  size_t len;          /* bytes without the NUL */
  ih_isapi_mapping m;
} mapped;

static BOOL fail(DWORD err)
{
  SetLastError(err);
  return FALSE;
}

static BOOL bad_pointer(isapi_call *call, const char *what)
{
  isapi_call_misuse(call, MISUSE_BAD_POINTER, what);
  return fail(ERROR_INVALID_PARAMETER);
}

/* isapi_map.h's table: the router's 400/414 -> ERROR_INVALID_PARAMETER,
 * its 404 for names Windows would alias -> ERROR_PATH_NOT_FOUND. */
static DWORD map_error(enum ih_isapi_map_status st)
{
  switch (st) {
  case IH_MAP_INSUFFICIENT_BUFFER: return ERROR_INSUFFICIENT_BUFFER;
  case IH_MAP_NOT_FOUND: return ERROR_PATH_NOT_FOUND;
  default: return ERROR_INVALID_PARAMETER;
  }
}

/* SF_NOTIFY_URL_MAP fires for these calls too (ms525116): a filter may
 * edit path in place within cap bytes, and the DLL gets the result. */
static size_t notify_url_map(isapi_call *call, const char *url, char *path, size_t len, size_t cap)
{
  if (!call->conn || !ih_conn_filter_url_map(call->conn, url, path, cap))
    return len;
  return strlen(path);
}

/* URL (UTF-8, url[0..url_len)) -> out->path, through the core and the
 * URL_MAP seam. FALSE with the Win32 error set. */
static BOOL map_utf8(isapi_call *call, const char *url, size_t url_len, mapped *out)
{
  memset(out, 0, sizeof *out);
  if (!call->site)
    return fail(ERROR_PATH_NOT_FOUND);
  /* First pass measures (cap 0 answers INSUFFICIENT_BUFFER for a URL that maps). */
  enum ih_isapi_map_status st = ih_isapi_map_url(call->site, url, url_len, NULL, 0, &out->m);
  if (st != IH_MAP_INSUFFICIENT_BUFFER)
    return fail(map_error(st));
  size_t cap = out->m.path_len + 1 + FILTER_ROOM;
  out->path = malloc(cap);
  if (!out->path)
    return fail(ERROR_NOT_ENOUGH_MEMORY);
  st = ih_isapi_map_url(call->site, url, url_len, out->path, cap, &out->m);
  if (st != IH_MAP_OK) {
    free(out->path);
    out->path = NULL;
    return fail(map_error(st));
  }
  out->len = notify_url_map(call, url, out->path, out->m.path_len, cap);
  if (out->m.matching_path > out->len) /* a filter shortened the vdir's part */
    out->m.matching_path = (uint32_t)out->len;
  return TRUE;
}

/* The DLL's NUL-terminated ANSI URL: readable and terminated. */
static BOOL read_url(isapi_call *call, const char *url, size_t *len, const char *what)
{
  if (!url)
    return fail(ERROR_INVALID_PARAMETER);
  if (!ih_isapi_string(url, URL_READ_MAX, len))
    return bad_pointer(call, what);
  return TRUE;
}

/* The DLL's NUL-terminated UTF-16 URL as UTF-8 in *utf8 (ours, free). */
static BOOL read_wide_url(isapi_call *call, const WCHAR *url, char **utf8, size_t *len, const char *what)
{
  size_t wlen;
  if (!url)
    return fail(ERROR_INVALID_PARAMETER);
  if (!ih_isapi_wstring(url, URL_READ_MAX, &wlen))
    return bad_pointer(call, what);
  int n = 0;
  if (wlen) {
    n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, url, (int)wlen, NULL, 0, NULL, NULL);
    if (n <= 0)
      return fail(ERROR_INVALID_PARAMETER); /* unpaired surrogate: the router's BAD_UTF8, a 400 */
  }
  *utf8 = malloc((size_t)n + 1);
  if (!*utf8)
    return fail(ERROR_NOT_ENOUGH_MEMORY);
  if (n)
    WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, url, (int)wlen, *utf8, n, NULL, NULL);
  (*utf8)[n] = '\0';
  *len = (size_t)n;
  return TRUE;
}

/* WCHARs of s[0..n) (UTF-8); -1 if it is not UTF-8 (a configured path
 * that is not: the router could not open it either). */
static int wide_len(const char *s, size_t n)
{
  if (n == 0)
    return 0;
  if (n > INT_MAX)
    return -1;
  int w = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, (int)n, NULL, 0);
  return w > 0 ? w : -1;
}

/* Converts the path into out (room for wn + 1 WCHARs, already checked). */
static void put_wide(const mapped *mp, WCHAR *out, int wn)
{
  if (wn)
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, mp->path, (int)mp->len, out, wn);
  out[wn] = L'\0';
}

/* cchMatchingURL in WCHARs: the vdir's URL prefix equals the canonical
 * URL's first matching_url bytes up to ASCII case (ih_site_map_path), so
 * the configured prefix has the same WCHAR count. */
static DWORD wide_matching_url(const mapped *mp)
{
  int n = mp->m.vdir ? wide_len(mp->m.vdir->url_path, mp->m.matching_url) : 0;
  return n > 0 ? (DWORD)n : 0;
}

/* ---- HSE_REQ_MAP_URL_TO_PATH (ms525532) ---- */

BOOL isapi_ssf_map_url_to_path(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type)
{
  /* lpdwDataType "must be NULL": never read or written, whatever the DLL
   * passes (W3MFC wrote an HSE_URL_MAPEX_INFO through it). */
  (void)type;
  size_t url_len;
  if (!buf || !size)
    return fail(ERROR_INVALID_PARAMETER);
  if (!ih_isapi_writable(size, sizeof *size))
    return bad_pointer(call, "HSE_REQ_MAP_URL_TO_PATH with an unwritable lpdwSize");
  if (!read_url(call, buf, &url_len, "HSE_REQ_MAP_URL_TO_PATH with an unreadable or unterminated URL"))
    return FALSE;
  mapped mp;
  if (!map_utf8(call, buf, url_len, &mp))
    return FALSE;
  BOOL ok = FALSE;
  /* Fits a DWORD: a configured path is under 16 MiB (config.c), the URL part under IH_ISAPI_URL_MAX. */
  size_t need = mp.len + 1;
  if (*size < need) {
    *size = (DWORD)need; /* the DLL retries with this; its buffer keeps the URL */
    SetLastError(ERROR_INSUFFICIENT_BUFFER);
  } else if (!ih_isapi_writable(buf, need)) {
    bad_pointer(call, "HSE_REQ_MAP_URL_TO_PATH with a buffer that cannot be written");
  } else {
    memcpy(buf, mp.path, need); /* in place over the URL, read before */
    *size = (DWORD)need;
    ok = TRUE;
  }
  free(mp.path);
  return ok;
}

/* ---- HSE_REQ_MAP_URL_TO_PATH_EX (ms524961, ms524968) ---- */

BOOL isapi_ssf_map_url_to_path_ex(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type)
{
  (void)size; /* the URL buffer's size: optional, unused (see the top) */
  HSE_URL_MAPEX_INFO *info = (HSE_URL_MAPEX_INFO *)(void *)type;
  size_t url_len;
  if (!buf || !info)
    return fail(ERROR_INVALID_PARAMETER);
  if (!ih_isapi_writable(info, sizeof *info))
    return bad_pointer(call, "HSE_REQ_MAP_URL_TO_PATH_EX with an unwritable HSE_URL_MAPEX_INFO");
  if (!read_url(call, buf, &url_len, "HSE_REQ_MAP_URL_TO_PATH_EX with an unreadable or unterminated URL"))
    return FALSE;
  mapped mp;
  if (!map_utf8(call, buf, url_len, &mp))
    return FALSE;
  BOOL ok = FALSE;
  if (mp.len + 1 > sizeof info->lpszPath) {
    SetLastError(ERROR_INSUFFICIENT_BUFFER); /* IIS 6; the plain form has no MAX_PATH limit */
  } else {
    memcpy(info->lpszPath, mp.path, mp.len + 1);
    info->dwFlags = mp.m.flags;
    info->cchMatchingPath = mp.m.matching_path;
    info->cchMatchingURL = mp.m.matching_url;
    info->dwReserved1 = 0;
    info->dwReserved2 = 0;
    ok = TRUE;
  }
  free(mp.path);
  return ok;
}

/* ---- HSE_REQ_MAP_UNICODE_URL_TO_PATH (ms525683) ---- */

BOOL isapi_ssf_map_unicode_url_to_path(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type)
{
  (void)type; /* "must be NULL", as for the ANSI form: never touched */
  char *url;
  size_t url_len;
  if (!buf || !size)
    return fail(ERROR_INVALID_PARAMETER);
  if (!ih_isapi_writable(size, sizeof *size))
    return bad_pointer(call, "HSE_REQ_MAP_UNICODE_URL_TO_PATH with an unwritable lpdwSize");
  if (!read_wide_url(call, buf, &url, &url_len,
                     "HSE_REQ_MAP_UNICODE_URL_TO_PATH with an unreadable or unterminated URL"))
    return FALSE;
  mapped mp;
  BOOL ok = map_utf8(call, url, url_len, &mp);
  free(url);
  if (!ok)
    return FALSE;
  ok = FALSE;
  int wn = wide_len(mp.path, mp.len);
  size_t need = wn < 0 ? 0 : ((size_t)wn + 1) * sizeof(WCHAR); /* bytes (see the top) */
  if (wn < 0) {
    SetLastError(ERROR_NO_UNICODE_TRANSLATION);
  } else if (*size < need) {
    *size = (DWORD)need;
    SetLastError(ERROR_INSUFFICIENT_BUFFER);
  } else if (!ih_isapi_writable(buf, need)) {
    bad_pointer(call, "HSE_REQ_MAP_UNICODE_URL_TO_PATH with a buffer that cannot be written");
  } else {
    put_wide(&mp, buf, wn); /* in place over the URL, converted before */
    *size = (DWORD)need;
    ok = TRUE;
  }
  free(mp.path);
  return ok;
}

/* ---- HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX (ms524933, ms525973) ---- */

BOOL isapi_ssf_map_unicode_url_to_path_ex(isapi_call *call, LPVOID buf, LPDWORD size, LPDWORD type)
{
  (void)size; /* as for the ANSI _EX form */
  HSE_UNICODE_URL_MAPEX_INFO *info = (HSE_UNICODE_URL_MAPEX_INFO *)(void *)type;
  char *url;
  size_t url_len;
  if (!buf || !info)
    return fail(ERROR_INVALID_PARAMETER);
  if (!ih_isapi_writable(info, sizeof *info))
    return bad_pointer(call, "HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX with an unwritable HSE_UNICODE_URL_MAPEX_INFO");
  if (!read_wide_url(call, buf, &url, &url_len,
                     "HSE_REQ_MAP_UNICODE_URL_TO_PATH_EX with an unreadable or unterminated URL"))
    return FALSE;
  mapped mp;
  BOOL ok = map_utf8(call, url, url_len, &mp);
  free(url);
  if (!ok)
    return FALSE;
  ok = FALSE;
  int wn = wide_len(mp.path, mp.len);
  int wmatch = wide_len(mp.path, mp.m.matching_path);
  if (wn < 0 || wmatch < 0) {
    SetLastError(ERROR_NO_UNICODE_TRANSLATION);
  } else if ((size_t)wn + 1 > sizeof info->lpszPath / sizeof info->lpszPath[0]) {
    SetLastError(ERROR_INSUFFICIENT_BUFFER); /* MAX_PATH counts WCHARs here */
  } else {
    put_wide(&mp, info->lpszPath, wn);
    info->dwFlags = mp.m.flags;
    info->cchMatchingPath = (DWORD)wmatch;
    info->cchMatchingURL = wide_matching_url(&mp);
    ok = TRUE;
  }
  free(mp.path);
  return ok;
}

/* ---- HSE_REQ_NORMALIZE_URL (ms525993) ---- */

BOOL isapi_ssf_normalize_url(isapi_call *call, LPVOID buf)
{
  size_t len;
  if (!read_url(call, buf, &len, "HSE_REQ_NORMALIZE_URL with an unreadable or unterminated URL"))
    return FALSE;
  /* Normalised in place, and the result is never longer than the input. */
  if (!ih_isapi_writable(buf, len + 1))
    return bad_pointer(call, "HSE_REQ_NORMALIZE_URL with a URL that cannot be written in place");
  /* The router's canonicaliser; on error the buffer is untouched. */
  enum ih_isapi_map_status st = ih_isapi_normalize_url(buf, len + 1, NULL);
  if (st != IH_MAP_OK)
    return fail(map_error(st));
  return TRUE;
}
