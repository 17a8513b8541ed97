/* Unit tests for filters/filter_chain.c: the filter table built from the
 * configuration's [filter NAME] sections, each site's chain and its order
 * (no priority bit first, KB Q237471; then HIGH, MEDIUM, LOW; at one
 * priority global before site filters, then FilterLoadOrder; IIS 6
 * "Installing ISAPI Filters", ms524855), on_load_error, rebuilds that
 * publish new chains, the notification loop with the SF_STATUS_* codes
 * (httpfilt.h; ms525498 for READ_NEXT), SEND_RAW_DATA in reverse order
 * (IIS 4 "Event Ordering"), SF_REQ_DISABLE_NOTIFICATIONS, port flags, and
 * the callbacks' effects on the connection's filter state (AllocMem,
 * WriteClient, AddResponseHeaders, SF_REQ_SEND_RESPONSE_HEADER ms525219,
 * GetServerVariable before the values are known, KB 892988).
 *
 * The platform is a fake: its filter_call records which filter was called
 * for which notification and answers scripted SF_STATUS_* values. */
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filters/filter_chain.h"
#include "server/conn.h"
#include "ih_test.h"
#include "isapi/shared/isapi_vars.h"

#define ALL_NOTIFICATIONS                                                                                     \
  (IH_SF_NOTIFY_READ_RAW_DATA | IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_AUTHENTICATION |                 \
   IH_SF_NOTIFY_URL_MAP | IH_SF_NOTIFY_ACCESS_DENIED | IH_SF_NOTIFY_SEND_RESPONSE | IH_SF_NOTIFY_SEND_RAW_DATA | \
   IH_SF_NOTIFY_LOG | IH_SF_NOTIFY_END_OF_REQUEST | IH_SF_NOTIFY_END_OF_NET_SESSION | IH_SF_NOTIFY_AUTH_COMPLETE)

/* Filters around two sites, interleaved so that file order alone would
 * give a different chain than priority and scope do. */
static const char ordering_ini[] = "[filter g_low]\ndll = g_low.dll\n"
                                   "[site a]\nbindings = *:80\nroot = www\n"
                                   "[filter a_high]\nsite = a\ndll = a_high.dll\n"
                                   "[filter g_none]\ndll = g_none.dll\n"
                                   "[site b]\nbindings = *:81\nroot = www2\n"
                                   "[filter b_med]\nsite = b\ndll = b_med.dll\n"
                                   "[filter g_high]\ndll = g_high.dll\n"
                                   "[filter a_none]\nsite = a\ndll = a_none.dll\n"
                                   "[filter a_low]\nsite = a\ndll = a_low.dll\n"
                                   "[filter g_low2]\ndll = g_low2.dll\n";

static ih_config *parse_config(const char *text)
{
  char err[512] = "";
  ih_config *cfg = NULL;
  int rc = ih_config_parse(text, strlen(text), "t.ini", "base", &cfg, err, sizeof err);
  if (rc != 0)
    ih_test_note("unexpected config error: %s", err);
  IH_EQ_INT(rc, 0);
  return rc == 0 ? cfg : NULL;
}

static ih_filter *filter_named(ih_filter_table *t, const char *name)
{
  for (size_t i = 0; i < t->count; i++)
    if (strcmp(t->filters[i].conf->name, name) == 0)
      return &t->filters[i];
  IH_CHECK(!"no such filter in the table");
  return NULL;
}

/* As the platform does after a successful GetFilterVersion. */
static void mark_loaded(ih_filter_table *t, const char *name, uint32_t flags)
{
  ih_filter *f = filter_named(t, name);
  if (f) {
    f->flags = flags;
    f->loaded = true;
  }
}

static const ih_site *site_named(const ih_config *cfg, const char *name)
{
  for (size_t i = 0; i < cfg->site_count; i++)
    if (strcmp(cfg->sites[i].name, name) == 0)
      return &cfg->sites[i];
  IH_CHECK(!"no such site");
  return NULL;
}

/* "name,name,..." of a chain, in notification order. */
static const char *chain_names(const ih_filter_chain *chain, char *buf, size_t cap)
{
  buf[0] = '\0';
  if (!chain)
    return "<no chain>";
  size_t at = 0;
  for (size_t i = 0; i < chain->count && at < cap; i++)
    at += (size_t)snprintf(buf + at, cap - at, "%s%s", i ? "," : "", chain->filters[i]->conf->name);
  return buf;
}

#define NAMES(chain) chain_names((chain), (char[512]){ 0 }, 512)

/* ---- the fake platform ---- */

typedef struct scripted {
  const char *filter; /* NULL: an unused entry */
  uint32_t type;
  uint32_t status;
} scripted;

static struct {
  char log[1024];      /* "name,name,..." of the calls, in order */
  scripted script[8];  /* answers other than NEXT_NOTIFICATION */
  const char *disable_in; /* this filter disables disable_types when called */
  uint32_t disable_types;
  ih_conn *want_conn;
  ih_filter_conn *want_fc;
  uint32_t want_type;
  void *want_payload;
  int bad_calls;       /* calls with arguments other than those notified */
} fake;

static void fake_reset(ih_conn *c, ih_filter_conn *fc, uint32_t type, void *payload)
{
  memset(&fake, 0, sizeof fake);
  fake.want_conn = c;
  fake.want_fc = fc;
  fake.want_type = type;
  fake.want_payload = payload;
}

static void fake_answer(const char *filter, uint32_t type, uint32_t status)
{
  for (size_t i = 0; i < sizeof fake.script / sizeof fake.script[0]; i++)
    if (!fake.script[i].filter) {
      fake.script[i] = (scripted){ filter, type, status };
      return;
    }
  IH_CHECK(!"script full");
}

static uint32_t fake_filter_call(ih_conn *c, struct ih_filter_conn *fc, const struct ih_filter *f, uint32_t type,
                                 void *payload)
{
  const char *name = f->conf->name;
  size_t at = strlen(fake.log);
  snprintf(fake.log + at, sizeof fake.log - at, "%s%s", at ? "," : "", name);
  if (c != fake.want_conn || fc != fake.want_fc || type != fake.want_type || payload != fake.want_payload ||
      !fc->in_notification)
    fake.bad_calls++;
  if (fake.disable_in && strcmp(fake.disable_in, name) == 0)
    ih_filter_cb_disable(fc, f, fake.disable_types);
  for (size_t i = 0; i < sizeof fake.script / sizeof fake.script[0]; i++)
    if (fake.script[i].filter && strcmp(fake.script[i].filter, name) == 0 && fake.script[i].type == type)
      return fake.script[i].status;
  return IH_SF_STATUS_REQ_NEXT_NOTIFICATION;
}

