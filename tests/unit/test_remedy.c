/* test_remedy.c: the webhook intake: journal then queue, 503 cases,
 * the pause flag across reopen. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "formats/alert.h"
#include "lib/fileio.h"
#include "act/journal.h"
#include "act/remedy.h"
#include "test_support.h"
#include "lib/util.h"

/* payload: n alerts with fingerprints from first on. */
static struct alert_payload *payload(size_t n, unsigned first)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[");
    for (size_t i = 0; i < n; i++)
        buf_printf(&b,
                   "%s{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\","
                   "\"replica\":\"node2\"},\"startsAt\":"
                   "\"2026-11-22T00:00:00Z\",\"fingerprint\":\"%08x\"}",
                   i ? "," : "", first + (unsigned)i);
    buf_puts(&b, "]}");
    struct alert_payload *p = NULL;
    char err[256];
    ck_assert_msg(alert_parse(b.data, b.len, &p, err, sizeof(err)) == 0, "%s",
                  err);
    buf_free(&b);
    return p;
}

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/replguard-remedy.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    rm_tree(dir);
}

/* open_remedy: dir's remedy over ops (NULL: POSIX); fails the test when
 * it cannot be opened. */
static struct remedy *open_remedy(const struct fileio_ops *ops)
{
    char err[256];
    struct remedy *r = remedy_open(dir, ops, err, sizeof(err));
    ck_assert_msg(r != NULL, "%s", err);
    return r;
}

START_TEST(journal_then_queue)
{
    struct remedy *r = open_remedy(NULL);
    struct alert_payload *p = payload(3, 1);
    ck_assert_int_eq(remedy_submit(r, p), REMEDY_OK);
    struct queued_alert *q[8];
    ck_assert_uint_eq(remedy_take(r, q, 8), 3);
    ck_assert_str_eq(q[2]->fingerprint, "00000003");
    ck_assert_uint_eq(q[0]->index, 0);
    ck_assert_uint_eq(q[2]->index, 2);
    ck_assert_uint_eq(q[0]->seq, q[2]->seq); /* one record a payload */
    /* the record is in the journal and reads back as the same alerts */
    struct journal_stats st;
    journal_stats(remedy_journal(r), &st);
    ck_assert_uint_eq(st.appends, 1);
    for (int i = 0; i < 3; i++)
        queued_alert_free(q[i]);
    alert_payload_free(p);
    remedy_close(r);
}
END_TEST

/* A copy outlives the queued alert it was made from (a job keeps one). */
START_TEST(copy_owns_its_strings)
{
    struct remedy *r = open_remedy(NULL);
    struct alert_payload *p = payload(2, 7);
    ck_assert_int_eq(remedy_submit(r, p), REMEDY_OK);
    alert_payload_free(p);
    struct queued_alert *q[2];
    ck_assert_uint_eq(remedy_take(r, q, 2), 2);
    struct queued_alert *c = queued_alert_copy(q[1]);
    uint64_t seq = q[1]->seq;
    queued_alert_free(q[0]);
    queued_alert_free(q[1]);
    ck_assert_str_eq(c->fingerprint, "00000008");
    ck_assert_uint_eq(c->seq, seq);
    ck_assert_uint_eq(c->index, 1);
    ck_assert(!c->resolved);
    ck_assert_uint_eq(c->labels.n, 2);
    ck_assert_str_eq(c->labels.v[0].name, "alertname");
    ck_assert_str_eq(c->labels.v[0].value, "A");
    ck_assert_str_eq(c->labels.v[1].name, "replica");
    ck_assert_str_eq(c->labels.v[1].value, "node2");
    queued_alert_free(c);
    remedy_close(r);
}
END_TEST

/* The outcome of an asynchronous submission. */
struct outcome {
    pthread_mutex_t mu;
    bool done;
    enum remedy_status st;
};

