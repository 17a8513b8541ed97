/* Process figures (see process_stats_win32.h).
 *
 * Private bytes: PROCESS_MEMORY_COUNTERS.PagefileUsage, the commit charge,
 * which is what Task Manager and perfmon call private bytes; Wine fills it
 * (PrivateUsage stays 0 there). Handles: GetProcessHandleCount; Wine 8
 * answers 0 (never true of a live process), so then the system handle list
 * is counted for our process id, which Wine does implement. */
#include <windows.h>
#include <winternl.h>
#include <psapi.h>
#include <stdlib.h>

#include "isapi/isapi_pool_win32.h"
#include "process_stats_win32.h"

#define SYSTEM_HANDLE_INFORMATION_CLASS 16
#define STATUS_INFO_LENGTH_MISMATCH_VALUE ((NTSTATUS)0xC0000004L)

/* The first field of a system handle entry starts with the owner's id, as
 * a USHORT on Windows (then a back-trace index) and as a ULONG on Wine;
 * comparing the low 16 bits works with both for our own id. */
typedef struct handle_entry {
  USHORT owner_low;
  USHORT owner_high_or_trace;
  UCHAR type;
  UCHAR flags;
  USHORT value;
  PVOID object;
  ULONG access;
} handle_entry;

typedef struct handle_list {
  ULONG count;
  handle_entry entries[1];
} handle_list;

static long long count_own_handles(void)
{
  ULONG size = 1u << 20;
  for (int attempt = 0; attempt < 6; attempt++, size *= 2) {
    handle_list *list = malloc(size);
    if (!list)
      return -1;
    ULONG needed = 0;
    NTSTATUS st = NtQuerySystemInformation((SYSTEM_INFORMATION_CLASS)SYSTEM_HANDLE_INFORMATION_CLASS, list, size,
                                           &needed);
    if (st == STATUS_INFO_LENGTH_MISMATCH_VALUE) {
      free(list);
      continue;
    }
    long long mine = -1;
    if (st >= 0) {
      USHORT me = (USHORT)GetCurrentProcessId();
      ULONG fits = (size - offsetof(handle_list, entries)) / sizeof(handle_entry);
      mine = 0;
      for (ULONG i = 0; i < list->count && i < fits; i++)
        if (list->entries[i].owner_low == me)
          mine++;
    }
    free(list);
    return mine;
  }
  return -1;
}

void ih_win32_process_stats(ih_process_stats *out)
{
  PROCESS_MEMORY_COUNTERS pmc = { .cb = sizeof pmc };
  if (GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc))
    out->private_bytes = (long long)pmc.PagefileUsage;
  DWORD n = 0;
  if (GetProcessHandleCount(GetCurrentProcess(), &n) && n > 0)
    out->handles = n;
  else
    out->handles = count_own_handles();
  unsigned threads, busy;
  ih_isapi_pool_counts(&threads, &busy);
  out->isapi_threads = threads;
  out->isapi_busy = busy;
}
