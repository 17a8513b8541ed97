/*
 * bare_iocp.c - the "ceiling" baseline of the IsapiHost benchmark.
 *
 *   bare_iocp.exe PORT [THREADS] [FILE]
 *
 * The least an IOCP HTTP/1.1 server can do: AcceptEx, WSARecv, look for the
 * end of each request head, WSASend one fixed response per request, keep the
 * connection alive. No parsing, no routing, no file system, no logging. Under
 * Wine almost all the cost is the wineserver round trip of each socket
 * operation, so this is the throughput IsapiHost can at best approach with the
 * same number of operations per request (bench/README.md).
 *
 * Response: "HTTP/1.1 200 OK", Content-Type text/html, Content-Length, and the
 * bytes of FILE read once at start-up (default: 1024 'x' bytes).
 * Requests are assumed to have no body (the benchmark sends GETs only).
 * Stops gracefully on Ctrl+C (under Wine: SIGINT) and exits 0.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCEPTS_OUTSTANDING 16
#define RECV_BUF 8192   /* a request head must fit, else the connection is closed */
#define MAX_BATCH 64    /* pipelined responses per WSASend (one WSABUF each) */
#define ADDR_LEN (sizeof(SOCKADDR_STORAGE) + 16) /* AcceptEx wants +16 per address */
#define DEFAULT_BODY 1024

enum { KEY_IO = 1, KEY_QUIT = 2 };
enum op { OP_ACCEPT, OP_RECV, OP_SEND };

/* OVERLAPPED first, so the pointer GQCS returns is the operation's context. */
struct io_hdr {
    OVERLAPPED ov;
    enum op op;
};

struct acceptor {
    struct io_hdr io;
    SOCKET s;
    char addrs[2 * ADDR_LEN];
};

/*
 * One connection. Only one operation is outstanding per connection at any
 * time (recv, then send, then recv ...), so whichever worker thread holds its
 * completion owns the struct: no lock, no reference count, and freeing it on
 * close cannot race with another completion.
 */
struct conn {
    struct io_hdr io;
    SOCKET s;
    size_t have;       /* bytes in buf not yet consumed by complete requests */
    size_t scan;       /* where the search for "\r\n\r\n" resumes */
    unsigned owed;     /* complete requests not yet answered */
    unsigned batch;    /* responses in the send in flight */
    size_t batch_sent; /* bytes of that batch already sent */
    WSABUF bufs[MAX_BATCH];
    char buf[RECV_BUF];
};

static HANDLE iocp;
static SOCKET listener = INVALID_SOCKET;
static LPFN_ACCEPTEX accept_ex;
static char *resp;
static size_t resp_len;
static HANDLE stop_event;
static volatile LONG stopping;
/* Held shared while posting AcceptEx, exclusive while closing the listener,
 * so no worker uses the listener's handle after it is closed. */
static SRWLOCK listener_lock = SRWLOCK_INIT;
static struct acceptor acceptors[ACCEPTS_OUTSTANDING];
static volatile LONG64 n_conns, n_resps;

static void close_conn(struct conn *c)
{
    closesocket(c->s);
    free(c);
}

/* A fresh socket per accept: Wine cannot reuse sockets (TF_REUSE_SOCKET).
 * Zero-length AcceptEx data: the accept completes at connect time, not at the
 * first byte, so a keep-alive client's first request is timed like the rest. */
static int post_accept(struct acceptor *a)
{
    DWORD got = 0;
    int rc = 0;

    a->s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (a->s == INVALID_SOCKET)
        return -1;
    memset(&a->io.ov, 0, sizeof a->io.ov);
    a->io.op = OP_ACCEPT;
    AcquireSRWLockShared(&listener_lock);
    if (stopping) {
        rc = -1;
    } else if (!accept_ex(listener, a->s, a->addrs, 0, ADDR_LEN, ADDR_LEN, &got, &a->io.ov)
               && WSAGetLastError() != ERROR_IO_PENDING) {
        rc = -1;
    }
    ReleaseSRWLockShared(&listener_lock);
    if (rc != 0) {
        closesocket(a->s);
        a->s = INVALID_SOCKET;
    }
    return rc;
}

static int post_recv(struct conn *c)
{
    WSABUF b;
    DWORD flags = 0;

    b.buf = c->buf + c->have;
    b.len = (ULONG)(RECV_BUF - c->have);
    memset(&c->io.ov, 0, sizeof c->io.ov);
    c->io.op = OP_RECV;
    if (WSARecv(c->s, &b, 1, NULL, &flags, &c->io.ov, NULL) == SOCKET_ERROR
        && WSAGetLastError() != WSA_IO_PENDING)
        return -1;
    return 0;
}

/* (Re)issue the send of the current batch from byte batch_sent on: a batch is
 * `batch` copies of the shared response, so no copying, and a partial send
 * just restarts inside the right copy. */
