/* fuzz_expr.c: the runbook condition language (expr.h): parse the input
 * as a condition; when it parses, format it, parse the formatted text
 * again (it must parse), and evaluate both against environments drawn
 * from the input's bytes, with values known, unknown and extreme. */
#include "formats/expr.h"
#include "fuzz.h"
#include "lib/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double values[] = {0,     1,      -1,       0.25, 60,
                                1e308, -1e308, INFINITY, NAN};

static void make_env(const uint8_t *data, size_t size, size_t seed,
                     struct expr_env *env)
{
    expr_env_init(env);
    for (int v = 0; v < EXPR_N_VARS; v++) {
        uint8_t b = size ? data[(seed + (size_t)v) % size] : 0;
        if (b & 0x80)
            continue; /* unknown */
        expr_env_set(env, (enum expr_var)v,
                     values[b % (sizeof(values) / sizeof(values[0]))]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    struct expr *e = NULL, *again = NULL;
    struct expr_error err;

    if (expr_parse(text, &e, &err) != 0) {
        if (e || err.column < 1 || strlen(err.msg) >= sizeof(err.msg))
            __builtin_trap();
        free(text);
        return 0;
    }
    if (strcmp(expr_text(e), text) != 0)
        __builtin_trap();
    expr_vars(e);

    struct buf out;
    buf_init(&out, 0);
    if (expr_format(e, &out) < 0)
        __builtin_trap();
    /* The fully parenthesised form may be too deep or too long to parse
     * again; when it parses, it must mean the same. */
    if (expr_parse(out.data ? out.data : "", &again, NULL) != 0)
        again = NULL;

    for (size_t i = 0; i < 4; i++) {
        struct expr_env env;
        bool r1 = true, r2 = true;
        make_env(data, size, i * EXPR_N_VARS, &env);
        int rc1 = expr_eval(e, &env, &r1);
        if (rc1 != 0 && r1)
            __builtin_trap(); /* unknown reads as false */
        if (again) {
            int rc2 = expr_eval(again, &env, &r2);
            if (rc1 != rc2 || r1 != r2)
                __builtin_trap();
        }
    }
    expr_free(again);
    expr_free(e);
    buf_free(&out);
    free(text);
    return 0;
}
