/* util.c: allocation wrappers, struct buf and small parsers. */
#include "lib/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "replguard: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    if (size && nmemb > SIZE_MAX / size)
        oom(SIZE_MAX);
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void buf_init(struct buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

static int reserve(struct buf *b, size_t n)
{
    if (n > SIZE_MAX - b->len - 1)
        return -1;
    size_t need = b->len + n + 1;
    if (b->limit && need - 1 > b->limit)
        return -1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int buf_reserve(struct buf *b, size_t n)
{
    return reserve(b, n);
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof(small), fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(small))
        return buf_append(b, small, (size_t)n);
    if (reserve(b, (size_t)n) < 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *buf_detach(struct buf *b)
{
    /* a detached string carries no slack: give the growth room back */
    char *p = b->data ? xrealloc(b->data, b->len + 1) : xstrdup("");
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

int parse_double(const char *s, double *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int parse_duration(const char *s, double *out)
{
    static const struct {
        const char *suffix;
        double scale;
    } units[] = {{"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}};
    char *end;
    if (!s || !(*s >= '0' && *s <= '9'))
        return -1;
    size_t digits = strspn(s, "0123456789.");
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end != s + digits || !isfinite(v))
        return -1;
    if (!*end) {
        *out = v;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(units); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            *out = v * units[i].scale;
            return 0;
        }
    }
    return -1;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

void buf_put_u64(struct buf *out, uint64_t u)
{
    char s[24];
    size_t i = sizeof(s);
    do {
        s[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    buf_append(out, s + i, sizeof(s) - i);
}

void buf_put_decimal(struct buf *out, double d)
{
    if (!(fabs(d) < 1e15)) {
        char s[40];
        int n = snprintf(s, sizeof(s), "%.15g", d);
        buf_append(out, s, n > 0 ? (size_t)n : 0);
        return;
    }
    if (d < 0)
        buf_append(out, "-", 1);
    double a = fabs(d), ip = floor(a);
    uint64_t whole = (uint64_t)ip;
    uint64_t frac = (uint64_t)llround((a - ip) * 1e9);
    if (frac >= 1000000000u) {
        whole++;
        frac = 0;
    }
    buf_put_u64(out, whole);
    if (frac == 0)
        return;
    char s[10];
    s[0] = '.';
    for (int i = 9; i >= 1; i--) {
        s[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    size_t len = 10;
    while (s[len - 1] == '0')
        len--;
    buf_append(out, s, len);
}
