/* Base64 decoding (see ih_base64.h). */
#include "core/ih_base64.h"

static int sextet(unsigned char ch)
{
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if (ch == '+')
    return 62;
  if (ch == '/')
    return 63;
  return -1;
}

bool ih_base64_decode(ih_slice in, char *out, size_t cap, size_t *len)
{
  size_t n = in.n, o = 0;
  /* padding only at the end: at most two '=', and the length a multiple of 4 then */
  size_t pad = 0;
  while (n && in.p[n - 1] == '=' && pad < 2) {
    n--;
    pad++;
  }
  if (pad && (in.n % 4) != 0)
    return false;
  if (n % 4 == 1)
    return false; /* 6 bits cannot make a byte */
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = sextet((unsigned char)in.p[i]);
    if (v < 0)
      return false;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o + 1 >= cap)
        return false;
      out[o++] = (char)((acc >> bits) & 0xff);
    }
  }
  if (bits && (acc & ((1u << bits) - 1)) != 0)
    return false; /* leftover bits must be zero (RFC 4648 3.5) */
  if (cap == 0)
    return false;
  out[o] = '\0';
  *len = o;
  return true;
}
