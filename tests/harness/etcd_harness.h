/* etcd_harness.h: a real etcd cluster for the HA tests (etcd 3.4, the
 * Debian etcd-server package): members on loopback ports, their data in
 * a temp dir, started and stopped by the test process. */
#ifndef REPLGUARD_ETCD_HARNESS_H
#define REPLGUARD_ETCD_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ETCD_MAX_MEMBERS 5

struct etcd_cluster {
    size_t n;
    pid_t pid[ETCD_MAX_MEMBERS];
    char client[ETCD_MAX_MEMBERS][64]; /* http://127.0.0.1:PORT */
    char dir[64];                      /* data dirs and logs, removed */
};

/* etcd_binary: the etcd binary's path ($ETCD or /usr/bin/etcd), or NULL
 * when it is not installed (the caller skips: exit 77). */
const char *etcd_binary(void);
/* etcd_start: n members (1..ETCD_MAX_MEMBERS) of one cluster on free
 * loopback ports, waiting until every member answers /health; when a
 * member exits first (its port was taken meanwhile), all start again on
 * new ports, up to 4 times. */
void etcd_start(struct etcd_cluster *ec, size_t n);
/* etcd_yaml_endpoints: appends the client URLs as a YAML flow list. */
struct buf;
void etcd_yaml_endpoints(const struct etcd_cluster *ec, struct buf *b);
/* etcd_yaml_agent_head: writes rules (runbooks' text) to ag's dir
 * as rules.yml and appends to b the start of ag's config (agent_yaml_top,
 * poll as there) with an ha: block on ec: prefix, member, ttl_s seconds
 * and ha_poll ("all", "owned"; NULL: the default), then "clusters:\n". */
struct agent;
void etcd_yaml_agent_head(const struct etcd_cluster *ec, const struct agent *ag,
                          struct buf *b, const char *rules, const char *poll,
                          const char *prefix, const char *member, double ttl_s,
                          const char *ha_poll);
/* etcd_pause, etcd_resume: SIGSTOP, SIGCONT every member (etcd stops
 * answering but keeps its data and connections). */
void etcd_pause(struct etcd_cluster *ec);
void etcd_resume(struct etcd_cluster *ec);
/* etcd_stop: kills the members and removes the temp dir. */
void etcd_stop(struct etcd_cluster *ec);

/* etcd_get: the value of key (NUL-terminated into value, cap bytes)
 * and its create revision; returns 0, -1 when the key is absent, -2
 * when etcd did not answer well. */
int etcd_get(const struct etcd_cluster *ec, const char *key, char *value,
             size_t cap, int64_t *create_revision);

#endif
