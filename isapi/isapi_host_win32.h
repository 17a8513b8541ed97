/* The ISAPI extension host: runs HttpExtensionProc on its own thread pool
 * (so a slow or blocked DLL never stalls the I/O threads) with a real
 * EXTENSION_CONTROL_BLOCK whose callbacks lead into the connection pipeline
 * (server/conn.h ih_conn_ext_*). Win32 only. */
#ifndef IH_ISAPI_HOST_WIN32_H
#define IH_ISAPI_HOST_WIN32_H

#include <stddef.h>

#include "core/config.h"
#include "server/conn.h"

/* Starts the pool (isapi_threads). Returns 0 or -1 (logged). */
int ih_isapi_host_start(const ih_config *cfg);
/* Platform entry point: runs the extension for c->req (lock held). */
bool ih_isapi_host_extension_start(ih_conn *c);
/* Called (any thread) when an extension reports itself unhealthy
 * (HSE_REQ_REPORT_UNHEALTHY), after it is logged: a worker process tells
 * its service, which recycles it. NULL (the default): logged only. */
void ih_isapi_host_on_unhealthy(void (*fn)(const char *dll, const char *reason, size_t len));
/* Stops the pool after requests have drained, then unloads the DLLs. */
/* A reloaded configuration (PARAMCHANGE): EXEC_URL depth, the DLLs an
 * operator can act on, isapi_unload_timeout. Pool sizes stay until restart. */
void ih_isapi_host_reconfigure(const ih_config *cfg);
void ih_isapi_host_stop(void);
/* How many requests are inside a DLL's code right now (HttpExtensionProc,
 * a completion callback), and the oldest one in words ("... in
 * HttpExtensionProc of C:\x.dll") into out; for a stop that does not
 * finish (IH1012). Any thread. */
size_t ih_isapi_host_describe_running(char *out, size_t cap);
/* Sessions whose HCONN is still valid (for stop and the status page). */
unsigned ih_isapi_host_live_sessions(void);

#endif
