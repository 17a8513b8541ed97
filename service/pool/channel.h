/* The channel between the service and one worker process: two
 * single-producer single-consumer byte rings in memory both processes map
 * (a pagefile-backed section on Windows, plain memory in the unit tests),
 * one per direction, and a doorbell per side. Messages are framed
 * (ih_chan_msg below); what they mean is server/relay.h's business.
 *
 * Why shared memory and not a pipe: under Wine every pipe read and write
 * is a wineserver round trip and the data itself passes through the
 * wineserver (17-22 requests per exchange measured); a ring in shared
 * memory costs nothing to write and read, and the doorbell (an auto-reset
 * event) is rung only when the other side sleeps: 2-4 requests per
 * exchange (wine-notes, worker-process appendix). On Windows the same
 * split is what IIS's http.sys and w3wp do with their shared request
 * queue.
 *
 * Rules:
 * - Writers never block. Many threads of one process may send; a local
 *   mutex orders them. A message that does not fit in the ring goes to a
 *   local overflow queue (kept in order: once anything waits there,
 *   everything after it does too), which the side's own reader thread
 *   moves into the ring as space appears. So two readers that each answer
 *   a message by sending one can never deadlock on two full rings. What
 *   bounds the overflow is the protocol above (credits per request).
 * - One reader thread per side runs ih_chan_poll in a loop and sleeps on
 *   its own doorbell when poll finds nothing to do (ih_chan_may_sleep and
 *   ih_chan_woke around the wait).
 * - Lost wake-ups are impossible by the usual store-then-check pairing
 *   (sequentially consistent atomics on both sides): a reader marks itself
 *   asleep and then checks the ring once more; a writer publishes its
 *   message and then checks the mark. At least one of them sees the
 *   other. Extra wake-ups are harmless (the reader finds nothing and
 *   sleeps again).
 * - A reader that frees space in a ring whose writer has overflow waiting
 *   rings that writer's doorbell, so its reader moves the overflow. */
#ifndef IH_CHANNEL_H
#define IH_CHANNEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ih_thread.h"

/* The largest payload one message carries; larger data is split by the
 * sender. Small next to the ring, so a message always fits once the ring
 * has drained a little. */
#define IH_CHAN_MAX_PAYLOAD (64u * 1024u)
/* Default ring size per direction (a power of two). */
#define IH_CHAN_RING_BYTES (1u << 20)

/* A message as the reader sees it: payload[0..len). id names the request
 * it belongs to (0: the worker as a whole). */
typedef struct ih_chan_msg {
  uint16_t type;
  uint16_t flags;
  uint32_t len;
  uint64_t id;
  const unsigned char *payload;
} ih_chan_msg;

/* The shared header of one ring, followed by its data. Positions count
 * bytes ever written and read (modulo 2^32); size is a power of two. */
typedef struct ih_ring {
  _Alignas(64) atomic_uint head;        /* written by the producer */
  _Alignas(64) atomic_uint tail;        /* written by the consumer */
  _Alignas(64) atomic_int consumer_asleep; /* the consumer is (about to be) waiting on its doorbell */
  atomic_int producer_blocked;          /* the producer has overflow waiting for space */
  uint32_t size;
  uint32_t magic;
} ih_ring;

/* Bytes of shared memory a channel with rings of ring_bytes each needs. */
size_t ih_chan_shared_bytes(uint32_t ring_bytes);
/* Lays out fresh rings in mem (the creating side, before the other maps it). */
void ih_chan_shared_init(void *mem, uint32_t ring_bytes);
/* Whether mem holds rings laid out by ih_chan_shared_init for ring_bytes
 * (the worker checks what it was given). */
bool ih_chan_shared_valid(const void *mem, size_t mem_bytes, uint32_t ring_bytes);

/* One side's view. ring_bytes as given to ih_chan_shared_init. The side
 * that created the memory is side 0 (the service), the other side 1.
 * wake_peer rings the other side's doorbell (SetEvent; a condition
 * variable in tests). NULL when out of memory. */
typedef struct ih_chan ih_chan;
ih_chan *ih_chan_new(void *mem, uint32_t ring_bytes, int side, void (*wake_peer)(void *ctx), void *wake_ctx);
void ih_chan_free(ih_chan *ch);

/* Sends a message made of the concatenation of parts (lengths summing to
 * at most IH_CHAN_MAX_PAYLOAD). Never blocks; false only when out of
 * memory for the overflow (the caller treats the peer as lost). Any
 * thread. */
bool ih_chan_send(ih_chan *ch, uint16_t type, uint16_t flags, uint64_t id, const void *const *parts,
                  const size_t *part_lens, size_t part_count);
/* Convenience: one part. */
bool ih_chan_send1(ih_chan *ch, uint16_t type, uint16_t flags, uint64_t id, const void *data, size_t len);

/* The reader's step: moves overflow into the ring, then hands each
 * waiting message to fn (with the reader's own copy of its payload, valid
 * during the call), at most max messages. Returns how many were handled
 * plus whether overflow moved (0: nothing to do, the reader may sleep).
 * Only the side's reader thread calls it. A malformed message (a length
 * beyond the maximum: the other process is corrupt) stops it: returns -1
 * and the caller treats the peer as lost. */
int ih_chan_poll(ih_chan *ch, void (*fn)(void *ctx, const ih_chan_msg *m), void *ctx, int max);
/* Whether a message waits in this side's ring (a cheap look, for a reader
 * that spins a moment before it sleeps). */
bool ih_chan_pending(ih_chan *ch);
/* Before waiting on the side's doorbell: marks the reader asleep and
 * checks once more; false means there is work now (the mark is cleared):
 * poll again instead of waiting. */
bool ih_chan_may_sleep(ih_chan *ch);
/* After the wait returned (rung or timed out). */
void ih_chan_woke(ih_chan *ch);

/* Messages sent and received, bytes of overflow now waiting (status). */
typedef struct ih_chan_stats {
  uint64_t sent, received, overflowed;
  size_t overflow_bytes;
} ih_chan_stats;
void ih_chan_get_stats(ih_chan *ch, ih_chan_stats *out);

#endif
