/* fuzz_etcd.c: an etcd v3 gateway answer (etcdjson.h), as replguard's
 * HA member reads every one it gets; and base64 decoding, whose output
 * must encode back to the same text when it succeeds on a canonical
 * input. */
#include "ha/etcdjson.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static void check_kvs(const struct etcd_reply *r)
{
    for (size_t i = 0; i < r->n_kvs; i++) {
        if (strlen(r->kvs[i].key) > ETCD_MAX_KEY ||
            strlen(r->kvs[i].value) > ETCD_MAX_VALUE)
            __builtin_trap(); /* terminated within their arrays */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct etcd_reply r;
    if (etcd_parse((const char *)data, size, 16, &r) == 0) {
        if (r.n_kvs > 16 || (r.n_kvs && !r.kvs))
            __builtin_trap();
        check_kvs(&r);
        etcd_reply_free(&r);
    } else if (r.kvs || r.n_kvs) {
        __builtin_trap(); /* a failure leaves nothing to free */
    }
    char *text = malloc(size + 1), out[ETCD_MAX_VALUE + 1];
    memcpy(text, data, size);
    text[size] = '\0';
    long n = etcd_unb64(text, out, ETCD_MAX_VALUE);
    if (n >= 0) {
        char *back = etcd_b64(out, (size_t)n);
        if (strlen(back) != ((size_t)n + 2) / 3 * 4)
            __builtin_trap();
        free(back);
    }
    free(text);
    return 0;
}
