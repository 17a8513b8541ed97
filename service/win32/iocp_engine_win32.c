/* The I/O engine (see iocp_engine_win32.h).
 *
 * Completion keys tell packets apart: KEY_IO for real overlapped I/O (the
 * OVERLAPPED is embedded in an ih_iocp_op that names its completion
 * routine), KEY_TIMER, KEY_EXT_END and KEY_DESTROY for packets we post
 * ourselves with the connection pointer in place of the OVERLAPPED,
 * KEY_QUIT to stop a worker.
 *
 * Every posted operation produces exactly one call into the portable layer:
 * when WSARecv/WSASend/TransmitFile fails synchronously we post the failure
 * as a completion (libuv's rule), so the reference taken for the operation
 * is always released in the one completion handler.
 *
 * Connection sockets are in FILE_SKIP_COMPLETION_PORT_ON_SUCCESS mode where
 * that is safe (MSDN "SetFileCompletionNotificationModes"): an operation
 * that completes at once, as most sends do, queues no packet, which under
 * Wine saves the wineserver round trips of queueing and dequeuing it
 * (wine-notes: "skip-on-success ... saves 2 requests per keep-alive
 * exchange"). Its completion still never runs inside the call that posted
 * it (the pipeline holds the connection's lock there): on an I/O worker it
 * waits on the worker's ready list until the packet being handled is done,
 * on an extension pool thread until the session's end it is running
 * (pf_ext_end_later) returns; from any other thread (an extension's, which
 * may be about to wait for this very completion) it goes to the port as a
 * packet of our own. At most INLINE_COMPLETIONS_MAX are delivered in a row
 * that way; the rest go to the port, so no connection keeps a thread from
 * the packets waiting there.
 *
 * Wine notes (shared/reference/wine-notes.md): sockets are never reused
 * (DisconnectEx/TF_REUSE_SOCKET break under Wine), TF_DISCONNECT is never
 * used (ignored by Wine): the pipeline shuts the socket down itself. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server_log.h"
#include "iocp_engine_win32.h"
#include "isapi/isapi_pool_win32.h"
#include "server/conn.h"
#include "server/pipeline.h"
#include "server/transport.h"

enum { KEY_IO = 1, KEY_IO_FAILED, KEY_TIMER, KEY_EXT_END, KEY_DESTROY, KEY_QUIT };
enum op_kind { OP_RECV, OP_SEND, OP_TRANSMIT };

#define WORKER_STACK (1u << 20)       /* ISAPI DLLs expect >= 256 KB (issue 3) */
#define TRANSMIT_CHUNK 0x40000000ull  /* TransmitFile takes a DWORD count */

/* Per-connection platform data: the socket and the one operation slot. */
typedef struct win_conn {
  ih_iocp_op op;
  enum op_kind kind;
  SOCKET sock;
  ih_conn *conn;
  struct win_conn *prev, *next; /* registry, for the timer sweep and stop */
  /* send progress (a send completes partially only on errors, but be exact) */
  const char *send_data;
  size_t send_len, send_done;
  HANDLE file;
  uint64_t file_offset, file_left;
  const char *head;
  size_t head_len;
  size_t transmit_bytes; /* bytes reported so far for the current send */
  /* an extension thread's own synchronous send (pf_send_now) */
  OVERLAPPED direct_ov;
  HANDLE direct_event;
  BOOL skip_on_success;        /* FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is set on sock */
  struct win_conn *ready_next; /* on a thread's ready list: completed at once */
  DWORD ready_bytes;
} win_conn;

/* How long a stop waits, in all, for the workers to take their KEY_QUIT. */
#define WORKER_STOP_WAIT_MS 10000u

static struct {
  HANDLE port;
  HANDLE *workers;
  volatile LONG *worker_key; /* the key of the packet each worker is handling; 0 while it waits */
  unsigned worker_count;
  LPFN_TRANSMITFILE transmit_file;
  BOOL skip_on_success; /* every TCP provider hands out IFS handles */
  SRWLOCK registry_lock;
  win_conn *registry;
} g;

static win_conn *wc_of(ih_conn *c) { return c->transport_data; }

