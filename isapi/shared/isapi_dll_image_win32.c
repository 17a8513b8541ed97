/* PE headers of a DLL file before it is loaded (see isapi_dll_image_win32.h). */
#include "isapi/shared/isapi_dll_image_win32.h"

#include <stdio.h>
#include <string.h>

/* Enough for the MS-DOS header, its stub and the PE headers of any DLL a
 * linker writes (e_lfanew is 0x80 to 0x100 for MSVC and MinGW). */
#define FIRST_READ 4096u

/* This process's own machine type (pe-format "Machine Types"). */
#if defined(__x86_64__) || defined(_M_AMD64)
#define PROCESS_MACHINE 0x8664u
#elif defined(__i386__) || defined(_M_IX86)
#define PROCESS_MACHINE 0x014cu
#elif defined(__aarch64__) || defined(_M_ARM64)
#define PROCESS_MACHINE 0xaa64u
#else
#define PROCESS_MACHINE 0u /* not named in notes */
#endif

static BOOL read_at(HANDLE h, uint32_t offset, unsigned char *buf, DWORD want, DWORD *got)
{
  OVERLAPPED at;
  memset(&at, 0, sizeof at);
  at.Offset = offset; /* a synchronous handle: the read starts here and waits */
  *got = 0;
  if (ReadFile(h, buf, want, got, &at))
    return TRUE;
  return GetLastError() == ERROR_HANDLE_EOF; /* past the end: *got is 0 */
}

BOOL ih_dll_image_read(const wchar_t *path, ih_dll_image *out)
{
  memset(out, 0, sizeof *out);
  out->info.machine_name = "unknown";
  /* Share everything: reading must never stand in the way of an operator
   * replacing the file, nor of the loader mapping it right after. */
  HANDLE h = CreateFileW(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE)
    return FALSE;
  unsigned char buf[FIRST_READ];
  DWORD got;
  BOOL ok = read_at(h, 0, buf, sizeof buf, &got);
  if (ok) {
    out->status = ih_pe_inspect(buf, got, &out->info);
    if (out->status == IH_PE_HEADERS_BEYOND) {
      /* the stub is longer than usual: the headers are read where they are */
      unsigned char nt[IH_PE_NT_HEADERS_NEEDED];
      ok = read_at(h, out->info.nt_offset, nt, sizeof nt, &got);
      if (ok)
        out->status = ih_pe_inspect_nt(nt, got, &out->info);
    }
  }
  CloseHandle(h);
  return ok;
}

static const char *kind_of(const ih_pe_info *info) { return info->is_dll ? "DLL" : "EXE, not a DLL,"; }

/* "an x86", "an ARM64", "a Thumb" */
static const char *article(const char *machine_name) { return strchr("xAI", machine_name[0]) ? "an" : "a"; }

BOOL ih_dll_image_wrong_bitness(const ih_dll_image *img, char *why, size_t cap)
{
  /* Only a well-formed image is judged: anything else is left to the
   * loader, whose error stays what it was (with ih_dll_image_note). */
  if (img->status != IH_PE_OK || img->info.bitness == IH_PROCESS_BITNESS)
    return FALSE;
  snprintf(why, cap, "it is %s %s %s (%u-bit) and this server process is %u-bit, which cannot load it: put it in a "
           "pool with bitness = %u",
           article(img->info.machine_name), img->info.machine_name, kind_of(&img->info), img->info.bitness,
           IH_PROCESS_BITNESS, img->info.bitness);
  return TRUE;
}

void ih_dll_image_note(const ih_dll_image *img, char *note, size_t cap)
{
  unsigned bits;
  const char *process = ih_pe_machine_name((uint16_t)PROCESS_MACHINE, &bits);
  note[0] = '\0';
  switch (img->status) {
  case IH_PE_OK:
    if (PROCESS_MACHINE && img->info.machine != PROCESS_MACHINE)
      snprintf(note, cap, "it is %s %s %s and this server process is %s", article(img->info.machine_name),
               img->info.machine_name,
               kind_of(&img->info), process);
    else if (!img->info.is_dll)
      snprintf(note, cap, "it is an EXE, not a DLL");
    return;
  case IH_PE_UNKNOWN_MACHINE:
    snprintf(note, cap, "%s (machine type 0x%04x)", ih_pe_status_text(img->status), (unsigned)img->info.machine);
    return;
  default:
    snprintf(note, cap, "%s", ih_pe_status_text(img->status));
    return;
  }
}
