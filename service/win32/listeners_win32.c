/* The listeners (see listeners_win32.h).
 *
 * A listener's entry stays for the life of the server (its accept slots may
 * still be completing after a close); pause, continue and reload close and
 * reopen sockets in it. A connection socket is never reused (AcceptEx gets
 * a new one each time: DisconnectEx and TF_REUSE_SOCKET break under Wine,
 * shared/reference/wine-notes.md). */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server_log.h"
#include "iocp_engine_win32.h"
#include "listeners_win32.h"
#include "server/conn.h"

#define MAX_LISTENERS 64
#define ADDR_SLOT (sizeof(SOCKADDR_STORAGE) + 16) /* AcceptEx address slot size */

typedef struct listener listener;

typedef struct accept_slot {
  ih_iocp_op op;
  listener *owner;
  SOCKET sock;
  char addresses[2 * ADDR_SLOT];
} accept_slot;

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

static struct {
  ih_server *server;
  listener listeners[MAX_LISTENERS];
  unsigned listener_count;
  LPFN_ACCEPTEX accept_ex;
  LPFN_GETACCEPTEXSOCKADDRS get_addrs;
  volatile LONG accepts_outstanding;
  volatile LONG stopping;
  BOOL paused;
  BOOL conn_limit_logged;
} g;

static void on_accept(ih_iocp_op *op, DWORD bytes, DWORD err);

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
  slot->op.complete = on_accept;
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
    ih_server_count_client_abort(g.server);
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

static void on_accept(ih_iocp_op *op, DWORD bytes, DWORD err)
{
  (void)bytes; /* AcceptEx is asked for no data */
  accept_slot *slot = (accept_slot *)op; /* op is the first member */
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

  ih_generation *newest = ih_server_acquire(g.server); /* an I/O thread: a reload may replace it meanwhile */
  unsigned max = newest->config->server.max_connections;
  ih_generation_release(newest);
  if (max && atomic_load(&g.server->counters.connections_live) >= (long long)max) {
    if (!g.conn_limit_logged) {
      g.conn_limit_logged = TRUE;
      ih_log(IH_LOG_WARNING, IH_EV_CONN_LIMIT, "max_connections (%u) reached; refusing new connections", max);
    }
    closesocket(s);
    return;
  }
  ih_iocp_engine_adopt(g.server, s, local_text, local_port, peer_text, peer_port);
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
      !ih_iocp_engine_associate((HANDLE)l->sock)) {
    int err = WSAGetLastError();
    closesocket(l->sock);
    l->sock = INVALID_SOCKET;
    WSASetLastError(err);
    return -1;
  }
  return 0;
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

void ih_listeners_init(ih_server *server)
{
  memset(&g, 0, sizeof g);
  g.server = server;
}

int ih_listeners_open(const ih_config *cfg)
{
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
  if (!ih_iocp_winsock_function(probe, (GUID)WSAID_ACCEPTEX, &g.accept_ex, sizeof g.accept_ex) ||
      !ih_iocp_winsock_function(probe, (GUID)WSAID_GETACCEPTEXSOCKADDRS, &g.get_addrs, sizeof g.get_addrs)) {
    ih_log(IH_LOG_ERROR, IH_EV_FATAL, "cannot load the Winsock extension functions (Win32 error %d)",
           WSAGetLastError());
    return -1;
  }
  return 0;
}

int ih_listeners_accept(unsigned slots)
{
  for (unsigned i = 0; i < g.listener_count; i++)
    if (accept_on(&g.listeners[i], slots) != 0)
      return -1;
  return 0;
}

void ih_listeners_stop(void)
{
  InterlockedExchange(&g.stopping, 1);
  for (unsigned i = 0; i < g.listener_count; i++)
    close_listener(&g.listeners[i]);
}

BOOL ih_listeners_idle(void) { return g.accepts_outstanding == 0; }

void ih_listeners_free(void)
{
  for (unsigned i = 0; i < g.listener_count; i++) {
    free(g.listeners[i].slots);
    g.listeners[i].slots = NULL;
  }
}

/* ---- pause, continue, reload ---- */

void ih_listeners_pause(void)
{
  if (!g.paused && !g.stopping) {
    g.paused = TRUE;
    for (unsigned i = 0; i < g.listener_count; i++)
      close_listener(&g.listeners[i]);
    ih_log(IH_LOG_INFO, IH_EV_PAUSED, "paused: new connections are refused; %lld open connection(s) go on",
           atomic_load(&g.server->counters.connections_live));
  }
}

int ih_listeners_continue(void)
{
  int rc = 0;
  if (g.paused && !g.stopping) {
    unsigned slots = ih_server_current(g.server)->config->server.accepts_per_listener;
    for (unsigned i = 0; i < g.listener_count; i++)
      if (g.listeners[i].wanted && reopen_listener(&g.listeners[i], slots) != 0)
        rc = -1;
    g.paused = rc != 0;
    if (rc == 0)
      ih_log(IH_LOG_INFO, IH_EV_PAUSED, "continued: accepting connections again");
  }
  return rc;
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
  unsigned slots = ih_server_current(g.server)->config->server.accepts_per_listener;
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

int ih_listeners_rebind(const ih_config *cfg, char *why, size_t cap)
{
  listener want[MAX_LISTENERS];
  unsigned want_count = 0;
  if (listeners_wanted(cfg, want, &want_count) != 0 || want_count == 0) {
    snprintf(why, cap, want_count ? "too many bindings" : "no bindings configured");
    return -1;
  }
  return rebind(want, want_count, why, cap);
}
