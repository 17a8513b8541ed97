/* The exactly-once end of one HttpExtensionProc call.
 *
 * KB Q142658 ("Internet Information Server Runs Out of Memory"): IIS 1.0
 * leaked a connection object when an extension returned
 * HSE_STATUS_SUCCESS_AND_KEEP_CONN and later HSE_STATUS_SUCCESS, because a
 * return code decided whether a reference count was decremented. Here no
 * return code or DONE_WITH_SESSION status touches a count: they are inputs to
 * a small state machine whose only output is "end the session now", given to
 * exactly one caller per session. That caller releases the request's one
 * reference (IH_HOLD_ISAPI_SESSION, docs/lifetime.md) through the single end
 * path; the status only feeds the keep-alive decision.
 *
 * The two inputs (IIS 6 SDK ms525010 return codes, ms525588 / section 2.3 of
 * the reference for HSE_REQ_DONE_WITH_SESSION):
 *   on_return  HttpExtensionProc returned rc, on the thread that called it;
 *   on_done    the DLL called ServerSupportFunction(HSE_REQ_DONE_WITH_SESSION)
 *              on any thread, possibly *before* HttpExtensionProc returned
 *              HSE_STATUS_PENDING (Apache PR 11918).
 *
 *   state       on_return(PENDING)     on_return(other rc)   on_done
 *   IN_PROC     -> PENDING, false      -> ENDED, true        -> DONE_EARLY, DEFERRED
 *   PENDING     (misuse) false         (misuse) false        -> ENDED, END_NOW
 *   DONE_EARLY  -> ENDED, true         -> ENDED, true        REFUSED
 *   ENDED       (misuse) false         (misuse) false        REFUSED
 * and any DONE_WITH_SESSION after the first one is REFUSED whatever the state
 * (idempotency: a second call must fail, never release twice).
 *
 * Lock-free (C11 atomics, compare-exchange); safe with on_done racing on_return
 * in either order. on_return must be called exactly once, by the host. */
#ifndef IH_ISAPI_SESSION_H
#define IH_ISAPI_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "isapi/shared/isapi_sdk.h"

/* HttpExtensionProc return codes / DONE_WITH_SESSION statuses
 * (IH_HSE_STATUS_*): isapi/shared/isapi_sdk.h. */

enum ih_isapi_state {
  IH_SESSION_IN_PROC = 0, /* HttpExtensionProc is running */
  IH_SESSION_PENDING,     /* it returned HSE_STATUS_PENDING; waiting for DONE_WITH_SESSION */
  IH_SESSION_DONE_EARLY,  /* DONE_WITH_SESSION arrived before HttpExtensionProc returned */
  IH_SESSION_ENDED,       /* someone was told to end the session */
};

enum ih_isapi_done_result {
  IH_DONE_END_NOW = 0, /* the caller ends the session now (DLL gets TRUE) */
  IH_DONE_DEFERRED,    /* HttpExtensionProc still running; its return ends the session (TRUE) */
  IH_DONE_REFUSED,     /* second call, or the session is not pending: FALSE +
                          ERROR_INVALID_PARAMETER, nothing else happens */
};

/* Treat as opaque; fields are read only through the functions below. */
typedef struct ih_isapi_session {
  _Atomic int state;          /* enum ih_isapi_state */
  _Atomic unsigned done_calls;/* DONE_WITH_SESSION calls so far; only the first may act */
  uint32_t done_status;       /* written by the first DONE_WITH_SESSION before it publishes
                                 its state change; read only after observing that change */
  uint32_t final_status;      /* written by whoever is told to end, before being told */
  bool have_status;           /* final_status is set (the session ended) */
  _Atomic bool faulted;       /* a fault stood in for DONE_WITH_SESSION: the end is an ERROR */
} ih_isapi_session;

void ih_isapi_session_init(ih_isapi_session *s);

/* HttpExtensionProc returned rc. Returns true if the caller must end the
 * session now. Exactly one of on_return / on_done says "end" per session. A
 * non-PENDING rc ends the session even after an early DONE_WITH_SESSION (the
 * return code is then the final status). */
bool ih_isapi_session_on_return(ih_isapi_session *s, uint32_t rc);

/* HSE_REQ_DONE_WITH_SESSION; status is the DLL's optional *lpvBuffer (NULL
 * allowed: HSE_STATUS_SUCCESS). */
enum ih_isapi_done_result ih_isapi_session_on_done(ih_isapi_session *s, const uint32_t *status);

/* The DLL faulted in a completion callback (or anywhere outside
 * HttpExtensionProc, whose own fault is simply its return value ERROR): it
 * will never call DONE_WITH_SESSION, so the fault stands in for it, with
 * HSE_STATUS_ERROR. Same result codes as on_done; if DONE_WITH_SESSION was
 * already called, nothing changes (REFUSED). A later DONE_WITH_SESSION is
 * refused, and a later return from HttpExtensionProc ends with ERROR. */
enum ih_isapi_done_result ih_isapi_session_on_fault(ih_isapi_session *s);

/* The status that ends the request: rc for a non-PENDING return; for a
 * pending one, DONE_WITH_SESSION's status if it gave one, else
 * HSE_STATUS_SUCCESS. Valid only for the caller that was told to end the
 * session (after that, nobody else writes it); returns the value unmapped. */
uint32_t ih_isapi_session_final_status(const ih_isapi_session *s);

/* Current state, for diagnostics and tests (a snapshot; may change at once). */
enum ih_isapi_state ih_isapi_session_state(ih_isapi_session *s);

/* IIS 4+: SUCCESS and SUCCESS_AND_KEEP_CONN behave the same (IIS 5 SDK
 * isre2n8j): the connection may be kept, subject to the client and to the
 * response framing, both decided in service/http/keepalive.c. 0 is accepted
 * as SUCCESS (mod_isapi: "MS isapi accepts this"). ERROR, PENDING (never a
 * final status) and unknown values are errors: false. */
bool ih_isapi_status_allows_keep_alive(uint32_t status);
/* True for ERROR and every value other than 0, SUCCESS, KEEP_CONN (the host
 * answers 500 if nothing was sent yet, else closes). */
bool ih_isapi_status_is_error(uint32_t status);

#endif
