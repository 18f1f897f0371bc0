/* test_merklewalk.c: the Merkle compare state machine, driven against
 * the simulator's own request handler (simapi_handle), so the test covers
 * the real wire format: found sets against merkle_diff(), requests and
 * bytes per compare, strict validation of bad answers, and the recheck of
 * leaves that writes in flight made differ. */
#include <check.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/merkle.h"
#include "profiles/stemedb/merklewalk.h"
#include "sim/sim.h"
#include "sim/simapi.h"
#include "walk_server.h"
#include "lib/util.h"

#define PRIMARY MERKLEWALK_PRIMARY
#define REPLICA MERKLEWALK_REPLICA
#define LISTED  4096

static struct sim *sim_pair(unsigned depth)
{
    struct sim_options o;
    sim_options_default(&o);
    o.nodes = 2;
    o.merkle_depth = depth;
    struct manual_clock mc = {100, 1.7e9};
    struct rg_clock clock = clock_manual(&mc);
    char err[128];
    struct sim *s = sim_new(&o, &clock, err, sizeof(err));
    ck_assert_msg(s != NULL, "sim_new: %s", err);
    return s;
}

/* A change to one answer of a walk, for the bad-answer table. */
typedef void (*mutate_fn)(const void *ctx, unsigned step,
                          enum merklewalk_side side, struct buf *body);

/* A record of what a walk asked. */
struct trace {
    unsigned requests;
    uint64_t bytes[2];
    char paths[32][96];
};

/* drive: runs w against s until it is done or fails; returns the last
 * merklewalk_next() or merklewalk_feed() code. */
static int drive(struct sim *s, struct merklewalk *w, mutate_fn fn,
                 const void *ctx, struct trace *tr)
{
    struct merklewalk_request rq;
    for (unsigned step = 0;; step++) {
        int rc = merklewalk_next(w, &rq);
        if (rc != 1)
            return rc;
        if (tr && step < ARRAY_LEN(tr->paths))
            snprintf(tr->paths[step], sizeof(tr->paths[step]), "%s", rq.path);
        if (tr)
            tr->requests++;
        for (int side = 0; side < 2; side++) {
            struct simapi_reply r;
            simapi_reply_init(&r);
            walk_server_answer(s, (unsigned)side, &rq, &r);
            ck_assert_msg(r.status == 200, "%s: %u %s", rq.path, r.status,
                          r.body.data);
            if (fn)
                fn(ctx, step, (enum merklewalk_side)side, &r.body);
            if (tr)
                tr->bytes[side] += r.body.len;
            rc = merklewalk_feed(w, (enum merklewalk_side)side, r.body.data,
                                 r.body.len);
            simapi_reply_free(&r);
            if (rc < 0)
                return rc;
            ck_assert_int_eq(rc, side);
        }
    }
}

/* --- corruption patterns ------------------------------------------------ */

enum pattern { P_NONE, P_ONE, P_RANDOM100, P_SUBTREE, P_ALL };

static void corrupt_random(struct merkle *t, size_t want, uint64_t *rng)
{
    uint64_t leaves = merkle_level_size(t, merkle_depth(t));
    if (want > leaves / 2)
        want = (size_t)(leaves / 2);
    while (merkle_corrupt_count(t) < want)
        merkle_corrupt(t, rng_next(rng) % leaves, rng_next(rng) | 1);
}

/* corrupt: applies pattern p to t (a replica's tree). */
static void corrupt(struct merkle *t, enum pattern p, uint64_t seed)
{
    unsigned d = merkle_depth(t);
    uint64_t leaves = merkle_level_size(t, d), rng = seed;
    uint64_t span = d >= 2 ? merkle_level_size(t, d - 2) : leaves;
    uint64_t first = d >= 2 ? rng_next(&rng) % 256 * span : 0;
    switch (p) {
    case P_NONE:
        break;
    case P_ONE:
        merkle_corrupt(t, rng_next(&rng) % leaves, 1);
        break;
    case P_RANDOM100:
        corrupt_random(t, 100, &rng);
        break;
    case P_SUBTREE: /* every leaf under one node of level 2 */
        for (uint64_t i = 0; i < span; i++)
            merkle_corrupt(t, first + i, i + 1);
        break;
    case P_ALL:
        for (uint64_t i = 0; i < leaves; i++)
            merkle_corrupt(t, i, i + 1);
        break;
    }
}

/* all_bound: the requests per node of a compare where everything
 * differs: the root, then per level L < depth ceil(16^L / batch). */
static uint64_t all_bound(unsigned depth, unsigned batch)
{
    uint64_t n = 1;
    for (unsigned l = 0; l < depth; l++)
        n += ((1ULL << (4 * l)) + batch - 1) / batch;
    return n;
}

