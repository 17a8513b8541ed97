/* Unit tests for the application pools of service/core/config.c ([pool NAME],
 * pool = NAME in [site] and [vdir]): defaults, every key's range and its
 * exact "file:line: message", recycle schedules and memory sizes, the
 * built-in "default" pool and its redefinition, and which pool a request
 * path resolves to (docs/configuration.md#pool-name, docs/pools.md). */
#include "core/config.h"
#include "ih_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A valid site for tests that only exercise pools. */
#define SITE "[site a]\nbindings = *:80\nroot = www\n"

static ih_config *parse(const char *text)
{
  char err[512] = "";
  ih_config *cfg = NULL;
  int rc = ih_config_parse(text, strlen(text), "t.ini", "base", &cfg, err, sizeof err);
  if (rc != 0)
    ih_test_note("unexpected error: %s", err);
  IH_EQ_INT(rc, 0);
  IH_CHECK(rc != 0 || cfg != NULL);
  return rc == 0 ? cfg : NULL;
}

static void expect_err(const char *text, const char *want)
{
  char err[512];
  memset(err, 'x', sizeof err);
  ih_config *cfg = (ih_config *)&err; /* must be reset to NULL on error */
  int rc = ih_config_parse(text, strlen(text), "t.ini", "base", &cfg, err, sizeof err);
  IH_EQ_INT(rc, -1);
  IH_CHECK(cfg == NULL);
  IH_CHECK(memchr(err, '\0', sizeof err) != NULL);
  if (memchr(err, '\0', sizeof err))
    IH_EQ_STR(err, want);
  if (rc == 0)
    ih_config_free(cfg);
}

/* The name of the pool a request of site for path runs in ("(null)" for none). */
static const char *pool_of(const ih_config *c, const ih_site *s, const char *path)
{
  const ih_pool_conf *pool = ih_site_pool_for_path(c, s, ih_slice_from_cstr(path));
  return pool ? pool->name : "(null)";
}

/* Every value of a pool nobody configured; the time limits are the [server] ones. */
static void check_default_values(const ih_pool_conf *p, unsigned shutdown, unsigned startup)
{
  IH_EQ_INT(p->mode, IH_POOL_INPROCESS);
  IH_EQ_INT(p->bitness, 64);
  IH_CHECK(!p->bitness_given);
  IH_EQ_INT(p->processes, 1);
  IH_EQ_STR(p->identity, "");
  IH_EQ_INT(p->queue_length, 1000);
  IH_EQ_INT(p->rapid_fail_max_crashes, 5);
  IH_EQ_INT(p->rapid_fail_interval, 300);
  IH_EQ_INT(p->rapid_fail_backoff_max, 600);
  IH_EQ_INT(p->ping_interval, 30);
  IH_EQ_INT(p->ping_timeout, 90);
  IH_CHECK(p->recycle_requests == 0);
  IH_EQ_INT(p->recycle_time_minutes, 1740);
  IH_EQ_INT(p->recycle_schedule_count, 0);
  IH_CHECK(p->recycle_private_memory == 0);
  IH_EQ_INT(p->shutdown_time_limit, shutdown);
  IH_EQ_INT(p->startup_time_limit, startup);
  IH_CHECK(p->shadow_copy);
}

static void test_without_pools(void)
{
  IH_TEST("a file without [pool] has the built-in inprocess default pool only");
  ih_config *c = parse(SITE "[vdir a /v]\npath = v\n");
  if (!c)
    return;
  IH_EQ_INT(c->pool_count, 1);
  const ih_pool_conf *d = &c->pools[0];
  IH_EQ_STR(d->name, "default");
  IH_EQ_INT(d->index, 0);
  check_default_values(d, 90, 90);
  IH_CHECK(c->sites[0].pool == NULL);
  IH_CHECK(c->sites[0].vdirs[0].pool == NULL);
  IH_CHECK(c->sites[0].vdirs[1].pool == NULL);
  IH_CHECK(ih_site_pool_for_path(c, &c->sites[0], IH_SLICE_LIT("/")) == d);
  IH_CHECK(ih_site_pool_for_path(c, &c->sites[0], IH_SLICE_LIT("/v/x")) == d);
  IH_CHECK(ih_site_pool_for_path(c, NULL, IH_SLICE_LIT("/")) == d);
  IH_CHECK(!ih_config_has_worker_pools(c));
  IH_CHECK(ih_config_pool_named(c, "default") == d);
  IH_CHECK(ih_config_pool_named(c, "DEFAULT") == d);
  IH_CHECK(ih_config_pool_named(c, "defaults") == NULL);
  IH_CHECK(ih_config_pool_named(c, "") == NULL);
  IH_CHECK(ih_config_pool_named(c, NULL) == NULL);
  ih_config_free(c);
  IH_CHECK(ih_config_pool_named(NULL, "default") == NULL);
  IH_CHECK(ih_site_pool_for_path(NULL, NULL, IH_SLICE_LIT("/")) == NULL);
  IH_CHECK(!ih_config_has_worker_pools(NULL));

  /* The [server] time limits become the default pool's. */
  c = parse("[server]\nshutdown_time_limit = 7\nstartup_time_limit = 8\n" SITE);
  if (c) {
    check_default_values(&c->pools[0], 7, 8);
    ih_config_free(c);
  }
}

