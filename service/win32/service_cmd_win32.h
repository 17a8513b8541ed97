/* `isapihost install | uninstall | start | stop | status | pause |
 * continue | reload | recycle`: the service's
 * management through the SCM API (and the running server's pools through
 * its loopback-only <status_path>/pools page), each printing what it did or one clear
 * error (and returning the exit code: 0 done, 1 failed, 2 bad usage or
 * configuration). docs/install.md describes them. */
#ifndef IH_SERVICE_CMD_WIN32_H
#define IH_SERVICE_CMD_WIN32_H

#include "core/cmdline.h"

int ih_service_install(const ih_command *cmd);
int ih_service_uninstall(const ih_command *cmd);
int ih_service_start(const ih_command *cmd);
int ih_service_stop(const ih_command *cmd);
int ih_service_status(const ih_command *cmd);
/* SERVICE_CONTROL_PAUSE, CONTINUE and PARAMCHANGE (Wine's sc.exe has no
 * pause, continue or control). */
int ih_service_pause(const ih_command *cmd);
int ih_service_continue(const ih_command *cmd);
int ih_service_reload(const ih_command *cmd);
/* POST <status_path>/pools?action=recycle&pool=NAME to the running server
 * (service or foreground) found through the configuration: 0 when the
 * recycle started (202), 1 otherwise (no server answers, no such pool, no
 * worker running), 2 when the configuration cannot be read. */
int ih_service_recycle(const ih_command *cmd);
/* The configuration file a command means, as recycle finds it: --config,
 * else the installed service's, else the default. 0, or -1 when the path
 * is not usable. */
int ih_service_config_file(const ih_command *cmd, char *out, int cap);

#endif
