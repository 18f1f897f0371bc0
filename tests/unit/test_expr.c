/* test_expr.c: the runbook condition language: values, operators,
 * precedence, three-valued evaluation, every kind of error, limits. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats/expr.h"
#include "lib/util.h"

/* Environments: a calm cluster, a lagging one, and one whose target is
 * stale (its lag, positions and Merkle diff unknown). */
enum { CALM, LAGGY, STALE, N_ENVS };

static void make_env(int which, struct expr_env *env)
{
    static const double v[N_ENVS][EXPR_N_VARS] = {
        [CALM] = {0.5, 10, 0, 1, 0, 2},
        [LAGGY] = {90, 50000, 3, 1, 2, 0},
        [STALE] = {NAN, NAN, NAN, 0, 2, 1},
    };

    expr_env_init(env);
    for (int i = 0; i < EXPR_N_VARS; i++)
        expr_env_set(env, (enum expr_var)i, v[which][i]);
}

static struct expr *parse_ok(const char *text)
{
    struct expr *e = NULL;
    struct expr_error err;
    int rc = expr_parse(text, &e, &err);

    ck_assert_msg(rc == 0, "\"%s\": column %d: %s", text, err.column, err.msg);
    ck_assert_ptr_nonnull(e);
    return e;
}

static const struct {
    const char *text;
    int env;
    int rc; /* 0 or EXPR_UNKNOWN */
    bool want;
} good[] = {
    /* numbers, durations, every comparison */
    {"lag > 60s", CALM, 0, false},
    {"lag > 60s", LAGGY, 0, true},
    {"lag >= 0.5", CALM, 0, true},
    {"lag <= 500ms", CALM, 0, true},
    {"lag < 250ms", CALM, 0, false},
    {"lag > 1m", LAGGY, 0, true},
    {"lag < 1.5m", LAGGY, 0, false},
    {"lag > 1h", LAGGY, 0, false},
    {"lag == 90", LAGGY, 0, true},
    {"lag != 90s", LAGGY, 0, false},
    {"lag_positions > 10000", LAGGY, 0, true},
    {"merkle_diff > 0", LAGGY, 0, true},
    {"merkle_diff > 0", CALM, 0, false},
    {"3600 == 1h", CALM, 0, true},
    {"180 == 3m", CALM, 0, true},
    {"0.25 == 250ms", CALM, 0, true},
    {"60 == 60s", CALM, 0, true},
    {"  lag>60s  ", LAGGY, 0, true},
    {"lag\t>\n60s", LAGGY, 0, true},
    /* booleans */
    {"connected", CALM, 0, true},
    {"not connected", CALM, 0, false},
    {"connected == false", STALE, 0, true},
    {"connected != true", CALM, 0, false},
    {"true", CALM, 0, true},
    {"false", CALM, 0, false},
    {"not not true", CALM, 0, true},
    {"true == true", CALM, 0, true},
    {"(lag > 1) == (lag > 2)", LAGGY, 0, true},
    {"(lag > 1) != (lag > 100)", LAGGY, 0, true},
    {"lagging_replicas >= 2 and healthy_replicas == 0", LAGGY, 0, true},
    {"lagging_replicas >= 2 and healthy_replicas == 0", CALM, 0, false},
    {"((((lag > 60s))))", LAGGY, 0, true},
    {"not (lag > 60s)", CALM, 0, true},
    {"not connected and lag > 1", CALM, 0, false},
    /* the SPEC's escalation condition */
    {"lag > 60s or lagging_replicas >= 2 and healthy_replicas == 0", CALM, 0,
     false},
    {"lag > 60s or lagging_replicas >= 2 and healthy_replicas == 0", LAGGY, 0,
     true},
    /* unknown values spread unless the other side decides */
    {"lag > 60s", STALE, EXPR_UNKNOWN, false},
    {"not (lag > 60s)", STALE, EXPR_UNKNOWN, false},
    {"lag > 60s or lagging_replicas >= 2", STALE, 0, true},
    {"lagging_replicas >= 2 or lag > 60s", STALE, 0, true},
    {"lag > 60s or healthy_replicas > 5", STALE, EXPR_UNKNOWN, false},
    {"lag > 60s and lagging_replicas >= 2", STALE, EXPR_UNKNOWN, false},
    {"lag > 60s and healthy_replicas > 5", STALE, 0, false},
    {"healthy_replicas > 5 and lag > 60s", STALE, 0, false},
    {"(lag > 60s) == true", STALE, EXPR_UNKNOWN, false},
    {"connected or lag > 1", STALE, EXPR_UNKNOWN, false},
    {"merkle_diff == merkle_diff", STALE, EXPR_UNKNOWN, false},
    {"lag > 60s or lagging_replicas >= 2 and healthy_replicas == 0", STALE,
     EXPR_UNKNOWN, false},
    {"lag > 60s or lagging_replicas >= 2 and healthy_replicas >= 1", STALE, 0,
     true},
    {"not connected", STALE, 0, true},
};

