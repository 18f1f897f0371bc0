/* fuzz_merkle.c: the Merkle compare (merklewalk.h) fed the input as the
 * nodes' answers.
 *
 * Input: a header, then answers separated by NUL bytes (JSON has none),
 * taken in pairs for the primary and the replica of each request the
 * walk asks for; an empty answer is a failed request.
 *   byte 0: bit 0 recheck instead of a full walk, bit 1 recheck with
 *           parents, bit 2 the replica answers first, bits 3-5 pick
 *           max_batch, bits 6-7 max_listed
 *   recheck: byte 1 the depth (also out of range), byte 2 the number
 *           of leaves (0..15), then 4 bytes per leaf (little-endian,
 *           taken modulo 16^depth + 1, so one may be out of range) */
#include "fuzz.h"
#include "profiles/stemedb/merklewalk.h"

#include <string.h>

static const unsigned batches[] = {4096, 1, 2, 3, 16, 17, 100, 5000};
static const size_t listed[] = {4096, 1, 2, 5};

/* next_answer: the next NUL-separated answer of the input, or false when
 * there is none left. */
static bool next_answer(const uint8_t **p, const uint8_t *end, const char **ans,
                        size_t *len)
{
    if (*p > end)
        return false;
    const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
    const uint8_t *stop = nul ? nul : end;
    *ans = (const char *)*p;
    *len = (size_t)(stop - *p);
    *p = stop + 1;
    return true;
}

static struct merklewalk *make_walk(const uint8_t **p, const uint8_t *end,
                                    const struct merklewalk_options *o,
                                    bool recheck)
{
    if (!recheck)
        return merklewalk_new(o);
    if (end - *p < 2)
        return NULL;
    unsigned depth = (*p)[0] % 8;
    size_t n = (*p)[1] % 16;
    uint64_t leaves[16];
    uint64_t span = depth <= 6 ? (1ull << (4 * depth)) + 1 : 1;
    *p += 2;
    if ((size_t)(end - *p) < 4 * n)
        return NULL;
    for (size_t i = 0; i < n; i++, *p += 4) {
        uint32_t v = (uint32_t)(*p)[0] | (uint32_t)(*p)[1] << 8 |
                     (uint32_t)(*p)[2] << 16 | (uint32_t)(*p)[3] << 24;
        leaves[i] = v % span;
    }
    return merklewalk_recheck_new(depth, leaves, n, o);
}

static void feed(struct merklewalk *w, enum merklewalk_side side,
                 const char *ans, size_t len)
{
    if (len == 0)
        merklewalk_fail(w, side, "timeout");
    else
        merklewalk_feed(w, side, ans, len);
}

static void check_result(const struct merklewalk *w)
{
    struct merklewalk_result res;
    struct merklewalk_stats st;
    char ranges[64], big[4096];

    merklewalk_stats(w, &st);
    if (strlen(merklewalk_error_message(w)) >= 192)
        __builtin_trap();
    if (merklewalk_result(w, &res) != 0)
        return;
    if (res.listed > res.diff_count)
        __builtin_trap();
    for (size_t i = 0; i < res.listed; i++)
        if (res.diff[i] >= res.buckets || (i && res.diff[i] <= res.diff[i - 1]))
            __builtin_trap(); /* ascending, distinct, in the tree */
    merklewalk_format_ranges(res.diff, res.listed, res.listed < res.diff_count,
                             ranges, sizeof(ranges));
    merklewalk_format_ranges(res.diff, res.listed, false, big, sizeof(big));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    struct merklewalk_options o;
    struct merklewalk_request rq;

    if (size < 1)
        return 0;
    merklewalk_options_default(&o);
    o.recheck_parents = data[0] & 2;
    o.max_batch = batches[(data[0] >> 3) & 7];
    o.max_listed = listed[data[0] >> 6];
    bool replica_first = data[0] & 4;
    p++;
    struct merklewalk *w = make_walk(&p, end, &o, data[0] & 1);
    if (!w)
        return 0;
    while (merklewalk_next(w, &rq) == 1) {
        const char *a, *b;
        size_t alen, blen;
        if (!rq.path || (rq.post && !rq.body))
            __builtin_trap();
        if (!next_answer(&p, end, &a, &alen) ||
            !next_answer(&p, end, &b, &blen))
            break;
        feed(w, replica_first ? MERKLEWALK_REPLICA : MERKLEWALK_PRIMARY, a,
             alen);
        feed(w, replica_first ? MERKLEWALK_PRIMARY : MERKLEWALK_REPLICA, b,
             blen);
    }
    check_result(w);
    merklewalk_free(w);
    return 0;
}
