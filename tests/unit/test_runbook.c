/* test_runbook.c: loading runbooks (files, directories, documents),
 * every kind of error, matching, templates, and the shipped rules/. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "formats/expr.h"
#include "config/runbook.h"
#include "lib/util.h"

#define TOL 1e-9
/* SET: the label set of a whole array. */
#define SET(a) ((struct labels){(a), ARRAY_LEN(a)})

/* Lines 1-3 of a runbook; the tests add line 4 on. */
#define HEAD  "runbook: r\nmatch: {alertname: A}\ntarget_label: replica\n"
#define STEPS "steps:\n  - action: throttle\n"
/* Line 5 on is the first step. */
#define STEP(lines) HEAD "steps:\n" lines
/* Line 4 is a key of the runbook; line 5 "steps:". */
#define KEY(line4) HEAD line4 STEPS

static char *fixture(const char *name)
{
    const char *top = getenv("top_srcdir");
    struct buf b;

    buf_init(&b, 0);
    buf_printf(&b, "%s/%s", top ? top : ".", name);
    return buf_detach(&b);
}

static struct runbook_set *load_ok(const char *text)
{
    struct runbook_set *set = NULL;
    struct errlist errs;

    errlist_init(&errs);
    int rc = runbook_load_string("t.yml", text, strlen(text), &set, &errs);
    ck_assert_msg(rc == 0, "unexpected error: %s", rc ? errs.msg[0] : "");
    ck_assert_ptr_nonnull(set);
    errlist_reset(&errs);
    return set;
}

static void assert_prefix(const char *got, const char *want)
{
    ck_assert_msg(strncmp(got, want, strlen(want)) == 0,
                  "\n  got:  %s\n  want: %s...", got, want);
}

static void assert_cond(const struct expr *e, const char *want)
{
    struct buf b;

    ck_assert_ptr_nonnull(e);
    buf_init(&b, 0);
    expr_format(e, &b);
    ck_assert_str_eq(b.data, want);
    buf_free(&b);
}

static void assert_spec_steps(const struct runbook *rb)
{
    const struct runbook_step *s;

    ck_assert_uint_eq(runbook_n_steps(rb), 8);
    s = runbook_step(rb, 0);
    ck_assert_int_eq(s->action, RUNBOOK_ACT_THROTTLE);
    assert_cond(s->when, "(lagging_replicas >= 2)");
    ck_assert_int_eq(s->line, 10);
    ck_assert_int_eq(s->column, 5);
    ck_assert_double_eq_tol(s->timeout, 0, TOL);
    ck_assert_ptr_null(runbook_step(rb, 2)->when);
    s = runbook_step(rb, 3);
    ck_assert_int_eq(s->action, RUNBOOK_ACT_ESCALATE);
    ck_assert_str_eq(s->url, "http://127.0.0.1:9999/page");
    ck_assert_double_eq_tol(s->timeout, 10, TOL);
    s = runbook_step(rb, 4);
    ck_assert_int_eq(s->action, RUNBOOK_ACT_HTTP);
    ck_assert_int_eq(s->method, RUNBOOK_METHOD_PUT);
    ck_assert_str_eq(s->url, "http://example/{{cluster}}/{{target}}");
    ck_assert_str_eq(s->body, "{\"replica\": \"{{target}}\", \"alert\": "
                              "\"{{ alertname }}\", \"sev\": "
                              "\"{{label.severity}}\"}");
    ck_assert_double_eq_tol(s->timeout, 2.5, TOL);
    s = runbook_step(rb, 5);
    ck_assert_int_eq(s->action, RUNBOOK_ACT_EXEC);
    ck_assert_uint_eq(s->argc, 3);
    ck_assert_str_eq(s->argv[0], "/usr/local/bin/notify");
    ck_assert_str_eq(s->argv[2], "--cluster={{cluster}}");
    ck_assert_ptr_null(s->argv[3]);
    ck_assert_int_eq(runbook_step(rb, 6)->action, RUNBOOK_ACT_DEMOTE);
    ck_assert_int_eq(runbook_step(rb, 7)->action, RUNBOOK_ACT_PROMOTE);
    ck_assert_ptr_null(runbook_step(rb, 8));
}

START_TEST(spec_example)
{
    char *path = fixture("tests/fixtures/runbooks/spec.yml");
    struct runbook_set *set = NULL;
    struct errlist errs;
    const struct runbook *rb;

    errlist_init(&errs);
    ck_assert_int_eq(runbook_load(path, &set, &errs), 0);
    ck_assert_uint_eq(errs.n, 0);
    ck_assert_uint_eq(runbook_set_count(set), 1);
    rb = runbook_set_get(set, 0);
    ck_assert_ptr_eq(runbook_set_find(set, "high-replication-lag"), rb);
    ck_assert_str_eq(runbook_name(rb), "high-replication-lag");
    ck_assert_str_eq(runbook_file(rb), path);
    ck_assert_int_eq(runbook_line(rb), 2);
    ck_assert_str_eq(runbook_target_label(rb), "replica");
    assert_cond(runbook_escalate_when(rb),
                "((lag > 60) or ((lagging_replicas >= 2) and "
                "(healthy_replicas == 0)))");
    ck_assert(!runbook_dry_run(rb));
    ck_assert_double_eq_tol(runbook_verify_within(rb), 120, TOL);
    ck_assert_double_eq_tol(runbook_cooldown(rb), 600, TOL);
    ck_assert_uint_eq(runbook_max_actions_per_hour(rb), 6);
    assert_spec_steps(rb);
    ck_assert_uint_eq(runbook_n_on_resolved(rb), 2);
    ck_assert_int_eq(runbook_on_resolved(rb, 0)->action,
                     RUNBOOK_ACT_RESTORE_THROTTLE);
    ck_assert_int_eq(runbook_on_resolved(rb, 0)->line, 31);
    ck_assert_int_eq(runbook_on_resolved(rb, 1)->method, RUNBOOK_METHOD_POST);
    assert_cond(runbook_on_resolved(rb, 1)->when, "connected");
    ck_assert_ptr_null(runbook_on_resolved(rb, 2));
    ck_assert_ptr_null(runbook_set_get(set, 1));
    ck_assert_ptr_null(runbook_set_find(set, "high"));
    runbook_set_free(set);
    free(path);
}
END_TEST

