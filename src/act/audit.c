/* audit.c: the audit log: JSON lines built here with a careful escaper,
 * appended under a mutex, fsync'd on audit_sync(). */
#include "act/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/util.h"

struct audit {
    pthread_mutex_t mu;
    const struct fileio_ops *ops;
    int fd;
    bool dirty; /* written since the last fsync */
    bool torn;  /* the last write failed, maybe mid-line */
    char *path;
    uint64_t failures; /* lines lost to failed writes, since open */
    uint64_t streak;   /* of them, since the last good write */
};

/* ---- formatting ------------------------------------------------------- */

/* utf8_len: the length of the valid UTF-8 sequence at s (n bytes left),
 * or 0 for an invalid one (overlong, surrogate, past U+10FFFF, cut). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t k = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
    if (k == 0 || s[0] > 0xf4 || n < k)
        return 0;
    uint32_t cp = s[0] & (0x7fu >> k);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

static void put_ascii(struct buf *b, unsigned char c)
{
    switch (c) {
    case '"':
        buf_puts(b, "\\\"");
        break;
    case '\\':
        buf_puts(b, "\\\\");
        break;
    case '\n':
        buf_puts(b, "\\n");
        break;
    case '\r':
        buf_puts(b, "\\r");
        break;
    case '\t':
        buf_puts(b, "\\t");
        break;
    default:
        if (c < 0x20 || c == 0x7f)
            buf_printf(b, "\\u%04x", c);
        else
            buf_append(b, &c, 1);
    }
}

/* put_string: ,"key":"escaped value" (or null). */
static void put_string(struct buf *b, const char *key, const char *s)
{
    buf_printf(b, ",\"%s\":", key);
    if (!s) {
        buf_puts(b, "null");
        return;
    }
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strnlen(s, AUDIT_MAX_FIELD);
    buf_puts(b, "\"");
    for (size_t i = 0; i < n;) {
        size_t k = u[i] < 0x80 ? 1 : utf8_len(u + i, n - i);
        if (k == 0)
            buf_puts(b, "\\ufffd");
        else if (k == 1)
            put_ascii(b, u[i]);
        else
            buf_append(b, u + i, k);
        i += k ? k : 1;
    }
    buf_puts(b, "\"");
}

static void put_number(struct buf *b, const char *key, double v)
{
    if (isfinite(v))
        buf_printf(b, ",\"%s\":%.9g", key, v);
    else
        buf_printf(b, ",\"%s\":null", key);
}

/* put_time: "time":"YYYY-MM-DDTHH:MM:SS.mmmZ" (null when not finite). */
static void put_time(struct buf *b, double t)
{
    if (!isfinite(t) || t < 0 || t > 253402300799.0) {
        buf_puts(b, "\"time\":null");
        return;
    }
    time_t sec = (time_t)t;
    long ms = lround((t - (double)sec) * 1000.0);
    if (ms > 999)
        ms = 999;
    struct tm tm;
    gmtime_r(&sec, &tm);
    buf_printf(b, "\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\"",
               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
               tm.tm_min, tm.tm_sec, ms);
}

char *audit_format(const struct audit_record *r)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{");
    put_time(&b, r->time);
    put_string(&b, "event", r->event);
    put_string(&b, "cluster", r->cluster);
    put_string(&b, "runbook", r->runbook);
    put_string(&b, "action", r->action);
    put_string(&b, "target", r->target);
    put_string(&b, "fingerprint", r->fingerprint);
    buf_printf(&b, ",\"dry_run\":%s", r->dry_run ? "true" : "false");
    put_string(&b, "reason", r->reason);
    if (r->has_lag_before)
        put_number(&b, "lag_before", r->lag_before);
    if (r->has_lag_after)
        put_number(&b, "lag_after", r->lag_after);
    if (r->extra && r->extra[0])
        buf_printf(&b, ",%s", r->extra);
    buf_puts(&b, "}\n");
    return buf_detach(&b);
}

/* ---- the file --------------------------------------------------------- */

/* parent_dir: the directory part of path ("." when there is none). */
static char *parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

