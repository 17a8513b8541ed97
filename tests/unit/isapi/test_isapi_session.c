/* Unit tests for isapi/isapi_session.c: the exactly-once end of an
 * HttpExtensionProc call (KB Q142658). Every return code; PENDING then
 * DONE_WITH_SESSION with each status; DONE before the return (Apache PR
 * 11918); repeated and late DONE calls refused; every ordering of one return
 * and two DONE calls; and three threads racing return against two
 * DONE calls on 100,000 sessions, checking exactly one end per session. */
#include <stdlib.h>
#include <string.h>

#include "ih_test.h"
#include "isapi/isapi_session.h"

#include "core/ih_thread.h"

static void test_return_codes(void)
{
  IH_TEST("every non-PENDING return ends the session at once, with rc as the status");
  static const uint32_t rcs[] = { 0, IH_HSE_STATUS_SUCCESS, IH_HSE_STATUS_SUCCESS_AND_KEEP_CONN, IH_HSE_STATUS_ERROR,
                                  5, 99, UINT32_MAX };
  for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++) {
    ih_isapi_session s;
    ih_isapi_session_init(&s);
    IH_EQ_INT(ih_isapi_session_state(&s), IH_SESSION_IN_PROC);
    IH_CHECK(ih_isapi_session_on_return(&s, rcs[i]));
    IH_EQ_INT(ih_isapi_session_state(&s), IH_SESSION_ENDED);
    IH_EQ_INT(ih_isapi_session_final_status(&s), rcs[i]);
    /* DONE_WITH_SESSION on a session that was not pending: refused, nothing changes */
    uint32_t keep = IH_HSE_STATUS_SUCCESS_AND_KEEP_CONN;
    IH_EQ_INT(ih_isapi_session_on_done(&s, &keep), IH_DONE_REFUSED);
    IH_EQ_INT(ih_isapi_session_on_done(&s, NULL), IH_DONE_REFUSED);
    IH_EQ_INT(ih_isapi_session_final_status(&s), rcs[i]);
    IH_EQ_INT(ih_isapi_session_state(&s), IH_SESSION_ENDED);
    /* the host calling on_return twice is a bug, but never a second end */
    IH_CHECK(!ih_isapi_session_on_return(&s, rcs[i]));
    IH_CHECK(!ih_isapi_session_on_return(&s, IH_HSE_STATUS_PENDING));
  }
}

typedef struct done_case {
  bool have;
  uint32_t status;
  uint32_t final;
} done_case;

static const done_case done_cases[] = {
  { true, IH_HSE_STATUS_SUCCESS_AND_KEEP_CONN, IH_HSE_STATUS_SUCCESS_AND_KEEP_CONN },
  { true, IH_HSE_STATUS_SUCCESS, IH_HSE_STATUS_SUCCESS },
  { true, IH_HSE_STATUS_ERROR, IH_HSE_STATUS_ERROR },
  { false, 0, IH_HSE_STATUS_SUCCESS }, /* NULL lpvBuffer */
  { true, 0, 0 },
  { true, 77, 77 },
  { true, IH_HSE_STATUS_PENDING, IH_HSE_STATUS_PENDING }, /* nonsense, but passed through; an error */
};

static void test_pending_then_done(void)
{
  IH_TEST("PENDING, then DONE_WITH_SESSION ends it with DONE's status");
  for (size_t i = 0; i < sizeof done_cases / sizeof done_cases[0]; i++) {
    const done_case *c = &done_cases[i];
    ih_isapi_session s;
    ih_isapi_session_init(&s);
    IH_CHECK(!ih_isapi_session_on_return(&s, IH_HSE_STATUS_PENDING));
    IH_EQ_INT(ih_isapi_session_state(&s), IH_SESSION_PENDING);
    IH_EQ_INT(ih_isapi_session_on_done(&s, c->have ? &c->status : NULL), IH_DONE_END_NOW);
    IH_EQ_INT(ih_isapi_session_state(&s), IH_SESSION_ENDED);
    IH_EQ_INT(ih_isapi_session_final_status(&s), c->final);
    /* a second DONE is refused and changes nothing (Q142658 class of bug) */
    uint32_t other = IH_HSE_STATUS_ERROR;
    IH_EQ_INT(ih_isapi_session_on_done(&s, &other), IH_DONE_REFUSED);
    IH_EQ_INT(ih_isapi_session_on_done(&s, NULL), IH_DONE_REFUSED);
    IH_EQ_INT(ih_isapi_session_final_status(&s), c->final);
  }
}