START_TEST(defaults)
{
    struct runbook_set *set =
        load_ok(STEP("  - action: http\n    url: \"http://h/x\"\n"));
    const struct runbook *rb = runbook_set_get(set, 0);

    ck_assert_ptr_null(runbook_escalate_when(rb));
    ck_assert(!runbook_dry_run(rb));
    ck_assert_double_eq_tol(runbook_verify_within(rb), 0, TOL);
    ck_assert_double_eq_tol(runbook_cooldown(rb), RUNBOOK_DEFAULT_COOLDOWN,
                            TOL);
    ck_assert_uint_eq(runbook_max_actions_per_hour(rb),
                      RUNBOOK_DEFAULT_MAX_PER_HOUR);
    ck_assert_uint_eq(runbook_n_on_resolved(rb), 0);
    ck_assert_int_eq(runbook_step(rb, 0)->method, RUNBOOK_METHOD_POST);
    ck_assert_ptr_null(runbook_step(rb, 0)->body);
    ck_assert_double_eq_tol(runbook_step(rb, 0)->timeout, 10, TOL);
    runbook_set_free(set);

    /* throttle_app: ratio 1, expires 1h unless given */
    set = load_ok(STEP("  - action: throttle_app\n    app: archive\n"
                       "  - action: throttle_app\n    app: etl\n"
                       "    ratio: 0.25\n    expires: 10m\n"));
    rb = runbook_set_get(set, 0);
    ck_assert_str_eq(runbook_step(rb, 0)->app, "archive");
    ck_assert_double_eq_tol(runbook_step(rb, 0)->ratio, 1, TOL);
    ck_assert_double_eq_tol(runbook_step(rb, 0)->expires, 3600, TOL);
    ck_assert_double_eq_tol(runbook_step(rb, 1)->ratio, 0.25, TOL);
    ck_assert_double_eq_tol(runbook_step(rb, 1)->expires, 600, TOL);
    runbook_set_free(set);

    /* cancel_blocking_queries: older_than 30s unless given */
    set = load_ok(STEP("  - action: cancel_blocking_queries\n"
                       "  - action: cancel_blocking_queries\n"
                       "    older_than: 1500ms\n"));
    rb = runbook_set_get(set, 0);
    ck_assert_double_eq_tol(runbook_step(rb, 0)->older_than, 30, TOL);
    ck_assert_double_eq_tol(runbook_step(rb, 1)->older_than, 1.5, TOL);
    ck_assert_double_eq_tol(runbook_step(rb, 1)->timeout, 0, TOL);
    runbook_set_free(set);

    /* An empty file, comments only, empty documents: no runbooks. */
    set = load_ok("");
    ck_assert_uint_eq(runbook_set_count(set), 0);
    runbook_set_free(set);
    set = load_ok("# nothing\n---\n---\n");
    ck_assert_uint_eq(runbook_set_count(set), 0);
    runbook_set_free(set);
    /* on_resolved may be empty; a name or a mapping per step */
    set = load_ok(KEY("on_resolved: []\n"));
    ck_assert_uint_eq(runbook_n_on_resolved(runbook_set_get(set, 0)), 0);
    runbook_set_free(set);
    runbook_set_free(NULL);
}
END_TEST

/* A set lives while anyone holds a reference (a job planned under it
 * after a reload swapped it out); ASan catches a use after the free. */
START_TEST(set_references)
{
    struct runbook_set *set =
        load_ok(STEP("  - action: http\n    url: \"http://h/x\"\n"));
    ck_assert_ptr_eq(runbook_set_ref(set), set);
    ck_assert_ptr_eq(runbook_set_ref(set), set);
    runbook_set_free(set); /* the loader's */
    runbook_set_free(set);
    ck_assert_uint_eq(runbook_set_count(set), 1);
    ck_assert_str_eq(runbook_name(runbook_set_get(set, 0)), "r");
    runbook_set_free(set); /* the last: freed (LeakSanitizer checks) */
}
END_TEST