static void test_defaults(void)
{
  IH_TEST("[pool NAME] defaults");
  /* [server] after the pool: its time limits still are the pool's defaults. */
  ih_config *c = parse("[pool Empty]\n" SITE "[pool w]\nmode = worker\n"
                       "[server]\nshutdown_time_limit = 45\nstartup_time_limit = 46\n");
  if (!c)
    return;
  IH_EQ_INT(c->pool_count, 3);
  if (c->pool_count == 3) {
    IH_EQ_STR(c->pools[0].name, "default");
    IH_EQ_STR(c->pools[1].name, "Empty");
    IH_EQ_STR(c->pools[2].name, "w");
    for (size_t i = 0; i < 3; i++)
      IH_EQ_INT(c->pools[i].index, i);
    check_default_values(&c->pools[0], 45, 46);
    check_default_values(&c->pools[1], 45, 46);
    IH_EQ_INT(c->pools[2].mode, IH_POOL_WORKER);
    IH_EQ_INT(c->pools[2].bitness, 64);
    IH_CHECK(!c->pools[2].bitness_given);
    IH_EQ_INT(c->pools[2].shutdown_time_limit, 45);
    IH_EQ_INT(c->pools[2].processes, 1);
    IH_CHECK(ih_config_pool_named(c, "EMPTY") == &c->pools[1]);
    IH_CHECK(ih_config_pool_named(c, "W") == &c->pools[2]);
  }
  /* A worker pool nobody uses still means the server has worker pools. */
  IH_CHECK(ih_config_has_worker_pools(c));
  IH_CHECK(ih_site_pool_for_path(c, &c->sites[0], IH_SLICE_LIT("/x")) == &c->pools[0]);
  ih_config_free(c);
}

