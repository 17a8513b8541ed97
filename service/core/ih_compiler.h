/* Compiler portability macros. */
#ifndef IH_COMPILER_H
#define IH_COMPILER_H

/* printf-style format checking. MinGW's plain "printf" archetype means
 * msvcrt's dialect (no %zu, %lld); we build with __USE_MINGW_ANSI_STDIO=1,
 * whose printf is C99, so check against the GNU dialect there. */
#if defined(__MINGW32__)
#define IH_PRINTF(fmt_index, first_arg) __attribute__((format(gnu_printf, fmt_index, first_arg)))
#else
#define IH_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#endif

#endif