START_TEST(directory)
{
    char *dir = fixture("tests/fixtures/runbooks/dir/");
    struct runbook_set *set = NULL;
    const struct runbook *rb;
    struct buf want;

    ck_assert_int_eq(runbook_load(dir, &set, NULL), 0);
    ck_assert_uint_eq(runbook_set_count(set), 3);
    ck_assert_str_eq(runbook_name(runbook_set_get(set, 0)), "lag");
    ck_assert_str_eq(runbook_name(runbook_set_get(set, 1)), "lag-critical");
    ck_assert_str_eq(runbook_name(runbook_set_get(set, 2)), "merkle");
    rb = runbook_set_get(set, 1);
    buf_init(&want, 0);
    buf_printf(&want, "%s10-lag.yml", dir);
    ck_assert_str_eq(runbook_file(rb), want.data);
    ck_assert_int_eq(runbook_line(rb), 10);
    ck_assert(runbook_dry_run(rb));
    ck_assert_str_eq(runbook_target_label(runbook_set_get(set, 2)), "node");
    runbook_set_free(set);

    /* The same without the trailing slash. */
    dir[strlen(dir) - 1] = '\0';
    ck_assert_int_eq(runbook_load(dir, &set, NULL), 0);
    buf_reset(&want);
    buf_printf(&want, "%s/20-merkle.yaml", dir);
    ck_assert_str_eq(runbook_file(runbook_set_get(set, 2)), want.data);
    runbook_set_free(set);
    buf_free(&want);
    free(dir);
}
END_TEST

START_TEST(duplicate_across_files)
{
    char *dir = fixture("tests/fixtures/runbooks/dup");
    struct runbook_set *set = (struct runbook_set *)1;
    struct errlist errs;
    struct buf want;

    errlist_init(&errs);
    ck_assert_int_eq(runbook_load(dir, &set, &errs), 1);
    ck_assert_ptr_null(set);
    ck_assert_uint_eq(errs.n, 1);
    buf_init(&want, 0);
    buf_printf(&want,
               "%s/b.yml:2:10: duplicate runbook name \"twice\" (first at "
               "%s/a.yml:6)",
               dir, dir);
    ck_assert_str_eq(errs.msg[0], want.data);
    buf_free(&want);
    errlist_reset(&errs);
    free(dir);
}
END_TEST

START_TEST(several_errors_in_order)
{
    static const char *const want[] = {
        "1:10: runbook: bad runbook name \"Bad_Name\"",
        "3:14: match.alertname: expected 1 to 64 values, got 0",
        "5:23: escalate_when: expected a value after '>'",
        "8:5: steps[0]: action force_sync does not take \"url\"",
        "9:5: steps[1]: missing required key \"url\" (action http needs it)",
        "10:13: steps[1].method: unknown value \"FETCH\"",
        "12:12: steps[2].argv[0]: must be an absolute path",
        "12:21: steps[2].argv[1]: unknown placeholder '{{nope}}'",
        "13:11: cooldown: bad duration \"10\"",
        "14:23: max_actions_per_hour: expected a whole number from 1 to 1000",
        "15:1: unknown key \"colour\"",
        "20:8: steps: expected 1 to 32 steps, got 0",
    };
    char *path = fixture("tests/fixtures/runbooks/several_errors.yml");
    struct runbook_set *set;
    struct errlist errs;
    struct buf b;

    errlist_init(&errs);
    buf_init(&b, 0);
    ck_assert_int_eq(runbook_load(path, &set, &errs), (int)ARRAY_LEN(want));
    ck_assert_uint_eq(errs.n, ARRAY_LEN(want));
    for (size_t i = 0; i < errs.n; i++) {
        buf_reset(&b);
        buf_printf(&b, "%s:%s", path, want[i]);
        assert_prefix(errs.msg[i], b.data);
    }
    buf_free(&b);
    errlist_reset(&errs);
    free(path);
}
END_TEST

START_TEST(file_errors)
{
    struct runbook_set *set;
    struct errlist errs;

    errlist_init(&errs);
    ck_assert_int_eq(runbook_load("/nonexistent/rules", &set, &errs), 1);
    ck_assert_str_eq(errs.msg[0], "/nonexistent/rules: cannot read: No such "
                                  "file or directory");
    ck_assert_int_eq(runbook_load("/nonexistent/rules", &set, NULL), 1);
    ck_assert_ptr_null(set);
    errlist_reset(&errs);
}
END_TEST

/* One bad runbook per kind of error: exactly one error, and its
 * "file:line:column: message" starts with want. */
