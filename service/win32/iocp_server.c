/* IOCP engine (see iocp_server.h).
 *
 * Completion keys tell packets apart: KEY_IO for real overlapped I/O (the
 * OVERLAPPED is embedded in an io_op saying what it was), KEY_TIMER and
 * KEY_DESTROY for packets we post ourselves with the connection pointer in
 * place of the OVERLAPPED, KEY_QUIT to stop a worker.
 *
 * Every posted operation produces exactly one call into the portable layer:
 * when WSARecv/WSASend/TransmitFile fails synchronously we post the failure
 * as a completion (libuv's rule), so the reference taken for the operation
 * is always released in the one completion handler.
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
#include "file_win32.h"
#include "filters/filter_host_win32.h"
#include "server/conn.h"
#include "server/pipeline.h"
#include "iocp_server.h"
#include "isapi/isapi_dll_win32.h"
#include "isapi/isapi_host_win32.h"
#include "isapi/isapi_pool_win32.h"
#include "logwriter_win32.h"
#include "process_stats_win32.h"
#include "stop_watchdog_win32.h"

enum { KEY_IO = 1, KEY_IO_FAILED, KEY_TIMER, KEY_EXT_END, KEY_DESTROY, KEY_QUIT };
enum op_kind { OP_ACCEPT, OP_RECV, OP_SEND, OP_TRANSMIT };

#define WORKER_STACK (1u << 20)       /* ISAPI DLLs expect >= 256 KB (issue 3) */
#define SWEEP_INTERVAL_MS 100
#define MAX_LISTENERS 64
#define ADDR_SLOT (sizeof(SOCKADDR_STORAGE) + 16) /* AcceptEx address slot size */
#define TRANSMIT_CHUNK 0x40000000ull  /* TransmitFile takes a DWORD count */

typedef struct io_op {
  OVERLAPPED ov;
  enum op_kind kind;
} io_op;

typedef struct listener listener;

typedef struct accept_slot {
  io_op op;
  listener *owner;
  SOCKET sock;
  char addresses[2 * ADDR_SLOT];
} accept_slot;

/* A listener's entry stays for the life of the engine (its accept slots
 * may still be completing after a close); pause, continue and reload close
 * and reopen sockets in it. */
struct listener {
  SOCKET sock;
  int family;
  char address[48]; /* as configured: "*" or a literal */
  uint16_t port;
  accept_slot *slots;
  unsigned slot_count;
  volatile LONG outstanding; /* AcceptEx in flight on it */
  volatile LONG open;        /* accepting: completions post the next AcceptEx */
  BOOL wanted;               /* in the configuration being served (open unless paused) */
};

/* Per-connection platform data: the socket and the one operation slot. */
typedef struct win_conn {
  io_op op;
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
} win_conn;

static struct {
  HANDLE port;
  HANDLE *workers;
  unsigned worker_count;
  listener listeners[MAX_LISTENERS];
  unsigned listener_count;
  LPFN_ACCEPTEX accept_ex;
  LPFN_GETACCEPTEXSOCKADDRS get_addrs;
  LPFN_TRANSMITFILE transmit_file;
  ih_server server;
  SRWLOCK registry_lock;
  win_conn *registry;
  volatile LONG accepts_outstanding;
  volatile LONG stopping;
  SRWLOCK control_lock; /* pause, continue, reload and stop, one at a time */
  BOOL paused;
  HANDLE sweep_thread;
  HANDLE sweep_stop;
  BOOL conn_limit_logged;
} g;

static win_conn *wc_of(ih_conn *c) { return c->transport_data; }

/* ---- posting failures as completions ---- */

/* A post that failed at once is delivered like a completion, under its own
 * key, with its Win32 error where a completion has its byte count (nothing
 * was transferred): the pipeline closes the connection on any error, and
 * logs the one it was. */
static void post_failure(io_op *op, int err)
{
  PostQueuedCompletionStatus(g.port, (DWORD)(err ? err : WSAECONNRESET), KEY_IO_FAILED, &op->ov);
}

/* ---- platform table: I/O ---- */

