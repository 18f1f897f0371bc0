/* test_audit.c: audit lines (fields, escaping), concurrent writers,
 * crash leftovers and syncing. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "act/audit.h"
#include "lib/fileio.h"
#include "lib/util.h"

/* ---- fixtures --------------------------------------------------------- */

struct tmp {
    char dir[32];
    char path[64];
};

static void tmp_init(struct tmp *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/rg-audit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/audit.jsonl", t->dir);
}

static void tmp_cleanup(struct tmp *t)
{
    unlink(t->path);
    ck_assert_int_eq(rmdir(t->dir), 0);
}

static char *slurp(const char *path)
{
    char *out = NULL;
    ck_assert_int_eq(fileio_read_file(NULL, path, 1 << 28, &out, NULL), 0);
    return out;
}

/* Short writes, a write that fails after some calls, fsync counting. */
struct fake {
    pthread_mutex_t mu;
    size_t max_write;
    int fail_after; /* writes left before they fail; -1: never */
    int fsyncs;
};

static ssize_t f_write(void *ctx, int fd, const void *b, size_t n)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    bool fail = f->fail_after == 0;
    if (f->fail_after > 0)
        f->fail_after--;
    pthread_mutex_unlock(&f->mu);
    if (fail)
        return -ENOSPC;
    size_t m = f->max_write && n > f->max_write ? f->max_write : n;
    return fileio_posix()->write(NULL, fd, b, m);
}

static int f_fsync(void *ctx, int fd)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    f->fsyncs++;
    pthread_mutex_unlock(&f->mu);
    return fileio_posix()->fsync(NULL, fd);
}

static struct fileio_ops fake_ops(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    f->fail_after = -1;
    struct fileio_ops ops = *fileio_posix();
    ops.write = f_write;
    ops.fsync = f_fsync;
    ops.ctx = f;
    return ops;
}

/* ---- formatting ------------------------------------------------------- */

static const char *str_of(cJSON *o, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(cJSON_IsString(v), "%s is not a string", key);
    return v->valuestring;
}

START_TEST(line_has_every_field)
{
    struct audit_record r = {
        .time = 1763769600.25,
        .event = "action",
        .cluster = "main",
        .runbook = "high-replication-lag",
        .action = "throttle",
        .target = "node2",
        .fingerprint = "a1b2c3d4",
        .dry_run = true,
        .reason = "lagging_replicas >= 2",
        .has_lag_before = true,
        .lag_before = 12.5,
        .has_lag_after = true,
        .lag_after = 0.25,
    };
    char *line = audit_format(&r);
    ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
    cJSON *o = cJSON_Parse(line);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(str_of(o, "time"), "2025-11-22T00:00:00.250Z");
    ck_assert_str_eq(str_of(o, "event"), "action");
    ck_assert_str_eq(str_of(o, "cluster"), "main");
    ck_assert_str_eq(str_of(o, "runbook"), "high-replication-lag");
    ck_assert_str_eq(str_of(o, "action"), "throttle");
    ck_assert_str_eq(str_of(o, "target"), "node2");
    ck_assert_str_eq(str_of(o, "fingerprint"), "a1b2c3d4");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(o, "dry_run")));
    ck_assert_str_eq(str_of(o, "reason"), "lagging_replicas >= 2");
    ck_assert_double_eq(cJSON_GetObjectItem(o, "lag_before")->valuedouble,
                        12.5);
    ck_assert_double_eq(cJSON_GetObjectItem(o, "lag_after")->valuedouble, 0.25);
    cJSON_Delete(o);
    free(line);
}
END_TEST

START_TEST(missing_values_are_null_or_absent)
{
    struct audit_record r = {.time = 1.0,
                             .event = "skipped",
                             .has_lag_after = true,
                             .lag_after = NAN};
    char *line = audit_format(&r);
    cJSON *o = cJSON_Parse(line);
    ck_assert_ptr_nonnull(o);
    static const char *const nulls[] = {"cluster",  "runbook",     "action",
                                        "target",   "fingerprint", "reason",
                                        "lag_after"};
    for (size_t i = 0; i < ARRAY_LEN(nulls); i++)
        ck_assert_msg(cJSON_IsNull(cJSON_GetObjectItem(o, nulls[i])), "%s",
                      nulls[i]);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(o, "dry_run")));
    ck_assert_ptr_null(cJSON_GetObjectItem(o, "lag_before"));
    ck_assert_str_eq(str_of(o, "time"), "1970-01-01T00:00:01.000Z");
    cJSON_Delete(o);
    free(line);
}
END_TEST

