/* Stable IDs of every operator-visible server log message. The same numbers
 * are used for Event Log messages (service/win32/messages.mc), so an ID
 * is never reused or renumbered; retired IDs stay listed as retired.
 * Ranges: 1000 lifecycle, 1100 configuration, 1200 network, 1300 requests,
 * 1400 logging, 2000 ISAPI extensions, 3000 ISAPI filters, 4000 application
 * pools. docs/events.md
 * explains each one. */
#ifndef IH_EVENTS_H
#define IH_EVENTS_H

enum ih_event_id {
  IH_EV_STARTING = 1001,          /* server starting (version, config file) */
  IH_EV_LISTENING = 1002,         /* listening on address:port */
  IH_EV_STOPPING = 1003,          /* stop requested; draining */
  IH_EV_STOPPED = 1004,           /* stopped (connections served) */
  IH_EV_DRAIN_TIMEOUT = 1005,     /* drain timeout: N connections cancelled */
  IH_EV_WORKERS = 1006,           /* worker thread count */
  IH_EV_FATAL = 1007,             /* cannot continue (reason) */
  IH_EV_STOP_REQUESTED = 1008,    /* stop requested (by which control event) */
  IH_EV_PAUSED = 1009,            /* paused (listeners closed, open connections go on) or continued */
  IH_EV_RELOADED = 1010,          /* configuration reloaded (PARAMCHANGE), or a reload refused and why */
  IH_EV_SERVICE = 1011,           /* the NT service: started by the SCM, a control received, a status not reported */
  IH_EV_STOP_TIME_LIMIT = 1012,   /* a stop ran past shutdown_time_limit: what was stuck; the process exits */
  IH_EV_CONFIG_INVALID = 1101,    /* config file rejected: file:line: message */
  IH_EV_LISTEN_FAILED = 1201,     /* cannot bind/listen (address, Win32 error) */
  IH_EV_ACCEPT_FAILED = 1202,     /* AcceptEx failed (Win32 error) */
  IH_EV_CONN_LIMIT = 1203,        /* max_connections reached: connection refused */
  IH_EV_IO_ERROR = 1204,          /* a connection could not be set up; at DEBUG, a failed receive or send (Win32 error) */
  IH_EV_CLIENT_ABORTS = 1205,     /* clients that reset before accept completed, counted over an interval */
  IH_EV_COUNT_UNDERFLOW = 1206,   /* a reference or live count released more often than taken: refused, connection closed */
  IH_EV_PROXY_REFUSED = 1207,     /* a proxy_protocol binding's connection closed: peer not trusted, or no valid PROXY header */
  IH_EV_BAD_REQUEST = 1301,       /* request rejected: status, reason, client */
  IH_EV_HEADER_TIMEOUT = 1302,    /* client dropped: request head not received in time */
  IH_EV_BODY_TIMEOUT = 1303,      /* client dropped: request body below min_body_rate */
  IH_EV_IDLE_TIMEOUT = 1304,      /* keep-alive connection closed after idle timeout (debug) */
  IH_EV_FILE_ERROR = 1305,        /* file could not be opened (path, Win32 error) */
  IH_EV_URL_REJECTED = 1306,      /* URL refused by canonicalisation (reason) */
  IH_EV_RESPONSE_INCOMPLETE = 1307, /* a response could not be built in memory: 500 instead (or a close), connection closed */
  IH_EV_FORWARDED_IGNORED = 1308, /* forwarding headers from a trusted proxy could not be read: the peer is the client */
  IH_EV_LOG_WRITE_FAILED = 1401,  /* log file cannot be written (path, error) */
  IH_EV_EXT_LOADED = 2001,        /* extension DLL loaded (path, description, version) */
  IH_EV_EXT_LOAD_FAILED = 2002,   /* extension DLL not usable (path, reason, Win32 error) */
  IH_EV_EXT_UNLOADED = 2003,      /* extension DLL terminated and unloaded (path) */
  IH_EV_EXT_BUSY_AT_UNLOAD = 2004,/* extension DLL still has requests in flight at unload (path, count) */
  IH_EV_EXT_CRASHED = 2006,       /* an extension faulted (entry point, path, exception, address) */
  IH_EV_EXT_UNSUPPORTED = 2005,   /* an extension asked for a ServerSupportFunction code not supported (once per code and DLL) */
  IH_EV_EXT_STUCK = 2007,         /* an extension request has run longer than isapi_stuck_timeout */
  IH_EV_EXT_UNHEALTHY = 2008,     /* an extension reported itself unhealthy (HSE_REQ_REPORT_UNHEALTHY) */
  IH_EV_ISAPI_POOL = 2010,        /* ISAPI thread pool size: started, grew, at its maximum */
  IH_EV_EXT_ADMIN = 2011,         /* operator unload/reload of an extension DLL: held, drained, done or failed */
  IH_EV_EXT_MISUSE = 2012,        /* an extension misused the API in a way that costs its request (once per DLL and kind) */
  IH_EV_EXT_STARTUP_TIME_LIMIT = 2013, /* GetExtensionVersion (or DllMain) ran past startup_time_limit */
  IH_EV_EXT_WRONG_BITNESS = 2014, /* extension DLL built for another bitness (path, machine, process bitness): not loaded, 500 */
  IH_EV_IIS_COMPAT = 2009,        /* IIS version values for DLLs (W3SVC\Parameters) created, or missing and not creatable */
  IH_EV_FILTER_LOADED = 3001,     /* filter DLL loaded: name, path, description, notifications, priority */
  IH_EV_FILTER_LOAD_FAILED = 3002,/* filter DLL not usable: name, path, reason, Win32 error; 503 or skipped */
  IH_EV_FILTER_CRASHED = 3003,    /* a filter faulted in HttpFilterProc: name, notification, exception; connection closed */
  IH_EV_FILTER_UNLOADED = 3004,   /* filter terminated (TerminateFilter) and unloaded, or left loaded (why) */
  IH_EV_FILTER_MISUSE = 3005,     /* a filter misused the API (once per filter and kind) */
  IH_EV_FILTER_STARTUP_TIME_LIMIT = 3006, /* GetFilterVersion (or DllMain) ran past startup_time_limit */
  IH_EV_FILTER_WRONG_BITNESS = 3007, /* filter DLL built for another bitness (name, path, machine): not loaded; 503 or skipped */
  IH_EV_POOL_WORKER_STARTED = 4001,   /* a pool worker process started and reported ready (pool, pid, bitness) */
  IH_EV_POOL_WORKER_EXITED = 4002,    /* a pool worker process ended: crashed (no goodbye: pool, pid, exit code, the DLL being called, requests failed) or exited cleanly */
  IH_EV_POOL_FAILING = 4003,          /* rapid-fail protection: a pool crashed too often and backs off (503 with Retry-After meanwhile), or it recovered */
  IH_EV_POOL_RECYCLE = 4004,          /* a pool worker is recycled (reason), or a recycle finished */
  IH_EV_POOL_PING_TIMEOUT = 4005,     /* a pool worker did not answer a ping within ping_timeout and is replaced */
  IH_EV_POOL_START_FAILED = 4006,     /* a pool worker could not start (program missing, 32-bit code not runnable here, not ready within startup_time_limit, a READ_RAW_DATA filter in a worker pool, its identity could not be logged on or has no stored password) */
  IH_EV_POOL_PROTOCOL = 4007,         /* the service and a worker disagree on the relay protocol, or a relay message could not be handled (malformed, out of memory) */
  IH_EV_POOL_SHADOW_COPY = 4008,      /* a worker could not make or use a shadow copy of a DLL, or a DLL changed on disk and the pool recycles */
};

enum ih_log_level { IH_LOG_ERROR, IH_LOG_WARNING, IH_LOG_INFO, IH_LOG_DEBUG };

#endif
