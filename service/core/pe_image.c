/* PE header inspection (see pe_image.h). Every offset and constant below is
 * from the Microsoft PE format document,
 * https://learn.microsoft.com/windows/win32/debug/pe-format. */
#include "core/pe_image.h"

#define DOS_E_LFANEW_OFFSET 0x3cu  /* "At location 0x3c, the stub has the file offset to the PE signature" */
#define COFF_MACHINE 4u            /* from e_lfanew: after the 4-byte signature */
#define COFF_SIZE_OF_OPTIONAL 20u  /* 4 + 16 */
#define COFF_CHARACTERISTICS 22u   /* 4 + 18 */
#define OPTIONAL_MAGIC 24u         /* 4 + 20: the optional header follows the COFF file header */
#define MAGIC_PE32 0x10bu
#define MAGIC_PE32_PLUS 0x20bu
#define IMAGE_FILE_DLL 0x2000u     /* "Characteristics": the image file is a dynamic-link library */

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | (unsigned)p[1] << 8); }

static uint32_t le32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* "Machine Types": the ones Windows has run user-mode DLLs for. Others
 * (MIPS, Alpha, SH, PowerPC, RISC-V, LoongArch, EFI byte code...) are
 * reported as unknown machines. */
static const struct machine {
  uint16_t id;
  const char *name;
  unsigned bitness;
} machines[] = {
  { 0x014c, "x86", 32 },         /* IMAGE_FILE_MACHINE_I386 */
  { 0x8664, "x64", 64 },         /* IMAGE_FILE_MACHINE_AMD64 */
  { 0xaa64, "ARM64", 64 },       /* IMAGE_FILE_MACHINE_ARM64 */
  { 0xa641, "ARM64EC", 64 },     /* IMAGE_FILE_MACHINE_ARM64EC */
  { 0xa64e, "ARM64X", 64 },      /* IMAGE_FILE_MACHINE_ARM64X */
  { 0x01c0, "ARM", 32 },         /* IMAGE_FILE_MACHINE_ARM (little endian) */
  { 0x01c4, "ARM Thumb-2", 32 }, /* IMAGE_FILE_MACHINE_ARMNT (Windows RT) */
  { 0x01c2, "Thumb", 32 },       /* IMAGE_FILE_MACHINE_THUMB */
  { 0x0200, "Itanium", 64 },     /* IMAGE_FILE_MACHINE_IA64 */
};

const char *ih_pe_machine_name(uint16_t machine, unsigned *bitness)
{
  for (size_t i = 0; i < sizeof machines / sizeof machines[0]; i++) {
    if (machines[i].id == machine) {
      *bitness = machines[i].bitness;
      return machines[i].name;
    }
  }
  *bitness = 0;
  return "unknown";
}

static void clear(ih_pe_info *out, uint32_t nt_offset)
{
  out->machine = 0;
  out->bitness = 0;
  out->is_dll = false;
  out->machine_name = "unknown";
  out->nt_offset = nt_offset;
}

enum ih_pe_status ih_pe_inspect_nt(const unsigned char *nt, size_t len, ih_pe_info *out)
{
  clear(out, out->nt_offset);
  if (len < 4)
    return IH_PE_TOO_SHORT;
  /* "Signature (Image Only)": "PE\0\0" */
  if (nt[0] != 'P' || nt[1] != 'E' || nt[2] != 0 || nt[3] != 0)
    return IH_PE_NOT_PE;
  if (len < IH_PE_NT_HEADERS_NEEDED - 2)
    return IH_PE_TOO_SHORT;
  out->machine = le16(nt + COFF_MACHINE);
  out->is_dll = (le16(nt + COFF_CHARACTERISTICS) & IMAGE_FILE_DLL) != 0;
  /* "the optional header ... is required for image files"; an object
   * file has none (SizeOfOptionalHeader 0). */
  if (le16(nt + COFF_SIZE_OF_OPTIONAL) < 2)
    return IH_PE_NOT_IMAGE;
  if (len < IH_PE_NT_HEADERS_NEEDED)
    return IH_PE_TOO_SHORT;
  uint16_t magic = le16(nt + OPTIONAL_MAGIC);
  unsigned magic_bitness = magic == MAGIC_PE32 ? 32 : magic == MAGIC_PE32_PLUS ? 64 : 0;
  if (!magic_bitness)
    return IH_PE_BAD_MAGIC;
  unsigned machine_bitness;
  out->machine_name = ih_pe_machine_name(out->machine, &machine_bitness);
  /* "PE32+ images allow for a 64-bit address space": the optional
   * header's format is what the loader maps by, so it is the bitness. */
  out->bitness = magic_bitness;
  if (!machine_bitness)
    return IH_PE_UNKNOWN_MACHINE;
  if (machine_bitness != magic_bitness)
    return IH_PE_MACHINE_MISMATCH;
  return IH_PE_OK;
}

enum ih_pe_status ih_pe_inspect(const unsigned char *bytes, size_t len, ih_pe_info *out)
{
  clear(out, 0);
  if (len < 2)
    return IH_PE_TOO_SHORT;
  /* "MS-DOS Stub (Image Only)": an image starts with a valid MS-DOS
   * program, whose header starts with "MZ". */
  if (bytes[0] != 'M' || bytes[1] != 'Z')
    return IH_PE_NOT_MZ;
  if (len < IH_PE_DOS_HEADER_SIZE)
    return IH_PE_TOO_SHORT;
  uint32_t e_lfanew = le32(bytes + DOS_E_LFANEW_OFFSET);
  if (e_lfanew > IH_PE_MAX_NT_OFFSET) /* also every negative LONG */
    return IH_PE_BAD_OFFSET;
  out->nt_offset = e_lfanew;
  if ((size_t)e_lfanew + IH_PE_NT_HEADERS_NEEDED > len)
    return IH_PE_HEADERS_BEYOND;
  return ih_pe_inspect_nt(bytes + e_lfanew, len - e_lfanew, out);
}

const char *ih_pe_status_text(enum ih_pe_status status)
{
  switch (status) {
  case IH_PE_OK: return "a PE image";
  case IH_PE_TOO_SHORT: return "not a PE image: the file is too short for the PE headers";
  case IH_PE_NOT_MZ: return "not a PE image: it does not start with \"MZ\"";
  case IH_PE_BAD_OFFSET: return "not a PE image: the MS-DOS header's e_lfanew points nowhere plausible";
  case IH_PE_HEADERS_BEYOND: return "the PE headers lie beyond the bytes read";
  case IH_PE_NOT_PE:
    return "not a PE image: no \"PE\\0\\0\" signature where e_lfanew points (an MS-DOS or 16-bit program)";
  case IH_PE_NOT_IMAGE: return "not a PE image: no optional header (an object file)";
  case IH_PE_BAD_MAGIC: return "not a PE image: the optional header is neither PE32 nor PE32+";
  case IH_PE_UNKNOWN_MACHINE: return "a PE image for a machine type Windows does not run here";
  case IH_PE_MACHINE_MISMATCH:
    return "a malformed PE image: its machine type and optional header disagree on the bitness";
  }
  return "not a PE image";
}
