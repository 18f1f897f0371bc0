/* breakers.h: what replguard reads from and sends to a StemeDB node
 * about circuit breakers (SPEC section 6). Pure: text in, values out.
 *
 *   GET /v1/admin/circuit-breakers/tripped
 *       [{"agent_id": "...", "tripped_at": <unix seconds>}, ...]
 *   POST /v1/admin/circuit-breaker/reset
 *       {"agent_id": "..."}
 *
 * The agent ids come from the node: they are checked and escaped, never
 * pasted into JSON as they are. */
#ifndef REPLGUARD_BREAKERS_H
#define REPLGUARD_BREAKERS_H

#include <stddef.h>

#define BREAKERS_MAX    1024 /* tripped breakers taken from one answer */
#define BREAKERS_MAX_ID 256  /* bytes of one agent_id */

/* breakers_parse: reads the len bytes at body (need not be terminated)
 * as the tripped list: a JSON array (then only whitespace) of at most
 * BREAKERS_MAX objects, each with an "agent_id" string of 1 to
 * BREAKERS_MAX_ID bytes (other fields are ignored; an id holding
 * "\u0000" is read up to it). On
 * success stores the ids in *ids (a heap array of *n heap strings, in
 * answer order; NULL when *n is 0) for the caller to free with
 * breakers_free() and returns 0; otherwise stores NULL and 0 and returns
 * -EINVAL. */
int breakers_parse(const char *body, size_t len, char ***ids, size_t *n);

/* breakers_free: frees the n ids of breakers_parse() and the array. */
void breakers_free(char **ids, size_t n);

/* breakers_reset_body: the body of a reset of agent_id, {"agent_id":
 * "..."} with the id escaped as a JSON string. The caller frees it. */
char *breakers_reset_body(const char *agent_id);

#endif
