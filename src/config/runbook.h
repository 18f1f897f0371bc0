/* runbook.h: remediation runbooks (SPEC section 8).
 *
 * The config's `rules:` names a runbook file or a directory of them (its
 * *.yml and *.yaml files, not hidden ones, not recursive, in strcmp()
 * order of their names). A file holds one runbook per YAML document,
 * documents separated by "---"; an empty document is skipped.
 *
 *   runbook: high-replication-lag      required; 1-64 of [a-z0-9-],
 *                                      unique over all files
 *   match:                             required; alert labels, at least
 *     alertname: [LagCritical, Lag2]  one; a list means any of them,
 *     severity: critical               a scalar exactly that value
 *   target_label: replica              required; the alert label naming
 *                                      the node acted on
 *   escalate_when: "lag > 60s"         optional condition (expr.h)
 *   dry_run: false                     optional; true: this runbook only
 *                                      records what it would do
 *   steps: [...]                       required, 1 to RUNBOOK_MAX_STEPS
 *   verify: {within: 2m}               optional; the target's lag must
 *                                      fall by then, else escalate
 *   cooldown: 10m                      default 10m
 *   max_actions_per_hour: 6            default 6 (1 to 1000)
 *   on_resolved: [restore_throttle]    optional; action names, or step
 *                                      mappings as in steps
 *
 * A step is a mapping: `action` (required), `when` (an optional
 * condition) and the action's own parameters:
 *
 *   throttle, restore_throttle, force_sync, reset_circuit_breakers,
 *   demote, promote                    none (promote loads; the engine
 *                                      refuses to run it for now)
 *   escalate                           url (optional: also POST the JSON
 *                                      notice there), timeout
 *   http                               url (required), method (GET, POST,
 *                                      PUT, DELETE, PATCH; default POST),
 *                                      body (not with GET), timeout
 *   exec                               argv (required: 1 to
 *                                      RUNBOOK_MAX_ARGV strings, argv[0]
 *                                      an absolute path), timeout
 *   throttle_app                       app (required: 1-64 of
 *                                      [A-Za-z0-9._-]), ratio (above 0, at
 *                                      most 1; default 1), expires (1s to
 *                                      7 days; default 1h)
 *   cancel_blocking_queries            older_than (1ms to 1 day; default
 *                                      30s): the target's queries whose
 *                                      snapshot is at least that old and
 *                                      holds replay back are cancelled
 *
 * Every action but escalate and promote also takes `reversible` (true
 * or false): whether the step still runs while an escalation latches
 * its cluster (planner.h). The default is runbook_action_reversible().
 *
 * Timeouts are durations from 1ms to 1h, default 10s. URLs are http://
 * or https:// and a host. url, body and the argv strings after argv[0]
 * are templates: {{cluster}}, {{target}}, {{alertname}} and
 * {{label.NAME}} are replaced when the action runs (spaces inside the
 * braces are allowed; there is no escape for a literal "{{"). A URL's
 * scheme and host, and argv[0], take no placeholders: alert labels do
 * not choose where a request goes or which program runs.
 *
 * Loading is strict, as config_load(): unknown keys, wrong types, bad
 * values, a parameter given to an action that does not take it, bad
 * conditions (pointing at the column inside the condition) and duplicate
 * names are errors, each "FILE:LINE:COLUMN: KEY.PATH: message", every
 * error of the run. A loaded set is immutable and may be read from any
 * thread. */
#ifndef REPLGUARD_RUNBOOK_H
#define REPLGUARD_RUNBOOK_H

#include "config/config.h"
#include "lib/labels.h"

#include <stdbool.h>
#include <stddef.h>

#define RUNBOOK_MAX                  1024 /* runbooks over all files */
#define RUNBOOK_MAX_FILES            1024 /* of a rules directory */
#define RUNBOOK_MAX_STEPS            32
#define RUNBOOK_MAX_ARGV             64
#define RUNBOOK_MAX_MATCH            32 /* labels in match */
#define RUNBOOK_MAX_VALUES           64 /* values of one label in match */
#define RUNBOOK_DEFAULT_TIMEOUT      10.0
#define RUNBOOK_DEFAULT_COOLDOWN     600.0
#define RUNBOOK_DEFAULT_MAX_PER_HOUR 6
#define RUNBOOK_DEFAULT_APP_THROTTLE 3600.0 /* throttle_app expires */
#define RUNBOOK_DEFAULT_OLDER_THAN   30.0   /* cancel_blocking_queries */

