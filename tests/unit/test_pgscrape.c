/* test_pgscrape.c: the postgres profile's pure parts: the COPY text
 * reader (formats/copytext.c), the scrape answer's parser
 * (profiles/postgres/pgscrape.c), its request builders, and the config's
 * dsn:, url: and password_file: checks (config/configpg.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "formats/copytext.h"
#include "lib/pgreq.h"
#include "profiles/postgres/postgres.h"

/* --- COPY text ---------------------------------------------------------- */

START_TEST(copytext_rows_fields_nulls_escapes)
{
    const char *t = "a\tb\\tc\t\\N\nx\\\\y\t\\n\t\n\nlast";
    size_t pos = 0, len = strlen(t);
    char buf[64];
    struct copytext_row row;
    const char *why;
    ck_assert_int_eq(copytext_next(t, len, &pos, buf, sizeof(buf), &row, &why),
                     1);
    ck_assert_uint_eq(row.n, 3);
    ck_assert_str_eq(row.field[0], "a");
    ck_assert_str_eq(row.field[1], "b\tc");
    ck_assert_ptr_null(row.field[2]);
    ck_assert_int_eq(copytext_next(t, len, &pos, buf, sizeof(buf), &row, &why),
                     1);
    ck_assert_uint_eq(row.n, 3);
    ck_assert_str_eq(row.field[0], "x\\y");
    ck_assert_str_eq(row.field[1], "\n");
    ck_assert_str_eq(row.field[2], "");
    ck_assert_int_eq(copytext_next(t, len, &pos, buf, sizeof(buf), &row, &why),
                     1);
    ck_assert_uint_eq(row.n, 1); /* an empty line: one empty field */
    ck_assert_int_eq(copytext_next(t, len, &pos, buf, sizeof(buf), &row, &why),
                     1);
    ck_assert_str_eq(row.field[0], "last"); /* no final newline */
    ck_assert_int_eq(copytext_next(t, len, &pos, buf, sizeof(buf), &row, &why),
                     0);
}
END_TEST

static const char *const bad_rows[] = {
    "a\\qb\n", /* an unknown escape */
    "a\\",     /* a backslash at the end */
    "\\Nx\n",  /* text after \N */
    "1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\t12\t13\t14\t15\t16\t17\n",
    "0123456789012345678901234567890123456789\n", /* longer than buf */
};

START_TEST(copytext_refuses_malformed_rows)
{
    const char *t = bad_rows[_i];
    size_t pos = 0;
    char buf[32];
    struct copytext_row row;
    const char *why = NULL;
    ck_assert_int_eq(
        copytext_next(t, strlen(t), &pos, buf, sizeof(buf), &row, &why), -1);
    ck_assert_ptr_nonnull(why);
    ck_assert_uint_eq(pos, strlen(t)); /* past the row */
}
END_TEST

START_TEST(copy_value_escapes_round_trip)
{
    struct buf b;
    buf_init(&b, 0);
    pgreq_copy_value(&b, "a\tb\\c\nd\re", 9);
    buf_puts(&b, "\t");
    pgreq_copy_value(&b, NULL, 0);
    buf_append(&b, "", 1);
    ck_assert_str_eq(b.data, "a\\tb\\\\c\\nd\\re\t\\N");
    size_t pos = 0;
    char f[64];
    struct copytext_row row;
    const char *why;
    ck_assert_int_eq(
        copytext_next(b.data, strlen(b.data), &pos, f, sizeof(f), &row, &why),
        1);
    ck_assert_str_eq(row.field[0], "a\tb\\c\nd\re");
    ck_assert_ptr_null(row.field[1]);
    buf_free(&b);
}
END_TEST

/* --- the scrape --------------------------------------------------------- */