static const struct {
    const char *in;
    const char *want; /* after a JSON round trip */
} escapes[] = {
    {"say \"hi\"", "say \"hi\""},
    {"back\\slash", "back\\slash"},
    {"two\nlines\r\n", "two\nlines\r\n"},
    {"tab\there", "tab\there"},
    {"ctl\x01\x1f\x7f", "ctl\x01\x1f\x7f"},
    {"utf-8: \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", /* é € 😀 */
     "utf-8: \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"bad \xff byte", "bad \xef\xbf\xbd byte"},
    {"cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd"},
    {"overlong \xc0\xaf", "overlong \xef\xbf\xbd\xef\xbf\xbd"},
    {"surrogate \xed\xa0\x80",
     "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"</script>{}[],:", "</script>{}[],:"},
};

START_TEST(special_characters_are_escaped)
{
    struct audit_record r = {.time = 2.0,
                             .event = "skipped",
                             .reason = escapes[_i].in,
                             .target = escapes[_i].in};
    char *line = audit_format(&r);
    ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
    for (const char *p = line; *p; p++)
        ck_assert((unsigned char)*p >= 0x20 || *p == '\n');
    cJSON *o = cJSON_Parse(line);
    ck_assert_msg(o != NULL, "not JSON: %s", line);
    ck_assert_str_eq(str_of(o, "reason"), escapes[_i].want);
    ck_assert_str_eq(str_of(o, "target"), escapes[_i].want);
    cJSON_Delete(o);
    free(line);
}
END_TEST

START_TEST(long_fields_are_cut)
{
    char *big = xmalloc(3 * AUDIT_MAX_FIELD);
    memset(big, 'r', 3 * AUDIT_MAX_FIELD - 1);
    big[3 * AUDIT_MAX_FIELD - 1] = '\0';
    struct audit_record r = {.event = "skipped", .reason = big};
    char *line = audit_format(&r);
    cJSON *o = cJSON_Parse(line);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(strlen(str_of(o, "reason")), AUDIT_MAX_FIELD);
    cJSON_Delete(o);
    free(line);
    free(big);
}
END_TEST

/* ---- the file --------------------------------------------------------- */

#define WRITERS 8
#define LINES   300

struct writer {
    struct audit *a;
    int id;
    int failures;
};

static void *write_lines(void *arg)
{
    struct writer *w = arg;
    char reason[2048], target[16];
    snprintf(target, sizeof(target), "node%d", w->id);
    memset(reason, 'a' + w->id, sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    for (int i = 0; i < LINES; i++) {
        struct audit_record r = {.time = 1763769600.0 + i,
                                 .event = "action",
                                 .target = target,
                                 .reason = reason};
        w->failures += audit_write(w->a, &r) != 0;
    }
    return NULL;
}

static void check_lines(const char *text)
{
    int per[WRITERS] = {0};
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        ck_assert_ptr_nonnull(nl);
        cJSON *o = cJSON_ParseWithLength(p, (size_t)(nl - p));
        ck_assert_msg(o != NULL, "line is not JSON");
        int id = str_of(o, "target")[4] - '0';
        ck_assert(id >= 0 && id < WRITERS);
        const char *reason = str_of(o, "reason");
        ck_assert_uint_eq(strlen(reason), 2047);
        ck_assert_uint_eq(strspn(reason, (char[]){(char)('a' + id), 0}), 2047);
        per[id]++;
        cJSON_Delete(o);
        p = nl + 1;
    }
    for (int i = 0; i < WRITERS; i++)
        ck_assert_int_eq(per[i], LINES);
}

START_TEST(concurrent_lines_never_interleave)
{
    struct tmp t;
    tmp_init(&t);
    struct fake f;
    struct fileio_ops ops = fake_ops(&f);
    f.max_write = 700; /* every line takes several write(2)s */
    int err = 1;
    struct audit *a = audit_open(t.path, &ops, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(err, 0);
    struct writer w[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){.a = a, .id = i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, write_lines, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
    ck_assert_int_eq(audit_close(a), 0);
    char *text = slurp(t.path);
    check_lines(text);
    free(text);
    tmp_cleanup(&t);
}
END_TEST

START_TEST(unterminated_tail_is_closed_on_open)
{
    struct tmp t;
    tmp_init(&t);
    int fd = open(t.path, O_WRONLY | O_CREAT, 0600);
    ck_assert_int_eq(write(fd, "{\"time\":\"2025", 13), 13);
    close(fd);
    struct audit *a = audit_open(t.path, NULL, NULL);
    ck_assert_ptr_nonnull(a);
    struct audit_record r = {.time = 3.0, .event = "skipped"};
    ck_assert_int_eq(audit_write(a, &r), 0);
    ck_assert_int_eq(audit_close(a), 0);
    char *text = slurp(t.path);
    const char *second = strchr(text, '\n') + 1;
    ck_assert_int_eq(strncmp(text, "{\"time\":\"2025\n", 14), 0);
    cJSON *o = cJSON_Parse(second);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(str_of(o, "event"), "skipped");
    cJSON_Delete(o);
    free(text);
    tmp_cleanup(&t);
}
END_TEST

START_TEST(failed_write_does_not_glue_lines)
{
    struct tmp t;
    tmp_init(&t);
    struct fake f;
    struct fileio_ops ops = fake_ops(&f);
    struct audit *a = audit_open(t.path, &ops, NULL);
    ck_assert_ptr_nonnull(a);
    struct audit_record r = {.time = 4.0, .event = "action", .reason = "first"};
    f.max_write = 20;
    f.fail_after = 1; /* 20 bytes, then ENOSPC */
    ck_assert_uint_eq(audit_failures(a), 0);
    ck_assert_int_eq(audit_write(a, &r), -ENOSPC);
    ck_assert_uint_eq(audit_failures(a), 1); /* counted */
    f.fail_after = -1;
    r.reason = "second";
    ck_assert_int_eq(audit_write(a, &r), 0);
    ck_assert_uint_eq(audit_failures(a), 1); /* a good write: no more */
    f.fail_after = 0;
    ck_assert_int_eq(audit_write(a, &r), -ENOSPC);
    ck_assert_int_eq(audit_write(a, &r), -ENOSPC);
    ck_assert_uint_eq(audit_failures(a), 3);
    f.fail_after = -1;
    ck_assert_int_eq(audit_write(a, &r), 0);
    ck_assert_int_eq(audit_close(a), 0);
    char *text = slurp(t.path);
    const char *second = strchr(text, '\n') + 1;
    ck_assert_uint_eq((size_t)(second - text), 21); /* torn 20 bytes + \n */
    cJSON *o = cJSON_Parse(second);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(str_of(o, "reason"), "second");
    cJSON_Delete(o);
    free(text);
    tmp_cleanup(&t);
}
END_TEST

START_TEST(sync_only_when_dirty)
{
    struct tmp t;
    tmp_init(&t);
    struct fake f;
    struct fileio_ops ops = fake_ops(&f);
    struct audit *a = audit_open(t.path, &ops, NULL);
    ck_assert_ptr_nonnull(a);
    int base = f.fsyncs; /* the directory fsync of audit_open */
    ck_assert_int_eq(audit_sync(a), 0);
    ck_assert_int_eq(f.fsyncs, base);
    struct audit_record r = {.time = 5.0, .event = "action"};
    ck_assert_int_eq(audit_write(a, &r), 0);
    ck_assert_int_eq(f.fsyncs, base); /* a write alone does not fsync */
    ck_assert_int_eq(audit_sync(a), 0);
    ck_assert_int_eq(f.fsyncs, base + 1);
    ck_assert_int_eq(audit_sync(a), 0);
    ck_assert_int_eq(f.fsyncs, base + 1);
    ck_assert_int_eq(audit_write(a, &r), 0);
    ck_assert_int_eq(audit_close(a), 0); /* close syncs */
    ck_assert_int_eq(f.fsyncs, base + 2);
    tmp_cleanup(&t);
}
END_TEST

START_TEST(open_errors_are_reported)
{
    int err = 0;
    ck_assert_ptr_null(
        audit_open("/nonexistent-dir/x/audit.jsonl", NULL, &err));
    ck_assert_int_eq(err, -ENOENT);
    ck_assert_int_eq(audit_close(NULL), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("audit");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, line_has_every_field);
    tcase_add_test(tc, missing_values_are_null_or_absent);
    tcase_add_loop_test(tc, special_characters_are_escaped, 0,
                        (int)ARRAY_LEN(escapes));
    tcase_add_test(tc, long_fields_are_cut);
    suite_add_tcase(s, tc);
    tc = tcase_create("file");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, concurrent_lines_never_interleave);
    tcase_add_test(tc, unterminated_tail_is_closed_on_open);
    tcase_add_test(tc, failed_write_does_not_glue_lines);
    tcase_add_test(tc, sync_only_when_dirty);
    tcase_add_test(tc, open_errors_are_reported);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
