/* Unit tests for service/core/config.c: syntax, defaults, every validation
 * error with its exact "file:line: message", path joining, site lookup and
 * URL mapping, and loading from a file. */
#include "core/config.h"
#include "ih_test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A valid site for tests that only exercise other sections. */
#define SITE "[site a]\nbindings = *:80\nroot = www\n"

static ih_config *parse_base(const char *text, size_t len, const char *base)
{
  char err[512] = "";
  ih_config *cfg = NULL;
  int rc = ih_config_parse(text, len, "t.ini", base, &cfg, err, sizeof err);
  if (rc != 0)
    ih_test_note("unexpected error: %s", err);
  IH_EQ_INT(rc, 0);
  IH_CHECK(rc != 0 || cfg != NULL);
  return cfg;
}

static ih_config *parse(const char *text) { return parse_base(text, strlen(text), "base"); }

static void expect_err_len(const char *text, size_t len, const char *want)
{
  char err[512];
  memset(err, 'x', sizeof err);
  ih_config *cfg = (ih_config *)&err; /* must be reset to NULL on error */
  int rc = ih_config_parse(text, len, "t.ini", "base", &cfg, err, sizeof err);
  IH_EQ_INT(rc, -1);
  IH_CHECK(cfg == NULL);
  IH_CHECK(memchr(err, '\0', sizeof err) != NULL);
  if (memchr(err, '\0', sizeof err))
    IH_EQ_STR(err, want);
  if (rc == 0)
    ih_config_free(cfg);
}

static void expect_err(const char *text, const char *want) { expect_err_len(text, strlen(text), want); }

static void test_defaults(void)
{
  IH_TEST("defaults");
  ih_config *c = parse(SITE);
  if (!c)
    return;
  IH_EQ_STR(c->file_name, "t.ini");
  IH_EQ_STR(c->base_dir, "base");
  const ih_server_config *s = &c->server;
  IH_EQ_INT(s->worker_threads, 0);
  IH_EQ_INT(s->accepts_per_listener, 8);
  IH_EQ_INT(s->max_connections, 10000);
  IH_EQ_STR(s->status_path, "/_isapihost/status");
  IH_EQ_STR(s->metrics_path, ""); /* off unless asked for */
  IH_EQ_STR(s->log_dir, "base/logs");
  IH_EQ_INT(s->drain_timeout, 30);
  IH_EQ_INT(s->header_timeout, 120);
  IH_EQ_INT(s->keepalive_timeout, 120);
  IH_EQ_INT(s->body_timeout, 120);
  IH_EQ_INT(s->min_body_rate, 240);
  IH_EQ_INT(s->max_request_line, 16384);
  IH_EQ_INT(s->max_header_line, 16384);
  IH_EQ_INT(s->max_header_bytes, 16384);
  IH_EQ_INT(s->max_headers, 100);
  IH_EQ_INT(s->max_body, 30000000);
  IH_EQ_INT(s->isapi_threads, 0);
  IH_EQ_INT(s->isapi_preread, 49152);
  IH_EQ_INT(s->isapi_max_threads, 256);
  IH_EQ_INT(s->isapi_stuck_timeout, 120);
  IH_EQ_INT(s->isapi_unload_timeout, 30);
  IH_EQ_INT(s->isapi_exec_depth, 8);
  IH_EQ_INT(s->shutdown_time_limit, 90); /* IIS's shutdownTimeLimit default */
  IH_EQ_INT(s->startup_time_limit, 90);  /* IIS's startupTimeLimit default */
  IH_EQ_INT(c->site_count, 1);
  IH_EQ_INT(c->mime_count, 0);
  const ih_site *a = &c->sites[0];
  IH_EQ_STR(a->name, "a");
  IH_EQ_INT(a->id, 1);
  IH_EQ_INT(a->binding_count, 1);
  IH_EQ_STR(a->bindings[0].address, "*");
  IH_EQ_INT(a->bindings[0].port, 80);
  IH_EQ_STR(a->bindings[0].host, "");
  IH_EQ_INT(a->vdir_count, 1);
  IH_EQ_STR(a->vdirs[0].url_path, "/");
  IH_EQ_STR(a->vdirs[0].physical_path, "base\\www");
  IH_EQ_INT(a->vdirs[0].permissions, IH_PERM_READ);
  IH_EQ_INT(a->default_document_count, 5);
  if (a->default_document_count == 5) {
    IH_EQ_STR(a->default_documents[0], "Default.htm");
    IH_EQ_STR(a->default_documents[1], "Default.asp");
    IH_EQ_STR(a->default_documents[2], "index.htm");
    IH_EQ_STR(a->default_documents[3], "index.html");
    IH_EQ_STR(a->default_documents[4], "iisstart.htm");
  }
  IH_CHECK(!a->directory_listing);
  IH_CHECK(a->log_enabled);
  IH_EQ_STR(a->log_dir, "base/logs/W3SVC1");
  IH_EQ_INT(a->error_page_count, 0);
  IH_CHECK(ih_site_error_page(a, 404) == NULL);
  IH_EQ_INT(a->script_map_count, 0);
  IH_EQ_INT(a->wildcard_map_count, 0);
  IH_EQ_INT(ih_site_wildcard_maps(a, IH_SLICE_LIT("/x"), NULL, 0), 0);
  ih_config_free(c);
}

static void test_all_keys(void)
{
  IH_TEST("all keys set");
  ih_config *c = parse("[server]\n"
                       "worker_threads = 16\n"
                       "accepts_per_listener = 1\n"
                       "max_connections = 4294967295\n"
                       "status_path = /status\n"
                       "metrics_path = /metrics\n"
                       "log_dir = /var/log/ih\n"
                       "drain_timeout = 1\n"
                       "header_timeout = 86400\n"
                       "keepalive_timeout = 5\n"
                       "body_timeout = 6\n"
                       "min_body_rate = 0\n"
                       "max_request_line = 256\n"
                       "max_header_line = 16777216\n"
                       "max_header_bytes = 65536\n"
                       "max_headers = 128\n"
                       "max_body = 18446744073709551615\n"
                       "[site Main]\n"
                       "id = 4294967295\n"
                       "bindings = 127.0.0.1:8080:Example.COM, [FE80::1]:443\n"
                       "root = C:\\inetpub\\wwwroot\n"
                       "permissions = read, script, execute\n"
                       "default_documents = home.htm ,, start.dll\n"
                       "directory_listing = yes\n"
                       "log = off\n"
                       "log_dir = sitelogs\n"
                       "error_page.404 = errors/404.htm\n"
                       "error_page.500 = /abs/500.htm\n"
                       "ERROR_PAGE.503 = 503.htm\n");
  if (!c)
    return;
  const ih_server_config *s = &c->server;
  IH_EQ_INT(s->worker_threads, 16);
  IH_EQ_INT(s->accepts_per_listener, 1);
  IH_EQ_INT(s->max_connections, 4294967295u);
  IH_EQ_STR(s->status_path, "/status");
  IH_EQ_STR(s->metrics_path, "/metrics");
  IH_EQ_STR(s->log_dir, "/var/log/ih");
  IH_EQ_INT(s->drain_timeout, 1);
  IH_EQ_INT(s->header_timeout, 86400);
  IH_EQ_INT(s->keepalive_timeout, 5);
  IH_EQ_INT(s->body_timeout, 6);
  IH_EQ_INT(s->min_body_rate, 0);
  IH_EQ_INT(s->max_request_line, 256);
  IH_EQ_INT(s->max_header_line, 16777216);
  IH_EQ_INT(s->max_header_bytes, 65536);
  IH_EQ_INT(s->max_headers, 128);
  IH_CHECK(s->max_body == UINT64_MAX);
  const ih_site *m = &c->sites[0];
  IH_EQ_STR(m->name, "Main");
  IH_CHECK(m->id == 4294967295u);
  IH_EQ_INT(m->binding_count, 2);
  if (m->binding_count == 2) {
    IH_EQ_STR(m->bindings[0].address, "127.0.0.1");
    IH_EQ_INT(m->bindings[0].port, 8080);
    IH_EQ_STR(m->bindings[0].host, "example.com");
    IH_EQ_STR(m->bindings[1].address, "fe80::1");
    IH_EQ_INT(m->bindings[1].port, 443);
    IH_EQ_STR(m->bindings[1].host, "");
  }
  IH_EQ_STR(m->vdirs[0].physical_path, "C:\\inetpub\\wwwroot");
  IH_EQ_INT(m->vdirs[0].permissions, IH_PERM_READ | IH_PERM_SCRIPT | IH_PERM_EXECUTE);
  IH_EQ_INT(m->default_document_count, 2);
  if (m->default_document_count == 2) {
    IH_EQ_STR(m->default_documents[0], "home.htm");
    IH_EQ_STR(m->default_documents[1], "start.dll");
  }
  IH_CHECK(m->directory_listing);
  IH_CHECK(!m->log_enabled);
  IH_EQ_STR(m->log_dir, "base/sitelogs");
  IH_EQ_INT(m->error_page_count, 3);
  const ih_error_page *e = ih_site_error_page(m, 404);
  IH_CHECK(e && e->status == 404);
  IH_EQ_STR(e ? e->physical_path : "", "base\\errors\\404.htm");
  e = ih_site_error_page(m, 500);
  IH_EQ_STR(e ? e->physical_path : "", "\\abs\\500.htm");
  e = ih_site_error_page(m, 503);
  IH_EQ_STR(e ? e->physical_path : "", "base\\503.htm");
  IH_CHECK(ih_site_error_page(m, 403) == NULL);
  ih_config_free(c);
}