/* A server and a connection with nothing but what ih_filter_notify and the
 * callbacks look at. */
typedef struct env {
  ih_config *cfg;
  ih_filter_table *t;
  ih_platform platform;
  ih_server server;
  ih_conn *c;
  ih_filter_conn *fc;
} env;

static bool env_open(env *e, const char *ini)
{
  memset(e, 0, sizeof *e);
  e->cfg = parse_config(ini);
  if (!e->cfg)
    return false;
  e->t = ih_filter_table_new(e->cfg);
  IH_CHECK(e->t != NULL);
  if (!e->t)
    return false;
  e->platform.filter_call = fake_filter_call;
  e->server.platform = &e->platform; /* all ih_filter_notify needs of the server */
  e->c = calloc(1, sizeof *e->c);
  e->c->server = &e->server;
  return true;
}

/* After the filters are marked loaded: build, and a connection state. */
static bool env_build(env *e)
{
  IH_EQ_INT(ih_filter_table_build(e->t), 0);
  e->fc = ih_filter_conn_new(e->t);
  IH_CHECK(e->fc != NULL);
  e->c->filters = e->fc;
  return e->fc != NULL;
}

static void env_close(env *e)
{
  ih_filter_conn_free(e->fc);
  free(e->c->req);
  free(e->c);
  ih_filter_table_free(e->t);
  ih_config_free(e->cfg);
}

/* The ordering configuration with every filter loaded; their priorities are
 * in their names (a_high says HIGH and LOW: it counts as HIGH). */
static bool env_ordering(env *e)
{
  if (!env_open(e, ordering_ini))
    return false;
  mark_loaded(e->t, "g_low", ALL_NOTIFICATIONS | IH_SF_NOTIFY_ORDER_LOW | IH_SF_NOTIFY_NONSECURE_PORT);
  mark_loaded(e->t, "a_high", (ALL_NOTIFICATIONS & ~IH_SF_NOTIFY_URL_MAP) | IH_SF_NOTIFY_ORDER_HIGH |
                                  IH_SF_NOTIFY_ORDER_LOW);
  mark_loaded(e->t, "g_none", ALL_NOTIFICATIONS);
  mark_loaded(e->t, "b_med", ALL_NOTIFICATIONS | IH_SF_NOTIFY_ORDER_MEDIUM);
  mark_loaded(e->t, "g_high", ALL_NOTIFICATIONS | IH_SF_NOTIFY_ORDER_HIGH);
  mark_loaded(e->t, "a_none", ALL_NOTIFICATIONS | IH_SF_NOTIFY_SECURE_PORT | IH_SF_NOTIFY_NONSECURE_PORT);
  mark_loaded(e->t, "a_low", (ALL_NOTIFICATIONS & ~IH_SF_NOTIFY_LOG) | IH_SF_NOTIFY_ORDER_LOW);
  mark_loaded(e->t, "g_low2", ALL_NOTIFICATIONS | IH_SF_NOTIFY_ORDER_LOW);
  return env_build(e);
}

/* ---- the table and its chains ---- */

static void test_table(void)
{
  IH_TEST("table: one entry per [filter], nothing loaded, no chain before a build");
  env e;
  if (!env_open(&e, ordering_ini))
    return;
  IH_EQ_INT(e.t->count, 8);
  IH_EQ_INT(e.t->site_count, 2);
  for (size_t i = 0; i < e.t->count; i++) {
    IH_CHECK(e.t->filters[i].conf == &e.cfg->filters[i]);
    IH_EQ_INT(e.t->filters[i].slot, i);
    IH_CHECK(!e.t->filters[i].loaded);
    IH_EQ_INT(e.t->filters[i].flags, 0);
    IH_CHECK(e.t->filters[i].error[0] != '\0'); /* a reason for messages */
  }
  IH_CHECK(ih_filter_chain_for(e.t, NULL) == NULL);
  IH_CHECK(ih_filter_chain_for(e.t, &e.cfg->sites[0]) == NULL);
  IH_CHECK(ih_filter_chain_for(NULL, NULL) == NULL);
  IH_CHECK(!ih_filter_wants(NULL, IH_SF_NOTIFY_PREPROC_HEADERS));
  env_close(&e);

  IH_TEST("table: a configuration without filters has empty chains");
  if (!env_open(&e, "[site a]\nbindings = *:80\nroot = www\n"))
    return;
  IH_EQ_INT(e.t->count, 0);
  if (env_build(&e)) {
    const ih_filter_chain *site = ih_filter_chain_for(e.t, &e.cfg->sites[0]);
    const ih_filter_chain *global = ih_filter_chain_for(e.t, NULL);
    IH_CHECK(site != NULL && global != NULL);
    if (site && global) {
      IH_EQ_INT(site->count, 0);
      IH_EQ_INT(site->wanted, 0);
      IH_CHECK(!site->blocked);
      IH_EQ_INT(global->count, 0);
      IH_CHECK(!global->blocked);
      IH_CHECK(!ih_filter_wants(site, ALL_NOTIFICATIONS));
      /* nobody to call: CONTINUE, and the platform is never asked */
      fake_reset(e.c, e.fc, IH_SF_NOTIFY_PREPROC_HEADERS, NULL);
      IH_EQ_INT(ih_filter_notify(e.c, e.fc, site, IH_SF_NOTIFY_PREPROC_HEADERS, NULL), IH_CHAIN_CONTINUE);
      IH_EQ_STR(fake.log, "");
    }
  }
  env_close(&e);
}

