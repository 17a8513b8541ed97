/* An application pool's health and recycling decisions, as pure functions of
 * named facts and an injected clock.
 *
 * IIS 6 worker process isolation mode: ISAPI DLLs run in worker processes
 * supervised by the service, configured per application pool by the IIS 6
 * metabase properties of IIsApplicationPool named below (RapidFailProtection*,
 * PeriodicRestart*, Ping*, ShutdownTimeLimit). The Win32 pool manager owns
 * the processes, the IPC and the timers; this module owns only the
 * decisions. It takes plain values (no config.h), does no I/O, allocates
 * nothing, starts no thread and never reads a clock: every "now" is an
 * argument, so each rule is tested to the millisecond natively
 * (tests/unit/pool/test_pool_health.c).
 *
 * Clock. Every *_ms argument is one monotonic millisecond clock (the manager
 * passes GetTickCount64()). Elapsed times are computed saturating at 0, so a
 * time that lies in the future of "now" counts as no time at all; sums that
 * would pass UINT64_MAX stay at UINT64_MAX. The recycle schedule alone also
 * takes the local wall clock, as a minute of the day (see ih_recycle_due).
 *
 * Threads. A pool's ih_pool_health and ih_recycle_clock are plain data: the
 * manager calls these functions under its own pool lock.
 *
 * Calling sequence (the manager). Pool start (server start, operator):
 * ih_pool_health_on_start and ih_recycle_clock_init. Before starting any
 * worker: ih_pool_health_may_start. A worker reported ready:
 * ih_pool_health_on_started. It ended without its goodbye, or was killed as
 * hung: ih_pool_health_on_crash; it could not start or was not ready within
 * the startup time: ih_pool_health_on_start_failed; either may answer
 * FAILING. A 503 while FAILING carries ih_pool_health_retry_after_s. On its
 * periodic tick, for the worker that serves requests: ih_recycle_due (not
 * NONE: ih_pool_health_on_recycle_begin, start the replacement, on_started,
 * then ih_pool_old_worker_action for the old one until it is gone, then
 * ih_pool_health_on_recycle_end) and ih_ping_due. Pool stop:
 * ih_pool_health_on_stop. Status page: ih_pool_health_stats_get.
 *
 * ---------------------------------------------------------------------------
 * 1. Pool state
 *
 *   RUNNING    in service: workers may be started, requests go to the worker
 *              (the pool is RUNNING also while it has no worker yet, or
 *              between a crash and the replacement's start);
 *   RECYCLING  an overlapped recycle: a replacement worker is starting or
 *              serving while the old one finishes its requests. A
 *              replacement that fails to start is a failure like any other
 *              (section 2): the old worker goes on serving and the manager
 *              may start another, bounded by rapid-fail protection;
 *   FAILING    rapid-fail back-off: no worker; requests get 503 with
 *              Retry-After (ih_pool_health_retry_after_s). Entering FAILING,
 *              the manager stops sending requests to any worker and shuts
 *              down whichever is left (the old worker of a recycle included)
 *              as it would on a stop: IIS 6 takes a pool out of service when
 *              rapid-fail protection trips (RapidFailProtection). Unlike
 *              IIS 6, which waits for an operator, the pool tries again by
 *              itself once the back-off has passed;
 *   STOPPED    stopped by an operator or because the server stops; the
 *              initial state.
 *
 * Events, and the state each moves each state to ("same": accepted, the
 * state does not change; "refused": does not apply in that state, nothing
 * changes and the event function returns false):
 *
 *   event \ state   RUNNING     RECYCLING   FAILING     STOPPED
 *   START           same        same        RUNNING *   RUNNING *
 *   STOP            STOPPED     STOPPED     STOPPED     same
 *   RECYCLE_BEGIN   RECYCLING   refused     refused     refused
 *   RECYCLE_END     refused     RUNNING     refused     refused
 *   STARTED         same        same        RUNNING     refused
 *   CRASH           same        same        same        same
 *   RAPID_FAIL      FAILING +   FAILING +   FAILING +   refused
 *
 *   *  an operator's start is a fresh start: the crash window and the
 *      back-off exponent are cleared (as when an operator re-enables a pool
 *      that IIS 6 disabled). It also ends a back-off early.
 *   +  a new failing episode: the crash window is cleared and a back-off
 *      begins (section 2).
 *
 * CRASH and RAPID_FAIL are never passed in: ih_pool_health_on_crash and
 * ih_pool_health_on_start_failed classify each failure as one or the other.
 * RECYCLE_END outside RECYCLING is refused rather than an error: a STOP or
 * a rapid-fail may have ended the recycle before the old worker went away.
 * ih_pool_transition is this table and nothing else.
 *
 * ---------------------------------------------------------------------------
 * 2. Rapid-fail protection
 *
 * A failure is a crash (a worker ended without its goodbye, or the manager
 * had to kill it because it stopped answering pings) or a start failure (a
 * worker could not be started, or did not report ready within the startup
 * time). A worker the manager ends on purpose (the old worker of a recycle
 * passing its deadline, a stop) is not a failure.
 *
 * With max_crashes = N > 0 the newest N failure times are kept (a ring of N
 * timestamps; N is at most IH_POOL_MAX_CRASHES_LIMIT). A failure at time t
 * in RUNNING or RECYCLING is a RAPID_FAIL when it is the Nth failure whose
 * time lies in the window (t - interval_ms, t]: the oldest of the newest N
 * happened less than interval_ms before t. N-1 failures in the window, or N
 * spread over interval_ms or more, leave the pool RUNNING. (IIS 6 defaults:
 * RapidFailProtectionMaxCrashes 5 in RapidFailProtectionInterval 5 minutes.)
 *
 * Each failing episode has a back-off of base * 2^k, capped at
 * backoff_max_ms, where k counts the episodes since the pool was last
 * healthy: base (IH_POOL_BACKOFF_BASE_MS, 10 s, unless backoff_base_ms says
 * otherwise), then 2 * base, 4 * base ... up to the cap (a cap below the base
 * is the base). During the back-off ih_pool_health_may_start is false; from
 * the moment it has passed it is true, the manager starts a worker (the
 * probe), and the worker's ready report (STARTED) makes the pool RUNNING. A
 * probe that fails (crash or start failure while still FAILING, back-off
 * over) is at once a new episode with the doubled back-off: one failure is
 * enough, the pool did not recover. A failure while FAILING before the
 * back-off is over (a left-over worker dying while it is shut down) is
 * counted and changes nothing.
 *
 * Healthy: when interval_ms passes, in RUNNING or RECYCLING, with no failure
 * since the probe's STARTED (or since the last failure after it, whichever
 * is later), k returns to 0 and the next episode backs off by the base
 * again. This is evaluated when it matters (at the next failure, or when the
 * statistics are read), so no timer is needed.
 *
 * ---------------------------------------------------------------------------
 * 3. Recycling (ih_recycle_due)
 *
 * A worker is recycled at most once: when it is already being recycled the
 * answer is NONE whatever else holds. When several causes hold at once the
 * answer is the first of this list (only the name recorded differs; the
 * recycle is the same): causes a person or the manager named first, since
 * they say why someone acted; then the worker's own distress, which an
 * operator looking into a problem needs to see; then the routine limits.
 *
 *   COMMAND        an operator asked (facts.command)
 *   CONFIG_CHANGE  the pool's configuration changed (facts.config_changed)
 *   DLL_CHANGED    an ISAPI DLL's file changed (facts.dll_changed)
 *   UNHEALTHY      a DLL called HSE_REQ_REPORT_UNHEALTHY (IIS 6 SDK ms524715)
 *   MEMORY         private_bytes > private_memory_bytes ("exceeds",
 *                  PeriodicRestartPrivateMemory)
 *   REQUESTS       requests_served >= requests ("after N requests",
 *                  PeriodicRestartRequests)
 *   TIME           now - started_ms >= time_ms (PeriodicRestartTime)
 *   SCHEDULE       a scheduled local time passed since the previous check
 *                  (PeriodicRestartSchedule)
 *
 * A limit of 0 is "never". The schedule is evaluated (and its clock moved
 * on) at every call, also when the answer is another reason or NONE, so a
 * scheduled time is used up by the check that sees it pass.
 *
 * Schedule, exactly once per passing. The clock (ih_recycle_clock, one per
 * pool, initialised when the pool starts) remembers the previous check's
 * local minute and monotonic time. The first check only sets it: times
 * already past when the pool started do not fire, not even the current
 * minute. After that a check fires when a scheduled minute lies in the local
 * minutes passed since the previous check, the half-open (previous, now]
 * going forward and across midnight, so a check that skips the scheduled
 * minute still fires once and two checks in the same minute fire once. The
 * monotonic time tells which way the local clock moved: a local minute that
 * moved by d minutes forward while e minutes passed is taken as a forward
 * move of d when d - e <= 720 (normal progress, or a jump forward such as
 * the start of daylight saving: the skipped minutes fire once), otherwise as
 * the clock set back by 1440 - d minutes (the end of daylight saving, an
 * operator's correction): nothing fires until the local time is past the
 * latest minute already seen, so a repeated hour does not fire twice. When a
 * whole day (1440 minutes) or more passed between two checks, every
 * scheduled time has passed: the check fires (once) if there is a schedule.
 *
 * ---------------------------------------------------------------------------
 * 4. Ping (ih_ping_due)
 *
 * The manager keeps, per worker, when it last sent a ping and when the last
 * answer came; both start at the worker's ready time. A ping is outstanding
 * when last_ping_sent_ms > last_pong_ms. Outstanding for timeout_ms or
 * longer: TIMED_OUT (the manager kills the worker, reports it with
 * ih_pool_health_on_crash, and starts a replacement). Otherwise, nothing outstanding and interval_ms
 * or more since the last ping was sent: SEND. Else WAIT. An interval of 0 is
 * "no pings": always WAIT (IIS 6 PingingEnabled, PingInterval,
 * PingResponseTime).
 *
 * ---------------------------------------------------------------------------
 * 5. The old worker of an overlapped recycle
 *
 * Its deadline is the recycle's start plus the shutdown time limit (IIS 6
 * ShutdownTimeLimit). Before the deadline it drains (requests in flight) or
 * is told to exit (none left); from the deadline on, still alive, it is
 * killed: whether requests are still in flight or it hangs in its own
 * shutdown (TerminateExtension).
 */
