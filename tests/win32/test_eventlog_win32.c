/* The Event Log part of the NT service (service/win32/eventlog_win32.c and
 * messages.mc), under Wine:
 * - the message table linked into this program (and into isapihost.exe)
 *   formats every event ID with its insertion string, by the full ID
 *   ih_eventlog_message_id gives, and has no message beyond those;
 * - the event source's registry key round trip;
 * - start / ih_log / stop reports through ReportEventW (a stub under Wine
 *   that returns TRUE: wine-notes §3) without failing, from many threads,
 *   and the sink is gone after stop. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "core/server_log.h"
#include "eventlog_win32.h"
#include "ih_test.h"

#define APP_LOG_KEY L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\"

/* FormatMessageW of a full message ID in mod with one insertion string;
 * trailing CR/LF removed. Returns the length, 0 if not found. */
static DWORD format(HMODULE mod, DWORD full_id, const wchar_t *insert, wchar_t *out, DWORD cap)
{
  DWORD_PTR args[1] = { (DWORD_PTR)insert };
  DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_HMODULE | FORMAT_MESSAGE_ARGUMENT_ARRAY, mod, full_id, 0, out, cap,
                           (va_list *)args);
  while (n > 0 && (out[n - 1] == L'\n' || out[n - 1] == L'\r'))
    out[--n] = L'\0';
  return n;
}

static void test_texts(HMODULE mod)
{
  IH_TEST("messages: fixed text plus the log message as %1");
  wchar_t buf[512];
  format(mod, ih_eventlog_message_id(IH_EV_LISTENING), L"listening on 127.0.0.1:8080", buf, 512);
  IH_CHECK(wcscmp(buf, L"IsapiHost is listening: listening on 127.0.0.1:8080") == 0);
  format(mod, ih_eventlog_message_id(IH_EV_FATAL), L"start-up failed", buf, 512);
  IH_CHECK(wcscmp(buf, L"IsapiHost cannot continue: start-up failed") == 0);
  format(mod, ih_eventlog_message_id(IH_EV_EXT_CRASHED), L"C:\\x\\ext.dll: 0xC0000005", buf, 512);
  IH_CHECK(wcscmp(buf, L"An ISAPI extension faulted: C:\\x\\ext.dll: 0xC0000005") == 0);
  format(mod, ih_eventlog_message_id(IH_EV_STOP_REQUESTED), L"stop requested (service stop)", buf, 512);
  IH_CHECK(wcscmp(buf, L"IsapiHost was asked to stop: stop requested (service stop)") == 0);

  IH_TEST("full IDs: the event number, and severity bits as messages.mc says");
  IH_EQ_INT(ih_eventlog_message_id(IH_EV_STARTING), 0x40000000u | 1001);   /* Informational */
  IH_EQ_INT(ih_eventlog_message_id(IH_EV_DRAIN_TIMEOUT), 0x80000000u | 1005); /* Warning */
  IH_EQ_INT(ih_eventlog_message_id(IH_EV_FATAL), 0xC0000000u | 1007);      /* Error */
  IH_EQ_INT(ih_eventlog_message_id((enum ih_event_id)4242), 0);
  IH_EQ_INT(ih_eventlog_message_id((enum ih_event_id)1000), 0);
}

/* Every ID from 1000 to 9999 that ih_eventlog_message_id knows formats with
 * its insertion string; the message table has those messages and no more. */
static void test_every_id(HMODULE mod, const char *which)
{
  ih_test_note("module: %s", which);
  IH_TEST("every known event ID resolves to its message, with %1 filled in");
  int known = 0;
  for (int id = 1000; id <= 9999; id++) {
    DWORD full = ih_eventlog_message_id((enum ih_event_id)id);
    if (!full)
      continue;
    known++;
    IH_EQ_INT(full & 0xFFFF, id);
    IH_EQ_INT((full >> 16) & 0x0FFF, 0); /* facility Application */
    IH_CHECK((full >> 30) != 0);         /* never "Success" */
    wchar_t insert[32], buf[512];
    swprintf(insert, 32, L"<insert %d>", id);
    DWORD n = format(mod, full, insert, buf, 512);
    if (!IH_CHECK(n > 0 && wcsstr(buf, insert) != NULL && wcslen(buf) > wcslen(insert) + 4))
      ih_test_note("IH%04d (0x%08lX): FormatMessageW %lu, error %lu", id, (unsigned long)full, (unsigned long)n,
                   GetLastError());
  }
  IH_CHECK(known >= 40);

  IH_TEST("the message table holds exactly those messages");
  HRSRC res = FindResourceW(mod, MAKEINTRESOURCEW(1), MAKEINTRESOURCEW(11) /* RT_MESSAGETABLE */);
  const MESSAGE_RESOURCE_DATA *table = res ? LockResource(LoadResource(mod, res)) : NULL;
  if (!IH_CHECK(table != NULL))
    return;
  int entries = 0;
  for (DWORD b = 0; b < table->NumberOfBlocks; b++)
    for (DWORD full = table->Blocks[b].LowId; full <= table->Blocks[b].HighId; full++) {
      entries++;
      if (!IH_EQ_INT(ih_eventlog_message_id((enum ih_event_id)(full & 0xFFFF)), full))
        ih_test_note("message 0x%08lX in the table", (unsigned long)full);
    }
  IH_EQ_INT(entries, known);
}

