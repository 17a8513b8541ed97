/* The transport interface: how a connection's bytes move (ih_conn in
 * server/conn.h). Each connection is given its transport when it is created
 * (ih_conn_new), with the transport's own per-connection data
 * (c->transport_data), so one server can serve connections of several
 * transports at once. The first implementation is the IOCP socket
 * (service/win32/iocp_engine_win32.c); the second is the channel to the
 * service that a worker process's connections use (server/relay_worker.c);
 * tests/harness/conn_fake.c is the in-memory one the pipeline's unit tests
 * drive.
 *
 * Contract, which every transport keeps:
 *
 * - Operations. recv, send and send_file are called with the connection's
 *   lock held and an IH_HOLD_IO reference taken for them (server/conn.c's
 *   posting functions are the only callers). Each produces exactly one
 *   completion, later and on another stack, even when it fails at once
 *   (then with an error): recv into ih_conn_on_recv, send and send_file into
 *   ih_conn_on_sent. The completion carries the byte count and the
 *   operation's own error (0: success; a Win32 error value otherwise, which
 *   the pipeline logs and answers by closing). A receive that completes with
 *   0 bytes and no error is the peer's orderly close. At most one operation
 *   is outstanding per connection.
 * - Closing. close_socket is called once, by the connection's one close
 *   path; an operation still outstanding then completes with an error, as
 *   usual. shutdown_send sends the end of the stream after what was sent
 *   (the pipeline's lingering close). cancel_io makes the outstanding
 *   operation complete with an error now; abort_socket makes the coming
 *   close_socket abortive.
 * - Destruction. When the connection's last reference goes, destroy_later
 *   is called (any thread, possibly with the lock held); the transport calls
 *   ih_conn_destroy later, from a point where nothing of its own still uses
 *   the connection, and frees its per-connection data after that.
 * - Timers. The connection only sets and clears its deadline
 *   (c->deadline_ms); it runs no timer of its own. The transport's sweep
 *   looks at each of its connections now and then, calls
 *   ih_conn_timer_claim (true: the deadline passed, or a drain asks for all,
 *   and an IH_HOLD_TIMER reference was taken) and then, on another stack,
 *   ih_conn_on_timer, which releases it. A pipe transport keeps this same
 *   contract: its own sweep, the same two calls.
 * - The transport never writes a field of the connection; what it may
 *   change goes through the functions named in server/conn.h
 *   (ih_conn_timer_claim, ih_conn_expire_now, ih_conn_cancel, ih_conn_abandon). */
#ifndef IH_TRANSPORT_H
#define IH_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ih_conn ih_conn;

typedef struct ih_transport {
  /* up to cap bytes into buf: one ih_conn_on_recv */
  void (*recv)(ih_conn *c, char *buf, size_t cap);
  /* data[0..len), which stays valid until the completion: one ih_conn_on_sent */
  void (*send)(ih_conn *c, const char *data, size_t len);
  /* head (may be empty) then length bytes of file from offset (a file of
   * the platform's file_open): one ih_conn_on_sent */
  void (*send_file)(ih_conn *c, void *file, uint64_t offset, uint64_t length, const char *head, size_t head_len);
  void (*shutdown_send)(ih_conn *c); /* end of stream after the data already sent */
  void (*close_socket)(ih_conn *c);  /* once; outstanding I/O completes with an error */
  void (*destroy_later)(ih_conn *c); /* refs are zero: call ih_conn_destroy from a safe point */
  /* Cancels the outstanding operation (HSE_REQ_CANCEL_IO, a timeout during
   * send_now); it completes with an error as usual. */
  void (*cancel_io)(ih_conn *c);
  /* Makes the coming close_socket abortive (RST; HSE_REQ_ABORTIVE_CLOSE).
   * NULL: closes are always orderly. */
  void (*abort_socket)(ih_conn *c);
  /* Whether the peer still looks connected (no end of stream or reset
   * received), without consuming input (HSE_REQ_IS_CONNECTED). NULL:
   * assume connected. */
  bool (*peer_alive)(ih_conn *c);
  /* Sends data from the calling thread (an extension's synchronous write)
   * without a completion, waiting if the transport cannot take it at once;
   * returns 0 or an error. Called without the lock; the connection marks
   * its operation slot busy meanwhile and never closes underneath it:
   * close_socket is deferred and cancel_io (which must also cancel this
   * send) used instead. NULL: writes go through send. */
  int (*send_now)(ih_conn *c, const char *data, size_t len);
  /* A request's response has gone out whole and the connection stays for
   * another (keep_alive) or closes now: what a transport that carries one
   * request per connection (the relay to a worker, server/relay.h) tells
   * its other end. NULL: nothing to do (a socket). Lock held. */
  void (*request_end)(ih_conn *c, bool keep_alive);
} ih_transport;

#endif