START_TEST(evaluates)
{
    struct expr_env env;
    struct expr *e = parse_ok(good[_i].text);
    bool out = !good[_i].want;

    make_env(good[_i].env, &env);
    ck_assert_msg(expr_eval(e, &env, &out) == good[_i].rc,
                  "\"%s\": wrong return code", good[_i].text);
    ck_assert_msg(out == good[_i].want, "\"%s\": got %d", good[_i].text, out);
    ck_assert_str_eq(expr_text(e), good[_i].text);
    expr_free(e);
}
END_TEST

static const struct {
    const char *text;
    const char *want;
} shapes[] = {
    {"lag > 60s or lagging_replicas >= 2 and healthy_replicas == 0",
     "((lag > 60) or ((lagging_replicas >= 2) and (healthy_replicas == 0)))"},
    {"connected and true or false", "((connected and true) or false)"},
    {"false or connected and true", "(false or (connected and true))"},
    {"true or false or true", "((true or false) or true)"},
    {"true and false and true", "((true and false) and true)"},
    {"not connected and true", "((not connected) and true)"},
    {"not connected == false", "((not connected) == false)"},
    {"not (lag > 1)", "(not (lag > 1))"},
    {"(lag > 1 or lag < 0) and connected",
     "(((lag > 1) or (lag < 0)) and connected)"},
    {"250ms < lag", "(0.25 < lag)"},
    {"lag > 1.5s and lag < 3m", "((lag > 1.5) and (lag < 180))"},
    {"not not connected", "(not (not connected))"},
};

START_TEST(precedence)
{
    struct expr *e = parse_ok(shapes[_i].text);
    struct buf b;

    buf_init(&b, 0);
    ck_assert_int_eq(expr_format(e, &b), 0);
    ck_assert_str_eq(b.data, shapes[_i].want);
    buf_free(&b);
    expr_free(e);
}
END_TEST

/* The same precedence, seen in results: each reads true only as the
 * precedence says. */
START_TEST(precedence_by_value)
{
    static const char *const yes[] = {
        "true or true and false",        /* or binds looser than and */
        "false and false or true",       /* likewise */
        "not false and true",            /* not before and */
        "not (false and false)",         /* parentheses first */
        "false or not false",            /* not inside or */
        "lag > 100 or lag > 1 and true", /* comparison before and, or */
    };
    struct expr_env env;
    bool out;

    make_env(LAGGY, &env);
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        struct expr *e = parse_ok(yes[i]);
        ck_assert_int_eq(expr_eval(e, &env, &out), 0);
        ck_assert_msg(out, "\"%s\" should be true", yes[i]);
        expr_free(e);
    }
}
END_TEST

