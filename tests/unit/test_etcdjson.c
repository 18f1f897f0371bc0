/* test_etcdjson.c: the etcd gateway's JSON (etcdjson.h) against answers
 * etcd 3.4 gave, and the rendezvous hash (ha.h): its spread, and that a
 * member joining or leaving moves only its own share. */
#include "ha/etcdjson.h"
#include "ha/ha.h"
#include "lib/util.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(base64_round_trips)
{
    static const char *const in[] = {"", "a", "ab", "abc",
                                     "/rg/test/owners/c1"};
    char out[64];
    for (size_t i = 0; i < ARRAY_LEN(in); i++) {
        char *b = etcd_b64(in[i], strlen(in[i]));
        ck_assert_int_eq(etcd_unb64(b, out, sizeof(out) - 1),
                         (long)strlen(in[i]));
        ck_assert_str_eq(out, in[i]);
        free(b);
    }
    char *b = etcd_b64("me", 2);
    ck_assert_str_eq(b, "bWU=");
    free(b);
    ck_assert_int_eq(etcd_unb64("bW!=", out, 8), -1);
    ck_assert_int_eq(etcd_unb64("YWJjZGVm", out, 3), -1); /* over cap */
}
END_TEST

START_TEST(range_end_is_past_the_prefix)
{
    char *e = etcd_range_end("/rg/members/");
    ck_assert_str_eq(e, "/rg/members0");
    free(e);
}
END_TEST

START_TEST(parses_what_etcd_answers)
{
    struct etcd_reply r;
    const char *grant = "{\"header\":{\"revision\":\"1\"},\"ID\":"
                        "\"2324035875576746501\",\"TTL\":\"2\"}";
    ck_assert_int_eq(etcd_parse(grant, strlen(grant), 8, &r), 0);
    ck_assert(r.id == 2324035875576746501LL);
    ck_assert_int_eq(r.ttl, 2);
    etcd_reply_free(&r);
    /* a keep-alive of a lease etcd no longer has: no TTL */
    const char *lost = "{\"result\":{\"header\":{\"revision\":\"3\"},"
                       "\"ID\":\"7\"}}";
    ck_assert_int_eq(etcd_parse(lost, strlen(lost), 8, &r), 0);
    ck_assert_int_eq(r.ttl, 0);
    ck_assert_int_eq(r.id, 7);
    etcd_reply_free(&r);
    const char *taken =
        "{\"header\":{\"revision\":\"2\"},\"responses\":[{\"response_range\":"
        "{\"kvs\":[{\"key\":\"L3Avb3duZXJzL2Mx\",\"create_revision\":\"2\","
        "\"value\":\"bWU=\",\"lease\":\"9\"}],\"count\":\"1\"}}]}";
    ck_assert_int_eq(etcd_parse(taken, strlen(taken), 8, &r), 0);
    ck_assert(!r.succeeded);
    ck_assert_uint_eq(r.n_kvs, 1);
    ck_assert_str_eq(r.kvs[0].key, "/p/owners/c1");
    ck_assert_str_eq(r.kvs[0].value, "me");
    ck_assert_int_eq(r.kvs[0].create_revision, 2);
    ck_assert_int_eq(r.kvs[0].lease, 9);
    etcd_reply_free(&r);
    const char *ok = "{\"header\":{\"revision\":\"12\"},\"succeeded\":true}";
    ck_assert_int_eq(etcd_parse(ok, strlen(ok), 8, &r), 0);
    ck_assert(r.succeeded);
    ck_assert_int_eq(r.revision, 12);
    etcd_reply_free(&r);
    const char *err = "{\"error\":\"x\",\"code\":5}";
    ck_assert_int_eq(etcd_parse(err, strlen(err), 8, &r), -1);
    ck_assert_int_eq(etcd_parse("[1]", 3, 8, &r), -1);
    /* a key that is not base64 is left out, the rest is read */
    const char *badkey = "{\"kvs\":[{\"key\":\"***\"},{\"key\":\"YQ==\"}]}";
    ck_assert_int_eq(etcd_parse(badkey, strlen(badkey), 8, &r), 0);
    ck_assert_uint_eq(r.n_kvs, 1);
    ck_assert_str_eq(r.kvs[0].key, "a");
    etcd_reply_free(&r);
    ck_assert_int_eq(etcd_parse("{\"kvs\":[1]}", 10, 8, &r), -1);
    ck_assert_ptr_null(r.kvs);
}
END_TEST

START_TEST(create_txn_compares_the_create_revision)
{
    char *s = etcd_create_json("/k", "me", 42, NULL);
    cJSON *o = cJSON_Parse(s);
    const cJSON *cmp =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "compare"), 0);
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(cmp, "target")->valuestring, "CREATE");
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(cmp, "create_revision")->valuestring,
        "0");
    const cJSON *put = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "success"), 0),
        "request_put");
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(put, "lease")->valuestring, "42");
    cJSON_Delete(o);
    free(s);
}
END_TEST

/* a claim reads every job key of the cluster: a range over the prefix */
START_TEST(create_txn_reads_the_prefix_also_read)
{
    char *s = etcd_create_json("/p/owners/c1", "me", 42, "/p/jobs/c1/");
    cJSON *o = cJSON_Parse(s);
    const cJSON *rr = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "success"), 1),
        "request_range");
    char *key = etcd_b64("/p/jobs/c1/", 11), *end = etcd_b64("/p/jobs/c10", 11);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(rr, "key")->valuestring,
                     key);
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(rr, "range_end")->valuestring, end);
    free(key);
    free(end);
    cJSON_Delete(o);
    free(s);
}
END_TEST

/* 1,000 clusters over 4 members: each gets 250 give or take a few
 * standard deviations (sqrt(1000 * 1/4 * 3/4) = 13.7); a fifth member
 * takes about a fifth, all of it from the others, and nothing else
 * moves; removing it puts everything back. */
START_TEST(rendezvous_spread_and_minimal_moves)
{
    const char *m[] = {"agent-a", "agent-b", "agent-c", "agent-d", "agent-e"};
    int before[1000], share[5] = {0}, moved = 0;
    char name[16];
    ck_assert_int_eq(ha_rendezvous("x", m, 0), -1);
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "cluster-%d", i);
        before[i] = ha_rendezvous(name, m, 4);
        share[before[i]]++;
    }
    for (int k = 0; k < 4; k++) {
        ck_assert_int_ge(share[k], 250 - 55);
        ck_assert_int_le(share[k], 250 + 55);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "cluster-%d", i);
        int now = ha_rendezvous(name, m, 5);
        if (now != before[i]) {
            ck_assert_int_eq(now, 4);
            moved++;
        }
    }
    ck_assert_int_ge(moved, 200 - 50);
    ck_assert_int_le(moved, 200 + 50);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("etcdjson");
    TCase *tc = tcase_create("etcdjson");
    tcase_add_test(tc, base64_round_trips);
    tcase_add_test(tc, range_end_is_past_the_prefix);
    tcase_add_test(tc, parses_what_etcd_answers);
    tcase_add_test(tc, create_txn_compares_the_create_revision);
    tcase_add_test(tc, create_txn_reads_the_prefix_also_read);
    tcase_add_test(tc, rendezvous_spread_and_minimal_moves);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
