/* runbook_internal.h: shared by the files of the runbook module:
 * runbook.c (the schema, documents, files and directories),
 * runbookread.c (the runbook's own readers: names, labels, timeouts,
 * conditions, templates, URLs), runbooktmpl.c (templates) and
 * runbookset.c (the loaded set). The generic YAML layer is yamlread.h.
 * Not for other modules: the libyaml tree never leaves the runbook
 * module. */
#ifndef REPLGUARD_RUNBOOK_INTERNAL_H
#define REPLGUARD_RUNBOOK_INTERNAL_H

#include "config/runbook.h"
#include "lib/util.h"
#include "lib/yamlread.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#define RB_MAX_NAME  64  /* of a runbook */
#define RB_MAX_LABEL 128 /* characters of a label name */
#define RB_LABEL_CHARS                                                         \
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

/* --- the loaded runbooks: runbook.c reads them, runbookset.c serves them */

/* One label of a runbook's match: the alert must have one of values. */
struct rb_match {
    char *label;
    char **values;
    size_t n_values;
};

/* steps and on_resolved. */
struct rb_steps {
    struct runbook_step *v;
    size_t n;
};

/* Everything optional has its default; verify_within 0: no verify. */
struct runbook {
    char *name;
    char *file;
    int line;
    struct rb_match *match;
    size_t n_match;
    char *target_label;
    struct expr *escalate_when;
    bool dry_run;
    struct rb_steps steps;
    struct rb_steps on_resolved;
    double verify_within;
    double cooldown;
    uint64_t max_per_hour;
};

/* rb[0..n): load order. */
struct runbook_set {
    struct runbook **rb;
    size_t n, cap;
    size_t refs; /* references besides the loader's */
};

/* --- reading ---------------------------------------------------------- */

/* Readers for struct yr_field, storing into dst: a runbook name (char
 * *, heap), a label name (char *, heap), a timeout (double, 1ms to 1h),
 * a condition (struct expr *), a template (char *, heap), a URL
 * template (char *, heap). */
bool rb_read_name(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_label_name(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_timeout(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_condition(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_template(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_url(struct yr_ctx *c, yaml_node_t *v, void *dst);
/* throttle_app's keys: an app name (char *, heap; 1-64 of
 * [A-Za-z0-9._-]), a ratio (double, above 0 and at most 1), an expiry
 * (double, a duration from 1s to 7 days). */
bool rb_read_app(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_ratio(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_expires(struct yr_ctx *c, yaml_node_t *v, void *dst);
/* rb_read_older_than: cancel_blocking_queries' older_than (double
 * seconds, a duration from 1ms to 1 day). */
bool rb_read_older_than(struct yr_ctx *c, yaml_node_t *v, void *dst);

/* rb_check_template: reports every bad placeholder of scalar v's value
 * (whose text is s); returns whether there was none. */
bool rb_check_template(struct yr_ctx *c, const yaml_node_t *v, const char *s);

/* rb_placeholder: finds the first "{{" at or after s[from]. Returns -1
 * when there is none; else sets *start (of the "{{"), *end (after the
 * "}}"), *name and *name_len (inside, without spaces) and returns 0 when
 * the placeholder is one of the known ones, 1 when it is not, 2 when the
 * "}}" is missing. */
int rb_placeholder(const char *s, size_t from, size_t *start, size_t *end,
                   size_t *name, size_t *name_len);

#endif
