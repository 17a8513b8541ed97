/* The exactly-once session end (see isapi_session.h for the state table and
 * KB Q142658).
 *
 * Why DONE_WITH_SESSION counts its calls before touching the state: its
 * status must be stored before the state change that lets HttpExtensionProc's
 * return read it (DONE_EARLY), yet a second, refused call must never write
 * over a status somebody may be reading. The fetch-and-add on done_calls
 * makes the first call the only writer of done_status; every later call is
 * refused before it writes anything. The sequentially consistent
 * compare-exchange that publishes DONE_EARLY orders that write before the
 * reader's compare-exchange that observes it. final_status is written only by
 * the party that won the transition to ENDED, before it returns "end". */
#include "isapi/isapi_session.h"

void ih_isapi_session_init(ih_isapi_session *s)
{
  atomic_init(&s->state, IH_SESSION_IN_PROC);
  atomic_init(&s->done_calls, 0u);
  s->done_status = IH_HSE_STATUS_SUCCESS;
  s->final_status = 0;
  s->have_status = false;
  atomic_init(&s->faulted, false);
}

static void set_final(ih_isapi_session *s, uint32_t status)
{
  s->final_status = status;
  s->have_status = true;
}

bool ih_isapi_session_on_return(ih_isapi_session *s, uint32_t rc)
{
  int cur = atomic_load(&s->state);
  for (;;) {
    if (cur == IH_SESSION_IN_PROC) {
      int next = rc == IH_HSE_STATUS_PENDING ? IH_SESSION_PENDING : IH_SESSION_ENDED;
      if (atomic_compare_exchange_weak(&s->state, &cur, next)) {
        if (next == IH_SESSION_PENDING)
          return false; /* DONE_WITH_SESSION will end it */
        set_final(s, rc);
        return true;
      }
    } else if (cur == IH_SESSION_DONE_EARLY) {
      /* Nothing else moves the state from DONE_EARLY; the exchange is for the
       * acquire side of done_status. */
      if (atomic_compare_exchange_weak(&s->state, &cur, IH_SESSION_ENDED)) {
        set_final(s, rc == IH_HSE_STATUS_PENDING || atomic_load(&s->faulted) ? s->done_status : rc);
        return true;
      }
    } else {
      return false; /* PENDING or ENDED: on_return called twice (host bug) */
    }
  }
}

enum ih_isapi_done_result ih_isapi_session_on_done(ih_isapi_session *s, const uint32_t *status)
{
  if (atomic_fetch_add(&s->done_calls, 1u) != 0)
    return IH_DONE_REFUSED;
  uint32_t st = status ? *status : IH_HSE_STATUS_SUCCESS;
  s->done_status = st; /* sole writer: the first call */
  int cur = atomic_load(&s->state);
  for (;;) {
    if (cur == IH_SESSION_IN_PROC) {
      if (atomic_compare_exchange_weak(&s->state, &cur, IH_SESSION_DONE_EARLY))
        return IH_DONE_DEFERRED;
    } else if (cur == IH_SESSION_PENDING) {
      if (atomic_compare_exchange_weak(&s->state, &cur, IH_SESSION_ENDED)) {
        set_final(s, st);
        return IH_DONE_END_NOW;
      }
    } else {
      return IH_DONE_REFUSED; /* ENDED: the request already finished */
    }
  }
}

enum ih_isapi_done_result ih_isapi_session_on_fault(ih_isapi_session *s)
{
  /* Only if no DONE_WITH_SESSION came first; the flag is set before the
   * state change that publishes it, like done_status. */
  if (atomic_load(&s->done_calls) != 0)
    return IH_DONE_REFUSED;
  atomic_store(&s->faulted, true);
  static const uint32_t error = IH_HSE_STATUS_ERROR;
  return ih_isapi_session_on_done(s, &error);
}

uint32_t ih_isapi_session_final_status(const ih_isapi_session *s) { return s->final_status; }

enum ih_isapi_state ih_isapi_session_state(ih_isapi_session *s)
{
  return (enum ih_isapi_state)atomic_load(&s->state);
}

bool ih_isapi_status_allows_keep_alive(uint32_t status)
{
  return status == 0 || status == IH_HSE_STATUS_SUCCESS || status == IH_HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}

bool ih_isapi_status_is_error(uint32_t status) { return !ih_isapi_status_allows_keep_alive(status); }