static void on_conn_io(ih_iocp_op *op, DWORD bytes, DWORD err);

/* Starts one of the connection's operations in its slot. */
static void begin_op(win_conn *w, enum op_kind kind)
{
  memset(&w->op.ov, 0, sizeof w->op.ov);
  w->op.complete = on_conn_io;
  w->kind = kind;
}

/* ---- operations that complete at once ---- */

/* Set while this thread runs code that never waits for a completion and
 * delivers its ready list when that code returns: always on an I/O
 * worker (after each packet), on a pool thread while it ends a session. */
static __thread BOOL ready_scope;
static __thread win_conn *ready_list;

/* Completions delivered inline after one packet (or one session end)
 * before the rest go to the port. Without a bound, a client that keeps its
 * pipeline full, or streams a body faster than it is read, has every
 * receive complete at once: the thread would serve that connection for as
 * long as the client keeps sending and never dequeue another packet, so
 * other connections, the timer sweep's deadlines and the stop's KEY_QUIT
 * would wait behind it (a stop then took drain_timeout + 10 s and more,
 * tests/integration/test_io_engine.py). A requeued completion is one packet
 * at the tail of the port's FIFO queue, behind what was waiting. */
#define INLINE_COMPLETIONS_MAX 16

/* The operation in w's slot completed at once with bytes, and no packet
 * was queued for it. */
static void completed_at_once(win_conn *w, DWORD bytes)
{
  if (ready_scope) {
    w->ready_bytes = bytes;
    w->ready_next = ready_list;
    ready_list = w;
  } else {
    PostQueuedCompletionStatus(g.port, bytes, KEY_IO, &w->op.ov);
  }
}

/* Delivers what completed at once, including what that delivery posts and
 * completes at once in turn (one operation per connection at a time, so a
 * connection is on the list at most once), in a loop, never by recursion:
 * at most INLINE_COMPLETIONS_MAX of them; what is left goes to the port as
 * packets, each delivered exactly once by whichever worker takes it. */
static void deliver_ready(void)
{
  for (unsigned delivered = 0; ready_list; delivered++) {
    win_conn *w = ready_list;
    ready_list = w->ready_next;
    if (delivered < INLINE_COMPLETIONS_MAX)
      w->op.complete(&w->op, w->ready_bytes, 0);
    else
      PostQueuedCompletionStatus(g.port, w->ready_bytes, KEY_IO, &w->op.ov);
  }
}

void ih_iocp_engine_batch_begin(void)
{
  ready_scope = TRUE;
}

void ih_iocp_engine_batch_end(void)
{
  deliver_ready();
  ready_scope = FALSE;
}

/* ---- posting failures as completions ---- */

/* A post that failed at once is delivered like a completion, under its own
 * key, with its Win32 error where a completion has its byte count (nothing
 * was transferred): the pipeline closes the connection on any error, and
 * logs the one it was. */
static void post_failure(ih_iocp_op *op, int err)
{
  PostQueuedCompletionStatus(g.port, (DWORD)(err ? err : WSAECONNRESET), KEY_IO_FAILED, &op->ov);
}

/* ---- platform table: I/O ---- */

static void pf_recv(ih_conn *c, char *buf, size_t cap)
{
  win_conn *w = wc_of(c);
  begin_op(w, OP_RECV);
  WSABUF wb = { .len = (ULONG)(cap > 0x7fffffff ? 0x7fffffff : cap), .buf = buf };
  DWORD flags = 0, n = 0;
  if (WSARecv(w->sock, &wb, 1, &n, &flags, &w->op.ov, NULL) == SOCKET_ERROR) {
    int err = WSAGetLastError();
    if (err != WSA_IO_PENDING)
      post_failure(&w->op, err);
  } else if (w->skip_on_success) {
    completed_at_once(w, n);
  }
}

