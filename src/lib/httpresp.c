/* httpresp.c: one HTTP/1.1 response, parsed as it arrives (httpresp.h). */
#include "lib/httpresp.h"

#include <string.h>
#include <strings.h>

/* PRESIZE_MAX: the most body buffer reserved ahead of the bytes on the
 * strength of a Content-Length alone. */
#define PRESIZE_MAX (1024 * 1024)

enum state {
    S_STATUS,
    S_HEADER,
    S_BODY_LEN,
    S_BODY_EOF,
    S_CHUNK_SIZE,
    S_CHUNK_DATA,
    S_CHUNK_END,
    S_TRAILER,
    S_DONE,
    S_ERROR,
    S_TOO_LARGE,
};

void httpresp_init(struct httpresp *h, struct buf *body, size_t cap)
{
    memset(h, 0, sizeof(*h));
    h->body = body;
    h->cap = cap;
}

static enum httpresp_rc fail(struct httpresp *h, const char *why)
{
    h->state = S_ERROR;
    h->error = why;
    return HR_ERROR;
}

static enum httpresp_rc too_large(struct httpresp *h)
{
    h->state = S_TOO_LARGE;
    h->error = "the answer is larger than the slot's capacity";
    return HR_TOO_LARGE;
}

static enum httpresp_rc result(const struct httpresp *h)
{
    switch (h->state) {
    case S_DONE:
        return HR_DONE;
    case S_ERROR:
        return HR_ERROR;
    case S_TOO_LARGE:
        return HR_TOO_LARGE;
    default:
        return HR_MORE;
    }
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *trim(const char *p, const char *end, const char **tail)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *tail = end;
    return p;
}

/* has_token: whether the comma-separated list [p, end) holds tok. */
static bool has_token(const char *p, const char *end, const char *tok)
{
    size_t n = strlen(tok);
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end, *e;
        const char *s = trim(p, stop, &e);
        if ((size_t)(e - s) == n && strncasecmp(s, tok, n) == 0)
            return true;
        p = comma ? comma + 1 : end;
    }
    return false;
}

static enum httpresp_rc status_line(struct httpresp *h, const char *p, size_t n)
{
    if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0 ||
        (p[7] != '0' && p[7] != '1') || p[8] != ' ')
        return fail(h, "not an HTTP/1.x status line");
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return fail(h, "status code is not three digits");
        st = st * 10 + (p[i] - '0');
    }
    if (n > 12 && p[12] != ' ')
        return fail(h, "status code is not three digits");
    if (st < 100 || st == 101)
        return fail(h, "unexpected status code");
    h->status = st;
    h->close = p[7] == '0'; /* 1.0: unless it says keep-alive */
    h->chunked = h->has_len = false;
    h->state = S_HEADER;
    return HR_MORE;
}