/* check_against_truth: w's result equals merkle_diff() of the pair. */
static void check_against_truth(struct sim *s, struct merklewalk *w)
{
    struct merklewalk_result res;
    ck_assert_int_eq(merklewalk_result(w, &res), 0);
    uint64_t *truth = xcalloc(LISTED, sizeof(uint64_t));
    long total = merkle_diff(sim_merkle(s, 0, 0), sim_merkle(s, 0, 1), truth,
                             LISTED, NULL);
    ck_assert_int_ge(total, 0);
    ck_assert_uint_eq(res.diff_count, (uint64_t)total);
    ck_assert_uint_eq(res.listed, (size_t)total < LISTED ? total : LISTED);
    for (size_t i = 0; i < res.listed; i++)
        ck_assert_msg(res.diff[i] == truth[i],
                      "leaf %zu: %" PRIu64 " != %" PRIu64, i, res.diff[i],
                      truth[i]);
    free(truth);
}

static const struct pat_case {
    unsigned depth;
    enum pattern p;
    unsigned batch;    /* 0: the default 4096 */
    uint64_t requests; /* the bound on requests per node */
    bool exact;        /* ... which is met exactly */
} pats[] = {
    {1, P_NONE, 0, 1, true},
    {1, P_ONE, 0, 2, true},
    {1, P_ALL, 0, 2, true},
    {2, P_NONE, 0, 1, true},
    {2, P_ONE, 0, 3, true},
    {2, P_RANDOM100, 0, 3, true},
    {2, P_SUBTREE, 0, 3, true},
    {2, P_ALL, 0, 3, true},
    {3, P_NONE, 0, 1, true},
    {3, P_ONE, 0, 4, true},
    {3, P_RANDOM100, 0, 4, true},
    {3, P_SUBTREE, 0, 4, true},
    {3, P_ALL, 0, 4, true},
    {3, P_ALL, 16, 19, true},
    {3, P_RANDOM100, 16, 10, false},
    {4, P_NONE, 0, 1, true},
    {4, P_ONE, 0, 5, true},
    {4, P_RANDOM100, 0, 5, true},
    {4, P_SUBTREE, 0, 5, true},
    {4, P_ALL, 0, 5, true},
    {4, P_ALL, 1000, 1 + 1 + 1 + 1 + 5, true},
    {5, P_NONE, 0, 1, true},
    {5, P_ONE, 0, 6, true},
    {5, P_RANDOM100, 0, 6, true},
    {5, P_SUBTREE, 0, 6, true},
    {5, P_ALL, 0, 21, true},
};

START_TEST(patterns)
{
    const struct pat_case *c = &pats[_i];
    struct sim *s = sim_pair(c->depth);
    corrupt(sim_merkle(s, 0, 1), c->p, 1000 + (uint64_t)_i);
    struct merklewalk_options o;
    merklewalk_options_default(&o);
    if (c->batch)
        o.max_batch = c->batch;
    if (c->p == P_ALL)
        ck_assert_uint_eq(c->requests, all_bound(c->depth, o.max_batch));
    struct merklewalk *w = merklewalk_new(&o);
    struct trace tr = {0};
    ck_assert_int_eq(drive(s, w, NULL, NULL, &tr), 0);
    check_against_truth(s, w);
    struct merklewalk_stats st;
    merklewalk_stats(w, &st);
    ck_assert_uint_eq(st.requests, tr.requests);
    ck_assert_uint_eq(st.bytes_primary, tr.bytes[0]);
    ck_assert_uint_eq(st.bytes_replica, tr.bytes[1]);
    if (c->exact)
        ck_assert_msg(st.requests == c->requests,
                      "case %d: %" PRIu64 " requests, want %" PRIu64, _i,
                      st.requests, c->requests);
    else
        ck_assert_uint_le(st.requests, c->requests);
    merklewalk_free(w);
    sim_free(s);
}
END_TEST

/* --- bytes against fetching every leaf ---------------------------------- */

/* full_fetch_bytes: the bytes of every leaf of both nodes, fetched with
 * GET merkle?level=D in pages of 4096 (produced, not estimated). */
static uint64_t full_fetch_bytes(struct sim *s, unsigned depth)
{
    uint64_t total = 0, leaves = 1ULL << (4 * depth);
    for (uint64_t off = 0; off < leaves; off += MERKLEWALK_MAX_BATCH) {
        char path[96];
        uint64_t n = leaves - off < 4096 ? leaves - off : 4096;
        snprintf(path, sizeof(path),
                 "/v1/admin/merkle?level=%u&offset=%" PRIu64 "&count=%" PRIu64,
                 depth, off, n);
        struct merklewalk_request rq = {false, path, NULL};
        for (unsigned node = 0; node < 2; node++) {
            struct simapi_reply r;
            simapi_reply_init(&r);
            walk_server_answer(s, node, &rq, &r);
            ck_assert_uint_eq(r.status, 200);
            total += r.body.len;
            simapi_reply_free(&r);
        }
    }
    return total;
}

static const struct {
    unsigned depth;
    double max_ratio;
} byte_cases[] = {{4, 0.05}, {5, 0.01}};

