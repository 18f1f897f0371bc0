/* fuzz_httpresp.c: the poller's HTTP/1.1 response parser (httpresp.h),
 * fed the way httpget.c feeds it: the input whole, then cut into reads
 * at places the input's first byte picks, with the unconsumed partial
 * line carried to the next read. Both must reach the same verdict, the
 * same status and the same body; the body never exceeds the cap. */
#include "fuzz.h"
#include "lib/httpresp.h"

#include <string.h>

struct verdict {
    enum httpresp_rc rc;
    int status;
    struct buf body;
};

/* run: feeds data in reads of at most step bytes (0: all at once). */
static void run(const char *data, size_t size, size_t step, size_t cap,
                struct verdict *v)
{
    struct httpresp h;
    struct buf carry;
    buf_init(&v->body, 0);
    buf_init(&carry, 0);
    httpresp_init(&h, &v->body, cap);
    enum httpresp_rc rc = HR_MORE;
    size_t at = 0;
    while (rc == HR_MORE && at < size) {
        size_t n = step && size - at > step ? step : size - at, used;
        if (buf_append(&carry, data + at, n) < 0)
            __builtin_trap();
        at += n;
        rc = httpresp_feed(&h, carry.data, carry.len, &used);
        if (used > carry.len)
            __builtin_trap();
        memmove(carry.data, carry.data + used, carry.len - used);
        carry.len -= used;
        if (rc == HR_MORE && carry.len > HTTPRESP_MAX_LINE + 2)
            __builtin_trap(); /* only a partial line may stay unread */
    }
    if (rc == HR_MORE)
        rc = httpresp_eof(&h);
    if (rc == HR_MORE || v->body.len > cap)
        __builtin_trap();
    if ((rc == HR_ERROR || rc == HR_TOO_LARGE) && !h.error)
        __builtin_trap();
    v->rc = rc;
    v->status = h.status;
    buf_free(&carry);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t step = 1 + data[0] % 17, cap = 16 + (size_t)data[1] * 8;
    const char *text = (const char *)data + 2;
    size -= 2;
    struct verdict whole, pieces;
    run(text, size, 0, cap, &whole);
    run(text, size, step, cap, &pieces);
    if (whole.rc != pieces.rc || whole.status != pieces.status)
        __builtin_trap();
    if (whole.rc == HR_DONE &&
        (whole.body.len != pieces.body.len ||
         (whole.body.len &&
          memcmp(whole.body.data, pieces.body.data, whole.body.len) != 0)))
        __builtin_trap();
    buf_free(&whole.body);
    buf_free(&pieces.body);
    return 0;
}
