/* `isapihost install | uninstall | start | stop | status | pause |
 * continue | reload`: the service's
 * management through the SCM API, each printing what it did or one clear
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

#endif