static void test_all_keys(void)
{
  IH_TEST("[pool NAME] every key set");
  ih_config *c = parse(SITE "[pool Shop.Web_1]\n"
                            "MODE = Worker\n"
                            "bitness = 32\n"
                            "processes = 64\n"
                            "identity = CORP\\svc-shop\n"
                            "queue_length = 65535\n"
                            "rapid_fail_max_crashes = 0\n"
                            "rapid_fail_interval = 86400\n"
                            "rapid_fail_backoff_max = 1\n"
                            "ping_interval = 0\n"
                            "ping_timeout = 3600\n"
                            "recycle_requests = 4294967295\n"
                            "recycle_time = 525600\n"
                            "recycle_schedule = 23:59, 0:00, 12:30\n"
                            "recycle_private_memory = 512M\n"
                            "shutdown_time_limit = 86400\n"
                            "startup_time_limit = 1\n"
                            "shadow_copy = off\n"
                            "[pool lo]\n"
                            "mode = worker\n"
                            "bitness = 064\n"
                            "processes = 1\n"
                            "identity = \"\"\n"
                            "queue_length = 1\n"
                            "rapid_fail_max_crashes = 1000\n"
                            "rapid_fail_interval = 1\n"
                            "rapid_fail_backoff_max = 86400\n"
                            "ping_interval = 3600\n"
                            "ping_timeout = 1\n"
                            "recycle_requests = 0\n"
                            "recycle_time = 0\n"
                            "recycle_schedule =\n"
                            "recycle_private_memory = 0\n"
                            "shutdown_time_limit = 1\n"
                            "startup_time_limit = 86400\n"
                            "shadow_copy = yes\n");
  if (!c)
    return;
  IH_EQ_INT(c->pool_count, 3);
  const ih_pool_conf *p = ih_config_pool_named(c, "shop.web_1");
  IH_CHECK(p == &c->pools[1]);
  if (p) {
    IH_EQ_STR(p->name, "Shop.Web_1");
    IH_EQ_INT(p->mode, IH_POOL_WORKER);
    IH_EQ_INT(p->bitness, 32);
    IH_CHECK(p->bitness_given);
    IH_EQ_INT(p->processes, 64);
    IH_EQ_STR(p->identity, "CORP\\svc-shop");
    IH_EQ_INT(p->queue_length, 65535);
    IH_EQ_INT(p->rapid_fail_max_crashes, 0);
    IH_EQ_INT(p->rapid_fail_interval, 86400);
    IH_EQ_INT(p->rapid_fail_backoff_max, 1);
    IH_EQ_INT(p->ping_interval, 0);
    IH_EQ_INT(p->ping_timeout, 3600);
    IH_CHECK(p->recycle_requests == 4294967295u);
    IH_EQ_INT(p->recycle_time_minutes, 525600);
    IH_EQ_INT(p->recycle_schedule_count, 3);
    IH_EQ_INT(p->recycle_schedule[0], 0);
    IH_EQ_INT(p->recycle_schedule[1], 12 * 60 + 30);
    IH_EQ_INT(p->recycle_schedule[2], 23 * 60 + 59);
    IH_CHECK(p->recycle_private_memory == 512u * 1024 * 1024);
    IH_EQ_INT(p->shutdown_time_limit, 86400);
    IH_EQ_INT(p->startup_time_limit, 1);
    IH_CHECK(!p->shadow_copy);
  }
  p = ih_config_pool_named(c, "lo");
  IH_CHECK(p == &c->pools[2]);
  if (p) {
    IH_EQ_INT(p->bitness, 64);
    IH_CHECK(p->bitness_given);
    IH_EQ_INT(p->processes, 1);
    IH_EQ_STR(p->identity, "");
    IH_EQ_INT(p->queue_length, 1);
    IH_EQ_INT(p->rapid_fail_max_crashes, 1000);
    IH_EQ_INT(p->rapid_fail_interval, 1);
    IH_EQ_INT(p->rapid_fail_backoff_max, 86400);
    IH_EQ_INT(p->ping_interval, 3600);
    IH_EQ_INT(p->ping_timeout, 1);
    IH_CHECK(p->recycle_requests == 0);
    IH_EQ_INT(p->recycle_time_minutes, 0);
    IH_EQ_INT(p->recycle_schedule_count, 0);
    IH_CHECK(p->recycle_private_memory == 0);
    IH_EQ_INT(p->shutdown_time_limit, 1);
    IH_EQ_INT(p->startup_time_limit, 86400);
    IH_CHECK(p->shadow_copy);
  }
  ih_config_free(c);
}

