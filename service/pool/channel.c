/* The service-worker channel (channel.h): rings in shared memory, overflow
 * and doorbells.
 *
 * Memory ordering, for one ring (producer P, consumer C):
 * - P copies a frame into the data area, then stores head with release;
 *   C loads head with acquire before reading the data, so it sees the
 *   bytes. C copies the frame out, then stores tail with release; P loads
 *   tail with acquire before overwriting that space.
 * - The doorbell: C stores consumer_asleep = 1, then loads head (both
 *   sequentially consistent); P stores head, then loads consumer_asleep
 *   (both sequentially consistent). In the single total order of these
 *   four operations, either C's load of head comes after P's store (C sees
 *   the frame and does not sleep) or P's load of the mark comes after C's
 *   store (P rings). The same argument covers producer_blocked: P marks
 *   itself blocked and then loads tail; C stores tail and then loads the
 *   mark.
 * - Positions are 32-bit counters that wrap; head - tail is the fill level
 *   as long as the ring is smaller than 2^31, which ih_chan_shared_init
 *   guarantees. */
#include "pool/channel.h"

#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"

#define RING_MAGIC 0x49484348u /* "IHCH" */
#define FRAME_HDR 16u
#define FRAME_MAX (FRAME_HDR + IH_CHAN_MAX_PAYLOAD)

static size_t ring_stride(uint32_t ring_bytes) { return (sizeof(ih_ring) + 63u) / 64u * 64u + ring_bytes; }

size_t ih_chan_shared_bytes(uint32_t ring_bytes) { return 2 * ring_stride(ring_bytes); }

static ih_ring *ring_at(void *mem, uint32_t ring_bytes, int index)
{
  return (ih_ring *)((char *)mem + (size_t)index * ring_stride(ring_bytes));
}

static unsigned char *ring_data(ih_ring *r) { return (unsigned char *)r + (sizeof(ih_ring) + 63u) / 64u * 64u; }

void ih_chan_shared_init(void *mem, uint32_t ring_bytes)
{
  memset(mem, 0, ih_chan_shared_bytes(ring_bytes));
  for (int i = 0; i < 2; i++) {
    ih_ring *r = ring_at(mem, ring_bytes, i);
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->consumer_asleep, 0);
    atomic_init(&r->producer_blocked, 0);
    r->size = ring_bytes;
    r->magic = RING_MAGIC;
  }
}

bool ih_chan_shared_valid(const void *mem, size_t mem_bytes, uint32_t ring_bytes)
{
  if (!mem || ring_bytes < 2 * FRAME_MAX || ring_bytes > (1u << 30) || (ring_bytes & (ring_bytes - 1)) ||
      mem_bytes < ih_chan_shared_bytes(ring_bytes))
    return false;
  for (int i = 0; i < 2; i++) {
    const ih_ring *r = ring_at((void *)mem, ring_bytes, i);
    if (r->magic != RING_MAGIC || r->size != ring_bytes)
      return false;
  }
  return true;
}

/* A message waiting in the local overflow queue, in order. */
typedef struct overflow_msg {
  struct overflow_msg *next;
  size_t len; /* whole frame */
  unsigned char frame[];
} overflow_msg;

struct ih_chan {
  ih_ring *out; /* this side produces */
  ih_ring *in;  /* this side consumes */
  ih_mutex *send_lock;
  overflow_msg *ov_head, *ov_tail;
  size_t ov_bytes;
  void (*wake_peer)(void *ctx);
  void *wake_ctx;
  unsigned char *scratch; /* the reader's copy of one frame */
  atomic_ullong sent, received, overflowed;
};

ih_chan *ih_chan_new(void *mem, uint32_t ring_bytes, int side, void (*wake_peer)(void *ctx), void *wake_ctx)
{
  ih_chan *ch = ih_calloc(1, sizeof *ch);
  if (!ch)
    return NULL;
  ch->out = ring_at(mem, ring_bytes, side);
  ch->in = ring_at(mem, ring_bytes, 1 - side);
  ch->send_lock = ih_mutex_new();
  ch->scratch = ih_malloc(FRAME_MAX);
  ch->wake_peer = wake_peer;
  ch->wake_ctx = wake_ctx;
  if (!ch->send_lock || !ch->scratch) {
    ih_chan_free(ch);
    return NULL;
  }
  return ch;
}

