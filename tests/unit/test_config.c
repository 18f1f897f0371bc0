/* test_config.c: loading, defaults and every kind of config error. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/util.h"

#define TOL 1e-9

/* A cluster with one node, to complete configs that test other things. */
#define NODE1    "      - {name: n1, url: \"http://h:1\", role: primary}\n"
#define CLUSTERS "clusters:\n  - name: a\n    nodes:\n" NODE1
/* Line 3 of a config is a key of cluster a; its nodes follow. */
#define CLUSTER_A(line3) "clusters:\n  - name: a\n" line3 "    nodes:\n" NODE1
/* Line 3 of a config is a key of cluster a, which has 2 replicas. */
#define REPLICA(n)      "      - {name: " n ", url: \"http://h:2\", role: replica}\n"
#define CLUSTER3(line3) CLUSTER_A(line3) REPLICA("n2") REPLICA("n3")
/* Line 5 of a config is a second node of cluster a. */
#define NODE2(line5) CLUSTERS line5

static char *fixture(const char *name)
{
    const char *top = getenv("top_srcdir");
    struct buf b;

    buf_init(&b, 0);
    buf_printf(&b, "%s/tests/fixtures/config/%s", top ? top : ".", name);
    return buf_detach(&b);
}

static struct config *load_ok(const char *text)
{
    struct config *cfg = NULL;
    struct errlist errs;

    errlist_init(&errs);
    int rc = config_load_string("t.yml", text, strlen(text), &cfg, &errs);
    ck_assert_msg(rc == 0, "unexpected error: %s", rc ? errs.msg[0] : "");
    ck_assert_ptr_nonnull(cfg);
    errlist_reset(&errs);
    return cfg;
}

static void assert_prefix(const char *got, const char *want)
{
    ck_assert_msg(strncmp(got, want, strlen(want)) == 0,
                  "\n  got:  %s\n  want: %s...", got, want);
}

static void assert_node(const struct config_node *n, const char *name,
                        const char *url, enum node_role role, unsigned prio)
{
    ck_assert_str_eq(n->name, name);
    ck_assert_str_eq(n->url, url);
    ck_assert_int_eq(n->role, role);
    ck_assert_uint_eq(n->priority, prio);
}

START_TEST(spec_example)
{
    char *path = fixture("spec.yml");
    struct config *cfg = NULL;
    struct errlist errs;

    errlist_init(&errs);
    ck_assert_int_eq(config_load(path, &cfg, &errs), 0);
    ck_assert_uint_eq(errs.n, 0);
    ck_assert_str_eq(cfg->path, path);
    ck_assert_str_eq(cfg->listen_host, "127.0.0.1");
    ck_assert_uint_eq(cfg->listen_port, 9650);
    ck_assert(!cfg->dry_run);
    ck_assert_str_eq(cfg->state_dir, "/var/lib/replguard");
    ck_assert_str_eq(cfg->audit_log, "/var/lib/replguard/audit.jsonl");
    ck_assert_str_eq(cfg->rules, "/etc/replguard/rules");
    ck_assert_str_eq(cfg->token_file, "/etc/replguard/token");
    ck_assert_str_eq(cfg->tls_cert_file, "/etc/replguard/tls.crt");
    ck_assert_str_eq(cfg->tls_key_file, "/etc/replguard/tls.key");
    ck_assert_double_eq_tol(cfg->poll.interval, 1, TOL);
    ck_assert_double_eq_tol(cfg->poll.timeout, 0.8, TOL);
    ck_assert_double_eq_tol(cfg->poll.merkle_interval, 30, TOL);
    ck_assert_uint_eq(cfg->n_clusters, 1);

    const struct config_cluster *c = &cfg->clusters[0];
    ck_assert_str_eq(c->name, "main");
    ck_assert_int_eq(c->line, 17);
    ck_assert_int_eq(c->column, 5);
    ck_assert_int_eq(c->profile, PROFILE_STEMEDB);
    ck_assert_int_eq(c->lag_source, LAG_SOURCE_HEARTBEAT);
    ck_assert_double_eq_tol(c->thresholds.warning, 5, TOL);
    ck_assert_double_eq_tol(c->thresholds.critical, 10, TOL);
    ck_assert_double_eq_tol(c->thresholds.escalate, 60, TOL);
    ck_assert_double_eq_tol(c->thresholds.read_max_lag, 0.1, TOL);
    ck_assert_uint_eq(c->throttle.floor, 100);
    ck_assert_uint_eq(c->throttle.n_restore_steps, 4);
    ck_assert_uint_eq(c->throttle.restore_steps[0], 100);
    ck_assert_uint_eq(c->throttle.restore_steps[3], 2000);
    ck_assert_double_eq_tol(c->throttle.restore_interval, 300, TOL);
    ck_assert_uint_eq(c->n_nodes, 3);
    assert_node(&c->nodes[0], "node1", "http://10.0.0.1:18180",
                NODE_ROLE_PRIMARY, 0);
    assert_node(&c->nodes[1], "node2", "http://10.0.0.2:18180",
                NODE_ROLE_REPLICA, 1);
    assert_node(&c->nodes[2], "node3", "http://10.0.0.3:18180",
                NODE_ROLE_REPLICA, 2);
    ck_assert_int_eq(c->nodes[2].line, 32);
    ck_assert_int_eq(c->nodes[2].column, 9);
    ck_assert_uint_eq(config_primary_index(c), 0);
    config_free(cfg);
    free(path);
}
END_TEST

