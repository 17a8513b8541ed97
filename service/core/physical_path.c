/* URL -> physical path in Windows form (see physical_path.h). The length is
 * known before anything is written, so a path that does not fit leaves the
 * caller's buffer as it was. */
#include "core/physical_path.h"

#include <string.h>

static bool is_sep(char c) { return c == '/' || c == '\\'; }

/* "C:\" (or "\\?\C:\"): trimming its separator would leave "C:", which
 * Windows reads as the current directory of drive C. */
static bool is_drive_root(const char *p, size_t n)
{
  if (n == 3)
    return p[1] == ':' && is_sep(p[2]);
  return n == 7 && memcmp(p, "\\\\?\\", 4) == 0 && p[5] == ':' && is_sep(p[6]);
}

/* Copies n bytes with '/' -> '\'. */
static char *put(char *out, const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    out[i] = s[i] == '/' ? '\\' : s[i];
  return out + n;
}

bool ih_physical_path_join(const ih_vdir *vdir, ih_slice url, const char *leaf, char *out, size_t cap,
                           ih_physical_path *info)
{
  ih_physical_path local;
  if (!info)
    info = &local;
  memset(info, 0, sizeof *info);

  /* The root's URL prefix is empty, not "/": then what follows it is "/x"
   * for every vdir alike, and "/" maps to "root\". */
  size_t ulen = strlen(vdir->url_path);
  if (ulen <= 1)
    ulen = 0;
  if (ulen > url.n)
    ulen = url.n; /* not the vdir of url (a caller's mistake): nothing is left of it */
  ih_slice rest = { url.p + ulen, url.n - ulen };

  const char *base = vdir->physical_path;
  size_t blen = strlen(base);
  while (blen > 1 && is_sep(base[blen - 1]) && !is_drive_root(base, blen))
    blen--;
  bool base_sep = blen && is_sep(base[blen - 1]); /* "C:\", "\" */
  bool rest_sep = rest.n && is_sep(rest.p[0]);
  if (base_sep && rest_sep)
    blen--; /* the URL's '/' becomes that separator */
  /* A rest that does not start at a segment boundary (not a canonical URL
   * of this vdir) still gets a separator rather than gluing two names. */
  bool mid_sep = rest.n && !rest_sep && !base_sep;

  size_t len = blen + mid_sep + rest.n;
  bool ends_sep = rest.n ? is_sep(rest.p[rest.n - 1]) : base_sep;
  size_t leaf_len = leaf ? strlen(leaf) : 0;
  bool leaf_sep = leaf_len && !ends_sep;
  len += leaf_sep + leaf_len;

  info->len = len;
  info->matching_path = blen;
  info->matching_url = ulen;
  if (!out || len >= cap)
    return false;
  char *p = put(out, base, blen);
  if (mid_sep)
    *p++ = '\\';
  p = put(p, rest.p, rest.n);
  if (leaf_sep)
    *p++ = '\\';
  p = put(p, leaf ? leaf : "", leaf_len);
  *p = '\0';
  return true;
}

void ih_physical_path_normalize(char *path)
{
  for (; path && *path; path++)
    if (*path == '/')
      *path = '\\';
}
