/* expr.h: the condition language of runbooks (SPEC section 8).
 *
 * A condition is a small expression over the live state of one target:
 *
 *   lag > 60s or lagging_replicas >= 2 and healthy_replicas == 0
 *
 * Values: the identifiers below, true and false, numbers ("2", "0.5")
 * and durations, which are numbers of seconds ("250ms" 0.25, "60s" 60,
 * "3m" 180, "1h" 3600). Operators, tightest first:
 *
 *   not                       boolean -> boolean
 *   < <= > >= == !=           numbers -> boolean; == and != also compare
 *                             two booleans; comparisons do not chain
 *   and                       booleans -> boolean
 *   or                        booleans -> boolean
 *
 * and parentheses, at most EXPR_MAX_DEPTH deep. As "not" binds tighter
 * than a comparison, "not lag > 60s" is a type error (the parser says to
 * write "not (lag > 60s)"); for well-typed conditions the two readings
 * never differ. The whole condition must be a boolean. Types are checked
 * when parsing: connected is a boolean, the other identifiers numbers.
 *
 * A parsed condition compiles to postfix code evaluated without
 * recursion. Evaluation is three-valued (Kleene, as SQL's NULL): a value
 * the environment does not know (the lag of a stale replica) makes every
 * comparison with it unknown, and the unknown spreads through "not",
 * "and" and "or" unless the other side decides the result ("false and
 * unknown" is false, "true or unknown" is true). The caller fails closed
 * on an unknown result. Everything here is pure: no I/O, no globals; a
 * parsed struct expr is immutable and may be shared between threads. */
#ifndef REPLGUARD_EXPR_H
#define REPLGUARD_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#define EXPR_MAX_LEN   1024 /* characters of condition text */
#define EXPR_MAX_DEPTH 32   /* nested parentheses and "not"s */
#define EXPR_UNKNOWN   (-1) /* expr_eval(): depends on an unknown value */

struct buf;

/* The identifiers a condition may use, about the target replica and its
 * cluster. */
enum expr_var {
    EXPR_VAR_LAG,              /* seconds */
    EXPR_VAR_LAG_POSITIONS,    /* writes behind the primary */
    EXPR_VAR_MERKLE_DIFF,      /* Merkle leaf buckets that differ */
    EXPR_VAR_CONNECTED,        /* boolean: replication stream up */
    EXPR_VAR_LAGGING_REPLICAS, /* replicas of the cluster not healthy */
    EXPR_VAR_HEALTHY_REPLICAS, /* replicas of the cluster healthy */
    EXPR_N_VARS
};

/* The values a condition is evaluated against: value[v] counts only when
 * known[v]. A boolean (connected) is 0 or 1 (any non-zero is true). */
struct expr_env {
    double value[EXPR_N_VARS];
    bool known[EXPR_N_VARS];
};

/* Why a condition did not parse. column is 1-based (where the problem
 * is; the length + 1 for "at the end"), msg says what was expected,
 * without the column. */
struct expr_error {
    int column;
    char msg[256];
};

/* A parsed condition (opaque). */
struct expr;

/* expr_parse: parses and type-checks text (a NUL-terminated string). On
 * success sets *out to a condition the caller frees with expr_free() and
 * returns 0. Otherwise sets *out to NULL, fills *err (which may be NULL)
 * and returns -EINVAL. */
int expr_parse(const char *text, struct expr **out, struct expr_error *err);

/* expr_free: frees e; NULL is a no-op. */
void expr_free(struct expr *e);

/* expr_eval: evaluates e against env. Returns 0 with the result in *out,
 * or EXPR_UNKNOWN when the result depends on a value env does not know
 * (or that is not finite); *out is then false, so that a caller that
 * reads it anyway does not act. */
int expr_eval(const struct expr *e, const struct expr_env *env, bool *out);

/* expr_text: the text e was parsed from; belongs to e. */
const char *expr_text(const struct expr *e);

/* expr_vars: the identifiers e uses, as a bit mask (1u << var). */
unsigned expr_vars(const struct expr *e);

/* expr_format: appends e to out fully parenthesised, durations as
 * seconds: "((lag > 60) or (connected == false))". For logs and tests.
 * Returns 0, or -1 when out's limit was reached. */
int expr_format(const struct expr *e, struct buf *out);

/* expr_env_init: an environment in which nothing is known. */
void expr_env_init(struct expr_env *env);

/* expr_env_set: makes var known with value v (a non-finite v leaves it
 * unknown). */
void expr_env_set(struct expr_env *env, enum expr_var var, double v);

/* expr_var_name: the identifier of var ("lag"), a static string;
 * "unknown" out of range. */
const char *expr_var_name(enum expr_var var);

#endif
