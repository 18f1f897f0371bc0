/* fileio.h: the file I/O that replguard's durability rests on, behind a
 * table of function pointers so tests can make a write short, a fsync
 * fail or a rename refuse.
 *
 * Every operation returns -errno on failure, never -1 with errno set.
 * Modules that take a `const struct fileio_ops *` accept NULL for the
 * real POSIX calls (fileio_posix()); a table passed in must outlive
 * whatever keeps it (a journal, an audit log).
 *
 * The durable replace (fileio_replace) is the only way replguard
 * rewrites a file: write a temporary file in the same directory, fsync
 * it, rename it over the target, fsync the directory. A crash at any
 * point leaves the old content or the new, never a mix. */
#ifndef REPLGUARD_FILEIO_H
#define REPLGUARD_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

struct fileio_ops {
    /* open: as open(2); returns a descriptor or -errno. */
    int (*open)(void *ctx, const char *path, int flags, mode_t mode);
    /* pread: as pread(2); returns bytes read (0 at end of file) or
     * -errno. May return fewer bytes than asked. */
    ssize_t (*pread)(void *ctx, int fd, void *buf, size_t n, off_t off);
    /* write: as write(2); returns bytes written or -errno. May be short;
     * fileio_write_all() loops. */
    ssize_t (*write)(void *ctx, int fd, const void *buf, size_t n);
    /* fsync: as fsync(2); 0 or -errno. */
    int (*fsync)(void *ctx, int fd);
    /* ftruncate: as ftruncate(2); 0 or -errno. */
    int (*ftruncate)(void *ctx, int fd, off_t len);
    /* fsize: the file's size (fstat(2) st_size) into *size; 0 or -errno. */
    int (*fsize)(void *ctx, int fd, off_t *size);
    /* rename: as rename(2); 0 or -errno. */
    int (*rename)(void *ctx, const char *from, const char *to);
    /* unlink: as unlink(2); 0 or -errno. */
    int (*unlink)(void *ctx, const char *path);
    /* close: as close(2); 0 or -errno. The descriptor is gone either way
     * (Linux semantics: never retried). */
    int (*close)(void *ctx, int fd);
    /* ctx: handed to every call above. */
    void *ctx;
};

/* fileio_posix: the real system calls (a static table; ctx is NULL). */
const struct fileio_ops *fileio_posix(void);

/* fileio_or_posix: ops, or fileio_posix() when ops is NULL. */
const struct fileio_ops *fileio_or_posix(const struct fileio_ops *ops);

/* fileio_write_all: writes all n bytes of p to fd, continuing after
 * short writes and retrying EINTR. Returns 0, or -errno (-EIO when
 * write returns 0); on error an unknown prefix of p may have been
 * written. */
int fileio_write_all(const struct fileio_ops *ops, int fd, const void *p,
                     size_t n);

/* fileio_fsync_dir: opens directory dir, fsyncs it (making the creation,
 * rename or removal of its entries durable) and closes it. Returns 0 or
 * -errno. */
int fileio_fsync_dir(const struct fileio_ops *ops, const char *dir);

/* fileio_replace: durably replaces dir/name with the len bytes of data:
 * writes dir/.name.tmp (mode 0600), fsyncs it, closes it, renames it over
 * dir/name and fsyncs dir. Returns 0, or -errno. When the error comes
 * before the rename, dir/name is untouched and the temporary file is
 * removed; when it comes from the directory fsync, dir/name already holds
 * the new content but that may not survive a crash. Callers serialize
 * replacements of the same name (they share the temporary file). */
int fileio_replace(const struct fileio_ops *ops, const char *dir,
                   const char *name, const void *data, size_t len);

/* fileio_read_file: reads the whole of path into a heap string the caller
 * frees (NUL-terminated; *len, when not NULL, excludes the NUL). Returns
 * 0, -EFBIG when the file holds more than limit bytes, or -errno (-ENOENT
 * when it does not exist); *out is NULL on error. */
int fileio_read_file(const struct fileio_ops *ops, const char *path,
                     size_t limit, char **out, size_t *len);

#endif
