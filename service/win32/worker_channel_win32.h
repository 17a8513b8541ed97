/* The Win32 objects behind a service-worker channel (pool/channel.h): a
 * pagefile-backed section holding the two rings, and two auto-reset events,
 * the doorbells. Named (Local\isapihost-<service pid>-<n>-...), so the
 * worker opens them by the name on its command line and no handle is
 * inherited (inherited handles keep the service's console pipes open in
 * the worker, which hangs test runners: wine-notes). */
#ifndef IH_WORKER_CHANNEL_WIN32_H
#define IH_WORKER_CHANNEL_WIN32_H

#include <windows.h>
#include <stdint.h>

/* Bytes after the rings where a dying worker leaves its last words (what
 * crashed, where), NUL-terminated, for the service's log. */
#define IH_WORKER_LAST_WORDS 512

typedef struct ih_worker_channel {
  HANDLE section, wake_service, wake_worker;
  void *view;
  char *last_words; /* in the view, after the rings */
  uint32_t ring_bytes;
  char name[96];
} ih_worker_channel;

/* A reader about to sleep on its doorbell looks at its ring for a moment
 * first: under load the other side's next message often comes within
 * microseconds, and a sleep costs two wineserver round trips (the wait and
 * the other side's SetEvent) where a look costs none (wine-notes, worker
 * appendix: spin-then-wait). True when a message came. */
struct ih_chan;
BOOL ih_worker_channel_spin(struct ih_chan *ch);

/* The service: creates them under a fresh name. grant: the account the
 * worker runs as, in SDDL (its SID string, S-1-5-19 or S-1-5-82-..., or an
 * alias such as "LS"), that must be able to open them besides SYSTEM and
 * the administrators; NULL: the default security (the worker runs as the
 * service's own account). 0, or -1 (GetLastError). */
int ih_worker_channel_create(ih_worker_channel *ch, uint32_t ring_bytes, const char *grant);
/* The worker: opens the ones named name, checking the rings' layout. */
int ih_worker_channel_open(ih_worker_channel *ch, const char *name, uint32_t ring_bytes);
void ih_worker_channel_close(ih_worker_channel *ch);

#endif