static const struct {
    const char *text;
    int column;
    const char *want; /* a prefix of the message */
} bad[] = {
    {"lag >", 6, "expected a value after '>'"},
    {"lag > 60s or", 13, "expected a value after 'or'"},
    {"connected and ", 15, "expected a value after 'and'"},
    {"not", 4, "expected a value after 'not'"},
    {"lag > > 5", 7, "expected a value after '>', got '>'"},
    {"lag > 5 or or", 12, "expected a value after 'or', got 'or'"},
    {"()", 2, "expected a value after '(', got ')'"},
    {"and", 1, "expected a value, got 'and'"},
    {"lagg > 5", 1,
     "unknown identifier 'lagg' (known: lag, lag_positions, merkle_diff, "
     "connected, lagging_replicas, healthy_replicas, true, false)"},
    {"LAG > 1", 1, "unknown identifier 'LAG'"},
    {"lag > 5 and healthy > 1", 13, "unknown identifier 'healthy'"},
    {"lag > connected", 7, "comparison '>' needs numbers, got a boolean"},
    {"connected > 1", 1, "comparison '>' needs numbers, got a boolean"},
    {"(lag > 1) <= 5", 1, "comparison '<=' needs numbers, got a boolean"},
    {"lag == true", 8,
     "'==' compares two numbers or two booleans, got a number and a "
     "boolean"},
    {"connected != 1", 14, "'!=' compares two numbers or two booleans"},
    {"lag", 1, "a condition must be true or false, got a number"},
    {"(lag)", 1, "a condition must be true or false, got a number"},
    {"60s", 1, "a condition must be true or false"},
    {"not lag > 5", 5,
     "'not' needs a boolean, got a number (it binds tighter than a "
     "comparison: write not (a > b))"},
    {"not lag", 5, "'not' needs a boolean, got a number"},
    {"lag or connected", 1, "'or' needs booleans, got a number"},
    {"connected and lag", 15, "'and' needs booleans, got a number"},
    {"lag > 1 > 0", 9, "comparisons do not chain"},
    {"0 < lag < 5", 9, "comparisons do not chain"},
    {"lag > 5x", 7,
     "bad number '5x' (write a number, or a duration with a "
     "unit: ms, s, m, h)"},
    {"lag > 60sec", 7, "bad number '60sec'"},
    {"lag > 1.2.3", 7, "bad number '1.2.3'"},
    {"lag > 1e3", 7, "bad number '1e3'"},
    {"lag > 5 s", 9, "unknown identifier 's'"},
    {"lag > -1", 7, "unexpected character '-'"},
    {"lag + 1 > 2", 5, "unexpected character '+'"},
    {"lag = 5", 5, "'=' is not an operator (write '==' to compare)"},
    {"lag > 5 && connected", 9, "'&' is not an operator (write 'and')"},
    {"lag > 5 || connected", 9, "'|' is not an operator (write 'or')"},
    {"!connected", 1, "'!' is not an operator (write 'not')"},
    {"lag > 1\x01", 8, "unexpected byte 0x01"},
    {"(lag > 5", 9, "expected ')' to close the '(' at column 1"},
    {"((lag > 5) or connected", 24,
     "expected ')' to close the '(' at column "
     "1"},
    {"(lag > 5 connected)", 10,
     "expected an operator or ')', got "
     "'connected'"},
    {"lag > 5)", 8, "unmatched ')'"},
    {"lag > 5 5", 9, "expected an operator, got '5'"},
    {"(lag > 1) (connected)", 11, "expected an operator, got '('"},
    {"", 1, "empty condition"},
    {"   ", 4, "empty condition"},
};

START_TEST(rejects)
{
    struct expr *e = (struct expr *)1;
    struct expr_error err;

    ck_assert_int_eq(expr_parse(bad[_i].text, &e, &err), -EINVAL);
    ck_assert_ptr_null(e);
    ck_assert_msg(err.column == bad[_i].column &&
                      strncmp(err.msg, bad[_i].want, strlen(bad[_i].want)) == 0,
                  "\"%s\"\n  got:  column %d: %s\n  want: column %d: %s...",
                  bad[_i].text, err.column, err.msg, bad[_i].column,
                  bad[_i].want);
    /* err may be NULL */
    ck_assert_int_eq(expr_parse(bad[_i].text, &e, NULL), -EINVAL);
}
END_TEST

/* nested: n levels of "(" around "true", or of "not"s before it. */
static char *nested(int n, bool nots)
{
    struct buf b;

    buf_init(&b, 0);
    for (int i = 0; i < n; i++)
        buf_puts(&b, nots ? "not " : "(");
    buf_puts(&b, "true");
    for (int i = 0; i < n && !nots; i++)
        buf_puts(&b, ")");
    return buf_detach(&b);
}

START_TEST(nesting_is_capped)
{
    struct expr_error err;
    struct expr *e;
    bool out;
    struct expr_env env;

    expr_env_init(&env);
    for (int nots = 0; nots < 2; nots++) {
        char *ok = nested(EXPR_MAX_DEPTH, nots);
        char *deep = nested(EXPR_MAX_DEPTH + 1, nots);
        e = parse_ok(ok);
        ck_assert_int_eq(expr_eval(e, &env, &out), 0);
        ck_assert(out == (nots ? EXPR_MAX_DEPTH % 2 == 0 : true));
        expr_free(e);
        ck_assert_int_eq(expr_parse(deep, &e, &err), -EINVAL);
        ck_assert_int_eq(err.column,
                         nots ? 4 * EXPR_MAX_DEPTH + 1 : EXPR_MAX_DEPTH + 1);
        ck_assert_str_eq(err.msg, "nested deeper than 32 levels");
        free(ok);
        free(deep);
    }
}
END_TEST

