/* Logging on as a pool's identity, and pool passwords (pool_identity_win32.h). */
#include "pool_identity_win32.h"

#include <ntsecapi.h>
#include <sddl.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/events.h"
#include "win32_util.h"

/* LogonUser's limit for a password (CREDUI_MAX_PASSWORD_LENGTH). */
#define PASSWORD_MAX 256

#define STATUS_OBJECT_NAME_NOT_FOUND_ ((NTSTATUS)0xC0000034L)

/* ---- names ---- */

static BOOL widen(const char *utf8, wchar_t *out, int cap)
{
  return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, out, cap) > 0;
}

static void init_lsa_string(LSA_UNICODE_STRING *s, wchar_t *text)
{
  size_t bytes = text ? wcslen(text) * sizeof(wchar_t) : 0;
  s->Buffer = text;
  s->Length = (USHORT)bytes;
  s->MaximumLength = (USHORT)(text ? bytes + sizeof(wchar_t) : 0);
}

void ih_pool_secret_name(const char *pool, wchar_t *out, size_t cap)
{
  static const wchar_t prefix[] = L"L$IsapiHost_Pool_";
  size_t n = wcslen(prefix);
  if (cap <= n) {
    if (cap)
      out[0] = L'\0';
    return;
  }
  memcpy(out, prefix, n * sizeof(wchar_t));
  /* pool names are ASCII letters, digits, '.', '_', '-' (config.c) */
  for (const char *p = pool; *p && n + 1 < cap; p++)
    out[n++] = (wchar_t)(unsigned char)*p;
  out[n] = L'\0';
}

static NTSTATUS open_policy(ACCESS_MASK access, LSA_HANDLE *policy)
{
  LSA_OBJECT_ATTRIBUTES attributes;
  memset(&attributes, 0, sizeof attributes);
  *policy = NULL;
  return LsaOpenPolicy(NULL, &attributes, access, policy);
}