static void test_key_errors(void)
{
  IH_TEST("[pool NAME] key errors");
  /* Every line 5 (the key's line) of "SITE [pool p] key = value". */
  static const struct {
    const char *line, *err;
  } bad[] = {
    { "mode = isolated", "mode must be inprocess or worker, got 'isolated'" },
    { "mode =", "mode must be inprocess or worker, got ''" },
    { "mode = worker process", "mode must be inprocess or worker, got 'worker process'" },
    { "bitness = 16", "bitness must be 32 or 64, got '16'" },
    { "bitness = x86", "bitness must be 32 or 64, got 'x86'" },
    { "bitness =", "bitness must be 32 or 64, got ''" },
    { "processes = 0", "processes must be 1-64, got '0'" },
    { "processes = 65", "processes must be 1-64, got '65'" },
    { "processes = -1", "processes must be 1-64, got '-1'" },
    { "queue_length = 0", "queue_length must be 1-65535, got '0'" },
    { "queue_length = 65536", "queue_length must be 1-65535, got '65536'" },
    { "rapid_fail_max_crashes = 1001", "rapid_fail_max_crashes must be 0-1000, got '1001'" },
    { "rapid_fail_max_crashes = five", "rapid_fail_max_crashes must be 0-1000, got 'five'" },
    { "rapid_fail_interval = 0", "rapid_fail_interval must be 1-86400, got '0'" },
    { "rapid_fail_interval = 86401", "rapid_fail_interval must be 1-86400, got '86401'" },
    { "rapid_fail_backoff_max = 0", "rapid_fail_backoff_max must be 1-86400, got '0'" },
    { "rapid_fail_backoff_max = 86401", "rapid_fail_backoff_max must be 1-86400, got '86401'" },
    { "ping_interval = 3601", "ping_interval must be 0-3600, got '3601'" },
    { "ping_interval = 30s", "ping_interval must be 0-3600, got '30s'" },
    { "ping_timeout = 0", "ping_timeout must be 1-3600, got '0'" },
    { "ping_timeout = 3601", "ping_timeout must be 1-3600, got '3601'" },
    { "recycle_requests = 4294967296", "recycle_requests must be 0-4294967295, got '4294967296'" },
    { "recycle_requests = 1e6", "recycle_requests must be 0-4294967295, got '1e6'" },
    { "recycle_time = 525601", "recycle_time must be 0-525600, got '525601'" },
    { "recycle_time = 29h", "recycle_time must be 0-525600, got '29h'" },
    { "shutdown_time_limit = 0", "shutdown_time_limit must be 1-86400, got '0'" },
    { "shutdown_time_limit = 86401", "shutdown_time_limit must be 1-86400, got '86401'" },
    { "startup_time_limit = 0", "startup_time_limit must be 1-86400, got '0'" },
    { "startup_time_limit = 86401", "startup_time_limit must be 1-86400, got '86401'" },
    { "shadow_copy = maybe", "shadow_copy must be on/off, true/false, yes/no or 1/0, got 'maybe'" },
    { "recycle_private_memory = 1T",
      "recycle_private_memory must be a number of bytes with an optional K, M or G suffix, got '1T'" },
    { "app = x", "unknown key 'app' in [pool p]" },
    /* identity: core/pool_identity.c's reasons, at the key's line */
    { "identity = DOM\\", "identity 'DOM\\' in [pool p]: the user after '\\' is missing (DOMAIN\\user)" },
    { "identity = \\user", "identity '\\user' in [pool p]: the domain before '\\' is missing (DOMAIN\\user, or "
                            ".\\user for this computer)" },
    { "identity = user@", "identity 'user@' in [pool p]: the domain after '@' is missing (user@domain)" },
    { "identity = A\\B\\c", "identity 'A\\B\\c' in [pool p]: an account name has at most one '\\' (DOMAIN\\user)" },
    { "identity = someone", "identity 'someone' in [pool p]: not LocalSystem, LocalService, NetworkService or "
                            "ApplicationPoolIdentity, and a user account is written DOMAIN\\user, .\\user or "
                            "user@domain" },
    { "identity = \" CORP\\svc\"", "identity ' CORP\\svc' in [pool p]: an identity cannot begin or end with a space" },
    { "identity = IIS AppPool\\q", "identity 'IIS AppPool\\q' in [pool p]: a pool's virtual account is IIS AppPool\\ "
                                   "followed by its own name (or write ApplicationPoolIdentity)" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[256], want[256];
    snprintf(text, sizeof text, SITE "[pool p]\nmode = worker\n%s\n", bad[i].line);
    if (strncmp(bad[i].line, "mode", 4) == 0) /* mode given twice would be the error */
      snprintf(text, sizeof text, SITE "[pool p]\n\n%s\n", bad[i].line);
    snprintf(want, sizeof want, "t.ini:6: %s", bad[i].err);
    expect_err(text, want);
  }
  expect_err(SITE "[pool p]\nprocesses = 2\nProcesses = 3\n", "t.ini:6: duplicate key 'processes' in [pool p]");
  expect_err(SITE "[pool p]\nidentity = .\\a\nidentity = .\\b\n", "t.ini:6: duplicate key 'identity' in [pool p]");
}

static void test_identity_kinds(void)
{
  IH_TEST("[pool NAME] identity: every kind is accepted and kept as written");
  static const char *const ok[] = {
    "LocalSystem", "localservice", "NT AUTHORITY\\NetworkService", "ApplicationPoolIdentity", "IIS AppPool\\P",
    "CORP\\svc-shop", ".\\appuser", "svc@corp.example.com", "WEB01\\App User",
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, SITE "[pool p]\nmode = worker\nidentity = %s\n", ok[i]);
    ih_config *c = parse(text);
    if (!c)
      continue;
    const ih_pool_conf *pool = ih_config_pool_named(c, "p");
    IH_CHECK(pool != NULL);
    if (pool)
      IH_EQ_STR(pool->identity, ok[i]);
    ih_config_free(c);
  }
  /* the default pool's virtual account is IIS AppPool\default */
  ih_config *c = parse(SITE "[pool default]\nidentity = IIS APPPOOL\\Default\n");
  if (c) {
    IH_EQ_STR(c->pools[0].identity, "IIS APPPOOL\\Default");
    ih_config_free(c);
  }
}

