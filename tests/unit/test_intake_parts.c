/* test_intake_parts.c: the parts remedy holds besides its queue: the
 * pause switch, the ack queue and the webhook answer counts. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act/acks.h"
#include "act/pause.h"
#include "act/webhookcount.h"
#include "lib/fileio.h"
#include "lib/util.h"
#include "test_support.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/replguard-parts.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    rm_tree(dir);
}

START_TEST(pause_persists_across_new)
{
    struct pause_switch *p = pause_new(dir, NULL);
    ck_assert(!pause_get(p));
    ck_assert_int_eq(pause_set(p, true), 0);
    ck_assert(pause_get(p));
    pause_free(p);
    p = pause_new(dir, NULL);
    ck_assert(pause_get(p));
    ck_assert_int_eq(pause_set(p, false), 0);
    pause_free(p);
    p = pause_new(dir, NULL);
    ck_assert(!pause_get(p));
    pause_free(p);
    pause_free(NULL);
}
END_TEST

static int no_fsync(void *ctx, int fd)
{
    (void)ctx;
    (void)fd;
    return -EIO;
}

/* A flag that cannot be made durable is not changed, nor is the file. */
START_TEST(pause_unchanged_when_the_write_fails)
{
    struct fileio_ops ops = *fileio_posix();
    ops.fsync = no_fsync;
    struct pause_switch *p = pause_new(dir, &ops);
    ck_assert_int_eq(pause_set(p, true), -EIO);
    ck_assert(!pause_get(p));
    pause_free(p);
    p = pause_new(dir, NULL);
    ck_assert(!pause_get(p));
    pause_free(p);
}
END_TEST

START_TEST(acks_are_bounded_and_taken_in_order)
{
    struct ack_queue *q = acks_new();
    char name[16];
    char *out[ACKS_MAX + 8];
    for (int i = 0; i < ACKS_MAX + 5; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        acks_push(q, name);
    }
    ck_assert_uint_eq(acks_take(q, out, 2), 2);
    ck_assert_str_eq(out[0], "c0");
    ck_assert_str_eq(out[1], "c1");
    free(out[0]);
    free(out[1]);
    ck_assert_uint_eq(acks_take(q, out, ARRAY_LEN(out)), ACKS_MAX - 2);
    ck_assert_str_eq(out[0], "c2");
    ck_assert_str_eq(out[ACKS_MAX - 3], "c63");
    for (size_t i = 0; i < ACKS_MAX - 2; i++)
        free(out[i]);
    ck_assert_uint_eq(acks_take(q, out, ARRAY_LEN(out)), 0);
    acks_push(q, "left");
    acks_free(q); /* frees what is still queued */
}
END_TEST

START_TEST(webhook_counts_by_code)
{
    struct webhook_counts *w = webhookcount_new();
    const unsigned codes[] = {200, 503, 400};
    uint64_t counts[3];
    webhookcount_add(w, 200);
    webhookcount_add(w, 200);
    webhookcount_add(w, 503);
    for (unsigned c = 600; c < 600 + WEBHOOKCOUNT_CODES; c++)
        webhookcount_add(w, c);
    webhookcount_add(w, 400); /* a new code past the table: not counted */
    webhookcount_add(w, 200);
    webhookcount_read(w, codes, counts, 3);
    ck_assert_uint_eq(counts[0], 3);
    ck_assert_uint_eq(counts[1], 1);
    ck_assert_uint_eq(counts[2], 0);
    webhookcount_free(w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("intake_parts");
    TCase *tc = tcase_create("parts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, pause_persists_across_new);
    tcase_add_test(tc, pause_unchanged_when_the_write_fails);
    tcase_add_test(tc, acks_are_bounded_and_taken_in_order);
    tcase_add_test(tc, webhook_counts_by_code);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
