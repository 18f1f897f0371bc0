/* journal.c: append-only, checksummed, group-committed record file.
 *
 * Locking: one mutex guards everything but the writer's write and fsync.
 * An appender queues its line (seq assigned in queue order, so the file
 * is in seq order) and wakes the writer thread, which takes the whole
 * queue, drops the lock, writes and fsyncs, retakes the lock, publishes
 * durable_seq (or the failure), wakes every waiting appender and calls
 * back the asynchronous ones (outside the lock), then takes what was
 * queued meanwhile: records arriving during an fsync share the next one.
 * Only the writer touches the descriptor's write side. */
#include "act/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include <cjson/cJSON.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/util.h"

#define JOURNAL_FILE   "journal.jsonl"
#define MAX_LINE       (JOURNAL_MAX_PAYLOAD + 256)
#define CRC_SUFFIX_LEN 18 /* ,"crc":"hhhhhhhh"} (8 hex digits) */
#define SCAN_CHUNK     65536

/* An asynchronous append waiting for its record to be durable. */
struct pending {
    uint64_t seq;
    journal_done_fn fn;
    void *ctx;
};

struct journal {
    pthread_mutex_t mu;
    pthread_cond_t done; /* a commit finished */
    pthread_cond_t work; /* records queued, or closing */
    pthread_t writer;
    bool writer_running, closing;
    struct pending *pend; /* asynchronous appends not yet called back */
    size_t n_pend, cap_pend;
    const struct fileio_ops *ops; /* the caller's; outlives us */
    struct rg_clock clock;
    char *path;
    int fd;
    struct buf queue;     /* lines queued, not yet written */
    uint64_t next_seq;    /* seq of the next record */
    uint64_t queued_seq;  /* seq of the last queued line */
    uint64_t durable_seq; /* every record up to this one is fsync'd */
    off_t durable_size;   /* file length holding exactly those records */
    int error;            /* 0, or the -errno that stopped the journal */
    struct journal_stats st;
};

static void *writer(void *arg);

/* crc32_ieee: CRC-32 (IEEE 802.3, reflected), a nibble at a time. */
static uint32_t crc32_ieee(const void *p, size_t n)
{
    static const uint32_t t[16] = {
        0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
        0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
        0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
    };
    const unsigned char *s = p;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= s[i];
        c = (c >> 4) ^ t[c & 15];
        c = (c >> 4) ^ t[c & 15];
    }
    return ~c;
}

/* ---- line format ------------------------------------------------------ */

/* A parsed line; inner points into the line: the payload's members. */
struct rec_view {
    uint64_t seq;
    double ts;
    const char *inner;
    size_t inner_len;
};

/* check_crc: 0 when line (no newline) ends in a crc field matching the
 * bytes before it, else -EBADMSG. */
static int check_crc(const char *line, size_t len)
{
    static const char key[] = ",\"crc\":\"";
    if (len < CRC_SUFFIX_LEN + 2)
        return -EBADMSG;
    const char *sfx = line + len - CRC_SUFFIX_LEN;
    if (memcmp(sfx, key, 8) != 0 || sfx[16] != '"' || sfx[17] != '}')
        return -EBADMSG;
    uint32_t want = 0;
    for (int i = 8; i < 16; i++) {
        char c = sfx[i];
        uint32_t v;
        if (c >= '0' && c <= '9')
            v = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = (uint32_t)(c - 'a' + 10);
        else
            return -EBADMSG;
        want = want << 4 | v;
    }
    return crc32_ieee(line, len - CRC_SUFFIX_LEN) == want ? 0 : -EBADMSG;
}

/* number_at: parses the n bytes at p as a seq (as_seq) or a ts. */
static int number_at(const char *p, size_t n, bool as_seq, struct rec_view *v)
{
    char tmp[40];
    if (n == 0 || n >= sizeof(tmp))
        return -EBADMSG;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    if (as_seq)
        return parse_u64(tmp, 1, UINT64_MAX, &v->seq) ? -EBADMSG : 0;
    return parse_double(tmp, &v->ts) ? -EBADMSG : 0;
}

/* parse_line: validates one line (without its newline) and splits it
 * into seq, ts and the payload's members. Returns 0 or -EBADMSG. */
