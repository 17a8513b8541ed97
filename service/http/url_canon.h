/* Request-target handling before any file access: split, percent-decode once,
 * validate UTF-8, remove dot segments, and refuse names that Windows would
 * alias to another file. Portable and allocation-free.
 *
 * The result is the canonical URL path used for routing, logging and (via
 * the site's virtual directories) file lookup: it starts with '/', uses '/'
 * only, has no empty, "." or ".." segments, and keeps a trailing '/' when the
 * request had one. */
#ifndef IH_URL_CANON_H
#define IH_URL_CANON_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ih_str.h"

enum ih_url_status {
  IH_URL_OK = 0,
  IH_URL_BAD_FORM,      /* not origin-form/absolute-form/"*" */
  IH_URL_BAD_ESCAPE,    /* '%' not followed by two hex digits */
  IH_URL_NUL,           /* %00 (or a raw NUL) */
  IH_URL_BAD_UTF8,      /* invalid, overlong or surrogate UTF-8 after decoding */
  IH_URL_CONTROL,       /* decoded control character (0x01-0x1F, 0x7F) */
  IH_URL_ABOVE_ROOT,    /* ".." would leave the root */
  IH_URL_STREAM,        /* ':' in a segment (NTFS alternate data stream, drive letter) */
  IH_URL_TRAILING_DOT_SPACE, /* segment ends in '.' or ' ' (Windows strips them) */
  IH_URL_DEVICE_NAME,   /* CON, PRN, AUX, NUL, COM0-9, LPT0-9, CONIN$, CONOUT$ (any extension) */
  IH_URL_SHORT_NAME,    /* looks like an 8.3 short name ("PROGRA~1") */
  IH_URL_UNC,           /* "\\\\?\\", "\\\\.\\" or UNC "//server" forms */
  IH_URL_TOO_LONG,      /* output would exceed the caller's buffer */
};

/* Text for logs ("percent escape is not two hex digits", ...). */
const char *ih_url_status_text(enum ih_url_status st);

/* Splits a request-target into path, query and (for absolute-form) host.
 * "*" yields path "*". The fragment never reaches a server, '#' is an error.
 * Returns IH_URL_OK or IH_URL_BAD_FORM. */
enum ih_url_status ih_url_split(ih_slice target, ih_slice *path, ih_slice *query, ih_slice *host);

/* Canonicalises a raw (still percent-encoded) path into out[0..out_cap),
 * NUL-terminated; *out_len excludes the NUL. '\\' (raw or %5C) is treated as
 * '/'. Percent-decoding happens exactly once: "%252e" becomes "%2e", a
 * literal file name, never "." . */
enum ih_url_status ih_url_canonicalize(ih_slice raw_path, char *out, size_t out_cap, size_t *out_len);

#endif
