/* Unit tests for isapi/shared/isapi_dll_shadow.c: the shadow directory's
 * name and the pid read back from it (the stale sweep removes only what it
 * can read), and the change check of a DLL's original against its copy:
 * the same file is no change, a new stamp is reported only when seen twice
 * in a row, once, and a deleted original is no change. */
#include <string.h>

#include "ih_test.h"
#include "isapi/shared/isapi_dll_shadow.h"

static void test_dir_name(void)
{
  IH_TEST("directory name <pool>-<pid>");
  char out[64];
  IH_CHECK(ih_dll_shadow_dir_name("ShopApp", 1234, out, sizeof out));
  IH_EQ_STR(out, "ShopApp-1234");
  IH_CHECK(ih_dll_shadow_dir_name("a.b_c-d", 4294967295UL, out, sizeof out));
  IH_EQ_STR(out, "a.b_c-d-4294967295");
  IH_CHECK(ih_dll_shadow_dir_name("x\\y/z:*", 8, out, sizeof out)); /* never a path or a bad name */
  IH_EQ_STR(out, "x_y_z__-8");
  IH_CHECK(ih_dll_shadow_dir_name("", 8, out, sizeof out));
  IH_EQ_STR(out, "_-8");
  IH_CHECK(!ih_dll_shadow_dir_name("ShopApp", 1234, out, 12)); /* needs 13 with the NUL */
  IH_CHECK(ih_dll_shadow_dir_name("ShopApp", 1234, out, 13));
  IH_CHECK(!ih_dll_shadow_dir_name("ShopApp", 1234, out, 3));
}

static void test_dir_pid(void)
{
  IH_TEST("pid read back from a directory name");
  unsigned long pid = 0;
  IH_CHECK(ih_dll_shadow_dir_pid("ShopApp-1234", &pid));
  IH_EQ_INT(pid, 1234);
  IH_CHECK(ih_dll_shadow_dir_pid("a-b-c-d-77", &pid)); /* the last '-': pool names may have some */
  IH_EQ_INT(pid, 77);
  IH_CHECK(ih_dll_shadow_dir_pid("w-4294967295", &pid));
  IH_EQ_INT(pid, 4294967295LL);
  const char *not_ours[] = { ".", "..", "w", "w-", "-12", "w-12x", "w-0", "w-4294967296", "w-99999999999", "w-+1",
                             "w- 1" };
  for (size_t i = 0; i < sizeof not_ours / sizeof not_ours[0]; i++) {
    pid = 5;
    IH_CHECK(!ih_dll_shadow_dir_pid(not_ours[i], &pid));
    IH_EQ_INT(pid, 5);
  }
  char out[64];
  IH_CHECK(ih_dll_shadow_dir_name("pool-with-dashes", 99, out, sizeof out));
  IH_CHECK(ih_dll_shadow_dir_pid(out, &pid));
  IH_EQ_INT(pid, 99);
}

static ih_dll_stamp stamp(uint64_t t, uint64_t size) { return (ih_dll_stamp){ .write_time = t, .size = size }; }

static void test_watch(void)
{
  IH_TEST("unchanged original");
  ih_dll_watch w = { .copied = stamp(100, 5000) };
  for (int i = 0; i < 3; i++)
    IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(100, 5000)), IH_DLL_WATCH_SAME);

  IH_TEST("a new build: reported when seen twice the same, then never again");
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(200, 6000)), IH_DLL_WATCH_SETTLING);
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(200, 6000)), IH_DLL_WATCH_CHANGED);
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(200, 6000)), IH_DLL_WATCH_DONE);
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(300, 7000)), IH_DLL_WATCH_DONE);
  IH_EQ_INT(ih_dll_watch_check(&w, false, stamp(0, 0)), IH_DLL_WATCH_DONE);

  IH_TEST("only the time or only the size differs: a change");
  w = (ih_dll_watch){ .copied = stamp(100, 5000) };
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(101, 5000)), IH_DLL_WATCH_SETTLING);
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(101, 5000)), IH_DLL_WATCH_CHANGED);
  w = (ih_dll_watch){ .copied = stamp(100, 5000) };
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(100, 4999)), IH_DLL_WATCH_SETTLING);
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(100, 4999)), IH_DLL_WATCH_CHANGED);

  IH_TEST("a file still being written settles first");
  w = (ih_dll_watch){ .copied = stamp(100, 5000) };
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(200, 1000)), IH_DLL_WATCH_SETTLING);
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(201, 3000)), IH_DLL_WATCH_SETTLING);
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(202, 6000)), IH_DLL_WATCH_SETTLING);
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(202, 6000)), IH_DLL_WATCH_CHANGED);

  IH_TEST("touched and put back before it settled: no change");
  w = (ih_dll_watch){ .copied = stamp(100, 5000) };
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(200, 6000)), IH_DLL_WATCH_SETTLING);
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(100, 5000)), IH_DLL_WATCH_SAME);
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(200, 6000)), IH_DLL_WATCH_SETTLING);

  IH_TEST("a deleted original is no change; a new file put there later is");
  w = (ih_dll_watch){ .copied = stamp(100, 5000) };
  for (int i = 0; i < 3; i++)
    IH_EQ_INT(ih_dll_watch_check(&w, false, stamp(0, 0)), IH_DLL_WATCH_GONE);
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(100, 5000)), IH_DLL_WATCH_SAME); /* the same file put back */
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(200, 6000)), IH_DLL_WATCH_SETTLING);
  IH_EQ_INT(ih_dll_watch_check(&w, false, stamp(0, 0)), IH_DLL_WATCH_GONE); /* what was seen is forgotten */
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(200, 6000)), IH_DLL_WATCH_SETTLING);
  IH_EQ_INT(ih_dll_watch_check(&w, true, stamp(200, 6000)), IH_DLL_WATCH_CHANGED);
}

int main(void)
{
  test_dir_name();
  test_dir_pid();
  test_watch();
  return ih_test_finish();
}
