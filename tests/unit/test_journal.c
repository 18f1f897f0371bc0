/* test_journal.c: the durable layer: fileio (write-all, durable replace),
 * the state file and the journal (recovery, group commit, fail-stop),
 * through injected file operations. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lib/fileio.h"
#include "act/journal.h"
#include "lib/statefile.h"
#include "lib/util.h"

/* ---- fixtures --------------------------------------------------------- */

static char *make_dir(void)
{
    char *d = xstrdup("/tmp/rg-journal-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

static void remove_dir(char *d)
{
    DIR *dp = opendir(d);
    ck_assert_ptr_nonnull(dp);
    for (struct dirent *e = readdir(dp); e; e = readdir(dp)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        unlink(p);
    }
    closedir(dp);
    ck_assert_int_eq(rmdir(d), 0);
    free(d);
}

static int count_entries(const char *d)
{
    int n = 0;
    DIR *dp = opendir(d);
    for (struct dirent *e = readdir(dp); e; e = readdir(dp))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(dp);
    return n;
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char p[512], *out = NULL;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    ck_assert_int_eq(fileio_read_file(NULL, p, 1 << 28, &out, len), 0);
    return out;
}

static void spit(const char *dir, const char *name, const void *data,
                 size_t len, int flags)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | flags, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* ---- injected file operations ----------------------------------------- */

/* Delegates to the real calls; can shorten writes, inject EINTR, make a
 * call fail, slow fsync down, and logs what it was asked to do. */
struct fake {
    pthread_mutex_t mu;
    size_t max_write;   /* write at most this much per call; 0: all */
    int eintr_every;    /* every Nth write returns -EINTR; 0: never */
    int fail_write;     /* -errno for writes once armed; 0: none */
    int fsync_fail_in;  /* the Nth fsync from now fails; 0: none */
    int fail_rename;    /* -errno for rename; 0: none */
    int fsync_sleep_ms; /* delay every fsync */
    bool hold;          /* fsync waits while set (see release) */
    pthread_cond_t gate;
    int writes, fsyncs;  /* calls seen */
    size_t written;      /* bytes written through write() */
    size_t durable;      /* written when the last good fsync began */
    char names[256][32]; /* basename by descriptor */
    char log[64][48];    /* call log: "open .state.json.tmp", ... */
    int nlog;
};

static struct fake *fake_of(void *ctx)
{
    return ctx;
}

static void note(struct fake *f, const char *what, const char *name)
{
    pthread_mutex_lock(&f->mu);
    if (f->nlog < 64)
        snprintf(f->log[f->nlog++], sizeof(f->log[0]), "%s %s", what, name);
    pthread_mutex_unlock(&f->mu);
}

static const char *fd_name(struct fake *f, int fd)
{
    return fd >= 0 && fd < 256 ? f->names[fd] : "?";
}

static int f_open(void *ctx, const char *path, int flags, mode_t mode)
{
    struct fake *f = fake_of(ctx);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int fd = fileio_posix()->open(NULL, path, flags, mode);
    if (fd >= 0 && fd < 256)
        snprintf(f->names[fd], sizeof(f->names[0]), "%s",
                 (flags & O_DIRECTORY) ? "DIR" : base);
    note(f, "open", (flags & O_DIRECTORY) ? "DIR" : base);
    return fd;
}

static ssize_t f_pread(void *ctx, int fd, void *b, size_t n, off_t off)
{
    (void)ctx;
    return fileio_posix()->pread(NULL, fd, b, n, off);
}

static ssize_t f_write(void *ctx, int fd, const void *b, size_t n)
{
    struct fake *f = fake_of(ctx);
    pthread_mutex_lock(&f->mu);
    int k = ++f->writes;
    int fail = f->fail_write;
    size_t max = f->max_write;
    pthread_mutex_unlock(&f->mu);
    note(f, "write", fd_name(f, fd));
    if (fail)
        return fail;
    if (f->eintr_every && k % f->eintr_every == 0)
        return -EINTR;
    ssize_t w = fileio_posix()->write(NULL, fd, b, max && n > max ? max : n);
    pthread_mutex_lock(&f->mu);
    f->written += w > 0 ? (size_t)w : 0;
    pthread_mutex_unlock(&f->mu);
    return w;
}

static int f_fsync(void *ctx, int fd)
{
    struct fake *f = fake_of(ctx);
    pthread_mutex_lock(&f->mu);
    f->fsyncs++;
    size_t covered = f->written;
    bool fail = f->fsync_fail_in > 0 && --f->fsync_fail_in == 0;
    int ms = f->fsync_sleep_ms;
    while (f->hold)
        pthread_cond_wait(&f->gate, &f->mu);
    pthread_mutex_unlock(&f->mu);
    note(f, "fsync", fd_name(f, fd));
    if (ms) {
        struct timespec ts = {0, ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (fail)
        return -EIO;
    int rc = fileio_posix()->fsync(NULL, fd);
    pthread_mutex_lock(&f->mu);
    if (rc == 0 && covered > f->durable)
        f->durable = covered;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int f_ftruncate(void *ctx, int fd, off_t len)
{
    note(fake_of(ctx), "ftruncate", fd_name(fake_of(ctx), fd));
    return fileio_posix()->ftruncate(NULL, fd, len);
}

static int f_fsize(void *ctx, int fd, off_t *size)
{
    (void)ctx;
    return fileio_posix()->fsize(NULL, fd, size);
}

static int f_rename(void *ctx, const char *from, const char *to)
{
    struct fake *f = fake_of(ctx);
    note(f, "rename", strrchr(to, '/') + 1);
    return f->fail_rename ? f->fail_rename
                          : fileio_posix()->rename(NULL, from, to);
}

static int f_unlink(void *ctx, const char *path)
{
    note(fake_of(ctx), "unlink", strrchr(path, '/') + 1);
    return fileio_posix()->unlink(NULL, path);
}

static int f_close(void *ctx, int fd)
{
    note(fake_of(ctx), "close", fd_name(fake_of(ctx), fd));
    return fileio_posix()->close(NULL, fd);
}

static struct fileio_ops fake_ops(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->gate, NULL);
    return (struct fileio_ops){
        .open = f_open,
        .pread = f_pread,
        .write = f_write,
        .fsync = f_fsync,
        .ftruncate = f_ftruncate,
        .fsize = f_fsize,
        .rename = f_rename,
        .unlink = f_unlink,
        .close = f_close,
        .ctx = f,
    };
}

static int log_index(const struct fake *f, const char *entry)
{
    for (int i = 0; i < f->nlog; i++)
        if (strcmp(f->log[i], entry) == 0)
            return i;
    return -1;
}

/* ---- fileio ----------------------------------------------------------- */

START_TEST(write_all_survives_short_writes_and_eintr)
{
    char *dir = make_dir();
    struct fake f;
    struct fileio_ops ops = fake_ops(&f);
    f.max_write = 3;
    f.eintr_every = 2;
    char text[1000];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = (char)('a' + i % 26);
    char p[512];
    snprintf(p, sizeof(p), "%s/w", dir);
    int fd = open(p, O_WRONLY | O_CREAT, 0600);
    ck_assert_int_eq(fileio_write_all(&ops, fd, text, sizeof(text)), 0);
    close(fd);
    size_t len;
    char *got = slurp(dir, "w", &len);
    ck_assert_uint_eq(len, sizeof(text));
    ck_assert_int_eq(memcmp(got, text, len), 0);
    ck_assert_int_gt(f.writes, 600); /* 334 short writes + the EINTRs */
    free(got);

    f.fail_write = -ENOSPC;
    fd = open(p, O_WRONLY, 0600);
    ck_assert_int_eq(fileio_write_all(&ops, fd, text, 10), -ENOSPC);
    close(fd);
    remove_dir(dir);
}
END_TEST

START_TEST(replace_orders_write_fsync_rename_fsync_dir)
{
    char *dir = make_dir();
    struct fake f;
    struct fileio_ops ops = fake_ops(&f);
    ck_assert_int_eq(fileio_replace(&ops, dir, "s.json", "{\"v\":1}", 7), 0);
    int open_tmp = log_index(&f, "open .s.json.tmp");
    int write_tmp = log_index(&f, "write .s.json.tmp");
    int fsync_tmp = log_index(&f, "fsync .s.json.tmp");
    int close_tmp = log_index(&f, "close .s.json.tmp");
    int rename = log_index(&f, "rename s.json");
    int fsync_dir = log_index(&f, "fsync DIR");
    ck_assert_int_eq(open_tmp, 0);
    ck_assert_int_lt(open_tmp, write_tmp);
    ck_assert_int_lt(write_tmp, fsync_tmp);
    ck_assert_int_lt(fsync_tmp, close_tmp);
    ck_assert_int_lt(close_tmp, rename);
    ck_assert_int_lt(rename, fsync_dir);
    ck_assert_int_eq(log_index(&f, "unlink .s.json.tmp"), -1);
    char *got = slurp(dir, "s.json", NULL);
    ck_assert_str_eq(got, "{\"v\":1}");
    free(got);
    ck_assert_int_eq(count_entries(dir), 1);
    remove_dir(dir);
}
END_TEST

/* Each fault before the rename leaves the old content and no temp file. */
static const struct {
    const char *what;
    int fail_write, fsync_fail_in, fail_rename;
} replace_faults[] = {
    {"write", -ENOSPC, 0, 0},
    {"fsync", 0, 1, 0},
    {"rename", 0, 0, -EXDEV},
};

START_TEST(replace_fault_keeps_old_content)
{
    char *dir = make_dir();
    ck_assert_int_eq(fileio_replace(NULL, dir, "s.json", "old", 3), 0);
    struct fake f;
    struct fileio_ops ops = fake_ops(&f);
    f.fail_write = replace_faults[_i].fail_write;
    f.fsync_fail_in = replace_faults[_i].fsync_fail_in;
    f.fail_rename = replace_faults[_i].fail_rename;
    int rc = fileio_replace(&ops, dir, "s.json", "new content", 11);
    ck_assert_msg(rc < 0, "%s fault: rc %d", replace_faults[_i].what, rc);
    char *got = slurp(dir, "s.json", NULL);
    ck_assert_str_eq(got, "old");
    free(got);
    ck_assert_int_ge(log_index(&f, "unlink .s.json.tmp"), 0);
    ck_assert_int_eq(count_entries(dir), 1); /* no .s.json.tmp left */
    remove_dir(dir);
}
END_TEST

START_TEST(statefile_round_trip)
{
    char *dir = make_dir();
    char sentinel = 'x';
    char *text = &sentinel;
    ck_assert_int_eq(statefile_load(dir, &text), -ENOENT);
    ck_assert_ptr_null(text);
    ck_assert_int_eq(statefile_save(dir, NULL, "{\"paused\":true}"), 0);
    ck_assert_int_eq(statefile_load(dir, &text), 0);
    ck_assert_str_eq(text, "{\"paused\":true}");
    free(text);
    ck_assert_int_eq(statefile_save(dir, NULL, "{}"), 0);
    ck_assert_int_eq(statefile_load(dir, &text), 0);
    ck_assert_str_eq(text, "{}");
    free(text);
    spit(dir, STATEFILE_NAME, "{}\0x", 4, O_TRUNC);
    ck_assert_int_eq(statefile_load(dir, &text), -EBADMSG);
    ck_assert_ptr_null(text);
    ck_assert_int_eq(count_entries(dir), 1);
    remove_dir(dir);
}
END_TEST

/* ---- journal: round trip and recovery --------------------------------- */

struct collected {
    int n;
    uint64_t seq[4096];
    char *payload[4096];
};

static int collect(void *ctx, const struct journal_record *r)
{
    struct collected *c = ctx;
    ck_assert_int_lt(c->n, 4096);
    ck_assert_double_gt(r->ts, 1e9);
    c->seq[c->n] = r->seq;
    c->payload[c->n++] = xstrdup(r->payload);
    return 0;
}

static void collected_free(struct collected *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->payload[i]);
    c->n = 0;
}

static struct journal *open_ok(const char *dir, const struct fileio_ops *ops)
{
    int err = 1;
    struct journal *j = journal_open(dir, ops, &err);
    ck_assert_msg(j != NULL, "journal_open: %s", strerror(-err));
    ck_assert_int_eq(err, 0);
    return j;
}

static uint64_t append_ok(struct journal *j, const char *payload)
{
    uint64_t seq = 0;
    ck_assert_int_eq(journal_append(j, payload, &seq), 0);
    return seq;
}

START_TEST(round_trip_reopen_replay)
{
    char *dir = make_dir();
    struct journal *j = open_ok(dir, NULL);
    ck_assert_uint_eq(append_ok(j, "{\"type\":\"alert\",\"fp\":\"a\"}"), 1);
    ck_assert_uint_eq(append_ok(j, "{\n \"type\" : \"intent\",\n \"n\": "
                                   "12345678901234567890 }"),
                      2);
    ck_assert_uint_eq(append_ok(j, "{}"), 3);
    ck_assert_uint_eq(append_ok(j, "{\"s\":\",\\\"crc\\\":\\\"0\\\"} x\"}"), 4);
    ck_assert_int_eq(journal_close(j), 0);

    j = open_ok(dir, NULL);
    struct collected c = {0};
    ck_assert_int_eq(journal_replay(j, collect, &c), 0);
    ck_assert_int_eq(c.n, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_uint_eq(c.seq[i], (uint64_t)i + 1);
    ck_assert_str_eq(c.payload[0], "{\"type\":\"alert\",\"fp\":\"a\"}");
    ck_assert_str_eq(c.payload[1],
                     "{\"type\":\"intent\",\"n\":12345678901234567890}");
    ck_assert_str_eq(c.payload[2], "{}");
    ck_assert_str_eq(c.payload[3], "{\"s\":\",\\\"crc\\\":\\\"0\\\"} x\"}");
    collected_free(&c);
    ck_assert_uint_eq(append_ok(j, "{\"type\":\"outcome\"}"), 5);
    struct journal_stats st;
    journal_stats(j, &st);
    ck_assert_uint_eq(st.recovered_records, 4);
    ck_assert_uint_eq(st.appends, 1);
    ck_assert_uint_eq(st.last_seq, 5);
    ck_assert_int_eq(journal_replay(j, collect, &c), 0);
    ck_assert_int_eq(c.n, 5);
    ck_assert_str_eq(c.payload[4], "{\"type\":\"outcome\"}");
    collected_free(&c);
    journal_close(j);
    remove_dir(dir);
}
END_TEST

START_TEST(payloads_are_checked)
{
    char *dir = make_dir();
    struct journal *j = open_ok(dir, NULL);
    static const char *const bad[] = {
        "",
        "[1]",
        "\"x\"",
        "{\"a\":1",
        "{} x",
        "{\"seq\":1}",
        "{\"ts\":1}",
        "{\"crc\":\"x\"}",
        "{\"a\":\"raw\nnewline\"}",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        ck_assert_msg(journal_append(j, bad[i], NULL) == -EINVAL, "%s", bad[i]);
    size_t big = JOURNAL_MAX_PAYLOAD + 10;
    char *huge = xmalloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = '\0';
    ck_assert_int_eq(journal_append(j, huge, NULL), -EMSGSIZE);
    free(huge);
    ck_assert(!journal_failed(j));
    ck_assert_uint_eq(append_ok(j, "{\"nested\":{\"seq\":1}}"), 1);
    journal_close(j);
    remove_dir(dir);
}
END_TEST

START_TEST(second_open_is_refused)
{
    char *dir = make_dir();
    struct journal *j = open_ok(dir, NULL);
    int err = 0;
    ck_assert_ptr_null(journal_open(dir, NULL, &err));
    ck_assert_int_eq(err, -EBUSY);
    journal_close(j);
    journal_close(open_ok(dir, NULL));
    remove_dir(dir);
}
END_TEST

/* Ways a crash can leave the end of the file; each must be dropped with
 * the records before it intact. */
enum tail_kind {
    CUT_MID_LINE,
    GARBAGE,
    GARBAGE_LINES,
    ZEROS,
    FLIPPED,
    DUPLICATE,
    HUGE_LINE
};

static const struct {
    enum tail_kind kind;
    int survivors; /* of 3 records */
} tails[] = {
    {CUT_MID_LINE, 2}, {GARBAGE, 3},   {GARBAGE_LINES, 3}, {ZEROS, 3},
    {FLIPPED, 2},      {DUPLICATE, 3}, {HUGE_LINE, 3},
};

static void damage_tail(const char *dir, enum tail_kind kind)
{
    static const char garbage[] = "garbage{\"seq\":";
    static const char lines[] = "xx\n{\"seq\":4,\"ts\":1}\n\n{";
    char p[512];
    snprintf(p, sizeof(p), "%s/journal.jsonl", dir);
    size_t len;
    char *text = slurp(dir, "journal.jsonl", &len);
    char *last = text + len - 1;
    while (last > text && last[-1] != '\n')
        last--;
    size_t last_len = (size_t)(text + len - last);
    char *junk = xcalloc(1, 3 << 20);
    switch (kind) {
    case CUT_MID_LINE:
        ck_assert_int_eq(truncate(p, (off_t)(len - last_len / 2)), 0);
        break;
    case GARBAGE:
        spit(dir, "journal.jsonl", garbage, strlen(garbage), O_APPEND);
        break;
    case GARBAGE_LINES:
        spit(dir, "journal.jsonl", lines, strlen(lines), O_APPEND);
        break;
    case ZEROS:
        spit(dir, "journal.jsonl", junk, 8192, O_APPEND);
        break;
    case FLIPPED:
        last[last_len / 2] ^= 0x01;
        spit(dir, "journal.jsonl", text, len, O_TRUNC);
        break;
    case DUPLICATE:
        spit(dir, "journal.jsonl", last, last_len, O_APPEND);
        break;
    case HUGE_LINE:
        memset(junk, 'x', 3 << 20);
        junk[(2 << 20) + 5] = '\n';
        spit(dir, "journal.jsonl", junk, 3 << 20, O_APPEND);
        break;
    }
    free(junk);
    free(text);
}

START_TEST(torn_tail_is_dropped)
{
    char *dir = make_dir();
    struct journal *j = open_ok(dir, NULL);
    for (int i = 0; i < 3; i++)
        append_ok(j, "{\"type\":\"intent\",\"action\":\"throttle\"}");
    journal_close(j);
    size_t clean_len;
    free(slurp(dir, "journal.jsonl", &clean_len));
    damage_tail(dir, tails[_i].kind);

    j = open_ok(dir, NULL);
    struct journal_stats st;
    journal_stats(j, &st);
    int n = tails[_i].survivors;
    ck_assert_uint_eq(st.recovered_records, (uint64_t)n);
    ck_assert_uint_gt(st.dropped_bytes, 0);
    if (n == 3) {
        size_t len;
        free(slurp(dir, "journal.jsonl", &len));
        ck_assert_uint_eq(len, clean_len);
    }
    ck_assert_uint_eq(append_ok(j, "{\"type\":\"after\"}"), (uint64_t)n + 1);
    journal_close(j);

    j = open_ok(dir, NULL);
    journal_stats(j, &st);
    ck_assert_uint_eq(st.dropped_bytes, 0);
    struct collected c = {0};
    ck_assert_int_eq(journal_replay(j, collect, &c), 0);
    ck_assert_int_eq(c.n, n + 1);
    ck_assert_str_eq(c.payload[n], "{\"type\":\"after\"}");
    collected_free(&c);
    journal_close(j);
    remove_dir(dir);
}
END_TEST

START_TEST(damage_before_valid_records_refuses_to_open)
{
    char *dir = make_dir();
    struct journal *j = open_ok(dir, NULL);
    for (int i = 0; i < 3; i++)
        append_ok(j, "{\"type\":\"alert\"}");
    journal_close(j);
    size_t len;
    char *text = slurp(dir, "journal.jsonl", &len);
    text[10] ^= 0x01; /* inside record 1 */
    spit(dir, "journal.jsonl", text, len, O_TRUNC);
    int err = 0;
    ck_assert_ptr_null(journal_open(dir, NULL, &err));
    ck_assert_int_eq(err, -EBADMSG);
    size_t after_len;
    char *after = slurp(dir, "journal.jsonl", &after_len);
    ck_assert_uint_eq(after_len, len); /* left alone for the operator */
    ck_assert_int_eq(memcmp(after, text, len), 0);
    free(after);
    free(text);
    remove_dir(dir);
}
END_TEST

START_TEST(short_writes_and_eintr_keep_records_whole)
{
    char *dir = make_dir();
    struct fake f;
    struct fileio_ops ops = fake_ops(&f);
    struct journal *j = open_ok(dir, &ops);
    f.max_write = 7;
    f.eintr_every = 3;
    char payload[128];
    for (int i = 0; i < 50; i++) {
        snprintf(payload, sizeof(payload), "{\"type\":\"alert\",\"i\":%d}", i);
        ck_assert_uint_eq(append_ok(j, payload), (uint64_t)i + 1);
    }
    ck_assert_int_gt(f.writes, 50 * 8);
    journal_close(j);
    j = open_ok(dir, NULL);
    struct collected c = {0};
    ck_assert_int_eq(journal_replay(j, collect, &c), 0);
    ck_assert_int_eq(c.n, 50);
    for (int i = 0; i < 50; i++) {
        snprintf(payload, sizeof(payload), "{\"type\":\"alert\",\"i\":%d}", i);
        ck_assert_str_eq(c.payload[i], payload);
    }
    collected_free(&c);
    journal_close(j);
    remove_dir(dir);
}
END_TEST

/* ---- journal: group commit and fail-stop ------------------------------ */

#define THREADS    8
#define PER_THREAD 200

struct worker {
    struct journal *j;
    int id, count;
    int rc[PER_THREAD];
    uint64_t seq[PER_THREAD];
};

static void *work(void *arg)
{
    struct worker *w = arg;
    char payload[96];
    for (int i = 0; i < w->count; i++) {
        snprintf(payload, sizeof(payload),
                 "{\"type\":\"alert\",\"t\":%d,\"i\":%d}", w->id, i);
        w->rc[i] = journal_append(w->j, payload, &w->seq[i]);
    }
    return NULL;
}

static void run_workers(struct journal *j, struct worker *w, int n, int count)
{
    pthread_t th[THREADS];
    for (int t = 0; t < n; t++) {
        w[t] = (struct worker){.j = j, .id = t, .count = count};
        ck_assert_int_eq(pthread_create(&th[t], NULL, work, &w[t]), 0);
    }
    for (int t = 0; t < n; t++)
        pthread_join(th[t], NULL);
}

/* check_once: every (thread, i) payload appears exactly once, in order of
 * seq. */
static void check_once(const struct collected *c, int threads, int count)
{
    bool *seen = xcalloc((size_t)(threads * count), sizeof(*seen));
    for (int k = 0; k < c->n; k++) {
        ck_assert_uint_eq(c->seq[k], (uint64_t)k + 1);
        cJSON *o = cJSON_Parse(c->payload[k]);
        ck_assert_ptr_nonnull(o);
        int t = cJSON_GetObjectItem(o, "t")->valueint;
        int i = cJSON_GetObjectItem(o, "i")->valueint;
        cJSON_Delete(o);
        ck_assert(t >= 0 && t < threads && i >= 0 && i < count);
        ck_assert_msg(!seen[t * count + i], "record %d/%d twice", t, i);
        seen[t * count + i] = true;
    }
    free(seen);
}

START_TEST(group_commit_shares_fsyncs)
{
    char *dir = make_dir();
    struct fake f;
    struct fileio_ops ops = fake_ops(&f);
    struct journal *j = open_ok(dir, &ops);
    f.fsync_sleep_ms = 2;
    struct worker *w = xcalloc(THREADS, sizeof(*w));
    run_workers(j, w, THREADS, PER_THREAD);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i++)
            ck_assert_int_eq(w[t].rc[i], 0);
    struct journal_stats st;
    journal_stats(j, &st);
    fprintf(stderr,
            "group commit: %" PRIu64 " appends, %" PRIu64
            " fsyncs (%.1f appends per fsync)\n",
            st.appends, st.fsyncs, (double)st.appends / (double)st.fsyncs);
    ck_assert_uint_eq(st.appends, THREADS * PER_THREAD);
    ck_assert_uint_lt(st.fsyncs, THREADS * PER_THREAD / 2);
    ck_assert_uint_eq(f.durable, f.written); /* all of it fsync'd */
    journal_close(j);

    j = open_ok(dir, NULL);
    struct collected *c = xcalloc(1, sizeof(*c));
    ck_assert_int_eq(journal_replay(j, collect, c), 0);
    ck_assert_int_eq(c->n, THREADS * PER_THREAD);
    check_once(c, THREADS, PER_THREAD);
    collected_free(c);
    free(c);
    free(w);
    journal_close(j);
    remove_dir(dir);
}
END_TEST

/* Asynchronous appends: what their callbacks reported, in order. */
struct calls {
    pthread_mutex_t mu;
    int n, rc[8];
    uint64_t seq[8];
};

struct call_ctx {
    struct calls *c;
    uint64_t seq;
};

static void on_done(void *arg, int rc)
{
    struct call_ctx *x = arg;
    pthread_mutex_lock(&x->c->mu);
    x->c->rc[x->c->n] = rc;
    x->c->seq[x->c->n++] = x->seq;
    pthread_mutex_unlock(&x->c->mu);
}

static int calls_seen(struct calls *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static int fsyncs_seen(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->fsyncs;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static void release(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->hold = false;
    pthread_cond_broadcast(&f->gate);
    pthread_mutex_unlock(&f->mu);
}

/* wait_until: polls cond(arg) >= want for up to 10 s. */
static void wait_until(int (*cond)(void *), void *arg, int want)
{
    for (int i = 0; i < 10000 && cond(arg) < want; i++) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
}

static int calls_of(void *c)
{
    return calls_seen(c);
}

static int fsyncs_of(void *f)
{
    return fsyncs_seen(f);
}

/* An asynchronous append returns at once and is called back only after
 * its record's fsync, in seq order; once the journal failed, with -EIO,
 * and later appends are refused at once. */
START_TEST(async_appends_call_back_after_fsync)
{
    char *dir = make_dir();
    struct fake f;
    struct fileio_ops ops = fake_ops(&f);
    struct journal *j = open_ok(dir, &ops);
    struct calls c = {.n = 0};
    pthread_mutex_init(&c.mu, NULL);
    struct call_ctx x[4];
    f.hold = true;
    for (int i = 0; i < 3; i++) {
        x[i].c = &c;
        ck_assert_int_eq(journal_append_async(j, "{\"type\":\"a\"}", &x[i].seq,
                                              on_done, &x[i]),
                         0);
        ck_assert_uint_eq(x[i].seq, (uint64_t)i + 1);
    }
    /* the writer is in its fsync (how the three records split between
     * fsyncs depends on scheduling: under valgrind it took two) */
    wait_until(fsyncs_of, &f, 1);
    ck_assert_int_ge(fsyncs_seen(&f), 1);
    ck_assert_int_eq(calls_seen(&c), 0); /* nothing durable yet */
    release(&f);
    wait_until(calls_of, &c, 3);
    ck_assert_int_eq(calls_seen(&c), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(c.rc[i], 0);
        ck_assert_uint_eq(c.seq[i], (uint64_t)i + 1);
    }
    ck_assert_uint_eq(f.durable, f.written);
    struct journal_stats st;
    journal_stats(j, &st);
    ck_assert_uint_eq(st.appends, 3);

    f.fsync_fail_in = 1;
    x[3].c = &c;
    ck_assert_int_eq(
        journal_append_async(j, "{\"type\":\"b\"}", &x[3].seq, on_done, &x[3]),
        0);
    wait_until(calls_of, &c, 4);
    ck_assert_int_eq(calls_seen(&c), 4);
    ck_assert_int_eq(c.rc[3], -EIO);
    ck_assert_int_eq(
        journal_append_async(j, "{\"type\":\"c\"}", NULL, on_done, &x[3]),
        -EIO);
    journal_close(j);
    ck_assert_int_eq(c.n, 4); /* the refused one was never called back */
    pthread_mutex_destroy(&c.mu);
    remove_dir(dir);
}
END_TEST

/* line_end: the file offset just past the line of record seq. */
static size_t line_end(const char *text, size_t len, uint64_t seq)
{
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' && ++n == seq)
            return i + 1;
    ck_abort_msg("record %" PRIu64 " not in the file", seq);
    return 0;
}

/* Faults that stop the journal: a failing fsync, a failing write. */
static const struct {
    int fsync_fail_in, fail_write;
} stops[] = {{5, 0}, {1, 0}, {0, -ENOSPC}};

START_TEST(failure_stops_the_journal)
{
    char *dir = make_dir();
    struct fake f;
    struct fileio_ops ops = fake_ops(&f);
    struct journal *j = open_ok(dir, &ops);
    append_ok(j, "{\"type\":\"before\"}");
    f.fsync_fail_in = stops[_i].fsync_fail_in;
    f.fail_write = stops[_i].fail_write;
    struct worker *w = xcalloc(4, sizeof(*w));
    run_workers(j, w, 4, 50);
    ck_assert(journal_failed(j));
    int ok = 1, writes = f.writes;
    for (int t = 0; t < 4; t++) {
        bool failed = false;
        for (int i = 0; i < 50; i++) {
            ck_assert(w[t].rc[i] == 0 || w[t].rc[i] == -EIO);
            ck_assert_msg(!(failed && w[t].rc[i] == 0), "append after -EIO");
            failed = failed || w[t].rc[i] != 0;
            ok += w[t].rc[i] == 0;
        }
        ck_assert(failed);
    }
    ck_assert_int_eq(journal_append(j, "{\"type\":\"late\"}", NULL), -EIO);
    ck_assert_int_eq(f.writes, writes); /* refused without touching disk */
    struct journal_stats st;
    journal_stats(j, &st);
    ck_assert_uint_eq(st.appends, (uint64_t)ok);
    journal_close(j);

    /* every record reported durable was covered by a good fsync */
    size_t len;
    char *text = slurp(dir, "journal.jsonl", &len);
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < 50; i++)
            if (w[t].rc[i] == 0)
                ck_assert_uint_le(line_end(text, len, w[t].seq[i]), f.durable);
    free(text);
    j = open_ok(dir, NULL);
    journal_stats(j, &st);
    ck_assert_uint_ge(st.recovered_records, (uint64_t)ok);
    journal_close(j);
    free(w);
    remove_dir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("fileio");
    tcase_add_test(tc, write_all_survives_short_writes_and_eintr);
    tcase_add_test(tc, replace_orders_write_fsync_rename_fsync_dir);
    tcase_add_loop_test(tc, replace_fault_keeps_old_content, 0,
                        (int)ARRAY_LEN(replace_faults));
    tcase_add_test(tc, statefile_round_trip);
    suite_add_tcase(s, tc);
    tc = tcase_create("journal");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_trip_reopen_replay);
    tcase_add_test(tc, payloads_are_checked);
    tcase_add_test(tc, second_open_is_refused);
    tcase_add_loop_test(tc, torn_tail_is_dropped, 0, (int)ARRAY_LEN(tails));
    tcase_add_test(tc, damage_before_valid_records_refuses_to_open);
    tcase_add_test(tc, short_writes_and_eintr_keep_records_whole);
    tcase_add_test(tc, group_commit_shares_fsyncs);
    tcase_add_test(tc, async_appends_call_back_after_fsync);
    tcase_add_loop_test(tc, failure_stops_the_journal, 0,
                        (int)ARRAY_LEN(stops));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
