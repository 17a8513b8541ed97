/* Test sample: an ISAPI extension that fails, on request, in each way a
 * worker process must survive (or be replaced after). The query string
 * picks what it does:
 *
 *   pid          200 "pid=<GetCurrentProcessId()>": which worker answered
 *   version      200 "version=<VERSION>" (-DVERSION="\"2\"" builds another)
 *   sleep=<ms>   sleeps that long, then 200 "slept"
 *   leak=<MB>    leaks that many MB, touched, then 200 "leaked=<total MB>"
 *   unhealthy    HSE_REQ_REPORT_UNHEALTHY("misbehave: asked to report
 *                itself unhealthy"), then 200 "reported unhealthy"
 *   av           an access violation on a thread of its own
 *   heap         corrupts the process heap, then allocates
 *   stack        unbounded recursion: a stack overflow
 *   exit         ExitProcess(3)
 *   abort        abort()
 *   hang         Sleep(INFINITE) in HttpExtensionProc
 *   deadlock     leaves the loader lock held for ever
 *
 * The last seven end, wedge or damage the process that runs them: run them
 * only in a worker process, never in a server a test still needs. In the
 * server's own process under Wine 8 (docs/testing.md): av, exit (3) and
 * abort (3) end the process; heap faults inside the heap code, which the
 * host's guard turns into a 500 (IH2006), and the heap's lock stays taken,
 * so the next allocation anywhere waits for ever; stack is caught by the
 * same guard (500, IH2006) but the thread has lost its stack guard page;
 * hang and deadlock never answer (deadlock also leaves the loader lock held,
 * so every later thread start or exit in the process blocks). Anything
 * else gets 400 with the list of modes. Built like any IIS extension (only
 * httpext.h), for x64 and x86, undecorated exports (--kill-at). */
#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef VERSION
#define VERSION "1"
#endif

#define EXPORT __declspec(dllexport)
#define MB (1024u * 1024u)

/* deadlock: held by the request thread while DllMain waits for it. */
static SRWLOCK deadlock_lock = SRWLOCK_INIT;
static volatile LONG deadlock_armed;
static volatile LONG leaked_mb;

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
  (void)instance;
  (void)reserved;
  /* Windows calls DllMain(DLL_THREAD_ATTACH) for every new thread with the
   * loader lock held. Waiting there for a lock that the thread creating it
   * holds is the deadlock "Dynamic-Link Library Best Practices" warns of
   * (learn.microsoft.com/windows/win32/dlls/dynamic-link-library-best-practices):
   * the loader lock is never released, so every later thread start or
   * exit, LoadLibrary and GetProcAddress in the process blocks too. */
  if (reason == DLL_THREAD_ATTACH && deadlock_armed) {
    AcquireSRWLockExclusive(&deadlock_lock);
    ReleaseSRWLockExclusive(&deadlock_lock);
  }
  return TRUE;
}

BOOL EXPORT WINAPI GetExtensionVersion(HSE_VERSION_INFO *ver)
{
  ver->dwExtensionVersion = MAKELONG(HSE_VERSION_MINOR, HSE_VERSION_MAJOR);
  snprintf(ver->lpszExtensionDesc, sizeof ver->lpszExtensionDesc, "IsapiHost sample: misbehave %s", VERSION);
  return TRUE;
}

static DWORD answer(EXTENSION_CONTROL_BLOCK *ecb, const char *status, const char *body)
{
  char headers[128];
  snprintf(headers, sizeof headers, "Content-Type: text/plain\r\nContent-Length: %u\r\n\r\n", (unsigned)strlen(body));
  HSE_SEND_HEADER_EX_INFO hi = { status, headers, (DWORD)strlen(status), (DWORD)strlen(headers), TRUE };
  if (!ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_SEND_RESPONSE_HEADER_EX, &hi, NULL, NULL))
    return HSE_STATUS_ERROR;
  DWORD n = (DWORD)strlen(body);
  if (n && !ecb->WriteClient(ecb->ConnID, (void *)body, &n, HSE_IO_SYNC))
    return HSE_STATUS_ERROR;
  return HSE_STATUS_SUCCESS_AND_KEEP_CONN;
}

/* av: a DLL's own background thread (a cache refresher, a COM apartment)
 * faults where no guard of the host's is, so nothing catches it but the
 * process's unhandled-exception path: the process ends. */
static int *volatile nowhere; /* NULL; volatile: the compiler cannot see the fault coming */

static DWORD WINAPI fault_thread(LPVOID arg)
{
  (void)arg;
  *nowhere = 1;
  return 0;
}

/* heap: a buffer overrun and a double free, the commonest C bugs in old
 * DLLs. Windows detects the damage at a later heap call and ends the
 * process (STATUS_HEAP_CORRUPTION, 0xc0000374); a heap that does not
 * check may run on, so the request says it survived. */
static void corrupt_heap(void)
{
  HANDLE heap = GetProcessHeap();
  char *volatile a = HeapAlloc(heap, 0, 64);
  char *volatile b = HeapAlloc(heap, 0, 64);
  if (!a || !b)
    return;
  HeapFree(heap, 0, a);
  HeapFree(heap, 0, a);    /* double free */
  memset(a, 0x5a, 64 + 64); /* through a's end into b's block header */
  for (int i = 0; i < 64; i++)
    HeapFree(heap, 0, HeapAlloc(heap, 0, 48 + (SIZE_T)i * 16));
  HeapFree(heap, 0, b);
}

