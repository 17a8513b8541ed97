/* The access-log line of a request whose response has been sent, as IIS
 * writes it (ms525807), after the LOG filters have seen and perhaps
 * changed it (SF_NOTIFY_LOG), in the site's log_format (W3C, or JSON
 * lines with the same fields). Called with the connection's lock held. */
#ifndef IH_ACCESS_LOG_H
#define IH_ACCESS_LOG_H

#include "server/conn.h"

/* Writes the line for c->req if its site logs (platform->access_log). */
void ih_access_log_write(ih_conn *c);

#endif
