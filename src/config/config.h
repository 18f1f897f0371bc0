/* config.h: the agent's configuration (SPEC section 2).
 *
 * config_load() reads the YAML file into the plain structs below and
 * validates it strictly: unknown keys, wrong types, bad values and broken
 * cross-field rules are all errors, every one of them reported as
 * "FILE:LINE:COLUMN: message" (1-based, pointing at the offending key or
 * value), all errors of one run at once, in file order (except after a
 * YAML syntax error, where parsing stops; and past CONFIG_MAX_ERRORS,
 * where one last line says so).
 *
 * A loaded struct config is immutable: readers in any thread may use it
 * freely; a reload (SIGHUP) loads a new one and swaps the pointer.
 *
 * Defaults (every key not listed as required is optional):
 *   listen              127.0.0.1:9650   (HOST:PORT or [IPV6]:PORT,
 *                                         port 0-65535; 0 = any free
 *                                         port, logged at start)
 *   dry_run             false            (true or false, unquoted)
 *   state_dir           /var/lib/replguard
 *   audit_log           <state_dir>/audit.jsonl
 *   rules               /etc/replguard/rules
 *   auth.token_file     none: POST endpoints accept loopback only
 *   tls                 none (plain HTTP); if given, cert_file and
 *                       key_file are both required
 *   proxy               none: node calls, admin calls and http/escalate
 *                       actions go direct, whatever http_proxy says;
 *                       an http:// or https:// URL: all go through it
 *   escalation          none: escalations are counted, logged, audited
 *                       and latch, but reach nobody (besides an escalate
 *                       step's url). If given, alertmanager_url is
 *                       required (Alertmanager's base URL: replguard
 *                       POSTs to URL/api/v2/alerts), labels a mapping
 *                       of at most CONFIG_MAX_ESC_LABELS extra labels
 *                       (not alertname, cluster, replica, runbook or
 *                       reason), repost_interval 1m (1s-4m: inside
 *                       Alertmanager's default resolve_timeout of 5m)
 *   poll.interval       1s
 *   poll.timeout        800ms   (must be less than poll.interval)
 *   poll.merkle_interval 30s
 *   clusters            required, at least one, unique names
 *     name              required
 *     profile           stemedb      (stemedb | postgres)
 *     password_file     none: postgres only, the password of every
 *                       node's dsn user, a secret file (secrets.h's
 *                       rules); read at load, so --check-config and a
 *                       reload read it
 *     lag_source        heartbeat    (heartbeat | position | reported)
 *     thresholds        warning 5s, critical 10s, escalate 60s,
 *                       read_max_lag 100ms; warning < critical < escalate
 *     thresholds.read_rise 2, thresholds.read_fall 1 (1-100 polls: a
 *                       replica enters read rotation after read_rise
 *                       consecutive fit polls, leaves after read_fall
 *                       polls above read_max_lag; any other reason
 *                       takes it out at once)
 *     throttle.floor    100 assertions per second
 *     throttle.restore_steps    [100, 500, 1000, 2000], strictly
 *                       increasing, the first not below floor
 *     throttle.restore_interval 5m
 *     replication.mode  async        (async | semi-sync | sync): what the
 *                       cluster runs, as its nodes were started
 *     replication.min_sync_replicas 1 (1 .. replicas, checked in
 *                       semi-sync or when written)
 *     replication.sync_max_lag  the cluster's thresholds.read_max_lag
 *                       (1ms-1h): a connected replica at most this far
 *                       behind counts as a sync replica
 *     failover.enabled  false        (automatic failover; switchover and
 *                       the promote action work either way; true needs
 *                       a replica)
 *     failover.detect_after 3s       (100ms-1h, at least 2 poll intervals
 *                       when written; the default grows to 2 intervals)
 *     failover.quorum   majority     (majority | all | a number 1 ..
 *                       replicas)
 *     failover.max_data_loss 0       (positions, 0 .. 10^15)
 *     failover.block_period 1h       (0s-168h; 0: no anti-flap block)
 *     nodes             required, unique names, exactly one primary
 *       name, url, role required (role: primary | replica); a
 *                       postgres cluster's nodes have dsn: (a libpq
 *                       connection string without a password) instead
 *                       of url:
 *       priority        0            (failover picks the lowest first)
 *   ha                  none: this instance watches and acts on every
 *                       cluster alone. If given (config_ha below):
 *     etcd              required: 1-8 http(s) URLs, tried in turn
 *     prefix            /replguard  (starts with '/', printable, no
 *                       spaces, at most 128 bytes; stored without a
 *                       trailing slash)
 *     member            the host name (a name, as cluster names)
 *     ttl               10s          (2s-1h: etcd's shortest lease is
 *                       about 2 s)
 *     poll              owned        (owned | all)
 *
 * Durations need a unit ("250ms", "5s", "3m", "1h") and a range per key:
 * poll.interval and poll.timeout 10ms-1h, poll.merkle_interval
 * 100ms-24h, thresholds 1ms-168h, throttle.restore_interval 1s-168h.
 * Names (clusters, nodes) are 1-64 characters of [A-Za-z0-9._-]: they
 * appear in URL paths and metric labels. Node URLs are http:// or
 * https://, a host, an optional port 1-65535 and an optional path; they
 * are stored without a trailing slash. Paths are kept as written. */
