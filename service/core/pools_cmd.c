/* The portable half of `isapihost recycle` and `status` (see pools_cmd.h). */
#include "core/pools_cmd.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/ih_compiler.h"

/* ---- where the page is ---- */

/* A loopback address that reaches a listener bound to address, or NULL
 * when a client on this machine cannot be sure to (another interface's
 * address may be firewalled, and the page answers loopback clients only). */
static const char *loopback_for(const char *address)
{
  if (!strcmp(address, "*") || !strcmp(address, "0.0.0.0"))
    return "127.0.0.1";
  if (!strcmp(address, "::") || !strcmp(address, "::1"))
    return "::1";
  if (!strncmp(address, "127.", 4))
    return address;
  return NULL;
}

int ih_admin_targets(const ih_config *cfg, char *pools_path, size_t path_cap, ih_admin_target *targets, size_t max)
{
  const char *status_path = cfg->server.status_path;
  size_t sp = status_path ? strlen(status_path) : 0;
  if (!sp)
    return -1;
  /* "/status" + "/pools", "/status/" + "pools": as the route matches it */
  int n = snprintf(pools_path, path_cap, "%s%s", status_path, status_path[sp - 1] == '/' ? "pools" : "/pools");
  if (n < 0 || (size_t)n >= path_cap)
    return -1;
  size_t count = 0;
  for (size_t i = 0; i < cfg->site_count; i++)
    for (size_t b = 0; b < cfg->sites[i].binding_count && count < max; b++) {
      const ih_binding *bd = &cfg->sites[i].bindings[b];
      const char *lo = loopback_for(bd->address);
      if (!lo)
        continue;
      ih_admin_target *t = &targets[count++];
      snprintf(t->address, sizeof t->address, "%s", lo);
      t->port = bd->port;
      /* The binding's host name picks its site; without one any Host does,
       * and the address is the natural one (RFC 9110 7.2; IPv6 in brackets). */
      if (bd->host && bd->host[0])
        snprintf(t->host, sizeof t->host, "%s", bd->host);
      else
        snprintf(t->host, sizeof t->host, strchr(lo, ':') ? "[%s]" : "%s", lo);
    }
  return (int)count;
}

/* ---- the answer ---- */

int ih_admin_http_status(const char *text, const char **body)
{
  /* status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 4) */
  if (strncmp(text, "HTTP/1.", 7) != 0 || (text[7] != '0' && text[7] != '1') || text[8] != ' ')
    return -1;
  int status = 0;
  for (int i = 9; i < 12; i++) {
    if (text[i] < '0' || text[i] > '9')
      return -1;
    status = status * 10 + (text[i] - '0');
  }
  const char *end = strstr(text, "\r\n\r\n");
  if (text[12] != ' ' && text[12] != '\r')
    return -1;
  if (!end)
    return -1;
  *body = end + 4;
  return status;
}

/* ---- a small JSON reader: never past the terminating NUL ---- */

static const char *skip_ws(const char *p)
{
  while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
    p++;
  return p;
}

/* p at '"': just past the closing quote (or at the NUL). */
static const char *skip_string(const char *p)
{
  for (p++; *p && *p != '"'; p++)
    if (*p == '\\' && p[1])
      p++;
  return *p ? p + 1 : p;
}

