/* Physical paths: where a canonical URL lives on disk, in the one form every
 * consumer gets. Routing (script maps, direct DLLs, wildcard maps), static
 * files and default documents, SF_NOTIFY_URL_MAP, the server variables
 * PATH_TRANSLATED / SCRIPT_TRANSLATED and the ECB's lpszPathTranslated,
 * HSE_REQ_MAP_URL_TO_PATH(_EX) and the children of HSE_REQ_EXEC_URL all
 * build their path with ih_physical_path_join, and the file system is
 * opened with the same string. So a DLL that compares what it got from two
 * of them, or looks for "\dir\" in one, sees one spelling.
 *
 * The form is Windows': every separator is '\'. IIS hands DLLs paths such
 * as "C:\inetpub\wwwroot\uc\hello.htm" (MAP_URL_TO_PATH, ms525532: "/scripts/"
 * -> "C:\inetpub\scripts\"), and filters and extensions built for it split
 * on '\' only (Apache PR 15993 is the bug a '/' causes). Configured paths
 * are put in that form once at load (ih_physical_path_normalize, config.c),
 * so APPL_PHYSICAL_PATH, taken straight from the configuration, agrees.
 *
 * Portable: no windows.h, no allocation. Strings are UTF-8 bytes. */
#ifndef IH_PHYSICAL_PATH_H
#define IH_PHYSICAL_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/ih_str.h"

/* Room the router keeps for one physical path, NUL included (the buffers of
 * ih_ext_target.script_physical and respond.c). */
#define IH_PHYSICAL_PATH_MAX 4096u

typedef struct ih_physical_path {
  size_t len;           /* bytes of the path without the NUL; also when it did
                           not fit (len + 1 bytes are needed) */
  size_t matching_path; /* bytes of the path that are the vdir's directory
                           (HSE_URL_MAPEX_INFO.cchMatchingPath) */
  size_t matching_url;  /* bytes of url that name the vdir: strlen(url_path),
                           0 for the root "/" whose prefix is empty
                           (cchMatchingURL) */
} ih_physical_path;

/* The physical path of canonical URL path url (no query) under vdir, with
 * leaf (a default document's name; NULL or "" for none) appended as a file
 * of that directory, into out[0..cap) with a NUL.
 *
 * Contract:
 *  - vdir is the virtual directory ih_site_map_path chose for url: url
 *    starts with vdir->url_path at a segment boundary. The part of url
 *    after that prefix (all of it for the root) follows vdir->physical_path.
 *  - Every '/' of the result is written '\', also those of the configured
 *    path and of leaf.
 *  - Trailing separators of the configured path are not doubled
 *    ("C:\www\" + "/a" -> "C:\www\a"); a drive root stays whole so it never
 *    becomes drive-relative ("E:\" for "/drive", "E:\x" for "/drive/x"),
 *    and so does a lone "\".
 *  - A trailing '/' in url gives a trailing '\' ("/" -> "C:\www\",
 *    "/scripts/" -> "C:\inetpub\scripts\"); "/scripts" gives
 *    "C:\inetpub\scripts".
 *  - leaf follows one '\': "C:\www\" + "default.htm" -> "C:\www\default.htm".
 *  - Invariant: out + matching_path equals url + matching_url (then leaf)
 *    with '/' written '\'.
 *  - A path that does not fit in cap bytes (NUL included) is refused:
 *    false, nothing written (never a truncated path: it could name another
 *    file), info->len says how long it is. out may be NULL when cap is 0
 *    (a size query). The router answers a refusal with 414, as it does for
 *    a URL that is too long.
 * out must not overlap url, leaf or the configured path. info may be NULL. */
bool ih_physical_path_join(const ih_vdir *vdir, ih_slice url, const char *leaf, char *out, size_t cap,
                           ih_physical_path *info);

/* A configured path in that form: every '/' becomes '\', in place
 * ("base/www" -> "base\www", "d:/www" -> "d:\www"). NULL is ignored. */
void ih_physical_path_normalize(char *path);

#endif
