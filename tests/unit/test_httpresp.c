/* test_httpresp.c: the poller's HTTP/1.1 response parser (httpresp.h):
 * framings, limits, garbage, early ends, and the same verdict whatever
 * the reads' sizes. */
#include "lib/httpresp.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

struct outcome {
    enum httpresp_rc rc;
    int status;
    bool close;
    char body[512];
    size_t len;
    const char *error;
};

/* parse: feeds s in reads of step bytes (0: at once), carrying the
 * unconsumed partial line like httpget.c; eof: the stream ends after. */
static struct outcome parse(const char *s, size_t step, size_t cap, bool eof)
{
    struct outcome o = {0};
    struct buf body, carry;
    struct httpresp h;
    size_t n = strlen(s), at = 0, used;
    buf_init(&body, 0);
    buf_init(&carry, 0);
    httpresp_init(&h, &body, cap);
    enum httpresp_rc rc = HR_MORE;
    while (rc == HR_MORE && at < n) {
        size_t k = step && n - at > step ? step : n - at;
        buf_append(&carry, s + at, k);
        at += k;
        rc = httpresp_feed(&h, carry.data, carry.len, &used);
        memmove(carry.data, carry.data + used, carry.len - used);
        carry.len -= used;
    }
    if (rc == HR_MORE && eof)
        rc = httpresp_eof(&h);
    o.rc = rc;
    o.status = h.status;
    o.close = h.close;
    o.error = h.error;
    o.len = body.len < sizeof(o.body) ? body.len : sizeof(o.body) - 1;
    if (body.len)
        memcpy(o.body, body.data, o.len);
    buf_free(&body);
    buf_free(&carry);
    return o;
}

/* each: the same verdict at once and in reads of 1, 2, 3, 7 and 64. */
static struct outcome each(const char *s, size_t cap, bool eof)
{
    static const size_t steps[] = {1, 2, 3, 7, 64};
    struct outcome whole = parse(s, 0, cap, eof);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        struct outcome o = parse(s, steps[i], cap, eof);
        ck_assert_int_eq(o.rc, whole.rc);
        ck_assert_int_eq(o.status, whole.status);
        if (o.rc != HR_DONE)
            continue; /* a refused body may stop at any read */
        ck_assert_uint_eq(o.len, whole.len);
        ck_assert(memcmp(o.body, whole.body, o.len) == 0);
    }
    return whole;
}

START_TEST(content_length)
{
    struct outcome o = each("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                            "Content-Length: 11\r\n\r\nstemedb 1\r\n",
                            1024, false);
    ck_assert_int_eq(o.rc, HR_DONE);
    ck_assert_int_eq(o.status, 200);
    ck_assert(!o.close);
    ck_assert_str_eq(o.body, "stemedb 1\r\n");
    /* bare LF line ends, an empty body */
    o = each("HTTP/1.1 404 Not Found\nContent-Length: 0\n\n", 1024, false);
    ck_assert_int_eq(o.rc, HR_DONE);
    ck_assert_int_eq(o.status, 404);
    ck_assert_uint_eq(o.len, 0);
}
END_TEST

START_TEST(chunked)
{
    struct outcome o = each("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n"
                            "\r\n5;name=x\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n"
                            "0\r\nX-Trailer: 1\r\n\r\n",
                            1024, false);
    ck_assert_int_eq(o.rc, HR_DONE);
    ck_assert_str_eq(o.body, "hello world");
    /* data longer than its size, a bad size, an early end */
    o = each("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             "2\r\nabc\r\n0\r\n\r\n",
             1024, true);
    ck_assert_int_eq(o.rc, HR_ERROR);
    o = each("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
             1024, true);
    ck_assert_int_eq(o.rc, HR_ERROR);
    o = each("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
             1024, true);
    ck_assert_int_eq(o.rc, HR_ERROR);
    ck_assert_ptr_nonnull(o.error);
}
END_TEST

START_TEST(until_close)
{
    /* no length: the body ends with the stream; HTTP/1.0 closes */
    struct outcome o = each("HTTP/1.0 200 OK\r\n\r\nall of it\n", 1024, true);
    ck_assert_int_eq(o.rc, HR_DONE);
    ck_assert(o.close);
    ck_assert_str_eq(o.body, "all of it\n");
    o = each("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n"
             "Content-Length: 2\r\n\r\nok",
             1024, false);
    ck_assert_int_eq(o.rc, HR_DONE);
    ck_assert(!o.close);
    o = each("HTTP/1.1 200 OK\r\nConnection: foo, close\r\n"
             "Content-Length: 2\r\n\r\nok",
             1024, false);
    ck_assert_int_eq(o.rc, HR_DONE);
    ck_assert(o.close);
}
END_TEST

