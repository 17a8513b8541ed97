/* The health URL's decision (service/server/health.c), every combination
 * of its facts: leaving the rotation wins, a failing pool counts only when
 * health_checks_pools is on, otherwise the instance is serving. */
#include <string.h>

#include "ih_test.h"
#include "server/health.h"

int main(void)
{
  IH_TEST("every combination of the facts");
  for (int leaving = 0; leaving < 2; leaving++)
    for (int failing = 0; failing < 2; failing++)
      for (int count = 0; count < 2; count++) {
        ih_health_facts f = { .leaving = leaving, .failing_pool = failing ? "w" : NULL, .pools_count = count };
        ih_health_answer a = ih_health_decide(&f);
        const char *want = leaving ? "leaving" : failing && count ? "pool failing" : "serving";
        IH_EQ_STR(a.state, want);
        IH_EQ_INT(a.status, strcmp(want, "serving") == 0 ? 200 : 503);
      }
  return ih_test_finish();
}