START_TEST(minimal_gets_every_default)
{
    struct config *cfg = load_ok(CLUSTERS);

    ck_assert_str_eq(cfg->path, "t.yml");
    ck_assert_str_eq(cfg->listen_host, "127.0.0.1");
    ck_assert_uint_eq(cfg->listen_port, 9650);
    ck_assert(!cfg->dry_run);
    ck_assert_str_eq(cfg->state_dir, "/var/lib/replguard");
    ck_assert_str_eq(cfg->audit_log, "/var/lib/replguard/audit.jsonl");
    ck_assert_str_eq(cfg->rules, "/etc/replguard/rules");
    ck_assert_ptr_null(cfg->token_file);
    ck_assert_ptr_null(cfg->proxy);
    ck_assert_ptr_null(cfg->tls_cert_file);
    ck_assert_ptr_null(cfg->tls_key_file);
    ck_assert_double_eq_tol(cfg->poll.interval, 1, TOL);
    ck_assert_double_eq_tol(cfg->poll.timeout, 0.8, TOL);
    ck_assert_double_eq_tol(cfg->poll.merkle_interval, 30, TOL);

    const struct config_cluster *c = &cfg->clusters[0];
    ck_assert_int_eq(c->profile, PROFILE_STEMEDB);
    ck_assert_int_eq(c->lag_source, LAG_SOURCE_HEARTBEAT);
    ck_assert_double_eq_tol(c->thresholds.warning, 5, TOL);
    ck_assert_double_eq_tol(c->thresholds.critical, 10, TOL);
    ck_assert_double_eq_tol(c->thresholds.escalate, 60, TOL);
    ck_assert_double_eq_tol(c->thresholds.read_max_lag, 0.1, TOL);
    ck_assert_uint_eq(c->throttle.floor, 100);
    ck_assert_uint_eq(c->throttle.n_restore_steps, 4);
    ck_assert_uint_eq(c->throttle.restore_steps[0], 100);
    ck_assert_uint_eq(c->throttle.restore_steps[1], 500);
    ck_assert_uint_eq(c->throttle.restore_steps[2], 1000);
    ck_assert_uint_eq(c->throttle.restore_steps[3], 2000);
    ck_assert_double_eq_tol(c->throttle.restore_interval, 300, TOL);
    assert_node(&c->nodes[0], "n1", "http://h:1", NODE_ROLE_PRIMARY, 0);
    config_free(cfg);

    /* A throttle mapping without restore_steps still gets them. */
    cfg = load_ok(CLUSTER_A("    throttle: {floor: 10}\n"));
    ck_assert_uint_eq(cfg->clusters[0].throttle.n_restore_steps, 4);
    config_free(cfg);
}
END_TEST

START_TEST(every_key_changed)
{
    char *path = fixture("full.yml");
    struct config *cfg = NULL;

    ck_assert_int_eq(config_load(path, &cfg, NULL), 0);
    ck_assert_str_eq(cfg->listen_host, "::1");
    ck_assert_uint_eq(cfg->listen_port, 9999);
    ck_assert(cfg->dry_run);
    ck_assert_str_eq(cfg->audit_log, "/srv/replguard/audit.jsonl");
    ck_assert_str_eq(cfg->rules, "/srv/replguard/rules.yml");
    ck_assert_double_eq_tol(cfg->poll.interval, 2, TOL);
    ck_assert_double_eq_tol(cfg->poll.timeout, 1.5, TOL);
    ck_assert_double_eq_tol(cfg->poll.merkle_interval, 60, TOL);
    ck_assert_uint_eq(cfg->n_clusters, 2);

    const struct config_cluster *c = &cfg->clusters[0];
    ck_assert_int_eq(c->lag_source, LAG_SOURCE_POSITION);
    ck_assert_double_eq_tol(c->thresholds.warning, 1, TOL);
    ck_assert_double_eq_tol(c->thresholds.critical, 2, TOL);
    ck_assert_double_eq_tol(c->thresholds.escalate, 3600, TOL);
    ck_assert_double_eq_tol(c->thresholds.read_max_lag, 0.25, TOL);
    ck_assert_uint_eq(c->throttle.floor, 50);
    ck_assert_uint_eq(c->throttle.n_restore_steps, 2);
    ck_assert_uint_eq(c->throttle.restore_steps[1], 5000);
    ck_assert_double_eq_tol(c->throttle.restore_interval, 30, TOL);
    /* The trailing slash goes, so that callers append "/metrics". */
    assert_node(&c->nodes[0], "db-a", "https://db-a.example.com/stemedb",
                NODE_ROLE_REPLICA, 7);
    assert_node(&c->nodes[1], "db-b", "http://10.1.0.2", NODE_ROLE_PRIMARY, 0);
    ck_assert_int_eq(c->nodes[0].line, 19);
    ck_assert_int_eq(c->nodes[0].column, 9);
    ck_assert_uint_eq(config_primary_index(c), 1);
    ck_assert_int_eq(cfg->clusters[1].lag_source, LAG_SOURCE_REPORTED);
    ck_assert_str_eq(cfg->clusters[1].nodes[0].url, "http://[fd00::1]:18180");
    config_free(cfg);
    free(path);
}
END_TEST

/* zone: optional per node, absent by default. */
START_TEST(node_zone)
{
    struct config *cfg = load_ok(NODE2("      - {name: n2, url: "
                                       "\"http://h:2\", role: replica, "
                                       "zone: eu-west-1a}\n"));
    ck_assert_ptr_null(cfg->clusters[0].nodes[0].zone);
    ck_assert_str_eq(cfg->clusters[0].nodes[1].zone, "eu-west-1a");
    config_free(cfg);
}
END_TEST