static void test_done_early(void)
{
  IH_TEST("DONE_WITH_SESSION before HttpExtensionProc returns PENDING (Apache PR 11918)");
  for (size_t i = 0; i < sizeof done_cases / sizeof done_cases[0]; i++) {
    const done_case *c = &done_cases[i];
    ih_isapi_session s;
    ih_isapi_session_init(&s);
    IH_EQ_INT(ih_isapi_session_on_done(&s, c->have ? &c->status : NULL), IH_DONE_DEFERRED);
    IH_EQ_INT(ih_isapi_session_state(&s), IH_SESSION_DONE_EARLY);
    uint32_t other = IH_HSE_STATUS_ERROR;
    IH_EQ_INT(ih_isapi_session_on_done(&s, &other), IH_DONE_REFUSED); /* twice, early */
    IH_CHECK(ih_isapi_session_on_return(&s, IH_HSE_STATUS_PENDING));
    IH_EQ_INT(ih_isapi_session_state(&s), IH_SESSION_ENDED);
    IH_EQ_INT(ih_isapi_session_final_status(&s), c->final); /* the first DONE's status */
    IH_EQ_INT(ih_isapi_session_on_done(&s, NULL), IH_DONE_REFUSED);
  }

  IH_TEST("DONE early, then a non-PENDING return: the return ends it with rc");
  static const uint32_t rcs[] = { 0, IH_HSE_STATUS_SUCCESS, IH_HSE_STATUS_SUCCESS_AND_KEEP_CONN, IH_HSE_STATUS_ERROR,
                                  42 };
  for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++) {
    ih_isapi_session s;
    ih_isapi_session_init(&s);
    uint32_t keep = IH_HSE_STATUS_SUCCESS_AND_KEEP_CONN;
    IH_EQ_INT(ih_isapi_session_on_done(&s, &keep), IH_DONE_DEFERRED);
    IH_CHECK(ih_isapi_session_on_return(&s, rcs[i]));
    IH_EQ_INT(ih_isapi_session_final_status(&s), rcs[i]);
    IH_EQ_INT(ih_isapi_session_on_done(&s, &keep), IH_DONE_REFUSED);
  }
}

static void test_keep_alive_mapping(void)
{
  IH_TEST("status -> keep-alive allowed / error");
  static const struct {
    uint32_t status;
    bool keep;
  } v[] = {
    { 0, true }, { 1, true }, { 2, true }, { 3, false }, { 4, false }, { 5, false }, { 1000, false },
    { UINT32_MAX, false },
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    IH_EQ_INT(ih_isapi_status_allows_keep_alive(v[i].status), v[i].keep);
    IH_EQ_INT(ih_isapi_status_is_error(v[i].status), !v[i].keep);
  }
}