static void post_send_rest(win_conn *w)
{
  begin_op(w, OP_SEND);
  size_t left = w->send_len - w->send_done;
  WSABUF wb = { .len = (ULONG)(left > 0x7fffffff ? 0x7fffffff : left), .buf = (char *)w->send_data + w->send_done };
  DWORD n = 0;
  if (WSASend(w->sock, &wb, 1, &n, 0, &w->op.ov, NULL) == SOCKET_ERROR) {
    int err = WSAGetLastError();
    if (err != WSA_IO_PENDING)
      post_failure(&w->op, err);
  } else if (w->skip_on_success) {
    completed_at_once(w, n);
  }
}

static void pf_send(ih_conn *c, const char *data, size_t len)
{
  win_conn *w = wc_of(c);
  w->send_data = data;
  w->send_len = len;
  w->send_done = 0;
  w->transmit_bytes = 0;
  post_send_rest(w);
}

/* TransmitFile sends at most 2^32-2 bytes per call; larger ranges go in
 * chunks, the head with the first one. */
static void post_transmit_chunk(win_conn *w)
{
  begin_op(w, OP_TRANSMIT);
  w->op.ov.Offset = (DWORD)w->file_offset;
  w->op.ov.OffsetHigh = (DWORD)(w->file_offset >> 32);
  DWORD count = (DWORD)(w->file_left > TRANSMIT_CHUNK ? TRANSMIT_CHUNK : w->file_left);
  TRANSMIT_FILE_BUFFERS tfb = { .Head = (void *)w->head, .HeadLength = (DWORD)w->head_len };
  if (!g.transmit_file(w->sock, w->file, count, 0, &w->op.ov, w->head_len ? &tfb : NULL, 0)) {
    int err = WSAGetLastError();
    if (err != WSA_IO_PENDING && err != ERROR_IO_PENDING)
      post_failure(&w->op, err);
  } else if (w->skip_on_success) {
    /* TransmitFile reports no count: the finished operation has it */
    DWORD n = 0, flags = 0;
    if (WSAGetOverlappedResult(w->sock, &w->op.ov, &n, FALSE, &flags))
      completed_at_once(w, n);
    else
      post_failure(&w->op, WSAGetLastError());
  }
}

static void pf_send_file(ih_conn *c, void *file, uint64_t offset, uint64_t length, const char *head, size_t head_len)
{
  win_conn *w = wc_of(c);
  w->file = (HANDLE)file;
  w->file_offset = offset;
  w->file_left = length;
  w->head = head;
  w->head_len = head_len;
  w->transmit_bytes = 0;
  post_transmit_chunk(w);
}

static void pf_shutdown_send(ih_conn *c)
{
  win_conn *w = wc_of(c);
  if (w->sock != INVALID_SOCKET)
    shutdown(w->sock, SD_SEND);
}

static void pf_close_socket(ih_conn *c)
{
  win_conn *w = wc_of(c);
  if (w->sock != INVALID_SOCKET) {
    closesocket(w->sock);
    w->sock = INVALID_SOCKET;
  }
}

static void pf_destroy_later(ih_conn *c)
{
  /* Freed by a worker that holds nothing of this connection. */
  PostQueuedCompletionStatus(g.port, 0, KEY_DESTROY, (OVERLAPPED *)c);
}

static __thread BOOL on_io_thread;

/* A session's end goes on at once on our own threads (the extension pool's
 * or an I/O worker, which hold no connection lock here and outlive any I/O
 * they issue); from a DLL's own thread, which may exit as soon as it
 * returns, it hops to an I/O worker. */
static void pf_ext_end_later(ih_conn *c)
{
  if (on_io_thread) {
    ih_conn_on_ext_end(c); /* the worker delivers its ready list after the packet */
  } else if (ih_isapi_pool_is_pool_thread()) {
    /* What the session's end posts runs as on an I/O worker, which never
     * waits for a completion (it may be one), so what completes at once
     * can wait for the end of the call here: the next request, often
     * already there when the receive is posted, costs no packet. */
    BOOL outer = !ready_scope;
    ready_scope = TRUE;
    ih_conn_on_ext_end(c);
    if (outer) {
      deliver_ready();
      ready_scope = FALSE;
    }
  } else
    PostQueuedCompletionStatus(g.port, 0, KEY_EXT_END, (OVERLAPPED *)c);
}

