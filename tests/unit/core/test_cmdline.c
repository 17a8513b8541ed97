/* isapihost.exe's command line: every command, its defaults, and one clear
 * sentence for each mistake. */
#include <string.h>

#include "core/cmdline.h"
#include "ih_test.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int parse(int argc, char **argv, ih_command *c, char *err, size_t cap)
{
  err[0] = '\0';
  return ih_command_parse(argc, argv, c, err, cap);
}

/* Expects a refusal whose message contains want. */
static void refused(int argc, char **argv, const char *want)
{
  ih_command c;
  char err[512];
  IH_EQ_INT(parse(argc, argv, &c, err, sizeof err), -1);
  if (!IH_CHECK(strstr(err, want) != NULL))
    ih_test_note("message: %s (wanted: %s)", err, want);
}

static void test_commands(void)
{
  IH_TEST("run and service");
  ih_command c;
  char err[512];
  char *run[] = { "isapihost", "run", "--config", "C:\\x.ini" };
  IH_EQ_INT(parse(ARGC(run), run, &c, err, sizeof err), 0);
  IH_EQ_INT(c.kind, IH_CMD_RUN);
  IH_EQ_STR(c.config, "C:\\x.ini");
  IH_CHECK(!c.name_given);
  char *run_named[] = { "isapihost", "run", "--name", "Web2", "--config", "C:\\x.ini" };
  IH_EQ_INT(parse(ARGC(run_named), run_named, &c, err, sizeof err), 0);
  IH_EQ_STR(c.name, "Web2");
  IH_CHECK(c.name_given);
  char *svc[] = { "isapihost", "service", "--name", "Web2", "--config", "C:\\w.ini" };
  IH_EQ_INT(parse(ARGC(svc), svc, &c, err, sizeof err), 0);
  IH_EQ_INT(c.kind, IH_CMD_SERVICE);
  IH_EQ_STR(c.name, "Web2");

  IH_TEST("install: defaults are LocalService, delayed auto-start, the default name and config");
  char *inst[] = { "isapihost", "install" };
  IH_EQ_INT(parse(ARGC(inst), inst, &c, err, sizeof err), 0);
  IH_EQ_INT(c.kind, IH_CMD_INSTALL);
  IH_EQ_STR(c.name, IH_SERVICE_DEFAULT_NAME);
  IH_CHECK(c.config == NULL);
  IH_EQ_INT(c.account_kind, IH_ACCOUNT_LOCAL_SERVICE);
  IH_EQ_STR(c.account, "NT AUTHORITY\\LocalService");
  IH_CHECK(c.start_auto);
  IH_CHECK(c.password == NULL);

  IH_TEST("install: every account form");
  char *net[] = { "isapihost", "install", "--account", "networkservice", "--start", "DEMAND" };
  IH_EQ_INT(parse(ARGC(net), net, &c, err, sizeof err), 0);
  IH_EQ_STR(c.account, "NT AUTHORITY\\NetworkService");
  IH_CHECK(!c.start_auto);
  char *virt[] = { "isapihost", "install", "--name", "Shop", "--account", "NT SERVICE\\shop" };
  IH_EQ_INT(parse(ARGC(virt), virt, &c, err, sizeof err), 0);
  IH_EQ_INT(c.account_kind, IH_ACCOUNT_VIRTUAL);
  IH_EQ_STR(c.account, "NT SERVICE\\Shop");
  char *user[] = { "isapihost", "install", "--account", "CORP\\websvc", "--password", "s3cret" };
  IH_EQ_INT(parse(ARGC(user), user, &c, err, sizeof err), 0);
  IH_EQ_INT(c.account_kind, IH_ACCOUNT_USER);
  IH_EQ_STR(c.account, "CORP\\websvc");
  IH_EQ_STR(c.password, "s3cret");
  char *upn[] = { "isapihost", "install", "--account", "websvc@corp.example", "--password", "x" };
  IH_EQ_INT(parse(ARGC(upn), upn, &c, err, sizeof err), 0);
  IH_EQ_INT(c.account_kind, IH_ACCOUNT_USER);

  IH_TEST("uninstall, start, stop, status, pause, continue, reload take --name only");
  static const char *const words[] = { "uninstall", "start", "stop", "status", "pause", "continue", "reload" };
  static const enum ih_command_kind kinds[] = { IH_CMD_UNINSTALL, IH_CMD_START, IH_CMD_STOP, IH_CMD_STATUS,
                                                IH_CMD_PAUSE, IH_CMD_CONTINUE, IH_CMD_RELOAD };
  for (int i = 0; i < 7; i++) {
    char *argv[] = { "isapihost", (char *)words[i], "--name", "Web2" };
    IH_EQ_INT(parse(ARGC(argv), argv, &c, err, sizeof err), 0);
    IH_EQ_INT(c.kind, kinds[i]);
    IH_EQ_STR(c.name, "Web2");
    char *bad[] = { "isapihost", (char *)words[i], "--config", "x.ini" };
    if (kinds[i] != IH_CMD_STATUS)
      refused(ARGC(bad), bad, "--config does not apply");
    char *pool[] = { "isapihost", (char *)words[i], "--pool", "w" };
    refused(ARGC(pool), pool, "--pool does not apply");
  }

  IH_TEST("status: --config names the server whose pools it lists");
  char *status[] = { "isapihost", "status", "--config", "C:\\x.ini" };
  IH_EQ_INT(parse(ARGC(status), status, &c, err, sizeof err), 0);
  IH_EQ_INT(c.kind, IH_CMD_STATUS);
  IH_EQ_STR(c.config, "C:\\x.ini");
  char *status_plain[] = { "isapihost", "status" };
  IH_EQ_INT(parse(ARGC(status_plain), status_plain, &c, err, sizeof err), 0);
  IH_CHECK(c.config == NULL);

  IH_TEST("recycle --pool, with --config or --name to find the server");
  char *recycle[] = { "isapihost", "recycle", "--pool", "Shop-2.x_y" };
  IH_EQ_INT(parse(ARGC(recycle), recycle, &c, err, sizeof err), 0);
  IH_EQ_INT(c.kind, IH_CMD_RECYCLE);
  IH_EQ_STR(c.pool, "Shop-2.x_y");
  IH_CHECK(c.config == NULL);
  IH_EQ_STR(c.name, IH_SERVICE_DEFAULT_NAME);
  char *recycle_cfg[] = { "isapihost", "recycle", "--config", "C:\\x.ini", "--pool", "w", "--name", "Web2" };
  IH_EQ_INT(parse(ARGC(recycle_cfg), recycle_cfg, &c, err, sizeof err), 0);
  IH_EQ_STR(c.pool, "w");
  IH_EQ_STR(c.config, "C:\\x.ini");
  IH_EQ_STR(c.name, "Web2");
  IH_CHECK(strstr(ih_command_usage(), "recycle --pool POOL") != NULL);

  IH_TEST("pool-password --pool, with --config or --clear");
  char *pw[] = { "isapihost", "pool-password", "--pool", "w" };
  IH_EQ_INT(parse(ARGC(pw), pw, &c, err, sizeof err), 0);
  IH_EQ_INT(c.kind, IH_CMD_POOL_PASSWORD);
  IH_EQ_STR(c.pool, "w");
  IH_CHECK(!c.clear);
  IH_CHECK(c.config == NULL);
  char *pw_cfg[] = { "isapihost", "pool-password", "--config", "C:\\x.ini", "--pool", "Shop" };
  IH_EQ_INT(parse(ARGC(pw_cfg), pw_cfg, &c, err, sizeof err), 0);
  IH_EQ_STR(c.config, "C:\\x.ini");
  IH_EQ_STR(c.pool, "Shop");
  char *pw_clear[] = { "isapihost", "pool-password", "--clear", "--pool", "w" };
  IH_EQ_INT(parse(ARGC(pw_clear), pw_clear, &c, err, sizeof err), 0);
  IH_CHECK(c.clear);
  IH_EQ_STR(c.pool, "w");
  IH_CHECK(strstr(ih_command_usage(), "pool-password --pool POOL") != NULL);

  IH_TEST("--version and --help");
  char *ver[] = { "isapihost", "--version" };
  IH_EQ_INT(parse(ARGC(ver), ver, &c, err, sizeof err), 0);
  IH_EQ_INT(c.kind, IH_CMD_VERSION);
  char *help[] = { "isapihost", "/?" };
  IH_EQ_INT(parse(ARGC(help), help, &c, err, sizeof err), 0);
  IH_EQ_INT(c.kind, IH_CMD_HELP);
  IH_CHECK(strstr(ih_command_usage(), "install") != NULL);
}

