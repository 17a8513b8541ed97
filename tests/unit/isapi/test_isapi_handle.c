/* HCONN packing: every slot round-trips at every generation edge, no handle
 * is 0, and values no session could have are refused. Slot 65535 once
 * overflowed into the generation bits and made its session unreachable
 * (found by the KB Q142658 soak at request 65,536). */
#include <stdio.h>

#include "ih_test.h"
#include "isapi/isapi_handle.h"

static void test_round_trip(void)
{
  IH_TEST("every slot round-trips with generations 0, 1 and the last before the wrap");
  static const uint32_t generations[] = { 0, 1, 0x7ffe, 0x7fff };
  int bad = 0;
  for (uint32_t slot = 0; slot < IH_ISAPI_HANDLE_SLOTS; slot++) {
    for (size_t g = 0; g < sizeof generations / sizeof generations[0]; g++) {
      uint32_t h = ih_isapi_handle_encode(slot, generations[g]), s, gen;
      if (h == 0 || !ih_isapi_handle_decode(h, &s, &gen) || s != slot || gen != generations[g])
        bad++;
    }
  }
  IH_EQ_INT(bad, 0);
  uint32_t s, gen;
  IH_CHECK(ih_isapi_handle_decode(ih_isapi_handle_encode(65535, 3), &s, &gen));
  IH_EQ_INT(s, 65535);
  IH_EQ_INT(gen, 3);
}

static void test_stale_and_foreign(void)
{
  IH_TEST("a reused slot's old handle differs; foreign values are refused");
  uint32_t old = ih_isapi_handle_encode(7, 41);
  uint32_t fresh = ih_isapi_handle_encode(7, ih_isapi_handle_next_generation(41));
  IH_CHECK(old != fresh);
  IH_EQ_INT(ih_isapi_handle_next_generation(0x7fff), 0);
  uint32_t s, gen;
  IH_CHECK(!ih_isapi_handle_decode(0, &s, &gen));
  IH_CHECK(!ih_isapi_handle_decode(0x1ffffu, &s, &gen));      /* slot + 1 beyond the table */
  IH_CHECK(!ih_isapi_handle_decode(1ull << 32, &s, &gen));    /* more than 32 bits */
  IH_CHECK(!ih_isapi_handle_decode(0x7fffu << 17, &s, &gen)); /* a generation without a slot */
}

int main(void)
{
  test_round_trip();
  test_stale_and_foreign();
  return ih_test_finish();
}
