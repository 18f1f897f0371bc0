/* gzip.h: one buffer compressed into the gzip format (RFC 1952) with
 * zlib, for bodies rendered once and served many times (/metrics). */
#ifndef REPLGUARD_GZIP_H
#define REPLGUARD_GZIP_H

#include <stddef.h>

/* GZIP_LEVEL: the level replguard compresses /metrics at. 1 against 6
 * on 1,000 replicas' metrics (bench/RESULTS.md, GZIP): level 1 is
 * about three times faster on the engine thread and its output only a
 * few points larger, well under the 15 % target either way. */
#define GZIP_LEVEL 1

/* gzip_compress: p's len bytes as a gzip member at level (0-9), in a
 * heap buffer the caller frees, its length in *out_len; NULL only when
 * zlib fails (never for lack of memory: that aborts, as xmalloc). */
char *gzip_compress(const void *p, size_t len, int level, size_t *out_len);

#endif