static void test_syntax(void)
{
  IH_TEST("syntax");
  /* Comments, blank lines, case-insensitive names, odd spacing, no final newline. */
  ih_config *c = parse("; comment\n"
                       "   # indented comment\n"
                       "\t\n"
                       "  [ SERVER ]  \n"
                       "WORKER_THREADS=3\n"
                       "\tstatus_path   =   \"\"   \n"
                       "[Site x]\n"
                       "Bindings=*:81\n"
                       "root = \"  My Site; #1  \"\n"
                       "log_dir = a;b#c");
  if (c) {
    IH_EQ_INT(c->server.worker_threads, 3);
    IH_EQ_STR(c->server.status_path, "");
    IH_EQ_STR(c->sites[0].vdirs[0].physical_path, "base\\  My Site; #1  ");
    IH_EQ_STR(c->sites[0].log_dir, "base/a;b#c");
    ih_config_free(c);
  }
  /* A quoted value keeps inner quotes; only the outer pair is removed. */
  c = parse("[site a]\nbindings = *:80\nroot = \"say \"hi\"\"\n");
  if (c) {
    IH_EQ_STR(c->sites[0].vdirs[0].physical_path, "base\\say \"hi\"");
    ih_config_free(c);
  }
  /* CRLF line ends, and a BOM. */
  c = parse("\xEF\xBB\xBF[server]\r\nworker_threads = 7\r\n[site a]\r\nbindings = *:80:h\r\nroot = www\r\n");
  if (c) {
    IH_EQ_INT(c->server.worker_threads, 7);
    IH_EQ_STR(c->sites[0].bindings[0].host, "h");
    IH_EQ_STR(c->sites[0].vdirs[0].physical_path, "base\\www");
    ih_config_free(c);
  }
  /* Line numbers count CRLF lines too; a BOM does not shift them. */
  expect_err("\xEF\xBB\xBF[server]\r\n\r\ntreads = 1\r\n", "t.ini:3: unknown key 'treads' in [server]");
  /* Several [mime] sections are one map. */
  c = parse(SITE "[mime]\n.a = text/a\n[mime]\n.b = text/b\n");
  if (c) {
    IH_EQ_INT(c->mime_count, 2);
    ih_config_free(c);
  }
  /* out == NULL validates only. */
  char err[64];
  IH_EQ_INT(ih_config_parse(SITE, strlen(SITE), "t.ini", "", NULL, err, sizeof err), 0);
  IH_EQ_INT(ih_config_parse("x", 1, "t.ini", "", NULL, err, sizeof err), -1);
}

static void test_bools_and_perms(void)
{
  IH_TEST("bools and permissions");
  static const struct {
    const char *text;
    int want;
  } bools[] = { { "on", 1 },  { "ON", 1 },  { "true", 1 },  { "Yes", 1 }, { "1", 1 },
                { "off", 0 }, { "Off", 0 }, { "FALSE", 0 }, { "no", 0 },  { "0", 0 } };
  for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
    char text[128];
    snprintf(text, sizeof text, SITE "directory_listing = %s\nlog = %s\n", bools[i].text, bools[i].text);
    ih_config *c = parse(text);
    if (c) {
      IH_EQ_INT(c->sites[0].directory_listing, bools[i].want);
      IH_EQ_INT(c->sites[0].log_enabled, bools[i].want);
      ih_config_free(c);
    }
  }
  static const struct {
    const char *text;
    unsigned want;
  } perms[] = {
    { "read", IH_PERM_READ },
    { "Script", IH_PERM_SCRIPT },
    { "execute, read", IH_PERM_EXECUTE | IH_PERM_READ },
    { "read,script,read", IH_PERM_READ | IH_PERM_SCRIPT },
    { "none", 0 },
    { " NONE ", 0 },
  };
  for (size_t i = 0; i < sizeof perms / sizeof perms[0]; i++) {
    char text[160];
    snprintf(text, sizeof text, SITE "permissions = %s\n[vdir a /v]\npath = v\npermissions = %s\n", perms[i].text,
             perms[i].text);
    ih_config *c = parse(text);
    if (c) {
      IH_EQ_INT(c->sites[0].vdirs[0].permissions, perms[i].want);
      IH_EQ_INT(c->sites[0].vdirs[1].permissions, perms[i].want);
      ih_config_free(c);
    }
  }
}

