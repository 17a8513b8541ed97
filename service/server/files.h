/* What the platform's file services hand the server layer (ih_platform in
 * server.h: file_open, file_read, dir_list): a file's facts and how an
 * operation ended. Below everything in service/server/, the small-file
 * cache included. */
#ifndef IH_FILES_H
#define IH_FILES_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ih_file_info {
  uint64_t size;
  int64_t mtime_unix;
  bool is_dir;
} ih_file_info;

enum ih_fs_status { IH_FS_OK, IH_FS_NOT_FOUND, IH_FS_DENIED, IH_FS_ERROR };

typedef void (*ih_dir_entry_fn)(void *arg, const char *name, bool is_dir, uint64_t size, int64_t mtime_unix);

#endif
