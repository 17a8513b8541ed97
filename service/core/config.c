/* INI configuration parser and lookups (see config.h; the syntax and every
 * key are documented in docs/configuration.md).
 *
 * One pass over the lines fills the config. Sections and their keys are
 * described by tables (section_defs[] and the *_keys[] arrays): adding a
 * section means adding a row with its open/close hooks and a key table, and
 * adding a key means adding a row with a setter. Rules that need the whole
 * file (a [vdir], [scriptmap] or [filter] may name a site defined further
 * down, and a [site] or [vdir] a pool; default ids, log directories and pool
 * time limits, binding conflicts between sites)
 * run in finish() after the last line. Any error frees everything, so no
 * partial config escapes. */
#include "core/config.h"
#include "core/ih_alloc.h"
#include "core/ih_compiler.h"
#include "core/physical_path.h"
#include "core/pool_identity.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A configuration file is small; refusing huge inputs bounds memory use. */
#define MAX_FILE_BYTES (16u * 1024u * 1024u)
/* Values echoed in error messages are cut to this many bytes. */
#define ECHO_MAX 200
/* Words in a section header: the name plus up to this many - 1 arguments. */
#define MAX_HEADER_WORDS 4

/* "%.*s" arguments for a slice, clamped so messages stay short. */
#define SL(s) (int)((s).n > ECHO_MAX ? ECHO_MAX : (s).n), (s).p

typedef struct parser parser;
typedef struct key_def key_def;

/* Stores value v of key k into obj (the open section's object). */
typedef int (*key_setter)(parser *p, const key_def *k, void *obj, ih_slice v);

struct key_def {
  const char *name;  /* lower case; matched case-insensitively */
  key_setter set;
  size_t offset;     /* field in the section object (generic setters) */
  size_t width;      /* sizeof that field, for numbers */
  uint64_t min, max; /* accepted range, for numbers */
  const char *def;   /* default text applied when the section opens; NULL = none */
  bool required;     /* missing -> error at the section header */
};

typedef struct section_def {
  const char *name;  /* "site" for [site NAME] */
  size_t nargs;      /* words after the name */
  const char *usage; /* shown when nargs does not match */
  int (*open)(parser *p, const ih_slice *args);
  void *(*object)(parser *p);                                /* target of key setters */
  int (*other_key)(parser *p, ih_slice key, ih_slice value); /* keys not in the table; NULL = unknown */
  int (*close)(parser *p);                                   /* after the required-key check; may be NULL */
  const key_def *keys;
  size_t key_count;
} section_def;

typedef struct site_meta {
  int line;          /* [site] header */
  int id_line;       /* line of an explicit id, 0 = default id */
  int bindings_line;
  char *pool_name;   /* pool = NAME, resolved in finish(); NULL = none given */
  int pool_line;
  bool log_format_given; /* else the [server] value, known only after the last line */
} site_meta;

/* Per [pool] facts the finished ih_pool_conf does not keep; parallel to
 * cfg->pools. */
typedef struct pool_meta {
  int line;                 /* [pool] header; 0 for the built-in default pool */
  bool shutdown_given;      /* else the [server] value, known only after the last line */
  bool startup_given;
} pool_meta;

/* A [scriptmap] is attached to its site in finish(), like a [vdir]. */
typedef struct pending_scriptmap {
  char *site_name;
  ih_script_map m;
  int line;
} pending_scriptmap;

/* A [vdir] is attached to its site only in finish(), since the site may come later. */
typedef struct pending_vdir {
  char *site_name;
  ih_vdir v;
  int line;
  char *pool_name; /* pool = NAME, resolved in finish(); NULL = inherit */
  int pool_line;
} pending_vdir;

/* A [filter] names its site by a key, and the site may come later in the
 * file, so the name is resolved in finish(); site_line points the "unknown
 * site" error at that key. */
typedef struct pending_filter {
  ih_filter_conf f;
  char *site_name; /* NULL = global filter */
  int line;        /* [filter] header */
  int site_line;   /* line of the site key, 0 when absent */
} pending_filter;

struct parser {
  const char *file_name;
  const char *base_dir;
  char *err;
  size_t err_cap;
  ih_config *cfg;
  size_t site_cap;
  site_meta *meta; /* parallel to cfg->sites */
  size_t meta_cap;
  pending_vdir *vdirs;
  size_t vdir_count, vdir_cap;
  pending_scriptmap *maps;
  size_t map_count, map_cap;
  pending_filter *filters;
  size_t filter_count, filter_cap;
  size_t pool_cap;
  pool_meta *pool_meta;     /* parallel to cfg->pools */
  size_t pool_meta_cap;
  size_t mime_cap;
  int line;                 /* current line, 1-based */
  const section_def *sec;   /* open section, NULL before the first header */
  size_t cur;               /* index of the open site, vdir, script map, filter or pool */
  int sec_line;
  uint64_t seen;            /* bit i: sec->keys[i] given in the open section */
  int key_line[64];         /* line of sec->keys[i], valid while its seen bit is set */
  int server_line;          /* first [server] header, 0 = none yet */
  char label[256];          /* "[site main]", for messages */
};

/* ---- errors and small helpers ---- */

static int fail(parser *p, int line, const char *fmt, ...) IH_PRINTF(3, 4);

