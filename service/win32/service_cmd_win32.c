/* `isapihost install | uninstall | start | stop | status | recycle` (see
 * service_cmd_win32.h). Everything goes through the SCM API and the
 * registry, but a running server's worker pools, which only the server
 * knows: those are asked of its loopback-only operator page; what each
 * step did, or why it failed, is printed. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <shellapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/pools_cmd.h"
#include "core/preshutdown.h"
#include "core/server_log.h"
#include "eventlog_win32.h"
#include "iis_compat_win32.h"
#include "reload_signal_win32.h"
#include "service_cmd_win32.h"
#include "win32_util.h"

#define RESET_PERIOD_S 86400u   /* failure count reset after a day without failures */
#define STATE_WAIT_MAX_MS 180000u /* longest a start or stop is waited for */
#define CREATED_VALUE L"IisCompatCreated"

typedef struct cmd_ctx {
  const char *verb;            /* "install", ... for messages */
  wchar_t name[IH_SERVICE_NAME_MAX + 1];
} cmd_ctx;

/* "Access is denied. (Win32 error 5)" and what to do about the usual ones. */
static void print_error(const cmd_ctx *x, const char *what, DWORD err)
{
  char text[512] = "";
  FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0, text, sizeof text, NULL);
  size_t n = strlen(text);
  while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' || text[n - 1] == '.'))
    text[--n] = '\0';
  fprintf(stderr, "isapihost %s: %s: %s (Win32 error %lu)%s\n", x->verb, what, n ? text : "error",
          (unsigned long)err,
          err == ERROR_ACCESS_DENIED ? "; run it from an elevated prompt (as Administrator)" : "");
}

static int init_ctx(cmd_ctx *x, const char *verb, const ih_command *cmd)
{
  x->verb = verb;
  if (!MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, cmd->name, -1, x->name, IH_SERVICE_NAME_MAX + 1)) {
    fprintf(stderr, "isapihost %s: the service name is not valid UTF-8\n", verb);
    return -1;
  }
  return 0;
}

static SC_HANDLE open_scm(const cmd_ctx *x, DWORD access)
{
  SC_HANDLE scm = OpenSCManagerW(NULL, NULL, access);
  if (!scm)
    print_error(x, "cannot open the Service Control Manager", GetLastError());
  return scm;
}

static SC_HANDLE open_service(const cmd_ctx *x, SC_HANDLE scm, DWORD access)
{
  SC_HANDLE s = OpenServiceW(scm, x->name, access);
  if (!s) {
    DWORD err = GetLastError();
    if (err == ERROR_SERVICE_DOES_NOT_EXIST)
      fprintf(stderr, "isapihost %s: no service named %ls is installed\n", x->verb, x->name);
    else
      print_error(x, "cannot open the service", err);
  }
  return s;
}

/* init_ctx, the SCM and the named service opened for access: 0, or the
 * exit code (2 a bad name, 1 otherwise; the reason printed). */
static int open_named(const ih_command *cmd, const char *verb, DWORD access, cmd_ctx *x, SC_HANDLE *scm,
                      SC_HANDLE *s)
{
  *scm = *s = NULL;
  if (init_ctx(x, verb, cmd) != 0)
    return 2;
  *scm = open_scm(x, SC_MANAGER_CONNECT);
  *s = *scm ? open_service(x, *scm, access) : NULL;
  return *s ? 0 : 1;
}

static void close_named(SC_HANDLE scm, SC_HANDLE s)
{
  if (s)
    CloseServiceHandle(s);
  if (scm)
    CloseServiceHandle(scm);
}

static const char *state_name(DWORD state)
{
  switch (state) {
  case SERVICE_STOPPED: return "STOPPED";
  case SERVICE_START_PENDING: return "START_PENDING";
  case SERVICE_STOP_PENDING: return "STOP_PENDING";
  case SERVICE_RUNNING: return "RUNNING";
  case SERVICE_CONTINUE_PENDING: return "CONTINUE_PENDING";
  case SERVICE_PAUSE_PENDING: return "PAUSE_PENDING";
  case SERVICE_PAUSED: return "PAUSED";
  default: return "UNKNOWN";
  }
}

static BOOL is_pending(DWORD state)
{
  return state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING || state == SERVICE_PAUSE_PENDING ||
         state == SERVICE_CONTINUE_PENDING;
}