static int parse_line(const char *line, size_t len, struct rec_view *v)
{
    static const char pfx[] = "{\"seq\":";
    static const char tsk[] = ",\"ts\":";
    if (check_crc(line, len) != 0)
        return -EBADMSG;
    const char *end = line + len - CRC_SUFFIX_LEN;
    const char *p = line + strlen(pfx);
    if (p > end || memcmp(line, pfx, strlen(pfx)) != 0)
        return -EBADMSG;
    const char *comma = memchr(p, ',', (size_t)(end - p));
    if (!comma || number_at(p, (size_t)(comma - p), true, v) != 0)
        return -EBADMSG;
    if ((size_t)(end - comma) < strlen(tsk) ||
        memcmp(comma, tsk, strlen(tsk)) != 0)
        return -EBADMSG;
    p = comma + strlen(tsk);
    comma = memchr(p, ',', (size_t)(end - p));
    const char *ts_end = comma ? comma : end;
    if (number_at(p, (size_t)(ts_end - p), false, v) != 0)
        return -EBADMSG;
    v->inner = comma ? comma + 1 : end;
    v->inner_len = (size_t)(end - v->inner);
    return 0;
}

/* minify: copies the JSON text s to out without the whitespace between
 * tokens. Returns 0, or -EINVAL for a control character inside a string
 * (a raw newline there would split the record). */
static int minify(const char *s, struct buf *out)
{
    bool in_str = false, esc = false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (in_str) {
            if (c < 0x20)
                return -EINVAL;
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            continue;
        } else if (c == '"') {
            in_str = true;
        }
        buf_append(out, s, 1);
    }
    return 0;
}

/* normalize: checks that payload is a JSON object without reserved keys
 * and returns it on one line, byte for byte otherwise (numbers keep their
 * digits). The caller frees *out. */
static int normalize(const char *payload, char **out)
{
    *out = NULL;
    if (strnlen(payload, JOURNAL_MAX_PAYLOAD + 1) > JOURNAL_MAX_PAYLOAD)
        return -EMSGSIZE;
    cJSON *o = cJSON_ParseWithOpts(payload, NULL, 1);
    bool ok = cJSON_IsObject(o) &&
              !cJSON_GetObjectItemCaseSensitive(o, "seq") &&
              !cJSON_GetObjectItemCaseSensitive(o, "ts") &&
              !cJSON_GetObjectItemCaseSensitive(o, "crc");
    cJSON_Delete(o);
    if (!ok)
        return -EINVAL;
    struct buf b;
    buf_init(&b, 0);
    int rc = minify(payload, &b);
    if (rc != 0) {
        buf_free(&b);
        return rc;
    }
    *out = buf_detach(&b);
    return 0;
}

/* ---- reading lines ---------------------------------------------------- */

/* Reads a file's first limit bytes line by line, in bounded memory. */
struct scan {
    const struct fileio_ops *ops;
    int fd;
    off_t limit;   /* bytes of the file to read */
    off_t base;    /* file offset of b.data[0] */
    size_t pos;    /* next unconsumed byte of b */
    bool skipping; /* discarding the rest of an over-long line */
    struct buf b;
};

struct line {
    const char *p; /* valid until the next scan_next() */
    size_t len;    /* without the newline */
    off_t off;     /* file offset of the line */
    bool whole;    /* ended by a newline and not over MAX_LINE */
};

static void scan_init(struct scan *s, const struct fileio_ops *ops, int fd,
                      off_t limit)
{
    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->fd = fd;
    s->limit = limit;
    buf_init(&s->b, 0);
}

/* fill: drops consumed bytes and reads more. Returns the number of bytes
 * read, 0 at the limit or end of file, or -errno. */
static ssize_t fill(struct scan *s)
{
    char chunk[SCAN_CHUNK];
    size_t keep = s->b.len - s->pos;
    if (s->b.data) {
        memmove(s->b.data, s->b.data + s->pos, keep);
        s->b.len = keep;
        s->b.data[keep] = '\0';
    }
    s->base += (off_t)s->pos;
    s->pos = 0;
    off_t at = s->base + (off_t)keep;
    if (at >= s->limit)
        return 0;
    size_t want = sizeof(chunk);
    if ((off_t)want > s->limit - at)
        want = (size_t)(s->limit - at);
    ssize_t r;
    do {
        r = s->ops->pread(s->ops->ctx, s->fd, chunk, want, at);
    } while (r == -EINTR);
    if (r > 0)
        buf_append(&s->b, chunk, (size_t)r);
    return r;
}

static int emit(struct scan *s, struct line *l, size_t n, bool newline)
{
    l->p = s->b.data + s->pos;
    l->len = n;
    l->off = s->base + (off_t)s->pos;
    l->whole = newline && n <= MAX_LINE;
    s->pos += n + (newline ? 1 : 0);
    return 1;
}

/* scan_next: the next line into *l. Returns 1, 0 at the end, or -errno.
 * A last line without a newline and an over-long line come back with
 * whole false (the latter once, its rest skipped). */