static void test_bindings(void)
{
  IH_TEST("secure: off by default, on for a site behind TLS terminated in front; one answer per endpoint");
  {
    ih_config *c = parse("[site a]\nroot = r\nbindings = 127.0.0.1:8443:a.test, *:8080\nsecure = on\n"
                         "[site b]\nroot = r\nbindings = 127.0.0.1:8443:b.test\nsecure = on\n"
                         "[site c]\nroot = r\nbindings = 127.0.0.1:9090\n");
    if (c) {
      IH_CHECK(c->sites[0].secure && c->sites[1].secure && !c->sites[2].secure);
      IH_CHECK(ih_config_endpoint(c, "127.0.0.1", 8443).secure);
      IH_CHECK(ih_config_endpoint(c, "10.1.2.3", 8080).secure); /* "*" */
      IH_CHECK(!ih_config_endpoint(c, "127.0.0.1", 9090).secure);
      IH_CHECK(!ih_config_endpoint(c, "127.0.0.1", 7).secure); /* nothing bound there */
      ih_config_free(c);
    }
    expect_err("[site a]\nroot = r\nbindings = 127.0.0.1:8443:a.test\nsecure = on\n"
               "[site b]\nroot = r\nbindings = *:8443:b.test\n",
               "t.ini:7: [site b] and [site a] are both reached through '*:8443:b.test', so they must agree on secure "
               "(it belongs to the connection, not the host name)");
  }

  IH_TEST("health_path, health_checks_pools, drain_delay: off, on, 0 by default; a health URL of its own");
  {
    ih_config *c = parse(SITE);
    if (c) {
      IH_EQ_STR(c->server.health_path, "");
      IH_CHECK(c->server.health_checks_pools);
      IH_EQ_INT(c->server.drain_delay, 0);
      ih_config_free(c);
    }
    c = parse("[server]\nhealth_path = /healthz\nhealth_checks_pools = off\ndrain_delay = 15\n" SITE);
    if (c) {
      IH_EQ_STR(c->server.health_path, "/healthz");
      IH_CHECK(!c->server.health_checks_pools);
      IH_EQ_INT(c->server.drain_delay, 15);
      ih_config_free(c);
    }
    expect_err("[server]\nhealth_path = healthz\n" SITE,
               "t.ini:2: health_path must be empty or start with '/', got 'healthz'");
    expect_err("[server]\nstatus_path = /s\nhealth_path = /S\n" SITE,
               "t.ini:1: health_path and status_path are both '/S': give each its own");
    expect_err("[server]\ndrain_delay = 3601\n" SITE, "t.ini:2: drain_delay must be 0-3600, got '3601'");
  }

  IH_TEST("trusted_proxies, forwarded_headers, proxy_protocol: parsed, refused with the item, one answer per endpoint");
  {
    ih_config *c = parse("[server]\ntrusted_proxies = 10.1.2.3/8, 127.0.0.1 ::1\nforwarded_headers = X-Forwarded-For\n"
                         "[site a]\nroot = r\nbindings = 127.0.0.1:81\nproxy_protocol = on\n");
    if (c) {
      IH_EQ_INT(c->server.trusted_proxy_count, 3);
      IH_CHECK(ih_cidr_list_match_text(c->server.trusted_proxies, 3, IH_SLICE_LIT("10.200.0.1"))); /* masked to /8 */
      IH_CHECK(!ih_cidr_list_match_text(c->server.trusted_proxies, 3, IH_SLICE_LIT("11.0.0.1")));
      IH_EQ_INT(c->server.forwarded_headers, IH_FORWARDED_XFF);
      IH_CHECK(c->sites[0].proxy_protocol && ih_config_endpoint(c, "127.0.0.1", 81).proxy_protocol);
      IH_CHECK(!ih_config_endpoint(c, "127.0.0.1", 82).proxy_protocol);
      ih_config_free(c);
    }
    c = parse(SITE);
    if (c) {
      IH_EQ_INT(c->server.trusted_proxy_count, 0);
      IH_EQ_INT(c->server.forwarded_headers, IH_FORWARDED_AUTO);
      IH_CHECK(!c->sites[0].proxy_protocol);
      ih_config_free(c);
    }
    expect_err("[server]\ntrusted_proxies = 10.0.0.0/8, 10.1\n" SITE,
               "t.ini:2: trusted_proxies: '10.1' is not an address or address/prefix: "
               "not an IPv4 or IPv6 address");
    expect_err("[server]\nforwarded_headers = x-real-ip\n" SITE,
               "t.ini:2: forwarded_headers must be auto, forwarded or x-forwarded-for, got 'x-real-ip'");
    expect_err("[site a]\nroot = r\nbindings = *:81:a.test\nproxy_protocol = on\n"
               "[site b]\nroot = r\nbindings = 127.0.0.1:81:b.test\n",
               "t.ini:7: [site b] and [site a] are both reached through '127.0.0.1:81:b.test', so they must agree "
               "on proxy_protocol (it belongs to the connection, not the host name)");
  }

  IH_TEST("bindings");
  static const struct {
    const char *text, *addr, *host;
    unsigned port;
  } ok[] = {
    { "*:80", "*", "", 80 },
    { "*:1:", "*", "", 1 },
    { "0.0.0.0:65535", "0.0.0.0", "", 65535 },
    { "255.255.255.255:8080:A-b_c.D", "255.255.255.255", "a-b_c.d", 8080 },
    { "[::]:80", "::", "", 80 },
    { "[::1]:80:localhost", "::1", "localhost", 80 },
    { "[1:2:3:4:5:6:7:8]:80", "1:2:3:4:5:6:7:8", "", 80 },
    { "[1::8]:80", "1::8", "", 80 },
    { "[1::]:80", "1::", "", 80 },
    { "[::FFFF:192.0.2.1]:80", "::ffff:192.0.2.1", "", 80 },
    { "[1:2:3:4:5:6:1.2.3.4]:80", "1:2:3:4:5:6:1.2.3.4", "", 80 },
    { "*:0080", "*", "", 80 },
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char text[160];
    snprintf(text, sizeof text, "[site a]\nroot = r\nbindings = %s\n", ok[i].text);
    ih_config *c = parse(text);
    if (!c)
      continue;
    IH_EQ_STR(c->sites[0].bindings[0].address, ok[i].addr);
    IH_EQ_STR(c->sites[0].bindings[0].host, ok[i].host);
    IH_EQ_INT(c->sites[0].bindings[0].port, ok[i].port);
    ih_config_free(c);
  }
  static const struct {
    const char *text, *err;
  } bad[] = {
    { "*", "binding '*' must be ADDRESS:PORT or ADDRESS:PORT:HOST" },
    { "*:70000", "port must be 1-65535, got '70000'" },
    { "*:0", "port must be 1-65535, got '0'" },
    { "*:", "port must be 1-65535, got ''" },
    { "*:-1", "port must be 1-65535, got '-1'" },
    { "*:+80", "port must be 1-65535, got '+80'" },
    { "*:8o", "port must be 1-65535, got '8o'" },
    { "*:99999999999999999999999", "port must be 1-65535, got '99999999999999999999999'" },
    { "1.2.3:80", "invalid address '1.2.3' in binding '1.2.3:80' (use *, an IPv4 address or [IPv6])" },
    { "1.2.3.4.5:80", "invalid address '1.2.3.4.5' in binding '1.2.3.4.5:80' (use *, an IPv4 address or [IPv6])" },
    { "256.1.1.1:80", "invalid address '256.1.1.1' in binding '256.1.1.1:80' (use *, an IPv4 address or [IPv6])" },
    { "01.2.3.4:80", "invalid address '01.2.3.4' in binding '01.2.3.4:80' (use *, an IPv4 address or [IPv6])" },
    { "host:80", "invalid address 'host' in binding 'host:80' (use *, an IPv4 address or [IPv6])" },
    { ":80", "invalid address '' in binding ':80' (use *, an IPv4 address or [IPv6])" },
    { "::1:80", "invalid address '' in binding '::1:80' (use *, an IPv4 address or [IPv6])" },
    { "[::1:80", "missing ']' after the IPv6 address in binding '[::1:80'" },
    { "[::1]80", "binding '[::1]80' must be ADDRESS:PORT or ADDRESS:PORT:HOST" },
    { "[::1]", "binding '[::1]' must be ADDRESS:PORT or ADDRESS:PORT:HOST" },
    { "[1:2:3]:80", "invalid IPv6 address '1:2:3' in binding '[1:2:3]:80'" },
    { "[1:2:3:4:5:6:7:8:9]:80", "invalid IPv6 address '1:2:3:4:5:6:7:8:9' in binding '[1:2:3:4:5:6:7:8:9]:80'" },
    { "[1::2::3]:80", "invalid IPv6 address '1::2::3' in binding '[1::2::3]:80'" },
    { "[1:::2]:80", "invalid IPv6 address '1:::2' in binding '[1:::2]:80'" },
    { "[12345::]:80", "invalid IPv6 address '12345::' in binding '[12345::]:80'" },
    { "[:1::]:80", "invalid IPv6 address ':1::' in binding '[:1::]:80'" },
    { "[1:]:80", "invalid IPv6 address '1:' in binding '[1:]:80'" },
    { "[g::1]:80", "invalid IPv6 address 'g::1' in binding '[g::1]:80'" },
    { "[1:2:3:4:5:6:7::8]:80", "invalid IPv6 address '1:2:3:4:5:6:7::8' in binding '[1:2:3:4:5:6:7::8]:80'" },
    { "[::1.2.3]:80", "invalid IPv6 address '::1.2.3' in binding '[::1.2.3]:80'" },
    { "[]:80", "invalid IPv6 address '' in binding '[]:80'" },
    { "[fe80::1%eth0]:80", "invalid IPv6 address 'fe80::1%eth0' in binding '[fe80::1%eth0]:80'" },
    { "*:80:exa mple", "invalid host name 'exa mple' in binding '*:80:exa mple'" },
    { "*:80:a:b", "invalid host name 'a:b' in binding '*:80:a:b'" },
    { "*:80:a/b", "invalid host name 'a/b' in binding '*:80:a/b'" },
    { ", ,", "bindings must list at least one ADDRESS:PORT or ADDRESS:PORT:HOST" },
    { "", "bindings must list at least one ADDRESS:PORT or ADDRESS:PORT:HOST" },
    { "*:80, *:80", "duplicate binding '*:80' in bindings" },
    { "*:80:h, *:80:H", "duplicate binding '*:80:H' in bindings" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[200], want[300];
    snprintf(text, sizeof text, "[site a]\nroot = r\nbindings = %s\n", bad[i].text);
    snprintf(want, sizeof want, "t.ini:3: %s", bad[i].err);
    expect_err(text, want);
  }
}

/* Every other validation error, with its exact text. */
static void test_errors(void)
{
  IH_TEST("errors");
  static const struct {
    const char *text, *err;
  } cases[] = {
    /* structure */
    { "", "t.ini:1: no [site NAME] section: at least one site is required" },
    { "[server]\n\n; only a comment\n", "t.ini:3: no [site NAME] section: at least one site is required" },
    { "[server]\ntreads = 4\n" SITE, "t.ini:2: unknown key 'treads' in [server]" },
    { "[foo]\n" SITE, "t.ini:1: unknown section [foo]" },
    { "[filters]\n" SITE, "t.ini:1: unknown section [filters]" },
    { "[server x]\n" SITE, "t.ini:1: expected [server]" },
    { "[mime x]\n" SITE, "t.ini:1: expected [mime]" },
    { "[site]\n", "t.ini:1: expected [site NAME]" },
    { "[site a b]\n", "t.ini:1: expected [site NAME]" },
    { SITE "[vdir a]\n", "t.ini:4: expected [vdir SITE /url/path]" },
    { SITE "[vdir a /x y]\n", "t.ini:4: expected [vdir SITE /url/path]" },
    { "[site a\n", "t.ini:1: section header must end with ']'" },
    { "[site a] x\n", "t.ini:1: section header must end with ']'" },
    { "[]\n", "t.ini:1: empty section header" },
    { "[ \t ]\n", "t.ini:1: empty section header" },
    { "[server]\n[server]\n" SITE, "t.ini:2: duplicate [server] section (first at line 1)" },
    { SITE "[site A]\n", "t.ini:4: duplicate [site A] (first defined at line 1)" },
    { "[site a/b]\n", "t.ini:1: invalid site name 'a/b' (use letters, digits, '.', '_' and '-')" },
    { SITE "junk\n", "t.ini:4: expected 'key = value', a [section] header or a comment" },
    { SITE "= x\n", "t.ini:4: missing key before '='" },
    { "a = b\n" SITE, "t.ini:1: key 'a' outside of a section" },
    { SITE "log_dir = \"abc\n", "t.ini:4: unterminated quoted value" },
    { SITE "log_dir = \"\n", "t.ini:4: unterminated quoted value" },
    { SITE "log_dir = a\x01z\n", "t.ini:4: control character 0x01 in line" },
    { SITE "log_dir = a\rz\n", "t.ini:4: control character 0x0d in line" },
    { SITE "log_dir = a\x7fz\n", "t.ini:4: control character 0x7f in line" },
    { "[server]\r\nworker_threads = 1\r\nworker_threads = 2\r\n" SITE,
      "t.ini:3: duplicate key 'worker_threads' in [server]" },
    /* [server] numbers */
    { "[server]\nworker_threads = 257\n" SITE, "t.ini:2: worker_threads must be 0-256, got '257'" },
    { "[server]\nworker_threads = -1\n" SITE, "t.ini:2: worker_threads must be 0-256, got '-1'" },
    { "[server]\nworker_threads = +1\n" SITE, "t.ini:2: worker_threads must be 0-256, got '+1'" },
    { "[server]\nworker_threads = 1x\n" SITE, "t.ini:2: worker_threads must be 0-256, got '1x'" },
    { "[server]\nworker_threads = 0x10\n" SITE, "t.ini:2: worker_threads must be 0-256, got '0x10'" },
    { "[server]\nworker_threads = 1 2\n" SITE, "t.ini:2: worker_threads must be 0-256, got '1 2'" },
    { "[server]\nworker_threads =\n" SITE, "t.ini:2: worker_threads must be 0-256, got ''" },
    { "[server]\naccepts_per_listener = 0\n" SITE, "t.ini:2: accepts_per_listener must be 1-256, got '0'" },
    { "[server]\naccepts_per_listener = 257\n" SITE, "t.ini:2: accepts_per_listener must be 1-256, got '257'" },
    { "[server]\nmax_connections = 4294967296\n" SITE,
      "t.ini:2: max_connections must be 0-4294967295, got '4294967296'" },
    { "[server]\ndrain_timeout = 0\n" SITE, "t.ini:2: drain_timeout must be 1-86400, got '0'" },
    { "[server]\nheader_timeout = 86401\n" SITE, "t.ini:2: header_timeout must be 1-86400, got '86401'" },
    { "[server]\nkeepalive_timeout = 0\n" SITE, "t.ini:2: keepalive_timeout must be 1-86400, got '0'" },
    { "[server]\nbody_timeout = 1.5\n" SITE, "t.ini:2: body_timeout must be 1-86400, got '1.5'" },
    { "[server]\nmin_body_rate = 4294967296\n" SITE, "t.ini:2: min_body_rate must be 0-4294967295, got '4294967296'" },
    { "[server]\nmax_request_line = 255\n" SITE, "t.ini:2: max_request_line must be 256-16777216, got '255'" },
    { "[server]\nmax_header_line = 16777217\n" SITE,
      "t.ini:2: max_header_line must be 256-16777216, got '16777217'" },
    { "[server]\nmax_header_bytes = 0\n" SITE, "t.ini:2: max_header_bytes must be 256-16777216, got '0'" },
    { "[server]\nmax_headers = 0\n" SITE, "t.ini:2: max_headers must be 1-128, got '0'" },
    { "[server]\nmax_headers = 129\n" SITE, "t.ini:2: max_headers must be 1-128, got '129'" },
    { "[server]\nmax_body = 18446744073709551616\n" SITE,
      "t.ini:2: max_body must be 0-18446744073709551615, got '18446744073709551616'" },
    { "[server]\nmax_body = 99999999999999999999\n" SITE,
      "t.ini:2: max_body must be 0-18446744073709551615, got '99999999999999999999'" },
    { "[server]\nisapi_max_threads = 0\n" SITE, "t.ini:2: isapi_max_threads must be 1-4096, got '0'" },
    { "[server]\nisapi_max_threads = 4097\n" SITE, "t.ini:2: isapi_max_threads must be 1-4096, got '4097'" },
    { "[server]\nisapi_stuck_timeout = 86401\n" SITE,
      "t.ini:2: isapi_stuck_timeout must be 0-86400, got '86401'" },
    { "[server]\nisapi_stuck_timeout = -1\n" SITE, "t.ini:2: isapi_stuck_timeout must be 0-86400, got '-1'" },
    { "[server]\nisapi_unload_timeout = 0\n" SITE, "t.ini:2: isapi_unload_timeout must be 1-86400, got '0'" },
    { "[server]\nisapi_unload_timeout = 86401\n" SITE,
      "t.ini:2: isapi_unload_timeout must be 1-86400, got '86401'" },
    { "[server]\nisapi_exec_depth = 0\n" SITE, "t.ini:2: isapi_exec_depth must be 1-64, got '0'" },
    { "[server]\nisapi_exec_depth = 65\n" SITE, "t.ini:2: isapi_exec_depth must be 1-64, got '65'" },
    { "[server]\nisapi_threads = 1025\n" SITE, "t.ini:2: isapi_threads must be 0-1024, got '1025'" },
    { "[server]\nshutdown_time_limit = 0\n" SITE, "t.ini:2: shutdown_time_limit must be 1-86400, got '0'" },
    { "[server]\nshutdown_time_limit = 86401\n" SITE,
      "t.ini:2: shutdown_time_limit must be 1-86400, got '86401'" },
    { "[server]\nshutdown_time_limit = 1m\n" SITE, "t.ini:2: shutdown_time_limit must be 1-86400, got '1m'" },
    { "[server]\nstartup_time_limit = 0\n" SITE, "t.ini:2: startup_time_limit must be 1-86400, got '0'" },
    { "[server]\nstartup_time_limit = 86401\n" SITE, "t.ini:2: startup_time_limit must be 1-86400, got '86401'" },
    { "[server]\nstartup_time_limit =\n" SITE, "t.ini:2: startup_time_limit must be 1-86400, got ''" },
    /* [server] strings */
    { "[server]\nstatus_path = status\n" SITE, "t.ini:2: status_path must be empty or start with '/', got 'status'" },
    { "[server]\nmetrics_path = metrics\n" SITE,
      "t.ini:2: metrics_path must be empty or start with '/', got 'metrics'" },
    { "[server]\nstatus_path = /ops\nmetrics_path = /OPS\n" SITE,
      "t.ini:3: metrics_path must not be the same as status_path ('/ops')" },
    { "[server]\nmetrics_path = /_isapihost/status\n" SITE,
      "t.ini:2: metrics_path must not be the same as status_path ('/_isapihost/status')" },
    { "[server]\nmetrics_path = /health\nhealth_path = /Health\n" SITE,
      "t.ini:3: metrics_path must not be the same as health_path ('/Health')" },
    { "[server]\nlog_dir =\n" SITE, "t.ini:2: log_dir must not be empty" },
    { "[server]\nlog_dir = \"\"\n" SITE, "t.ini:2: log_dir must not be empty" },
    /* [site] */
    { "[site a]\nroot = r\n", "t.ini:1: [site a] is missing required key 'bindings'" },
    { "[site a]\nbindings = *:80\n[server]\n", "t.ini:1: [site a] is missing required key 'root'" },
    { "[site a]\nbindings = *:80\nroot =\n", "t.ini:3: root must not be empty" },
    { SITE "root = other\n", "t.ini:4: duplicate key 'root' in [site a]" },
    { SITE "Bindings = *:81\n", "t.ini:4: duplicate key 'bindings' in [site a]" },
    { SITE "rooot = x\n", "t.ini:4: unknown key 'rooot' in [site a]" },
    { SITE "id = 0\n", "t.ini:4: id must be 1-4294967295, got '0'" },
    { SITE "id = 4294967296\n", "t.ini:4: id must be 1-4294967295, got '4294967296'" },
    { SITE "permissions = write\n",
      "t.ini:4: unknown permission 'write' in permissions (use read, script, execute or none)" },
    { SITE "permissions = none, read\n", "t.ini:4: 'none' cannot be combined with other permissions" },
    { SITE "permissions =\n", "t.ini:4: permissions must list read, script, execute or none" },
    { SITE "permissions = ,\n", "t.ini:4: permissions must list read, script, execute or none" },
    { SITE "default_documents = a/b.htm\n", "t.ini:4: default_documents: 'a/b.htm' must be a file name, not a path" },
    { SITE "default_documents = x, a\\b.htm\n",
      "t.ini:4: default_documents: 'a\\b.htm' must be a file name, not a path" },
    { SITE "directory_listing = maybe\n",
      "t.ini:4: directory_listing must be on/off, true/false, yes/no or 1/0, got 'maybe'" },
    { SITE "log = 2\n", "t.ini:4: log must be on/off, true/false, yes/no or 1/0, got '2'" },
    { SITE "log_dir =\n", "t.ini:4: log_dir must not be empty" },
    { SITE "log_format = xml\n", "t.ini:4: log_format must be w3c or json, got 'xml'" },
    { SITE "log_format =\n", "t.ini:4: log_format must be w3c or json, got ''" },
    { SITE "log_format = json\nlog_format = w3c\n", "t.ini:5: duplicate key 'log_format' in [site a]" },
    { "[server]\nlog_format = W3C extended\n" SITE, "t.ini:2: log_format must be w3c or json, got 'W3C extended'" },
    { "[server]\nlog_format = jsonl\n" SITE, "t.ini:2: log_format must be w3c or json, got 'jsonl'" },
    { SITE "error_page.399 = x\n", "t.ini:4: error_page status must be 400-599, got '399'" },
    { SITE "error_page.600 = x\n", "t.ini:4: error_page status must be 400-599, got '600'" },
    { SITE "error_page.abc = x\n", "t.ini:4: error_page status must be 400-599, got 'abc'" },
    { SITE "error_page.-404 = x\n", "t.ini:4: error_page status must be 400-599, got '-404'" },
    { SITE "error_page. = x\n", "t.ini:4: unknown key 'error_page.' in [site a]" },
    { SITE "error_page = x\n", "t.ini:4: unknown key 'error_page' in [site a]" },
    { SITE "error_page.404 = x\nerror_page.0404 = y\n", "t.ini:5: duplicate key 'error_page.404' in [site a]" },
    { SITE "error_page.404 =\n", "t.ini:4: error_page.404 must not be empty" },
    /* site ids: explicit clash at the id line, default clash at the header */
    { SITE "id = 2\n[site b]\nbindings = *:81\nroot = r\nid = 2\n",
      "t.ini:8: site id 2 of [site b] is already used by [site a]" },
    { SITE "id = 2\n[site b]\nbindings = *:81\nroot = r\n",
      "t.ini:5: site id 2 of [site b] is already used by [site a]" },
    /* bindings shared between sites */
    { SITE "[site b]\nroot = r\nbindings = *:81, *:80\n",
      "t.ini:6: binding '*:80' of [site b] is already used by [site a]" },
    { "[site a]\nbindings = *:80:Example.COM\nroot = r\n[site b]\nroot = r\nbindings = *:80:example.com\n",
      "t.ini:6: binding '*:80:example.com' of [site b] is already used by [site a]" },
    { "[site a]\nbindings = [::1]:80\nroot = r\n[site b]\nroot = r\nbindings = [::1]:80\n",
      "t.ini:6: binding '[::1]:80' of [site b] is already used by [site a]" },
    /* [vdir] */
    { SITE "[vdir a /]\npath = p\n", "t.ini:4: vdir path '/' is the site root: set root in [site a] instead" },
    { SITE "[vdir a /x/]\n",
      "t.ini:4: vdir path must look like /a/b (no trailing '/', no empty, '.' or '..' segments, no '\\', '?' or "
      "'#'), got '/x/'" },
    { SITE "[vdir a x]\n",
      "t.ini:4: vdir path must look like /a/b (no trailing '/', no empty, '.' or '..' segments, no '\\', '?' or "
      "'#'), got 'x'" },
    { SITE "[vdir a /a//b]\n",
      "t.ini:4: vdir path must look like /a/b (no trailing '/', no empty, '.' or '..' segments, no '\\', '?' or "
      "'#'), got '/a//b'" },
    { SITE "[vdir a /a/./b]\n",
      "t.ini:4: vdir path must look like /a/b (no trailing '/', no empty, '.' or '..' segments, no '\\', '?' or "
      "'#'), got '/a/./b'" },
    { SITE "[vdir a /..]\n",
      "t.ini:4: vdir path must look like /a/b (no trailing '/', no empty, '.' or '..' segments, no '\\', '?' or "
      "'#'), got '/..'" },
    { SITE "[vdir a /a\\b]\n",
      "t.ini:4: vdir path must look like /a/b (no trailing '/', no empty, '.' or '..' segments, no '\\', '?' or "
      "'#'), got '/a\\b'" },
    { SITE "[vdir a /a?b]\n",
      "t.ini:4: vdir path must look like /a/b (no trailing '/', no empty, '.' or '..' segments, no '\\', '?' or "
      "'#'), got '/a?b'" },
    { SITE "[vdir a:b /x]\n", "t.ini:4: invalid site name 'a:b' (use letters, digits, '.', '_' and '-')" },
    { SITE "[vdir a /x]\npermissions = read\n", "t.ini:4: [vdir a /x] is missing required key 'path'" },
    { SITE "[vdir a /x]\npath = p\nroot = r\n", "t.ini:6: unknown key 'root' in [vdir a /x]" },
    { SITE "[vdir a /x]\npath = p\npath = q\n", "t.ini:6: duplicate key 'path' in [vdir a /x]" },
    { SITE "[vdir a /x]\npath =\n", "t.ini:5: path must not be empty" },
    { SITE "[vdir a /x]\npath = p\npermissions = all\n",
      "t.ini:6: unknown permission 'all' in permissions (use read, script, execute or none)" },
    { SITE "[vdir zz /x]\npath = p\n", "t.ini:4: unknown site 'zz' in [vdir zz /x]" },
    { "[vdir A /X]\npath = p\n" SITE "[vdir a /x]\npath = q\n",
      "t.ini:6: duplicate [vdir a /x] (first defined at line 1)" },
    /* [mime] */
    { SITE "[mime]\nfoo = text/plain\n", "t.ini:5: invalid extension 'foo' in [mime] (expected '.ext')" },
    { SITE "[mime]\n. = text/plain\n", "t.ini:5: invalid extension '.' in [mime] (expected '.ext')" },
    { SITE "[mime]\n.a/b = text/plain\n", "t.ini:5: invalid extension '.a/b' in [mime] (expected '.ext')" },
    { SITE "[mime]\n.foo = textplain\n",
      "t.ini:5: invalid content type 'textplain' for '.foo' (expected type/subtype)" },
    { SITE "[mime]\n.foo = text/\n", "t.ini:5: invalid content type 'text/' for '.foo' (expected type/subtype)" },
    { SITE "[mime]\n.foo = /plain\n", "t.ini:5: invalid content type '/plain' for '.foo' (expected type/subtype)" },
    { SITE "[mime]\n.foo = text/plain:x\n",
      "t.ini:5: invalid content type 'text/plain:x' for '.foo' (expected type/subtype)" },
    { SITE "[mime]\n.foo = text/pl\xc3\xa4in\n",
      "t.ini:5: invalid content type 'text/pl\xc3\xa4in' for '.foo' (expected type/subtype)" },
    { SITE "[mime]\n.foo = text/a\n.FOO = text/b\n", "t.ini:6: duplicate key '.FOO' in [mime]" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_err(cases[i].text, cases[i].err);
  /* A NUL byte inside the text is a control character too. */
  static const char nul[] = SITE "log_dir = a\0b\n";
  expect_err_len(nul, sizeof nul - 1, "t.ini:4: control character 0x00 in line");
}

static void test_error_buffer(void)
{
  IH_TEST("error buffer");
  const char *text = "[server]\ntreads = 4\n";
  char err[8];
  memset(err, 'x', sizeof err);
  IH_EQ_INT(ih_config_parse(text, strlen(text), "t.ini", "", NULL, err, sizeof err), -1);
  IH_EQ_STR(err, "t.ini:2");
  char one[1] = { 'x' };
  ih_config *cfg = NULL;
  IH_EQ_INT(ih_config_parse(text, strlen(text), "t.ini", "", &cfg, one, 1), -1);
  IH_EQ_INT(one[0], '\0');
  IH_EQ_INT(ih_config_parse(text, strlen(text), "t.ini", "", &cfg, NULL, 0), -1);
  IH_CHECK(cfg == NULL);
  /* Long values are cut in messages, never overflowing the buffer. */
  char big[2048], msg[64];
  snprintf(big, sizeof big, "[server]\nlog_dir = ok\nworker_threads = ");
  size_t n = strlen(big);
  memset(big + n, '9', 1500);
  big[n + 1500] = '\0';
  IH_EQ_INT(ih_config_parse(big, strlen(big), "t.ini", "", NULL, msg, sizeof msg), -1);
  IH_EQ_INT(strlen(msg), sizeof msg - 1);
  IH_CHECK(strncmp(msg, "t.ini:3: worker_threads must be 0-256, got '999", 47) == 0);
  char large[512];
  IH_EQ_INT(ih_config_parse(big, strlen(big), "t.ini", "", NULL, large, sizeof large), -1);
  IH_CHECK(strlen(large) < 300); /* the echoed value is clamped */
}

static void test_paths(void)
{
  IH_TEST("paths");
  static const struct {
    const char *base, *value, *want;
  } cases[] = {
    { "base", "www", "base\\www" },
    { "base/", "www", "base\\www" },
    { "C:\\cfg\\", "www", "C:\\cfg\\www" },
    { "C:\\cfg", "www\\x", "C:\\cfg\\www\\x" },
    { "", "www", "www" },
    { "base", "/srv/www", "\\srv\\www" },
    { "base", "\\srv\\www", "\\srv\\www" },
    { "base", "\\\\server\\share\\www", "\\\\server\\share\\www" },
    { "base", "C:\\inetpub\\wwwroot", "C:\\inetpub\\wwwroot" },
    { "base", "d:/www", "d:\\www" },
    { "base", "./www", "base\\.\\www" },
    { "base", "../www", "base\\..\\www" },
    { "base", "1:x", "base\\1:x" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char text[200];
    snprintf(text, sizeof text, "[site a]\nbindings = *:80\nroot = %s\n[vdir a /v]\npath = %s\n", cases[i].value,
             cases[i].value);
    ih_config *c = parse_base(text, strlen(text), cases[i].base);
    if (!c)
      continue;
    IH_EQ_STR(c->sites[0].vdirs[0].physical_path, cases[i].want);
    IH_EQ_STR(c->sites[0].vdirs[1].physical_path, cases[i].want);
    ih_config_free(c);
  }
  /* Site log directories default to <server log_dir>/W3SVC<id>, even when
   * [server] comes after the site. */
  ih_config *c = parse(SITE "id = 7\n[site b]\nbindings = *:81\nroot = r\n[server]\nlog_dir = D:\\logs\\\n");
  if (c) {
    IH_EQ_STR(c->sites[0].log_dir, "D:\\logs\\W3SVC7");
    IH_EQ_STR(c->sites[1].log_dir, "D:\\logs\\W3SVC2");
    ih_config_free(c);
  }
  c = parse_base(SITE, strlen(SITE), "");
  if (c) {
    IH_EQ_STR(c->server.log_dir, "logs");
    IH_EQ_STR(c->sites[0].log_dir, "logs/W3SVC1");
    ih_config_free(c);
  }
}

/* log_format: [server] gives the default of every site (even when it
 * comes after them), a [site] overrides it; any case. */
static void test_log_format(void)
{
  IH_TEST("log_format");
  ih_config *c = parse(SITE);
  if (c) {
    IH_EQ_INT(c->server.log_format, IH_LOG_FORMAT_W3C);
    IH_EQ_INT(c->sites[0].log_format, IH_LOG_FORMAT_W3C);
    ih_config_free(c);
  }
  c = parse(SITE "log_format = JSON\n[site b]\nbindings = *:81\nroot = r\n");
  if (c) {
    IH_EQ_INT(c->server.log_format, IH_LOG_FORMAT_W3C);
    IH_EQ_INT(c->sites[0].log_format, IH_LOG_FORMAT_JSON);
    IH_EQ_INT(c->sites[1].log_format, IH_LOG_FORMAT_W3C);
    ih_config_free(c);
  }
  c = parse(SITE "[site b]\nbindings = *:81\nroot = r\nlog_format = w3c\n[site c]\nbindings = *:82\nroot = r\n"
                 "[server]\nlog_format = json\n");
  if (c) {
    IH_EQ_INT(c->server.log_format, IH_LOG_FORMAT_JSON);
    IH_EQ_INT(c->sites[0].log_format, IH_LOG_FORMAT_JSON); /* the [server] default, written after it */
    IH_EQ_INT(c->sites[1].log_format, IH_LOG_FORMAT_W3C);  /* its own */
    IH_EQ_INT(c->sites[2].log_format, IH_LOG_FORMAT_JSON);
    ih_config_free(c);
  }
  c = parse("[server]\nlog_format = \"json\"\n" SITE "log_format = Json\n");
  if (c) {
    IH_EQ_INT(c->server.log_format, IH_LOG_FORMAT_JSON);
    IH_EQ_INT(c->sites[0].log_format, IH_LOG_FORMAT_JSON);
    ih_config_free(c);
  }
}

static void test_sites_and_vdirs(void)
{
  IH_TEST("sites and vdirs");
  /* vdirs may come before their site; ids default to the position. */
  ih_config *c = parse("[vdir B /images]\npath = img\npermissions = none\n"
                       "[site a]\nbindings = *:80\nroot = ra\n"
                       "[site b]\nbindings = *:81\nroot = rb\n"
                       "[vdir b /app/sub]\npath = /abs/app\npermissions = script, execute\n"
                       "[vdir a /images]\npath = aimg\n"
                       "[site c]\nbindings = *:82\nroot = rc\nid = 10\n");
  if (!c)
    return;
  IH_EQ_INT(c->site_count, 3);
  IH_EQ_INT(c->sites[0].id, 1);
  IH_EQ_INT(c->sites[1].id, 2);
  IH_EQ_INT(c->sites[2].id, 10);
  IH_EQ_STR(c->sites[2].log_dir, "base/logs/W3SVC10");
  const ih_site *b = &c->sites[1];
  IH_EQ_INT(b->vdir_count, 3);
  if (b->vdir_count == 3) {
    IH_EQ_STR(b->vdirs[0].url_path, "/");
    IH_EQ_STR(b->vdirs[0].physical_path, "base\\rb");
    IH_EQ_STR(b->vdirs[1].url_path, "/images");
    IH_EQ_STR(b->vdirs[1].physical_path, "base\\img");
    IH_EQ_INT(b->vdirs[1].permissions, 0);
    IH_EQ_STR(b->vdirs[2].url_path, "/app/sub");
    IH_EQ_STR(b->vdirs[2].physical_path, "\\abs\\app");
    IH_EQ_INT(b->vdirs[2].permissions, IH_PERM_SCRIPT | IH_PERM_EXECUTE);
  }
  IH_EQ_INT(c->sites[0].vdir_count, 2);
  IH_EQ_INT(c->sites[2].vdir_count, 1);
  ih_config_free(c);
  /* Same binding on different ports or hosts is fine; "*" and an address differ. */
  c = parse("[site a]\nbindings = *:80, 10.0.0.1:80:x\nroot = r\n"
            "[site b]\nbindings = 10.0.0.1:80, *:80:x, *:81\nroot = r\n");
  if (c)
    ih_config_free(c);
}

static void test_mime_section(void)
{
  IH_TEST("[mime]");
  ih_config *c = parse(SITE "[mime]\n.FOO = application/x-foo\n.css =\n.html = \"\"\n"
                            ".json = application/json; charset=utf-8\n.dll.config = text/xml\n");
  if (!c)
    return;
  IH_EQ_INT(c->mime_count, 5);
  IH_EQ_STR(c->mime[0].ext, ".foo");
  IH_EQ_STR(c->mime[0].type, "application/x-foo");
  IH_EQ_STR(c->mime[1].type, "");
  const char *t = ih_mime_lookup(IH_SLICE_LIT(".Foo"), c->mime, c->mime_count);
  IH_EQ_STR(t ? t : "(null)", "application/x-foo");
  IH_CHECK(ih_mime_lookup(IH_SLICE_LIT(".css"), c->mime, c->mime_count) == NULL);
  IH_CHECK(ih_mime_lookup(IH_SLICE_LIT(".html"), c->mime, c->mime_count) == NULL);
  t = ih_mime_lookup(IH_SLICE_LIT(".json"), c->mime, c->mime_count);
  IH_EQ_STR(t ? t : "(null)", "application/json; charset=utf-8");
  t = ih_mime_lookup(IH_SLICE_LIT(".png"), c->mime, c->mime_count);
  IH_EQ_STR(t ? t : "(null)", "image/png");
  ih_config_free(c);
}

static const char *site_name(const ih_site *s) { return s ? s->name : "(none)"; }

static void test_find_site(void)
{
  IH_TEST("find_site");
  /* Declared least specific first, so file order cannot explain the result. */
  ih_config *c = parse("[site any]\nbindings = *:80\nroot = r\n"
                       "[site addr]\nbindings = 10.0.0.1:80\nroot = r\n"
                       "[site anyhost]\nbindings = *:80:www.example.com\nroot = r\n"
                       "[site addrhost]\nbindings = 10.0.0.1:80:www.example.com\nroot = r\n"
                       "[site other]\nbindings = *:8080:other.example, [FE80::1]:8081\nroot = r\n");
  if (!c)
    return;
  IH_EQ_STR(site_name(ih_config_find_site(c, "10.0.0.1", 80, IH_SLICE_LIT("WWW.Example.com"))), "addrhost");
  IH_EQ_STR(site_name(ih_config_find_site(c, "10.0.0.2", 80, IH_SLICE_LIT("www.example.com"))), "anyhost");
  IH_EQ_STR(site_name(ih_config_find_site(c, "10.0.0.1", 80, IH_SLICE_LIT("other.host"))), "addr");
  IH_EQ_STR(site_name(ih_config_find_site(c, "10.0.0.1", 80, IH_SLICE_LIT(""))), "addr");
  IH_EQ_STR(site_name(ih_config_find_site(c, "10.0.0.2", 80, IH_SLICE_LIT("other.host"))), "any");
  IH_EQ_STR(site_name(ih_config_find_site(c, "10.0.0.2", 80, IH_SLICE_LIT(""))), "any");
  IH_EQ_STR(site_name(ih_config_find_site(c, NULL, 80, IH_SLICE_LIT(""))), "any");
  /* A host binding never matches a prefix or a longer name. */
  IH_EQ_STR(site_name(ih_config_find_site(c, "10.0.0.2", 80, IH_SLICE_LIT("www.example.co"))), "any");
  IH_EQ_STR(site_name(ih_config_find_site(c, "10.0.0.2", 80, IH_SLICE_LIT("www.example.com.x"))), "any");
  IH_EQ_STR(site_name(ih_config_find_site(c, "1.2.3.4", 8080, IH_SLICE_LIT("Other.Example"))), "other");
  IH_CHECK(ih_config_find_site(c, "1.2.3.4", 8080, IH_SLICE_LIT("nope")) == NULL);
  IH_CHECK(ih_config_find_site(c, "1.2.3.4", 81, IH_SLICE_LIT("www.example.com")) == NULL);
  IH_EQ_STR(site_name(ih_config_find_site(c, "fe80::1", 8081, IH_SLICE_LIT("x"))), "other");
  IH_EQ_STR(site_name(ih_config_find_site(c, "FE80::1", 8081, IH_SLICE_LIT(""))), "other");
  IH_CHECK(ih_config_find_site(c, "fe80::2", 8081, IH_SLICE_LIT("")) == NULL);
  IH_CHECK(ih_config_find_site(NULL, "1.2.3.4", 80, IH_SLICE_LIT("")) == NULL);
  ih_config_free(c);
}

static void test_map_path(void)
{
  IH_TEST("map_path");
  ih_config *c = parse("[site a]\nbindings = *:80\nroot = r\n"
                       "[vdir a /images]\npath = img\n"
                       "[vdir a /images/icons]\npath = ico\n"
                       "[vdir a /app/sub]\npath = sub\n");
  if (!c)
    return;
  const ih_site *s = &c->sites[0];
  static const struct {
    const char *path, *vdir, *rest;
  } cases[] = {
    { "/", "/", "" },
    { "", "/", "" },
    { "/index.htm", "/", "/index.htm" },
    { "/images", "/images", "" },
    { "/images/", "/images", "/" },
    { "/images/a.png", "/images", "/a.png" },
    { "/IMAGES/a.png", "/images", "/a.png" },
    { "/imagesX/a", "/", "/imagesX/a" },
    { "/imagesX", "/", "/imagesX" },
    { "/image", "/", "/image" },
    { "/images/icons/x.ico", "/images/icons", "/x.ico" },
    { "/Images/Icons", "/images/icons", "" },
    { "/images/iconsX", "/images", "/iconsX" },
    { "/app", "/", "/app" },
    { "/app/sub/x.dll/extra", "/app/sub", "/x.dll/extra" },
    { "/app/subway", "/", "/app/subway" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ih_slice rest = { NULL, 99 };
    const ih_vdir *v = ih_site_map_path(s, ih_slice_from_cstr(cases[i].path), &rest);
    IH_EQ_STR(v ? v->url_path : "(none)", cases[i].vdir);
    IH_EQ_MEM(rest.p, rest.n, cases[i].rest, strlen(cases[i].rest));
  }
  /* rest may be NULL; the remainder lies inside the given path. */
  IH_CHECK(ih_site_map_path(s, IH_SLICE_LIT("/images/x"), NULL) == &s->vdirs[1]);
  ih_slice path = IH_SLICE_LIT("/images/x"), rest;
  ih_site_map_path(s, path, &rest);
  IH_CHECK(rest.p == path.p + 7);
  IH_CHECK(ih_site_map_path(NULL, path, &rest) == NULL);
  ih_config_free(c);
}

static void test_load_file(void)
{
  IH_TEST("load_file");
  const char *path = "./test_config_load.ini";
  FILE *f = fopen(path, "wb");
  IH_CHECK(f != NULL);
  if (!f)
    return;
  fputs("\xEF\xBB\xBF; written by test_config\r\n[site a]\r\nbindings = *:80\r\nroot = www\r\n", f);
  fclose(f);
  char err[256] = "";
  ih_config *c = NULL;
  int rc = ih_config_load_file(path, &c, err, sizeof err);
  if (rc)
    ih_test_note("error: %s", err);
  IH_EQ_INT(rc, 0);
  if (c) {
    IH_EQ_STR(c->file_name, path);
    IH_EQ_STR(c->base_dir, ".");
    IH_EQ_STR(c->sites[0].vdirs[0].physical_path, ".\\www");
    IH_EQ_STR(c->server.log_dir, "./logs");
    ih_config_free(c);
  }
  /* Errors name the file as given. */
  f = fopen(path, "wb");
  if (f) {
    fputs("[site a]\r\nbindings = *:99999\r\n", f);
    fclose(f);
    IH_EQ_INT(ih_config_load_file(path, &c, err, sizeof err), -1);
    IH_EQ_STR(err, "./test_config_load.ini:2: port must be 1-65535, got '99999'");
    IH_CHECK(c == NULL);
  }
  remove(path);

  /* The size limit is 16 MiB: a file of exactly that size is read whole. */
  static char pad[1 << 16];
  memset(pad, ' ', sizeof pad);
  pad[sizeof pad - 1] = '\n';
  f = fopen(path, "wb");
  if (f) {
    fputs(SITE, f);
    long total = (long)strlen(SITE);
    while (total < 16L * 1024 * 1024) {
      size_t n = 16L * 1024 * 1024 - total < (long)sizeof pad ? (size_t)(16L * 1024 * 1024 - total) : sizeof pad;
      fwrite(pad, 1, n, f);
      total += (long)n;
    }
    fclose(f);
    c = NULL;
    IH_EQ_INT(ih_config_load_file(path, &c, err, sizeof err), 0);
    ih_config_free(c);
    f = fopen(path, "ab");
    if (f) {
      fputc('\n', f);
      fclose(f);
    }
    IH_EQ_INT(ih_config_load_file(path, &c, err, sizeof err), -1);
    IH_EQ_STR(err, "./test_config_load.ini: file is larger than 16 MiB");
    remove(path);
  }

  /* A directory cannot be read as a file (open or read fails, by platform). */
  IH_EQ_INT(ih_config_load_file(".", &c, err, sizeof err), -1);
  IH_CHECK(strncmp(err, ".: ", 3) == 0);

  const char *missing = "no/such/dir/isapihost.ini";
  char want[256];
  snprintf(want, sizeof want, "%s: cannot open: %s", missing, strerror(ENOENT));
  c = (ih_config *)&want;
  IH_EQ_INT(ih_config_load_file(missing, &c, err, sizeof err), -1);
  IH_EQ_STR(err, want);
  IH_CHECK(c == NULL);
}

static void test_script_maps(void)
{
  IH_TEST("[scriptmap SITE .ext]");
  ih_config *c = parse("[scriptmap a .Dll]\ndll = isapi/app.dll\nverbs = GET, POST\ncheck_file = off\n" SITE
                       "[scriptmap a .asp]\ndll = C:\\x\\asp.dll\n");
  if (!c)
    return;
  const ih_site *site = &c->sites[0];
  IH_EQ_INT(site->script_map_count, 2);
  const ih_script_map *m = ih_site_script_map(site, IH_SLICE_LIT("/scripts/App.DLL"));
  if (IH_CHECK(m != NULL)) {
    IH_EQ_STR(m->extension, ".dll");
    IH_EQ_STR(m->dll_path, "base/isapi/app.dll");
    IH_EQ_INT(m->verb_count, 2);
    IH_EQ_STR(m->verbs[1], "POST");
    IH_CHECK(!m->check_file);
  }
  m = ih_site_script_map(site, IH_SLICE_LIT("/x/page.asp"));
  IH_CHECK(m && m->check_file && m->verb_count == 0); /* defaults: verify the file, all verbs */
  IH_CHECK(ih_site_script_map(site, IH_SLICE_LIT("/x.asp/page")) == NULL);
  IH_CHECK(ih_site_script_map(site, IH_SLICE_LIT("/noext")) == NULL);
  IH_EQ_INT(c->server.isapi_threads, 0);
  IH_EQ_INT(c->server.isapi_preread, 49152);
  ih_config_free(c);

  expect_err(SITE "[scriptmap b .dll]\ndll = x.dll\n", "t.ini:4: unknown site 'b' in [scriptmap b .dll]");
  expect_err(SITE "[scriptmap a .dll]\ndll = x.dll\n[scriptmap a .DLL]\ndll = y.dll\n",
             "t.ini:6: duplicate [scriptmap a .dll]");
  expect_err(SITE "[scriptmap a dll]\ndll = x.dll\n",
             "t.ini:4: script map extension must look like '.ext' or be '*', got 'dll'");
  expect_err(SITE "[scriptmap a .dll]\nverbs = GET\n", "t.ini:4: [scriptmap a .dll] is missing required key 'dll'");
  expect_err(SITE "[scriptmap a .dll]\ndll = x.dll\nverbs = GET, P OST\n", "t.ini:6: invalid method 'P OST' in verbs");
}

static void test_isapi_server_keys(void)
{
  IH_TEST("[server] isapi_* keys");
  /* Range edges that must be accepted. */
  static const struct {
    const char *text;
    unsigned threads, max, stuck, unload, depth;
  } ok[] = {
    { "[server]\nisapi_max_threads = 1\nisapi_stuck_timeout = 0\nisapi_unload_timeout = 1\nisapi_exec_depth = 1\n",
      0, 1, 0, 1, 1 },
    { "[server]\nisapi_max_threads = 4096\nisapi_stuck_timeout = 86400\nisapi_unload_timeout = 86400\n"
      "isapi_exec_depth = 64\nisapi_threads = 1024\n",
      1024, 4096, 86400, 86400, 64 },
    /* equal is fine; 0 threads (4 x CPUs) is never checked against the maximum */
    { "[server]\nisapi_threads = 7\nisapi_max_threads = 7\n", 7, 7, 120, 30, 8 },
    { "[server]\nisapi_threads = 0\nisapi_max_threads = 1\n", 0, 1, 120, 30, 8 },
    { "[server]\nisapi_threads = 256\n", 256, 256, 120, 30, 8 },
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, "%s%s", ok[i].text, SITE);
    ih_config *c = parse(text);
    if (!c)
      continue;
    IH_EQ_INT(c->server.isapi_threads, ok[i].threads);
    IH_EQ_INT(c->server.isapi_max_threads, ok[i].max);
    IH_EQ_INT(c->server.isapi_stuck_timeout, ok[i].stuck);
    IH_EQ_INT(c->server.isapi_unload_timeout, ok[i].unload);
    IH_EQ_INT(c->server.isapi_exec_depth, ok[i].depth);
    ih_config_free(c);
  }
  /* Cross-key rule: reported at the later of the two keys (only the given
   * one when the other keeps its default). */
  expect_err("[server]\nisapi_threads = 8\nisapi_max_threads = 4\n" SITE,
             "t.ini:3: isapi_threads (8) exceeds isapi_max_threads (4)");
  expect_err("[server]\nisapi_max_threads = 4\n; comment\nisapi_threads = 5\n" SITE,
             "t.ini:4: isapi_threads (5) exceeds isapi_max_threads (4)");
  expect_err("[server]\nisapi_threads = 257\n" SITE, "t.ini:2: isapi_threads (257) exceeds isapi_max_threads (256)");
  expect_err(SITE "[server]\nisapi_max_threads = 2\nisapi_threads = 3\n[mime]\n",
             "t.ini:6: isapi_threads (3) exceeds isapi_max_threads (2)");
  /* The check runs when [server] closes, so it also works at the end of the file. */
  expect_err(SITE "[server]\nisapi_threads = 300\n", "t.ini:5: isapi_threads (300) exceeds isapi_max_threads (256)");
}

static void test_time_limit_keys(void)
{
  IH_TEST("[server] shutdown_time_limit and startup_time_limit");
  static const struct {
    const char *text;
    unsigned shutdown, startup;
  } ok[] = {
    { "[server]\nshutdown_time_limit = 1\nstartup_time_limit = 1\n", 1, 1 },
    { "[server]\nshutdown_time_limit = 86400\nstartup_time_limit = 86400\n", 86400, 86400 },
    { "[server]\nSHUTDOWN_TIME_LIMIT = 3\n", 3, 90 },
    { "[server]\nstartup_time_limit = 5\n", 90, 5 },
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char text[512];
    snprintf(text, sizeof text, "%s%s", ok[i].text, SITE);
    ih_config *c = parse(text);
    if (!c)
      continue;
    IH_EQ_INT(c->server.shutdown_time_limit, ok[i].shutdown);
    IH_EQ_INT(c->server.startup_time_limit, ok[i].startup);
    ih_config_free(c);
  }
  expect_err("[server]\nshutdown_time_limit = 3\nshutdown_time_limit = 4\n" SITE,
             "t.ini:3: duplicate key 'shutdown_time_limit' in [server]");
  expect_err(SITE "[site b]\nbindings = *:81\nroot = r\nstartup_time_limit = 3\n",
             "t.ini:7: unknown key 'startup_time_limit' in [site b]");
}

static void test_wildcard_maps(void)
{
  IH_TEST("[scriptmap SITE *]");
  ih_config *c = parse("[scriptmap a *]\ndll = first.dll\n" SITE
                       "[scriptmap a .dll]\ndll = ext.dll\n"
                       "[scriptmap a *]\ndll = C:\\app\\web.dll\npath = /App/\nverbs = GET, POST\n"
                       "[scriptmap a *]\ndll = third.dll\npath = /app/api\ncheck_file = on\n"
                       "[scriptmap a *]\ndll = fourth.dll\npath = \"/\"\n"
                       "[site b]\nbindings = *:81\nroot = r\n"
                       "[scriptmap B *]\ndll = b.dll\npath = /x\n");
  if (!c)
    return;
  const ih_site *a = &c->sites[0], *b = &c->sites[1];
  IH_EQ_INT(a->script_map_count, 1);
  IH_EQ_INT(a->wildcard_map_count, 4);
  IH_EQ_INT(b->wildcard_map_count, 1);
  IH_EQ_INT(b->script_map_count, 0);
  if (a->wildcard_map_count != 4 || b->wildcard_map_count != 1) {
    ih_config_free(c);
    return;
  }
  const ih_script_map *w = a->wildcard_maps;
  /* file order kept; defaults: path "/", all verbs, no file check */
  IH_EQ_STR(w[0].dll_path, "base/first.dll");
  IH_EQ_STR(w[0].url_path, "/");
  IH_EQ_STR(w[0].extension, "*");
  IH_EQ_INT(w[0].verb_count, 0);
  IH_CHECK(!w[0].check_file);
  IH_EQ_STR(w[1].dll_path, "C:\\app\\web.dll");
  IH_EQ_STR(w[1].url_path, "/App"); /* trailing '/' dropped, case kept */
  IH_EQ_INT(w[1].verb_count, 2);
  IH_EQ_STR(w[1].verb_count == 2 ? w[1].verbs[1] : "", "POST");
  IH_CHECK(!w[1].check_file);
  IH_EQ_STR(w[2].url_path, "/app/api");
  IH_CHECK(w[2].check_file);
  IH_EQ_STR(w[3].url_path, "/");
  IH_EQ_STR(b->wildcard_maps[0].url_path, "/x");
  IH_EQ_STR(b->wildcard_maps[0].dll_path, "base/b.dll");
  /* extension maps keep their own defaults and never see the wildcards */
  const ih_script_map *e = ih_site_script_map(a, IH_SLICE_LIT("/x/y.dll"));
  IH_CHECK(e && e->check_file && e->url_path == NULL);
  IH_EQ_STR(e ? e->dll_path : "", "base/ext.dll");
  IH_CHECK(ih_site_script_map(a, IH_SLICE_LIT("/x/y.*")) == NULL);
  IH_CHECK(ih_site_script_map(a, IH_SLICE_LIT("*")) == NULL);
  IH_CHECK(ih_site_script_map(a, IH_SLICE_LIT("/app/x")) == NULL);
  IH_CHECK(ih_site_script_map(b, IH_SLICE_LIT("/x/y.dll")) == NULL);

  /* matching: segment boundary, case-insensitive, "/" matches all */
  static const struct {
    const char *path;
    const char *want; /* indexes into a->wildcard_maps, in order */
  } cases[] = {
    { "/", "03" },
    { "/index.htm", "03" },
    { "/app", "013" },
    { "/app/", "013" },
    { "/APP/x", "013" },
    { "/apple", "03" },
    { "/ap", "03" },
    { "/app/api", "0123" },
    { "/App/Api/v1/users", "0123" },
    { "/app/apix", "013" },
    { "/app/ap", "013" },
    { "/x/app", "03" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const ih_script_map *got[8] = { 0 };
    size_t n = ih_site_wildcard_maps(a, ih_slice_from_cstr(cases[i].path), got, 8);
    char idx[9] = "";
    for (size_t k = 0; k < n && k < 8; k++)
      idx[k] = (char)('0' + (got[k] - a->wildcard_maps));
    idx[n < 8 ? n : 8] = '\0';
    if (strcmp(idx, cases[i].want) != 0)
      ih_test_note("path %s", cases[i].path);
    IH_EQ_STR(idx, cases[i].want);
  }
  /* cap smaller than the count: the first cap are written, the count is returned */
  const ih_script_map *two[3] = { NULL, NULL, NULL };
  IH_EQ_INT(ih_site_wildcard_maps(a, IH_SLICE_LIT("/app/api/x"), two, 2), 4);
  IH_CHECK(two[0] == &a->wildcard_maps[0] && two[1] == &a->wildcard_maps[1] && two[2] == NULL);
  IH_EQ_INT(ih_site_wildcard_maps(a, IH_SLICE_LIT("/app"), NULL, 0), 3);
  IH_EQ_INT(ih_site_wildcard_maps(b, IH_SLICE_LIT("/X/y"), two, 1), 1);
  IH_CHECK(two[0] == &b->wildcard_maps[0]);
  IH_EQ_INT(ih_site_wildcard_maps(b, IH_SLICE_LIT("/y"), two, 3), 0);
  IH_EQ_INT(ih_site_wildcard_maps(NULL, IH_SLICE_LIT("/"), two, 3), 0);
  ih_config_free(c);

  static const struct {
    const char *text, *err;
  } bad[] = {
    { SITE "[scriptmap zz *]\ndll = x.dll\n", "t.ini:4: unknown site 'zz' in [scriptmap zz *]" },
    { SITE "[scriptmap a *]\npath = /app\n", "t.ini:4: [scriptmap a *] is missing required key 'dll'" },
    { SITE "[scriptmap a *]\ndll =\n", "t.ini:5: dll must not be empty" },
    { SITE "[scriptmap a **]\ndll = x.dll\n",
      "t.ini:4: script map extension must look like '.ext' or be '*', got '**'" },
    { SITE "[scriptmap a]\n", "t.ini:4: expected [scriptmap SITE .ext] or [scriptmap SITE *]" },
    { SITE "[scriptmap a * /x]\n", "t.ini:4: expected [scriptmap SITE .ext] or [scriptmap SITE *]" },
    { SITE "[scriptmap a *]\ndll = x.dll\npath = /a\npath = /b\n", "t.ini:7: duplicate key 'path' in [scriptmap a *]" },
    { SITE "[scriptmap a .isa]\ndll = x.dll\npath = /a\n",
      "t.ini:6: unknown key 'path' in [scriptmap a .isa] (only wildcard maps [scriptmap SITE *] have a path)" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_err(bad[i].text, bad[i].err);
  static const char *const bad_paths[] = { "app", "", "//", "/a//b", "/a/./b", "/a/../b", "/..", "/a\\b",
                                           "/a?b", "/a#b", "/app//", "*", "\\app" };
  for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
    char text[256], want[512];
    snprintf(text, sizeof text, SITE "[scriptmap a *]\ndll = x.dll\n\npath = \"%s\"\n", bad_paths[i]);
    snprintf(want, sizeof want,
             "t.ini:7: wildcard map path must be / or look like /a/b (no empty, '.' or '..' segments, no '\\', '?' "
             "or '#'), got '%s'",
             bad_paths[i]);
    expect_err(text, want);
  }
}

/* Indexes (into c->filters) of what ih_config_filters_for_site returns, as a
 * string of digits, so a whole run order is compared at once. */
static void filter_order(const ih_config *c, const ih_site *site, char *buf, size_t cap)
{
  const ih_filter_conf *got[8] = { 0 };
  size_t n = ih_config_filters_for_site(c, site, got, 8);
  size_t k = 0;
  for (; k < n && k < 8 && k + 1 < cap; k++)
    buf[k] = (char)('0' + (got[k] - c->filters));
  buf[k] = '\0';
}

static void test_filters(void)
{
  IH_TEST("[filter NAME]");
  /* A site filter before its [site] (forward reference), global filters
   * before and after the sites, and a filter named like a site. */
  ih_config *c = parse("[filter Rewrite]\ndll = filters/rewrite.dll\n"
                       "[filter auth]\ndll = C:\\f\\auth.dll\nsite = B\non_load_error = SKIP\n" SITE
                       "[filter log]\nDLL = log.dll\non_load_error = fail\n"
                       "[site b]\nbindings = *:81\nroot = rb\n"
                       "[filter a]\nsite = a\ndll = /abs/a.dll\non_load_error = Skip\n"
                       "[filter auth2]\nsite = b\ndll = \"auth 2.dll\"\n");
  if (!c)
    return;
  IH_EQ_INT(c->filter_count, 5);
  if (c->filter_count != 5 || c->site_count != 2) {
    ih_config_free(c);
    return;
  }
  const ih_site *a = &c->sites[0], *b = &c->sites[1];
  const ih_filter_conf *f = c->filters;
  static const struct {
    const char *name, *dll;
    int site; /* -1 = global, else index into c->sites */
    bool skip;
  } want[] = {
    { "Rewrite", "base/filters/rewrite.dll", -1, false },
    { "auth", "C:\\f\\auth.dll", 1, true },
    { "log", "base/log.dll", -1, false },
    { "a", "/abs/a.dll", 0, true },
    { "auth2", "base/auth 2.dll", 1, false },
  };
  for (size_t i = 0; i < 5; i++) {
    IH_EQ_STR(f[i].name, want[i].name);
    IH_EQ_STR(f[i].dll_path, want[i].dll);
    IH_CHECK(f[i].site == (want[i].site < 0 ? NULL : &c->sites[want[i].site]));
    IH_EQ_INT(f[i].skip_on_load_error, want[i].skip);
    IH_EQ_INT(f[i].order, i);
  }

  /* Run order: global filters in file order, then the site's own. */
  char order[16];
  filter_order(c, a, order, sizeof order);
  IH_EQ_STR(order, "023");
  filter_order(c, b, order, sizeof order);
  IH_EQ_STR(order, "0214");
  filter_order(c, NULL, order, sizeof order);
  IH_EQ_STR(order, "02");
  /* cap smaller than the count: the first cap are written, the count returned */
  const ih_filter_conf *three[3] = { NULL, NULL, NULL };
  IH_EQ_INT(ih_config_filters_for_site(c, b, three, 2), 4);
  IH_CHECK(three[0] == &f[0] && three[1] == &f[2] && three[2] == NULL);
  IH_EQ_INT(ih_config_filters_for_site(c, b, three, 3), 4);
  IH_CHECK(three[2] == &f[1]);
  IH_EQ_INT(ih_config_filters_for_site(c, a, NULL, 0), 3);
  IH_EQ_INT(ih_config_filters_for_site(NULL, a, three, 3), 0);
  ih_config_free(c);

  /* No [filter]: nothing applies. Only site filters: no global ones first. */
  c = parse(SITE);
  if (c) {
    IH_EQ_INT(c->filter_count, 0);
    IH_CHECK(c->filters == NULL);
    IH_EQ_INT(ih_config_filters_for_site(c, &c->sites[0], three, 3), 0);
    ih_config_free(c);
  }
  c = parse(SITE "[site b]\nbindings = *:81\nroot = rb\n"
                 "[filter x]\nsite = b\ndll = x.dll\n"
                 "[filter y]\nsite = a\ndll = y.dll\n"
                 "[filter z]\nsite = b\ndll = z.dll\n");
  if (c) {
    filter_order(c, &c->sites[0], order, sizeof order);
    IH_EQ_STR(order, "1");
    filter_order(c, &c->sites[1], order, sizeof order);
    IH_EQ_STR(order, "02");
    IH_EQ_INT(ih_config_filters_for_site(c, NULL, NULL, 0), 0);
    ih_config_free(c);
  }

  /* Validation only (out == NULL) frees the filters too (ASan checks leaks). */
  static const char only[] = "[filter g]\ndll = g.dll\n" SITE "[filter s]\nsite = a\ndll = s.dll\n";
  IH_EQ_INT(ih_config_parse(only, strlen(only), "t.ini", "", NULL, NULL, 0), 0);

  static const struct {
    const char *text, *err;
  } bad[] = {
    { SITE "[filter f]\nsite = a\n", "t.ini:4: [filter f] is missing required key 'dll'" },
    { SITE "[filter f]\ndll =\n", "t.ini:5: dll must not be empty" },
    { SITE "[filter f]\ndll = x.dll\n[filter F]\ndll = y.dll\n",
      "t.ini:6: duplicate [filter F] (first defined at line 4)" },
    { SITE "[filter f]\ndll = x.dll\non_load_error = ignore\n",
      "t.ini:6: on_load_error must be fail or skip, got 'ignore'" },
    { SITE "[filter f]\ndll = x.dll\non_load_error =\n", "t.ini:6: on_load_error must be fail or skip, got ''" },
    { SITE "[filter f]\ndll = x.dll\npriority = high\n", "t.ini:6: unknown key 'priority' in [filter f]" },
    { SITE "[filter f]\ndll = x.dll\nsite = a\nSite = a\n", "t.ini:7: duplicate key 'site' in [filter f]" },
    { SITE "[filter f]\ndll = x.dll\nsite =\n",
      "t.ini:6: site must not be empty (leave the key out for a global filter)" },
    { SITE "[filter f]\ndll = x.dll\nsite = a:b\n",
      "t.ini:6: invalid site name 'a:b' (use letters, digits, '.', '_' and '-')" },
    { SITE "[filter]\n", "t.ini:4: expected [filter NAME]" },
    { SITE "[filter f g]\n", "t.ini:4: expected [filter NAME]" },
    { SITE "[filter f/g]\ndll = x.dll\n",
      "t.ini:4: invalid filter name 'f/g' (use letters, digits, '.', '_' and '-')" },
    /* unknown sites are found after the last line, and reported at the site key */
    { "[filter f]\ndll = x.dll\n\nsite = zz\n" SITE, "t.ini:4: unknown site 'zz' in [filter f]" },
    { SITE "[filter g]\ndll = g.dll\n[filter f]\nsite = a\ndll = x.dll\n[filter h]\ndll = h.dll\nsite = b\n",
      "t.ini:11: unknown site 'b' in [filter h]" },
    /* an error after the filters were attached still frees them */
    { "[filter f]\ndll = x.dll\nsite = b\n" SITE "[site b]\nbindings = *:80\nroot = r\n",
      "t.ini:8: binding '*:80' of [site b] is already used by [site a]" },
    /* and so does an error before the end of the file */
    { "[filter f]\ndll = x.dll\nsite = a\n[filter g]\ndll = y.dll\n" SITE "bogus = 1\n",
      "t.ini:9: unknown key 'bogus' in [site a]" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_err(bad[i].text, bad[i].err);
}

int main(void)
{
  test_defaults();
  test_all_keys();
  test_syntax();
  test_bools_and_perms();
  test_bindings();
  test_errors();
  test_error_buffer();
  test_paths();
  test_log_format();
  test_sites_and_vdirs();
  test_mime_section();
  test_find_site();
  test_map_path();
  test_load_file();
  test_script_maps();
  test_isapi_server_keys();
  test_time_limit_keys();
  test_wildcard_maps();
  test_filters();
  return ih_test_finish();
}
