/* metrics.h: every metric family replguard exports (SPEC section 5 and
 * the extras README lists), in one table: name, type and help.
 *
 * Code names a family by its enum, never by a string, so a family the
 * exporter does not know cannot be written: a typo is a compile error.
 * The exporter (exporter.c) takes each family's header from here; the
 * executor counts its labelled counters by enum (exec_count). Pure. */
#ifndef REPLGUARD_METRICS_H
#define REPLGUARD_METRICS_H

#include <stdbool.h>

enum metric_family {
    /* the agent */
    MF_BUILD_INFO,
    MF_POLL_ROUNDS_TOTAL,
    MF_POLL_ROUND_DURATION_SECONDS,
    MF_READY,
    MF_DRY_RUN,
    MF_TILT,
    MF_TILT_TOTAL,
    MF_HA_MEMBER,
    MF_HA_OWNED_CLUSTERS,
    MF_HA_IS_OWNER,
    MF_HA_ETCD_UP,
    /* per node or replica (poll loop) */
    MF_UP,
    MF_SCRAPE_FAILURES_TOTAL,
    MF_SCRAPE_DURATION_SECONDS,
    MF_SCRAPE_LAST_SUCCESS_TIMESTAMP_SECONDS,
    MF_NODE_POSITION,
    MF_REPLICA_LAG_SECONDS,
    MF_REPLICA_HEARTBEAT_LAG_SECONDS,
    MF_REPLICA_POSITION_LAG_SECONDS,
    MF_REPLICA_REPORTED_LAG_SECONDS,
    MF_REPLICA_LAG_POSITIONS,
    MF_REPLICA_LAG_BYTES,
    MF_REPLICA_CONNECTED,
    MF_REPLICA_HEALTH,
    MF_REPLICA_STATE,
    MF_REPLICA_IN_READ_ROTATION,
    MF_READ_ROTATION_CHANGES_TOTAL,
    MF_IMPLAUSIBLE_VALUES_TOTAL,
    MF_MERKLE_DIFF_BUCKETS,
    MF_MERKLE_BUCKETS,
    MF_MERKLE_COMPARE_DURATION_SECONDS,
    MF_MERKLE_COMPARE_BYTES_TOTAL,
    MF_MERKLE_LAST_COMPARE_TIMESTAMP_SECONDS,
    MF_MERKLE_COMPARE_ERRORS_TOTAL,
    /* remediation: gauges from the executor's state */
    MF_THROTTLE_ACTIVE,
    MF_THROTTLE_LIMIT,
    MF_REMEDIATION_IN_FLIGHT,
    MF_REMEDIATION_PAUSED,
    MF_JOURNAL_FAILED,
    MF_AUDIT_WRITE_FAILURES_TOTAL,
    /* failover: gauges from the cluster views */
    MF_CLUSTER_EPOCH,
    MF_FAILOVER_IN_PROGRESS,
    MF_FAILOVER_BLOCKED,
    MF_FAILOVER_DURATION_SECONDS,
    MF_FAILOVER_LOST_POSITIONS,
    /* sync health: gauges from the cluster views */
    MF_CLUSTER_SYNC_REPLICAS,
    MF_CLUSTER_SYNC_OK,
    MF_CLUSTER_SYNC_FALLBACK,
    MF_CLUSTER_SYNC_MODE,
    /* remediation: the executor's labelled counters (agent_view.samples) */
    MF_ALERTS_RECEIVED_TOTAL,
    MF_WEBHOOK_REQUESTS_TOTAL,
    MF_CHECK_TOTAL,
    MF_REMEDIATION_ACTIONS_TOTAL,
    MF_REMEDIATION_SKIPPED_TOTAL,
    MF_ESCALATIONS_TOTAL,
    MF_ESCALATION_NOTIFY_FAILURES_TOTAL,
    MF_ALERT_LABELS_FOLDED_TOTAL,
    MF_FAILOVERS_TOTAL,
    MF_COUNT
};

enum metric_type { METRIC_GAUGE, METRIC_COUNTER };

struct metric_info {
    const char *name; /* replguard_... */
    enum metric_type type;
    const char *help; /* one line, no backslash */
    bool sampled;     /* its samples are labelled counters the executor
                         keeps (exec_count) and hands over as
                         agent_view.samples */
};

/* metric_info: the table's row for f, or NULL when f is not a family
 * (MF_COUNT or beyond). */
const struct metric_info *metric_info(enum metric_family f);
/* metric_name: f's name, or "unknown". */
const char *metric_name(enum metric_family f);
/* metric_type_name: "gauge" or "counter". */
const char *metric_type_name(enum metric_type t);

#endif
