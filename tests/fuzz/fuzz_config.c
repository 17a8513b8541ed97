/* libFuzzer target for service/core/config.c: parses arbitrary text.
 * On success the structural invariants must hold (every site has a binding
 * and a "/" root vdir, ports are non-zero, pools are in range and every
 * path resolves to one, lookups do not crash); on failure
 * the message must be NUL-terminated and start with the file name, also when
 * the error buffer is tiny. Leaks are caught by LeakSanitizer. */
#include "core/config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FILE_NAME "fuzz.ini"

static bool is_pool_of(const ih_config *c, const ih_pool_conf *pool)
{
  return pool >= c->pools && pool < c->pools + c->pool_count;
}

/* pools[0] is "default"; every value is in its documented range; a name
 * finds its own pool; references point into the array; every path of a
 * site resolves to a pool, the vdir's own one at a vdir that names one. */
static void check_pools(const ih_config *c)
{
  if (c->pool_count < 1 || strcmp(c->pools[0].name, "default") != 0)
    abort();
  bool worker = false;
  for (size_t i = 0; i < c->pool_count; i++) {
    const ih_pool_conf *p = &c->pools[i];
    if (p->index != i || ih_config_pool_named(c, p->name) != p || !p->identity)
      abort();
    if ((p->bitness != 32 && p->bitness != 64) || (p->mode == IH_POOL_INPROCESS && p->bitness_given))
      abort();
    if (p->processes < 1 || p->processes > 64 || p->queue_length < 1 || p->queue_length > 65535 ||
        p->shutdown_time_limit < 1 || p->shutdown_time_limit > 86400 || p->startup_time_limit < 1 ||
        p->startup_time_limit > 86400 || p->recycle_schedule_count > IH_POOL_SCHEDULE_MAX)
      abort();
    for (size_t k = 0; k < p->recycle_schedule_count; k++)
      if (p->recycle_schedule[k] >= 24 * 60 || (k && p->recycle_schedule[k] <= p->recycle_schedule[k - 1]))
        abort();
    worker |= p->mode == IH_POOL_WORKER;
  }
  if (worker != ih_config_has_worker_pools(c))
    abort();
  for (size_t i = 0; i < c->site_count; i++) {
    const ih_site *s = &c->sites[i];
    if ((s->pool && !is_pool_of(c, s->pool)) || s->vdirs[0].pool)
      abort();
    for (size_t k = 0; k < s->vdir_count; k++) {
      const ih_vdir *v = &s->vdirs[k];
      const ih_pool_conf *got = ih_site_pool_for_path(c, s, ih_slice_from_cstr(v->url_path));
      if (!is_pool_of(c, got) || (v->pool && got != v->pool))
        abort();
    }
  }
}

static void check_config(const ih_config *c)
{
  if (c->site_count < 1)
    abort();
  /* The stop watchdog and the DLL loader wait this long: never 0 (no wait
   * at all) nor beyond a day. */
  const ih_server_config *sv = &c->server;
  if (sv->shutdown_time_limit < 1 || sv->shutdown_time_limit > 86400 || sv->startup_time_limit < 1 ||
      sv->startup_time_limit > 86400)
    abort();
  for (size_t i = 0; i < c->site_count; i++) {
    const ih_site *s = &c->sites[i];
    if (s->binding_count < 1 || s->vdir_count < 1 || !s->log_dir || !s->name)
      abort();
    if (strcmp(s->vdirs[0].url_path, "/") != 0 || !s->vdirs[0].physical_path)
      abort();
    for (size_t k = 0; k < s->binding_count; k++) {
      const ih_binding *b = &s->bindings[k];
      if (b->port == 0 || !b->address || !b->host)
        abort();
      /* Each binding must lead back to a site (maybe a more specific one). */
      if (!ih_config_find_site(c, b->address, b->port, ih_slice_from_cstr(b->host)))
        abort();
    }
    for (size_t k = 1; k < s->vdir_count; k++) {
      const ih_vdir *v = &s->vdirs[k];
      ih_slice rest;
      if (v->url_path[0] != '/' || ih_site_map_path(s, ih_slice_from_cstr(v->url_path), &rest) != v || rest.n)
        abort();
    }
    for (size_t k = 0; k < s->error_page_count; k++)
      if (ih_site_error_page(s, s->error_pages[k].status) == NULL)
        abort();
  }
  for (size_t i = 0; i < c->mime_count; i++)
    (void)ih_mime_lookup(ih_slice_from_cstr(c->mime[i].ext), c->mime, c->mime_count);
  check_pools(c);
}

static void check_error(const char *err, size_t cap)
{
  const char *nul = memchr(err, '\0', cap);
  if (!nul)
    abort();
  size_t n = (size_t)(nul - err);
  size_t want = strlen(FILE_NAME ":");
  /* Truncated messages are still a prefix of "fuzz.ini:LINE: ...". */
  if (strncmp(err, FILE_NAME ":", n < want ? n : want) != 0 || (cap > want + 1 && n < want))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[256];
  ih_config *cfg = NULL;
  memset(err, 'x', sizeof err);
  if (ih_config_parse((const char *)data, size, FILE_NAME, "base", &cfg, err, sizeof err) == 0) {
    if (!cfg)
      abort();
    check_config(cfg);
  } else {
    if (cfg)
      abort();
    check_error(err, sizeof err);
  }
  ih_config_free(cfg);

  /* Same input with a tiny buffer: truncation must stay in bounds. */
  char small[6];
  memset(small, 'x', sizeof small);
  cfg = NULL;
  if (ih_config_parse((const char *)data, size, FILE_NAME, "", &cfg, small, sizeof small) != 0)
    check_error(small, sizeof small);
  ih_config_free(cfg);
  return 0;
}
