/* runbook_internal.h: shared by the files of the runbook module:
 * runbook.c (the schema, documents, files and directories),
 * runbookread.c (error collection, YAML node types, scalar readers, the
 * table-driven walk of a mapping), runbooktmpl.c (templates) and
 * runbookset.c (the loaded set). Not for other modules: the libyaml tree
 * never leaves the runbook module. */
#ifndef REPLGUARD_RUNBOOK_INTERNAL_H
#define REPLGUARD_RUNBOOK_INTERNAL_H

#include "runbook.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#define RB_MAX_FIELDS 12  /* keys in the largest mapping of the schema */
#define RB_MAX_NAME   64  /* of a runbook */
#define RB_MAX_LABEL  128 /* characters of a label name */
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
};

/* --- reading ---------------------------------------------------------- */

/* An error found in one file, sorted into file order before it is
 * handed out. */
struct rb_pending {
    size_t line, column, seq;
    char *msg;
};

/* The load of one file. */
struct rb_ctx {
    const char *name; /* file name for messages */
    const char *text; /* the file's text, to place errors inside scalars */
    size_t len;
    yaml_document_t *doc;
    struct config_errors *errs;
    int count;       /* errors this file had */
    struct buf path; /* key path of the value being read, for messages */
    struct rb_pending *pend;
    size_t n_pend, cap_pend;
};

/* What a walk of one mapping saw of each field of its table. */
enum rb_state { RB_ABSENT, RB_GOOD, RB_BAD };
struct rb_seen {
    enum rb_state state[RB_MAX_FIELDS];
    yaml_mark_t key[RB_MAX_FIELDS];  /* of the key */
    yaml_mark_t mark[RB_MAX_FIELDS]; /* of the value */
};

/* One key of a mapping: read() checks the value node v, stores it at
 * base + off and returns true, or reports why not and returns false.
 * actions: for step keys, the actions that take it (a bit per enum
 * runbook_action; 0: every action); needed: those that require it. */
struct rb_field {
    const char *key;
    bool (*read)(struct rb_ctx *c, yaml_node_t *v, void *dst);
    size_t off;
    bool required;
    unsigned actions, needed;
};

/* rb_err_at: records "NAME:LINE:COLUMN: PATH: message" at mark m; past
 * CONFIG_MAX_ERRORS one last "too many errors" line, then nothing. */
void rb_err_at(struct rb_ctx *c, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* rb_flush_errors: appends the file's errors to c->errs in file order
 * (line, column, then the order found) and forgets them. */
void rb_flush_errors(struct rb_ctx *c);
/* rb_err_plain: appends "NAME: message" to e, for errors that have no
 * place in a file. */
void rb_err_plain(struct config_errors *e, const char *name, const char *fmt,
                  ...) __attribute__((format(printf, 3, 4)));

/* rb_path_key, rb_path_index: append ".key" or "[i]" to the key path;
 * they return the length to give back to rb_path_pop(). */
size_t rb_path_key(struct rb_ctx *c, const char *key);
size_t rb_path_index(struct rb_ctx *c, size_t i);
void rb_path_pop(struct rb_ctx *c, size_t saved);

yaml_node_t *rb_node(const struct rb_ctx *c, int i);
/* rb_sval: a scalar's text. */
const char *rb_sval(const yaml_node_t *n);
/* rb_n_items: the length of a sequence node. */
size_t rb_n_items(const yaml_node_t *seq);
/* rb_is_null: a plain "", "~" or "null". */
bool rb_is_null(const yaml_node_t *n);
/* rb_want_map, rb_want_seq, rb_want_scalar: true when v is one (not
 * null; a scalar without NUL bytes), else report it, naming what was
 * expected for a scalar. */
bool rb_want_map(struct rb_ctx *c, const yaml_node_t *v);
bool rb_want_seq(struct rb_ctx *c, const yaml_node_t *v);
bool rb_want_scalar(struct rb_ctx *c, const yaml_node_t *v, const char *what);

/* rb_inner_mark: the mark of byte off of scalar v's value. Exact (and
 * *exact set) when the value is written as is on one line before off;
 * else v's own mark. */
yaml_mark_t rb_inner_mark(const struct rb_ctx *c, const yaml_node_t *v,
                          size_t off, bool *exact);

/* Readers for struct rb_field, storing into dst: a non-empty string
 * (char *, heap), a runbook name (char *), a label name (char *), true
 * or false (bool), a duration > 0 with a unit (double, seconds), a
 * timeout (double, 1ms to 1h), a condition (struct expr *), a template
 * (char *), a URL template (char *). */
bool rb_read_string(struct rb_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_name(struct rb_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_label_name(struct rb_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_bool(struct rb_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_duration(struct rb_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_timeout(struct rb_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_condition(struct rb_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_template(struct rb_ctx *c, yaml_node_t *v, void *dst);
bool rb_read_url(struct rb_ctx *c, yaml_node_t *v, void *dst);

/* rb_read_uint: a plain whole number in [min, max]. */
bool rb_read_uint(struct rb_ctx *c, const yaml_node_t *v, uint64_t min,
                  uint64_t max, uint64_t *out);
/* rb_read_enum: one of names[0..n), its index in *out. */
bool rb_read_enum(struct rb_ctx *c, const yaml_node_t *v,
                  const char *const *names, size_t n, size_t *out);
/* rb_check_template: reports every bad placeholder of scalar v's value
 * (whose text is s); returns whether there was none. */
bool rb_check_template(struct rb_ctx *c, const yaml_node_t *v, const char *s);

/* rb_walk_map: reads every pair of the mapping map through the table f
 * into base (unknown and duplicate keys are errors), then reports the
 * required keys that are missing; *s says what it saw. */
void rb_walk_map(struct rb_ctx *c, yaml_node_t *map, const struct rb_field *f,
                 size_t nf, void *base, struct rb_seen *s);

/* rb_placeholder: finds the first "{{" at or after s[from]. Returns -1
 * when there is none; else sets *start (of the "{{"), *end (after the
 * "}}"), *name and *name_len (inside, without spaces) and returns 0 when
 * the placeholder is one of the known ones, 1 when it is not, 2 when the
 * "}}" is missing. */
int rb_placeholder(const char *s, size_t from, size_t *start, size_t *end,
                   size_t *name, size_t *name_len);

#endif
