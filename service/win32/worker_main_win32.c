/* isapihost-worker.exe: one worker process of a worker pool (docs/pools.md),
 * IIS 6's w3wp.exe. The service starts it (pool_manager_win32.c) with the
 * names of its channel's shared memory and doorbells; it loads the same
 * configuration, the extension and filter hosts, and runs the whole
 * request pipeline on each request the service relays to it
 * (server/relay_worker.h). Its server-log lines and access-log lines go to
 * the service (EVENT, LOG), which writes them with the pool and pid in
 * front, so one log has everything.
 *
 *   isapihost-worker.exe --config PATH --pool NAME --channel NAME --ring BYTES [--parent PID]
 *
 * Exit codes: 0 after STOP (GOODBYE sent first), 2 bad arguments or
 * configuration, 1 anything else that stops it from serving. The service
 * does not read them (a stack overflow exits 0 under Wine): a worker that
 * ends without GOODBYE has crashed. */
#include <winsock2.h>
#include <windows.h>
#include <httpfilt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/server_log.h"
#include "filters/filter_chain.h"
#include "file_win32.h"
#include "filters/filter_host_win32.h"
#include "iis_compat_win32.h"
#include "isapi/isapi_dll_win32.h"
#include "isapi/isapi_host_win32.h"
#include "isapi/isapi_pool_win32.h"
#include "isapi/shared/isapi_dll_shadow_win32.h"
#include "pool/channel.h"
#include "process_stats_win32.h"
#include "server/pipeline.h"
#include "server/relay.h"
#include "server/relay_worker.h"
#include "server/server.h"
#include "worker_channel_win32.h"

static struct {
  ih_chan *ch;
  HANDLE wake_self, wake_peer;
  ih_relay_worker *relay;
  ih_server server;
  ih_config *cfg;
  const char *pool;
  volatile LONG stopping;
} w;

static void ring_peer(void *ctx)
{
  (void)ctx;
  SetEvent(w.wake_peer);
}

/* The reader thread is (about to be) waiting on its doorbell. Work queued
 * for it (a completion, an extension's end) rings the doorbell only then:
 * under Wine each SetEvent is a wineserver round trip, and the reader runs
 * its queues anyway before it sleeps. The reader marks itself, then looks
 * at its queues once more (both sequentially consistent), so either it
 * sees the work or the queuing thread sees the mark. */
static volatile LONG reader_asleep;

static void ring_self(void *ctx)
{
  (void)ctx;
  if (InterlockedCompareExchange(&reader_asleep, 0, 0))
    SetEvent(w.wake_self);
}

/* Every server-log event of this process goes to the service. */
static void event_to_service(void *ctx, enum ih_log_level level, enum ih_event_id id, const char *message)
{
  (void)ctx;
  relay_event_fixed f = { .level = (uint32_t)level, .event_id = (uint32_t)id };
  const void *parts[2] = { &f, message };
  size_t lens[2] = { sizeof f, strlen(message) };
  if (w.ch)
    ih_chan_send(w.ch, RELAY_EVENT, 0, 0, parts, lens, 2);
}

/* An access-log line for site, formatted here in this worker's log_format
 * for the site: the service's log writer has the files, and puts the line
 * in the file of that format (a reload may change the format before this
 * worker is recycled). */
static void access_to_service(const ih_site *site, int64_t unix_time, const char *line, size_t len)
{
  relay_log_fixed f = { .site_id = site ? site->id : 0,
                        .log_format = site ? (uint32_t)site->log_format : IH_LOG_FORMAT_W3C,
                        .unix_time = unix_time };
  if (len > IH_CHAN_MAX_PAYLOAD - sizeof f)
    len = IH_CHAN_MAX_PAYLOAD - sizeof f;
  const void *parts[2] = { &f, line };
  size_t lens[2] = { sizeof f, len };
  ih_chan_send(w.ch, RELAY_LOG, 0, 0, parts, lens, 2);
}

/* HSE_REQ_REPORT_UNHEALTHY: the service recycles this worker. */
static void unhealthy_to_service(const char *dll, const char *reason, size_t len)
{
  char text[640];
  int n = snprintf(text, sizeof text, "%s: %.*s", dll, (int)(len > 512 ? 512 : len), reason);
  size_t tl = n < 0 ? 0 : (size_t)n < sizeof text ? (size_t)n : sizeof text - 1;
  ih_chan_send1(w.ch, RELAY_UNHEALTHY, 0, 0, text, tl);
}

/* A worker's last words, in the channel's section where the service reads
 * them once the process is gone (worker_channel_win32.h): which module an
 * unhandled exception was in. Written without locks or allocation (the
 * heap may be what broke). */
