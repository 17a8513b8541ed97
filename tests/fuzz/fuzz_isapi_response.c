/* libFuzzer target for isapi/shared/isapi_response.c. The same bytes are read as a
 * status string, as SEND_RESPONSE_HEADER header text and as a first
 * WriteClient. Properties:
 * - status: code is -1 or 100..999; the reason is one clean line (no CR/LF,
 *   no control bytes but HTAB, no whitespace at either end), "" for -1, and a
 *   small reason buffer holds a prefix of the large one;
 * - headers: output fits IH_ISAPI_HEADERS_OUT_MAX; every output line is
 *   "name: value\r\n" with a token name, a clean value, never Status or
 *   Connection; Content-Length appears at most once and only as the valid,
 *   decimal length with no Transfer-Encoding; the body lies inside the input,
 *   after the fields, before any NUL; a buffer one byte short fails with the
 *   same size; parsing the output again gives the same output and framing
 *   (normalisation is a fixpoint);
 * - raw head: head_len ends on an LF inside the input, after the status
 *   line; PARTIAL and NOT_HTTP report no head_len. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ih_str.h"
#include "isapi/shared/isapi_response.h"

#define REQUIRE(c) \
  do {             \
    if (!(c))      \
      abort();     \
  } while (0)

static bool is_ctl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7F; }

static void check_status(const char *in, size_t size)
{
  char big[256], small[5];
  int code = ih_isapi_parse_status(in, size, big, sizeof big);
  REQUIRE(code == -1 || (code >= 100 && code <= 999));
  size_t n = strlen(big);
  REQUIRE(n < sizeof big);
  if (code == -1)
    REQUIRE(n == 0);
  for (size_t i = 0; i < n; i++)
    REQUIRE(!is_ctl((unsigned char)big[i]));
  if (n)
    REQUIRE(big[0] != ' ' && big[0] != '\t' && big[n - 1] != ' ' && big[n - 1] != '\t');
  REQUIRE(ih_isapi_parse_status(in, size, small, sizeof small) == code);
  REQUIRE(strlen(small) <= 4 && strncmp(small, big, strlen(small)) == 0);
  REQUIRE(ih_isapi_parse_status(in, size, NULL, 0) == code);
}

/* Checks the normalised block; returns the number of lines. */
static size_t check_block(const char *out, size_t len, const ih_isapi_header_info *info)
{
  size_t lines = 0, cl_lines = 0;
  size_t i = 0;
  while (i < len) {
    const char *crlf = NULL;
    for (size_t j = i; j + 1 < len; j++)
      if (out[j] == '\r') {
        REQUIRE(out[j + 1] == '\n');
        crlf = out + j;
        break;
      }
    REQUIRE(crlf);
    ih_slice line = { out + i, (size_t)(crlf - (out + i)) };
    const char *colon = memchr(line.p, ':', line.n);
    REQUIRE(colon && colon > line.p);
    ih_slice name = { line.p, (size_t)(colon - line.p) };
    for (size_t k = 0; k < name.n; k++)
      REQUIRE(ih_is_tchar((unsigned char)name.p[k]));
    ih_slice rest = { colon + 1, line.n - name.n - 1 };
    if (rest.n) {
      REQUIRE(rest.n >= 2 && rest.p[0] == ' ' && rest.p[1] != ' ' && rest.p[1] != '\t');
      REQUIRE(rest.p[rest.n - 1] != ' ' && rest.p[rest.n - 1] != '\t');
    }
    for (size_t k = 0; k < rest.n; k++)
      REQUIRE(!is_ctl((unsigned char)rest.p[k]));
    REQUIRE(!ih_slice_ieq_cstr(name, "Status") && !ih_slice_ieq_cstr(name, "Connection"));
    if (ih_slice_ieq_cstr(name, "Content-Length")) {
      cl_lines++;
      uint64_t v;
      REQUIRE(ih_parse_u64((ih_slice){ rest.p + 1, rest.n - 1 }, &v));
      REQUIRE(info->content_length_valid && v == info->content_length && !info->transfer_encoding);
    }
    if (ih_slice_ieq_cstr(name, "Transfer-Encoding"))
      REQUIRE(info->transfer_encoding);
    lines++;
    i = (size_t)(crlf - out) + 2;
  }
  REQUIRE(cl_lines == (info->content_length_valid && !info->transfer_encoding ? 1u : 0u));
  return lines;
}