static const struct {
    const char *yaml;
    const char *want;
} bad[] = {
    /* YAML and documents */
    {"runbook: [\n", "t.yml:2:1: YAML syntax error: did not find expected "
                     "node content"},
    {"just text\n", "t.yml:1:1: expected a mapping, got a plain scalar"},
    {HEAD STEPS "---\n- a\n", "t.yml:7:1: expected a mapping, got a list"},
    {HEAD STEPS "---\n" HEAD STEPS,
     "t.yml:7:10: duplicate runbook name \"r\" (first at t.yml:1)"},
    /* keys */
    {KEY("colour: blue\n"),
     "t.yml:4:1: unknown key \"colour\" (expected one of: runbook, match, "
     "target_label, escalate_when, dry_run, steps, verify, cooldown, "
     "max_actions_per_hour, on_resolved)"},
    {"runbook: r\n" KEY(""), "t.yml:2:1: duplicate key \"runbook\""},
    {"match: {alertname: A}\ntarget_label: r\n" STEPS,
     "t.yml:1:1: missing required key \"runbook\""},
    {"runbook: r\ntarget_label: r\n" STEPS,
     "t.yml:1:1: missing required key \"match\""},
    {"runbook: r\nmatch: {alertname: A}\n" STEPS,
     "t.yml:1:1: missing required key \"target_label\""},
    {HEAD, "t.yml:1:1: missing required key \"steps\""},
    /* names */
    {"runbook: Bad_Name\n"
     "match: {a: A}\ntarget_label: r\n" STEPS,
     "t.yml:1:10: runbook: bad runbook name \"Bad_Name\" (1 to 64 lowercase "
     "letters, digits or '-')"},
    {"runbook: r\nmatch: {a: A}\ntarget_label: my label\n" STEPS,
     "t.yml:3:15: target_label: bad label name \"my label\" (letters, "
     "digits and '_', not starting with a digit)"},
    /* match */
    {"runbook: r\nmatch: {}\ntarget_label: r\n" STEPS,
     "t.yml:2:8: match: expected 1 to 32 labels, got 0"},
    {"runbook: r\nmatch: [a]\ntarget_label: r\n" STEPS,
     "t.yml:2:8: match: expected a mapping, got a list"},
    {"runbook: r\nmatch: {alertname: []}\ntarget_label: r\n" STEPS,
     "t.yml:2:20: match.alertname: expected 1 to 64 values, got 0"},
    {"runbook: r\nmatch: {alertname: {a: b}}\ntarget_label: r\n" STEPS,
     "t.yml:2:20: match.alertname: expected a list, got a mapping"},
    {"runbook: r\nmatch: {9x: A}\ntarget_label: r\n" STEPS,
     "t.yml:2:9: match: bad label name \"9x\""},
    {"runbook: r\nmatch: {alertname: A, alertname: B}\ntarget_label: r\n" STEPS,
     "t.yml:2:23: match: duplicate label \"alertname\""},
    {"runbook: r\nmatch: {alertname: [A, \"\"]}\ntarget_label: r\n" STEPS,
     "t.yml:2:24: match.alertname[1]: must not be empty"},
    {"runbook: r\nmatch: {alertname: }\ntarget_label: r\n" STEPS,
     "t.yml:2:20: match.alertname: expected a string, got nothing (null)"},
    /* conditions: the column inside the condition, in the file */
    {KEY("escalate_when: \"lag > \"\n"),
     "t.yml:4:23: escalate_when: expected a value after '>'"},
    {KEY("escalate_when: lagg > 5\n"),
     "t.yml:4:16: escalate_when: unknown identifier 'lagg' (known: lag, "},
    {KEY("escalate_when: 'connected and lag'\n"),
     "t.yml:4:31: escalate_when: 'and' needs booleans, got a number"},
    {KEY("escalate_when: \"lag\\t> \"\n"),
     "t.yml:4:16: escalate_when: column 7 of the condition: expected a value "
     "after '>'"},
    {KEY("escalate_when: >\n  lag >\n"),
     "t.yml:4:16: escalate_when: column 7 of the condition: expected a value "
     "after '>'"},
    {KEY("escalate_when: [lag]\n"),
     "t.yml:4:16: escalate_when: expected a condition, got a list"},
    {STEP("  - action: throttle\n    when: \"lag > 5 and\"\n"),
     "t.yml:6:23: steps[0].when: expected a value after 'and'"},
    {STEP("  - {action: throttle, when: 5}\n"),
     "t.yml:5:30: steps[0].when: a condition must be true or false, got a "
     "number"},
    /* steps */
    {HEAD "steps: []\n", "t.yml:4:8: steps: expected 1 to 32 steps, got 0"},
    {HEAD "steps: throttle\n",
     "t.yml:4:8: steps: expected a list, got a plain scalar"},
    {HEAD "steps: [throttle]\n",
     "t.yml:4:9: steps[0]: expected a mapping, got a plain scalar"},
    {STEP("  - when: connected\n"),
     "t.yml:5:5: steps[0]: missing required key \"action\""},
    {STEP("  - action: reboot\n"),
     "t.yml:5:13: steps[0].action: unknown value \"reboot\" (expected one "
     "of: throttle, restore_throttle, force_sync, reset_circuit_breakers, "
     "demote, promote, escalate, http, exec, throttle_app, "
     "cancel_blocking_queries)"},
    {STEP("  - action: throttle\n    limit: 5\n"),
     "t.yml:6:5: steps[0]: unknown key \"limit\" (expected one of: action, "
     "when, url, method, body, argv, timeout, app, ratio, expires, "
     "reversible, older_than)"},
    /* cancel_blocking_queries */
    {STEP("  - action: cancel_blocking_queries\n    older_than: 25h\n"),
     "t.yml:6:17: steps[0].older_than: must be from 1ms to 1 day, got \"25h\""},
    {STEP("  - action: demote\n    older_than: 5s\n"),
     "t.yml:6:5: steps[0]: action demote does not take \"older_than\""},
    {STEP("  - action: force_sync\n    url: \"http://x/\"\n"),
     "t.yml:6:5: steps[0]: action force_sync does not take \"url\" (it "
     "takes: action, when, reversible)"},
    {STEP("  - action: escalate\n    url: \"http://x\"\n    argv: [/bin/a]\n"),
     "t.yml:7:5: steps[0]: action escalate does not take \"argv\" (it "
     "takes: action, when, url, timeout)"},
    {STEP("  - action: demote\n    timeout: 5s\n"),
     "t.yml:6:5: steps[0]: action demote does not take \"timeout\""},
    {STEP("  - action: escalate\n    method: POST\n    url: \"http://x\"\n"),
     "t.yml:6:5: steps[0]: action escalate does not take \"method\""},
    {STEP("  - action: http\n"),
     "t.yml:5:5: steps[0]: missing required key \"url\" (action http needs "
     "it)"},
    /* escalate is the page itself; a promotion is never undone */
    {STEP("  - action: escalate\n    reversible: true\n"),
     "t.yml:6:5: steps[0]: action escalate does not take \"reversible\""},
    {STEP("  - action: promote\n    reversible: false\n"),
     "t.yml:6:5: steps[0]: action promote does not take \"reversible\""},
    {STEP("  - action: throttle\n    reversible: maybe\n"),
     "t.yml:6:17: steps[0].reversible: "},
    {STEP("  - action: exec\n"),
     "t.yml:5:5: steps[0]: missing required key \"argv\" (action exec needs "
     "it)"},
    /* throttle_app */
    {STEP("  - action: throttle_app\n"),
     "t.yml:5:5: steps[0]: missing required key \"app\" (action "
     "throttle_app needs it)"},
    {STEP("  - action: throttle_app\n    app: \"a b\"\n"),
     "t.yml:6:10: steps[0].app: bad app name \"a b\""},
    {STEP("  - action: throttle_app\n    app: a\n    ratio: 0\n"),
     "t.yml:7:12: steps[0].ratio: must be a number above 0 and at most 1, "
     "got \"0\""},
    {STEP("  - action: throttle_app\n    app: a\n    ratio: 1.5\n"),
     "t.yml:7:12: steps[0].ratio: must be a number above 0"},
    {STEP("  - action: throttle_app\n    app: a\n    expires: 30d\n"),
     "t.yml:7:14: steps[0].expires: "},
    {STEP("  - action: throttle\n    app: a\n"),
     "t.yml:6:5: steps[0]: action throttle does not take \"app\""},
    /* URLs and templates */
    {STEP("  - action: http\n    url: ftp://x\n"),
     "t.yml:6:10: steps[0].url: bad URL \"ftp://x\": must start with http:// "
     "or https://"},
    {STEP("  - action: http\n    url: \"http:///x\"\n"),
     "t.yml:6:10: steps[0].url: bad URL \"http:///x\": missing host"},
    {STEP("  - action: http\n    url: \"http://a b/\"\n"),
     "t.yml:6:10: steps[0].url: bad URL \"http://a b/\": contains a space"},
    {STEP("  - action: http\n    url: \"http://{{target}}:80/x\"\n"),
     "t.yml:6:10: steps[0].url: bad URL \"http://{{target}}:80/x\": "
     "placeholders are not allowed in the host"},
    {STEP("  - action: http\n    url: \"http://u@h/x\"\n"),
     "t.yml:6:10: steps[0].url: bad URL \"http://u@h/x\": bad host"},
    {STEP("  - action: http\n    url: \"http://x/{{nope}}\"\n"),
     "t.yml:6:20: steps[0].url: unknown placeholder '{{nope}}' (known: "
     "{{cluster}}, {{target}}, {{alertname}}, {{label.NAME}})"},
    {STEP("  - action: http\n    url: \"http://x/\"\n    body: '{{target'\n"),
     "t.yml:7:12: steps[0].body: '{{' without a closing '}}'"},
    {STEP("  - action: http\n    url: \"http://x/\"\n"
          "    body: \"a {{label.9x}}\"\n"),
     "t.yml:7:14: steps[0].body: unknown placeholder '{{label.9x}}'"},
    {STEP("  - action: http\n    url: \"http://x/\"\n    body: \"\"\n"),
     "t.yml:7:11: steps[0].body: must not be empty"},
    {STEP("  - action: http\n    url: \"http://x/\"\n    method: FETCH\n"),
     "t.yml:7:13: steps[0].method: unknown value \"FETCH\" (expected one "
     "of: GET, POST, PUT, DELETE, PATCH)"},
    {STEP("  - action: http\n    url: \"http://x/\"\n    method: GET\n"
          "    body: x\n"),
     "t.yml:8:5: steps[0]: a GET request has no body (use POST, PUT or "
     "PATCH)"},
    /* exec */
    {STEP("  - action: exec\n    argv: []\n"),
     "t.yml:6:11: steps[0].argv: expected 1 to 64 strings, got 0"},
    {STEP("  - action: exec\n    argv: \"/bin/x\"\n"),
     "t.yml:6:11: steps[0].argv: expected a list, got a quoted string"},
    {STEP("  - action: exec\n    argv: [notify]\n"),
     "t.yml:6:12: steps[0].argv[0]: must be an absolute path, got "
     "\"notify\" (argv runs without a shell or PATH search)"},
    {STEP("  - action: exec\n    argv: [\"/bin/{{target}}\"]\n"),
     "t.yml:6:12: steps[0].argv[0]: takes no placeholders"},
    {STEP("  - action: exec\n    argv: [/bin/x, [a]]\n"),
     "t.yml:6:20: steps[0].argv[1]: expected a string, got a list"},
    {STEP("  - action: exec\n    argv: [/bin/x, \"{{ target }\"]\n"),
     "t.yml:6:21: steps[0].argv[1]: '{{' without a closing '}}'"},
    /* durations and numbers */
    {STEP("  - action: exec\n    argv: [/bin/x]\n    timeout: 0s\n"),
     "t.yml:7:14: steps[0].timeout: must be greater than 0, got \"0s\""},
    {STEP("  - action: exec\n    argv: [/bin/x]\n    timeout: 2h\n"),
     "t.yml:7:14: steps[0].timeout: must be at most 1h, got \"2h\""},
    {STEP("  - action: exec\n    argv: [/bin/x]\n    timeout: 10\n"),
     "t.yml:7:14: steps[0].timeout: bad duration \"10\" (expected a number "
     "and a unit: ms, s, m or h)"},
    {KEY("cooldown: -5m\n"), "t.yml:4:11: cooldown: bad duration \"-5m\""},
    {KEY("cooldown: 721h\n"),
     "t.yml:4:11: cooldown: must be from 1ms to 720h, got \"721h\""},
    {KEY("cooldown: 99999999999999999999h\n"),
     "t.yml:4:11: cooldown: must be from 1ms to 720h, got "
     "\"99999999999999999999h\""},
    {KEY("max_actions_per_hour: 0\n"),
     "t.yml:4:23: max_actions_per_hour: expected a whole number from 1 to "
     "1000, got \"0\""},
    {KEY("max_actions_per_hour: \"6\"\n"),
     "t.yml:4:23: max_actions_per_hour: expected a whole number, got a "
     "quoted string \"6\""},
    {KEY("dry_run: yes\n"),
     "t.yml:4:10: dry_run: expected true or false, got \"yes\""},
    {KEY("verify: 2m\n"),
     "t.yml:4:9: verify: expected a mapping, got a plain scalar"},
    {KEY("verify: {}\n"), "t.yml:4:9: verify: missing required key \"within\""},
    {KEY("verify: {within: 2m, after: 1m}\n"),
     "t.yml:4:22: verify: unknown key \"after\" (expected one of: within)"},
    {KEY("verify: {within: soon}\n"),
     "t.yml:4:18: verify.within: bad duration \"soon\""},
    /* on_resolved */
    {KEY("on_resolved: restore_throttle\n"),
     "t.yml:4:14: on_resolved: expected a list, got a plain scalar"},
    {KEY("on_resolved: [reboot]\n"),
     "t.yml:4:15: on_resolved[0]: unknown value \"reboot\""},
    {KEY("on_resolved: [http]\n"),
     "t.yml:4:15: on_resolved[0]: action http needs \"url\": write it as "
     "a mapping"},
    {KEY("on_resolved: [{action: force_sync, body: x}]\n"),
     "t.yml:4:36: on_resolved[0]: action force_sync does not take \"body\""},
};

