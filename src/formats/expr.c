/* expr.c: the runbook condition language (see expr.h).
 *
 * A hand-written lexer feeds a recursive-descent parser, one function per
 * precedence level, that type-checks as it goes and emits postfix code:
 * "lag > 60s or connected" becomes  VAR(lag) NUM(60) GT VAR(connected)
 * OR. Nesting is capped, so the recursion is too, and evaluation is a
 * loop over the code with a small fixed stack. */
#include "formats/expr.h"

#include "lib/util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The evaluation stack. Each level of parentheses holds at most three
 * pending operands (of "or", "and" and a comparison), so
 * EXPR_MAX_DEPTH levels need about a hundred; the parser checks. */
#define STACK_MAX 256
#define MAX_TOKEN 40 /* characters of a token quoted in a message */

enum op {
    OP_NUM,
    OP_BOOL,
    OP_VAR,
    OP_NOT,
    OP_AND,
    OP_OR,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_EQ,
    OP_NE
};

struct code {
    unsigned char op;  /* enum op */
    unsigned char var; /* OP_VAR */
    double num;        /* OP_NUM; OP_BOOL: 0 or 1 */
};

struct expr {
    char *text;
    struct code *code;
    size_t n;
    unsigned vars;
};

static const char *const var_names[] = {
    [EXPR_VAR_LAG] = "lag",
    [EXPR_VAR_LAG_POSITIONS] = "lag_positions",
    [EXPR_VAR_MERKLE_DIFF] = "merkle_diff",
    [EXPR_VAR_CONNECTED] = "connected",
    [EXPR_VAR_LAGGING_REPLICAS] = "lagging_replicas",
    [EXPR_VAR_HEALTHY_REPLICAS] = "healthy_replicas",
};

static const char *const op_names[] = {
    [OP_NOT] = "not", [OP_AND] = "and", [OP_OR] = "or", [OP_LT] = "<",
    [OP_LE] = "<=",   [OP_GT] = ">",    [OP_GE] = ">=", [OP_EQ] = "==",
    [OP_NE] = "!=",   [OP_NUM] = "",    [OP_BOOL] = "", [OP_VAR] = "",
};

/* --- lexer -------------------------------------------------------------- */

enum tok_kind {
    T_END,
    T_NUM,
    T_BOOL,
    T_VAR,
    T_LPAREN,
    T_RPAREN,
    T_CMP,
    T_AND,
    T_OR,
    T_NOT
};

struct token {
    enum tok_kind kind;
    size_t start, len; /* in the text, 0-based */
    double num;        /* T_NUM; T_BOOL: 0 or 1 */
    enum expr_var var; /* T_VAR */
    enum op op;        /* T_CMP, T_AND, T_OR, T_NOT */
};

enum type { TY_NUM, TY_BOOL };

/* What a parse function recognised: its type and where it starts. */
struct operand {
    enum type type;
    size_t at; /* 0-based */
};

struct parser {
    const char *s;
    size_t pos; /* where the next token starts looking */
    struct token tok;
    struct code *code;
    size_t n, cap;
    int depth, stack;
    unsigned vars;
    struct expr_error *err;
    bool failed;
};

/* fail: records the first error, at 0-based offset at; later ones are
 * consequences and dropped. */
