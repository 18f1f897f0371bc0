/* merklewalk.c: one Merkle compare as a state machine (see merklewalk.h).
 *
 * A walk hands out one request at a time (struct inflight says what its
 * answers must look like), decodes each node's answer into an array of
 * uint64 hashes as it arrives (the cJSON tree is freed in the function
 * that parsed it) and, once both are in, compares them: differing
 * interior nodes go to the pending list of their level, differing leaves
 * to the result. */
#include "profiles/stemedb/merklewalk.h"

#include "lib/merkle.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FANOUT          MERKLE_FANOUT
#define HEX_DIGITS      16
#define DEFAULT_LISTED  4096
#define DEFAULT_GAP     64
#define ROOT_PATH       "/v1/admin/merkle?level=0&offset=0&count=1"
#define CHILDREN_PATH   "/v1/admin/merkle/children"
#define BOTH_SIDES      3u
#define MAX_JSON_NUMBER 9007199254740992.0 /* 2^53 */

enum mode { MODE_WALK, MODE_RECHECK };
enum state { ST_READY, ST_WAIT, ST_DONE, ST_FAILED };

/* Node indices of one level; entries [head, len) are pending. */
struct ulist {
    uint64_t *v;
    size_t head, len, cap;
};

/* The request in flight and what its answers must look like. */
struct inflight {
    bool post;
    unsigned level;  /* the level of the hashes answered */
    uint64_t offset; /* GET */
    size_t count;    /* GET: hashes; POST: parents */
    size_t leaves;   /* recheck: entries of w->leaves the range covers */
    unsigned got;    /* a bit per side whose answer is in */
};

struct merklewalk {
    enum mode mode;
    enum state state;
    struct merklewalk_options opt;
    unsigned depth;         /* walk: 0 until the roots answered */
    unsigned root_depth[2]; /* the depth each root answer gave */
    struct inflight rq;
    uint64_t *hashes[2]; /* each side's decoded answer */
    size_t hashes_cap;
    struct buf path, body;
    struct ulist pend[MERKLE_MAX_DEPTH]; /* walk: levels 0..depth-1 */
    uint64_t *leaves;                    /* recheck: sorted, distinct */
    size_t nleaves, cursor;
    uint64_t diff_count;
    uint64_t *diff; /* the first `listed` differing leaves */
    size_t listed, diff_cap;
    struct merklewalk_stats st;
    int err;
    char msg[192];
};

static const char *side_name(enum merklewalk_side side)
{
    return side == MERKLEWALK_PRIMARY ? "primary" : "replica";
}