static int post_send(struct conn *c)
{
    size_t first = c->batch_sent / resp_len;
    size_t within = c->batch_sent % resp_len;
    DWORD n = 0;

    for (size_t k = first; k < c->batch; k++, n++) {
        size_t skip = (k == first) ? within : 0;
        c->bufs[n].buf = resp + skip;
        c->bufs[n].len = (ULONG)(resp_len - skip);
    }
    memset(&c->io.ov, 0, sizeof c->io.ov);
    c->io.op = OP_SEND;
    if (WSASend(c->s, c->bufs, n, NULL, 0, &c->io.ov, NULL) == SOCKET_ERROR
        && WSAGetLastError() != WSA_IO_PENDING)
        return -1;
    return 0;
}

static int start_batch(struct conn *c)
{
    c->batch = c->owed < MAX_BATCH ? c->owed : MAX_BATCH;
    c->owed -= c->batch;
    c->batch_sent = 0;
    return post_send(c);
}

/* Count request ends ("\r\n\r\n"); pipelined requests each get a response.
 * The unfinished tail moves to the front of the buffer. */
static void count_requests(struct conn *c)
{
    size_t start = 0, i = c->scan;

    while (i + 4 <= c->have) {
        if (c->buf[i + 3] != '\n') {
            i++;
        } else if (memcmp(c->buf + i, "\r\n\r\n", 4) == 0) {
            c->owed++;
            i += 4;
            start = i;
        } else {
            i++;
        }
    }
    if (start > 0) {
        memmove(c->buf, c->buf + start, c->have - start);
        c->have -= start;
    }
    c->scan = i - start;
}

static void on_accept(struct acceptor *a, BOOL ok)
{
    SOCKET s = a->s;
    struct conn *c;
    BOOL nodelay = TRUE;

    a->s = INVALID_SOCKET;
    /* Keep ACCEPTS_OUTSTANDING accepts pending before serving this one. */
    if (!stopping && post_accept(a) != 0 && !stopping)
        fprintf(stderr, "bare_iocp: AcceptEx repost failed (%d)\n", WSAGetLastError());
    if (!ok) {
        closesocket(s);
        return;
    }
    /* Without this the accepted socket has no local/peer address on Windows
     * (Wine is lenient, Windows is not). */
    setsockopt(s, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (char *)&listener, sizeof listener);
    /* One send per response; like nginx's tcp_nodelay on keep-alive. */
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (char *)&nodelay, sizeof nodelay);
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        closesocket(s);
        return;
    }
    c->s = s;
    InterlockedIncrement64(&n_conns);
    if (CreateIoCompletionPort((HANDLE)s, iocp, KEY_IO, 0) == NULL || post_recv(c) != 0)
        close_conn(c);
}

static void on_recv(struct conn *c, BOOL ok, DWORD n)
{
    if (!ok || n == 0) { /* error or EOF */
        close_conn(c);
        return;
    }
    c->have += n;
    count_requests(c);
    if (c->owed == 0) {
        if (c->have == RECV_BUF) { /* head larger than the buffer */
            close_conn(c);
            return;
        }
        if (post_recv(c) != 0)
            close_conn(c);
        return;
    }
    if (start_batch(c) != 0)
        close_conn(c);
}

static void on_send(struct conn *c, BOOL ok, DWORD n)
{
    int rc;

    if (!ok || n == 0) {
        close_conn(c);
        return;
    }
    c->batch_sent += n;
    if (c->batch_sent < c->batch * resp_len)
        rc = post_send(c);
    else {
        InterlockedAdd64(&n_resps, c->batch);
        rc = c->owed > 0 ? start_batch(c) : post_recv(c);
    }
    if (rc != 0)
        close_conn(c);
}

static DWORD WINAPI worker(LPVOID arg)
{
    (void)arg;
    for (;;) {
        DWORD n = 0;
        ULONG_PTR key = 0;
        OVERLAPPED *ov = NULL;
        BOOL ok = GetQueuedCompletionStatus(iocp, &n, &key, &ov, INFINITE);
        struct io_hdr *h;

        if (ov == NULL) {
            if (!ok || key == KEY_QUIT)
                break;
            continue;
        }
        h = (struct io_hdr *)ov;
        switch (h->op) {
        case OP_ACCEPT: on_accept((struct acceptor *)h, ok); break;
        case OP_RECV: on_recv((struct conn *)h, ok, n); break;
        case OP_SEND: on_send((struct conn *)h, ok, n); break;
        }
    }
    return 0;
}

/* Runs on its own thread; the main thread does the actual stopping. */
static BOOL WINAPI on_ctrl(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
        SetEvent(stop_event);
        return TRUE;
    default:
        return FALSE;
    }
}

