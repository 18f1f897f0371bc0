/* simapi.h: the request handlers of replguard-simnode.
 *
 * The node API of SPEC section 6 and the simulator's control plane
 * (/v1/sim/fault, section 7) as plain functions: one complete request
 * in, one reply out, the simulation changed as the request says. No
 * sockets and no clock: simhttp reads the request off the network,
 * applies the HTTP-level faults (hang, http_500, garbage, slow_body,
 * down) and sends what simapi_handle() returns.
 *
 * Every reply with a 4xx or 5xx status has the body {"error": "..."}.
 * An admin call with an X-Replguard-Fence token lower than the highest
 * its cluster saw is refused with 409 first (sim_fence_token).
 * An admin call is counted in stemedb_admin_requests_total as soon as
 * its path and method match, even when its input is then rejected. */
#ifndef REPLGUARD_SIMAPI_H
#define REPLGUARD_SIMAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

struct sim;

/* The largest request body accepted; a larger one is answered 413. */
#define SIMAPI_MAX_BODY (64 * 1024)

/* One complete request to a simulated node. Nothing is copied: every
 * pointer must stay valid during simapi_handle(). */
struct simapi_request {
    const char *method; /* "GET", "HEAD", "POST", "DELETE", ... */
    const char *path;   /* decoded, without the query string */
    /* arg: the value of query argument name, or NULL when absent. */
    const char *(*arg)(void *ctx, const char *name);
    void *arg_ctx;
    const char *body; /* may be NULL when body_len is 0 */
    size_t body_len;
    bool too_large;    /* the body went over SIMAPI_MAX_BODY (not kept) */
    const char *fence; /* the X-Replguard-Fence header, or NULL */
};

/* A reply. The body belongs to the reply; content_type and allow
 * point to static strings. */
struct simapi_reply {
    unsigned status;
    const char *content_type;
    const char *allow; /* the Allow header of a 405, else NULL */
    struct buf body;
    /* POST /v1/write waiting for its acknowledgement: the position to
     * wait for (0: answer now). The caller holds the answer until
     * sim_write_settled() or SIMAPI_WRITE_TIMEOUT, then asks
     * simapi_write_answer() for it. */
    uint64_t wait_position;
};

/* Seconds a client write waits for its acknowledgement before 503. */
#define SIMAPI_WRITE_TIMEOUT 5.0

/* simapi_write_answer: the answer to a write at pos on node ni, once
 * settled or timed out: 200 {"position": P} if acknowledged, else 503
 * {"error": ..., "reason": "timeout"|"blocked"|"not_primary",
 *  "position": P}. */
void simapi_write_answer(struct sim *s, unsigned ci, unsigned ni, uint64_t pos,
                         struct simapi_reply *out);

/* simapi_reply_init: an empty 200 reply; release with
 * simapi_reply_free(). */
void simapi_reply_init(struct simapi_reply *r);
/* simapi_reply_free: releases the body; r may be initialised again. */
void simapi_reply_free(struct simapi_reply *r);

/* simapi_handle: answers req as node ni of cluster ci (indices from 0,
 * in range), changing s as the request says, and writes the answer to
 * out (initialised by the caller, whose body it replaces). Never fails:
 * bad input becomes a 4xx reply and leaves s untouched. */
void simapi_handle(struct sim *s, unsigned ci, unsigned ni,
                   const struct simapi_request *req, struct simapi_reply *out);

/* simapi_control_path: whether path belongs to the simulator's control
 * plane (/v1/sim/...). HTTP-level faults other than down spare it, so
 * that a test can always reach a node to clear them. */
bool simapi_control_path(const char *path);

/* simapi_error: makes r a JSON error reply {"error": msg}. */
void simapi_error(struct simapi_reply *r, unsigned status, const char *msg);

/* simapi_garbage: makes r a 200 reply of a few KiB of random bytes
 * (with NULs and invalid UTF-8) drawn from *rng: the garbage fault's
 * /metrics. */
void simapi_garbage(struct simapi_reply *r, uint64_t *rng);

#endif
