/* statefile.c: the remediation state file on top of fileio_replace(). */
#include "lib/statefile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

int statefile_save(const char *dir, const struct fileio_ops *ops,
                   const char *json_text)
{
    size_t len = strnlen(json_text, (size_t)STATEFILE_MAX + 1);
    if (len > STATEFILE_MAX)
        return -EFBIG;
    return fileio_replace(ops, dir, STATEFILE_NAME, json_text, len);
}

int statefile_load(const char *dir, char **text)
{
    struct buf path;
    size_t len = 0;
    buf_init(&path, 0);
    buf_printf(&path, "%s/%s", dir, STATEFILE_NAME);
    int rc = fileio_read_file(NULL, path.data, STATEFILE_MAX, text, &len);
    buf_free(&path);
    if (rc == 0 && memchr(*text, '\0', len)) {
        free(*text);
        *text = NULL;
        rc = -EBADMSG;
    }
    return rc;
}
