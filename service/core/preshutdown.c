/* The service's preshutdown timeout (see preshutdown.h). */
#include "core/preshutdown.h"

uint32_t ih_preshutdown_timeout_ms(unsigned shutdown_time_limit_s)
{
  uint64_t ms = ((uint64_t)shutdown_time_limit_s + IH_PRESHUTDOWN_MARGIN_S) * 1000u;
  return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}