START_TEST(rejects)
{
    struct runbook_set *set = (struct runbook_set *)1;
    struct errlist errs;
    const char *y = bad[_i].yaml;

    errlist_init(&errs);
    int rc = runbook_load_string("t.yml", y, strlen(y), &set, &errs);
    ck_assert_ptr_null(set);
    ck_assert_int_eq(rc, (int)errs.n);
    ck_assert_msg(errs.n == 1, "%zu errors, the first: %s", errs.n,
                  errs.n ? errs.msg[0] : "none");
    assert_prefix(errs.msg[0], bad[_i].want);
    errlist_reset(&errs);
}
END_TEST

START_TEST(matching)
{
    static const struct label both[] = {
        {"severity", "critical"}, {"alertname", "B"}, {"replica", "node2"}};
    static const struct label a_only[] = {{"alertname", "A"}};
    static const struct label other[] = {{"alertname", "C"},
                                         {"severity", "critical"}};
    static const struct label first_counts[] = {
        {"alertname", "C"}, {"alertname", "A"}, {"severity", "critical"}};
    static const struct label with_null[] = {
        {NULL, "x"}, {"alertname", "A"}, {"severity", "critical"}};
    struct runbook_set *set =
        load_ok("runbook: r\nmatch:\n  alertname: [A, B]\n  severity: "
                "critical\ntarget_label: replica\n" STEPS);
    const struct runbook *rb = runbook_set_get(set, 0);

    ck_assert(runbook_match(rb, &SET(both)));
    ck_assert(runbook_match(rb, &SET(with_null)));
    ck_assert(!runbook_match(rb, &SET(a_only)));
    ck_assert(!runbook_match(rb, &SET(other)));
    ck_assert(!runbook_match(rb, &SET(first_counts)));
    ck_assert(!runbook_match(rb, NULL));
    ck_assert_str_eq(labels_find(&SET(both), "replica"), "node2");
    ck_assert_ptr_null(labels_find(&SET(both), "node"));
    runbook_set_free(set);
}
END_TEST

