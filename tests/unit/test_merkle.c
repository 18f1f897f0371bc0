/* test_merkle.c: incremental hashing, diffs and repair of struct merkle. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lib/merkle.h"
#include "lib/util.h"

/* snapshot: every hash of every level, root first. */
static uint64_t *snapshot(struct merkle *t, size_t *n)
{
    unsigned d = merkle_depth(t);
    size_t total = 0;
    for (unsigned l = 0; l <= d; l++)
        total += merkle_level_size(t, l);
    uint64_t *v = xcalloc(total, sizeof(uint64_t));
    size_t k = 0;
    for (unsigned l = 0; l <= d; l++)
        for (uint64_t i = 0; i < merkle_level_size(t, l); i++)
            v[k++] = merkle_hash(t, l, i);
    *n = total;
    return v;
}

START_TEST(incremental_equals_rebuild)
{
    unsigned depth = 1 + (unsigned)_i % 4;
    struct merkle *t = merkle_new(depth, 5000);
    ck_assert_ptr_nonnull(t);
    uint64_t rng = 42 + (uint64_t)_i;
    for (int round = 0; round < 20; round++) {
        for (int w = 0; w < 700; w++) {
            uint32_t key = (uint32_t)(rng_next(&rng) % 5000);
            uint64_t v = rng_next(&rng) % 4 == 0 ? 0 : rng_next(&rng);
            merkle_put(t, key, v);
        }
        if (round % 3 == 0)
            merkle_corrupt(t, rng_next(&rng) % merkle_level_size(t, depth),
                           rng_next(&rng));
        if (round % 5 == 4)
            merkle_repair(t, rng_next(&rng) % merkle_level_size(t, depth));
        /* read a few interior nodes mid-way, so some are clean */
        merkle_hash(t, depth - 1,
                    rng_next(&rng) % merkle_level_size(t, depth - 1));
        size_t n1, n2;
        uint64_t *inc = snapshot(t, &n1);
        merkle_rebuild(t);
        uint64_t *full = snapshot(t, &n2);
        ck_assert_uint_eq(n1, n2);
        ck_assert_msg(memcmp(inc, full, n1 * sizeof(uint64_t)) == 0,
                      "depth %u round %d: incremental != rebuild", depth,
                      round);
        free(inc);
        free(full);
    }
    merkle_free(t);
}
END_TEST

START_TEST(order_does_not_matter)
{
    struct merkle *a = merkle_new(3, 1000), *b = merkle_new(3, 1000);
    for (uint32_t k = 0; k < 1000; k++)
        merkle_put(a, k, k * 7 + 1);
    for (uint32_t k = 1000; k-- > 0;)
        merkle_put(b, k, k * 7 + 1);
    ck_assert_uint_eq(merkle_hash(a, 0, 0), merkle_hash(b, 0, 0));
    merkle_put(b, 17, 3);
    ck_assert_uint_ne(merkle_hash(a, 0, 0), merkle_hash(b, 0, 0));
    merkle_put(b, 17, 17 * 7 + 1);
    ck_assert_uint_eq(merkle_hash(a, 0, 0), merkle_hash(b, 0, 0));
    merkle_free(a);
    merkle_free(b);
}
END_TEST

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* corrupt_pattern: corrupts b according to pattern p; returns the true
 * sorted set in want (caller frees) and its size in *n. */
static uint64_t *corrupt_pattern(struct merkle *b, int p, uint64_t *rng,
                                 size_t *n)
{
    unsigned d = merkle_depth(b);
    uint64_t leaves = merkle_level_size(b, d);
    uint64_t *want = xcalloc(leaves, sizeof(uint64_t));
    size_t k = 0;
    if (p == 1) { /* one bucket */
        want[k++] = rng_next(rng) % leaves;
    } else if (p == 2) { /* 100 random buckets */
        uint8_t *seen = xcalloc(leaves, 1);
        while (k < 100) {
            uint64_t l = rng_next(rng) % leaves;
            if (!seen[l]++)
                want[k++] = l;
        }
        free(seen);
    } else if (p == 3) { /* a whole subtree two levels up */
        uint64_t base = (rng_next(rng) % (leaves / 256)) * 256;
        for (uint64_t i = 0; i < 256; i++)
            want[k++] = base + i;
    } else if (p == 4) { /* everything */
        for (uint64_t i = 0; i < leaves; i++)
            want[k++] = i;
    }
    for (size_t i = 0; i < k; i++)
        merkle_corrupt(b, want[i], rng_next(rng));
    qsort(want, k, sizeof(uint64_t), cmp_u64);
    *n = k;
    return want;
}

