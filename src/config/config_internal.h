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

/* cfg_read_replication, cfg_read_failover: a cluster's replication: and
 * failover: mappings into the struct config_replication and struct
 * config_failover at dst (configfailover.c). */
bool cfg_read_replication(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool cfg_read_failover(struct yr_ctx *c, yaml_node_t *v, void *dst);

/* cfg_read_escalation: the top-level escalation: mapping into the
 * struct config_escalation at dst (configescalation.c);
 * cfg_free_escalation: frees what it holds (not esc itself). */
bool cfg_read_escalation(struct yr_ctx *c, yaml_node_t *v, void *dst);
void cfg_free_escalation(struct config_escalation *esc);
/* cfg_read_ha: the top-level ha: mapping into the struct config at dst
 * (configha.c); sets ha.enabled and the defaults. cfg_free_ha: frees
 * what it stored. */
bool cfg_read_ha(struct yr_ctx *c, yaml_node_t *v, void *dst);
void cfg_free_ha(struct config_ha *ha);

/* cfg_check_failover: the checks of cluster cl (read from the mapping
 * cmap) that need its replica count: min_sync_replicas and a quorum
 * number at most the replicas, automatic failover with one replica at
 * least. Skipped when its nodes had errors. */
void cfg_check_failover(struct yr_ctx *c, const struct config_cluster *cl,
                        const yaml_node_t *cmap);

/* cfg_check_endpoints: once cluster cl (read from the mapping cmap) is
 * read: a stemedb node has url: and no dsn:, a postgres node dsn: and no
 * url:; a dsn parses (PQconninfoParse) and holds no password;
 * password_file (postgres only) is a readable secret file. Sets each
 * postgres node's conninfo (dsn plus the password) and its url (the dsn,
 * for display). configpg.c. */
void cfg_check_endpoints(struct yr_ctx *c, struct config_cluster *cl,
                         const yaml_node_t *cmap);

/* cfg_check_detect_after: once the whole document root is read: every
 * cluster's failover.detect_after, when written, spans 2 poll intervals
 * at least; a defaulted one is raised to that. */
void cfg_check_detect_after(struct yr_ctx *c, yaml_node_t *root,
                            struct config *cfg);

/* cfg_check_less: lo->val < hi->val must hold. The error goes to the
 * value of blame when it was written, else to the other one. Skipped
 * when either value was bad. */
void cfg_check_less(struct yr_ctx *c, const struct yr_seen *s,
                    const struct bound *lo, const struct bound *hi,
                    const struct bound *blame);

#endif