START_TEST(failover_defaults)
{
    struct config *cfg = load_ok(CLUSTER3(""));
    const struct config_cluster *c = &cfg->clusters[0];

    ck_assert_int_eq(c->replication.mode, REPL_ASYNC);
    ck_assert_uint_eq(c->replication.min_sync_replicas, 1);
    /* sync_max_lag follows read_max_lag unless written */
    ck_assert_double_eq_tol(c->replication.sync_max_lag, 0.1, TOL);
    ck_assert_uint_eq(c->thresholds.read_rise, 2);
    ck_assert_uint_eq(c->thresholds.read_fall, 1);
    ck_assert(!c->failover.enabled);
    ck_assert_double_eq_tol(c->failover.detect_after, 3, TOL);
    ck_assert_int_eq(c->failover.quorum, QUORUM_MAJORITY);
    ck_assert_uint_eq(config_failover_quorum(c), 2);
    ck_assert_uint_eq(c->failover.max_data_loss, 0);
    ck_assert_double_eq_tol(c->failover.block_period, 3600, TOL);
    ck_assert_str_eq(config_repl_mode_name(c->replication.mode), "async");
    config_free(cfg);

    cfg = load_ok(CLUSTER3("    thresholds: {read_max_lag: 300ms}\n"));
    ck_assert_double_eq_tol(cfg->clusters[0].replication.sync_max_lag, 0.3,
                            TOL);
    config_free(cfg);

    /* A slow poll raises the default detect_after to 2 intervals. */
    cfg = load_ok("poll: {interval: 5s, timeout: 1s}\n" CLUSTER3(""));
    ck_assert_double_eq_tol(cfg->clusters[0].failover.detect_after, 10, TOL);
    config_free(cfg);
    /* A single-node cluster is fine while failover stays off. */
    cfg = load_ok(CLUSTERS);
    ck_assert(!cfg->clusters[0].failover.enabled);
    config_free(cfg);
}
END_TEST

START_TEST(failover_keys)
{
    struct config *cfg = load_ok(CLUSTER3(
        "    replication: {mode: semi-sync, min_sync_replicas: 2, "
        "sync_max_lag: 1h}\n"
        "    thresholds: {read_rise: 100, read_fall: 3}\n"
        "    failover: {enabled: true, detect_after: 500ms, "
        "quorum: all, max_data_loss: 1000000000000000, "
        "block_period: 0s}\n") "poll: {interval: 250ms, timeout: 200ms}\n");
    const struct config_cluster *c = &cfg->clusters[0];

    ck_assert_int_eq(c->replication.mode, REPL_SEMI_SYNC);
    ck_assert_uint_eq(c->replication.min_sync_replicas, 2);
    ck_assert_double_eq_tol(c->replication.sync_max_lag, 3600, TOL);
    ck_assert_uint_eq(c->thresholds.read_rise, 100);
    ck_assert_uint_eq(c->thresholds.read_fall, 3);
    ck_assert(c->failover.enabled);
    ck_assert_double_eq_tol(c->failover.detect_after, 0.5, TOL);
    ck_assert_int_eq(c->failover.quorum, QUORUM_ALL);
    ck_assert_uint_eq(config_failover_quorum(c), 2);
    ck_assert_uint_eq(c->failover.max_data_loss, 1000000000000000ULL);
    ck_assert_double_eq_tol(c->failover.block_period, 0, TOL);
    config_free(cfg);

    cfg = load_ok(CLUSTER3("    replication: {mode: sync}\n"
                           "    failover: {quorum: 1, block_period: 168h, "
                           "detect_after: 1h}\n"));
    c = &cfg->clusters[0];
    ck_assert_int_eq(c->replication.mode, REPL_SYNC);
    ck_assert_int_eq(c->failover.quorum, QUORUM_COUNT);
    ck_assert_uint_eq(config_failover_quorum(c), 1);
    ck_assert_double_eq_tol(c->failover.block_period, 168 * 3600, TOL);
    ck_assert_double_eq_tol(c->failover.detect_after, 3600, TOL);
    config_free(cfg);
}
END_TEST

START_TEST(escalation_section)
{
    struct config *cfg = load_ok(CLUSTERS);
    ck_assert_ptr_null(cfg->escalation.alertmanager_url);
    ck_assert_double_eq_tol(cfg->escalation.repost_interval, 60, TOL);
    config_free(cfg);
    cfg = load_ok(CLUSTERS "escalation:\n"
                           "  alertmanager_url: \"http://127.0.0.1:9093/\"\n"
                           "  labels: {severity: page, team: db}\n"
                           "  repost_interval: 4m\n");
    const struct config_escalation *e = &cfg->escalation;
    ck_assert_str_eq(e->alertmanager_url, "http://127.0.0.1:9093");
    ck_assert_uint_eq(e->n_labels, 2);
    ck_assert_str_eq(e->labels[0].name, "severity");
    ck_assert_str_eq(e->labels[0].value, "page");
    ck_assert_str_eq(e->labels[1].name, "team");
    ck_assert_double_eq_tol(e->repost_interval, 240, TOL);
    config_free(cfg);
}
END_TEST