#ifndef REPLGUARD_CONFIG_H
#define REPLGUARD_CONFIG_H

#include "lib/errlist.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Clusters and nodes are allocated as the file has them; the bounds keep
 * a typo (a generated file gone wrong) from asking for millions of
 * sockets. 10,000 nodes poll on one core (bench/run, section scale);
 * past the bounds the file is refused at the clusters: key's
 * line:column. */
#define CONFIG_MAX_CLUSTERS      20000
#define CONFIG_MAX_NODES         256   /* per cluster */
#define CONFIG_MAX_TOTAL_NODES   50000 /* over all clusters */
#define CONFIG_MAX_RESTORE_STEPS 64
#define CONFIG_MAX_ERRORS        ERRLIST_MAX /* then one "too many errors" line */
#define CONFIG_MAX_FILE_SIZE     LOAD_MAX_FILE_SIZE

enum lag_source {
    LAG_SOURCE_HEARTBEAT,
    LAG_SOURCE_POSITION,
    LAG_SOURCE_REPORTED
};

enum node_role { NODE_ROLE_PRIMARY, NODE_ROLE_REPLICA };

enum cluster_profile { PROFILE_STEMEDB, PROFILE_POSTGRES };

/* What the cluster's nodes run (replication.mode). */
enum repl_mode { REPL_ASYNC, REPL_SEMI_SYNC, REPL_SYNC };

struct config_replication {
    enum repl_mode mode;
    unsigned min_sync_replicas; /* semi-sync: replicas that ack a write */
    double sync_max_lag;        /* seconds: a replica further behind is not
                                   counted as a sync replica */
};

/* failover.quorum: how many replicas must report their stream down. */
enum failover_quorum { QUORUM_MAJORITY, QUORUM_ALL, QUORUM_COUNT };

struct config_failover {
    bool enabled;        /* automatic failover */
    double detect_after; /* seconds the primary must be unreachable */
    enum failover_quorum quorum;
    unsigned quorum_count;     /* QUORUM_COUNT: this many replicas */
    uint64_t max_data_loss;    /* positions a promotion may lose */
    double block_period;       /* seconds; 0: no block */
    char replication_user[64]; /* postgres: the role a repointed standby
                                  streams as; "": libpq's default (the
                                  server's OS user) */
};

struct config_node {
    char *name;
    char *url;      /* "http(s)://host[:port][/path]", no trailing slash; a
                       postgres node's: its dsn, what replguard shows */
    char *dsn;      /* postgres: the libpq connection string as written */
    char *conninfo; /* postgres: dsn plus the password_file's password;
                       what is sent to libpq, never shown or logged */
    enum node_role role;
    unsigned priority;
    char *zone;       /* zone: for ?preference=nearest&zone=, or NULL */
    int line, column; /* where the node's mapping starts, 1-based */
};

/* Lags in seconds. */
struct config_thresholds {
    double warning;
    double critical;
    double escalate;
    double read_max_lag;
    unsigned read_rise; /* consecutive polls fit to enter read rotation */
    unsigned read_fall; /* consecutive polls above read_max_lag to leave */
};

struct config_throttle {
    uint64_t floor; /* assertions per second, never below */
    uint64_t *restore_steps;
    size_t n_restore_steps;
    double restore_interval; /* seconds */
};

struct config_cluster {
    char *name;
    enum cluster_profile profile;
    char *password_file; /* postgres: NULL when not written */
    enum lag_source lag_source;
    struct config_thresholds thresholds;
    struct config_throttle throttle;
    struct config_replication replication;
    struct config_failover failover;
    struct config_node *nodes;
    size_t n_nodes;
    size_t primary;   /* index of the one primary in nodes */
    int line, column; /* where the cluster's mapping starts, 1-based */
};

/* ha.poll: which clusters an instance polls and exports. */
enum ha_poll { HA_POLL_OWNED, HA_POLL_ALL };

#define CONFIG_MAX_ETCD 8

/* The ha: section: several instances share the clusters through etcd. */
struct config_ha {
    bool enabled; /* ha: was written; false: everything else is unset */
    char **etcd;  /* endpoint URLs without trailing slash, tried in turn */
    size_t n_etcd;
    char *prefix; /* "/x/y", no trailing slash */
    char *member; /* this instance's name */
    double ttl;   /* seconds: the member lease */
    enum ha_poll poll;
};

