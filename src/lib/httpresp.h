/* httpresp.h: an incremental parser for one HTTP/1.1 response, for the
 * poller's own GET client (httpget.h).
 *
 *   struct httpresp h;
 *   httpresp_init(&h, &body, cap);
 *   for each read: rc = httpresp_feed(&h, data, len, &used);
 *       HR_MORE: keep data[used..len) and feed it again with what
 *                follows; HR_DONE: the answer is complete (data[used..)
 *                is not part of it); HR_ERROR / HR_TOO_LARGE: give up
 *   at the end of the stream: rc = httpresp_eof(&h);
 *
 * It consumes whole lines of the head and chunk framing (a partial line
 * is left unconsumed) and body bytes as they come, appending the body
 * (de-chunked) to a caller's struct buf. It is pure: no I/O, no
 * allocation except through buf_append() on the body.
 *
 * What is accepted (a node's answer, not a proxy's; strict where
 * lenience would hide a broken or hostile node):
 * - A status line "HTTP/1.0 DDD ..." or "HTTP/1.1 DDD ...". Lines end
 *   with "\n", optionally preceded by "\r". 1xx answers other than 101
 *   are skipped; 101 is an error.
 * - Header lines "Name: value" with a token name; no folding, no NUL.
 *   Content-Length: decimal digits, repeats must agree. Transfer-Encoding:
 *   only "chunked" (case-insensitive); both it and Content-Length is an
 *   error. Connection: a "close" token (or HTTP/1.0 without "keep-alive")
 *   sets close.
 * - The body: Content-Length bytes; chunked (hex sizes, extensions after
 *   ';' ignored, CRLF after each chunk's data, trailers ignored); none
 *   for 204 and 304; else up to the end of the stream (close is set).
 * - Limits: HTTPRESP_MAX_LINE bytes per head or framing line, and
 *   HTTPRESP_MAX_HEAD bytes of head in all; the body at most cap bytes
 *   (HR_TOO_LARGE, as soon as a Content-Length or chunk size says so). */
#ifndef REPLGUARD_HTTPRESP_H
#define REPLGUARD_HTTPRESP_H

#include "lib/util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTPRESP_MAX_LINE 8192
#define HTTPRESP_MAX_HEAD 65536

enum httpresp_rc {
    HR_MORE,      /* incomplete: feed more */
    HR_DONE,      /* the answer is complete */
    HR_ERROR,     /* not a valid answer; error says why */
    HR_TOO_LARGE, /* the body would exceed cap */
};

struct httpresp {
    int state;             /* internal */
    int status;            /* the status code once its line is read */
    bool close;            /* the server closes after this answer */
    bool chunked, has_len; /* the framing the head announced */
    uint64_t left;         /* body or chunk bytes still to come */
    size_t head;           /* head bytes read so far */
    size_t cap;            /* most body bytes accepted */
    struct buf *body;      /* where the body goes */
    const char *error;     /* static reason with HR_ERROR/HR_TOO_LARGE */
};

/* httpresp_init: ready to parse one answer whose body (at most cap
 * bytes) is appended to body (which it does not reset). */
void httpresp_init(struct httpresp *h, struct buf *body, size_t cap);

/* httpresp_feed: parses len bytes at data (need not be NUL-terminated);
 * *used is set to how many it consumed. Returns an httpresp_rc; after
 * HR_DONE, HR_ERROR or HR_TOO_LARGE further calls return the same. */
enum httpresp_rc httpresp_feed(struct httpresp *h, const char *data, size_t len,
                               size_t *used);

/* httpresp_eof: the stream ended (after feeding everything read):
 * HR_DONE when the body runs to the end of the stream, else HR_ERROR
 * (closed early), or the result already reached. */
enum httpresp_rc httpresp_eof(struct httpresp *h);

#endif