START_TEST(diff_finds_exactly_the_corrupt_buckets)
{
    int pattern = _i;
    struct merkle *a = merkle_new(4, 100000), *b = merkle_new(4, 100000);
    uint64_t rng = 7;
    for (int w = 0; w < 200000; w++) {
        uint32_t key = (uint32_t)(rng_next(&rng) % 100000);
        uint64_t v = (uint64_t)w + 1;
        merkle_put(a, key, v);
        merkle_put(b, key, v);
    }
    size_t n;
    uint64_t *want = corrupt_pattern(b, pattern, &rng, &n);
    uint64_t leaves = merkle_level_size(a, 4);
    uint64_t *got = xcalloc(leaves, sizeof(uint64_t));
    uint64_t visited = 0;
    long total = merkle_diff(a, b, got, leaves, &visited);
    ck_assert_int_eq(total, (long)n);
    ck_assert_msg(memcmp(got, want, n * sizeof(uint64_t)) == 0,
                  "pattern %d: wrong set", pattern);
    ck_assert_uint_eq(merkle_corrupt_count(b), n);
    /* the walk compares the root and, per differing node, 16 children:
     * at most 1 + 16 * (differing nodes above the leaves) */
    ck_assert_uint_le(visited, 1 + 16 * 4 * (uint64_t)(n ? n : 0));
    if (n == 0)
        ck_assert_uint_eq(visited, 1);

    /* repairing exactly those buckets brings the trees back together */
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(merkle_repair(b, want[i]), 1);
    ck_assert_uint_eq(merkle_hash(a, 0, 0), merkle_hash(b, 0, 0));
    ck_assert_uint_eq(merkle_corrupt_count(b), 0);
    ck_assert_int_eq(merkle_diff(a, b, got, leaves, NULL), 0);
    free(want);
    free(got);
    merkle_free(a);
    merkle_free(b);
}
END_TEST

START_TEST(corrupt_survives_writes)
{
    struct merkle *a = merkle_new(2, 64), *b = merkle_new(2, 64);
    merkle_corrupt(b, 5, 99);
    for (uint32_t k = 0; k < 64; k++) {
        merkle_put(a, k, 1000 + k);
        merkle_put(b, k, 1000 + k);
    }
    uint64_t got[256];
    ck_assert_int_eq(merkle_diff(a, b, got, 256, NULL), 1);
    ck_assert_uint_eq(got[0], 5);
    ck_assert_int_eq(merkle_repair(b, 5), 1);
    ck_assert_int_eq(merkle_repair(b, 5), 0);
    ck_assert_int_eq(merkle_diff(a, b, got, 256, NULL), 0);
    ck_assert_ptr_null(merkle_new(0, 10));
    ck_assert_ptr_null(merkle_new(MERKLE_MAX_DEPTH + 1, 10));
    ck_assert_int_eq(merkle_corrupt(a, 256, 1), -1);
    struct merkle *c = merkle_new(3, 64);
    ck_assert_int_eq(merkle_diff(a, c, got, 256, NULL), -1);
    merkle_free(c);
    merkle_free(a);
    merkle_free(b);
    merkle_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("merkle");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, incremental_equals_rebuild, 0, 8);
    tcase_add_test(tc, order_does_not_matter);
    tcase_add_loop_test(tc, diff_finds_exactly_the_corrupt_buckets, 0, 5);
    tcase_add_test(tc, corrupt_survives_writes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