#ifndef IH_POOL_HEALTH_H
#define IH_POOL_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits and defaults ------------------------------------------------ */

#define IH_POOL_MAX_CRASHES_LIMIT 1000u             /* max_crashes above this is refused */
#define IH_POOL_BACKOFF_BASE_MS UINT64_C(10000)     /* the first back-off, unless set */
#define IH_POOL_BACKOFF_LIMIT_MS UINT64_C(86400000) /* no back-off (base or cap) beyond a day */
#define IH_POOL_RAPID_FAIL_MAX_CRASHES_DEFAULT 5u   /* IIS 6 RapidFailProtectionMaxCrashes */
#define IH_POOL_RAPID_FAIL_INTERVAL_DEFAULT_MS UINT64_C(300000) /* IIS 6: 5 minutes */
#define IH_MINUTES_PER_DAY 1440u

/* ---- 1. pool state ------------------------------------------------------- */

enum ih_pool_state {
  IH_POOL_RUNNING = 0,
  IH_POOL_RECYCLING,
  IH_POOL_FAILING,
  IH_POOL_STOPPED,
  IH_POOL_STATE_COUNT
};

enum ih_pool_event {
  IH_POOL_EV_START = 0,     /* an operator started the pool, or the server starts */
  IH_POOL_EV_STOP,          /* an operator stopped it, or the server stops */
  IH_POOL_EV_RECYCLE_BEGIN, /* an overlapped recycle begins (the replacement is being started) */
  IH_POOL_EV_RECYCLE_END,   /* the old worker is gone */
  IH_POOL_EV_STARTED,       /* a worker reported ready */
  IH_POOL_EV_CRASH,         /* a failure that does not trip rapid-fail protection */
  IH_POOL_EV_RAPID_FAIL,    /* a failure that does (section 2) */
  IH_POOL_EVENT_COUNT
};

