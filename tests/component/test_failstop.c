/* test_failstop.c: fail-stop when the journal's disk fails, in process:
 * the remedy (journal) on a fileio table whose fsync the test breaks, the
 * engine with its executor, and the HTTP server, against a running
 * replguard-simnode.
 *
 * The runbook's only action is an exec that appends the alert's id label
 * to a file, so "no action ran" is "the file has no such line"; a
 * force_sync step too would reach the simulator, whose admin counters
 * must stay at zero. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "config/config.h"
#include "monitor/engine.h"
#include "lib/fileio.h"
#include "serve/httpd.h"
#include "act/remedy.h"
#include "config/runbook.h"
#include "simnode_harness.h"
#include "monitor/snapshot.h"
#include "test_support.h"
#include "lib/util.h"

/* --- a fileio whose fsync fails on demand ------------------------------ */

struct failing {
    struct fileio_ops ops;  /* POSIX but for fsync */
    atomic_bool fail;       /* every fsync fails with EIO from now on */
    atomic_bool fail_batch; /* the fsync after a write of an executor
                               batch record (plan, intent) fails */
    atomic_bool armed;      /* such a write was seen */
};

static ssize_t f_write(void *ctx, int fd, const void *buf, size_t n)
{
    struct failing *f = ctx;
    if (atomic_load(&f->fail_batch) && memmem(buf, n, "\"intent\"", 8))
        atomic_store(&f->armed, true);
    return fileio_posix()->write(NULL, fd, buf, n);
}

static int f_fsync(void *ctx, int fd)
{
    struct failing *f = ctx;
    if (atomic_load(&f->fail) || atomic_load(&f->armed)) {
        atomic_store(&f->fail, true); /* a failed disk stays failed */
        return -EIO;
    }
    return fileio_posix()->fsync(NULL, fd);
}

/* --- the fixture: simnode, and replguard's parts in this process ------- */

static struct simnode sn;
static char dir[64], ran[128], logpath[128];
static struct failing fio;
static struct snapbox box;
static struct engine *eng;
static struct remedy *rem;
static struct httpd *hd;
static char base[64];
static int saved_stderr = -1;

static void start_parts(void)
{
    char path[160], err[512];
    snprintf(path, sizeof(path), "%s/rules.yml", dir);
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "runbook: mark\n"
               "match: {alertname: Mark}\n"
               "target_label: replica\n"
               "steps:\n"
               "  - action: exec\n"
               "    argv: [/bin/sh, -c, 'echo \"$REPLGUARD_LABEL_ID\" >> %s']\n"
               "  - action: force_sync\n"
               "cooldown: 1ms\n",
               ran);
    struct runbook_set *rules = NULL;
    ck_assert_int_eq(runbook_load_string(path, b.data, b.len, &rules, NULL), 0);
    buf_reset(&b);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s/state\n"
               "audit_log: %s/audit.jsonl\n"
               "rules: %s\n"
               "poll: {interval: %.0fms, timeout: %.0fms}\n"
               "clusters:\n  - name: c1\n    nodes:\n",
               dir, dir, path, 100 * wait_scale(), 80 * wait_scale());
    simnode_yaml_nodes(&sn, &b);
    struct config *cfg = NULL;
    ck_assert_int_eq(
        config_load_string("replguard.yml", b.data, b.len, &cfg, NULL), 0);
    buf_free(&b);
    snprintf(path, sizeof(path), "%s/state", dir);
    rem = remedy_open(path, &fio.ops, err, sizeof(err));
    ck_assert_msg(rem != NULL, "%s", err);
    struct rg_clock clock = clock_system();
    eng = engine_new(cfg, &box, &clock);
    snprintf(path, sizeof(path), "%s/audit.jsonl", dir);
    ck_assert_msg(engine_attach(eng, rem, rules, path, err, sizeof(err)) == 0,
                  "%s", err);
    struct httpd_options ho = {.rem = rem};
    hd = httpd_start(&ho, &box, err, sizeof(err));
    ck_assert_msg(hd != NULL, "%s", err);
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", httpd_port(hd));
    ck_assert_int_eq(engine_start(eng), 0);
    double deadline = now_s() + WAIT_S;
    while (call(base, "GET", "/-/ready", NULL) != 200 && now_s() < deadline)
        sleep_ms(20);
    ck_assert_int_eq(call(base, "GET", "/-/ready", NULL), 200);
}

static void setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(dir, sizeof(dir), "/tmp/replguard-failstop.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(ran, sizeof(ran), "%s/ran", dir);
    snprintf(logpath, sizeof(logpath), "%s/replguard.log", dir);
    /* replguard's log lines (stderr) into a file the test reads */
    int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
    ck_assert_int_ge(fd, 0);
    saved_stderr = dup(STDERR_FILENO);
    ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
    close(fd);
    fio.ops = *fileio_posix();
    fio.ops.write = f_write;
    fio.ops.fsync = f_fsync;
    fio.ops.ctx = &fio;
    atomic_init(&fio.fail, false);
    atomic_init(&fio.fail_batch, false);
    atomic_init(&fio.armed, false);
    snapbox_init(&box);
    spawn(&sn, NULL);
    start_parts();
}

