/* Slice helpers (see ih_str.h). */
#include "core/ih_str.h"

#include <string.h>

ih_slice ih_slice_from_cstr(const char *s) { return (ih_slice){ s, s ? strlen(s) : 0 }; }

bool ih_slice_eq(ih_slice a, ih_slice b) { return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0); }

bool ih_slice_ieq(ih_slice a, ih_slice b)
{
  if (a.n != b.n)
    return false;
  for (size_t i = 0; i < a.n; i++)
    if (ih_ascii_lower(a.p[i]) != ih_ascii_lower(b.p[i]))
      return false;
  return true;
}

bool ih_slice_ieq_cstr(ih_slice a, const char *s) { return ih_slice_ieq(a, ih_slice_from_cstr(s)); }

ih_slice ih_slice_trim_ows(ih_slice s)
{
  while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) {
    s.p++;
    s.n--;
  }
  while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
    s.n--;
  return s;
}

bool ih_slice_next_list_item(ih_slice *rest, ih_slice *item)
{
  while (rest->n) {
    const char *comma = memchr(rest->p, ',', rest->n);
    size_t len = comma ? (size_t)(comma - rest->p) : rest->n;
    ih_slice candidate = ih_slice_trim_ows((ih_slice){ rest->p, len });
    rest->p += comma ? len + 1 : len;
    rest->n -= comma ? len + 1 : len;
    if (candidate.n) {
      *item = candidate;
      return true;
    }
  }
  return false;
}

bool ih_slice_list_has_token(ih_slice s, const char *token)
{
  ih_slice item;
  while (ih_slice_next_list_item(&s, &item))
    if (ih_slice_ieq_cstr(item, token))
      return true;
  return false;
}

bool ih_is_tchar(unsigned char c)
{
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
    return true;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int ih_hex_value(unsigned char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool ih_parse_u64(ih_slice s, uint64_t *out)
{
  uint64_t v = 0;
  if (!s.n)
    return false;
  for (size_t i = 0; i < s.n; i++) {
    if (!ih_is_digit(s.p[i]))
      return false;
    unsigned d = (unsigned)(s.p[i] - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}