START_TEST(bytes_random100)
{
    unsigned depth = byte_cases[_i].depth;
    struct sim *s = sim_pair(depth);
    corrupt(sim_merkle(s, 0, 1), P_RANDOM100, 77);
    struct merklewalk *w = merklewalk_new(NULL);
    ck_assert_int_eq(drive(s, w, NULL, NULL, NULL), 0);
    check_against_truth(s, w);
    struct merklewalk_stats st;
    merklewalk_stats(w, &st);
    uint64_t walk = st.bytes_primary + st.bytes_replica;
    uint64_t full = full_fetch_bytes(s, depth);
    double ratio = (double)walk / (double)full;
    printf("merklewalk depth %u, 100 random buckets: %" PRIu64
           " requests/node, %" PRIu64 " bytes (both nodes) vs %" PRIu64
           " full fetch = %.3f%%\n",
           depth, st.requests, walk, full, 100 * ratio);
    ck_assert_msg(ratio < byte_cases[_i].max_ratio, "ratio %.4f", ratio);
    ck_assert_uint_le(st.requests, depth + 1);
    merklewalk_free(w);
    sim_free(s);
}
END_TEST

/* --- bad answers -------------------------------------------------------- */

enum op {
    OP_REPL,       /* replace the first `from` with `to` */
    OP_SET,        /* the whole body becomes `to` */
    OP_APPEND,     /* `to` after the body */
    OP_TRUNC,      /* cut in half */
    OP_DROP_HASH,  /* remove the first hash */
    OP_ADD_HASH,   /* repeat the first hash */
    OP_HEX_CHAR,   /* a 'g' in the first hash */
    OP_HEX_SHORT,  /* the first hash loses a digit */
    OP_HEX_LONG,   /* the first hash gains one */
    OP_HEX_NUM,    /* the first hash becomes a number */
    OP_LIST_EMPTY, /* the hashes or children list becomes [] */
    OP_ADD_LIST,   /* repeat the first children list */
    OP_LIST_STR,   /* the first children list becomes a string */
};

struct bad_case {
    bool recheck; /* a recheck of leaves 5..7 instead of a walk */
    unsigned step;
    enum merklewalk_side side;
    enum op op;
    const char *from, *to;
    enum merklewalk_error want;
    const char *msg; /* a substring of the error message */
};

/* splice: replaces n bytes at off of b with the string s. */
static void splice(struct buf *b, size_t off, size_t n, const char *s)
{
    struct buf out;
    buf_init(&out, 0);
    buf_append(&out, b->data, off);
    buf_puts(&out, s);
    buf_append(&out, b->data + off + n, b->len - off - n);
    buf_reset(b);
    buf_append(b, out.data, out.len);
    buf_free(&out);
}

/* mutate_hash: the ops on the first hash, at h (its opening quote). */
static void mutate_hash(struct buf *b, size_t h, enum op op)
{
    char first[20];
    snprintf(first, sizeof(first), "%.18s,", b->data + h);
    switch (op) {
    case OP_DROP_HASH:
        splice(b, h, b->data[h + 18] == ',' ? 19 : 18, "");
        break;
    case OP_ADD_HASH:
        splice(b, h, 0, first);
        break;
    case OP_HEX_CHAR:
        b->data[h + 5] = 'g';
        break;
    case OP_HEX_SHORT:
        splice(b, h + 1, 1, "");
        break;
    case OP_HEX_LONG:
        splice(b, h + 1, 0, "0");
        break;
    default: /* OP_HEX_NUM */
        splice(b, h, 18, "12345");
        break;
    }
}

/* mutate_list: OP_LIST_EMPTY, OP_ADD_LIST, OP_LIST_STR. */
static void mutate_list(struct buf *b, enum op op)
{
    const char *list = strstr(b->data, ":[");
    ck_assert_ptr_nonnull(list);
    size_t at = (size_t)(list - b->data) + 2;
    const char *close = strchr(b->data + at, ']');
    size_t n = (size_t)(close - (b->data + at)) + 1;
    if (op == OP_LIST_EMPTY) {
        splice(b, at, b->len - at, "]}");
    } else if (op == OP_LIST_STR) {
        splice(b, at, n, "\"x\"");
    } else {
        char *copy = xstrndup(b->data + at, n);
        splice(b, at, 0, ",");
        splice(b, at, 0, copy);
        free(copy);
    }
}

static void mutate(const void *ctx, unsigned step, enum merklewalk_side side,
                   struct buf *b)
{
    const struct bad_case *c = ctx;
    if (step != c->step || side != c->side)
        return;
    const char *at = c->from ? strstr(b->data, c->from) : NULL;
    const char *hash = strstr(b->data, "[\"");
    switch (c->op) {
    case OP_REPL:
        ck_assert_msg(at != NULL, "no %s in %s", c->from, b->data);
        splice(b, (size_t)(at - b->data), strlen(c->from), c->to);
        break;
    case OP_SET:
        buf_reset(b);
        buf_puts(b, c->to);
        break;
    case OP_APPEND:
        buf_puts(b, c->to);
        break;
    case OP_TRUNC:
        b->len /= 2;
        b->data[b->len] = '\0';
        break;
    case OP_LIST_EMPTY:
    case OP_ADD_LIST:
    case OP_LIST_STR:
        mutate_list(b, c->op);
        break;
    default:
        ck_assert_ptr_nonnull(hash);
        mutate_hash(b, (size_t)(hash - b->data) + 1, c->op);
        break;
    }
}