START_TEST(skips_1xx_and_bodyless)
{
    struct outcome o = each("HTTP/1.1 100 Continue\r\n\r\n"
                            "HTTP/1.1 204 No Content\r\n\r\n",
                            1024, false);
    ck_assert_int_eq(o.rc, HR_DONE);
    ck_assert_int_eq(o.status, 204);
    o = each("HTTP/1.1 101 Switching Protocols\r\n\r\n", 1024, true);
    ck_assert_int_eq(o.rc, HR_ERROR);
}
END_TEST

/* Over the cap: from the announced length, a chunk size, or the bytes
 * of a body that runs to the end of the stream. */
START_TEST(too_large)
{
    struct outcome o =
        each("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", 10, false);
    ck_assert_int_eq(o.rc, HR_TOO_LARGE);
    o = each("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             "8\r\n12345678\r\n8\r\n",
             10, false);
    ck_assert_int_eq(o.rc, HR_TOO_LARGE);
    o = each("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             "ffffffffffffffffffffff\r\n",
             10, false);
    ck_assert_int_eq(o.rc, HR_TOO_LARGE);
    o = each("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n"
             "\r\n",
             10, false);
    ck_assert_int_eq(o.rc, HR_TOO_LARGE);
    o = each("HTTP/1.0 200 OK\r\n\r\n0123456789A", 10, true);
    ck_assert_int_eq(o.rc, HR_TOO_LARGE);
    ck_assert_uint_le(o.len, 10);
}
END_TEST

static const char *const garbage[] = {
    "\x01\x02garbage\xff\xfe\r\n\r\n",
    "HTTP/2 200\r\n\r\n",
    "HTTP/1.1 20 OK\r\n\r\n",
    "HTTP/1.1 2000 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
    "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n",
    "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab",
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
    "Transfer-Encoding: chunked\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
    "\r\nHTTP/1.1 200 OK\r\n\r\n",
};

START_TEST(refuses_garbage)
{
    struct outcome o = each(garbage[_i], 1024, true);
    ck_assert_msg(o.rc == HR_ERROR, "case %d: rc %d", _i, (int)o.rc);
    ck_assert_ptr_nonnull(o.error);
}
END_TEST

/* The stream ends early: in the head, in a counted body. */
START_TEST(early_end)
{
    struct outcome o = each("HTTP/1.1 200 OK\r\nContent-Le", 1024, true);
    ck_assert_int_eq(o.rc, HR_ERROR);
    o = each("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1024, true);
    ck_assert_int_eq(o.rc, HR_ERROR);
    o = each("", 1024, true);
    ck_assert_int_eq(o.rc, HR_ERROR);
    /* not at the end yet: more is needed */
    o = each("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 1024, false);
    ck_assert_int_eq(o.rc, HR_MORE);
}
END_TEST

/* A line or a head beyond the limits fails without waiting for its end. */
START_TEST(limits)
{
    size_t n = HTTPRESP_MAX_LINE + 64;
    char *s = malloc(n + 64);
    strcpy(s, "HTTP/1.1 200 OK\r\nX: ");
    memset(s + strlen(s), 'a', n);
    s[n] = '\0';
    struct outcome o = parse(s, 0, 1024, false);
    ck_assert_int_eq(o.rc, HR_ERROR);
    o = parse(s, 100, 1024, false);
    ck_assert_int_eq(o.rc, HR_ERROR);
    free(s);

    struct buf head;
    buf_init(&head, 0);
    buf_puts(&head, "HTTP/1.1 200 OK\r\n");
    while (head.len <= HTTPRESP_MAX_HEAD)
        buf_puts(&head, "X-Filler: 0123456789012345678901234567890123\r\n");
    o = parse(head.data, 0, 1024, false);
    ck_assert_int_eq(o.rc, HR_ERROR);
    buf_free(&head);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("httpresp");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, content_length);
    tcase_add_test(tc, chunked);
    tcase_add_test(tc, until_close);
    tcase_add_test(tc, skips_1xx_and_bodyless);
    tcase_add_test(tc, too_large);
    tcase_add_loop_test(tc, refuses_garbage, 0,
                        (int)(sizeof(garbage) / sizeof(garbage[0])));
    tcase_add_test(tc, early_end);
    tcase_add_test(tc, limits);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