static int fail(struct merklewalk *w, enum merklewalk_error code,
                const char *who, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* fail: ends the compare with code and a message prefixed "who: " (when
 * who is not NULL). Returns -code. */
static int fail(struct merklewalk *w, enum merklewalk_error code,
                const char *who, const char *fmt, ...)
{
    size_t n = 0;
    if (who) {
        int k = snprintf(w->msg, sizeof(w->msg), "%s: ", who);
        n = k > 0 && (size_t)k < sizeof(w->msg) ? (size_t)k : 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->msg + n, sizeof(w->msg) - n, fmt, ap);
    va_end(ap);
    w->err = (int)code;
    w->state = ST_FAILED;
    return -(int)code;
}

/* --- lists --------------------------------------------------------------- */

static void ulist_push(struct ulist *l, uint64_t x)
{
    if (l->len == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->len++] = x;
}

static size_t ulist_pending(const struct ulist *l)
{
    return l->len - l->head;
}

/* add_leaf: counts a differing leaf and lists it while there is room. */
static void add_leaf(struct merklewalk *w, uint64_t leaf)
{
    w->diff_count++;
    if (w->listed == w->opt.max_listed)
        return;
    if (w->listed == w->diff_cap) {
        size_t cap = w->diff_cap ? 2 * w->diff_cap : 64;
        w->diff_cap = cap < w->opt.max_listed ? cap : w->opt.max_listed;
        w->diff = xrealloc(w->diff, w->diff_cap * sizeof(*w->diff));
    }
    w->diff[w->listed++] = leaf;
}

/* --- life cycle ---------------------------------------------------------- */

void merklewalk_options_default(struct merklewalk_options *o)
{
    o->max_batch = MERKLEWALK_MAX_BATCH;
    o->max_listed = DEFAULT_LISTED;
    o->recheck_gap = DEFAULT_GAP;
    o->recheck_parents = false;
}

/* clamp_options: o (NULL: the defaults) made valid, into out. */
static void clamp_options(const struct merklewalk_options *o,
                          struct merklewalk_options *out)
{
    if (o)
        *out = *o;
    else
        merklewalk_options_default(out);
    if (out->max_batch < 1 || out->max_batch > MERKLEWALK_MAX_BATCH)
        out->max_batch = MERKLEWALK_MAX_BATCH;
    if (out->max_listed < 1)
        out->max_listed = 1;
}

static struct merklewalk *walk_alloc(enum mode mode,
                                     const struct merklewalk_options *o)
{
    struct merklewalk *w = xcalloc(1, sizeof(*w));
    w->mode = mode;
    w->state = ST_READY;
    clamp_options(o, &w->opt);
    buf_init(&w->path, 0);
    buf_init(&w->body, 0);
    return w;
}

struct merklewalk *merklewalk_new(const struct merklewalk_options *o)
{
    return walk_alloc(MODE_WALK, o);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct merklewalk *merklewalk_recheck_new(unsigned depth,
                                          const uint64_t *leaves, size_t n,
                                          const struct merklewalk_options *o)
{
    if (depth < 1 || depth > MERKLE_MAX_DEPTH)
        return NULL;
    uint64_t size = 1ULL << (4 * depth);
    for (size_t i = 0; i < n; i++)
        if (leaves[i] >= size)
            return NULL;
    struct merklewalk *w = walk_alloc(MODE_RECHECK, o);
    w->depth = depth;
    w->leaves = xcalloc(n ? n : 1, sizeof(*w->leaves));
    if (n)
        memcpy(w->leaves, leaves, n * sizeof(*leaves));
    qsort(w->leaves, n, sizeof(*w->leaves), cmp_u64);
    for (size_t i = 0; i < n; i++)
        if (w->nleaves == 0 || w->leaves[w->nleaves - 1] != w->leaves[i])
            w->leaves[w->nleaves++] = w->leaves[i];
    if (w->nleaves == 0)
        w->state = ST_DONE;
    return w;
}

void merklewalk_free(struct merklewalk *w)
{
    if (!w)
        return;
    for (size_t l = 0; l < ARRAY_LEN(w->pend); l++)
        free(w->pend[l].v);
    free(w->hashes[0]);
    free(w->hashes[1]);
    buf_free(&w->path);
    buf_free(&w->body);
    free(w->leaves);
    free(w->diff);
    free(w);
}

/* --- planning requests --------------------------------------------------- */

static void plan_root(struct merklewalk *w)
{
    w->rq = (struct inflight){.post = false, .level = 0, .count = 1};
    buf_puts(&w->path, ROOT_PATH);
}

/* plan_children: one POST for the next batch of the deepest level with
 * pending nodes (deepest first bounds every level's list). */
static void plan_children(struct merklewalk *w)
{
    unsigned l = w->depth - 1;
    while (l > 0 && ulist_pending(&w->pend[l]) == 0)
        l--;
    const struct ulist *p = &w->pend[l];
    size_t n = ulist_pending(p);
    if (n > w->opt.max_batch)
        n = w->opt.max_batch;
    w->rq = (struct inflight){.post = true, .level = l + 1, .count = n};
    buf_puts(&w->path, CHILDREN_PATH);
    buf_printf(&w->body, "{\"level\":%u,\"parents\":[", l);
    for (size_t i = 0; i < n; i++)
        buf_printf(&w->body, "%s%" PRIu64, i ? "," : "", p->v[p->head + i]);
    buf_puts(&w->body, "]}");
}

/* plan_range: one GET for the leaves from the cursor on that are near
 * enough to share it. */
static void plan_range(struct merklewalk *w)
{
    const uint64_t *lv = w->leaves;
    size_t i = w->cursor, j = i + 1;
    uint64_t first = lv[i];
    while (j < w->nleaves && lv[j] - first < w->opt.max_batch &&
           lv[j] - lv[j - 1] - 1 <= w->opt.recheck_gap)
        j++;
    w->rq = (struct inflight){.post = false,
                              .level = w->depth,
                              .offset = first,
                              .count = (size_t)(lv[j - 1] - first + 1),
                              .leaves = j - i};
    buf_printf(&w->path,
               "/v1/admin/merkle?level=%u&offset=%" PRIu64 "&count=%zu",
               w->depth, first, w->rq.count);
}

/* plan_parents: one POST of the children of the leaves' parents, from
 * the cursor on, up to max_batch parents (the leaves are sorted, so a
 * parent's leaves are adjacent). */
static void plan_parents(struct merklewalk *w)
{
    const uint64_t *lv = w->leaves;
    size_t i = w->cursor, parents = 0;
    struct ulist *pl = &w->pend[w->depth - 1]; /* read_children's parents */
    pl->head = pl->len = 0;
    buf_printf(&w->body, "{\"level\":%u,\"parents\":[", w->depth - 1);
    for (; i < w->nleaves; i++) {
        uint64_t parent = lv[i] / FANOUT;
        if (i > w->cursor && lv[i - 1] / FANOUT == parent)
            continue;
        if (parents == w->opt.max_batch)
            break;
        buf_printf(&w->body, "%s%" PRIu64, parents ? "," : "", parent);
        ulist_push(pl, parent);
        parents++;
    }
    buf_puts(&w->body, "]}");
    buf_puts(&w->path, CHILDREN_PATH);
    w->rq = (struct inflight){.post = true,
                              .level = w->depth,
                              .count = parents,
                              .leaves = i - w->cursor};
}

int merklewalk_next(struct merklewalk *w, struct merklewalk_request *rq)
{
    memset(rq, 0, sizeof(*rq));
    if (w->state == ST_FAILED)
        return -w->err;
    if (w->state == ST_WAIT)
        return -MERKLEWALK_EUSAGE;
    if (w->state == ST_DONE)
        return 0;
    buf_reset(&w->path);
    buf_reset(&w->body);
    if (w->mode == MODE_RECHECK && w->opt.recheck_parents)
        plan_parents(w);
    else if (w->mode == MODE_RECHECK)
        plan_range(w);
    else if (w->depth == 0)
        plan_root(w);
    else
        plan_children(w);
    w->state = ST_WAIT;
    w->st.requests++;
    rq->post = w->rq.post;
    rq->path = w->path.data;
    rq->body = w->rq.post ? w->body.data : NULL;
    return 1;
}

/* --- reading answers ----------------------------------------------------- */

/* get_whole: the whole non-negative number field name of obj. */
static int get_whole(struct merklewalk *w, enum merklewalk_side side,
                     const cJSON *obj, const char *name, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v)
        return fail(w, MERKLEWALK_EFIELD, side_name(side),
                    "answer lacks \"%s\"", name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) ||
        v->valuedouble > MAX_JSON_NUMBER ||
        floor(v->valuedouble) != v->valuedouble)
        return fail(w, MERKLEWALK_EFIELD, side_name(side),
                    "\"%s\" is not a whole number", name);
    *out = (uint64_t)v->valuedouble;
    return 0;
}