/* Waits until the service is in `target`, as MSDN's "Starting a Service"
 * does: a tenth of the wait hint at a time, giving up when the checkpoint
 * stops moving for a whole wait hint, when it stopped instead, or when it
 * sits in another settled state for a few seconds (the control was not
 * taken). Returns the state it ended in. */
static DWORD wait_for(SC_HANDLE s, DWORD target, SERVICE_STATUS_PROCESS *st)
{
  DWORD bytes;
  ULONGLONG start = GetTickCount64(), last_progress = start;
  DWORD checkpoint = 0;
  for (;;) {
    if (!QueryServiceStatusEx(s, SC_STATUS_PROCESS_INFO, (BYTE *)st, sizeof *st, &bytes))
      return SERVICE_STOPPED;
    DWORD state = st->dwCurrentState;
    if (state == target || state == SERVICE_STOPPED)
      return state;
    ULONGLONG now = GetTickCount64();
    if (st->dwCheckPoint != checkpoint) {
      checkpoint = st->dwCheckPoint;
      last_progress = now;
    }
    DWORD hint = is_pending(state) && st->dwWaitHint ? st->dwWaitHint : 5000;
    if (now - last_progress > hint || now - start > STATE_WAIT_MAX_MS)
      return state;
    DWORD step = hint / 10;
    Sleep(step < 100 ? 100 : step > 1000 ? 1000 : step);
  }
}

/* Stops s if it runs; 0 once it is stopped. */
static int stop_and_wait(const cmd_ctx *x, SC_HANDLE s, bool quiet_if_stopped)
{
  SERVICE_STATUS_PROCESS st;
  DWORD bytes;
  if (!QueryServiceStatusEx(s, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof st, &bytes)) {
    print_error(x, "cannot query the service", GetLastError());
    return -1;
  }
  if (st.dwCurrentState == SERVICE_STOPPED) {
    if (!quiet_if_stopped)
      printf("isapihost %s: %ls is not running\n", x->verb, x->name);
    return 0;
  }
  SERVICE_STATUS ss;
  if (st.dwCurrentState != SERVICE_STOP_PENDING && !ControlService(s, SERVICE_CONTROL_STOP, &ss)) {
    DWORD err = GetLastError();
    if (err != ERROR_SERVICE_NOT_ACTIVE) {
      print_error(x, "cannot stop the service", err);
      return -1;
    }
  }
  printf("isapihost %s: stopping %ls (open requests finish first)...\n", x->verb, x->name);
  fflush(stdout);
  DWORD state = wait_for(s, SERVICE_STOPPED, &st);
  if (state != SERVICE_STOPPED) {
    fprintf(stderr, "isapihost %s: %ls did not stop in time (state %s)\n", x->verb, x->name, state_name(state));
    return -1;
  }
  printf("isapihost %s: %ls stopped\n", x->verb, x->name);
  return 0;
}

/* ---- install ---- */

/* The configuration's absolute path: --config, or the default under
 * %ProgramData% (where the MSI puts it). */
static wchar_t *config_path(const ih_command *cmd)
{
  wchar_t given[MAX_PATH + 64];
  if (cmd->config) {
    wchar_t *w = ih_win32_path(cmd->config);
    if (!w)
      return NULL;
    DWORD n = GetFullPathNameW(w, 0, NULL, NULL);
    wchar_t *full = n ? malloc(n * sizeof *full) : NULL;
    if (full && !GetFullPathNameW(w, n, full, NULL)) {
      free(full);
      full = NULL;
    }
    free(w);
    return full;
  }
  wchar_t data[MAX_PATH];
  DWORD n = GetEnvironmentVariableW(L"ProgramData", data, MAX_PATH);
  if (!n || n >= MAX_PATH)
    wcscpy(data, L"C:\\ProgramData");
  _snwprintf(given, sizeof given / sizeof *given, L"%ls\\IsapiHost\\isapihost.ini", data);
  given[sizeof given / sizeof *given - 1] = L'\0';
  return _wcsdup(given);
}

static void optional_config(const cmd_ctx *x, SC_HANDLE s, DWORD level, void *info, const char *what)
{
  if (!ChangeServiceConfig2W(s, level, info)) {
    char msg[160];
    snprintf(msg, sizeof msg, "warning: could not set %s", what);
    print_error(x, msg, GetLastError());
  }
}

