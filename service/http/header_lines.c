/* Header block lines (see header_lines.h). */
#include "http/header_lines.h"

#include <string.h>

ih_header_lines ih_header_lines_of(const char *text, size_t len)
{
  return (ih_header_lines){ text, text ? len : 0, 0 };
}

bool ih_header_lines_next(ih_header_lines *it, ih_header_line *line)
{
  if (it->pos >= it->end)
    return false;
  const char *start = it->p + it->pos;
  size_t avail = it->end - it->pos;
  const char *lf = memchr(start, '\n', avail);
  size_t raw = lf ? (size_t)(lf - start) + 1 : avail;
  size_t n = lf ? raw - 1 : raw;
  while (n && start[n - 1] == '\r')
    n--;
  it->pos += raw;
  line->raw = (ih_slice){ start, raw };
  line->text = (ih_slice){ start, n };
  line->terminated = lf != NULL;
  const char *colon = memchr(start, ':', n);
  line->has_colon = colon != NULL;
  if (colon) {
    line->name = (ih_slice){ start, (size_t)(colon - start) };
    line->value = ih_slice_trim_ows((ih_slice){ colon + 1, (size_t)(start + n - colon - 1) });
  } else {
    line->name = line->value = (ih_slice){ "", 0 };
  }
  return true;
}