#define R(step, from, to, want, msg)                                           \
    {                                                                          \
        false, step, REPLICA, OP_REPL, from, to, MERKLEWALK_##want, msg        \
    }
#define OPR(step, op, want, msg)                                               \
    {                                                                          \
        false, step, REPLICA, op, NULL, NULL, MERKLEWALK_##want, msg           \
    }
#define SET(step, to, want, msg)                                               \
    {                                                                          \
        false, step, REPLICA, OP_SET, NULL, to, MERKLEWALK_##want, msg         \
    }

/* The walk under test: depth 2, leaf 55 corrupt on the replica: step 0
 * the roots, step 1 the children of the root (level 1), step 2 the
 * children of node 3 of level 1 (the leaves). */
static const struct bad_case bads[] = {
    R(0, "\"fanout\":16", "\"fanout\":8", ESHAPE, "replica: fanout 8, want 16"),
    R(0, "\"depth\":2", "\"depth\":3", ESHAPE,
      "depth differs between the nodes: primary 2, replica 3"),
    R(0, "\"depth\":2", "\"depth\":7", ESHAPE, "replica: depth 7 is outside"),
    R(0, "\"depth\":2", "\"depth\":0", ESHAPE, "replica: depth 0 is outside"),
    R(0, "\"level\":0", "\"level\":1", ESHAPE, "level 1 in the answer"),
    R(0, "\"offset\":0", "\"offset\":3", ESHAPE, "offset 3 in the answer"),
    OPR(0, OP_LIST_EMPTY, ECOUNT, "merkle answer has 0 hashes, asked for 1"),
    OPR(0, OP_ADD_HASH, ECOUNT, "merkle answer has 2 hashes, asked for 1"),
    OPR(0, OP_HEX_CHAR, EHEX, "replica: hash 0 is not 16 hex digits"),
    OPR(0, OP_HEX_SHORT, EHEX, "hash 0 is not 16 hex digits"),
    OPR(0, OP_HEX_LONG, EHEX, "hash 0 is not 16 hex digits"),
    OPR(0, OP_HEX_NUM, EHEX, "hash 0 is not 16 hex digits"),
    SET(0, "<html>oops</html>", EJSON, "replica: answer is not JSON"),
    SET(0, "", EJSON, "answer is not JSON"),
    SET(0, "[1,2]", EJSON, "answer is not a JSON object"),
    OPR(0, OP_TRUNC, EJSON, "answer is not JSON"),
    {false, 0, REPLICA, OP_APPEND, NULL, "x", MERKLEWALK_EJSON, "not JSON"},
    R(0, "\"fanout\":16,", "", EFIELD, "answer lacks \"fanout\""),
    R(0, "\"depth\":2,", "", EFIELD, "answer lacks \"depth\""),
    R(0, "\"level\":0,", "", EFIELD, "answer lacks \"level\""),
    R(0, "\"offset\":0,", "", EFIELD, "answer lacks \"offset\""),
    R(0, "\"hashes\"", "\"hashez\"", EFIELD, "answer lacks \"hashes\""),
    R(0, "\"fanout\":16", "\"fanout\":\"16\"", EFIELD, "not a whole number"),
    R(0, "\"depth\":2", "\"depth\":2.5", EFIELD, "\"depth\" is not a whole"),
    R(0, "\"level\":0", "\"level\":-1", EFIELD, "\"level\" is not a whole"),
    R(0, "\"hashes\":[", "\"hashes\":\"x\",\"h\":[", EFIELD,
      "\"hashes\" is not a list"),
    {false, 0, PRIMARY, OP_REPL, "\"fanout\":16", "\"fanout\":8",
     MERKLEWALK_ESHAPE, "primary: fanout 8"},
    R(1, "\"fanout\":16", "\"fanout\":8", ESHAPE, "replica: fanout 8"),
    R(1, "\"depth\":2", "\"depth\":3", ESHAPE,
      "replica: depth 3, want 2 (the tree changed shape)"),
    {false, 1, PRIMARY, OP_REPL, "\"depth\":2", "\"depth\":1",
     MERKLEWALK_ESHAPE, "primary: depth 1, want 2"},
    R(1, "\"level\":1", "\"level\":0", ESHAPE,
      "level 0 in the answer, asked for 1"),
    R(1, "\"level\":1", "\"level\":2", ESHAPE,
      "level 2 in the answer, asked for 1"),
    OPR(1, OP_DROP_HASH, ECOUNT,
        "replica: children answer has 15 hashes for parent 0"),
    OPR(1, OP_ADD_HASH, ECOUNT, "children answer has 17 hashes for parent 0"),
    OPR(1, OP_ADD_LIST, ECOUNT, "children answer has 2 lists, asked for 1"),
    OPR(1, OP_LIST_EMPTY, ECOUNT, "children answer has 0 lists, asked for 1"),
    OPR(1, OP_LIST_STR, EFIELD, "children of parent 0 are not a list"),
    OPR(1, OP_HEX_CHAR, EHEX, "hash 0 of parent 0 is not 16 hex digits"),
    OPR(1, OP_HEX_SHORT, EHEX, "hash 0 of parent 0 is not 16 hex digits"),
    OPR(1, OP_HEX_NUM, EHEX, "hash 0 of parent 0 is not 16 hex digits"),
    R(1, "\"children\"", "\"kids\"", EFIELD, "answer lacks \"children\""),
    R(1, "\"fanout\":16,", "", EFIELD, "answer lacks \"fanout\""),
    SET(1, "not json", EJSON, "answer is not JSON"),
    OPR(2, OP_DROP_HASH, ECOUNT,
        "replica: children answer has 15 hashes for parent 3"),
    R(2, "\"depth\":2", "\"depth\":3", ESHAPE, "depth 3, want 2"),
    {true, 0, REPLICA, OP_REPL, "\"offset\":5", "\"offset\":4",
     MERKLEWALK_ESHAPE, "offset 4 in the answer, asked for 5"},
    {true, 0, REPLICA, OP_DROP_HASH, NULL, NULL, MERKLEWALK_ECOUNT,
     "merkle answer has 2 hashes, asked for 3"},
    {true, 0, REPLICA, OP_REPL, "\"depth\":2", "\"depth\":3", MERKLEWALK_ESHAPE,
     "replica: depth 3, want 2"},
    {true, 0, PRIMARY, OP_REPL, "\"level\":2", "\"level\":1", MERKLEWALK_ESHAPE,
     "primary: level 1 in the answer, asked for 2"},
    {true, 0, REPLICA, OP_REPL, "\"offset\":5,", "", MERKLEWALK_EFIELD,
     "answer lacks \"offset\""},
    {true, 0, REPLICA, OP_HEX_CHAR, NULL, NULL, MERKLEWALK_EHEX,
     "hash 0 is not 16 hex digits"},
};

