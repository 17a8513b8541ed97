/* PE header inspection (core/pe_image.c) on hand-built headers: every
 * status, every field, the bounds of e_lfanew, and the split read the
 * Win32 side does when the headers lie beyond its first 4 KB. Offsets per
 * https://learn.microsoft.com/windows/win32/debug/pe-format. */
#include <string.h>

#include "core/pe_image.h"
#include "ih_test.h"

#define IMAGE_SIZE 512u
#define NT 0x80u /* e_lfanew of the images below, as MinGW's ld writes it */

static void put16(unsigned char *p, unsigned v)
{
  p[0] = (unsigned char)(v & 0xff);
  p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
  put16(p, v & 0xffff);
  put16(p + 2, v >> 16);
}

/* The headers of an image: "MZ", e_lfanew = nt, "PE\0\0", machine, a
 * full-size optional header of the given magic, and the characteristics
 * (0x2022: DLL, executable, large address aware; 0x0022: an EXE). */
static void make_image(unsigned char *b, uint32_t nt, unsigned machine, unsigned magic, unsigned characteristics)
{
  memset(b, 0, IMAGE_SIZE);
  b[0] = 'M';
  b[1] = 'Z';
  put32(b + 0x3c, nt);
  memcpy(b + nt, "PE\0\0", 4);
  put16(b + nt + 4, machine);
  put16(b + nt + 6, 3);                                   /* NumberOfSections */
  put16(b + nt + 20, magic == 0x20b ? 0xf0 : 0xe0);       /* SizeOfOptionalHeader */
  put16(b + nt + 22, characteristics);
  put16(b + nt + 24, magic);
}

static void expect_image(unsigned machine, unsigned magic, const char *name, unsigned bitness)
{
  unsigned char b[IMAGE_SIZE];
  make_image(b, NT, machine, magic, 0x2022);
  ih_pe_info info;
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_OK);
  IH_EQ_INT(info.machine, machine);
  IH_EQ_INT(info.bitness, bitness);
  IH_EQ_STR(info.machine_name, name);
  IH_CHECK(info.is_dll);
  IH_EQ_INT(info.nt_offset, NT);
}

