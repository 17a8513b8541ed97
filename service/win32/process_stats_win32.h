/* Process figures for the status page: private bytes, handles, and the
 * extension pool's threads (see ih_process_stats in server/conn.h). */
#ifndef IH_PROCESS_STATS_WIN32_H
#define IH_PROCESS_STATS_WIN32_H

#include "server/conn.h"

void ih_win32_process_stats(ih_process_stats *out);

#endif
