/* yamlread.h: the YAML layer shared by the loaders of the config
 * (config.c) and of the runbooks (runbook.c): errors collected as
 * "NAME:LINE:COLUMN: PATH: message" in file order, node type checks,
 * the generic scalar readers and the table-driven walk of a mapping.
 *
 * The libyaml tree is the caller's: these functions read nodes of the
 * document the caller parsed and never keep a pointer into it. Only the
 * loaders include this header; nothing outside them sees libyaml. */
#ifndef REPLGUARD_YAMLREAD_H
#define REPLGUARD_YAMLREAD_H

#include "lib/errlist.h"
#include "lib/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#define YR_MAX_FIELDS 12 /* keys in the largest mapping of a schema */

struct yr_pending; /* an error waiting to be sorted into file order */

/* The load of one text. Set up with yr_init(); doc is the document
 * being walked, which the caller parses, sets and deletes. */
struct yr_ctx {
    const char *name; /* file name for messages */
    const char *text; /* the text, to place errors inside scalars */
    size_t len;
    yaml_document_t *doc;
    struct errlist *errs;
    int count;       /* errors this load found */
    struct buf path; /* key path of the value being read, for messages */
    struct yr_pending *pend;
    size_t n_pend, cap_pend;
};

/* What a walk of one mapping saw of each field of its table. */
enum yr_state { YR_ABSENT, YR_GOOD, YR_BAD };
struct yr_seen {
    enum yr_state state[YR_MAX_FIELDS];
    yaml_mark_t key[YR_MAX_FIELDS];  /* of the key */
    yaml_mark_t mark[YR_MAX_FIELDS]; /* of the value */
};

/* One key of a mapping: read() checks the value node v, stores it at
 * base + off and returns true, or reports why not and returns false. */
struct yr_field {
    const char *key;
    bool (*read)(struct yr_ctx *c, yaml_node_t *v, void *dst);
    size_t off;
    bool required;
};

/* yr_init: sets up c for the text of file name (text may be NULL when
 * no error needs a place inside a scalar); errors go to errs. Release
 * with yr_finish(). */
void yr_init(struct yr_ctx *c, const char *name, const char *text, size_t len,
             struct errlist *errs);
/* yr_finish: appends the recorded errors to c->errs in file order
 * (line, column, then the order found), frees what c holds and returns
 * c->count, the number of errors of the load. */
int yr_finish(struct yr_ctx *c);

/* yr_err_at: records "NAME:LINE:COLUMN: PATH: message" at mark m; past
 * ERRLIST_MAX one last "too many errors" line, then nothing.
 * Control characters in the message become '?'. */