/* A long flat chain is fine (it does not nest); past EXPR_MAX_LEN
 * characters the text is refused. */
START_TEST(length_is_capped)
{
    struct expr_error err;
    struct expr_env env;
    struct expr *e;
    struct buf b;
    bool out;

    make_env(LAGGY, &env);
    buf_init(&b, 0);
    buf_puts(&b, "lag > 100");
    while (b.len + strlen(" or lag > 100") <= EXPR_MAX_LEN - 12)
        buf_puts(&b, " or lag > 100");
    buf_puts(&b, " or lag > 1");
    e = parse_ok(b.data);
    ck_assert_int_eq(expr_eval(e, &env, &out), 0);
    ck_assert(out);
    expr_free(e);
    while (b.len <= EXPR_MAX_LEN)
        buf_puts(&b, " ");
    ck_assert_int_eq(expr_parse(b.data, &e, &err), -EINVAL);
    ck_assert_int_eq(err.column, EXPR_MAX_LEN + 1);
    ck_assert_str_eq(err.msg, "condition longer than 1024 characters");
    buf_free(&b);
}
END_TEST

START_TEST(the_rest_of_the_api)
{
    struct expr_env env;
    struct expr *e = parse_ok("lag > 60s or not connected");
    bool out = true;

    ck_assert_uint_eq(expr_vars(e),
                      (1u << EXPR_VAR_LAG) | (1u << EXPR_VAR_CONNECTED));
    /* nothing known: unknown, and *out false */
    expr_env_init(&env);
    ck_assert_int_eq(expr_eval(e, &env, &out), EXPR_UNKNOWN);
    ck_assert(!out);
    /* a non-finite value is not a value */
    expr_env_set(&env, EXPR_VAR_CONNECTED, 1);
    expr_env_set(&env, EXPR_VAR_LAG, INFINITY);
    ck_assert(!env.known[EXPR_VAR_LAG]);
    ck_assert_int_eq(expr_eval(e, &env, &out), EXPR_UNKNOWN);
    /* any non-zero connected is true */
    expr_env_set(&env, EXPR_VAR_LAG, 1);
    expr_env_set(&env, EXPR_VAR_CONNECTED, 7);
    ck_assert_int_eq(expr_eval(e, &env, &out), 0);
    ck_assert(!out);
    expr_env_set(&env, (enum expr_var)99, 1); /* ignored */
    ck_assert_str_eq(expr_var_name(EXPR_VAR_HEALTHY_REPLICAS),
                     "healthy_replicas");
    ck_assert_str_eq(expr_var_name((enum expr_var)99), "unknown");
    expr_free(e);
    expr_free(NULL);
}
END_TEST

/* Random token soup: parsing never crashes, and what parses evaluates. */
START_TEST(random_input)
{
    static const char *const toks[] = {
        "lag", "connected", "merkle_diff", "true", "not", "and", "or",
        "(",   ")",         ">",           "<=",   "==",  "!=",  "5",
        "60s", "250ms",     "x",           "=",    "&",   "1.5", " ",
    };
    uint64_t seed = 42;
    struct expr_env env;
    struct expr *e;
    bool out;
    struct buf b;
    int parsed = 0;

    make_env(STALE, &env);
    buf_init(&b, 0);
    for (int i = 0; i < 20000; i++) {
        buf_reset(&b);
        for (uint64_t n = 1 + rng_next(&seed) % 12; n > 0; n--)
            buf_printf(&b, "%s ", toks[rng_next(&seed) % ARRAY_LEN(toks)]);
        if (expr_parse(b.data, &e, NULL) != 0)
            continue;
        int rc = expr_eval(e, &env, &out);
        ck_assert(rc == 0 || rc == EXPR_UNKNOWN);
        parsed++;
        expr_free(e);
    }
    ck_assert_int_gt(parsed, 100);
    buf_free(&b);
}
END_TEST

static Suite *expr_suite(void)
{
    Suite *s = suite_create("expr");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, evaluates, 0, ARRAY_LEN(good));
    tcase_add_loop_test(tc, precedence, 0, ARRAY_LEN(shapes));
    tcase_add_test(tc, precedence_by_value);
    tcase_add_loop_test(tc, rejects, 0, ARRAY_LEN(bad));
    tcase_add_test(tc, nesting_is_capped);
    tcase_add_test(tc, length_is_capped);
    tcase_add_test(tc, the_rest_of_the_api);
    tcase_add_test(tc, random_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(expr_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
