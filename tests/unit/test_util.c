/* test_util.c: struct buf, duration and number parsing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

START_TEST(buf_grows_and_respects_limit)
{
    struct buf b;
    buf_init(&b, 10);
    ck_assert_int_eq(buf_puts(&b, "hello"), 0);
    ck_assert_int_eq(buf_printf(&b, "%d", 12345), 0);
    ck_assert_str_eq(b.data, "hello12345");
    ck_assert_int_eq(buf_puts(&b, "x"), -1);
    ck_assert_uint_eq(b.len, 10);
    char *s = buf_detach(&b);
    ck_assert_str_eq(s, "hello12345");
    free(s);
    ck_assert_uint_eq(b.len, 0);

    buf_init(&b, 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(buf_printf(&b, "%0300d", i), 0);
    ck_assert_uint_eq(b.len, 300000);
    buf_free(&b);
}
END_TEST

static const struct {
    const char *in;
    int rc;
    double want;
} durations[] = {
    {"250ms", 0, 0.25}, {"5s", 0, 5},    {"3m", 0, 180},   {"1h", 0, 3600},
    {"1.5s", 0, 1.5},   {"2", 0, 2},     {"0s", 0, 0},     {"", -1, 0},
    {"-1s", -1, 0},     {"5x", -1, 0},   {"s", -1, 0},     {" 5s", -1, 0},
    {"inf", -1, 0},     {"nan", -1, 0},  {"0x10s", -1, 0}, {"5 s", -1, 0},
    {"1e3s", -1, 0},    {"5sec", -1, 0},
};

START_TEST(duration_table)
{
    double v = -1;
    int rc = parse_duration(durations[_i].in, &v);
    ck_assert_msg(rc == durations[_i].rc, "parse_duration(\"%s\") = %d",
                  durations[_i].in, rc);
    if (rc == 0)
        ck_assert_double_eq_tol(v, durations[_i].want, 1e-12);
}
END_TEST

START_TEST(numbers)
{
    uint64_t u;
    double d;
    ck_assert_int_eq(parse_u64("42", 0, 100, &u), 0);
    ck_assert_uint_eq(u, 42);
    ck_assert_int_eq(parse_u64("101", 0, 100, &u), -1);
    ck_assert_int_eq(parse_u64("-1", 0, 100, &u), -1);
    ck_assert_int_eq(parse_u64("4x", 0, 100, &u), -1);
    ck_assert_int_eq(parse_u64("99999999999999999999999", 0, UINT64_MAX, &u),
                     -1);
    ck_assert_int_eq(parse_double("0.5", &d), 0);
    ck_assert_double_eq(d, 0.5);
    ck_assert_int_eq(parse_double("inf", &d), -1);
    ck_assert_int_eq(parse_double("1e999", &d), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, buf_grows_and_respects_limit);
    tcase_add_loop_test(tc, duration_table, 0, (int)ARRAY_LEN(durations));
    tcase_add_test(tc, numbers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
