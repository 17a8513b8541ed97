/* Win32 objects of a service-worker channel (worker_channel_win32.h). */
#include "worker_channel_win32.h"

#include <sddl.h>

#include <stdio.h>
#include <string.h>

#include "pool/channel.h"

static void names(const char *base, char *section, char *svc, char *wrk, size_t cap)
{
  snprintf(section, cap, "%s-mem", base);
  snprintf(svc, cap, "%s-svc", base);
  snprintf(wrk, cap, "%s-wrk", base);
}

/* About 50 us on this kind of machine; a yield now and then lets the
 * other side's thread run on a busy core. */
#define SPIN_LOOKS 2000

BOOL ih_worker_channel_spin(struct ih_chan *ch)
{
  for (int i = 0; i < SPIN_LOOKS; i++) {
    if (ih_chan_pending(ch))
      return TRUE;
    if (i % 256 == 255)
      SwitchToThread();
    else
      YieldProcessor();
  }
  return FALSE;
}

int ih_worker_channel_create(ih_worker_channel *ch, uint32_t ring_bytes, const char *grant)
{
  static volatile LONG serial;
  char section[128], svc[128], wrk[128];
  memset(ch, 0, sizeof *ch);
  /* A worker of another account opens the objects by name: their DACL
   * lets it (and only it, SYSTEM and the administrators). */
  SECURITY_ATTRIBUTES sa = { .nLength = sizeof sa }, *psa = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  if (grant) {
    char sddl[256]; /* a SID string is at most 184 characters (15 sub-authorities) */
    if (snprintf(sddl, sizeof sddl, "D:(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;%s)", grant) >= (int)sizeof sddl) {
      SetLastError(ERROR_INVALID_PARAMETER);
      return -1;
    }
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL))
      return -1;
    sa.lpSecurityDescriptor = sd;
    psa = &sa;
  }
  snprintf(ch->name, sizeof ch->name, "Local\\isapihost-%lu-%ld-%lu", GetCurrentProcessId(),
           InterlockedIncrement(&serial), GetTickCount());
  names(ch->name, section, svc, wrk, sizeof section);
  size_t bytes = ih_chan_shared_bytes(ring_bytes) + IH_WORKER_LAST_WORDS;
  ch->ring_bytes = ring_bytes;
  ch->section = CreateFileMappingA(INVALID_HANDLE_VALUE, psa, PAGE_READWRITE, 0, (DWORD)bytes, section);
  ch->wake_service = CreateEventA(psa, FALSE, FALSE, svc);
  ch->wake_worker = CreateEventA(psa, FALSE, FALSE, wrk);
  if (sd)
    LocalFree(sd);
  if (ch->section)
    ch->view = MapViewOfFile(ch->section, FILE_MAP_ALL_ACCESS, 0, 0, bytes);
  if (!ch->section || !ch->wake_service || !ch->wake_worker || !ch->view) {
    DWORD err = GetLastError();
    ih_worker_channel_close(ch);
    SetLastError(err);
    return -1;
  }
  ih_chan_shared_init(ch->view, ring_bytes);
  ch->last_words = (char *)ch->view + ih_chan_shared_bytes(ring_bytes);
  ch->last_words[0] = '\0';
  return 0;
}

int ih_worker_channel_open(ih_worker_channel *ch, const char *name, uint32_t ring_bytes)
{
  char section[128], svc[128], wrk[128];
  memset(ch, 0, sizeof *ch);
  snprintf(ch->name, sizeof ch->name, "%s", name);
  names(name, section, svc, wrk, sizeof section);
  size_t bytes = ih_chan_shared_bytes(ring_bytes) + IH_WORKER_LAST_WORDS;
  ch->ring_bytes = ring_bytes;
  ch->section = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, section);
  ch->wake_service = OpenEventA(EVENT_MODIFY_STATE | SYNCHRONIZE, FALSE, svc);
  ch->wake_worker = OpenEventA(EVENT_MODIFY_STATE | SYNCHRONIZE, FALSE, wrk);
  if (ch->section)
    ch->view = MapViewOfFile(ch->section, FILE_MAP_ALL_ACCESS, 0, 0, bytes);
  if (!ch->section || !ch->wake_service || !ch->wake_worker || !ch->view ||
      !ih_chan_shared_valid(ch->view, bytes - IH_WORKER_LAST_WORDS, ring_bytes)) {
    DWORD err = GetLastError();
    ih_worker_channel_close(ch);
    SetLastError(err ? err : ERROR_INVALID_DATA);
    return -1;
  }
  ch->last_words = (char *)ch->view + ih_chan_shared_bytes(ring_bytes);
  return 0;
}

void ih_worker_channel_close(ih_worker_channel *ch)
{
  if (ch->view)
    UnmapViewOfFile(ch->view);
  if (ch->section)
    CloseHandle(ch->section);
  if (ch->wake_service)
    CloseHandle(ch->wake_service);
  if (ch->wake_worker)
    CloseHandle(ch->wake_worker);
  memset(ch, 0, sizeof *ch);
}