START_TEST(lookups)
{
    char *path = fixture("full.yml");
    struct config *cfg = NULL;

    ck_assert_int_eq(config_load(path, &cfg, NULL), 0);
    ck_assert_uint_eq(config_node_count(cfg), 3);
    ck_assert_int_eq(config_cluster_index(cfg, "us_2"), 1);
    ck_assert_int_eq(config_cluster_index(cfg, "nope"), -1);
    ck_assert_ptr_eq(config_find_cluster(cfg, "eu-1"), &cfg->clusters[0]);
    ck_assert_ptr_null(config_find_cluster(cfg, "eu"));

    const struct config_cluster *c = config_find_cluster(cfg, "eu-1");
    ck_assert_int_eq(config_node_index(c, "db-b"), 1);
    ck_assert_int_eq(config_node_index(c, "db-c"), -1);
    ck_assert_ptr_eq(config_find_node(c, "db-a"), &c->nodes[0]);
    ck_assert_ptr_null(config_find_node(c, ""));

    ck_assert_str_eq(config_lag_source_name(LAG_SOURCE_POSITION), "position");
    ck_assert_str_eq(config_role_name(NODE_ROLE_REPLICA), "replica");
    ck_assert_str_eq(config_profile_name(PROFILE_STEMEDB), "stemedb");
    ck_assert_str_eq(config_role_name((enum node_role)7), "unknown");
    config_free(cfg);
    config_free(NULL);
    free(path);
}
END_TEST

/* One bad config per kind of error: exactly one error, and its
 * "file:line:column: message" starts with want. */