void yr_err_at(struct yr_ctx *c, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* yr_err_plain: appends "NAME: message" to e at once, for errors that
 * have no place in a file. */
void yr_err_plain(struct errlist *e, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* yr_path_key, yr_path_index: append ".key" or "[i]" to the key path;
 * they return the length to give back to yr_path_pop(). */
size_t yr_path_key(struct yr_ctx *c, const char *key);
size_t yr_path_index(struct yr_ctx *c, size_t i);
void yr_path_pop(struct yr_ctx *c, size_t saved);

/* yr_parser_init: a parser over text[0..len); aborts when libyaml is
 * out of memory. The caller deletes it with yaml_parser_delete(). */
void yr_parser_init(yaml_parser_t *p, const char *text, size_t len);
/* yr_check_depth: false, after reporting where, when c->text nests
 * mappings and sequences more than max deep (YR_MAX_DEPTH); run before
 * loading a document, so no walk sees one. A syntax error returns true:
 * the loader reports it. */
#define YR_MAX_DEPTH 64
bool yr_check_depth(struct yr_ctx *c, int max);
/* yr_syntax_error: reports the error that stopped parser p, at its
 * line and column (reader errors: at the byte offset, in c->text). */
void yr_syntax_error(struct yr_ctx *c, const yaml_parser_t *p);
/* yr_slurp: reads the file at path into b, which it initializes with
 * the limit LOAD_MAX_FILE_SIZE; the caller frees b with buf_free()
 * in every case. Returns 0, or -1 after appending the reason ("larger
 * than ..." or "cannot read: ...") to errs when errs is not NULL. */
int yr_slurp(const char *path, struct buf *b, struct errlist *errs);
/* yr_text_fn: loads len bytes of text (NUL-terminated) read from name
 * into arg; returns its error count, each appended to errs. */
typedef int (*yr_text_fn)(const char *name, const char *text, size_t len,
                          void *arg, struct errlist *errs);
/* yr_load_file: yr_slurp() the file at path, then load(path, its text,
 * arg, errs). Returns load's error count, or 1 when the file could not be
 * read (the reason appended to errs, which may be NULL). */
int yr_load_file(const char *path, yr_text_fn load, void *arg,
                 struct errlist *errs);

/* yr_node: node i of c->doc. */
yaml_node_t *yr_node(const struct yr_ctx *c, int i);
/* yr_sval: a scalar's text. */
const char *yr_sval(const yaml_node_t *n);
/* yr_map_value: the value of key in the mapping map, or NULL when map
 * is NULL, not a mapping or has no such key. */
yaml_node_t *yr_map_value(const struct yr_ctx *c, const yaml_node_t *map,
                          const char *key);
/* yr_n_items: the length of a sequence node. */
size_t yr_n_items(const yaml_node_t *seq);
/* yr_is_null: a plain "", "~", "null", "Null" or "NULL". */
bool yr_is_null(const yaml_node_t *n);
/* yr_want_map, yr_want_seq, yr_want_scalar: true when v is one (not
 * null; a scalar without NUL bytes), else report it, naming what was
 * expected for a scalar. */
bool yr_want_map(struct yr_ctx *c, const yaml_node_t *v);
bool yr_want_seq(struct yr_ctx *c, const yaml_node_t *v);
bool yr_want_scalar(struct yr_ctx *c, const yaml_node_t *v, const char *what);
/* yr_want_url: true when v is a URL scalar: no space or control
 * character, http:// or https://, and check(what follows the scheme)
 * returns NULL; else reports "bad URL" with the reason at v. check says
 * what the reader demands of the host, port and path. */
bool yr_want_url(struct yr_ctx *c, const yaml_node_t *v,
                 const char *(*check)(const char *rest));

/* yr_want_items: true when v is a list of min to max items, their
 * number in *n; else reports that v is no list or "expected MIN to MAX
 * WHAT, got N" and returns false. */
bool yr_want_items(struct yr_ctx *c, const yaml_node_t *v, size_t min,
                   size_t max, const char *what, size_t *n);
/* yr_item_fn: reads item i (node v) of a list for yr_each_item(). */
typedef bool yr_item_fn(struct yr_ctx *c, yaml_node_t *v, size_t i, void *arg);
/* yr_each_item: calls item(c, v, i, arg) for every item v of the list
 * seq in order, with "[i]" on the key path. Returns whether every call
 * returned true; a false one does not stop the walk. */
bool yr_each_item(struct yr_ctx *c, const yaml_node_t *seq, yr_item_fn *item,
                  void *arg);

/* yr_inner_mark: the mark of byte off of scalar v's value. Exact (and
 * *exact set) when the value is written as is on one line before off;
 * else v's own mark. Needs c->text. */
yaml_mark_t yr_inner_mark(const struct yr_ctx *c, const yaml_node_t *v,
                          size_t off, bool *exact);

/* A range of durations in seconds, with its bounds as written in
 * messages ("10ms", "1h"). */
struct yr_range {
    double min, max;
    const char *min_text, *max_text;
};

/* Readers for struct yr_field, storing into dst: a non-empty string
 * (char *, heap, the caller frees), true or false (bool), a duration
 * with a unit from 1ms to 720h (30 days: larger ones are typos, and
 * freeze whatever waits for them) (double, seconds). On error they store
 * nothing. */
bool yr_read_string(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool yr_read_bool(struct yr_ctx *c, yaml_node_t *v, void *dst);
bool yr_read_duration(struct yr_ctx *c, yaml_node_t *v, void *dst);

/* yr_read_duration_in: a duration with a unit within r into the double
 * at dst (seconds), for readers of keys with their own range. */
bool yr_read_duration_in(struct yr_ctx *c, yaml_node_t *v,
                         const struct yr_range *r, void *dst);

/* yr_read_uint: a plain whole number in [min, max] into *out. */
bool yr_read_uint(struct yr_ctx *c, const yaml_node_t *v, uint64_t min,
                  uint64_t max, uint64_t *out);
/* yr_read_enum: one of names[0..n), its index in *out. */
bool yr_read_enum(struct yr_ctx *c, const yaml_node_t *v,
                  const char *const *names, size_t n, size_t *out);

/* yr_walk_map: reads every pair of the mapping map through the table
 * f[0..nf) (nf <= YR_MAX_FIELDS) into base (unknown and duplicate keys
 * are errors), then reports the required keys that are missing; *s
 * says what it saw. */
void yr_walk_map(struct yr_ctx *c, yaml_node_t *map, const struct yr_field *f,
                 size_t nf, void *base, struct yr_seen *s);

/* yr_read_map: v must be a mapping, walked with yr_walk_map() through
 * f[0..nf) into base. Returns whether that found no error. */
bool yr_read_map(struct yr_ctx *c, yaml_node_t *v, const struct yr_field *f,
                 size_t nf, void *base);

#endif
