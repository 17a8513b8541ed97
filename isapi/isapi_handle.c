/* HCONN packing (see isapi_handle.h): (generation << 17) | (slot + 1).
 * slot + 1 needs 17 bits because slot 65535 becomes 65536; the generation
 * gets the remaining 15, so a slot must be reused 32,768 times before an
 * old handle of it could pass as new. */
#include "isapi/isapi_handle.h"

#define SLOT_BITS 17
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define GENERATION_MASK 0x7fffu

uint32_t ih_isapi_handle_encode(uint32_t slot, uint32_t generation)
{
  return ((generation & GENERATION_MASK) << SLOT_BITS) | (slot + 1);
}

bool ih_isapi_handle_decode(uint64_t handle, uint32_t *slot, uint32_t *generation)
{
  if (handle > UINT32_MAX)
    return false;
  uint32_t low = (uint32_t)handle & SLOT_MASK;
  if (low == 0 || low > IH_ISAPI_HANDLE_SLOTS)
    return false;
  *slot = low - 1;
  *generation = (uint32_t)(handle >> SLOT_BITS) & GENERATION_MASK;
  return true;
}

uint32_t ih_isapi_handle_next_generation(uint32_t generation) { return (generation + 1) & GENERATION_MASK; }
