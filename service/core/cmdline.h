/* isapihost.exe's command line: which command, and its options, checked
 * before anything is done so every mistake gets one clear sentence.
 * Portable (the Win32 side acts on the result: service/win32/main_win32.c).
 *
 *   run --config FILE                     foreground, Ctrl+C stops
 *   service --name NAME --config FILE     what the SCM starts (ImagePath)
 *   install [--name N] [--config FILE] [--account A [--password P]] [--start auto|demand]
 *   uninstall|start|stop|pause|continue|reload [--name N]
 *   status [--name N] [--config FILE]     the service, and the pools of the server FILE configures
 *   recycle --pool POOL [--name N] [--config FILE]   recycles a worker pool of the running server
 *   pool-password --pool POOL [--config FILE] [--clear]   stores (from standard input) or removes the
 *                                         password of a pool whose identity is a user
 *   --version | --help */
#ifndef IH_CMDLINE_H
#define IH_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#define IH_SERVICE_DEFAULT_NAME "IsapiHost"
#define IH_SERVICE_NAME_MAX 80 /* ours; the SCM allows 256 */

enum ih_command_kind {
  IH_CMD_RUN,
  IH_CMD_SERVICE,
  IH_CMD_INSTALL,
  IH_CMD_UNINSTALL,
  IH_CMD_START,
  IH_CMD_STOP,
  IH_CMD_STATUS,
  IH_CMD_PAUSE,    /* SERVICE_CONTROL_PAUSE: listeners closed */
  IH_CMD_CONTINUE, /* SERVICE_CONTROL_CONTINUE */
  IH_CMD_RELOAD,   /* SERVICE_CONTROL_PARAMCHANGE: the configuration read again */
  IH_CMD_RECYCLE,  /* a worker pool's workers replaced, through <status_path>/pools */
  IH_CMD_POOL_PASSWORD, /* a pool's password as an LSA secret (docs/pools.md, Identity) */
  IH_CMD_VERSION,
  IH_CMD_HELP,
};

/* The service account, as the SCM wants it (CreateService's
 * lpServiceStartName). */
enum ih_account_kind {
  IH_ACCOUNT_LOCAL_SERVICE,   /* "NT AUTHORITY\LocalService": the default, least privilege */
  IH_ACCOUNT_NETWORK_SERVICE, /* "NT AUTHORITY\NetworkService" */
  IH_ACCOUNT_VIRTUAL,         /* "NT SERVICE\<service name>" (a virtual account, Windows 7+) */
  IH_ACCOUNT_USER,            /* "DOMAIN\user", ".\user" or "user@domain", with --password */
};

typedef struct ih_command {
  enum ih_command_kind kind;
  const char *name;       /* the service's name (default IH_SERVICE_DEFAULT_NAME) */
  bool name_given;        /* --name was given (run: reload can reach it by that name) */
  const char *config;     /* NULL: install's default, %ProgramData%\IsapiHost\isapihost.ini (status and
                             recycle: the installed service's, else that default) */
  const char *pool;       /* recycle, pool-password: the pool's name (letters, digits, '.', '_', '-') */
  bool clear;             /* pool-password --clear: remove the stored password */
  enum ih_account_kind account_kind;
  char account[300];      /* the account name for the SCM */
  const char *password;   /* IH_ACCOUNT_USER only */
  bool start_auto;        /* --start auto (delayed auto-start) or demand */
} ih_command;

/* Parses argv[1..argc). Returns 0, or -1 with one sentence in err (the
 * caller prints it with the usage). Pointers in out point into argv. */
int ih_command_parse(int argc, char **argv, ih_command *out, char *err, size_t err_cap);

/* The usage text. */
const char *ih_command_usage(void);

#endif