/* The table above: true and *to = the next state when the event applies in
 * `from`; false and *to = from when it is refused (or either value is out
 * of range). */
bool ih_pool_transition(enum ih_pool_state from, enum ih_pool_event ev, enum ih_pool_state *to);

/* "running", "recycling", "failing", "stopped" (status page, logs); "unknown"
 * for anything else. */
const char *ih_pool_state_name(enum ih_pool_state state);
/* "start", "stop", "recycle_begin", "recycle_end", "started", "crash",
 * "rapid_fail"; "unknown" for anything else. */
const char *ih_pool_event_name(enum ih_pool_event ev);

/* ---- 3. recycle reasons (here because the health object counts them) --- */

enum ih_recycle_reason {
  IH_RECYCLE_NONE = 0,
  IH_RECYCLE_REQUESTS,
  IH_RECYCLE_TIME,
  IH_RECYCLE_SCHEDULE,
  IH_RECYCLE_MEMORY,
  IH_RECYCLE_UNHEALTHY,
  IH_RECYCLE_COMMAND,
  IH_RECYCLE_CONFIG_CHANGE,
  IH_RECYCLE_DLL_CHANGED,
  IH_RECYCLE_REASON_COUNT
};

/* "none", "requests", "time", "schedule", "private_memory", "unhealthy",
 * "command", "config", "dll_changed"; "unknown" for anything else. Stable:
 * logs and the status page show them. */
