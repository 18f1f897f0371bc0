/* merklewalk.h: one Merkle compare of a replica against its primary, as
 * a pure state machine (no I/O).
 *
 * The walk speaks the node API of SPEC section 6. It asks the caller for
 * one request at a time, to be sent unchanged to both nodes, and takes
 * the two answer bodies back as they arrive:
 *
 *     struct merklewalk *w = merklewalk_new(NULL);
 *     struct merklewalk_request rq;
 *     while (merklewalk_next(w, &rq) == 1) {
 *         send rq to both nodes (GET path, or POST path with body);
 *         merklewalk_feed(w, MERKLEWALK_PRIMARY, body, len);  any order,
 *         merklewalk_feed(w, MERKLEWALK_REPLICA, body, len);  one each
 *     }           (a failed transfer: merklewalk_fail() instead)
 *     merklewalk_result(w, &res) == 0: res has the differing leaves
 *
 * Full walk (merklewalk_new). First the roots, GET
 * /v1/admin/merkle?level=0&offset=0&count=1, whose "depth" fixes the
 * tree's shape for the rest of the walk. Then the children of the
 * differing nodes, POST /v1/admin/merkle/children, one request carrying
 * every differing node of a level (split at max_batch parents). Pending
 * nodes are kept per level and the deepest level with pending nodes goes
 * first, so a level never holds more than 16 * max_batch pending nodes
 * (memory grows with the differences, to at most 16 * max_batch * depth
 * indices however much differs), leaves are found in ascending order and
 * the count is always exact. When every level's differing nodes fit in
 * one batch (max_batch 4096 and at most 4096 differing nodes per level),
 * a compare takes at most depth + 1 requests per node, and exactly 1
 * when the roots agree.
 *
 * Recheck (merklewalk_recheck_new). Writes in flight when a compare
 * started also make leaves differ. The engine notes the primary's
 * position when it starts a walk and, once the replica has applied past
 * it, rechecks only the leaves the walk found: GET
 * /v1/admin/merkle?level=D&offset=O&count=C over ranges of those leaves.
 * A leaf joins the current range when at most recheck_gap unneeded
 * hashes lie between it and the range (about one request's overhead in
 * bytes) and the range stays within max_batch hashes; with recheck_gap
 * = max_batch the ranges are the fewest possible. The result lists the
 * leaves that still differ.
 *
 * Every answer is validated strictly (JSON object; fanout 16; depth as
 * the roots said, equal on both nodes; level, offset and the number of
 * hashes as asked; every hash 16 hex digits). The first bad answer ends
 * the compare with an error code and a message naming the node ("replica:
 * children answer has 15 hashes for parent 3"); a failed compare never
 * yields a result. Bytes and requests are counted whatever the outcome. */
#ifndef REPLGUARD_MERKLEWALK_H
#define REPLGUARD_MERKLEWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The node API's limit on parents per children request and hashes per
 * GET. */
#define MERKLEWALK_MAX_BATCH 4096

struct merklewalk;

/* Error codes, returned negated. */
enum merklewalk_error {
    MERKLEWALK_OK = 0,
    MERKLEWALK_EJSON,    /* not JSON, or not a JSON object */
    MERKLEWALK_EFIELD,   /* a field missing or of the wrong type */
    MERKLEWALK_ESHAPE,   /* fanout, depth, level or offset not as expected */
    MERKLEWALK_ECOUNT,   /* the wrong number of hashes or child lists */
    MERKLEWALK_EHEX,     /* a hash that is not 16 hex digits */
    MERKLEWALK_EREQUEST, /* the caller reported a failed request */
    MERKLEWALK_EUSAGE,   /* a call out of order (the walk is unchanged) */
};

/* The two ends of a compare. */
enum merklewalk_side {
    MERKLEWALK_PRIMARY,
    MERKLEWALK_REPLICA,
};

struct merklewalk_options {
    unsigned max_batch;   /* parents per POST, hashes per GET: 1..4096;
                             default 4096 */
    size_t max_listed;    /* differing leaves kept in the result list
                             (the count stays exact); default 4096 */
    unsigned recheck_gap; /* see above; default 64 */
    bool recheck_parents; /* recheck with POST children of the leaves'
                             parents instead: one request per 4096
                             parents, 16 hashes each; default false */
};

/* One request for both nodes. The strings belong to the walk and stay
 * valid until the next call that changes it (feed, fail, next, free). */
struct merklewalk_request {
    bool post;        /* POST body (JSON), else GET */
    const char *path; /* with the query string, e.g. "/v1/admin/merkle?..." */
    const char *body; /* the POST body; NULL for a GET */
};

