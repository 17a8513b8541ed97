/* Unit tests for service/server/file_cache.c. */
#include <string.h>

#include "server/file_cache.h"
#include "ih_test.h"

static const ih_file_info info5 = { 5, 1700000000, false };

int main(void)
{
  IH_TEST("hit, case-insensitive key, expiry");
  ih_file_cache *fc = ih_file_cache_new(3, 1000);
  IH_CHECK(ih_file_cache_get(fc, "/s/a.txt", 0) == NULL);
  ih_file_cache_release(fc, ih_file_cache_put(fc, "/s/a.txt", 0, IH_CACHED_FILE, &info5, "hello", 5));
  const ih_cached_file *e = ih_file_cache_get(fc, "/S/A.TXT", 999);
  if (IH_CHECK(e != NULL)) {
    IH_EQ_MEM(e->data, e->len, "hello", 5);
    IH_EQ_INT(e->info.size, 5);
    IH_EQ_INT(e->kind, IH_CACHED_FILE);
    ih_file_cache_release(fc, e);
  }
  IH_CHECK(ih_file_cache_get(fc, "/s/a.txt", 1000) == NULL); /* ttl passed */
  IH_EQ_INT(ih_file_cache_count(fc), 0);

  IH_TEST("negative and directory entries");
  ih_file_info none = { 0, 0, false };
  ih_file_cache_release(fc, ih_file_cache_put(fc, "/s/missing", 0, IH_CACHED_NOT_FOUND, &none, NULL, 0));
  ih_file_info dir = { 0, 1, true };
  ih_file_cache_release(fc, ih_file_cache_put(fc, "/s/dir", 0, IH_CACHED_DIR, &dir, NULL, 0));
  e = ih_file_cache_get(fc, "/s/missing", 1);
  IH_CHECK(e && e->kind == IH_CACHED_NOT_FOUND);
  ih_file_cache_release(fc, e);
  e = ih_file_cache_get(fc, "/s/dir", 1);
  IH_CHECK(e && e->kind == IH_CACHED_DIR && e->info.is_dir);
  ih_file_cache_release(fc, e);

  IH_TEST("an entry in use survives replacement and eviction");
  ih_file_cache_release(fc, ih_file_cache_put(fc, "/s/a.txt", 10, IH_CACHED_FILE, &info5, "hello", 5));
  const ih_cached_file *held = ih_file_cache_get(fc, "/s/a.txt", 11);
  ih_file_info info3 = { 3, 1700000001, false };
  ih_file_cache_release(fc, ih_file_cache_put(fc, "/s/a.txt", 12, IH_CACHED_FILE, &info3, "new", 3)); /* replaced while held */
  IH_EQ_MEM(held->data, held->len, "hello", 5);
  ih_file_cache_release(fc, held);
  e = ih_file_cache_get(fc, "/s/a.txt", 13);
  IH_CHECK(e && e->len == 3);
  ih_file_cache_release(fc, e);

  IH_TEST("LRU eviction keeps the count bounded");
  ih_file_cache_release(fc, ih_file_cache_put(fc, "/s/b", 20, IH_CACHED_FILE, &info5, "bbbbb", 5));
  ih_file_cache_release(fc, ih_file_cache_put(fc, "/s/c", 21, IH_CACHED_FILE, &info5, "ccccc", 5));
  IH_EQ_INT(ih_file_cache_count(fc), 3);
  /* least recently used first: "missing" then "dir" made room for b and c */
  IH_CHECK(ih_file_cache_get(fc, "/s/missing", 22) == NULL);
  IH_CHECK(ih_file_cache_get(fc, "/s/dir", 22) == NULL);
  const char *kept[] = { "/s/a.txt", "/s/b", "/s/c" };
  for (int i = 0; i < 3; i++) {
    e = ih_file_cache_get(fc, kept[i], 23);
    IH_CHECK(e != NULL);
    ih_file_cache_release(fc, e);
  }

  IH_TEST("too large or disabled: never stored");
  static char big[IH_FILE_CACHE_MAX_FILE + 1];
  ih_file_info bigi = { sizeof big, 1, false };
  ih_file_cache_release(fc, ih_file_cache_put(fc, "/s/big", 30, IH_CACHED_FILE, &bigi, big, sizeof big));
  IH_CHECK(ih_file_cache_get(fc, "/s/big", 31) == NULL);
  ih_file_cache_free(fc);
  ih_file_cache *off = ih_file_cache_new(100, 0);
  ih_file_cache_release(off, ih_file_cache_put(off, "/x", 0, IH_CACHED_FILE, &info5, "hello", 5));
  IH_CHECK(ih_file_cache_get(off, "/x", 0) == NULL);
  ih_file_cache_free(off);
  return ih_test_finish();
}
