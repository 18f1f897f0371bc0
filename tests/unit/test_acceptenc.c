/* test_acceptenc.c: Accept-Encoding into a coding (serve/acceptenc.h),
 * and lib/gzip.h's output read back with zlib. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lib/gzip.h"
#include "lib/util.h"
#include "serve/acceptenc.h"

#define I ACCEPTENC_IDENTITY
#define G ACCEPTENC_GZIP
#define N ACCEPTENC_NONE

static const struct {
    const char *value; /* NULL: no header */
    enum acceptenc want;
} cases[] = {
    {NULL, I},
    {"", I},
    {"gzip", G},                    /* Prometheus */
    {"deflate, gzip, br, zstd", G}, /* curl --compressed */
    {"gzip, deflate", G},
    {"GZip", G}, /* codings are case-insensitive */
    {"x-gzip", G},
    {"br", I},       /* nothing we have but identity */
    {"gzip;q=0", I}, /* refused */
    {"gzip; q=0.000", I},
    {"gzip;Q=0", I},
    {"gzip;q=0.5, identity", I}, /* identity weighs more */
    {"gzip;q=1.0, identity;q=0.5", G},
    {"gzip;q=0.5, identity;q=0.5", G}, /* a tie: ours, the smaller */
    {"identity", I},
    {"identity;q=0", N},
    {"identity;q=0, gzip", G},
    {"identity;q=0, gzip;q=0", N},
    {"*", G},
    {"*;q=0", N}, /* identity refused through * */
    {"*;q=0, identity", I},
    {"*;q=0, gzip", G},
    {"*;q=0.1, gzip;q=0", I}, /* * does not undo gzip;q=0 */
    {"gzip;q=0, gzip", I},    /* the first entry counts */
    {"gzip;q=2", I},          /* bad q: the entry is ignored */
    {"gzip;q=0.5x", I},
    {"gzip;q=0.1234", I},
    {"gzip;q=", I},
    {"  gzip  ;  level=1 ; q=0.8 ,identity;q=0.3", G},
    {",,gzip,,", G},
    {"gzipx", I},
    {"identity;q=0, *;q=0.2", G},
};

START_TEST(choice_table)
{
    ck_assert_msg(acceptenc_parse(cases[_i].value) == cases[_i].want,
                  "\"%s\": got %d, want %d",
                  cases[_i].value ? cases[_i].value : "(none)",
                  (int)acceptenc_parse(cases[_i].value), (int)cases[_i].want);
}
END_TEST

START_TEST(fields_add_up)
{
    struct acceptenc_q q;
    acceptenc_init(&q);
    acceptenc_feed(&q, "identity;q=0");
    ck_assert_int_eq(acceptenc_pick(&q), N);
    acceptenc_feed(&q, "gzip");
    ck_assert_int_eq(acceptenc_pick(&q), G);
}
END_TEST

/* inflate_all: p's gzip member decoded into out (cap bytes); its
 * length, or -1. */
static long inflate_all(const char *p, size_t len, char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(inflateInit2(&z, 16 + 15), Z_OK); /* gzip only */
    z.next_in = (unsigned char *)p;
    z.avail_in = (uInt)len;
    z.next_out = (unsigned char *)out;
    z.avail_out = (uInt)cap;
    int rc = inflate(&z, Z_FINISH);
    long n = rc == Z_STREAM_END && z.avail_in == 0 ? (long)z.total_out : -1;
    inflateEnd(&z);
    return n;
}

START_TEST(gzip_round_trip)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 20000; i++)
        buf_printf(&b, "stemedb_replication_lag_seconds{node=\"n%d\"} %d\n",
                   i % 1000, i * 7 % 13);
    for (int level = 1; level <= 9; level += 5) {
        size_t n;
        char *gz = gzip_compress(b.data, b.len, level, &n);
        ck_assert_ptr_nonnull(gz);
        ck_assert_uint_lt(n, b.len / 5);
        ck_assert_int_eq((unsigned char)gz[0], 0x1f); /* the gzip magic */
        ck_assert_int_eq((unsigned char)gz[1], 0x8b);
        char *out = xmalloc(b.len + 1);
        ck_assert_int_eq(inflate_all(gz, n, out, b.len + 1), (long)b.len);
        ck_assert_int_eq(memcmp(out, b.data, b.len), 0);
        free(out);
        free(gz);
    }
    size_t n;
    char *gz = gzip_compress("", 0, GZIP_LEVEL, &n); /* an empty body */
    char out[4];
    ck_assert_ptr_nonnull(gz);
    ck_assert_int_eq(inflate_all(gz, n, out, sizeof(out)), 0);
    free(gz);
    buf_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("acceptenc");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, choice_table, 0, (int)ARRAY_LEN(cases));
    tcase_add_test(tc, fields_add_up);
    tcase_add_test(tc, gzip_round_trip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
