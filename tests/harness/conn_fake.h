/* A fake, in-memory transport (server/transport.h) and platform for the
 * connection pipeline (server/conn.h), and the driver the pipeline's unit
 * tests share: a test plays the client
 * (client_sends, client_closes) and the I/O threads (send_completes,
 * pending_fails, timer_fires) on one connection at a time, and ends with
 * expect_all_released, which proves every holder's count is back to zero,
 * the connection destroyed once and every opened file closed. */
#ifndef IH_CONN_FAKE_H
#define IH_CONN_FAKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "server/conn.h"
#include "server/pipeline.h"

enum fake_op { OP_NONE, OP_RECV, OP_SEND, OP_SEND_FILE };

typedef struct fake_file {
  const char *path;
  const char *data;
  int64_t mtime;
  bool is_dir;
} fake_file;

#define HUGE_SIZE 200000 /* more than the small-file limit: sent in TransmitFile chunks */
extern char huge_data[HUGE_SIZE + 1];
#define FAKE_FILE_COUNT 10
/* In Windows form, as the pipeline must ask for them: C:\site\huge.bin,
 * C:\site, C:\site\index.html, a.txt "AAAA", b.txt, big.txt (20 bytes),
 * C:\site\sub, C:\site\uc, uc\hello.htm "uc hello", lc\hello.htm
 * "lc hello" (no directory lc) */
extern fake_file fs[FAKE_FILE_COUNT];

typedef struct fake_state {
  enum fake_op op;
  char *recv_buf;
  size_t recv_cap;
  char *send_copy;
  size_t send_len;
  const fake_file *file;
  uint64_t file_off, file_len;
  bool shutdown_sent, socket_closed;
  int destroy_requests;
  int files_open;
  char wire[1 << 19]; /* everything "sent" to the client */
  int file_sends;
  int opens; /* file_open calls, found or not */
  char last_open[4096]; /* the path of the last file_open call, as given */
  size_t wire_len;
  int access_lines;
  char last_access_line[4096];
  ih_conn *to_destroy;
} fake_state;
extern fake_state fake;

extern atomic_int ext_end_posted; /* ih_conn_ext_end handed its continuation to the "pool" */
extern int cancel_requests;       /* HSE_REQ_CANCEL_IO reached the platform */
extern bool aborted;              /* abort_socket was called */

/* Tests add what they need (extension_start, filter_call) before
 * ih_server_init. */
extern ih_platform fake_platform;
/* The transport connect_from gives its connections: fake_transport, or a
 * test's own variant of it (send_now, peer_alive). */
extern ih_transport fake_transport;
extern const ih_transport *fake_conn_transport;
extern ih_config *cfg;
extern ih_server server;

/* The tests' configuration: ini parsed into cfg, and huge.bin's bytes
 * filled in. False (the error printed) when ini is refused. Tests then set
 * the platform hooks they need and call ih_server_init. */
bool fake_setup(const char *ini);

/* memmem is not in the Windows CRT. */
const char *find_bytes(const char *hay, size_t hay_len, const char *needle, size_t n);
ih_conn *connect_from(const char *peer);
/* From peer to 127.0.0.1:local_port. */
ih_conn *connect_to(const char *peer, uint16_t local_port);
ih_conn *connect_client(void);
void client_sends(ih_conn *c, const char *data);
void client_sends_bytes(ih_conn *c, const void *data, size_t len);
/* Completes the pending send; the bytes land on the fake wire. */
void send_completes(ih_conn *c);
/* The pending operation fails with WSAECONNRESET (10054), or with err. */
void pending_fails(ih_conn *c);
void pending_fails_with(ih_conn *c, int err);
void client_closes(ih_conn *c);
void timer_fires(ih_conn *c);
/* The connection must be gone: destroyed once, nothing live, no open file. */
void expect_all_released(ih_conn *c);
bool wire_has(const char *s);
/* The body of the response on the wire (after the blank line; the whole
 * wire for an HTTP/0.9 answer, which has no head). */
const char *wire_body(void);
/* One request on a fresh connection from peer, its whole answer on the fake
 * wire, the connection then closed and released. */
void exchange(const char *peer, const char *request);

#endif