/* Seconds. */
struct config_poll {
    double interval;
    double timeout;
    double merkle_interval;
};

/* Where a key's value was written, 1-based; line 0: defaulted. */
struct config_where {
    int line, column;
};

#define CONFIG_MAX_ESC_LABELS 16

/* An extra label of the escalation alerts. */
struct config_label {
    char *name, *value;
};

/* escalation: where an escalation goes as an Alertmanager alert. */
struct config_escalation {
    char *alertmanager_url;      /* NULL: no escalation: section (the alert is
                                    not sent); without a trailing slash */
    struct config_label *labels; /* extra labels, never one replguard sets */
    size_t n_labels;
    double repost_interval; /* seconds, 1s-4m, default 1m */
};

struct nameindex;

struct config {
    char *path;        /* the name it was loaded under */
    char *listen_host; /* without brackets for IPv6 */
    uint16_t listen_port;
    bool dry_run;
    char *state_dir;
    char *audit_log;
    char *rules;
    char *token_file;    /* NULL: no token, loopback-only POSTs */
    char *tls_cert_file; /* both NULL (no TLS) or both set */
    char *tls_key_file;
    char *proxy; /* NULL: none; proxy variables in the environment are
                    ignored either way */
    struct config_poll poll;
    struct config_escalation escalation;
    struct config_ha ha;
    struct config_cluster *clusters;
    size_t n_clusters;
    struct nameindex *names; /* cluster name -> index in clusters, built
                                at load (config_cluster_index); NULL in a
                                config built by hand */
    struct config_where where_state_dir, where_rules; /* for later checks */
};

/* config_key_error: appends to errs an error about the value of key at
 * where in cfg's file: "FILE:LINE:COLUMN: KEY: message", or "FILE: KEY
 * (the default): message" when the key was not written. For checks made
 * after loading (the rules directory, state_dir). */
void config_key_error(const struct config *cfg, struct errlist *errs,
                      const char *key, struct config_where where,
                      const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* config_load: reads and validates the config file at path. On success
 * sets *out to a config the caller frees with config_free() and returns
 * 0. Otherwise sets *out to NULL, appends every error to errs (which may
 * be NULL to discard them) and returns how many it appended (> 0).
 * Errors that have no place in the file (cannot open, too large) read
 * "FILE: message". */
int config_load(const char *path, struct config **out, struct errlist *errs);

/* config_load_string: config_load() on len bytes of YAML text; name is
 * the file name used in messages and stored in cfg->path. */
int config_load_string(const char *name, const char *text, size_t len,
                       struct config **out, struct errlist *errs);

/* config_free: frees cfg and everything in it; NULL is a no-op. */
void config_free(struct config *cfg);

/* config_find_cluster: the cluster called name, or NULL. The result
 * belongs to cfg. */
const struct config_cluster *config_find_cluster(const struct config *cfg,
                                                 const char *name);
/* config_cluster_index: the index of the cluster called name in
 * cfg->clusters, or -1. O(1) on average for a loaded config (its name
 * index), a linear scan for one built by hand. */
int config_cluster_index(const struct config *cfg, const char *name);

/* config_find_node: the node of cluster c called name, or NULL. The
 * result belongs to the cluster. */
const struct config_node *config_find_node(const struct config_cluster *c,
                                           const char *name);
/* config_node_index: the index of the node called name in c->nodes, or
 * -1. */
int config_node_index(const struct config_cluster *c, const char *name);

/* config_primary_index: the index of c's configured primary in c->nodes
 * (a loaded cluster always has exactly one). */
size_t config_primary_index(const struct config_cluster *c);

/* config_node_target: what the poller is given to reach n: its URL, or
 * a postgres node's conninfo (with the password: pass it to the poller
 * only, never show or log it). Belongs to n. */
const char *config_node_target(const struct config_node *n);

/* config_node_count: the number of nodes over all clusters. */
size_t config_node_count(const struct config *cfg);

/* config_lag_source_name, config_role_name, config_profile_name: the
 * config spelling of an enum value ("heartbeat", "primary", "stemedb"),
 * a static string; "unknown" for a value out of range. */
const char *config_lag_source_name(enum lag_source s);
const char *config_role_name(enum node_role r);
const char *config_profile_name(enum cluster_profile p);
/* config_repl_mode_name: "async", "semi-sync", "sync"; "unknown" out of
 * range. */
const char *config_repl_mode_name(enum repl_mode m);
/* config_ha_poll_name: "owned" or "all"; "unknown" out of range. */
const char *config_ha_poll_name(enum ha_poll p);
/* config_failover_quorum: how many replicas of c make its failover
 * quorum (majority: more than half of its replicas; all; the number). */
unsigned config_failover_quorum(const struct config_cluster *c);

#endif
