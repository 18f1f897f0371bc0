/* test_configscale.c: configs of thousands of clusters (issue 20): a
 * sharded fleet of 2,500 clusters of 4 loads, its names are found by
 * the index, and the bounds are reported at the clusters: key. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/nameindex.h"
#include "lib/util.h"

/* fleet: YAML text of n clusters "shardI" of k nodes each (k <= 256);
 * dup >= 0 names cluster dup like cluster 0. The caller frees it. */
static char *fleet(size_t n, size_t k, long dup)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "clusters:\n");
    for (size_t i = 0; i < n; i++) {
        buf_printf(&b, "  - name: shard%zu\n    nodes:\n",
                   (long)i == dup ? (size_t)0 : i);
        for (size_t j = 0; j < k; j++)
            buf_printf(&b,
                       "      - {name: n%zu, url: \"http://10.%zu.%zu.%zu:80\","
                       " role: %s}\n",
                       j, i / 65536, i / 256 % 256, i % 256,
                       j ? "replica" : "primary");
    }
    return buf_detach(&b);
}

static int load(const char *text, struct config **cfg, struct errlist *errs)
{
    errlist_init(errs);
    return config_load_string("t.yml", text, strlen(text), cfg, errs);
}

START_TEST(thousands_of_clusters_load)
{
    char *text = fleet(2500, 4, -1);
    struct config *cfg = NULL;
    struct errlist errs;
    int rc = load(text, &cfg, &errs);
    ck_assert_msg(rc == 0, "unexpected error: %s", rc ? errs.msg[0] : "");
    ck_assert_uint_eq(cfg->n_clusters, 2500);
    ck_assert_uint_eq(config_node_count(cfg), 10000);
    /* every name is found where it is, and only those */
    char name[32];
    for (size_t i = 0; i < 2500; i++) {
        snprintf(name, sizeof(name), "shard%zu", i);
        ck_assert_int_eq(config_cluster_index(cfg, name), (int)i);
    }
    ck_assert_int_eq(config_cluster_index(cfg, "shard2500"), -1);
    ck_assert_int_eq(config_cluster_index(cfg, "shard"), -1);
    ck_assert_str_eq(config_find_cluster(cfg, "shard1234")->name, "shard1234");
    config_free(cfg);
    errlist_reset(&errs);
    free(text);
}
END_TEST

START_TEST(duplicate_among_thousands)
{
    char *text = fleet(2500, 1, 2000);
    struct config *cfg = NULL;
    struct errlist errs;
    ck_assert_int_eq(load(text, &cfg, &errs), 1);
    ck_assert_ptr_null(cfg);
    /* cluster 2000's mapping: line 2 + 3 lines per cluster, name at 5 */
    ck_assert_str_eq(errs.msg[0], "t.yml:6002:11: clusters[2000]: "
                                  "duplicate cluster name \"shard0\" (first "
                                  "at line 2)");
    errlist_reset(&errs);
    free(text);
}
END_TEST

START_TEST(too_many_clusters)
{
    char *text = fleet(CONFIG_MAX_CLUSTERS + 1, 1, -1);
    struct config *cfg = NULL;
    struct errlist errs;
    ck_assert_int_eq(load(text, &cfg, &errs), 1);
    ck_assert_str_eq(errs.msg[0],
                     "t.yml:2:3: clusters: expected 1 to 20000 clusters, "
                     "got 20001");
    errlist_reset(&errs);
    free(text);
}
END_TEST

START_TEST(too_many_nodes_in_all)
{
    /* 196 x 256 = 50,176 nodes in clusters each within its own bound */
    char *text = fleet(196, 256, -1);
    struct config *cfg = NULL;
    struct errlist errs;
    ck_assert_int_eq(load(text, &cfg, &errs), 1);
    ck_assert_str_eq(errs.msg[0], "t.yml:2:3: clusters: expected at most "
                                  "50000 nodes in all, got 50176");
    errlist_reset(&errs);
    free(text);
}
END_TEST

START_TEST(index_add_and_get)
{
    struct nameindex *x = nameindex_new(3);
    ck_assert_uint_eq(nameindex_add(x, "a", 0), 0);
    ck_assert_uint_eq(nameindex_add(x, "b", 1), 1);
    ck_assert_uint_eq(nameindex_add(x, "a", 2), 0); /* already there */
    ck_assert_int_eq(nameindex_get(x, "a"), 0);
    ck_assert_int_eq(nameindex_get(x, "b"), 1);
    ck_assert_int_eq(nameindex_get(x, "c"), -1);
    ck_assert_int_eq(nameindex_get(NULL, "a"), -1);
    nameindex_free(x);
    nameindex_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("configscale");
    TCase *tc = tcase_create("configscale");

    tcase_set_timeout(tc, 120); /* tens of MB of YAML under sanitizers */
    tcase_add_test(tc, thousands_of_clusters_load);
    tcase_add_test(tc, duplicate_among_thousands);
    tcase_add_test(tc, too_many_clusters);
    tcase_add_test(tc, too_many_nodes_in_all);
    tcase_add_test(tc, index_add_and_get);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