/* isapihost.exe is the EventMessageFile: its own table, loaded as Event
 * Viewer loads it (a data file). Found next to this program's build tree. */
static void test_isapihost_table(void)
{
  IH_TEST("isapihost.exe carries the message table");
  wchar_t path[MAX_PATH];
  DWORD n = GetModuleFileNameW(NULL, path, MAX_PATH);
  wchar_t *slash = n ? wcsrchr(path, L'\\') : NULL; /* ...\tests\win32\<this>.exe */
  for (int up = 0; slash && up < 2; up++) {
    *slash = L'\0';
    slash = wcsrchr(path, L'\\');
  }
  if (!IH_CHECK(slash != NULL))
    return;
  wcscpy(slash, L"\\service\\win32\\isapihost.exe");
  HMODULE exe = LoadLibraryExW(path, NULL, LOAD_LIBRARY_AS_DATAFILE);
  if (!IH_CHECK(exe != NULL)) {
    ih_test_note("LoadLibraryExW(isapihost.exe) failed: %lu", GetLastError());
    return;
  }
  wchar_t buf[256];
  format(exe, ih_eventlog_message_id(IH_EV_STARTING), L"IsapiHost 0.1.0 starting", buf, 256);
  IH_CHECK(wcscmp(buf, L"IsapiHost is starting: IsapiHost 0.1.0 starting") == 0);
  test_every_id(exe, "isapihost.exe");
  FreeLibrary(exe);
}

static void test_wanted(void)
{
  IH_TEST("what goes to the Event Log: ERROR, WARNING, INFO 1000-1099");
  IH_CHECK(ih_eventlog_wanted(IH_LOG_ERROR, IH_EV_EXT_CRASHED));
  IH_CHECK(ih_eventlog_wanted(IH_LOG_ERROR, IH_EV_FATAL));
  IH_CHECK(ih_eventlog_wanted(IH_LOG_WARNING, IH_EV_HEADER_TIMEOUT));
  IH_CHECK(ih_eventlog_wanted(IH_LOG_WARNING, IH_EV_IIS_COMPAT));
  IH_CHECK(ih_eventlog_wanted(IH_LOG_INFO, IH_EV_STARTING));
  IH_CHECK(ih_eventlog_wanted(IH_LOG_INFO, IH_EV_LISTENING));
  IH_CHECK(ih_eventlog_wanted(IH_LOG_INFO, IH_EV_STOPPING));
  IH_CHECK(ih_eventlog_wanted(IH_LOG_INFO, IH_EV_STOPPED));
  IH_CHECK(ih_eventlog_wanted(IH_LOG_INFO, IH_EV_STOP_REQUESTED));
  IH_CHECK(ih_eventlog_wanted(IH_LOG_INFO, (enum ih_event_id)1099)); /* a lifecycle ID added later */
  IH_CHECK(!ih_eventlog_wanted(IH_LOG_INFO, IH_EV_BAD_REQUEST));
  IH_CHECK(!ih_eventlog_wanted(IH_LOG_INFO, IH_EV_EXT_LOADED));
  IH_CHECK(!ih_eventlog_wanted(IH_LOG_INFO, IH_EV_IIS_COMPAT));
  IH_CHECK(!ih_eventlog_wanted(IH_LOG_INFO, (enum ih_event_id)1100));
  IH_CHECK(!ih_eventlog_wanted(IH_LOG_DEBUG, IH_EV_STARTING));
  IH_CHECK(!ih_eventlog_wanted(IH_LOG_DEBUG, IH_EV_IDLE_TIMEOUT));
}