static int scan_next(struct scan *s, struct line *l)
{
    for (;;) {
        char *start = s->b.data ? s->b.data + s->pos : NULL;
        size_t avail = s->b.len - s->pos;
        char *nl = avail ? memchr(start, '\n', avail) : NULL;
        if (s->skipping && nl) {
            s->pos += (size_t)(nl - start) + 1;
            s->skipping = false;
            continue;
        }
        if (s->skipping)
            s->pos = s->b.len;
        else if (nl)
            return emit(s, l, (size_t)(nl - start), true);
        else if (avail > MAX_LINE) {
            s->skipping = true;
            return emit(s, l, avail, false);
        }
        ssize_t r = fill(s);
        if (r < 0)
            return (int)r;
        if (r == 0 && (s->skipping || s->pos == s->b.len))
            return 0;
        if (r == 0)
            return emit(s, l, s->b.len - s->pos, false);
    }
}

/* ---- opening and recovery --------------------------------------------- */

struct recovery {
    uint64_t last_seq; /* of the last good record */
    uint64_t records;
    off_t good_end;   /* end of the valid prefix */
    bool bad;         /* an invalid line was seen */
    bool valid_after; /* ... and a valid record after it */
};

static void take_line(struct recovery *rv, const struct line *l)
{
    struct rec_view v;
    if (l->whole && parse_line(l->p, l->len, &v) == 0 &&
        v.seq == rv->last_seq + 1) {
        rv->last_seq = v.seq;
        rv->records++;
        rv->good_end = l->off + (off_t)l->len + 1;
        return;
    }
    rv->bad = true;
}

/* recover_scan: finds the valid prefix of the first size bytes. */
static int recover_scan(struct journal *j, off_t size, struct recovery *rv)
{
    struct scan s;
    struct line l;
    int rc;
    memset(rv, 0, sizeof(*rv));
    scan_init(&s, j->ops, j->fd, size);
    for (;;) {
        rc = scan_next(&s, &l);
        if (rc <= 0)
            break;
        if (!rv->bad)
            take_line(rv, &l);
        else if (l.whole && check_crc(l.p, l.len) == 0)
            rv->valid_after = true;
        if (rv->valid_after)
            break;
    }
    buf_free(&s.b);
    return rc < 0 ? rc : 0;
}

/* cut_tail: truncates a torn tail away, durably. */
static int cut_tail(struct journal *j, const struct recovery *rv, off_t size)
{
    char q[512];
    log_msg(LOG_WARN,
            "msg=\"journal: dropping torn tail\" path=%s offset=%lld "
            "bytes=%lld records=%" PRIu64,
            log_quote(q, sizeof(q), j->path), (long long)rv->good_end,
            (long long)(size - rv->good_end), rv->records);
    int rc = j->ops->ftruncate(j->ops->ctx, j->fd, rv->good_end);
    if (rc == 0)
        rc = j->ops->fsync(j->ops->ctx, j->fd);
    j->st.dropped_bytes = (uint64_t)(size - rv->good_end);
    return rc;
}

/* recover: validates the file and makes its valid prefix the journal. */
static int recover(struct journal *j)
{
    char q[512];
    off_t size = 0;
    struct recovery rv;
    int rc = j->ops->fsize(j->ops->ctx, j->fd, &size);
    if (rc == 0)
        rc = recover_scan(j, size, &rv);
    if (rc != 0)
        return rc;
    if (rv.valid_after) {
        log_msg(LOG_ERROR,
                "msg=\"journal: damaged record before valid ones, refusing "
                "to open\" path=%s offset=%lld last_good_seq=%" PRIu64,
                log_quote(q, sizeof(q), j->path), (long long)rv.good_end,
                rv.last_seq);
        return -EBADMSG;
    }
    if (rv.bad)
        rc = cut_tail(j, &rv, size);
    j->next_seq = rv.last_seq + 1;
    j->durable_seq = rv.last_seq;
    j->queued_seq = rv.last_seq;
    j->durable_size = rv.good_end;
    j->st.last_seq = rv.last_seq;
    j->st.recovered_records = rv.records;
    return rc;
}

/* lock_file: one journal per file; a second agent on the same state_dir
 * would repeat actions. Only a held lock is an error (a file system
 * without flock still works). */
static int lock_file(int fd)
{
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    return errno == EWOULDBLOCK ? -EBUSY : 0;
}

