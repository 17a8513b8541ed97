/* Unit tests for service/core/ip_cidr.c: strict address parsing, RFC 5952
 * formatting (the RFC's own examples), address lists with their errors,
 * host-bit masking, and matching (IPv4-mapped IPv6 included). */
#include "core/ip_cidr.h"
#include "ih_test.h"

#include <string.h>

static ih_slice S(const char *s) { return ih_slice_from_cstr(s); }

/* parse then format: "" when the text is refused */
static const char *canon(const char *text)
{
  static char buf[IH_IP_TEXT_MAX];
  ih_ip_addr a;
  if (!ih_ip_parse(S(text), &a))
    return "";
  ih_ip_format(&a, buf, sizeof buf);
  return buf;
}

static void test_ipv4(void)
{
  IH_TEST("IPv4: dotted quad only, no leading zeros");
  IH_EQ_STR(canon("0.0.0.0"), "0.0.0.0");
  IH_EQ_STR(canon("10.1.2.3"), "10.1.2.3");
  IH_EQ_STR(canon("255.255.255.255"), "255.255.255.255");
  IH_EQ_STR(canon("192.168.0.100"), "192.168.0.100");
  static const char *const bad[] = {
    "", "1", "10.1", "10.1.2", "10.0.0.0.1", "256.1.1.1", "1.1.1.256", "010.1.1.1", "1.01.1.1",
    "1.1.1.00", "0x0a.0.0.1", "1.1.1.1 ", " 1.1.1.1", "1..1.1", "1.1.1.", ".1.1.1", "1.1.1.1a",
    "1000.1.1.1", "1.1.1.-1", "1.1.1.+1", "1.2.3.4/8", "1.2.3.4:80",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (!IH_EQ_STR(canon(bad[i]), ""))
      ih_test_note("accepted \"%s\"", bad[i]);
  ih_ip_addr a;
  IH_CHECK(ih_ip_parse(S("1.2.3.4"), &a) && a.family == 4);
  IH_CHECK(memcmp(a.bytes, "\x01\x02\x03\x04", 4) == 0);
}

static void test_ipv6(void)
{
  IH_TEST("IPv6: RFC 4291 2.2 forms in, RFC 5952 canonical form out");
  static const struct {
    const char *in, *out;
  } v[] = {
    /* RFC 5952 section 2 examples all mean 2001:db8::aaaa:0:0:1 */
    { "2001:db8:0:0:aaaa::1", "2001:db8::aaaa:0:0:1" },
    { "2001:0db8:0:0:aaaa:0:0:1", "2001:db8::aaaa:0:0:1" },
    { "2001:db8::aaaa:0:0:1", "2001:db8::aaaa:0:0:1" },
    { "2001:DB8::AAAA:0:0:1", "2001:db8::aaaa:0:0:1" },
    /* 4.1 leading zeros, 4.2.1 longest run, 4.2.2 not a single group, 4.2.3 first of equal runs */
    { "2001:0db8::0001", "2001:db8::1" },
    { "2001:db8:0:0:0:0:2:1", "2001:db8::2:1" },
    { "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
    { "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },
    { "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
    { "::", "::" },
    { "::1", "::1" },
    { "1::", "1::" },
    { "0:0:0:0:0:0:0:0", "::" },
    { "1:0:0:0:0:0:0:0", "1::" },
    { "0:0:0:0:0:0:0:1", "::1" },
    { "fe80::1:2", "fe80::1:2" },
    { "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0" },
    { "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8" },
    { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
    /* 5: IPv4-mapped keeps its dotted quad; other embedded IPv4 is hex */
    { "::ffff:10.1.2.3", "::ffff:10.1.2.3" },
    { "::FFFF:0a01:0203", "::ffff:10.1.2.3" },
    { "0:0:0:0:0:ffff:192.0.2.1", "::ffff:192.0.2.1" },
    { "::192.0.2.1", "::c000:201" },
    { "64:ff9b::192.0.2.33", "64:ff9b::c000:221" },
    { "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304" },
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (!IH_EQ_STR(canon(v[i].in), v[i].out))
      ih_test_note("input \"%s\"", v[i].in);
  static const char *const bad[] = {
    ":", ":::", "1:::2", "1::2::3", ":1::2", "1::2:", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::", "g::", "fe80::1%eth0", "[::1]",
    "::1.2.3", "::1.2.3.4.5", "::010.1.2.3", "1.2.3.4::", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4",
    "::ffff:1.2.3.4/96", " ::1", "::1 ", "1:2:3:4:5:6:7:8:",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (!IH_EQ_STR(canon(bad[i]), ""))
      ih_test_note("accepted \"%s\"", bad[i]);

  IH_TEST("ih_ip_format: the longest text fits IH_IP_TEXT_MAX, a short buffer gets \"\"");
  ih_ip_addr a;
  char buf[IH_IP_TEXT_MAX];
  IH_CHECK(ih_ip_parse(S("1:2:3:4:5:6:7:8"), &a));
  IH_EQ_INT(ih_ip_format(&a, buf, sizeof buf), 15);
  IH_CHECK(ih_ip_parse(S("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), &a));
  IH_EQ_INT(ih_ip_format(&a, buf, 40), 39);
  IH_EQ_INT(ih_ip_format(&a, buf, 39), 0);
  IH_EQ_STR(buf, "");
  IH_CHECK(ih_ip_parse(S("1.2.3.4"), &a));
  IH_EQ_INT(ih_ip_format(&a, buf, 8), 7);
  IH_EQ_INT(ih_ip_format(&a, buf, 7), 0);
  IH_EQ_INT(ih_ip_format(&a, NULL, 0), 0);
}

static void test_list_parse(void)
{
  IH_TEST("list: commas and spaces separate; host bits masked and reported");
  ih_cidr items[8];
  ih_cidr_parse_info info;
  IH_EQ_INT(ih_cidr_list_parse(S("10.0.0.0/8, 192.168.1.5, ::1, fd00::/8"), items, 8, &info), IH_CIDR_OK);
  IH_EQ_INT(info.count, 4);
  IH_CHECK(!info.masked);
  IH_EQ_INT(items[0].prefix, 8);
  IH_EQ_INT(items[1].prefix, 32);
  IH_EQ_INT(items[2].prefix, 128);
  IH_EQ_INT(items[3].prefix, 8);
  IH_EQ_INT(items[3].net.family, 6);

  IH_EQ_INT(ih_cidr_list_parse(S("  ,, 1.2.3.4\t5.6.7.8 ,"), items, 8, &info), IH_CIDR_OK);
  IH_EQ_INT(info.count, 2);
  IH_EQ_INT(ih_cidr_list_parse(S(""), items, 8, &info), IH_CIDR_OK);
  IH_EQ_INT(info.count, 0);

  /* nginx set_real_ip_from: "low address bits of ... are meaningless" */
  const char *text = "1.1.1.1, 10.1.2.3/8, 2001:db8::1/32";
  IH_EQ_INT(ih_cidr_list_parse(S(text), items, 8, &info), IH_CIDR_OK);
  IH_CHECK(info.masked);
  IH_EQ_INT(info.masked_at, 9);
  IH_EQ_MEM(info.masked_item.p, info.masked_item.n, "10.1.2.3/8", 10);
  char buf[IH_IP_TEXT_MAX];
  ih_ip_format(&items[1].net, buf, sizeof buf);
  IH_EQ_STR(buf, "10.0.0.0");
  ih_ip_format(&items[2].net, buf, sizeof buf);
  IH_EQ_STR(buf, "2001:db8::");
  IH_EQ_INT(ih_cidr_list_parse(S("10.1.2.3/9"), items, 8, &info), IH_CIDR_OK);
  ih_ip_format(&items[0].net, buf, sizeof buf);
  IH_EQ_STR(buf, "10.0.0.0");
  IH_EQ_INT(ih_cidr_list_parse(S("10.255.2.3/9"), items, 8, &info), IH_CIDR_OK);
  ih_ip_format(&items[0].net, buf, sizeof buf);
  IH_EQ_STR(buf, "10.128.0.0");

  IH_TEST("list: a mapped entry of /96 or more is the IPv4 entry");
  IH_EQ_INT(ih_cidr_list_parse(S("::ffff:10.0.0.0/104"), items, 8, &info), IH_CIDR_OK);
  IH_EQ_INT(items[0].net.family, 4);
  IH_EQ_INT(items[0].prefix, 8);
  IH_EQ_INT(ih_cidr_list_parse(S("::ffff:0:0/80"), items, 8, &info), IH_CIDR_OK);
  IH_EQ_INT(items[0].net.family, 6);

  IH_TEST("list: each bad item named with its position and reason");
  static const struct {
    const char *text;
    enum ih_cidr_status st;
    size_t at;
    const char *item;
  } bad[] = {
    { "10.0.0.0/8, 10.1, ::1", IH_CIDR_BAD_ADDRESS, 12, "10.1" },
    { "010.0.0.0/8", IH_CIDR_BAD_ADDRESS, 0, "010.0.0.0/8" },
    { "1.2.3.4,host.example", IH_CIDR_BAD_ADDRESS, 8, "host.example" },
    { "/8", IH_CIDR_BAD_ADDRESS, 0, "/8" },
    { "1.2.3.4/", IH_CIDR_BAD_PREFIX, 0, "1.2.3.4/" },
    { "1.2.3.4/08", IH_CIDR_BAD_PREFIX, 0, "1.2.3.4/08" },
    { "1.2.3.4/x", IH_CIDR_BAD_PREFIX, 0, "1.2.3.4/x" },
    { "1.2.3.4/-1", IH_CIDR_BAD_PREFIX, 0, "1.2.3.4/-1" },
    { "1.2.3.4/8/8", IH_CIDR_BAD_PREFIX, 0, "1.2.3.4/8/8" },
    { "1.2.3.4/1000", IH_CIDR_BAD_PREFIX, 0, "1.2.3.4/1000" },
    { "1.2.3.4/33", IH_CIDR_PREFIX_RANGE, 0, "1.2.3.4/33" },
    { " ::/129", IH_CIDR_PREFIX_RANGE, 1, "::/129" },
    { "[::1]", IH_CIDR_BAD_ADDRESS, 0, "[::1]" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    IH_EQ_INT(ih_cidr_list_parse(S(bad[i].text), items, 8, &info), bad[i].st);
    IH_EQ_INT(info.status, bad[i].st);
    IH_EQ_INT(info.error_at, bad[i].at);
    if (!IH_EQ_MEM(info.error_item.p, info.error_item.n, bad[i].item, strlen(bad[i].item)))
      ih_test_note("list \"%s\"", bad[i].text);
  }
  IH_CHECK(ih_cidr_list_parse(S("::/0, 0.0.0.0/0, ::/128"), items, 8, &info) == IH_CIDR_OK && info.count == 3);

  IH_TEST("list: too many for the array, and counting without one");
  IH_EQ_INT(ih_cidr_list_parse(S("1.1.1.1 2.2.2.2 3.3.3.3"), items, 2, &info), IH_CIDR_TOO_MANY);
  IH_EQ_INT(info.count, 2);
  IH_EQ_INT(info.error_at, 16);
  IH_EQ_INT(ih_cidr_list_parse(S("1.1.1.1 2.2.2.2 3.3.3.3"), NULL, 0, &info), IH_CIDR_OK);
  IH_EQ_INT(info.count, 3);
  IH_EQ_INT(ih_cidr_list_parse(S("1.1.1.1 2.2.2.x"), NULL, 0, &info), IH_CIDR_BAD_ADDRESS);
  for (int st = IH_CIDR_OK; st <= IH_CIDR_TOO_MANY; st++)
    IH_CHECK(strlen(ih_cidr_status_text((enum ih_cidr_status)st)) > 1);
}

static bool in_list(const char *list, const char *addr)
{
  ih_cidr items[16];
  ih_cidr_parse_info info;
  if (ih_cidr_list_parse(S(list), items, 16, &info) != IH_CIDR_OK) {
    ih_test_note("bad list \"%s\"", list);
    return false;
  }
  return ih_cidr_list_match_text(items, info.count, S(addr));
}

static void test_match(void)
{
  IH_TEST("match: prefixes at and across byte boundaries");
  const char *list = "10.0.0.0/8, 192.168.1.5, ::1, fd00::/8, 172.16.0.0/12, 2001:db8:1234::/47";
  IH_CHECK(in_list(list, "10.0.0.0"));
  IH_CHECK(in_list(list, "10.255.255.255"));
  IH_CHECK(!in_list(list, "11.0.0.0"));
  IH_CHECK(!in_list(list, "9.255.255.255"));
  IH_CHECK(in_list(list, "192.168.1.5"));
  IH_CHECK(!in_list(list, "192.168.1.6"));
  IH_CHECK(in_list(list, "172.16.0.1"));
  IH_CHECK(in_list(list, "172.31.255.255"));
  IH_CHECK(!in_list(list, "172.32.0.0"));
  IH_CHECK(!in_list(list, "172.15.255.255"));
  IH_CHECK(in_list(list, "::1"));
  IH_CHECK(in_list(list, "0:0:0:0:0:0:0:1"));
  IH_CHECK(!in_list(list, "::2"));
  IH_CHECK(in_list(list, "fd00::1"));
  IH_CHECK(in_list(list, "fdff:ffff::1"));
  IH_CHECK(!in_list(list, "fe00::1"));
  IH_CHECK(!in_list(list, "fc00::1"));
  IH_CHECK(in_list(list, "2001:db8:1234::1"));
  IH_CHECK(in_list(list, "2001:db8:1235:ffff::1"));
  IH_CHECK(!in_list(list, "2001:db8:1236::"));

  IH_TEST("match: IPv4-mapped IPv6 is its IPv4 address, on either side");
  IH_CHECK(in_list(list, "::ffff:10.1.2.3"));
  IH_CHECK(in_list(list, "::ffff:a01:203"));
  IH_CHECK(!in_list(list, "::ffff:11.1.2.3"));
  IH_CHECK(in_list("::ffff:10.0.0.0/104", "10.9.9.9"));
  IH_CHECK(in_list("::ffff:10.0.0.0/104", "::ffff:10.9.9.9"));
  IH_CHECK(!in_list("::ffff:10.0.0.0/104", "11.9.9.9"));
  /* IPv4-compatible (::a.b.c.d) is not mapped */
  IH_CHECK(!in_list(list, "::10.1.2.3"));
  /* "all IPv6" is not "all IPv4" */
  IH_CHECK(in_list("::/0", "2001:db8::1"));
  IH_CHECK(!in_list("::/0", "10.1.2.3"));
  IH_CHECK(!in_list("::/0", "::ffff:10.1.2.3"));
  IH_CHECK(in_list("0.0.0.0/0", "::ffff:10.1.2.3"));
  IH_CHECK(!in_list("0.0.0.0/0", "::1"));

  IH_TEST("match: no list, or text that is not an address");
  IH_CHECK(!in_list("", "10.1.2.3"));
  IH_CHECK(!in_list(list, "10.1.2"));
  IH_CHECK(!in_list(list, "010.1.2.3"));
  IH_CHECK(!in_list(list, "10.1.2.3:80"));
  IH_CHECK(!in_list(list, ""));
}

static void test_port_parse(void)
{
  IH_TEST("ports: 0-65535 in decimal; leading zeros only where the caller allows them");
  uint16_t p = 7;
  IH_CHECK(ih_port_parse(IH_SLICE_LIT("0"), false, &p) && p == 0);
  IH_CHECK(ih_port_parse(IH_SLICE_LIT("65535"), false, &p) && p == 65535);
  IH_CHECK(ih_port_parse(IH_SLICE_LIT("8080"), false, &p) && p == 8080);
  IH_CHECK(!ih_port_parse(IH_SLICE_LIT("08080"), false, &p) && p == 8080);
  IH_CHECK(ih_port_parse(IH_SLICE_LIT("08080"), true, &p) && p == 8080);
  IH_CHECK(!ih_port_parse(IH_SLICE_LIT("65536"), true, &p));
  IH_CHECK(!ih_port_parse(IH_SLICE_LIT("123456"), true, &p));
  IH_CHECK(!ih_port_parse(IH_SLICE_LIT(""), true, &p));
  IH_CHECK(!ih_port_parse(IH_SLICE_LIT("80 "), true, &p));
  IH_CHECK(!ih_port_parse(IH_SLICE_LIT("+80"), true, &p));
  IH_CHECK(!ih_port_parse(IH_SLICE_LIT("8o"), true, &p));
  IH_EQ_INT(p, 8080); /* untouched by every refusal */
}

int main(void)
{
  test_port_parse();
  test_ipv4();
  test_ipv6();
  test_list_parse();
  test_match();
  return ih_test_finish();
}