static const char primary_answer[] = "recovery\tfalse\t\\N\n"
                                     "position\t67110104\t\\N\n"
                                     "acked\t67110000\t\\N\n"
                                     "received\t\\N\t\\N\n"
                                     "timeline\t3\t\\N\n"
                                     "connected\t\\N\t\\N\n"
                                     "paused\t\\N\t\\N\n"
                                     "heartbeat\t1796652404.123456\t\\N\n"
                                     "sync_names\tnode2\t\\N\n"
                                     "standby\tsync\tnode2\n"
                                     "standby\tasync\tnode3\n"
                                     "reported\t0.000342\tnode2\n"
                                     "reported\t\\N\tnode3\n"
                                     "future_key\twhatever\t\\N\n";

START_TEST(primary_sample)
{
    struct node_sample s;
    struct promtext_error err = {0};
    ck_assert_int_eq(
        pgscrape_parse(primary_answer, strlen(primary_answer), &s, &err), 0);
    ck_assert_int_eq(s.role, SEEN_ROLE_PRIMARY);
    ck_assert(s.has_position);
    ck_assert_uint_eq(s.position, 67110104);
    ck_assert(s.has_acked);
    ck_assert_uint_eq(s.acked, 67110000);
    ck_assert(!s.has_received);
    ck_assert(s.has_epoch);
    ck_assert_uint_eq(s.epoch, 3);
    ck_assert(!s.has_connected);
    ck_assert(s.has_heartbeat);
    ck_assert_double_eq(s.heartbeat, 1796652404.123456);
    ck_assert_int_eq(s.sync_mode, SYNC_SEEN_SYNC);
    ck_assert_uint_eq(s.n_reported, 1); /* node3's NULL says nothing */
    ck_assert_str_eq(s.reported[0].replica, "node2");
    ck_assert_double_eq_tol(s.reported[0].lag, 0.000342, 1e-9);
}
END_TEST

START_TEST(standby_sample)
{
    const char *t = "recovery\ttrue\t\\N\n"
                    "position\t500\t\\N\n"
                    "acked\t\\N\t\\N\n"
                    "received\t700\t\\N\n"
                    "timeline\t2\t\\N\n"
                    "connected\tfalse\t\\N\n"
                    "paused\ttrue\t\\N\n";
    struct node_sample s;
    struct promtext_error err = {0};
    ck_assert_int_eq(pgscrape_parse(t, strlen(t), &s, &err), 0);
    ck_assert_int_eq(s.role, SEEN_ROLE_REPLICA);
    ck_assert_uint_eq(s.position, 500);
    ck_assert(!s.has_acked);
    ck_assert(s.has_received);
    ck_assert_uint_eq(s.received, 700);
    ck_assert(s.has_connected && !s.connected);
    ck_assert(s.has_paused && s.paused);
    ck_assert(!s.has_heartbeat); /* no row: the table is empty */
    ck_assert_int_eq(s.sync_mode, SYNC_SEEN_UNKNOWN);
}
END_TEST

START_TEST(sync_modes_of_a_primary)
{
    const char *base = "recovery\tfalse\t\\N\nposition\t1\t\\N\n";
    const char *tails[] = {"sync_names\t\t\\N\n",
                           "sync_names\tnode2\t\\N\nstandby\tasync\tnode3\n",
                           "sync_names\tANY 1 (a, b)\t\\N\n"
                           "standby\tquorum\ta\n"};
    enum sync_seen want[] = {SYNC_SEEN_ASYNC, SYNC_SEEN_BLOCKED,
                             SYNC_SEEN_SYNC};
    for (int i = 0; i < 3; i++) {
        char t[256];
        snprintf(t, sizeof(t), "%s%s", base, tails[i]);
        struct node_sample s;
        struct promtext_error err = {0};
        ck_assert_int_eq(pgscrape_parse(t, strlen(t), &s, &err), 0);
        ck_assert_int_eq(s.sync_mode, want[i]);
    }
}
END_TEST

static const char *const bad_answers[] = {
    "",                       /* nothing */
    "recovery\tfalse\t\\N\n", /* no position */
    "position\t12\t\\N\n",    /* no recovery state */
    "recovery\tmaybe\t\\N\nposition\t1\t\\N\n",
    "recovery\tfalse\t\\N\nposition\t-1\t\\N\n",
    "recovery\tfalse\t\\N\nposition\t1\n", /* two fields */
    "recovery\tfalse\t\\N\nposition\t1\t\\N\nbad\\escape\t\t\n",
};