/* terminate_tail: adds a newline when the file ends mid-line. */
static int terminate_tail(struct audit *a)
{
    off_t size = 0;
    char last = '\n';
    int rc = a->ops->fsize(a->ops->ctx, a->fd, &size);
    if (rc != 0 || size == 0)
        return rc;
    ssize_t r = a->ops->pread(a->ops->ctx, a->fd, &last, 1, size - 1);
    if (r < 0)
        return (int)r;
    if (r == 1 && last != '\n') {
        log_msg(LOG_WARN, "msg=\"audit: log ended mid-line, terminating it\"");
        rc = fileio_write_all(a->ops, a->fd, "\n", 1);
    }
    return rc;
}

struct audit *audit_open(const char *path, const struct fileio_ops *ops,
                         int *err)
{
    struct audit *a = xcalloc(1, sizeof(*a));
    a->ops = fileio_or_posix(ops);
    pthread_mutex_init(&a->mu, NULL);
    a->path = xstrdup(path);
    int flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC;
    int rc = a->ops->open(a->ops->ctx, path, flags, 0640);
    a->fd = rc;
    if (rc >= 0)
        rc = terminate_tail(a);
    if (rc == 0) {
        char *dir = parent_dir(path);
        rc = fileio_fsync_dir(a->ops, dir);
        free(dir);
    }
    if (rc < 0) {
        char q[512];
        log_msg(LOG_ERROR, "msg=\"audit: cannot open log\" path=%s error=%s",
                log_quote(q, sizeof(q), path), strerror(-rc));
        audit_close(a);
        a = NULL;
    }
    if (err)
        *err = rc < 0 ? rc : 0;
    return a;
}

/* note_result: counts a failed write and logs the first of a streak
 * (with the path and errno) and its end; under a->mu. */
static void note_result(struct audit *a, int rc)
{
    char q[512];
    if (rc == 0 && a->streak) {
        log_msg(LOG_INFO,
                "msg=\"audit log writable again\" path=%s lines_lost=%" PRIu64,
                log_quote(q, sizeof(q), a->path), a->streak);
        a->streak = 0;
    }
    if (rc == 0)
        return;
    a->failures++;
    if (a->streak++ == 0)
        log_msg(LOG_ERROR,
                "msg=\"audit write failed: actions go on, recorded in the "
                "journal; audit lines are lost until a write succeeds\" "
                "path=%s errno=%d error=%s",
                log_quote(q, sizeof(q), a->path), -rc, strerror(-rc));
}

int audit_write(struct audit *a, const struct audit_record *r)
{
    char *line = audit_format(r);
    pthread_mutex_lock(&a->mu);
    int rc = 0;
    if (a->torn)
        rc = fileio_write_all(a->ops, a->fd, "\n", 1);
    if (rc == 0)
        rc = fileio_write_all(a->ops, a->fd, line, strlen(line));
    a->torn = rc != 0;
    a->dirty = true;
    note_result(a, rc);
    pthread_mutex_unlock(&a->mu);
    free(line);
    return rc;
}

uint64_t audit_failures(struct audit *a)
{
    pthread_mutex_lock(&a->mu);
    uint64_t n = a->failures;
    pthread_mutex_unlock(&a->mu);
    return n;
}

int audit_sync(struct audit *a)
{
    pthread_mutex_lock(&a->mu);
    bool dirty = a->dirty;
    a->dirty = false;
    pthread_mutex_unlock(&a->mu);
    if (!dirty)
        return 0;
    int rc = a->ops->fsync(a->ops->ctx, a->fd);
    if (rc != 0) {
        pthread_mutex_lock(&a->mu);
        a->dirty = true;
        pthread_mutex_unlock(&a->mu);
    }
    return rc;
}

int audit_close(struct audit *a)
{
    if (!a)
        return 0;
    int rc = 0;
    if (a->fd >= 0) {
        rc = audit_sync(a);
        int crc = a->ops->close(a->ops->ctx, a->fd);
        rc = rc ? rc : crc;
    }
    pthread_mutex_destroy(&a->mu);
    free(a->path);
    free(a);
    return rc;
}