/* Every operation on the socket: the pipeline's one and an extension
 * thread's own send (pf_send_now). */
static void pf_cancel_io(ih_conn *c)
{
  win_conn *w = wc_of(c);
  if (w->sock != INVALID_SOCKET)
    CancelIoEx((HANDLE)w->sock, NULL);
}

/* An overlapped WSASend whose event has its low bit set: no completion
 * packet goes to the port ("GetQueuedCompletionStatus", MSDN), so no I/O
 * thread wakes for it; when the socket takes the bytes at once, which is
 * the usual case, nothing waits at all. The event is reset only before a
 * wait, and checked again after the reset, because an operation that
 * completed at once may or may not have set it (Windows does, Wine does not). */
static int pf_send_now(ih_conn *c, const char *data, size_t len)
{
  win_conn *w = wc_of(c);
  if (!w->direct_event && !(w->direct_event = CreateEventW(NULL, TRUE, FALSE, NULL)))
    return (int)GetLastError();
  size_t sent = 0;
  while (sent < len) {
    memset(&w->direct_ov, 0, sizeof w->direct_ov);
    w->direct_ov.hEvent = (HANDLE)((ULONG_PTR)w->direct_event | 1);
    size_t left = len - sent;
    WSABUF wb = { .len = (ULONG)(left > 0x7fffffff ? 0x7fffffff : left), .buf = (char *)data + sent };
    DWORD n = 0, flags = 0;
    if (WSASend(w->sock, &wb, 1, &n, 0, &w->direct_ov, NULL) == SOCKET_ERROR) {
      int err = WSAGetLastError();
      if (err != WSA_IO_PENDING)
        return err;
      for (;;) {
        if (WSAGetOverlappedResult(w->sock, &w->direct_ov, &n, FALSE, &flags))
          break;
        if ((err = WSAGetLastError()) != WSA_IO_INCOMPLETE)
          return err;
        ResetEvent(w->direct_event);
        if (WSAGetOverlappedResult(w->sock, &w->direct_ov, &n, FALSE, &flags))
          break;
        if ((err = WSAGetLastError()) != WSA_IO_INCOMPLETE)
          return err;
        WaitForSingleObject(w->direct_event, INFINITE);
      }
    }
    if (n == 0)
      return WSAECONNRESET;
    sent += n;
  }
  return 0;
}

/* SO_LINGER {on, 0}: closesocket then sends RST instead of FIN. */
static void pf_abort_socket(ih_conn *c)
{
  win_conn *w = wc_of(c);
  struct linger l = { 1, 0 };
  if (w->sock != INVALID_SOCKET)
    setsockopt(w->sock, SOL_SOCKET, SO_LINGER, (char *)&l, sizeof l);
}

/* Readable with nothing to read means FIN or RST; readable with bytes (a
 * pipelined request) or not readable means the peer is still there. No
 * outstanding receive exists while an extension runs, so peeking is safe. */
static bool pf_peer_alive(ih_conn *c)
{
  win_conn *w = wc_of(c);
  if (w->sock == INVALID_SOCKET)
    return false;
  fd_set r;
  FD_ZERO(&r);
  FD_SET(w->sock, &r);
  struct timeval zero = { 0, 0 };
  if (select(0, &r, NULL, NULL, &zero) != 1)
    return true;
  char b;
  int n = recv(w->sock, &b, 1, MSG_PEEK);
  return n > 0 || (n == SOCKET_ERROR && WSAGetLastError() == WSAEWOULDBLOCK);
}


/* The socket transport (server/transport.h), given to every accepted
 * connection. */
static const ih_transport socket_transport = {
  .recv = pf_recv,
  .send = pf_send,
  .send_file = pf_send_file,
  .shutdown_send = pf_shutdown_send,
  .close_socket = pf_close_socket,
  .destroy_later = pf_destroy_later,
  .cancel_io = pf_cancel_io,
  .abort_socket = pf_abort_socket,
  .peer_alive = pf_peer_alive,
  .send_now = pf_send_now,
};

void ih_iocp_engine_platform_services(ih_platform *p) { p->ext_end_later = pf_ext_end_later; }