static void pf_recv(ih_conn *c, char *buf, size_t cap)
{
  win_conn *w = wc_of(c);
  memset(&w->op.ov, 0, sizeof w->op.ov);
  w->op.kind = OP_RECV;
  WSABUF wb = { .len = (ULONG)(cap > 0x7fffffff ? 0x7fffffff : cap), .buf = buf };
  DWORD flags = 0;
  if (WSARecv(w->sock, &wb, 1, NULL, &flags, &w->op.ov, NULL) == SOCKET_ERROR) {
    int err = WSAGetLastError();
    if (err != WSA_IO_PENDING)
      post_failure(&w->op, err);
  }
}

static void post_send_rest(win_conn *w)
{
  memset(&w->op.ov, 0, sizeof w->op.ov);
  w->op.kind = OP_SEND;
  size_t left = w->send_len - w->send_done;
  WSABUF wb = { .len = (ULONG)(left > 0x7fffffff ? 0x7fffffff : left), .buf = (char *)w->send_data + w->send_done };
  if (WSASend(w->sock, &wb, 1, NULL, 0, &w->op.ov, NULL) == SOCKET_ERROR) {
    int err = WSAGetLastError();
    if (err != WSA_IO_PENDING)
      post_failure(&w->op, err);
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
  memset(&w->op.ov, 0, sizeof w->op.ov);
  w->op.kind = OP_TRANSMIT;
  w->op.ov.Offset = (DWORD)w->file_offset;
  w->op.ov.OffsetHigh = (DWORD)(w->file_offset >> 32);
  DWORD count = (DWORD)(w->file_left > TRANSMIT_CHUNK ? TRANSMIT_CHUNK : w->file_left);
  TRANSMIT_FILE_BUFFERS tfb = { .Head = (void *)w->head, .HeadLength = (DWORD)w->head_len };
  if (!g.transmit_file(w->sock, w->file, count, 0, &w->op.ov, w->head_len ? &tfb : NULL, 0)) {
    int err = WSAGetLastError();
    if (err != WSA_IO_PENDING && err != ERROR_IO_PENDING)
      post_failure(&w->op, err);
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
  if (on_io_thread || ih_isapi_pool_is_pool_thread())
    ih_conn_on_ext_end(c);
  else
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
static const ih_transport win32_socket_transport = {
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

static const ih_platform win32_platform = {
  .file_open = ih_win32_file_open,
  .file_read = ih_win32_file_read,
  .file_close = ih_win32_file_close,
  .dir_list = ih_win32_dir_list,
  .access_log = ih_logwriter_access_line,
  .extension_start = ih_isapi_host_extension_start,
  .ext_end_later = pf_ext_end_later,
  .filter_call = ih_filter_host_call,
  .process_stats = ih_win32_process_stats,
  .ext_admin = ih_isapi_admin,
};

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

/* Posts one timer notification to every connection whose deadline passed
 * (or to all of them when `all`), each holding an IH_HOLD_TIMER reference. */
static void notify_connections(BOOL all)
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

static DWORD WINAPI sweep_main(LPVOID arg)
{
  (void)arg;
  ULONGLONG next_filter_retry = GetTickCount64() + IH_FILTER_RETRY_MS;
  while (WaitForSingleObject(g.sweep_stop, SWEEP_INTERVAL_MS) == WAIT_TIMEOUT) {
    notify_connections(FALSE);
    /* Filter DLLs that did not load are tried again (on a thread of their
     * own: this one drives the timers). */
    if (GetTickCount64() >= next_filter_retry) {
      next_filter_retry = GetTickCount64() + IH_FILTER_RETRY_MS;
      if (ih_filter_host_failed())
        ih_filter_host_retry();
    }
  }
  return 0;
}

/* ---- accepting ---- */

static void post_accept(accept_slot *slot)
{
  listener *l = slot->owner;
  if (!l->open || g.stopping)
    return;
  slot->sock = WSASocketW(l->family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
  if (slot->sock == INVALID_SOCKET) {
    ih_log(IH_LOG_ERROR, IH_EV_ACCEPT_FAILED, "cannot create a socket for AcceptEx (Win32 error %d)",
           WSAGetLastError());
    return;
  }
  memset(&slot->op.ov, 0, sizeof slot->op.ov);
  slot->op.kind = OP_ACCEPT;
  InterlockedIncrement(&g.accepts_outstanding);
  InterlockedIncrement(&l->outstanding);
  DWORD bytes;
  if (!g.accept_ex(l->sock, slot->sock, slot->addresses, 0, ADDR_SLOT, ADDR_SLOT, &bytes, &slot->op.ov) &&
      WSAGetLastError() != ERROR_IO_PENDING) {
    int err = WSAGetLastError();
    InterlockedDecrement(&g.accepts_outstanding);
    InterlockedDecrement(&l->outstanding);
    closesocket(slot->sock);
    slot->sock = INVALID_SOCKET;
    if (!g.stopping && l->open)
      ih_log(IH_LOG_ERROR, IH_EV_ACCEPT_FAILED, "AcceptEx on %s:%u failed (Win32 error %d)", l->address,
             (unsigned)l->port, err);
  }
}

/* Address text without the IPv4-mapped prefix, so sites bound to 127.0.0.1
 * match clients of a dual-stack listener. */
static void address_text(const struct sockaddr *sa, char *out, size_t cap, uint16_t *port)
{
  out[0] = '\0';
  *port = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const void *)sa;
    InetNtopA(AF_INET, (void *)&in->sin_addr, out, cap);
    *port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const void *)sa;
    InetNtopA(AF_INET6, (void *)&in6->sin6_addr, out, cap);
    *port = ntohs(in6->sin6_port);
    if (strncmp(out, "::ffff:", 7) == 0 && strchr(out + 7, '.'))
      memmove(out, out + 7, strlen(out + 7) + 1);
  }
}

/* A client that gave up before the accept completed (reset, abort), as
 * AcceptEx reports it: ERROR_NETNAME_DELETED and WSAECONNRESET on Windows,
 * ERROR_UNEXP_NET_ERR under Wine; the others on the way. Normal traffic. */
static bool client_gave_up(DWORD err)
{
  return err == ERROR_NETNAME_DELETED || err == ERROR_UNEXP_NET_ERR || err == ERROR_CONNECTION_ABORTED ||
         err == WSAECONNRESET || err == WSAECONNABORTED;
}

/* Logs a failed AcceptEx completion without letting a flood of them flood
 * the log (server_log.h): client aborts are counted on the status page and
 * summed up in one INFO line a minute; anything else is a WARNING, at most
 * one a minute too, with how many there were. */
static void accept_failed(listener *l, DWORD err)
{
  static ih_log_throttle aborts_logged, errors_logged;
  uint64_t now = ih_clock_ms();
  if (client_gave_up(err)) {
    ih_server_count_client_abort(&g.server);
    unsigned long long n = ih_log_throttle_hit(&aborts_logged, now, IH_LOG_FLOOD_INTERVAL_MS);
    if (n)
      ih_log(IH_LOG_INFO, IH_EV_CLIENT_ABORTS,
             "%llu client connection(s) reset before the accept completed (last on %s:%u, Win32 error %lu); "
             "the next such line comes a minute later at the earliest; all are counted in client_aborts",
             n, l->address, (unsigned)l->port, err);
    return;
  }
  unsigned long long n = ih_log_throttle_hit(&errors_logged, now, IH_LOG_FLOOD_INTERVAL_MS);
  if (n)
    ih_log(IH_LOG_WARNING, IH_EV_ACCEPT_FAILED, "AcceptEx completion on %s:%u failed (Win32 error %lu; %llu time(s) since the last such line)",
           l->address, (unsigned)l->port, err, n);
}

static void on_accept(accept_slot *slot, DWORD err)
{
  listener *l = slot->owner;
  SOCKET s = slot->sock;
  slot->sock = INVALID_SOCKET;
  InterlockedDecrement(&g.accepts_outstanding);
  InterlockedDecrement(&l->outstanding);
  if (err || g.stopping || !l->open) {
    /* an error, or the listener closed (stop, pause, reload) */
    closesocket(s);
    if (!g.stopping && l->open) {
      if (err)
        accept_failed(l, err);
      post_accept(slot);
    }
    return;
  }
  /* Without this, getpeername/shutdown fail on Windows (Wine is lenient). */
  setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&l->sock, sizeof l->sock);
  BOOL nodelay = TRUE;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (char *)&nodelay, sizeof nodelay);
  /* Read the addresses before the slot's buffer is handed to the next AcceptEx. */
  struct sockaddr *local = NULL, *remote = NULL;
  int local_len = 0, remote_len = 0;
  g.get_addrs(slot->addresses, 0, ADDR_SLOT, ADDR_SLOT, &local, &local_len, &remote, &remote_len);
  char local_text[48], peer_text[48];
  uint16_t local_port, peer_port;
  address_text(local, local_text, sizeof local_text, &local_port);
  address_text(remote, peer_text, sizeof peer_text, &peer_port);
  post_accept(slot); /* keep the backlog of pending accepts full */

  ih_generation *newest = ih_server_acquire(&g.server); /* an I/O thread: a reload may replace it meanwhile */
  unsigned max = newest->config->server.max_connections;
  ih_generation_release(newest);
  if (max && atomic_load(&g.server.counters.connections_live) >= (long long)max) {
    if (!g.conn_limit_logged) {
      g.conn_limit_logged = TRUE;
      ih_log(IH_LOG_WARNING, IH_EV_CONN_LIMIT, "max_connections (%u) reached; refusing new connections", max);
    }
    closesocket(s);
    return;
  }
  win_conn *w = calloc(1, sizeof *w);
  ih_conn *c =
      w ? ih_conn_new(&g.server, &win32_socket_transport, w, local_text, local_port, peer_text, peer_port) : NULL;
  if (!c) {
    ih_log(IH_LOG_ERROR, IH_EV_IO_ERROR, "cannot set up a connection from %s (out of memory)", peer_text);
    closesocket(s);
    free(w);
    return;
  }
  w->sock = s;
  w->conn = c;
  registry_add(w);
  if (!CreateIoCompletionPort((HANDLE)s, g.port, KEY_IO, 0)) {
    ih_log(IH_LOG_ERROR, IH_EV_IO_ERROR, "cannot set up a connection from %s (Win32 error %lu)", peer_text,
           GetLastError());
    /* The connection owns w and the socket now: its one close path closes
     * the socket and releases IH_HOLD_SOCKET, and the destroy packet frees
     * both, as for any other connection. */
    ih_conn_abandon(c);
    return;
  }
  ih_conn_start(c);
}

