/* scrape.h: what replguard reads from a StemeDB node's /metrics
 * (profile "stemedb", SPEC section 6). Pure: text in, values out. */
#ifndef REPLGUARD_SCRAPE_H
#define REPLGUARD_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/promtext.h"

#define SCRAPE_MAX_REPORTED 64 /* replicas a primary reports lag for */

enum node_seen_role {
    SEEN_ROLE_UNKNOWN,
    SEEN_ROLE_PRIMARY,
    SEEN_ROLE_REPLICA,
    SEEN_ROLE_DEMOTED
};

struct reported_lag {
    char replica[64];
    double lag;
};

/* One node's answer, reduced to the series replguard uses. */
struct node_sample {
    bool has_position;
    uint64_t position; /* raw stemedb_assertions_indexed_total */
    bool has_connected;
    bool connected;
    bool has_heartbeat;
    double heartbeat; /* stemedb_heartbeat_timestamp_seconds */
    enum node_seen_role role;
    bool has_rate_limit;
    double rate_limit;
    size_t n_reported;
    struct reported_lag reported[SCRAPE_MAX_REPORTED];
};

/* scrape_parse: parses a /metrics body into *out (cleared first).
 * Returns 0, or -1 with the reason and line in *err when the text is not
 * valid exposition format or a series replguard needs has a value it
 * cannot use (a negative or non-finite position, say). */
int scrape_parse(const char *body, size_t len, struct node_sample *out,
                 struct promtext_error *err);

/* scrape_role_name: "primary", "replica", "demoted" or NULL (unknown). */
const char *scrape_role_name(enum node_seen_role r);

#endif
