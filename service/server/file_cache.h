/* Small-file cache: content and metadata of files up to IH_FILE_CACHE_MAX_FILE
 * bytes, plus "not found" and "directory" answers, keyed by physical path.
 *
 * Why: under Wine every CreateFile / GetFileInformationByHandle / ReadFile /
 * CloseHandle is a round trip to the single wineserver, which dominates the
 * cost of a small static response (IIS has its own file cache for the same
 * reason). There is no change notification here: an entry is trusted for
 * `ttl_ms` after it was read, so a changed file is seen within that time
 * (documented as file_cache_ttl). Thread-safe; entries are immutable and
 * reference-counted so a response can use one while it is replaced. */
#ifndef IH_FILE_CACHE_H
#define IH_FILE_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "server/files.h"

#define IH_FILE_CACHE_MAX_FILE 65536u

enum ih_cached_kind { IH_CACHED_FILE, IH_CACHED_DIR, IH_CACHED_NOT_FOUND };

typedef struct ih_cached_file {
  enum ih_cached_kind kind;
  ih_file_info info;
  size_t len;         /* bytes in data (== info.size for files) */
  const char *data;
} ih_cached_file;

typedef struct ih_file_cache ih_file_cache;

/* max_entries 0 or ttl_ms 0 gives a cache that never hits (disabled). */
ih_file_cache *ih_file_cache_new(size_t max_entries, uint64_t ttl_ms);
void ih_file_cache_free(ih_file_cache *fc);

/* A fresh entry for path (taken with a reference), or NULL. */
const ih_cached_file *ih_file_cache_get(ih_file_cache *fc, const char *path, uint64_t now_ms);
void ih_file_cache_release(ih_file_cache *fc, const ih_cached_file *entry);
/* Records what path is now (data only for IH_CACHED_FILE, len <= max file).
 * Replaces an older entry; evicts the least recently used when full.
 * Returns the new entry with a reference for the caller (release it), or
 * NULL when nothing was stored (disabled, too large, out of memory). */
const ih_cached_file *ih_file_cache_put(ih_file_cache *fc, const char *path, uint64_t now_ms, enum ih_cached_kind kind,
                       const ih_file_info *info, const char *data, size_t len);
size_t ih_file_cache_count(ih_file_cache *fc);

#endif