static void fail(struct parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct parser *p, size_t at, const char *fmt, ...)
{
    va_list ap;

    if (p->failed)
        return;
    p->failed = true;
    p->tok.kind = T_END;
    if (!p->err)
        return;
    p->err->column = (int)at + 1;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
    va_end(ap);
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* tok_len: the length of the current token for quoting, capped. */
static int tok_len(const struct parser *p)
{
    return (int)(p->tok.len < MAX_TOKEN ? p->tok.len : MAX_TOKEN);
}

/* lex_number: digits and dots, then a unit: "60", "0.5", "250ms". */
static void lex_number(struct parser *p, struct token *t)
{
    const char *s = p->s + t->start;
    char tmp[64];
    size_t n = strspn(s, "0123456789.");

    while (is_alpha(s[n]) || is_digit(s[n]))
        n++;
    t->len = n;
    t->kind = T_NUM;
    if (n < sizeof(tmp)) {
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        if (parse_duration(tmp, &t->num) == 0)
            return;
    }
    fail(p, t->start,
         "bad number '%.*s' (write a number, or a duration with a unit: "
         "ms, s, m, h)",
         (int)(n < MAX_TOKEN ? n : MAX_TOKEN), s);
}

static void unknown_word(struct parser *p, const struct token *t)
{
    struct buf b;

    buf_init(&b, 0);
    for (size_t i = 0; i < ARRAY_LEN(var_names); i++)
        buf_printf(&b, "%s, ", var_names[i]);
    buf_puts(&b, "true, false");
    fail(p, t->start, "unknown identifier '%.*s' (known: %s)",
         (int)(t->len < MAX_TOKEN ? t->len : MAX_TOKEN), p->s + t->start,
         b.data);
    buf_free(&b);
}

/* lex_word: a keyword, true, false or an identifier. */
static void lex_word(struct parser *p, struct token *t)
{
    static const struct {
        const char *word;
        enum tok_kind kind;
        enum op op;
    } words[] = {{"and", T_AND, OP_AND},
                 {"or", T_OR, OP_OR},
                 {"not", T_NOT, OP_NOT},
                 {"true", T_BOOL, OP_BOOL},
                 {"false", T_BOOL, OP_BOOL}};
    const char *s = p->s + t->start;

    while (is_alpha(s[t->len]) || is_digit(s[t->len]))
        t->len++;
    for (size_t i = 0; i < ARRAY_LEN(words); i++) {
        if (strlen(words[i].word) == t->len &&
            memcmp(words[i].word, s, t->len) == 0) {
            t->kind = words[i].kind;
            t->op = words[i].op;
            t->num = s[0] == 't';
            return;
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(var_names); i++) {
        if (strlen(var_names[i]) == t->len &&
            memcmp(var_names[i], s, t->len) == 0) {
            t->kind = T_VAR;
            t->var = (enum expr_var)i;
            return;
        }
    }
    unknown_word(p, t);
}

/* lex_symbol: parentheses and comparison operators; a helpful word for
 * the operators of other languages. */
static void lex_symbol(struct parser *p, struct token *t)
{
    static const struct {
        const char *sym;
        enum tok_kind kind;
        enum op op;
    } syms[] = {{"<=", T_CMP, OP_LE}, {">=", T_CMP, OP_GE},
                {"==", T_CMP, OP_EQ}, {"!=", T_CMP, OP_NE},
                {"<", T_CMP, OP_LT},  {">", T_CMP, OP_GT},
                {"(", T_LPAREN, 0},   {")", T_RPAREN, 0}};
    const char *s = p->s + t->start;
    unsigned char c = (unsigned char)s[0];

    for (size_t i = 0; i < ARRAY_LEN(syms); i++) {
        t->len = strlen(syms[i].sym);
        if (strncmp(s, syms[i].sym, t->len) == 0) {
            t->kind = syms[i].kind;
            t->op = syms[i].op;
            return;
        }
    }
    if (c == '=')
        fail(p, t->start, "'=' is not an operator (write '==' to compare)");
    else if (c == '&' || c == '|' || c == '!')
        fail(p, t->start, "'%c' is not an operator (write %s)", c,
             c == '&'   ? "'and'"
             : c == '|' ? "'or'"
                        : "'not'");
    else if (c >= 0x20 && c < 0x7f)
        fail(p, t->start, "unexpected character '%c'", c);
    else
        fail(p, t->start, "unexpected byte 0x%02x", c);
}

/* next: moves to the next token. */
static void next(struct parser *p)
{
    struct token *t = &p->tok;

    if (p->failed)
        return;
    p->pos += strspn(p->s + p->pos, " \t\r\n");
    memset(t, 0, sizeof(*t));
    t->start = p->pos;
    if (!p->s[p->pos])
        t->kind = T_END;
    else if (is_digit(p->s[p->pos]))
        lex_number(p, t);
    else if (is_alpha(p->s[p->pos]))
        lex_word(p, t);
    else
        lex_symbol(p, t);
    p->pos = t->start + t->len;
}

/* --- parser ------------------------------------------------------------- */

static void emit(struct parser *p, enum op op, enum expr_var var, double num)
{
    struct code *c;

    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->code = xrealloc(p->code, p->cap * sizeof(*p->code));
    }
    c = &p->code[p->n++];
    c->op = (unsigned char)op;
    c->var = (unsigned char)var;
    c->num = num;
    if (op == OP_NUM || op == OP_BOOL || op == OP_VAR)
        p->stack++;
    else if (op != OP_NOT)
        p->stack--;
    if (p->stack > STACK_MAX)
        fail(p, p->tok.start, "condition too complex");
}

static const char *type_name(enum type t)
{
    return t == TY_BOOL ? "a boolean" : "a number";
}

static bool starts_value(enum tok_kind k)
{
    return k == T_NUM || k == T_BOOL || k == T_VAR || k == T_LPAREN ||
           k == T_NOT;
}

/* want_value: the current token, which follows the operator after, must
 * start a value. */
static bool want_value(struct parser *p, const char *after)
{
    if (p->failed || starts_value(p->tok.kind))
        return !p->failed;
    if (p->tok.kind == T_END)
        fail(p, p->tok.start, "expected a value after '%s'", after);
    else
        fail(p, p->tok.start, "expected a value after '%s', got '%.*s'", after,
             tok_len(p), p->s + p->tok.start);
    return false;
}

/* enter: one more level of nesting at offset at; false past the cap. */
static bool enter(struct parser *p, size_t at)
{
    if (++p->depth <= EXPR_MAX_DEPTH)
        return true;
    fail(p, at, "nested deeper than %d levels", EXPR_MAX_DEPTH);
    return false;
}

static struct operand parse_or(struct parser *p);

static struct operand parse_group(struct parser *p)
{
    struct operand o = {TY_BOOL, p->tok.start};
    size_t open = p->tok.start;

    if (!enter(p, open))
        return o;
    next(p);
    if (!want_value(p, "("))
        return o;
    o = parse_or(p);
    if (p->failed)
        return o;
    if (p->tok.kind == T_END)
        fail(p, p->tok.start, "expected ')' to close the '(' at column %zu",
             open + 1);
    else if (p->tok.kind != T_RPAREN)
        fail(p, p->tok.start, "expected an operator or ')', got '%.*s'",
             tok_len(p), p->s + p->tok.start);
    next(p);
    p->depth--;
    o.at = open;
    return o;
}

static struct operand parse_primary(struct parser *p)
{
    struct token t = p->tok;
    struct operand o = {TY_NUM, t.start};

    switch (t.kind) {
    case T_NUM:
        emit(p, OP_NUM, 0, t.num);
        break;
    case T_BOOL:
        emit(p, OP_BOOL, 0, t.num);
        o.type = TY_BOOL;
        break;
    case T_VAR:
        emit(p, OP_VAR, t.var, 0);
        p->vars |= 1u << t.var;
        o.type = t.var == EXPR_VAR_CONNECTED ? TY_BOOL : TY_NUM;
        break;
    case T_LPAREN:
        return parse_group(p);
    default:
        fail(p, t.start, "expected a value, got '%.*s'", tok_len(p),
             p->s + t.start);
        return o;
    }
    next(p);
    return o;
}

static struct operand parse_unary(struct parser *p)
{
    struct operand o = {TY_BOOL, p->tok.start};
    size_t at = p->tok.start;

    if (p->tok.kind != T_NOT)
        return parse_primary(p);
    if (!enter(p, at))
        return o;
    next(p);
    if (!want_value(p, "not"))
        return o;
    o = parse_unary(p);
    if (!p->failed && o.type != TY_BOOL)
        fail(p, o.at, "'not' needs a boolean, got a number%s",
             p->tok.kind == T_CMP ? " (it binds tighter than a comparison: "
                                    "write not (a > b))"
                                  : "");
    emit(p, OP_NOT, 0, 0);
    p->depth--;
    o.type = TY_BOOL;
    o.at = at;
    return o;
}

/* check_cmp: < <= > >= take numbers; == and != two of the same type. */
static bool check_cmp(struct parser *p, enum op op, struct operand l,
                      struct operand r)
{
    if (op == OP_EQ || op == OP_NE) {
        if (l.type == r.type)
            return true;
        fail(p, r.at,
             "'%s' compares two numbers or two booleans, got %s and %s",
             op_names[op], type_name(l.type), type_name(r.type));
        return false;
    }
    if (l.type == TY_NUM && r.type == TY_NUM)
        return true;
    fail(p, l.type != TY_NUM ? l.at : r.at,
         "comparison '%s' needs numbers, got a boolean", op_names[op]);
    return false;
}

static struct operand parse_cmp(struct parser *p)
{
    struct operand l = parse_unary(p), r;
    enum op op = p->tok.op;

    if (p->failed || p->tok.kind != T_CMP)
        return l;
    next(p);
    if (!want_value(p, op_names[op]))
        return l;
    r = parse_unary(p);
    if (p->failed || !check_cmp(p, op, l, r))
        return l;
    emit(p, op, 0, 0);
    if (p->tok.kind == T_CMP)
        fail(p, p->tok.start,
             "comparisons do not chain (write a < b and b < c)");
    l.type = TY_BOOL;
    return l;
}

/* parse_binary: a chain of "and"s (sub is parse_cmp) or of "or"s (sub is
 * parse_and), left-associative, booleans only. */
static struct operand parse_binary(struct parser *p, enum tok_kind kind,
                                   struct operand (*sub)(struct parser *))
{
    struct operand l = sub(p), r;
    enum op op = kind == T_AND ? OP_AND : OP_OR;

    while (!p->failed && p->tok.kind == kind) {
        if (l.type != TY_BOOL) {
            fail(p, l.at, "'%s' needs booleans, got a number", op_names[op]);
            break;
        }
        next(p);
        if (!want_value(p, op_names[op]))
            break;
        r = sub(p);
        if (!p->failed && r.type != TY_BOOL)
            fail(p, r.at, "'%s' needs booleans, got a number", op_names[op]);
        emit(p, op, 0, 0);
    }
    return l;
}

static struct operand parse_and(struct parser *p)
{
    return parse_binary(p, T_AND, parse_cmp);
}

static struct operand parse_or(struct parser *p)
{
    return parse_binary(p, T_OR, parse_and);
}

/* parse_all: the whole text is one boolean. */
static void parse_all(struct parser *p)
{
    struct operand o;

    if (strlen(p->s) > EXPR_MAX_LEN) {
        fail(p, EXPR_MAX_LEN, "condition longer than %d characters",
             EXPR_MAX_LEN);
        return;
    }
    next(p);
    if (!p->failed && p->tok.kind == T_END) {
        fail(p, p->tok.start, "empty condition");
        return;
    }
    o = parse_or(p);
    if (p->failed)
        return;
    if (p->tok.kind == T_RPAREN)
        fail(p, p->tok.start, "unmatched ')'");
    else if (p->tok.kind != T_END)
        fail(p, p->tok.start, "expected an operator, got '%.*s'", tok_len(p),
             p->s + p->tok.start);
    else if (o.type != TY_BOOL)
        fail(p, o.at,
             "a condition must be true or false, got a number (compare it: "
             "lag > 10s)");
}

int expr_parse(const char *text, struct expr **out, struct expr_error *err)
{
    struct parser p = {.s = text, .err = err};
    struct expr *e;

    *out = NULL;
    if (err) {
        err->column = 0;
        err->msg[0] = '\0';
    }
    parse_all(&p);
    if (p.failed) {
        free(p.code);
        return -EINVAL;
    }
    e = xcalloc(1, sizeof(*e));
    e->text = xstrdup(text);
    e->code = p.code;
    e->n = p.n;
    e->vars = p.vars;
    *out = e;
    return 0;
}

void expr_free(struct expr *e)
{
    if (!e)
        return;
    free(e->text);
    free(e->code);
    free(e);
}

/* --- evaluation --------------------------------------------------------- */

/* A value on the evaluation stack; booleans are 0 or 1. */
struct val {
    double x;
    bool known;
};

static struct val load(const struct expr_env *env, enum expr_var v)
{
    struct val r = {env->value[v], env->known[v] && isfinite(env->value[v])};

    if (!r.known)
        r.x = 0;
    else if (v == EXPR_VAR_CONNECTED)
        r.x = r.x != 0;
    return r;
}

/* binary: Kleene's logic for "and" and "or"; a comparison with an
 * unknown side is unknown. */
static struct val binary(enum op op, struct val a, struct val b)
{
    bool both = a.known && b.known;
    struct val r = {0, both};

    switch (op) {
    case OP_AND:
        if ((a.known && a.x == 0) || (b.known && b.x == 0))
            return (struct val){0, true};
        return (struct val){both, both};
    case OP_OR:
        if ((a.known && a.x != 0) || (b.known && b.x != 0))
            return (struct val){1, true};
        return r;
    case OP_LT:
        r.x = both && a.x < b.x;
        return r;
    case OP_LE:
        r.x = both && a.x <= b.x;
        return r;
    case OP_GT:
        r.x = both && a.x > b.x;
        return r;
    case OP_GE:
        r.x = both && a.x >= b.x;
        return r;
    case OP_EQ:
        r.x = both && a.x == b.x;
        return r;
    default: /* OP_NE */
        r.x = both && a.x != b.x;
        return r;
    }
}

int expr_eval(const struct expr *e, const struct expr_env *env, bool *out)
{
    struct val st[STACK_MAX];
    size_t sp = 0;

    for (size_t i = 0; i < e->n; i++) {
        const struct code *c = &e->code[i];
        if (c->op == OP_NUM || c->op == OP_BOOL) {
            st[sp++] = (struct val){c->num, true};
        } else if (c->op == OP_VAR) {
            st[sp++] = load(env, (enum expr_var)c->var);
        } else if (c->op == OP_NOT) {
            st[sp - 1].x = st[sp - 1].known && st[sp - 1].x == 0;
        } else {
            sp--;
            st[sp - 1] = binary((enum op)c->op, st[sp - 1], st[sp]);
        }
    }
    *out = st[0].known && st[0].x != 0;
    return st[0].known ? 0 : EXPR_UNKNOWN;
}

/* --- the rest of the API ------------------------------------------------ */

const char *expr_text(const struct expr *e)
{
    return e->text;
}

unsigned expr_vars(const struct expr *e)
{
    return e->vars;
}

/* format_one: the text of code c, whose operands are on top of st. */
static char *format_one(const struct code *c, char **st, size_t sp)
{
    struct buf b;

    buf_init(&b, 0);
    if (c->op == OP_NUM) { /* the shortest text that reads back the same */
        char t[40];
        snprintf(t, sizeof(t), "%.15g", c->num);
        if (strtod(t, NULL) != c->num)
            snprintf(t, sizeof(t), "%.17g", c->num);
        buf_puts(&b, t);
    } else if (c->op == OP_BOOL)
        buf_puts(&b, c->num != 0 ? "true" : "false");
    else if (c->op == OP_VAR)
        buf_puts(&b, var_names[c->var]);
    else if (c->op == OP_NOT)
        buf_printf(&b, "(not %s)", st[sp - 1]);
    else
        buf_printf(&b, "(%s %s %s)", st[sp - 2], op_names[c->op], st[sp - 1]);
    return buf_detach(&b);
}

int expr_format(const struct expr *e, struct buf *out)
{
    char *st[STACK_MAX];
    size_t sp = 0, pop;
    char *s;
    int rc;

    for (size_t i = 0; i < e->n; i++) {
        const struct code *c = &e->code[i];
        s = format_one(c, st, sp);
        pop = c->op <= OP_VAR ? 0 : c->op == OP_NOT ? 1 : 2;
        for (size_t k = 0; k < pop; k++)
            free(st[--sp]);
        st[sp++] = s;
    }
    rc = buf_puts(out, st[0]);
    free(st[0]);
    return rc;
}

void expr_env_init(struct expr_env *env)
{
    memset(env, 0, sizeof(*env));
}

void expr_env_set(struct expr_env *env, enum expr_var var, double v)
{
    if ((unsigned)var >= EXPR_N_VARS)
        return;
    env->value[var] = v;
    env->known[var] = isfinite(v);
}

const char *expr_var_name(enum expr_var var)
{
    if ((unsigned)var >= EXPR_N_VARS)
        return "unknown";
    return var_names[var];
}
