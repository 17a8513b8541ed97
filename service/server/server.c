/* The server's configuration generations and live counts (server.h). */
#include "server/server.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_alloc.h"
#include "core/ih_thread.h"
#include "core/server_log.h"
#include "filters/filter_chain.h"
#include "server/file_cache.h"

bool ih_counter_down(atomic_llong *count, const char *what)
{
  long long before = atomic_load(count);
  do {
    if (before <= 0) {
      ih_log(IH_LOG_ERROR, IH_EV_COUNT_UNDERFLOW, "%s released more often than taken; the release is ignored",
             what);
      return false;
    }
  } while (!atomic_compare_exchange_weak(count, &before, before - 1));
  return true;
}

static ih_generation *generation_new(ih_server *s, const ih_config *cfg)
{
  ih_generation *g = ih_calloc(1, sizeof *g);
  if (!g)
    return NULL;
  g->config = cfg;
  g->server = s;
  atomic_init(&g->refs, 1); /* the server's, once published; the caller's until then */
  ih_http_limits_default(&g->limits);
  g->limits.max_request_line = cfg->server.max_request_line;
  g->limits.max_header_line = cfg->server.max_header_line;
  g->limits.max_header_bytes = cfg->server.max_header_bytes;
  g->limits.max_headers = cfg->server.max_headers;
  /* Each site's counters, found by name: a site a reload keeps goes on
   * counting where it was. */
  g->metrics_sites = ih_calloc(cfg->site_count ? cfg->site_count : 1, sizeof *g->metrics_sites);
  for (size_t i = 0; g->metrics_sites && i < cfg->site_count; i++)
    if (!(g->metrics_sites[i] = ih_metrics_site_named(&s->metrics, cfg->sites[i].name))) {
      free(g->metrics_sites);
      g->metrics_sites = NULL;
    }
  if (!g->metrics_sites) {
    free(g);
    return NULL;
  }
  atomic_fetch_add(&s->counters.generations_live, 1);
  return g;
}

int ih_server_init(ih_server *s, const ih_config *cfg, const ih_platform *platform)
{
  memset(s, 0, sizeof *s);
  s->platform = platform;
  atomic_init(&s->draining, false);
  atomic_init(&s->leaving, false);
  atomic_flag_clear(&s->current_lock);
  s->started_ms = ih_clock_ms();
  s->started_unix = ih_wall_seconds();
  if (ih_metrics_init(&s->metrics) < 0)
    return -1;
  ih_generation *g = generation_new(s, cfg);
  s->file_cache = ih_file_cache_new(cfg->server.file_cache_entries, (uint64_t)cfg->server.file_cache_ttl * 1000u);
  if (!g || !s->file_cache) {
    ih_server_generation_free(g);
    ih_file_cache_free(s->file_cache);
    s->file_cache = NULL;
    ih_metrics_destroy(&s->metrics);
    return -1;
  }
  g->number = 1;
  atomic_init(&s->current, g);
  return 0;
}

/* A spin lock: held for a pointer load and an increment, or a swap. */
static void current_lock(ih_server *s)
{
  while (atomic_flag_test_and_set_explicit(&s->current_lock, memory_order_acquire))
    ;
}

static void current_unlock(ih_server *s) { atomic_flag_clear_explicit(&s->current_lock, memory_order_release); }

ih_generation *ih_server_acquire(ih_server *s)
{
  current_lock(s);
  ih_generation *g = atomic_load(&s->current);
  if (g) {
    int before = atomic_fetch_add(&g->refs, 1);
    assert(before > 0 && "a current generation always has the server's reference");
    (void)before;
  }
  current_unlock(s);
  return g;
}

void ih_generation_release(ih_generation *gen)
{
  int before = atomic_load(&gen->refs);
  do {
    if (before <= 0) {
      /* Freed already, or about to be by its last real holder: freeing
       * again would be a double free. */
      ih_log(IH_LOG_ERROR, IH_EV_COUNT_UNDERFLOW,
             "configuration generation %u released more often than acquired; the release is ignored", gen->number);
      return;
    }
  } while (!atomic_compare_exchange_weak(&gen->refs, &before, before - 1));
  if (before == 1)
    ih_server_generation_free(gen);
}

ih_generation *ih_server_generation_new(ih_server *s, ih_config *cfg)
{
  ih_generation *g = generation_new(s, cfg);
  if (g) {
    g->owned = cfg;
    g->number = ih_server_current(s)->number + 1;
  }
  return g;
}

void ih_server_generation_free(ih_generation *gen)
{
  if (gen) {
    ih_counter_down(&gen->server->counters.generations_live, "generations_live");
    ih_filter_table_free(gen->filters);
    ih_config_free(gen->owned);
    free(gen->metrics_sites);
    free(gen);
  }
}

void ih_server_generation_publish(ih_server *s, ih_generation *gen)
{
  current_lock(s);
  ih_generation *old = atomic_load(&s->current);
  atomic_store(&s->current, gen); /* gen's reference from ih_server_generation_new is the server's now */
  current_unlock(s);
  if (old)
    ih_generation_release(old);
}

void ih_server_destroy(ih_server *s)
{
  current_lock(s);
  ih_generation *g = atomic_load(&s->current);
  atomic_store(&s->current, NULL);
  current_unlock(s);
  if (g)
    ih_generation_release(g);
  ih_file_cache_free(s->file_cache);
  s->file_cache = NULL;
  ih_metrics_destroy(&s->metrics);
}

void ih_server_begin_drain(ih_server *s) { atomic_store(&s->draining, true); }

void ih_server_count_client_abort(ih_server *s) { atomic_fetch_add(&s->counters.client_aborts, 1); }
