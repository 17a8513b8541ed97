/* The portable half of `isapihost recycle` and of the pools in `isapihost
 * status` (service/win32/service_cmd_win32.c does the sockets): where a
 * configuration's server answers its operator page <status_path>/pools on
 * this machine, the status and body of an HTTP answer, and the pools
 * listing (docs/pools.md's "pools" array) as short lines. The answer comes
 * from a socket, so every reader here stops at the text's end whatever it
 * holds. docs/operations.md describes the commands. */
#ifndef IH_POOLS_CMD_H
#define IH_POOLS_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

#define IH_ADMIN_TARGETS_MAX 16

/* A listener of the configuration a client on this machine can reach. */
typedef struct ih_admin_target {
  char address[48]; /* a loopback literal: 127.x.x.x or ::1 */
  uint16_t port;
  char host[260];   /* the Host header that picks the binding's site */
} ih_admin_target;

/* <status_path>/pools into pools_path, and up to max targets (bindings on
 * 127.x.x.x, ::1, or any address: "*" and 0.0.0.0 through 127.0.0.1, "::"
 * through ::1), in file order. Returns how many; -1 when status_path is
 * empty (the server has no operator pages) or too long for pools_path. */
int ih_admin_targets(const ih_config *cfg, char *pools_path, size_t path_cap, ih_admin_target *targets, size_t max);

/* The status code of the HTTP/1.x answer in text (NUL-terminated), and in
 * *body where its body starts; -1 when text holds no status line and end
 * of head. */
int ih_admin_http_status(const char *text, const char **body);

/* The "error" member of one of the page's JSON answers into out ("" when
 * there is none; the page's messages hold no escapes). */
void ih_admin_json_error(const char *json, char *out, size_t cap);

/* The pools listing as lines for `status` into out (NUL-terminated,
 * truncated to cap):
 *   pools:
 *     w: running, workers 1234 (17 requests), 1240 (0 requests); crashes 0; recycles command 1
 * "pools: none (no worker pool)" for [], "" when json is not an array. */
void ih_pools_summary(const char *json, char *out, size_t cap);

#endif