static void store_created(const cmd_ctx *x, unsigned created)
{
  wchar_t path[200];
  _snwprintf(path, 200, L"SYSTEM\\CurrentControlSet\\Services\\%ls\\Parameters", x->name);
  path[199] = L'\0';
  HKEY key;
  if (RegCreateKeyExW(HKEY_LOCAL_MACHINE, path, 0, NULL, 0, KEY_SET_VALUE, NULL, &key, NULL) == ERROR_SUCCESS) {
    DWORD v = created;
    RegSetValueExW(key, CREATED_VALUE, 0, REG_DWORD, (const BYTE *)&v, sizeof v);
    RegCloseKey(key);
  }
}

static unsigned read_created(const cmd_ctx *x)
{
  wchar_t path[200];
  _snwprintf(path, 200, L"SYSTEM\\CurrentControlSet\\Services\\%ls\\Parameters", x->name);
  path[199] = L'\0';
  DWORD v = 0, size = sizeof v;
  if (RegGetValueW(HKEY_LOCAL_MACHINE, path, CREATED_VALUE, RRF_RT_REG_DWORD, NULL, &v, &size) != ERROR_SUCCESS)
    return 0;
  return v;
}

int ih_service_install(const ih_command *cmd)
{
  cmd_ctx x;
  if (init_ctx(&x, "install", cmd) != 0)
    return 2;
  wchar_t *cfg_w = config_path(cmd);
  char cfg_utf8[MAX_PATH * 3], err[1024];
  if (!cfg_w || !ih_win32_to_utf8(cfg_w, cfg_utf8, sizeof cfg_utf8)) {
    fprintf(stderr, "isapihost install: the configuration path is not usable\n");
    free(cfg_w);
    return 2;
  }
  /* Validated before anything is created: a service that cannot start is
   * worse than no service. */
  ih_config *cfg = NULL;
  if (ih_config_load_file(cfg_utf8, &cfg, err, sizeof err) != 0) {
    fprintf(stderr, "isapihost install: IH%04d configuration rejected: %s\n", IH_EV_CONFIG_INVALID, err);
    free(cfg_w);
    return 2;
  }
  /* the longest stop, and the watchdog's line about it (core/preshutdown.h) */
  DWORD preshutdown_ms = ih_preshutdown_timeout_ms(cfg->server.shutdown_time_limit);
  ih_config_free(cfg);

  wchar_t exe[MAX_PATH];
  DWORD n = GetModuleFileNameW(NULL, exe, MAX_PATH);
  if (!n || n >= MAX_PATH) {
    print_error(&x, "cannot find isapihost.exe's own path", GetLastError());
    free(cfg_w);
    return 1;
  }
  size_t cap = wcslen(exe) + wcslen(cfg_w) + wcslen(x.name) + 64;
  wchar_t *image = malloc(cap * sizeof *image);
  wchar_t account[300], password[300] = L"";
  MultiByteToWideChar(CP_UTF8, 0, cmd->account, -1, account, 300);
  if (cmd->password)
    MultiByteToWideChar(CP_UTF8, 0, cmd->password, -1, password, 300);
  if (!image) {
    free(cfg_w);
    return 1;
  }
  _snwprintf(image, cap, L"\"%ls\" service --name %ls --config \"%ls\"", exe, x.name, cfg_w);
  image[cap - 1] = L'\0';

  SC_HANDLE scm = open_scm(&x, SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE);
  if (!scm) {
    free(image);
    free(cfg_w);
    return 1;
  }
  wchar_t display[IH_SERVICE_NAME_MAX + 40];
  if (!wcscmp(x.name, L"" IH_SERVICE_DEFAULT_NAME))
    wcscpy(display, L"IsapiHost web server");
  else
    _snwprintf(display, sizeof display / sizeof *display, L"IsapiHost web server (%ls)", x.name);
  display[sizeof display / sizeof *display - 1] = L'\0';
  SC_HANDLE s = CreateServiceW(scm, x.name, display, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                               cmd->start_auto ? SERVICE_AUTO_START : SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL,
                               image, NULL, NULL, NULL, account, cmd->password ? password : NULL);
  SecureZeroMemory(password, sizeof password);
  if (!s) {
    DWORD e = GetLastError();
    if (e == ERROR_SERVICE_EXISTS || e == ERROR_DUPLICATE_SERVICE_NAME)
      fprintf(stderr, "isapihost install: a service named %ls already exists; uninstall it first, or choose "
                      "another --name\n", x.name);
    else if (e == ERROR_INVALID_SERVICE_ACCOUNT)
      fprintf(stderr, "isapihost install: the account %s does not exist (Win32 error %lu)\n", cmd->account,
              (unsigned long)e);
    else
      print_error(&x, "cannot create the service", e);
    CloseServiceHandle(scm);
    free(image);
    free(cfg_w);
    return 1;
  }

  SERVICE_DESCRIPTIONW desc = { L"Runs ISAPI extensions and filters built for IIS (IsapiHost)." };
  optional_config(&x, s, SERVICE_CONFIG_DESCRIPTION, &desc, "the description");
  if (cmd->start_auto) {
    SERVICE_DELAYED_AUTO_START_INFO delayed = { TRUE };
    optional_config(&x, s, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed, "delayed automatic start");
  }
  SC_ACTION actions[3] = { { SC_ACTION_RESTART, 5000 }, { SC_ACTION_RESTART, 10000 }, { SC_ACTION_RESTART, 60000 } };
  SERVICE_FAILURE_ACTIONSW failure = { RESET_PERIOD_S, NULL, NULL, 3, actions };
  optional_config(&x, s, SERVICE_CONFIG_FAILURE_ACTIONS, &failure, "the restart-on-failure actions");
  /* also when it stops with an error of its own, not only when it dies */
  SERVICE_FAILURE_ACTIONS_FLAG on_error = { TRUE };
  optional_config(&x, s, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &on_error, "restarts after an error exit");
  SERVICE_PRESHUTDOWN_INFO preshutdown = { preshutdown_ms };
  optional_config(&x, s, SERVICE_CONFIG_PRESHUTDOWN_INFO, &preshutdown, "the preshutdown timeout");
  if (cmd->account_kind == IH_ACCOUNT_VIRTUAL) {
    SERVICE_SID_INFO sid = { SERVICE_SID_TYPE_UNRESTRICTED }; /* a virtual account is the service's SID */
    optional_config(&x, s, SERVICE_CONFIG_SERVICE_SID_INFO, &sid, "the service SID");
  }
  CloseServiceHandle(s);
  CloseServiceHandle(scm);

  char why[512];
  bool events = ih_eventlog_register_source(x.name, exe, why, sizeof why) == 0;
  if (!events)
    fprintf(stderr, "isapihost install: warning: no Event Log source: %s\n", why);
  unsigned created = ih_iis_compat_init();
  store_created(&x, created);

  printf("isapihost install: service %ls installed\n"
         "  command:  %ls\n"
         "  account:  %s\n"
         "  start:    %s\n"
         "  restarts: after 5 s, 10 s and 60 s on failure\n"
         "  events:   %s%ls\n"
         "  IIS values for DLLs (W3SVC\\Parameters): %s\n"
         "start it with: isapihost start --name %ls\n",
         x.name, image, cmd->account, cmd->start_auto ? "automatic (delayed)" : "manual (demand)",
         events ? "Application log, source " : "none", events ? x.name : L"", created ? "created" : "present",
         x.name);
  free(image);
  free(cfg_w);
  return 0;
}

