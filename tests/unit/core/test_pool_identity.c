/* Unit tests for service/core/pool_identity.c: every kind of a worker
 * pool's identity (docs/pools.md, Identity), the names the manager logs on
 * with, and a reason for each malformed one: missing parts, too many
 * separators, spaces at the ends, forbidden characters, names at and past
 * 256 characters, another pool's virtual account. */
#include <stdio.h>
#include <string.h>

#include "ih_test.h"
#include "core/pool_identity.h"

static void expect(const char *text, enum ih_identity_kind kind, const char *domain, const char *user)
{
  ih_identity id;
  enum ih_identity_kind got = ih_identity_parse(text, "Shop", &id);
  if (got != kind || strcmp(id.domain, domain) || strcmp(id.user, user))
    ih_test_note("identity '%s': %s [%s] [%s] (%s)", text ? text : "(null)", ih_identity_kind_name(got), id.domain,
                 id.user, id.reason ? id.reason : "");
  IH_EQ_INT(got, kind);
  IH_EQ_INT(id.kind, kind);
  IH_EQ_STR(id.domain, domain);
  IH_EQ_STR(id.user, user);
  IH_CHECK(id.reason == NULL);
}

/* Invalid, with a reason that contains want. */
static void expect_invalid(const char *text, const char *want)
{
  ih_identity id;
  IH_EQ_INT(ih_identity_parse(text, "Shop", &id), IH_IDENTITY_INVALID);
  IH_CHECK(id.reason != NULL);
  IH_EQ_STR(id.domain, "");
  IH_EQ_STR(id.user, "");
  if (id.reason && !strstr(id.reason, want))
    ih_test_note("identity '%s': reason '%s' lacks '%s'", text, id.reason, want);
  IH_CHECK(id.reason && strstr(id.reason, want));
}

static void test_kinds(void)
{
  IH_TEST("the service's own account, the built-in ones, the virtual one");
  expect(NULL, IH_IDENTITY_INHERIT, "", "");
  expect("", IH_IDENTITY_INHERIT, "", "");
  expect("LocalSystem", IH_IDENTITY_INHERIT, "", "");
  expect("localsystem", IH_IDENTITY_INHERIT, "", "");
  expect("NT AUTHORITY\\SYSTEM", IH_IDENTITY_INHERIT, "", "");
  expect("nt authority\\system", IH_IDENTITY_INHERIT, "", "");
  expect("LocalService", IH_IDENTITY_BUILTIN, "NT AUTHORITY", "LocalService");
  expect("LOCALSERVICE", IH_IDENTITY_BUILTIN, "NT AUTHORITY", "LocalService");
  expect("networkservice", IH_IDENTITY_BUILTIN, "NT AUTHORITY", "NetworkService");
  expect("NT AUTHORITY\\NetworkService", IH_IDENTITY_BUILTIN, "NT AUTHORITY", "NetworkService");
  expect("Nt Authority\\localservice", IH_IDENTITY_BUILTIN, "NT AUTHORITY", "LocalService");
  expect("ApplicationPoolIdentity", IH_IDENTITY_VIRTUAL, "IIS APPPOOL", "Shop");
  expect("applicationpoolidentity", IH_IDENTITY_VIRTUAL, "IIS APPPOOL", "Shop");
  expect("IIS AppPool\\Shop", IH_IDENTITY_VIRTUAL, "IIS APPPOOL", "Shop");
  expect("iis apppool\\SHOP", IH_IDENTITY_VIRTUAL, "IIS APPPOOL", "Shop"); /* the pool's own spelling */
  /* LocalSystem etc. are keywords only alone or after NT AUTHORITY\ */
  expect("CORP\\LocalService", IH_IDENTITY_USER, "CORP", "LocalService");
  expect(".\\LocalSystem", IH_IDENTITY_USER, ".", "LocalSystem");

  ih_identity id;
  IH_EQ_INT(ih_identity_parse("ApplicationPoolIdentity", NULL, &id), IH_IDENTITY_INVALID);
  IH_EQ_INT(ih_identity_parse("ApplicationPoolIdentity", "", &id), IH_IDENTITY_INVALID);
  IH_EQ_STR(ih_identity_kind_name(IH_IDENTITY_INHERIT), "inherit");
  IH_EQ_STR(ih_identity_kind_name(IH_IDENTITY_BUILTIN), "builtin");
  IH_EQ_STR(ih_identity_kind_name(IH_IDENTITY_VIRTUAL), "virtual");
  IH_EQ_STR(ih_identity_kind_name(IH_IDENTITY_USER), "user");
  IH_EQ_STR(ih_identity_kind_name(IH_IDENTITY_INVALID), "invalid");
}

