/* fuzz_runbook.c: the runbook loader (runbook.h) on one file's YAML text,
 * then what the engine does with a loaded runbook: match alert labels,
 * evaluate conditions and render every template. */
#include "formats/expr.h"
#include "fuzz.h"
#include "config/runbook.h"
#include "lib/util.h"

#include <errno.h>
#include <string.h>

static const struct label labels[] = {
    {"alertname", "ReplicationLagCritical"},
    {"cluster", "c1"},
    {"replica", "node2"},
    {"severity", "critical"},
};
static const struct labels alert_set = {labels,
                                        sizeof(labels) / sizeof(labels[0])};

static void render(const char *tmpl, enum runbook_escape esc)
{
    struct runbook_vars vars = {"c1", "node2", alert_set};
    struct buf out;
    if (!tmpl)
        return;
    buf_init(&out, 1 << 20);
    int rc =
        runbook_render_template(tmpl, runbook_vars_lookup, &vars, esc, &out);
    if (rc == -EINVAL)
        __builtin_trap(); /* a loaded template is never malformed */
    buf_free(&out);
}

static void use_step(const struct runbook_step *st, const struct expr_env *env)
{
    bool b;
    if (st->when)
        expr_eval(st->when, env, &b);
    render(st->url, RUNBOOK_ESCAPE_URL);
    render(st->body, RUNBOOK_ESCAPE_JSON);
    for (size_t i = 1; i < st->argc; i++)
        render(st->argv[i], RUNBOOK_ESCAPE_NONE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct runbook_set *set = NULL;
    struct errlist errs;
    struct expr_env env;
    bool b;

    errlist_init(&errs);
    int n =
        runbook_load_string("fuzz.yml", (const char *)data, size, &set, &errs);
    if ((n == 0) != (set != NULL) || (size_t)n != errs.n)
        __builtin_trap();
    for (size_t i = 0; i < errs.n; i++)
        if (strncmp(errs.msg[i], "fuzz.yml:", 9) != 0)
            __builtin_trap(); /* every message names the file */
    expr_env_init(&env);
    for (int v = 0; v < EXPR_N_VARS; v++)
        expr_env_set(&env, (enum expr_var)v, v == 0 ? 90 : 1);
    for (size_t i = 0; set && i < runbook_set_count(set); i++) {
        const struct runbook *rb = runbook_set_get(set, i);
        if (runbook_set_find(set, runbook_name(rb)) != rb)
            __builtin_trap();
        runbook_match(rb, &alert_set);
        if (runbook_escalate_when(rb))
            expr_eval(runbook_escalate_when(rb), &env, &b);
        for (size_t k = 0; k < runbook_n_steps(rb); k++)
            use_step(runbook_step(rb, k), &env);
        for (size_t k = 0; k < runbook_n_on_resolved(rb); k++)
            use_step(runbook_on_resolved(rb, k), &env);
    }
    runbook_set_free(set);
    errlist_reset(&errs);
    return 0;
}