/* ---- uninstall ---- */

int ih_service_uninstall(const ih_command *cmd)
{
  cmd_ctx x;
  SC_HANDLE scm, s;
  int opened = open_named(cmd, "uninstall", SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE, &x, &scm, &s);
  if (opened != 0) {
    close_named(scm, s);
    return opened;
  }
  int rc = stop_and_wait(&x, s, true);
  unsigned created = read_created(&x); /* before the service's key goes */
  if (rc == 0 && !DeleteService(s)) {
    DWORD e = GetLastError();
    if (e != ERROR_SERVICE_MARKED_FOR_DELETE) {
      print_error(&x, "cannot delete the service", e);
      rc = -1;
    }
  }
  close_named(scm, s);
  if (rc != 0)
    return 1;
  char why[512];
  if (ih_eventlog_unregister_source(x.name, why, sizeof why) != 0)
    fprintf(stderr, "isapihost uninstall: warning: the Event Log source stays: %s\n", why);
  int e = ih_iis_compat_remove(created);
  if (e)
    print_error(&x, "warning: the IIS values install created stay", (DWORD)e);
  printf("isapihost uninstall: service %ls removed, with its Event Log source%s\n", x.name,
         created ? " and the IIS values install created" : "");
  return 0;
}

/* ---- start, stop, status ---- */