static void test_mistakes(void)
{
  IH_TEST("each mistake gets a sentence that names it");
  char *none[] = { "isapihost" };
  refused(ARGC(none), none, "no command");
  char *unknown[] = { "isapihost", "serve" };
  refused(ARGC(unknown), unknown, "unknown command 'serve'");
  char *no_config[] = { "isapihost", "run" };
  refused(ARGC(no_config), no_config, "run needs --config");
  char *no_value[] = { "isapihost", "run", "--config" };
  refused(ARGC(no_value), no_value, "--config needs a value");
  char *empty[] = { "isapihost", "install", "--name", "" };
  refused(ARGC(empty), empty, "--name needs a value");
  char *svc_no_name[] = { "isapihost", "service", "--config", "x.ini" };
  refused(ARGC(svc_no_name), svc_no_name, "service needs --name");
  char *slash[] = { "isapihost", "install", "--name", "a/b" };
  refused(ARGC(slash), slash, "without / or \\");
  char *space[] = { "isapihost", "install", "--name", "my service" };
  refused(ARGC(space), space, "printable characters");
  char *opt[] = { "isapihost", "install", "--port", "80" };
  refused(ARGC(opt), opt, "unknown option '--port'");
  char *run_bad_name[] = { "isapihost", "run", "--name", "a\\b", "--config", "y" };
  refused(ARGC(run_bad_name), run_bad_name, "without / or \\");
  char *no_pw[] = { "isapihost", "install", "--account", "CORP\\web" };
  refused(ARGC(no_pw), no_pw, "give its --password");
  char *pw_builtin[] = { "isapihost", "install", "--account", "NetworkService", "--password", "x" };
  refused(ARGC(pw_builtin), pw_builtin, "--password goes with a user account only");
  char *system[] = { "isapihost", "install", "--account", "LocalSystem" };
  refused(ARGC(system), system, "does not run as LocalSystem");
  char *wrong_virtual[] = { "isapihost", "install", "--name", "A", "--account", "NT SERVICE\\B" };
  refused(ARGC(wrong_virtual), wrong_virtual, "the service's name");
  char *bare_user[] = { "isapihost", "install", "--account", "bob", "--password", "x" };
  refused(ARGC(bare_user), bare_user, "DOMAIN\\user");
  char *start[] = { "isapihost", "install", "--start", "boot" };
  refused(ARGC(start), start, "use auto or demand");
  char *ver_opt[] = { "isapihost", "--version", "--name", "x" };
  refused(ARGC(ver_opt), ver_opt, "takes no options");
  char *start_opt[] = { "isapihost", "status", "--start", "auto" };
  refused(ARGC(start_opt), start_opt, "--start does not apply");
  char *no_pool[] = { "isapihost", "recycle", "--config", "x.ini" };
  refused(ARGC(no_pool), no_pool, "recycle needs --pool POOL");
  char *pool_value[] = { "isapihost", "recycle", "--pool" };
  refused(ARGC(pool_value), pool_value, "--pool needs a value");
  char *pool_space[] = { "isapihost", "recycle", "--pool", "a b" };
  refused(ARGC(pool_space), pool_space, "--pool 'a b': a pool name is letters, digits");
  char *pool_amp[] = { "isapihost", "recycle", "--pool", "w&action=x" };
  refused(ARGC(pool_amp), pool_amp, "a pool name is letters, digits");
  char *recycle_start[] = { "isapihost", "recycle", "--pool", "w", "--start", "auto" };
  refused(ARGC(recycle_start), recycle_start, "--start does not apply");
  char *pw_none[] = { "isapihost", "pool-password", "--clear" };
  refused(ARGC(pw_none), pw_none, "pool-password needs --pool POOL");
  char *pw_bad[] = { "isapihost", "pool-password", "--pool", "a/b" };
  refused(ARGC(pw_bad), pw_bad, "a pool name is letters, digits");
  char *pw_password[] = { "isapihost", "pool-password", "--pool", "w", "--password", "x" };
  refused(ARGC(pw_password), pw_password, "--password does not apply"); /* never on a command line */
  char *clear_elsewhere[] = { "isapihost", "recycle", "--pool", "w", "--clear" };
  refused(ARGC(clear_elsewhere), clear_elsewhere, "--clear does not apply");
  char *run_pool[] = { "isapihost", "run", "--config", "x.ini", "--pool", "w" };
  refused(ARGC(run_pool), run_pool, "--pool does not apply");
}

int main(void)
{
  test_commands();
  test_mistakes();
  return ih_test_finish();
}
