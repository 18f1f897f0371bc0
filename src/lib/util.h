/* util.h: allocation wrappers, a growable byte buffer, small parsers.
 *
 * Allocation failure is not an error path in replguard: xmalloc() and
 * friends abort with a message, so callers never test for NULL. */
#ifndef REPLGUARD_UTIL_H
#define REPLGUARD_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* xmalloc: malloc() that aborts on failure; never returns NULL. */
void *xmalloc(size_t n);
/* xcalloc: calloc() that aborts on failure or on nmemb * size overflow. */
void *xcalloc(size_t nmemb, size_t size);
/* xrealloc: realloc() that aborts on failure. */
void *xrealloc(void *p, size_t n);
/* xstrdup: strdup() that aborts on failure. */
char *xstrdup(const char *s);
/* xstrndup: copies at most n bytes of s and terminates the copy. */
char *xstrndup(const char *s, size_t n);

/* A growable byte buffer with a hard size limit (curl's dynbuf).
 * The contents are always NUL-terminated; len excludes the NUL. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit; /* 0: no limit */
};

/* buf_init: an empty buffer that refuses to grow past limit bytes
 * (0 = unlimited). Allocates nothing until the first append. */
void buf_init(struct buf *b, size_t limit);
/* buf_reset: empties the buffer, keeping its allocation. */
void buf_reset(struct buf *b);
/* buf_free: releases the allocation; the buffer may be reused after
 * buf_init(). */
void buf_free(struct buf *b);
/* buf_reserve: makes room for n more bytes (and the NUL) in one
 * allocation, so appending them does not grow the buffer step by step.
 * Returns 0, or -1 when the limit would be exceeded. */
int buf_reserve(struct buf *b, size_t n);
/* buf_append: appends n bytes. Returns 0, or -1 (and appends nothing)
 * when the limit would be exceeded. */
int buf_append(struct buf *b, const void *p, size_t n);
/* buf_puts: appends a C string; returns as buf_append(). */
int buf_puts(struct buf *b, const char *s);
/* buf_printf: appends formatted text; returns as buf_append(). */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* buf_vprintf: the va_list form of buf_printf(). */
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* buf_detach: returns the contents as a heap string the caller frees
 * (never NULL) and leaves the buffer empty. */
char *buf_detach(struct buf *b);

/* buf_put_u64: appends u in decimal, without printf (a hot path of
 * rendering). */
void buf_put_u64(struct buf *b, uint64_t u);
/* buf_put_decimal: appends a finite d without printf: a whole number as
 * an integer, else with at most nine decimals (a nanosecond, for the
 * seconds and timestamps replguard renders), trailing zeros dropped;
 * |d| >= 1e15 with %.15g. */
void buf_put_decimal(struct buf *b, double d);

/* parse_duration: parses "250ms", "5s", "3m", "1h", "1.5s" or a plain
 * number of seconds into *out (seconds). Returns 0, or -1 when s is not
 * a non-negative duration. */
int parse_duration(const char *s, double *out);

/* parse_u64: parses a whole decimal number in [min, max]. Returns 0 or -1. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* parse_double: parses a finite floating point number. Returns 0 or -1. */
int parse_double(const char *s, double *out);

/* mix64: a fast 64-bit mixing function (splitmix64's finaliser). */
static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* A small seeded PRNG (splitmix64); state is the caller's. */
static inline uint64_t rng_next(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ULL;
    return mix64(*state);
}

#endif
