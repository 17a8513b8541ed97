/* isapihost.exe's command line (see cmdline.h). */
#include "core/cmdline.h"

#include <stdio.h>
#include <string.h>

#include "core/ih_str.h"

const char *ih_command_usage(void)
{
  return "usage: isapihost run --config FILE [--name NAME]\n"
         "       isapihost install [--name NAME] [--config FILE] [--account ACCOUNT [--password P]]\n"
         "                         [--start auto|demand]\n"
         "       isapihost uninstall|start|stop|pause|continue|reload [--name NAME]\n"
         "       isapihost status [--name NAME] [--config FILE]\n"
         "       isapihost recycle --pool POOL [--name NAME] [--config FILE]\n"
         "       isapihost pool-password --pool POOL [--config FILE] [--clear]\n"
         "       isapihost service --name NAME --config FILE   (started by the Service Control Manager)\n"
         "       isapihost --version\n"
         "ACCOUNT: LocalService (default), NetworkService, \"NT SERVICE\\NAME\", or a user (DOMAIN\\user,\n"
         "         .\\user, user@domain) with --password. NAME defaults to " IH_SERVICE_DEFAULT_NAME ".\n"
         "install validates FILE (default %ProgramData%\\IsapiHost\\isapihost.ini) before it creates\n"
         "the service; reload makes the running service read its configuration again; see\n"
         "docs/install.md. run serves in the foreground until Ctrl+C; with --name, reload --name NAME\n"
         "reaches it too (when no service of that name is installed). recycle replaces the workers of\n"
         "a worker pool of the running server, service or foreground, through its status page, which\n"
         "it finds in FILE (default: the service's own configuration); status also lists its pools.\n"
         "pool-password stores the password of a pool whose identity is a user (read as one line from\n"
         "standard input, not echoed on a console) as an LSA secret, or removes it with --clear.\n";
}

static bool ieq(const char *a, const char *b) { return ih_slice_ieq_cstr(ih_slice_from_cstr(a), b); }

static int fail(char *err, size_t cap, const char *fmt, const char *arg)
{
  snprintf(err, cap, fmt, arg ? arg : "");
  return -1;
}

/* SCM service names: no slashes (CreateService), printable, and short
 * enough to appear in paths and registry keys of ours. */
static bool name_ok(const char *name)
{
  size_t n = strlen(name);
  if (n == 0 || n > IH_SERVICE_NAME_MAX)
    return false;
  for (const char *p = name; *p; p++)
    if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x21 || *p == 0x7f)
      return false;
  return true;
}

/* Pool names as the configuration allows them ([pool NAME], config.c), so
 * that one goes into a URL's query as it is. */
static bool pool_name_ok(const char *name)
{
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
          *p == '_' || *p == '-'))
      return false;
  return *name != '\0';
}

/* --account as the SCM wants it; needs_password for a user account. */
static int resolve_account(ih_command *c, const char *given, char *err, size_t cap)
{
  static const char virtual_prefix[] = "NT SERVICE\\";
  if (ieq(given, "LocalService") || ieq(given, "NT AUTHORITY\\LocalService")) {
    c->account_kind = IH_ACCOUNT_LOCAL_SERVICE;
    snprintf(c->account, sizeof c->account, "NT AUTHORITY\\LocalService");
  } else if (ieq(given, "NetworkService") || ieq(given, "NT AUTHORITY\\NetworkService")) {
    c->account_kind = IH_ACCOUNT_NETWORK_SERVICE;
    snprintf(c->account, sizeof c->account, "NT AUTHORITY\\NetworkService");
  } else if (strlen(given) > sizeof virtual_prefix - 1 &&
             ih_slice_ieq((ih_slice){ given, sizeof virtual_prefix - 1 }, IH_SLICE_LIT("NT SERVICE\\"))) {
    /* A virtual account exists only for the service of its name. */
    if (!ieq(given + sizeof virtual_prefix - 1, c->name))
      return fail(err, cap, "--account %s: a virtual account must be NT SERVICE\\ followed by the service's name", given);
    c->account_kind = IH_ACCOUNT_VIRTUAL;
    snprintf(c->account, sizeof c->account, "NT SERVICE\\%s", c->name);
  } else if (ieq(given, "LocalSystem") || ieq(given, "NT AUTHORITY\\SYSTEM")) {
    return fail(err, cap, "--account %s: IsapiHost does not run as LocalSystem (every DLL would run with full "
                          "control of the machine); use LocalService, NetworkService, NT SERVICE\\NAME or a user", given);
  } else {
    if (strlen(given) >= sizeof c->account || strchr(given, '/') || !strpbrk(given, "\\@"))
      return fail(err, cap, "--account %s: a user account is DOMAIN\\user, .\\user or user@domain", given);
    c->account_kind = IH_ACCOUNT_USER;
    snprintf(c->account, sizeof c->account, "%s", given);
  }
  return 0;
}