/* Under Wine (ntdll exports wine_get_version). */
static BOOL under_wine(void)
{
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

/* ---- the password secret ---- */

/* The password stored for pool into out (PASSWORD_MAX + 1 characters);
 * the NTSTATUS of LsaOpenPolicy or LsaRetrievePrivateData. */
static NTSTATUS password_load(const char *pool, wchar_t *out, size_t cap)
{
  wchar_t key_text[128];
  ih_pool_secret_name(pool, key_text, sizeof key_text / sizeof key_text[0]);
  LSA_UNICODE_STRING key;
  init_lsa_string(&key, key_text);
  LSA_HANDLE policy;
  NTSTATUS st = open_policy(POLICY_GET_PRIVATE_INFORMATION, &policy);
  if (st != 0)
    return st;
  LSA_UNICODE_STRING *data = NULL;
  st = LsaRetrievePrivateData(policy, &key, &data);
  LsaClose(policy);
  if (st != 0)
    return st;
  size_t chars = data && data->Buffer ? data->Length / sizeof(wchar_t) : 0;
  if (chars >= cap)
    chars = cap - 1;
  if (chars)
    memcpy(out, data->Buffer, chars * sizeof(wchar_t));
  out[chars] = L'\0';
  if (data) {
    if (data->Buffer)
      SecureZeroMemory(data->Buffer, data->Length);
    LsaFreeMemory(data);
  }
  return 0;
}

/* Stores password (NULL: removes the secret); the NTSTATUS. */
static NTSTATUS password_store(const char *pool, wchar_t *password)
{
  wchar_t key_text[128];
  ih_pool_secret_name(pool, key_text, sizeof key_text / sizeof key_text[0]);
  LSA_UNICODE_STRING key, value;
  init_lsa_string(&key, key_text);
  init_lsa_string(&value, password);
  LSA_HANDLE policy;
  NTSTATUS st = open_policy(POLICY_CREATE_SECRET, &policy);
  if (st != 0)
    return st;
  st = LsaStorePrivateData(policy, &key, password ? &value : NULL);
  LsaClose(policy);
  return st;
}

/* ---- logging on ---- */

static const char *logon_hint(DWORD err)
{
  switch (err) {
  case ERROR_LOGON_FAILURE: return " (the user name or password is wrong: set it again with isapihost pool-password)";
  case ERROR_LOGON_TYPE_NOT_GRANTED: return " (the account lacks the logon right it needs)";
  case ERROR_PRIVILEGE_NOT_HELD: return " (the service must run as LocalSystem, which holds SeTcbPrivilege)";
  case ERROR_ACCOUNT_DISABLED: return " (the account is disabled)";
  case ERROR_PASSWORD_EXPIRED: return " (the password has expired)";
  case ERROR_ACCOUNT_LOCKED_OUT: return " (the account is locked out)";
  default: return "";
  }
}

/* LSA_SID_NAME_MAPPING_OPERATION_* of lsalookupi.h (Windows SDK; not in
 * MinGW's headers), for LsaManageSidNameMapping: Add is 0, and the output's
 * first member is the operation's error code. */
typedef struct sid_mapping_add_input {
  LSA_UNICODE_STRING domain_name, account_name;
  PSID sid;
  ULONG flags;
} sid_mapping_add_input;
typedef union sid_mapping_input {
  sid_mapping_add_input add;
  struct {
    LSA_UNICODE_STRING domain_name, account_name;
  } remove;
  struct {
    ULONG count;
    sid_mapping_add_input *mappings;
  } add_multiple;
} sid_mapping_input;
typedef struct sid_mapping_output {
  int error_code;
} sid_mapping_output;
enum { SID_MAPPING_ADD = 0 };
enum { SID_MAPPING_NAME_COLLISION = 2, SID_MAPPING_SID_COLLISION = 3 };

typedef NTSTATUS(NTAPI *lsa_manage_sid_name_mapping_fn)(int op, sid_mapping_input *in, sid_mapping_output **out);
typedef NTSTATUS(NTAPI *rtl_create_virtual_account_sid_fn)(const LSA_UNICODE_STRING *name, ULONG base_sub_authority,
                                                          PSID sid, PULONG sid_length);
typedef BOOL(WINAPI *logon_user_ex_ex_w_fn)(LPWSTR user, LPWSTR domain, LPWSTR password, DWORD logon_type,
                                            DWORD provider, PTOKEN_GROUPS groups, PHANDLE token, PSID *logon_sid,
                                            PVOID *profile, LPDWORD profile_length, PQUOTA_LIMITS quotas);

/* LsaManageSidNameMapping(Add, domain[\account] = sid): 0, or the NTSTATUS.
 * A name or SID already mapped is fine: IIS, or an earlier worker of this
 * pool, registered it. */
static NTSTATUS map_sid_name(lsa_manage_sid_name_mapping_fn manage, wchar_t *domain, wchar_t *account, PSID sid,
                             int *mapping_error)
{
  sid_mapping_input in;
  memset(&in, 0, sizeof in);
  init_lsa_string(&in.add.domain_name, domain);
  if (account)
    init_lsa_string(&in.add.account_name, account);
  in.add.sid = sid;
  sid_mapping_output *out = NULL;
  NTSTATUS st = manage(SID_MAPPING_ADD, &in, &out);
  *mapping_error = out ? out->error_code : -1;
  if (out)
    LsaFreeMemory(out);
  if (st != 0 && (*mapping_error == SID_MAPPING_NAME_COLLISION || *mapping_error == SID_MAPPING_SID_COLLISION))
    return 0;
  return st;
}

/* Grants SeServiceLogonRight to sid in the local policy: a virtual account
 * logs on as a service (LOGON32_LOGON_SERVICE) and needs that right like
 * any service account ("Log on as a service", User Rights Assignment). */
static NTSTATUS grant_service_logon(PSID sid)
{
  LSA_HANDLE policy;
  NTSTATUS st = open_policy(POLICY_CREATE_ACCOUNT | POLICY_LOOKUP_NAMES, &policy);
  if (st != 0)
    return st;
  wchar_t right_text[] = L"SeServiceLogonRight";
  LSA_UNICODE_STRING right;
  init_lsa_string(&right, right_text);
  st = LsaAddAccountRights(policy, sid, &right, 1);
  LsaClose(policy);
  return st;
}

/* The pool's virtual account, IIS AppPool\<pool>, as IIS 7.5+ makes it: the
 * SID S-1-5-82-<five sub-authorities ntdll derives from the name>, the
 * same that IIS gives a pool of that name (RtlCreateVirtualAccountSid with
 * SECURITY_APPPOOL_ID_BASE_RID 82), so existing ACLs for "IIS
 * AppPool\NAME" apply; the name made known to LSA (LsaManageSidNameMapping:
 * first the domain IIS APPPOOL = S-1-5-82, then the account); a service
 * logon through the virtual-account provider (LogonUserExExW,
 * LOGON32_PROVIDER_VIRTUAL). None of the three is in MinGW's import
 * libraries, and Wine has none of them: each is looked up, and a missing
 * one is said by name. */
static enum ih_pool_logon logon_virtual(const char *pool, HANDLE *token, char *why, size_t cap)
{
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll"), advapi = GetModuleHandleW(L"advapi32.dll");
  rtl_create_virtual_account_sid_fn create_sid =
      ntdll ? (rtl_create_virtual_account_sid_fn)(void *)GetProcAddress(ntdll, "RtlCreateVirtualAccountSid") : NULL;
  lsa_manage_sid_name_mapping_fn manage =
      advapi ? (lsa_manage_sid_name_mapping_fn)(void *)GetProcAddress(advapi, "LsaManageSidNameMapping") : NULL;
  logon_user_ex_ex_w_fn logon = advapi ? (logon_user_ex_ex_w_fn)(void *)GetProcAddress(advapi, "LogonUserExExW") : NULL;
  const char *missing = !create_sid ? "ntdll!RtlCreateVirtualAccountSid"
                        : !manage   ? "advapi32!LsaManageSidNameMapping"
                        : !logon    ? "advapi32!LogonUserExExW"
                                    : NULL;
  if (missing) {
    snprintf(why, cap, "cannot make the virtual account IIS AppPool\\%s: this Windows has no %s (Windows 7 / "
                       "Server 2008 R2 or later is needed)", pool, missing);
    return IH_POOL_LOGON_RETRY;
  }
  wchar_t name[IH_IDENTITY_NAME_MAX + 1], domain[] = L"IIS APPPOOL";
  if (!widen(pool, name, IH_IDENTITY_NAME_MAX + 1)) {
    snprintf(why, cap, "the pool name %s cannot be an account name", pool);
    return IH_POOL_LOGON_RETRY;
  }
  LSA_UNICODE_STRING name_string;
  init_lsa_string(&name_string, name);
  BYTE sid_buffer[SECURITY_MAX_SID_SIZE];
  ULONG sid_length = sizeof sid_buffer;
  PSID sid = (PSID)sid_buffer;
  NTSTATUS st = create_sid(&name_string, 82 /* SECURITY_APPPOOL_ID_BASE_RID */, sid, &sid_length);
  if (st != 0) {
    snprintf(why, cap, "RtlCreateVirtualAccountSid for IIS AppPool\\%s failed with NTSTATUS 0x%08lX", pool,
             (unsigned long)st);
    return IH_POOL_LOGON_RETRY;
  }
  SID_IDENTIFIER_AUTHORITY nt_authority = { SECURITY_NT_AUTHORITY };
  PSID domain_sid = NULL;
  if (!AllocateAndInitializeSid(&nt_authority, 1, 82, 0, 0, 0, 0, 0, 0, 0, &domain_sid)) {
    snprintf(why, cap, "AllocateAndInitializeSid(S-1-5-82) failed with Win32 error %lu", GetLastError());
    return IH_POOL_LOGON_RETRY;
  }
  int mapping_error = 0;
  st = map_sid_name(manage, domain, NULL, domain_sid, &mapping_error);
  FreeSid(domain_sid);
  if (st != 0) {
    snprintf(why, cap, "LsaManageSidNameMapping (add the domain IIS APPPOOL, S-1-5-82) failed with NTSTATUS "
                       "0x%08lX (mapping error %d)", (unsigned long)st, mapping_error);
    return IH_POOL_LOGON_RETRY;
  }
  st = map_sid_name(manage, domain, name, sid, &mapping_error);
  if (st != 0) {
    snprintf(why, cap, "LsaManageSidNameMapping (add IIS APPPOOL\\%s) failed with NTSTATUS 0x%08lX (mapping error "
                       "%d)", pool, (unsigned long)st, mapping_error);
    return IH_POOL_LOGON_RETRY;
  }
  BOOL ok = logon(name, domain, NULL, LOGON32_LOGON_SERVICE, LOGON32_PROVIDER_VIRTUAL, NULL, token, NULL, NULL,
                  NULL, NULL);
  DWORD err = ok ? 0 : GetLastError();
  if (!ok && err == ERROR_LOGON_TYPE_NOT_GRANTED && grant_service_logon(sid) == 0) {
    ok = logon(name, domain, NULL, LOGON32_LOGON_SERVICE, LOGON32_PROVIDER_VIRTUAL, NULL, token, NULL, NULL, NULL,
               NULL);
    err = ok ? 0 : GetLastError();
  }
  if (!ok) {
    snprintf(why, cap, "cannot log on as IIS AppPool\\%s: LogonUserExExW failed with Win32 error %lu%s", pool, err,
             logon_hint(err));
    return IH_POOL_LOGON_RETRY;
  }
  return IH_POOL_LOGON_OK;
}

static enum ih_pool_logon logon_user(const char *pool, const ih_identity *id, HANDLE *token, char *why, size_t cap)
{
  const char *shown = id->domain[0] ? id->domain : "";
  const char *sep = id->domain[0] ? "\\" : "";
  wchar_t user[IH_IDENTITY_NAME_MAX + 1], domain[IH_IDENTITY_NAME_MAX + 1];
  if (!widen(id->user, user, IH_IDENTITY_NAME_MAX + 1) ||
      (id->domain[0] && !widen(id->domain, domain, IH_IDENTITY_NAME_MAX + 1))) {
    snprintf(why, cap, "the identity %s%s%s is not valid UTF-8", shown, sep, id->user);
    return IH_POOL_LOGON_STOP;
  }
  wchar_t password[PASSWORD_MAX + 1];
  NTSTATUS st = password_load(pool, password, PASSWORD_MAX + 1);
  if (st == STATUS_OBJECT_NAME_NOT_FOUND_) {
    snprintf(why, cap, "no password is stored for identity %s%s%s; set it with isapihost pool-password --pool %s",
             shown, sep, id->user, pool);
    return IH_POOL_LOGON_STOP;
  }
  if (st != 0) {
    snprintf(why, cap, "cannot read the stored password of identity %s%s%s: LsaRetrievePrivateData failed with "
                       "NTSTATUS 0x%08lX (Win32 error %lu)",
             shown, sep, id->user, (unsigned long)st, LsaNtStatusToWinError(st));
    return IH_POOL_LOGON_RETRY;
  }
  /* LOGON32_LOGON_BATCH: IIS's default logonType for a pool's user
   * (processModel logonType="LogonBatch"); the account needs "Log on as a
   * batch job". A UPN goes with no domain (LogonUser). */
  BOOL ok = LogonUserW(user, id->domain[0] ? domain : NULL, password, LOGON32_LOGON_BATCH, LOGON32_PROVIDER_DEFAULT,
                       token);
  DWORD err = ok ? 0 : GetLastError();
  SecureZeroMemory(password, sizeof password);
  if (!ok) {
    snprintf(why, cap, "cannot log on as %s%s%s: LogonUser failed with Win32 error %lu%s", shown, sep, id->user, err,
             err == ERROR_LOGON_TYPE_NOT_GRANTED ? " (the account lacks \"Log on as a batch job\")" : logon_hint(err));
    return IH_POOL_LOGON_RETRY;
  }
  return IH_POOL_LOGON_OK;
}

enum ih_pool_logon ih_pool_identity_logon(const char *pool, const ih_identity *id, HANDLE *token, char *why,
                                          size_t why_cap)
{
  *token = NULL;
  why[0] = '\0';
  switch (id->kind) {
  case IH_IDENTITY_BUILTIN: {
    /* LOGON32_LOGON_SERVICE needs no password for these two (LogonUser). */
    const wchar_t *user = strcmp(id->user, "LocalService") == 0 ? L"LocalService" : L"NetworkService";
    if (LogonUserW(user, L"NT AUTHORITY", NULL, LOGON32_LOGON_SERVICE, LOGON32_PROVIDER_DEFAULT, token))
      return IH_POOL_LOGON_OK;
    DWORD err = GetLastError();
    snprintf(why, why_cap, "cannot log on as %s: LogonUser failed with Win32 error %lu%s", id->user, err,
             err == ERROR_PRIVILEGE_NOT_HELD || err == ERROR_ACCESS_DENIED || err == ERROR_LOGON_TYPE_NOT_GRANTED
                 ? " (the service must run as LocalSystem for this)"
                 : logon_hint(err));
    return IH_POOL_LOGON_RETRY;
  }
  case IH_IDENTITY_VIRTUAL: return logon_virtual(pool, token, why, why_cap);
  case IH_IDENTITY_USER: return logon_user(pool, id, token, why, why_cap);
  case IH_IDENTITY_INHERIT:
  case IH_IDENTITY_INVALID: break;
  }
  snprintf(why, why_cap, "identity kind %s has no logon", ih_identity_kind_name(id->kind));
  return IH_POOL_LOGON_STOP;
}

BOOL ih_pool_token_user_sid(HANDLE token, char *out, size_t cap)
{
  union {
    TOKEN_USER user;
    BYTE bytes[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  } info;
  DWORD got = 0;
  if (!GetTokenInformation(token, TokenUser, &info, sizeof info, &got))
    return FALSE;
  wchar_t *text = NULL;
  if (!ConvertSidToStringSidW(info.user.User.Sid, &text))
    return FALSE;
  BOOL ok = ih_win32_to_utf8(text, out, (int)cap);
  LocalFree(text);
  return ok;
}

/* ---- isapihost pool-password ---- */

/* One line of standard input into out (NUL-terminated, without its line
 * end): a console's without echo (SetConsoleMode without
 * ENABLE_ECHO_INPUT), otherwise the bytes up to the first line end, as
 * UTF-8. -1 when nothing could be read or the line is too long. */
static int read_password(wchar_t *out, size_t cap)
{
  HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
  DWORD mode = 0;
  size_t n = 0;
  if (in != INVALID_HANDLE_VALUE && in && GetConsoleMode(in, &mode)) {
    fputs("password: ", stderr);
    fflush(stderr);
    SetConsoleMode(in, (mode & ~(DWORD)ENABLE_ECHO_INPUT) | ENABLE_LINE_INPUT);
    wchar_t line[PASSWORD_MAX + 4];
    DWORD got = 0;
    BOOL ok = ReadConsoleW(in, line, PASSWORD_MAX + 3, &got, NULL);
    SetConsoleMode(in, mode);
    fputs("\n", stderr);
    while (ok && n < got && line[n] != L'\r' && line[n] != L'\n')
      n++;
    bool ended = ok && n < got;
    if (ok && ended && n < cap)
      memcpy(out, line, n * sizeof(wchar_t));
    SecureZeroMemory(line, sizeof line);
    if (!ok || !ended || n >= cap)
      return -1;
    out[n] = L'\0';
    return 0;
  }
  char bytes[PASSWORD_MAX * 4 + 4];
  size_t len = 0;
  for (;;) {
    char c;
    DWORD got = 0;
    if (!ReadFile(in, &c, 1, &got, NULL) || got == 0 || c == '\n')
      break;
    if (len + 1 >= sizeof bytes) {
      SecureZeroMemory(bytes, sizeof bytes);
      return -1;
    }
    bytes[len++] = c;
  }
  if (len && bytes[len - 1] == '\r')
    len--;
  bytes[len] = '\0';
  int chars = len ? MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, bytes, (int)len, out, (int)cap - 1) : 0;
  SecureZeroMemory(bytes, sizeof bytes);
  if (len && chars <= 0)
    return -1;
  out[chars] = L'\0';
  return 0;
}

static void say_status(const char *what, NTSTATUS st)
{
  fprintf(stderr, "isapihost pool-password: %s: NTSTATUS 0x%08lX (Win32 error %lu)%s\n", what, (unsigned long)st,
          LsaNtStatusToWinError(st),
          under_wine() ? "; Wine keeps no LSA secrets (under Wine a pool's workers run as the Wine user whatever "
                         "its identity)"
                       : "; the command must run as an administrator");
}

int ih_pool_password_command(const ih_command *cmd, const char *config_path)
{
  const char *pool = cmd->pool;
  if (cmd->clear) {
    NTSTATUS st = password_store(pool, NULL);
    if (st == 0) {
      printf("isapihost pool-password: the password stored for pool %s is removed\n", pool);
      return 0;
    }
    if (st == STATUS_OBJECT_NAME_NOT_FOUND_) {
      printf("isapihost pool-password: no password is stored for pool %s; nothing to remove\n", pool);
      return 0;
    }
    char what[200];
    snprintf(what, sizeof what, "cannot remove the password stored for pool %s: LsaStorePrivateData failed", pool);
    say_status(what, st);
    return 1;
  }
  ih_config *cfg = NULL;
  char err[1024];
  if (ih_config_load_file(config_path, &cfg, err, sizeof err) != 0) {
    fprintf(stderr, "isapihost pool-password: IH%04d cannot read the configuration: %s\n", IH_EV_CONFIG_INVALID, err);
    return 2;
  }
  const ih_pool_conf *pc = ih_config_pool_named(cfg, pool);
  ih_identity id;
  int rc = 0;
  if (!pc) {
    fprintf(stderr, "isapihost pool-password: no pool named %s in %s\n", pool, config_path);
    rc = 1;
  } else if (ih_identity_parse(pc->identity, pc->name, &id) != IH_IDENTITY_USER) {
    fprintf(stderr, "isapihost pool-password: pool %s has identity '%s', which takes no password (only a user "
                    "account, DOMAIN\\user, .\\user or user@domain, does)\n",
            pc->name, pc->identity ? pc->identity : "");
    rc = 1;
  }
  char name[128];
  snprintf(name, sizeof name, "%s", pc ? pc->name : pool);
  ih_config_free(cfg);
  if (rc)
    return rc;
  wchar_t password[PASSWORD_MAX + 1];
  if (read_password(password, PASSWORD_MAX + 1) != 0 || !password[0]) {
    SecureZeroMemory(password, sizeof password);
    fprintf(stderr, "isapihost pool-password: no password on standard input (one line of 1 to %d characters)\n",
            PASSWORD_MAX);
    return 1;
  }
  NTSTATUS st = password_store(name, password);
  /* Read back: success is said only for a password that is there. */
  wchar_t again[PASSWORD_MAX + 1];
  NTSTATUS read_st = st == 0 ? password_load(name, again, PASSWORD_MAX + 1) : st;
  bool same = read_st == 0 && wcscmp(again, password) == 0;
  SecureZeroMemory(password, sizeof password);
  SecureZeroMemory(again, sizeof again);
  if (st != 0 || read_st != 0) {
    char what[200];
    snprintf(what, sizeof what, "cannot store the password of pool %s: %s failed", name,
             st != 0 ? "LsaStorePrivateData" : "LsaRetrievePrivateData (reading it back)");
    say_status(what, st != 0 ? st : read_st);
    return 1;
  }
  if (!same) {
    fprintf(stderr, "isapihost pool-password: the password of pool %s did not read back as stored; it is not "
                    "usable\n", name);
    return 1;
  }
  printf("isapihost pool-password: the password of pool %s is stored (LSA secret L$IsapiHost_Pool_%s); its workers "
         "log on with it from their next start\n",
         name, name);
  return 0;
}
