/* test_configha.c: the ha: section (config.h): its defaults, every key,
 * and one error per kind with its file:line:column. */
#include "config/config.h"
#include "lib/errlist.h"
#include "lib/util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOL 1e-9
#define CLUSTERS                                                               \
    "clusters:\n  - name: a\n    nodes:\n"                                     \
    "      - {name: n1, url: \"http://h:1\", role: primary}\n"

static struct config *load(const char *text, struct errlist *errs)
{
    struct config *cfg = NULL;
    errlist_init(errs);
    config_load_string("t.yml", text, strlen(text), &cfg, errs);
    return cfg;
}

START_TEST(absent_changes_nothing)
{
    struct errlist errs;
    struct config *cfg = load(CLUSTERS, &errs);
    ck_assert_ptr_nonnull(cfg);
    ck_assert(!cfg->ha.enabled);
    ck_assert_uint_eq(cfg->ha.n_etcd, 0);
    ck_assert_ptr_null(cfg->ha.prefix);
    config_free(cfg);
}
END_TEST

START_TEST(defaults)
{
    struct errlist errs;
    struct config *cfg =
        load("ha: {etcd: [\"http://127.0.0.1:2379/\"]}\n" CLUSTERS, &errs);
    char host[256] = "";
    ck_assert_ptr_nonnull(cfg);
    ck_assert(cfg->ha.enabled);
    ck_assert_uint_eq(cfg->ha.n_etcd, 1);
    ck_assert_str_eq(cfg->ha.etcd[0], "http://127.0.0.1:2379");
    ck_assert_str_eq(cfg->ha.prefix, "/replguard");
    gethostname(host, sizeof(host) - 1);
    ck_assert_str_eq(cfg->ha.member, host);
    ck_assert_double_eq_tol(cfg->ha.ttl, 10, TOL);
    ck_assert_int_eq(cfg->ha.poll, HA_POLL_OWNED);
    config_free(cfg);
}
END_TEST

START_TEST(every_key)
{
    struct errlist errs;
    struct config *cfg =
        load("ha:\n"
             "  etcd: [\"http://127.0.0.1:1\", \"https://e2:2379\"]\n"
             "  prefix: /replguard/prod/\n"
             "  member: agent-a\n"
             "  ttl: 2s\n"
             "  poll: all\n" CLUSTERS,
             &errs);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_eq(cfg->ha.n_etcd, 2);
    ck_assert_str_eq(cfg->ha.etcd[1], "https://e2:2379");
    ck_assert_str_eq(cfg->ha.prefix, "/replguard/prod");
    ck_assert_str_eq(cfg->ha.member, "agent-a");
    ck_assert_double_eq_tol(cfg->ha.ttl, 2, TOL);
    ck_assert_int_eq(cfg->ha.poll, HA_POLL_ALL);
    ck_assert_str_eq(config_ha_poll_name(cfg->ha.poll), "all");
    ck_assert_str_eq(config_ha_poll_name((enum ha_poll)9), "unknown");
    config_free(cfg);
}
END_TEST

static const struct {
    const char *yaml;
    const char *want;
} bad[] = {
    {"ha: {}\n" CLUSTERS, "t.yml:1:5: ha: missing required key \"etcd\""},
    {"ha: {etcd: []}\n" CLUSTERS,
     "t.yml:1:12: ha.etcd: expected 1 to 8 endpoints, got 0"},
    {"ha: {etcd: [\"ftp://x:1\"]}\n" CLUSTERS,
     "t.yml:1:13: ha.etcd[0]: bad URL \"ftp://x:1\""},
    {"ha: {etcd: [\"http://x:1\"], prefix: relative}\n" CLUSTERS,
     "t.yml:1:36: ha.prefix: bad prefix \"relative\" (starts with '/'"},
    {"ha: {etcd: [\"http://x:1\"], prefix: \"/a b\"}\n" CLUSTERS,
     "t.yml:1:36: ha.prefix: bad prefix \"/a b\" (printable, no spaces)"},
    {"ha: {etcd: [\"http://x:1\"], member: \"a/b\"}\n" CLUSTERS,
     "t.yml:1:36: ha.member: bad name \"a/b\""},
    {"ha: {etcd: [\"http://x:1\"], ttl: 1s}\n" CLUSTERS,
     "t.yml:1:33: ha.ttl: must be from 2s to 1h, got \"1s\""},
    {"ha: {etcd: [\"http://x:1\"], poll: some}\n" CLUSTERS,
     "t.yml:1:34: ha.poll: unknown value \"some\""},
    {"ha: {etcd: [\"http://x:1\"], lease: 1s}\n" CLUSTERS,
     "t.yml:1:28: ha: unknown key \"lease\""},
};

START_TEST(bad_config)
{
    struct errlist errs;
    struct config *cfg = load(bad[_i].yaml, &errs);
    ck_assert_ptr_null(cfg);
    ck_assert_uint_eq(errs.n, 1);
    ck_assert_msg(strncmp(errs.msg[0], bad[_i].want, strlen(bad[_i].want)) == 0,
                  "\n  got:  %s\n  want: %s...", errs.msg[0], bad[_i].want);
    errlist_reset(&errs);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("configha");
    TCase *tc = tcase_create("configha");

    tcase_add_test(tc, absent_changes_nothing);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, every_key);
    tcase_add_loop_test(tc, bad_config, 0, (int)ARRAY_LEN(bad));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
