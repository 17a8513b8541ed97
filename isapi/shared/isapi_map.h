/* URL -> physical path for ISAPI extensions: the portable core of
 * ServerSupportFunction HSE_REQ_MAP_URL_TO_PATH (1001), _EX (1012), their
 * Unicode forms (1023, 1024) and HSE_REQ_NORMALIZE_URL (1033).
 *
 * Portable: no windows.h, no allocation. Strings are UTF-8 bytes, as the
 * configuration and canonical URLs are; the Win32 layer converts for the
 * ANSI and Unicode entry points (UTF-16 URL -> UTF-8 before, path -> UTF-16
 * after) and recomputes sizes and the matching counts in its own units by
 * converting the prefixes path[0..matching_path) and vdir->url_path.
 *
 * The URL goes through ih_url_canonicalize, the canonicaliser of request
 * routing (service/http/url_canon.h), so a DLL can map exactly the URLs a
 * client could request and no other: NORMALIZE_URL "must use the exact same
 * canonicaliser as request routing" (reference section 2.4). Status to
 * Win32 error, mirroring the router's answer for the same URL:
 *
 *   IH_MAP_OK                  TRUE
 *   IH_MAP_INSUFFICIENT_BUFFER FALSE, ERROR_INSUFFICIENT_BUFFER; the size
 *                              needed is path_len + 1 (with the NUL)
 *   IH_MAP_BAD_URL             FALSE, ERROR_INVALID_PARAMETER (router: 400/414)
 *   IH_MAP_NOT_FOUND           FALSE, ERROR_PATH_NOT_FOUND (router: 404, a
 *                              name Windows would alias: "::$DATA", "CON",
 *                              trailing '.', 8.3 names)
 *
 * Documentation is silent on several points; the choices made here:
 *  - A "?query" is not part of the path: the URL ends at the first '?'
 *    (DLLs pass request URLs with their query; '?' cannot occur in an NTFS
 *    name anyway). A '#' has no such meaning and is an ordinary byte.
 *  - The URL is percent-decoded once, like a request-target, so a DLL that
 *    passes an already decoded name (SCRIPT_NAME) containing "%xx" gets it
 *    decoded again, and a lone '%' is IH_MAP_BAD_URL.
 *  - The URL must start with '/' (or '\'); relative and absolute-form
 *    ("http://...") URLs are IH_MAP_BAD_URL, as is a canonical path longer
 *    than IH_ISAPI_URL_MAX - 1 bytes (the router answers 414).
 *  - matching_url counts bytes of the canonical URL, which equals the DLL's
 *    URL whenever that was already canonical (the usual case). */
#ifndef IH_ISAPI_MAP_H
#define IH_ISAPI_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "http/url_canon.h"
#include "isapi/shared/isapi_sdk.h"

/* HSE_URL_MAPEX_INFO.dwFlags (IH_HSE_URL_FLAGS_*): isapi/shared/isapi_sdk.h. */

/* MAX_PATH: size of HSE_URL_MAPEX_INFO.lpszPath, NUL included. The _EX
 * forms pass this as path_cap; IIS 6 reports ERROR_INSUFFICIENT_BUFFER for a
 * longer path (ms524968), and here nothing is written in that case. */
#define IH_ISAPI_MAX_PATH 260u
/* Longest canonical URL path plus NUL: the router's ih_request.path buffer
 * (service/server/conn.h); longer paths get 414 there, BAD_URL here. */
#define IH_ISAPI_URL_MAX 2048u

enum ih_isapi_map_status {
  IH_MAP_OK = 0,
  IH_MAP_INSUFFICIENT_BUFFER,
  IH_MAP_BAD_URL,
  IH_MAP_NOT_FOUND,
};

typedef struct ih_isapi_mapping {
  size_t path_len;        /* bytes of the physical path without the NUL (also when
                             the buffer was too small: path_len + 1 are needed) */
  uint32_t flags;         /* IH_HSE_URL_FLAGS_* from the vdir permissions:
                             read -> READ, script -> SCRIPT, execute -> EXECUTE */
  uint32_t matching_path; /* cchMatchingPath: bytes of the path that are the vdir's
                             physical directory */
  uint32_t matching_url;  /* cchMatchingURL: bytes of the canonical URL that name the
                             vdir; 0 for the site root "/" (its URL prefix is empty) */
  const ih_vdir *vdir;    /* the virtual directory that matched */
  enum ih_url_status url_status; /* the canonicaliser's verdict, for the log */
} ih_isapi_mapping;

/* Maps url[0..url_len) (the DLL's string; stop at its NUL first) to the
 * physical path of site, written to path[0..path_cap) with a NUL.
 *
 * The path is ih_physical_path_join of the canonical URL (core/physical_path.h),
 * the join request routing, SF_NOTIFY_URL_MAP and PATH_TRANSLATED use, so a
 * DLL gets the same string they show for the same URL: vdir->physical_path
 * followed by the rest of the canonical URL after the vdir's prefix, with
 * every '/' (also those in the configured physical path) turned into '\',
 * as IIS returns them: DLLs split on '\' (Apache PR 15993). A trailing '/'
 * in the URL gives a trailing '\' ("/scripts/" -> "C:\inetpub\scripts\").
 * Trailing separators of the configured physical path are not doubled
 * ("C:\" + "/a" -> "C:\a"). Invariant: path + matching_path equals the
 * canonical URL + matching_url with '/' -> '\'.
 *
 * On OK and INSUFFICIENT_BUFFER every field of *out is set; path is written
 * only on OK, never partially, so a too-small buffer keeps its contents.
 * path may be the same buffer as url (MAP_URL_TO_PATH maps in place); path
 * may be NULL when path_cap is 0 (size query). On BAD_URL and NOT_FOUND only
 * out->url_status is meaningful. site and out must not be NULL; a NULL url is
 * BAD_URL. */
enum ih_isapi_map_status ih_isapi_map_url(const ih_site *site, const char *url, size_t url_len, char *path,
                                          size_t path_cap, ih_isapi_mapping *out);

/* HSE_REQ_NORMALIZE_URL (ms525993: "decoding hex codes, removing illegal
 * characters"): replaces the NUL-terminated URL in buf[0..cap) by its
 * canonical form: ih_url_canonicalize of the part before the first '?',
 * followed by the "?query" unchanged. The result is never longer than the
 * input, so the Win32 layer, which gets no buffer size from the DLL
 * (lpdwSize is unused), passes cap = strlen(buf) + 1. On any error buf is
 * left untouched: BAD_URL (also for no NUL within cap, or a NULL buf) or
 * NOT_FOUND, exactly as ih_isapi_map_url would answer for that URL.
 * *url_status (may be NULL) gets the canonicaliser's verdict. */
enum ih_isapi_map_status ih_isapi_normalize_url(char *buf, size_t cap, enum ih_url_status *url_status);

#endif