/* ---- completions ---- */

static void on_io(io_op *op, DWORD bytes, DWORD err)
{
  if (op->kind == OP_ACCEPT) {
    on_accept((accept_slot *)op, err);
    return;
  }
  win_conn *w = (win_conn *)op; /* op is the first member */
  ih_conn *c = w->conn;
  switch (op->kind) {
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
  case KEY_IO_FAILED:
    on_io((io_op *)ov, bytes, err);
    break;
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
  (void)arg;
  on_io_thread = TRUE;
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
    dispatch(key, ov, bytes, err);
  }
}

/* ---- listeners ---- */

static int open_listener(listener *l)
{
  BOOL any = strcmp(l->address, "*") == 0;
  SOCKADDR_STORAGE ss = { 0 };
  int ss_len;
  if (any || strchr(l->address, ':')) {
    struct sockaddr_in6 *in6 = (void *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(l->port);
    if (!any && InetPtonA(AF_INET6, l->address, &in6->sin6_addr) != 1)
      return -1;
    ss_len = sizeof *in6;
    l->family = AF_INET6;
  } else {
    struct sockaddr_in *in = (void *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons(l->port);
    if (InetPtonA(AF_INET, l->address, &in->sin_addr) != 1)
      return -1;
    ss_len = sizeof *in;
    l->family = AF_INET;
  }
  l->sock = WSASocketW(l->family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
  if (l->sock == INVALID_SOCKET)
    return -1;
  /* Another process must not be able to take over our port (MSDN "Using
   * SO_REUSEADDR and SO_EXCLUSIVEADDRUSE"). */
  BOOL on = TRUE, off = FALSE;
  setsockopt(l->sock, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (char *)&on, sizeof on);
  if (l->family == AF_INET6) /* "*" serves IPv4 clients too */
    setsockopt(l->sock, IPPROTO_IPV6, IPV6_V6ONLY, (char *)&off, sizeof off);
  if (bind(l->sock, (struct sockaddr *)&ss, ss_len) == SOCKET_ERROR || listen(l->sock, SOMAXCONN) == SOCKET_ERROR ||
      !CreateIoCompletionPort((HANDLE)l->sock, g.port, KEY_IO, 0)) {
    int err = WSAGetLastError();
    closesocket(l->sock);
    l->sock = INVALID_SOCKET;
    WSASetLastError(err);
    return -1;
  }
  return 0;
}

static BOOL load_extension(SOCKET s, GUID guid, void *fn, size_t fn_size)
{
  DWORD bytes;
  return WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, fn, (DWORD)fn_size, &bytes, NULL,
                  NULL) == 0;
}

/* The listeners cfg needs, into want[0..*count): one per distinct
 * (address, port); a "*" binding on a port covers every specific address on
 * it (binding both would fail). */
static int listeners_wanted(const ih_config *cfg, listener *want, unsigned *count)
{
  unsigned n = 0;
  for (size_t s = 0; s < cfg->site_count; s++) {
    for (size_t b = 0; b < cfg->sites[s].binding_count; b++) {
      const ih_binding *bd = &cfg->sites[s].bindings[b];
      BOOL covered = FALSE;
      for (unsigned i = 0; i < n; i++) {
        listener *l = &want[i];
        if (l->port != bd->port)
          continue;
        if (!strcmp(l->address, "*") || !strcmp(l->address, bd->address))
          covered = TRUE;
        else if (!strcmp(bd->address, "*")) {
          snprintf(l->address, sizeof l->address, "*"); /* widen */
          covered = TRUE;
        }
      }
      if (covered)
        continue;
      if (n == MAX_LISTENERS) {
        ih_log(IH_LOG_ERROR, IH_EV_LISTEN_FAILED, "more than %d listeners configured", MAX_LISTENERS);
        return -1;
      }
      listener *l = &want[n++];
      memset(l, 0, sizeof *l);
      snprintf(l->address, sizeof l->address, "%s", bd->address);
      l->port = bd->port;
      l->sock = INVALID_SOCKET;
    }
  }
  /* two widened entries for the same port may now duplicate each other */
  for (unsigned i = 0; i < n; i++)
    for (unsigned j = i + 1; j < n;)
      if (want[j].port == want[i].port && !strcmp(want[j].address, want[i].address))
        want[j] = want[--n];
      else
        j++;
  *count = n;
  return 0;
}

static listener *find_listener(const char *address, uint16_t port)
{
  for (unsigned i = 0; i < g.listener_count; i++)
    if (g.listeners[i].port == port && !strcmp(g.listeners[i].address, address))
      return &g.listeners[i];
  return NULL;
}

/* Starts accepting on a bound listener: its slots (allocated once) each
 * get an AcceptEx. */
static int accept_on(listener *l, unsigned slots)
{
  if (!l->slots) {
    l->slot_count = slots;
    l->slots = calloc(l->slot_count, sizeof *l->slots);
    if (!l->slots)
      return -1;
    for (unsigned k = 0; k < l->slot_count; k++) {
      l->slots[k].owner = l;
      l->slots[k].sock = INVALID_SOCKET;
    }
  }
  InterlockedExchange(&l->open, 1);
  for (unsigned k = 0; k < l->slot_count; k++)
    post_accept(&l->slots[k]);
  ih_log(IH_LOG_INFO, IH_EV_LISTENING, "listening on %s:%u", l->address, (unsigned)l->port);
  return 0;
}

/* Stops accepting: new connections to it are refused; its pending AcceptEx
 * complete with errors and close their sockets. */
static void close_listener(listener *l)
{
  InterlockedExchange(&l->open, 0);
  if (l->sock != INVALID_SOCKET) {
    CancelIoEx((HANDLE)l->sock, NULL);
    closesocket(l->sock);
    l->sock = INVALID_SOCKET;
  }
}

/* Binds l again and accepts on it, once its last AcceptEx has come back. */
static int reopen_listener(listener *l, unsigned slots)
{
  for (int i = 0; i < 250 && l->outstanding; i++)
    Sleep(20);
  if (l->outstanding || open_listener(l) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_LISTEN_FAILED, "cannot listen on %s:%u (Win32 error %d)", l->address,
           (unsigned)l->port, l->outstanding ? WSAEADDRINUSE : WSAGetLastError());
    return -1;
  }
  return accept_on(l, slots);
}

int ih_iocp_start(const ih_config *cfg)
{
  memset(&g, 0, sizeof g);
  InitializeSRWLock(&g.registry_lock);
  InitializeSRWLock(&g.control_lock);
  if (ih_server_init(&g.server, cfg, &win32_platform) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "out of memory");
    return -1;
  }
  g.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
  if (!g.port) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot create the completion port (Win32 error %lu)", GetLastError());
    return -1;
  }
  if (ih_isapi_host_start(cfg) != 0)
    return -1;
  /* Filters see every connection from its first bytes: loaded before any
   * listener opens. */
  if (ih_filter_host_start(&g.server) != 0)
    return -1;
  if (listeners_wanted(cfg, g.listeners, &g.listener_count) != 0)
    return -1;
  for (unsigned i = 0; i < g.listener_count; i++) {
    listener *l = &g.listeners[i];
    l->wanted = TRUE;
    if (open_listener(l) != 0) {
      ih_log(IH_LOG_ERROR, IH_EV_LISTEN_FAILED, "cannot listen on %s:%u (Win32 error %d)", l->address,
             (unsigned)l->port, WSAGetLastError());
      return -1;
    }
  }
  if (g.listener_count == 0) {
    ih_log(IH_LOG_ERROR, IH_EV_LISTEN_FAILED, "no bindings configured");
    return -1;
  }
  SOCKET probe = g.listeners[0].sock;
  if (!load_extension(probe, (GUID)WSAID_ACCEPTEX, &g.accept_ex, sizeof g.accept_ex) ||
      !load_extension(probe, (GUID)WSAID_GETACCEPTEXSOCKADDRS, &g.get_addrs, sizeof g.get_addrs) ||
      !load_extension(probe, (GUID)WSAID_TRANSMITFILE, &g.transmit_file, sizeof g.transmit_file)) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot load the Winsock extension functions (Win32 error %d)",
           WSAGetLastError());
    return -1;
  }

  SYSTEM_INFO si;
  GetSystemInfo(&si);
  g.worker_count = cfg->server.worker_threads ? cfg->server.worker_threads : 2 * si.dwNumberOfProcessors;
  g.workers = calloc(g.worker_count, sizeof *g.workers);
  if (!g.workers)
    return -1;
  for (unsigned i = 0; i < g.worker_count; i++) {
    g.workers[i] = CreateThread(NULL, WORKER_STACK, worker_main, NULL, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (!g.workers[i]) {
      ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot start worker thread (Win32 error %lu)", GetLastError());
      g.worker_count = i;
      return -1;
    }
  }
  ih_log(IH_LOG_INFO, IH_EV_WORKERS, "%u worker threads", g.worker_count);
  g.sweep_stop = CreateEventW(NULL, TRUE, FALSE, NULL);
  g.sweep_thread = CreateThread(NULL, 0, sweep_main, NULL, 0, NULL);

  for (unsigned i = 0; i < g.listener_count; i++)
    if (accept_on(&g.listeners[i], cfg->server.accepts_per_listener) != 0)
      return -1;
  return 0;
}

