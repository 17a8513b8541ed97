/* The fake transport and platform and the driver of the pipeline's unit tests (conn_fake.h). */
#include "conn_fake.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ih_test.h"

/* memmem is not in the Windows CRT. */
const char *find_bytes(const char *hay, size_t hay_len, const char *needle, size_t n)
{
  for (size_t i = 0; n <= hay_len && i <= hay_len - n; i++)
    if (memcmp(hay + i, needle, n) == 0)
      return hay + i;
  return NULL;
}

/* ---- fake transport and platform ---- */

char huge_data[HUGE_SIZE + 1];

fake_file fs[FAKE_FILE_COUNT] = {
  { "C:\\site\\huge.bin", huge_data, 1700000000, false },
  { "C:\\site", NULL, 0, true },
  { "C:\\site\\index.html", "<h1>home</h1>", 1700000000, false },
  { "C:\\site\\a.txt", "AAAA", 1700000000, false },
  { "C:\\site\\b.txt", "BBBBBBBB", 1700000000, false },
  { "C:\\site\\big.txt", "0123456789abcdefghij", 1700000000, false },
  { "C:\\site\\sub", NULL, 0, true },
  { "C:\\site\\uc", NULL, 0, true },
  { "C:\\site\\uc\\hello.htm", "uc hello", 1700000000, false },
  { "C:\\site\\lc\\hello.htm", "lc hello", 1700000000, false },
};

fake_state fake;

static void f_recv(ih_conn *c, char *buf, size_t cap)
{
  (void)c;
  IH_EQ_INT(fake.op, OP_NONE); /* one operation at a time per connection */
  fake.op = OP_RECV;
  fake.recv_buf = buf;
  fake.recv_cap = cap;
}

static void f_send(ih_conn *c, const char *data, size_t len)
{
  (void)c;
  IH_EQ_INT(fake.op, OP_NONE);
  fake.op = OP_SEND;
  free(fake.send_copy);
  fake.send_copy = malloc(len + 1);
  if (len)
    memcpy(fake.send_copy, data, len);
  fake.send_len = len;
}

static void f_send_file(ih_conn *c, void *file, uint64_t off, uint64_t len, const char *head, size_t head_len)
{
  f_send(c, head, head_len);
  fake.op = OP_SEND_FILE;
  fake.file_sends++;
  fake.file = file;
  fake.file_off = off;
  fake.file_len = len;
}

static void f_shutdown(ih_conn *c) { (void)c; fake.shutdown_sent = true; }
static void f_close(ih_conn *c)
{
  (void)c;
  IH_CHECK(!fake.socket_closed);
  fake.socket_closed = true;
}
static void f_destroy_later(ih_conn *c)
{
  fake.destroy_requests++;
  fake.to_destroy = c;
}

static enum ih_fs_status f_open(const char *path, void **file, ih_file_info *info)
{
  /* Paths are matched byte for byte, so a '/' from the pipeline finds
   * nothing: what IIS hands filters and DLLs is "C:\site\a.txt". */
  snprintf(fake.last_open, sizeof fake.last_open, "%s", path);
  size_t len = strlen(path);
  if (len > 1 && path[len - 1] == '\\')
    len--; /* like Windows, "dir\" names the directory */
  for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
    if (strlen(fs[i].path) == len && strncmp(fs[i].path, path, len) == 0) {
      *file = (void *)&fs[i];
      info->is_dir = fs[i].is_dir;
      info->size = fs[i].data ? strlen(fs[i].data) : 0;
      info->mtime_unix = fs[i].mtime;
      fake.files_open++;
      fake.opens++;
      return IH_FS_OK;
    }
  }
  fake.opens++;
  return IH_FS_NOT_FOUND;
}

static enum ih_fs_status f_read(void *file, uint64_t off, char *buf, size_t len, size_t *got)
{
  const fake_file *f = file;
  size_t size = strlen(f->data);
  *got = off >= size ? 0 : (size - off < len ? size - off : len);
  memcpy(buf, f->data + off, *got);
  return IH_FS_OK;
}

static void f_file_close(void *file)
{
  (void)file;
  fake.files_open--;
}

static enum ih_fs_status f_dir_list(const char *path, ih_dir_entry_fn fn, void *arg)
{
  (void)path;
  fn(arg, "a.txt", false, 4, 1700000000);
  return IH_FS_OK;
}

static void f_access_log(const ih_site *site, int64_t t, const char *line, size_t len)
{
  (void)site;
  (void)t;
  size_t n = len < sizeof fake.last_access_line - 1 ? len : sizeof fake.last_access_line - 1;
  memcpy(fake.last_access_line, line, n);
  fake.last_access_line[n] = '\0';
  fake.access_lines++;
}

atomic_int ext_end_posted;
static void f_ext_end_later(ih_conn *c)
{
  (void)c;
  atomic_store(&ext_end_posted, 1);
}

int cancel_requests;
static void f_cancel_io(ih_conn *c)
{
  (void)c;
  cancel_requests++;
}
bool aborted;
static void f_abort_socket(ih_conn *c)
{
  (void)c;
  aborted = true;
}

ih_transport fake_transport = {
  .recv = f_recv,
  .send = f_send,
  .send_file = f_send_file,
  .shutdown_send = f_shutdown,
  .close_socket = f_close,
  .destroy_later = f_destroy_later,
  .cancel_io = f_cancel_io,
  .abort_socket = f_abort_socket,
};
const ih_transport *fake_conn_transport = &fake_transport;

