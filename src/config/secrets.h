/* secrets.h: the files replguard reads its credentials from: the bearer
 * token (auth.token_file) and the TLS certificate and key (tls.cert_file,
 * tls.key_file), read once at start.
 *
 * A secret (the token, the key) must be a regular file that neither its
 * group nor others may read or write; the certificate is public and need
 * only be a readable regular file. A file that breaks a rule is refused
 * with a message naming it and the rule, and replguard does not start. */
#ifndef REPLGUARD_SECRETS_H
#define REPLGUARD_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

struct config;

#define SECRETS_MAX_FILE (64 * 1024) /* this or more: not a PEM or a token */

/* What the config's credential files hold; NULL when not configured. */
struct secrets {
    char *token; /* the token file's first line */
    char *cert;  /* PEM, NUL-terminated */
    char *key;   /* PEM, NUL-terminated */
};

/* secret_file_read: reads the whole of path (less than SECRETS_MAX_FILE
 * bytes) into *out, a NUL-terminated heap string the caller frees with
 * free() (*len, when not NULL, excludes the NUL). what names the file in
 * messages ("auth.token_file"); secret says it must not be readable or
 * writable by group or others. Returns 0, or -errno with "WHAT PATH:
 * reason" in err: -EINVAL when it is not a regular file, -EPERM when a
 * secret's mode lets others in, -ENODATA when it is empty, -EFBIG when
 * it is too large, or open(2)'s and read(2)'s. A FIFO or a device is
 * refused without blocking on it. */
int secret_file_read(const char *path, const char *what, bool secret,
                     char **out, size_t *len, char *err, size_t errlen);

/* secrets_load: reads the files cfg names into s (zeroed first). Returns
 * 0, or -1 with the first file's problem in err and s empty. */
int secrets_load(const struct config *cfg, struct secrets *s, char *err,
                 size_t errlen);

/* secrets_equal: whether a and b hold the same values (both absent
 * counts as equal). */
bool secrets_equal(const struct secrets *a, const struct secrets *b);

/* secrets_reset: wipes and frees what s holds and zeroes it. */
void secrets_reset(struct secrets *s);

#endif