START_TEST(bad_answers)
{
    const struct bad_case *c = &bads[_i];
    struct sim *s = sim_pair(2);
    merkle_corrupt(sim_merkle(s, 0, 1), 55, 9);
    const uint64_t leaves[] = {5, 6, 7};
    struct merklewalk *w = c->recheck
                               ? merklewalk_recheck_new(2, leaves, 3, NULL)
                               : merklewalk_new(NULL);
    int rc = drive(s, w, mutate, c, NULL);
    const char *msg = merklewalk_error_message(w);
    ck_assert_msg(rc == -(int)c->want, "case %d: rc %d, want %d (%s)", _i, rc,
                  -(int)c->want, msg);
    ck_assert_msg(strstr(msg, c->msg) != NULL, "case %d: \"%s\" lacks \"%s\"",
                  _i, msg, c->msg);
    struct merklewalk_result res;
    ck_assert_int_eq(merklewalk_result(w, &res), rc);
    ck_assert_uint_eq(res.diff_count, 0);
    ck_assert_ptr_null(res.diff);
    struct merklewalk_request rq;
    ck_assert_int_eq(merklewalk_next(w, &rq), rc);
    ck_assert_int_eq(merklewalk_feed(w, PRIMARY, "{}", 2), rc);
    ck_assert_int_eq(merklewalk_fail(w, PRIMARY, "late"), rc);
    ck_assert_str_eq(merklewalk_error_message(w), msg);
    merklewalk_free(w);
    sim_free(s);
}
END_TEST

/* --- call order and caller-reported failures ---------------------------- */

START_TEST(usage)
{
    struct merklewalk *w = merklewalk_new(NULL);
    struct merklewalk_request rq;
    struct merklewalk_result res;
    ck_assert_int_eq(merklewalk_feed(w, PRIMARY, "{}", 2), -MERKLEWALK_EUSAGE);
    ck_assert_int_eq(merklewalk_result(w, &res), -MERKLEWALK_EUSAGE);
    ck_assert_int_eq(merklewalk_next(w, &rq), 1);
    ck_assert(!rq.post);
    ck_assert_str_eq(rq.path, "/v1/admin/merkle?level=0&offset=0&count=1");
    ck_assert_ptr_null(rq.body);
    ck_assert_int_eq(merklewalk_next(w, &rq), -MERKLEWALK_EUSAGE);
    const char *root = "{\"fanout\":16,\"depth\":3,\"level\":0,\"offset\":0,"
                       "\"hashes\":[\"00000000000000ff\"]}";
    ck_assert_int_eq(merklewalk_feed(w, REPLICA, root, strlen(root)), 0);
    ck_assert_int_eq(merklewalk_feed(w, REPLICA, root, strlen(root)),
                     -MERKLEWALK_EUSAGE);
    ck_assert_str_eq(merklewalk_error_message(w), "");
    ck_assert_int_eq(merklewalk_fail(w, PRIMARY, "timeout after 0.8s"),
                     -MERKLEWALK_EREQUEST);
    ck_assert_str_eq(merklewalk_error_message(w),
                     "primary: timeout after 0.8s");
    ck_assert_int_eq(merklewalk_result(w, &res), -MERKLEWALK_EREQUEST);
    struct merklewalk_stats st;
    merklewalk_stats(w, &st);
    ck_assert_uint_eq(st.requests, 1);
    ck_assert_uint_eq(st.bytes_replica, 2 * strlen(root));
    ck_assert_uint_eq(st.bytes_primary, 2);
    merklewalk_free(w);
    merklewalk_free(NULL);
    ck_assert_uint_ge(merklewalk_answer_cap(NULL), 2 * 4096 * 16 * 19);
}
END_TEST

