/* What a PE image (an EXE or DLL) is built for, read from its headers.
 *
 * The Windows loader refuses to map a DLL built for another architecture
 * into a process and says only ERROR_BAD_EXE_FORMAT (193, "is not a valid
 * Win32 application"; IIS shows it as 0x800700c1). The hosts read the
 * headers first, so an x86 DLL configured for the x64 server is refused
 * with its machine and bitness named (IH2014, IH3007).
 *
 * Layout per the Microsoft PE format document
 * (https://learn.microsoft.com/windows/win32/debug/pe-format):
 *   offset 0      MS-DOS header: "MZ" ... e_lfanew (a LONG at 0x3c), the
 *                 file offset of the PE signature ("MS-DOS Stub (Image
 *                 Only)", "Signature (Image Only)")
 *   e_lfanew      "PE\0\0"
 *   e_lfanew + 4  COFF file header (20 bytes): Machine (WORD at +0),
 *                 SizeOfOptionalHeader (WORD at +16), Characteristics
 *                 (WORD at +18, IMAGE_FILE_DLL = 0x2000)
 *   e_lfanew + 24 optional header: Magic (WORD) 0x10b PE32, 0x20b PE32+
 * All fields are little-endian. Portable: no windows.h. */
#ifndef IH_PE_IMAGE_H
#define IH_PE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes from the start of the file that hold the MS-DOS header (e_lfanew
 * is its last field, at 0x3c). */
#define IH_PE_DOS_HEADER_SIZE 64u
/* Bytes from e_lfanew that hold what is inspected: the signature (4), the
 * COFF file header (20) and the optional header's Magic (2). */
#define IH_PE_NT_HEADERS_NEEDED 26u
/* The largest e_lfanew taken seriously. The format sets no limit (a LONG);
 * linkers put the signature right after a stub of a few hundred bytes.
 * Beyond this the file is reported BAD_OFFSET and nothing more is read. */
#define IH_PE_MAX_NT_OFFSET (1024u * 1024u)

enum ih_pe_status {
  IH_PE_OK,              /* a PE image of a machine in the table below: every field of ih_pe_info is set */
  IH_PE_TOO_SHORT,       /* fewer bytes than the MS-DOS header (64), or than the headers at e_lfanew */
  IH_PE_NOT_MZ,          /* the file does not start with "MZ" */
  IH_PE_BAD_OFFSET,      /* e_lfanew is negative (it is a LONG) or beyond IH_PE_MAX_NT_OFFSET */
  IH_PE_HEADERS_BEYOND,  /* e_lfanew is plausible but past the bytes given: read IH_PE_NT_HEADERS_NEEDED
                            bytes at nt_offset and call ih_pe_inspect_nt */
  IH_PE_NOT_PE,          /* no "PE\0\0" at e_lfanew (an MS-DOS, NE or LE program) */
  IH_PE_NOT_IMAGE,       /* no optional header (SizeOfOptionalHeader < 2): an object file, not an image */
  IH_PE_BAD_MAGIC,       /* the optional header's Magic is neither PE32 (0x10b) nor PE32+ (0x20b) */
  IH_PE_UNKNOWN_MACHINE, /* Machine is not in the table; bitness comes from Magic, machine_name is "unknown" */
  IH_PE_MACHINE_MISMATCH,/* Machine and Magic disagree (an x64 machine with a PE32 header, or the reverse) */
};

typedef struct ih_pe_info {
  uint16_t machine;          /* IMAGE_FILE_MACHINE_* as found (set from IH_PE_NOT_IMAGE on) */
  unsigned bitness;          /* 32 or 64; 0 when not known */
  bool is_dll;               /* Characteristics has IMAGE_FILE_DLL */
  const char *machine_name;  /* "x86", "x64", "ARM64", "ARM", ...; "unknown"; never NULL */
  uint32_t nt_offset;        /* e_lfanew, once the MS-DOS header was read (0 before) */
} ih_pe_info;

/* Inspects the first len bytes of a file (len may be less than the whole
 * file: the first 4 KB hold the headers of every DLL a linker makes).
 * *out is always written (bitness 0 and machine_name "unknown" until
 * known). */
enum ih_pe_status ih_pe_inspect(const unsigned char *bytes, size_t len, ih_pe_info *out);

/* The second half of ih_pe_inspect: nt holds len bytes read at the file
 * offset out->nt_offset (after IH_PE_HEADERS_BEYOND). Keeps out->nt_offset. */
enum ih_pe_status ih_pe_inspect_nt(const unsigned char *nt, size_t len, ih_pe_info *out);

/* The machine's name and bitness (0: not in the table, name "unknown"). */
const char *ih_pe_machine_name(uint16_t machine, unsigned *bitness);

/* A status in words, for a log line ("not a PE image: it does not start
 * with \"MZ\""). */
const char *ih_pe_status_text(enum ih_pe_status status);

#endif