/* check_depth: a root answer's depth must be 1..6 (kept per side until
 * both are in); any other answer's must be the walk's. */
static int check_depth(struct merklewalk *w, enum merklewalk_side side,
                       uint64_t depth)
{
    if (w->depth == 0 && (depth < 1 || depth > MERKLE_MAX_DEPTH))
        return fail(w, MERKLEWALK_ESHAPE, side_name(side),
                    "depth %" PRIu64 " is outside 1..%d", depth,
                    MERKLE_MAX_DEPTH);
    if (w->depth == 0) {
        w->root_depth[side] = (unsigned)depth;
        return 0;
    }
    if (depth != w->depth)
        return fail(w, MERKLEWALK_ESHAPE, side_name(side),
                    "depth %" PRIu64 ", want %u (the tree changed shape)",
                    depth, w->depth);
    return 0;
}

/* check_head: fanout, depth, level and (GET) offset of an answer. */
static int check_head(struct merklewalk *w, enum merklewalk_side side,
                      const cJSON *j)
{
    const char *who = side_name(side);
    uint64_t fanout, depth, level, offset = 0;
    if (get_whole(w, side, j, "fanout", &fanout) < 0 ||
        get_whole(w, side, j, "depth", &depth) < 0 ||
        get_whole(w, side, j, "level", &level) < 0 ||
        (!w->rq.post && get_whole(w, side, j, "offset", &offset) < 0))
        return -w->err;
    if (fanout != FANOUT)
        return fail(w, MERKLEWALK_ESHAPE, who, "fanout %" PRIu64 ", want %d",
                    fanout, FANOUT);
    if (check_depth(w, side, depth) < 0)
        return -w->err;
    if (level != w->rq.level)
        return fail(w, MERKLEWALK_ESHAPE, who,
                    "level %" PRIu64 " in the answer, asked for %u", level,
                    w->rq.level);
    if (offset != w->rq.offset)
        return fail(w, MERKLEWALK_ESHAPE, who,
                    "offset %" PRIu64 " in the answer, asked for %" PRIu64,
                    offset, w->rq.offset);
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* parse_hash: v as a string of exactly 16 hex digits. Returns 0 or -1. */
static int parse_hash(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsString(v) || !v->valuestring)
        return -1;
    const char *s = v->valuestring;
    uint64_t x = 0;
    for (int i = 0; i < HEX_DIGITS; i++) {
        int d = hex_value(s[i]);
        if (d < 0)
            return -1;
        x = x << 4 | (uint64_t)d;
    }
    if (s[HEX_DIGITS] != '\0')
        return -1;
    *out = x;
    return 0;
}