/* The outcome of a finished compare. diff points into the walk. */
struct merklewalk_result {
    unsigned depth;       /* the trees' depth */
    uint64_t buckets;     /* leaves per tree: 16^depth */
    uint64_t checked;     /* recheck: distinct leaves rechecked; walk: 0 */
    uint64_t diff_count;  /* differing leaves, exact */
    const uint64_t *diff; /* the first `listed` of them, ascending */
    size_t listed;        /* min(diff_count, max_listed) */
};

/* Counters, valid at any time, also after an error. */
struct merklewalk_stats {
    uint64_t requests;      /* request pairs handed out = requests per node */
    uint64_t bytes_primary; /* answer bytes fed per node */
    uint64_t bytes_replica;
    uint64_t compared; /* hash pairs compared */
};

/* merklewalk_options_default: fills o with the defaults above. */
void merklewalk_options_default(struct merklewalk_options *o);

/* merklewalk_new: a full compare, with options o (copied; NULL for the
 * defaults; out-of-range values are clamped: max_batch to 1..4096,
 * max_listed to at least 1). Free with merklewalk_free(). Never NULL. */
struct merklewalk *merklewalk_new(const struct merklewalk_options *o);

/* merklewalk_recheck_new: a recheck of the n leaves (any order,
 * duplicates allowed; copied) of trees of the given depth, with options
 * o as for merklewalk_new(). Returns NULL when depth is outside 1..6 or
 * a leaf is outside 0..16^depth-1. With n == 0 the walk is done at once
 * with nothing differing. Free with merklewalk_free(). */
struct merklewalk *merklewalk_recheck_new(unsigned depth,
                                          const uint64_t *leaves, size_t n,
                                          const struct merklewalk_options *o);

/* merklewalk_free: releases w; NULL is a no-op. */
void merklewalk_free(struct merklewalk *w);

/* merklewalk_next: the next request to send to both nodes, in *rq.
 * Returns 1 with *rq filled, 0 when the compare is done (read the
 * result), or a negated merklewalk_error: the walk's error when it
 * failed, -MERKLEWALK_EUSAGE when the answers to the previous request
 * are still missing. */
int merklewalk_next(struct merklewalk *w, struct merklewalk_request *rq);

/* merklewalk_feed: the answer body (len bytes, need not be terminated;
 * not kept) of `side` to the request in flight. Returns 0 while the
 * other node's answer is still missing, 1 once both are in (call
 * merklewalk_next()), or a negated merklewalk_error: a bad answer (the
 * compare fails: see merklewalk_error_message()), the walk's earlier
 * error, or -MERKLEWALK_EUSAGE for an answer nobody asked for (the walk
 * is unchanged). len bytes are counted in any case. */
int merklewalk_feed(struct merklewalk *w, enum merklewalk_side side,
                    const char *body, size_t len);

/* merklewalk_fail: ends the compare because the request to `side`
 * failed (timeout, HTTP status, ...); the message becomes "<side>:
 * why". Returns -MERKLEWALK_EREQUEST, or the earlier error of a walk
 * that had already failed (kept); a finished walk is not changed and
 * returns 0. */
int merklewalk_fail(struct merklewalk *w, enum merklewalk_side side,
                    const char *why);

/* merklewalk_result: fills *out once the compare is done; out->diff
 * points into w (valid until merklewalk_free()). Returns 0, the negated
 * error of a failed compare, or -MERKLEWALK_EUSAGE while it runs (*out
 * is then zeroed). */
int merklewalk_result(const struct merklewalk *w,
                      struct merklewalk_result *out);

/* merklewalk_stats: copies the counters into *out. */
void merklewalk_stats(const struct merklewalk *w, struct merklewalk_stats *out);

/* merklewalk_error_message: why the compare failed ("replica: fanout 8,
 * want 16"), or "" while it has not. Owned by w. */
const char *merklewalk_error_message(const struct merklewalk *w);

/* merklewalk_answer_cap: an upper bound on the size of a valid answer
 * under options o (NULL: the defaults), printed compactly as the node
 * API does, with room to spare for whitespace: what a poller slot for
 * merkle answers needs (about 2.5 MB for max_batch 4096). */
size_t merklewalk_answer_cap(const struct merklewalk_options *o);

/* merklewalk_format_ranges: writes the n ascending leaves as ranges,
 * "12-15,400,9000-9001", into out (outlen bytes, always terminated when
 * outlen > 0). When they do not all fit, or more is true (the list was
 * capped), the text ends in ",..." (or is "..." alone). Returns the
 * length written. */
size_t merklewalk_format_ranges(const uint64_t *leaves, size_t n, bool more,
                                char *out, size_t outlen);

#endif