static void test_order(void)
{
  IH_TEST("chain order: no priority first (KB Q237471), HIGH, MEDIUM, LOW; global first; then file order");
  env e;
  if (!env_ordering(&e))
    return;
  const ih_site *a = site_named(e.cfg, "a"), *b = site_named(e.cfg, "b");
  const ih_filter_chain *ca = ih_filter_chain_for(e.t, a);
  const ih_filter_chain *cb = ih_filter_chain_for(e.t, b);
  const ih_filter_chain *cg = ih_filter_chain_for(e.t, NULL);
  /* g_none (file position 2) before g_high (4), a_none (5) before a_high (1):
   * priority wins over file order; g_high before a_high and g_low2 (7) before
   * a_low (6): global before site; g_low (0) before g_low2 (7): file order */
  IH_EQ_STR(NAMES(ca), "g_none,a_none,g_high,a_high,g_low,g_low2,a_low");
  IH_EQ_STR(NAMES(cb), "g_none,g_high,b_med,g_low,g_low2");
  IH_EQ_STR(NAMES(cg), "g_none,g_high,g_low,g_low2");
  if (ca && cb && cg) {
    IH_CHECK(!ca->blocked && !cb->blocked && !cg->blocked);
    /* the filters in a chain are the table's own entries */
    for (size_t i = 0; i < ca->count; i++)
      IH_CHECK(ca->filters[i] >= e.t->filters && ca->filters[i] < e.t->filters + e.t->count);
  }

  IH_TEST("chain wanted: what any filter registered for, without priority and port bits");
  if (ca && cb && cg) {
    IH_EQ_INT(ca->wanted, ALL_NOTIFICATIONS);
    IH_EQ_INT(cb->wanted, ALL_NOTIFICATIONS);
    IH_CHECK(ih_filter_wants(ca, IH_SF_NOTIFY_URL_MAP));
    IH_CHECK(!ih_filter_wants(ca, IH_SF_NOTIFY_ORDER_HIGH));
    IH_CHECK(!ih_filter_wants(ca, IH_SF_NOTIFY_SECURE_PORT));
    IH_CHECK(!ih_filter_wants(ca, IH_SF_NOTIFY_NONSECURE_PORT));
    /* the global chain: raw reads before the site is known, and every
     * notification of a request no site serves (filter_chain.h) */
    IH_EQ_INT(cg->wanted, ALL_NOTIFICATIONS);
    IH_CHECK(ih_filter_wants(cg, IH_SF_NOTIFY_READ_RAW_DATA));
    IH_CHECK(ih_filter_wants(cg, IH_SF_NOTIFY_END_OF_NET_SESSION));
  }
  env_close(&e);

  IH_TEST("chain wanted: only what was registered");
  if (!env_open(&e, ordering_ini))
    return;
  mark_loaded(e.t, "g_low", IH_SF_NOTIFY_READ_RAW_DATA | IH_SF_NOTIFY_PREPROC_HEADERS);
  mark_loaded(e.t, "g_none", IH_SF_NOTIFY_LOG);
  mark_loaded(e.t, "g_high", IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_ORDER_HIGH);
  mark_loaded(e.t, "g_low2", IH_SF_NOTIFY_END_OF_REQUEST);
  mark_loaded(e.t, "b_med", IH_SF_NOTIFY_SEND_RESPONSE | IH_SF_NOTIFY_ORDER_MEDIUM);
  mark_loaded(e.t, "a_high", IH_SF_NOTIFY_URL_MAP);
  mark_loaded(e.t, "a_none", IH_SF_NOTIFY_AUTH_COMPLETE);
  mark_loaded(e.t, "a_low", IH_SF_NOTIFY_ACCESS_DENIED);
  if (env_build(&e)) {
    const ih_filter_chain *chain_b = ih_filter_chain_for(e.t, site_named(e.cfg, "b"));
    const ih_filter_chain *chain_g = ih_filter_chain_for(e.t, NULL);
    if (chain_b && chain_g) {
      IH_EQ_INT(chain_b->wanted, IH_SF_NOTIFY_READ_RAW_DATA | IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_LOG |
                                     IH_SF_NOTIFY_END_OF_REQUEST | IH_SF_NOTIFY_SEND_RESPONSE);
      IH_CHECK(!ih_filter_wants(chain_b, IH_SF_NOTIFY_URL_MAP)); /* a's filter */
      /* the global chain: its own filters' registrations, no site filter's */
      IH_EQ_INT(chain_g->wanted, IH_SF_NOTIFY_READ_RAW_DATA | IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_LOG |
                                     IH_SF_NOTIFY_END_OF_REQUEST);
      IH_CHECK(!ih_filter_wants(chain_g, IH_SF_NOTIFY_SEND_RESPONSE)); /* b_med's */
      IH_CHECK(!ih_filter_wants(chain_g, IH_SF_NOTIFY_END_OF_NET_SESSION)); /* nobody asked for it */
    }
  }
  env_close(&e);
}