static BOOL key_exists(const wchar_t *key)
{
  HKEY k;
  LSTATUS rc = RegOpenKeyExW(HKEY_LOCAL_MACHINE, key, 0, KEY_READ, &k);
  if (rc == ERROR_SUCCESS)
    RegCloseKey(k);
  return rc == ERROR_SUCCESS;
}

static void test_registration(const wchar_t *source, const wchar_t *key)
{
  char err[512];
  wchar_t exe[MAX_PATH];
  GetModuleFileNameW(NULL, exe, MAX_PATH);

  IH_TEST("register: the key with EventMessageFile (REG_EXPAND_SZ) and TypesSupported = 7");
  err[0] = '\0';
  IH_EQ_INT(ih_eventlog_register_source(source, exe, err, sizeof err), 0);
  IH_EQ_STR(err, "");
  wchar_t value[MAX_PATH + 64];
  DWORD type = 0, size = sizeof value;
  IH_EQ_INT(RegGetValueW(HKEY_LOCAL_MACHINE, key, L"EventMessageFile", RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND, &type,
                         value, &size),
            ERROR_SUCCESS);
  IH_EQ_INT(type, REG_EXPAND_SZ);
  IH_CHECK(wcscmp(value, exe) == 0);
  IH_EQ_INT(size, (wcslen(exe) + 1) * sizeof(wchar_t));
  DWORD types = 0;
  size = sizeof types;
  IH_EQ_INT(RegGetValueW(HKEY_LOCAL_MACHINE, key, L"TypesSupported", RRF_RT_REG_DWORD, &type, &types, &size),
            ERROR_SUCCESS);
  IH_EQ_INT(type, REG_DWORD);
  IH_EQ_INT(types, 7);

  IH_TEST("register again: the values are replaced, an environment path kept unexpanded");
  IH_EQ_INT(ih_eventlog_register_source(source, L"%SystemRoot%\\IsapiHost\\isapihost.exe", err, sizeof err), 0);
  size = sizeof value;
  IH_EQ_INT(RegGetValueW(HKEY_LOCAL_MACHINE, key, L"EventMessageFile", RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND, &type,
                         value, &size),
            ERROR_SUCCESS);
  IH_CHECK(wcscmp(value, L"%SystemRoot%\\IsapiHost\\isapihost.exe") == 0);

  IH_TEST("unregister removes the key; again is not an error");
  IH_EQ_INT(ih_eventlog_unregister_source(source, err, sizeof err), 0);
  IH_CHECK(!key_exists(key));
  IH_EQ_INT(ih_eventlog_unregister_source(source, err, sizeof err), 0);

  IH_TEST("bad names and a missing message file are refused with a reason; nothing is created");
  IH_EQ_INT(ih_eventlog_register_source(L"", exe, err, sizeof err), -1);
  IH_CHECK(strstr(err, "invalid event source name") != NULL);
  IH_EQ_INT(ih_eventlog_register_source(NULL, exe, err, sizeof err), -1);
  IH_EQ_INT(ih_eventlog_register_source(L"..\\System", exe, err, sizeof err), -1);
  IH_CHECK(strstr(err, "invalid event source name") != NULL);
  IH_EQ_INT(ih_eventlog_unregister_source(L"a\\b", err, sizeof err), -1);
  err[0] = '\0';
  IH_EQ_INT(ih_eventlog_register_source(source, L"", err, sizeof err), -1);
  IH_CHECK(strstr(err, "message file") != NULL);
  IH_CHECK(!key_exists(key));
  IH_EQ_INT(ih_eventlog_register_source(source, exe, NULL, 0), 0); /* no error buffer: fine */
  IH_EQ_INT(ih_eventlog_unregister_source(source, NULL, 0), 0);
}