static void test_names(void)
{
  IH_TEST("[pool NAME] names and headers");
  expect_err(SITE "[pool]\n", "t.ini:4: expected [pool NAME]");
  expect_err(SITE "[pool a b]\n", "t.ini:4: expected [pool NAME]");
  expect_err(SITE "[pool a/b]\n", "t.ini:4: invalid pool name 'a/b' (use letters, digits, '.', '_' and '-')");
  expect_err(SITE "[pool a:b]\n", "t.ini:4: invalid pool name 'a:b' (use letters, digits, '.', '_' and '-')");
  expect_err(SITE "[pool Shop]\n\n[pool SHOP]\n", "t.ini:6: duplicate [pool SHOP] (first defined at line 4)");
  /* The default pool may be redefined once, like any other name. */
  expect_err("[pool default]\n" SITE "[pool Default]\n",
             "t.ini:5: duplicate [pool Default] (first defined at line 1)");
  /* A pool and a site may share a name: different kinds of thing. */
  ih_config *c = parse(SITE "pool = a\n[pool a]\n");
  if (c) {
    IH_CHECK(c->sites[0].pool == &c->pools[1]);
    ih_config_free(c);
  }
}

static void test_schedule(void)
{
  IH_TEST("recycle_schedule");
  static const struct {
    const char *value;
    size_t count;
    uint16_t first, last;
  } ok[] = {
    { "03:00", 1, 180, 180 },
    { "3:00", 1, 180, 180 },
    { "00:00", 1, 0, 0 },
    { "23:59", 1, 1439, 1439 },
    { " 15:30 ,, 03:05 , ", 2, 185, 930 },
    { "22:00, 06:00, 14:00", 3, 360, 1320 },
    { "", 0, 0, 0 },
    { ",", 0, 0, 0 },
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, SITE "[pool p]\nmode = worker\nrecycle_schedule = %s\n", ok[i].value);
    ih_config *c = parse(text);
    if (!c)
      continue;
    const ih_pool_conf *p = &c->pools[1];
    IH_EQ_INT(p->recycle_schedule_count, ok[i].count);
    if (p->recycle_schedule_count == ok[i].count && ok[i].count) {
      IH_EQ_INT(p->recycle_schedule[0], ok[i].first);
      IH_EQ_INT(p->recycle_schedule[ok[i].count - 1], ok[i].last);
    }
    ih_config_free(c);
  }
  /* The 24 hours of a day, written backwards, are kept in ascending order. */
  char text[512], list[256];
  size_t n = 0;
  for (int h = 23; h >= 0; h--)
    n += (size_t)snprintf(list + n, sizeof list - n, "%s%02d:00", h == 23 ? "" : ", ", h);
  snprintf(text, sizeof text, SITE "[pool p]\nrecycle_schedule = %s\n", list);
  ih_config *c = parse(text);
  if (c) {
    const ih_pool_conf *p = &c->pools[1];
    IH_EQ_INT(p->recycle_schedule_count, 24);
    for (size_t i = 0; i < p->recycle_schedule_count; i++)
      IH_EQ_INT(p->recycle_schedule[i], i * 60);
    ih_config_free(c);
  }
  /* A 25th time is one too many. */
  snprintf(text, sizeof text, SITE "[pool p]\nrecycle_schedule = %s, 12:30\n", list);
  expect_err(text, "t.ini:5: recycle_schedule must list at most 24 times");

  static const struct {
    const char *value, *err;
  } bad[] = {
    { "24:00", "invalid time '24:00' in recycle_schedule (use HH:MM, 00:00-23:59)" },
    { "12:60", "invalid time '12:60' in recycle_schedule (use HH:MM, 00:00-23:59)" },
    { "1200", "invalid time '1200' in recycle_schedule (use HH:MM, 00:00-23:59)" },
    { "12:5", "invalid time '12:5' in recycle_schedule (use HH:MM, 00:00-23:59)" },
    { "012:00", "invalid time '012:00' in recycle_schedule (use HH:MM, 00:00-23:59)" },
    { ":30", "invalid time ':30' in recycle_schedule (use HH:MM, 00:00-23:59)" },
    { "12:", "invalid time '12:' in recycle_schedule (use HH:MM, 00:00-23:59)" },
    { "12:00:00", "invalid time '12:00:00' in recycle_schedule (use HH:MM, 00:00-23:59)" },
    { "-1:00", "invalid time '-1:00' in recycle_schedule (use HH:MM, 00:00-23:59)" },
    { "3pm", "invalid time '3pm' in recycle_schedule (use HH:MM, 00:00-23:59)" },
    { "12 :00", "invalid time '12 :00' in recycle_schedule (use HH:MM, 00:00-23:59)" },
    /* the bad entry is named even after good ones */
    { "01:00, 02:00, 2:0, 03:00", "invalid time '2:0' in recycle_schedule (use HH:MM, 00:00-23:59)" },
    /* the same time twice, however written, is a mistake */
    { "03:00, 04:00, 03:00", "duplicate time '03:00' in recycle_schedule" },
    { "03:00, 3:00", "duplicate time '3:00' in recycle_schedule" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char want[256];
    snprintf(text, sizeof text, SITE "[pool p]\nrecycle_schedule = %s\n", bad[i].value);
    snprintf(want, sizeof want, "t.ini:5: %s", bad[i].err);
    expect_err(text, want);
  }
}

