/* scrape.h: what replguard reads from a StemeDB node's /metrics
 * (profile "stemedb", SPEC section 6). Pure: text in, values out. */
#ifndef REPLGUARD_SCRAPE_H
#define REPLGUARD_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/promtext.h"
#include "profiles/profile.h"

#define SCRAPE_MAX_REPORTED PROFILE_MAX_REPORTED

/* struct node_sample (profile.h): stemedb_assertions_indexed_total is
 * the position, stemedb_heartbeat_timestamp_seconds the heartbeat. */

/* scrape_parse: parses a /metrics body into *out (cleared first).
 * Returns 0, or -1 with the reason and line in *err when the text is not
 * valid exposition format or a series replguard needs has a value it
 * cannot use (a negative or non-finite position, say). */
int scrape_parse(const char *body, size_t len, struct node_sample *out,
                 struct promtext_error *err);

/* scrape_role_name: "primary", "replica", "demoted" or NULL (unknown). */
const char *scrape_role_name(enum node_seen_role r);

#endif