/* equal roots, fed as NUL-terminated poller bodies would be (len counts
 * the text only) and with trailing whitespace. */
START_TEST(equal_roots_one_request)
{
    struct merklewalk *w = merklewalk_new(NULL);
    struct merklewalk_request rq;
    const char *root = "{\"fanout\":16,\"depth\":6,\"level\":0,\"offset\":0,"
                       "\"hashes\":[\"0123456789ABCDEF\"]}\r\n";
    ck_assert_int_eq(merklewalk_next(w, &rq), 1);
    ck_assert_int_eq(merklewalk_feed(w, REPLICA, root, strlen(root)), 0);
    ck_assert_int_eq(merklewalk_feed(w, PRIMARY, root, strlen(root) + 1), 1);
    ck_assert_int_eq(merklewalk_next(w, &rq), 0);
    struct merklewalk_result res;
    ck_assert_int_eq(merklewalk_result(w, &res), 0);
    ck_assert_uint_eq(res.depth, 6);
    ck_assert_uint_eq(res.buckets, 16777216);
    ck_assert_uint_eq(res.diff_count, 0);
    ck_assert_int_eq(merklewalk_fail(w, PRIMARY, "late"), 0);
    ck_assert_int_eq(merklewalk_result(w, &res), 0);
    merklewalk_free(w);
}
END_TEST

/* --- depth 6 without 300 MB of trees: a virtual pair ------------------- */

/* A pair of depth-6 trees defined by a few differing leaves: a node's
 * hash is a function of its place, and the replica's differs where a
 * differing leaf lies below. */
static const uint64_t virt_diff[] = {0, 123456, 9999999, 9999999 + 16,
                                     16777215};

static uint64_t virt_hash(unsigned side, unsigned level, uint64_t idx)
{
    uint64_t h = mix64(((uint64_t)level << 40) ^ idx);
    for (size_t i = 0; side && i < ARRAY_LEN(virt_diff); i++)
        if (virt_diff[i] >> (4 * (6 - level)) == idx)
            return h ^ 1;
    return h;
}

/* virt_answer: the simapi answer shapes, printed the same way. */
static char *virt_answer(unsigned side, const struct merklewalk_request *rq)
{
    struct buf b;
    buf_init(&b, 0);
    if (!rq->post) {
        buf_printf(&b,
                   "{\"fanout\":16,\"depth\":6,\"level\":0,\"offset\":0,"
                   "\"hashes\":[\"%016" PRIx64 "\"]}",
                   virt_hash(side, 0, 0));
        return buf_detach(&b);
    }
    cJSON *j = cJSON_Parse(rq->body);
    unsigned level = (unsigned)cJSON_GetObjectItem(j, "level")->valueint;
    buf_printf(&b, "{\"fanout\":16,\"depth\":6,\"level\":%u,\"children\":[",
               level + 1);
    const cJSON *p;
    int n = 0;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "parents"))
    {
        buf_puts(&b, n++ ? ",[" : "[");
        for (uint64_t k = 0; k < 16; k++)
            buf_printf(
                &b, "%s\"%016" PRIx64 "\"", k ? "," : "",
                virt_hash(side, level + 1, (uint64_t)p->valuedouble * 16 + k));
        buf_puts(&b, "]");
    }
    buf_puts(&b, "]}");
    cJSON_Delete(j);
    return buf_detach(&b);
}

START_TEST(depth6_virtual)
{
    struct merklewalk *w = merklewalk_new(NULL);
    struct merklewalk_request rq;
    for (;;) {
        int rc = merklewalk_next(w, &rq);
        if (rc == 0)
            break;
        ck_assert_int_eq(rc, 1);
        for (unsigned side = 0; side < 2; side++) {
            char *body = virt_answer(side, &rq);
            rc = merklewalk_feed(w, (enum merklewalk_side)side, body,
                                 strlen(body));
            free(body);
            ck_assert_int_ge(rc, 0);
        }
    }
    struct merklewalk_result res;
    ck_assert_int_eq(merklewalk_result(w, &res), 0);
    ck_assert_uint_eq(res.depth, 6);
    ck_assert_uint_eq(res.diff_count, ARRAY_LEN(virt_diff));
    for (size_t i = 0; i < ARRAY_LEN(virt_diff); i++)
        ck_assert_uint_eq(res.diff[i], virt_diff[i]);
    struct merklewalk_stats st;
    merklewalk_stats(w, &st);
    ck_assert_uint_eq(st.requests, 7);
    merklewalk_free(w);
}
END_TEST