static BOOL wait_until(BOOL (*done)(void), DWORD timeout_ms)
{
  uint64_t end = ih_clock_ms() + timeout_ms;
  while (!done()) {
    if (ih_clock_ms() >= end)
      return FALSE;
    Sleep(20);
  }
  return TRUE;
}

static BOOL no_connections(void) { return atomic_load(&g.server.counters.connections_live) == 0; }
static BOOL no_accepts(void) { return g.accepts_outstanding == 0; }

int ih_iocp_stop(void)
{
  int cancelled = 0;
  ih_log(IH_LOG_INFO, IH_EV_STOPPING, "stopping: no new connections; draining %lld connection(s)",
         atomic_load(&g.server.counters.connections_live));
  AcquireSRWLockExclusive(&g.control_lock); /* a pause, continue or reload in progress finishes first */
  InterlockedExchange(&g.stopping, 1);
  ih_server_begin_drain(&g.server);
  for (unsigned i = 0; i < g.listener_count; i++)
    close_listener(&g.listeners[i]);
  ReleaseSRWLockExclusive(&g.control_lock);
  notify_connections(TRUE); /* idle keep-alive connections close now */
  DWORD drain_ms = ih_server_current(&g.server)->config->server.drain_timeout * 1000u;
  if (!wait_until(no_connections, drain_ms)) {
    cancelled = (int)atomic_load(&g.server.counters.connections_live);
    ih_log(IH_LOG_WARNING, IH_EV_DRAIN_TIMEOUT, "drain timeout (%u s): cancelling %d connection(s)",
           ih_server_current(&g.server)->config->server.drain_timeout, cancelled);
    AcquireSRWLockExclusive(&g.registry_lock);
    for (win_conn *w = g.registry; w; w = w->next)
      ih_conn_expire_now(w->conn);
    ReleaseSRWLockExclusive(&g.registry_lock);
    wait_until(no_connections, 10000);
  }
  wait_until(no_accepts, 5000);
  ih_stop_watchdog_phase("stopping the extension threads and unloading extensions");
  ih_isapi_host_stop(); /* requests have drained: stop the pool, terminate and unload DLLs */
  /* Each destroyed connection has had END_OF_NET_SESSION; with none left,
   * TerminateFilter and FreeLibrary (else the filters stay loaded). */
  ih_stop_watchdog_phase("unloading filters");
  ih_filter_host_stop(&g.server);
  ih_stop_watchdog_phase("stopping the I/O threads");
  SetEvent(g.sweep_stop);
  WaitForSingleObject(g.sweep_thread, INFINITE);
  CloseHandle(g.sweep_thread);
  CloseHandle(g.sweep_stop);
  for (unsigned i = 0; i < g.worker_count; i++)
    PostQueuedCompletionStatus(g.port, 0, KEY_QUIT, NULL);
  for (unsigned i = 0; i < g.worker_count; i++) {
    WaitForSingleObject(g.workers[i], 30000);
    CloseHandle(g.workers[i]);
  }
  free(g.workers);
  for (unsigned i = 0; i < g.listener_count; i++)
    free(g.listeners[i].slots);
  CloseHandle(g.port);
  ih_server_destroy(&g.server);
  ih_log(IH_LOG_INFO, IH_EV_STOPPED, "stopped: %lld connections, %lld requests served",
         atomic_load(&g.server.counters.connections_total), atomic_load(&g.server.counters.requests_total));
  return cancelled;
}