int ih_service_start(const ih_command *cmd)
{
  cmd_ctx x;
  SC_HANDLE scm, s;
  int rc = open_named(cmd, "start", SERVICE_START | SERVICE_QUERY_STATUS, &x, &scm, &s);
  if (rc == 0) {
    rc = 1;
    if (!StartServiceW(s, 0, NULL)) {
      DWORD e = GetLastError();
      if (e == ERROR_SERVICE_ALREADY_RUNNING) {
        printf("isapihost start: %ls is already running\n", x.name);
        rc = 0;
      } else {
        print_error(&x, "cannot start the service", e);
      }
    } else {
      SERVICE_STATUS_PROCESS st;
      DWORD state = wait_for(s, SERVICE_RUNNING, &st);
      if (state == SERVICE_RUNNING) {
        printf("isapihost start: %ls is running (process %lu)\n", x.name, (unsigned long)st.dwProcessId);
        rc = 0;
      } else if (state == SERVICE_STOPPED) {
        fprintf(stderr, "isapihost start: %ls stopped while starting (%s %lu); its server log (or the Event Log) "
                        "says why\n",
                x.name, st.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR ? "exit code" : "Win32 error",
                (unsigned long)(st.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR ? st.dwServiceSpecificExitCode
                                                                                   : st.dwWin32ExitCode));
      } else {
        fprintf(stderr, "isapihost start: %ls did not finish starting in time (state %s)\n", x.name,
                state_name(state));
      }
    }
  }
  close_named(scm, s);
  return rc;
}

int ih_service_stop(const ih_command *cmd)
{
  cmd_ctx x;
  SC_HANDLE scm, s;
  int rc = open_named(cmd, "stop", SERVICE_STOP | SERVICE_QUERY_STATUS, &x, &scm, &s);
  if (rc == 0)
    rc = stop_and_wait(&x, s, false) == 0 ? 0 : 1;
  close_named(scm, s);
  return rc;
}

/* PAUSE, CONTINUE or PARAMCHANGE, and (for the first two) the state it
 * leads to. */
static int control(const ih_command *cmd, const char *verb, DWORD code, DWORD done, const char *done_text)
{
  cmd_ctx x;
  SC_HANDLE scm, s;
  int rc = open_named(cmd, verb, SERVICE_PAUSE_CONTINUE | SERVICE_QUERY_STATUS, &x, &scm, &s);
  if (rc != 0) {
    close_named(scm, s);
    return rc;
  }
  rc = 1;
  SERVICE_STATUS ss;
  if (!ControlService(s, code, &ss)) {
    DWORD e = GetLastError();
    if (e == ERROR_SERVICE_NOT_ACTIVE)
      fprintf(stderr, "isapihost %s: %ls is not running\n", verb, x.name);
    else if (e == ERROR_INVALID_SERVICE_CONTROL)
      fprintf(stderr, "isapihost %s: %ls does not accept this now (state %s)\n", verb, x.name,
              state_name(ss.dwCurrentState));
    else
      print_error(&x, "the service did not take the control", e);
  } else {
    SERVICE_STATUS_PROCESS st;
    DWORD state = done ? wait_for(s, done, &st) : 0;
    if (state == done) {
      printf("isapihost %s: %ls %s\n", verb, x.name, done_text);
      rc = 0;
    } else {
      fprintf(stderr, "isapihost %s: %ls is %s; its server log says why\n", verb, x.name, state_name(state));
    }
  }
  close_named(scm, s);
  return rc;
}

int ih_service_pause(const ih_command *cmd)
{
  return control(cmd, "pause", SERVICE_CONTROL_PAUSE, SERVICE_PAUSED,
                 "is paused: new connections are refused, open ones go on");
}

int ih_service_continue(const ih_command *cmd)
{
  return control(cmd, "continue", SERVICE_CONTROL_CONTINUE, SERVICE_RUNNING,
                 "is running again");
}

/* Whether the SCM knows a service of that name (FALSE also when it cannot
 * be asked; control() then says why). */
static BOOL service_installed(const ih_command *cmd)
{
  cmd_ctx x;
  if (init_ctx(&x, "reload", cmd) != 0)
    return FALSE;
  SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
  SC_HANDLE s = scm ? OpenServiceW(scm, x.name, SERVICE_QUERY_STATUS) : NULL;
  BOOL known = s != NULL || (scm && GetLastError() != ERROR_SERVICE_DOES_NOT_EXIST);
  close_named(scm, s);
  return known || !scm;
}

