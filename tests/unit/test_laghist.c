/* test_laghist.c: the lag history ring (model/laghist.h) and its
 * /api/v1/history rendering (monitor/histjson.h), with hand-made views
 * and clocks. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "model/laghist.h"
#include "model/view.h"
#include "monitor/histjson.h"

/* A cluster "c1" of a primary and two replicas, and "c2" of one node. */
static struct node_view nodes[4];
static struct cluster_view clusters[2];
static struct agent_view view;

static void setup(void)
{
    memset(nodes, 0, sizeof(nodes));
    memset(clusters, 0, sizeof(clusters));
    static const char *const names[] = {"node1", "node2", "node3", "solo"};
    for (int i = 0; i < 4; i++) {
        nodes[i].name = names[i];
        nodes[i].fresh = true;
        nodes[i].is_primary = i == 0 || i == 3;
        nodes[i].rv.have_lag = !nodes[i].is_primary;
    }
    clusters[0] =
        (struct cluster_view){.name = "c1", .first_node = 0, .n_nodes = 3};
    clusters[1] =
        (struct cluster_view){.name = "c2", .first_node = 3, .n_nodes = 1};
    view = (struct agent_view){
        .clusters = clusters, .n_clusters = 2, .nodes = nodes, .n_nodes = 4};
}

/* lag_at: node row's value in the i-th oldest slot. */
static float lag_at(const struct laghist *h, size_t row, size_t i)
{
    return h->v[row * h->cap + laghist_slot(h, i)];
}

/* One slot per step: the highest lag of its rounds; unknown is NaN, and
 * a known lag wins over an unknown one in the same slot. */
START_TEST(slots_keep_the_highest)
{
    struct laghist h;
    laghist_init(&h, 4, 900, 300, 1);
    ck_assert_double_eq(h.step, 3);
    ck_assert_uint_eq(h.cap, 300);
    nodes[1].rv.lag = 0.5;
    nodes[2].fresh = false; /* stale: unknown */
    laghist_add(&h, &view, 100);
    nodes[1].rv.lag = 2.0;
    nodes[2].fresh = true;
    nodes[2].rv.lag = 0.25;
    laghist_add(&h, &view, 101);
    nodes[1].rv.lag = 1.0; /* lower: the slot keeps 2 */
    laghist_add(&h, &view, 102);
    ck_assert_uint_eq(h.n, 1);
    ck_assert_uint_eq(h.slots, 1);
    ck_assert(isnan(lag_at(&h, 0, 0))); /* the primary */
    ck_assert_float_eq(lag_at(&h, 1, 0), 2.0f);
    ck_assert_float_eq(lag_at(&h, 2, 0), 0.25f);
    laghist_add(&h, &view, 103); /* a step later: a new slot */
    ck_assert_uint_eq(h.n, 2);
    ck_assert_float_eq(lag_at(&h, 1, 1), 1.0f);
    ck_assert_double_eq(h.t[laghist_slot(&h, 1)], 103);
    laghist_free(&h);
}
END_TEST

/* The ring wraps at cap slots, oldest first; a long interval makes the
 * slots longer and fewer; a clock that goes back empties it. */
START_TEST(ring_wraps_and_resets)
{
    struct laghist h;
    laghist_init(&h, 4, 900, 300, 1);
    for (int i = 0; i < 310; i++) {
        nodes[1].rv.lag = i;
        laghist_add(&h, &view, 3.0 * i);
    }
    ck_assert_uint_eq(h.n, 300);
    ck_assert_float_eq(lag_at(&h, 1, 0), 10.0f);
    ck_assert_float_eq(lag_at(&h, 1, 299), 309.0f);
    ck_assert_double_eq(h.t[laghist_slot(&h, 0)], 30);
    laghist_add(&h, &view, 5); /* back in time */
    ck_assert_uint_eq(h.n, 1);
    ck_assert_double_eq(h.t[laghist_slot(&h, 0)], 5);
    laghist_free(&h);
    laghist_init(&h, 4, 900, 300, 10);
    ck_assert_double_eq(h.step, 10);
    ck_assert_uint_eq(h.cap, 90);
    laghist_free(&h);
    /* a view of another size is ignored */
    laghist_init(&h, 3, 900, 300, 1);
    laghist_add(&h, &view, 1);
    ck_assert_uint_eq(h.n, 0);
    laghist_free(&h);
}
END_TEST

/* The document: times oldest first, lags in whole ms or null, every
 * node of every cluster; ?cluster= is that cluster's part alone. */
START_TEST(renders_and_splits)
{
    struct laghist h;
    laghist_init(&h, 4, 900, 300, 1);
    nodes[1].rv.lag = 0.0125;
    nodes[2].fresh = false;
    laghist_add(&h, &view, 10);
    nodes[1].rv.lag = 1.5;
    nodes[2].fresh = true;
    nodes[2].rv.lag = 0.002;
    laghist_add(&h, &view, 13);
    view.history = &h;
    struct histjson hj;
    histjson_render(&view, &hj);
    ck_assert_str_eq(
        hj.doc, "{\"window\":900,\"step\":3,\"times\":[10,13],\"clusters\":["
                "{\"name\":\"c1\",\"nodes\":[{\"name\":\"node1\",\"lag_ms\":"
                "[null,null]},{\"name\":\"node2\",\"lag_ms\":[13,1500]},"
                "{\"name\":\"node3\",\"lag_ms\":[null,2]}]},{\"name\":\"c2\","
                "\"nodes\":[{\"name\":\"solo\",\"lag_ms\":[null,null]}]}]}");
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(histjson_cluster(&hj, "c2", &b), 0);
    ck_assert_str_eq(b.data, "{\"window\":900,\"step\":3,\"times\":[10,13],"
                             "\"clusters\":[{\"name\":\"c2\",\"nodes\":[{"
                             "\"name\":\"solo\",\"lag_ms\":[null,null]}]}]}");
    ck_assert_int_eq(histjson_cluster(&hj, "c3", &b), -1);
    struct histjson copy;
    histjson_copy(&copy, &hj);
    buf_reset(&b);
    ck_assert_int_eq(histjson_cluster(&copy, "c1", &b), 0);
    cJSON *o = cJSON_Parse(b.data);
    ck_assert_ptr_nonnull(o);
    cJSON_Delete(o);
    histjson_free(&copy);
    histjson_free(&hj);
    buf_free(&b);
    /* without a history: no times, empty lists */
    view.history = NULL;
    histjson_render(&view, &hj);
    ck_assert_ptr_nonnull(strstr(hj.doc, "\"times\":[]"));
    ck_assert_ptr_nonnull(strstr(hj.doc, "{\"name\":\"node2\",\"lag_ms\":[]}"));
    histjson_free(&hj);
    laghist_free(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("laghist");
    TCase *tc = tcase_create("ring");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, slots_keep_the_highest);
    tcase_add_test(tc, ring_wraps_and_resets);
    tcase_add_test(tc, renders_and_splits);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