/* get_list: the array field name of obj with exactly want entries. */
static int get_list(struct merklewalk *w, enum merklewalk_side side,
                    const cJSON *obj, const char *name, size_t want,
                    const cJSON **out)
{
    const char *who = side_name(side);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!a)
        return fail(w, MERKLEWALK_EFIELD, who, "answer lacks \"%s\"", name);
    if (!cJSON_IsArray(a))
        return fail(w, MERKLEWALK_EFIELD, who, "\"%s\" is not a list", name);
    size_t n = (size_t)cJSON_GetArraySize(a);
    if (n != want)
        return fail(w, MERKLEWALK_ECOUNT, who,
                    "%s answer has %zu %s, asked for %zu",
                    w->rq.post ? "children" : "merkle", n,
                    w->rq.post ? "lists" : "hashes", want);
    *out = a;
    return 0;
}

/* take_hashes: sizes side's hash array for n hashes. */
static uint64_t *take_hashes(struct merklewalk *w, enum merklewalk_side side,
                             size_t n)
{
    if (n > w->hashes_cap) {
        for (int s = 0; s < 2; s++)
            w->hashes[s] = xrealloc(w->hashes[s], n * sizeof(uint64_t));
        w->hashes_cap = n;
    }
    return w->hashes[side];
}

/* read_hashes: the "hashes" of a GET answer. */
static int read_hashes(struct merklewalk *w, enum merklewalk_side side,
                       const cJSON *j)
{
    const cJSON *list, *v;
    if (get_list(w, side, j, "hashes", w->rq.count, &list) < 0)
        return -w->err;
    uint64_t *h = take_hashes(w, side, w->rq.count);
    size_t i = 0;
    cJSON_ArrayForEach(v, list)
    {
        if (parse_hash(v, &h[i]) < 0)
            return fail(w, MERKLEWALK_EHEX, side_name(side),
                        "hash %zu is not 16 hex digits", i);
        i++;
    }
    return 0;
}

/* read_kids: the 16 children of parent into h. */
static int read_kids(struct merklewalk *w, enum merklewalk_side side,
                     const cJSON *kids, uint64_t parent, uint64_t *h)
{
    const char *who = side_name(side);
    if (!cJSON_IsArray(kids))
        return fail(w, MERKLEWALK_EFIELD, who,
                    "children of parent %" PRIu64 " are not a list", parent);
    int n = cJSON_GetArraySize(kids);
    if (n != FANOUT)
        return fail(w, MERKLEWALK_ECOUNT, who,
                    "children answer has %d hashes for parent %" PRIu64, n,
                    parent);
    const cJSON *v;
    int k = 0;
    cJSON_ArrayForEach(v, kids)
    {
        if (parse_hash(v, &h[k]) < 0)
            return fail(w, MERKLEWALK_EHEX, who,
                        "hash %d of parent %" PRIu64 " is not 16 hex digits", k,
                        parent);
        k++;
    }
    return 0;
}

