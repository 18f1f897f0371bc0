/* metrics.c: the table of metric families (metrics.h). Help strings are
 * written as /metrics shows them. The rows are indexed by enum, so their
 * order here is free; a row left out has no name, which test_exporter's
 * exporter_renders_every_family catches. */
#include "model/metrics.h"

#include <stddef.h>

#define GAUGE(mf, n, h)   [mf] = {n, METRIC_GAUGE, h, false}
#define COUNTER(mf, n, h) [mf] = {n, METRIC_COUNTER, h, false}
#define SAMPLED(mf, n, h) [mf] = {n, METRIC_COUNTER, h, true}

static const struct metric_info rows[MF_COUNT] = {
    GAUGE(MF_BUILD_INFO, "replguard_build_info",
          "replguard's version; always 1."),
    COUNTER(MF_POLL_ROUNDS_TOTAL, "replguard_poll_rounds_total",
            "Poll rounds finished."),
    GAUGE(MF_POLL_ROUND_DURATION_SECONDS,
          "replguard_poll_round_duration_seconds",
          "Duration of the last poll round."),
    GAUGE(MF_READY, "replguard_ready",
          "Whether the config is loaded and a poll round finished."),
    GAUGE(MF_DRY_RUN, "replguard_dry_run",
          "Whether replguard runs in dry-run mode."),
    GAUGE(MF_TILT, "replguard_tilt",
          "1 while actions are held after an engine stall or a clock jump "
          "(TILT)."),
    COUNTER(MF_TILT_TOTAL, "replguard_tilt_total",
            "TILT triggers (entering or extending it), by reason."),
    GAUGE(MF_HA_MEMBER, "replguard_ha_member",
          "1 for each live member of the HA group, as etcd last listed "
          "them (config ha:)."),
    GAUGE(MF_HA_OWNED_CLUSTERS, "replguard_ha_owned_clusters",
          "Clusters this instance owns now (it alone acts on them)."),
    GAUGE(MF_HA_IS_OWNER, "replguard_ha_is_owner",
          "1 when this instance owns the cluster now, else 0."),
    GAUGE(MF_HA_ETCD_UP, "replguard_ha_etcd_up",
          "Whether etcd answered this instance's last request."),
    GAUGE(MF_UP, "replguard_up",
          "Whether the last scrape of the node succeeded."),
    COUNTER(MF_SCRAPE_FAILURES_TOTAL, "replguard_scrape_failures_total",
            "Failed scrapes of the node, by reason."),
    GAUGE(MF_SCRAPE_DURATION_SECONDS, "replguard_scrape_duration_seconds",
          "Duration of the last scrape of the node."),
    GAUGE(MF_SCRAPE_LAST_SUCCESS_TIMESTAMP_SECONDS,
          "replguard_scrape_last_success_timestamp_seconds",
          "When the last successful scrape of the node finished (Unix "
          "time)."),
    GAUGE(MF_NODE_POSITION, "replguard_node_position",
          "Applied position of the node (assertions indexed, "
          "reset-corrected)."),
    GAUGE(MF_REPLICA_LAG_SECONDS, "replguard_replica_lag_seconds",
          "Replication lag of the replica, from the cluster's lag_source."),
    GAUGE(MF_REPLICA_HEARTBEAT_LAG_SECONDS,
          "replguard_replica_heartbeat_lag_seconds",
          "Replication lag of the replica measured by heartbeats."),
    GAUGE(MF_REPLICA_POSITION_LAG_SECONDS,
          "replguard_replica_position_lag_seconds",
          "Replication lag of the replica measured by positions."),
    GAUGE(MF_REPLICA_REPORTED_LAG_SECONDS,
          "replguard_replica_reported_lag_seconds",
          "Replication lag of the replica as its primary reports it."),
    GAUGE(MF_REPLICA_LAG_POSITIONS, "replguard_replica_lag_positions",
          "Positions the replica is behind its primary."),
    GAUGE(MF_REPLICA_LAG_BYTES, "replguard_replica_lag_bytes",
          "Bytes the replica's applied position is behind its primary's "
          "(profiles whose positions are bytes: postgres, WAL)."),
    GAUGE(MF_REPLICA_CONNECTED, "replguard_replica_connected",
          "Whether the replica's replication stream is up."),
    GAUGE(MF_REPLICA_HEALTH, "replguard_replica_health",
          "1 for the replica's current health, 0 for the others."),
    GAUGE(MF_REPLICA_STATE, "replguard_replica_state",
          "1 for the replica's current state (active, paused, syncing, "
          "failed, removed), 0 for the others."),
    GAUGE(MF_REPLICA_IN_READ_ROTATION, "replguard_replica_in_read_rotation",
          "Whether the replica may serve reads at the cluster's "
          "read_max_lag."),
    COUNTER(MF_READ_ROTATION_CHANGES_TOTAL,
            "replguard_read_rotation_changes_total",
            "Times the replica entered or left read rotation (after "
            "read_rise and read_fall)."),
    COUNTER(MF_IMPLAUSIBLE_VALUES_TOTAL, "replguard_implausible_values_total",
            "Scrapes of a replica that showed a value that cannot be true, "
            "by kind (its lag is unknown meanwhile)."),
    GAUGE(MF_MERKLE_DIFF_BUCKETS, "replguard_merkle_diff_buckets",
          "Leaf buckets whose Merkle hash differs from the primary's, as of "
          "the last finished compare (writes in flight excluded)."),
    GAUGE(MF_MERKLE_BUCKETS, "replguard_merkle_buckets",
          "Leaf buckets of the cluster's Merkle trees."),
    GAUGE(MF_MERKLE_COMPARE_DURATION_SECONDS,
          "replguard_merkle_compare_duration_seconds",
          "Duration of the last finished Merkle compare, rechecks included."),
    COUNTER(MF_MERKLE_COMPARE_BYTES_TOTAL,
            "replguard_merkle_compare_bytes_total",
            "Answer bytes fetched from both nodes by Merkle compares."),
    GAUGE(MF_MERKLE_LAST_COMPARE_TIMESTAMP_SECONDS,
          "replguard_merkle_last_compare_timestamp_seconds",
          "When the last Merkle compare finished (Unix time)."),
    COUNTER(MF_MERKLE_COMPARE_ERRORS_TOTAL,
            "replguard_merkle_compare_errors_total",
            "Merkle compares that ended in an error (bad answer, timeout)."),
    GAUGE(MF_THROTTLE_ACTIVE, "replguard_throttle_active",
          "1 while replguard limits the primary's ingest."),
    GAUGE(MF_THROTTLE_LIMIT, "replguard_throttle_limit",
          "The ingest limit replguard set (assertions per second), 0 when "
          "none."),
    GAUGE(MF_REMEDIATION_IN_FLIGHT, "replguard_remediation_in_flight",
          "Remediation actions running."),
    GAUGE(MF_REMEDIATION_PAUSED, "replguard_remediation_paused",
          "1 while remediation is paused."),
    GAUGE(MF_JOURNAL_FAILED, "replguard_journal_failed",
          "1 once a journal write or fsync failed: remediation stopped "
          "(fail-stop) until restart."),
    COUNTER(MF_AUDIT_WRITE_FAILURES_TOTAL,
            "replguard_audit_write_failures_total",
            "Audit log lines lost to failed writes (actions go on; the "
            "journal records them)."),
    GAUGE(MF_CLUSTER_EPOCH, "replguard_cluster_epoch",
          "The highest epoch any node of the cluster reported (never goes "
          "down)."),
    GAUGE(MF_FAILOVER_IN_PROGRESS, "replguard_failover_in_progress",
          "1 while a failover or switchover of the cluster runs."),
    GAUGE(MF_FAILOVER_BLOCKED, "replguard_failover_blocked",
          "1 while automatic failover of the cluster is blocked "
          "(block_period since the last one, until acknowledged)."),
    GAUGE(MF_FAILOVER_DURATION_SECONDS, "replguard_failover_duration_seconds",
          "Duration of the cluster's last failover."),
    GAUGE(MF_FAILOVER_LOST_POSITIONS, "replguard_failover_lost_positions",
          "Acknowledged positions the cluster's last failover lost."),
    GAUGE(MF_CLUSTER_SYNC_REPLICAS, "replguard_cluster_sync_replicas",
          "Replicas of the cluster connected and within "
          "replication.sync_max_lag."),
    GAUGE(MF_CLUSTER_SYNC_OK, "replguard_cluster_sync_ok",
          "1 when the cluster has at least min_sync_replicas sync replicas "
          "(always 1 in async mode)."),
    GAUGE(MF_CLUSTER_SYNC_FALLBACK, "replguard_cluster_sync_fallback",
          "1 when the cluster runs semi-sync or sync but its primary reports "
          "async (fell back) or blocked."),
    GAUGE(MF_CLUSTER_SYNC_MODE, "replguard_cluster_sync_mode",
          "1 for the mode the cluster's primary last reported, 0 for the "
          "others."),
    SAMPLED(MF_FAILOVERS_TOTAL, "replguard_failovers_total",
            "Failovers of the cluster, by kind (automatic, switchover, "
            "runbook) and outcome (success, refused, failed)."),
    SAMPLED(MF_ALERTS_RECEIVED_TOTAL, "replguard_alerts_received_total",
            "Alerts received from Alertmanager, by alertname and status."),
    SAMPLED(MF_WEBHOOK_REQUESTS_TOTAL, "replguard_webhook_requests_total",
            "Webhook requests answered, by HTTP status."),
    SAMPLED(MF_CHECK_TOTAL, "replguard_check_total",
            "Writers' checks (/check/{app}/{cluster}) answered, by cluster, "
            "app (past 256 apps: other) and HTTP status (200, 429)."),
    SAMPLED(MF_REMEDIATION_ACTIONS_TOTAL, "replguard_remediation_actions_total",
            "Remediation actions taken, by outcome (dry_run: recorded only)."),
    SAMPLED(MF_REMEDIATION_SKIPPED_TOTAL, "replguard_remediation_skipped_total",
            "Remediation decisions not acted on, by reason."),
    SAMPLED(MF_ESCALATIONS_TOTAL, "replguard_escalations_total",
            "Escalations raised (escalate_when, failed verify, escalate "
            "steps)."),
    SAMPLED(MF_ESCALATION_NOTIFY_FAILURES_TOTAL,
            "replguard_escalation_notify_failures_total",
            "Posts of escalation alerts that did not reach the receiver "
            "(retried until one does), by receiver."),
    SAMPLED(MF_ALERT_LABELS_FOLDED_TOTAL, "replguard_alert_labels_folded_total",
            "Counts that went to a series with an alert-given label folded "
            "into \"_other\", by metric (series per metric are bounded)."),
};

const struct metric_info *metric_info(enum metric_family f)
{
    if ((unsigned)f >= MF_COUNT || !rows[f].name)
        return NULL;
    return &rows[f];
}

const char *metric_name(enum metric_family f)
{
    const struct metric_info *m = metric_info(f);
    return m ? m->name : "unknown";
}

const char *metric_type_name(enum metric_type t)
{
    return t == METRIC_COUNTER ? "counter" : "gauge";
}