int ih_command_parse(int argc, char **argv, ih_command *out, char *err, size_t err_cap)
{
  memset(out, 0, sizeof *out);
  out->name = IH_SERVICE_DEFAULT_NAME;
  out->start_auto = true;
  if (argc < 2)
    return fail(err, err_cap, "no command given%s", NULL);
  const char *cmd = argv[1];
  static const struct {
    const char *word;
    enum ih_command_kind kind;
  } commands[] = {
    { "run", IH_CMD_RUN },       { "service", IH_CMD_SERVICE }, { "install", IH_CMD_INSTALL },
    { "uninstall", IH_CMD_UNINSTALL }, { "start", IH_CMD_START },   { "stop", IH_CMD_STOP },
    { "status", IH_CMD_STATUS }, { "pause", IH_CMD_PAUSE },     { "continue", IH_CMD_CONTINUE },
    { "reload", IH_CMD_RELOAD }, { "recycle", IH_CMD_RECYCLE }, { "pool-password", IH_CMD_POOL_PASSWORD },
    { "--version", IH_CMD_VERSION },
    { "-v", IH_CMD_VERSION },
    { "--help", IH_CMD_HELP },   { "-h", IH_CMD_HELP },         { "/?", IH_CMD_HELP },
  };
  size_t i = 0;
  while (i < sizeof commands / sizeof commands[0] && strcmp(cmd, commands[i].word) != 0)
    i++;
  if (i == sizeof commands / sizeof commands[0])
    return fail(err, err_cap, "unknown command '%s'", cmd);
  out->kind = commands[i].kind;
  if ((out->kind == IH_CMD_VERSION || out->kind == IH_CMD_HELP) && argc > 2)
    return fail(err, err_cap, "%s takes no options", cmd);

  const char *account = NULL, *start = NULL;
  for (int a = 2; a < argc; a++) {
    const char *opt = argv[a];
    if (!strcmp(opt, "--clear")) { /* a flag, no value */
      if (out->kind != IH_CMD_POOL_PASSWORD)
        return fail(err, err_cap, "%s does not apply to this command", opt);
      out->clear = true;
      continue;
    }
    bool takes_value = !strcmp(opt, "--name") || !strcmp(opt, "--config") || !strcmp(opt, "--account") ||
                       !strcmp(opt, "--password") || !strcmp(opt, "--start") || !strcmp(opt, "--pool");
    if (!takes_value)
      return fail(err, err_cap, "unknown option '%s'", opt);
    if (a + 1 >= argc || argv[a + 1][0] == '\0')
      return fail(err, err_cap, "%s needs a value", opt);
    const char *value = argv[++a];
    bool install_only = !strcmp(opt, "--account") || !strcmp(opt, "--password") || !strcmp(opt, "--start");
    bool allowed = !strcmp(opt, "--name")     ? true
                   : !strcmp(opt, "--config") ? out->kind == IH_CMD_RUN || out->kind == IH_CMD_SERVICE ||
                                                    out->kind == IH_CMD_INSTALL || out->kind == IH_CMD_STATUS ||
                                                    out->kind == IH_CMD_RECYCLE || out->kind == IH_CMD_POOL_PASSWORD
                   : !strcmp(opt, "--pool")   ? out->kind == IH_CMD_RECYCLE || out->kind == IH_CMD_POOL_PASSWORD
                   : install_only             ? out->kind == IH_CMD_INSTALL
                                              : false;
    if (!allowed)
      return fail(err, err_cap, "%s does not apply to this command", opt);
    if (!strcmp(opt, "--name")) {
      out->name = value;
      out->name_given = true;
    } else if (!strcmp(opt, "--config")) {
      out->config = value;
    } else if (!strcmp(opt, "--account")) {
      account = value;
    } else if (!strcmp(opt, "--pool")) {
      out->pool = value;
    } else if (!strcmp(opt, "--password")) {
      out->password = value;
    } else {
      start = value;
    }
  }
  if (!name_ok(out->name))
    return fail(err, err_cap, "--name '%s': a service name is 1 to 80 printable characters without / or \\", out->name);
  if ((out->kind == IH_CMD_RUN || out->kind == IH_CMD_SERVICE) && !out->config)
    return fail(err, err_cap, "%s needs --config FILE", cmd);
  if (out->kind == IH_CMD_RECYCLE && !out->pool)
    return fail(err, err_cap, "recycle needs --pool POOL (the [pool POOL] of the configuration)%s", NULL);
  if (out->kind == IH_CMD_POOL_PASSWORD && !out->pool)
    return fail(err, err_cap, "pool-password needs --pool POOL (the [pool POOL] whose identity is a user)%s", NULL);
  if (out->pool && !pool_name_ok(out->pool))
    return fail(err, err_cap, "--pool '%s': a pool name is letters, digits, '.', '_' and '-'", out->pool);
  if (out->kind == IH_CMD_SERVICE && !out->name_given)
    return fail(err, err_cap, "service needs --name NAME (the name it was installed under)%s", NULL);
  if (out->kind == IH_CMD_INSTALL) {
    if (resolve_account(out, account ? account : "LocalService", err, err_cap) != 0)
      return -1;
    if (out->account_kind == IH_ACCOUNT_USER && !out->password)
      return fail(err, err_cap, "--account %s is a user account: give its --password", out->account);
    if (out->account_kind != IH_ACCOUNT_USER && out->password)
      return fail(err, err_cap, "--password goes with a user account only (%s has none)", out->account);
    if (start && ieq(start, "auto"))
      out->start_auto = true;
    else if (start && ieq(start, "demand"))
      out->start_auto = false;
    else if (start)
      return fail(err, err_cap, "--start %s: use auto or demand", start);
  }
  return 0;
}