static const struct label alert_labels[] = {
    {"alertname", "ReplicationLagCritical"},
    {"severity", "crit\"ical"},
    {"odd", "a/b c\\d\n\x01é"},
};

static int render(const char *tmpl, enum runbook_escape esc, struct buf *b)
{
    struct runbook_vars v = {"c1", "node 2", SET(alert_labels)};
    buf_reset(b);
    return runbook_render_template(tmpl, runbook_vars_lookup, &v, esc, b);
}

START_TEST(templates)
{
    struct buf b;

    buf_init(&b, 0);
    ck_assert_int_eq(render("http://x/{{cluster}}/{{ target }}?a={{alertname}}",
                            RUNBOOK_ESCAPE_URL, &b),
                     0);
    ck_assert_str_eq(b.data, "http://x/c1/node%202?a=ReplicationLagCritical");
    ck_assert_int_eq(render("{{label.odd}}", RUNBOOK_ESCAPE_URL, &b), 0);
    ck_assert_str_eq(b.data, "a%2Fb%20c%5Cd%0A%01%C3%A9");
    ck_assert_int_eq(render("{\"s\": \"{{label.severity}}\", \"o\": "
                            "\"{{label.odd}}\"}",
                            RUNBOOK_ESCAPE_JSON, &b),
                     0);
    ck_assert_str_eq(b.data, "{\"s\": \"crit\\\"ical\", \"o\": \"a/b "
                             "c\\\\d\\u000a\\u0001é\"}");
    ck_assert_int_eq(
        render("--sev={{label.severity}}", RUNBOOK_ESCAPE_NONE, &b), 0);
    ck_assert_str_eq(b.data, "--sev=crit\"ical");
    ck_assert_int_eq(render("no placeholders }} {", RUNBOOK_ESCAPE_URL, &b), 0);
    ck_assert_str_eq(b.data, "no placeholders }} {");
    /* no such label; not a template that loads */
    ck_assert_int_eq(render("{{label.region}}", RUNBOOK_ESCAPE_NONE, &b),
                     -ENOENT);
    ck_assert_int_eq(render("x {{nope}}", RUNBOOK_ESCAPE_NONE, &b), -EINVAL);
    ck_assert_int_eq(render("x {{target", RUNBOOK_ESCAPE_NONE, &b), -EINVAL);
    buf_free(&b);

    /* out's limit */
    buf_init(&b, 8);
    ck_assert_int_eq(render("{{alertname}}", RUNBOOK_ESCAPE_NONE, &b), -ENOSPC);
    ck_assert_int_eq(render("0123456789", RUNBOOK_ESCAPE_NONE, &b), -ENOSPC);
    ck_assert_int_eq(render("{{cluster}}", RUNBOOK_ESCAPE_JSON, &b), 0);
    ck_assert_str_eq(b.data, "c1");
    buf_free(&b);

    struct runbook_vars none = {0};
    ck_assert_ptr_null(runbook_vars_lookup(&none, "alertname"));
    ck_assert_ptr_null(runbook_vars_lookup(&none, "whatever"));
}
END_TEST