/* ---- registry ---- */

static void registry_add(win_conn *w)
{
  AcquireSRWLockExclusive(&g.registry_lock);
  w->prev = NULL;
  w->next = g.registry;
  if (g.registry)
    g.registry->prev = w;
  g.registry = w;
  ReleaseSRWLockExclusive(&g.registry_lock);
}

static void registry_remove(win_conn *w)
{
  AcquireSRWLockExclusive(&g.registry_lock);
  if (w->prev)
    w->prev->next = w->next;
  else
    g.registry = w->next;
  if (w->next)
    w->next->prev = w->prev;
  ReleaseSRWLockExclusive(&g.registry_lock);
}

/* Each notification holds an IH_HOLD_TIMER reference. */
void ih_iocp_engine_notify_timers(BOOL all)
{
  uint64_t now = ih_clock_ms();
  AcquireSRWLockExclusive(&g.registry_lock);
  for (win_conn *w = g.registry; w; w = w->next) {
    ih_conn *c = w->conn;
    if (ih_conn_timer_claim(c, now, all)) /* with an IH_HOLD_TIMER reference for the packet */
      PostQueuedCompletionStatus(g.port, 0, KEY_TIMER, (OVERLAPPED *)c);
  }
  ReleaseSRWLockExclusive(&g.registry_lock);
}

void ih_iocp_engine_cancel_all(void)
{
  AcquireSRWLockExclusive(&g.registry_lock);
  for (win_conn *w = g.registry; w; w = w->next)
    ih_conn_cancel(w->conn);
  ReleaseSRWLockExclusive(&g.registry_lock);
}

/* ---- connections in ---- */

BOOL ih_iocp_engine_associate(HANDLE h) { return CreateIoCompletionPort(h, g.port, KEY_IO, 0) != NULL; }

void ih_iocp_engine_adopt(ih_server *server, SOCKET s, const char *local_text, uint16_t local_port,
                          const char *peer_text, uint16_t peer_port)
{
  win_conn *w = calloc(1, sizeof *w);
  ih_conn *c = w ? ih_conn_new(server, &socket_transport, w, local_text, local_port, peer_text, peer_port) : NULL;
  if (!c) {
    ih_log(IH_LOG_ERROR, IH_EV_IO_ERROR, "cannot set up a connection from %s (out of memory)", peer_text);
    closesocket(s);
    free(w);
    return;
  }
  w->sock = s;
  w->conn = c;
  registry_add(w);
  if (!ih_iocp_engine_associate((HANDLE)s)) {
    ih_log(IH_LOG_ERROR, IH_EV_IO_ERROR, "cannot set up a connection from %s (Win32 error %lu)", peer_text,
           GetLastError());
    /* The connection owns w and the socket now: its one close path closes
     * the socket and releases IH_HOLD_SOCKET, and the destroy packet frees
     * both, as for any other connection. */
    ih_conn_abandon(c);
    return;
  }
  w->skip_on_success =
      g.skip_on_success && SetFileCompletionNotificationModes((HANDLE)s, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS);
  ih_conn_start(c);
}

/* ---- completions ---- */

static void on_conn_io(ih_iocp_op *op, DWORD bytes, DWORD err)
{
  win_conn *w = (win_conn *)op; /* op is the first member */
  ih_conn *c = w->conn;
  switch (w->kind) {
  case OP_RECV:
    ih_conn_on_recv(c, bytes, (int)err);
    break;
  case OP_SEND:
    w->send_done += bytes;
    w->transmit_bytes += bytes;
    if (!err && bytes && w->send_done < w->send_len) {
      post_send_rest(w); /* partial send: the same operation goes on */
      return;
    }
    ih_conn_on_sent(c, w->transmit_bytes, (int)(err ? err : (w->send_done < w->send_len ? WSAECONNRESET : 0)));
    break;
  case OP_TRANSMIT: {
    w->transmit_bytes += bytes;
    uint64_t body = bytes > w->head_len ? bytes - w->head_len : 0;
    w->head_len = 0;
    w->file_offset += body;
    w->file_left = body < w->file_left ? w->file_left - body : 0;
    if (!err && bytes && w->file_left) {
      post_transmit_chunk(w);
      return;
    }
    ih_conn_on_sent(c, w->transmit_bytes, (int)(err ? err : (w->file_left ? WSAECONNRESET : 0)));
    break;
  }
  default:
    break;
  }
}

