/* Test filter whose behaviour each request chooses, so one DLL drives the
 * integration tests of every return code and of what filters may change.
 * The request carries "X-Script: point.verb[=arg]; ..." (read in
 * PREPROC_HEADERS, kept until END_OF_REQUEST); points:
 *   pre   PREPROC_HEADERS   url=/x  add=Name:value  deny_header=Name:value
 *                           response_header=Name:value  disable_send
 *   map   URL_MAP           path=C:\x (pszPhysicalPath rewritten in place)
 *   auth  AUTHENTICATION    user=name (pszUser rewritten in place)
 *   done  AUTH_COMPLETE     url=/x
 *   resp  SEND_RESPONSE     add=Name:value  status=NNN Reason
 *   send  SEND_RAW_DATA     upper (in place)  wrap (an AllocMem'd buffer "[...]")
 *   log   LOG               target=/x (AllocMem'd)  status=NNN
 * and at any point:  vars=NAME,NAME,... (GetServerVariable of each, reported
 * in X-Script-Vars)  finish[=NNN Reason] (SEND_RESPONSE_HEADER + WriteClient,
 * FINISHED)  keep (a 200 with Content-Length, FINISHED_KEEP_CONN)
 * finish_bare (FINISHED, nothing sent)  error (SetLastError(5),
 * SF_STATUS_REQ_ERROR)  handled (HANDLED_NOTIFICATION)  crash (an access
 * violation).
 * READ_RAW_DATA (no header yet): data starting "PRELUDE" is eaten with
 * SET_NEXT_READ_SIZE(1000) and READ_NEXT; "CRASHRAW" crashes.
 * What it saw comes back in response headers (SEND_RESPONSE):
 *   X-Script-Trace: notifications of this request so far
 *   X-Script-Auth:  user/password AUTHENTICATION received
 *   X-Script-Denied: dwReason of ACCESS_DENIED, and its URL
 *   X-Script-Vars:  "point:NAME=ok:<bytes>" (the size GetServerVariable
 *                   reports, NUL included) or "point:NAME=error:<GetLastError>"
 *                   for each vars= name, space-separated
 * TerminateFilter writes "flags=F live=L ended=E" into flt_script-terminate.txt
 * in the server's working directory: L contexts still live (connections
 * that never had END_OF_NET_SESSION), E sessions ended. */
#include <stdlib.h>

#include "ih_test_flt.h"

#define ACTIONS_MAX 1024
#define TRACE_MAX 512

typedef struct script_ctx {
  char actions[ACTIONS_MAX]; /* this request's X-Script, ';'-separated */
  char trace[TRACE_MAX];
  char auth[300];
  char denied[300];
  char vars[600];
} script_ctx;

static volatile LONG live_contexts, sessions_ended;

static const char *point_of(DWORD type)
{
  switch (type) {
  case SF_NOTIFY_READ_RAW_DATA: return "raw";
  case SF_NOTIFY_PREPROC_HEADERS: return "pre";
  case SF_NOTIFY_URL_MAP: return "map";
  case SF_NOTIFY_AUTHENTICATION: return "auth";
  case SF_NOTIFY_AUTH_COMPLETE: return "done";
  case SF_NOTIFY_ACCESS_DENIED: return "denied";
  case SF_NOTIFY_SEND_RESPONSE: return "resp";
  case SF_NOTIFY_SEND_RAW_DATA: return "send";
  case SF_NOTIFY_LOG: return "log";
  case SF_NOTIFY_END_OF_REQUEST: return "end";
  case SF_NOTIFY_END_OF_NET_SESSION: return "eons";
  default: return "?";
  }
}

/* Built a second time without READ_RAW_DATA (name_noraw.dll), for worker
 * pools, which refuse it (docs/pools.md). */
#ifdef IH_NO_READ_RAW_DATA
#define IH_RAW_DATA_FLAG 0
#else
#define IH_RAW_DATA_FLAG SF_NOTIFY_READ_RAW_DATA
#endif