/* The service by that name; else a foreground server run with --name. */
int ih_service_reload(const ih_command *cmd)
{
  static const char asked[] = "was asked to reload its configuration; its server log says whether it did (IH1010)";
  if (service_installed(cmd))
    return control(cmd, "reload", SERVICE_CONTROL_PARAMCHANGE, 0, asked);
  int sent = ih_reload_signal_send(cmd->name);
  if (sent == 0) {
    printf("isapihost reload: the foreground server %s %s\n", cmd->name, asked);
    return 0;
  }
  if (sent == 1)
    fprintf(stderr,
            "isapihost reload: no service named %s is installed, and no foreground server runs as %s "
            "(isapihost run --name %s)\n",
            cmd->name, cmd->name, cmd->name);
  else
    fprintf(stderr, "isapihost reload: cannot signal the foreground server %s (Win32 error %lu)\n", cmd->name,
            GetLastError());
  return 1;
}

/* ---- the running server's pools: <status_path>/pools ----
 * The server, service or foreground, is reached over HTTP on loopback, as
 * an operator's curl would (docs/operations.md): the page answers only
 * loopback clients, and HTTP needs no rights the caller may lack. */

#define ADMIN_CONNECT_TIMEOUT_MS 2000u
#define ADMIN_IO_TIMEOUT_MS 5000u   /* the page answers at once: it never waits for the recycle */
#define ADMIN_ANSWER_MAX (64u * 1024u)

/* Where the running server's operator pages are, from its configuration. */
typedef struct admin_server {
  char config[MAX_PATH * 3]; /* the configuration read (UTF-8) */
  char pools_path[300];      /* <status_path>/pools */
  ih_admin_target targets[IH_ADMIN_TARGETS_MAX];
  size_t target_count;
} admin_server;

/* The --config of an installed service's command line (its ImagePath), into
 * out (UTF-8); FALSE when there is no such service or no --config. */
static BOOL installed_service_config(const ih_command *cmd, char *out, int cap)
{
  cmd_ctx x;
  if (init_ctx(&x, "status", cmd) != 0)
    return FALSE;
  SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
  SC_HANDLE s = scm ? OpenServiceW(scm, x.name, SERVICE_QUERY_CONFIG) : NULL;
  DWORD bytes = 0;
  if (s)
    QueryServiceConfigW(s, NULL, 0, &bytes);
  QUERY_SERVICE_CONFIGW *qc = bytes ? malloc(bytes) : NULL;
  BOOL found = FALSE;
  if (qc && QueryServiceConfigW(s, qc, bytes, &bytes) && qc->lpBinaryPathName) {
    int argc = 0;
    wchar_t **argv = CommandLineToArgvW(qc->lpBinaryPathName, &argc);
    for (int i = 1; argv && i + 1 < argc && !found; i++)
      if (!wcscmp(argv[i], L"--config"))
        found = ih_win32_to_utf8(argv[i + 1], out, cap);
    LocalFree(argv);
  }
  free(qc);
  close_named(scm, s);
  return found;
}

/* Reads the configuration (--config, else the installed service's, else the
 * default) and where its status page is reachable. Returns 0, or the exit
 * code (2: no usable configuration; 1: no page to reach), the reason printed
 * unless quiet. */
static int admin_server_find(const ih_command *cmd, const char *verb, bool quiet, admin_server *out)
{
  memset(out, 0, sizeof *out);
  if (cmd->config || !installed_service_config(cmd, out->config, sizeof out->config)) {
    wchar_t *w = config_path(cmd);
    BOOL ok = w && ih_win32_to_utf8(w, out->config, sizeof out->config);
    free(w);
    if (!ok) {
      if (!quiet)
        fprintf(stderr, "isapihost %s: the configuration path is not usable\n", verb);
      return 2;
    }
  }
  ih_config *cfg = NULL;
  char err[1024];
  if (ih_config_load_file(out->config, &cfg, err, sizeof err) != 0) {
    if (!quiet)
      fprintf(stderr, "isapihost %s: IH%04d cannot read the configuration: %s\n", verb, IH_EV_CONFIG_INVALID, err);
    return 2;
  }
  int rc = 0;
  int count = ih_admin_targets(cfg, out->pools_path, sizeof out->pools_path, out->targets, IH_ADMIN_TARGETS_MAX);
  if (count < 0) {
    if (!quiet)
      fprintf(stderr, "isapihost %s: %s has status_path empty: the server has no operator pages to ask\n", verb,
              out->config);
    rc = 1;
  }
  out->target_count = count > 0 ? (size_t)count : 0;
  if (rc == 0 && !out->target_count) {
    if (!quiet)
      fprintf(stderr, "isapihost %s: no binding of %s is reachable on this machine (127.0.0.1, ::1 or *): the "
                      "status page answers loopback clients only\n", verb, out->config);
    rc = 1;
  }
  ih_config_free(cfg);
  return rc;
}

