/* The connection object's own interface for the server layer's files
 * (conn.c; see conn.h). Not for other modules: everything here is called
 * with the connection's lock held. */
#ifndef IH_CONN_INTERNAL_H
#define IH_CONN_INTERNAL_H

#include "server/conn.h"

/* The output buffer's size when a request takes it (conn_request_begin in
 * request.c); it grows from there (response.c) and goes when the response
 * has been sent (conn_out_release), so an idle connection holds none. A
 * request never has less: ih_response_finish writes its fixed 500 into it
 * without allocating. */
#define IH_CONN_OUT_FIRST 8192u

/* Errors the connection reports itself (Win32 values, which is what the
 * transport reports too, so an extension sees familiar codes). */
#define IH_ERR_INVALID_DATA 13   /* ERROR_INVALID_DATA: malformed request body */
#define IH_ERR_CONN_RESET 10054  /* WSAECONNRESET: the client is gone */

/* What the layer above the connection object (the pipeline) gives it when
 * it creates a connection: the connection object calls nothing above it
 * except through these. */
typedef struct ih_conn_hooks {
  /* The one close path is closing c (lock held): the request ends here,
   * unless a handler still owns it (it ends it when it ends). */
  void (*closing)(ih_conn *c);
  /* The last reference went (ih_conn_destroy, lock not held): what the
   * request, its handler and its filters left on the connection. */
  void (*destroying)(ih_conn *c);
} ih_conn_hooks;

/* A connection on transport t with the pipeline's hooks (see ih_conn_new,
 * pipeline.h). NULL when out of memory. */
ih_conn *conn_create(ih_server *s, const ih_transport *t, void *transport_data, const ih_conn_hooks *hooks,
                     const char *local_addr, uint16_t local_port, const char *peer_addr, uint16_t peer_port);

/* Releases a reference with the lock held (the close path, a request's
 * end): an underflow closes the connection through the caller, which is
 * already on its way. */
void conn_unref_locked(ih_conn *c, enum ih_holder h);

/* Deadlines read by the transport's timer sweep. */
void conn_set_deadline(ih_conn *c, uint64_t ms_from_now);
void conn_clear_deadline(ih_conn *c);
/* Grace period plus the time `bytes` take at min_body_rate. */
uint64_t conn_rate_deadline_ms(const ih_conn *c, uint64_t bytes);

/* The connection's peer: its address and port, and whether it is a
 * loopback address (the operator pages). At creation, and again when a
 * PROXY header names the client behind a proxy. */
void conn_set_peer(ih_conn *c, const char *addr, uint16_t port);
/* A loopback address as text: 127.0.0.0/8, ::1, or 127.x mapped into IPv6. */
bool ih_addr_is_loopback(const char *addr);

/* The input buffer: the most a request can need buffered at once; growing
 * it (only where no parsed slice points into it: it may move; false when
 * out of memory, the buffer unchanged); back to its idle size between
 * requests, with nothing buffered. */
size_t conn_in_full_cap(const ih_conn *c);
bool conn_in_grow(ih_conn *c, size_t want);
void conn_in_shrink_idle(ih_conn *c);
/* Whether the input buffer must keep its full size (READ_RAW_DATA filters
 * write into its free space). */
bool conn_in_stays_full(ih_conn *c);
/* A parked connection gives its empty input buffer back, and takes an
 * idle-sized one again when the client sends (false: out of memory). */
void conn_in_release(ih_conn *c);
bool conn_in_take(ih_conn *c);
/* The response went out whole: the output buffer goes. */
void conn_out_release(ih_conn *c);

/* The connection's one operation, posted with the IH_HOLD_IO its
 * completion releases (the only places it is taken; transport.h): a
 * receive of up to max bytes into c->in's free space, a send, a file. */
void conn_transport_recv(ih_conn *c, size_t max);
void conn_transport_send(ih_conn *c, const char *data, size_t len);
void conn_transport_send_file(ih_conn *c, void *file, uint64_t offset, uint64_t length, const char *head,
                              size_t head_len);

/* Bytes written to the client: the status page's bytes_sent and the
 * request's own count (its site's sent bytes, server/metrics.h). Lock held. */
static inline void conn_count_sent(ih_conn *c, size_t bytes)
{
  atomic_fetch_add(&c->server->counters.bytes_sent, (long long)bytes);
  if (c->req)
    c->req->sent_bytes += bytes;
}

/* The one close path (releases IH_HOLD_SOCKET), after the closing hook. */
void conn_close(ih_conn *c);

#endif