static enum httpresp_rc content_length(struct httpresp *h, const char *v,
                                       const char *end)
{
    uint64_t n = 0;
    if (v == end)
        return fail(h, "empty Content-Length");
    for (const char *p = v; p < end; p++) {
        if (*p < '0' || *p > '9')
            return fail(h, "Content-Length is not a number");
        if (n > (UINT64_MAX - 9) / 10)
            return too_large(h);
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (h->has_len && n != h->left)
        return fail(h, "conflicting Content-Length headers");
    h->has_len = true;
    h->left = n;
    return HR_MORE;
}

static enum httpresp_rc header_line(struct httpresp *h, const char *p, size_t n)
{
    const char *colon = memchr(p, ':', n), *end = p + n, *vend;
    if (!colon || colon == p)
        return fail(h, "header line without a name");
    for (const char *q = p; q < colon; q++)
        if (!is_tchar((unsigned char)*q))
            return fail(h, "invalid header name");
    size_t name = (size_t)(colon - p);
    const char *v = trim(colon + 1, end, &vend);
    if (name == 14 && strncasecmp(p, "Content-Length", 14) == 0)
        return content_length(h, v, vend);
    if (name == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
        if (vend - v != 7 || strncasecmp(v, "chunked", 7) != 0)
            return fail(h, "unsupported Transfer-Encoding");
        h->chunked = true;
    } else if (name == 10 && strncasecmp(p, "Connection", 10) == 0) {
        if (has_token(v, vend, "close"))
            h->close = true;
        else if (has_token(v, vend, "keep-alive"))
            h->close = false;
    }
    return HR_MORE;
}

/* end_of_head: the empty line: picks the body's framing. */
static enum httpresp_rc end_of_head(struct httpresp *h)
{
    if (h->status < 200) { /* 1xx: the real answer follows */
        h->state = S_STATUS;
        return HR_MORE;
    }
    if (h->chunked && h->has_len)
        return fail(h, "both Content-Length and chunked");
    if (h->status == 204 || h->status == 304) {
        h->state = S_DONE;
        return HR_DONE;
    }
    if (h->chunked) {
        h->state = S_CHUNK_SIZE;
        return HR_MORE;
    }
    if (h->has_len) {
        if (h->left > h->cap)
            return too_large(h);
        h->state = h->left ? S_BODY_LEN : S_DONE;
        return result(h);
    }
    h->close = true; /* the body runs to the end of the stream */
    h->state = S_BODY_EOF;
    return HR_MORE;
}

static enum httpresp_rc chunk_size(struct httpresp *h, const char *p, size_t n)
{
    uint64_t v = 0;
    size_t i = 0;
    for (; i < n; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            break;
        if (v > h->cap || v > (UINT64_MAX >> 4))
            return too_large(h);
        v = v * 16 + (uint64_t)d;
    }
    if (i == 0 || (i < n && p[i] != ';' && p[i] != ' ' && p[i] != '\t'))
        return fail(h, "invalid chunk size");
    if (v > h->cap - h->body->len)
        return too_large(h);
    h->left = v;
    h->state = v ? S_CHUNK_DATA : S_TRAILER;
    return HR_MORE;
}

/* line: one complete line of head or framing (without its end). */
static enum httpresp_rc line(struct httpresp *h, const char *p, size_t n)
{
    if (memchr(p, '\0', n) || memchr(p, '\r', n))
        return fail(h, "NUL or CR inside a line");
    switch (h->state) {
    case S_STATUS:
        return status_line(h, p, n);
    case S_HEADER:
        if (n == 0)
            return end_of_head(h);
        if (p[0] == ' ' || p[0] == '\t')
            return fail(h, "folded header line");
        return header_line(h, p, n);
    case S_CHUNK_SIZE:
        return chunk_size(h, p, n);
    case S_CHUNK_END:
        if (n != 0)
            return fail(h, "chunk data longer than its size");
        h->state = S_CHUNK_SIZE;
        return HR_MORE;
    default: /* S_TRAILER */
        if (n == 0) {
            h->state = S_DONE;
            return HR_DONE;
        }
        return HR_MORE;
    }
}

/* body_bytes: takes what it can of [p, p + n) as body; returns how
 * many it took. */
static size_t body_bytes(struct httpresp *h, const char *p, size_t n)
{
    size_t take = n;
    /* a Content-Length body gets its whole buffer at once: no regrowing
     * (and copying) it by doubling, scrape after scrape; up to
     * PRESIZE_MAX, so a length announced but never sent costs no more */
    if (h->state == S_BODY_LEN && h->body->len == 0)
        buf_reserve(h->body,
                    h->left < PRESIZE_MAX ? (size_t)h->left : PRESIZE_MAX);
    if (h->state != S_BODY_EOF && take > h->left)
        take = (size_t)h->left;
    if (h->body->len + take > h->cap || buf_append(h->body, p, take) < 0) {
        too_large(h);
        return 0;
    }
    if (h->state == S_BODY_EOF)
        return take;
    h->left -= take;
    if (h->left == 0)
        h->state = h->state == S_BODY_LEN ? S_DONE : S_CHUNK_END;
    return take;
}

/* one_line: the next complete line at data[*pos..len), or false when
 * there is none yet (then an overlong partial line is an error). */
static bool one_line(struct httpresp *h, const char *data, size_t len,
                     size_t *pos)
{
    const char *p = data + *pos;
    size_t avail = len - *pos;
    size_t max = avail < HTTPRESP_MAX_LINE + 2 ? avail : HTTPRESP_MAX_LINE + 2;
    const char *nl = memchr(p, '\n', max);
    if (!nl) {
        if (avail > HTTPRESP_MAX_LINE + 1)
            fail(h, "line too long");
        return false;
    }
    size_t n = (size_t)(nl - p), used = n + 1;
    if (n && p[n - 1] == '\r')
        n--;
    if (h->state == S_STATUS || h->state == S_HEADER) {
        h->head += used;
        if (h->head > HTTPRESP_MAX_HEAD) {
            fail(h, "head too long");
            return false;
        }
    }
    *pos += used;
    line(h, p, n);
    return true;
}

enum httpresp_rc httpresp_feed(struct httpresp *h, const char *data, size_t len,
                               size_t *used)
{
    size_t pos = 0;
    while (pos < len && result(h) == HR_MORE) {
        if (h->state == S_BODY_LEN || h->state == S_BODY_EOF ||
            h->state == S_CHUNK_DATA) {
            size_t n = body_bytes(h, data + pos, len - pos);
            pos += n;
            continue;
        }
        if (!one_line(h, data, len, &pos))
            break;
    }
    *used = pos;
    return result(h);
}

enum httpresp_rc httpresp_eof(struct httpresp *h)
{
    if (h->state == S_BODY_EOF) {
        h->state = S_DONE;
        return HR_DONE;
    }
    if (result(h) == HR_MORE)
        return fail(h, "the connection closed before the answer was complete");
    return result(h);
}
