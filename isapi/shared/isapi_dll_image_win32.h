/* What an ISAPI DLL file is built for, read from its PE headers before the
 * loader maps it (core/pe_image.h), so that a DLL of the other bitness is
 * refused with its machine and bitness named (IH2014, IH3007) instead of
 * LoadLibraryEx's bare ERROR_BAD_EXE_FORMAT (193; IIS logs 0x800700c1).
 * A 64-bit process cannot map a 32-bit DLL nor the reverse ("Process
 * Interoperability", learn.microsoft.com/windows/win32/winprog64/process-interoperability).
 * Win32 only; used by the shared loader (isapi_dll_load_win32.c). */
#ifndef IH_ISAPI_DLL_IMAGE_WIN32_H
#define IH_ISAPI_DLL_IMAGE_WIN32_H

#include <windows.h>
#include <stddef.h>

#include "core/pe_image.h"

/* The bitness of this process, 32 or 64: what its pointers are. */
#define IH_PROCESS_BITNESS ((unsigned)(sizeof(void *) * 8u))

typedef struct ih_dll_image {
  enum ih_pe_status status;
  ih_pe_info info;
} ih_dll_image;

/* Reads the headers of the file at path: its first 4 KB, and the PE
 * headers where e_lfanew points if that is further. FALSE when the file
 * cannot be opened or read (LoadLibraryEx then says why, as before). */
BOOL ih_dll_image_read(const wchar_t *path, ih_dll_image *out);

/* TRUE when img is a PE image whose bitness is not this process's; then
 * why says so: "it is an x86 DLL (32-bit) and this server process is
 * 64-bit: put it in a pool with bitness = 32". */
BOOL ih_dll_image_wrong_bitness(const ih_dll_image *img, char *why, size_t cap);

/* Why the loader may have refused a file of the right bitness, from its
 * headers: "not a PE image: it does not start with \"MZ\"", "an ARM64
 * DLL; this server process is x64", "an EXE, not a DLL". Empty when the
 * headers show nothing wrong. */
void ih_dll_image_note(const ih_dll_image *img, char *note, size_t cap);

#endif