/* ---- pause, continue, reload (the service's controls) ---- */

int ih_iocp_pause(void)
{
  AcquireSRWLockExclusive(&g.control_lock);
  if (!g.paused && !g.stopping) {
    g.paused = TRUE;
    for (unsigned i = 0; i < g.listener_count; i++)
      close_listener(&g.listeners[i]);
    ih_log(IH_LOG_INFO, IH_EV_PAUSED, "paused: new connections are refused; %lld open connection(s) go on",
           atomic_load(&g.server.counters.connections_live));
  }
  ReleaseSRWLockExclusive(&g.control_lock);
  return 0;
}

int ih_iocp_continue(void)
{
  int rc = 0;
  AcquireSRWLockExclusive(&g.control_lock);
  if (g.paused && !g.stopping) {
    unsigned slots = ih_server_current(&g.server)->config->server.accepts_per_listener;
    for (unsigned i = 0; i < g.listener_count; i++)
      if (g.listeners[i].wanted && reopen_listener(&g.listeners[i], slots) != 0)
        rc = -1;
    g.paused = rc != 0;
    if (rc == 0)
      ih_log(IH_LOG_INFO, IH_EV_PAUSED, "continued: accepting connections again");
  }
  ReleaseSRWLockExclusive(&g.control_lock);
  return rc;
}