static void dispatch(ULONG_PTR key, OVERLAPPED *ov, DWORD bytes, DWORD err)
{
  switch (key) {
  case KEY_IO:
  case KEY_IO_FAILED: {
    ih_iocp_op *op = (ih_iocp_op *)ov;
    op->complete(op, bytes, err);
    break;
  }
  case KEY_TIMER:
    ih_conn_on_timer((ih_conn *)ov);
    break;
  case KEY_EXT_END:
    ih_conn_on_ext_end((ih_conn *)ov);
    break;
  case KEY_DESTROY: {
    ih_conn *c = (ih_conn *)ov;
    win_conn *w = wc_of(c);
    registry_remove(w);
    ih_conn_destroy(c);
    if (w->direct_event)
      CloseHandle(w->direct_event);
    free(w);
    break;
  }
  default:
    break;
  }
}

/* One packet per GetQueuedCompletionStatus call. GetQueuedCompletionStatusEx
 * looks cheaper but Wine implements it as one wineserver request per packet
 * plus one that finds the queue empty, so batching costs more round trips
 * to the wineserver (measured with WINEDEBUG=+server; docs/benchmarks.md). */
static DWORD WINAPI worker_main(LPVOID arg)
{
  volatile LONG *busy_with = arg;
  on_io_thread = TRUE;
  ready_scope = TRUE;
  for (;;) {
    DWORD bytes = 0;
    ULONG_PTR key = 0;
    OVERLAPPED *ov = NULL;
    BOOL ok = GetQueuedCompletionStatus(g.port, &bytes, &key, &ov, INFINITE);
    if (!ov) {
      if (!ok) {
        ih_log(IH_LOG_ERROR, IH_EV_FATAL, "GetQueuedCompletionStatus failed (Win32 error %lu)", GetLastError());
        return 1;
      }
      if (key == KEY_QUIT)
        return 0;
      continue;
    }
    /* The operation's status is GetQueuedCompletionStatus's result. Never
     * read OVERLAPPED.Internal here: under Wine it can still say
     * STATUS_PENDING when the packet is dequeued. */
    DWORD err = 0;
    if (key == KEY_IO && !ok)
      err = GetLastError();
    else if (key == KEY_IO_FAILED) {
      err = bytes; /* post_failure: the post's own error, nothing transferred */
      bytes = 0;
    }
    InterlockedExchange(busy_with, (LONG)key);
    dispatch(key, ov, bytes, err);
    deliver_ready();
    InterlockedExchange(busy_with, 0);
  }
}

BOOL ih_iocp_winsock_function(SOCKET s, GUID guid, void *fn, size_t fn_size)
{
  DWORD bytes;
  return WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, fn, (DWORD)fn_size, &bytes, NULL,
                  NULL) == 0;
}

/* ---- start and stop ---- */

int ih_iocp_engine_open(void)
{
  memset(&g, 0, sizeof g);
  InitializeSRWLock(&g.registry_lock);
  g.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
  if (!g.port) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot create the completion port (Win32 error %lu)", GetLastError());
    return -1;
  }
  return 0;
}

/* TransmitFile through a socket of our own: every connection's socket is
 * TCP from the same provider (MSDN "TransmitFile": obtain the pointer at
 * run time with SIO_GET_EXTENSION_FUNCTION_POINTER). */
static BOOL load_transmit_file(void)
{
  SOCKET probe = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
  if (probe == INVALID_SOCKET)
    return FALSE;
  BOOL ok = ih_iocp_winsock_function(probe, (GUID)WSAID_TRANSMITFILE, &g.transmit_file, sizeof g.transmit_file);
  int err = WSAGetLastError();
  closesocket(probe);
  WSASetLastError(err);
  return ok;
}

