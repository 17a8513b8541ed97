/* The connection's I/O as requests and handlers use it: every byte in and
 * out passes the ISAPI filters that want it (READ_RAW_DATA's read size,
 * SEND_RAW_DATA) on its way to the transport (conn.c's posting functions).
 * Each function posts exactly one operation, whose completion comes to
 * ih_conn_on_recv or ih_conn_on_sent, even when a filter failed (the
 * connection is closed then, so the operation fails as usual). Lock held. */
#ifndef IH_CONN_IO_H
#define IH_CONN_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/conn.h"

/* File bytes per TransmitFile call: each chunk gets its own minimum-rate
 * deadline, so a transfer that stops moving is cancelled whatever its size. */
#define IH_CONN_FILE_CHUNK 65536u

/* A receive into c->in's free space (the caller sets the deadline). */
void conn_post_recv(ih_conn *c);
/* data[0..len) through the SEND_RAW_DATA filters. */
void conn_post_data(ih_conn *c, const char *data, size_t len);
/* The next chunk of file[*offset, *offset + *left), head (c->out's own, or
 * NULL) in front, advancing *offset and *left; read into c->out and sent as
 * data when SEND_RAW_DATA filters must see it. */
void conn_post_file_chunk(ih_conn *c, void *file, uint64_t *offset, uint64_t *left, const char *head,
                          size_t head_len);
/* Appends file[offset, offset + n) to c->out; false when it cannot. */
bool conn_read_file_chunk(ih_conn *c, void *file, uint64_t offset, size_t n);

#endif
