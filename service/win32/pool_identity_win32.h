/* Logging on as a worker pool's identity (docs/pools.md, Identity), and the
 * pool passwords kept as LSA secrets (`isapihost pool-password`).
 *
 * core/pool_identity.h says which account an identity names; this does the
 * Windows part: a token for a built-in account (LogonUser,
 * LOGON32_LOGON_SERVICE), for the pool's virtual account IIS AppPool\<pool>
 * (RtlCreateVirtualAccountSid, LsaManageSidNameMapping, LogonUserExExW with
 * LOGON32_PROVIDER_VIRTUAL), or for a user with the password stored for the
 * pool (LsaRetrievePrivateData, LogonUser with LOGON32_LOGON_BATCH, IIS's
 * default logonType). All of them need the service to hold SeTcbPrivilege,
 * which LocalSystem has. */
#ifndef IH_POOL_IDENTITY_WIN32_H
#define IH_POOL_IDENTITY_WIN32_H

#include <windows.h>
#include <stddef.h>

#include "core/cmdline.h"
#include "core/pool_identity.h"

enum ih_pool_logon {
  IH_POOL_LOGON_OK,    /* *token is the account's primary token: CloseHandle it */
  IH_POOL_LOGON_RETRY, /* failed (a function missing, a wrong password, a right not held): back off, try again */
  IH_POOL_LOGON_STOP,  /* cannot work until the operator acts (no password stored): the pool stops */
};

/* A token for id (BUILTIN, VIRTUAL or USER) of the pool named pool. On
 * failure why holds one clause for the log ("cannot log on as CORP\svc:
 * LogonUser failed with Win32 error 1326 ..."). */
enum ih_pool_logon ih_pool_identity_logon(const char *pool, const ih_identity *id, HANDLE *token, char *why,
                                          size_t why_cap);

/* The SID of token's user as a string (S-1-5-82-...), for the channel's
 * DACL. FALSE when it cannot be read. */
BOOL ih_pool_token_user_sid(HANDLE token, char *out, size_t cap);

/* The LSA secret that keeps pool's password: L$IsapiHost_Pool_<pool>
 * ("L$": a local secret, readable by SYSTEM and administrators only, as the
 * SCM keeps service passwords). */
void ih_pool_secret_name(const char *pool, wchar_t *out, size_t cap);

/* `isapihost pool-password --pool NAME [--config FILE] [--clear]`: reads
 * the password from standard input (one line; not echoed on a console) and
 * stores it, or removes it. 0 done, 1 failed (one sentence on stderr), 2
 * an unusable configuration. */
int ih_pool_password_command(const ih_command *cmd, const char *config_path);

#endif
