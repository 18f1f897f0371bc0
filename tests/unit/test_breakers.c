/* test_breakers.c: a node's tripped circuit-breaker list and the reset
 * bodies made from it, with ids a node should not send. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "profiles/stemedb/breakers.h"
#include "lib/util.h"

static int parse(const char *text, char ***ids, size_t *n)
{
    return breakers_parse(text, strlen(text), ids, n);
}

START_TEST(simnode_answer)
{
    const char *text = "[{\"agent_id\":\"ingest-7\",\"tripped_at\":1795315196."
                       "69},\n {\"agent_id\": \"sync\", \"x\": [1]}]\n";
    char **ids;
    size_t n;
    ck_assert_int_eq(parse(text, &ids, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(ids[0], "ingest-7");
    ck_assert_str_eq(ids[1], "sync");
    breakers_free(ids, n);

    ck_assert_int_eq(parse(" [ ] ", &ids, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(ids);
}
END_TEST

static const char *const bad[] = {
    "",
    "garbage",
    "{\"agent_id\":\"a\"}",
    "[{\"agent_id\":\"a\"}] x",
    "[{\"agent_id\":\"a\"},",
    "[{\"tripped_at\":1}]",
    "[{\"agent_id\":1}]",
    "[{\"agent_id\":\"\"}]",
    "[\"a\"]",
    "[[{\"agent_id\":\"a\"}]]",
};

START_TEST(rejected)
{
    char **ids = (char **)1;
    size_t n = 99;
    ck_assert_int_eq(parse(bad[_i], &ids, &n), -EINVAL);
    ck_assert_ptr_null(ids);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(limits)
{
    struct buf b;
    char **ids;
    size_t n;
    buf_init(&b, 0);
    buf_puts(&b, "[");
    for (int i = 0; i < BREAKERS_MAX; i++)
        buf_printf(&b, "%s{\"agent_id\":\"a%d\"}", i ? "," : "", i);
    buf_puts(&b, "]");
    ck_assert_int_eq(breakers_parse(b.data, b.len, &ids, &n), 0);
    ck_assert_uint_eq(n, BREAKERS_MAX);
    ck_assert_str_eq(ids[BREAKERS_MAX - 1], "a1023");
    breakers_free(ids, n);
    b.len--;
    buf_puts(&b, ",{\"agent_id\":\"one too many\"}]");
    ck_assert_int_eq(breakers_parse(b.data, b.len, &ids, &n), -EINVAL);

    buf_reset(&b);
    buf_puts(&b, "[{\"agent_id\":\"");
    for (int i = 0; i < BREAKERS_MAX_ID; i++)
        buf_puts(&b, "x");
    buf_puts(&b, "\"}]");
    ck_assert_int_eq(breakers_parse(b.data, b.len, &ids, &n), 0);
    ck_assert_uint_eq(strlen(ids[0]), BREAKERS_MAX_ID);
    breakers_free(ids, n);
    b.len -= 3;
    buf_puts(&b, "x\"}]");
    ck_assert_int_eq(breakers_parse(b.data, b.len, &ids, &n), -EINVAL);
    buf_free(&b);
}
END_TEST

/* An id with quotes and a backslash goes back as one JSON string, not as
 * JSON of the node's making. */
START_TEST(reset_body_escapes)
{
    char **ids;
    size_t n;
    ck_assert_int_eq(parse("[{\"agent_id\":\"a\\\", \\\"force\\\": true, "
                           "\\\"b\\\\\"}]",
                           &ids, &n),
                     0);
    ck_assert_str_eq(ids[0], "a\", \"force\": true, \"b\\");
    char *body = breakers_reset_body(ids[0]);
    ck_assert_str_eq(
        body, "{\"agent_id\":\"a\\\", \\\"force\\\": true, \\\"b\\\\\"}");
    free(body);
    breakers_free(ids, n);

    body = breakers_reset_body("ingest-7");
    ck_assert_str_eq(body, "{\"agent_id\":\"ingest-7\"}");
    free(body);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("breakers");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, simnode_answer);
    tcase_add_loop_test(tc, rejected, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, limits);
    tcase_add_test(tc, reset_body_escapes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