void ih_chan_free(ih_chan *ch)
{
  if (!ch)
    return;
  for (overflow_msg *m = ch->ov_head, *next; m; m = next) {
    next = m->next;
    free(m);
  }
  if (ch->send_lock)
    ih_mutex_free(ch->send_lock);
  free(ch->scratch);
  free(ch);
}

static size_t frame_size(size_t payload) { return (FRAME_HDR + payload + 7u) & ~(size_t)7u; }

static void ring_copy_in(ih_ring *r, uint32_t pos, const void *src, size_t n)
{
  uint32_t at = pos & (r->size - 1);
  size_t first = r->size - at < n ? r->size - at : n;
  memcpy(ring_data(r) + at, src, first);
  memcpy(ring_data(r), (const char *)src + first, n - first);
}

static void ring_copy_out(ih_ring *r, uint32_t pos, void *dst, size_t n)
{
  uint32_t at = pos & (r->size - 1);
  size_t first = r->size - at < n ? r->size - at : n;
  memcpy(dst, ring_data(r) + at, first);
  memcpy((char *)dst + first, ring_data(r), n - first);
}

/* Writes a whole frame if it fits; the caller holds send_lock. */
static bool ring_try_put(ih_ring *r, const unsigned char *frame, size_t len)
{
  uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  if (r->size - (head - tail) < len)
    return false;
  ring_copy_in(r, head, frame, len);
  atomic_store(&r->head, head + (uint32_t)len); /* seq_cst: then the consumer_asleep check */
  return true;
}

static void write_header(unsigned char *h, uint16_t type, uint16_t flags, uint64_t id, uint32_t len)
{
  memcpy(h, &len, 4);
  memcpy(h + 4, &type, 2);
  memcpy(h + 6, &flags, 2);
  memcpy(h + 8, &id, 8);
}

/* Moves overflow into the ring while it fits; send_lock held. True when
 * everything moved. */
static bool flush_overflow(ih_chan *ch, bool *moved)
{
  while (ch->ov_head) {
    overflow_msg *m = ch->ov_head;
    if (!ring_try_put(ch->out, m->frame, m->len)) {
      /* Ask the consumer to ring us when it frees space, then look once
       * more: it may have freed it between our check and our mark. */
      atomic_store(&ch->out->producer_blocked, 1);
      if (!ring_try_put(ch->out, m->frame, m->len))
        return false;
    }
    ch->ov_head = m->next;
    if (!ch->ov_head)
      ch->ov_tail = NULL;
    ch->ov_bytes -= m->len;
    free(m);
    *moved = true;
  }
  return true;
}

static void wake_if_asleep(ih_chan *ch)
{
  if (atomic_load(&ch->out->consumer_asleep) && ch->wake_peer)
    ch->wake_peer(ch->wake_ctx);
}

bool ih_chan_send(ih_chan *ch, uint16_t type, uint16_t flags, uint64_t id, const void *const *parts,
                  const size_t *part_lens, size_t part_count)
{
  size_t payload = 0;
  for (size_t i = 0; i < part_count; i++)
    payload += part_lens[i];
  if (payload > IH_CHAN_MAX_PAYLOAD)
    return false;
  size_t len = frame_size(payload);
  bool ok = true, moved = false;
  ih_mutex_lock(ch->send_lock);
  flush_overflow(ch, &moved);
  bool direct = !ch->ov_head;
  uint32_t head = atomic_load_explicit(&ch->out->head, memory_order_relaxed);
  uint32_t tail = atomic_load_explicit(&ch->out->tail, memory_order_acquire);
  if (direct && ch->out->size - (head - tail) >= len) {
    /* Straight into the ring: header, parts, padding. */
    unsigned char h[FRAME_HDR];
    write_header(h, type, flags, id, (uint32_t)payload);
    uint32_t pos = head;
    ring_copy_in(ch->out, pos, h, FRAME_HDR);
    pos += FRAME_HDR;
    for (size_t i = 0; i < part_count; i++) {
      if (part_lens[i])
        ring_copy_in(ch->out, pos, parts[i], part_lens[i]);
      pos += (uint32_t)part_lens[i];
    }
    atomic_store(&ch->out->head, head + (uint32_t)len);
  } else {
    overflow_msg *m = ih_malloc(sizeof *m + len);
    if (!m) {
      ok = false;
    } else {
      m->next = NULL;
      m->len = len;
      write_header(m->frame, type, flags, id, (uint32_t)payload);
      size_t at = FRAME_HDR;
      for (size_t i = 0; i < part_count; i++) {
        if (part_lens[i])
          memcpy(m->frame + at, parts[i], part_lens[i]);
        at += part_lens[i];
      }
      memset(m->frame + at, 0, len - at);
      if (ch->ov_tail)
        ch->ov_tail->next = m;
      else
        ch->ov_head = m;
      ch->ov_tail = m;
      ch->ov_bytes += len;
      atomic_fetch_add(&ch->overflowed, 1);
      flush_overflow(ch, &moved);
    }
  }
  ih_mutex_unlock(ch->send_lock);
  if (ok) {
    atomic_fetch_add(&ch->sent, 1);
    wake_if_asleep(ch);
  }
  return ok;
}

