/* One worker process as the service sees it (relay.h): its channel and the
 * requests relayed to it, by number. The pool manager (the platform) makes
 * one per worker; the pipeline's relay handler (conn_relay.h) registers a
 * request in it, and the worker's messages find their connection through
 * it (ih_relay_dispatch in pipeline.h).
 *
 * A registered request holds IH_HOLD_RELAY on its connection (conn.h). Its
 * entry is removed, and the reference released, in one place:
 * ih_relay_link_take (the worker's END, or the worker lost), called only
 * by the link's reader thread, or after it has stopped; so a message being
 * handled can never lose its connection underneath it. */
#ifndef IH_RELAY_LINK_H
#define IH_RELAY_LINK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pool/channel.h"

typedef struct ih_conn ih_conn;
typedef struct ih_relay_link ih_relay_link;

/* owner: the platform's worker object (ih_relay_link_owner). The link is
 * counted: the creator holds one reference, and each client connection
 * whose worker-side connection lives in this worker one more (conn.h:
 * c->relay_link), so a connection can still say CLOSE, harmlessly, to a
 * worker that is gone. */
ih_relay_link *ih_relay_link_new(ih_chan *ch, void *owner);
void ih_relay_link_ref(ih_relay_link *l);
/* The last reference frees it (its channel is the owner's). */
void ih_relay_link_unref(ih_relay_link *l);
void *ih_relay_link_owner(ih_relay_link *l);
/* How a file handle a worker handed over (RELAY_FILE) is closed when its
 * request is already gone (the platform's file_close). */
void ih_relay_link_set_file_close(ih_relay_link *l, void (*file_close)(void *file));
/* A FILE message whose request is gone: its handle is closed. */
void ih_relay_link_drop_file(ih_relay_link *l, const ih_chan_msg *m);

/* Sends a message to the worker (pool/channel.h); false when the link is
 * closed (the worker is gone, its channel may be freed) or memory ran
 * out. Any thread. */
bool ih_relay_link_send(ih_relay_link *l, uint16_t type, uint16_t flags, uint64_t id, const void *const *parts,
                        const size_t *part_lens, size_t part_count);
bool ih_relay_link_send1(ih_relay_link *l, uint16_t type, uint16_t flags, uint64_t id, const void *data, size_t len);

/* Registers c's request (lock held) under id, or under a new number when
 * id is 0 (the client connection's first request in this worker), and
 * returns the number; 0 when out of memory or the link is closed (the
 * worker is gone). */
uint64_t ih_relay_link_add(ih_relay_link *l, ih_conn *c, uint64_t id);
/* The connection of request id, borrowed (its reference stays the
 * entry's); NULL when none. Reader thread. */
ih_conn *ih_relay_link_find(ih_relay_link *l, uint64_t id);
/* Removes request id's entry and returns its connection, whose
 * IH_HOLD_RELAY the caller now releases; NULL when none. */
ih_conn *ih_relay_link_take(ih_relay_link *l, uint64_t id);
/* The worker is gone: nothing more is sent or registered (after this
 * returns no sender is inside ih_relay_link_send, so the owner may free the
 * channel); the number of a request still registered (0: none left) for the
 * caller to take. */
uint64_t ih_relay_link_close(ih_relay_link *l);

/* Files the worker handed over by handle (RELAY_FILE) that were sent. */
void ih_relay_link_count_file(ih_relay_link *l);
uint64_t ih_relay_link_files(ih_relay_link *l);
/* Requests registered now, and ever. */
long ih_relay_link_in_flight(ih_relay_link *l);
uint64_t ih_relay_link_requests(ih_relay_link *l);

#endif
