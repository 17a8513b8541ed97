/* Unit tests for service/core/ih_str.c. */
#include "core/ih_str.h"
#include "ih_test.h"

static void test_compare(void)
{
  IH_TEST("compare");
  IH_CHECK(ih_slice_ieq_cstr(IH_SLICE_LIT("Content-Length"), "content-length"));
  IH_CHECK(!ih_slice_ieq_cstr(IH_SLICE_LIT("Content-Lengt"), "content-length"));
  IH_CHECK(ih_slice_eq(IH_SLICE_LIT("abc"), ih_slice_from_cstr("abc")));
  IH_CHECK(!ih_slice_eq(IH_SLICE_LIT("abc"), IH_SLICE_LIT("abd")));
}

static void test_lists(void)
{
  IH_TEST("lists");
  ih_slice s = IH_SLICE_LIT(" ,keep-alive ,  Upgrade,,close \t");
  ih_slice item;
  IH_CHECK(ih_slice_next_list_item(&s, &item));
  IH_EQ_MEM(item.p, item.n, "keep-alive", 10);
  IH_CHECK(ih_slice_next_list_item(&s, &item));
  IH_EQ_MEM(item.p, item.n, "Upgrade", 7);
  IH_CHECK(ih_slice_next_list_item(&s, &item));
  IH_EQ_MEM(item.p, item.n, "close", 5);
  IH_CHECK(!ih_slice_next_list_item(&s, &item));
  IH_CHECK(ih_slice_list_has_token(IH_SLICE_LIT("a, Close"), "close"));
  IH_CHECK(!ih_slice_list_has_token(IH_SLICE_LIT("closed"), "close"));
  IH_CHECK(ih_is_tchar('~') && !ih_is_tchar(' ') && !ih_is_tchar(':') && !ih_is_tchar(0));
}

int main(void)
{
  test_compare();
  test_lists();
  return ih_test_finish();
}