static void test_load_errors(void)
{
  static const char ini[] = "[filter g_opt]\ndll = g_opt.dll\non_load_error = skip\n"
                            "[site a]\nbindings = *:80\nroot = www\n"
                            "[site b]\nbindings = *:81\nroot = www2\n"
                            "[filter a_must]\nsite = a\ndll = a_must.dll\n"
                            "[filter a_must2]\nsite = a\ndll = a_must2.dll\non_load_error = fail\n"
                            "[filter b_opt]\nsite = b\ndll = b_opt.dll\non_load_error = skip\n";
  IH_TEST("on_load_error: fail blocks the filter's sites (503), skip leaves the filter out");
  env e;
  if (!env_open(&e, ini))
    return;
  const ih_site *a = site_named(e.cfg, "a"), *b = site_named(e.cfg, "b");
  if (!env_build(&e)) { /* nothing loaded */
    env_close(&e);
    return;
  }
  const ih_filter_chain *a1 = ih_filter_chain_for(e.t, a);
  const ih_filter_chain *b1 = ih_filter_chain_for(e.t, b);
  const ih_filter_chain *g1 = ih_filter_chain_for(e.t, NULL);
  if (!a1 || !b1 || !g1) {
    IH_CHECK(!"no chains");
    env_close(&e);
    return;
  }
  IH_CHECK(a1->blocked);
  IH_EQ_STR(a1->blocked_by, "a_must"); /* the first in file order */
  IH_EQ_INT(a1->count, 0);
  IH_CHECK(!b1->blocked);
  IH_CHECK(b1->blocked_by == NULL);
  IH_EQ_INT(b1->count, 0);
  IH_CHECK(!g1->blocked); /* another site's failure is not the global chain's */

  IH_TEST("rebuild: a new chain is published, the old one stays valid and unchanged");
  mark_loaded(e.t, "g_opt", IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_READ_RAW_DATA);
  mark_loaded(e.t, "a_must", IH_SF_NOTIFY_PREPROC_HEADERS);
  IH_EQ_INT(ih_filter_table_build(e.t), 0);
  const ih_filter_chain *a2 = ih_filter_chain_for(e.t, a);
  const ih_filter_chain *b2 = ih_filter_chain_for(e.t, b);
  IH_CHECK(a2 != NULL && a2 != a1);
  IH_CHECK(b2 != NULL && b2 != b1);
  if (a2 && b2) {
    IH_CHECK(a2->blocked);
    IH_EQ_STR(a2->blocked_by, "a_must2"); /* still one that failed */
    IH_EQ_STR(NAMES(a2), "g_opt,a_must");
    IH_CHECK(!b2->blocked);
    IH_EQ_STR(NAMES(b2), "g_opt"); /* b_opt is skipped */
  }
  /* requests holding the first chains still read them (ASan: not freed) */
  IH_CHECK(a1->blocked);
  IH_EQ_STR(a1->blocked_by, "a_must");
  IH_EQ_INT(a1->count, 0);
  IH_EQ_INT(b1->count, 0);
  IH_EQ_INT(g1->count, 0);

  mark_loaded(e.t, "a_must2", IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_ORDER_HIGH);
  mark_loaded(e.t, "b_opt", IH_SF_NOTIFY_PREPROC_HEADERS);
  IH_EQ_INT(ih_filter_table_build(e.t), 0);
  const ih_filter_chain *a3 = ih_filter_chain_for(e.t, a);
  const ih_filter_chain *b3 = ih_filter_chain_for(e.t, b);
  if (a3 && b3) {
    IH_CHECK(!a3->blocked);
    IH_CHECK(a3->blocked_by == NULL);
    IH_EQ_STR(NAMES(a3), "g_opt,a_must,a_must2");
    IH_EQ_STR(NAMES(b3), "g_opt,b_opt");
  }
  IH_EQ_STR(NAMES(a2), "g_opt,a_must"); /* the second build's chain is unchanged too */
  IH_CHECK(a2->blocked);
  env_close(&e);

  IH_TEST("on_load_error: a global filter that must load blocks every chain");
  if (!env_open(&e, "[filter g_must]\ndll = g.dll\n"
                    "[filter g_must2]\ndll = g2.dll\n"
                    "[site a]\nbindings = *:80\nroot = www\n"
                    "[filter a_ok]\nsite = a\ndll = a.dll\n"))
    return;
  mark_loaded(e.t, "a_ok", IH_SF_NOTIFY_PREPROC_HEADERS);
  if (env_build(&e)) {
    const ih_filter_chain *site = ih_filter_chain_for(e.t, &e.cfg->sites[0]);
    const ih_filter_chain *global = ih_filter_chain_for(e.t, NULL);
    if (site && global) {
      IH_CHECK(site->blocked);
      IH_EQ_STR(site->blocked_by, "g_must");
      IH_EQ_STR(NAMES(site), "a_ok"); /* the loaded one is still listed */
      IH_CHECK(global->blocked);
      IH_EQ_STR(global->blocked_by, "g_must");
    }
  }
  env_close(&e);
}

/* ---- notifying ---- */

static enum ih_chain_result notify(env *e, const ih_filter_chain *chain, uint32_t type, void *payload)
{
  fake_reset(e->c, e->fc, type, payload);
  enum ih_chain_result r = ih_filter_notify(e->c, e->fc, chain, type, payload);
  IH_EQ_INT(fake.bad_calls, 0);
  IH_CHECK(!e->fc->in_notification);
  return r;
}

/* Like notify, with one scripted answer. */
static enum ih_chain_result notify_answer(env *e, const ih_filter_chain *chain, uint32_t type, const char *filter,
                                          uint32_t status)
{
  int payload = 0;
  fake_reset(e->c, e->fc, type, &payload);
  fake_answer(filter, type, status);
  enum ih_chain_result r = ih_filter_notify(e->c, e->fc, chain, type, &payload);
  IH_EQ_INT(fake.bad_calls, 0);
  IH_CHECK(!e->fc->in_notification);
  return r;
}

