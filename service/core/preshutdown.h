/* The preshutdown timeout the NT service asks Windows for
 * (SERVICE_PRESHUTDOWN_INFO.dwPreshutdownTimeout, in milliseconds; MSDN
 * "SERVICE_PRESHUTDOWN_INFO structure"): how long the Service Control
 * Manager waits for the service to stop after SERVICE_CONTROL_PRESHUTDOWN
 * before system shutdown goes on without it (MSDN "HandlerEx":
 * SERVICE_CONTROL_PRESHUTDOWN).
 *
 * A stop may take up to shutdown_time_limit ([server]); past it the stop
 * watchdog logs why (IH1012), waits for the server log and the Event Log to
 * take that line (3 s each at most) and reports SERVICE_STOPPED. So Windows
 * must wait at least that long, or at system shutdown it moves on before
 * the one line that says what was stuck is written: the timeout is
 * shutdown_time_limit plus IH_PRESHUTDOWN_MARGIN_S. `isapihost install`
 * sets it from the configuration, the service corrects it when it starts
 * and after a reload, and the MSI's value is this for the shutdown_time_limit
 * of the configuration it installs (docs/install.md). Portable. */
#ifndef IH_PRESHUTDOWN_H
#define IH_PRESHUTDOWN_H

#include <stdint.h>

/* Seconds past shutdown_time_limit: the watchdog's two flush waits (3 s
 * each, stop_watchdog_win32.c asserts they fit) and SERVICE_STOPPED, with
 * room to spare. */
#define IH_PRESHUTDOWN_MARGIN_S 10u

/* (shutdown_time_limit_s + IH_PRESHUTDOWN_MARGIN_S) * 1000, saturated at
 * the largest DWORD. */
uint32_t ih_preshutdown_timeout_ms(unsigned shutdown_time_limit_s);

#endif
