/* The operator interface for extension DLLs (ih_isapi_admin, the platform's
 * ext_admin hook; docs/operations.md): lists the DLLs the registry knows,
 * and starts unload, reload, stop and start on a thread of its own, since a
 * drain may take isapi_unload_timeout and the pipeline never blocks an I/O
 * thread. The answer is JSON; the outcome of an action is in the server log
 * (IH2011). Win32 only. */
#include <windows.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics_text.h"
#include "isapi/isapi_dll_win32.h"

/* ---- JSON text ---- */

typedef struct json_out {
  char *p;
  size_t cap, len;
  bool overflow;
} json_out;

static void put(json_out *j, const char *s, size_t n)
{
  if (j->overflow || j->len + n >= j->cap) {
    j->overflow = true;
    return;
  }
  memcpy(j->p + j->len, s, n);
  j->len += n;
  j->p[j->len] = '\0';
}

static void put_str(json_out *j, const char *s) { put(j, s, strlen(s)); }

static void put_fmt(json_out *j, const char *fmt, long long v)
{
  char buf[32];
  int n = snprintf(buf, sizeof buf, fmt, v);
  put(j, buf, (size_t)n);
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates), or 0. JSON text must be UTF-8, and a DLL's description may
 * be in any code page. */
static size_t utf8_len(const unsigned char *s)
{
  unsigned char c = s[0];
  size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
  if (c >= 0xf5 || n == 0)
    return 0;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c == 0xe0)
    lo = 0xa0;
  else if (c == 0xed)
    hi = 0x9f;
  else if (c == 0xf0)
    lo = 0x90;
  else if (c == 0xf4)
    hi = 0x8f;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  return n;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
static void put_json_string(json_out *j, const char *s)
{
  put(j, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    if (*p == '"' || *p == '\\') {
      char esc[2] = { '\\', (char)*p };
      put(j, esc, 2);
      p++;
    } else if (*p < 0x20) {
      put_fmt(j, "\\u%04llx", *p);
      p++;
    } else if (*p < 0x80) {
      put(j, (const char *)p, 1);
      p++;
    } else {
      size_t n = utf8_len(p);
      if (n) {
        put(j, (const char *)p, n);
        p += n;
      } else {
        put_str(j, "\\ufffd");
        p++;
      }
    }
  }
  put(j, "\"", 1);
}

static int answer_error(json_out *j, int status, const char *action, const char *dll, const char *why)
{
  j->len = 0;
  j->overflow = false;
  j->p[0] = '\0';
  put_str(j, "{\"error\":");
  put_json_string(j, why);
  if (action && *action) {
    put_str(j, ",\"action\":");
    put_json_string(j, action);
  }
  if (dll && *dll) {
    put_str(j, ",\"dll\":");
    put_json_string(j, dll);
  }
  put_str(j, "}\n");
  return j->overflow ? 500 : status;
}

/* ---- listing ---- */

static int list(json_out *j)
{
  ih_isapi_dll_info info;
  put_str(j, "[");
  for (size_t i = 0; ih_isapi_dll_info_at(i, &info); i++) {
    put_str(j, i ? ",\n{\"path\":" : "\n{\"path\":");
    put_json_string(j, info.path);
    put_str(j, ",\"state\":");
    put_json_string(j, info.state);
    put_fmt(j, ",\"in_flight\":%lld", info.in_flight);
    put_fmt(j, ",\"held\":%lld", info.held);
    put_fmt(j, ",\"loads\":%lld", info.loads);
    put_str(j, ",\"action\":");
    if (info.action)
      put_json_string(j, info.action);
    else
      put_str(j, "null");
    put_str(j, ",\"description\":");
    put_json_string(j, info.description);
    put_str(j, "}");
  }
  put_str(j, "\n]\n");
  if (j->overflow)
    return answer_error(j, 500, NULL, NULL, "the listing does not fit the answer buffer");
  return 200;
}

/* ---- actions ---- */

typedef struct action_job {
  ih_isapi_dll *dll;
  enum ih_isapi_dll_action action;
} action_job;

static DWORD WINAPI run_job(LPVOID arg)
{
  action_job job = *(action_job *)arg;
  free(arg);
  ih_isapi_dll_run(job.dll, job.action);
  return 0;
}

static bool parse_action(const char *s, enum ih_isapi_dll_action *out)
{
  static const enum ih_isapi_dll_action all[] = { IH_DLL_UNLOAD, IH_DLL_RELOAD, IH_DLL_STOP, IH_DLL_START };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (strcmp(s, ih_isapi_dll_action_name(all[i])) == 0) {
      *out = all[i];
      return true;
    }
  return false;
}