/* --- the list cap ------------------------------------------------------- */

START_TEST(list_cap)
{
    struct sim *s = sim_pair(3);
    corrupt(sim_merkle(s, 0, 1), P_ALL, 1);
    struct merklewalk_options o;
    merklewalk_options_default(&o);
    o.max_listed = 10;
    struct merklewalk *w = merklewalk_new(&o);
    ck_assert_int_eq(drive(s, w, NULL, NULL, NULL), 0);
    struct merklewalk_result res;
    ck_assert_int_eq(merklewalk_result(w, &res), 0);
    ck_assert_uint_eq(res.diff_count, 4096);
    ck_assert_uint_eq(res.listed, 10);
    for (size_t i = 0; i < 10; i++)
        ck_assert_uint_eq(res.diff[i], i);
    char text[64];
    merklewalk_format_ranges(res.diff, res.listed, res.listed < res.diff_count,
                             text, sizeof(text));
    ck_assert_str_eq(text, "0-9,...");
    merklewalk_free(w);
    sim_free(s);
}
END_TEST

/* --- recheck ------------------------------------------------------------ */

/* inflight_keys: n keys whose leaves are distinct and not corrupt. */
static size_t inflight_keys(struct merkle *t, uint32_t *keys, size_t n)
{
    uint64_t bad[8];
    size_t nb = merkle_corrupt_list(t, bad, ARRAY_LEN(bad)), got = 0;
    uint64_t *used = xcalloc(n, sizeof(uint64_t));
    for (uint32_t i = 0; got < n && i < merkle_keys(t); i++) {
        uint32_t key = (uint32_t)((uint64_t)i * 7919 % merkle_keys(t));
        uint64_t leaf = merkle_leaf_of(t, key);
        bool clash = false;
        for (size_t k = 0; k < nb; k++)
            clash = clash || bad[k] == leaf;
        for (size_t k = 0; k < got; k++)
            clash = clash || used[k] == leaf;
        if (clash)
            continue;
        used[got] = leaf;
        keys[got++] = key;
    }
    free(used);
    return got;
}