START_TEST(bad_answers_are_refused)
{
    const char *t = bad_answers[_i];
    struct node_sample s;
    struct promtext_error err = {0};
    ck_assert_int_eq(pgscrape_parse(t, strlen(t), &s, &err), -1);
    ck_assert_ptr_nonnull(err.msg);
}
END_TEST

START_TEST(requests_are_sql)
{
    const struct profile_ops *ops = profile_of(PROFILE_POSTGRES);
    ck_assert_ptr_eq(ops, &postgres_profile);
    ck_assert_str_eq(ops->name, "postgres");
    ck_assert(ops->positions_are_bytes);
    ck_assert(!ops->merkle);
    struct profile_request rq;
    ops->scrape(&rq);
    ck_assert_str_eq(rq.method, "SQL");
    ck_assert_str_eq(rq.path, "");
    ck_assert_int_eq(rq.at, PROFILE_AT_TARGET);
    ck_assert_str_eq(rq.body, POSTGRES_SCRAPE_SQL);
    profile_request_free(&rq);
    ops->heartbeat("1796652404.123456", &rq);
    ck_assert_str_eq(rq.method, "SQL");
    ck_assert_int_eq(rq.at, PROFILE_AT_PRIMARY);
    ck_assert_str_eq(rq.body,
                     "INSERT INTO replguard.heartbeat (id, ts) VALUES (1, "
                     "1796652404.123456) ON CONFLICT (id) DO UPDATE SET ts = "
                     "EXCLUDED.ts");
    profile_request_free(&rq);
    ck_assert(!profile_supports(ops, RUNBOOK_ACT_THROTTLE));
    ck_assert(!profile_supports(ops, RUNBOOK_ACT_FORCE_SYNC));
    ck_assert(profile_supports(ops, RUNBOOK_ACT_ESCALATE));
}
END_TEST

/* --- the config --------------------------------------------------------- */

static char pwfile[64];

static int load(const char *nodes, const char *extra, struct config **cfg,
                struct errlist *errs)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "clusters:\n"
             "  - name: pg\n"
             "%s"
             "    nodes:\n"
             "%s",
             extra, nodes);
    errlist_init(errs);
    return config_load_string("t.yml", text, strlen(text), cfg, errs);
}

#define PG "    profile: postgres\n"
#define PG_NODE                                                                \
    "      - {name: a, role: primary, dsn: \"host=h port=5 user=u\"}\n"

START_TEST(config_postgres_nodes)
{
    struct config *cfg;
    struct errlist errs;
    char extra[160];
    snprintf(extra, sizeof(extra), PG "    password_file: %s\n", pwfile);
    ck_assert_int_eq(load(PG_NODE, extra, &cfg, &errs), 0);
    const struct config_node *n = &cfg->clusters[0].nodes[0];
    ck_assert_int_eq(cfg->clusters[0].profile, PROFILE_POSTGRES);
    ck_assert_str_eq(n->dsn, "host=h port=5 user=u");
    ck_assert_str_eq(n->url, "host=h port=5 user=u"); /* shown */
    ck_assert_str_eq(config_node_target(n),
                     "host=h port=5 user=u password='it\\'s\\\\x'");
    config_free(cfg);
    errlist_reset(&errs);
    /* without password_file: the dsn alone (libpq's passfile may serve) */
    ck_assert_int_eq(load(PG_NODE, PG, &cfg, &errs), 0);
    ck_assert_str_eq(config_node_target(&cfg->clusters[0].nodes[0]),
                     "host=h port=5 user=u");
    config_free(cfg);
    errlist_reset(&errs);
}
END_TEST