static const struct {
    const char *yaml;
    const char *want;
} bad[] = {
    /* YAML itself */
    {"clusters: [\n", "t.yml:2:1: YAML syntax error: did not find expected "
                      "node content (while parsing a flow node at line 2, "
                      "column 1)"},
    {"a: b\n c: d\n", "t.yml:2:3: YAML syntax error: mapping values are not "
                      "allowed in this context"},
    {"", "t.yml:1:1: empty config: missing required key \"clusters\""},
    {"# nothing\n", "t.yml:1:1: empty config"},
    {"just text\n", "t.yml:1:1: expected a mapping, got a plain scalar"},
    {CLUSTERS "---\n" CLUSTERS, "t.yml:5:1: only one YAML document is allowed"},
    /* keys */
    {"lisen: x\n" CLUSTERS,
     "t.yml:1:1: unknown key \"lisen\" (expected one of: listen, dry_run, "
     "state_dir, audit_log, rules, auth, tls, proxy, poll, escalation, "
     "ha, clusters)"},
    {CLUSTER_A("    thresholds: {warnig: 5s}\n"),
     "t.yml:3:18: clusters[0].thresholds: unknown key \"warnig\" (expected "
     "one of: warning, critical, escalate, read_max_lag, read_rise, "
     "read_fall)"},
    {"poll: {interval: 1s, interval: 2s}\n" CLUSTERS,
     "t.yml:1:22: poll: duplicate key \"interval\""},
    {"dry_run: false\n", "t.yml:1:1: missing required key \"clusters\""},
    {"clusters:\n  - nodes:\n" NODE1,
     "t.yml:2:5: clusters[0]: missing required key \"name\""},
    {"clusters:\n  - name: a\n",
     "t.yml:2:5: clusters[0]: missing required key \"nodes\""},
    {NODE2("      - {name: n2, role: replica}\n"),
     "t.yml:5:9: clusters[0].nodes[1]: missing required key \"url\""},
    {NODE2("      - {name: n2, url: \"http://h:2\"}\n"),
     "t.yml:5:9: clusters[0].nodes[1]: missing required key \"role\""},
    {"tls: {cert_file: /c}\n" CLUSTERS,
     "t.yml:1:6: tls: missing required key \"key_file\""},
    /* types */
    {"state_dir: {a: 1}\n" CLUSTERS,
     "t.yml:1:12: state_dir: expected a string, got a mapping"},
    {"auth: {token_file: [a]}\n" CLUSTERS,
     "t.yml:1:20: auth.token_file: expected a string, got a list"},
    {"rules:\n" CLUSTERS, "t.yml:1:7: rules: expected a string, got nothing"},
    {"rules: \"\"\n" CLUSTERS, "t.yml:1:8: rules: must not be empty"},
    {"poll: 1s\n" CLUSTERS, "t.yml:1:7: poll: expected a mapping, got a "
                            "plain scalar"},
    {"clusters: {a: 1}\n",
     "t.yml:1:11: clusters: expected a list, got a mapping"},
    {"clusters:\n  - a\n",
     "t.yml:2:5: clusters[0]: expected a mapping, got a plain scalar"},
    {"dry_run: yes\n" CLUSTERS,
     "t.yml:1:10: dry_run: expected true or false, got \"yes\""},
    {"dry_run: \"true\"\n" CLUSTERS,
     "t.yml:1:10: dry_run: expected true or false, got a quoted string "
     "\"true\""},
    {NODE2("      - {name: n2, url: \"http://h:2\", role: replica, "
           "zone: \"a b\"}\n"),
     "t.yml:5:60: clusters[0].nodes[1].zone: bad name \"a b\" (1 to 64 "
     "letters, digits, '.', '_' or '-')"},
    {NODE2("      - {name: n2, url: \"http://h:2\", role: replica, "
           "priority: high}\n"),
     "t.yml:5:64: clusters[0].nodes[1].priority: expected a whole number "
     "from 0 to 4294967295, got \"high\""},
    {CLUSTER_A("    throttle: {floor: \"100\"}\n"),
     "t.yml:3:23: clusters[0].throttle.floor: expected a whole number, got "
     "a quoted string \"100\""},
    /* durations */
    {"poll: {interval: 5}\n" CLUSTERS,
     "t.yml:1:18: poll.interval: bad duration \"5\" (expected a number and "
     "a unit: ms, s, m or h)"},
    {"poll: {merkle_interval: 5 min}\n" CLUSTERS,
     "t.yml:1:25: poll.merkle_interval: bad duration \"5 min\""},
    {CLUSTER_A("    throttle: {restore_interval: -5m}\n"),
     "t.yml:3:34: clusters[0].throttle.restore_interval: bad duration "
     "\"-5m\""},
    {"proxy: socks5://127.0.0.1:1080\n" CLUSTERS,
     "t.yml:1:8: proxy: bad URL \"socks5://127.0.0.1:1080\": must start "
     "with http:// or https://"},
    /* each duration key has its range */
    {"poll: {interval: 99999999999999999999h}\n" CLUSTERS,
     "t.yml:1:18: poll.interval: must be from 10ms to 1h, got "
     "\"99999999999999999999h\""},
    {"poll: {interval: 61m}\n" CLUSTERS,
     "t.yml:1:18: poll.interval: must be from 10ms to 1h, got \"61m\""},
    {"poll: {interval: 5ms}\n" CLUSTERS,
     "t.yml:1:18: poll.interval: must be from 10ms to 1h, got \"5ms\""},
    {"poll: {merkle_interval: 25h}\n" CLUSTERS,
     "t.yml:1:25: poll.merkle_interval: must be from 100ms to 24h, got "
     "\"25h\""},
    {CLUSTER_A("    thresholds: {escalate: 169h}\n"),
     "t.yml:3:28: clusters[0].thresholds.escalate: must be from 1ms to "
     "168h, got \"169h\""},
    {CLUSTER_A("    thresholds: {read_max_lag: 0.5ms}\n"),
     "t.yml:3:32: clusters[0].thresholds.read_max_lag: must be from 1ms to "
     "168h, got \"0.5ms\""},
    {CLUSTER_A("    throttle: {restore_interval: 500ms}\n"),
     "t.yml:3:34: clusters[0].throttle.restore_interval: must be from 1s to "
     "168h, got \"500ms\""},
    {CLUSTER_A("    thresholds: {read_max_lag: 0ms}\n"),
     "t.yml:3:32: clusters[0].thresholds.read_max_lag: must be greater than "
     "0, got \"0ms\""},
    /* addresses */
    {"listen: \"127.0.0.1\"\n" CLUSTERS,
     "t.yml:1:9: listen: bad listen address \"127.0.0.1\": missing port "
     "(expected HOST:PORT)"},
    {"listen: localhost:65536\n" CLUSTERS,
     "t.yml:1:9: listen: bad listen address \"localhost:65536\": port out "
     "of range 0-65535"},
    {"clusters: [{name: c, nodes: [{name: a, role: primary, url: "
     "\"http://h:0\"}]}]\n",
     "t.yml:1:60: clusters[0].nodes[0].url: bad URL \"http://h:0\": port out "
     "of range 1-65535"},
    {"listen: \"[::1:9650\"\n" CLUSTERS,
     "t.yml:1:9: listen: bad listen address \"[::1:9650\": bad IPv6 "
     "address"},
    {"listen: \"my host:80\"\n" CLUSTERS,
     "t.yml:1:9: listen: bad listen address \"my host:80\": bad host"},
    {NODE2("      - {name: n2, url: \"ftp://h\", role: replica}\n"),
     "t.yml:5:25: clusters[0].nodes[1].url: bad URL \"ftp://h\": must start "
     "with http:// or https://"},
    {NODE2("      - {name: n2, url: \"http://h :1\", role: replica}\n"),
     "t.yml:5:25: clusters[0].nodes[1].url: bad URL \"http://h :1\": "
     "contains a space"},
    {NODE2("      - {name: n2, url: \"http://h:70000\", role: replica}\n"),
     "t.yml:5:25: clusters[0].nodes[1].url: bad URL \"http://h:70000\": port "
     "out of range 1-65535"},
    {NODE2("      - {name: n2, url: \"http://h:/x\", role: replica}\n"),
     "t.yml:5:25: clusters[0].nodes[1].url: bad URL \"http://h:/x\": bad "
     "port"},
    {NODE2("      - {name: n2, url: \"http://:80\", role: replica}\n"),
     "t.yml:5:25: clusters[0].nodes[1].url: bad URL \"http://:80\": missing "
     "host"},
    {NODE2("      - {name: n2, url: \"http://u@h\", role: replica}\n"),
     "t.yml:5:25: clusters[0].nodes[1].url: bad URL \"http://u@h\": bad "
     "host"},
    {NODE2("      - {name: n2, url: \"http://h/?a=1\", role: replica}\n"),
     "t.yml:5:25: clusters[0].nodes[1].url: bad URL \"http://h/?a=1\": must "
     "not have a query or fragment"},
    /* primaries and names */
    {"clusters:\n  - name: a\n    nodes:\n"
     "      - {name: n1, url: \"http://h:1\", role: replica}\n",
     "t.yml:4:7: clusters[0].nodes: no node has role primary (a cluster has "
     "exactly one)"},
    {NODE2("      - {name: n2, url: \"http://h:2\", role: primary}\n"),
     "t.yml:5:45: clusters[0].nodes[1]: a second primary: the node at line "
     "4 is already the primary"},
    {CLUSTERS "  - name: a\n    nodes:\n" NODE1,
     "t.yml:5:11: clusters[1]: duplicate cluster name \"a\" (first at line "
     "2)"},
    {NODE2("      - {name: n1, url: \"http://h:2\", role: replica}\n"),
     "t.yml:5:16: clusters[0].nodes[1]: duplicate node name \"n1\" (first at "
     "line 4)"},
    {"clusters:\n  - name: my cluster\n    nodes:\n" NODE1,
     "t.yml:2:11: clusters[0].name: bad name \"my cluster\" (1 to 64 "
     "letters, digits, '.', '_' or '-')"},
    {"clusters: []\n",
     "t.yml:1:11: clusters: expected 1 to 20000 clusters, got 0"},
    {"clusters:\n  - name: a\n    nodes: []\n",
     "t.yml:3:12: clusters[0].nodes: expected 1 to 256 nodes, got 0"},
    /* enums */
    {CLUSTER_A("    lag_source: lamport\n"),
     "t.yml:3:17: clusters[0].lag_source: unknown value \"lamport\" "
     "(expected one of: heartbeat, position, reported)"},
    {CLUSTER_A("    profile: mysql\n"),
     "t.yml:3:14: clusters[0].profile: unknown value \"mysql\" (expected one "
     "of: stemedb, postgres)"},
    {NODE2("      - {name: n2, url: \"http://h:2\", role: leader}\n"),
     "t.yml:5:45: clusters[0].nodes[1].role: unknown value \"leader\" "
     "(expected one of: primary, replica)"},
    /* orders and ranges */
    {CLUSTER_A("    thresholds: {warning: 10s, critical: 5s}\n"),
     "t.yml:3:42: clusters[0].thresholds: critical (5s) must be greater "
     "than warning (10s)"},
    {CLUSTER_A("    thresholds: {warning: 10s, critical: 10s}\n"),
     "t.yml:3:42: clusters[0].thresholds: critical (10s) must be greater "
     "than warning (10s)"},
    {CLUSTER_A("    thresholds: {warning: 20s}\n"),
     "t.yml:3:27: clusters[0].thresholds: warning (20s) must be less than "
     "critical (10s, the default)"},
    {CLUSTER_A("    thresholds: {escalate: 10s}\n"),
     "t.yml:3:28: clusters[0].thresholds: escalate (10s) must be greater "
     "than critical (10s, the default)"},
    {"poll: {timeout: 1s}\n" CLUSTERS,
     "t.yml:1:17: poll: timeout (1s) must be less than interval (1s, the "
     "default)"},
    {"poll: {interval: 500ms}\n" CLUSTERS,
     "t.yml:1:18: poll: interval (0.5s) must be greater than timeout (0.8s, "
     "the default)"},
    {NODE2("      - {name: n2, url: \"http://h:2\", role: replica, "
           "priority: -1}\n"),
     "t.yml:5:64: clusters[0].nodes[1].priority: expected a whole number "
     "from 0 to 4294967295, got \"-1\""},
    {CLUSTER_A("    throttle: {floor: 0}\n"),
     "t.yml:3:23: clusters[0].throttle.floor: expected a whole number from "
     "1 to 4294967295, got \"0\""},
    {CLUSTER_A("    throttle: {restore_steps: [100, 500, 500]}\n"),
     "t.yml:3:42: clusters[0].throttle.restore_steps[2]: steps must be "
     "strictly increasing: 500 after 500"},
    {CLUSTER_A("    throttle: {restore_steps: []}\n"),
     "t.yml:3:31: clusters[0].throttle.restore_steps: expected 1 to 64 "
     "steps, got 0"},
    {CLUSTER_A("    throttle: {floor: 200, restore_steps: [100, 500]}\n"),
     "t.yml:3:43: clusters[0].throttle: the first restore step (100) is "
     "below floor (200)"},
    {CLUSTER_A("    throttle: {floor: 200}\n"),
     "t.yml:3:23: clusters[0].throttle: floor (200) is above the first "
     "restore step (100, the default)"},
    /* replication and failover */
    {CLUSTER3("    replication: {mode: semisync}\n"),
     "t.yml:3:25: clusters[0].replication.mode: unknown value \"semisync\" "
     "(expected one of: async, semi-sync, sync)"},
    {CLUSTER3("    replication: {mode: semi-sync, min_sync_replicas: 0}\n"),
     "t.yml:3:55: clusters[0].replication.min_sync_replicas: expected a "
     "whole number from 1 to 255, got \"0\""},
    {CLUSTER3("    replication: {mode: semi-sync, min_sync_replicas: 3}\n"),
     "t.yml:3:55: clusters[0].replication.min_sync_replicas: 3 is more than "
     "the cluster's replicas (2)"},
    {CLUSTER3("    replication: {mod: sync}\n"),
     "t.yml:3:19: clusters[0].replication: unknown key \"mod\" (expected "
     "one of: mode, min_sync_replicas, sync_max_lag)"},
    {CLUSTER3("    replication: {sync_max_lag: 0.5ms}\n"),
     "t.yml:3:33: clusters[0].replication.sync_max_lag: must be from 1ms "
     "to 1h, got \"0.5ms\""},
    {CLUSTER3("    replication: {sync_max_lag: 61m}\n"),
     "t.yml:3:33: clusters[0].replication.sync_max_lag: must be from 1ms "
     "to 1h, got \"61m\""},
    {CLUSTER_A("    thresholds: {read_rise: 0}\n"),
     "t.yml:3:29: clusters[0].thresholds.read_rise: expected a whole "
     "number from 1 to 100, got \"0\""},
    {CLUSTER_A("    thresholds: {read_fall: 101}\n"),
     "t.yml:3:29: clusters[0].thresholds.read_fall: expected a whole "
     "number from 1 to 100, got \"101\""},
    {CLUSTER_A("    thresholds: {read_rise: 2s}\n"),
     "t.yml:3:29: clusters[0].thresholds.read_rise: expected a whole "
     "number from 1 to 100, got \"2s\""},
    {CLUSTER3("    failover: {enabled: yes}\n"),
     "t.yml:3:25: clusters[0].failover.enabled: expected true or false"},
    {CLUSTER3("    failover: {detect_after: 50ms}\n"),
     "t.yml:3:30: clusters[0].failover.detect_after: must be from 100ms to "
     "1h, got \"50ms\""},
    {CLUSTER3("    failover: {detect_after: 2h}\n"),
     "t.yml:3:30: clusters[0].failover.detect_after: must be from 100ms to "
     "1h, got \"2h\""},
    {CLUSTER3("    failover: {detect_after: 3}\n"),
     "t.yml:3:30: clusters[0].failover.detect_after: bad duration \"3\""},
    {CLUSTER3("    failover: {detect_after: 1500ms}\n"),
     "t.yml:3:30: clusters[0].failover.detect_after: 1.5s is less than 2 "
     "poll intervals (poll.interval 1s)"},
    {CLUSTER3("    failover: {detect_after: 3s}\n") "poll: {interval: 2s}\n",
     "t.yml:3:30: clusters[0].failover.detect_after: 3s is less than 2 poll "
     "intervals (poll.interval 2s)"},
    {CLUSTER3("    failover: {quorum: most}\n"),
     "t.yml:3:24: clusters[0].failover.quorum: unknown value \"most\" "
     "(expected one of: majority, all)"},
    {CLUSTER3("    failover: {quorum: 0}\n"),
     "t.yml:3:24: clusters[0].failover.quorum: expected a whole number from "
     "1 to 255, got \"0\""},
    {CLUSTER3("    failover: {quorum: 3}\n"),
     "t.yml:3:24: clusters[0].failover.quorum: 3 is more than the "
     "cluster's replicas (2)"},
    {CLUSTER_A("    failover: {enabled: true}\n"),
     "t.yml:3:25: clusters[0].failover.enabled: automatic failover needs at "
     "least one replica"},
    {CLUSTER3("    failover: {max_data_loss: -1}\n"),
     "t.yml:3:31: clusters[0].failover.max_data_loss: expected a whole "
     "number from 0 to 1000000000000000, got \"-1\""},
    {CLUSTER3("    failover: {max_data_loss: 1000000000000001}\n"),
     "t.yml:3:31: clusters[0].failover.max_data_loss: expected a whole "
     "number from 0 to 1000000000000000"},
    {CLUSTER3("    failover: {block_period: 169h}\n"),
     "t.yml:3:30: clusters[0].failover.block_period: must be from 0s to "
     "168h, got \"169h\""},
    {CLUSTER3("    failover: {block_period: -1s}\n"),
     "t.yml:3:30: clusters[0].failover.block_period: "},
    {CLUSTER3("    failover: {blockperiod: 1h}\n"),
     "t.yml:3:16: clusters[0].failover: unknown key \"blockperiod\""},
    /* escalation */
    {CLUSTERS "escalation: {labels: {a: b}}\n",
     "t.yml:5:13: escalation: missing required key \"alertmanager_url\""},
    {CLUSTERS "escalation: {alertmanager_url: \"ftp://am\"}\n",
     "t.yml:5:32: escalation.alertmanager_url: bad URL"},
    {CLUSTERS "escalation: {alertmanager_url: \"http://am:9093\", "
              "repost_interval: 5m}\n",
     "t.yml:5:67: escalation.repost_interval: must be from 1s to 4m"},
    {CLUSTERS "escalation: {alertmanager_url: \"http://am:9093\", "
              "labels: {cluster: x}}\n",
     "t.yml:5:59: escalation.labels: label \"cluster\" is set by replguard"},
    {CLUSTERS "escalation: {alertmanager_url: \"http://am:9093\", "
              "labels: {9x: y}}\n",
     "t.yml:5:59: escalation.labels: bad label name \"9x\""},
    {CLUSTERS "escalation: {alertmanager_url: \"http://am:9093\", "
              "labels: {team: [a]}}\n",
     "t.yml:5:65: escalation.labels.team: "},
};