const char *ih_recycle_reason_name(enum ih_recycle_reason reason);

/* ---- 2. the pool's health ------------------------------------------------ */

typedef struct ih_pool_health_settings {
  uint32_t max_crashes;     /* failures that trip rapid-fail protection; 0 = off */
  uint64_t interval_ms;     /* the window; also the healthy period that resets the back-off */
  uint64_t backoff_base_ms; /* the first back-off; 0 = IH_POOL_BACKOFF_BASE_MS */
  uint64_t backoff_max_ms;  /* the cap; below the base it is the base */
} ih_pool_health_settings;

/* NULL when the settings are usable, else a sentence naming the field and
 * its limit, for the configuration's error message: max_crashes above
 * IH_POOL_MAX_CRASHES_LIMIT; interval_ms 0 while max_crashes is not; a base
 * or cap above IH_POOL_BACKOFF_LIMIT_MS. */
const char *ih_pool_health_settings_problem(const ih_pool_health_settings *s);

/* Treat as opaque: read through the functions below. */
typedef struct ih_pool_health {
  ih_pool_health_settings settings;
  enum ih_pool_state state;
  /* the newest failure times, oldest at crash_ms[crash_next] once full */
  uint64_t crash_ms[IH_POOL_MAX_CRASHES_LIMIT];
  uint32_t crash_count, crash_next;
  uint32_t backoff_exponent;  /* k: episodes since the pool was last healthy */
  uint64_t quiet_since_ms;    /* no failure since then (valid in RUNNING/RECYCLING) */
  uint64_t backoff_ms;        /* the current episode's back-off (FAILING) */
  uint64_t failing_until_ms;  /* the back-off ends here (FAILING) */
  uint64_t crashes_total, start_failures_total, failing_episodes_total;
  uint64_t recycles[IH_RECYCLE_REASON_COUNT];
} ih_pool_health;

/* Starts STOPPED with empty counts. False (and h untouched) when
 * ih_pool_health_settings_problem would name a problem. */
bool ih_pool_health_init(ih_pool_health *h, const ih_pool_health_settings *s);

/* New settings on a configuration reload, keeping state, back-off and
 * counts; the newest failures that fit the new max_crashes stay in the
 * window (none when it is 0). Turning protection off does not cut a running
 * back-off short (START does). False and nothing changed when the settings
 * have a problem. */
bool ih_pool_health_set_settings(ih_pool_health *h, const ih_pool_health_settings *s);

enum ih_pool_state ih_pool_health_state(const ih_pool_health *h);