static void check_headers(const char *in, size_t size)
{
  size_t cap = IH_ISAPI_HEADERS_OUT_MAX(size);
  char *out = malloc(cap ? cap : 1);
  ih_isapi_header_info info;
  REQUIRE(ih_isapi_parse_headers(in, size, out, cap, &info));
  REQUIRE(info.out_len <= cap);
  REQUIRE(check_block(out, info.out_len, &info) == info.lines_kept);
  REQUIRE(info.delimited == (info.transfer_encoding ? info.chunked : info.content_length_valid));
  REQUIRE(!info.chunked || info.transfer_encoding);
  REQUIRE(!info.content_length_valid || info.content_length_present);
  REQUIRE(info.status == 0 || (info.status >= 100 && info.status <= 999));
  if (info.status)
    REQUIRE(info.status_text.p >= in && info.status_text.p + info.status_text.n <= in + size);
  if (info.has_body) {
    REQUIRE(info.body.p >= in && info.body.p + info.body.n <= in + size);
    REQUIRE(info.body.p > in);
    REQUIRE(info.body.p[-1] == '\n' || info.body.p[-1] == '\r');
    REQUIRE(!info.body.n || !memchr(info.body.p, '\0', info.body.n));
  } else {
    REQUIRE(info.body.p == NULL && info.body.n == 0);
  }

  /* a short buffer: refused, same size, and ASan sees every write */
  if (info.out_len) {
    char *exact = malloc(info.out_len);
    ih_isapi_header_info again;
    REQUIRE(!ih_isapi_parse_headers(in, size, exact, info.out_len - 1, &again));
    REQUIRE(again.out_len == info.out_len && again.delimited == info.delimited);
    REQUIRE(ih_isapi_parse_headers(in, size, exact, info.out_len, &again));
    REQUIRE(memcmp(exact, out, info.out_len) == 0);
    free(exact);
  }

  /* normalisation is a fixpoint */
  size_t cap2 = IH_ISAPI_HEADERS_OUT_MAX(info.out_len);
  char *out2 = malloc(cap2 ? cap2 : 1);
  ih_isapi_header_info info2;
  REQUIRE(ih_isapi_parse_headers(out, info.out_len, out2, cap2, &info2));
  REQUIRE(info2.out_len == info.out_len && memcmp(out2, out, info.out_len) == 0);
  REQUIRE(info2.lines_kept == info.lines_kept && info2.lines_dropped == 0 && !info2.has_body);
  REQUIRE(info2.status == 0 && !info2.conn_close && !info2.conn_keep_alive);
  REQUIRE(info2.delimited == info.delimited && info2.chunked == info.chunked);
  REQUIRE(info2.content_length_valid == (info.content_length_valid && !info.transfer_encoding));
  free(out2);
  free(out);
}

static void check_raw(const char *in, size_t size)
{
  ih_isapi_raw_head h;
  enum ih_isapi_raw_kind k = ih_isapi_sniff_raw_head(in, size, &h);
  if (k == IH_ISAPI_RAW_NOT_HTTP) {
    REQUIRE(h.status == 0 && h.head_len == 0);
    return;
  }
  REQUIRE(size >= 12 && memcmp(in, "HTTP/1.", 7) == 0);
  REQUIRE(h.status >= 100 && h.status <= 999 && (h.version == 10 || h.version == 11));
  if (k == IH_ISAPI_RAW_PARTIAL) {
    REQUIRE(h.head_len == 0);
    return;
  }
  REQUIRE(k == IH_ISAPI_RAW_COMPLETE);
  REQUIRE(h.head_len >= 14 && h.head_len <= size && in[h.head_len - 1] == '\n');
  const char *lf = memchr(in, '\n', size);
  REQUIRE(lf && (size_t)(lf - in) + 1 < h.head_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  /* a private copy: the exact length, so ASan sees any over-read */
  char *in = malloc(size ? size : 1);
  if (size)
    memcpy(in, data, size);
  check_status(size ? in : NULL, size);
  check_headers(size ? in : NULL, size);
  check_raw(size ? in : NULL, size);
  free(in);
  return 0;
}
