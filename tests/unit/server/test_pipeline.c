/* The connection pipeline on a fake, in-memory platform: every scenario ends
 * with the client gone, and then every holder's count must be zero, the
 * connection destroyed exactly once, the live counts back to zero and every
 * opened file closed. This is the unit-level proof that no return path leaks
 * a reference (KB Q142658) and that each protocol version gets a well-formed
 * answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_fake.h"
#include "core/config.h"
#include "server/conn.h"
#include "ih_test.h"
#include "isapi/shared/isapi_map.h"
#include "isapi/shared/isapi_request_info.h"

static bool f_extension_start(ih_conn *c);

/* ---- a scripted extension on its own thread ----
 * The extension calls the blocking ih_conn_ext_* entry points; the test's
 * main thread plays the I/O pool and completes what they post. Threads go
 * through core/ih_thread.h, so these scenarios run under Wine too. */
#include "core/ih_thread.h"

/* send_now: the extension's thread sends by itself; the test decides when
 * (and how) it returns. */
static struct {
  atomic_int calls;
  atomic_int release; /* 0 blocked, 1 succeed, 2 fail */
  atomic_int inside;
  char data[1024];
  size_t len;
} now;

static int f_send_now(ih_conn *c, const char *data, size_t len)
{
  (void)c;
  atomic_fetch_add(&now.calls, 1);
  atomic_store(&now.inside, 1);
  while (atomic_load(&now.release) == 0)
    ih_thread_yield();
  atomic_store(&now.inside, 0);
  if (atomic_load(&now.release) == 2)
    return 995; /* cancelled */
  memcpy(now.data + now.len, data, len);
  now.len += len;
  memcpy(fake.wire + fake.wire_len, data, len);
  fake.wire_len += len;
  return 0;
}

static ih_transport fake_transport_now; /* fake_transport plus send_now */

enum ext_script {
  EXT_KEEP_CONN, EXT_SUCCESS, EXT_PENDING_DONE, EXT_ERROR, EXT_SILENT, EXT_RAW, EXT_READ_BODY,
  EXT_ASYNC_WRITE, EXT_END_WHILE_PENDING, EXT_ASYNC_READ, EXT_CLOSE_WHILE_READING, EXT_CANCEL_READ, EXT_FILE,
  EXT_HEAD_THEN_WAIT, EXT_ROW, EXT_OWN_DATE_SERVER, EXT_HUGE_HEAD, EXT_BODILESS,
};
static int ext_bodiless_status; /* EXT_BODILESS: the status it answers with a body anyway */
static int ext_head_result; /* what ih_conn_ext_send_head returned to EXT_HUGE_HEAD */

/* One row of the extension keep-alive table (docs/keep-alive.md): what the
 * extension does and whether the connection must stay open. */
typedef struct ka_row {
  const char *name;
  const char *request;  /* the whole request */
  int status;           /* 0: the extension sends no head */
  const char *headers;  /* its header lines */
  const char *body;     /* written with WriteClient after the head (or raw, see below) */
  bool raw;             /* body is written before any head: the extension's own response */
  bool close_after;     /* HSE_IO_DISCONNECT_AFTER_SEND */
  uint32_t hse;         /* how the session ends */
  int http_status;      /* dwHttpStatusCode */
  bool draining;        /* the server is stopping */
  bool keep;            /* expected */
} ka_row;
static const ka_row *ka_current;
static atomic_int ext_go_on; /* EXT_HEAD_THEN_WAIT: the test lets the extension continue */
static enum ext_script ext_next;
static atomic_int ext_finished;
static char ext_read_buf[64];
static size_t ext_read_len;
static const char hdrs[] = "Content-Type: text/plain\r\nContent-Length: 5\r\n";

/* What asynchronous completions delivered (they run on the "I/O thread",
 * the test's main thread, once the connection lock is released). */
static struct {
  atomic_int calls;
  size_t bytes;
  int err;
  int busy_async, busy_sync; /* results of calls made while an operation was outstanding */
  atomic_int second_tried;    /* both were made: the first may complete now */
} async_seen;

static void head(ih_conn *c, const char *headers, const char *body)
{
  ih_ext_head h = { 200, "OK", headers, strlen(headers), body, strlen(body), false };
  IH_EQ_INT(ih_conn_ext_send_head(c, &h, NULL), IH_EXT_OK);
}

static void *ext_done_thread(void *arg)
{
  ih_conn_ext_end(arg, 2 /* HSE_STATUS_SUCCESS_AND_KEEP_CONN, as DONE_WITH_SESSION's status */, 200);
  atomic_store(&ext_finished, 1);
  return NULL;
}

/* A DLL's completion routine that ends the session from inside it, as
 * DLLs using HSE_STATUS_PENDING do. */
static void done_and_end(void *ctx, size_t bytes, int err)
{
  async_seen.bytes = bytes;
  async_seen.err = err;
  atomic_fetch_add(&async_seen.calls, 1);
  ih_conn_ext_end(ctx, err ? 4 : 2, 200);
  atomic_store(&ext_finished, 1);
}

/* A completion routine that only records. */
static void done_record(void *ctx, size_t bytes, int err)
{
  (void)ctx;
  async_seen.bytes = bytes;
  async_seen.err = err;
  atomic_fetch_add(&async_seen.calls, 1);
}

static void wait_async_calls(int n)
{
  for (int i = 0; i < 2000000 && atomic_load(&async_seen.calls) < n; i++)
    ih_thread_yield();
}

/* Extension threads that have not yet returned: run_extension waits for
 * them, so what a thread wrote after its session ended (a refused second
 * operation's result) is seen by the checks that follow. */
static atomic_int ext_threads_live;

/* Spins until cond holds, reading it under the connection's lock: the
 * extension's thread calls the platform under that lock, so this orders
 * what it wrote before the test's next step, as the completion port does on
 * the real platform. */
#define WAIT_UNDER_LOCK(c, cond)                 \
  for (int spins_ = 0; spins_ < 2000000; spins_++) { \
    ih_mutex_lock((c)->lock);                    \
    bool done_ = (cond);                         \
    ih_mutex_unlock((c)->lock);                  \
    if (done_)                                   \
      break;                                     \
    ih_thread_yield();                           \
  }