static int fail(parser *p, int line, const char *fmt, ...)
{
  if (p->err && p->err_cap) {
    int n = snprintf(p->err, p->err_cap, "%s:%d: ", p->file_name, line);
    if (n >= 0 && (size_t)n < p->err_cap) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(p->err + n, p->err_cap - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return -1;
}

static int oom(parser *p) { return fail(p, p->line, "out of memory"); }

static char *dup_slice(ih_slice s)
{
  char *d = ih_malloc(s.n + 1);
  if (d) {
    if (s.n)
      memcpy(d, s.p, s.n);
    d[s.n] = '\0';
  }
  return d;
}

static char *dup_lower(ih_slice s)
{
  char *d = dup_slice(s);
  for (size_t i = 0; d && i < s.n; i++)
    d[i] = ih_ascii_lower(d[i]);
  return d;
}

static bool is_alnum(char c) { return ih_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_hex(char c) { return ih_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* Grows *arr (of elem-sized items) so that index count is valid. */
static bool grow(void **arr, size_t *cap, size_t count, size_t elem)
{
  if (count < *cap)
    return true;
  size_t ncap = *cap ? *cap * 2 : 4;
  void *n = ih_realloc(*arr, ncap * elem);
  if (!n)
    return false;
  *arr = n;
  *cap = ncap;
  return true;
}


static bool is_absolute(ih_slice s)
{
  if (s.n && (s.p[0] == '/' || s.p[0] == '\\'))
    return true;
  return s.n >= 2 && ((s.p[0] >= 'a' && s.p[0] <= 'z') || (s.p[0] >= 'A' && s.p[0] <= 'Z')) && s.p[1] == ':';
}

/* rel as written if absolute or base is "", else base + '/' + rel. */
static char *join_path(const char *base, ih_slice rel)
{
  size_t bn = strlen(base);
  if (bn == 0 || is_absolute(rel))
    return dup_slice(rel);
  bool sep = base[bn - 1] == '/' || base[bn - 1] == '\\';
  char *d = ih_malloc(bn + !sep + rel.n + 1);
  if (!d)
    return NULL;
  memcpy(d, base, bn);
  if (!sep)
    d[bn++] = '/';
  if (rel.n)
    memcpy(d + bn, rel.p, rel.n);
  d[bn + rel.n] = '\0';
  return d;
}

static bool valid_ipv4(ih_slice s)
{
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part) {
      if (i >= s.n || s.p[i] != '.')
        return false;
      i++;
    }
    size_t start = i;
    unsigned v = 0;
    while (i < s.n && ih_is_digit(s.p[i]) && i - start < 3)
      v = v * 10 + (unsigned)(s.p[i++] - '0');
    /* No leading zeros: "010" would mean octal to some resolvers. */
    if (i == start || v > 255 || (s.p[start] == '0' && i - start > 1))
      return false;
  }
  return i == s.n;
}

/* RFC 4291 2.2 text forms, including "::" and a dotted IPv4 tail; no zone. */
static bool valid_ipv6(ih_slice s)
{
  size_t i = 0, groups = 0;
  bool dbl = false;
  if (s.n >= 2 && s.p[0] == ':' && s.p[1] == ':') {
    dbl = true;
    i = 2;
  } else if (s.n && s.p[0] == ':') {
    return false;
  }
  while (i < s.n) {
    size_t j = i;
    while (j < s.n && is_hex(s.p[j]))
      j++;
    if (j < s.n && s.p[j] == '.') {
      if (!valid_ipv4((ih_slice){ s.p + i, s.n - i }))
        return false;
      groups += 2;
      break;
    }
    if (j == i || j - i > 4)
      return false;
    groups++;
    i = j;
    if (i == s.n)
      break;
    if (s.p[i] != ':')
      return false;
    i++;
    if (i < s.n && s.p[i] == ':') {
      if (dbl)
        return false;
      dbl = true;
      i++;
    } else if (i == s.n) {
      return false; /* trailing single ':' */
    }
  }
  return dbl ? groups <= 7 : groups == 8;
}

static bool valid_host(ih_slice s)
{
  if (!s.n || s.n > 255)
    return false;
  for (size_t i = 0; i < s.n; i++)
    if (!is_alnum(s.p[i]) && s.p[i] != '-' && s.p[i] != '.' && s.p[i] != '_')
      return false;
  return true;
}

static bool valid_name(ih_slice s)
{
  if (!s.n)
    return false;
  for (size_t i = 0; i < s.n; i++)
    if (!is_alnum(s.p[i]) && s.p[i] != '-' && s.p[i] != '.' && s.p[i] != '_')
      return false;
  return true;
}

/* Canonical vdir URL: "/a/b", no trailing '/', no empty, "." or ".." segment. */
static bool canonical_url(ih_slice s)
{
  if (s.n < 2 || s.p[0] != '/' || s.p[s.n - 1] == '/')
    return false;
  size_t seg = 1;
  for (size_t i = 1; i <= s.n; i++) {
    if (i == s.n || s.p[i] == '/') {
      size_t len = i - seg;
      if (len == 0 || (len == 1 && s.p[seg] == '.') || (len == 2 && s.p[seg] == '.' && s.p[seg + 1] == '.'))
        return false;
      seg = i + 1;
    } else if (s.p[i] == '\\' || s.p[i] == '?' || s.p[i] == '#') {
      return false;
    }
  }
  return true;
}

/* "type/subtype" optionally followed by parameters; printable ASCII only, so
 * the value can go into a Content-Type header unchanged. */
static bool valid_content_type(ih_slice t)
{
  size_t i = 0;
  while (i < t.n && ih_is_tchar((unsigned char)t.p[i]))
    i++;
  if (i == 0 || i == t.n || t.p[i] != '/')
    return false;
  size_t sub = ++i;
  while (i < t.n && ih_is_tchar((unsigned char)t.p[i]))
    i++;
  if (i == sub)
    return false;
  if (i < t.n && t.p[i] != ';' && t.p[i] != ' ' && t.p[i] != '\t')
    return false;
  for (; i < t.n; i++)
    if ((unsigned char)t.p[i] > 0x7e)
      return false;
  return true;
}

static bool valid_extension(ih_slice e)
{
  if (e.n < 2 || e.p[0] != '.')
    return false;
  for (size_t i = 1; i < e.n; i++)
    if (!is_alnum(e.p[i]) && !strchr("-_.+~", e.p[i]))
      return false;
  return true;
}

static void format_binding(const ih_binding *b, char *out, size_t cap)
{
  bool v6 = strchr(b->address, ':') != NULL;
  snprintf(out, cap, "%s%s%s:%u%s%s", v6 ? "[" : "", b->address, v6 ? "]" : "", (unsigned)b->port,
           b->host[0] ? ":" : "", b->host);
}

static void free_bindings(ih_binding *b, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(b[i].address);
    free(b[i].host);
  }
  free(b);
}

static void free_strings(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void free_script_map(ih_script_map *m)
{
  free(m->extension);
  free(m->url_path);
  free(m->dll_path);
  free_strings(m->verbs, m->verb_count);
}

/* ---- generic setters (driven by key_def offset/width/min/max) ---- */

static int set_number(parser *p, const key_def *k, void *obj, ih_slice v)
{
  uint64_t n;
  if (!ih_parse_u64(v, &n) || n < k->min || n > k->max)
    return fail(p, p->line, "%s must be %llu-%llu, got '%.*s'", k->name, (unsigned long long)k->min,
                (unsigned long long)k->max, SL(v));
  char *field = (char *)obj + k->offset;
  if (k->width == sizeof(uint64_t)) {
    uint64_t x = n;
    memcpy(field, &x, sizeof x);
  } else {
    uint32_t x = (uint32_t)n; /* unsigned, or size_t on 32-bit targets; max fits */
    memcpy(field, &x, sizeof x);
  }
  return 0;
}

static int set_bool(parser *p, const key_def *k, void *obj, ih_slice v)
{
  static const char *const yes[] = { "on", "true", "yes", "1" };
  static const char *const no[] = { "off", "false", "no", "0" };
  bool *field = (bool *)((char *)obj + k->offset);
  for (size_t i = 0; i < 4; i++) {
    if (ih_slice_ieq_cstr(v, yes[i])) {
      *field = true;
      return 0;
    }
    if (ih_slice_ieq_cstr(v, no[i])) {
      *field = false;
      return 0;
    }
  }
  return fail(p, p->line, "%s must be on/off, true/false, yes/no or 1/0, got '%.*s'", k->name, SL(v));
}

/* A physical path: relative ones are joined to the config directory. */
static int store_path(parser *p, const char *key, ih_slice v, char **slot)
{
  if (!v.n)
    return fail(p, p->line, "%s must not be empty", key);
  char *s = join_path(p->base_dir, v);
  if (!s)
    return oom(p);
  free(*slot);
  *slot = s;
  return 0;
}

static int set_path(parser *p, const key_def *k, void *obj, ih_slice v)
{
  return store_path(p, k->name, v, (char **)(void *)((char *)obj + k->offset));
}

/* A physical path of content (root, vdir path, error page), in the one
 * Windows form every consumer hands on (core/physical_path.h): DLLs see it
 * as APPL_PHYSICAL_PATH and in every path joined to it. */
static int store_physical_path(parser *p, const char *key, ih_slice v, char **slot)
{
  if (store_path(p, key, v, slot) < 0)
    return -1;
  ih_physical_path_normalize(*slot);
  return 0;
}

static int set_physical_path(parser *p, const key_def *k, void *obj, ih_slice v)
{
  return store_physical_path(p, k->name, v, (char **)(void *)((char *)obj + k->offset));
}

static int parse_perms(parser *p, const char *key, ih_slice v, unsigned *out)
{
  unsigned bits = 0, items = 0;
  bool none = false;
  ih_slice item;
  while (ih_slice_next_list_item(&v, &item)) {
    items++;
    if (ih_slice_ieq_cstr(item, "read"))
      bits |= IH_PERM_READ;
    else if (ih_slice_ieq_cstr(item, "script"))
      bits |= IH_PERM_SCRIPT;
    else if (ih_slice_ieq_cstr(item, "execute"))
      bits |= IH_PERM_EXECUTE;
    else if (ih_slice_ieq_cstr(item, "none"))
      none = true;
    else
      return fail(p, p->line, "unknown permission '%.*s' in %s (use read, script, execute or none)", SL(item), key);
  }
  if (!items)
    return fail(p, p->line, "%s must list read, script, execute or none", key);
  if (none && items > 1)
    return fail(p, p->line, "'none' cannot be combined with other permissions");
  *out = bits;
  return 0;
}

static int set_perms(parser *p, const key_def *k, void *obj, ih_slice v)
{
  return parse_perms(p, k->name, v, (unsigned *)(void *)((char *)obj + k->offset));
}

/* ---- [server] ---- */

static int set_status_path(parser *p, const key_def *k, void *obj, ih_slice v)
{
  if (v.n && v.p[0] != '/')
    return fail(p, p->line, "%s must be empty or start with '/', got '%.*s'", k->name, SL(v));
  char *s = dup_slice(v);
  if (!s)
    return oom(p);
  char **slot = (char **)(void *)((char *)obj + k->offset);
  free(*slot);
  *slot = s;
  return 0;
}

/* trusted_proxies: addresses and CIDR prefixes (core/ip_cidr.h), whose
 * PROXY headers and forwarding headers are believed (docs/deployment.md). */
static int set_trusted_proxies(parser *p, const key_def *k, void *obj, ih_slice v)
{
  ih_server_config *sc = obj;
  ih_cidr_parse_info info;
  if (ih_cidr_list_parse(v, NULL, 0, &info) != IH_CIDR_OK)
    return fail(p, p->line, "%s: '%.*s' is not an address or address/prefix: %s", k->name, SL(info.error_item),
                ih_cidr_status_text(info.status));
  ih_cidr *list = info.count ? ih_calloc(info.count, sizeof *list) : NULL;
  if (info.count && !list)
    return oom(p);
  ih_cidr_list_parse(v, list, info.count, &info);
  free(sc->trusted_proxies);
  sc->trusted_proxies = list;
  sc->trusted_proxy_count = info.count;
  return 0;
}

static int set_forwarded_headers(parser *p, const key_def *k, void *obj, ih_slice v)
{
  int *field = (int *)(void *)((char *)obj + k->offset);
  if (ih_slice_ieq_cstr(v, "auto"))
    *field = IH_FORWARDED_AUTO;
  else if (ih_slice_ieq_cstr(v, "forwarded"))
    *field = IH_FORWARDED_RFC7239;
  else if (ih_slice_ieq_cstr(v, "x-forwarded-for"))
    *field = IH_FORWARDED_XFF;
  else
    return fail(p, p->line, "%s must be auto, forwarded or x-forwarded-for, got '%.*s'", k->name, SL(v));
  return 0;
}

/* log_format, in [server] and [site]. */
static int set_log_format(parser *p, const key_def *k, void *obj, ih_slice v)
{
  enum ih_log_format *field = (enum ih_log_format *)(void *)((char *)obj + k->offset);
  if (ih_slice_ieq_cstr(v, "w3c"))
    *field = IH_LOG_FORMAT_W3C;
  else if (ih_slice_ieq_cstr(v, "json"))
    *field = IH_LOG_FORMAT_JSON;
  else
    return fail(p, p->line, "%s must be w3c or json, got '%.*s'", k->name, SL(v));
  return 0;
}

#define NUM(field, lo, hi, d)                                                                               \
  { #field, set_number, offsetof(ih_server_config, field), sizeof(((ih_server_config *)0)->field), lo, hi, d, \
    false }
#define TIMEOUT(field, d) NUM(field, 1, 86400, d)

static const key_def server_keys[] = {
  NUM(worker_threads, 0, 256, "0"),
  NUM(accepts_per_listener, 1, 256, "8"),
  NUM(max_connections, 0, UINT32_MAX, "10000"),
  { "status_path", set_status_path, offsetof(ih_server_config, status_path), 0, 0, 0, "/_isapihost/status", false },
  { "metrics_path", set_status_path, offsetof(ih_server_config, metrics_path), 0, 0, 0, "", false },
  { "health_path", set_status_path, offsetof(ih_server_config, health_path), 0, 0, 0, "", false },
  { "health_checks_pools", set_bool, offsetof(ih_server_config, health_checks_pools), 0, 0, 0, "on", false },
  { "trusted_proxies", set_trusted_proxies, 0, 0, 0, 0, "", false },
  { "forwarded_headers", set_forwarded_headers, offsetof(ih_server_config, forwarded_headers), 0, 0, 0, "auto",
    false },
  NUM(drain_delay, 0, 3600, "0"),
  { "log_dir", set_path, offsetof(ih_server_config, log_dir), 0, 0, 0, "logs", false },
  { "log_format", set_log_format, offsetof(ih_server_config, log_format), 0, 0, 0, "w3c", false },
  TIMEOUT(drain_timeout, "30"),
  TIMEOUT(header_timeout, "120"),
  TIMEOUT(keepalive_timeout, "120"),
  TIMEOUT(body_timeout, "120"),
  NUM(min_body_rate, 0, UINT32_MAX, "240"),
  NUM(max_request_line, 256, 16777216, "16384"),
  NUM(max_header_line, 256, 16777216, "16384"),
  NUM(max_header_bytes, 256, 16777216, "16384"),
  NUM(max_headers, 1, 128, "100"),
  NUM(max_body, 0, UINT64_MAX, "30000000"),
  NUM(file_cache_ttl, 0, 86400, "2"),
  NUM(file_cache_entries, 0, 1000000, "1024"),
  NUM(isapi_threads, 0, 1024, "0"),
  NUM(isapi_preread, 0, 16777216, "49152"),
  NUM(isapi_max_threads, 1, 4096, "256"),
  NUM(isapi_stuck_timeout, 0, 86400, "120"),
  TIMEOUT(isapi_unload_timeout, "30"),
  NUM(isapi_exec_depth, 1, 64, "8"),
  TIMEOUT(shutdown_time_limit, "90"),
  TIMEOUT(startup_time_limit, "90"),
};

static int open_server(parser *p, const ih_slice *args)
{
  (void)args;
  if (p->server_line)
    return fail(p, p->line, "duplicate [server] section (first at line %d)", p->server_line);
  p->server_line = p->line;
  return 0;
}

static void *server_object(parser *p) { return &p->cfg->server; }

/* Line of key name in the section being closed, 0 if it was not given. */
static int given_line(const parser *p, const key_def *keys, size_t count, const char *name)
{
  for (size_t i = 0; i < count; i++)
    if (strcmp(keys[i].name, name) == 0)
      return (p->seen & ((uint64_t)1 << i)) ? p->key_line[i] : 0;
  return 0;
}

/* Cross-key rules of [server]. Like the other cross-key errors (site ids,
 * bindings), the message points at the later of the keys involved. */
static int close_server(parser *p)
{
  const ih_server_config *s = &p->cfg->server;
  if (s->isapi_threads && s->isapi_threads > s->isapi_max_threads) {
    size_t n = sizeof server_keys / sizeof server_keys[0];
    int a = given_line(p, server_keys, n, "isapi_threads");
    int b = given_line(p, server_keys, n, "isapi_max_threads");
    return fail(p, a > b ? a : (b ? b : p->sec_line), "isapi_threads (%u) exceeds isapi_max_threads (%u)",
                s->isapi_threads, s->isapi_max_threads);
  }
  /* One path, one page: the route would answer only one of them. */
  if (s->metrics_path[0] && ih_slice_ieq_cstr(ih_slice_from_cstr(s->metrics_path), s->status_path)) {
    size_t n = sizeof server_keys / sizeof server_keys[0];
    int a = given_line(p, server_keys, n, "status_path");
    int b = given_line(p, server_keys, n, "metrics_path");
    return fail(p, a > b ? a : (b ? b : p->sec_line), "metrics_path must not be the same as status_path ('%s')",
                s->status_path);
  }
  if (s->metrics_path[0] && ih_slice_ieq_cstr(ih_slice_from_cstr(s->metrics_path), s->health_path)) {
    size_t n = sizeof server_keys / sizeof server_keys[0];
    int a = given_line(p, server_keys, n, "health_path");
    int b = given_line(p, server_keys, n, "metrics_path");
    return fail(p, a > b ? a : (b ? b : p->sec_line), "metrics_path must not be the same as health_path ('%s')",
                s->health_path);
  }
  return 0;
}

/* ---- [site NAME] ---- */

static ih_site *cur_site(parser *p) { return &p->cfg->sites[p->cur]; }

static int set_site_id(parser *p, const key_def *k, void *obj, ih_slice v)
{
  if (set_number(p, k, obj, v) < 0)
    return -1;
  p->meta[p->cur].id_line = p->line;
  return 0;
}

static int parse_binding(parser *p, ih_slice item, ih_binding *b)
{
  ih_slice addr, rest;
  if (item.p[0] == '[') {
    const char *close = memchr(item.p, ']', item.n);
    if (!close)
      return fail(p, p->line, "missing ']' after the IPv6 address in binding '%.*s'", SL(item));
    addr = (ih_slice){ item.p + 1, (size_t)(close - item.p) - 1 };
    rest = (ih_slice){ close + 1, item.n - (size_t)(close + 1 - item.p) };
    if (!rest.n || rest.p[0] != ':')
      return fail(p, p->line, "binding '%.*s' must be ADDRESS:PORT or ADDRESS:PORT:HOST", SL(item));
    if (!valid_ipv6(addr))
      return fail(p, p->line, "invalid IPv6 address '%.*s' in binding '%.*s'", SL(addr), SL(item));
  } else {
    const char *colon = memchr(item.p, ':', item.n);
    if (!colon)
      return fail(p, p->line, "binding '%.*s' must be ADDRESS:PORT or ADDRESS:PORT:HOST", SL(item));
    addr = (ih_slice){ item.p, (size_t)(colon - item.p) };
    rest = (ih_slice){ colon, item.n - addr.n };
    if (!ih_slice_eq(addr, IH_SLICE_LIT("*")) && !valid_ipv4(addr))
      return fail(p, p->line, "invalid address '%.*s' in binding '%.*s' (use *, an IPv4 address or [IPv6])",
                  SL(addr), SL(item));
  }
  rest.p++; /* the ':' before the port */
  rest.n--;
  const char *colon = memchr(rest.p, ':', rest.n);
  ih_slice port = { rest.p, colon ? (size_t)(colon - rest.p) : rest.n };
  ih_slice host = colon ? (ih_slice){ colon + 1, rest.n - port.n - 1 } : (ih_slice){ "", 0 };
  uint64_t n;
  if (!ih_parse_u64(port, &n) || n < 1 || n > 65535)
    return fail(p, p->line, "port must be 1-65535, got '%.*s'", SL(port));
  if (host.n && !valid_host(host))
    return fail(p, p->line, "invalid host name '%.*s' in binding '%.*s'", SL(host), SL(item));
  b->port = (uint16_t)n;
  b->address = dup_lower(addr);
  b->host = dup_lower(host);
  if (!b->address || !b->host)
    return oom(p);
  return 0;
}

static bool same_binding(const ih_binding *a, const ih_binding *b)
{
  return a->port == b->port && strcmp(a->address, b->address) == 0 && strcmp(a->host, b->host) == 0;
}

/* Two bindings through which one connection can arrive: the same port, and
 * the same address or "*" on either side. */
static bool same_endpoint(const ih_binding *a, const ih_binding *b)
{
  return a->port == b->port &&
         (strcmp(a->address, "*") == 0 || strcmp(b->address, "*") == 0 || ih_slice_ieq_cstr(ih_slice_from_cstr(a->address), b->address));
}

static int set_bindings(parser *p, const key_def *k, void *obj, ih_slice v)
{
  ih_site *s = obj;
  ih_binding *list = NULL;
  size_t n = 0, cap = 0;
  ih_slice item;
  while (ih_slice_next_list_item(&v, &item)) {
    if (!grow((void **)&list, &cap, n, sizeof *list)) {
      free_bindings(list, n);
      return oom(p);
    }
    memset(&list[n], 0, sizeof list[n]);
    n++;
    if (parse_binding(p, item, &list[n - 1]) < 0) {
      free_bindings(list, n);
      return -1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
      if (same_binding(&list[i], &list[n - 1])) {
        free_bindings(list, n);
        return fail(p, p->line, "duplicate binding '%.*s' in %s", SL(item), k->name);
      }
    }
  }
  if (!n)
    return fail(p, p->line, "%s must list at least one ADDRESS:PORT or ADDRESS:PORT:HOST", k->name);
  free_bindings(s->bindings, s->binding_count);
  s->bindings = list;
  s->binding_count = n;
  p->meta[p->cur].bindings_line = p->line;
  return 0;
}

static int set_root(parser *p, const key_def *k, void *obj, ih_slice v)
{
  ih_site *s = obj;
  return store_physical_path(p, k->name, v, &s->vdirs[0].physical_path);
}

static int set_root_perms(parser *p, const key_def *k, void *obj, ih_slice v)
{
  ih_site *s = obj;
  return parse_perms(p, k->name, v, &s->vdirs[0].permissions);
}

static int set_documents(parser *p, const key_def *k, void *obj, ih_slice v)
{
  ih_site *s = obj;
  char **list = NULL;
  size_t n = 0, cap = 0;
  ih_slice item;
  while (ih_slice_next_list_item(&v, &item)) {
    /* A name, not a path: it is joined to directories inside the site. */
    if (memchr(item.p, '/', item.n) || memchr(item.p, '\\', item.n)) {
      free_strings(list, n);
      return fail(p, p->line, "%s: '%.*s' must be a file name, not a path", k->name, SL(item));
    }
    if (!grow((void **)&list, &cap, n, sizeof *list) || !(list[n] = dup_slice(item))) {
      free_strings(list, n);
      return oom(p);
    }
    n++;
  }
  free_strings(s->default_documents, s->default_document_count);
  s->default_documents = list;
  s->default_document_count = n;
  return 0;
}

/* pool = NAME in a [site] or [vdir]. The pool may be defined further down,
 * so only the name is kept here; finish() resolves it. An empty value is
 * refused rather than read as "inherit", as for a filter's site, so a
 * half-edited line cannot silently move an application to another pool. */
static int store_pool_ref(parser *p, const key_def *k, ih_slice v, char **slot, int *line)
{
  if (!v.n)
    return fail(p, p->line, "%s must not be empty (leave the key out to inherit the pool)", k->name);
  if (!valid_name(v))
    return fail(p, p->line, "invalid pool name '%.*s' (use letters, digits, '.', '_' and '-')", SL(v));
  char *d = dup_slice(v);
  if (!d)
    return oom(p);
  free(*slot);
  *slot = d;
  *line = p->line;
  return 0;
}

static int set_site_pool(parser *p, const key_def *k, void *obj, ih_slice v)
{
  (void)obj;
  site_meta *m = &p->meta[p->cur];
  return store_pool_ref(p, k, v, &m->pool_name, &m->pool_line);
}

/* A site's own log_format; without one it takes the [server] value, which
 * may be written further down the file (finish). */
static int set_site_log_format(parser *p, const key_def *k, void *obj, ih_slice v)
{
  if (set_log_format(p, k, obj, v) < 0)
    return -1;
  p->meta[p->cur].log_format_given = true;
  return 0;
}

static const key_def site_keys[] = {
  { "id", set_site_id, offsetof(ih_site, id), sizeof(unsigned), 1, UINT32_MAX, NULL, false },
  { "bindings", set_bindings, 0, 0, 0, 0, NULL, true },
  { "root", set_root, 0, 0, 0, 0, NULL, true },
  { "permissions", set_root_perms, 0, 0, 0, 0, "read", false },
  { "default_documents", set_documents, 0, 0, 0, 0, "Default.htm, Default.asp, index.htm, index.html, iisstart.htm",
    false },
  { "directory_listing", set_bool, offsetof(ih_site, directory_listing), 0, 0, 0, "off", false },
  { "log", set_bool, offsetof(ih_site, log_enabled), 0, 0, 0, "on", false },
  { "log_dir", set_path, offsetof(ih_site, log_dir), 0, 0, 0, NULL, false },
  { "log_format", set_site_log_format, offsetof(ih_site, log_format), 0, 0, 0, NULL, false },
  { "pool", set_site_pool, 0, 0, 0, 0, NULL, false },
  { "secure", set_bool, offsetof(ih_site, secure), 0, 0, 0, "off", false },
  { "proxy_protocol", set_bool, offsetof(ih_site, proxy_protocol), 0, 0, 0, "off", false },
};

static int apply_defaults(parser *p, const key_def *keys, size_t count, void *obj)
{
  for (size_t i = 0; i < count; i++)
    if (keys[i].def && keys[i].set(p, &keys[i], obj, ih_slice_from_cstr(keys[i].def)) < 0)
      return -1;
  return 0;
}

static int open_site(parser *p, const ih_slice *args)
{
  ih_config *c = p->cfg;
  if (!valid_name(args[0]))
    return fail(p, p->line, "invalid site name '%.*s' (use letters, digits, '.', '_' and '-')", SL(args[0]));
  for (size_t i = 0; i < c->site_count; i++)
    if (ih_slice_ieq_cstr(args[0], c->sites[i].name))
      return fail(p, p->line, "duplicate [site %.*s] (first defined at line %d)", SL(args[0]), p->meta[i].line);
  if (!grow((void **)&c->sites, &p->site_cap, c->site_count, sizeof *c->sites) ||
      !grow((void **)&p->meta, &p->meta_cap, c->site_count, sizeof *p->meta))
    return oom(p);
  p->cur = c->site_count++;
  ih_site *s = cur_site(p);
  memset(s, 0, sizeof *s);
  p->meta[p->cur] = (site_meta){ .line = p->line };
  s->name = dup_slice(args[0]);
  s->vdirs = ih_calloc(1, sizeof *s->vdirs);
  if (!s->name || !s->vdirs)
    return oom(p);
  s->vdir_count = 1;
  s->vdirs[0].url_path = dup_slice(IH_SLICE_LIT("/"));
  if (!s->vdirs[0].url_path)
    return oom(p);
  return apply_defaults(p, site_keys, sizeof site_keys / sizeof site_keys[0], s);
}

static void *site_object(parser *p) { return cur_site(p); }

/* error_page.NNN = path */
static int site_other_key(parser *p, ih_slice key, ih_slice v)
{
  static const ih_slice prefix = IH_SLICE_LIT("error_page.");
  if (key.n <= prefix.n || !ih_slice_ieq((ih_slice){ key.p, prefix.n }, prefix))
    return fail(p, p->line, "unknown key '%.*s' in %s", SL(key), p->label);
  ih_slice num = { key.p + prefix.n, key.n - prefix.n };
  uint64_t status;
  if (!ih_parse_u64(num, &status) || status < 400 || status > 599)
    return fail(p, p->line, "error_page status must be 400-599, got '%.*s'", SL(num));
  ih_site *s = cur_site(p);
  for (size_t i = 0; i < s->error_page_count; i++)
    if (s->error_pages[i].status == (int)status)
      return fail(p, p->line, "duplicate key 'error_page.%d' in %s", (int)status, p->label);
  /* Exact-size growth: sites have few error pages. */
  ih_error_page *n = ih_realloc(s->error_pages, (s->error_page_count + 1) * sizeof *n);
  if (!n)
    return oom(p);
  s->error_pages = n;
  ih_error_page *e = &n[s->error_page_count];
  e->status = (int)status;
  e->physical_path = NULL;
  char name[32];
  snprintf(name, sizeof name, "error_page.%d", (int)status);
  if (store_physical_path(p, name, v, &e->physical_path) < 0)
    return -1;
  s->error_page_count++;
  return 0;
}

/* ---- [vdir SITE /url/path] ---- */

static int set_vdir_pool(parser *p, const key_def *k, void *obj, ih_slice v)
{
  pending_vdir *pv = obj;
  return store_pool_ref(p, k, v, &pv->pool_name, &pv->pool_line);
}

static const key_def vdir_keys[] = {
  { "path", set_physical_path, offsetof(pending_vdir, v.physical_path), 0, 0, 0, NULL, true },
  { "permissions", set_perms, offsetof(pending_vdir, v.permissions), 0, 0, 0, "read", false },
  { "pool", set_vdir_pool, 0, 0, 0, 0, NULL, false },
};

static int open_vdir(parser *p, const ih_slice *args)
{
  if (!valid_name(args[0]))
    return fail(p, p->line, "invalid site name '%.*s' (use letters, digits, '.', '_' and '-')", SL(args[0]));
  if (ih_slice_eq(args[1], IH_SLICE_LIT("/")))
    return fail(p, p->line, "vdir path '/' is the site root: set root in [site %.*s] instead", SL(args[0]));
  if (!canonical_url(args[1]))
    return fail(p, p->line,
                "vdir path must look like /a/b (no trailing '/', no empty, '.' or '..' segments, "
                "no '\\', '?' or '#'), got '%.*s'",
                SL(args[1]));
  if (!grow((void **)&p->vdirs, &p->vdir_cap, p->vdir_count, sizeof *p->vdirs))
    return oom(p);
  p->cur = p->vdir_count++;
  pending_vdir *pv = &p->vdirs[p->cur];
  memset(pv, 0, sizeof *pv);
  pv->line = p->line;
  pv->site_name = dup_slice(args[0]);
  pv->v.url_path = dup_slice(args[1]);
  if (!pv->site_name || !pv->v.url_path)
    return oom(p);
  return apply_defaults(p, vdir_keys, sizeof vdir_keys / sizeof vdir_keys[0], pv);
}

static void *vdir_object(parser *p) { return &p->vdirs[p->cur]; }

/* ---- [scriptmap SITE .ext] ---- */

static int set_verbs(parser *p, const key_def *k, void *obj, ih_slice v)
{
  (void)k;
  pending_scriptmap *pm = obj;
  free_strings(pm->m.verbs, pm->m.verb_count);
  pm->m.verbs = NULL;
  pm->m.verb_count = 0;
  size_t cap = 0;
  ih_slice item, rest = v;
  while (ih_slice_next_list_item(&rest, &item)) {
    for (size_t i = 0; i < item.n; i++)
      if (!ih_is_tchar((unsigned char)item.p[i]))
        return fail(p, p->line, "invalid method '%.*s' in verbs", SL(item));
    if (!grow((void **)&pm->m.verbs, &cap, pm->m.verb_count, sizeof *pm->m.verbs))
      return oom(p);
    if (!(pm->m.verbs[pm->m.verb_count] = dup_slice(item)))
      return oom(p);
    pm->m.verb_count++;
  }
  return 0;
}

/* path = URL prefix of a wildcard map. Stored like a vdir url_path; one
 * trailing '/' is accepted ("/app/", as IIS users write it) and dropped. */
static int set_map_path(parser *p, const key_def *k, void *obj, ih_slice v)
{
  pending_scriptmap *pm = obj;
  if (!pm->m.url_path)
    return fail(p, p->line, "unknown key '%s' in %s (only wildcard maps [scriptmap SITE *] have a path)", k->name,
                p->label);
  ih_slice u = v;
  if (u.n >= 3 && u.p[u.n - 1] == '/')
    u.n--;
  if (!ih_slice_eq(u, IH_SLICE_LIT("/")) && !canonical_url(u))
    return fail(p, p->line,
                "wildcard map path must be / or look like /a/b (no empty, '.' or '..' segments, "
                "no '\\', '?' or '#'), got '%.*s'",
                SL(v));
  char *d = dup_slice(u);
  if (!d)
    return oom(p);
  free(pm->m.url_path);
  pm->m.url_path = d;
  return 0;
}

static const key_def scriptmap_keys[] = {
  { "dll", set_path, offsetof(pending_scriptmap, m.dll_path), 0, 0, 0, NULL, true },
  { "verbs", set_verbs, 0, 0, 0, 0, "", false },
  { "check_file", set_bool, offsetof(pending_scriptmap, m.check_file), 0, 0, 0, "on", false },
  { "path", set_map_path, 0, 0, 0, 0, NULL, false }, /* wildcard maps; default "/" set in open */
};

static int open_scriptmap(parser *p, const ih_slice *args)
{
  if (!valid_name(args[0]))
    return fail(p, p->line, "invalid site name '%.*s' (use letters, digits, '.', '_' and '-')", SL(args[0]));
  bool wildcard = ih_slice_eq(args[1], IH_SLICE_LIT("*"));
  if (!wildcard && !valid_extension(args[1]))
    return fail(p, p->line, "script map extension must look like '.ext' or be '*', got '%.*s'", SL(args[1]));
  if (!grow((void **)&p->maps, &p->map_cap, p->map_count, sizeof *p->maps))
    return oom(p);
  p->cur = p->map_count++;
  pending_scriptmap *pm = &p->maps[p->cur];
  memset(pm, 0, sizeof *pm);
  pm->line = p->line;
  pm->site_name = dup_slice(args[0]);
  pm->m.extension = dup_lower(args[1]);
  if (!pm->site_name || !pm->m.extension)
    return oom(p);
  if (wildcard && !(pm->m.url_path = dup_slice(IH_SLICE_LIT("/"))))
    return oom(p);
  if (apply_defaults(p, scriptmap_keys, sizeof scriptmap_keys / sizeof scriptmap_keys[0], pm) < 0)
    return -1;
  /* IIS 6 leaves "Verify that file exists" unchecked for wildcard maps: the
   * URLs they serve usually name no file (that is their point). */
  if (wildcard)
    pm->m.check_file = false;
  return 0;
}

static void *scriptmap_object(parser *p) { return &p->maps[p->cur]; }

/* ---- [filter NAME] ---- */

/* site = NAME of a [site]; resolved in finish(). An empty value is refused
 * rather than read as "global", so a half-edited line cannot silently turn a
 * site filter into one that sees every site. */
static int set_filter_site(parser *p, const key_def *k, void *obj, ih_slice v)
{
  pending_filter *pf = obj;
  if (!v.n)
    return fail(p, p->line, "%s must not be empty (leave the key out for a global filter)", k->name);
  if (!valid_name(v))
    return fail(p, p->line, "invalid site name '%.*s' (use letters, digits, '.', '_' and '-')", SL(v));
  char *d = dup_slice(v);
  if (!d)
    return oom(p);
  free(pf->site_name);
  pf->site_name = d;
  pf->site_line = p->line;
  return 0;
}

static int set_on_load_error(parser *p, const key_def *k, void *obj, ih_slice v)
{
  bool *field = (bool *)((char *)obj + k->offset);
  if (ih_slice_ieq_cstr(v, "fail"))
    *field = false;
  else if (ih_slice_ieq_cstr(v, "skip"))
    *field = true;
  else
    return fail(p, p->line, "%s must be fail or skip, got '%.*s'", k->name, SL(v));
  return 0;
}

static const key_def filter_keys[] = {
  { "dll", set_path, offsetof(pending_filter, f.dll_path), 0, 0, 0, NULL, true },
  { "site", set_filter_site, 0, 0, 0, 0, NULL, false },
  { "on_load_error", set_on_load_error, offsetof(pending_filter, f.skip_on_load_error), 0, 0, 0, "fail", false },
};

static int open_filter(parser *p, const ih_slice *args)
{
  if (!valid_name(args[0]))
    return fail(p, p->line, "invalid filter name '%.*s' (use letters, digits, '.', '_' and '-')", SL(args[0]));
  /* Names label the filter in log messages, so they must tell filters apart. */
  for (size_t i = 0; i < p->filter_count; i++)
    if (ih_slice_ieq_cstr(args[0], p->filters[i].f.name))
      return fail(p, p->line, "duplicate [filter %.*s] (first defined at line %d)", SL(args[0]),
                  p->filters[i].line);
  if (!grow((void **)&p->filters, &p->filter_cap, p->filter_count, sizeof *p->filters))
    return oom(p);
  p->cur = p->filter_count++;
  pending_filter *pf = &p->filters[p->cur];
  memset(pf, 0, sizeof *pf);
  pf->line = p->line;
  /* A 16 MiB file holds far fewer than UINT_MAX sections, so this cannot wrap. */
  pf->f.order = (unsigned)p->cur;
  if (!(pf->f.name = dup_slice(args[0])))
    return oom(p);
  return apply_defaults(p, filter_keys, sizeof filter_keys / sizeof filter_keys[0], pf);
}

static void *filter_object(parser *p) { return &p->filters[p->cur]; }

/* ---- [pool NAME] ---- */

static int set_pool_mode(parser *p, const key_def *k, void *obj, ih_slice v)
{
  ih_pool_conf *pool = obj;
  if (ih_slice_ieq_cstr(v, "inprocess"))
    pool->mode = IH_POOL_INPROCESS;
  else if (ih_slice_ieq_cstr(v, "worker"))
    pool->mode = IH_POOL_WORKER;
  else
    return fail(p, p->line, "%s must be inprocess or worker, got '%.*s'", k->name, SL(v));
  return 0;
}

/* 32 or 64. Whether it was written is taken from the seen mask when the
 * section closes (close_pool), so the default "64" does not count. */
static int set_pool_bitness(parser *p, const key_def *k, void *obj, ih_slice v)
{
  ih_pool_conf *pool = obj;
  uint64_t n;
  if (!ih_parse_u64(v, &n) || (n != 32 && n != 64))
    return fail(p, p->line, "%s must be 32 or 64, got '%.*s'", k->name, SL(v));
  pool->bitness = (unsigned)n;
  return 0;
}

/* Any text, kept as written ("" allowed). */
/* A pool's identity, kept as written once core/pool_identity.c can tell
 * which account it names: a malformed one (DOM\, a bare name that is no
 * keyword) is this file's error, with its line, rather than a pool that
 * fails to start later. */
static int set_identity(parser *p, const key_def *k, void *obj, ih_slice v)
{
  ih_pool_conf *pool = obj;
  char *text = dup_slice(v);
  if (!text)
    return oom(p);
  ih_identity id;
  if (ih_identity_parse(text, pool->name, &id) == IH_IDENTITY_INVALID) {
    free(text);
    return fail(p, p->line, "%s '%.*s' in [pool %s]: %s", k->name, SL(v), pool->name, id.reason);
  }
  free(pool->identity);
  pool->identity = text;
  return 0;
}

/* "H:MM" or "HH:MM", 00:00-23:59, as minutes after midnight. */
static bool parse_time_of_day(ih_slice t, uint16_t *minutes)
{
  const char *colon = memchr(t.p, ':', t.n);
  if (!colon)
    return false;
  ih_slice h = { t.p, (size_t)(colon - t.p) };
  ih_slice m = { colon + 1, t.n - h.n - 1 };
  uint64_t hv, mv;
  if (h.n < 1 || h.n > 2 || m.n != 2 || !ih_parse_u64(h, &hv) || !ih_parse_u64(m, &mv) || hv > 23 || mv > 59)
    return false;
  *minutes = (uint16_t)(hv * 60 + mv);
  return true;
}

/* recycle_schedule = HH:MM, HH:MM, ... (IIS's periodicRestart <schedule>).
 * Kept in ascending order so the next time is the first one after now.
 * The same time twice is an error: it recycles once either way, so a
 * repeat is a typing mistake (say 03:00 meant as 15:00). */
static int set_recycle_schedule(parser *p, const key_def *k, void *obj, ih_slice v)
{
  ih_pool_conf *pool = obj;
  uint16_t list[IH_POOL_SCHEDULE_MAX];
  size_t n = 0;
  ih_slice item;
  while (ih_slice_next_list_item(&v, &item)) {
    uint16_t t;
    if (!parse_time_of_day(item, &t))
      return fail(p, p->line, "invalid time '%.*s' in %s (use HH:MM, 00:00-23:59)", SL(item), k->name);
    size_t at = 0;
    while (at < n && list[at] < t)
      at++;
    if (at < n && list[at] == t)
      return fail(p, p->line, "duplicate time '%.*s' in %s", SL(item), k->name);
    if (n == IH_POOL_SCHEDULE_MAX)
      return fail(p, p->line, "%s must list at most %d times", k->name, IH_POOL_SCHEDULE_MAX);
    memmove(&list[at + 1], &list[at], (n - at) * sizeof list[0]);
    list[at] = t;
    n++;
  }
  memcpy(pool->recycle_schedule, list, n * sizeof list[0]);
  pool->recycle_schedule_count = n;
  return 0;
}

/* Bytes, with an optional binary suffix K, M or G (any case; 1K = 1024,
 * as Windows counts memory). Overflow is an error, not a wrap. */
static int set_memory(parser *p, const key_def *k, void *obj, ih_slice v)
{
  ih_slice digits = v;
  unsigned shift = 0;
  if (v.n) {
    char c = ih_ascii_lower(v.p[v.n - 1]);
    shift = c == 'k' ? 10 : c == 'm' ? 20 : c == 'g' ? 30 : 0;
    if (shift)
      digits.n--;
  }
  uint64_t n;
  if (!ih_parse_u64(digits, &n) || n > (UINT64_MAX >> shift))
    return fail(p, p->line, "%s must be a number of bytes with an optional K, M or G suffix, got '%.*s'", k->name,
                SL(v));
  uint64_t bytes = n << shift;
  memcpy((char *)obj + k->offset, &bytes, sizeof bytes);
  return 0;
}

#define PNUM(key, field, lo, hi, d) \
  { key, set_number, offsetof(ih_pool_conf, field), sizeof(((ih_pool_conf *)0)->field), lo, hi, d, false }

/* Defaults are IIS 6's application pool metabase defaults where IIS has
 * the property (AppPoolQueueLength 1000, RapidFailProtectionMaxCrashes 5 in
 * RapidFailProtectionInterval 5 minutes, PingInterval 30 s,
 * PingResponseTime 90 s, PeriodicRestartTime 1740 minutes). The two time
 * limits have no default here: they take the [server] values in finish(),
 * since [server] may come later in the file. */
static const key_def pool_keys[] = {
  { "mode", set_pool_mode, 0, 0, 0, 0, "inprocess", false },
  { "bitness", set_pool_bitness, 0, 0, 0, 0, "64", false },
  PNUM("processes", processes, 1, 64, "1"),
  { "identity", set_identity, 0, 0, 0, 0, "", false },
  PNUM("queue_length", queue_length, 1, 65535, "1000"),
  PNUM("rapid_fail_max_crashes", rapid_fail_max_crashes, 0, 1000, "5"),
  PNUM("rapid_fail_interval", rapid_fail_interval, 1, 86400, "300"),
  PNUM("rapid_fail_backoff_max", rapid_fail_backoff_max, 1, 86400, "600"),
  PNUM("ping_interval", ping_interval, 0, 3600, "30"),
  PNUM("ping_timeout", ping_timeout, 1, 3600, "90"),
  PNUM("recycle_requests", recycle_requests, 0, UINT32_MAX, "0"),
  PNUM("recycle_time", recycle_time_minutes, 0, 525600, "1740"),
  { "recycle_schedule", set_recycle_schedule, 0, 0, 0, 0, "", false },
  { "recycle_private_memory", set_memory, offsetof(ih_pool_conf, recycle_private_memory), 0, 0, 0, "0", false },
  PNUM("shutdown_time_limit", shutdown_time_limit, 1, 86400, NULL),
  PNUM("startup_time_limit", startup_time_limit, 1, 86400, NULL),
  { "shadow_copy", set_bool, offsetof(ih_pool_conf, shadow_copy), 0, 0, 0, "on", false },
};

#define POOL_KEY_COUNT (sizeof pool_keys / sizeof pool_keys[0])

/* Appends a pool with every default to cfg->pools; its index is p->cur. */
static int add_pool(parser *p, ih_slice name)
{
  ih_config *c = p->cfg;
  if (!grow((void **)&c->pools, &p->pool_cap, c->pool_count, sizeof *c->pools) ||
      !grow((void **)&p->pool_meta, &p->pool_meta_cap, c->pool_count, sizeof *p->pool_meta))
    return oom(p);
  p->cur = c->pool_count++;
  ih_pool_conf *pool = &c->pools[p->cur];
  memset(pool, 0, sizeof *pool);
  p->pool_meta[p->cur] = (pool_meta){ .line = p->line };
  pool->index = (unsigned)p->cur;
  if (!(pool->name = dup_slice(name)))
    return oom(p);
  return apply_defaults(p, pool_keys, POOL_KEY_COUNT, pool);
}

/* [pool default] (any case) redefines the built-in pools[0], which keeps its
 * place and its lower-case name, so sites without a pool follow it. */
static int open_pool(parser *p, const ih_slice *args)
{
  ih_config *c = p->cfg;
  if (!valid_name(args[0]))
    return fail(p, p->line, "invalid pool name '%.*s' (use letters, digits, '.', '_' and '-')", SL(args[0]));
  for (size_t i = 0; i < c->pool_count; i++) {
    if (!ih_slice_ieq_cstr(args[0], c->pools[i].name))
      continue;
    if (p->pool_meta[i].line)
      return fail(p, p->line, "duplicate [pool %.*s] (first defined at line %d)", SL(args[0]),
                  p->pool_meta[i].line);
    p->cur = i; /* the built-in default, still with every default value */
    p->pool_meta[i].line = p->line;
    return 0;
  }
  return add_pool(p, args[0]);
}

static void *pool_object(parser *p) { return &p->cfg->pools[p->cur]; }

/* Records which keys were written, and refuses bitness in an inprocess
 * pool: its DLLs run in the service process, which has the bitness it was
 * built with, so a 32 there would be a promise nothing keeps (and a 64 on
 * the x86 build the same). Like the other cross-key errors the message
 * points at the later of the two keys. */
static int close_pool(parser *p)
{
  ih_pool_conf *pool = &p->cfg->pools[p->cur];
  int bitness_line = given_line(p, pool_keys, POOL_KEY_COUNT, "bitness");
  int mode_line = given_line(p, pool_keys, POOL_KEY_COUNT, "mode");
  pool->bitness_given = bitness_line != 0;
  p->pool_meta[p->cur].shutdown_given = given_line(p, pool_keys, POOL_KEY_COUNT, "shutdown_time_limit") != 0;
  p->pool_meta[p->cur].startup_given = given_line(p, pool_keys, POOL_KEY_COUNT, "startup_time_limit") != 0;
  if (pool->mode == IH_POOL_INPROCESS && bitness_line)
    return fail(p, bitness_line > mode_line ? bitness_line : mode_line, "bitness applies to worker pools only");
  return 0;
}

/* ---- [mime] ---- */

static int open_mime(parser *p, const ih_slice *args)
{
  (void)p;
  (void)args;
  return 0;
}

/* .ext = type/subtype, or "" to remove a default. */
static int mime_key(parser *p, ih_slice key, ih_slice v)
{
  ih_config *c = p->cfg;
  if (!valid_extension(key))
    return fail(p, p->line, "invalid extension '%.*s' in [mime] (expected '.ext')", SL(key));
  for (size_t i = 0; i < c->mime_count; i++)
    if (ih_slice_ieq_cstr(key, c->mime[i].ext))
      return fail(p, p->line, "duplicate key '%.*s' in [mime]", SL(key));
  if (v.n && !valid_content_type(v))
    return fail(p, p->line, "invalid content type '%.*s' for '%.*s' (expected type/subtype)", SL(v), SL(key));
  if (!grow((void **)&c->mime, &p->mime_cap, c->mime_count, sizeof *c->mime))
    return oom(p);
  char *ext = dup_lower(key), *type = dup_slice(v);
  if (!ext || !type) {
    free(ext);
    free(type);
    return oom(p);
  }
  c->mime[c->mime_count++] = (ih_mime_entry){ ext, type };
  return 0;
}

/* ---- section table ---- */

#define KEYS(t) t, sizeof t / sizeof t[0]

static const section_def section_defs[] = {
  { "server", 0, "expected [server]", open_server, server_object, NULL, close_server, KEYS(server_keys) },
  { "site", 1, "expected [site NAME]", open_site, site_object, site_other_key, NULL, KEYS(site_keys) },
  { "vdir", 2, "expected [vdir SITE /url/path]", open_vdir, vdir_object, NULL, NULL, KEYS(vdir_keys) },
  { "mime", 0, "expected [mime]", open_mime, NULL, mime_key, NULL, NULL, 0 },
  { "scriptmap", 2, "expected [scriptmap SITE .ext] or [scriptmap SITE *]", open_scriptmap, scriptmap_object, NULL,
    NULL, KEYS(scriptmap_keys) },
  { "filter", 1, "expected [filter NAME]", open_filter, filter_object, NULL, NULL, KEYS(filter_keys) },
  { "pool", 1, "expected [pool NAME]", open_pool, pool_object, NULL, close_pool, KEYS(pool_keys) },
};

/* set_number stores 4- or 8-byte fields; the seen mask has one bit per key. */
_Static_assert(sizeof(unsigned) == 4 && (sizeof(size_t) == 4 || sizeof(size_t) == 8), "field widths");
_Static_assert(sizeof server_keys / sizeof server_keys[0] <= 64, "too many keys for the seen mask");
_Static_assert(sizeof site_keys / sizeof site_keys[0] <= 64, "too many keys for the seen mask");
_Static_assert(sizeof scriptmap_keys / sizeof scriptmap_keys[0] <= 64, "too many keys for the seen mask");
_Static_assert(sizeof filter_keys / sizeof filter_keys[0] <= 64, "too many keys for the seen mask");
_Static_assert(POOL_KEY_COUNT <= 64, "too many keys for the seen mask");

/* ---- line parsing ---- */

static int close_section(parser *p)
{
  const section_def *d = p->sec;
  if (!d)
    return 0;
  for (size_t i = 0; i < d->key_count; i++)
    if (d->keys[i].required && !(p->seen & ((uint64_t)1 << i)))
      return fail(p, p->sec_line, "%s is missing required key '%s'", p->label, d->keys[i].name);
  p->sec = NULL;
  return d->close ? d->close(p) : 0;
}

static int parse_header(parser *p, ih_slice line)
{
  if (line.p[line.n - 1] != ']')
    return fail(p, p->line, "section header must end with ']'");
  ih_slice inner = { line.p + 1, line.n - 2 };
  ih_slice words[MAX_HEADER_WORDS];
  size_t nw = 0, extra = 0;
  size_t i = 0;
  while (i < inner.n) {
    while (i < inner.n && (inner.p[i] == ' ' || inner.p[i] == '\t'))
      i++;
    size_t start = i;
    while (i < inner.n && inner.p[i] != ' ' && inner.p[i] != '\t')
      i++;
    if (i > start) {
      if (nw < MAX_HEADER_WORDS)
        words[nw++] = (ih_slice){ inner.p + start, i - start };
      else
        extra++;
    }
  }
  if (!nw)
    return fail(p, p->line, "empty section header");
  if (close_section(p) < 0)
    return -1;
  const section_def *d = NULL;
  for (size_t k = 0; k < sizeof section_defs / sizeof section_defs[0]; k++)
    if (ih_slice_ieq_cstr(words[0], section_defs[k].name))
      d = &section_defs[k];
  if (!d)
    return fail(p, p->line, "unknown section [%.*s]", SL(words[0]));
  if (nw - 1 + extra != d->nargs)
    return fail(p, p->line, "%s", d->usage);
  int n = snprintf(p->label, sizeof p->label, "[%s", d->name);
  for (size_t k = 1; k < nw && n >= 0 && (size_t)n < sizeof p->label; k++)
    n += snprintf(p->label + n, sizeof p->label - (size_t)n, " %.*s", SL(words[k]));
  if (n >= 0 && (size_t)n < sizeof p->label - 1)
    snprintf(p->label + n, sizeof p->label - (size_t)n, "]");
  p->sec = d;
  p->sec_line = p->line;
  p->seen = 0;
  return d->open(p, words + 1);
}

static int parse_key_value(parser *p, ih_slice line)
{
  const char *eq = memchr(line.p, '=', line.n);
  if (!eq)
    return fail(p, p->line, "expected 'key = value', a [section] header or a comment");
  ih_slice key = ih_slice_trim_ows((ih_slice){ line.p, (size_t)(eq - line.p) });
  ih_slice value = ih_slice_trim_ows((ih_slice){ eq + 1, (size_t)(line.p + line.n - (eq + 1)) });
  if (!key.n)
    return fail(p, p->line, "missing key before '='");
  if (!p->sec)
    return fail(p, p->line, "key '%.*s' outside of a section", SL(key));
  if (value.n && value.p[0] == '"') {
    if (value.n < 2 || value.p[value.n - 1] != '"')
      return fail(p, p->line, "unterminated quoted value");
    value.p++;
    value.n -= 2;
  }
  const section_def *d = p->sec;
  for (size_t i = 0; i < d->key_count; i++) {
    const key_def *k = &d->keys[i];
    if (!ih_slice_ieq_cstr(key, k->name))
      continue;
    uint64_t bit = (uint64_t)1 << i;
    if (p->seen & bit)
      return fail(p, p->line, "duplicate key '%s' in %s", k->name, p->label);
    if (k->set(p, k, d->object ? d->object(p) : NULL, value) < 0)
      return -1;
    p->seen |= bit;
    p->key_line[i] = p->line;
    return 0;
  }
  if (d->other_key)
    return d->other_key(p, key, value);
  return fail(p, p->line, "unknown key '%.*s' in %s", SL(key), p->label);
}

static int parse_line(parser *p, ih_slice line)
{
  /* Control bytes would end up in paths and headers; refuse them early. */
  for (size_t i = 0; i < line.n; i++) {
    unsigned char c = (unsigned char)line.p[i];
    if ((c < 0x20 && c != '\t') || c == 0x7f)
      return fail(p, p->line, "control character 0x%02x in line", c);
  }
  line = ih_slice_trim_ows(line);
  if (!line.n || line.p[0] == ';' || line.p[0] == '#')
    return 0;
  if (line.p[0] == '[')
    return parse_header(p, line);
  return parse_key_value(p, line);
}

/* ---- whole-file rules ---- */

static int attach_vdirs(parser *p)
{
  ih_config *c = p->cfg;
  for (size_t i = 0; i < p->vdir_count; i++) {
    pending_vdir *pv = &p->vdirs[i];
    ih_slice name = ih_slice_from_cstr(pv->site_name);
    ih_site *s = NULL;
    for (size_t k = 0; k < c->site_count && !s; k++)
      if (ih_slice_ieq_cstr(name, c->sites[k].name))
        s = &c->sites[k];
    if (!s)
      return fail(p, pv->line, "unknown site '%s' in [vdir %s %s]", pv->site_name, pv->site_name, pv->v.url_path);
    for (size_t k = 0; k < i; k++) {
      const pending_vdir *o = &p->vdirs[k];
      if (ih_slice_ieq_cstr(name, o->site_name) && ih_slice_ieq_cstr(ih_slice_from_cstr(pv->v.url_path), o->v.url_path))
        return fail(p, pv->line, "duplicate [vdir %s %s] (first defined at line %d)", pv->site_name,
                    pv->v.url_path, o->line);
    }
    if (pv->pool_name && !(pv->v.pool = ih_config_pool_named(c, pv->pool_name)))
      return fail(p, pv->pool_line, "unknown pool '%s' in [vdir %s %s]", pv->pool_name, pv->site_name,
                  pv->v.url_path);
  }
  /* All checks passed: move each vdir into its site. */
  for (size_t i = 0; i < p->vdir_count; i++) {
    pending_vdir *pv = &p->vdirs[i];
    ih_site *s = NULL;
    for (size_t k = 0; k < c->site_count && !s; k++)
      if (ih_slice_ieq_cstr(ih_slice_from_cstr(pv->site_name), c->sites[k].name))
        s = &c->sites[k];
    ih_vdir *n = ih_realloc(s->vdirs, (s->vdir_count + 1) * sizeof *n);
    if (!n)
      return oom(p);
    s->vdirs = n;
    s->vdirs[s->vdir_count++] = pv->v;
    memset(&pv->v, 0, sizeof pv->v);
  }
  return 0;
}

static int attach_scriptmaps(parser *p)
{
  ih_config *c = p->cfg;
  for (size_t i = 0; i < p->map_count; i++) {
    pending_scriptmap *pm = &p->maps[i];
    ih_site *s = NULL;
    for (size_t k = 0; k < c->site_count && !s; k++)
      if (ih_slice_ieq_cstr(ih_slice_from_cstr(pm->site_name), c->sites[k].name))
        s = &c->sites[k];
    if (!s)
      return fail(p, pm->line, "unknown site '%s' in [scriptmap %s %s]", pm->site_name, pm->site_name,
                  pm->m.extension);
    if (pm->m.url_path) {
      /* Wildcard maps: several per site, even for one path; file order kept. */
      ih_script_map *n = ih_realloc(s->wildcard_maps, (s->wildcard_map_count + 1) * sizeof *n);
      if (!n)
        return oom(p);
      s->wildcard_maps = n;
      s->wildcard_maps[s->wildcard_map_count++] = pm->m;
      memset(&pm->m, 0, sizeof pm->m);
      continue;
    }
    if (ih_site_script_map(s, ih_slice_from_cstr(pm->m.extension)))
      return fail(p, pm->line, "duplicate [scriptmap %s %s]", pm->site_name, pm->m.extension);
    ih_script_map *n = ih_realloc(s->script_maps, (s->script_map_count + 1) * sizeof *n);
    if (!n)
      return oom(p);
    s->script_maps = n;
    s->script_maps[s->script_map_count++] = pm->m;
    memset(&pm->m, 0, sizeof pm->m);
  }
  return 0;
}

/* Resolves each filter's site and moves the filters, in file order, into
 * cfg->filters. Sites are no longer reallocated once the last line is read,
 * so the site pointers stay valid for the life of the config. */
static int attach_filters(parser *p)
{
  ih_config *c = p->cfg;
  if (!p->filter_count)
    return 0;
  for (size_t i = 0; i < p->filter_count; i++) {
    pending_filter *pf = &p->filters[i];
    if (!pf->site_name)
      continue;
    for (size_t k = 0; k < c->site_count && !pf->f.site; k++)
      if (ih_slice_ieq_cstr(ih_slice_from_cstr(pf->site_name), c->sites[k].name))
        pf->f.site = &c->sites[k];
    if (!pf->f.site)
      return fail(p, pf->site_line, "unknown site '%s' in [filter %s]", pf->site_name, pf->f.name);
  }
  /* One allocation, after every check: either all filters move or none. */
  ih_filter_conf *list = ih_malloc(p->filter_count * sizeof *list);
  if (!list)
    return oom(p);
  for (size_t i = 0; i < p->filter_count; i++) {
    list[i] = p->filters[i].f;
    memset(&p->filters[i].f, 0, sizeof p->filters[i].f);
  }
  c->filters = list;
  c->filter_count = p->filter_count;
  return 0;
}

static int finish(parser *p)
{
  ih_config *c = p->cfg;
  if (!c->site_count)
    return fail(p, p->line ? p->line : 1, "no [site NAME] section: at least one site is required");
  if (c->server.health_path[0] && c->server.status_path[0] &&
      ih_slice_ieq_cstr(ih_slice_from_cstr(c->server.health_path), c->server.status_path))
    return fail(p, p->server_line ? p->server_line : 1, "health_path and status_path are both '%s': give each its own",
                c->server.health_path);

  for (size_t i = 0; i < c->site_count; i++)
    if (!p->meta[i].id_line)
      c->sites[i].id = (unsigned)(i + 1);
  for (size_t i = 0; i < c->site_count; i++)
    for (size_t k = 0; k < i; k++)
      if (c->sites[k].id == c->sites[i].id)
        return fail(p, p->meta[i].id_line ? p->meta[i].id_line : p->meta[i].line,
                    "site id %u of [site %s] is already used by [site %s]", c->sites[i].id, c->sites[i].name,
                    c->sites[k].name);

  for (size_t i = 0; i < c->site_count; i++) {
    ih_site *s = &c->sites[i];
    if (!p->meta[i].log_format_given)
      s->log_format = c->server.log_format;
    if (s->log_dir)
      continue;
    char sub[24];
    snprintf(sub, sizeof sub, "W3SVC%u", s->id);
    if (!(s->log_dir = join_path(c->server.log_dir, ih_slice_from_cstr(sub))))
      return oom(p);
  }

  /* Pools: the time limits not written take the [server] values, and
   * every pool = NAME is resolved. cfg->pools is complete, so the pointers
   * stay valid for the life of the config. */
  for (size_t i = 0; i < c->pool_count; i++) {
    if (!p->pool_meta[i].shutdown_given)
      c->pools[i].shutdown_time_limit = c->server.shutdown_time_limit;
    if (!p->pool_meta[i].startup_given)
      c->pools[i].startup_time_limit = c->server.startup_time_limit;
  }
  for (size_t i = 0; i < c->site_count; i++) {
    const site_meta *m = &p->meta[i];
    if (m->pool_name && !(c->sites[i].pool = ih_config_pool_named(c, m->pool_name)))
      return fail(p, m->pool_line, "unknown pool '%s' in [site %s]", m->pool_name, c->sites[i].name);
  }

  if (attach_vdirs(p) < 0 || attach_scriptmaps(p) < 0 || attach_filters(p) < 0)
    return -1;

  /* One (address, port, host) may answer for one site only. */
  for (size_t i = 0; i < c->site_count; i++) {
    const ih_site *s = &c->sites[i];
    for (size_t bi = 0; bi < s->binding_count; bi++)
      for (size_t k = 0; k < i; k++)
        for (size_t bk = 0; bk < c->sites[k].binding_count; bk++)
          if (same_binding(&s->bindings[bi], &c->sites[k].bindings[bk])) {
            char text[320];
            format_binding(&s->bindings[bi], text, sizeof text);
            return fail(p, p->meta[i].bindings_line, "binding '%s' of [site %s] is already used by [site %s]", text,
                        s->name, c->sites[k].name);
          }
  }

  /* secure and proxy_protocol belong to the connection (IIS:
   * SF_NOTIFY_SECURE_PORT is the port's; a PROXY header comes before any
   * request), which is accepted before a Host header names its site: the
   * sites reached through one address and port must agree. */
  for (size_t i = 0; i < c->site_count; i++) {
    const ih_site *s = &c->sites[i];
    for (size_t bi = 0; bi < s->binding_count; bi++)
      for (size_t k = 0; k < i; k++)
        for (size_t bk = 0; bk < c->sites[k].binding_count; bk++)
          if (same_endpoint(&s->bindings[bi], &c->sites[k].bindings[bk]) &&
              (s->secure != c->sites[k].secure || s->proxy_protocol != c->sites[k].proxy_protocol)) {
            char text[320];
            format_binding(&s->bindings[bi], text, sizeof text);
            return fail(p, p->meta[i].bindings_line,
                        "[site %s] and [site %s] are both reached through '%s', so they must agree on %s "
                        "(it belongs to the connection, not the host name)",
                        s->name, c->sites[k].name, text,
                        s->secure != c->sites[k].secure ? "secure" : "proxy_protocol");
          }
  }
  return 0;
}

static void free_pending(parser *p)
{
  for (size_t i = 0; i < p->vdir_count; i++) {
    free(p->vdirs[i].site_name);
    free(p->vdirs[i].pool_name);
    free(p->vdirs[i].v.url_path);
    free(p->vdirs[i].v.physical_path);
  }
  free(p->vdirs);
  for (size_t i = 0; i < p->map_count; i++) {
    free(p->maps[i].site_name);
    free_script_map(&p->maps[i].m);
  }
  free(p->maps);
  for (size_t i = 0; i < p->filter_count; i++) {
    free(p->filters[i].site_name);
    free(p->filters[i].f.name);
    free(p->filters[i].f.dll_path);
  }
  free(p->filters);
  /* meta[i] is set for every site counted in cfg->site_count (open_site). */
  for (size_t i = 0; p->meta && p->cfg && i < p->cfg->site_count; i++)
    free(p->meta[i].pool_name);
  free(p->meta);
  free(p->pool_meta);
}

/* ---- public API ---- */

int ih_config_parse(const char *text, size_t len, const char *file_name, const char *base_dir,
                    ih_config **out, char *err, size_t err_cap)
{
  parser p = { 0 };
  p.file_name = file_name ? file_name : "";
  p.base_dir = base_dir ? base_dir : "";
  p.err = err;
  p.err_cap = err_cap;
  if (err && err_cap)
    err[0] = '\0';
  if (out)
    *out = NULL;
  if (!text)
    len = 0;

  int rc = -1;
  p.cfg = ih_calloc(1, sizeof *p.cfg);
  if (!p.cfg) {
    oom(&p);
    goto done;
  }
  p.cfg->file_name = dup_slice(ih_slice_from_cstr(p.file_name));
  p.cfg->base_dir = dup_slice(ih_slice_from_cstr(p.base_dir));
  if (!p.cfg->file_name || !p.cfg->base_dir) {
    oom(&p);
    goto done;
  }
  if (apply_defaults(&p, server_keys, sizeof server_keys / sizeof server_keys[0], &p.cfg->server) < 0)
    goto done;
  /* The built-in default pool (inprocess: the behaviour of a file without
   * [pool] sections); a [pool default] section only changes its keys. */
  if (add_pool(&p, IH_SLICE_LIT("default")) < 0)
    goto done;

  size_t pos = 0;
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    pos = 3; /* UTF-8 BOM, as Notepad writes it */
  while (pos < len) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len;
    ih_slice line = { text + pos, end - pos };
    pos = nl ? end + 1 : len;
    p.line++;
    if (line.n && line.p[line.n - 1] == '\r')
      line.n--;
    if (parse_line(&p, line) < 0)
      goto done;
  }
  if (close_section(&p) < 0 || finish(&p) < 0)
    goto done;
  rc = 0;

done:
  free_pending(&p);
  if (rc == 0 && out)
    *out = p.cfg;
  else
    ih_config_free(p.cfg); /* error, or out == NULL (validation only) */
  return rc;
}

int ih_config_load_file(const char *path, ih_config **out, char *err, size_t err_cap)
{
  if (out)
    *out = NULL;
  if (!path)
    path = "";
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (err && err_cap)
      snprintf(err, err_cap, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0;
  /* Read up to one byte more than the limit, to tell "too large" apart. */
  for (;;) {
    if (len == cap) {
      if (cap == MAX_FILE_BYTES + 1)
        break;
      size_t ncap = cap ? cap * 2 : 4096;
      if (ncap > MAX_FILE_BYTES + 1)
        ncap = MAX_FILE_BYTES + 1;
      char *n = ih_realloc(buf, ncap);
      if (!n) {
        if (err && err_cap)
          snprintf(err, err_cap, "%s: out of memory", path);
        free(buf);
        fclose(f);
        return -1;
      }
      buf = n;
      cap = ncap;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0)
      break;
  }
  int read_error = ferror(f);
  int saved = errno;
  fclose(f);
  if (read_error) {
    if (err && err_cap)
      snprintf(err, err_cap, "%s: read error: %s", path, strerror(saved));
    free(buf);
    return -1;
  }
  if (len > MAX_FILE_BYTES) {
    if (err && err_cap)
      snprintf(err, err_cap, "%s: file is larger than 16 MiB", path);
    free(buf);
    return -1;
  }

  /* base_dir: everything before the last separator; "/" for a file in the root. */
  const char *sep = NULL;
  for (const char *s = path; *s; s++)
    if (*s == '/' || *s == '\\')
      sep = s;
  char *base = dup_slice(sep ? (ih_slice){ path, sep == path ? 1 : (size_t)(sep - path) } : (ih_slice){ "", 0 });
  if (!base) {
    if (err && err_cap)
      snprintf(err, err_cap, "%s: out of memory", path);
    free(buf);
    return -1;
  }
  int rc = ih_config_parse(buf, len, path, base, out, err, err_cap);
  free(base);
  free(buf);
  return rc;
}

void ih_config_free(ih_config *cfg)
{
  if (!cfg)
    return;
  free(cfg->file_name);
  free(cfg->base_dir);
  free(cfg->server.status_path);
  free(cfg->server.metrics_path);
  free(cfg->server.health_path);
  free(cfg->server.trusted_proxies);
  free(cfg->server.log_dir);
  for (size_t i = 0; i < cfg->site_count; i++) {
    ih_site *s = &cfg->sites[i];
    free(s->name);
    free_bindings(s->bindings, s->binding_count);
    for (size_t k = 0; k < s->vdir_count; k++) {
      free(s->vdirs[k].url_path);
      free(s->vdirs[k].physical_path);
    }
    free(s->vdirs);
    free_strings(s->default_documents, s->default_document_count);
    free(s->log_dir);
    for (size_t k = 0; k < s->error_page_count; k++)
      free(s->error_pages[k].physical_path);
    free(s->error_pages);
    for (size_t k = 0; k < s->script_map_count; k++)
      free_script_map(&s->script_maps[k]);
    free(s->script_maps);
    for (size_t k = 0; k < s->wildcard_map_count; k++)
      free_script_map(&s->wildcard_maps[k]);
    free(s->wildcard_maps);
  }
  free(cfg->sites);
  for (size_t i = 0; i < cfg->mime_count; i++) {
    free((void *)(uintptr_t)cfg->mime[i].ext); /* owned copies; the struct is shared with the static table */
    free((void *)(uintptr_t)cfg->mime[i].type);
  }
  free(cfg->mime);
  for (size_t i = 0; i < cfg->filter_count; i++) {
    free(cfg->filters[i].name);
    free(cfg->filters[i].dll_path);
  }
  free(cfg->filters);
  for (size_t i = 0; i < cfg->pool_count; i++) {
    free(cfg->pools[i].name);
    free(cfg->pools[i].identity);
  }
  free(cfg->pools);
  free(cfg);
}

/* ---- lookups ---- */

ih_endpoint_facts ih_config_endpoint(const ih_config *cfg, const char *addr, uint16_t port)
{
  ih_endpoint_facts f = { 0 };
  ih_slice a = ih_slice_from_cstr(addr ? addr : "");
  for (size_t i = 0; cfg && i < cfg->site_count; i++)
    for (size_t k = 0; k < cfg->sites[i].binding_count; k++) {
      const ih_binding *b = &cfg->sites[i].bindings[k];
      if (b->port == port && (strcmp(b->address, "*") == 0 || ih_slice_ieq_cstr(a, b->address))) {
        f.secure = cfg->sites[i].secure;
        f.proxy_protocol = cfg->sites[i].proxy_protocol;
        return f;
      }
    }
  return f;
}

const ih_site *ih_config_find_site(const ih_config *cfg, const char *addr, uint16_t port, ih_slice host)
{
  if (!cfg)
    return NULL;
  ih_slice a = ih_slice_from_cstr(addr ? addr : "");
  /* IIS precedence: exact address + host, any address + host, exact address
   * without host, any address without host. */
  for (int pass = 0; pass < 4; pass++) {
    bool want_any = pass == 1 || pass == 3;
    bool want_host = pass < 2;
    for (size_t i = 0; i < cfg->site_count; i++) {
      const ih_site *s = &cfg->sites[i];
      for (size_t k = 0; k < s->binding_count; k++) {
        const ih_binding *b = &s->bindings[k];
        if (b->port != port)
          continue;
        bool any = strcmp(b->address, "*") == 0;
        if (any != want_any || (!any && !ih_slice_ieq_cstr(a, b->address)))
          continue;
        if (want_host ? (b->host[0] && ih_slice_ieq_cstr(host, b->host)) : !b->host[0])
          return s;
      }
    }
  }
  return NULL;
}

/* prefix (canonical, n > 1 bytes, no trailing '/') names path or a parent
 * of it: equal case-insensitively, and path continues with '/' or ends. */
static bool under_prefix(ih_slice path, const char *prefix, size_t n)
{
  if (n > path.n || !ih_slice_ieq((ih_slice){ path.p, n }, (ih_slice){ prefix, n }))
    return false;
  return n == path.n || path.p[n] == '/'; /* "/imagesX" is not under "/images" */
}

const ih_vdir *ih_site_map_path(const ih_site *site, ih_slice path, ih_slice *rest)
{
  if (!site || !site->vdir_count)
    return NULL;
  const ih_vdir *best = &site->vdirs[0];
  size_t best_len = 0;
  for (size_t i = 0; i < site->vdir_count; i++) {
    const ih_vdir *v = &site->vdirs[i];
    size_t n = strlen(v->url_path);
    if (n <= 1 || n <= best_len || !under_prefix(path, v->url_path, n))
      continue; /* "/" is the fallback; shorter prefixes cannot win */
    best = v;
    best_len = n;
  }
  if (rest) {
    if (best_len)
      *rest = (ih_slice){ path.p + best_len, path.n - best_len };
    else if (path.n == 1 && path.p[0] == '/')
      *rest = (ih_slice){ path.p + 1, 0 };
    else
      *rest = path;
  }
  return best;
}

const ih_error_page *ih_site_error_page(const ih_site *site, int status)
{
  if (!site)
    return NULL;
  for (size_t i = 0; i < site->error_page_count; i++)
    if (site->error_pages[i].status == status)
      return &site->error_pages[i];
  return NULL;
}

const ih_script_map *ih_site_script_map(const ih_site *site, ih_slice file_name)
{
  const char *dot = NULL;
  for (size_t i = file_name.n; i-- > 0;) {
    if (file_name.p[i] == '/')
      break;
    if (file_name.p[i] == '.') {
      dot = file_name.p + i;
      break;
    }
  }
  if (!dot)
    return NULL;
  ih_slice ext = { dot, (size_t)(file_name.p + file_name.n - dot) };
  for (size_t i = 0; i < site->script_map_count; i++)
    if (ih_slice_ieq_cstr(ext, site->script_maps[i].extension))
      return &site->script_maps[i];
  return NULL;
}

size_t ih_site_wildcard_maps(const ih_site *site, ih_slice path, const ih_script_map **out, size_t cap)
{
  if (!site)
    return 0;
  size_t count = 0;
  for (size_t i = 0; i < site->wildcard_map_count; i++) {
    const ih_script_map *m = &site->wildcard_maps[i];
    size_t n = strlen(m->url_path);
    if (n > 1 && !under_prefix(path, m->url_path, n))
      continue; /* "/" applies to every path */
    if (count < cap)
      out[count] = m;
    count++;
  }
  return count;
}

size_t ih_config_filters_for_site(const ih_config *cfg, const ih_site *site, const ih_filter_conf **out,
                                  size_t cap)
{
  if (!cfg)
    return 0;
  size_t count = 0;
  /* IIS runs global filters before site filters within a priority; two
   * passes give that order while each group keeps its file order. */
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < cfg->filter_count; i++) {
      const ih_filter_conf *f = &cfg->filters[i];
      if (pass == 0 ? f->site != NULL : (site == NULL || f->site != site))
        continue;
      if (count < cap)
        out[count] = f;
      count++;
    }
  }
  return count;
}