static char *last_words;

static LONG WINAPI on_unhandled(EXCEPTION_POINTERS *ep)
{
  if (last_words && ep && ep->ExceptionRecord) {
    char module[MAX_PATH] = "an unknown module";
    HMODULE h = NULL;
    void *at = ep->ExceptionRecord->ExceptionAddress;
    if (GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                           (LPCSTR)at, &h))
      GetModuleFileNameA(h, module, sizeof module);
    snprintf(last_words, IH_WORKER_LAST_WORDS, "unhandled exception 0x%08lx at %p in %s",
             (unsigned long)ep->ExceptionRecord->ExceptionCode, at, module);
  }
  return EXCEPTION_CONTINUE_SEARCH;
}

static ih_platform platform;

/* An extension's session ends on the reader thread, never on the DLL's own
 * (what follows it, the next request's pipeline, is the reader's to run). */
typedef struct ended {
  struct ended *next;
  ih_conn *c;
} ended;
static CRITICAL_SECTION ended_lock;
static ended *ended_head;

static void ext_end_later(ih_conn *c)
{
  ended *e = malloc(sizeof *e);
  if (!e) {
    ih_conn_on_ext_end(c); /* no memory to defer it: end it here rather than never */
    return;
  }
  e->c = c;
  EnterCriticalSection(&ended_lock);
  e->next = ended_head;
  ended_head = e;
  LeaveCriticalSection(&ended_lock);
  ring_self(NULL);
}

static bool run_ended(void)
{
  EnterCriticalSection(&ended_lock);
  ended *e = ended_head;
  ended_head = NULL;
  LeaveCriticalSection(&ended_lock);
  bool any = e != NULL;
  while (e) {
    ended *next = e->next;
    ih_conn_on_ext_end(e->c);
    free(e);
    e = next;
  }
  return any;
}

/* A ping is answered by a thread of the extension pool, behind whatever
 * the DLLs keep it busy with: a worker whose every extension thread is
 * stuck (a deadlock, the loader lock held, a pool at isapi_max_threads)
 * answers none, and the service replaces it (ping_timeout). */
static volatile LONG ping_queued;
static volatile LONGLONG ping_seq;
static void pong_run(ih_pool_item *item);
static ih_pool_item ping_item = { .run = pong_run };

/* The worker's extension DLLs for the service's metrics page (relay.h,
 * DLL_STATS), as often as the pings come: the page shows them as of the
 * last one, like the status page's worker figures. */
static void send_dll_stats(void)
{
  char *buf = malloc(IH_CHAN_MAX_PAYLOAD);
  if (!buf)
    return; /* the page shows the last ones that came */
  size_t n = 0;
  ih_isapi_dll_info info;
  for (size_t i = 0; ih_isapi_dll_info_at(i, &info); i++) {
    size_t path_len = strlen(info.path);
    if (n + sizeof(relay_dll_stat) + path_len > IH_CHAN_MAX_PAYLOAD)
      break; /* hundreds of DLLs in one worker: the first ones */
    relay_dll_stat r = {
      .calls = info.calls, .faults = info.faults, .stuck = info.stuck, .in_flight = info.in_flight,
      .loads = info.loads, .path_len = (uint16_t)path_len, .state = (uint8_t)ih_isapi_dll_state_index(info.state),
    };
    memcpy(buf + n, &r, sizeof r);
    memcpy(buf + n + sizeof r, info.path, path_len);
    n += sizeof r + path_len;
  }
  ih_chan_send1(w.ch, RELAY_DLL_STATS, 0, 0, buf, n);
  free(buf);
}

static void pong_run(ih_pool_item *item)
{
  (void)item;
  relay_pong p = { 0 };
  p.seq = (uint64_t)InterlockedCompareExchange64(&ping_seq, 0, 0);
  InterlockedExchange(&ping_queued, 0);
  ih_process_stats st;
  ih_win32_process_stats(&st);
  p.private_bytes = st.private_bytes;
  p.handles = st.handles;
  p.requests_total = (uint64_t)atomic_load(&w.server.counters.requests_total);
  p.requests_in_flight = atomic_load(&w.server.counters.requests_in_flight);
  p.connections_live = atomic_load(&w.server.counters.connections_live);
  p.isapi_sessions = atomic_load(&w.server.counters.isapi_sessions);
  ih_chan_send1(w.ch, RELAY_PONG, 0, 0, &p, sizeof p);
  send_dll_stats();
}

