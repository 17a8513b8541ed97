/* One worker as the service sees it (relay_link.h). The registry is a
 * short list: a worker has as many entries as requests in flight in it. */
#include "server/relay_link.h"

#include <stdlib.h>
#include <string.h>

#include "server/relay.h"

#include "core/ih_alloc.h"
#include "core/ih_thread.h"

typedef struct entry {
  struct entry *next;
  uint64_t id;
  ih_conn *c;
} entry;

struct ih_relay_link {
  ih_chan *ch;
  void *owner;
  ih_mutex *lock;
  entry *entries;
  uint64_t next_id;
  long in_flight;
  uint64_t requests;
  bool closed;
  atomic_int refs;
  void (*file_close)(void *file);
  atomic_ullong files;
};

void ih_relay_link_count_file(ih_relay_link *l) { atomic_fetch_add(&l->files, 1); }
uint64_t ih_relay_link_files(ih_relay_link *l) { return atomic_load(&l->files); }

void ih_relay_link_set_file_close(ih_relay_link *l, void (*file_close)(void *file)) { l->file_close = file_close; }

void ih_relay_link_drop_file(ih_relay_link *l, const ih_chan_msg *m)
{
  relay_file_fixed f;
  if (m->type != RELAY_FILE || m->len < sizeof f || !l->file_close)
    return;
  memcpy(&f, m->payload, sizeof f);
  if (f.file)
    l->file_close((void *)(uintptr_t)f.file);
}

ih_relay_link *ih_relay_link_new(ih_chan *ch, void *owner)
{
  ih_relay_link *l = ih_calloc(1, sizeof *l);
  if (!l)
    return NULL;
  l->lock = ih_mutex_new();
  if (!l->lock) {
    free(l);
    return NULL;
  }
  l->ch = ch;
  l->owner = owner;
  l->next_id = 1;
  atomic_init(&l->refs, 1);
  return l;
}

void ih_relay_link_ref(ih_relay_link *l) { atomic_fetch_add(&l->refs, 1); }

void ih_relay_link_unref(ih_relay_link *l)
{
  if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
    return;
  ih_mutex_free(l->lock);
  free(l);
}

void *ih_relay_link_owner(ih_relay_link *l) { return l->owner; }

bool ih_relay_link_send(ih_relay_link *l, uint16_t type, uint16_t flags, uint64_t id, const void *const *parts,
                        const size_t *part_lens, size_t part_count)
{
  ih_mutex_lock(l->lock);
  bool ok = !l->closed && ih_chan_send(l->ch, type, flags, id, parts, part_lens, part_count);
  ih_mutex_unlock(l->lock);
  return ok;
}

bool ih_relay_link_send1(ih_relay_link *l, uint16_t type, uint16_t flags, uint64_t id, const void *data, size_t len)
{
  const void *parts[1] = { data };
  size_t lens[1] = { len };
  return ih_relay_link_send(l, type, flags, id, parts, lens, 1);
}

uint64_t ih_relay_link_add(ih_relay_link *l, ih_conn *c, uint64_t id)
{
  entry *e = ih_malloc(sizeof *e);
  if (!e)
    return 0;
  ih_mutex_lock(l->lock);
  if (l->closed) {
    ih_mutex_unlock(l->lock);
    free(e);
    return 0;
  }
  e->id = id ? id : l->next_id++;
  e->c = c;
  e->next = l->entries;
  l->entries = e;
  l->in_flight++;
  l->requests++;
  id = e->id;
  ih_mutex_unlock(l->lock);
  return id;
}

ih_conn *ih_relay_link_find(ih_relay_link *l, uint64_t id)
{
  ih_conn *c = NULL;
  ih_mutex_lock(l->lock);
  for (entry *e = l->entries; e; e = e->next)
    if (e->id == id) {
      c = e->c;
      break;
    }
  ih_mutex_unlock(l->lock);
  return c;
}

ih_conn *ih_relay_link_take(ih_relay_link *l, uint64_t id)
{
  ih_conn *c = NULL;
  entry *gone = NULL;
  ih_mutex_lock(l->lock);
  for (entry **p = &l->entries; *p; p = &(*p)->next)
    if ((*p)->id == id) {
      gone = *p;
      *p = gone->next;
      c = gone->c;
      l->in_flight--;
      break;
    }
  ih_mutex_unlock(l->lock);
  free(gone);
  return c;
}

uint64_t ih_relay_link_close(ih_relay_link *l)
{
  ih_mutex_lock(l->lock);
  l->closed = true; /* under the lock: no sender is inside, none will enter */
  uint64_t id = l->entries ? l->entries->id : 0;
  ih_mutex_unlock(l->lock);
  return id;
}

long ih_relay_link_in_flight(ih_relay_link *l)
{
  ih_mutex_lock(l->lock);
  long n = l->in_flight;
  ih_mutex_unlock(l->lock);
  return n;
}

uint64_t ih_relay_link_requests(ih_relay_link *l)
{
  ih_mutex_lock(l->lock);
  uint64_t n = l->requests;
  ih_mutex_unlock(l->lock);
  return n;
}
