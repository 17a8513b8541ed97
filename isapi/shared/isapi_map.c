/* URL -> physical path and URL normalisation for ISAPI extensions (see
 * isapi_map.h for the contract and the choices where IIS documentation is
 * silent). Every URL goes through ih_url_canonicalize first, into a stack
 * buffer the size of the router's, so the caller's buffer is written only
 * once the whole result is known to fit, and may be the URL's own buffer. */
#include "isapi/shared/isapi_map.h"

#include <stdbool.h>
#include <string.h>

#include "core/physical_path.h"

/* The router answers 404 for names Windows would alias and 400/414 for
 * everything else it refuses (respond.c); the Win32 errors follow that. */
static enum ih_isapi_map_status from_url_status(enum ih_url_status st)
{
  switch (st) {
  case IH_URL_OK:
    return IH_MAP_OK;
  case IH_URL_STREAM:
  case IH_URL_TRAILING_DOT_SPACE:
  case IH_URL_DEVICE_NAME:
  case IH_URL_SHORT_NAME:
    return IH_MAP_NOT_FOUND;
  default:
    return IH_MAP_BAD_URL;
  }
}

/* Canonical form of url[0..len) up to its first '?' into canon (NUL-terminated). */
static enum ih_url_status canonical(const char *url, size_t len, char canon[IH_ISAPI_URL_MAX], size_t *canon_len,
                                    size_t *path_part)
{
  const char *q = memchr(url, '?', len);
  *path_part = q ? (size_t)(q - url) : len;
  return ih_url_canonicalize((ih_slice){ url, *path_part }, canon, IH_ISAPI_URL_MAX, canon_len);
}

enum ih_isapi_map_status ih_isapi_map_url(const ih_site *site, const char *url, size_t url_len, char *path,
                                          size_t path_cap, ih_isapi_mapping *out)
{
  memset(out, 0, sizeof *out);
  out->url_status = IH_URL_BAD_FORM;
  if (!url)
    return IH_MAP_BAD_URL;
  char canon[IH_ISAPI_URL_MAX];
  size_t clen, path_part;
  out->url_status = canonical(url, url_len, canon, &clen, &path_part);
  if (out->url_status != IH_URL_OK)
    return from_url_status(out->url_status);

  const ih_vdir *v = ih_site_map_path(site, (ih_slice){ canon, clen }, NULL);
  if (!v)
    return IH_MAP_NOT_FOUND; /* a site without vdirs; the parser never makes one */
  out->vdir = v;
  if (v->permissions & IH_PERM_READ)
    out->flags |= IH_HSE_URL_FLAGS_READ;
  if (v->permissions & IH_PERM_SCRIPT)
    out->flags |= IH_HSE_URL_FLAGS_SCRIPT;
  if (v->permissions & IH_PERM_EXECUTE)
    out->flags |= IH_HSE_URL_FLAGS_EXECUTE;
  /* The router's join (core/physical_path.h), so a DLL gets the string
   * PATH_TRANSLATED and URL_MAP show for the same URL. Written after the
   * URL was copied to canon, so path may alias url; nothing is written when
   * it does not fit (no partial paths). */
  ih_physical_path pp;
  bool fits = ih_physical_path_join(v, (ih_slice){ canon, clen }, NULL, path, path ? path_cap : 0, &pp);
  /* matching_url <= clen < IH_ISAPI_URL_MAX; a configured path is under
   * 16 MiB (config.c). */
  out->matching_url = (uint32_t)pp.matching_url;
  out->matching_path = (uint32_t)pp.matching_path;
  out->path_len = pp.len;
  if (!fits)
    return IH_MAP_INSUFFICIENT_BUFFER;
  return IH_MAP_OK;
}

enum ih_isapi_map_status ih_isapi_normalize_url(char *buf, size_t cap, enum ih_url_status *url_status)
{
  enum ih_url_status st = IH_URL_BAD_FORM;
  const char *nul = buf ? memchr(buf, '\0', cap) : NULL;
  if (nul) {
    size_t len = (size_t)(nul - buf), clen, path_part;
    char canon[IH_ISAPI_URL_MAX];
    st = canonical(buf, len, canon, &clen, &path_part);
    if (st == IH_URL_OK) {
      /* clen <= path_part (the canonical form is never longer), so the
       * query moves left, or stays. */
      memmove(buf + clen, buf + path_part, len - path_part + 1);
      memcpy(buf, canon, clen);
    }
  }
  if (url_status)
    *url_status = st;
  return from_url_status(st);
}
