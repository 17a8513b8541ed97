/* File-system half of the platform table (see server/conn.h). */
#ifndef IH_FILE_WIN32_H
#define IH_FILE_WIN32_H

#include "server/conn.h"

enum ih_fs_status ih_win32_file_open(const char *path, void **file, ih_file_info *info);
enum ih_fs_status ih_win32_file_read(void *file, uint64_t offset, char *buf, size_t len, size_t *got);
void ih_win32_file_close(void *file);
enum ih_fs_status ih_win32_dir_list(const char *path, ih_dir_entry_fn fn, void *arg);

#endif