static void test_memory(void)
{
  IH_TEST("recycle_private_memory");
  static const struct {
    const char *value;
    uint64_t bytes;
  } ok[] = {
    { "0", 0 },
    { "0K", 0 },
    { "1", 1 },
    { "1000", 1000 },
    { "1K", 1024 },
    { "1k", 1024 },
    { "800M", 800ull << 20 },
    { "2g", 2ull << 30 },
    { "0512m", 512ull << 20 },
    { "18446744073709551615", UINT64_MAX },
    { "17179869183G", 17179869183ull << 30 }, /* the largest number of G that fits */
    { "18014398509481983K", 18014398509481983ull << 10 },
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, SITE "[pool p]\nrecycle_private_memory = %s\n", ok[i].value);
    ih_config *c = parse(text);
    if (!c)
      continue;
    IH_CHECK(c->pools[1].recycle_private_memory == ok[i].bytes);
    if (c->pools[1].recycle_private_memory != ok[i].bytes)
      ih_test_note("value '%s'", ok[i].value);
    ih_config_free(c);
  }
  static const char *const bad[] = {
    "", "K", "1T", "1KB", "1 K", "-1", "+1K", "1.5G", "0x10", "K1",
    "18446744073709551616", "17179869184G", "18014398509481984K",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[256], want[256];
    snprintf(text, sizeof text, SITE "[pool p]\nrecycle_private_memory = %s\n", bad[i]);
    snprintf(want, sizeof want,
             "t.ini:5: recycle_private_memory must be a number of bytes with an optional K, M or G suffix, got '%s'",
             bad[i]);
    expect_err(text, want);
  }
}

static void test_bitness(void)
{
  IH_TEST("bitness applies to worker pools only");
  ih_config *c = parse(SITE "[pool x86]\nbitness = 32\nmode = worker\n[pool plain]\nmode = worker\n");
  if (c) {
    IH_EQ_INT(c->pools[1].bitness, 32);
    IH_CHECK(c->pools[1].bitness_given);
    IH_EQ_INT(c->pools[2].bitness, 64); /* stands for the server's own bitness */
    IH_CHECK(!c->pools[2].bitness_given);
    ih_config_free(c);
  }
  /* At the later of mode and bitness; at bitness when mode keeps its default. */
  expect_err(SITE "[pool p]\nbitness = 32\n", "t.ini:5: bitness applies to worker pools only");
  expect_err(SITE "[pool p]\nbitness = 32\n\nmode = inprocess\n", "t.ini:7: bitness applies to worker pools only");
  expect_err(SITE "[pool p]\nmode = INPROCESS\nbitness = 32\n", "t.ini:6: bitness applies to worker pools only");
  /* Also 64: an inprocess pool always has the service's own bitness. */
  expect_err(SITE "[pool p]\nbitness = 64\n", "t.ini:5: bitness applies to worker pools only");
  /* Also in the default pool, and found when the next section opens. */
  expect_err("[pool default]\nbitness = 32\n" SITE, "t.ini:2: bitness applies to worker pools only");
  /* And at the end of the file. */
  expect_err(SITE "[pool p]\nprocesses = 2\nbitness = 32", "t.ini:6: bitness applies to worker pools only");
}

static void test_redefine_default(void)
{
  IH_TEST("[pool default] redefines the built-in pool");
  ih_config *c = parse("[pool other]\n" SITE "[site b]\nbindings = *:81\nroot = rb\npool = other\n"
                       "[pool DEFAULT]\nmode = worker\nprocesses = 4\n");
  if (!c)
    return;
  IH_EQ_INT(c->pool_count, 2);
  const ih_pool_conf *d = &c->pools[0];
  IH_EQ_STR(d->name, "default"); /* keeps its name and place */
  IH_EQ_INT(d->index, 0);
  IH_EQ_INT(d->mode, IH_POOL_WORKER);
  IH_EQ_INT(d->processes, 4);
  IH_EQ_INT(d->queue_length, 1000);
  IH_EQ_STR(c->pools[1].name, "other");
  IH_EQ_INT(c->pools[1].index, 1);
  IH_EQ_INT(c->pools[1].mode, IH_POOL_INPROCESS);
  IH_CHECK(ih_config_has_worker_pools(c));
  IH_EQ_STR(pool_of(c, &c->sites[0], "/x"), "default");
  IH_EQ_STR(pool_of(c, &c->sites[1], "/x"), "other");
  IH_CHECK(ih_config_pool_named(c, "Default") == d);
  ih_config_free(c);

  /* A site may name the default pool explicitly. */
  c = parse(SITE "pool = Default\n");
  if (c) {
    IH_CHECK(c->sites[0].pool == &c->pools[0]);
    ih_config_free(c);
  }
}