static void test_report(const wchar_t *source)
{
  ih_eventlog_counts c;

  IH_TEST("start, log, stop: the wanted events reach ReportEventW, which succeeds");
  ih_log_set_sink(NULL, NULL); /* the event sink works without a line sink */
  IH_EQ_INT(ih_eventlog_start(source), 0);
  ih_log(IH_LOG_INFO, IH_EV_STARTING, "IsapiHost %s starting with %s", "0.1.0", "C:\\isapihost.ini");
  ih_log(IH_LOG_ERROR, IH_EV_LISTEN_FAILED, "cannot listen on 0.0.0.0:80 (Win32 error 10048)");
  ih_log(IH_LOG_WARNING, IH_EV_HEADER_TIMEOUT, "client 10.0.0.1 dropped");
  ih_log(IH_LOG_INFO, IH_EV_BAD_REQUEST, "not reported: INFO outside 1000-1099");
  ih_log(IH_LOG_DEBUG, IH_EV_IDLE_TIMEOUT, "not reported: DEBUG (and filtered)");
  ih_log(IH_LOG_ERROR, IH_EV_FILE_ERROR, "non-ASCII \xc3\xa9t\xc3\xa9 and invalid \xff UTF-8");
  ih_log(IH_LOG_ERROR, (enum ih_event_id)1999, "an ID without a message still goes");
  ih_eventlog_stop();
  ih_eventlog_get_counts(&c);
  IH_EQ_INT(c.reported, 5);
  IH_EQ_INT(c.failed, 0);
  IH_EQ_INT(c.dropped, 0);

  IH_TEST("after stop the sink is gone: nothing more is reported");
  ih_log(IH_LOG_ERROR, IH_EV_FATAL, "after stop");
  ih_eventlog_stop(); /* twice: harmless */
  ih_eventlog_get_counts(&c);
  IH_EQ_INT(c.reported, 5);

  IH_TEST("start twice is refused; start again after stop works");
  IH_EQ_INT(ih_eventlog_start(source), 0);
  IH_EQ_INT(ih_eventlog_start(source), -1);
  IH_EQ_INT(GetLastError(), ERROR_ALREADY_INITIALIZED);
  ih_log(IH_LOG_INFO, IH_EV_STOPPED, "stopped");
  ih_eventlog_stop();
  ih_eventlog_get_counts(&c);
  IH_EQ_INT(c.reported, 1);
  IH_EQ_INT(c.failed, 0);
}

#define THREADS 8
#define PER_THREAD 2000

static DWORD WINAPI flood(LPVOID arg)
{
  for (int i = 0; i < PER_THREAD; i++)
    ih_log(IH_LOG_ERROR, IH_EV_IO_ERROR, "thread %d event %d %s", (int)(INT_PTR)arg, i, i % 3 ? "" : "x");
  return 0;
}

static void test_threads(const wchar_t *source)
{
  IH_TEST("many threads logging at once: every event reported or counted as dropped");
  IH_EQ_INT(ih_eventlog_start(source), 0);
  HANDLE t[THREADS];
  for (int i = 0; i < THREADS; i++)
    t[i] = CreateThread(NULL, 0, flood, (LPVOID)(INT_PTR)i, 0, NULL);
  WaitForMultipleObjects(THREADS, t, TRUE, INFINITE);
  for (int i = 0; i < THREADS; i++)
    CloseHandle(t[i]);
  ih_eventlog_stop();
  ih_eventlog_counts c;
  ih_eventlog_get_counts(&c);
  IH_EQ_INT(c.reported + c.dropped, THREADS * PER_THREAD);
  IH_EQ_INT(c.failed, 0);
  ih_test_note("%lu reported, %lu dropped (queue full)", c.reported, c.dropped);

  IH_TEST("stop while threads are logging: no crash, nothing counted twice");
  IH_EQ_INT(ih_eventlog_start(source), 0);
  for (int i = 0; i < THREADS; i++)
    t[i] = CreateThread(NULL, 0, flood, (LPVOID)(INT_PTR)i, 0, NULL);
  Sleep(1);
  ih_eventlog_stop();
  WaitForMultipleObjects(THREADS, t, TRUE, INFINITE);
  for (int i = 0; i < THREADS; i++)
    CloseHandle(t[i]);
  ih_eventlog_get_counts(&c);
  IH_CHECK(c.reported + c.dropped <= THREADS * PER_THREAD);
  IH_EQ_INT(c.failed, 0);
}

int main(void)
{
  HMODULE self = GetModuleHandleW(NULL);
  test_texts(self);
  test_every_id(self, "this test program");
  test_isapihost_table();
  test_wanted();

  wchar_t source[64], key[160];
  swprintf(source, 64, L"IsapiHostTest%lu", GetCurrentProcessId());
  swprintf(key, 160, L"%ls%ls", APP_LOG_KEY, source);
  test_registration(source, key);

  IH_EQ_INT(ih_eventlog_register_source(source, L"C:\\isapihost.exe", NULL, 0), 0);
  test_report(source);
  test_threads(source);
  IH_EQ_INT(ih_eventlog_unregister_source(source, NULL, 0), 0);
  return ih_test_finish();
}
