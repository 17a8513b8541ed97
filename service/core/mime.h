/* File extension → Content-Type, starting from IIS's default MIME map.
 * As on IIS, a file whose extension is not in the map is not served (404). */
#ifndef IH_MIME_H
#define IH_MIME_H

#include <stddef.h>

#include "core/ih_str.h"

typedef struct ih_mime_entry {
  const char *ext;  /* with the dot, lower case: ".html" */
  const char *type; /* "text/html" */
} ih_mime_entry;

/* IIS's built-in default entries (static table, sorted by ext). */
const ih_mime_entry *ih_mime_defaults(size_t *count);

/* Looks ext (with dot, any case) up first in extra[0..extra_count) (config
 * overrides; type "" removes a default), then in the defaults. Returns NULL
 * when the extension is unknown. */
const char *ih_mime_lookup(ih_slice ext, const ih_mime_entry *extra, size_t extra_count);

#endif
