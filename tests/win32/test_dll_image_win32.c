/* The PE headers of DLL files as the shared loader reads them before
 * LoadLibraryEx (isapi/shared/isapi_dll_image_win32.h): real DLLs of this
 * build and of the other bitness (tests/dlls/other_bitness), hand-made
 * files whose headers lie past the first 4 KB (the second read), files that
 * are no PE image, and the loader's WRONG_BITNESS outcome. */
#include <windows.h>
#include <httpext.h>
#include <stdio.h>
#include <string.h>

#include "ih_test.h"
#include "isapi/shared/isapi_dll_image_win32.h"
#include "isapi/shared/isapi_dll_load_win32.h"
#include "support/win32_test_support.h"

static char dll_dir[MAX_PATH * 3];
static char temp_dir[MAX_PATH * 3];

static wchar_t *wide(const char *path)
{
  static wchar_t w[MAX_PATH * 2];
  MultiByteToWideChar(CP_UTF8, 0, path, -1, w, (int)(sizeof w / sizeof w[0]));
  return w;
}

static void put16(unsigned char *p, unsigned v)
{
  p[0] = (unsigned char)(v & 0xff);
  p[1] = (unsigned char)(v >> 8);
}

/* Writes a file of size bytes: "MZ", e_lfanew = nt, and at nt (if it fits)
 * "PE\0\0" with the machine, the optional header magic and the
 * characteristics. Returns its path. */
static const char *write_image(const char *name, size_t size, unsigned nt, unsigned machine, unsigned magic,
                               unsigned characteristics)
{
  static char path[MAX_PATH * 2];
  static unsigned char b[16384];
  memset(b, 0, sizeof b);
  b[0] = 'M';
  b[1] = 'Z';
  put16(b + 0x3c, nt & 0xffff);
  put16(b + 0x3e, nt >> 16);
  if (nt + 26 <= sizeof b) {
    memcpy(b + nt, "PE\0\0", 4);
    put16(b + nt + 4, machine);
    put16(b + nt + 20, 0xe0);
    put16(b + nt + 22, characteristics);
    put16(b + nt + 24, magic);
  }
  snprintf(path, sizeof path, "%s\\%s", temp_dir, name);
  HANDLE h = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  DWORD done = 0;
  IH_CHECK(h != INVALID_HANDLE_VALUE && WriteFile(h, b, (DWORD)size, &done, NULL) && done == size);
  CloseHandle(h);
  return path;
}

