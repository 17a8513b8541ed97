/* Small-file cache (see file_cache.h): a hash table of entries with an LRU
 * list, under one mutex. Critical sections are a lookup and a link update;
 * content is shared by reference, never copied under the lock. */
#include "server/file_cache.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "core/ih_str.h"
#include "core/ih_thread.h"

typedef struct entry {
  ih_cached_file pub;        /* first: callers see only this part */
  atomic_int refs;           /* the table's own reference + one per user */
  struct entry *hash_next;
  struct entry *lru_prev, *lru_next;
  uint64_t expires_ms;
  uint32_t hash;
  char *path;
  char storage[];            /* the file's bytes */
} entry;

struct ih_file_cache {
  ih_mutex *lock;
  entry **buckets;
  size_t bucket_count;
  size_t count, max_entries;
  uint64_t ttl_ms;
  entry *lru_head, *lru_tail; /* head = most recently used */
};

static uint32_t hash_path(const char *s)
{
  uint32_t h = 2166136261u; /* FNV-1a, case-folded: NTFS names are case-insensitive */
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch >= 'A' && ch <= 'Z')
      ch = (unsigned char)(ch + 32);
    h = (h ^ ch) * 16777619u;
  }
  return h;
}

static bool same_path(const char *a, const char *b)
{
  for (; *a && *b; a++, b++)
    if (ih_ascii_lower(*a) != ih_ascii_lower(*b))
      return false;
  return *a == *b;
}

ih_file_cache *ih_file_cache_new(size_t max_entries, uint64_t ttl_ms)
{
  ih_file_cache *fc = ih_calloc(1, sizeof *fc);
  if (!fc)
    return NULL;
  fc->max_entries = ttl_ms ? max_entries : 0;
  fc->ttl_ms = ttl_ms;
  fc->bucket_count = 64;
  while (fc->bucket_count < fc->max_entries)
    fc->bucket_count *= 2;
  fc->buckets = ih_calloc(fc->bucket_count, sizeof *fc->buckets);
  fc->lock = ih_mutex_new();
  if (!fc->buckets || !fc->lock) {
    free(fc->buckets);
    ih_mutex_free(fc->lock);
    free(fc);
    return NULL;
  }
  return fc;
}

static void entry_unref(entry *e)
{
  if (atomic_fetch_sub(&e->refs, 1) == 1) {
    free(e->path);
    free(e);
  }
}

static void lru_unlink(ih_file_cache *fc, entry *e)
{
  if (e->lru_prev)
    e->lru_prev->lru_next = e->lru_next;
  else
    fc->lru_head = e->lru_next;
  if (e->lru_next)
    e->lru_next->lru_prev = e->lru_prev;
  else
    fc->lru_tail = e->lru_prev;
  e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(ih_file_cache *fc, entry *e)
{
  e->lru_prev = NULL;
  e->lru_next = fc->lru_head;
  if (fc->lru_head)
    fc->lru_head->lru_prev = e;
  fc->lru_head = e;
  if (!fc->lru_tail)
    fc->lru_tail = e;
}

/* Unlinks e from the table (lock held) and drops the table's reference. */
static void remove_entry(ih_file_cache *fc, entry *e)
{
  entry **pp = &fc->buckets[e->hash & (fc->bucket_count - 1)];
  while (*pp != e)
    pp = &(*pp)->hash_next;
  *pp = e->hash_next;
  lru_unlink(fc, e);
  fc->count--;
  entry_unref(e);
}

static entry *find(ih_file_cache *fc, const char *path, uint32_t h)
{
  for (entry *e = fc->buckets[h & (fc->bucket_count - 1)]; e; e = e->hash_next)
    if (e->hash == h && same_path(e->path, path))
      return e;
  return NULL;
}

const ih_cached_file *ih_file_cache_get(ih_file_cache *fc, const char *path, uint64_t now_ms)
{
  if (!fc || !fc->max_entries)
    return NULL;
  uint32_t h = hash_path(path);
  ih_mutex_lock(fc->lock);
  entry *e = find(fc, path, h);
  if (e && now_ms >= e->expires_ms) {
    remove_entry(fc, e); /* stale: the caller re-reads the file and puts it back */
    e = NULL;
  }
  if (e) {
    atomic_fetch_add(&e->refs, 1);
    lru_unlink(fc, e);
    lru_push_front(fc, e);
  }
  ih_mutex_unlock(fc->lock);
  return e ? &e->pub : NULL;
}

void ih_file_cache_release(ih_file_cache *fc, const ih_cached_file *pub)
{
  (void)fc;
  if (pub)
    entry_unref((entry *)(void *)pub);
}

const ih_cached_file *ih_file_cache_put(ih_file_cache *fc, const char *path, uint64_t now_ms,
                                        enum ih_cached_kind kind, const ih_file_info *info, const char *data,
                                        size_t len)
{
  if (!fc || !fc->max_entries || len > IH_FILE_CACHE_MAX_FILE || (kind != IH_CACHED_FILE && len))
    return NULL;
  entry *e = ih_malloc(sizeof *e + len);
  char *path_copy = ih_malloc(strlen(path) + 1);
  if (!e || !path_copy) {
    free(e);
    free(path_copy);
    return NULL;
  }
  strcpy(path_copy, path);
  if (len)
    memcpy(e->storage, data, len);
  e->pub.kind = kind;
  e->pub.info = *info;
  e->pub.len = len;
  e->pub.data = e->storage;
  atomic_init(&e->refs, 2); /* the table's and the caller's */
  e->lru_prev = e->lru_next = NULL;
  e->expires_ms = now_ms + fc->ttl_ms;
  e->hash = hash_path(path);
  e->path = path_copy;
  ih_mutex_lock(fc->lock);
  entry *old = find(fc, path, e->hash);
  if (old)
    remove_entry(fc, old);
  while (fc->count >= fc->max_entries && fc->lru_tail)
    remove_entry(fc, fc->lru_tail);
  entry **bucket = &fc->buckets[e->hash & (fc->bucket_count - 1)];
  e->hash_next = *bucket;
  *bucket = e;
  lru_push_front(fc, e);
  fc->count++;
  ih_mutex_unlock(fc->lock);
  return &e->pub;
}

size_t ih_file_cache_count(ih_file_cache *fc)
{
  ih_mutex_lock(fc->lock);
  size_t n = fc->count;
  ih_mutex_unlock(fc->lock);
  return n;
}

void ih_file_cache_free(ih_file_cache *fc)
{
  if (!fc)
    return;
  while (fc->lru_tail)
    remove_entry(fc, fc->lru_tail);
  assert(fc->count == 0);
  free(fc->buckets);
  ih_mutex_free(fc->lock);
  free(fc);
}