const ih_pool_conf *ih_config_pool_named(const ih_config *cfg, const char *name)
{
  if (!cfg || !name)
    return NULL;
  ih_slice n = ih_slice_from_cstr(name);
  for (size_t i = 0; i < cfg->pool_count; i++)
    if (ih_slice_ieq_cstr(n, cfg->pools[i].name))
      return &cfg->pools[i];
  return NULL;
}

const ih_pool_conf *ih_site_pool_for_path(const ih_config *cfg, const ih_site *site, ih_slice canonical_path)
{
  if (!cfg || !cfg->pool_count)
    return NULL;
  const ih_pool_conf *best = NULL;
  if (site) {
    /* The longest vdir that names a pool, so a vdir without one inherits
     * the pool of the vdir it is nested in (IIS's inheritance of
     * AppPoolId down the metabase path). */
    size_t best_len = 0;
    for (size_t i = 0; i < site->vdir_count; i++) {
      const ih_vdir *v = &site->vdirs[i];
      if (!v->pool)
        continue;
      size_t n = strlen(v->url_path);
      if (n <= 1 || n <= best_len || !under_prefix(canonical_path, v->url_path, n))
        continue; /* "/" (vdirs[0]) has no pool of its own: the site's is used */
      best = v->pool;
      best_len = n;
    }
    if (!best)
      best = site->pool;
  }
  return best ? best : &cfg->pools[0];
}

bool ih_config_has_worker_pools(const ih_config *cfg)
{
  for (size_t i = 0; cfg && i < cfg->pool_count; i++)
    if (cfg->pools[i].mode == IH_POOL_WORKER)
      return true;
  return false;
}