/* Skipping the packet is safe for sockets only when every TCP provider
 * hands out IFS handles: a layered provider that does not may still queue
 * one, and the operation would complete twice (MSDN
 * "SetFileCompletionNotificationModes"; libuv checks the same). */
static BOOL providers_are_ifs(void)
{
  INT protocols[] = { IPPROTO_TCP, 0 };
  DWORD size = 0;
  if (WSAEnumProtocolsW(protocols, NULL, &size) != SOCKET_ERROR || WSAGetLastError() != WSAENOBUFS)
    return FALSE;
  WSAPROTOCOL_INFOW *info = malloc(size);
  int n = info ? WSAEnumProtocolsW(protocols, info, &size) : SOCKET_ERROR;
  BOOL ifs = n > 0;
  for (int i = 0; i < n; i++)
    if (!(info[i].dwServiceFlags1 & XP1_IFS_HANDLES))
      ifs = FALSE;
  free(info);
  return ifs;
}

int ih_iocp_engine_start(unsigned requested_workers)
{
  g.skip_on_success = providers_are_ifs();
  if (!load_transmit_file()) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot load the Winsock extension functions (Win32 error %d)",
           WSAGetLastError());
    return -1;
  }
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  g.worker_count = requested_workers ? requested_workers : 2 * si.dwNumberOfProcessors;
  g.workers = calloc(g.worker_count, sizeof *g.workers);
  g.worker_key = calloc(g.worker_count, sizeof *g.worker_key);
  if (!g.workers || !g.worker_key) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot start the worker threads (out of memory)");
    g.worker_count = 0; /* ih_iocp_engine_stop has none to join */
    return -1;
  }
  for (unsigned i = 0; i < g.worker_count; i++) {
    g.workers[i] = CreateThread(NULL, WORKER_STACK, worker_main, (LPVOID)&g.worker_key[i],
                                STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (!g.workers[i]) {
      ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot start worker thread (Win32 error %lu)", GetLastError());
      g.worker_count = i;
      return -1;
    }
  }
  ih_log(IH_LOG_INFO, IH_EV_WORKERS, "%u worker threads", g.worker_count);
  return 0;
}

static const char *key_name(LONG key)
{
  switch (key) {
  case KEY_IO:
  case KEY_IO_FAILED:
    return "an I/O completion";
  case KEY_TIMER:
    return "a connection's timer";
  case KEY_EXT_END:
    return "an extension session's end";
  case KEY_DESTROY:
    return "a connection's end";
  default:
    return "nothing";
  }
}

/* Each worker takes one KEY_QUIT when it next waits on the port; all of
 * them get WORKER_STOP_WAIT_MS in all, not each (a wait of 30 s per worker
 * made one stuck worker cost 30 s and four cost two minutes). One still
 * busy then is named in the log and the stop goes on: the process ends it. */
void ih_iocp_engine_stop(void)
{
  for (unsigned i = 0; i < g.worker_count; i++)
    PostQueuedCompletionStatus(g.port, 0, KEY_QUIT, NULL);
  uint64_t end = ih_clock_ms() + WORKER_STOP_WAIT_MS;
  unsigned busy = 0;
  LONG busy_with = 0;
  for (unsigned i = 0; i < g.worker_count; i++) {
    uint64_t now = ih_clock_ms();
    if (WaitForSingleObject(g.workers[i], now < end ? (DWORD)(end - now) : 0) != WAIT_OBJECT_0) {
      busy++;
      busy_with = g.worker_key[i];
    }
    CloseHandle(g.workers[i]);
  }
  if (busy)
    ih_log(IH_LOG_WARNING, IH_EV_DRAIN_TIMEOUT,
           "%u of %u I/O thread(s) still busy %u s after the stop asked them to end (one with %s); "
           "they end with the process",
           busy, g.worker_count, WORKER_STOP_WAIT_MS / 1000u, key_name(busy_with));
  free(g.workers);
  g.workers = NULL;
  if (!busy) /* else a worker still running writes its slot: it goes with the process */
    free((void *)g.worker_key);
  g.worker_key = NULL;
  g.worker_count = 0;
  if (g.port)
    CloseHandle(g.port);
  g.port = NULL;
}