/* stack: recursion with no base case the compiler can see (a parser fed a
 * deeply nested document). Each frame is 1 KB that the next call gets the
 * address of, so no optimisation can turn the recursion into a loop. */
static volatile int keep_going = 1;

static int recurse(volatile char *parent, int depth)
{
  volatile char frame[1024];
  frame[0] = (char)(parent ? parent[0] + 1 : 0);
  if (keep_going)
    recurse(frame, depth + 1);
  return frame[depth % (int)sizeof frame];
}

static DWORD WINAPI idle_thread(LPVOID arg)
{
  (void)arg;
  return 0;
}

/* deadlock: see DllMain. The request thread holds deadlock_lock and waits
 * for a thread whose DLL_THREAD_ATTACH waits for deadlock_lock while it
 * holds the loader lock: neither ever goes on. */
static void deadlock(void)
{
  AcquireSRWLockExclusive(&deadlock_lock);
  InterlockedExchange(&deadlock_armed, 1);
  HANDLE t = CreateThread(NULL, 0, idle_thread, NULL, 0, NULL);
  if (t) {
    WaitForSingleObject(t, INFINITE); /* DLL_THREAD_ATTACH runs before idle_thread: never returns */
    CloseHandle(t);
  }
  InterlockedExchange(&deadlock_armed, 0);
  ReleaseSRWLockExclusive(&deadlock_lock);
}

/* leak: memory that is allocated per request and never freed (a cache
 * without a bound); each page is written so it counts as committed. */
static unsigned leak(unsigned mb)
{
  for (unsigned i = 0; i < mb; i++) {
    char *p = HeapAlloc(GetProcessHeap(), 0, MB);
    if (!p)
      break;
    for (size_t off = 0; off < MB; off += 4096)
      p[off] = 1;
    InterlockedIncrement(&leaked_mb);
  }
  return (unsigned)leaked_mb;
}

/* The query's mode, and its value after '=' (or NULL). */
static int mode_is(const char *query, const char *mode, const char **value)
{
  size_t n = strlen(mode);
  if (strncmp(query, mode, n) != 0 || (query[n] != '\0' && query[n] != '='))
    return 0;
  *value = query[n] == '=' ? query + n + 1 : NULL;
  return 1;
}

DWORD EXPORT WINAPI HttpExtensionProc(EXTENSION_CONTROL_BLOCK *ecb)
{
  const char *q = ecb->lpszQueryString ? ecb->lpszQueryString : "", *v;
  char body[128];
  if (mode_is(q, "pid", &v)) {
    snprintf(body, sizeof body, "pid=%lu", (unsigned long)GetCurrentProcessId());
    return answer(ecb, "200 OK", body);
  }
  if (mode_is(q, "version", &v))
    return answer(ecb, "200 OK", "version=" VERSION);
  if (mode_is(q, "sleep", &v) && v) {
    Sleep((DWORD)strtoul(v, NULL, 10));
    return answer(ecb, "200 OK", "slept");
  }
  if (mode_is(q, "leak", &v) && v) {
    unsigned long mb = strtoul(v, NULL, 10);
    snprintf(body, sizeof body, "leaked=%u", leak(mb > 65536 ? 65536u : (unsigned)mb));
    return answer(ecb, "200 OK", body);
  }
  if (mode_is(q, "unhealthy", &v)) {
    /* ms524715: the buffer is the reason, a string the server logs */
    char reason[] = "misbehave: asked to report itself unhealthy";
    ecb->ServerSupportFunction(ecb->ConnID, HSE_REQ_REPORT_UNHEALTHY, reason, NULL, NULL);
    return answer(ecb, "200 OK", "reported unhealthy");
  }
  if (mode_is(q, "av", &v)) {
    HANDLE t = CreateThread(NULL, 0, fault_thread, NULL, 0, NULL);
    if (t) {
      WaitForSingleObject(t, INFINITE);
      CloseHandle(t);
    }
    return answer(ecb, "500 Internal Server Error", "av: the process survived a fault on its own thread");
  }
  if (mode_is(q, "heap", &v)) {
    corrupt_heap();
    return answer(ecb, "500 Internal Server Error", "heap: corrupted, the process survived");
  }
  if (mode_is(q, "stack", &v)) {
    snprintf(body, sizeof body, "stack: %d", recurse(NULL, 0));
    return answer(ecb, "500 Internal Server Error", body);
  }
  if (mode_is(q, "exit", &v))
    ExitProcess(3); /* a DLL that decides the process is beyond repair */
  if (mode_is(q, "abort", &v))
    abort(); /* a failed assert() in a release built with asserts on */
  if (mode_is(q, "hang", &v))
    Sleep(INFINITE); /* waiting for a back end that never answers */
  if (mode_is(q, "deadlock", &v)) {
    deadlock();
    return answer(ecb, "500 Internal Server Error", "deadlock: not reached");
  }
  return answer(ecb, "400 Bad Request",
                "modes: pid version sleep=<ms> leak=<MB> unhealthy av heap stack exit abort hang deadlock\n");
}