struct buf;
struct expr;

enum runbook_action {
    RUNBOOK_ACT_THROTTLE,
    RUNBOOK_ACT_RESTORE_THROTTLE,
    RUNBOOK_ACT_FORCE_SYNC,
    RUNBOOK_ACT_RESET_CIRCUIT_BREAKERS,
    RUNBOOK_ACT_DEMOTE,
    RUNBOOK_ACT_PROMOTE,
    RUNBOOK_ACT_ESCALATE,
    RUNBOOK_ACT_HTTP,
    RUNBOOK_ACT_EXEC,
    RUNBOOK_ACT_THROTTLE_APP,
    RUNBOOK_ACT_CANCEL_BLOCKING_QUERIES,
    RUNBOOK_N_ACTIONS
};

enum runbook_method {
    RUNBOOK_METHOD_GET,
    RUNBOOK_METHOD_POST,
    RUNBOOK_METHOD_PUT,
    RUNBOOK_METHOD_DELETE,
    RUNBOOK_METHOD_PATCH
};

/* One step of a runbook (or of its on_resolved list). Read-only: it
 * belongs to the runbook set. Fields an action does not take are NULL
 * or 0. */
struct runbook_step {
    enum runbook_action action;
    struct expr *when;          /* NULL: always */
    char *url;                  /* escalate, http: a template */
    enum runbook_method method; /* http */
    char *body;                 /* http: a template, or NULL */
    char **argv;                /* exec: argc strings, then NULL */
    size_t argc;
    double timeout;    /* escalate, http, exec: seconds; else 0 */
    char *app;         /* throttle_app: 1-64 of [A-Za-z0-9._-] */
    double ratio;      /* throttle_app: share of checks refused, default 1 */
    double expires;    /* throttle_app: seconds from the step, default 1h */
    bool reversible;   /* runs while an escalation latches the cluster:
                          the step's `reversible`, else
                          runbook_action_reversible(action) */
    double older_than; /* cancel_blocking_queries: the youngest query it
                          cancels, seconds; default 30 */
    int line, column;  /* where the step is written, 1-based */
};

/* runbook_action_reversible: the default of a step's `reversible`:
 * true for throttle, restore_throttle and throttle_app (they lower or
 * give back a rate, and restore_throttle undoes them), false for the
 * others. */
bool runbook_action_reversible(enum runbook_action a);

/* Opaque: a loaded set of runbooks, and one runbook of it. */
struct runbook_set;
struct runbook;

/* runbook_load: loads the runbook file at path, or every *.yml and
 * *.yaml file of the directory at path. On success sets *out to a set
 * (perhaps empty) the caller frees with runbook_set_free() and returns
 * 0. Otherwise sets *out to NULL, appends every error to errs (NULL
 * discards them) and returns how many it appended (> 0). Errors without
 * a place in a file (cannot read, too large) read "FILE: message". */
int runbook_load(const char *path, struct runbook_set **out,
                 struct errlist *errs);

/* runbook_load_string: runbook_load() of one file's len bytes of text;
 * name is the file name used in messages. */
int runbook_load_string(const char *name, const char *text, size_t len,
                        struct runbook_set **out, struct errlist *errs);

/* runbook_set_free: drops a reference to set; the last one frees set and
 * all its runbooks. NULL is a no-op. */
void runbook_set_free(struct runbook_set *set);

/* runbook_set_ref: takes one more reference to set (a loaded set has
 * one), released with runbook_set_free(); returns set. Not atomic: every
 * holder must be on one thread (the engine's). */
struct runbook_set *runbook_set_ref(struct runbook_set *set);

/* runbook_set_count: how many runbooks set holds. */
size_t runbook_set_count(const struct runbook_set *set);

/* runbook_set_get: runbook i (0 <= i < count), in load order: files in
 * name order, documents in file order. Belongs to set. */
const struct runbook *runbook_set_get(const struct runbook_set *set, size_t i);