static void test_users(void)
{
  IH_TEST("users: DOMAIN\\user, .\\user, user@domain");
  expect("CORP\\svc-shop", IH_IDENTITY_USER, "CORP", "svc-shop");
  expect(".\\appuser", IH_IDENTITY_USER, ".", "appuser");
  expect("WEB01\\App User", IH_IDENTITY_USER, "WEB01", "App User"); /* spaces inside a name are fine */
  expect("corp.example.com\\svc", IH_IDENTITY_USER, "corp.example.com", "svc");
  /* a UPN goes to LogonUser whole, with no domain */
  expect("svc-shop@corp.example.com", IH_IDENTITY_USER, "", "svc-shop@corp.example.com");
  expect("j.doe@CORP", IH_IDENTITY_USER, "", "j.doe@CORP");

  char name[2 * IH_IDENTITY_NAME_MAX + 8], user[IH_IDENTITY_NAME_MAX + 2];
  memset(user, 'u', IH_IDENTITY_NAME_MAX);
  user[IH_IDENTITY_NAME_MAX] = '\0';
  snprintf(name, sizeof name, "D\\%s", user);
  expect(name, IH_IDENTITY_USER, "D", user); /* 256: the longest */
  snprintf(name, sizeof name, "%s\\u", user);
  expect(name, IH_IDENTITY_USER, user, "u");
  snprintf(name, sizeof name, "%.*s@d", IH_IDENTITY_NAME_MAX - 2, user);
  expect(name, IH_IDENTITY_USER, "", name);
}

static void test_invalid(void)
{
  IH_TEST("malformed identities, each with its reason");
  expect_invalid("DOM\\", "the user after '\\' is missing");
  expect_invalid("\\user", "the domain before '\\' is missing");
  expect_invalid("\\", "the domain before '\\' is missing");
  expect_invalid("user@", "the domain after '@' is missing");
  expect_invalid("@corp.example.com", "the user before '@' is missing");
  expect_invalid("a@b@c", "one '@'");
  expect_invalid("A\\B\\c", "at most one '\\'");
  expect_invalid("CORP\\\\svc", "at most one '\\'");
  expect_invalid(" CORP\\svc", "cannot begin or end with a space");
  expect_invalid("CORP\\svc ", "cannot begin or end with a space");
  expect_invalid("\tLocalService", "cannot begin or end with a space");
  expect_invalid("CORP \\svc", "cannot begin or end with a space");
  expect_invalid("CORP\\ svc", "cannot begin or end with a space");
  expect_invalid("svc @corp", "cannot begin or end with a space");
  expect_invalid("someone", "DOMAIN\\user, .\\user or user@domain");
  expect_invalid("LocalServices", "DOMAIN\\user, .\\user or user@domain");
  expect_invalid("NT AUTHORITY\\Guest", "NT AUTHORITY\\ is followed by");
  expect_invalid("NT AUTHORITY\\", "DOMAIN\\user"); /* nothing after the authority: a user without a name */
  expect_invalid("IIS AppPool\\Other", "IIS AppPool\\ followed by its own name");
  expect_invalid("IIS AppPool\\", "the user after '\\' is missing");
  expect_invalid("CORP\\a:b", "a user name cannot contain");
  expect_invalid("CORP\\a*b", "a user name cannot contain");
  expect_invalid("CORP\\a@b", "a user name cannot contain");
  expect_invalid("a@b\\c", "a domain name cannot contain");
  expect_invalid("CO/RP\\svc", "a domain name cannot contain");
  expect_invalid("svc@co:rp", "a domain name cannot contain");
  expect_invalid("a<b@corp", "a user name cannot contain");
  expect_invalid("CORP\\a\x01z", "control character");
  expect_invalid("CORP\\a\x7fz", "control character");

  char name[2 * IH_IDENTITY_NAME_MAX + 8], part[IH_IDENTITY_NAME_MAX + 2];
  memset(part, 'x', IH_IDENTITY_NAME_MAX + 1);
  part[IH_IDENTITY_NAME_MAX + 1] = '\0';
  snprintf(name, sizeof name, "D\\%s", part); /* 257 */
  expect_invalid(name, "at most 256 characters");
  snprintf(name, sizeof name, "%s\\u", part);
  expect_invalid(name, "at most 256 characters");
  snprintf(name, sizeof name, "%.*s@d", IH_IDENTITY_NAME_MAX - 1, part); /* 257 in all */
  expect_invalid(name, "at most 256 characters");

  /* a pool name past 256 has no virtual account */
  ih_identity id;
  IH_EQ_INT(ih_identity_parse("ApplicationPoolIdentity", part, &id), IH_IDENTITY_INVALID);
}

int main(void)
{
  test_kinds();
  test_users();
  test_invalid();
  return ih_test_finish();
}