int main(void)
{
  char path[MAX_PATH * 3], why[512];
  ih_test_dll_dir(dll_dir, sizeof dll_dir);
  ih_test_scratch_dir(temp_dir, sizeof temp_dir, "ih_dll_image");
  unsigned other_bits = IH_PROCESS_BITNESS == 64 ? 32 : 64;
  unsigned other_machine = other_bits == 32 ? 0x014c : 0x8664, other_magic = other_bits == 32 ? 0x10b : 0x20b;
  unsigned own_machine = other_bits == 32 ? 0x8664 : 0x014c, own_magic = other_bits == 32 ? 0x20b : 0x10b;
  ih_dll_image img;

  IH_TEST("a test DLL of this build: this process's bitness, nothing to say");
  snprintf(path, sizeof path, "%s\\ext_hello.dll", dll_dir);
  if (IH_CHECK(ih_dll_image_read(wide(path), &img))) {
    IH_EQ_INT(img.status, IH_PE_OK);
    IH_EQ_INT(img.info.bitness, IH_PROCESS_BITNESS);
    IH_CHECK(img.info.is_dll);
    IH_CHECK(!ih_dll_image_wrong_bitness(&img, why, sizeof why));
    ih_dll_image_note(&img, why, sizeof why);
    IH_EQ_STR(why, "");
  }

  IH_TEST("the sample built for the other bitness: refused, with both bitnesses and the pool's");
  snprintf(path, sizeof path, "%s\\other_bitness\\hello.dll", dll_dir);
  if (IH_CHECK(ih_dll_image_read(wide(path), &img))) {
    IH_EQ_INT(img.status, IH_PE_OK);
    IH_EQ_INT(img.info.bitness, other_bits);
    IH_CHECK(ih_dll_image_wrong_bitness(&img, why, sizeof why));
    char want[64];
    snprintf(want, sizeof want, "%s DLL (%u-bit)", other_bits == 32 ? "x86" : "x64", other_bits);
    IH_CHECK(strstr(why, want) != NULL);
    snprintf(want, sizeof want, "this server process is %u-bit", IH_PROCESS_BITNESS);
    IH_CHECK(strstr(why, want) != NULL);
    snprintf(want, sizeof want, "bitness = %u", other_bits);
    IH_CHECK(strstr(why, want) != NULL);
    ih_test_note("%s", why);
  }

  IH_TEST("the shared loader never hands it to LoadLibraryEx: WRONG_BITNESS, error 193");
  ih_dll_loaded loaded;
  DWORD code = 0;
  IH_EQ_INT(ih_dll_load(&ih_test_extension_kind, path, "test", 30000, &loaded, why, sizeof why, &code), IH_DLL_LOAD_WRONG_BITNESS);
  IH_EQ_INT(code, ERROR_BAD_EXE_FORMAT);
  IH_CHECK(strstr(why, "-bit") != NULL && strstr(why, "Win32 error 193") != NULL);
  IH_CHECK(GetModuleHandleA("hello.dll") == NULL); /* never mapped */

  IH_TEST("headers past the first 4 KB: read where e_lfanew points");
  const char *far_file = write_image("far.dll", 8192 + 512, 8192, other_machine, other_magic, 0x2102);
  if (IH_CHECK(ih_dll_image_read(wide(far_file), &img))) {
    IH_EQ_INT(img.status, IH_PE_OK);
    IH_EQ_INT(img.info.nt_offset, 8192);
    IH_EQ_INT(img.info.bitness, other_bits);
    IH_CHECK(ih_dll_image_wrong_bitness(&img, why, sizeof why));
  }
  IH_EQ_INT(ih_dll_load(&ih_test_extension_kind, far_file, "test", 30000, &loaded, why, sizeof why, &code),
            IH_DLL_LOAD_WRONG_BITNESS);

  IH_TEST("a file that ends before its headers, one with e_lfanew past its end");
  const char *cut = write_image("cut.dll", 8192 + 10, 8192, other_machine, other_magic, 0x2102);
  if (IH_CHECK(ih_dll_image_read(wide(cut), &img))) {
    IH_EQ_INT(img.status, IH_PE_TOO_SHORT); /* the signature and the machine, not the rest */
    IH_CHECK(!ih_dll_image_wrong_bitness(&img, why, sizeof why));
  }
  const char *past = write_image("past.dll", 512, 100000, other_machine, other_magic, 0x2102);
  if (IH_CHECK(ih_dll_image_read(wide(past), &img))) {
    IH_EQ_INT(img.status, IH_PE_TOO_SHORT);
    ih_dll_image_note(&img, why, sizeof why);
    IH_CHECK(strstr(why, "too short") != NULL);
  }

  IH_TEST("not a PE image: left to the loader, which now says why");
  const char *text = write_image("text.dll", 1, 0, 0, 0, 0); /* "M" */
  if (IH_CHECK(ih_dll_image_read(wide(text), &img)))
    IH_EQ_INT(img.status, IH_PE_TOO_SHORT);
  snprintf(path, sizeof path, "%s\\plain.dll", temp_dir);
  HANDLE h = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  DWORD done;
  WriteFile(h, "just text\r\n", 11, &done, NULL);
  CloseHandle(h);
  if (IH_CHECK(ih_dll_image_read(wide(path), &img))) {
    IH_EQ_INT(img.status, IH_PE_NOT_MZ);
    IH_CHECK(!ih_dll_image_wrong_bitness(&img, why, sizeof why));
  }
  IH_EQ_INT(ih_dll_load(&ih_test_extension_kind, path, "test", 30000, &loaded, why, sizeof why, &code), IH_DLL_LOAD_FAILED);
  IH_CHECK(strstr(why, "cannot load the DLL: not a PE image") != NULL);
  ih_test_note("%s", why);

  IH_TEST("an EXE of this bitness: not refused for its bitness, but named");
  const char *exe_file = write_image("prog.exe", 512, 0x80, own_machine, own_magic, 0x0022);
  if (IH_CHECK(ih_dll_image_read(wide(exe_file), &img))) {
    IH_EQ_INT(img.status, IH_PE_OK);
    IH_CHECK(!ih_dll_image_wrong_bitness(&img, why, sizeof why));
    ih_dll_image_note(&img, why, sizeof why);
    IH_EQ_STR(why, "it is an EXE, not a DLL");
  }

  IH_TEST("a missing file: nothing read, the loader reports it as before");
  snprintf(path, sizeof path, "%s\\missing.dll", temp_dir);
  IH_CHECK(!ih_dll_image_read(wide(path), &img));

  const char *const made[] = { "far.dll", "cut.dll", "past.dll", "text.dll", "plain.dll", "prog.exe" };
  for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
    snprintf(path, sizeof path, "%s\\%s", temp_dir, made[i]);
    DeleteFileA(path);
  }
  RemoveDirectoryA(temp_dir);
  return ih_test_finish();
}