/* runbook_set_find: the runbook called name, or NULL. Belongs to set. */
const struct runbook *runbook_set_find(const struct runbook_set *set,
                                       const char *name);

/* runbook_match: whether an alert with these labels (in any order,
 * lib/labels.h; NULL: none) is one for rb: every label of rb's match is
 * present with one of its listed values. */
bool runbook_match(const struct runbook *rb, const struct labels *labels);

/* runbook_may_match_cluster: whether rb can match an alert of the
 * cluster called cluster (the planner takes the cluster from the alert's
 * "cluster" label): true unless rb's match names a cluster label whose
 * values do not hold cluster. */
bool runbook_may_match_cluster(const struct runbook *rb, const char *cluster);

/* Accessors. Strings and steps belong to the set. */

/* runbook_name: the runbook's name. */
const char *runbook_name(const struct runbook *rb);
/* runbook_file, runbook_line: where it was loaded from (the file name as
 * given or joined to the directory; the line of its "runbook:" key). */
const char *runbook_file(const struct runbook *rb);
int runbook_line(const struct runbook *rb);
/* runbook_target_label: the alert label naming the node acted on. */
const char *runbook_target_label(const struct runbook *rb);
/* runbook_escalate_when: the escalation condition, or NULL. */
const struct expr *runbook_escalate_when(const struct runbook *rb);
/* runbook_dry_run: true when the runbook asked for dry runs only (a
 * global dry run applies whatever this says). */
bool runbook_dry_run(const struct runbook *rb);
/* runbook_verify_within: seconds by which the target's lag must fall
 * after acting, or 0 when the runbook does not verify. */
double runbook_verify_within(const struct runbook *rb);
/* runbook_cooldown: seconds between two runs for the same target. */
double runbook_cooldown(const struct runbook *rb);
/* runbook_max_actions_per_hour: the action budget per target and hour. */
unsigned runbook_max_actions_per_hour(const struct runbook *rb);
/* runbook_n_steps, runbook_step: the steps, 0 <= i < n. */
size_t runbook_n_steps(const struct runbook *rb);
const struct runbook_step *runbook_step(const struct runbook *rb, size_t i);
/* runbook_n_on_resolved, runbook_on_resolved: the steps to take when the
 * alert resolves (perhaps none), 0 <= i < n. */
size_t runbook_n_on_resolved(const struct runbook *rb);
const struct runbook_step *runbook_on_resolved(const struct runbook *rb,
                                               size_t i);

/* runbook_action_name, runbook_method_name: the spelling in runbook
 * files ("force_sync", "POST"), a static string; "unknown" out of
 * range. */
const char *runbook_action_name(enum runbook_action a);
const char *runbook_method_name(enum runbook_method m);

/* --- templates ---------------------------------------------------------- */

/* A lookup for runbook_render_template(): the value of placeholder name
 * ("cluster", "target", "alertname" or "label.NAME", without braces or
 * spaces), or NULL when there is none. */
typedef const char *(*runbook_lookup_fn)(void *ctx, const char *name);

/* How a value is escaped where it is put: as is (argv strings), percent
 * encoded except A-Z a-z 0-9 - . _ ~ (URLs), or as the inside of a JSON
 * string (bodies). */
enum runbook_escape {
    RUNBOOK_ESCAPE_NONE,
    RUNBOOK_ESCAPE_URL,
    RUNBOOK_ESCAPE_JSON
};

/* runbook_render_template: appends tmpl to out with every placeholder
 * replaced by lookup(ctx, name), escaped by esc. Returns 0, -ENOENT when
 * a placeholder has no value, -EINVAL for a malformed template (never
 * one that loaded) or -ENOSPC when out's limit was reached; out then
 * holds a partial result. */
int runbook_render_template(const char *tmpl, runbook_lookup_fn lookup,
                            void *ctx, enum runbook_escape esc,
                            struct buf *out);

/* What a runbook action is about, for runbook_vars_lookup(). */
struct runbook_vars {
    const char *cluster;
    const char *target;
    struct labels labels; /* the alert's, any order; alertname is one */
};

/* runbook_vars_lookup: a runbook_lookup_fn whose ctx is a struct
 * runbook_vars. */
const char *runbook_vars_lookup(void *ctx, const char *name);

#endif
