/* fuzz_promtext.c: the Prometheus text parser (promtext.h) with a handler
 * that wants every line and reads every field it is handed, then the
 * stemedb profile's reader (scrape.h) on the same bytes, as a node's
 * /metrics answer reaches it. */
#include "fuzz.h"
#include "formats/promtext.h"
#include "profiles/stemedb/scrape.h"

#include <string.h>

/* The callbacks touch every byte they are handed, so that ASan sees a
 * label or name that points outside its buffer. */
static size_t touch(const char *p, size_t n)
{
    size_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (unsigned char)p[i];
    return sum;
}

static int on_sample(const struct promtext_sample *s, void *ctx)
{
    size_t *sum = ctx;
    *sum += touch(s->name, s->name_len);
    for (size_t i = 0; i < s->nlabels; i++) {
        const struct promtext_label *l = &s->labels[i];
        *sum += touch(l->name, l->name_len + 1);
        *sum += touch(l->value, l->value_len + 1);
        if (promtext_label_find(s->labels, s->nlabels, l->name) == NULL)
            __builtin_trap(); /* a label present must be found */
    }
    return 0;
}

static int on_help(const char *name, size_t name_len, const char *text,
                   size_t text_len, void *ctx)
{
    size_t *sum = ctx;
    *sum += touch(name, name_len) + touch(text, text_len + 1);
    return 0;
}

static int on_type(const char *name, size_t name_len, enum promtext_type type,
                   void *ctx)
{
    size_t *sum = ctx;
    *sum += touch(name, name_len) + strlen(promtext_type_name(type));
    return 0;
}

/* want_some: a filter that keeps some families and refuses others. */
static int want_some(const char *name, size_t len, void *ctx)
{
    (void)ctx;
    return len % 2 == 0 || (len && name[0] == 's');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t sum = 0;
    struct promtext_handler h = {
        .sample = on_sample, .help = on_help, .type = on_type, .ctx = &sum};
    struct promtext_error err;
    int rc = promtext_parse(text, size, &h, &err);
    /* Validity never depends on the handler (promtext.h). */
    int bare = promtext_parse(text, size, NULL, NULL);
    if (rc != bare || (rc < 0) != (err.msg != NULL))
        __builtin_trap();

    /* skip_unwanted (promtext.h): never stricter than a full parse,
     * and the same samples when that one succeeds. */
    size_t sum2 = 0;
    struct promtext_handler lazy = {.want = want_some,
                                    .sample = on_sample,
                                    .ctx = &sum2,
                                    .skip_unwanted = 1};
    struct promtext_handler full = lazy;
    full.skip_unwanted = 0;
    struct promtext_error e_lazy, e_full;
    int r_lazy = promtext_parse(text, size, &lazy, &e_lazy);
    int r_full = promtext_parse(text, size, &full, &e_full);
    if ((r_full == 0 && (r_lazy != 0 || e_lazy.passed != e_full.passed)) ||
        (r_lazy < 0 && (r_full >= 0 || e_full.line > e_lazy.line)))
        __builtin_trap();

    struct node_sample ns;
    scrape_parse(text, size, &ns, &err);
    return 0;
}
