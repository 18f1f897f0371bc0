/* fuzz_pgscrape.c: a PostgreSQL node's scrape answer (COPY text, from
 * the network) through pgscrape_parse() and, row by row, copytext_next()
 * with its escaping checked both ways: a field escaped again with
 * pgreq_copy_value() must read back the same. */
#include "formats/copytext.h"
#include "lib/pgreq.h"
#include "profiles/postgres/postgres.h"
#include "fuzz.h"

/* round_trip: each field of row, escaped and read again, is itself. */
static void round_trip(const struct copytext_row *row)
{
    for (size_t i = 0; i < row->n; i++) {
        struct buf b;
        buf_init(&b, 0);
        const char *f = row->field[i];
        pgreq_copy_value(&b, f, f ? strlen(f) : 0);
        buf_append(&b, "\n", 1); /* an empty field is still a row */
        char again[1024];
        struct copytext_row r2;
        const char *why;
        size_t pos = 0;
        if (copytext_next(b.data, b.len, &pos, again, sizeof(again), &r2,
                          &why) != 1 ||
            r2.n != 1 || (f == NULL) != (r2.field[0] == NULL) ||
            (f && strcmp(f, r2.field[0]) != 0))
            __builtin_trap();
        buf_free(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct node_sample s;
    struct promtext_error err = {0};
    if (pgscrape_parse(text, size, &s, &err) < 0 && !err.msg)
        __builtin_trap(); /* a refusal says why */
    if (s.n_reported > PROFILE_MAX_REPORTED)
        __builtin_trap();
    char buf[256];
    struct copytext_row row;
    const char *why;
    size_t pos = 0, last = 0;
    int rc;
    while ((rc = copytext_next(text, size, &pos, buf, sizeof(buf), &row,
                               &why)) != 0) {
        if (pos <= last || pos > size)
            __builtin_trap(); /* always advances, never past the end */
        last = pos;
        if (rc > 0)
            round_trip(&row);
    }
    return 0;
}
