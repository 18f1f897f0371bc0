/* test_profile.c: the datastore profiles (profile.h): StemeDB's table
 * answers every action and builds today's requests; a runbook naming an
 * action a cluster's profile lacks is an error with its place. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/runbook.h"
#include "lib/errlist.h"
#include "profiles/profile.h"

#define NODE(n, role)                                                          \
    "      - {name: " n ", url: \"http://h:1\", role: " role "}\n"
#define CONFIG                                                                 \
    "clusters:\n  - name: a\n    nodes:\n" NODE(                               \
        "n1", "primary") "  - name: b\n    nodes:\n" NODE("m1", "primary")

/* a test-only profile: StemeDB's, without demote */
static struct profile_ops no_demote;

static const struct profile_ops *stemedb(void)
{
    return profile_of(PROFILE_STEMEDB);
}

START_TEST(stemedb_supports_its_actions)
{
    ck_assert_str_eq(stemedb()->name, "stemedb");
    ck_assert(stemedb()->merkle);
    /* every action but PostgreSQL's own */
    for (int a = 0; a < RUNBOOK_N_ACTIONS; a++)
        ck_assert_msg(profile_supports(stemedb(), (enum runbook_action)a) ==
                          (a != RUNBOOK_ACT_CANCEL_BLOCKING_QUERIES),
                      "%s", runbook_action_name((enum runbook_action)a));
}
END_TEST

static void expect(struct profile_request *rq, const char *method,
                   enum profile_node at, const char *path, const char *body)
{
    ck_assert_str_eq(rq->method, method);
    ck_assert_int_eq(rq->at, at);
    ck_assert_str_eq(rq->path, path);
    if (body)
        ck_assert_str_eq(rq->body, body);
    else
        ck_assert_ptr_null(rq->body);
    profile_request_free(rq);
}

START_TEST(stemedb_requests_as_before)
{
    const struct profile_ops *p = stemedb();
    struct profile_request rq;
    ck_assert_str_eq(p->metrics_path, "/metrics");
    p->heartbeat("1795315196.123456", &rq);
    expect(&rq, "POST", PROFILE_AT_PRIMARY, "/v1/admin/heartbeat",
           "{\"ts\": 1795315196.123456}");
    p->set_limit(1999.4, &rq);
    expect(&rq, "POST", PROFILE_AT_PRIMARY, "/v1/admin/rate-limit",
           "{\"max_assertions_per_sec\": 1999}");
    p->set_limit(0, &rq);
    expect(&rq, "POST", PROFILE_AT_PRIMARY, "/v1/admin/rate-limit",
           "{\"max_assertions_per_sec\": 0}");
    p->force_sync("node3", &rq);
    expect(&rq, "POST", PROFILE_AT_PRIMARY, "/v1/admin/cluster/sync",
           "{\"replica_id\": \"node3\", \"force\": true}");
    p->demote("node2", &rq);
    expect(&rq, "POST", PROFILE_AT_PRIMARY, "/v1/admin/cluster/demote",
           "{\"replica_id\": \"node2\", \"force\": true}");
    p->list_breakers(&rq);
    expect(&rq, "GET", PROFILE_AT_TARGET, "/v1/admin/circuit-breakers/tripped",
           NULL);
    p->reset_breaker("ingest-\"7", &rq);
    expect(&rq, "POST", PROFILE_AT_TARGET, "/v1/admin/circuit-breaker/reset",
           "{\"agent_id\":\"ingest-\\\"7\"}");
}
END_TEST

