/* Worker pools in the service (docs/pools.md): the worker processes of
 * each pool of mode worker, started, watched and replaced here, IIS 6's
 * WAS. Requests reach them through the pipeline's relay
 * (server/conn_relay.h); this module picks the worker
 * (ih_pool_manager_pick, the platform's relay_pick), reads each worker's
 * channel on a thread of its own, and on a timer thread keeps the pools
 * at strength: crashes (a worker that ends without GOODBYE) are counted
 * against rapid-fail protection (pool/pool_health.h), hung workers that
 * miss their pings are killed, and workers due for recycling are replaced
 * overlapped (the new one takes new requests, the old one finishes what it
 * has and exits, or is killed at shutdown_time_limit). */
#ifndef IH_POOL_MANAGER_WIN32_H
#define IH_POOL_MANAGER_WIN32_H

#include "core/config.h"
#include "server/relay_link.h"
#include "server/server.h"

/* Starts the worker pools of cfg (which must outlive the manager), whose
 * workers load config_path. 0 when there are none or they started
 * (workers that fail to start are retried, logged); -1 when out of
 * resources. */
int ih_pool_manager_start(const ih_config *cfg, const char *config_path);
/* After the drain: every worker is asked to stop, waited for within
 * shutdown_time_limit, killed after. */
void ih_pool_manager_stop(void);
/* The platform's relay_pick (server.h). */
ih_relay_link *ih_pool_manager_pick(ih_conn *c, const ih_pool_conf *pool, unsigned *retry_after_s);
/* An operator's recycle of every worker of pool_name (case-insensitive),
 * overlapped like any other (reason "command"); started, not waited for. */
enum { IH_POOL_RECYCLE_STARTED = 0, IH_POOL_RECYCLE_NO_POOL = 1, IH_POOL_RECYCLE_NOT_RUNNING = 2 };
int ih_pool_manager_recycle(const char *pool_name);
/* The configuration was reloaded: every worker is recycled (reason
 * "config"), so its pool's DLLs and settings come from the file as it is
 * now. The set of pools, their modes and the manager's own keys stay
 * those the server started with (docs/pools.md). */
void ih_pool_manager_reloaded(void);
/* The server the workers' requests belong to: its current configuration
 * names the sites their access lines go to. Before its listeners open. */
struct ih_server;
void ih_pool_manager_attach(struct ih_server *server);
/* The pools as JSON for the status page: "[{...},...]" into buf[0..cap)
 * (NUL-terminated); returns the length. */
size_t ih_pool_manager_status_json(char *buf, size_t cap);
/* The worker pools' families for the metrics page (core/metrics_text.h):
 * workers, crashes, recycles by reason and state, from the figures above. */
struct ih_mtext;
void ih_pool_manager_metrics_text(struct ih_mtext *t);
/* The extension DLLs of the workers, for ih_isapi_metrics_text's more
 * (one family's rows, labelled with their pool and worker pid), as of
 * each worker's last ping. */
void ih_pool_manager_dll_metrics(struct ih_mtext *t, int family, void *ctx);
/* The platform's pool_failing (server.h): the name of a worker pool that
 * rapid-fail protection holds back now, for the health URL. */
bool ih_pool_manager_failing(char *name, size_t cap);

#endif
