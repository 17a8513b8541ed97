/* The health URL (health_path, docs/deployment.md): what a load balancer's
 * check is told, as one decision from named facts. 200 while the instance
 * should get traffic; 503 from the moment a graceful stop or a pause
 * begins (so the balancer takes it out during drain_delay, while it still
 * accepts and serves), and while a worker pool it serves is failing
 * (rapid-fail protection: its requests get 503 anyway) unless the operator
 * said the pools do not count. */
#ifndef IH_HEALTH_H
#define IH_HEALTH_H

#include <stdbool.h>

typedef struct ih_health_facts {
  bool leaving;              /* a graceful stop or a pause has begun */
  const char *failing_pool;  /* a worker pool backing off after crashes; NULL: none */
  bool pools_count;          /* health_checks_pools: a failing pool makes the instance unhealthy */
} ih_health_facts;

typedef struct ih_health_answer {
  int status;          /* 200 or 503 */
  const char *state;   /* "serving", "leaving" or "pool failing": the body's first word(s) */
} ih_health_answer;

ih_health_answer ih_health_decide(const ih_health_facts *f);

#endif