static void *ext_script(void *arg)
{
  ih_conn *c = arg;
  ih_ext_done end_in_callback = { done_and_end, c }, record = { done_record, c };
  switch (ext_next) {
  case EXT_KEEP_CONN:
  case EXT_SUCCESS:
  case EXT_ERROR:
    head(c, hdrs, "");
    ih_conn_ext_write(c, "hello", 5, NULL);
    ih_conn_ext_end(c, ext_next == EXT_KEEP_CONN ? 2 : ext_next == EXT_SUCCESS ? 1 : 4, 200);
    break;
  case EXT_PENDING_DONE: { /* HttpExtensionProc returned PENDING; another thread finishes */
    head(c, hdrs, "hello");
    ih_thread *t = ih_thread_start(ext_done_thread, c);
    if (IH_CHECK(t != NULL))
      ih_thread_detach(t);
    return NULL;
  }
  case EXT_SILENT:
    ih_conn_ext_end(c, 1, 204);
    break;
  case EXT_RAW:
    ih_conn_ext_write(c, "HTTP/1.0 200 OK\r\nX-Own: yes\r\n\r\nraw body",
                      strlen("HTTP/1.0 200 OK\r\nX-Own: yes\r\n\r\nraw body"), NULL);
    ih_conn_ext_end(c, 1, 200);
    break;
  case EXT_READ_BODY: {
    size_t n = sizeof ext_read_buf;
    ext_read_len = 0;
    while (ih_conn_ext_read(c, ext_read_buf + ext_read_len, &n, NULL) == 0 && n) {
      ext_read_len += n;
      n = sizeof ext_read_buf - ext_read_len;
    }
    static const char h2[] = "Content-Length: 2\r\n";
    head(c, h2, "ok");
    ih_conn_ext_end(c, 2, 200);
    break;
  }
  case EXT_ASYNC_WRITE: /* async write; a second operation is refused; the callback ends the session */
    head(c, hdrs, "");
    IH_EQ_INT(ih_conn_ext_write(c, "hello", 5, &end_in_callback), IH_EXT_OK);
    async_seen.busy_async = ih_conn_ext_write(c, "x", 1, &record);
    async_seen.busy_sync = ih_conn_ext_write(c, "x", 1, NULL);
    atomic_store(&async_seen.second_tried, 1);
    return NULL; /* like HSE_STATUS_PENDING: the callback ends it */
  case EXT_END_WHILE_PENDING: /* the session ends while its write is in flight */
    head(c, hdrs, "");
    IH_EQ_INT(ih_conn_ext_write(c, "hello", 5, &record), IH_EXT_OK);
    ih_conn_ext_end(c, 2, 200);
    break;
  case EXT_ASYNC_READ: { /* nothing buffered: the read waits for the client */
    size_t cap = sizeof ext_read_buf;
    IH_EQ_INT(ih_conn_ext_read(c, ext_read_buf, &cap, &record), IH_EXT_OK);
    wait_async_calls(1);
    ext_read_len = async_seen.bytes;
    static const char h3[] = "Content-Length: 2\r\n";
    head(c, h3, "ok");
    ih_conn_ext_end(c, 2, 200);
    break;
  }
  case EXT_CLOSE_WHILE_READING: { /* HSE_REQ_CLOSE_CONNECTION with a read outstanding */
    size_t cap = sizeof ext_read_buf;
    IH_EQ_INT(ih_conn_ext_read(c, ext_read_buf, &cap, &end_in_callback), IH_EXT_OK);
    ih_conn_ext_close(c, true);
    return NULL; /* the failed read's callback ends the session */
  }
  case EXT_CANCEL_READ: { /* HSE_REQ_CANCEL_IO: the read fails, the response still goes out, then close */
    size_t cap = sizeof ext_read_buf;
    IH_EQ_INT(ih_conn_ext_read(c, ext_read_buf, &cap, &record), IH_EXT_OK);
    ih_conn_ext_cancel(c);
    wait_async_calls(1);
    head(c, hdrs, "hello");
    ih_conn_ext_end(c, 2, 200);
    break;
  }
  case EXT_HEAD_THEN_WAIT: /* a head, then a pause longer than the hold, then the body */
    head(c, hdrs, "");
    atomic_store(&ext_finished, 2); /* the head call returned */
    while (!atomic_load(&ext_go_on))
      ih_thread_yield();
    ih_conn_ext_write(c, "hello", 5, NULL);
    ih_conn_ext_end(c, 2, 200);
    break;
  case EXT_ROW: {
    const ka_row *row = ka_current;
    if (row->status) {
      ih_ext_head h = { row->status, "", row->headers, strlen(row->headers), "", 0, strstr(row->headers, "Connection: close") != NULL };
      ih_conn_ext_send_head(c, &h, NULL);
    }
    if (row->body[0])
      ih_conn_ext_write(c, row->body, strlen(row->body), NULL);
    if (row->close_after)
      ih_conn_ext_close_after(c);
    ih_conn_ext_end(c, row->hse, row->http_status);
    break;
  }
  case EXT_OWN_DATE_SERVER: /* its own Date and Server, in any case */
    head(c, "date: Tue, 01 Jan 2030 00:00:00 GMT\r\nSERVER: DllServer/1\r\nContent-Length: 5\r\n", "hello");
    ih_conn_ext_end(c, 2, 200);
    break;
  case EXT_HUGE_HEAD: { /* a header block past the in-memory response limit */
    size_t n = 5u << 20;
    char *big = malloc(n + 32);
    if (!IH_CHECK(big != NULL))
      break;
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', n);
    memcpy(big + 7 + n, "\r\nContent-Length: 5\r\n", 21);
    ih_ext_head h = { 200, "OK", big, n + 28, "", 0, false };
    ext_head_result = ih_conn_ext_send_head(c, &h, NULL);
    free(big);
    ih_conn_ext_write(c, "hello", 5, NULL);
    ih_conn_ext_end(c, 2, 200);
    break;
  }
  case EXT_BODILESS: { /* a status without content, with a body in the head call, a write and a file */
    ih_ext_head h = { ext_bodiless_status, "", "X-Kind: bodiless\r\n", 18, "in-head", 7, false };
    IH_EQ_INT(ih_conn_ext_send_head(c, &h, NULL), IH_EXT_OK);
    ih_conn_ext_write(c, "written", 7, NULL);
    IH_EQ_INT(ih_conn_ext_send_file(c, (void *)&fs[5], 0, 20, NULL), IH_EXT_OK);
    ih_conn_ext_end(c, 2, ext_bodiless_status);
    break;
  }
  case EXT_FILE: /* TRANSMIT_FILE-style: head, the extension's file, a tail */
    head(c, "Content-Length: 24\r\n", "");
    IH_EQ_INT(ih_conn_ext_send_file(c, (void *)&fs[5], 0, 20, NULL), IH_EXT_OK);
    ih_conn_ext_write(c, "tail", 4, NULL);
    ih_conn_ext_end(c, 2, 200);
    break;
  }
  atomic_store(&ext_finished, 1);
  return NULL;
}

static void *ext_thread(void *arg)
{
  ext_script(arg);
  atomic_fetch_sub(&ext_threads_live, 1);
  return NULL;
}

static bool f_extension_start(ih_conn *c)
{
  atomic_store(&ext_finished, 0);
  atomic_fetch_add(&ext_threads_live, 1);
  ih_thread *t = ih_thread_start(ext_thread, c);
  if (!t) {
    atomic_fetch_sub(&ext_threads_live, 1);
    return false;
  }
  ih_thread_detach(t);
  return true;
}

/* Plays the I/O pool until the scripted extension has finished. */
static void run_extension(ih_conn *c)
{
  for (int spins = 0; spins < 2000000; spins++) {
    ih_mutex_lock(c->lock);
    enum fake_op op = fake.op;
    ih_mutex_unlock(c->lock);
    if (op == OP_SEND || op == OP_SEND_FILE)
      send_completes(c);
    else if (atomic_exchange(&ext_end_posted, 0))
      ih_conn_on_ext_end(c); /* the pool's part of ending the session */
    else if (atomic_load(&ext_finished) && c->ext_state == NULL && atomic_load(&ext_threads_live) == 0)
      return;
    else
      ih_thread_yield();
  }
  IH_CHECK(!"the extension did not finish");
}

static const char GET11[] = "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n";
static const char CL5[] = "Content-Length: 5\r\n";

static const ka_row ka_rows[] = {
  { "SUCCESS_AND_KEEP_CONN, Content-Length met", GET11, 200, CL5, "hello", false, false, 2, 200, false, true },
  { "SUCCESS (IIS 4+: same as KEEP_CONN)", GET11, 200, CL5, "hello", false, false, 1, 200, false, true },
  { "0 (accepted as SUCCESS)", GET11, 200, CL5, "hello", false, false, 0, 200, false, true },
  { "ERROR after a complete response", GET11, 200, CL5, "hello", false, false, 4, 200, false, false },
  { "unknown return code", GET11, 200, CL5, "hello", false, false, 77, 200, false, false },
  { "body shorter than Content-Length", GET11, 200, CL5, "hel", false, false, 2, 200, false, false },
  { "body longer than Content-Length", GET11, 200, CL5, "hello!!", false, false, 2, 200, false, false },
  { "no Content-Length: ends at close", GET11, 200, "Content-Type: text/plain\r\n", "hello", false, false, 2, 200, false,
    false },
  { "chunked by the extension on HTTP/1.1", GET11, 200, "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n",
    false, false, 2, 200, false, true },
  { "chunked on HTTP/1.0 (not a 1.0 framing)", "GET /app.isa HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200,
    "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n", false, false, 2, 200, false, false },
  { "HTTP/1.0 without keep-alive", "GET /app.isa HTTP/1.0\r\n\r\n", 200, CL5, "hello", false, false, 2, 200, false,
    false },
  { "HTTP/1.0 with keep-alive", "GET /app.isa HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, CL5, "hello", false,
    false, 2, 200, false, true },
  { "client said Connection: close", "GET /app.isa HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, CL5,
    "hello", false, false, 2, 200, false, false },
  { "the extension's own Connection: close", GET11, 200, "Content-Length: 5\r\nConnection: close\r\n", "hello", false,
    false, 2, 200, false, false },
  { "raw response written before any head", GET11, 0, "", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true,
    false, 2, 200, false, false },
  { "nothing sent, SUCCESS: the server answers dwHttpStatusCode", GET11, 0, "", "", false, false, 1, 204, false, true },
  { "nothing sent, ERROR: 500, then close", GET11, 0, "", "", false, false, 4, 200, false, false },
  { "HTTP/0.9", "GET /app.isa\r\n", 200, CL5, "hello", false, false, 2, 200, false, false },
  { "HSE_IO_DISCONNECT_AFTER_SEND", GET11, 200, CL5, "hello", false, true, 2, 200, false, false },
  { "HEAD: no body, whatever the length says", "HEAD /app.isa HTTP/1.1\r\nHost: x\r\n\r\n", 200, CL5, "", false,
    false, 2, 200, false, true },
  { "HEAD: a body the extension writes anyway is dropped", "HEAD /app.isa HTTP/1.1\r\nHost: x\r\n\r\n", 200, CL5,
    "hello", false, false, 2, 200, false, true },
  { "304 without a length (no body by definition)", GET11, 304, "ETag: \"x\"\r\n", "", false, false, 2, 200, false,
    true },
  { "server stopping", GET11, 200, CL5, "hello", false, false, 2, 200, true, false },
};