static void teardown(void)
{
    remedy_stop(rem);
    httpd_stop(hd);
    engine_free(eng);
    remedy_close(rem);
    snapbox_destroy(&box);
    reap(sn.pid);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    rm_tree(dir);
    curl_global_cleanup();
}

/* --- helpers ------------------------------------------------------------ */

/* webhook: POSTs a firing Mark alert for node2 with label id; returns the
 * status and the answer in *r (the caller frees r->body). */
static long webhook(const char *id, struct resp *r)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"rg\","
               "\"alerts\":[{\"status\":\"firing\",\"labels\":{"
               "\"alertname\":\"Mark\",\"cluster\":\"c1\",\"replica\":"
               "\"node2\",\"id\":\"%s\"},\"startsAt\":"
               "\"2026-11-22T00:00:00Z\",\"fingerprint\":\"%x\"}]}",
               id, (unsigned)id[0] << 8 | (unsigned)id[1]);
    char url[128];
    snprintf(url, sizeof(url), "%s/webhook", base);
    struct opts o = {.method = "POST", .body = b.data};
    http(url, &o, r);
    buf_free(&b);
    return r->status;
}

/* count_lines: lines of path equal to text (0 when it does not exist). */
static int count_lines(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        n += strcmp(line, text) == 0;
    }
    if (f)
        fclose(f);
    return n;
}

static double syncs(void)
{
    return metric(simnode_url(&sn, "node1"), "stemedb_admin_requests_total",
                  "endpoint=\"sync\"");
}

/* still_monitoring: /metrics is served, says the journal failed, and
 * poll rounds go on. */
static void still_monitoring(void)
{
    assert_wait(base, "replguard_journal_failed", NULL, EQ, 1);
    double rounds = metric(base, "replguard_poll_rounds_total", NULL);
    ck_assert(!isnan(rounds));
    assert_wait(base, "replguard_poll_rounds_total", NULL, GT, rounds + 3);
    ck_assert_int_eq(call(base, "GET", "/-/ready", NULL), 200);
}

/* --- the tests ------------------------------------------------------------ */

START_TEST(webhook_answers_503_when_fsync_fails)
{
    struct resp r;
    /* healthy first: the alert runs its action, the metric reads 0 */
    ck_assert_msg(webhook("a1", &r) == 200, "%ld %s", r.status, r.body.data);
    buf_free(&r.body);
    double deadline = now_s() + WAIT_S;
    while (count_lines(ran, "a1") < 1 && now_s() < deadline)
        sleep_ms(20);
    ck_assert_int_eq(count_lines(ran, "a1"), 1);
    assert_wait(simnode_url(&sn, "node1"), "stemedb_admin_requests_total",
                "endpoint=\"sync\"", EQ, 1);
    ck_assert_double_eq(metric(base, "replguard_journal_failed", NULL), 0);

    /* the disk fails: the webhook refuses (Alertmanager retries) */
    atomic_store(&fio.fail, true);
    ck_assert_int_eq(webhook("a2", &r), 503);
    assert_error(&r, 503);
    ck_assert_ptr_nonnull(strstr(r.body.data, "journal failed"));
    buf_free(&r.body);
    ck_assert_int_eq(webhook("a3", &r), 503);
    buf_free(&r.body);
    wait_file_has(logpath, "fail-stop", WAIT_S);
    still_monitoring();
    /* nothing acted */
    ck_assert_int_eq(count_lines(ran, "a2"), 0);
    ck_assert_int_eq(count_lines(ran, "a3"), 0);
    ck_assert_double_eq(syncs(), 1);
    assert_wait(base, "replguard_webhook_requests_total", "code=\"503\"", EQ,
                2);
}
END_TEST

START_TEST(no_action_when_the_intent_cannot_be_made_durable)
{
    /* the webhook's own record is durable; the executor's record of the
     * plan and the intent is not: the action must not run */
    atomic_store(&fio.fail_batch, true);
    struct resp r;
    ck_assert_int_eq(webhook("b1", &r), 200);
    buf_free(&r.body);
    wait_file_has(logpath, "fail-stop", WAIT_S);
    assert_wait(base, "replguard_journal_failed", NULL, EQ, 1);
    ck_assert_int_eq(webhook("b2", &r), 503);
    assert_error(&r, 503);
    buf_free(&r.body);
    still_monitoring();
    ck_assert_int_eq(count_lines(ran, "b1"), 0);
    ck_assert_double_eq(syncs(), 0);
    ck_assert_double_eq(metric(base, "replguard_remediation_in_flight", NULL),
                        0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("failstop");
    TCase *tc = tcase_create("journal");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, webhook_answers_503_when_fsync_fails);
    tcase_add_test(tc, no_action_when_the_intent_cannot_be_made_durable);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
