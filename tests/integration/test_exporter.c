/* test_exporter.c: the renderers behind a snapshot (exporter, state JSON)
 * and the snapshot itself, on hand-made agent views.
 *
 * The fixture: cluster "main" (node1 primary; node2 healthy; node3
 * degraded; node4 stale, no lag number) and cluster "edge" (e1 its
 * configured primary, down, so the cluster has none; a disconnected
 * replica whose name needs escaping; e3 demoted). */
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monitor/exporter.h"
#include "model/metrics.h"
#include "monitor/snapshot.h"
#include "monitor/statejson.h"
#include "lib/util.h"

#define ODD_NAME "we\"ird\\node"     /* we"ird\node */
#define ODD_ESC  "we\\\"ird\\\\node" /* we\"ird\\node */
#define BIG_POS  9007199254740993ULL /* 2^53 + 1: not a double */

struct fixture {
    struct cluster_view clusters[2];
    struct node_view nodes[7];
    struct agent_view v;
};

static struct node_view replica(const char *cluster, const char *name,
                                double lag, enum health h)
{
    struct node_view n = {.cluster = cluster,
                          .name = name,
                          .role = "replica",
                          .url = "http://10.0.0.2:18180",
                          .up = true,
                          .fresh = true,
                          .last_failure = -1,
                          .last_ok_wall = 1763769600.25,
                          .scrape_duration = 0.003,
                          .have_position = true,
                          .position = 1000,
                          .health = h,
                          .in_rotation = true};
    n.rv = (struct replica_view){.reachable = true,
                                 .fresh = true,
                                 .connected = true,
                                 .have_lag = true,
                                 .lag = lag};
    n.have_hb_lag = true;
    n.hb_lag = lag;
    n.have_lag_positions = true;
    n.lag_positions = 3;
    return n;
}

static struct node_view primary(const char *cluster, const char *name)
{
    struct node_view n = {.cluster = cluster,
                          .name = name,
                          .role = "primary",
                          .url = "http://10.0.0.1:18180",
                          .is_primary = true,
                          .up = true,
                          .fresh = true,
                          .last_failure = -1,
                          .last_ok_wall = 1763769600.25,
                          .scrape_duration = 0.002,
                          .have_position = true,
                          .position = BIG_POS};
    return n;
}

static void stale(struct node_view *n)
{
    n->up = n->fresh = false;
    n->rv.reachable = n->rv.fresh = false;
    n->rv.have_lag = n->have_hb_lag = n->have_lag_positions = false;
    n->last_failure = SCRAPE_TIMEOUT;
    n->failures[SCRAPE_TIMEOUT] = 3;
    n->health = HEALTH_UNKNOWN;
    n->in_rotation = false;
    n->rotation_why = "unreachable";
}

/* edge_nodes: n[0] a primary never scraped, n[1] a disconnected replica
 * with an odd name, n[2] a demoted replica. */
static void edge_nodes(struct node_view *n)
{
    n[0] = primary("edge", "e1");
    n[0].up = n[0].fresh = n[0].have_position = false;
    n[0].last_ok_wall = 0;
    n[0].last_failure = SCRAPE_CONNECT;
    n[0].failures[SCRAPE_CONNECT] = 7;
    n[1] = replica("edge", ODD_NAME, 0.01, HEALTH_UNHEALTHY);
    n[1].rv.connected = false;
    n[1].in_rotation = false;
    n[1].rotation_why = "disconnected";
    n[2] = replica("edge", "e3", 0, HEALTH_HEALTHY);
    n[2].role = "demoted";
    n[2].rv.demoted = true;
    n[2].in_rotation = false;
    n[2].rotation_why = "demoted";
}

static void fixture_init(struct fixture *fx)
{
    struct node_view *n = fx->nodes;
    n[0] = primary("main", "node1");
    n[1] = replica("main", "node2", 0.05, HEALTH_HEALTHY);
    n[1].have_pos_lag = true;
    n[1].pos_lag = 0.07;
    n[2] = replica("main", "node3", 6.5, HEALTH_DEGRADED);
    n[2].have_reported_lag = true;
    n[2].reported_lag = 6.25;
    n[2].in_rotation = false;
    n[2].rotation_why = "lag above max_lag";
    n[3] = replica("main", "node4", 0, HEALTH_UNKNOWN);
    stale(&n[3]);
    edge_nodes(&n[4]);
    struct thresholds th = {5, 10, 60, 0.1};
    fx->clusters[0] = (struct cluster_view){
        .name = "main", .lag_source = "heartbeat", .th = th, .n_nodes = 4};
    fx->clusters[1] = (struct cluster_view){.name = "edge",
                                            .lag_source = "position",
                                            .th = th,
                                            .first_node = 4,
                                            .n_nodes = 3,
                                            .primary = -1};
    fx->v = (struct agent_view){.version = "0.1.0-test",
                                .generated_wall = 1763769601.5,
                                .rounds = 42,
                                .round_duration = 0.125,
                                .interval = 1,
                                .ready = true,
                                .clusters = fx->clusters,
                                .n_clusters = 2,
                                .nodes = fx->nodes,
                                .n_nodes = 7};
}

static char *render(const struct agent_view *v)
{
    struct buf b;
    buf_init(&b, 0);
    exporter_render(v, &b);
    return buf_detach(&b);
}

/* has_line: whether text holds line as a whole line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line))
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

static size_t count(const char *text, const char *needle)
{
    size_t k = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        k++;
    return k;
}

/* --- promtool ------------------------------------------------------------ */

/* spawn_promtool: starts `pt check metrics` reading the pipe *in_fd
 * writes to, its stdout and stderr going to out. */