static void test_extension_keep_alive_table(void)
{
  for (size_t i = 0; i < sizeof ka_rows / sizeof ka_rows[0]; i++) {
    const ka_row *row = &ka_rows[i];
    IH_TEST(row->name);
    ka_current = row;
    ext_next = EXT_ROW;
    ih_conn *c = connect_client();
    client_sends(c, row->request);
    atomic_store(&server.draining, row->draining); /* after the request arrived: the end sees it */
    run_extension(c);
    for (int k = 0; k < 1000 && (fake.op == OP_SEND || fake.op == OP_SEND_FILE); k++)
      send_completes(c); /* a default response the server writes */
    IH_EQ_INT(fake.op == OP_RECV && !fake.shutdown_sent, row->keep);
    if (row->keep != (fake.op == OP_RECV && !fake.shutdown_sent))
      ih_test_note("row %zu: op %d, shutdown %d; wire: %.*s", i, fake.op, fake.shutdown_sent, (int)fake.wire_len,
                   fake.wire);
    if (fake.op == OP_RECV)
      client_closes(c);
    else if (fake.op != OP_NONE)
      pending_fails(c);
    expect_all_released(c);
    atomic_store(&server.draining, false);
  }
}

/* The server variable name as the DLL would read it into buf. */
static const char *var(const ih_isapi_request_info *ri, const char *name, char *buf, uint32_t cap)
{
  uint32_t size = cap;
  if (ih_isapi_get_var(ri, name, buf, &size) != IH_VAR_OK)
    snprintf(buf, cap, "(no %s)", name);
  return buf;
}

static void test_extension_windows_paths(void)
{
  IH_TEST("an extension's PATH_TRANSLATED, SCRIPT_TRANSLATED, APPL_PHYSICAL_PATH: Windows paths, MAP_URL_TO_PATH's string");
  ih_conn *c = connect_client();
  ext_next = EXT_KEEP_CONN;
  client_sends(c, "GET /uc/hello.isa?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_STR(c->req->ext.script_physical, "C:\\site\\uc\\hello.isa");
  ih_isapi_request_info ri;
  ih_isapi_info_from_request(&ri, c, c->req, NULL, NULL);
  char buf[512], mapped[512];
  IH_EQ_STR(var(&ri, "PATH_TRANSLATED", buf, sizeof buf), "C:\\site\\uc\\hello.isa"); /* = lpszPathTranslated */
  IH_EQ_STR(var(&ri, "SCRIPT_TRANSLATED", buf, sizeof buf), "\\\\?\\C:\\site\\uc\\hello.isa");
  IH_EQ_STR(var(&ri, "APPL_PHYSICAL_PATH", buf, sizeof buf), "C:\\site\\");
  ih_isapi_mapping m;
  IH_EQ_INT(ih_isapi_map_url(c->req->site, "/uc/hello.isa", 13, mapped, sizeof mapped, &m), IH_MAP_OK);
  IH_EQ_STR(mapped, var(&ri, "PATH_TRANSLATED", buf, sizeof buf));
  run_extension(c);
  client_closes(c);
  expect_all_released(c);
}

static void test_extension_status_sequence(void)
{
  IH_TEST("KB Q142658: KEEP_CONN, SUCCESS, PENDING->DONE, then ERROR on one connection; nothing leaks");
  static const enum ext_script seq[] = { EXT_KEEP_CONN, EXT_SUCCESS, EXT_PENDING_DONE, EXT_KEEP_CONN, EXT_ERROR };
  ih_conn *c = connect_client();
  for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
    ext_next = seq[i];
    size_t before = fake.wire_len;
    client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
    IH_EQ_INT(ih_conn_refs(c, IH_HOLD_ISAPI_SESSION), 1);
    run_extension(c);
    IH_EQ_INT(ih_conn_refs(c, IH_HOLD_ISAPI_SESSION), 0);
    IH_EQ_INT(ih_conn_refs(c, IH_HOLD_REQUEST), 0);
    if (!IH_CHECK(find_bytes(fake.wire + before, fake.wire_len - before, "\r\n\r\nhello", 9) != NULL))
      ih_test_note("step %zu wire: %.*s", i, (int)(fake.wire_len - before), fake.wire + before);
    if (seq[i] != EXT_ERROR)
      IH_EQ_INT(fake.op, OP_RECV); /* kept alive: waiting for the next request */
  }
  IH_CHECK(fake.shutdown_sent); /* ERROR closes after its response */
  client_closes(c);
  expect_all_released(c);
}

/* RFC 9110 6.4.1: 1xx, 204 and 304 have no content. Before the one rule
 * (http_status.h) only HEAD dropped what the DLL wrote, so a 204 head,
 * announced as delimited, was followed by body bytes the client reads as
 * the next response; and a default 204 carried a Content-Length (8.6). */
static void test_extension_bodiless_statuses(void)
{
  static const int statuses[] = { 103, 204, 304 };
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
    IH_TEST("an extension's body after a 1xx/204/304 head is never sent; after 204/304 the connection stays, after a lone 1xx it closes");
    ih_test_note("  status %d", statuses[i]);
    ext_bodiless_status = statuses[i];
    ext_next = EXT_BODILESS;
    ih_conn *c = connect_client();
    client_sends(c, GET11);
    run_extension(c);
    for (int k = 0; k < 1000 && (fake.op == OP_SEND || fake.op == OP_SEND_FILE); k++)
      send_completes(c);
    IH_CHECK(wire_has("X-Kind: bodiless\r\n"));
    IH_CHECK(!wire_has("in-head") && !wire_has("written") && !wire_has("Content-Length"));
    if (statuses[i] >= 200) {
      IH_CHECK(fake.op == OP_RECV && !fake.shutdown_sent);
    } else {
      /* A 1xx is interim (RFC 9110 15.2): as the final head it leaves the
       * client waiting, so the connection's end must tell it. */
      IH_CHECK(wire_has("Connection: close\r\n"));
      IH_CHECK(fake.shutdown_sent);
    }
    if (fake.op == OP_RECV)
      client_closes(c);
    else if (fake.op != OP_NONE)
      pending_fails(c);
    expect_all_released(c);
  }

  IH_TEST("an extension that sends nothing and leaves 204: no Content-Length (RFC 9110 8.6)");
  ih_conn *c = connect_client();
  ext_next = EXT_SILENT;
  client_sends(c, GET11);
  run_extension(c);
  for (int i = 0; i < 1000 && fake.op == OP_SEND; i++)
    send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 204 No Content\r\n"));
  IH_CHECK(!wire_has("Content-Length"));
  IH_CHECK(fake.op == OP_RECV && !fake.shutdown_sent);
  client_closes(c);
  expect_all_released(c);
}

