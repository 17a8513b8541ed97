/* The HCONN an extension sees: a handle-table slot and a generation packed
 * into 32 bits (32-bit DLLs keep ConnIDs in DWORDs), never 0, so a stale
 * ConnID (the slot reused for a later session) or a foreign value is told
 * apart from a live one. Portable; the table itself is the host's. */
#ifndef IH_ISAPI_HANDLE_H
#define IH_ISAPI_HANDLE_H

#include <stdbool.h>
#include <stdint.h>

#define IH_ISAPI_HANDLE_SLOTS 65536u /* slots 0 .. 65535 */

/* The handle of slot (< IH_ISAPI_HANDLE_SLOTS) at generation (any value;
 * only its low bits are kept, as ih_isapi_handle_next_generation does). */
uint32_t ih_isapi_handle_encode(uint32_t slot, uint32_t generation);
/* false for a value no slot and generation encode to. */
bool ih_isapi_handle_decode(uint64_t handle, uint32_t *slot, uint32_t *generation);
/* The generation a slot gets when it is used again (wraps). */
uint32_t ih_isapi_handle_next_generation(uint32_t generation);

#endif