int ih_service_config_file(const ih_command *cmd, char *out, int cap)
{
  if (!cmd->config && installed_service_config(cmd, out, cap))
    return 0;
  wchar_t *w = config_path(cmd);
  BOOL ok = w && ih_win32_to_utf8(w, out, cap);
  free(w);
  return ok ? 0 : -1;
}

/* A TCP connection to address:port within ADMIN_CONNECT_TIMEOUT_MS, its
 * sends and receives limited to ADMIN_IO_TIMEOUT_MS; INVALID_SOCKET when
 * nothing listens there. */
static SOCKET admin_connect(const char *address, unsigned short port)
{
  struct addrinfo hints = { 0 }, *ai = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST;
  char service[8];
  snprintf(service, sizeof service, "%u", (unsigned)port);
  if (getaddrinfo(address, service, &hints, &ai) != 0)
    return INVALID_SOCKET;
  SOCKET s = socket(ai->ai_family, SOCK_STREAM, IPPROTO_TCP);
  if (s != INVALID_SOCKET) {
    u_long nonblocking = 1;
    ioctlsocket(s, FIONBIO, &nonblocking);
    BOOL connected = connect(s, ai->ai_addr, (int)ai->ai_addrlen) == 0;
    if (!connected && WSAGetLastError() == WSAEWOULDBLOCK) {
      fd_set writable, failed;
      FD_ZERO(&writable);
      FD_ZERO(&failed);
      FD_SET(s, &writable);
      FD_SET(s, &failed);
      struct timeval tv = { ADMIN_CONNECT_TIMEOUT_MS / 1000, (ADMIN_CONNECT_TIMEOUT_MS % 1000) * 1000 };
      connected = select(0, NULL, &writable, &failed, &tv) == 1 && FD_ISSET(s, &writable);
    }
    nonblocking = 0;
    ioctlsocket(s, FIONBIO, &nonblocking);
    DWORD timeout = ADMIN_IO_TIMEOUT_MS;
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&timeout, sizeof timeout);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, (const char *)&timeout, sizeof timeout);
    if (!connected) {
      closesocket(s);
      s = INVALID_SOCKET;
    }
  }
  freeaddrinfo(ai);
  return s;
}

/* method <pools_path><query> on the first target that accepts a connection
 * (HTTP/1.1, Connection: close, RFC 9112 9.6): the answer's status, and its
 * body into body (NUL-terminated); -1 when no server answers, the target
 * tried last in *tried. */
static int admin_exchange(const admin_server *srv, const char *method, const char *query, char *body, size_t cap,
                          size_t *tried)
{
  WSADATA wsa;
  if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
    return -1;
  int status = -1;
  body[0] = '\0';
  for (size_t i = 0; i < srv->target_count && status < 0; i++) {
    *tried = i;
    SOCKET s = admin_connect(srv->targets[i].address, srv->targets[i].port);
    if (s == INVALID_SOCKET)
      continue;
    char request[1024];
    /* A POST needs a length (RFC 9110 8.6; the server answers 411 without). */
    int n = snprintf(request, sizeof request,
                     "%s %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: isapihost\r\n%sConnection: close\r\n\r\n",
                     method, srv->pools_path, query, srv->targets[i].host,
                     !strcmp(method, "POST") ? "Content-Length: 0\r\n" : "");
    char *answer = malloc(ADMIN_ANSWER_MAX + 1);
    size_t got = 0;
    if (answer && n > 0 && n < (int)sizeof request && send(s, request, n, 0) == n) {
      int k;
      while (got < ADMIN_ANSWER_MAX && (k = recv(s, answer + got, (int)(ADMIN_ANSWER_MAX - got), 0)) > 0)
        got += (size_t)k;
      answer[got] = '\0';
      const char *answer_body;
      status = ih_admin_http_status(answer, &answer_body);
      if (status >= 0)
        snprintf(body, cap, "%s", answer_body);
    }
    free(answer);
    closesocket(s);
  }
  WSACleanup();
  return status;
}