static void test_extension_responses(void)
{
  IH_TEST("extension that sends nothing gets its dwHttpStatusCode; raw writes pass through and close");
  ih_conn *c = connect_client();
  ext_next = EXT_SILENT;
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  run_extension(c);
  for (int i = 0; i < 1000 && fake.op == OP_SEND; i++)
    send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 204 No Content\r\n"));
  ext_next = EXT_RAW;
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  run_extension(c);
  IH_CHECK(wire_has("HTTP/1.0 200 OK\r\nX-Own: yes\r\n\r\nraw body"));
  IH_CHECK(fake.shutdown_sent); /* we cannot vouch for a raw response's framing */
  client_closes(c);
  expect_all_released(c);

  IH_TEST("HTTP/0.9: a head the extension writes itself never reaches the client");
  c = connect_client();
  ext_next = EXT_RAW;
  client_sends(c, "GET /app.isa\r\n");
  run_extension(c);
  IH_EQ_MEM(fake.wire, fake.wire_len, "raw body", 8);
  client_closes(c);
  expect_all_released(c);

  IH_TEST("an extension's own Date and Server replace ours: one of each");
  c = connect_client();
  ext_next = EXT_OWN_DATE_SERVER;
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  run_extension(c);
  IH_CHECK(wire_has("date: Tue, 01 Jan 2030 00:00:00 GMT\r\n"));
  IH_CHECK(wire_has("SERVER: DllServer/1\r\n"));
  IH_CHECK(!wire_has("\r\nDate: "));
  IH_CHECK(!wire_has("\r\nServer: "));
  IH_CHECK(wire_has("\r\n\r\nhello"));
  client_closes(c);
  expect_all_released(c);
  IH_TEST("without them the server sends its own");
  c = connect_client();
  ext_next = EXT_SUCCESS;
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  run_extension(c);
  IH_CHECK(wire_has("\r\nDate: "));
  IH_CHECK(wire_has("\r\nServer: "));
  client_closes(c);
  expect_all_released(c);

  IH_TEST("a head that cannot be built whole (5 MB of headers) never goes out: the connection closes");
  c = connect_client();
  ext_next = EXT_HUGE_HEAD;
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  run_extension(c);
  IH_EQ_INT(ext_head_result, IH_EXT_GONE);
  IH_EQ_INT(fake.wire_len, 0); /* not a byte of a half-built head */
  IH_CHECK(fake.socket_closed || fake.shutdown_sent);
  expect_all_released(c);

  IH_TEST("ReadClient gets the chunked body decoded, beyond the pre-read");
  c = connect_client();
  ext_next = EXT_READ_BODY;
  client_sends(c, "POST /app.isa HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  /* pre-read is 4 bytes in this config: the extension starts, then reads on */
  WAIT_UNDER_LOCK(c, fake.op == OP_RECV);
  client_sends(c, "6\r\n world\r\n0\r\n\r\n");
  run_extension(c);
  IH_EQ_MEM(ext_read_buf, ext_read_len, "o world", 7);
  IH_CHECK(wire_has("\r\n\r\nok"));
  client_closes(c);
  expect_all_released(c);
}

static void start_async(enum ext_script s)
{
  memset(&async_seen, 0, sizeof async_seen);
  ext_next = s;
}

static void test_extension_send_now(void)
{
  IH_TEST("send_now: a held head and the body go out in one call from the extension's thread");
  fake_conn_transport = &fake_transport_now;
  memset(&now, 0, sizeof now);
  atomic_store(&now.release, 1);
  ih_conn *c = connect_client();
  start_async(EXT_KEEP_CONN);
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  run_extension(c);
  IH_EQ_INT(atomic_load(&now.calls), 1);
  IH_CHECK(find_bytes(now.data, now.len, "\r\n\r\nhello", 9) != NULL);
  IH_EQ_INT(fake.op, OP_RECV); /* kept alive */

  IH_TEST("a timeout during send_now cancels it and closes only after it returned");
  memset(&now, 0, sizeof now);
  start_async(EXT_KEEP_CONN);
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 2000000 && !atomic_load(&now.inside); i++)
    ih_thread_yield();
  cancel_requests = 0;
  timer_fires(c);
  IH_EQ_INT(cancel_requests, 1);   /* the send is stopped ... */
  IH_CHECK(!fake.socket_closed);   /* ... but the socket stays until it returns */
  atomic_store(&now.release, 2);
  run_extension(c);
  IH_CHECK(fake.socket_closed);
  expect_all_released(c);
  fake_conn_transport = &fake_transport;
}

static void test_extension_async(void)
{
  IH_TEST("async WriteClient: completion after the send, a second operation refused, the callback ends the session");
  ih_conn *c = connect_client();
  start_async(EXT_ASYNC_WRITE);
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  /* The write must still be outstanding when the extension tries again:
   * its send completes only after that. */
  for (int i = 0; i < 2000000 && !atomic_load(&async_seen.second_tried); i++)
    ih_thread_yield();
  run_extension(c);
  IH_EQ_INT(atomic_load(&async_seen.calls), 1);
  IH_EQ_INT((int)async_seen.bytes, 5);
  IH_EQ_INT(async_seen.err, 0);
  IH_EQ_INT(async_seen.busy_async, IH_EXT_BUSY);
  IH_EQ_INT(async_seen.busy_sync, IH_EXT_BUSY);
  IH_CHECK(wire_has("\r\n\r\nhello"));
  IH_EQ_INT(fake.op, OP_RECV); /* kept alive */
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_ISAPI_SESSION), 0);

  IH_TEST("a session that ends while its write is in flight ends after the completion");
  start_async(EXT_END_WHILE_PENDING);
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  run_extension(c);
  IH_EQ_INT(atomic_load(&async_seen.calls), 1);
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_ISAPI_SESSION), 0);
  IH_EQ_INT(fake.op, OP_RECV);

  IH_TEST("async ReadClient waits for the client's bytes");
  start_async(EXT_ASYNC_READ);
  client_sends(c, "POST /app.isa HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nabcd");
  WAIT_UNDER_LOCK(c, fake.op == OP_RECV);
  client_sends(c, "efghi");
  run_extension(c);
  IH_EQ_MEM(ext_read_buf, ext_read_len, "efghi", 5);
  IH_EQ_INT(fake.op, OP_RECV);
  client_closes(c);
  expect_all_released(c);

  IH_TEST("CLOSE_CONNECTION (abortive) with a read outstanding: the read fails, then the session ends");
  c = connect_client();
  aborted = false;
  start_async(EXT_CLOSE_WHILE_READING);
  client_sends(c, "POST /app.isa HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nabcd");
  WAIT_UNDER_LOCK(c, fake.socket_closed);
  IH_CHECK(aborted);
  pending_fails(c); /* what closing the socket does to the outstanding receive */
  run_extension(c);
  IH_EQ_INT(atomic_load(&async_seen.calls), 1);
  IH_CHECK(async_seen.err != 0);
  expect_all_released(c);

  IH_TEST("CANCEL_IO: the read fails, the response goes out, the connection closes after it");
  c = connect_client();
  cancel_requests = 0;
  start_async(EXT_CANCEL_READ);
  client_sends(c, "POST /app.isa HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nabcd");
  WAIT_UNDER_LOCK(c, cancel_requests != 0);
  IH_EQ_INT(cancel_requests, 1);
  pending_fails(c);
  run_extension(c);
  IH_CHECK(async_seen.err != 0);
  IH_CHECK(wire_has("Connection: close\r\n"));
  IH_CHECK(wire_has("\r\n\r\nhello"));
  IH_CHECK(fake.shutdown_sent);
  client_closes(c);
  expect_all_released(c);

  IH_TEST("a head without body is held and goes out with the first body bytes: one send");
  c = connect_client();
  start_async(EXT_KEEP_CONN);
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 2000000; i++) { /* the platform is called under the lock: read under it */
    ih_mutex_lock(c->lock);
    bool sending = fake.op == OP_SEND;
    ih_mutex_unlock(c->lock);
    if (sending)
      break;
    ih_thread_yield();
  }
  IH_CHECK(find_bytes(fake.send_copy, fake.send_len, "\r\n\r\nhello", 9) != NULL);
  run_extension(c);
  IH_EQ_INT(fake.op, OP_RECV);

  IH_TEST("a held head goes out alone when its deadline passes first");
  start_async(EXT_HEAD_THEN_WAIT);
  atomic_store(&ext_go_on, 0);
  size_t before = fake.wire_len;
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 2000000 && atomic_load(&ext_finished) != 2; i++)
    ih_thread_yield();
  ih_mutex_lock(c->lock);
  IH_EQ_INT(fake.op, OP_NONE); /* held, nothing sent yet */
  ih_mutex_unlock(c->lock);
  timer_fires(c);
  IH_EQ_INT(fake.op, OP_SEND);
  IH_CHECK(fake.send_len > 4 && memcmp(fake.send_copy + fake.send_len - 4, "\r\n\r\n", 4) == 0);
  IH_CHECK(!fake.socket_closed); /* the deadline was the hold, not a timeout */
  send_completes(c);
  atomic_store(&ext_go_on, 1);
  run_extension(c);
  IH_CHECK(find_bytes(fake.wire + before, fake.wire_len - before, "\r\n\r\nhello", 9) != NULL);
  IH_EQ_INT(fake.op, OP_RECV);
  client_closes(c);
  expect_all_released(c);

  IH_TEST("the extension's file goes out between head and tail and is never closed by the connection");
  c = connect_client();
  start_async(EXT_FILE);
  int files_before = fake.files_open;
  client_sends(c, "GET /app.isa HTTP/1.1\r\nHost: x\r\n\r\n");
  run_extension(c);
  IH_CHECK(wire_has("\r\n\r\n0123456789abcdefghijtail"));
  IH_EQ_INT(fake.files_open, files_before);
  IH_EQ_INT(fake.op, OP_RECV); /* 24 bytes as declared: kept alive */
  client_closes(c);
  expect_all_released(c);
}