/* reversible: throttle, restore_throttle and throttle_app by default;
 * a step's own key wins; escalate takes no url any more (Alertmanager) */
START_TEST(reversible_steps)
{
    static const char y[] =
        "runbook: r\nmatch: {alertname: A}\ntarget_label: replica\n"
        "steps:\n"
        "  - action: throttle\n"
        "  - action: force_sync\n"
        "  - action: reset_circuit_breakers\n    reversible: true\n"
        "  - action: throttle_app\n    app: a\n    reversible: false\n"
        "  - action: escalate\n"
        "on_resolved: [restore_throttle, {action: http, url: \"http://x\"}]\n";
    struct runbook_set *set = load_ok(y);
    const struct runbook *rb = runbook_set_get(set, 0);
    static const bool want[] = {true, false, true, false, false};
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        ck_assert_msg(runbook_step(rb, i)->reversible == want[i], "step %zu",
                      i);
    ck_assert_ptr_null(runbook_step(rb, 4)->url);
    ck_assert(runbook_on_resolved(rb, 0)->reversible);
    ck_assert(!runbook_on_resolved(rb, 1)->reversible);
    ck_assert(runbook_action_reversible(RUNBOOK_ACT_THROTTLE_APP));
    ck_assert(!runbook_action_reversible(RUNBOOK_ACT_DEMOTE));
    runbook_set_free(set);
}
END_TEST

START_TEST(names)
{
    ck_assert_str_eq(runbook_action_name(RUNBOOK_ACT_RESET_CIRCUIT_BREAKERS),
                     "reset_circuit_breakers");
    ck_assert_str_eq(runbook_action_name(RUNBOOK_ACT_EXEC), "exec");
    ck_assert_str_eq(runbook_action_name(RUNBOOK_N_ACTIONS), "unknown");
    ck_assert_str_eq(runbook_method_name(RUNBOOK_METHOD_PATCH), "PATCH");
    ck_assert_str_eq(runbook_method_name((enum runbook_method)9), "unknown");
}
END_TEST

/* --- the shipped rules/ ------------------------------------------------ */

static const struct runbook *shipped(const struct runbook_set *set,
                                     const char *name)
{
    const struct runbook *rb = runbook_set_find(set, name);
    ck_assert_msg(rb != NULL, "no runbook %s in rules/", name);
    return rb;
}