/* Just past the value at p (object, array, string or scalar). */
static const char *skip_value(const char *p)
{
  p = skip_ws(p);
  if (*p == '"')
    return skip_string(p);
  if (*p == '{' || *p == '[') {
    int depth = 0;
    while (*p) {
      if (*p == '"') {
        p = skip_string(p);
        continue;
      }
      if (*p == '{' || *p == '[')
        depth++;
      else if ((*p == '}' || *p == ']') && --depth == 0)
        return p + 1;
      p++;
    }
    return p;
  }
  while (*p && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
    p++;
  return p;
}

/* The value of the object at obj's own member key (not one of an object
 * within), or NULL. */
static const char *member(const char *obj, const char *key)
{
  size_t k = strlen(key);
  const char *p = skip_ws(obj);
  if (*p != '{')
    return NULL;
  p = skip_ws(p + 1);
  while (*p == '"') {
    const char *name_end = skip_string(p);
    bool closed = name_end > p + 1 && name_end[-1] == '"';
    bool match = closed && (size_t)(name_end - p - 2) == k && !memcmp(p + 1, key, k);
    const char *colon = skip_ws(name_end);
    if (*colon != ':')
      return NULL;
    const char *value = skip_ws(colon + 1);
    if (match)
      return value;
    p = skip_ws(skip_value(value));
    if (*p != ',')
      return NULL;
    p = skip_ws(p + 1);
  }
  return NULL;
}

/* The text of value v (a string's contents, or a scalar as written) as a
 * pointer and length; "" for NULL. */
static int value_text(const char *v, const char **text)
{
  if (!v) {
    *text = "";
    return 0;
  }
  const char *end = skip_value(v);
  if (*v == '"') {
    *text = v + 1;
    return end > v + 1 && end[-1] == '"' ? (int)(end - v - 2) : (int)(end - v - 1);
  }
  *text = v;
  return (int)(end - v);
}

void ih_admin_json_error(const char *json, char *out, size_t cap)
{
  const char *v = member(json, "error");
  const char *text;
  int n = v && *v == '"' ? value_text(v, &text) : 0;
  snprintf(out, cap, "%.*s", n, n ? text : "");
}

/* ---- the summary ---- */

typedef struct text_out {
  char *p;
  size_t cap, len;
} text_out;

static void put(text_out *o, const char *fmt, ...) IH_PRINTF(2, 3);

static void put(text_out *o, const char *fmt, ...)
{
  if (o->len + 1 >= o->cap)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
  va_end(ap);
  if (n > 0)
    o->len = (size_t)n < o->cap - o->len ? o->len + (size_t)n : o->cap - 1;
}

void ih_pools_summary(const char *json, char *out, size_t cap)
{
  text_out o = { out, cap, 0 };
  if (!cap)
    return;
  out[0] = '\0';
  const char *p = skip_ws(json);
  if (*p != '[')
    return;
  p = skip_ws(p + 1);
  if (*p != '{') {
    put(&o, "pools: none (no worker pool)\n");
    return;
  }
  put(&o, "pools:\n");
  while (*p == '{') {
    const char *text;
    int n = value_text(member(p, "name"), &text);
    put(&o, "  %.*s: ", n, text);
    n = value_text(member(p, "state"), &text);
    put(&o, "%.*s, workers", n, text);
    const char *w = member(p, "workers");
    bool any = false;
    if (w && *w == '[') {
      for (const char *q = skip_ws(w + 1); *q == '{';) {
        n = value_text(member(q, "pid"), &text);
        put(&o, "%s %.*s", any ? "," : "", n, text);
        n = value_text(member(q, "requests"), &text);
        put(&o, " (%.*s requests)", n, text);
        any = true;
        q = skip_ws(skip_value(q));
        q = *q == ',' ? skip_ws(q + 1) : q;
      }
    }
    n = value_text(member(p, "crashes"), &text);
    put(&o, "%s; crashes %.*s; recycles", any ? "" : " none", n ? n : 1, n ? text : "0");
    const char *r = member(p, "recycles");
    any = false;
    if (r && *r == '{') {
      for (const char *q = skip_ws(r + 1); *q == '"';) {
        const char *key;
        int key_n = value_text(q, &key);
        const char *colon = skip_ws(skip_string(q));
        if (*colon != ':')
          break;
        const char *v = skip_ws(colon + 1);
        n = value_text(v, &text);
        put(&o, "%s %.*s %.*s", any ? "," : "", key_n, key, n, text);
        any = true;
        q = skip_ws(skip_value(v));
        q = *q == ',' ? skip_ws(q + 1) : q;
      }
    }
    put(&o, "%s\n", any ? "" : " none");
    p = skip_ws(skip_value(p));
    p = *p == ',' ? skip_ws(p + 1) : p;
  }
}