static void on_outcome(void *ctx, enum remedy_status st)
{
    struct outcome *o = ctx;
    pthread_mutex_lock(&o->mu);
    o->st = st;
    o->done = true;
    pthread_mutex_unlock(&o->mu);
}

static bool outcome_done(struct outcome *o)
{
    pthread_mutex_lock(&o->mu);
    bool d = o->done;
    pthread_mutex_unlock(&o->mu);
    return d;
}

static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* remedy_submit_async returns before the records are durable; the alerts
 * are queued, and the caller told, only after their fsync. */
START_TEST(submit_async_answers_after_the_fsync)
{
    struct fsync_gate g;
    fsync_gate_init(&g);
    struct remedy *r = open_remedy(&g.ops);
    struct alert_payload *p = payload(150, 1); /* two records */
    struct outcome o = {.done = false};
    pthread_mutex_init(&o.mu, NULL);
    fsync_gate_hold(&g, true);
    int before = fsync_gate_fsyncs(&g);
    remedy_submit_async(r, p, on_outcome, &o);
    alert_payload_free(p); /* copied */
    for (int i = 0; i < 10000 && fsync_gate_fsyncs(&g) == before; i++)
        pause_ms(1);
    ck_assert_int_gt(fsync_gate_fsyncs(&g),
                     before); /* the writer is in fsync */
    struct queued_alert *q[160];
    ck_assert(!outcome_done(&o));
    ck_assert_uint_eq(remedy_take(r, q, 160), 0);
    fsync_gate_hold(&g, false);
    for (int i = 0; i < 10000 && !outcome_done(&o); i++)
        pause_ms(1);
    ck_assert(outcome_done(&o));
    ck_assert_int_eq(o.st, REMEDY_OK);
    ck_assert_uint_eq(remedy_take(r, q, 160), 150);
    ck_assert_str_eq(q[149]->fingerprint, "00000096");
    ck_assert_uint_eq(q[100]->index, 0);
    ck_assert_uint_eq(q[100]->seq, q[0]->seq + 1);
    for (int i = 0; i < 150; i++)
        queued_alert_free(q[i]);
    remedy_close(r);
    fsync_gate_destroy(&g);
}
END_TEST

START_TEST(full_queue_and_stopping_answer_503)
{
    struct remedy *r = open_remedy(NULL);
    struct alert_payload *big = payload(ALERT_MAX_ALERTS, 100);
    for (size_t n = 0; n + ALERT_MAX_ALERTS <= REMEDY_QUEUE_CAP;
         n += ALERT_MAX_ALERTS)
        ck_assert_int_eq(remedy_submit(r, big), REMEDY_OK);
    /* nobody took them: the next payload does not fit */
    struct alert_payload *one = payload(1, 7);
    ck_assert_int_eq(remedy_submit(r, one), REMEDY_FULL);
    remedy_stop(r);
    ck_assert_int_eq(remedy_submit(r, one), REMEDY_STOPPING);
    alert_payload_free(big);
    alert_payload_free(one);
    remedy_close(r);
}
END_TEST

START_TEST(pause_survives_reopen)
{
    struct remedy *r = open_remedy(NULL);
    ck_assert(!remedy_paused(r));
    ck_assert_int_eq(remedy_set_paused(r, true), 0);
    remedy_close(r);
    r = open_remedy(NULL);
    ck_assert(remedy_paused(r));
    remedy_ack(r, "c1");
    char *acks[4];
    ck_assert_uint_eq(remedy_take_acks(r, acks, 4), 1);
    ck_assert_str_eq(acks[0], "c1");
    free(acks[0]);
    remedy_close(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("remedy");
    TCase *tc = tcase_create("intake");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, journal_then_queue);
    tcase_add_test(tc, copy_owns_its_strings);
    tcase_add_test(tc, full_queue_and_stopping_answer_503);
    tcase_add_test(tc, submit_async_answers_after_the_fsync);
    tcase_add_test(tc, pause_survives_reopen);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