START_TEST(bad_config)
{
    const char *yaml = bad[_i].yaml;
    struct config *cfg = (struct config *)&cfg; /* must be reset to NULL */
    struct errlist errs;

    errlist_init(&errs);
    int rc = config_load_string("t.yml", yaml, strlen(yaml), &cfg, &errs);
    ck_assert_ptr_null(cfg);
    ck_assert_int_eq(rc, (int)errs.n);
    ck_assert_msg(errs.n >= 1, "no error for case %d, want %s", _i,
                  bad[_i].want);
    assert_prefix(errs.msg[0], bad[_i].want);
    ck_assert_msg(errs.n == 1, "case %d: %zu errors, the second: %s", _i,
                  errs.n, errs.n > 1 ? errs.msg[1] : "");
    errlist_reset(&errs);
}
END_TEST

static const char *const several[] = {
    "1:9: listen: bad listen address \"0.0.0.0\": missing port",
    "2:10: dry_run: expected true or false, got a quoted string \"no\"",
    "5:12: poll: timeout (2s) must be less than interval (1s)",
    "8:17: clusters[0].lag_source: unknown value \"lamport\"",
    "11:17: clusters[0].thresholds: critical (5s) must be greater than "
    "warning (10s)",
    "13:28: clusters[0].nodes[0].url: bad URL \"ftp://10.0.0.1:18180\": "
    "must start with http:// or https://",
    "14:16: clusters[0].nodes[1]: duplicate node name \"node1\" (first at "
    "line 13)",
    "14:59: clusters[0].nodes[1]: a second primary: the node at line 13 is "
    "already the primary",
    "15:9: clusters[0].nodes[2]: missing required key \"role\"",
    "15:53: clusters[0].nodes[2]: unknown key \"rol\"",
    "16:11: clusters[1]: duplicate cluster name \"main\" (first at line 7)",
    "18:7: clusters[1].nodes: no node has role primary",
};

