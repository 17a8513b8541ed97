/* IIS detection values in the registry (see iis_compat_win32.h).
 *
 * Extensions and their set-up code look for IIS's version under
 * HKLM\SYSTEM\CurrentControlSet\Services\W3SVC\Parameters, MajorVersion and
 * MinorVersion (REG_DWORD), and some give up when they are missing.
 * Microsoft lists that key among the places applications probe and says to
 * add the values they look for ("Testing Applications for Compatibility with
 * IIS 6.0", Windows Server 2003 TechNet, "Version Detection
 * Incompatibility"). We write 6.0, the version ECB.dwVersion reports.
 *
 * WOW64: HKLM\SYSTEM is not in the redirected list of "Registry Keys
 * Affected by WOW64" (learn.microsoft.com, winprog64/shared-registry-keys:
 * only SOFTWARE, and some keys below it, are redirected; a key whose parent
 * is not listed is shared), so a 32-bit DLL under WOW64 reads the same
 * physical key as a 64-bit one. KEY_WOW64_64KEY ("Accessing an Alternate
 * Registry View") states that we mean the native view in both builds, so
 * the x86 and x64 servers would write the same place even if that changed. */
#include "iis_compat_win32.h"

#include <windows.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/server_log.h"

#define PARAMS_KEY L"SYSTEM\\CurrentControlSet\\Services\\W3SVC\\Parameters"
#define PARAMS_SHOWN "HKLM\\SYSTEM\\CurrentControlSet\\Services\\W3SVC\\Parameters"

static const struct {
  const wchar_t *name;
  const char *shown;
  DWORD value;
} wanted[] = {
  { L"MajorVersion", "MajorVersion", 6 },
  { L"MinorVersion", "MinorVersion", 0 },
};
#define WANTED_COUNT (sizeof wanted / sizeof wanted[0])

/* Whether the value exists, whatever its type or data: an existing value is
 * somebody else's (a real IIS, an administrator) and is never changed. */
static bool value_exists(HKEY key, const wchar_t *name)
{
  return RegQueryValueExW(key, name, NULL, NULL, NULL, NULL) != ERROR_FILE_NOT_FOUND;
}

/* "MajorVersion = 6, MinorVersion = 0" for the values flagged in which. */
static void list_values(const bool *which, bool with_data, char *out, size_t cap)
{
  size_t pos = 0;
  out[0] = '\0';
  for (size_t i = 0; i < WANTED_COUNT; i++) {
    if (!which[i])
      continue;
    int n = with_data ? snprintf(out + pos, cap - pos, "%s%s = %lu", pos ? ", " : "", wanted[i].shown,
                                 (unsigned long)wanted[i].value)
                      : snprintf(out + pos, cap - pos, "%s%s", pos ? ", " : "", wanted[i].shown);
    if (n < 0 || (size_t)n >= cap - pos)
      return;
    pos += (size_t)n;
  }
}

unsigned ih_iis_compat_init(void)
{
  bool missing[WANTED_COUNT];
  size_t missing_count = 0;
  HKEY key;
  LSTATUS rc = RegOpenKeyExW(HKEY_LOCAL_MACHINE, PARAMS_KEY, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key);
  for (size_t i = 0; i < WANTED_COUNT; i++) {
    missing[i] = rc != ERROR_SUCCESS || !value_exists(key, wanted[i].name);
    missing_count += missing[i];
  }
  if (rc == ERROR_SUCCESS)
    RegCloseKey(key);
  if (missing_count == 0) {
    ih_log(IH_LOG_DEBUG, IH_EV_IIS_COMPAT, "IIS version values present in %s; left as they are", PARAMS_SHOWN);
    return 0;
  }

  /* Creating under HKLM\SYSTEM needs an administrator (or the installer);
   * an unprivileged service account gets ERROR_ACCESS_DENIED here. */
  rc = RegCreateKeyExW(HKEY_LOCAL_MACHINE, PARAMS_KEY, 0, NULL, REG_OPTION_NON_VOLATILE,
                       KEY_QUERY_VALUE | KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, &key, NULL);
  bool created[WANTED_COUNT] = { false };
  size_t created_count = 0;
  if (rc == ERROR_SUCCESS) {
    for (size_t i = 0; i < WANTED_COUNT && rc == ERROR_SUCCESS; i++) {
      /* Checked again: another process (a second server, an installer) may
       * have written it since; its value wins. */
      if (!missing[i] || value_exists(key, wanted[i].name)) {
        missing[i] = false;
        continue;
      }
      rc = RegSetValueExW(key, wanted[i].name, 0, REG_DWORD, (const BYTE *)&wanted[i].value, sizeof(DWORD));
      if (rc == ERROR_SUCCESS) {
        created[i] = true;
        missing[i] = false;
        created_count++;
      }
    }
    RegCloseKey(key);
  }
  char names[128];
  if (created_count) {
    list_values(created, true, names, sizeof names);
    ih_log(IH_LOG_INFO, IH_EV_IIS_COMPAT,
           "IIS version values created in %s: %s (REG_DWORD, IIS 6.0), for extension DLLs that look for IIS there",
           PARAMS_SHOWN, names);
  }
  if (rc != ERROR_SUCCESS) {
    list_values(missing, false, names, sizeof names);
    ih_log(IH_LOG_WARNING, IH_EV_IIS_COMPAT,
           "IIS version values missing in %s and not created: %s (Win32 error %lu); extension DLLs that look for IIS "
           "there may refuse to work. The installer creates them, as does running isapihost once as Administrator",
           PARAMS_SHOWN, names, (unsigned long)rc);
  }
  unsigned mask = 0;
  for (size_t i = 0; i < WANTED_COUNT; i++)
    mask |= created[i] ? 1u << i : 0;
  return mask;
}

/* A key of ours that holds nothing any more: removed. */
static void remove_if_empty(const wchar_t *path)
{
  HKEY key;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, path, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key) != ERROR_SUCCESS)
    return;
  DWORD subkeys = 1, values = 1;
  RegQueryInfoKeyW(key, NULL, NULL, NULL, &subkeys, NULL, NULL, &values, NULL, NULL, NULL, NULL);
  RegCloseKey(key);
  if (subkeys == 0 && values == 0)
    RegDeleteKeyExW(HKEY_LOCAL_MACHINE, path, KEY_WOW64_64KEY, 0);
}

int ih_iis_compat_remove(unsigned created)
{
  HKEY key;
  LSTATUS rc = RegOpenKeyExW(HKEY_LOCAL_MACHINE, PARAMS_KEY, 0, KEY_QUERY_VALUE | KEY_SET_VALUE | KEY_WOW64_64KEY,
                             &key);
  if (rc == ERROR_FILE_NOT_FOUND)
    return 0;
  if (rc != ERROR_SUCCESS)
    return (int)rc;
  for (size_t i = 0; i < WANTED_COUNT; i++) {
    DWORD type = 0, data = 0, size = sizeof data;
    /* only what we wrote and nobody has changed since */
    if ((created & (1u << i)) &&
        RegQueryValueExW(key, wanted[i].name, NULL, &type, (BYTE *)&data, &size) == ERROR_SUCCESS &&
        type == REG_DWORD && data == wanted[i].value)
      RegDeleteValueW(key, wanted[i].name);
  }
  RegCloseKey(key);
  remove_if_empty(PARAMS_KEY);
  remove_if_empty(L"SYSTEM\\CurrentControlSet\\Services\\W3SVC");
  return 0;
}