ih_platform fake_platform = {
  .file_open = f_open,
  .file_read = f_read,
  .file_close = f_file_close,
  .dir_list = f_dir_list,
  .access_log = f_access_log,
  .ext_end_later = f_ext_end_later,
};

/* ---- driver ---- */

ih_config *cfg;
ih_server server;

bool fake_setup(const char *ini)
{
  char err[256];
  if (ih_config_parse(ini, strlen(ini), "test.ini", "", &cfg, err, sizeof err) != 0) {
    printf("config: %s\n", err);
    return false;
  }
  for (int i = 0; i < HUGE_SIZE; i++)
    huge_data[i] = (char)('a' + i % 26);
  return true;
}

ih_conn *connect_to(const char *peer, uint16_t local_port)
{
  free(fake.send_copy);
  memset(&fake, 0, sizeof fake);
  ih_conn *c = ih_conn_new(&server, fake_conn_transport, NULL, "127.0.0.1", local_port, peer, 50000);
  ih_conn_start(c);
  return c;
}

ih_conn *connect_from(const char *peer) { return connect_to(peer, 80); }

ih_conn *connect_client(void) { return connect_from("127.0.0.1"); }

/* A zero-byte receive (a parked connection's) completes when the client
 * sends or closes, as a socket's does; the connection then posts the real
 * one. */
static void zero_byte_receive_completes(ih_conn *c)
{
  if (fake.op == OP_RECV && fake.recv_cap == 0) {
    fake.op = OP_NONE;
    ih_conn_on_recv(c, 0, 0);
  }
}

void client_sends(ih_conn *c, const char *data) { client_sends_bytes(c, data, strlen(data)); }

void client_sends_bytes(ih_conn *c, const void *data, size_t len)
{
  if (len)
    zero_byte_receive_completes(c);
  if (!IH_EQ_INT(fake.op, OP_RECV))
    return;
  IH_CHECK(len <= fake.recv_cap);
  memcpy(fake.recv_buf, data, len);
  fake.op = OP_NONE;
  ih_conn_on_recv(c, len, 0);
}

void send_completes(ih_conn *c)
{
  if (!IH_CHECK(fake.op == OP_SEND || fake.op == OP_SEND_FILE))
    return;
  size_t total = fake.send_len;
  memcpy(fake.wire + fake.wire_len, fake.send_copy, fake.send_len);
  fake.wire_len += fake.send_len;
  if (fake.op == OP_SEND_FILE) {
    memcpy(fake.wire + fake.wire_len, fake.file->data + fake.file_off, fake.file_len);
    fake.wire_len += fake.file_len;
    total += fake.file_len;
  }
  fake.op = OP_NONE;
  ih_conn_on_sent(c, total, 0);
}

void pending_fails_with(ih_conn *c, int err)
{
  enum fake_op op = fake.op;
  fake.op = OP_NONE;
  if (op == OP_RECV)
    ih_conn_on_recv(c, 0, err);
  else if (op == OP_SEND || op == OP_SEND_FILE)
    ih_conn_on_sent(c, 0, err);
  else
    IH_CHECK(!"no operation pending");
}

void pending_fails(ih_conn *c) { pending_fails_with(c, 10054); }

void client_closes(ih_conn *c)
{
  zero_byte_receive_completes(c);
  if (!IH_EQ_INT(fake.op, OP_RECV))
    return;
  fake.op = OP_NONE;
  ih_conn_on_recv(c, 0, 0); /* EOF */
}

void timer_fires(ih_conn *c)
{
  /* as the platform's sweep does it */
  ih_conn_expire_now(c);
  if (IH_CHECK(ih_conn_timer_claim(c, ih_clock_ms(), false)))
    ih_conn_on_timer(c);
}

void expect_all_released(ih_conn *c)
{
  IH_EQ_INT(fake.destroy_requests, 1);
  IH_CHECK(fake.socket_closed);
  IH_EQ_INT(fake.op, OP_NONE);
  if (fake.to_destroy == c) {
    for (int h = 0; h < IH_HOLD__COUNT; h++)
      if (!IH_EQ_INT(ih_conn_refs(c, (enum ih_holder)h), 0))
        ih_test_note("holder %s", ih_holder_name((enum ih_holder)h));
    /* the timer sweep must not be able to revive a connection queued for destruction */
    IH_CHECK(!ih_conn_try_ref(c, IH_HOLD_TIMER));
    ih_conn_destroy(c);
  }
  IH_EQ_INT(atomic_load(&server.counters.connections_live), 0);
  IH_EQ_INT(atomic_load(&server.counters.requests_in_flight), 0);
  IH_EQ_INT(fake.files_open, 0);
}

bool wire_has(const char *s) { return find_bytes(fake.wire, fake.wire_len, s, strlen(s)) != NULL; }

const char *wire_body(void)
{
  fake.wire[fake.wire_len] = '\0';
  const char *p = strstr(fake.wire, "\r\n\r\n");
  return p ? p + 4 : fake.wire;
}

void exchange(const char *peer, const char *request)
{
  ih_conn *c = connect_from(peer);
  client_sends(c, request);
  send_completes(c);
  client_closes(c);
  expect_all_released(c);
  fake.wire[fake.wire_len] = '\0';
}