IH_EXPORT BOOL WINAPI GetFilterVersion(HTTP_FILTER_VERSION *ver)
{
  ih_flt_version(ver, "IsapiHost test: scripted by X-Script",
                 SF_NOTIFY_ORDER_DEFAULT | SF_NOTIFY_NONSECURE_PORT | IH_RAW_DATA_FLAG |
                     SF_NOTIFY_PREPROC_HEADERS | SF_NOTIFY_URL_MAP | SF_NOTIFY_AUTHENTICATION |
                     SF_NOTIFY_AUTH_COMPLETE | SF_NOTIFY_ACCESS_DENIED | SF_NOTIFY_SEND_RESPONSE |
                     SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_LOG | SF_NOTIFY_END_OF_REQUEST |
                     SF_NOTIFY_END_OF_NET_SESSION);
  return TRUE;
}

/* The argument of "point.verb=" in the actions (or "" for a bare
 * "point.verb"), copied into arg; FALSE when the action is not there. */
static BOOL action(const script_ctx *x, const char *point, const char *verb, char *arg, size_t cap)
{
  char key[64];
  snprintf(key, sizeof key, "%s.%s", point, verb);
  size_t klen = strlen(key);
  const char *p = x->actions;
  while (*p) {
    while (*p == ' ' || *p == ';')
      p++;
    const char *end = strchr(p, ';');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len >= klen && strncmp(p, key, klen) == 0 && (len == klen || p[klen] == '=')) {
      size_t n = len > klen ? len - klen - 1 : 0;
      if (n >= cap)
        n = cap - 1;
      if (arg && cap) {
        memcpy(arg, len > klen ? p + klen + 1 : "", n);
        arg[n] = '\0';
      }
      return TRUE;
    }
    p += len;
  }
  return FALSE;
}

/* "Name:value" -> name "Name:" and value. */
static BOOL split_header(const char *arg, char *name, size_t name_cap, const char **value)
{
  const char *colon = strchr(arg, ':');
  if (!colon || (size_t)(colon - arg) + 2 > name_cap)
    return FALSE;
  memcpy(name, arg, (size_t)(colon - arg) + 1);
  name[colon - arg + 1] = '\0';
  *value = colon + 1;
  return TRUE;
}

static void append(char *buf, size_t cap, const char *s)
{
  size_t n = strlen(buf);
  if (n + strlen(s) + 2 < cap)
    snprintf(buf + n, cap - n, "%s%s", n ? " " : "", s);
}

/* The actions any point may take; 0 when none applies. */
static DWORD common_actions(HTTP_FILTER_CONTEXT *pfc, script_ctx *x, const char *point)
{
  char arg[256];
  if (action(x, point, "crash", NULL, 0))
    ih_test_fault(8);
  if (action(x, point, "error", NULL, 0)) {
    SetLastError(ERROR_ACCESS_DENIED);
    return SF_STATUS_REQ_ERROR;
  }
  if (action(x, point, "handled", NULL, 0))
    return SF_STATUS_REQ_HANDLED_NOTIFICATION;
  if (action(x, point, "finish_bare", NULL, 0))
    return SF_STATUS_REQ_FINISHED;
  if (action(x, point, "finish", arg, sizeof arg)) {
    static const char body[] = "the filter answered\n";
    char headers[128];
    snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %u\r\n\r\n",
             (unsigned)(sizeof body - 1));
    pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER, arg[0] ? arg : "403 Forbidden by filter",
                               (ULONG_PTR)headers, 0);
    DWORD n = sizeof body - 1;
    pfc->WriteClient(pfc, (LPVOID)body, &n, 0);
    return SF_STATUS_REQ_FINISHED;
  }
  if (action(x, point, "keep", NULL, 0)) {
    pfc->ServerSupportFunction(pfc, SF_REQ_SEND_RESPONSE_HEADER, NULL,
                               (ULONG_PTR) "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\n", 0);
    DWORD n = 5;
    pfc->WriteClient(pfc, "hello", &n, 0);
    return SF_STATUS_REQ_FINISHED_KEEP_CONN;
  }
  return 0;
}

/* GetServerVariable of each comma-separated name in list, as a filter that
 * asks for a list of variables sees them. */
