/* test_ha.c: several replguard instances sharing 30 clusters through a
 * real three-member etcd cluster (issue 19, config ha:).
 *
 * One fixture for the whole program: etcd on loopback, one simnode
 * serving 30 clusters of two nodes, three replguard instances (a, b, c)
 * with a 2 s lease. Every test leaves that state as it found it: the
 * three instances running and the clusters shared by the hash. Who owns
 * what is read from each instance's /metrics (replguard_ha_is_owner)
 * and checked against ha_rendezvous() over the live members; what
 * reached the nodes, from simnode's own counters. Skipped (exit 77)
 * when etcd is not installed. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_harness.h"
#include "etcd_harness.h"
#include "ha/ha.h"
#include "lib/util.h"
#include "simnode_harness.h"
#include "test_support.h"

#define CLUSTERS 30
#define AGENTS   3
#define TTL_S    2.0
#define POLL_MS  200
/* how long etcd stays paused: the 30 s, fifteen leases */
#define ETCD_PAUSE_S 30.0

static struct etcd_cluster ec;
static struct simnode sn;
static struct agent ags[AGENTS + 1]; /* the last: a fourth member */
static const char *const names[AGENTS + 1] = {"a", "b", "c", "d"};

static const char RULES[] = "runbook: overload\n"
                            "match: {alertname: PrimaryOverload}\n"
                            "target_label: replica\n"
                            "steps:\n"
                            "  - action: throttle\n"
                            "cooldown: 1s\n";

static void cluster_name(int i, char *out, size_t n)
{
    snprintf(out, n, "c%d", i + 1);
}

/* write_config: poll: all, but the fourth member polls what it owns */
static void write_config(struct agent *ag, const char *member)
{
    char poll[64];
    struct buf b;
    snprintf(poll, sizeof(poll), "interval: %dms, timeout: %dms", POLL_MS,
             POLL_MS * 3 / 4);
    buf_init(&b, 0);
    etcd_yaml_agent_head(&ec, ag, &b, RULES, poll, "/rg/test", member, TTL_S,
                         strcmp(member, "d") == 0 ? "owned" : "all");
    for (int c = 0; c < CLUSTERS; c++) {
        char cl[16];
        cluster_name(c, cl, sizeof(cl));
        buf_printf(&b,
                   "  - name: %s\n"
                   "    failover: {enabled: true, detect_after: 1s, "
                   "max_data_loss: 100000}\n"
                   "    nodes:\n"
                   "      - {name: node1, url: \"%s\", role: primary}\n"
                   "      - {name: node2, url: \"%s\", role: replica}\n",
                   cl, simnode_url_in(&sn, cl, "node1"),
                   simnode_url_in(&sn, cl, "node2"));
    }
    agent_write(ag->cfg, b.data);
    buf_free(&b);
}

