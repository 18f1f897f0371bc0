/* fileio.c: POSIX file operations behind struct fileio_ops, and the
 * helpers built on them (write-all, durable replace, read-all). */
#include "lib/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"

static int px_open(void *ctx, const char *path, int flags, mode_t mode)
{
    (void)ctx;
    int fd = open(path, flags, mode);
    return fd < 0 ? -errno : fd;
}

static ssize_t px_pread(void *ctx, int fd, void *buf, size_t n, off_t off)
{
    (void)ctx;
    ssize_t r = pread(fd, buf, n, off);
    return r < 0 ? -errno : r;
}

static ssize_t px_write(void *ctx, int fd, const void *buf, size_t n)
{
    (void)ctx;
    ssize_t r = write(fd, buf, n);
    return r < 0 ? -errno : r;
}

static int px_fsync(void *ctx, int fd)
{
    (void)ctx;
    return fsync(fd) < 0 ? -errno : 0;
}

static int px_ftruncate(void *ctx, int fd, off_t len)
{
    (void)ctx;
    return ftruncate(fd, len) < 0 ? -errno : 0;
}

static int px_fsize(void *ctx, int fd, off_t *size)
{
    (void)ctx;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    *size = st.st_size;
    return 0;
}

static int px_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    return rename(from, to) < 0 ? -errno : 0;
}

static int px_unlink(void *ctx, const char *path)
{
    (void)ctx;
    return unlink(path) < 0 ? -errno : 0;
}

static int px_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd) < 0 ? -errno : 0;
}

static const struct fileio_ops posix_ops = {
    .open = px_open,
    .pread = px_pread,
    .write = px_write,
    .fsync = px_fsync,
    .ftruncate = px_ftruncate,
    .fsize = px_fsize,
    .rename = px_rename,
    .unlink = px_unlink,
    .close = px_close,
    .ctx = NULL,
};

const struct fileio_ops *fileio_posix(void)
{
    return &posix_ops;
}

const struct fileio_ops *fileio_or_posix(const struct fileio_ops *ops)
{
    return ops ? ops : &posix_ops;
}

int fileio_write_all(const struct fileio_ops *ops, int fd, const void *p,
                     size_t n)
{
    ops = fileio_or_posix(ops);
    const char *s = p;
    while (n > 0) {
        ssize_t w = ops->write(ops->ctx, fd, s, n);
        if (w == -EINTR)
            continue;
        if (w < 0)
            return (int)w;
        if (w == 0 || (size_t)w > n)
            return -EIO;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int fileio_fsync_dir(const struct fileio_ops *ops, const char *dir)
{
    ops = fileio_or_posix(ops);
    int fd = ops->open(ops->ctx, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    int rc = ops->fsync(ops->ctx, fd);
    int crc = ops->close(ops->ctx, fd);
    return rc ? rc : crc;
}

/* write_temp: creates tmp, writes data, fsyncs and closes it. On error
 * the file may be left behind; the caller removes it. */
static int write_temp(const struct fileio_ops *ops, const char *tmp,
                      const void *data, size_t len)
{
    int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
    int fd = ops->open(ops->ctx, tmp, flags, 0600);
    if (fd < 0)
        return fd;
    int rc = fileio_write_all(ops, fd, data, len);
    if (rc == 0)
        rc = ops->fsync(ops->ctx, fd);
    int crc = ops->close(ops->ctx, fd);
    return rc ? rc : crc;
}

int fileio_replace(const struct fileio_ops *ops, const char *dir,
                   const char *name, const void *data, size_t len)
{
    ops = fileio_or_posix(ops);
    struct buf tmp, dst;
    buf_init(&tmp, 0);
    buf_init(&dst, 0);
    buf_printf(&tmp, "%s/.%s.tmp", dir, name);
    buf_printf(&dst, "%s/%s", dir, name);
    int rc = write_temp(ops, tmp.data, data, len);
    if (rc == 0)
        rc = ops->rename(ops->ctx, tmp.data, dst.data);
    if (rc != 0) {
        ops->unlink(ops->ctx, tmp.data);
        goto out;
    }
    rc = fileio_fsync_dir(ops, dir);
out:
    buf_free(&tmp);
    buf_free(&dst);
    return rc;
}

/* read_fd: appends everything from fd to b, refusing more than limit
 * bytes. */
static int read_fd(const struct fileio_ops *ops, int fd, size_t limit,
                   struct buf *b)
{
    char chunk[16384];
    for (;;) {
        ssize_t r =
            ops->pread(ops->ctx, fd, chunk, sizeof(chunk), (off_t)b->len);
        if (r == -EINTR)
            continue;
        if (r < 0)
            return (int)r;
        if (r == 0)
            return 0;
        if (b->len + (size_t)r > limit)
            return -EFBIG;
        buf_append(b, chunk, (size_t)r);
    }
}

int fileio_read_file(const struct fileio_ops *ops, const char *path,
                     size_t limit, char **out, size_t *len)
{
    ops = fileio_or_posix(ops);
    *out = NULL;
    int fd = ops->open(ops->ctx, path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    struct buf b;
    buf_init(&b, 0);
    int rc = read_fd(ops, fd, limit, &b);
    ops->close(ops->ctx, fd);
    if (rc != 0) {
        buf_free(&b);
        return rc;
    }
    if (len)
        *len = b.len;
    *out = buf_detach(&b);
    return 0;
}