START_TEST(all_errors_reported)
{
    char *path = fixture("several_errors.yml");
    struct config *cfg = NULL;
    struct errlist errs;
    struct buf want;

    errlist_init(&errs);
    ck_assert_int_eq(config_load(path, &cfg, &errs), (int)ARRAY_LEN(several));
    ck_assert_ptr_null(cfg);
    ck_assert_uint_eq(errs.n, ARRAY_LEN(several));
    for (size_t i = 0; i < ARRAY_LEN(several); i++) {
        buf_init(&want, 0);
        buf_printf(&want, "%s:%s", path, several[i]);
        assert_prefix(errs.msg[i], want.data);
        buf_free(&want);
    }
    /* A second load appends to the same list. */
    ck_assert_int_eq(config_load(path, &cfg, &errs), (int)ARRAY_LEN(several));
    ck_assert_uint_eq(errs.n, 2 * ARRAY_LEN(several));
    errlist_reset(&errs);
    ck_assert_uint_eq(errs.n, 0);
    /* Without a list the count still comes back. */
    ck_assert_int_eq(config_load(path, &cfg, NULL), (int)ARRAY_LEN(several));
    free(path);
}
END_TEST

static void load_one_error(const char *file, const char *want_suffix)
{
    char *path = fixture(file);
    struct config *cfg = NULL;
    struct errlist errs;
    struct buf want;

    errlist_init(&errs);
    buf_init(&want, 0);
    buf_printf(&want, "%s%s", path, want_suffix);
    ck_assert_int_eq(config_load(path, &cfg, &errs), 1);
    ck_assert_ptr_null(cfg);
    assert_prefix(errs.msg[0], want.data);
    buf_free(&want);
    errlist_reset(&errs);
    free(path);
}