static void setup(void)
{
    static const char *const args[] = {"--clusters",    "30",  "--nodes", "2",
                                       "--ingest-rate", "100", NULL};
    if (!etcd_binary()) {
        fprintf(stderr, "test_ha: SKIP: etcd is not installed (Debian "
                        "etcd-server)\n");
        exit(77);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    etcd_start(&ec, 3);
    spawn(&sn, args);
    for (int i = 0; i <= AGENTS; i++) {
        agent_init(&ags[i]);
        write_config(&ags[i], names[i]);
    }
    for (int i = 0; i < AGENTS; i++)
        agent_start(&ags[i]);
}

static void teardown(void)
{
    struct simnode none = {0};
    for (int i = 0; i < AGENTS; i++)
        agent_finish(&ags[i], &none);
    agent_cleanup(&ags[AGENTS]);
    simnode_stop(&sn);
    etcd_stop(&ec);
    curl_global_cleanup();
}

/* --- who owns what -------------------------------------------------------- */

/* owners: for every cluster, the index of the one agent of live[0..n)
 * whose /metrics says it owns it, -1 for none, -2 for more than one. */
static void owners(const int *live, int n, int *out)
{
    struct resp r[AGENTS + 1];
    for (int k = 0; k < n; k++)
        get(ags[live[k]].base, "/metrics", &r[k]);
    for (int c = 0; c < CLUSTERS; c++) {
        char labels[64];
        snprintf(labels, sizeof(labels), "cluster=\"c%d\"", c + 1);
        out[c] = -1;
        for (int k = 0; k < n; k++) {
            double v =
                r[k].body.data
                    ? metric_in(r[k].body.data, "replguard_ha_is_owner", labels)
                    : NAN;
            if (v == 1)
                out[c] = out[c] == -1 ? live[k] : -2;
        }
    }
    for (int k = 0; k < n; k++)
        buf_free(&r[k].body);
}

/* expected: the owner of every cluster by the hash over live's names. */
static void expected(const int *live, int n, int *out)
{
    const char *m[AGENTS + 1];
    for (int k = 0; k < n; k++)
        m[k] = names[live[k]];
    for (int c = 0; c < CLUSTERS; c++) {
        char cl[16];
        cluster_name(c, cl, sizeof(cl));
        out[c] = live[ha_rendezvous(cl, m, (size_t)n)];
    }
}

/* converged: waits up to secs until the owners read off the live
 * agents' /metrics are exactly the hash's over them; returns the
 * seconds it took, failing the test past secs. */
static double converged(const int *live, int n, double secs)
{
    int got[CLUSTERS], want[CLUSTERS];
    double start = now_s(), deadline = start + secs * wait_scale();
    expected(live, n, want);
    for (;;) {
        owners(live, n, got);
        if (memcmp(got, want, sizeof(got)) == 0)
            return now_s() - start;
        if (now_s() > deadline) {
            for (int c = 0; c < CLUSTERS; c++)
                if (got[c] != want[c])
                    ck_abort_msg("c%d: owner %d, the hash says %d", c + 1,
                                 got[c], want[c]);
        }
        sleep_ms(50);
    }
}

static const int ABC[] = {0, 1, 2};

/* owned_by: the first cluster agent i owns by the hash over a, b, c. */
static int owned_by(int i)
{
    int want[CLUSTERS];
    expected(ABC, AGENTS, want);
    for (int c = 0; c < CLUSTERS; c++)
        if (want[c] == i)
            return c;
    ck_abort_msg("agent %d owns nothing", i);
    return -1;
}

static int64_t token_of(int c)
{
    char key[64], value[64];
    int64_t rev = 0;
    snprintf(key, sizeof(key), "/rg/test/owners/c%d", c + 1);
    int rc = etcd_get(&ec, key, value, sizeof(value), &rev);
    ck_assert_msg(rc == 0, "%s: etcd_get %d", key, rc);
    return rev;
}

/* --- the tests ------------------------------------------------------------ */

START_TEST(every_cluster_has_exactly_one_owner)
{
    int want[CLUSTERS], share[AGENTS] = {0};
    double took = converged(ABC, AGENTS, 10);
    fprintf(stderr, "test_ha: three members own the 30 clusters after %.2fs\n",
            took);
    expected(ABC, AGENTS, want);
    for (int c = 0; c < CLUSTERS; c++) {
        char key[64], value[64];
        int64_t rev;
        share[want[c]]++;
        snprintf(key, sizeof(key), "/rg/test/owners/c%d", c + 1);
        ck_assert_int_eq(etcd_get(&ec, key, value, sizeof(value), &rev), 0);
        ck_assert_str_eq(value, names[want[c]]);
        ck_assert_int_gt(rev, 0);
    }
    fprintf(stderr, "test_ha: shares a=%d b=%d c=%d\n", share[0], share[1],
            share[2]);
    /* 30 over 3 by a uniform hash: 10 each, and a share outside 4..16
     * has odds under 1 in 100 (binomial(30, 1/3)) */
    for (int i = 0; i < AGENTS; i++) {
        ck_assert_int_ge(share[i], 4);
        ck_assert_int_le(share[i], 16);
        assert_wait(ags[i].base, "replguard_ha_owned_clusters", NULL, EQ,
                    share[i]);
        assert_wait(ags[i].base, "replguard_ha_etcd_up", NULL, EQ, 1);
        assert_wait(ags[i].base, "replguard_ha_member", "member=\"a\"", EQ, 1);
    }
}
END_TEST

/* a reload (SIGHUP) of every member, while they hold their keys: the
 * shares stay, and every member stops cleanly at the end */
START_TEST(a_reload_keeps_the_shares)
{
    int before[CLUSTERS], after[CLUSTERS];
    converged(ABC, AGENTS, 10);
    owners(ABC, AGENTS, before);
    for (int i = 0; i < AGENTS; i++)
        kill(ags[i].pid, SIGHUP);
    for (int i = 0; i < AGENTS; i++)
        wait_file_has(ags[i].log, "config reloaded", WAIT_S);
    converged(ABC, AGENTS, 2 * TTL_S);
    owners(ABC, AGENTS, after);
    ck_assert_mem_eq(before, after, sizeof(before));
}
END_TEST

/* an alert reaches all three: the owner alone throttles, with its
 * token; the others journal it skipped as not_owner; a call carrying a
 * lower token is refused by the node */
START_TEST(only_the_owner_acts_and_its_token_fences)
{
    converged(ABC, AGENTS, 10);
    int c = owned_by(1);
    char cl[16], labels[128], fp[32], line[64];
    cluster_name(c, cl, sizeof(cl));
    const char *primary = simnode_url_in(&sn, cl, "node1");
    double before = admin_requests(primary, "rate-limit");
    snprintf(labels, sizeof(labels), "\"cluster\":\"%s\",\"replica\":\"node2\"",
             cl);
    snprintf(fp, sizeof(fp), "%016x", (unsigned)getpid());
    for (int i = 0; i < AGENTS; i++)
        ck_assert_int_eq(
            agent_alert(&ags[i], "PrimaryOverload", "firing", fp, labels), 200);
    assert_wait(primary, "stemedb_admin_requests_total",
                "endpoint=\"rate-limit\"", EQ, before + 1);
    agent_wait_audit(&ags[0], "skipped", "reason", "not_owner", 1, WAIT_S);
    agent_wait_audit(&ags[2], "skipped", "reason", "not_owner", 1, WAIT_S);
    ck_assert_int_eq(
        agent_audit_count(&ags[1], "skipped", "reason", "not_owner"), 0);
    int64_t token = token_of(c);
    assert_wait(primary, "stemedb_fence_token", NULL, EQ, (double)token);
    /* the intent in the owner's journal names the token */
    char journal[160];
    snprintf(journal, sizeof(journal), "%s/state/journal.jsonl", ags[1].dir);
    snprintf(line, sizeof(line), "\"fence\":%lld", (long long)token);
    ck_assert(file_has(journal, line));
    /* a late call with a lower token (a deposed owner's) is refused */
    snprintf(line, sizeof(line), "X-Replguard-Fence: %lld",
             (long long)token - 1);
    struct opts o = {.method = "POST",
                     .body = "{\"max_assertions_per_sec\": 100}",
                     .header = line};
    char url[128];
    struct resp r;
    snprintf(url, sizeof(url), "%s/v1/admin/rate-limit", primary);
    http(url, &o, &r);
    ck_assert_int_eq(r.status, 409);
    buf_free(&r.body);
    assert_wait(primary, "stemedb_fence_refused_total", NULL, EQ, 1);
    sleep_ms(POLL_MS * 3);
    ck_assert_double_eq(admin_requests(primary, "rate-limit"), before + 1);
}
END_TEST

START_TEST(a_new_member_takes_only_its_share)
{
    static const int ABCD[] = {0, 1, 2, 3};
    int before[CLUSTERS], after[CLUSTERS], want4[CLUSTERS];
    converged(ABC, AGENTS, 10);
    owners(ABC, AGENTS, before);
    agent_start(&ags[3]);
    double took = converged(ABCD, 4, 4 * TTL_S);
    expected(ABCD, 4, want4);
    owners(ABCD, 4, after);
    int moved = 0;
    for (int c = 0; c < CLUSTERS; c++) {
        if (after[c] != before[c]) {
            moved++;
            ck_assert_int_eq(after[c], 3); /* only to the new member */
        }
        ck_assert_int_eq(after[c], want4[c]);
    }
    fprintf(stderr, "test_ha: d joined: %d clusters moved to it in %.2fs\n",
            moved, took);
    ck_assert_int_gt(moved, 0);
    /* an alert on a cluster d does not own: skipped as not_owner there,
     * though d does not even poll it */
    int other = 0;
    while (want4[other] == 3)
        other++;
    char alert[128];
    snprintf(alert, sizeof(alert), "\"cluster\":\"c%d\",\"replica\":\"node2\"",
             other + 1);
    ck_assert_int_eq(agent_alert(&ags[3], "PrimaryOverload", "firing",
                                 "0000000000000d0d", alert),
                     200);
    agent_wait_audit(&ags[3], "skipped", "reason", "not_owner", 1, WAIT_S);
    /* d polls (poll: owned) and exports the nodes of its clusters only */
    for (int c = 0; c < CLUSTERS; c++) {
        char labels[64];
        snprintf(labels, sizeof(labels),
                 "cluster=\"c%d\",node=\"node1\",role=\"primary\"", c + 1);
        if (want4[c] == 3)
            assert_wait(ags[3].base, "replguard_up", labels, EQ, 1);
        else
            ck_assert(isnan(metric(ags[3].base, "replguard_up", labels)));
    }
    /* a clean stop revokes the lease: its member key is gone at once */
    ck_assert_int_eq(agent_stop(&ags[3]), 0);
    char value[64];
    int64_t rev;
    ck_assert_int_ne(
        etcd_get(&ec, "/rg/test/members/d", value, sizeof(value), &rev), 0);
    took = converged(ABC, AGENTS, 2 * TTL_S);
    fprintf(stderr, "test_ha: d left cleanly: back to three in %.2fs\n", took);
}
END_TEST

/* agent a stopped past its lease: b and c take its clusters within ttl
 * plus a check; back, a owns nothing until it has re-taken its keys,
 * acts on nothing meanwhile, and its old token is refused */
START_TEST(a_stopped_owner_loses_its_clusters_and_does_not_act)
{
    static const int BC[] = {1, 2};
    converged(ABC, AGENTS, 10);
    int c = owned_by(0);
    char cl[16];
    cluster_name(c, cl, sizeof(cl));
    int64_t old = token_of(c);
    double t0 = now_s();
    kill(ags[0].pid, SIGSTOP);
    double took = converged(BC, 2, TTL_S + TTL_S / 3 + 2);
    fprintf(stderr,
            "test_ha: a stopped: b and c own its clusters after "
            "%.2fs (ttl %.0fs)\n",
            took, TTL_S);
    int64_t fresh = token_of(c);
    ck_assert_int_gt(fresh, old);
    while (now_s() < t0 + TTL_S + 1)
        sleep_ms(50);
    const char *primary = simnode_url_in(&sn, cl, "node1");
    double calls = admin_requests(primary, "rate-limit");
    double refused = metric(primary, "stemedb_fence_refused_total", NULL);
    kill(ags[0].pid, SIGCONT);
    /* back, it finds its lease past its end on its own clock, before
     * etcd says anything: it owns nothing from that instant (and the
     * stall put it in TILT too) */
    wait_file_has(ags[0].log, "reason=not_renewed", WAIT_S);
    sleep_ms(POLL_MS * 3);
    ck_assert_double_eq(admin_requests(primary, "rate-limit"), calls);
    ck_assert_double_eq(metric(primary, "stemedb_fence_refused_total", NULL),
                        refused);
    /* a's old token against the node that has seen the new one */
    char hdr[64], url[128];
    struct resp r;
    snprintf(hdr, sizeof(hdr), "X-Replguard-Fence: %lld", (long long)fresh);
    struct opts o = {.method = "POST",
                     .body = "{\"max_assertions_per_sec\": 0}",
                     .header = hdr};
    snprintf(url, sizeof(url), "%s/v1/admin/rate-limit", primary);
    http(url, &o, &r);
    ck_assert_int_eq(r.status, 200);
    buf_free(&r.body);
    snprintf(hdr, sizeof(hdr), "X-Replguard-Fence: %lld", (long long)old);
    http(url, &o, &r);
    ck_assert_int_eq(r.status, 409);
    buf_free(&r.body);
    took = converged(ABC, AGENTS, 4 * TTL_S);
    fprintf(stderr, "test_ha: a back: the hash's shares again after %.2fs\n",
            took);
    ck_assert_int_gt(token_of(c), fresh); /* a's again, a new token */
}
END_TEST

/* etcd gone: every instance keeps answering health checks and /metrics,
 * exports etcd down, owns nothing once its lease may have expired and
 * starts no action; all resumes when etcd is back */
START_TEST(etcd_away_fails_static_and_resumes)
{
    converged(ABC, AGENTS, 10);
    int c = owned_by(2);
    char cl[16], labels[128], fp[32];
    cluster_name(c, cl, sizeof(cl));
    const char *primary = simnode_url_in(&sn, cl, "node1");
    double calls = admin_requests(primary, "rate-limit");
    double t0 = now_s();
    etcd_pause(&ec);
    for (int i = 0; i < AGENTS; i++)
        assert_wait_for(ags[i].base, "replguard_ha_etcd_up", NULL, EQ, 0,
                        TTL_S + 2);
    for (int i = 0; i < AGENTS; i++)
        assert_wait_for(ags[i].base, "replguard_ha_owned_clusters", NULL, EQ, 0,
                        TTL_S + 1);
    snprintf(labels, sizeof(labels), "\"cluster\":\"%s\",\"replica\":\"node2\"",
             cl);
    snprintf(fp, sizeof(fp), "%016x", (unsigned)getpid() + 1);
    int skipped = agent_audit_count(&ags[2], "skipped", "reason", "not_owner");
    ck_assert_int_eq(
        agent_alert(&ags[2], "PrimaryOverload", "firing", fp, labels), 200);
    agent_wait_audit(&ags[2], "skipped", "reason", "not_owner", skipped + 1,
                     WAIT_S);
    while (now_s() < t0 + ETCD_PAUSE_S) {
        for (int i = 0; i < AGENTS; i++) {
            struct resp r;
            get(ags[i].base, "/-/healthy", &r);
            ck_assert_int_eq(r.status, 200);
            buf_free(&r.body);
            /* polling goes on: the rounds still count up */
            ck_assert(!isnan(
                metric(ags[i].base, "replguard_poll_rounds_total", NULL)));
        }
        sleep_ms(500);
    }
    ck_assert_double_eq(admin_requests(primary, "rate-limit"), calls);
    double rounds = metric(ags[0].base, "replguard_poll_rounds_total", NULL);
    assert_wait(ags[0].base, "replguard_poll_rounds_total", NULL, GT, rounds);
    etcd_resume(&ec);
    double took = converged(ABC, AGENTS, 6 * TTL_S);
    fprintf(stderr,
            "test_ha: etcd back after %.0fs away: owners again in "
            "%.2fs\n",
            ETCD_PAUSE_S, took);
    for (int i = 0; i < AGENTS; i++)
        assert_wait(ags[i].base, "replguard_ha_etcd_up", NULL, EQ, 1);
    ck_assert(agent_log_has(&ags[1], "ha: etcd request failed"));
    ck_assert(agent_log_has(&ags[1], "ha: lease lost"));
    /* actions resume: a new alert, sent to all, is acted on once */
    snprintf(fp, sizeof(fp), "%016x", (unsigned)getpid() + 2);
    for (int i = 0; i < AGENTS; i++)
        ck_assert_int_eq(
            agent_alert(&ags[i], "PrimaryOverload", "firing", fp, labels), 200);
    assert_wait(primary, "stemedb_admin_requests_total",
                "endpoint=\"rate-limit\"", EQ, calls + 1);
    sleep_ms(POLL_MS * 3);
    ck_assert_double_eq(admin_requests(primary, "rate-limit"), calls + 1);
}
END_TEST

/* storm: every agent of live[0..n) gets the alert of every cluster of
 * d's share (one fingerprint per cluster, as Alertmanager resends it). */
static void storm(const int *live, int n, const int *share, int n_share)
{
    for (int k = 0; k < n; k++)
        for (int s = 0; s < n_share; s++) {
            char cl[16], labels[128], fp[32];
            cluster_name(share[s], cl, sizeof(cl));
            snprintf(labels, sizeof(labels),
                     "\"cluster\":\"%s\",\"replica\":\"node2\"", cl);
            snprintf(fp, sizeof(fp), "%08x%08x", (unsigned)getpid(),
                     (unsigned)share[s] + 0x100);
            ck_assert_int_eq(agent_alert(&ags[live[k]], "PrimaryOverload",
                                         "firing", fp, labels),
                             200);
        }
}

static void replay_refused(int c, int64_t dead_token);

/* kill -9 of a member while every member gets the same alerts: its
 * clusters have a new owner within ttl plus a check, no action runs
 * twice, and a call with the dead owner's token is refused once the new
 * owner has acted */
START_TEST(a_killed_member_is_replaced_under_a_webhook_storm)
{
    static const int ABCD[] = {0, 1, 2, 3};
    int want4[CLUSTERS], share[CLUSTERS], n_share = 0;
    double before[CLUSTERS];
    int64_t dead_token[CLUSTERS];
    agent_start(&ags[3]);
    converged(ABCD, 4, 4 * TTL_S);
    expected(ABCD, 4, want4);
    for (int c = 0; c < CLUSTERS; c++)
        if (want4[c] == 3) {
            char cl[16];
            cluster_name(c, cl, sizeof(cl));
            before[n_share] =
                admin_requests(simnode_url_in(&sn, cl, "node1"), "rate-limit");
            dead_token[n_share] = token_of(c);
            share[n_share++] = c;
        }
    ck_assert_int_gt(n_share, 0);
    storm(ABCD, 4, share, n_share);
    for (int s = 0; s < n_share; s++) {
        char cl[16];
        cluster_name(share[s], cl, sizeof(cl));
        assert_wait(simnode_url_in(&sn, cl, "node1"),
                    "stemedb_admin_requests_total", "endpoint=\"rate-limit\"",
                    EQ, before[s] + 1);
    }
    double t0 = now_s();
    kill(ags[3].pid, SIGKILL);
    reap(ags[3].pid);
    ags[3].pid = 0;
    for (int i = 0; i < 5; i++)
        storm(ABC, AGENTS, share, n_share);
    double took = converged(ABC, AGENTS, TTL_S + TTL_S / 3 + 2);
    fprintf(stderr,
            "test_ha: d killed: its %d clusters owned again %.2fs "
            "after the kill (ttl %.0fs)\n",
            n_share, now_s() - t0, TTL_S);
    (void)took;
    storm(ABC, AGENTS, share, n_share);
    sleep_ms(POLL_MS * 3);
    for (int s = 0; s < n_share; s++) { /* exactly one throttle each */
        char cl[16];
        cluster_name(share[s], cl, sizeof(cl));
        ck_assert_double_eq(
            admin_requests(simnode_url_in(&sn, cl, "node1"), "rate-limit"),
            before[s] + 1);
        ck_assert_int_gt(token_of(share[s]), dead_token[s]);
    }
    replay_refused(share[0], dead_token[0]);
}
END_TEST

/* replay_refused: a new alert on cluster c: its new owner acts with its
 * token; then a call with the dead owner's token is refused. */
static void replay_refused(int c, int64_t dead_token)
{
    char cl[16], labels[128], hdr[64], url[128];
    cluster_name(c, cl, sizeof(cl));
    const char *primary = simnode_url_in(&sn, cl, "node1");
    snprintf(labels, sizeof(labels), "\"cluster\":\"%s\",\"replica\":\"node2\"",
             cl);
    for (int i = 0; i < AGENTS; i++)
        ck_assert_int_eq(agent_alert(&ags[i], "PrimaryOverload", "firing",
                                     "00000000deadbeef", labels),
                         200);
    assert_wait(primary, "stemedb_fence_token", NULL, EQ, (double)token_of(c));
    snprintf(hdr, sizeof(hdr), "X-Replguard-Fence: %lld",
             (long long)dead_token);
    struct opts o = {.method = "POST",
                     .body = "{\"max_assertions_per_sec\": 100}",
                     .header = hdr};
    struct resp r;
    snprintf(url, sizeof(url), "%s/v1/admin/rate-limit", primary);
    http(url, &o, &r);
    ck_assert_int_eq(r.status, 409);
    buf_free(&r.body);
}

/* d, the owner of a cluster whose primary crashed, is killed -9 in the
 * middle of the failover: the next owner reads the phase d left under
 * the cluster's key with its claim and completes the run, promoting
 * once */
START_TEST(a_failover_in_flight_is_resumed_by_the_next_owner)
{
    static const int ABCD[] = {0, 1, 2, 3};
    int want4[CLUSTERS], want3[CLUSTERS], c = 0;
    char cl[16], journal[160];
    agent_start(&ags[3]);
    converged(ABCD, 4, 4 * TTL_S);
    expected(ABCD, 4, want4);
    expected(ABC, AGENTS, want3);
    while (want4[c] != 3)
        c++;
    cluster_name(c, cl, sizeof(cl));
    snprintf(journal, sizeof(journal), "%s/state/journal.jsonl", ags[3].dir);
    ck_assert_int_eq(call(simnode_url_in(&sn, cl, "node1"), "POST",
                          "/v1/sim/fault",
                          "{\"node\":\"node1\",\"kind\":\"crash\"}"),
                     200);
    /* killed the moment its journal has the promote phase: a phase acts
     * only once etcd has its record, so etcd has promote (and the call
     * may have landed) or the phase before (and it has not) */
    double t0 = now_s();
    while (!file_has(journal, "\"phase\":\"promote\"") &&
           now_s() - t0 < 10 * wait_scale())
        sleep_ms(1);
    kill(ags[3].pid, SIGKILL);
    char jobkey[64], job[2048] = "";
    int64_t rev;
    snprintf(jobkey, sizeof(jobkey), "/rg/test/jobs/%s/failover", cl);
    int got = etcd_get(&ec, jobkey, job, sizeof(job), &rev);
    reap(ags[3].pid);
    ags[3].pid = 0;
    ck_assert(file_has(journal, "\"phase\":\"promote\""));
    ck_assert(!file_has(journal, "\"phase\":\"done\""));
    ck_assert_msg(got == 0 && strstr(job, "\"type\":\"failover\""),
                  "no phase under %s (%d)", jobkey, got);
    fprintf(stderr, "test_ha: owner killed; etcd had phase %.20s\n",
            strstr(job, "\"phase\":") + 8);
    struct agent *next = &ags[want3[c]];
    agent_wait_audit(next, "failover_done", "ok", "true", 1, 15);
    fprintf(stderr,
            "test_ha: %s's failover, its owner killed in flight, "
            "done by %s %.2fs after the crash\n",
            cl, names[want3[c]], now_s() - t0);
    ck_assert(agent_log_has(next, "left a failover in flight"));
    ck_assert(agent_log_has(next, "resumed after a handover"));
    char line[64], njournal[160];
    snprintf(njournal, sizeof(njournal), "%s/state/journal.jsonl", next->dir);
    snprintf(line, sizeof(line), "\"fence\":%lld", (long long)token_of(c));
    ck_assert(file_has(njournal, line)); /* its phases name its token */
    ck_assert_double_eq(
        admin_requests(simnode_url_in(&sn, cl, "node2"), "promote"), 1);
    ck_assert_double_eq(metric(simnode_url_in(&sn, cl, "node2"),
                               "stemedb_node_role", "role=\"primary\""),
                        1);
    for (int i = 0; i < AGENTS; i++) /* the others never started one */
        if (i != want3[c])
            ck_assert_int_eq(
                agent_audit_count(&ags[i], "failover_plan", NULL, NULL), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ha");
    TCase *tc = tcase_create("ha");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_cluster_has_exactly_one_owner);
    tcase_add_test(tc, a_reload_keeps_the_shares);
    tcase_add_test(tc, only_the_owner_acts_and_its_token_fences);
    tcase_add_test(tc, a_new_member_takes_only_its_share);
    tcase_add_test(tc, a_stopped_owner_loses_its_clusters_and_does_not_act);
    tcase_add_test(tc, etcd_away_fails_static_and_resumes);
    tcase_add_test(tc, a_killed_member_is_replaced_under_a_webhook_storm);
    tcase_add_test(tc, a_failover_in_flight_is_resumed_by_the_next_owner);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