int ih_service_recycle(const ih_command *cmd)
{
  admin_server srv;
  int rc = admin_server_find(cmd, "recycle", false, &srv);
  if (rc != 0)
    return rc;
  char query[160], *body = malloc(ADMIN_ANSWER_MAX + 1), why[512];
  if (!body)
    return 1;
  snprintf(query, sizeof query, "?action=recycle&pool=%s", cmd->pool); /* the name needs no encoding (cmdline.h) */
  size_t tried = 0;
  int status = admin_exchange(&srv, "POST", query, body, ADMIN_ANSWER_MAX + 1, &tried);
  ih_admin_json_error(body, why, sizeof why);
  if (status < 0) {
    fprintf(stderr, "isapihost recycle: no server answers on %s port %u (a binding of %s): is it running?\n",
            srv.targets[tried].address, (unsigned)srv.targets[tried].port, srv.config);
    rc = 1;
  } else if (status == 202) {
    fputs(body, stdout);
    printf("isapihost recycle: pool %s is being recycled: new workers start, the old ones finish their "
           "requests (IH4004 in the server log)\n", cmd->pool);
    rc = 0;
  } else {
    fputs(body, stdout);
    if (status == 404 && why[0] && !strcmp(why, "no such pool"))
      fprintf(stderr, "isapihost recycle: no pool named %s in %s\n", cmd->pool, srv.config);
    else if (why[0])
      fprintf(stderr, "isapihost recycle: pool %s: %s (HTTP %d)\n", cmd->pool, why, status);
    else
      fprintf(stderr, "isapihost recycle: the server on %s port %u has no pools page (HTTP %d); is it an "
                      "IsapiHost that runs worker pools?\n", srv.targets[tried].address,
              (unsigned)srv.targets[tried].port, status);
    rc = 1;
  }
  free(body);
  return rc;
}

/* The pools of the running server, when one answers on a binding of the
 * configuration (quietly nothing otherwise: status is about the service). */
static void status_pools(const ih_command *cmd)
{
  admin_server srv;
  if (admin_server_find(cmd, "status", !cmd->config, &srv) != 0)
    return;
  char *body = malloc(ADMIN_ANSWER_MAX + 1), *lines = malloc(ADMIN_ANSWER_MAX);
  size_t tried = 0;
  if (body && lines && admin_exchange(&srv, "GET", "", body, ADMIN_ANSWER_MAX + 1, &tried) == 200) {
    ih_pools_summary(body, lines, ADMIN_ANSWER_MAX);
    /* "pools: none" only when asked about that configuration: a server
     * without worker pools keeps the status it always had */
    if (cmd->config || !strncmp(lines, "pools:\n", 7))
      fputs(lines, stdout);
  } else if (cmd->config) {
    printf("pools: no server answers on the bindings of %s\n", srv.config);
  }
  free(lines);
  free(body);
}

/* Exit code: 0 running, 3 installed but not running (as LSB's status), 1
 * not installed or unknown. */
int ih_service_status(const ih_command *cmd)
{
  cmd_ctx x;
  SC_HANDLE scm, s;
  int rc = open_named(cmd, "status", SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG, &x, &scm, &s);
  if (rc == 0) {
    rc = 1;
    SERVICE_STATUS_PROCESS st;
    DWORD bytes = 0;
    if (!QueryServiceStatusEx(s, SC_STATUS_PROCESS_INFO, (BYTE *)&st, sizeof st, &bytes)) {
      print_error(&x, "cannot query the service", GetLastError());
    } else {
      printf("%ls: %s", x.name, state_name(st.dwCurrentState));
      if (st.dwProcessId)
        printf(" (process %lu)", (unsigned long)st.dwProcessId);
      printf("\n");
      QueryServiceConfigW(s, NULL, 0, &bytes);
      QUERY_SERVICE_CONFIGW *qc = bytes ? malloc(bytes) : NULL;
      if (qc && QueryServiceConfigW(s, qc, bytes, &bytes))
        printf("  command: %ls\n  account: %ls\n  start:   %s\n", qc->lpBinaryPathName,
               qc->lpServiceStartName ? qc->lpServiceStartName : L"",
               qc->dwStartType == SERVICE_AUTO_START     ? "automatic"
               : qc->dwStartType == SERVICE_DEMAND_START ? "manual (demand)"
               : qc->dwStartType == SERVICE_DISABLED     ? "disabled"
                                                         : "other");
      free(qc);
      rc = st.dwCurrentState == SERVICE_RUNNING ? 0 : 3;
    }
  }
  close_named(scm, s);
  fflush(stdout);
  status_pools(cmd);
  return rc;
}
