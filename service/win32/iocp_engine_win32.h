/* The I/O engine: one completion port and its worker threads, the
 * per-connection platform object (a socket and its one operation slot),
 * overlapped WSARecv / WSASend / TransmitFile and their completions, the
 * registry of open connections the timer sweep and the stop walk, and the
 * I/O members of the platform table of server/conn.h. It knows nothing of
 * listening or of the server's life: a socket comes in through
 * ih_iocp_engine_adopt, any other overlapped operation (an AcceptEx)
 * brings its own completion routine in its ih_iocp_op. */
#ifndef IH_IOCP_ENGINE_WIN32_H
#define IH_IOCP_ENGINE_WIN32_H

#include <winsock2.h>
#include <windows.h>
#include <stdint.h>

#include "server/conn.h"

/* An overlapped operation of someone else's on a handle associated with
 * the port: complete runs on a worker thread with the byte count and the
 * Win32 error (0 on success). The OVERLAPPED comes first. */
typedef struct ih_iocp_op ih_iocp_op;
struct ih_iocp_op {
  OVERLAPPED ov;
  void (*complete)(ih_iocp_op *op, DWORD bytes, DWORD err);
};

/* Creates the completion port. 0, or -1 (logged). */
int ih_iocp_engine_open(void);
/* Loads TransmitFile and starts the worker threads (requested, or two per
 * processor when 0). 0, or -1 (logged). */
int ih_iocp_engine_start(unsigned requested_workers);
/* Stops and joins the workers and closes the port; every connection is
 * gone by then. Also after a start that failed half-way. */
void ih_iocp_engine_stop(void);

/* Fills what the platform table needs of the engine (ext_end_later: a
 * session's end runs on an I/O thread); the rest is the caller's. Each
 * accepted connection gets the engine's socket transport itself. */
void ih_iocp_engine_platform_services(ih_platform *p);

/* Associates h with the port; its completions go to the ih_iocp_op they
 * carry. FALSE with GetLastError(). */
BOOL ih_iocp_engine_associate(HANDLE h);
/* An accepted socket becomes a connection of server and starts; the engine
 * owns s from here, also when that fails (logged, s closed). */
void ih_iocp_engine_adopt(ih_server *server, SOCKET s, const char *local_text, uint16_t local_port,
                          const char *peer_text, uint16_t peer_port);

/* Posts one timer notification to every connection whose deadline passed
 * (or to all of them when `all`: the drain). */
void ih_iocp_engine_notify_timers(BOOL all);
/* Every connection is cancelled (the drain timed out): each closes at its
 * next timer notification, whatever it is doing (ih_conn_cancel). */
void ih_iocp_engine_cancel_all(void);
/* Around a batch of work on a thread of ours that issues connection I/O
 * and never waits for a completion (a worker pool's channel reader,
 * pool_manager_win32.c): what completes at once during the batch is
 * delivered on this thread at its end, as on an I/O thread, instead of
 * being posted to the port (a packet, and an I/O thread woken, per send
 * under Wine). */
void ih_iocp_engine_batch_begin(void);
void ih_iocp_engine_batch_end(void);

/* A Winsock extension function (WSAID_*) through socket s. */
BOOL ih_iocp_winsock_function(SOCKET s, GUID guid, void *fn, size_t fn_size);

#endif