/* START and STOP (table above). Return false when refused. */
bool ih_pool_health_on_start(ih_pool_health *h, uint64_t now_ms);
bool ih_pool_health_on_stop(ih_pool_health *h, uint64_t now_ms);

/* RECYCLE_BEGIN, counting one recycle for `reason`. Refused (false, not
 * counted) outside RUNNING, so a pool recycles one worker at a time; also
 * refused for IH_RECYCLE_NONE or a reason out of range. */
bool ih_pool_health_on_recycle_begin(ih_pool_health *h, enum ih_recycle_reason reason, uint64_t now_ms);
/* RECYCLE_END: the old worker is gone (exited, or killed at its deadline). */
bool ih_pool_health_on_recycle_end(ih_pool_health *h, uint64_t now_ms);

/* STARTED: a worker reported ready. Ends a failing episode (the probe came
 * up) and starts the healthy period; refused in STOPPED (the manager shuts
 * that worker down). */
bool ih_pool_health_on_started(ih_pool_health *h, uint64_t now_ms);

/* A worker crashed (or was killed as hung). Counted in crashes_total in
 * every state; in RUNNING/RECYCLING it enters the window and may trip
 * rapid-fail; in FAILING after the back-off (the probe) it is a new
 * episode. Returns the state after it: FAILING means the manager shuts
 * every worker of the pool down and answers 503. */
enum ih_pool_state ih_pool_health_on_crash(ih_pool_health *h, uint64_t now_ms);
/* A worker could not be started, or did not report ready within the
 * startup time: the same as a crash, counted in start_failures_total. */
enum ih_pool_state ih_pool_health_on_start_failed(ih_pool_health *h, uint64_t now_ms);

/* Whether a worker may be started now: in RUNNING and RECYCLING yes, in
 * STOPPED no, in FAILING from the end of the back-off on (now_ms >=
 * failing_until). It stays true until the state changes: the manager
 * starts one probe, not one per call. */
bool ih_pool_health_may_start(const ih_pool_health *h, uint64_t now_ms);

/* Retry-After for a 503 from a FAILING pool (RFC 9110 section 10.2.3,
 * delta-seconds): the rest of the back-off in whole seconds rounded up, at
 * least 1 (also once the back-off is over and the probe is starting). 0 in
 * every other state: send no Retry-After. */
uint32_t ih_pool_health_retry_after_s(const ih_pool_health *h, uint64_t now_ms);

/* The back-off the next failing episode would get at now_ms (the healthy
 * reset applied). */
uint64_t ih_pool_health_next_backoff_ms(const ih_pool_health *h, uint64_t now_ms);

/* For the status page. Counters only grow, and stop at UINT64_MAX. */
typedef struct ih_pool_health_stats {
  enum ih_pool_state state;
  uint64_t crashes_total;          /* crashes, hung workers killed */
  uint64_t start_failures_total;   /* workers that did not start or report ready */
  uint64_t failing_episodes_total; /* times rapid-fail protection tripped */
  uint32_t failures_in_window;     /* failures in (now - interval_ms, now] */
  uint64_t backoff_ms;             /* the current episode's back-off; 0 unless FAILING */
  uint64_t backoff_remaining_ms;   /* of it; 0 unless FAILING */
  uint64_t next_backoff_ms;        /* ih_pool_health_next_backoff_ms */
  uint64_t recycles[IH_RECYCLE_REASON_COUNT]; /* by reason; [IH_RECYCLE_NONE] is 0 */
  uint64_t recycles_total;
} ih_pool_health_stats;

void ih_pool_health_stats_get(const ih_pool_health *h, uint64_t now_ms, ih_pool_health_stats *out);

/* ---- 3. recycling -------------------------------------------------------- */

typedef struct ih_recycle_settings {
  uint64_t requests;             /* recycle after this many requests; 0 = never */
  uint64_t time_ms;              /* recycle after this long up; 0 = never */
  const uint16_t *schedule;      /* local minutes after midnight, each < 1440; any order,
                                    duplicates harmless; NULL when schedule_count is 0 */
  size_t schedule_count;
  uint64_t private_memory_bytes; /* recycle above this; 0 = never */
} ih_recycle_settings;