static struct journal *journal_alloc(const char *dir,
                                     const struct fileio_ops *ops)
{
    struct journal *j = xcalloc(1, sizeof(*j));
    struct buf p;
    buf_init(&p, 0);
    buf_printf(&p, "%s/%s", dir, JOURNAL_FILE);
    j->path = buf_detach(&p);
    j->ops = fileio_or_posix(ops);
    j->clock = clock_system();
    j->fd = -1;
    buf_init(&j->queue, 0);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->done, NULL);
    pthread_cond_init(&j->work, NULL);
    return j;
}

struct journal *journal_open(const char *dir, const struct fileio_ops *ops,
                             int *err)
{
    struct journal *j = journal_alloc(dir, ops);
    int flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC;
    int rc = j->ops->open(j->ops->ctx, j->path, flags, 0600);
    if (rc < 0)
        goto out;
    j->fd = rc;
    rc = lock_file(j->fd);
    if (rc == 0)
        rc = recover(j);
    if (rc == 0)
        rc = fileio_fsync_dir(j->ops, dir);
    if (rc == 0) {
        rc = -pthread_create(&j->writer, NULL, writer, j);
        j->writer_running = rc == 0;
    }
out:
    if (rc < 0) {
        char q[512];
        log_msg(LOG_ERROR, "msg=\"journal: cannot open\" path=%s error=%s",
                log_quote(q, sizeof(q), j->path), strerror(-rc));
        journal_close(j);
        j = NULL;
    }
    if (err)
        *err = rc < 0 ? rc : 0;
    return j;
}

/* ---- appending -------------------------------------------------------- */

/* enqueue: formats the next record around norm and queues it. Locked. */
static uint64_t enqueue(struct journal *j, const char *norm)
{
    uint64_t seq = j->next_seq++;
    size_t start = j->queue.len;
    size_t n = strlen(norm);
    buf_printf(&j->queue, "{\"seq\":%" PRIu64 ",\"ts\":%.3f", seq,
               clock_wall(&j->clock));
    if (n > 2) {
        buf_puts(&j->queue, ",");
        buf_append(&j->queue, norm + 1, n - 2);
    }
    uint32_t crc = crc32_ieee(j->queue.data + start, j->queue.len - start);
    buf_printf(&j->queue, ",\"crc\":\"%08" PRIx32 "\"}\n", crc);
    j->queued_seq = seq;
    return seq;
}

/* publish: records a commit's result. Locked. */
static void publish(struct journal *j, int rc, uint64_t last, size_t len)
{
    char q[512];
    if (rc == 0) {
        j->durable_seq = last;
        j->durable_size += (off_t)len;
        j->st.last_seq = last;
        return;
    }
    j->error = rc;
    log_msg(LOG_ERROR,
            "msg=\"journal failed, refusing further records\" path=%s "
            "error=%s lost_from_seq=%" PRIu64,
            log_quote(q, sizeof(q), j->path), strerror(-rc),
            j->durable_seq + 1);
}

/* commit: writes and fsyncs everything queued. Called and returns
 * locked; drops the lock for the I/O. After a failure the records queued
 * meanwhile are dropped: they were refused. */
static void commit(struct journal *j)
{
    struct buf batch = j->queue;
    uint64_t last = j->queued_seq;
    buf_init(&j->queue, 0);
    pthread_mutex_unlock(&j->mu);
    int rc = fileio_write_all(j->ops, j->fd, batch.data, batch.len);
    bool synced = rc == 0;
    if (synced)
        rc = j->ops->fsync(j->ops->ctx, j->fd);
    pthread_mutex_lock(&j->mu);
    if (synced)
        j->st.fsyncs++;
    publish(j, rc, last, batch.len);
    if (j->error)
        buf_reset(&j->queue);
    pthread_cond_broadcast(&j->done);
    buf_free(&batch);
}

/* notify: calls back the asynchronous appends whose records are durable,
 * or all of them once the journal failed. Called and returns locked;
 * drops the lock for the callbacks. */
static void notify(struct journal *j)
{
    size_t n = 0;
    while (n < j->n_pend && (j->error || j->pend[n].seq <= j->durable_seq))
        n++;
    if (n == 0)
        return;
    struct pending *done = xmalloc(n * sizeof(*done));
    memcpy(done, j->pend, n * sizeof(*done));
    memmove(j->pend, j->pend + n, (j->n_pend - n) * sizeof(*j->pend));
    j->n_pend -= n;
    int rc = j->error ? -EIO : 0;
    if (rc == 0)
        j->st.appends += n;
    pthread_mutex_unlock(&j->mu);
    for (size_t i = 0; i < n; i++)
        done[i].fn(done[i].ctx, rc);
    free(done);
    pthread_mutex_lock(&j->mu);
}

