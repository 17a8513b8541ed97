/* What a worker pool's `identity` says (docs/pools.md, Identity): which kind
 * of account its workers run as, and the names the Win32 manager logs on
 * with. Portable and pure (no windows.h, no allocation), so the
 * configuration refuses a malformed identity with its file and line, and the
 * manager acts on the same answer (service/win32/pool_manager_win32.c).
 *
 * The kinds, as IIS's application pool identityType has them:
 *   INHERIT  "" or LocalSystem (NT AUTHORITY\SYSTEM): the service's own
 *            account; nothing is logged on.
 *   BUILTIN  LocalService, NetworkService (alone or after NT AUTHORITY\):
 *            LogonUser with LOGON32_LOGON_SERVICE, no password.
 *   VIRTUAL  ApplicationPoolIdentity, or IIS AppPool\<this pool's name>: the
 *            virtual account IIS 7.5+ gives a pool, S-1-5-82-<hash of the
 *            name>.
 *   USER     DOMAIN\user, .\user (this computer) or user@domain (a user
 *            principal name): a password, kept as an LSA secret, is needed.
 *   INVALID  anything else, with the reason.
 * Keywords compare case-insensitively, as Windows compares account names. */
#ifndef IH_POOL_IDENTITY_H
#define IH_POOL_IDENTITY_H

/* The longest user or domain name accepted: LogonUser takes a user
 * principal name of up to 256 characters (a SAM name is at most 20 and a
 * NetBIOS domain 15; 256 leaves DNS domains and UPNs room). */
#define IH_IDENTITY_NAME_MAX 256

enum ih_identity_kind {
  IH_IDENTITY_INHERIT,
  IH_IDENTITY_BUILTIN,
  IH_IDENTITY_VIRTUAL,
  IH_IDENTITY_USER,
  IH_IDENTITY_INVALID,
};

typedef struct ih_identity {
  enum ih_identity_kind kind;
  /* What LogonUser gets: BUILTIN "NT AUTHORITY" and "LocalService" or
   * "NetworkService" (canonical spelling); VIRTUAL "IIS APPPOOL" and the
   * pool's name; USER the domain ("." for this computer; "" for a UPN,
   * which LogonUser wants with no domain) and the user ("user@domain" for
   * a UPN). Empty otherwise. */
  char domain[IH_IDENTITY_NAME_MAX + 1];
  char user[IH_IDENTITY_NAME_MAX + 1];
  const char *reason; /* INVALID: why, one clause for "identity 'X': <reason>"; NULL otherwise */
} ih_identity;

/* Classifies text (NUL-terminated, as written in the file; NULL is "")
 * for the pool named pool_name. Returns out->kind. */
enum ih_identity_kind ih_identity_parse(const char *text, const char *pool_name, ih_identity *out);

/* "inherit", "builtin", "virtual", "user", "invalid". */
const char *ih_identity_kind_name(enum ih_identity_kind kind);

#endif