/* Settings read once at start: a reload that changes them says so. */
static void note_start_only_settings(const ih_server_config *was, const ih_server_config *now)
{
  if (was->worker_threads != now->worker_threads || was->isapi_threads != now->isapi_threads ||
      was->isapi_max_threads != now->isapi_max_threads || strcmp(was->log_dir, now->log_dir) != 0 ||
      was->file_cache_entries != now->file_cache_entries || was->file_cache_ttl != now->file_cache_ttl ||
      was->accepts_per_listener != now->accepts_per_listener)
    ih_log(IH_LOG_WARNING, IH_EV_RELOADED,
           "worker_threads, isapi_threads, isapi_max_threads, log_dir, file_cache_* and accepts_per_listener "
           "keep their running values until the service restarts");
}

/* Bindings of a reload: listeners no longer wanted close first (a "*"
 * binding may replace a specific one on the same port), new ones open; if
 * one cannot, everything goes back as it was. 0, or -1 and why. */
static int rebind(const listener *want, unsigned want_count, char *why, size_t cap)
{
  BOOL dropped[MAX_LISTENERS] = { 0 }, added[MAX_LISTENERS] = { 0 };
  for (unsigned i = 0; i < g.listener_count; i++) {
    listener *l = &g.listeners[i];
    BOOL keep = FALSE;
    for (unsigned k = 0; k < want_count; k++)
      keep |= want[k].port == l->port && !strcmp(want[k].address, l->address);
    if (l->wanted && !keep) {
      l->wanted = FALSE;
      dropped[i] = TRUE;
      close_listener(l);
    }
  }
  unsigned slots = ih_server_current(&g.server)->config->server.accepts_per_listener;
  int rc = 0;
  for (unsigned k = 0; k < want_count && rc == 0; k++) {
    listener *l = find_listener(want[k].address, want[k].port);
    if (!l) {
      if (g.listener_count == MAX_LISTENERS) {
        snprintf(why, cap, "more than %d listeners over the server's life; restart to rebind", MAX_LISTENERS);
        rc = -1;
        break;
      }
      l = &g.listeners[g.listener_count++];
      *l = want[k];
    }
    if (l->wanted)
      continue;
    l->wanted = TRUE;
    added[l - g.listeners] = TRUE;
    if (!g.paused && reopen_listener(l, slots) != 0) {
      snprintf(why, cap, "cannot listen on %s:%u", l->address, (unsigned)l->port);
      rc = -1;
    }
  }
  for (unsigned i = 0; i < g.listener_count; i++) {
    listener *l = &g.listeners[i];
    if (rc != 0 && added[i]) {
      l->wanted = FALSE;
      close_listener(l);
    }
    if (rc != 0 && dropped[i]) {
      l->wanted = TRUE;
      if (!g.paused)
        reopen_listener(l, slots);
    }
    if (rc == 0 && dropped[i])
      ih_log(IH_LOG_INFO, IH_EV_RELOADED, "no longer listening on %s:%u", l->address, (unsigned)l->port);
  }
  return rc;
}

