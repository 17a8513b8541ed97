/* Every ServerSupportFunction code an extension can ask for (httpext.h,
 * with the IIS 7 additions and the legacy EXTENSION_TRIGGER), whether
 * IsapiHost offers it, and the Win32 error a code it does not offer fails
 * with. The source of the table in docs/compatibility.md, which a unit test
 * keeps in step. Portable: numbers only, no windows.h. */
#ifndef IH_ISAPI_SSF_CODES_H
#define IH_ISAPI_SSF_CODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ih_isapi_ssf_code {
  uint32_t value;
  const char *name;     /* as in httpext.h: "HSE_REQ_SEND_URL" */
  bool supported;
  uint32_t error;       /* unsupported: the Win32 error the call fails with */
} ih_isapi_ssf_code;

/* The entry for value, or NULL for a code no header defines (those fail
 * with ERROR_INVALID_PARAMETER, as on IIS). */
const ih_isapi_ssf_code *ih_isapi_ssf_lookup(uint32_t value);
/* All entries, in numeric order. */
const ih_isapi_ssf_code *ih_isapi_ssf_table(size_t *count);

#endif
