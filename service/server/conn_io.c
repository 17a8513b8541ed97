/* The connection's I/O through the filters (conn_io.h). */
#include "server/conn_io.h"

#include "server/conn_filters.h"
#include "server/conn_internal.h"
#include "server/response.h"

void conn_post_recv(ih_conn *c) { conn_transport_recv(c, conn_filter_read_size(c, c->in_cap - c->in_len)); }

/* Sends data through the SEND_RAW_DATA filters (and what filters wrote
 * before it); a filter that fails or crashes closes the connection, and
 * the send then fails as usual: one completion either way. */
void conn_post_data(ih_conn *c, const char *data, size_t len)
{
  const char *out = data;
  size_t out_len = len;
  if (c->filters) {
    enum ih_chain_result r = conn_filter_raw_send(c, data, len, &out, &out_len);
    if (r == IH_CHAIN_FAULT || r == IH_CHAIN_ERROR)
      conn_close(c);
  }
  conn_set_deadline(c, conn_rate_deadline_ms(c, out_len));
  conn_transport_send(c, out, out_len);
}

bool conn_read_file_chunk(ih_conn *c, void *file, uint64_t offset, size_t n)
{
  size_t got = 0;
  if (!ih_response_reserve(c, n) ||
      c->server->platform->file_read(file, offset, c->out + c->out_len, n, &got) != IH_FS_OK || got != n)
    return false;
  c->out_len += n;
  return true;
}

/* File bodies go out in chunks, each with its own minimum-rate deadline, so
 * a transfer that stops moving is cancelled within minutes whatever the
 * file's size. The head rides with the first chunk. SEND_RAW_DATA filters
 * see every outgoing byte, so for them the chunk is read into memory
 * (after the head) instead of going out with TransmitFile. */
void conn_post_file_chunk(ih_conn *c, void *file, uint64_t *offset, uint64_t *left, const char *head, size_t head_len)
{
  uint64_t chunk = *left < IH_CONN_FILE_CHUNK ? *left : IH_CONN_FILE_CHUNK;
  if (conn_filter_sends_through(c)) {
    c->out_len = head ? head_len : 0; /* head is c->out's own */
    if (!conn_read_file_chunk(c, file, *offset, (size_t)chunk))
      conn_close(c); /* the send below then fails: one completion, as always */
    *offset += chunk;
    *left -= chunk;
    conn_post_data(c, c->out, c->out_len);
    return;
  }
  conn_set_deadline(c, conn_rate_deadline_ms(c, head_len + chunk));
  conn_transport_send_file(c, file, *offset, chunk, head, head_len);
  *offset += chunk;
  *left -= chunk;
}