/* Every order of: the return (rc), DONE #1 (status A), DONE #2 (status B). */
static void test_all_orders(void)
{
  IH_TEST("every ordering of one return and two DONE calls ends exactly once");
  static const int orders[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
  static const uint32_t rcs[] = { IH_HSE_STATUS_PENDING, IH_HSE_STATUS_SUCCESS, IH_HSE_STATUS_ERROR,
                                  IH_HSE_STATUS_SUCCESS_AND_KEEP_CONN };
  const uint32_t sa = 11, sb = 22;
  for (size_t r = 0; r < sizeof rcs / sizeof rcs[0]; r++)
    for (int o = 0; o < 6; o++) {
      int fails = ih_test_failures();
      ih_isapi_session s;
      ih_isapi_session_init(&s);
      int ends = 0, accepted = 0;
      uint32_t first_done = 0;
      bool returned = false;
      for (int k = 0; k < 3; k++) {
        int ev = orders[o][k];
        if (ev == 0) {
          ends += ih_isapi_session_on_return(&s, rcs[r]);
          returned = true;
          continue;
        }
        const uint32_t *st = ev == 1 ? &sa : &sb;
        enum ih_isapi_done_result d = ih_isapi_session_on_done(&s, st);
        if (d != IH_DONE_REFUSED) {
          accepted++;
          if (!first_done)
            first_done = *st;
        }
        if (d == IH_DONE_END_NOW)
          ends++;
        /* a DONE after a non-PENDING return, or a second DONE, is refused */
        if ((returned && rcs[r] != IH_HSE_STATUS_PENDING) || accepted > 1)
          IH_EQ_INT(d, IH_DONE_REFUSED);
      }
      IH_EQ_INT(ends, 1);
      IH_CHECK(accepted <= 1);
      IH_EQ_INT(ih_isapi_session_state(&s), IH_SESSION_ENDED);
      IH_EQ_INT(ih_isapi_session_final_status(&s), rcs[r] == IH_HSE_STATUS_PENDING ? first_done : rcs[r]);
      if (ih_test_failures() != fails)
        ih_test_note("rc %u, order %d", (unsigned)rcs[r], o);
    }
}

/* ---- three threads in lockstep: one returns, two call DONE ---- */

#define STRESS_N 100000
#define PARTIES 3

typedef struct stress {
  ih_isapi_session *sessions;
  uint32_t *rc;             /* what HttpExtensionProc "returns" for session i */
  bool *ended_by_return;
  enum ih_isapi_done_result *done[2];
  _Atomic size_t arrived[PARTIES];
} stress;

typedef struct party {
  stress *st;
  int id; /* 0: return, 1 and 2: DONE */
} party;

/* All three reach session i before any acts on it, so the calls race. */
static void lockstep(stress *st, int id, size_t i)
{
  atomic_store(&st->arrived[id], i + 1);
  for (int p = 0; p < PARTIES; p++) {
    unsigned spins = 0;
    while (atomic_load(&st->arrived[p]) < i + 1)
      if (++spins % 64 == 0)
        ih_thread_yield();
  }
}

static const uint32_t done_status_of[2] = { IH_HSE_STATUS_SUCCESS_AND_KEEP_CONN, IH_HSE_STATUS_ERROR };

static void *party_main(void *arg)
{
  party *p = arg;
  stress *st = p->st;
  for (size_t i = 0; i < STRESS_N; i++) {
    lockstep(st, p->id, i);
    ih_isapi_session *s = &st->sessions[i];
    if (p->id == 0) {
      st->ended_by_return[i] = ih_isapi_session_on_return(s, st->rc[i]);
    } else {
      int k = p->id - 1;
      /* every fourth session, the second DONE passes NULL */
      const uint32_t *status = (k == 1 && i % 4 == 0) ? NULL : &done_status_of[k];
      st->done[k][i] = ih_isapi_session_on_done(s, status);
    }
  }
  return NULL;
}

static void test_stress(void)
{
  IH_TEST("100,000 sessions: return racing two DONE calls on three threads");
  static const uint32_t rc_cycle[] = { IH_HSE_STATUS_PENDING, IH_HSE_STATUS_PENDING, IH_HSE_STATUS_PENDING,
                                       IH_HSE_STATUS_SUCCESS, IH_HSE_STATUS_SUCCESS_AND_KEEP_CONN,
                                       IH_HSE_STATUS_ERROR, 0 };
  stress st;
  memset(&st, 0, sizeof st);
  st.sessions = calloc(STRESS_N, sizeof *st.sessions);
  st.rc = calloc(STRESS_N, sizeof *st.rc);
  st.ended_by_return = calloc(STRESS_N, sizeof *st.ended_by_return);
  st.done[0] = calloc(STRESS_N, sizeof *st.done[0]);
  st.done[1] = calloc(STRESS_N, sizeof *st.done[1]);
  if (!st.sessions || !st.rc || !st.ended_by_return || !st.done[0] || !st.done[1]) {
    IH_CHECK(!"out of memory");
    return;
  }
  for (size_t i = 0; i < STRESS_N; i++) {
    ih_isapi_session_init(&st.sessions[i]);
    st.rc[i] = rc_cycle[i % (sizeof rc_cycle / sizeof rc_cycle[0])];
  }
  for (int p = 0; p < PARTIES; p++)
    atomic_init(&st.arrived[p], 0);

  ih_thread *threads[PARTIES];
  party parties[PARTIES];
  for (int p = 0; p < PARTIES; p++) {
    parties[p] = (party){ &st, p };
    threads[p] = ih_thread_start(party_main, &parties[p]);
    IH_CHECK(threads[p] != NULL);
  }
  for (int p = 0; p < PARTIES; p++)
    if (threads[p])
      ih_thread_join(threads[p]);

  size_t bad = 0, early = 0, late = 0, by_return = 0;
  for (size_t i = 0; i < STRESS_N; i++) {
    int ends = st.ended_by_return[i];
    int accepted = 0;
    uint32_t accepted_status = 0;
    bool ok = true;
    for (int k = 0; k < 2; k++) {
      enum ih_isapi_done_result d = st.done[k][i];
      if (d == IH_DONE_END_NOW)
        ends++;
      if (d != IH_DONE_REFUSED) {
        accepted++;
        accepted_status = (k == 1 && i % 4 == 0) ? IH_HSE_STATUS_SUCCESS : done_status_of[k];
      }
      early += d == IH_DONE_DEFERRED; /* DONE won the race against the return */
      late += d == IH_DONE_END_NOW;   /* the return (PENDING) came first */
      if (d == IH_DONE_END_NOW && st.rc[i] != IH_HSE_STATUS_PENDING)
        ok = false; /* only a pending session can be ended by DONE */
    }
    ih_isapi_session *s = &st.sessions[i];
    uint32_t want = st.rc[i] == IH_HSE_STATUS_PENDING ? accepted_status : st.rc[i];
    if (st.rc[i] == IH_HSE_STATUS_PENDING && accepted != 1)
      ok = false; /* one of the two DONE calls must have been taken */
    if (ends != 1 || accepted > 1 || ih_isapi_session_state(s) != IH_SESSION_ENDED ||
        ih_isapi_session_final_status(s) != want)
      ok = false;
    if (!ok && bad++ < 5)
      ih_test_note("session %zu: rc %u, ends %d, accepted %d, final %u (want %u)", i, (unsigned)st.rc[i], ends,
                   accepted, (unsigned)ih_isapi_session_final_status(s), (unsigned)want);
    by_return += st.ended_by_return[i];
  }
  IH_EQ_INT(bad, 0);
  IH_EQ_INT(by_return + late, STRESS_N); /* every session ended once, by one of them */
  ih_test_note("orders seen: DONE accepted before the return %zu times, DONE ended a pending session %zu times, "
               "the return ended %zu sessions",
               early, late, by_return);
  free(st.sessions);
  free(st.rc);
  free(st.ended_by_return);
  free(st.done[0]);
  free(st.done[1]);
}

int main(void)
{
  test_return_codes();
  test_pending_then_done();
  test_done_early();
  test_keep_alive_mapping();
  test_all_orders();
  test_stress();
  return ih_test_finish();
}
