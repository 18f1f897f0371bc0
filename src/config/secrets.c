/* secrets.c: reading credential files safely (see secrets.h).
 *
 * The file is opened once and every check is made on that descriptor
 * (fstat), so what is checked is what is read. O_NONBLOCK keeps a FIFO
 * planted at the path from hanging the start; a non-regular file is
 * refused before any read. */
#include "config/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/util.h"

/* read_all: reads fd to its end into a NUL-terminated heap buffer; -EFBIG
 * past SECRETS_MAX_FILE. */
static int read_all(int fd, char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *p = xmalloc(cap + 1);
    for (;;) {
        if (n == cap) {
            if (cap >= SECRETS_MAX_FILE) {
                explicit_bzero(p, n);
                free(p);
                return -EFBIG;
            }
            cap *= 2;
            p = xrealloc(p, cap + 1);
        }
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = -errno;
            explicit_bzero(p, n);
            free(p);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    p[n] = '\0';
    *out = p;
    *len = n;
    return 0;
}

/* check_mode: the rules of secrets.h for st; 0 or -errno with err. */
static int check_mode(const struct stat *st, const char *path, const char *what,
                      bool secret, char *err, size_t errlen)
{
    if (!S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "%s %s: not a regular file", what, path);
        return -EINVAL;
    }
    if (secret && (st->st_mode & (S_IRWXG | S_IRWXO))) {
        snprintf(err, errlen,
                 "%s %s: mode %04o lets group or others read or write a "
                 "secret (chmod 600)",
                 what, path, (unsigned)(st->st_mode & 07777));
        return -EPERM;
    }
    if (st->st_size >= SECRETS_MAX_FILE) {
        snprintf(err, errlen, "%s %s: %d bytes or more", what, path,
                 SECRETS_MAX_FILE);
        return -EFBIG;
    }
    return 0;
}

int secret_file_read(const char *path, const char *what, bool secret,
                     char **out, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    size_t n = 0;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = -errno;
        snprintf(err, errlen, "%s %s: cannot read: %s", what, path,
                 strerror(-e));
        if (fd >= 0)
            close(fd);
        return e;
    }
    int rc = check_mode(&st, path, what, secret, err, errlen);
    if (rc == 0) {
        rc = read_all(fd, out, &n);
        if (rc < 0)
            snprintf(err, errlen, "%s %s: cannot read: %s", what, path,
                     strerror(-rc));
    }
    close(fd);
    if (rc == 0 && n == 0) {
        free(*out);
        *out = NULL;
        snprintf(err, errlen, "%s %s: empty", what, path);
        rc = -ENODATA;
    }
    if (rc == 0 && len)
        *len = n;
    return rc;
}

/* token_problem: what is wrong with the token file's n bytes tok, whose
 * first line is tok[0..line), or NULL. A NUL byte would cut the token
 * where C strings end; a blank token or a second line is a mistake. */
static const char *token_problem(const char *tok, size_t n, size_t line)
{
    if (memchr(tok, '\0', n))
        return "contains a NUL byte";
    if (line == 0)
        return "the first line is empty";
    if (strspn(tok, " \t") == line)
        return "the token is only whitespace";
    if (tok[line + strspn(tok + line, "\r\n")] != '\0')
        return "more than one line (the token is the whole file, one "
               "line)";
    return NULL;
}

/* read_token: the token is the file's one line (without CR/LF). */
static int read_token(const char *path, char **out, char *err, size_t errlen)
{
    size_t n;
    int rc =
        secret_file_read(path, "auth.token_file", true, out, &n, err, errlen);
    if (rc < 0)
        return rc;
    char *tok = *out;
    size_t line = strcspn(tok, "\r\n");
    const char *why = token_problem(tok, n, line);
    explicit_bzero(tok + line, n - line);
    if (why) {
        explicit_bzero(tok, line);
        free(tok);
        *out = NULL;
        snprintf(err, errlen, "auth.token_file %s: %s", path, why);
        return -EINVAL;
    }
    return 0;
}

int secrets_load(const struct config *cfg, struct secrets *s, char *err,
                 size_t errlen)
{
    memset(s, 0, sizeof(*s));
    if (cfg->token_file && read_token(cfg->token_file, &s->token, err, errlen))
        goto fail;
    if (cfg->tls_cert_file &&
        secret_file_read(cfg->tls_cert_file, "tls.cert_file", false, &s->cert,
                         NULL, err, errlen) < 0)
        goto fail;
    if (cfg->tls_key_file &&
        secret_file_read(cfg->tls_key_file, "tls.key_file", true, &s->key, NULL,
                         err, errlen) < 0)
        goto fail;
    return 0;
fail:
    secrets_reset(s);
    return -1;
}

static bool same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

bool secrets_equal(const struct secrets *a, const struct secrets *b)
{
    return same(a->token, b->token) && same(a->cert, b->cert) &&
           same(a->key, b->key);
}

static void wipe(char **p)
{
    if (*p)
        explicit_bzero(*p, strlen(*p));
    free(*p);
    *p = NULL;
}

void secrets_reset(struct secrets *s)
{
    wipe(&s->token);
    wipe(&s->cert);
    wipe(&s->key);
}