static void ask_variables(HTTP_FILTER_CONTEXT *pfc, script_ctx *x, const char *point, const char *list)
{
  while (*list) {
    size_t len = strcspn(list, ",");
    char name[128], value[512], line[256];
    snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), list);
    DWORD size = sizeof value;
    if (pfc->GetServerVariable(pfc, name, value, &size))
      snprintf(line, sizeof line, "%s:%s=ok:%lu", point, name, (unsigned long)size);
    else
      snprintf(line, sizeof line, "%s:%s=error:%lu", point, name, (unsigned long)GetLastError());
    append(x->vars, sizeof x->vars, line);
    list += len;
    if (*list == ',')
      list++;
  }
}

static void request_headers(HTTP_FILTER_CONTEXT *pfc, script_ctx *x, const char *point,
                            BOOL(WINAPI *set)(HTTP_FILTER_CONTEXT *, LPSTR, LPSTR),
                            BOOL(WINAPI *add)(HTTP_FILTER_CONTEXT *, LPSTR, LPSTR))
{
  char arg[256], name[128];
  const char *value;
  if (action(x, point, "url", arg, sizeof arg))
    set(pfc, "url", arg);
  if (action(x, point, "add", arg, sizeof arg) && split_header(arg, name, sizeof name, &value))
    add(pfc, name, (LPSTR)value);
}