/* ---- scenarios ---- */

/* Two more transports (transport.h) next to the fake wire's, as a pipe to
 * a worker process would sit next to the socket: one counts what goes
 * through it to the fake wire, the other only closes and destroys. */
static int second_recvs, second_sends, first_closes;
static ih_conn *first_to_destroy;
static void second_recv(ih_conn *c, char *buf, size_t cap)
{
  second_recvs++;
  fake_transport.recv(c, buf, cap);
}
static void second_send(ih_conn *c, const char *data, size_t len)
{
  second_sends++;
  fake_transport.send(c, data, len);
}
static void first_close(ih_conn *c)
{
  (void)c;
  first_closes++;
}
static void first_destroy_later(ih_conn *c) { first_to_destroy = c; }

static void test_transport_per_connection(void)
{
  IH_TEST("each connection talks to the transport it was created with: two transports on one server");
  ih_transport first = { .close_socket = first_close, .destroy_later = first_destroy_later };
  ih_transport second = fake_transport;
  second.recv = second_recv;
  second.send = second_send;
  second_recvs = second_sends = first_closes = 0;
  first_to_destroy = NULL;
  ih_conn *a = ih_conn_new(&server, &first, NULL, "127.0.0.1", 80, "127.0.0.1", 50010);
  fake_conn_transport = &second;
  ih_conn *b = connect_client(); /* the one the fake wire plays */
  fake_conn_transport = &fake_transport;
  IH_CHECK(a->transport == &first && b->transport == &second);
  IH_EQ_INT(atomic_load(&server.counters.connections_live), 2);
  IH_EQ_INT(second_recvs, 1);
  client_sends(b, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_INT(second_sends, 1);
  send_completes(b);
  IH_CHECK(wire_has("\r\n\r\nAAAA"));
  IH_EQ_INT(second_recvs, 2); /* kept alive: the next receive goes to its transport too */
  ih_conn_abandon(a);         /* never started: closed through the one close path, on its own transport */
  IH_EQ_INT(first_closes, 1);
  IH_CHECK(first_to_destroy == a && !fake.socket_closed);
  ih_conn_destroy(a);
  client_closes(b);
  expect_all_released(b);
}

/* The park deadline of an idle connection passes (not ih_conn_expire_now,
 * whose deadline of 1 means every deadline passed), as the sweep sees it. */
static void idle_deadline_passes(ih_conn *c)
{
  atomic_store(&c->deadline_ms, 2);
  if (IH_CHECK(ih_conn_timer_claim(c, ih_clock_ms(), false)))
    ih_conn_on_timer(c);
}

static void test_idle_parks(void)
{
  IH_TEST("after a long idle a keep-alive connection parks: no input buffer, a zero-byte receive waits");
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(c->in != NULL);
  cancel_requests = 0;
  idle_deadline_passes(c);
  IH_EQ_INT(cancel_requests, 1); /* the receive is cancelled ... */
  IH_CHECK(!fake.socket_closed); /* ... the connection stays */
  pending_fails_with(c, 995);    /* ERROR_OPERATION_ABORTED: the cancelled receive */
  IH_CHECK(c->in == NULL && c->in_cap == 0 && c->req == NULL && c->out == NULL);
  IH_EQ_INT(fake.op, OP_RECV);
  IH_EQ_INT((int)fake.recv_cap, 0);
  IH_CHECK(atomic_load(&c->deadline_ms) > 2); /* the keep-alive deadline is next */

  IH_TEST("a parked connection's next request: the buffer comes back and it is answered");
  size_t wire_before = fake.wire_len;
  client_sends(c, "GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(find_bytes(fake.wire + wire_before, fake.wire_len - wire_before, "\r\n\r\nBBBBBBBB", 12) != NULL);
  IH_CHECK(c->in != NULL && c->in_cap <= 4096);
  IH_EQ_INT(fake.op, OP_RECV);

  IH_TEST("bytes that arrive as the idle receive is cancelled are read as usual");
  idle_deadline_passes(c);
  wire_before = fake.wire_len;
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"); /* completes with data, not the error */
  send_completes(c);
  IH_CHECK(find_bytes(fake.wire + wire_before, fake.wire_len - wire_before, "\r\n\r\nAAAA", 8) != NULL);
  IH_CHECK(!c->parked && c->in != NULL);

  IH_TEST("a parked connection closes at its keep-alive deadline, or when the client closes");
  idle_deadline_passes(c);
  pending_fails_with(c, 995);
  IH_CHECK(c->parked);
  timer_fires(c); /* the keep-alive deadline */
  IH_CHECK(fake.socket_closed);
  pending_fails_with(c, 995); /* the zero-byte receive, cancelled by the close */
  expect_all_released(c);
  c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  idle_deadline_passes(c);
  pending_fails_with(c, 995);
  client_closes(c);
  IH_CHECK(fake.socket_closed);
  expect_all_released(c);
}

static void test_keep_alive_get(void)
{
  IH_TEST("HTTP/1.1 GET keeps the connection; refs while idle are socket + io");
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_REQUEST), 1);
  IH_EQ_INT(atomic_load(&server.counters.requests_in_flight), 1);
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 200 OK\r\n"));
  IH_CHECK(wire_has("Content-Length: 4\r\n"));
  IH_CHECK(wire_has("\r\n\r\nAAAA"));
  IH_CHECK(!wire_has("Connection: close"));
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_SOCKET), 1);
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_IO), 1);
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_REQUEST), 0);
  IH_EQ_INT(fake.access_lines, 1);
  client_closes(c);
  expect_all_released(c);
}

/* Sends data in receives no larger than the one posted (the input buffer's
 * free space), as a client's bytes arrive over TCP. */
static void client_sends_in_pieces(ih_conn *c, const char *data)
{
  size_t len = strlen(data);
  static char piece[1 << 16];
  while (len && fake.op == OP_RECV) {
    size_t n = len < fake.recv_cap ? len : fake.recv_cap;
    memcpy(piece, data, n);
    piece[n] = 0;
    client_sends(c, piece);
    data += n;
    len -= n;
  }
  IH_EQ_INT((int)len, 0);
}

static void test_idle_input_buffer(void)
{
  IH_TEST("an idle keep-alive connection holds a small input buffer, whatever its last head needed");
  ih_conn *c = connect_client();
  IH_CHECK(c->in_cap <= 4096);
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("\r\n\r\nAAAA"));
  IH_CHECK(c->in_cap <= 4096);
  IH_EQ_INT(fake.op, OP_RECV);
  IH_CHECK(fake.recv_cap <= 4096);
  IH_TEST("an idle keep-alive connection holds no output buffer; a request takes one until its response went out");
  IH_CHECK(c->out == NULL && c->out_cap == 0);
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_CHECK(c->out != NULL && c->out_cap >= 8192); /* ih_response_finish's fixed 500 fits without allocating */
  send_completes(c);
  IH_CHECK(c->out == NULL && c->out_cap == 0 && c->out_len == 0);

  IH_TEST("an idle keep-alive connection holds no request; one is taken from the first bytes of the next head");
  IH_CHECK(c->req == NULL && c->view == NULL);
  IH_CHECK(sizeof *c < 1024); /* the connection itself, without a request, fits in far less than 4 KB */
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHo");
  IH_CHECK(c->req != NULL); /* a head is being read */
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_REQUEST), 0); /* but it is not in flight before it is whole */
  client_sends(c, "st: x\r\n\r\n");
  IH_CHECK(c->req != NULL && c->req->active);
  send_completes(c);
  IH_CHECK(wire_has("\r\n\r\nAAAA"));
  IH_CHECK(c->req == NULL);

  IH_TEST("a head longer than the idle buffer grows it (within the limits), is answered, and it shrinks back");
  static char req[16384];
  int n = snprintf(req, sizeof req, "GET /a.txt?%0*d HTTP/1.1\r\nHost: x\r\n\r\n", 9000, 7);
  IH_CHECK(n > 9000 && (size_t)n < sizeof req);
  size_t wire_before = fake.wire_len;
  client_sends_in_pieces(c, req);
  IH_CHECK(c->in_cap > 9000);
  send_completes(c);
  IH_CHECK(find_bytes(fake.wire + wire_before, fake.wire_len - wire_before, "200 OK", 6) != NULL);
  IH_CHECK(c->in_cap <= 4096);
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_REQUEST), 0);

  IH_TEST("a body behind a pipelined head in the small buffer: the head is read again after the buffer grew");
  wire_before = fake.wire_len;
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                  "POST /b.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel");
  send_completes(c);
  IH_EQ_INT(fake.op, OP_RECV); /* the rest of the POST's body */
  client_sends(c, "lo");
  send_completes(c);
  const char *a = find_bytes(fake.wire + wire_before, fake.wire_len - wire_before, "AAAA", 4);
  const char *b = find_bytes(fake.wire + wire_before, fake.wire_len - wire_before, "405 Method Not Allowed", 22);
  IH_CHECK(a && b && a < b);
  IH_CHECK(!wire_has("Connection: close")); /* the whole body was read: the connection stays */
  IH_CHECK(c->in_cap <= 4096);
  IH_CHECK(c->out == NULL);
  client_closes(c);
  expect_all_released(c);
}