static void *writer(void *arg)
{
    struct journal *j = arg;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (j->queue.len == 0 && !j->closing)
            pthread_cond_wait(&j->work, &j->mu);
        if (j->queue.len == 0)
            break; /* closing, and everything queued is written */
        commit(j);
        notify(j);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* submit: queues norm as the next record and wakes the writer; returns
 * its seq, or 0 when the journal has failed. Locked. */
static uint64_t submit(struct journal *j, const char *norm)
{
    if (j->error != 0)
        return 0;
    uint64_t seq = enqueue(j, norm);
    pthread_cond_signal(&j->work);
    return seq;
}

int journal_append(struct journal *j, const char *payload_json, uint64_t *seq)
{
    char *norm;
    int rc = normalize(payload_json, &norm);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&j->mu);
    uint64_t mine = submit(j, norm);
    while (mine && j->durable_seq < mine && j->error == 0)
        pthread_cond_wait(&j->done, &j->mu);
    rc = mine && j->durable_seq >= mine ? 0 : -EIO;
    if (rc == 0)
        j->st.appends++;
    pthread_mutex_unlock(&j->mu);
    free(norm);
    if (rc == 0 && seq)
        *seq = mine;
    return rc;
}

int journal_append_async(struct journal *j, const char *payload_json,
                         uint64_t *seq, journal_done_fn fn, void *ctx)
{
    char *norm;
    int rc = normalize(payload_json, &norm);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&j->mu);
    uint64_t mine = submit(j, norm);
    if (mine) {
        if (j->n_pend == j->cap_pend) {
            j->cap_pend = j->cap_pend ? 2 * j->cap_pend : 64;
            j->pend = xrealloc(j->pend, j->cap_pend * sizeof(*j->pend));
        }
        j->pend[j->n_pend++] = (struct pending){mine, fn, ctx};
    }
    pthread_mutex_unlock(&j->mu);
    free(norm);
    if (mine && seq)
        *seq = mine;
    return mine ? 0 : -EIO;
}

/* ---- replay, state, close --------------------------------------------- */

/* deliver: checks one replayed line and hands it to fn. */
static int deliver(const struct line *l, uint64_t *last, journal_replay_fn fn,
                   void *ctx)
{
    struct rec_view v;
    if (!l->whole || parse_line(l->p, l->len, &v) != 0 || v.seq != *last + 1)
        return -EBADMSG;
    *last = v.seq;
    struct buf p;
    buf_init(&p, 0);
    buf_puts(&p, "{");
    buf_append(&p, v.inner, v.inner_len);
    buf_puts(&p, "}");
    struct journal_record r = {.seq = v.seq, .ts = v.ts, .payload = p.data};
    int rc = fn(ctx, &r);
    buf_free(&p);
    return rc;
}

int journal_replay(struct journal *j, journal_replay_fn fn, void *ctx)
{
    pthread_mutex_lock(&j->mu);
    off_t limit = j->durable_size;
    pthread_mutex_unlock(&j->mu);
    int fd = j->ops->open(j->ops->ctx, j->path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    struct scan s;
    struct line l;
    uint64_t last = 0;
    int rc;
    scan_init(&s, j->ops, fd, limit);
    for (;;) {
        rc = scan_next(&s, &l);
        if (rc <= 0)
            break;
        rc = deliver(&l, &last, fn, ctx);
        if (rc != 0)
            break;
    }
    buf_free(&s.b);
    j->ops->close(j->ops->ctx, fd);
    return rc;
}

bool journal_failed(struct journal *j)
{
    pthread_mutex_lock(&j->mu);
    bool failed = j->error != 0;
    pthread_mutex_unlock(&j->mu);
    return failed;
}

void journal_stats(struct journal *j, struct journal_stats *out)
{
    pthread_mutex_lock(&j->mu);
    *out = j->st;
    out->queued_seq = j->queued_seq;
    pthread_mutex_unlock(&j->mu);
}

int journal_close(struct journal *j)
{
    if (!j)
        return 0;
    if (j->writer_running) {
        pthread_mutex_lock(&j->mu);
        j->closing = true;
        pthread_cond_signal(&j->work);
        pthread_mutex_unlock(&j->mu);
        pthread_join(j->writer, NULL);
    }
    int rc = j->fd >= 0 ? j->ops->close(j->ops->ctx, j->fd) : 0;
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->done);
    pthread_cond_destroy(&j->work);
    free(j->pend);
    buf_free(&j->queue);
    free(j->path);
    free(j);
    return rc;
}