START_TEST(file_errors)
{
    load_one_error("syntax_error.yml",
                   ":6:9: YAML syntax error: did not find expected ',' or "
                   "'}' (while parsing a flow mapping at line 5, column 9)");
    load_one_error("two_documents.yml",
                   ":5:1: only one YAML document is allowed");
    load_one_error("missing.yml", ": cannot read: No such file or directory");
    load_one_error("", ": not a regular file (a FIFO, device or directory); "
                       "refused without reading it");
}
END_TEST

START_TEST(limits)
{
    struct config *cfg = NULL;
    struct errlist errs;
    struct buf b;

    /* Past CONFIG_MAX_ERRORS, one last line says so. */
    buf_init(&b, 0);
    for (int i = 0; i < CONFIG_MAX_ERRORS + 50; i++)
        buf_printf(&b, "k%d: 1\n", i);
    buf_puts(&b, CLUSTERS);
    errlist_init(&errs);
    ck_assert_int_eq(config_load_string("t.yml", b.data, b.len, &cfg, &errs),
                     CONFIG_MAX_ERRORS + 1);
    assert_prefix(errs.msg[0], "t.yml:1:1: unknown key \"k0\"");
    assert_prefix(errs.msg[CONFIG_MAX_ERRORS],
                  "t.yml:201:1: too many errors, not reporting more");
    errlist_reset(&errs);

    /* A text larger than the cap is refused before parsing. */
    buf_reset(&b);
    while (b.len <= CONFIG_MAX_FILE_SIZE)
        buf_puts(&b, "# padding padding padding padding padding padding\n");
    ck_assert_int_eq(config_load_string("t.yml", b.data, b.len, &cfg, &errs),
                     1);
    assert_prefix(errs.msg[0], "t.yml: larger than 16777216 bytes");
    errlist_reset(&errs);
    buf_free(&b);
}
END_TEST

START_TEST(escapes_stay_on_one_line)
{
    const char *yaml = "rules: \"\\x00\"\nstate_dir: [\"a\"]\n"
                       "\"x\\ny\": 1\n" CLUSTERS;
    struct config *cfg = NULL;
    struct errlist errs;

    errlist_init(&errs);
    ck_assert_int_eq(
        config_load_string("t.yml", yaml, strlen(yaml), &cfg, &errs), 3);
    ck_assert_str_eq(errs.msg[0], "t.yml:1:8: rules: contains a NUL character");
    assert_prefix(errs.msg[2], "t.yml:3:1: unknown key \"x?y\"");
    for (size_t i = 0; i < errs.n; i++)
        ck_assert_ptr_null(strchr(errs.msg[i], '\n'));
    errlist_reset(&errs);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");

    tcase_add_test(tc, spec_example);
    tcase_add_test(tc, minimal_gets_every_default);
    tcase_add_test(tc, every_key_changed);
    tcase_add_test(tc, lookups);
    tcase_add_test(tc, escalation_section);
    tcase_add_test(tc, node_zone);
    tcase_add_test(tc, failover_defaults);
    tcase_add_test(tc, failover_keys);
    tcase_add_loop_test(tc, bad_config, 0, (int)ARRAY_LEN(bad));
    tcase_add_test(tc, all_errors_reported);
    tcase_add_test(tc, file_errors);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, escapes_stay_on_one_line);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