static pid_t spawn_promtool(const char *pt, FILE *out, int *in_fd)
{
    int in[2];
    ck_assert_int_eq(pipe(in), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(fileno(out), STDOUT_FILENO);
        dup2(fileno(out), STDERR_FILENO);
        close(in[0]);
        close(in[1]);
        execl(pt, pt, "check", "metrics", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    *in_fd = in[1];
    return pid;
}

/* promtool_check: `$PROMTOOL check metrics` reads text on stdin and must
 * say nothing and exit 0. Skipped without PROMTOOL unless CI=true. */
static void promtool_check(const char *text)
{
    const char *pt = getenv("PROMTOOL");
    const char *ci = getenv("CI");
    if (!pt || !*pt) {
        ck_assert_msg(!ci || strcmp(ci, "true") != 0,
                      "CI=true but PROMTOOL is empty: install promtool");
        return;
    }
    FILE *out = tmpfile();
    ck_assert_ptr_nonnull(out);
    signal(SIGPIPE, SIG_IGN);
    int fd;
    pid_t pid = spawn_promtool(pt, out, &fd);
    size_t len = strlen(text), off = 0;
    while (off < len) { /* an early exit (EPIPE) shows in the status */
        ssize_t k = write(fd, text + off, len - off);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    close(fd);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    char said[4096];
    rewind(out);
    size_t n = fread(said, 1, sizeof(said) - 1, out);
    said[n] = '\0';
    fclose(out);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 && n == 0,
                  "promtool check metrics (status %d) said: %s", status, said);
}

/* --- exporter ------------------------------------------------------------ */

static const char *const want_lines[] = {
    "# HELP replguard_build_info replguard's version; always 1.",
    "# TYPE replguard_build_info gauge",
    "replguard_build_info{version=\"0.1.0-test\"} 1",
    "# TYPE replguard_up gauge",
    "replguard_up{cluster=\"main\",node=\"node1\",role=\"primary\"} 1",
    "replguard_up{cluster=\"main\",node=\"node4\",role=\"replica\"} 0",
    "replguard_up{cluster=\"edge\",node=\"e3\",role=\"demoted\"} 1",
    "# TYPE replguard_scrape_duration_seconds gauge",
    "replguard_scrape_duration_seconds{cluster=\"main\",node=\"node1\"} 0.002",
    "# TYPE replguard_scrape_last_success_timestamp_seconds gauge",
    "replguard_scrape_last_success_timestamp_seconds{cluster=\"main\","
    "node=\"node2\"} 1763769600.25",
    "# TYPE replguard_scrape_failures_total counter",
    "replguard_scrape_failures_total{cluster=\"main\",node=\"node4\","
    "reason=\"timeout\"} 3",
    "replguard_scrape_failures_total{cluster=\"main\",node=\"node4\","
    "reason=\"too_large\"} 0",
    "replguard_scrape_failures_total{cluster=\"edge\",node=\"e1\","
    "reason=\"connect\"} 7",
    "replguard_node_position{cluster=\"main\",node=\"node1\"} "
    "9007199254740993",
    "replguard_node_position{cluster=\"main\",node=\"node2\"} 1000",
    "# TYPE replguard_replica_lag_seconds gauge",
    "replguard_replica_lag_seconds{cluster=\"main\",replica=\"node2\"} 0.05",
    "replguard_replica_lag_seconds{cluster=\"main\",replica=\"node3\"} 6.5",
    "replguard_replica_lag_seconds{cluster=\"edge\",replica=\"e3\"} 0",
    "replguard_replica_heartbeat_lag_seconds{cluster=\"main\","
    "replica=\"node2\"} 0.05",
    "replguard_replica_position_lag_seconds{cluster=\"main\","
    "replica=\"node2\"} 0.07",
    "replguard_replica_reported_lag_seconds{cluster=\"main\","
    "replica=\"node3\"} 6.25",
    "replguard_replica_lag_positions{cluster=\"main\",replica=\"node3\"} 3",
    "replguard_replica_connected{cluster=\"main\",replica=\"node2\"} 1",
    "replguard_replica_connected{cluster=\"edge\",replica=\"" ODD_ESC "\"} 0",
    "replguard_replica_health{cluster=\"main\",replica=\"node3\","
    "health=\"degraded\"} 1",
    "replguard_replica_health{cluster=\"main\",replica=\"node4\","
    "health=\"unknown\"} 1",
    "replguard_replica_in_read_rotation{cluster=\"main\",replica=\"node2\"} 1",
    "replguard_replica_in_read_rotation{cluster=\"main\",replica=\"node4\"} 0",
    "replguard_replica_in_read_rotation{cluster=\"edge\",replica=\"e3\"} 0",
    "# TYPE replguard_poll_rounds_total counter",
    "replguard_poll_rounds_total 42",
    "replguard_poll_round_duration_seconds 0.125",
    "replguard_ready 1",
    "replguard_dry_run 0",
    "# TYPE replguard_tilt gauge",
    "replguard_tilt 0",
    "# TYPE replguard_tilt_total counter",
    "replguard_tilt_total{reason=\"stall\"} 0",
    "replguard_tilt_total{reason=\"clock_jump\"} 0",
};

START_TEST(exporter_sample_lines)
{
    struct fixture fx;
    fixture_init(&fx);
    char *text = render(&fx.v);
    ck_assert_msg(has_line(text, want_lines[_i]), "missing line %s in:\n%s",
                  want_lines[_i], text);
    free(text);
}
END_TEST

START_TEST(exporter_unknowns_are_absent)
{
    struct fixture fx;
    fixture_init(&fx);
    fx.nodes[3].rv.have_lag = true; /* stale: a number it does not have */
    fx.nodes[3].have_reported_lag = true;
    fx.nodes[1].scrape_duration = NAN;
    char *text = render(&fx.v);
    ck_assert_ptr_null(strstr(text, "_lag_seconds{cluster=\"main\","
                                    "replica=\"node4\"}"));
    ck_assert_ptr_null(strstr(text, "connected{cluster=\"main\","
                                    "replica=\"node4\"}"));
    /* health x4, state x5, rotation and its changes, and the Merkle
     * counters (bytes, errors) */
    ck_assert_uint_eq(count(text, "replica=\"node4\""), 13);
    ck_assert_ptr_null(strstr(text, "replica=\"node1\"")); /* a primary */
    ck_assert_ptr_null(strstr(text, "replica=\"e1\""));
    ck_assert_ptr_null(strstr(text, "node_position{cluster=\"edge\",node="
                                    "\"e1\"}"));
    ck_assert_ptr_null(strstr(text, "success_timestamp_seconds{cluster="
                                    "\"edge\",node=\"e1\"}"));
    ck_assert_ptr_null(strstr(
        text, "scrape_duration_seconds{cluster=\"main\",node=\"node2\""));
    ck_assert_ptr_null(strstr(text, "NaN"));
    ck_assert_ptr_null(strstr(text, "Inf"));
    free(text);
}
END_TEST

START_TEST(exporter_health_one_hot)
{
    struct fixture fx;
    fixture_init(&fx);
    char *text = render(&fx.v);
    for (size_t i = 0; i < fx.v.n_nodes; i++) {
        const struct node_view *n = &fx.nodes[i];
        if (n->is_primary)
            continue;
        size_t ones = 0;
        for (int h = 0; h < HEALTH_COUNT; h++) {
            struct buf want;
            buf_init(&want, 0);
            buf_printf(&want,
                       "replguard_replica_health{cluster=\"%s\","
                       "replica=\"%s\",health=\"%s\"} ",
                       n->cluster,
                       n->name == fx.nodes[5].name ? ODD_ESC : n->name,
                       health_name(h));
            bool one = (int)n->health == h;
            buf_puts(&want, one ? "1" : "0");
            ck_assert_msg(has_line(text, want.data), "missing %s", want.data);
            ones += one;
            buf_free(&want);
        }
        ck_assert_uint_eq(ones, 1);
    }
    free(text);
}
END_TEST

/* Every family's samples are together, under one HELP and one TYPE. */
START_TEST(exporter_groups_families)
{
    struct fixture fx;
    fixture_init(&fx);
    char *text = render(&fx.v);
    char seen[64][64];
    size_t n_seen = 0;
    for (char *line = text; *line; line = strchr(line, '\n') + 1) {
        if (line[0] == '#')
            continue;
        size_t len = strcspn(line, "{ ");
        ck_assert_uint_lt(len, sizeof(seen[0]));
        char name[64];
        memcpy(name, line, len);
        name[len] = '\0';
        if (n_seen && strcmp(seen[n_seen - 1], name) == 0)
            continue;
        for (size_t k = 0; k < n_seen; k++)
            ck_assert_msg(strcmp(seen[k], name) != 0, "%s split", name);
        ck_assert_uint_lt(n_seen, ARRAY_LEN(seen));
        memcpy(seen[n_seen++], name, len + 1);
        struct buf hdr;
        buf_init(&hdr, 0);
        buf_printf(&hdr, "# TYPE %s ", name);
        ck_assert_uint_eq(count(text, hdr.data), 1);
        buf_reset(&hdr);
        buf_printf(&hdr, "# HELP %s ", name);
        ck_assert_uint_eq(count(text, hdr.data), 1);
        buf_free(&hdr);
    }
    /* with replguard_implausible_values_total, the failover gauges
     * every cluster has (in_progress, blocked), the rotation changes and
     * the sync gauges every cluster has (replicas, ok, fallback), and
     * the replica states */
    ck_assert_uint_eq(n_seen, 30);
    free(text);
}
END_TEST

START_TEST(exporter_escapes_labels)
{
    struct fixture fx;
    fixture_init(&fx);
    fx.nodes[6].name = "line\nbreak";
    fx.v.version = "v\"1\\";
    char *text = render(&fx.v);
    ck_assert(has_line(text, "replguard_build_info{version=\"v\\\"1\\\\\"} 1"));
    ck_assert(has_line(text, "replguard_replica_in_read_rotation{cluster="
                             "\"edge\",replica=\"line\\nbreak\"} 0"));
    ck_assert_ptr_null(strstr(text, "line\nbreak"));
    promtool_check(text);
    free(text);
}
END_TEST

START_TEST(exporter_passes_promtool)
{
    struct fixture fx;
    fixture_init(&fx);
    char *text = render(&fx.v);
    promtool_check(text);
    free(text);
}
END_TEST

/* Every family SPEC section 5 names, then the extras README lists under
 * "Endpoints and metrics", with their types: written out here rather than
 * taken from metrics.c, so a family renamed or dropped there fails. */
static const struct {
    const char *name, *type;
} every_family[] = {
    {"replguard_build_info", "gauge"},
    {"replguard_ha_member", "gauge"},
    {"replguard_ha_owned_clusters", "gauge"},
    {"replguard_ha_is_owner", "gauge"},
    {"replguard_ha_etcd_up", "gauge"},
    {"replguard_up", "gauge"},
    {"replguard_scrape_duration_seconds", "gauge"},
    {"replguard_scrape_failures_total", "counter"},
    {"replguard_node_position", "gauge"},
    {"replguard_replica_lag_seconds", "gauge"},
    {"replguard_replica_lag_positions", "gauge"},
    {"replguard_replica_lag_bytes", "gauge"},
    {"replguard_replica_reported_lag_seconds", "gauge"},
    {"replguard_replica_connected", "gauge"},
    {"replguard_replica_health", "gauge"},
    {"replguard_replica_state", "gauge"},
    {"replguard_replica_in_read_rotation", "gauge"},
    {"replguard_merkle_diff_buckets", "gauge"},
    {"replguard_merkle_buckets", "gauge"},
    {"replguard_merkle_compare_duration_seconds", "gauge"},
    {"replguard_merkle_compare_bytes_total", "counter"},
    {"replguard_merkle_last_compare_timestamp_seconds", "gauge"},
    {"replguard_throttle_active", "gauge"},
    {"replguard_throttle_limit", "gauge"},
    {"replguard_alerts_received_total", "counter"},
    {"replguard_webhook_requests_total", "counter"},
    {"replguard_check_total", "counter"},
    {"replguard_remediation_actions_total", "counter"},
    {"replguard_remediation_skipped_total", "counter"},
    {"replguard_remediation_in_flight", "gauge"},
    {"replguard_remediation_paused", "gauge"},
    {"replguard_escalations_total", "counter"},
    {"replguard_escalation_notify_failures_total", "counter"},
    /* the extras */
    {"replguard_replica_heartbeat_lag_seconds", "gauge"},
    {"replguard_replica_position_lag_seconds", "gauge"},
    {"replguard_poll_rounds_total", "counter"},
    {"replguard_poll_round_duration_seconds", "gauge"},
    {"replguard_ready", "gauge"},
    {"replguard_dry_run", "gauge"},
    {"replguard_merkle_compare_errors_total", "counter"},
    {"replguard_scrape_last_success_timestamp_seconds", "gauge"},
    {"replguard_implausible_values_total", "counter"},
    {"replguard_tilt", "gauge"},
    {"replguard_tilt_total", "counter"},
    {"replguard_journal_failed", "gauge"},
    {"replguard_audit_write_failures_total", "counter"},
    {"replguard_alert_labels_folded_total", "counter"},
    /* failover (issue 15) */
    {"replguard_cluster_epoch", "gauge"},
    {"replguard_failover_in_progress", "gauge"},
    {"replguard_failover_blocked", "gauge"},
    {"replguard_failover_duration_seconds", "gauge"},
    {"replguard_failover_lost_positions", "gauge"},
    {"replguard_failovers_total", "counter"},
    /* sync health and rotation (issue 16) */
    {"replguard_read_rotation_changes_total", "counter"},
    {"replguard_cluster_sync_replicas", "gauge"},
    {"replguard_cluster_sync_ok", "gauge"},
    {"replguard_cluster_sync_fallback", "gauge"},
    {"replguard_cluster_sync_mode", "gauge"},
};

/* One sample of each labelled counter family the executor keeps, and
 * one of a family that has its own renderer (it must not show twice). */
static const struct view_sample every_sample[] = {
    {MF_ALERTS_RECEIVED_TOTAL, {"alertname", "status"}, {"Lag", "firing"}, 2},
    {MF_WEBHOOK_REQUESTS_TOTAL, {"code"}, {"200"}, 5},
    {MF_CHECK_TOTAL, {"cluster", "app", "code"}, {"main", "archive", "429"}, 2},
    {MF_REMEDIATION_ACTIONS_TOTAL,
     {"cluster", "runbook", "action", "outcome"},
     {"main", "lag", "throttle", "success"},
     1},
    {MF_REMEDIATION_SKIPPED_TOTAL,
     {"cluster", "runbook", "reason"},
     {"main", "lag", "cooldown"},
     1},
    {MF_ESCALATIONS_TOTAL, {"cluster", "runbook"}, {"main", "lag"}, 1},
    {MF_ESCALATION_NOTIFY_FAILURES_TOTAL, {"receiver"}, {"alertmanager"}, 2},
    {MF_ALERT_LABELS_FOLDED_TOTAL,
     {"metric"},
     {"replguard_alerts_received_total"},
     3},
    {MF_FAILOVERS_TOTAL,
     {"cluster", "kind", "outcome"},
     {"main", "automatic", "success"},
     1},
    {MF_UP, {"cluster", "node", "role"}, {"main", "node1", "primary"}, 0},
};

static const struct view_failover a_failover = {
    "automatic", "success", "node1", "node2", NULL, 2, 0, 1763769500, 1.5};

/* full_view: the fixture with every family filled: a Merkle compare,
 * remediation on with a throttle, TILT and the failure gauges. */
static void full_view(struct fixture *fx)
{
    fixture_init(fx);
    struct node_view *n = &fx->nodes[1];
    n->have_merkle = true;
    n->merkle_diff = 2;
    n->merkle_duration = 0.5;
    n->merkle_bytes_total = 4096;
    n->merkle_last_wall = 1763769600.5;
    n->merkle_errors_total = 1;
    n->implausible[0] = 1;
    n->have_lag_bytes = true; /* as if its positions were bytes */
    fx->clusters[0].merkle_buckets = 64;
    fx->clusters[0].throttle_active = true;
    fx->clusters[0].throttle_limit = 250;
    fx->v.tilt = true;
    fx->v.tilt_total[0] = 1;
    static const char *const members[] = {"agent-a", "agent-b"};
    fx->v.ha = true;
    fx->v.ha_etcd_up = true;
    fx->v.ha_owned = 1;
    fx->v.ha_members = members;
    fx->v.n_ha_members = ARRAY_LEN(members);
    fx->v.remediation = true;
    fx->v.paused = true;
    fx->v.journal_failed = true;
    fx->v.audit_write_failures = 2;
    fx->v.in_flight = 1;
    fx->clusters[0].epoch = 2;
    fx->clusters[0].last_failover = &a_failover;
    fx->clusters[0].sync_mode = "semi-sync";
    fx->v.samples = every_sample;
    fx->v.n_samples = ARRAY_LEN(every_sample);
}

/* has_family: whether text has name's TYPE line (with type) once, and a
 * sample of it. */
static bool has_family(const char *text, const char *name, const char *type)
{
    char line[128];
    snprintf(line, sizeof(line), "# TYPE %s %s", name, type);
    if (!has_line(text, line))
        return false;
    snprintf(line, sizeof(line), "# TYPE %s ", name);
    if (count(text, line) != 1)
        return false;
    snprintf(line, sizeof(line), "\n%s{", name);
    bool labelled = strstr(text, line) != NULL;
    snprintf(line, sizeof(line), "\n%s ", name);
    return labelled || strstr(text, line) != NULL;
}

/* The table in metrics.c and the list above agree, every family renders
 * with its type and a sample, and the whole passes promtool. */
START_TEST(exporter_renders_every_family)
{
    ck_assert_uint_eq(ARRAY_LEN(every_family), MF_COUNT);
    for (int f = 0; f < MF_COUNT; f++) {
        const struct metric_info *m = metric_info((enum metric_family)f);
        ck_assert_msg(m != NULL, "family %d has no row in metrics.c", f);
        ck_assert_msg(m->help && *m->help && !strpbrk(m->help, "\\\n"),
                      "%s: help", m->name);
    }
    ck_assert_ptr_null(metric_info(MF_COUNT));
    struct fixture fx;
    full_view(&fx);
    char *text = render(&fx.v);
    for (size_t i = 0; i < ARRAY_LEN(every_family); i++)
        ck_assert_msg(
            has_family(text, every_family[i].name, every_family[i].type),
            "%s (%s): no TYPE line, two, or no sample", every_family[i].name,
            every_family[i].type);
    ck_assert_uint_eq(count(text, "# TYPE "), MF_COUNT);
    ck_assert(has_line(text, "replguard_alert_labels_folded_total{metric="
                             "\"replguard_alerts_received_total\"} 3"));
    ck_assert(has_line(text, "replguard_remediation_actions_total{cluster="
                             "\"main\",runbook=\"lag\",action=\"throttle\","
                             "outcome=\"success\"} 1"));
    ck_assert(!has_line(text, "replguard_up{cluster=\"main\",node=\"node1\","
                              "role=\"primary\"} 0"));
    promtool_check(text);
    free(text);
}
END_TEST

/* A view of one cluster with a primary and n replicas, on the heap:
 * free with big_view_free(). */
struct big_view {
    struct agent_view v;
    struct cluster_view c;
    struct node_view *nodes;
    char (*names)[16];
};

static struct big_view *big_view_new(size_t n)
{
    struct big_view *b = xcalloc(1, sizeof(*b));
    b->nodes = xcalloc(n + 1, sizeof(*b->nodes));
    b->names = xcalloc(n + 1, sizeof(*b->names));
    b->nodes[0] = primary("big", "node0");
    for (size_t i = 1; i <= n; i++) {
        snprintf(b->names[i], sizeof(b->names[i]), "node%zu", i);
        b->nodes[i] = replica("big", b->names[i], (double)i / 100,
                              i % 7 ? HEALTH_HEALTHY : HEALTH_DEGRADED);
        if (i % 13 == 0)
            stale(&b->nodes[i]);
    }
    b->c = (struct cluster_view){.name = "big",
                                 .lag_source = "position",
                                 .th = {5, 10, 60, 0.1},
                                 .n_nodes = n + 1};
    b->v = (struct agent_view){.version = "0.1.0",
                               .rounds = 1,
                               .ready = true,
                               .clusters = &b->c,
                               .n_clusters = 1,
                               .nodes = b->nodes,
                               .n_nodes = n + 1};
    return b;
}

static void big_view_free(struct big_view *b)
{
    free(b->names);
    free(b->nodes);
    free(b);
}

START_TEST(exporter_thousand_replicas)
{
    struct big_view *v = big_view_new(1000);
    char *text = render(&v->v);
    ck_assert(has_line(text, "replguard_replica_lag_seconds{cluster=\"big\","
                             "replica=\"node1000\"} 10"));
    ck_assert_ptr_null(strstr(text, "_lag_seconds{cluster=\"big\","
                                    "replica=\"node13\"}"));
    ck_assert_uint_eq(count(text, "\nreplguard_replica_health{"), 4000);
    promtool_check(text);
    free(text);
    big_view_free(v);
}
END_TEST

/* --- state JSON ----------------------------------------------------------- */

static cJSON *state_of(const struct agent_view *v, char **text)
{
    struct buf b;
    buf_init(&b, 0);
    statejson_render(v, &b);
    *text = buf_detach(&b);
    cJSON *root = cJSON_Parse(*text);
    ck_assert_msg(root != NULL, "not JSON: %s", *text);
    return root;
}

static cJSON *item(const cJSON *o, const char *key)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(it != NULL, "no \"%s\"", key);
    return it;
}

static const char *str_of(const cJSON *o, const char *key)
{
    cJSON *it = item(o, key);
    ck_assert_msg(cJSON_IsString(it), "\"%s\" is not a string", key);
    return it->valuestring;
}

static double num_of(const cJSON *o, const char *key)
{
    cJSON *it = item(o, key);
    ck_assert_msg(cJSON_IsNumber(it), "\"%s\" is not a number", key);
    return it->valuedouble;
}

static bool is_null(const cJSON *o, const char *key)
{
    return cJSON_IsNull(item(o, key));
}

static bool is_true(const cJSON *o, const char *key)
{
    cJSON *it = item(o, key);
    ck_assert_msg(cJSON_IsBool(it), "\"%s\" is not a boolean", key);
    return cJSON_IsTrue(it);
}

START_TEST(state_agent_and_clusters)
{
    struct fixture fx;
    fixture_init(&fx);
    char *text;
    cJSON *root = state_of(&fx.v, &text);
    ck_assert_str_eq(str_of(root, "version"), "0.1.0-test");
    ck_assert_double_eq(num_of(root, "generated_at"), 1763769601.5);
    ck_assert(is_true(root, "ready"));
    ck_assert(!is_true(root, "dry_run"));
    ck_assert_double_eq(num_of(root, "rounds"), 42);
    cJSON *clusters = item(root, "clusters");
    ck_assert_int_eq(cJSON_GetArraySize(clusters), 2);
    cJSON *main_c = cJSON_GetArrayItem(clusters, 0);
    cJSON *edge = cJSON_GetArrayItem(clusters, 1);
    ck_assert_str_eq(str_of(main_c, "name"), "main");
    ck_assert_str_eq(str_of(main_c, "lag_source"), "heartbeat");
    ck_assert_str_eq(str_of(main_c, "primary"), "node1");
    cJSON *th = item(main_c, "thresholds");
    ck_assert_double_eq(num_of(th, "warning"), 5);
    ck_assert_double_eq(num_of(th, "critical"), 10);
    ck_assert_double_eq(num_of(th, "escalate"), 60);
    ck_assert_double_eq(num_of(th, "read_max_lag"), 0.1);
    ck_assert(is_null(edge, "primary"));
    ck_assert_int_eq(cJSON_GetArraySize(item(main_c, "nodes")), 4);
    ck_assert_int_eq(cJSON_GetArraySize(item(edge, "nodes")), 3);
    /* positions are exact, past 2^53 */
    ck_assert_ptr_nonnull(strstr(text, "\"position\":9007199254740993"));
    cJSON *tilt = item(root, "tilt");
    ck_assert(!is_true(tilt, "active"));
    ck_assert(is_null(tilt, "until"));
    ck_assert(is_null(tilt, "reason"));
    ck_assert(is_null(tilt, "seconds"));
    ck_assert_double_eq(num_of(tilt, "stall_total"), 0);
    cJSON_Delete(root);
    free(text);
}
END_TEST

/* TILT: the gauge, the counter by reason, and the state's tilt object. */
START_TEST(tilt_in_metrics_and_state)
{
    struct fixture fx;
    fixture_init(&fx);
    fx.v.tilt = true;
    fx.v.tilt_until_wall = 1763769631.5;
    fx.v.tilt_reason = "clock_jump";
    fx.v.tilt_amount = -3.25;
    fx.v.tilt_total[TILT_STALL] = 2;
    fx.v.tilt_total[TILT_CLOCK_JUMP] = 1;
    char *text = render(&fx.v);
    ck_assert(has_line(text, "replguard_tilt 1"));
    ck_assert(has_line(text, "replguard_tilt_total{reason=\"stall\"} 2"));
    ck_assert(has_line(text, "replguard_tilt_total{reason=\"clock_jump\"} 1"));
    promtool_check(text);
    free(text);
    cJSON *root = state_of(&fx.v, &text);
    cJSON *tilt = item(root, "tilt");
    ck_assert(is_true(tilt, "active"));
    ck_assert_double_eq(num_of(tilt, "until"), 1763769631.5);
    ck_assert_str_eq(str_of(tilt, "reason"), "clock_jump");
    ck_assert_double_eq(num_of(tilt, "seconds"), -3.25);
    ck_assert_double_eq(num_of(tilt, "stall_total"), 2);
    ck_assert_double_eq(num_of(tilt, "clock_jump_total"), 1);
    cJSON_Delete(root);
    free(text);
}
END_TEST

/* Strings reach the document escaped as JSON requires and parse back
 * unchanged; a number that is not finite is null. */
START_TEST(state_escapes_strings)
{
    static const char odd[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f \xc3\xbc";
    struct fixture fx;
    fixture_init(&fx);
    fx.v.version = odd;
    fx.nodes[6].name = odd;
    fx.v.generated_wall = NAN;
    char *text;
    cJSON *root = state_of(&fx.v, &text);
    ck_assert_str_eq(str_of(root, "version"), odd);
    cJSON *edge = cJSON_GetArrayItem(item(root, "clusters"), 1);
    cJSON *nodes = item(edge, "nodes");
    cJSON *last = cJSON_GetArrayItem(nodes, cJSON_GetArraySize(nodes) - 1);
    ck_assert_str_eq(str_of(last, "name"), odd);
    ck_assert(is_null(root, "generated_at"));
    ck_assert_ptr_nonnull(strstr(text, "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t"
                                       "\\u0001\\u001f\x7f \xc3\xbc\""));
    cJSON_Delete(root);
    free(text);
}
END_TEST

/* node_json: node i of cluster c in the state document of the fixture. */
static cJSON *node_json(cJSON *root, int c, int i)
{
    cJSON *cl = cJSON_GetArrayItem(item(root, "clusters"), c);
    cJSON *n = cJSON_GetArrayItem(item(cl, "nodes"), i);
    ck_assert_ptr_nonnull(n);
    return n;
}

START_TEST(state_known_nodes)
{
    struct fixture fx;
    fixture_init(&fx);
    char *text;
    cJSON *root = state_of(&fx.v, &text);
    cJSON *p = node_json(root, 0, 0), *ok = node_json(root, 0, 1);
    cJSON *deg = node_json(root, 0, 2);
    ck_assert_str_eq(str_of(p, "role"), "primary");
    ck_assert(is_true(p, "is_primary"));
    ck_assert_ptr_null(cJSON_GetObjectItem(p, "lag")); /* replicas only */
    ck_assert_ptr_null(cJSON_GetObjectItem(p, "health"));
    ck_assert_str_eq(str_of(ok, "url"), "http://10.0.0.2:18180");
    ck_assert(is_null(ok, "last_failure"));
    ck_assert_double_eq(num_of(ok, "last_ok"), 1763769600.25);
    ck_assert_double_eq(num_of(ok, "lag"), 0.05);
    ck_assert_double_eq(num_of(ok, "lag_heartbeat"), 0.05);
    ck_assert_double_eq(num_of(ok, "lag_position"), 0.07);
    ck_assert(is_null(ok, "lag_reported"));
    ck_assert_double_eq(num_of(ok, "lag_positions"), 3);
    ck_assert(is_true(ok, "connected"));
    ck_assert(!is_true(ok, "demoted"));
    ck_assert_str_eq(str_of(ok, "health"), "healthy");
    ck_assert(is_true(ok, "in_read_rotation"));
    ck_assert(is_null(ok, "rotation_reason"));
    ck_assert_str_eq(str_of(deg, "health"), "degraded");
    ck_assert_double_eq(num_of(deg, "lag_reported"), 6.25);
    ck_assert_str_eq(str_of(deg, "rotation_reason"), "lag above max_lag");
    cJSON_Delete(root);
    free(text);
}
END_TEST

START_TEST(state_unknowns_are_null)
{
    struct fixture fx;
    fixture_init(&fx);
    char *text;
    cJSON *root = state_of(&fx.v, &text);
    cJSON *st = node_json(root, 0, 3), *e1 = node_json(root, 1, 0);
    ck_assert(!is_true(st, "up"));
    ck_assert(!is_true(st, "fresh"));
    ck_assert_str_eq(str_of(st, "last_failure"), "timeout");
    const char *nulls[] = {"lag",          "lag_heartbeat", "lag_position",
                           "lag_reported", "lag_positions", "connected"};
    for (size_t i = 0; i < ARRAY_LEN(nulls); i++)
        ck_assert_msg(is_null(st, nulls[i]), "stale %s not null", nulls[i]);
    ck_assert_str_eq(str_of(st, "health"), "unknown");
    ck_assert_str_eq(str_of(st, "rotation_reason"), "unreachable");
    /* edge: a primary never scraped, an odd name, a demoted replica */
    ck_assert(is_null(e1, "last_ok"));
    ck_assert(is_null(e1, "position"));
    ck_assert_str_eq(str_of(e1, "last_failure"), "connect");
    ck_assert_str_eq(str_of(node_json(root, 1, 1), "name"), ODD_NAME);
    ck_assert(!is_true(node_json(root, 1, 1), "connected"));
    ck_assert(is_true(node_json(root, 1, 2), "demoted"));
    ck_assert_str_eq(str_of(node_json(root, 1, 2), "role"), "demoted");
    cJSON_Delete(root);
    free(text);
}
END_TEST

/* --- snapshot ------------------------------------------------------------- */

START_TEST(snapshot_renders_once)
{
    struct fixture fx;
    fixture_init(&fx);
    char name[] = "node2";
    fx.nodes[1].name = name;
    char *metrics = render(&fx.v), *state;
    cJSON_Delete(state_of(&fx.v, &state));
    struct snapshot *s = snapshot_new(&fx.v);
    size_t len;
    ck_assert_str_eq(snapshot_metrics(s, &len), metrics);
    ck_assert_uint_eq(len, strlen(metrics));
    ck_assert_str_eq(snapshot_state(s, &len), state);
    ck_assert_uint_eq(len, strlen(state));
    ck_assert(snapshot_ready(s));
    name[0] = 'X'; /* the snapshot keeps its own copies */
    ck_assert_ptr_nonnull(snapshot_find(s, "main", "node2"));
    ck_assert_ptr_null(snapshot_find(s, "main", "Xode2"));
    free(metrics);
    free(state);
    snapshot_unref(s);
    snapshot_unref(NULL);
}
END_TEST

START_TEST(snapshot_find_hits_and_misses)
{
    struct fixture fx;
    fixture_init(&fx);
    struct snapshot *s = snapshot_new(&fx.v);
    const struct snap_node *n = snapshot_find(s, "main", "node2");
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(n->cluster, "main");
    ck_assert_str_eq(n->node, "node2");
    ck_assert_str_eq(n->role, "replica");
    ck_assert(!n->is_primary && n->up && n->fresh);
    ck_assert_double_eq(n->rv.lag, 0.05);
    ck_assert_double_eq(n->read_max_lag, 0.1);
    ck_assert_str_eq(n->lag_source, "heartbeat");
    ck_assert_int_eq(n->health, HEALTH_HEALTHY);
    n = snapshot_find(s, "edge", ODD_NAME);
    ck_assert(n && !n->rv.connected);
    ck_assert_str_eq(n->lag_source, "position");
    n = snapshot_find(s, "edge", "e1");
    ck_assert(n && n->is_primary && !n->up);
    ck_assert_ptr_null(snapshot_find(s, "main", "e1"));
    ck_assert_ptr_null(snapshot_find(s, "edge", "node2"));
    ck_assert_ptr_null(snapshot_find(s, "nope", "node2"));
    ck_assert_ptr_null(snapshot_find(s, "main", ""));
    ck_assert(snapshot_has_cluster(s, "main"));
    ck_assert(snapshot_has_cluster(s, "edge"));
    ck_assert(!snapshot_has_cluster(s, "mai"));
    ck_assert(!snapshot_has_cluster(s, "zzz"));
    snapshot_unref(s);
}
END_TEST

START_TEST(snapshot_finds_every_node_of_a_big_view)
{
    struct big_view *b = big_view_new(1000);
    struct snapshot *s = snapshot_new(&b->v);
    for (size_t i = 0; i <= 1000; i++) {
        const struct snap_node *n = snapshot_find(s, "big", b->nodes[i].name);
        ck_assert_ptr_nonnull(n);
        ck_assert_str_eq(n->node, b->nodes[i].name);
    }
    ck_assert_ptr_null(snapshot_find(s, "big", "node1001"));
    snapshot_unref(s);
    big_view_free(b);
}
END_TEST

START_TEST(snapbox_keeps_old_snapshots_for_readers)
{
    struct fixture fx;
    fixture_init(&fx);
    struct snapbox box;
    snapbox_init(&box);
    ck_assert_ptr_null(snapbox_get(&box));
    snapbox_publish(&box, snapshot_new(&fx.v));
    struct snapshot *held = snapbox_get(&box);
    ck_assert_ptr_nonnull(held);

    fx.nodes[1].rv.lag = 0.5; /* node2 leaves read rotation */
    fx.nodes[1].in_rotation = false;
    fx.v.ready = false;
    snapbox_publish(&box, snapshot_new(&fx.v));
    struct snapshot *now = snapbox_get(&box);
    ck_assert_ptr_ne(now, held);
    ck_assert(!snapshot_ready(now));
    ck_assert_double_eq(snapshot_find(now, "main", "node2")->rv.lag, 0.5);

    /* the reader's old snapshot is intact until it lets go */
    size_t len;
    ck_assert(snapshot_ready(held));
    ck_assert_double_eq(snapshot_find(held, "main", "node2")->rv.lag, 0.05);
    ck_assert(has_line(snapshot_metrics(held, &len),
                       "replguard_replica_in_read_rotation{cluster=\"main\","
                       "replica=\"node2\"} 1"));
    snapshot_unref(held);
    ck_assert(has_line(snapshot_metrics(now, &len),
                       "replguard_replica_in_read_rotation{cluster=\"main\","
                       "replica=\"node2\"} 0"));
    snapshot_unref(now);
    snapbox_publish(&box, NULL);
    ck_assert_ptr_null(snapbox_get(&box));
    snapbox_publish(&box, snapshot_new(&fx.v));
    snapbox_destroy(&box); /* drops the current one */
}
END_TEST

struct reader {
    struct snapbox *box;
    size_t reads;
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;
    for (int i = 0; i < 2000; i++) {
        struct snapshot *s = snapbox_get(r->box);
        if (!s)
            continue;
        size_t len;
        const struct snap_node *n = snapshot_find(s, "main", "node2");
        if (n && snapshot_metrics(s, &len)[len - 1] == '\n')
            r->reads++;
        snapshot_unref(s);
    }
    return NULL;
}

/* Readers take and drop references while the box's snapshot changes
 * under them; under ASan a freed snapshot read would abort. */
START_TEST(snapbox_concurrent_readers)
{
    struct fixture fx;
    fixture_init(&fx);
    struct snapbox box;
    snapbox_init(&box);
    snapbox_publish(&box, snapshot_new(&fx.v));
    struct reader rd[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        rd[i] = (struct reader){&box, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, read_loop, &rd[i]), 0);
    }
    for (int i = 0; i < 200; i++) {
        fx.v.rounds = (uint64_t)i;
        snapbox_publish(&box, snapshot_new(&fx.v));
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ck_assert_uint_eq(rd[i].reads, 2000);
    }
    snapbox_destroy(&box);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("exporter");
    TCase *tc = tcase_create("exporter");
    tcase_add_loop_test(tc, exporter_sample_lines, 0,
                        (int)ARRAY_LEN(want_lines));
    tcase_add_test(tc, exporter_unknowns_are_absent);
    tcase_add_test(tc, exporter_health_one_hot);
    tcase_add_test(tc, exporter_groups_families);
    tcase_add_test(tc, exporter_escapes_labels);
    tcase_add_test(tc, exporter_passes_promtool);
    tcase_add_test(tc, exporter_renders_every_family);
    tcase_add_test(tc, exporter_thousand_replicas);
    suite_add_tcase(s, tc);
    tc = tcase_create("statejson");
    tcase_add_test(tc, state_agent_and_clusters);
    tcase_add_test(tc, state_known_nodes);
    tcase_add_test(tc, state_unknowns_are_null);
    tcase_add_test(tc, tilt_in_metrics_and_state);
    tcase_add_test(tc, state_escapes_strings);
    suite_add_tcase(s, tc);
    tc = tcase_create("snapshot");
    tcase_add_test(tc, snapshot_renders_once);
    tcase_add_test(tc, snapshot_find_hits_and_misses);
    tcase_add_test(tc, snapshot_finds_every_node_of_a_big_view);
    tcase_add_test(tc, snapbox_keeps_old_snapshots_for_readers);
    tcase_add_test(tc, snapbox_concurrent_readers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
