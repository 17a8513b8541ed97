/* libFuzzer target for core/pe_image.c: any bytes as the start of a file.
 *
 * The input is copied into an exactly-sized heap buffer (ASan sees any read
 * past it). Checks:
 *  - the info is consistent with the status: bitness 32 or 64 exactly from
 *    OK, UNKNOWN_MACHINE and MACHINE_MISMATCH on; machine_name never NULL,
 *    "unknown" unless the machine is in the table;
 *  - OK agrees with the bytes: "MZ", "PE\0\0" at e_lfanew, the machine and
 *    magic read back independently here;
 *  - HEADERS_BEYOND names an e_lfanew past the input, and inspecting the
 *    input again with its headers placed there (the Win32 side's second
 *    read) gives the same answer as ih_pe_inspect_nt on those bytes;
 *  - every prefix shorter than the headers never gives OK. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pe_image.h"

#define REQUIRE(cond)                                                             \
  do {                                                                            \
    if (!(cond)) {                                                                \
      fprintf(stderr, "fuzz_pe_image: %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
      abort();                                                                    \
    }                                                                             \
  } while (0)

static unsigned rd16(const unsigned char *p) { return p[0] | (unsigned)p[1] << 8; }

static void check_info(enum ih_pe_status st, const ih_pe_info *info)
{
  REQUIRE(info->machine_name != NULL);
  unsigned table_bits;
  const char *name = ih_pe_machine_name(info->machine, &table_bits);
  if (st == IH_PE_OK || st == IH_PE_MACHINE_MISMATCH) {
    REQUIRE(info->bitness == 32 || info->bitness == 64);
    REQUIRE(strcmp(info->machine_name, name) == 0 && table_bits != 0);
    REQUIRE((st == IH_PE_OK) == (table_bits == info->bitness));
  } else if (st == IH_PE_UNKNOWN_MACHINE) {
    REQUIRE(info->bitness == 32 || info->bitness == 64);
    REQUIRE(table_bits == 0 && strcmp(info->machine_name, "unknown") == 0);
  } else {
    REQUIRE(info->bitness == 0);
    REQUIRE(strcmp(info->machine_name, "unknown") == 0);
  }
  REQUIRE(ih_pe_status_text(st) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  unsigned char *buf = malloc(size ? size : 1);
  if (!buf)
    return 0;
  if (size)
    memcpy(buf, data, size);
  ih_pe_info info;
  enum ih_pe_status st = ih_pe_inspect(buf, size, &info);
  check_info(st, &info);
  if (st == IH_PE_OK) {
    REQUIRE(size >= IH_PE_DOS_HEADER_SIZE && buf[0] == 'M' && buf[1] == 'Z');
    uint32_t nt = info.nt_offset;
    REQUIRE(nt <= IH_PE_MAX_NT_OFFSET && nt + IH_PE_NT_HEADERS_NEEDED <= size);
    REQUIRE(memcmp(buf + nt, "PE\0\0", 4) == 0);
    REQUIRE(rd16(buf + nt + 4) == info.machine);
    REQUIRE(rd16(buf + nt + 24) == (info.bitness == 64 ? 0x20bu : 0x10bu));
    REQUIRE(info.is_dll == ((rd16(buf + nt + 22) & 0x2000u) != 0));
    /* a prefix that cuts the headers short never passes */
    size_t cut = nt + IH_PE_NT_HEADERS_NEEDED - 1;
    ih_pe_info short_info;
    REQUIRE(ih_pe_inspect(buf, cut, &short_info) != IH_PE_OK);
  }
  if (st == IH_PE_HEADERS_BEYOND) {
    REQUIRE(info.nt_offset <= IH_PE_MAX_NT_OFFSET && info.nt_offset + IH_PE_NT_HEADERS_NEEDED > size);
    /* the second read: whatever the file holds at nt_offset, here the
     * input's own bytes after the MS-DOS header */
    size_t rest = size - IH_PE_DOS_HEADER_SIZE;
    ih_pe_info second = info;
    enum ih_pe_status st2 = ih_pe_inspect_nt(buf + IH_PE_DOS_HEADER_SIZE, rest, &second);
    check_info(st2, &second);
    REQUIRE(second.nt_offset == info.nt_offset);
    REQUIRE(st2 != IH_PE_HEADERS_BEYOND && st2 != IH_PE_NOT_MZ && st2 != IH_PE_BAD_OFFSET);
  }
  free(buf);
  return 0;
}
