/* test_labels.c: the one label-set type (src/lib/labels.h). */
#include "lib/labels.h"
#include "lib/util.h"

#include <check.h>
#include <stdlib.h>

START_TEST(get_searches_a_sorted_set)
{
    static const struct label v[] = {
        {"alertname", "Lag"}, {"cluster", "c1"}, {"replica", "node2"}};
    const struct labels set = {v, ARRAY_LEN(v)};
    const struct labels empty = {NULL, 0};

    ck_assert_str_eq(labels_get(&set, "alertname"), "Lag");
    ck_assert_str_eq(labels_get(&set, "cluster"), "c1");
    ck_assert_str_eq(labels_get(&set, "replica"), "node2");
    ck_assert_ptr_null(labels_get(&set, "node"));
    ck_assert_ptr_null(labels_get(&set, ""));
    ck_assert_ptr_null(labels_get(&empty, "cluster"));
    ck_assert_ptr_null(labels_get(NULL, "cluster"));
}
END_TEST

START_TEST(find_takes_the_first_in_any_order)
{
    static const struct label v[] = {{"replica", "node2"},
                                     {NULL, "skipped"},
                                     {"cluster", "c1"},
                                     {"replica", "node3"}};

    const struct labels set = {v, ARRAY_LEN(v)}, none = {v, 0};

    ck_assert_str_eq(labels_find(&set, "replica"), "node2");
    ck_assert_str_eq(labels_find(&set, "cluster"), "c1");
    ck_assert_ptr_null(labels_find(&set, "node"));
    ck_assert_ptr_null(labels_find(&none, "replica"));
    ck_assert_ptr_null(labels_find(NULL, "replica"));
}
END_TEST

START_TEST(sort_orders_by_name_and_names_a_duplicate)
{
    struct label v[] = {{"b", "2"}, {"c", "3"}, {"a", "1"}};
    struct label dup[] = {{"x", "1"}, {"a", "2"}, {"x", "3"}};
    struct label one[] = {{"only", "1"}};

    ck_assert_uint_eq(labels_sort(v, 3), 3);
    ck_assert_str_eq(v[0].name, "a");
    ck_assert_str_eq(v[1].name, "b");
    ck_assert_str_eq(v[2].name, "c");
    ck_assert_str_eq(v[2].value, "3");
    ck_assert_uint_eq(labels_sort(dup, 3), 2);
    ck_assert_str_eq(dup[2].name, "x");
    ck_assert_uint_eq(labels_sort(one, 1), 1);
    ck_assert_uint_eq(labels_sort(NULL, 0), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("labels");
    TCase *tc = tcase_create("sets");
    tcase_add_test(tc, get_searches_a_sorted_set);
    tcase_add_test(tc, find_takes_the_first_in_any_order);
    tcase_add_test(tc, sort_orders_by_name_and_names_a_duplicate);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