static void ping(const ih_chan_msg *m)
{
  uint64_t seq = 0;
  if (m->len >= sizeof seq)
    memcpy(&seq, m->payload, sizeof seq);
  InterlockedExchange64(&ping_seq, (LONGLONG)seq);
  if (!InterlockedExchange(&ping_queued, 1))
    ih_isapi_pool_post(&ping_item); /* one at a time: a ping still queued answers for the newer one */
}

static void on_message(void *ctx, const ih_chan_msg *m)
{
  (void)ctx;
  if (ih_relay_worker_dispatch(w.relay, m))
    return;
  if (m->type == RELAY_PING)
    ping(m);
  else if (m->type == RELAY_STOP)
    InterlockedExchange(&w.stopping, 1);
}

/* SF_NOTIFY_READ_RAW_DATA filters see a connection's raw bytes before
 * any request is parsed: IIS 6 allowed them only in IIS 5 isolation mode,
 * and here they need an in-process pool (docs/pools.md). True, with the
 * reason, when a loaded filter of this worker asks for them. */
static bool raw_data_filter(char *why, size_t cap)
{
  const ih_filter_table *t = ih_server_current(&w.server)->filters;
  for (size_t i = 0; t && i < t->count; i++) {
    const ih_filter *f = &t->filters[i];
    if (f->loaded && (f->flags & SF_NOTIFY_READ_RAW_DATA)) {
      snprintf(why, cap,
               "filter %s (%s) asks for SF_NOTIFY_READ_RAW_DATA, which needs an inprocess pool; give its site "
               "(every site, for a global filter) an inprocess pool or remove the filter",
               f->conf->name, f->conf->dll_path);
      return true;
    }
  }
  return false;
}

/* The service's process, to hand file handles to (PROCESS_DUP_HANDLE). */
static HANDLE service_process;

/* A file of this worker's (a static file, an extension's TransmitFile)
 * duplicated into the service, which sends it from there: its bytes never
 * cross the channel. */
static bool export_file(void *file, uint64_t *token)
{
  HANDLE dup = NULL;
  if (!service_process ||
      !DuplicateHandle(GetCurrentProcess(), (HANDLE)file, service_process, &dup, 0, FALSE, DUPLICATE_SAME_ACCESS))
    return false;
  *token = (uint64_t)(uintptr_t)dup;
  return true;
}

/* Whether pool (NULL: the default pool) is this worker's. */
static bool is_my_pool(const ih_pool_conf *pool)
{
  return _stricmp(pool ? pool->name : w.cfg->pools[0].name, w.pool) == 0;
}

/* A site filter runs where its site's requests run: the global filters and
 * those of sites with a directory in this worker's pool are loaded here. */
static bool filter_in_my_pool(const ih_filter_conf *f)
{
  if (!f->site)
    return true;
  if (is_my_pool(f->site->pool))
    return true;
  for (size_t i = 1; i < f->site->vdir_count; i++)
    if (f->site->vdirs[i].pool && is_my_pool(f->site->vdirs[i].pool))
      return true;
  return false;
}

static const char *arg_value(int argc, char **argv, const char *name)
{
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], name) == 0)
      return argv[i + 1];
  return NULL;
}