static void test_references(void)
{
  IH_TEST("pool = NAME in [site] and [vdir]");
  /* Pools may be defined after the sites and vdirs that name them. */
  ih_config *c = parse("[vdir a /app]\npath = app\npool = App\n" SITE "pool = Site\n"
                       "[pool site]\n[pool app]\nmode = worker\n");
  if (c) {
    IH_CHECK(c->sites[0].pool == ih_config_pool_named(c, "site"));
    IH_EQ_INT(c->sites[0].vdir_count, 2);
    IH_CHECK(c->sites[0].vdirs[0].pool == NULL); /* the root's pool is the site's */
    IH_CHECK(c->sites[0].vdirs[1].pool == ih_config_pool_named(c, "app"));
    ih_config_free(c);
  }
  static const struct {
    const char *text, *err;
  } bad[] = {
    { SITE "pool = nowhere\n", "t.ini:4: unknown pool 'nowhere' in [site a]" },
    { SITE "\npool = nowhere\n[pool somewhere]\n", "t.ini:5: unknown pool 'nowhere' in [site a]" },
    { SITE "[vdir a /v]\npath = v\n\npool = App1\n[pool App]\n", "t.ini:7: unknown pool 'App1' in [vdir a /v]" },
    { SITE "pool =\n", "t.ini:4: pool must not be empty (leave the key out to inherit the pool)" },
    { SITE "[vdir a /v]\npath = v\npool = \"\"\n",
      "t.ini:6: pool must not be empty (leave the key out to inherit the pool)" },
    { SITE "pool = a b\n", "t.ini:4: invalid pool name 'a b' (use letters, digits, '.', '_' and '-')" },
    { SITE "[vdir a /v]\npath = v\npool = x/y\n",
      "t.ini:6: invalid pool name 'x/y' (use letters, digits, '.', '_' and '-')" },
    { SITE "pool = p\nPOOL = p\n[pool p]\n", "t.ini:5: duplicate key 'pool' in [site a]" },
    /* an error after the pools were resolved still frees everything (ASan) */
    { SITE "pool = p\n[pool p]\n[site b]\nbindings = *:80\nroot = r\npool = p\n",
      "t.ini:7: binding '*:80' of [site b] is already used by [site a]" },
    /* unknown site of a vdir is reported before its pool */
    { SITE "[vdir zz /v]\npath = v\npool = nowhere\n", "t.ini:4: unknown site 'zz' in [vdir zz /v]" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_err(bad[i].text, bad[i].err);

  /* Validation only (out == NULL) frees the pools too (ASan checks leaks). */
  static const char only[] = SITE "pool = p\n[pool p]\nidentity = .\\someone\n[vdir a /v]\npath = v\npool = p\n";
  IH_EQ_INT(ih_config_parse(only, strlen(only), "t.ini", "", NULL, NULL, 0), 0);
}

static void test_resolution(void)
{
  IH_TEST("the pool of a request path");
  ih_config *c = parse("[site a]\nbindings = *:80\nroot = ra\npool = SitePool\n"
                       "[site b]\nbindings = *:81\nroot = rb\n"
                       "[vdir a /app]\npath = app\npool = AppPool\n"
                       "[vdir a /app/static]\npath = st\n"
                       "[vdir a /app/static/reports]\npath = rep\npool = ReportPool\n"
                       "[vdir a /other]\npath = other\n"
                       "[vdir b /app]\npath = bapp\npool = AppPool\n"
                       "[vdir b /plain]\npath = plain\n"
                       "[pool SitePool]\n[pool AppPool]\nmode = worker\n[pool ReportPool]\nmode = worker\n");
  if (!c)
    return;
  const ih_site *a = &c->sites[0], *b = &c->sites[1];
  static const struct {
    int site;
    const char *path, *pool;
  } cases[] = {
    { 0, "/", "SitePool" },
    { 0, "/index.htm", "SitePool" },
    { 0, "/app", "AppPool" },
    { 0, "/app/", "AppPool" },
    { 0, "/app/x.dll", "AppPool" },
    { 0, "/APP/X", "AppPool" },                      /* case-insensitive, as vdirs map */
    { 0, "/apple", "SitePool" },                     /* segment boundary */
    { 0, "/app/static/a.css", "AppPool" },           /* a vdir without a pool inherits the enclosing one's */
    { 0, "/app/static", "AppPool" },
    { 0, "/app/static/reports", "ReportPool" },      /* the longest vdir that names a pool */
    { 0, "/App/Static/Reports/q.dll", "ReportPool" },
    { 0, "/app/static/reportsX", "AppPool" },
    { 0, "/other/x", "SitePool" },                   /* a vdir without a pool: the site's */
    { 1, "/", "default" },                           /* a site without a pool: the default pool */
    { 1, "/plain/x", "default" },
    { 1, "/app/x", "AppPool" },
    { 1, "/ap", "default" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *got = pool_of(c, cases[i].site ? b : a, cases[i].path);
    if (strcmp(got, cases[i].pool) != 0)
      ih_test_note("site %s path %s", cases[i].site ? "b" : "a", cases[i].path);
    IH_EQ_STR(got, cases[i].pool);
  }
  /* The pool found is the configuration's own entry. */
  IH_CHECK(ih_site_pool_for_path(c, a, IH_SLICE_LIT("/app")) == ih_config_pool_named(c, "apppool"));
  IH_CHECK(ih_site_pool_for_path(c, NULL, IH_SLICE_LIT("/app")) == &c->pools[0]);
  /* Pools are listed in file order after the default. */
  IH_EQ_INT(c->pool_count, 4);
  if (c->pool_count == 4) {
    IH_EQ_STR(c->pools[1].name, "SitePool");
    IH_EQ_STR(c->pools[2].name, "AppPool");
    IH_EQ_STR(c->pools[3].name, "ReportPool");
  }
  ih_config_free(c);
}

/* Every pool key has a row in the key tables of docs/configuration.md and
 * docs/pools.md, and each of those rows names a key the parser accepts. */
static void test_docs_list_every_key(void)
{
  IH_TEST("docs/configuration.md and docs/pools.md list every [pool] key");
  static const char *const keys[] = {
    "mode", "bitness", "processes", "identity", "queue_length", "rapid_fail_max_crashes", "rapid_fail_interval",
    "rapid_fail_backoff_max", "ping_interval", "ping_timeout", "recycle_requests", "recycle_time",
    "recycle_schedule", "recycle_private_memory", "shutdown_time_limit", "startup_time_limit", "shadow_copy",
  };
  static const char *const docs[] = { "docs/configuration.md", "docs/pools.md" };
  for (size_t d = 0; d < 2; d++) {
    char *text = ih_test_read_source(IH_SOURCE_DIR, docs[d]);
    if (!IH_CHECK(text != NULL))
      continue;
    /* The [pool] key table: from its section to the next heading. */
    const char *from = strstr(text, d == 0 ? "### `[pool NAME]`" : "## Keys");
    IH_CHECK(from != NULL);
    const char *to = from ? strstr(from + 4, "\n#") : NULL;
    size_t len = from ? (to ? (size_t)(to - from) : strlen(from)) : 0;
    for (size_t k = 0; from && k < sizeof keys / sizeof keys[0]; k++) {
      char row[64];
      snprintf(row, sizeof row, "\n| `%s` |", keys[k]);
      const char *hit = strstr(from, row);
      if (!hit || (size_t)(hit - from) > len)
        ih_test_note("%s: no row for %s", docs[d], keys[k]);
      IH_CHECK(hit && (size_t)(hit - from) <= len);
    }
    free(text);
  }
  /* Each key of the list is one the parser accepts in a worker pool. */
  for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
    char text[256];
    const char *value = strcmp(keys[k], "mode") == 0       ? "worker"
                        : strcmp(keys[k], "bitness") == 0  ? "32"
                        : strcmp(keys[k], "identity") == 0 ? "LocalService"
                        : strcmp(keys[k], "recycle_schedule") == 0 ? "01:00"
                        : strcmp(keys[k], "shadow_copy") == 0      ? "on"
                                                                   : "1";
    snprintf(text, sizeof text, SITE "[pool p]\n%s%s = %s\n", strcmp(keys[k], "mode") ? "mode = worker\n" : "",
             keys[k], value);
    ih_config *c = parse(text);
    ih_config_free(c);
  }
}

int main(void)
{
  test_without_pools();
  test_defaults();
  test_all_keys();
  test_key_errors();
  test_identity_kinds();
  test_names();
  test_schedule();
  test_memory();
  test_bitness();
  test_redefine_default();
  test_references();
  test_resolution();
  test_docs_list_every_key();
  return ih_test_finish();
}
