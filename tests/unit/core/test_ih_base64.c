/* Base64 decoding for Basic credentials: RFC 4648 test vectors, padding
 * rules, bad input and the output limit. */
#include <string.h>

#include "core/ih_base64.h"
#include "ih_test.h"

static void expect(const char *in, const char *want)
{
  char out[64];
  size_t len = 99;
  bool ok = ih_base64_decode(ih_slice_from_cstr(in), out, sizeof out, &len);
  if (IH_CHECK(ok))
    IH_EQ_MEM(out, len, want, strlen(want));
}

static void refuse(const char *in, size_t cap)
{
  char out[64];
  size_t len;
  IH_CHECK(!ih_base64_decode(ih_slice_from_cstr(in), out, cap, &len));
}

int main(void)
{
  IH_TEST("RFC 4648 section 10 vectors");
  expect("", "");
  expect("Zg==", "f");
  expect("Zm8=", "fo");
  expect("Zm9v", "foo");
  expect("Zm9vYg==", "foob");
  expect("Zm9vYmE=", "fooba");
  expect("Zm9vYmFy", "foobar");
  expect("Zg", "f"); /* unpadded, as some clients send */
  IH_TEST("RFC 7617 example credentials");
  expect("QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Aladdin:open sesame");
  IH_TEST("malformed input and short buffers are refused");
  refuse("Zm9v!", 64);
  refuse("Z", 64);
  refuse("Zg=", 64);
  refuse("Zm9v====", 64);
  refuse("Zh==", 64); /* leftover bits not zero */
  refuse("Zm9vYmFy", 6); /* 6 bytes need 7 with the NUL */
  return ih_test_finish();
}