IH_EXPORT DWORD WINAPI HttpFilterProc(HTTP_FILTER_CONTEXT *pfc, DWORD type, VOID *notification)
{
  script_ctx *x = pfc->pFilterContext;
  if (type == SF_NOTIFY_END_OF_NET_SESSION) {
    if (x)
      InterlockedDecrement(&live_contexts);
    InterlockedIncrement(&sessions_ended);
    free(x);
    pfc->pFilterContext = NULL;
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
  }
  if (!x) {
    x = calloc(1, sizeof *x);
    if (!x)
      return SF_STATUS_REQ_NEXT_NOTIFICATION;
    pfc->pFilterContext = x;
    InterlockedIncrement(&live_contexts);
  }
  char arg[256], name[128];
  const char *value;
  if (type == SF_NOTIFY_READ_RAW_DATA) {
    HTTP_FILTER_RAW_DATA *raw = notification;
    if (!x->actions[0] && !strstr(x->trace, "raw"))
      append(x->trace, sizeof x->trace, "raw"); /* once per request: a body may come in several reads */
    if (raw->cbInData >= 8 && memcmp(raw->pvInData, "CRASHRAW", 8) == 0)
      ih_test_fault(8);
    if (raw->cbInData >= 7 && memcmp(raw->pvInData, "PRELUDE", 7) == 0) {
      pfc->ServerSupportFunction(pfc, SF_REQ_SET_NEXT_READ_SIZE, NULL, 1000, 0);
      return SF_STATUS_REQ_READ_NEXT;
    }
    return SF_STATUS_REQ_NEXT_NOTIFICATION;
  }
  if (type == SF_NOTIFY_PREPROC_HEADERS) {
    HTTP_FILTER_PREPROC_HEADERS *h = notification;
    DWORD n = sizeof x->actions;
    if (!h->GetHeader(pfc, "X-Script:", x->actions, &n))
      x->actions[0] = '\0';
  }
  const char *point = point_of(type);
  append(x->trace, sizeof x->trace, point);
  DWORD rc = common_actions(pfc, x, point);
  if (rc)
    return rc;
  if (action(x, point, "vars", arg, sizeof arg))
    ask_variables(pfc, x, point, arg);
  switch (type) {
  case SF_NOTIFY_PREPROC_HEADERS: {
    HTTP_FILTER_PREPROC_HEADERS *h = notification;
    request_headers(pfc, x, point, h->SetHeader, h->AddHeader);
    if (action(x, point, "deny_header", arg, sizeof arg)) {
      char line[300];
      snprintf(line, sizeof line, "%s\r\n", arg);
      pfc->ServerSupportFunction(pfc, SF_REQ_ADD_HEADERS_ON_DENIAL, line, 0, 0);
    }
    if (action(x, point, "response_header", arg, sizeof arg)) {
      char line[300];
      snprintf(line, sizeof line, "%s\r\n", arg);
      pfc->AddResponseHeaders(pfc, line, 0);
    }
    if (action(x, point, "disable_send", NULL, 0))
      pfc->ServerSupportFunction(pfc, SF_REQ_DISABLE_NOTIFICATIONS, NULL, SF_NOTIFY_SEND_RAW_DATA, 0);
    break;
  }
  case SF_NOTIFY_AUTH_COMPLETE: {
    HTTP_FILTER_AUTH_COMPLETE_INFO *a = notification;
    request_headers(pfc, x, point, a->SetHeader, a->AddHeader);
    break;
  }
  case SF_NOTIFY_URL_MAP: {
    HTTP_FILTER_URL_MAP *m = notification;
    if (action(x, point, "path", arg, sizeof arg) && strlen(arg) < m->cbPathBuff)
      strcpy(m->pszPhysicalPath, arg);
    break;
  }
  case SF_NOTIFY_AUTHENTICATION: {
    HTTP_FILTER_AUTHENT *a = notification;
    snprintf(x->auth, sizeof x->auth, "%s/%s", a->pszUser, a->pszPassword);
    if (action(x, point, "user", arg, sizeof arg) && strlen(arg) < a->cbUserBuff)
      strcpy(a->pszUser, arg);
    break;
  }
  case SF_NOTIFY_ACCESS_DENIED: {
    HTTP_FILTER_ACCESS_DENIED *d = notification;
    snprintf(x->denied, sizeof x->denied, "%lu %s", (unsigned long)d->dwReason, d->pszURL);
    break;
  }
  case SF_NOTIFY_SEND_RESPONSE: {
    HTTP_FILTER_SEND_RESPONSE *h = notification;
    if (action(x, point, "add", arg, sizeof arg) && split_header(arg, name, sizeof name, &value))
      h->AddHeader(pfc, name, (LPSTR)value);
    if (action(x, point, "status", arg, sizeof arg))
      h->SetHeader(pfc, "status", arg);
    h->SetHeader(pfc, "X-Script-Trace:", x->trace);
    if (x->auth[0])
      h->SetHeader(pfc, "X-Script-Auth:", x->auth);
    if (x->denied[0])
      h->SetHeader(pfc, "X-Script-Denied:", x->denied);
    if (x->vars[0])
      h->SetHeader(pfc, "X-Script-Vars:", x->vars);
    break;
  }
  case SF_NOTIFY_SEND_RAW_DATA: {
    HTTP_FILTER_RAW_DATA *raw = notification;
    if (action(x, point, "upper", NULL, 0)) {
      char *p = raw->pvInData;
      for (DWORD i = 0; i < raw->cbInData; i++)
        if (p[i] >= 'a' && p[i] <= 'z')
          p[i] = (char)(p[i] - 32);
    }
    if (action(x, point, "wrap", NULL, 0)) {
      char *p = pfc->AllocMem(pfc, raw->cbInData + 2, 0);
      if (p) {
        p[0] = '[';
        memcpy(p + 1, raw->pvInData, raw->cbInData);
        p[raw->cbInData + 1] = ']';
        raw->pvInData = p;
        raw->cbInData += 2;
        raw->cbInBuffer = raw->cbInData;
      }
    }
    break;
  }
  case SF_NOTIFY_LOG: {
    HTTP_FILTER_LOG *log = notification;
    if (action(x, point, "target", arg, sizeof arg)) {
      char *t = pfc->AllocMem(pfc, (DWORD)strlen(arg) + 1, 0);
      if (t) {
        strcpy(t, arg);
        log->pszTarget = t;
      }
    }
    if (action(x, point, "status", arg, sizeof arg))
      log->dwHttpStatus = (DWORD)atoi(arg);
    break;
  }
  case SF_NOTIFY_END_OF_REQUEST:
    x->actions[0] = x->trace[0] = x->auth[0] = x->denied[0] = '\0';
    x->vars[0] = '\0';
    break;
  default:
    break;
  }
  return SF_STATUS_REQ_NEXT_NOTIFICATION;
}

IH_EXPORT BOOL WINAPI TerminateFilter(DWORD flags)
{
  FILE *f = fopen("flt_script-terminate.txt", "w");
  if (f) {
    fprintf(f, "flags=%lu live=%ld ended=%ld\n", (unsigned long)flags, (long)live_contexts, (long)sessions_ended);
    fclose(f);
  }
  return TRUE;
}