START_TEST(stemedb_reads_answers)
{
    const struct profile_ops *p = stemedb();
    const char *metrics = "stemedb_assertions_indexed_total 42\n"
                          "stemedb_heartbeat_timestamp_seconds 17.5\n";
    struct node_sample s;
    struct promtext_error err = {0};
    ck_assert_int_eq(p->parse_sample(metrics, strlen(metrics), &s, &err), 0);
    ck_assert(s.has_position && s.position == 42);
    ck_assert(s.has_heartbeat && s.heartbeat == 17.5);
    const char *tripped = "[{\"agent_id\": \"sync\", \"tripped_at\": 1}]";
    char **ids;
    size_t n;
    ck_assert_int_eq(p->read_breakers(tripped, strlen(tripped), &ids, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(ids[0], "sync");
    profile_free_ids(ids, n);
}
END_TEST

/* The failover builders speak the simnode's cluster API (README,
 * "Replication modes, epochs and failover"), all at the target. */
START_TEST(stemedb_failover_requests)
{
    const struct profile_ops *p = stemedb();
    struct profile_request rq;
    p->promote("node2", 7, &rq);
    expect(&rq, "POST", PROFILE_AT_TARGET, "/v1/admin/cluster/promote",
           "{\"replica_id\": \"node2\", \"epoch\": 7}");
    p->fence(8, &rq);
    expect(&rq, "POST", PROFILE_AT_TARGET, "/v1/admin/cluster/fence",
           "{\"epoch\": 8}");
    p->replicate_from(NULL, "node2", "node3", 18446744073709551615u, &rq);
    expect(&rq, "POST", PROFILE_AT_TARGET, "/v1/admin/cluster/replicate-from",
           "{\"primary_id\": \"node3\", \"epoch\": 18446744073709551615}");
    p->probe_write(&rq);
    expect(&rq, "POST", PROFILE_AT_TARGET, "/v1/write", "{\"count\": 1}");
}
END_TEST

START_TEST(stemedb_reads_failover_series)
{
    const struct profile_ops *p = stemedb();
    const char *metrics = "stemedb_assertions_indexed_total 42\n"
                          "stemedb_epoch 3\n"
                          "stemedb_acked_position 41\n"
                          "stemedb_node_role{role=\"primary\"} 0\n"
                          "stemedb_node_role{role=\"fenced\"} 1\n"
                          "stemedb_sync_mode{mode=\"async\"} 0\n"
                          "stemedb_sync_mode{mode=\"semi-sync\"} 1\n";
    struct node_sample s;
    struct promtext_error err = {0};
    ck_assert_int_eq(p->parse_sample(metrics, strlen(metrics), &s, &err), 0);
    ck_assert(s.has_epoch && s.epoch == 3);
    ck_assert(s.has_acked && s.acked == 41);
    ck_assert_int_eq(s.role, SEEN_ROLE_FENCED);
    ck_assert_int_eq(s.sync_mode, SYNC_SEEN_SEMI_SYNC);
    /* an epoch that is not a whole count is not one */
    const char *odd = "stemedb_assertions_indexed_total 1\n"
                      "stemedb_epoch 2.5\n";
    ck_assert_int_eq(p->parse_sample(odd, strlen(odd), &s, &err), 0);
    ck_assert(!s.has_epoch && !s.has_acked);
    ck_assert_int_eq(s.sync_mode, SYNC_SEEN_UNKNOWN);
}
END_TEST

static struct config *load_config(void)
{
    struct config *cfg = NULL;
    struct errlist errs;
    errlist_init(&errs);
    ck_assert_int_eq(
        config_load_string("c.yml", CONFIG, strlen(CONFIG), &cfg, &errs), 0);
    errlist_reset(&errs);
    return cfg;
}

static struct runbook_set *load_rules(const char *text)
{
    struct runbook_set *set = NULL;
    struct errlist errs;
    errlist_init(&errs);
    ck_assert_int_eq(
        runbook_load_string("t.yml", text, strlen(text), &set, &errs), 0);
    errlist_reset(&errs);
    return set;
}

#define RULE                                                                   \
    "runbook: r\nmatch: {alertname: A}\ntarget_label: replica\n"               \
    "steps:\n  - action: force_sync\n  - action: demote\n"                     \
    "on_resolved: [demote]\n"

START_TEST(unsupported_action_with_its_place)
{
    struct runbook_set *set = load_rules(RULE);
    const struct runbook *rb = runbook_set_get(set, 0);
    struct errlist errs;
    errlist_init(&errs);
    ck_assert_int_eq(profile_check_runbook(rb, "a", stemedb(), &errs), 0);
    ck_assert_int_eq(profile_check_runbook(rb, "a", &no_demote, &errs), 2);
    ck_assert_uint_eq(errs.n, 2);
    ck_assert_str_eq(errs.msg[0],
                     "t.yml:6:5: steps[1].action: runbook r: action demote "
                     "is not supported by cluster a (profile no-demote)");
    ck_assert_str_eq(errs.msg[1],
                     "t.yml:7:15: on_resolved[0].action: runbook r: action "
                     "demote is not supported by cluster a (profile "
                     "no-demote)");
    errlist_reset(&errs);
    runbook_set_free(set);
}
END_TEST

START_TEST(stemedb_config_passes)
{
    struct config *cfg = load_config();
    struct runbook_set *set = load_rules(RULE);
    struct errlist errs;
    errlist_init(&errs);
    ck_assert_int_eq(profile_check_rules(cfg, set, &errs), 0);
    ck_assert_uint_eq(errs.n, 0);
    runbook_set_free(set);
    config_free(cfg);
}
END_TEST

/* A PostgreSQL cluster has no throttle, Merkle sync or circuit
 * breakers: --check-config names the runbook, the step and the
 * profile; its own actions pass. */
START_TEST(postgres_refuses_stemedb_actions)
{
    const struct profile_ops *pg = profile_of(PROFILE_POSTGRES);
    ck_assert_str_eq(pg->name, "postgres");
    struct runbook_set *set = load_rules(
        "runbook: lag\nmatch: {alertname: A}\ntarget_label: replica\n"
        "steps:\n  - action: throttle\n  - action: cancel_blocking_queries\n"
        "  - action: force_sync\n  - action: demote\n"
        "  - action: reset_circuit_breakers\n  - action: promote\n"
        "  - action: escalate\n    url: \"http://h/x\"\n"
        "on_resolved: [restore_throttle]\n");
    struct errlist errs;
    errlist_init(&errs);
    ck_assert_int_eq(
        profile_check_runbook(runbook_set_get(set, 0), "pg", pg, &errs), 4);
    ck_assert_str_eq(errs.msg[0],
                     "t.yml:5:5: steps[0].action: runbook lag: action "
                     "throttle is not supported by cluster pg (profile "
                     "postgres)");
    ck_assert_str_eq(errs.msg[1],
                     "t.yml:7:5: steps[2].action: runbook lag: action "
                     "force_sync is not supported by cluster pg (profile "
                     "postgres)");
    ck_assert_str_eq(errs.msg[2],
                     "t.yml:9:5: steps[4].action: runbook lag: action "
                     "reset_circuit_breakers is not supported by cluster pg "
                     "(profile postgres)");
    ck_assert_str_eq(errs.msg[3],
                     "t.yml:13:15: on_resolved[0].action: runbook lag: "
                     "action restore_throttle is not supported by cluster "
                     "pg (profile postgres)");
    errlist_reset(&errs);
    runbook_set_free(set);
    /* the builders the failover machine and the executor call */
    ck_assert_ptr_nonnull(pg->promote);
    ck_assert_ptr_nonnull(pg->fence);
    ck_assert_ptr_nonnull(pg->replicate_from);
    ck_assert_ptr_nonnull(pg->probe_write);
    ck_assert_ptr_nonnull(pg->demote);
    ck_assert_ptr_nonnull(pg->cancel_queries);
    ck_assert(!pg->merkle);
}
END_TEST

START_TEST(runbook_matching_clusters)
{
    struct runbook_set *any = load_rules(RULE);
    struct runbook_set *only_b =
        load_rules("runbook: r\nmatch: {alertname: A, cluster: [b, x]}\n"
                   "target_label: replica\nsteps:\n  - action: throttle\n");
    const struct runbook *rb = runbook_set_get(any, 0);
    ck_assert(runbook_may_match_cluster(rb, "a"));
    ck_assert(runbook_may_match_cluster(rb, "b"));
    rb = runbook_set_get(only_b, 0);
    ck_assert(!runbook_may_match_cluster(rb, "a"));
    ck_assert(runbook_may_match_cluster(rb, "b"));
    runbook_set_free(any);
    runbook_set_free(only_b);
}
END_TEST

int main(void)
{
    no_demote = *profile_of(PROFILE_STEMEDB);
    no_demote.name = "no-demote";
    no_demote.actions &= ~PROFILE_ACTION(RUNBOOK_ACT_DEMOTE);
    no_demote.demote = NULL;

    Suite *s = suite_create("profile");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, stemedb_supports_its_actions);
    tcase_add_test(tc, stemedb_requests_as_before);
    tcase_add_test(tc, stemedb_reads_answers);
    tcase_add_test(tc, stemedb_failover_requests);
    tcase_add_test(tc, stemedb_reads_failover_series);
    tcase_add_test(tc, unsupported_action_with_its_place);
    tcase_add_test(tc, stemedb_config_passes);
    tcase_add_test(tc, runbook_matching_clusters);
    tcase_add_test(tc, postgres_refuses_stemedb_actions);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