static void test_pipelined(void)
{
  IH_TEST("pipelined requests are answered in order, one send at a time");
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /missing.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  send_completes(c);
  send_completes(c);
  const char *a = find_bytes(fake.wire, fake.wire_len, "AAAA", 4);
  const char *b = find_bytes(fake.wire, fake.wire_len, "BBBBBBBB", 8);
  const char *nf = find_bytes(fake.wire, fake.wire_len, "404 Not Found", 13);
  IH_CHECK(a && b && nf && a < b && b < nf);
  IH_EQ_INT(atomic_load(&server.counters.requests_in_flight), 0);
  client_closes(c);
  expect_all_released(c);
}

static void test_http10_close(void)
{
  IH_TEST("HTTP/1.0 without keep-alive: Connection: close, FIN, linger until EOF");
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.0\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("Connection: close\r\n"));
  IH_CHECK(fake.shutdown_sent);
  IH_EQ_INT(fake.op, OP_RECV); /* lingering read */
  client_closes(c);
  expect_all_released(c);
}

static void test_http10_keep_alive(void)
{
  IH_TEST("HTTP/1.0 with Connection: keep-alive stays open");
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("Connection: keep-alive\r\n"));
  IH_CHECK(!fake.shutdown_sent);
  client_closes(c);
  expect_all_released(c);
}

static void test_http09(void)
{
  IH_TEST("HTTP/0.9: body only, for found and for missing files");
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt\r\n");
  send_completes(c);
  IH_EQ_MEM(fake.wire, fake.wire_len, "AAAA", 4);
  client_closes(c);
  expect_all_released(c);

  c = connect_client();
  client_sends(c, "GET /nothing.txt\r\n");
  send_completes(c);
  IH_CHECK(!wire_has("HTTP/"));
  IH_CHECK(wire_has("404"));
  client_closes(c);
  expect_all_released(c);
}

static void test_framing_error(void)
{
  IH_TEST("CL + TE is rejected with 400 and the connection closes");
  ih_conn *c = connect_client();
  client_sends(c, "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc");
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 400 Bad Request\r\n"));
  IH_CHECK(wire_has("Connection: close\r\n"));
  client_closes(c);
  expect_all_released(c);
}