/* NULL when usable, else a sentence naming the problem: a scheduled minute
 * of 1440 or more, or a NULL schedule with a count. */
const char *ih_recycle_settings_problem(const ih_recycle_settings *s);

/* What the manager knows about the worker that serves the pool's requests
 * (in RECYCLING, the replacement; never the old one). */
typedef struct ih_worker_facts {
  uint64_t started_ms;      /* it reported ready */
  uint64_t requests_served;
  uint64_t private_bytes;   /* its private memory (PROCESS_MEMORY_COUNTERS_EX.PrivateUsage) */
  bool unhealthy_reported;  /* a DLL called HSE_REQ_REPORT_UNHEALTHY */
  bool command;             /* an operator asked for a recycle */
  bool config_changed;      /* set by the manager on a reload that changes the pool */
  bool dll_changed;         /* set by the manager when a DLL's file changed */
  bool being_recycled;      /* already being recycled: never again */
} ih_worker_facts;

/* The schedule's memory, one per pool. Treat as opaque. */
typedef struct ih_recycle_clock {
  bool checked;           /* a check happened */
  uint16_t last_minute;   /* local minute of the previous check */
  uint16_t behind;        /* minutes the local clock is behind the latest minute seen */
  uint64_t last_ms;       /* monotonic time of the previous check */
} ih_recycle_clock;

/* Forgets every check: the next one only sets the clock. Call when the pool
 * starts. */
void ih_recycle_clock_init(ih_recycle_clock *c);

/* The reason to recycle the worker now, or IH_RECYCLE_NONE (section 3).
 * local_minute is the local time's minutes after midnight (hour * 60 +
 * minute); one of 1440 or more is ignored (the schedule does not fire and
 * the clock does not move). clock may be NULL when there is no schedule. */
enum ih_recycle_reason ih_recycle_due(const ih_recycle_settings *s, const ih_worker_facts *w,
                                      ih_recycle_clock *clock, uint64_t now_ms, unsigned local_minute);

/* Whether a scheduled minute passed between the clock's previous check and
 * this one, moving the clock on (the schedule part of ih_recycle_due, for
 * the manager and the tests). */
bool ih_recycle_schedule_fires(ih_recycle_clock *c, const uint16_t *schedule, size_t count,
                               uint64_t now_ms, unsigned local_minute);

/* ---- 4. ping ------------------------------------------------------------- */

typedef struct ih_ping_settings {
  uint64_t interval_ms; /* between pings; 0 = no pings */
  uint64_t timeout_ms;  /* an answer later than this replaces the worker */
} ih_ping_settings;

/* NULL when usable; pings on with a timeout of 0 is a problem. */
const char *ih_ping_settings_problem(const ih_ping_settings *s);

enum ih_ping_action {
  IH_PING_WAIT = 0,  /* nothing to do now */
  IH_PING_SEND,      /* send a ping (then last_ping_sent_ms = now) */
  IH_PING_TIMED_OUT, /* the outstanding ping went unanswered too long: kill and replace */
};

enum ih_ping_action ih_ping_due(const ih_ping_settings *s, uint64_t last_ping_sent_ms,
                                uint64_t last_pong_ms, uint64_t now_ms);

/* ---- 5. the old worker of an overlapped recycle --------------------------- */

/* started_recycle_ms + shutdown_time_limit_ms, at most UINT64_MAX. */
uint64_t ih_pool_health_old_worker_deadline(uint64_t started_recycle_ms, uint64_t shutdown_time_limit_ms);

enum ih_old_worker_action {
  IH_OLD_WORKER_DRAIN = 0, /* before the deadline, requests in flight: let them finish */
  IH_OLD_WORKER_EXIT,      /* before the deadline, none in flight: tell it to exit */
  IH_OLD_WORKER_KILL,      /* at or after the deadline and still alive: terminate it */
};

/* What to do with an old worker that is still alive at now_ms. */
enum ih_old_worker_action ih_pool_old_worker_action(uint64_t deadline_ms, uint64_t now_ms,
                                                    uint64_t requests_in_flight);

#endif