/* read_children: the "children" of a POST answer, one list per parent. */
static int read_children(struct merklewalk *w, enum merklewalk_side side,
                         const cJSON *j)
{
    const cJSON *list, *kids;
    if (get_list(w, side, j, "children", w->rq.count, &list) < 0)
        return -w->err;
    const struct ulist *p = &w->pend[w->rq.level - 1];
    uint64_t *h = take_hashes(w, side, w->rq.count * FANOUT);
    size_t i = 0;
    cJSON_ArrayForEach(kids, list)
    {
        if (read_kids(w, side, kids, p->v[p->head + i], &h[i * FANOUT]) < 0)
            return -w->err;
        i++;
    }
    return 0;
}

/* only_space: whether s[0..n) is JSON whitespace (or NULs). */
static bool only_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r\n", s[i]))
            return false;
    return true;
}

/* parse_answer: decodes side's answer into w->hashes[side]. */
static int parse_answer(struct merklewalk *w, enum merklewalk_side side,
                        const char *body, size_t len)
{
    const char *end = NULL;
    const char *text = body ? body : "";
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    int rc = 0;
    if (!j || !end || !only_space(end, len - (size_t)(end - text)))
        rc = fail(w, MERKLEWALK_EJSON, side_name(side), "answer is not JSON");
    else if (!cJSON_IsObject(j))
        rc = fail(w, MERKLEWALK_EJSON, side_name(side),
                  "answer is not a JSON object");
    if (rc == 0)
        rc = check_head(w, side, j);
    if (rc == 0)
        rc = w->rq.post ? read_children(w, side, j) : read_hashes(w, side, j);
    cJSON_Delete(j);
    return rc;
}

/* --- comparing ----------------------------------------------------------- */

static int compare_roots(struct merklewalk *w)
{
    if (w->root_depth[0] != w->root_depth[1])
        return fail(w, MERKLEWALK_ESHAPE, NULL,
                    "depth differs between the nodes: primary %u, replica %u",
                    w->root_depth[0], w->root_depth[1]);
    w->depth = w->root_depth[0];
    w->st.compared++;
    if (w->hashes[0][0] != w->hashes[1][0])
        ulist_push(&w->pend[0], 0);
    return 0;
}

static void compare_children(struct merklewalk *w)
{
    struct ulist *p = &w->pend[w->rq.level - 1];
    const uint64_t *a = w->hashes[0], *b = w->hashes[1];
    for (size_t i = 0; i < w->rq.count; i++) {
        uint64_t parent = p->v[p->head + i];
        for (unsigned k = 0; k < FANOUT; k++) {
            if (a[i * FANOUT + k] == b[i * FANOUT + k])
                continue;
            uint64_t child = parent * FANOUT + k;
            if (w->rq.level == w->depth)
                add_leaf(w, child);
            else
                ulist_push(&w->pend[w->rq.level], child);
        }
    }
    w->st.compared += w->rq.count * FANOUT;
    p->head += w->rq.count;
    if (p->head == p->len)
        p->head = p->len = 0;
}

/* compare_parents: the answer has each parent's 16 children; only the
 * rechecked leaves count. */
static void compare_parents(struct merklewalk *w)
{
    size_t p = 0;
    for (size_t i = w->cursor; i < w->cursor + w->rq.leaves; i++) {
        if (i > w->cursor && w->leaves[i] / FANOUT != w->leaves[i - 1] / FANOUT)
            p++;
        size_t at = p * FANOUT + (size_t)(w->leaves[i] % FANOUT);
        if (w->hashes[0][at] != w->hashes[1][at])
            add_leaf(w, w->leaves[i]);
    }
    w->st.compared += w->rq.leaves;
    w->cursor += w->rq.leaves;
    w->pend[w->depth - 1].head = w->pend[w->depth - 1].len = 0;
}

static void compare_range(struct merklewalk *w)
{
    for (size_t i = w->cursor; i < w->cursor + w->rq.leaves; i++) {
        uint64_t at = w->leaves[i] - w->rq.offset;
        if (w->hashes[0][at] != w->hashes[1][at])
            add_leaf(w, w->leaves[i]);
    }
    w->st.compared += w->rq.leaves;
    w->cursor += w->rq.leaves;
}

static bool work_left(const struct merklewalk *w)
{
    if (w->mode == MODE_RECHECK)
        return w->cursor < w->nleaves;
    for (unsigned l = 0; l < w->depth; l++)
        if (ulist_pending(&w->pend[l]))
            return true;
    return false;
}

