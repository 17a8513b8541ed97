/* The health URL's decision (see health.h). */
#include "server/health.h"

#include <stddef.h>

ih_health_answer ih_health_decide(const ih_health_facts *f)
{
  if (f->leaving)
    return (ih_health_answer){ 503, "leaving" };
  if (f->failing_pool && f->pools_count)
    return (ih_health_answer){ 503, "pool failing" };
  return (ih_health_answer){ 200, "serving" };
}