static int load_body(const char *path, char **body, size_t *len)
{
    FILE *f;
    long size;

    if (path == NULL) {
        *len = DEFAULT_BODY;
        *body = malloc(*len);
        if (*body == NULL)
            return -1;
        memset(*body, 'x', *len);
        return 0;
    }
    f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    *len = (size_t)size;
    *body = malloc(*len ? *len : 1);
    if (*body == NULL || fread(*body, 1, *len, f) != *len) {
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

static int build_response(const char *path)
{
    char *body = NULL, head[128];
    size_t body_len = 0;
    int head_len;

    if (load_body(path, &body, &body_len) != 0) {
        fprintf(stderr, "bare_iocp: cannot read %s\n", path);
        free(body);
        return -1;
    }
    head_len = snprintf(head, sizeof head,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n\r\n",
                        body_len);
    resp_len = (size_t)head_len + body_len;
    resp = malloc(resp_len);
    if (resp == NULL) {
        free(body);
        return -1;
    }
    memcpy(resp, head, (size_t)head_len);
    memcpy(resp + head_len, body, body_len);
    free(body);
    return 0;
}

static int open_listener(int port)
{
    struct sockaddr_in sa;
    GUID guid = WSAID_ACCEPTEX;
    DWORD got = 0;
    BOOL excl = TRUE;

    listener = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (listener == INVALID_SOCKET)
        return -1;
    /* Fail loudly rather than share the port with a leftover server. */
    setsockopt(listener, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (char *)&excl, sizeof excl);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((u_short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(listener, SOMAXCONN) != 0)
        return -1;
    if (WSAIoctl(listener, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &accept_ex,
                 sizeof accept_ex, &got, NULL, NULL) != 0)
        return -1;
    if (CreateIoCompletionPort((HANDLE)listener, iocp, KEY_IO, 0) == NULL)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    WSADATA wsa;
    SYSTEM_INFO si;
    long port, threads;
    HANDLE *th;
    int posted = 0;
    char *end;

    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: bare_iocp PORT [THREADS] [FILE]\n");
        return 2;
    }
    port = strtol(argv[1], &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "bare_iocp: bad port '%s'\n", argv[1]);
        return 2;
    }
    GetSystemInfo(&si);
    threads = 2L * (long)si.dwNumberOfProcessors;
    if (argc >= 3) {
        threads = strtol(argv[2], &end, 10);
        if (*end != '\0' || threads < 1 || threads > 1024) {
            fprintf(stderr, "bare_iocp: bad thread count '%s'\n", argv[2]);
            return 2;
        }
    }
    if (build_response(argc >= 4 ? argv[3] : NULL) != 0)
        return 1;

    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        fprintf(stderr, "bare_iocp: WSAStartup failed\n");
        return 1;
    }
    stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    iocp = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    if (stop_event == NULL || iocp == NULL) {
        fprintf(stderr, "bare_iocp: cannot create event/completion port (%lu)\n", GetLastError());
        return 1;
    }
    if (open_listener((int)port) != 0) {
        fprintf(stderr, "bare_iocp: cannot listen on 127.0.0.1:%ld (%d)\n", port, WSAGetLastError());
        return 1;
    }
    SetConsoleCtrlHandler(on_ctrl, TRUE);

    th = calloc((size_t)threads, sizeof *th);
    if (th == NULL)
        return 1;
    for (long i = 0; i < threads; i++) {
        th[i] = CreateThread(NULL, 0, worker, NULL, 0, NULL);
        if (th[i] == NULL) {
            fprintf(stderr, "bare_iocp: CreateThread failed (%lu)\n", GetLastError());
            return 1;
        }
    }
    for (int i = 0; i < ACCEPTS_OUTSTANDING; i++)
        posted += post_accept(&acceptors[i]) == 0;
    if (posted == 0) {
        fprintf(stderr, "bare_iocp: AcceptEx failed (%d)\n", WSAGetLastError());
        return 1;
    }
    printf("bare_iocp: listening on 127.0.0.1:%ld, %ld threads, %zu-byte response\n", port,
           threads, resp_len);
    fflush(stdout);

    WaitForSingleObject(stop_event, INFINITE);

    /* Stop: no new accepts, close the listener (its pending AcceptEx complete
     * with an error), then one quit packet per worker. Open connections are
     * simply dropped by the process exit. */
    AcquireSRWLockExclusive(&listener_lock);
    InterlockedExchange(&stopping, 1);
    closesocket(listener);
    ReleaseSRWLockExclusive(&listener_lock);
    for (long i = 0; i < threads; i++)
        PostQueuedCompletionStatus(iocp, 0, KEY_QUIT, NULL);
    for (long i = 0; i < threads; i++) {
        WaitForSingleObject(th[i], INFINITE);
        CloseHandle(th[i]);
    }
    printf("bare_iocp: stopped after %lld connections, %lld responses\n",
           (long long)n_conns, (long long)n_resps);
    fflush(stdout);
    return 0;
}
