/* gzip.c: one-shot gzip compression with zlib's deflate. */
#include "lib/gzip.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/util.h"

/* WINDOW_GZIP: deflate's window bits, 15 (32 KiB), plus 16 for a gzip
 * header and trailer instead of zlib's. */
#define WINDOW_GZIP (15 + 16)

char *gzip_compress(const void *p, size_t len, int level, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, level, Z_DEFLATED, WINDOW_GZIP, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    /* deflateBound() is enough for one Z_FINISH call, so the output
     * never needs to grow; avail_* are uInt, so feed at most 1 GiB a
     * call (a body is far smaller; the loop keeps it correct anyway) */
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    char *out = xmalloc(cap);
    const unsigned char *in = p;
    size_t left = len;
    int rc = Z_OK;
    z.next_out = (unsigned char *)out;
    while (rc == Z_OK) {
        size_t chunk = left < (1u << 30) ? left : (1u << 30);
        z.next_in = (unsigned char *)in;
        z.avail_in = (uInt)chunk;
        size_t room = cap - z.total_out;
        z.avail_out = room < (1u << 30) ? (uInt)room : (1u << 30);
        rc = deflate(&z, chunk == left ? Z_FINISH : Z_NO_FLUSH);
        in += chunk - z.avail_in;
        left -= chunk - z.avail_in;
    }
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}
