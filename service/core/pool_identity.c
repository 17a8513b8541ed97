/* A worker pool's identity, classified (pool_identity.h). */
#include "core/pool_identity.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/ih_str.h"

static bool ieq_n(const char *a, size_t n, const char *b)
{
  return ih_slice_ieq_cstr((ih_slice){ a, n }, b);
}

static enum ih_identity_kind invalid(ih_identity *out, const char *reason)
{
  out->kind = IH_IDENTITY_INVALID;
  out->domain[0] = out->user[0] = '\0';
  out->reason = reason;
  return out->kind;
}

/* Characters a user logon name cannot hold ("User Name Formats" and the
 * Local Users and Groups rules: " / \ [ ] : ; | = , + * ? < > @), and the
 * ones a NetBIOS or DNS domain name cannot (\ / : * ? " < > | and '@'). */
static const char *user_forbidden = "\"/\\[]:;|=,+*?<>@";
static const char *domain_forbidden = "\\/:*?\"<>|@";

/* NULL when name[0..n) is a usable part; the reason otherwise. */
static const char *check_part(const char *name, size_t n, const char *forbidden, const char *empty_reason)
{
  if (n == 0)
    return empty_reason;
  if (n > IH_IDENTITY_NAME_MAX)
    return "a user or domain name is at most 256 characters";
  if (name[0] == ' ' || name[n - 1] == ' ')
    return "a user or domain name cannot begin or end with a space";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c < 0x20 || c == 0x7f)
      return "a control character cannot be part of an account name";
    if (strchr(forbidden, c))
      return forbidden == user_forbidden
                 ? "a user name cannot contain \" / \\ [ ] : ; | = , + * ? < > @"
                 : "a domain name cannot contain \\ / : * ? \" < > | @";
  }
  return NULL;
}

static void copy_part(char *dst, const char *src, size_t n)
{
  memcpy(dst, src, n);
  dst[n] = '\0';
}

enum ih_identity_kind ih_identity_parse(const char *text, const char *pool_name, ih_identity *out)
{
  memset(out, 0, sizeof *out);
  out->kind = IH_IDENTITY_INHERIT;
  if (!text)
    text = "";
  if (!pool_name)
    pool_name = "";
  size_t n = strlen(text);
  if (n == 0)
    return out->kind;
  if (text[0] == ' ' || text[0] == '\t' || text[n - 1] == ' ' || text[n - 1] == '\t')
    return invalid(out, "an identity cannot begin or end with a space");

  /* The well-known names, alone or with their authority as Windows writes them. */
  const char *bare = text;
  size_t bare_n = n;
  static const char nt_authority[] = "NT AUTHORITY\\";
  static const char iis_apppool[] = "IIS APPPOOL\\";
  bool in_nt_authority = n > sizeof nt_authority - 1 && ieq_n(text, sizeof nt_authority - 1, nt_authority);
  if (in_nt_authority) {
    bare += sizeof nt_authority - 1;
    bare_n -= sizeof nt_authority - 1;
  }
  if (ieq_n(bare, bare_n, in_nt_authority ? "SYSTEM" : "LocalSystem"))
    return out->kind;
  if (ieq_n(bare, bare_n, "LocalService") || ieq_n(bare, bare_n, "NetworkService")) {
    out->kind = IH_IDENTITY_BUILTIN;
    snprintf(out->domain, sizeof out->domain, "NT AUTHORITY");
    snprintf(out->user, sizeof out->user, "%s", ieq_n(bare, bare_n, "LocalService") ? "LocalService" : "NetworkService");
    return out->kind;
  }
  if (in_nt_authority)
    return invalid(out, "NT AUTHORITY\\ is followed by SYSTEM, LocalService or NetworkService");
  bool in_apppool = n > sizeof iis_apppool - 1 && ieq_n(text, sizeof iis_apppool - 1, iis_apppool);
  if (ieq_n(text, n, "ApplicationPoolIdentity") ||
      (in_apppool && ieq_n(text + sizeof iis_apppool - 1, n - (sizeof iis_apppool - 1), pool_name))) {
    /* IIS's virtual account is named after its pool: IIS AppPool\<pool>. */
    size_t pn = strlen(pool_name);
    if (pn == 0 || pn > IH_IDENTITY_NAME_MAX)
      return invalid(out, "ApplicationPoolIdentity needs a pool name of 1 to 256 characters");
    out->kind = IH_IDENTITY_VIRTUAL;
    snprintf(out->domain, sizeof out->domain, "IIS APPPOOL");
    copy_part(out->user, pool_name, pn);
    return out->kind;
  }
  if (in_apppool)
    return invalid(out, "a pool's virtual account is IIS AppPool\\ followed by its own name (or write "
                        "ApplicationPoolIdentity)");

  /* A user: DOMAIN\user, .\user, or user@domain. */
  const char *backslash = strchr(text, '\\');
  const char *at = strchr(text, '@');
  const char *reason;
  if (backslash) {
    if (strchr(backslash + 1, '\\'))
      return invalid(out, "an account name has at most one '\\' (DOMAIN\\user)");
    size_t dn = (size_t)(backslash - text), un = n - dn - 1;
    if ((reason = check_part(text, dn, domain_forbidden, "the domain before '\\' is missing (DOMAIN\\user, "
                                                         "or .\\user for this computer)")) ||
        (reason = check_part(backslash + 1, un, user_forbidden, "the user after '\\' is missing (DOMAIN\\user)")))
      return invalid(out, reason);
    out->kind = IH_IDENTITY_USER;
    copy_part(out->domain, text, dn);
    copy_part(out->user, backslash + 1, un);
    return out->kind;
  }
  if (at) {
    if (strchr(at + 1, '@'))
      return invalid(out, "a user principal name has one '@' (user@domain)");
    size_t un = (size_t)(at - text), dn = n - un - 1;
    if ((reason = check_part(text, un, user_forbidden, "the user before '@' is missing (user@domain)")) ||
        (reason = check_part(at + 1, dn, domain_forbidden, "the domain after '@' is missing (user@domain)")))
      return invalid(out, reason);
    if (n > IH_IDENTITY_NAME_MAX)
      return invalid(out, "a user principal name is at most 256 characters");
    /* LogonUser takes a UPN whole, with no domain. */
    out->kind = IH_IDENTITY_USER;
    copy_part(out->user, text, n);
    return out->kind;
  }
  return invalid(out, "not LocalSystem, LocalService, NetworkService or ApplicationPoolIdentity, and a user "
                      "account is written DOMAIN\\user, .\\user or user@domain");
}

const char *ih_identity_kind_name(enum ih_identity_kind kind)
{
  switch (kind) {
  case IH_IDENTITY_INHERIT: return "inherit";
  case IH_IDENTITY_BUILTIN: return "builtin";
  case IH_IDENTITY_VIRTUAL: return "virtual";
  case IH_IDENTITY_USER: return "user";
  case IH_IDENTITY_INVALID: break;
  }
  return "invalid";
}