/* every escalate step of the shipped rules goes to Alertmanager (no url:
 * the config's escalation: section), none to a receiver nobody runs */
static void assert_escalations(const struct runbook *rb)
{
    for (size_t i = 0; i < runbook_n_steps(rb); i++) {
        const struct runbook_step *s = runbook_step(rb, i);
        if (s->action == RUNBOOK_ACT_ESCALATE)
            ck_assert_ptr_null(s->url);
    }
}

static bool alert_matches(const struct runbook *rb, const char *alertname)
{
    const struct label l[] = {
        {"alertname", alertname}, {"cluster", "main"}, {"replica", "node2"}};
    return runbook_match(rb, &SET(l));
}

START_TEST(shipped_rules_load)
{
    char *dir = fixture("rules");
    struct runbook_set *set = NULL;
    struct errlist errs;
    const struct runbook *rb;

    errlist_init(&errs);
    ck_assert_msg(runbook_load(dir, &set, &errs) == 0, "%s",
                  errs.n ? errs.msg[0] : "");
    ck_assert_uint_eq(runbook_set_count(set), 5);
    for (size_t i = 0; i < runbook_set_count(set); i++)
        assert_escalations(runbook_set_get(set, i));

    rb = shipped(set, "high-replication-lag");
    ck_assert(alert_matches(rb, "ReplicationLagWarning"));
    ck_assert(alert_matches(rb, "ReplicationLagCritical"));
    ck_assert(!alert_matches(rb, "ReplicaDisconnected"));
    ck_assert_str_eq(expr_text(runbook_escalate_when(rb)),
                     "lag > 60s or lagging_replicas >= 2 and "
                     "healthy_replicas == 0");
    ck_assert_double_eq_tol(runbook_verify_within(rb), 120, TOL);
    ck_assert_int_eq(runbook_step(rb, 0)->action, RUNBOOK_ACT_THROTTLE);
    /* pages and throttles when both replicas of three nodes lag */
    ck_assert(runbook_step(rb, 0)->reversible);
    ck_assert(!runbook_step(rb, 1)->reversible);
    ck_assert_uint_eq(runbook_n_on_resolved(rb), 1);
    ck_assert_int_eq(runbook_on_resolved(rb, 0)->action,
                     RUNBOOK_ACT_RESTORE_THROTTLE);

    rb = shipped(set, "replica-down");
    ck_assert(alert_matches(rb, "ReplicaDisconnected"));
    ck_assert(alert_matches(rb, "ReplicaUnknown"));
    ck_assert_int_eq(runbook_step(rb, 0)->action,
                     RUNBOOK_ACT_RESET_CIRCUIT_BREAKERS);
    ck_assert_int_eq(runbook_step(rb, 1)->action, RUNBOOK_ACT_DEMOTE);
    assert_cond(runbook_step(rb, 1)->when,
                "((not connected) and (healthy_replicas >= 1))");

    ck_assert(alert_matches(shipped(set, "merkle-sync-failures"),
                            "MerkleSyncFailures"));
    ck_assert(
        alert_matches(shipped(set, "merkle-divergence"), "MerkleDivergence"));
    ck_assert(alert_matches(shipped(set, "circuit-breaker-tripped"),
                            "CircuitBreakerTripped"));
    runbook_set_free(set);

    /* rules/postgres: PostgreSQL's own */
    free(dir);
    dir = fixture("rules/postgres");
    ck_assert_msg(runbook_load(dir, &set, &errs) == 0, "%s",
                  errs.n ? errs.msg[0] : "");
    ck_assert_uint_eq(runbook_set_count(set), 2);
    for (size_t i = 0; i < runbook_set_count(set); i++)
        assert_escalations(runbook_set_get(set, i));
    rb = shipped(set, "postgres-replication-lag");
    ck_assert(alert_matches(rb, "PostgresReplicationLag"));
    ck_assert(alert_matches(rb, "PostgresReplicationLagCritical"));
    ck_assert_int_eq(runbook_step(rb, 0)->action,
                     RUNBOOK_ACT_CANCEL_BLOCKING_QUERIES);
    ck_assert_double_eq_tol(runbook_step(rb, 0)->older_than, 30, TOL);
    ck_assert_int_eq(runbook_step(rb, 1)->action, RUNBOOK_ACT_DEMOTE);
    rb = shipped(set, "postgres-replica-down");
    ck_assert(alert_matches(rb, "PostgresReplicaDisconnected"));
    ck_assert_int_eq(runbook_step(rb, 0)->action, RUNBOOK_ACT_DEMOTE);
    runbook_set_free(set);
    errlist_reset(&errs);
    free(dir);
}
END_TEST

static Suite *runbook_suite(void)
{
    Suite *s = suite_create("runbook");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, spec_example);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, set_references);
    tcase_add_test(tc, directory);
    tcase_add_test(tc, duplicate_across_files);
    tcase_add_test(tc, several_errors_in_order);
    tcase_add_test(tc, file_errors);
    tcase_add_loop_test(tc, rejects, 0, ARRAY_LEN(bad));
    tcase_add_test(tc, matching);
    tcase_add_test(tc, templates);
    tcase_add_test(tc, names);
    tcase_add_test(tc, reversible_steps);
    tcase_add_test(tc, shipped_rules_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(runbook_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