int ih_iocp_reload(ih_config *cfg, char *why, size_t cap)
{
  why[0] = '\0';
  AcquireSRWLockExclusive(&g.control_lock);
  ih_generation *gen = g.stopping ? NULL : ih_server_generation_new(&g.server, cfg);
  if (!gen) {
    snprintf(why, cap, g.stopping ? "the server is stopping" : "out of memory");
    ih_config_free(cfg);
    ReleaseSRWLockExclusive(&g.control_lock);
    return -1;
  }
  listener want[MAX_LISTENERS];
  unsigned want_count = 0;
  int rc = ih_filter_host_rebind(&g.server, gen, why, cap);
  if (rc == 0 && (listeners_wanted(cfg, want, &want_count) != 0 || want_count == 0)) {
    snprintf(why, cap, want_count ? "too many bindings" : "no bindings configured");
    rc = -1;
  }
  if (rc == 0)
    rc = rebind(want, want_count, why, cap);
  if (rc != 0) {
    ih_server_generation_free(gen);
    ReleaseSRWLockExclusive(&g.control_lock);
    return -1;
  }
  note_start_only_settings(&ih_server_current(&g.server)->config->server, &cfg->server);
  ih_isapi_host_reconfigure(cfg);
  ih_filter_host_publish(&g.server, gen);
  ih_log(IH_LOG_INFO, IH_EV_RELOADED,
         "configuration reloaded (generation %u): requests from now on use it; those in flight finish under theirs",
         gen->number);
  ReleaseSRWLockExclusive(&g.control_lock);
  return 0;
}
