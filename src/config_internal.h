/* config_internal.h: shared by config.c (the schema, loading, the public
 * API) and configread.c (error collection, YAML node types, scalar and
 * address readers, the table-driven walk of a mapping). Not for other
 * modules: the libyaml tree never leaves these two files. */
#ifndef REPLGUARD_CONFIG_INTERNAL_H
#define REPLGUARD_CONFIG_INTERNAL_H

#include "config.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#define MAX_FIELDS 12 /* keys in the largest mapping of the schema */

/* An error found by the walk, sorted into file order before it is
 * handed out. */
struct pending {
    size_t line, column, seq;
    char *msg;
};

/* One load. */
struct ctx {
    const char *name; /* file name for messages */
    yaml_document_t *doc;
    struct config_errors *errs;
    int count;       /* errors this load found */
    struct buf path; /* key path of the value being read, for messages */
    struct pending *pend;
    size_t n_pend, cap_pend;
};

/* What a walk of one mapping saw of each field of its table. */
enum state { ABSENT, GOOD, BAD };
struct seen {
    enum state state[MAX_FIELDS];
    yaml_mark_t mark[MAX_FIELDS]; /* of the value */
};

/* One key of a mapping: read() checks the value node v, stores it at
 * base + off and returns true, or reports why not and returns false. */
struct field {
    const char *key;
    bool (*read)(struct ctx *c, yaml_node_t *v, void *dst);
    size_t off;
    bool required;
};

/* A duration field of a mapping, for the checks between fields. */
struct bound {
    size_t idx; /* in the field table */
    const char *key;
    double val;
};

/* cfg_err_at: records "NAME:LINE:COLUMN: PATH: message" at mark m; past
 * CONFIG_MAX_ERRORS one last "too many errors" line, then nothing. */
void cfg_err_at(struct ctx *c, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* cfg_flush_errors: appends the recorded errors to c->errs in file order
 * (line, column, then the order found) and forgets them. */
void cfg_flush_errors(struct ctx *c);
/* cfg_err_plain: appends "NAME: message" to e, for errors that have no
 * place in the file. */
void cfg_err_plain(struct config_errors *e, const char *name, const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));

/* cfg_path_index: appends "[i]" to the key path; returns the length to
 * give back to cfg_path_pop(). */
size_t cfg_path_index(struct ctx *c, size_t i);
void cfg_path_pop(struct ctx *c, size_t saved);

yaml_node_t *cfg_node_at(const struct ctx *c, int i);
/* cfg_n_items: the length of a sequence node. */
size_t cfg_n_items(const yaml_node_t *seq);
/* cfg_want_map, cfg_want_seq: true when v is one, else report it. */
bool cfg_want_map(struct ctx *c, const yaml_node_t *v);
bool cfg_want_seq(struct ctx *c, const yaml_node_t *v);

/* Readers for struct field, storing into dst: a non-empty string (char
 * *, heap), a cluster or node name (char *), true/false (bool), a
 * duration with a unit > 0 (double, seconds), a priority (unsigned), a
 * throttle floor >= 1 (uint64_t), HOST:PORT (dst is the struct config),
 * a node URL (char *, without trailing slashes). */
bool cfg_read_string(struct ctx *c, yaml_node_t *v, void *dst);
bool cfg_read_name(struct ctx *c, yaml_node_t *v, void *dst);
bool cfg_read_bool(struct ctx *c, yaml_node_t *v, void *dst);
bool cfg_read_duration(struct ctx *c, yaml_node_t *v, void *dst);
bool cfg_read_priority(struct ctx *c, yaml_node_t *v, void *dst);
bool cfg_read_floor(struct ctx *c, yaml_node_t *v, void *dst);
bool cfg_read_listen(struct ctx *c, yaml_node_t *v, void *dst);
bool cfg_read_url(struct ctx *c, yaml_node_t *v, void *dst);

/* cfg_read_uint: a plain whole number in [min, max]. */
bool cfg_read_uint(struct ctx *c, const yaml_node_t *v, uint64_t min,
                   uint64_t max, uint64_t *out);
/* cfg_read_enum: one of names[0..n), its index in *out. */
bool cfg_read_enum(struct ctx *c, const yaml_node_t *v,
                   const char *const *names, size_t n, size_t *out);

/* cfg_walk_map: reads every pair of the mapping map through the table f
 * into base (unknown and duplicate keys are errors), then reports the
 * required keys that are missing; *s says what it saw. */
void cfg_walk_map(struct ctx *c, yaml_node_t *map, const struct field *f,
                  size_t nf, void *base, struct seen *s);

/* cfg_check_less: lo->val < hi->val must hold. The error goes to the
 * value of blame when it was written, else to the other one. Skipped
 * when either value was bad. */
void cfg_check_less(struct ctx *c, const struct seen *s, const struct bound *lo,
                    const struct bound *hi, const struct bound *blame);

#endif