START_TEST(recheck_inflight)
{
    struct sim *s = sim_pair(4);
    struct merkle *pri = sim_merkle(s, 0, 0), *rep = sim_merkle(s, 0, 1);
    uint64_t rng = 5;
    corrupt_random(rep, 5, &rng);
    uint64_t bad[5];
    ck_assert_uint_eq(merkle_corrupt_list(rep, bad, 5), 5);
    uint32_t keys[50];
    ck_assert_uint_eq(inflight_keys(rep, keys, 50), 50);
    for (size_t i = 0; i < 50; i++) /* writes the replica has not applied */
        merkle_put(pri, keys[i], 1000 + i);

    struct merklewalk *w = merklewalk_new(NULL);
    ck_assert_int_eq(drive(s, w, NULL, NULL, NULL), 0);
    struct merklewalk_result res;
    ck_assert_int_eq(merklewalk_result(w, &res), 0);
    ck_assert_uint_eq(res.diff_count, 55);

    for (size_t i = 0; i < 50; i++) /* the replica catches up */
        merkle_put(rep, keys[i], 1000 + i);
    /* by ranges (_i == 0) and by the leaves' parents (_i == 1) */
    struct merklewalk_options o;
    merklewalk_options_default(&o);
    o.recheck_parents = _i == 1;
    struct merklewalk *r = merklewalk_recheck_new(4, res.diff, res.listed, &o);
    struct trace tr = {0};
    ck_assert_int_eq(drive(s, r, NULL, NULL, &tr), 0);
    struct merklewalk_result again;
    ck_assert_int_eq(merklewalk_result(r, &again), 0);
    ck_assert_uint_eq(again.checked, 55);
    ck_assert_uint_eq(again.diff_count, 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert_uint_eq(again.diff[i], bad[i]);
    if (o.recheck_parents)
        ck_assert_uint_eq(tr.requests, 1);
    printf("merklewalk recheck of 55 leaves at depth 4 by %s: %u "
           "requests/node, %" PRIu64 " bytes (both nodes)\n",
           o.recheck_parents ? "parents" : "ranges", tr.requests,
           tr.bytes[0] + tr.bytes[1]);
    merklewalk_free(r);
    merklewalk_free(w);
    sim_free(s);
}
END_TEST

static const struct {
    uint64_t leaves[6];
    size_t n;
    unsigned gap;
    const char *paths[3]; /* the query strings expected, in order */
} ranges[] = {
    {{7}, 1, 64, {"level=4&offset=7&count=1"}},
    {{1, 2, 3, 100}, 4, 4096, {"level=4&offset=1&count=100"}},
    {{1, 2, 3, 100},
     4,
     10,
     {"level=4&offset=1&count=3", "level=4&offset=100&count=1"}},
    {{100, 3, 1, 2, 3}, 5, 96, {"level=4&offset=1&count=100"}},
    {{100, 3, 1, 2, 3},
     5,
     95,
     {"level=4&offset=1&count=3", "level=4&offset=100&count=1"}},
    {{0, 4095}, 2, 4096, {"level=4&offset=0&count=4096"}},
    {{0, 4096},
     2,
     4096,
     {"level=4&offset=0&count=1", "level=4&offset=4096&count=1"}},
    {{65535, 0, 65534},
     3,
     0,
     {"level=4&offset=0&count=1", "level=4&offset=65534&count=2"}},
};

START_TEST(recheck_ranges)
{
    struct sim *s = sim_pair(4);
    struct merklewalk_options o;
    merklewalk_options_default(&o);
    o.recheck_gap = ranges[_i].gap;
    struct merklewalk *w =
        merklewalk_recheck_new(4, ranges[_i].leaves, ranges[_i].n, &o);
    struct trace tr = {0};
    ck_assert_int_eq(drive(s, w, NULL, NULL, &tr), 0);
    size_t want = 0;
    while (want < 3 && ranges[_i].paths[want])
        want++;
    ck_assert_uint_eq(tr.requests, want);
    for (size_t i = 0; i < want; i++) {
        char path[96];
        snprintf(path, sizeof(path), "/v1/admin/merkle?%s",
                 ranges[_i].paths[i]);
        ck_assert_str_eq(tr.paths[i], path);
    }
    struct merklewalk_result res;
    ck_assert_int_eq(merklewalk_result(w, &res), 0);
    ck_assert_uint_eq(res.diff_count, 0);
    merklewalk_free(w);
    sim_free(s);
}
END_TEST

START_TEST(recheck_arguments)
{
    const uint64_t ok[] = {3}, big[] = {256};
    ck_assert_ptr_null(merklewalk_recheck_new(0, ok, 1, NULL));
    ck_assert_ptr_null(merklewalk_recheck_new(7, ok, 1, NULL));
    ck_assert_ptr_null(merklewalk_recheck_new(2, big, 1, NULL));
    struct merklewalk *w = merklewalk_recheck_new(2, NULL, 0, NULL);
    struct merklewalk_request rq;
    ck_assert_int_eq(merklewalk_next(w, &rq), 0);
    struct merklewalk_result res;
    ck_assert_int_eq(merklewalk_result(w, &res), 0);
    ck_assert_uint_eq(res.checked, 0);
    ck_assert_uint_eq(res.buckets, 256);
    merklewalk_free(w);
}
END_TEST

/* --- formatting --------------------------------------------------------- */

static const struct {
    uint64_t leaves[8];
    size_t n;
    bool more;
    size_t outlen;
    const char *want;
} fmts[] = {
    {{0}, 0, false, 64, ""},
    {{12, 13, 14, 15, 400, 9000, 9001}, 7, false, 64, "12-15,400,9000-9001"},
    {{12, 13, 14, 15, 400, 9000, 9001}, 7, true, 64, "12-15,400,9000-9001,..."},
    {{5}, 1, true, 64, "5,..."},
    {{0}, 0, true, 64, "..."},
    {{1, 3, 5, 7, 9}, 5, false, 8, "1,3,..."},
    {{1, 2, 3}, 3, false, 4, "1-3"},
    {{1000000, 2000000}, 2, false, 8, "..."},
    {{1, 2}, 2, false, 2, "."},
};

START_TEST(format_ranges)
{
    char out[64];
    memset(out, 'x', sizeof(out));
    size_t n = merklewalk_format_ranges(fmts[_i].leaves, fmts[_i].n,
                                        fmts[_i].more, out, fmts[_i].outlen);
    ck_assert_str_eq(out, fmts[_i].want);
    ck_assert_uint_eq(n, strlen(fmts[_i].want));
    ck_assert_uint_eq(
        merklewalk_format_ranges(fmts[_i].leaves, 1, false, out, 0), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("merklewalk");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, patterns, 0, (int)ARRAY_LEN(pats));
    tcase_add_loop_test(tc, bytes_random100, 0, (int)ARRAY_LEN(byte_cases));
    tcase_add_loop_test(tc, bad_answers, 0, (int)ARRAY_LEN(bads));
    tcase_add_test(tc, usage);
    tcase_add_test(tc, equal_roots_one_request);
    tcase_add_test(tc, depth6_virtual);
    tcase_add_test(tc, list_cap);
    tcase_add_loop_test(tc, recheck_inflight, 0, 2);
    tcase_add_loop_test(tc, recheck_ranges, 0, (int)ARRAY_LEN(ranges));
    tcase_add_test(tc, recheck_arguments);
    tcase_add_loop_test(tc, format_ranges, 0, (int)ARRAY_LEN(fmts));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