static const struct {
    const char *nodes, *extra, *want;
} config_errors[] = {
    {"      - {name: a, role: primary, url: \"http://h:1\"}\n", PG,
     "t.yml:5:39: clusters[0].nodes[0].url: a postgres node has dsn:"},
    {"      - {name: a, role: primary}\n", PG,
     "t.yml:5:9: clusters[0].nodes[0]: missing required key \"dsn\""},
    {PG_NODE, "",
     "t.yml:4:39: clusters[0].nodes[0].dsn: dsn: is for postgres nodes"},
    {"      - {name: a, role: primary, dsn: \"host=h bogus=1\"}\n", PG,
     "t.yml:5:39: clusters[0].nodes[0].dsn: not a libpq connection string: "
     "invalid connection option \"bogus\""},
    {"      - {name: a, role: primary, dsn: \"host=h password=x\"}\n", PG,
     "t.yml:5:39: clusters[0].nodes[0].dsn: holds a password"},
    {PG_NODE, PG "    password_file: /nonexistent/pw\n",
     "t.yml:4:20: clusters[0].password_file: password_file /nonexistent/pw: "},
    {"      - {name: a, role: primary, url: \"http://h:1\"}\n",
     "    password_file: /x\n",
     "t.yml:3:20: clusters[0].password_file: password_file is for profile "
     "postgres"},
};

START_TEST(config_errors_name_the_place)
{
    struct config *cfg;
    struct errlist errs;
    ck_assert_int_gt(
        load(config_errors[_i].nodes, config_errors[_i].extra, &cfg, &errs), 0);
    ck_assert_ptr_null(cfg);
    const char *want = config_errors[_i].want;
    ck_assert_msg(strncmp(errs.msg[0], want, strlen(want)) == 0,
                  "\n  got:  %s\n  want: %s...", errs.msg[0], want);
    errlist_reset(&errs);
}
END_TEST

START_TEST(config_password_file_must_be_secret)
{
    struct config *cfg;
    struct errlist errs;
    char extra[160];
    snprintf(extra, sizeof(extra), PG "    password_file: %s\n", pwfile);
    ck_assert_int_eq(chmod(pwfile, 0644), 0);
    ck_assert_int_gt(load(PG_NODE, extra, &cfg, &errs), 0);
    ck_assert_ptr_nonnull(strstr(errs.msg[0], "password_file"));
    errlist_reset(&errs);
    ck_assert_int_eq(chmod(pwfile, 0600), 0);
}
END_TEST

static void setup(void)
{
    snprintf(pwfile, sizeof(pwfile), "/tmp/test_pgscrape.XXXXXX");
    int fd = mkstemp(pwfile);
    ck_assert_int_ge(fd, 0);
    const char pw[] = "it's\\x\n";
    ck_assert_int_eq(write(fd, pw, strlen(pw)), (ssize_t)strlen(pw));
    close(fd);
}

static void teardown(void)
{
    unlink(pwfile);
}

int main(void)
{
    Suite *s = suite_create("pgscrape");
    TCase *tc = tcase_create("copytext");
    tcase_add_test(tc, copytext_rows_fields_nulls_escapes);
    tcase_add_loop_test(tc, copytext_refuses_malformed_rows, 0,
                        sizeof(bad_rows) / sizeof(bad_rows[0]));
    tcase_add_test(tc, copy_value_escapes_round_trip);
    suite_add_tcase(s, tc);
    tc = tcase_create("scrape");
    tcase_add_test(tc, primary_sample);
    tcase_add_test(tc, standby_sample);
    tcase_add_test(tc, sync_modes_of_a_primary);
    tcase_add_loop_test(tc, bad_answers_are_refused, 0,
                        sizeof(bad_answers) / sizeof(bad_answers[0]));
    tcase_add_test(tc, requests_are_sql);
    suite_add_tcase(s, tc);
    tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, config_postgres_nodes);
    tcase_add_loop_test(tc, config_errors_name_the_place, 0,
                        sizeof(config_errors) / sizeof(config_errors[0]));
    tcase_add_test(tc, config_password_file_must_be_secret);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
