/* config_internal.h: shared by config.c (the schema, loading, the public
 * API) and configread.c (the config's own readers: names, addresses,
 * URLs, and the checks between fields). The generic YAML layer is
 * yamlread.h. Not for other modules: the libyaml tree never leaves
 * these files. */
#ifndef REPLGUARD_CONFIG_INTERNAL_H
#define REPLGUARD_CONFIG_INTERNAL_H

#include "config/config.h"
#include "lib/util.h"
#include "lib/yamlread.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

/* A duration field of a mapping, for the checks between fields. */
struct bound {
    size_t idx; /* in the field table */
    const char *key;
    double val;
};

/* Readers for struct yr_field, storing into dst: a cluster or node name
 * (char *, heap), a priority (unsigned), a throttle floor >= 1
 * (uint64_t), HOST:PORT (dst is the struct config), a node URL (char *,
 * heap, without trailing slashes). */
bool cfg_read_name(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool cfg_read_priority(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool cfg_read_floor(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool cfg_read_listen(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool cfg_read_url(struct yr_ctx *c, yaml_node_t *v, void *dst);

/* cfg_check_less: lo->val < hi->val must hold. The error goes to the
 * value of blame when it was written, else to the other one. Skipped
 * when either value was bad. */
void cfg_check_less(struct yr_ctx *c, const struct yr_seen *s,
                    const struct bound *lo, const struct bound *hi,
                    const struct bound *blame);

#endif