int ih_isapi_admin(const char *action, const char *dll, char *json, size_t cap)
{
  if (cap < 256) {
    if (cap)
      json[0] = '\0';
    return 500;
  }
  json_out j = { json, cap, 0, false };
  json[0] = '\0';
  if (!action)
    return list(&j);
  enum ih_isapi_dll_action a;
  if (!parse_action(action, &a))
    return answer_error(&j, 400, action, dll, "action must be unload, reload, stop or start");
  if (!dll || !*dll)
    return answer_error(&j, 400, action, NULL, "dll must name the DLL, its path as configured (percent-encoded)");
  ih_isapi_dll *d = NULL;
  char why[1024];
  int status = ih_isapi_dll_begin(dll, a, &d, why, sizeof why);
  if (status)
    return answer_error(&j, status, action, dll, why);
  /* Claimed: from here the action is run or given back, never dropped, or
   * the DLL would stay claimed and the stop would wait for it forever. */
  action_job *job = malloc(sizeof *job);
  HANDLE t = NULL;
  if (job) {
    *job = (action_job){ d, a };
    t = CreateThread(NULL, 0, run_job, job, 0, NULL);
  }
  if (!t) {
    free(job);
    ih_isapi_dll_abandon(d, a, "cannot start a thread for it");
    return answer_error(&j, 503, action, dll, "cannot start a thread for the action; try again");
  }
  CloseHandle(t);
  put_str(&j, "{\"accepted\":true,\"action\":");
  put_json_string(&j, action);
  put_str(&j, ",\"dll\":");
  put_json_string(&j, ih_isapi_dll_path(d));
  put_str(&j, ",\"outcome\":\"in the server log (IH2011); GET this URL to follow the state\"}\n");
  return j.overflow ? 500 : 202;
}

/* ---- metrics (docs/operations.md, "Metrics") ----
 * The listing's figures, one series per DLL the registry knows, labelled by
 * its path as configured. */

const char *const ih_isapi_dll_states[IH_ISAPI_DLL_STATE_COUNT] = { "unloaded", "loading", "ready",
                                                                    "draining", "stopped", "stuck" };

unsigned ih_isapi_dll_state_index(const char *state)
{
  for (unsigned s = 0; s < IH_ISAPI_DLL_STATE_COUNT; s++)
    if (strcmp(state, ih_isapi_dll_states[s]) == 0)
      return s;
  return 0;
}

void ih_isapi_metrics_text(ih_mtext *t, void (*more)(ih_mtext *t, int family, void *ctx), void *ctx)
{
  static const struct {
    const char *name, *type, *help;
  } fam[] = {
    { "isapihost_isapi_extension_calls_total", "counter", "HttpExtensionProc calls, by extension DLL." },
    { "isapihost_isapi_extension_faults_total", "counter",
      "Crashes inside an extension DLL (HttpExtensionProc or a completion callback); each costs its request." },
    { "isapihost_isapi_extension_stuck_calls_total", "counter",
      "Calls that ran longer than isapi_stuck_timeout (logged as stuck), by extension DLL." },
    { "isapihost_isapi_extension_in_flight", "gauge", "Requests running in an extension DLL now." },
    { "isapihost_isapi_extension_loads_total", "counter", "Successful loads of an extension DLL." },
  };
  ih_isapi_dll_info info;
  for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
    ih_mtext_family(t, fam[f].name, fam[f].type, fam[f].help);
    for (size_t i = 0; ih_isapi_dll_info_at(i, &info); i++) {
      ih_mlabel l[] = { { "dll", info.path }, { "pool", "" }, { "worker", "" } };
      unsigned long long v = f == 0 ? info.calls
                             : f == 1 ? info.faults
                             : f == 2 ? info.stuck
                             : f == 3 ? (unsigned long long)(info.in_flight > 0 ? info.in_flight : 0)
                                      : info.loads;
      ih_mtext_sample_u64(t, fam[f].name, l, 3, v);
    }
    if (more)
      more(t, (int)f, ctx);
  }
  ih_mtext_family(t, "isapihost_isapi_extension_state", "gauge",
                  "State of an extension DLL: 1 for the state it is in, 0 for the others.");
  for (size_t i = 0; ih_isapi_dll_info_at(i, &info); i++)
    for (size_t s = 0; s < IH_ISAPI_DLL_STATE_COUNT; s++) {
      ih_mlabel l[] = { { "dll", info.path }, { "pool", "" }, { "worker", "" }, { "state", ih_isapi_dll_states[s] } };
      ih_mtext_sample_u64(t, "isapihost_isapi_extension_state", l, 4, strcmp(info.state, ih_isapi_dll_states[s]) == 0);
    }
  if (more)
    more(t, IH_ISAPI_FAMILY_STATE, ctx);
}