int main(int argc, char **argv)
{
  const char *config = arg_value(argc, argv, "--config"), *channel = arg_value(argc, argv, "--channel");
  const char *ring_arg = arg_value(argc, argv, "--ring");
  w.pool = arg_value(argc, argv, "--pool");
  if (!config || !channel || !ring_arg || !w.pool) {
    fprintf(stderr, "usage: isapihost-worker --config PATH --pool NAME --channel NAME --ring BYTES\n");
    return 2;
  }
  InitializeCriticalSection(&ended_lock);
  ih_worker_channel chan;
  if (ih_worker_channel_open(&chan, channel, (uint32_t)strtoul(ring_arg, NULL, 10)) != 0) {
    fprintf(stderr, "isapihost-worker: cannot open channel %s (Win32 error %lu)\n", channel, GetLastError());
    return 1;
  }
  last_words = chan.last_words;
  SetUnhandledExceptionFilter(on_unhandled);
  w.wake_self = chan.wake_worker;
  w.wake_peer = chan.wake_service;
  w.ch = ih_chan_new(chan.view, chan.ring_bytes, 1, ring_peer, NULL);
  if (!w.ch)
    return 1;
  ih_log_set_event_sink(event_to_service, NULL);
  char err[1024];
  if (ih_config_load_file(config, &w.cfg, err, sizeof err) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_CONFIG_INVALID, "worker of pool %s: configuration rejected: %s", w.pool, err);
    return 2;
  }
  const ih_pool_conf *pool_conf = ih_config_pool_named(w.cfg, w.pool);
  if (pool_conf && pool_conf->shadow_copy)
    ih_dll_shadow_start(w.pool); /* before any DLL loads (docs/pools.md#shadow-copies) */
  WSADATA wsa;
  WSAStartup(MAKEWORD(2, 2), &wsa); /* DLLs built for IIS use sockets without starting Winsock */
  ih_iis_compat_init();
  ih_isapi_host_on_unhealthy(unhealthy_to_service);
  ih_filter_host_set_scope(filter_in_my_pool);
  platform.file_open = ih_win32_file_open;
  platform.file_read = ih_win32_file_read;
  platform.file_close = ih_win32_file_close;
  platform.dir_list = ih_win32_dir_list;
  platform.access_log = access_to_service;
  platform.extension_start = ih_isapi_host_extension_start;
  platform.ext_end_later = ext_end_later;
  platform.filter_call = ih_filter_host_call;
  platform.process_stats = ih_win32_process_stats;
  platform.ext_admin = ih_isapi_admin;
  if (ih_server_init(&w.server, w.cfg, &platform) != 0 || ih_isapi_host_start(w.cfg) != 0 ||
      ih_filter_host_start(&w.server) != 0) {
    ih_log(IH_LOG_ERROR, IH_EV_POOL_START_FAILED, "worker of pool %s: the extension or filter host did not start",
           w.pool);
    return 1;
  }
  char why[768];
  if (raw_data_filter(why, sizeof why)) {
    ih_chan_send1(w.ch, RELAY_REFUSED, 0, 0, why, strlen(why));
    ih_isapi_host_stop();
    ih_filter_host_stop(&w.server);
    Sleep(50); /* the service reads it before the view goes */
    return 2;
  }
  w.relay = ih_relay_worker_new(&w.server, w.ch, ring_self, NULL);
  const char *parent = arg_value(argc, argv, "--parent");
  if (parent)
    service_process = OpenProcess(PROCESS_DUP_HANDLE, FALSE, (DWORD)strtoul(parent, NULL, 10));
  if (service_process)
    ih_relay_worker_set_file_export(w.relay, export_file);
  relay_ready ready = { .pid = GetCurrentProcessId(), .bitness = (uint32_t)(sizeof(void *) * 8) };
  ih_chan_send1(w.ch, RELAY_READY, 0, 0, &ready, sizeof ready);

  /* The reader thread: messages, then the transport's completions, then
   * the timers, and sleep on the doorbell when none has anything. */
  uint64_t next_sweep = 0, next_shadow_check = 0;
  for (;;) {
    int n = ih_chan_poll(w.ch, on_message, NULL, 256);
    if (n < 0) {
      ih_log(IH_LOG_ERROR, IH_EV_POOL_PROTOCOL, "worker of pool %s: malformed message from the service", w.pool);
      return 1;
    }
    bool ran = ih_relay_worker_run(w.relay);
    ran = run_ended() || ran;
    uint64_t now = ih_clock_ms();
    if (now >= next_sweep) {
      ih_relay_worker_sweep(w.relay, now, false);
      next_sweep = now + 250;
    }
    if (now >= next_shadow_check) {
      char changed[MAX_PATH * 3];
      if (ih_dll_shadow_changed(changed, sizeof changed))
        ih_chan_send1(w.ch, RELAY_DLL_CHANGED, 0, 0, changed, strlen(changed));
      next_shadow_check = now + 1000;
    }
    if (w.stopping && ih_relay_worker_live(w.relay) == 0)
      break;
    if (n == 0 && !ran && !ih_worker_channel_spin(w.ch) && ih_chan_may_sleep(w.ch)) {
      InterlockedExchange(&reader_asleep, 1);
      if (ih_relay_worker_run(w.relay) || run_ended()) {
        InterlockedExchange(&reader_asleep, 0); /* work came in meanwhile: no sleep */
        ih_chan_woke(w.ch);
        continue;
      }
      WaitForSingleObject(w.wake_self, 250);
      InterlockedExchange(&reader_asleep, 0);
      ih_chan_woke(w.ch);
    }
  }
  /* STOP with nothing left to serve: TerminateExtension, TerminateFilter,
   * then the word that this exit is not a crash. */
  ih_isapi_host_stop();
  ih_filter_host_stop(&w.server);
  ih_dll_shadow_stop(); /* the DLLs are unloaded: their copies can go */
  ih_chan_send1(w.ch, RELAY_GOODBYE, 0, 0, NULL, 0);
  Sleep(50); /* let the service read it before the view goes (it is the section's, not ours) */
  ih_log_set_event_sink(NULL, NULL);
  return 0;
}