bool ih_chan_send1(ih_chan *ch, uint16_t type, uint16_t flags, uint64_t id, const void *data, size_t len)
{
  const void *parts[1] = { data };
  size_t lens[1] = { len };
  return ih_chan_send(ch, type, flags, id, parts, lens, 1);
}

int ih_chan_poll(ih_chan *ch, void (*fn)(void *ctx, const ih_chan_msg *m), void *ctx, int max)
{
  int done = 0;
  bool moved = false;
  ih_mutex_lock(ch->send_lock);
  flush_overflow(ch, &moved);
  ih_mutex_unlock(ch->send_lock);
  if (moved) {
    done++;
    wake_if_asleep(ch);
  }
  ih_ring *r = ch->in;
  while (done < max) {
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint32_t head = atomic_load(&r->head); /* acquire (seq_cst): the frame's bytes */
    if (head == tail)
      break;
    unsigned char h[FRAME_HDR];
    if (head - tail < FRAME_HDR)
      return -1;
    ring_copy_out(r, tail, h, FRAME_HDR);
    ih_chan_msg m;
    memcpy(&m.len, h, 4);
    memcpy(&m.type, h + 4, 2);
    memcpy(&m.flags, h + 6, 2);
    memcpy(&m.id, h + 8, 8);
    size_t len = frame_size(m.len);
    if (m.len > IH_CHAN_MAX_PAYLOAD || head - tail < len)
      return -1; /* not a frame the other side could have written */
    ring_copy_out(r, tail + FRAME_HDR, ch->scratch, m.len);
    m.payload = ch->scratch;
    atomic_store(&r->tail, tail + (uint32_t)len); /* seq_cst: then the producer_blocked check */
    if (atomic_load(&r->producer_blocked) && atomic_exchange(&r->producer_blocked, 0) && ch->wake_peer)
      ch->wake_peer(ch->wake_ctx);
    atomic_fetch_add(&ch->received, 1);
    fn(ctx, &m);
    done++;
  }
  return done;
}

bool ih_chan_pending(ih_chan *ch)
{
  return atomic_load_explicit(&ch->in->head, memory_order_acquire) !=
         atomic_load_explicit(&ch->in->tail, memory_order_relaxed);
}

bool ih_chan_may_sleep(ih_chan *ch)
{
  atomic_store(&ch->in->consumer_asleep, 1);
  bool work = atomic_load(&ch->in->head) != atomic_load_explicit(&ch->in->tail, memory_order_relaxed);
  if (!work) {
    /* Overflow of ours waits for space the peer has freed meanwhile. */
    ih_mutex_lock(ch->send_lock);
    if (ch->ov_head) {
      uint32_t head = atomic_load_explicit(&ch->out->head, memory_order_relaxed);
      uint32_t tail = atomic_load(&ch->out->tail);
      work = ch->out->size - (head - tail) >= ch->ov_head->len;
    }
    ih_mutex_unlock(ch->send_lock);
  }
  if (work)
    atomic_store(&ch->in->consumer_asleep, 0);
  return !work;
}

void ih_chan_woke(ih_chan *ch) { atomic_store(&ch->in->consumer_asleep, 0); }

void ih_chan_get_stats(ih_chan *ch, ih_chan_stats *out)
{
  out->sent = atomic_load(&ch->sent);
  out->received = atomic_load(&ch->received);
  out->overflowed = atomic_load(&ch->overflowed);
  ih_mutex_lock(ch->send_lock);
  out->overflow_bytes = ch->ov_bytes;
  ih_mutex_unlock(ch->send_lock);
}
