/* The program cmake/wine-probes.sh runs to learn whether Wine really runs a
 * Windows program of one machine type. It prints one line naming the machine
 * it was built for and the token it was given; the caller checks that line,
 * not the exit code, because 64-bit-only Wine "runs" a 32-bit program by
 * exiting 0 without executing any of it (shared wine-notes, section 1). */
#include <stdio.h>

#if defined(__x86_64__)
#define PROBE_MACHINE "x86-64"
#elif defined(__i386__)
#define PROBE_MACHINE "i386"
#else
#define PROBE_MACHINE "unknown"
#endif

int main(int argc, char **argv)
{
  printf("wine-probe %s %s\n", PROBE_MACHINE, argc > 1 ? argv[1] : "");
  fflush(stdout);
  return 0;
}
