/* Requests relayed to a worker process (docs/pools.md), both ends.
 *
 * The service keeps what http.sys keeps in IIS 6: the client's connection,
 * its framing, limits, timers and keep-alive. A request whose site and URL
 * belong to a worker pool is handed over right after its head is parsed
 * (before any filter, in IIS 6 filters run in w3wp), and the worker runs the
 * whole pipeline on it (filters, URL mapping, static files, extensions)
 * over a connection of its own whose transport is this relay
 * (relay_worker.c). Its response comes back as bytes the service sends to
 * the client unchanged, and its end says whether the client's connection
 * stays. One request per worker connection: the next request on the
 * client's connection is routed again (it may go elsewhere).
 *
 * Messages (pool/channel.h frames; id = the client connection's number in
 * this worker, the same for each of its requests there; 0 for the worker
 * as a whole):
 *
 *   service -> worker
 *     REQUEST   id  relay_request_fixed + local address + peer address +
 *                   the head's bytes as received + body bytes already
 *                   buffered (decoded; BODY_END in flags when that is all)
 *     BODY      id  more decoded body bytes, answering a WANT; BODY_END
 *     CREDIT    id  uint32: response bytes the client has taken (they free
 *                   the request's send window in the worker)
 *     ABORT     id  the client is gone or the service gave up the request
 *     CLOSE     id  between requests: the client's connection is over for
 *                   this worker (its worker connection reads end of stream)
 *     PING      0   uint64 sequence
 *     STOP      0   finish what runs, terminate the DLLs, say GOODBYE, exit
 *
 *   worker -> service
 *     READY     0   relay_ready: the worker loaded its configuration
 *     WANT      id  the worker's pipeline reads body: send more
 *     DATA      id  response bytes, in order
 *     FILE      id  relay_file_fixed + head bytes: the head, then length
 *                   bytes of a file from offset, sent by the service from
 *                   its own duplicate of the worker's file handle (the
 *                   file's bytes never cross the channel); the service
 *                   closes the duplicate
 *     END       id  the request is over: END_KEEP when its connection may
 *                   stay (the worker's pipeline decided, with the head it
 *                   wrote), END_ABORTIVE when it must be reset
 *     PONG      0   relay_pong: the sequence and the worker's figures
 *     LOG       0   relay_log_fixed + an access-log line for a site
 *     EVENT     0   relay_event_fixed + a server-log line (level, event id)
 *     UNHEALTHY 0   reason text (HSE_REQ_REPORT_UNHEALTHY)
 *     REFUSED   0   the worker cannot serve this pool at all (a filter that
 *                   needs READ_RAW_DATA): the reason; it exits, and the
 *                   pool stops (not a crash, not retried)
 *     DLL_CHANGED 0 the path of a DLL whose file changed since the worker
 *                   loaded its shadow copy (the pool recycles onto it)
 *     GOODBYE   0   a clean exit follows; dying without it is a crash
 *
 * Back-pressure: the worker has RELAY_WINDOW bytes of response in flight
 * per request; a send beyond it completes only when CREDIT brings it back
 * below (a slow client makes WriteClient wait, nothing is buffered without
 * bound). Body bytes move only when the worker asks (WANT), so an upload
 * is read from the client as fast as the worker's pipeline takes it. */
#ifndef IH_RELAY_H
#define IH_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum relay_msg_type {
  RELAY_REQUEST = 1,
  RELAY_BODY,
  RELAY_CREDIT,
  RELAY_ABORT,
  RELAY_PING,
  RELAY_STOP,
  RELAY_CLOSE,
  RELAY_READY = 32,
  RELAY_WANT,
  RELAY_DATA,
  RELAY_END,
  RELAY_PONG,
  RELAY_LOG,
  RELAY_EVENT,
  RELAY_UNHEALTHY,
  RELAY_GOODBYE,
  RELAY_DLL_CHANGED,
  RELAY_REFUSED,
  RELAY_FILE,
  RELAY_DLL_STATS,
};

enum relay_flags {
  RELAY_BODY_END = 1,     /* REQUEST, BODY: no more body follows */
  RELAY_BODY_CHUNKED = 2, /* REQUEST: the client sent it chunked (the worker frames it again) */
  RELAY_SECURE = 4,       /* REQUEST: the connection is secure */
  RELAY_END_KEEP = 1,     /* END: the client's connection may carry another request */
  RELAY_END_ABORTIVE = 2, /* END: reset the client's connection */
  RELAY_END_HEAD_SENT = 4,/* END: some response bytes were sent */
  RELAY_END_HANDLER_SHIFT = 3, /* END: bits 3-4, who answered (enum ih_metrics_handler), for the
                                  service's metrics, which count a relayed request once */
  RELAY_END_HANDLER_MASK = 3 << 3,
};

/* Response bytes in flight per request before a worker's send waits. */
#define RELAY_WINDOW (256u * 1024u)

typedef struct relay_request_fixed {
  uint16_t local_port, peer_port;
  uint16_t local_addr_len, peer_addr_len;
  uint32_t head_len, body_len;
} relay_request_fixed;

typedef struct relay_file_fixed {
  uint64_t file;   /* the service's handle, duplicated into it by the worker */
  uint64_t offset, length;
} relay_file_fixed;

typedef struct relay_ready {
  uint32_t pid;
  uint32_t bitness;
} relay_ready;

typedef struct relay_pong {
  uint64_t seq;
  int64_t private_bytes, handles;
  uint64_t requests_total;
  int64_t requests_in_flight, connections_live, isapi_sessions;
} relay_pong;

/* DLL_STATS (worker -> service, after each PONG): the worker's extension
 * DLLs as its metrics families would list them, records of this header
 * followed by path_len bytes of the DLL's path as configured. */
typedef struct relay_dll_stat {
  uint64_t calls, faults, stuck;
  int64_t in_flight;
  uint32_t loads;
  uint16_t path_len;
  uint8_t state; /* index into ih_isapi_dll_states (isapi/isapi_dll_win32.h) */
  uint8_t reserved;
} relay_dll_stat;

typedef struct relay_log_fixed {
  uint32_t site_id;
  uint32_t log_format; /* enum ih_log_format the worker formatted the line in */
  int64_t unix_time;
} relay_log_fixed;

typedef struct relay_event_fixed {
  uint32_t level, event_id;
} relay_event_fixed;

#endif