static void test_notify(void)
{
  env e;
  if (!env_ordering(&e))
    return;
  const ih_filter_chain *ca = ih_filter_chain_for(e.t, site_named(e.cfg, "a"));
  const ih_filter_chain *cg = ih_filter_chain_for(e.t, NULL);
  if (!ca || !cg) {
    env_close(&e);
    return;
  }
  int payload = 42;

  IH_TEST("notify: delivered in chain order, with the payload, inside a notification");
  IH_EQ_INT(notify(&e, ca, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2,a_low");
  IH_EQ_INT(notify(&e, ca, IH_SF_NOTIFY_SEND_RESPONSE, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2,a_low");

  IH_TEST("notify: SEND_RAW_DATA goes backwards, HIGH closest to the wire (IIS 4 Event Ordering)");
  IH_EQ_INT(notify(&e, ca, IH_SF_NOTIFY_SEND_RAW_DATA, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "a_low,g_low2,g_low,a_high,g_high,a_none,g_none");
  /* ... and a filter that ends it stops the walk there */
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_SEND_RAW_DATA, "a_high", IH_SF_STATUS_REQ_HANDLED_NOTIFICATION),
            IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "a_low,g_low2,g_low,a_high");

  IH_TEST("notify: filters that did not register for the type are skipped");
  IH_EQ_INT(notify(&e, ca, IH_SF_NOTIFY_URL_MAP, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,g_low,g_low2,a_low"); /* not a_high */
  IH_EQ_INT(notify(&e, ca, IH_SF_NOTIFY_LOG, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2"); /* not a_low */

  IH_TEST("notify: the global chain calls the global filters only");
  IH_EQ_INT(notify(&e, cg, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,g_high,g_low,g_low2");
  IH_EQ_INT(notify(&e, cg, IH_SF_NOTIFY_READ_RAW_DATA, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,g_high,g_low,g_low2");
  IH_EQ_INT(notify(&e, cg, IH_SF_NOTIFY_END_OF_NET_SESSION, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,g_high,g_low,g_low2");

  IH_TEST("notify: HANDLED_NOTIFICATION ends this notification's chain, the request goes on");
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_PREPROC_HEADERS, "g_high", IH_SF_STATUS_REQ_HANDLED_NOTIFICATION),
            IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high");
  /* an answer for another type does not matter */
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_PREPROC_HEADERS, "g_none", IH_SF_STATUS_REQ_NEXT_NOTIFICATION),
            IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2,a_low");

  IH_TEST("notify: FINISHED, FINISHED_KEEP_CONN, ERROR and a fault end the chain with their results");
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_PREPROC_HEADERS, "a_none", IH_SF_STATUS_REQ_FINISHED),
            IH_CHAIN_FINISHED);
  IH_EQ_STR(fake.log, "g_none,a_none");
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_AUTHENTICATION, "a_high", IH_SF_STATUS_REQ_FINISHED_KEEP_CONN),
            IH_CHAIN_FINISHED_KEEP);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high");
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_URL_MAP, "g_low", IH_SF_STATUS_REQ_ERROR), IH_CHAIN_ERROR);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,g_low");
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_SEND_RESPONSE, "g_none", IH_SF_STATUS_FAULTED), IH_CHAIN_FAULT);
  IH_EQ_STR(fake.log, "g_none");
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_SEND_RESPONSE, "a_low", IH_SF_STATUS_REQ_FINISHED),
            IH_CHAIN_FINISHED); /* the last one may end it too */
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2,a_low");

  IH_TEST("notify: READ_NEXT means something only for READ_RAW_DATA (ms525498)");
  IH_EQ_INT(notify_answer(&e, cg, IH_SF_NOTIFY_READ_RAW_DATA, "g_high", IH_SF_STATUS_REQ_READ_NEXT),
            IH_CHAIN_READ_NEXT);
  IH_EQ_STR(fake.log, "g_none,g_high");
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_PREPROC_HEADERS, "g_high", IH_SF_STATUS_REQ_READ_NEXT),
            IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2,a_low");
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_SEND_RAW_DATA, "g_low", IH_SF_STATUS_REQ_READ_NEXT),
            IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "a_low,g_low2,g_low,a_high,g_high,a_none,g_none");

  IH_TEST("notify: an unknown status value is taken as NEXT_NOTIFICATION");
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_PREPROC_HEADERS, "a_none", 0x12345678u), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2,a_low");
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_PREPROC_HEADERS, "a_none", 0), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2,a_low");
  IH_EQ_INT(notify_answer(&e, ca, IH_SF_NOTIFY_PREPROC_HEADERS, "a_none", IH_SF_STATUS_REQ_READ_NEXT + 1),
            IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2,a_low");

  IH_TEST("notify: nothing is called without filter state, chain or filter_call");
  fake_reset(e.c, e.fc, IH_SF_NOTIFY_PREPROC_HEADERS, &payload);
  IH_EQ_INT(ih_filter_notify(e.c, NULL, ca, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_INT(ih_filter_notify(e.c, e.fc, NULL, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
  e.platform.filter_call = NULL;
  IH_EQ_INT(ih_filter_notify(e.c, e.fc, ca, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
  e.platform.filter_call = fake_filter_call;
  IH_EQ_STR(fake.log, "");
  env_close(&e);
}

static void test_disable(void)
{
  IH_TEST("SF_REQ_DISABLE_NOTIFICATIONS: that filter, those types, the rest of the request");
  env e;
  if (!env_ordering(&e))
    return;
  const ih_filter_chain *ca = ih_filter_chain_for(e.t, site_named(e.cfg, "a"));
  if (!ca) {
    env_close(&e);
    return;
  }
  int payload = 0;
  /* a_none disables PREPROC_HEADERS and URL_MAP from inside its PREPROC call */
  fake_reset(e.c, e.fc, IH_SF_NOTIFY_PREPROC_HEADERS, &payload);
  fake.disable_in = "a_none";
  fake.disable_types = IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_URL_MAP;
  IH_EQ_INT(ih_filter_notify(e.c, e.fc, ca, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2,a_low"); /* this call still happened */
  IH_EQ_INT(notify(&e, ca, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,g_high,a_high,g_low,g_low2,a_low");
  IH_EQ_INT(notify(&e, ca, IH_SF_NOTIFY_URL_MAP, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,g_high,g_low,g_low2,a_low");
  /* its other notifications still come */
  IH_EQ_INT(notify(&e, ca, IH_SF_NOTIFY_SEND_RESPONSE, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2,a_low");

  /* another connection's state is its own */
  ih_filter_conn *other = ih_filter_conn_new(e.t);
  fake_reset(e.c, other, IH_SF_NOTIFY_PREPROC_HEADERS, &payload);
  IH_EQ_INT(ih_filter_notify(e.c, other, ca, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2,a_low");
  IH_EQ_INT(fake.bad_calls, 0);
  ih_filter_conn_free(other);

  /* disabling from outside a notification (the platform's SF_REQ call) */
  ih_filter_cb_disable(e.fc, filter_named(e.t, "g_low2"), IH_SF_NOTIFY_SEND_RAW_DATA);
  IH_EQ_INT(notify(&e, ca, IH_SF_NOTIFY_SEND_RAW_DATA, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "a_low,g_low,a_high,g_high,a_none,g_none");

  IH_TEST("SF_REQ_DISABLE_NOTIFICATIONS: the next request enables them again");
  ih_filter_conn_request_done(e.fc);
  IH_EQ_INT(notify(&e, ca, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "g_none,a_none,g_high,a_high,g_low,g_low2,a_low");
  IH_EQ_INT(notify(&e, ca, IH_SF_NOTIFY_SEND_RAW_DATA, &payload), IH_CHAIN_CONTINUE);
  IH_EQ_STR(fake.log, "a_low,g_low2,g_low,a_high,g_high,a_none,g_none");
  env_close(&e);
}

static void test_ports(void)
{
  IH_TEST("port flags: a filter runs on the kinds of port it registered for; neither bit means both");
  env e;
  if (!env_open(&e, "[site a]\nbindings = *:80\nroot = www\n"
                    "[filter secure_only]\ndll = s.dll\n"
                    "[filter nonsecure_only]\ndll = n.dll\n"
                    "[filter both]\ndll = b.dll\n"
                    "[filter neither]\ndll = x.dll\n"))
    return;
  mark_loaded(e.t, "secure_only", IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_SECURE_PORT);
  mark_loaded(e.t, "nonsecure_only", IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_NONSECURE_PORT);
  mark_loaded(e.t, "both",
              IH_SF_NOTIFY_PREPROC_HEADERS | IH_SF_NOTIFY_SECURE_PORT | IH_SF_NOTIFY_NONSECURE_PORT);
  mark_loaded(e.t, "neither", IH_SF_NOTIFY_PREPROC_HEADERS);
  if (env_build(&e)) {
    const ih_filter_chain *chain = ih_filter_chain_for(e.t, &e.cfg->sites[0]);
    IH_EQ_STR(NAMES(chain), "secure_only,nonsecure_only,both,neither"); /* loaded: in the chain */
    IH_EQ_INT(chain ? chain->wanted : 0, IH_SF_NOTIFY_PREPROC_HEADERS);
    int payload = 0;
    IH_EQ_INT(notify(&e, chain, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
    IH_EQ_STR(fake.log, "nonsecure_only,both,neither");
    /* a connection accepted where a secure = on site is bound, before its request */
    e.c->secure_port = true;
    IH_EQ_INT(notify(&e, chain, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
    IH_EQ_STR(fake.log, "secure_only,both,neither");
    /* its request's view wins once there is one (a trusted proxy may say https, or not) */
    ih_request *r = calloc(1, sizeof *r);
    if (r) {
      e.c->req = r;
      r->secure = false;
      IH_EQ_INT(notify(&e, chain, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
      IH_EQ_STR(fake.log, "nonsecure_only,both,neither");
      e.c->secure_port = false;
      r->secure = true;
      IH_EQ_INT(notify(&e, chain, IH_SF_NOTIFY_PREPROC_HEADERS, &payload), IH_CHAIN_CONTINUE);
      IH_EQ_STR(fake.log, "secure_only,both,neither");
    }
  }
  env_close(&e);
}

/* ---- callbacks ---- */

static void test_alloc(void)
{
  IH_TEST("AllocMem: usable, aligned, kept for the connection, freed with it");
  env e;
  if (!env_ordering(&e))
    return;
  ih_filter_conn *fc = e.fc;
  size_t sizes[] = { 1, 7, 16, 100, 4096, 0 };
  void *blocks[6];
  for (size_t i = 0; i < 6; i++) {
    blocks[i] = ih_filter_cb_alloc(fc, sizes[i]);
    IH_CHECK(blocks[i] != NULL);
    if (blocks[i]) {
      IH_EQ_INT((uintptr_t)blocks[i] % alignof(max_align_t), 0);
      memset(blocks[i], 0xA5, sizes[i]); /* ASan: every byte is ours */
    }
  }
  IH_EQ_INT(fc->alloc_bytes, 1 + 7 + 16 + 100 + 4096);
  /* distinct blocks: writing one leaves the others */
  memset(blocks[2], 0x11, 16);
  IH_CHECK(((unsigned char *)blocks[1])[6] == 0xA5 && ((unsigned char *)blocks[3])[0] == 0xA5);
  /* a request ending does not free them (IIS: the session's memory) */
  ih_filter_conn_request_done(fc);
  IH_EQ_INT(fc->alloc_bytes, 1 + 7 + 16 + 100 + 4096);
  memset(blocks[4], 0x5A, 4096);

  IH_TEST("AllocMem: capped at IH_FILTER_ALLOC_MAX per connection, then NULL");
  size_t room = IH_FILTER_ALLOC_MAX - fc->alloc_bytes;
  IH_CHECK(ih_filter_cb_alloc(fc, room + 1) == NULL);
  IH_CHECK(ih_filter_cb_alloc(fc, SIZE_MAX) == NULL);
  IH_EQ_INT(fc->alloc_bytes, IH_FILTER_ALLOC_MAX - room);
  char *last = ih_filter_cb_alloc(fc, room);
  IH_CHECK(last != NULL);
  if (last) {
    last[0] = 'x';
    last[room - 1] = 'y';
  }
  IH_EQ_INT(fc->alloc_bytes, IH_FILTER_ALLOC_MAX);
  IH_CHECK(ih_filter_cb_alloc(fc, 1) == NULL);
  /* a fresh connection has its own budget */
  ih_filter_conn *other = ih_filter_conn_new(e.t);
  void *p = ih_filter_cb_alloc(other, 64);
  IH_CHECK(p != NULL);
  ih_filter_conn_free(other); /* ASan's leak check proves it frees every block */
  env_close(&e);
}

static void test_write(void)
{
  IH_TEST("WriteClient: queued in order until the notification returns");
  env e;
  if (!env_ordering(&e))
    return;
  ih_filter_conn *fc = e.fc;
  IH_EQ_INT(ih_filter_cb_write(fc, "abc", 3), 0);
  IH_EQ_INT(ih_filter_cb_write(fc, "", 0), 0);
  IH_EQ_INT(ih_filter_cb_write(fc, "defgh", 5), 0);
  IH_EQ_MEM(fc->out, fc->out_len, "abcdefgh", 8);
  /* growing past the first buffer keeps what was there */
  char block[3000];
  memset(block, 'z', sizeof block);
  IH_EQ_INT(ih_filter_cb_write(fc, block, sizeof block), 0);
  IH_EQ_INT(fc->out_len, 8 + sizeof block);
  IH_EQ_MEM(fc->out, 8, "abcdefgh", 8);
  IH_CHECK(fc->out[8 + sizeof block - 1] == 'z');
  IH_CHECK(fc->out_cap >= fc->out_len);
  /* the pipeline sends and forgets it with the request */
  ih_filter_conn_request_done(fc);
  IH_EQ_INT(fc->out_len, 0);
  IH_EQ_INT(ih_filter_cb_write(fc, "next", 4), 0);
  IH_EQ_MEM(fc->out, fc->out_len, "next", 4);

  IH_TEST("WriteClient: a response's queue is bounded (16 MiB)");
  ih_filter_conn_request_done(fc);
  size_t big = (16u << 20) + 1;
  char *huge = calloc(1, big);
  IH_EQ_INT(ih_filter_cb_write(fc, huge, big), -1);
  IH_EQ_INT(fc->out_len, 0);
  IH_EQ_INT(ih_filter_cb_write(fc, huge, big - 1), 0);
  IH_EQ_INT(ih_filter_cb_write(fc, "x", 1), -1);
  IH_EQ_INT(fc->out_len, big - 1);
  free(huge);
  env_close(&e);
}

static void test_add_headers(void)
{
  IH_TEST("AddResponseHeaders: \"Name: value\\r\\n\" lines, normalised and accumulated (ms524503)");
  env e;
  if (!env_ordering(&e))
    return;
  ih_filter_conn *fc = e.fc;
  IH_EQ_INT(ih_filter_cb_add_response_headers(fc, "X-A: 1\r\nX-B: 2\r\n"), 0);
  IH_EQ_MEM(fc->add_headers, fc->add_headers_len, "X-A: 1\r\nX-B: 2\r\n", 16);
  IH_EQ_INT(ih_filter_cb_add_response_headers(fc, "X-C:3"), 0); /* no CRLF, no space: normalised */
  IH_EQ_MEM(fc->add_headers, fc->add_headers_len, "X-A: 1\r\nX-B: 2\r\nX-C: 3\r\n", 24);
  IH_EQ_INT(ih_filter_cb_add_response_headers(fc, "X-D:  4  \n"), 0);
  IH_EQ_MEM(fc->add_headers, fc->add_headers_len, "X-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\n", 32);
  IH_EQ_INT(ih_filter_cb_add_response_headers(fc, ""), 0); /* nothing to add */
  IH_EQ_INT(fc->add_headers_len, 32);

  IH_TEST("AddResponseHeaders: malformed text is refused whole");
  static const char *const bad[] = {
    "no colon here\r\n",
    "X-E: 5\r\nno colon\r\n", /* one bad line refuses the good one too */
    "Bad Name: v\r\n",
    "X-E: a\x01z\r\n",
    "X-E: a\rInjected: 1\r\n",
    "X-E: 5\r\n\r\nbody after the head",
    "X-E: 5\r\n\r\n",
    ": empty name\r\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    IH_EQ_INT(ih_filter_cb_add_response_headers(fc, bad[i]), -1);
  IH_EQ_MEM(fc->add_headers, fc->add_headers_len, "X-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\n", 32);

  IH_TEST("SF_REQ_ADD_HEADERS_ON_DENIAL: kept apart from AddResponseHeaders (ms524985)");
  IH_EQ_INT(ih_filter_cb_add_headers_on_denial(fc, "WWW-Authenticate: Basic realm=\"r\"\r\n"), 0);
  IH_EQ_MEM(fc->denial_headers, fc->denial_headers_len, "WWW-Authenticate: Basic realm=\"r\"\r\n", 35);
  IH_EQ_INT(ih_filter_cb_add_headers_on_denial(fc, "no colon"), -1);
  IH_EQ_INT(fc->denial_headers_len, 35);
  IH_EQ_INT(fc->add_headers_len, 32);

  IH_TEST("AddResponseHeaders: bounded per request, forgotten with it");
  char *line = malloc(40000);
  memset(line, 'v', 40000);
  memcpy(line, "X-Big: ", 7);
  line[39999] = '\0';
  IH_EQ_INT(ih_filter_cb_add_response_headers(fc, line), 0);
  size_t before = fc->add_headers_len;
  IH_EQ_INT(ih_filter_cb_add_response_headers(fc, line), -1); /* past 64 KiB */
  IH_EQ_INT(fc->add_headers_len, before);
  free(line);
  ih_filter_conn_request_done(fc);
  IH_EQ_INT(fc->add_headers_len, 0);
  IH_CHECK(fc->add_headers == NULL);
  IH_EQ_INT(fc->denial_headers_len, 0);
  IH_EQ_INT(ih_filter_cb_add_response_headers(fc, "X-New: 1\r\n"), 0);
  IH_EQ_MEM(fc->add_headers, fc->add_headers_len, "X-New: 1\r\n", 10);
  env_close(&e);
}

static void test_send_response_header(void)
{
  IH_TEST("SF_REQ_SEND_RESPONSE_HEADER: NULL status is 200 OK (ms525219)");
  env e;
  if (!env_ordering(&e))
    return;
  ih_filter_conn *fc = e.fc;
  IH_EQ_INT(ih_filter_cb_send_response_header(e.c, fc, NULL, NULL), 0);
  IH_CHECK(fc->head_pending);
  IH_CHECK(fc->head_sent_this_request);
  IH_EQ_INT(fc->head_status, 200);
  IH_EQ_STR(fc->head_reason, "OK");
  IH_EQ_INT(fc->head_lines_len, 0);
  IH_CHECK(!fc->head_close && !fc->head_chunked);
  IH_CHECK(fc->head_length == UINT64_MAX);
  IH_EQ_INT(fc->out_len, 0);

  IH_TEST("SF_REQ_SEND_RESPONSE_HEADER: once per request");
  IH_EQ_INT(ih_filter_cb_send_response_header(e.c, fc, "404 Not Found", "X-A: 1\r\n"), -1);
  IH_EQ_INT(fc->head_status, 200);
  IH_EQ_INT(fc->head_lines_len, 0);
  ih_filter_conn_request_done(fc);
  IH_CHECK(!fc->head_pending && !fc->head_sent_this_request);

  IH_TEST("SF_REQ_SEND_RESPONSE_HEADER: a bare code gets its reason phrase");
  IH_EQ_INT(ih_filter_cb_send_response_header(e.c, fc, "301", "Location: http://example.com/\r\n"), 0);
  IH_EQ_INT(fc->head_status, 301);
  IH_EQ_STR(fc->head_reason, "Moved Permanently");
  IH_EQ_MEM(fc->head_lines, fc->head_lines_len, "Location: http://example.com/\r\n", 31);
  ih_filter_conn_request_done(fc);
  IH_CHECK(fc->head_lines == NULL);
  IH_EQ_INT(fc->head_lines_len, 0);

  IH_TEST("SF_REQ_SEND_RESPONSE_HEADER: own reason, header lines, a body after the empty line");
  IH_EQ_INT(ih_filter_cb_write(fc, "[early]", 7), 0);
  IH_EQ_INT(ih_filter_cb_send_response_header(e.c, fc, "401 Access Denied",
                                              "WWW-Authenticate: Basic realm=\"x\"\r\n"
                                              "Content-Length: 4\r\n"
                                              "\r\n"
                                              "deny"),
            0);
  IH_EQ_INT(fc->head_status, 401);
  IH_EQ_STR(fc->head_reason, "Access Denied");
  IH_EQ_MEM(fc->head_lines, fc->head_lines_len, "WWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 4\r\n", 54);
  IH_CHECK(fc->head_length == 4);
  IH_CHECK(!fc->head_close && !fc->head_chunked);
  IH_EQ_MEM(fc->out, fc->out_len, "[early]deny", 11); /* the body joins the write queue */
  ih_filter_conn_request_done(fc);

  IH_TEST("SF_REQ_SEND_RESPONSE_HEADER: framing and Connection from the lines");
  IH_EQ_INT(ih_filter_cb_send_response_header(e.c, fc, "200 OK", "Connection: close\r\nContent-Type: text/plain\r\n"),
            0);
  IH_CHECK(fc->head_close);
  IH_EQ_MEM(fc->head_lines, fc->head_lines_len, "Content-Type: text/plain\r\n", 26); /* the server writes Connection */
  IH_CHECK(fc->head_length == UINT64_MAX);
  ih_filter_conn_request_done(fc);
  IH_EQ_INT(ih_filter_cb_send_response_header(e.c, fc, "HTTP/1.1 200 OK",
                                              "Transfer-Encoding: chunked\r\nContent-Length: 10\r\n"),
            0);
  IH_CHECK(fc->head_chunked);
  IH_CHECK(fc->head_length == UINT64_MAX); /* never both (RFC 9112 6.1) */
  IH_EQ_INT(fc->head_status, 200);
  ih_filter_conn_request_done(fc);

  IH_TEST("SF_REQ_SEND_RESPONSE_HEADER: an invalid status is refused and does not use up the call");
  IH_EQ_INT(ih_filter_cb_send_response_header(e.c, fc, "not a status", NULL), -1);
  IH_EQ_INT(ih_filter_cb_send_response_header(e.c, fc, "99 Low", NULL), -1);
  IH_CHECK(!fc->head_pending && !fc->head_sent_this_request);
  IH_EQ_INT(ih_filter_cb_send_response_header(e.c, fc, "", NULL), 0); /* "" is 200 OK as NULL is */
  IH_EQ_INT(fc->head_status, 200);
  IH_EQ_STR(fc->head_reason, "OK");
  env_close(&e);
}

static void test_request_state(void)
{
  IH_TEST("per request: next read size, identity and heads are forgotten; contexts are kept");
  env e;
  if (!env_ordering(&e))
    return;
  ih_filter_conn *fc = e.fc;
  IH_CHECK(fc->table == e.t);
  ih_filter_cb_set_next_read_size(fc, 512);
  IH_EQ_INT(fc->next_read_size, 512);
  int context_value = 7;
  fc->contexts[filter_named(e.t, "a_low")->slot] = &context_value; /* pFilterContext */
  snprintf(fc->user, sizeof fc->user, "alice");
  fc->authenticated_phase = true;
  ih_filter_conn_request_done(fc);
  IH_EQ_INT(fc->next_read_size, 0);
  IH_EQ_STR(fc->user, "");
  IH_CHECK(!fc->authenticated_phase);
  IH_CHECK(fc->contexts[filter_named(e.t, "a_low")->slot] == &context_value); /* the connection's */
  ih_filter_conn_request_done(NULL);                                           /* harmless */
  ih_filter_conn_free(NULL);
  env_close(&e);
}

static const char *variable(ih_conn *c, const char *name, int *status)
{
  static char buf[256];
  uint32_t size = sizeof buf;
  buf[0] = '\0';
  *status = ih_filter_cb_server_variable(c, name, buf, &size);
  return buf;
}

static void test_server_variables(void)
{
  IH_TEST("GetServerVariable at any notification: unknown yet is NO_DATA (KB 892988)");
  env e;
  if (!env_ordering(&e))
    return;
  ih_conn *c = e.c;
  snprintf(c->peer_addr, sizeof c->peer_addr, "192.0.2.7");
  snprintf(c->local_addr, sizeof c->local_addr, "198.51.100.1");
  c->local_port = 80;
  int st;
  /* READ_RAW_DATA time: only the connection's own variables */
  IH_EQ_STR(variable(c, "REMOTE_ADDR", &st), "192.0.2.7");
  IH_EQ_INT(st, IH_VAR_OK);
  IH_EQ_STR(variable(c, "SERVER_PORT", &st), "80");
  IH_EQ_INT(st, IH_VAR_OK);
  variable(c, "HTTP_HOST", &st);
  IH_EQ_INT(st, IH_VAR_NO_DATA);
  variable(c, "HTTP_CONNECTION", &st); /* may yet come: not known to be absent */
  IH_EQ_INT(st, IH_VAR_NO_DATA);
  variable(c, "URL", &st);
  IH_EQ_INT(st, IH_VAR_NO_DATA);
  variable(c, "AUTH_TYPE", &st);
  IH_EQ_INT(st, IH_VAR_NO_DATA);
  variable(c, "NO_SUCH_VARIABLE", &st);
  IH_EQ_INT(st, IH_VAR_INVALID_INDEX);
  IH_EQ_INT(ih_filter_cb_instance_id(c), 0); /* no site yet */

  /* PREPROC_HEADERS time: the head is known, the identity is not */
  static const char head[] = "GET /x HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
  c->req = calloc(1, sizeof *c->req); /* a request begins (between requests a connection has none) */
  IH_EQ_INT(ih_http_parse_request(head, sizeof head - 1, 0, NULL, &c->req->head), IH_PARSE_DONE);
  c->req->active = true;
  c->req->site = site_named(e.cfg, "b");
  IH_EQ_STR(variable(c, "HTTP_HOST", &st), "www.example.com");
  IH_EQ_INT(st, IH_VAR_OK);
  IH_EQ_STR(variable(c, "REQUEST_METHOD", &st), "GET");
  IH_EQ_INT(st, IH_VAR_OK);
  /* a header the head does not carry: ERROR_INVALID_INDEX, as for extensions */
  variable(c, "HTTP_CONNECTION", &st);
  IH_EQ_INT(st, IH_VAR_INVALID_INDEX);
  variable(c, "HEADER_X-Not-Sent", &st);
  IH_EQ_INT(st, IH_VAR_INVALID_INDEX);
  variable(c, "UNICODE_HTTP_X_NOT_SENT", &st);
  IH_EQ_INT(st, IH_VAR_INVALID_INDEX);
  variable(c, "AUTH_TYPE", &st);
  IH_EQ_INT(st, IH_VAR_NO_DATA);
  variable(c, "UNICODE_REMOTE_USER", &st);
  IH_EQ_INT(st, IH_VAR_NO_DATA);
  IH_EQ_INT(ih_filter_cb_instance_id(c), c->req->site->id);

  /* after AUTHENTICATION: the identity a filter left */
  snprintf(e.fc->user, sizeof e.fc->user, "alice");
  e.fc->authenticated_phase = true;
  IH_EQ_STR(variable(c, "AUTH_TYPE", &st), "Basic");
  IH_EQ_INT(st, IH_VAR_OK);
  IH_EQ_STR(variable(c, "REMOTE_USER", &st), "alice");
  IH_EQ_INT(st, IH_VAR_OK);
  env_close(&e);
}

int main(void)
{
  test_table();
  test_order();
  test_load_errors();
  test_notify();
  test_disable();
  test_ports();
  test_alloc();
  test_write();
  test_add_headers();
  test_send_response_header();
  test_request_state();
  test_server_variables();
  return ih_test_finish();
}