static void test_send_error(void)
{
  IH_TEST("a failed send releases the request and the connection");
  ih_conn *c = connect_client();
  client_sends(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_INT(fake.files_open, 1); /* a large file stays open while it is sent */
  pending_fails(c);
  expect_all_released(c);
}

static void test_reset_during_body(void)
{
  IH_TEST("a reset while the body is read releases everything");
  ih_conn *c = connect_client();
  client_sends(c, "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_REQUEST), 1);
  pending_fails(c);
  expect_all_released(c);
}

static void test_header_timeout(void)
{
  IH_TEST("a stalled head is dropped when its deadline passes");
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHo");
  timer_fires(c);
  IH_CHECK(fake.socket_closed);
  pending_fails(c); /* the receive outstanding on the closed socket completes with an error */
  expect_all_released(c);

  IH_TEST("a byte racing the header deadline cannot revive the connection");
  c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHo");
  timer_fires(c);
  client_sends(c, "s"); /* the receive completed with data just before the close took effect */
  IH_EQ_INT(fake.op, OP_NONE); /* nothing new is posted on a closed connection */
  expect_all_released(c);
}

static void test_drain_idle(void)
{
  IH_TEST("drain closes an idle keep-alive connection");
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  atomic_store(&server.draining, true);
  atomic_store(&c->timer_pending, true);
  ih_conn_ref(c, IH_HOLD_TIMER);
  ih_conn_on_timer(c);
  IH_CHECK(fake.socket_closed);
  pending_fails(c);
  atomic_store(&server.draining, false);
  expect_all_released(c);
}

/* A stop out of drain time cancels every connection (ih_conn_cancel): the
 * next timer notification closes it. A client still uploading used to get
 * a fresh deadline from its next body read, so the stop went on with the
 * connection open. */
static void test_stop_cancels_an_upload(void)
{
  IH_TEST("a cancelled connection closes at its next timer, though its body read came in after the cancel");
  ih_conn *c = connect_client();
  client_sends(c, "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
  IH_EQ_INT(fake.op, OP_RECV); /* reading the body */
  ih_conn_cancel(c);
  client_sends(c, "defgh"); /* more body before the sweep's notification runs: a new receive, a new deadline */
  if (IH_CHECK(ih_conn_timer_claim(c, ih_clock_ms(), false)))
    ih_conn_on_timer(c);
  IH_CHECK(fake.socket_closed);
  if (fake.op == OP_RECV)
    pending_fails(c);
  expect_all_released(c);
}

static void test_drain_in_flight(void)
{
  IH_TEST("drain lets an in-flight response finish, then closes");
  ih_conn *c = connect_client();
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  atomic_store(&server.draining, true);
  send_completes(c);
  IH_CHECK(wire_has("AAAA"));
  IH_CHECK(fake.shutdown_sent || fake.socket_closed);
  if (fake.op == OP_RECV)
    client_closes(c);
  atomic_store(&server.draining, false);
  expect_all_released(c);
}

static void test_expect_continue(void)
{
  IH_TEST("Expect: 100-continue gets 100 before the body is read");
  ih_conn *c = connect_client();
  client_sends(c, "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  IH_EQ_INT(fake.op, OP_SEND);
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 100 Continue\r\n\r\n"));
  client_sends(c, "hello");
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 405 Method Not Allowed\r\n"));
  IH_CHECK(wire_has("Allow: "));
  IH_CHECK(!wire_has("Connection: close"));
  client_closes(c);
  expect_all_released(c);
}

static void test_chunked_then_pipelined(void)
{
  IH_TEST("a chunked body is consumed; the pipelined request after it is answered");
  ih_conn *c = connect_client();
  client_sends(c, "POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n0\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("405 Method Not Allowed"));
  send_completes(c);
  IH_CHECK(wire_has("BBBBBBBB"));
  client_closes(c);
  expect_all_released(c);
}

static void test_directory_and_default_doc(void)
{
  IH_TEST("directory: redirect without slash, default document with it");
  ih_conn *c = connect_client();
  client_sends(c, "GET /sub HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("301 Moved Permanently"));
  IH_CHECK(wire_has("Location: /sub/\r\n"));
  client_sends(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("<h1>home</h1>"));
  client_sends(c, "GET /sub/ HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("403 Forbidden"));
  client_closes(c);
  expect_all_released(c);
}

static void test_status_page(void)
{
  IH_TEST("status page excludes its own connection and request");
  ih_conn *c = connect_client();
  client_sends(c, "GET /_isapihost/status HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("\"connections_live\":0,"));
  IH_CHECK(wire_has("\"requests_in_flight\":0,"));
  client_closes(c);
  expect_all_released(c);
}

static void test_status_page_loopback_only(void)
{
  IH_TEST("status page: 404 to a non-loopback client, 200 to ::1");
  ih_conn *c = connect_from("192.0.2.7");
  client_sends(c, "GET /_isapihost/status HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 404 Not Found"));
  IH_CHECK(!wire_has("connections_live"));
  client_closes(c);
  expect_all_released(c);
  c = connect_from("::1");
  client_sends(c, "GET /_isapihost/status HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 200 OK"));
  IH_CHECK(wire_has("connections_live"));
  client_closes(c);
  expect_all_released(c);
}

static const char *failing_pool_name;
static bool f_pool_failing(char *name, size_t cap)
{
  if (!failing_pool_name)
    return false;
  snprintf(name, cap, "%s", failing_pool_name);
  return true;
}

static void test_health_url(void)
{
  IH_TEST("health URL: 200 serving; 503 once the instance leaves the rotation or a pool fails; loopback, GET/HEAD");
  ih_conn *c = connect_client();
  client_sends(c, "GET /healthz HTTP/1.0\r\n\r\n"); /* a balancer's check: often no Host */
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 200 OK"));
  IH_CHECK(wire_has("Cache-Control: no-store"));
  IH_CHECK(wire_has("\r\n\r\nserving\n"));
  client_closes(c);
  expect_all_released(c);

  c = connect_client();
  client_sends(c, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 405 "));
  IH_CHECK(wire_has("Allow: GET, HEAD\r\n"));
  client_closes(c);
  expect_all_released(c);

  c = connect_from("192.0.2.7");
  client_sends(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 404 Not Found"));
  client_closes(c);
  expect_all_released(c);

  fake_platform.pool_failing = f_pool_failing;
  failing_pool_name = "w";
  c = connect_client();
  client_sends(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 503 "));
  IH_CHECK(wire_has("\r\n\r\npool failing w\n"));
  client_closes(c);
  expect_all_released(c);
  failing_pool_name = NULL;

  atomic_store(&server.leaving, true);
  c = connect_client();
  client_sends(c, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 503 "));
  IH_CHECK(!wire_has("leaving")); /* HEAD: no body */
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 200 OK")); /* still serving while it leaves */
  client_closes(c);
  expect_all_released(c);
  atomic_store(&server.leaving, false);
  fake_platform.pool_failing = NULL;
}

static void test_bad_head_then_close(void)
{
  IH_TEST("malformed request line: 400 and close; oversize head: 431");
  ih_conn *c = connect_client();
  client_sends(c, "GET  /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 400 Bad Request"));
  IH_CHECK(fake.shutdown_sent);
  client_closes(c);
  expect_all_released(c);

  c = connect_client();
  char big[600];
  memset(big, 'a', sizeof big);
  big[sizeof big - 1] = 0;
  char req[1024];
  snprintf(req, sizeof req, "GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", big);
  client_sends(c, req);
  send_completes(c);
  IH_CHECK(wire_has("HTTP/1.1 431 "));
  client_closes(c);
  expect_all_released(c);
}

/* One request that must get `status` with Connection: close at once (no
 * timer), the connection shut down after it. */
static void expect_refused(const char *request, const char *status_line)
{
  ih_conn *c = connect_client();
  client_sends(c, request);
  if (!IH_EQ_INT(fake.op, OP_SEND))
    ih_test_note("  request %s", request);
  send_completes(c);
  if (!IH_CHECK(wire_has(status_line)) || !IH_CHECK(wire_has("Connection: close\r\n")))
    ih_test_note("  request %s", request);
  IH_CHECK(fake.shutdown_sent);
  client_closes(c);
  expect_all_released(c);
}

static void test_refused_requests_close(void)
{
  IH_TEST("a Host that is not uri-host [ \":\" port ] gets 400 and close, whatever the bindings");
  expect_refused("GET /a.txt HTTP/1.1\r\nHost: evil example\r\n\r\n", "HTTP/1.1 400 ");
  expect_refused("GET /a.txt HTTP/1.1\r\nHost: localhost/..\\..\r\n\r\n", "HTTP/1.1 400 ");
  expect_refused("GET /a.txt HTTP/1.1\r\nHost: evil.example<script>\r\n\r\n", "HTTP/1.1 400 ");
  expect_refused("GET /a.txt HTTP/1.1\r\nHost: x:\r\n\r\n", "HTTP/1.1 400 ");
  expect_refused("GET /a.txt HTTP/1.0\r\nHost: x\x01y\r\n\r\n", "HTTP/1.1 400 ");
  expect_refused("GET /a.txt HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n", "HTTP/1.1 400 ");
  expect_refused("GET http://x/a.txt HTTP/1.1\r\nHost: a b\r\n\r\n", "HTTP/1.1 400 ");

  IH_TEST("CONNECT gets 400 and the connection closes (its tunnel bytes are no request)");
  expect_refused("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "HTTP/1.1 400 ");
  /* so does any request whose target the server refuses as malformed */
  expect_refused("GET a.txt HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 ");

  IH_TEST("empty lines before a request line: a few are skipped, more get 400 at once");
  {
    ih_conn *c = connect_client();
    client_sends(c, "\r\n\r\n\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    send_completes(c);
    IH_CHECK(wire_has("HTTP/1.1 200 OK"));
    IH_CHECK(!fake.shutdown_sent);
    client_closes(c);
    expect_all_released(c);
  }
  expect_refused("\r\n\r\n\r\n\r\n\r\n", "HTTP/1.1 400 ");
  expect_refused("\r\n\r\n\r\n\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 ");
  IH_TEST("a bare CR before the request line gets 400 at once");
  expect_refused("\rG", "HTTP/1.1 400 ");
  expect_refused("\r\n\rGET /a.txt HTTP/1.1\r\n", "HTTP/1.1 400 ");

  IH_TEST("a chunk size above max_body gets 413, for a static file and an extension alike");
  expect_refused("POST /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n",
                 "HTTP/1.1 413 ");
  expect_refused("POST /app.isa HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n",
                 "HTTP/1.1 413 ");
  /* a malformed size line is still 400 */
  expect_refused("POST /app.isa HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                 "HTTP/1.1 400 ");
}

static void test_large_file_in_chunks(void)
{
  IH_TEST("a large file goes out in chunks; a failure between chunks releases everything");
  ih_conn *c = connect_client();
  client_sends(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n");
  int sends = 0;
  while (fake.op == OP_SEND_FILE && sends < 100) {
    send_completes(c);
    sends++;
  }
  IH_EQ_INT(fake.file_sends, (HUGE_SIZE + 65535) / 65536);
  const char *body = find_bytes(fake.wire, fake.wire_len, "\r\n\r\n", 4);
  if (IH_CHECK(body != NULL))
    IH_EQ_MEM(body + 4, fake.wire_len - (size_t)(body + 4 - fake.wire), huge_data, HUGE_SIZE);
  IH_EQ_INT(fake.files_open, 0);
  IH_EQ_INT(ih_conn_refs(c, IH_HOLD_REQUEST), 0);
  client_closes(c);
  expect_all_released(c);

  c = connect_client();
  client_sends(c, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_EQ_INT(fake.op, OP_SEND_FILE); /* second chunk posted */
  pending_fails(c);
  expect_all_released(c);
}

static void test_small_file_cache(void)
{
  IH_TEST("small files, directories and misses are answered from the cache");
  ih_conn *c = connect_client();
  client_sends(c, "GET /cached.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  client_sends(c, "GET /cached.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_EQ_INT(fake.opens, 1); /* the second 404 came from the cache */
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  client_sends(c, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(c);
  IH_CHECK(fake.opens <= 2); /* a.txt opened at most once (earlier tests may have cached it) */
  IH_EQ_INT(fake.files_open, 0); /* cached files hold no handle */
  const char *first = find_bytes(fake.wire, fake.wire_len, "AAAA", 4);
  IH_CHECK(first && find_bytes(first + 4, fake.wire_len - (size_t)(first + 4 - fake.wire), "AAAA", 4));
  client_closes(c);
  expect_all_released(c);
}

static void test_ranges_and_conditional(void)
{
  IH_TEST("range 206, unsatisfiable 416, If-None-Match 304");
  ih_conn *c = connect_client();
  client_sends(c, "GET /big.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=2-4\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("206 Partial Content"));
  IH_CHECK(wire_has("Content-Range: bytes 2-4/20\r\n"));
  IH_CHECK(wire_has("\r\n\r\n234"));
  client_sends(c, "GET /big.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=50-\r\n\r\n");
  send_completes(c);
  IH_CHECK(wire_has("416 Range Not Satisfiable"));
  IH_CHECK(wire_has("Content-Range: bytes */20\r\n"));
  const char *etag_at = find_bytes(fake.wire, fake.wire_len, "ETag: ", 6);
  char etag[64] = "";
  if (IH_CHECK(etag_at != NULL))
    sscanf(etag_at + 6, "%63[^\r]", etag);
  char req[256];
  snprintf(req, sizeof req, "GET /big.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n\r\n", etag);
  client_sends(c, req);
  send_completes(c);
  IH_CHECK(wire_has("304 Not Modified"));
  client_closes(c);
  expect_all_released(c);
}


/* A connection made but never started, destroyed through its socket
 * reference as the platform would: enough to hold a generation. */
static ih_conn *bare_conn(void) { return ih_conn_new(&server, &fake_transport, NULL, "127.0.0.1", 80, "127.0.0.1", 50001); }

static void drop_bare_conn(ih_conn *c)
{
  fake.to_destroy = NULL;
  ih_conn_unref(c, IH_HOLD_SOCKET);
  if (IH_CHECK(fake.to_destroy == c))
    ih_conn_destroy(c);
}

static ih_generation *reload(const char *ini)
{
  ih_config *next = NULL;
  char err[256];
  if (ih_config_parse(ini, strlen(ini), "reload.ini", "", &next, err, sizeof err) != 0) {
    ih_test_note("config: %s", err);
    return NULL;
  }
  ih_generation *gen = ih_server_generation_new(&server, next);
  IH_CHECK(gen != NULL);
  return gen;
}

static long long generations_live(void) { return atomic_load(&server.counters.generations_live); }

/* Readers take and drop references to the current generation while the
 * main thread publishes new ones: under ASan a generation freed while a
 * reader still holds it is a crash, and at the end only the current one is
 * left. */
static atomic_bool readers_stop;
/* Readers past their first acquire: the reloads start only when all are, so
 * every reader races them however slowly threads start (Wine). */
static atomic_int readers_running;

static void *generation_reader(void *arg)
{
  (void)arg;
  long long seen = 0;
  bool announced = false;
  while (!atomic_load(&readers_stop)) {
    ih_generation *g = ih_server_acquire(&server);
    seen += g->config->server.max_connections + g->number; /* touches the configuration */
    ih_generation_release(g);
    if (!announced) {
      announced = true;
      atomic_fetch_add(&readers_running, 1);
    }
  }
  return (void *)(intptr_t)(seen != 0);
}

static void test_reload_while_readers_acquire(const char *ini)
{
  IH_TEST("reload: publishing while other threads acquire and release the current generation");
  enum { READERS = 3, RELOADS = 400 };
  ih_thread *readers[READERS];
  atomic_store(&readers_stop, false);
  atomic_store(&readers_running, 0);
  int started = 0;
  for (int i = 0; i < READERS; i++) {
    readers[i] = ih_thread_start(generation_reader, NULL);
    started += readers[i] != NULL;
  }
  while (atomic_load(&readers_running) < started)
    ih_thread_yield();
  for (int i = 0; i < RELOADS; i++) {
    ih_generation *next = reload(ini);
    if (!next)
      break;
    ih_server_generation_publish(&server, next);
  }
  atomic_store(&readers_stop, true);
  for (int i = 0; i < READERS; i++)
    IH_CHECK(readers[i] != NULL && ih_thread_join(readers[i]) != NULL);
  IH_EQ_INT(generations_live(), 1);
  IH_EQ_INT(atomic_load(&ih_server_current(&server)->refs), 1);
}

static void test_reload_generations(void)
{
  static const char with_docs[] = "[server]\nmax_header_bytes = 512\nmax_header_line = 512\n"
                                  "[site Test]\nbindings = 127.0.0.1:80\nroot = C:\\site\npermissions = read\n"
                                  "[vdir Test /docs]\npath = C:\\site\npermissions = read\n";
  IH_TEST("reload: an open connection's next request follows the new configuration");
  IH_EQ_INT(generations_live(), 1);
  unsigned first = ih_server_current(&server)->number;
  ih_conn *kept = connect_client();
  client_sends(kept, "GET /docs/a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(kept);
  IH_CHECK(wire_has("HTTP/1.1 404 Not Found"));

  ih_generation *gen = reload(with_docs);
  if (!gen)
    return;
  IH_EQ_INT(gen->number, first + 1);
  IH_EQ_INT(generations_live(), 2);
  ih_server_generation_publish(&server, gen);
  IH_EQ_INT(generations_live(), 2); /* the old one: the idle connection's, until its next request */
  fake.wire_len = 0;
  client_sends(kept, "GET /docs/a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(kept);
  IH_CHECK(wire_has("HTTP/1.1 200 OK"));
  IH_CHECK(wire_has("\r\n\r\nAAAA"));
  IH_EQ_INT(generations_live(), 1); /* nothing holds the first any more: freed */
  IH_CHECK(kept->gen == gen);

  IH_TEST("reload: a request in flight finishes under the configuration it began with");
  fake.wire_len = 0;
  client_sends(kept, "GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n");
  IH_EQ_INT(fake.op, OP_SEND_FILE);
  ih_generation *third = reload(with_docs);
  if (!third)
    return;
  ih_server_generation_publish(&server, third);
  int sends = 0;
  while (fake.op == OP_SEND_FILE && sends < 100) {
    IH_CHECK(kept->gen == gen); /* the response goes on under its own */
    IH_EQ_INT(generations_live(), 2);
    send_completes(kept);
    sends++;
  }
  IH_EQ_INT(fake.file_sends, (HUGE_SIZE + 65535) / 65536);
  fake.wire_len = 0;
  client_sends(kept, "GET /_isapihost/status HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(kept);
  IH_CHECK(kept->gen == third);
  char expect[96];
  snprintf(expect, sizeof expect, "\"config_generation\":%u,\"config_generations_live\":1,", first + 2);
  IH_CHECK(wire_has(expect));
  client_closes(kept);
  expect_all_released(kept);
  IH_EQ_INT(generations_live(), 1);

  IH_TEST("reload: a new connection gets the newest configuration");
  ih_conn *fresh = connect_client();
  IH_CHECK(fresh->gen == third);
  client_sends(fresh, "GET /docs/a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  send_completes(fresh);
  IH_CHECK(wire_has("HTTP/1.1 200 OK"));
  client_closes(fresh);
  expect_all_released(fresh);

  IH_TEST("reload: many generations, each held by one connection, all freed");
  enum { RELOADS = 50 };
  ih_conn *holders[RELOADS];
  for (int i = 0; i < RELOADS; i++) {
    holders[i] = bare_conn();
    ih_generation *next = reload(with_docs);
    if (!holders[i] || !next)
      return;
    ih_server_generation_publish(&server, next);
  }
  IH_EQ_INT(generations_live(), RELOADS + 1);
  for (int i = RELOADS - 1; i >= 0; i -= 2) /* out of order */
    drop_bare_conn(holders[i]);
  for (int i = RELOADS - 2; i >= 0; i -= 2)
    drop_bare_conn(holders[i]);
  IH_EQ_INT(generations_live(), 1);
  IH_EQ_INT(ih_server_current(&server)->number, first + 2 + RELOADS);

  IH_TEST("reload: a refused generation is freed, the current one stays");
  ih_generation *refused = reload(with_docs);
  IH_EQ_INT(generations_live(), 2);
  ih_server_generation_free(refused);
  IH_EQ_INT(generations_live(), 1);
  IH_EQ_INT(atomic_load(&ih_server_current(&server)->refs), 1);
  test_reload_while_readers_acquire(with_docs);
}

int main(void)
{
  static const char ini[] = "[server]\nmax_header_bytes = 512\nmax_header_line = 512\nisapi_preread = 4\n"
                            "health_path = /healthz\n"
                            "[site Test]\nbindings = 127.0.0.1:80\nroot = C:\\site\npermissions = read, script\n"
                            "[scriptmap Test .isa]\ndll = /ext/app.dll\ncheck_file = off\n";
  if (!fake_setup(ini))
    return 1;
  fake_platform.extension_start = f_extension_start;
  ih_server_init(&server, cfg, &fake_platform);
  test_keep_alive_get();
  test_health_url();
  test_transport_per_connection();
  test_idle_parks();
  test_idle_input_buffer();
  test_pipelined();
  test_http10_close();
  test_http10_keep_alive();
  test_http09();
  test_framing_error();
  test_send_error();
  test_reset_during_body();
  test_header_timeout();
  test_drain_idle();
  test_drain_in_flight();
  test_stop_cancels_an_upload();
  test_expect_continue();
  test_chunked_then_pipelined();
  test_directory_and_default_doc();
  test_status_page();
  test_status_page_loopback_only();
  test_bad_head_then_close();
  test_refused_requests_close();
  test_ranges_and_conditional();
  test_large_file_in_chunks();
  test_small_file_cache();
  test_extension_status_sequence();
  test_extension_windows_paths();
  test_extension_responses();
  test_extension_keep_alive_table();
  test_extension_bodiless_statuses();
  test_extension_async();
  fake_transport_now = fake_transport;
  fake_transport_now.send_now = f_send_now;
  test_extension_send_now();
  test_reload_generations(); /* last: the later configurations lack the script map */
  free(fake.send_copy);
  ih_server_destroy(&server);
  IH_EQ_INT(atomic_load(&server.counters.generations_live), 0);
  ih_config_free(cfg);
  return ih_test_finish();
}