int main(void)
{
  unsigned char b[IMAGE_SIZE];
  ih_pe_info info;

  IH_TEST("x86, x64, ARM64 and ARM DLLs: machine, bitness, DLL");
  expect_image(0x014c, 0x10b, "x86", 32);
  expect_image(0x8664, 0x20b, "x64", 64);
  expect_image(0xaa64, 0x20b, "ARM64", 64);
  expect_image(0x01c4, 0x10b, "ARM Thumb-2", 32);
  expect_image(0x01c0, 0x10b, "ARM", 32);
  expect_image(0x0200, 0x20b, "Itanium", 64);

  IH_TEST("an EXE is a PE image but not a DLL");
  make_image(b, NT, 0x8664, 0x20b, 0x0022);
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_OK);
  IH_CHECK(!info.is_dll);
  IH_EQ_INT(info.bitness, 64);

  IH_TEST("TOO_SHORT: no room for the MS-DOS header or the headers at e_lfanew");
  IH_EQ_INT(ih_pe_inspect(b, 0, &info), IH_PE_TOO_SHORT);
  IH_EQ_INT(ih_pe_inspect(b, 1, &info), IH_PE_TOO_SHORT);
  IH_EQ_INT(ih_pe_inspect(b, IH_PE_DOS_HEADER_SIZE - 1, &info), IH_PE_TOO_SHORT);
  IH_EQ_INT(info.bitness, 0);
  IH_EQ_STR(info.machine_name, "unknown");
  /* the whole image is the given bytes: headers cut short at e_lfanew */
  IH_EQ_INT(ih_pe_inspect_nt(b + NT, 3, &info), IH_PE_TOO_SHORT);
  IH_EQ_INT(ih_pe_inspect_nt(b + NT, 23, &info), IH_PE_TOO_SHORT);
  IH_EQ_INT(ih_pe_inspect_nt(b + NT, 25, &info), IH_PE_TOO_SHORT);
  IH_EQ_INT(info.machine, 0x8664); /* the COFF header was there */
  IH_EQ_INT(info.bitness, 0);
  IH_EQ_INT(ih_pe_inspect_nt(b + NT, 26, &info), IH_PE_OK);

  IH_TEST("NOT_MZ: a text file, a ZM, an empty-ish file");
  static const unsigned char text[] = "This is not a DLL, it is a text file someone named x.dll\n";
  IH_EQ_INT(ih_pe_inspect(text, sizeof text - 1, &info), IH_PE_NOT_MZ);
  make_image(b, NT, 0x8664, 0x20b, 0x2022);
  b[0] = 'Z';
  b[1] = 'M';
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_NOT_MZ);
  IH_EQ_INT(ih_pe_inspect((const unsigned char *)"M", 1, &info), IH_PE_TOO_SHORT);
  IH_EQ_INT(ih_pe_inspect((const unsigned char *)"Mx", 2, &info), IH_PE_NOT_MZ);

  IH_TEST("BAD_OFFSET: a negative e_lfanew (a LONG) and one past the limit");
  make_image(b, NT, 0x8664, 0x20b, 0x2022);
  put32(b + 0x3c, 0xfffffff0u);
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_BAD_OFFSET);
  IH_EQ_INT(info.nt_offset, 0);
  put32(b + 0x3c, IH_PE_MAX_NT_OFFSET + 1);
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_BAD_OFFSET);
  put32(b + 0x3c, 0x80000000u);
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_BAD_OFFSET);

  IH_TEST("HEADERS_BEYOND: e_lfanew past the bytes read, then the second read");
  put32(b + 0x3c, IH_PE_MAX_NT_OFFSET);
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_HEADERS_BEYOND);
  IH_EQ_INT(info.nt_offset, IH_PE_MAX_NT_OFFSET);
  IH_EQ_INT(info.bitness, 0);
  make_image(b, NT, 0x014c, 0x10b, 0x2102);
  IH_EQ_INT(ih_pe_inspect(b, NT + IH_PE_NT_HEADERS_NEEDED - 1, &info), IH_PE_HEADERS_BEYOND);
  IH_EQ_INT(info.nt_offset, NT);
  /* what the Win32 side does next: read at nt_offset, inspect that */
  IH_EQ_INT(ih_pe_inspect_nt(b + info.nt_offset, IH_PE_NT_HEADERS_NEEDED, &info), IH_PE_OK);
  IH_EQ_INT(info.nt_offset, NT);
  IH_EQ_STR(info.machine_name, "x86");
  IH_EQ_INT(info.bitness, 32);
  IH_CHECK(info.is_dll);
  /* exactly enough bytes: still read from the first buffer */
  IH_EQ_INT(ih_pe_inspect(b, NT + IH_PE_NT_HEADERS_NEEDED, &info), IH_PE_OK);

  IH_TEST("NOT_PE: an MS-DOS program, an NE header");
  make_image(b, NT, 0x8664, 0x20b, 0x2022);
  memcpy(b + NT, "NE\0\0", 4);
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_NOT_PE);
  memcpy(b + NT, "PE\0\1", 4);
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_NOT_PE);
  put32(b + 0x3c, 0); /* e_lfanew 0: "MZ" where "PE" should be */
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_NOT_PE);

  IH_TEST("NOT_IMAGE: a COFF header without an optional header");
  make_image(b, NT, 0x8664, 0x20b, 0x2022);
  put16(b + NT + 20, 0);
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_NOT_IMAGE);
  IH_EQ_INT(info.machine, 0x8664);
  IH_EQ_INT(info.bitness, 0);

  IH_TEST("BAD_MAGIC: a ROM image (0x107) and garbage");
  make_image(b, NT, 0x8664, 0x107, 0x2022);
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_BAD_MAGIC);
  IH_EQ_INT(info.bitness, 0);
  make_image(b, NT, 0x014c, 0x0000, 0x2022);
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_BAD_MAGIC);

  IH_TEST("UNKNOWN_MACHINE: MIPS and RISC-V; bitness from the optional header");
  make_image(b, NT, 0x0166, 0x10b, 0x2022); /* IMAGE_FILE_MACHINE_R4000 */
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_UNKNOWN_MACHINE);
  IH_EQ_INT(info.machine, 0x0166);
  IH_EQ_INT(info.bitness, 32);
  IH_EQ_STR(info.machine_name, "unknown");
  make_image(b, NT, 0x5064, 0x20b, 0x2022); /* IMAGE_FILE_MACHINE_RISCV64 */
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_UNKNOWN_MACHINE);
  IH_EQ_INT(info.bitness, 64);

  IH_TEST("MACHINE_MISMATCH: x64 with PE32, x86 with PE32+");
  make_image(b, NT, 0x8664, 0x10b, 0x2022);
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_MACHINE_MISMATCH);
  IH_EQ_STR(info.machine_name, "x64");
  make_image(b, NT, 0x014c, 0x20b, 0x2022);
  IH_EQ_INT(ih_pe_inspect(b, sizeof b, &info), IH_PE_MACHINE_MISMATCH);

  IH_TEST("every status has words; machine names");
  for (int s = IH_PE_OK; s <= IH_PE_MACHINE_MISMATCH; s++)
    IH_CHECK(strlen(ih_pe_status_text((enum ih_pe_status)s)) > 5);
  unsigned bits = 99;
  IH_EQ_STR(ih_pe_machine_name(0x014c, &bits), "x86");
  IH_EQ_INT(bits, 32);
  IH_EQ_STR(ih_pe_machine_name(0, &bits), "unknown");
  IH_EQ_INT(bits, 0);
  return ih_test_finish();
}