/* complete: both answers are in: compare them and plan on. */
static int complete(struct merklewalk *w)
{
    if (w->mode == MODE_RECHECK && w->rq.post)
        compare_parents(w);
    else if (w->mode == MODE_RECHECK)
        compare_range(w);
    else if (w->depth != 0)
        compare_children(w);
    else if (compare_roots(w) < 0)
        return -w->err;
    w->state = work_left(w) ? ST_READY : ST_DONE;
    return 1;
}

int merklewalk_feed(struct merklewalk *w, enum merklewalk_side side,
                    const char *body, size_t len)
{
    if (side != MERKLEWALK_PRIMARY && side != MERKLEWALK_REPLICA)
        return -MERKLEWALK_EUSAGE;
    if (!body)
        len = 0;
    if (side == MERKLEWALK_PRIMARY)
        w->st.bytes_primary += len;
    else
        w->st.bytes_replica += len;
    if (w->state == ST_FAILED)
        return -w->err;
    if (w->state != ST_WAIT || (w->rq.got & (1u << side)))
        return -MERKLEWALK_EUSAGE;
    if (parse_answer(w, side, body, len) < 0)
        return -w->err;
    w->rq.got |= 1u << side;
    return w->rq.got == BOTH_SIDES ? complete(w) : 0;
}

int merklewalk_fail(struct merklewalk *w, enum merklewalk_side side,
                    const char *why)
{
    if (w->state == ST_FAILED)
        return -w->err;
    if (w->state == ST_DONE)
        return 0;
    return fail(w, MERKLEWALK_EREQUEST, side_name(side), "%s",
                why ? why : "request failed");
}

/* --- results ------------------------------------------------------------- */

int merklewalk_result(const struct merklewalk *w, struct merklewalk_result *out)
{
    memset(out, 0, sizeof(*out));
    if (w->state == ST_FAILED)
        return -w->err;
    if (w->state != ST_DONE)
        return -MERKLEWALK_EUSAGE;
    out->depth = w->depth;
    out->buckets = 1ULL << (4 * w->depth);
    out->checked = w->mode == MODE_RECHECK ? w->nleaves : 0;
    out->diff_count = w->diff_count;
    out->diff = w->diff;
    out->listed = w->listed;
    return 0;
}

void merklewalk_stats(const struct merklewalk *w, struct merklewalk_stats *out)
{
    *out = w->st;
}

const char *merklewalk_error_message(const struct merklewalk *w)
{
    return w->state == ST_FAILED ? w->msg : "";
}

size_t merklewalk_answer_cap(const struct merklewalk_options *o)
{
    struct merklewalk_options opt;
    clamp_options(o, &opt);
    /* a hash prints as "0123456789abcdef", (19 bytes) */
    size_t children = 128 + (size_t)opt.max_batch * (FANOUT * 19 + 3);
    size_t get = 160 + (size_t)opt.max_batch * 19;
    return 2 * (children > get ? children : get) + 4096;
}

/* put_text: appends s at *pos of out (outlen bytes), truncating. */
static void put_text(char *out, size_t outlen, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n >= outlen)
        n = outlen - 1 - *pos;
    memcpy(out + *pos, s, n);
    *pos += n;
    out[*pos] = '\0';
}

size_t merklewalk_format_ranges(const uint64_t *leaves, size_t n, bool more,
                                char *out, size_t outlen)
{
    size_t pos = 0, i = 0;
    if (outlen == 0)
        return 0;
    out[0] = '\0';
    while (i < n) {
        size_t j = i;
        while (j + 1 < n && leaves[j + 1] == leaves[j] + 1)
            j++;
        char item[48];
        int len = snprintf(item, sizeof(item), "%s%" PRIu64, pos ? "," : "",
                           leaves[i]);
        if (j > i)
            snprintf(item + len, sizeof(item) - (size_t)len, "-%" PRIu64,
                     leaves[j]);
        bool last = j + 1 == n && !more;
        if (pos + strlen(item) + (last ? 0 : 4) >= outlen)
            break;
        put_text(out, outlen, &pos, item);
        i = j + 1;
    }
    if (i < n || more)
        put_text(out, outlen, &pos, pos ? ",..." : "...");
    return pos;
}
