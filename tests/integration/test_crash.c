/* test_crash.c: a kill -9 storm against replguard while webhooks keep
 * coming.
 *
 * Two client threads POST Alertmanager webhooks without pause: new alerts
 * (each with a unique `id` label and fingerprint), re-sends of alerts
 * already acknowledged and resolved notices of alerts whose action ran.
 * Meanwhile the test kills replguard with SIGKILL at random moments,
 * checks the journal it left (journal_open() on a copy: it must open),
 * restarts it (it must come up ready) and goes on; CRASH_KILLS kills (20
 * by default), delays from CRASH_SEED (printed, so a failure can be
 * replayed; random otherwise).
 *
 * Every alert's runbook runs one exec action that appends its id to a
 * file. The runbooks are lanes (an alert's lane label picks one), so the
 * cooldown (1ms, per runbook and target) and the hourly budget (1000 per
 * runbook) never come near two distinct alerts and never hide a second
 * run of one alert: only the journal's dedupe can keep a re-sent or
 * replayed alert from running again. At the end, after a quiet period:
 *   (a) no id is in the file twice (no action ran twice);
 *   (b) every alert answered 200 is accounted for: its action ran, or
 *       the journal records its action as interrupted (a kill mid-run;
 *       by policy not run again);
 *   (c) every record of the journal checks out (journal_replay()). */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_harness.h"
#include "act/journal.h"
#include "simnode_harness.h"
#include "lib/util.h"

#define LANES     200   /* runbooks; an alert's lane is its id % LANES */
#define MAX_IDS   20000 /* alerts one run may create */
#define CLIENTS   2
#define QUIET_S   15.0 /* the end: how long queued work may make no progress */
#define STARTS_AT "2026-11-22T00:00:00Z"

static struct simnode sn;
static struct agent ag;
static char out[128]; /* the exec actions' file */

/* What the clients did, shared with the main thread. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char base[64];        /* replguard's URL; changes at each restart */
static unsigned next_id = 1; /* the next new alert */
static bool acked[MAX_IDS];  /* answered 200 at least once */
static atomic_bool stopping;
static atomic_uint n_new, n_resend, n_resolved, n_refused;

/* --- the runbooks and the config --------------------------------------- */

static void write_files(void)
{
    char rules[128];
    snprintf(rules, sizeof(rules), "%s/rules.yml", ag.dir);
    snprintf(out, sizeof(out), "%s/ran", ag.dir);
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < LANES; i++)
        buf_printf(&b,
                   "%srunbook: lane-%d\n"
                   "match: {alertname: Storm, lane: \"%d\"}\n"
                   "target_label: replica\n"
                   "steps:\n"
                   "  - action: exec\n"
                   "    argv: [/bin/sh, -c, "
                   "'echo \"$REPLGUARD_LABEL_ID\" >> %s']\n"
                   "    timeout: 10s\n"
                   "cooldown: 1ms\n"
                   "max_actions_per_hour: 1000\n",
                   i ? "---\n" : "", i, i, out);
    agent_write(rules, b.data);
    buf_reset(&b);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s/state\n"
               "audit_log: %s/audit.jsonl\n"
               "rules: %s\n"
               "poll: {interval: 500ms, timeout: 450ms}\n"
               "clusters:\n  - name: c1\n    nodes:\n",
               ag.dir, ag.dir, rules);
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

/* --- the clients ---------------------------------------------------------- */

static void fingerprint(unsigned id, char *fp, size_t n)
{
    snprintf(fp, n, "c0ffee%08x", id);
}

/* post: one webhook of alert id; returns the HTTP status (0: no answer,
 * replguard is down). */
static long post(unsigned id, bool resolved)
{
    char fp[32], url[128];
    fingerprint(id, fp, sizeof(fp));
    const char *st = resolved ? "resolved" : "firing";
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "{\"version\":\"4\",\"status\":\"%s\",\"receiver\":\"rg\","
               "\"alerts\":[{\"status\":\"%s\",\"labels\":{\"alertname\":"
               "\"Storm\",\"replica\":\"node2\",\"lane\":\"%u\",\"id\":"
               "\"%u\"},\"startsAt\":\"" STARTS_AT "\",\"fingerprint\":"
               "\"%s\"}]}",
               st, st, id % LANES, id, fp);
    pthread_mutex_lock(&mu);
    snprintf(url, sizeof(url), "%s/webhook", base);
    pthread_mutex_unlock(&mu);
    struct opts o = {.method = "POST", .body = b.data, .timeout_ms = 3000};
    struct resp r;
    http(url, &o, &r);
    buf_free(&r.body);
    buf_free(&b);
    return r.rc == CURLE_OK ? r.status : 0;
}

/* read_ran: the ids in the output file, counted into seen[MAX_IDS]. */
static void read_ran(unsigned *seen)
{
    FILE *f = fopen(out, "r");
    char line[64];
    memset(seen, 0, MAX_IDS * sizeof(*seen));
    while (f && fgets(line, sizeof(line), f)) {
        unsigned long id = strtoul(line, NULL, 10);
        ck_assert_msg(id > 0 && id < MAX_IDS, "bad line in %s: %s", out, line);
        seen[id]++;
    }
    if (f)
        fclose(f);
}

/* pick_acked: a random id answered 200 (0: none yet). */
static unsigned pick_acked(unsigned *seed, const unsigned *ran_seen)
{
    pthread_mutex_lock(&mu);
    unsigned top = next_id, id = 0;
    for (int tries = 0; tries < 8 && top > 1 && !id; tries++) {
        unsigned c = 1 + (unsigned)rand_r(seed) % (top - 1);
        if (acked[c] && (!ran_seen || ran_seen[c]))
            id = c;
    }
    pthread_mutex_unlock(&mu);
    return id;
}

static void *client(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    unsigned *ran_seen = xcalloc(MAX_IDS, sizeof(*ran_seen));
    unsigned retry = 0; /* a new alert not acknowledged yet: sent again */
    for (unsigned n = 0; !atomic_load(&stopping); n++) {
        if (n % 64 == 0)
            read_ran(ran_seen);
        unsigned dice = (unsigned)rand_r(&seed) % 100, id = 0;
        bool resolved = false;
        if (dice < 25) {
            id = pick_acked(&seed, NULL); /* a repeat_interval re-send */
        } else if (dice < 30) {
            id = pick_acked(&seed, ran_seen); /* it ran: now resolved */
            resolved = true;
        }
        bool is_new = id == 0;
        if (is_new && retry) {
            id = retry;
        } else if (is_new) {
            pthread_mutex_lock(&mu);
            id = next_id < MAX_IDS ? next_id++ : 0;
            pthread_mutex_unlock(&mu);
            if (!id)
                break;
        }
        long st = post(id, resolved);
        if (st == 200 && !resolved) {
            pthread_mutex_lock(&mu);
            acked[id] = true;
            pthread_mutex_unlock(&mu);
        }
        if (is_new)
            retry = st == 200 ? 0 : id; /* Alertmanager retries */
        atomic_fetch_add(is_new     ? &n_new
                         : resolved ? &n_resolved
                                    : &n_resend,
                         st == 200);
        if (st != 200) {
            atomic_fetch_add(&n_refused, 1);
            sleep_ms(10); /* down or starting: retry shortly */
        } else {
            sleep_ms(2 + rand_r(&seed) % 10);
        }
    }
    free(ran_seen);
    return NULL;
}

/* --- the journal ---------------------------------------------------------- */

/* copy_journal: copies state/journal.jsonl into a fresh dir/check. */
static void copy_journal(char *check, size_t n)
{
    char from[192], to[192];
    snprintf(check, n, "%s/check", ag.dir);
    mkdir(check, 0700);
    snprintf(from, sizeof(from), "%s/state/journal.jsonl", ag.dir);
    snprintf(to, sizeof(to), "%s/journal.jsonl", check);
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(fileio_read_file(NULL, from, 1 << 30, &text, &len), 0);
    int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fileio_write_all(NULL, fd, text, len), 0);
    close(fd);
    free(text);
}

/* check_open: the journal a kill left opens (a torn tail is cut, damage
 * before it is not); returns the records it holds. */
static uint64_t check_open(void)
{
    char check[128];
    copy_journal(check, sizeof(check));
    int err = 0;
    struct journal *j = journal_open(check, NULL, &err);
    ck_assert_msg(j != NULL, "journal left by kill -9 does not open: %s",
                  strerror(-err));
    struct journal_stats st;
    journal_stats(j, &st);
    journal_close(j);
    return st.recovered_records;
}

/* The journal's view of the storm. */
struct verdict {
    bool *interrupted; /* [MAX_IDS]: an action of the id was interrupted */
    uint64_t records, last_seq, interruptions;
};

/* id_of_job: the alert id of a job key ("FINGERPRINT|startsAt|..."). */
static unsigned id_of_job(const char *key)
{
    unsigned id = 0;
    if (sscanf(key, "c0ffee%8x|", &id) != 1 || id >= MAX_IDS)
        return 0;
    return id;
}

static int check_record(void *ctx, const struct journal_record *r)
{
    struct verdict *v = ctx;
    ck_assert_uint_eq(r->seq, v->last_seq + 1);
    v->last_seq = r->seq;
    v->records++;
    cJSON *o = cJSON_Parse(r->payload);
    ck_assert_msg(cJSON_IsObject(o), "record %" PRIu64 " is not an object",
                  r->seq);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    ck_assert_msg(cJSON_IsString(type), "record %" PRIu64 " has no type",
                  r->seq);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "records"))
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "type");
        const cJSON *oc = cJSON_GetObjectItemCaseSensitive(it, "outcome");
        const cJSON *job = cJSON_GetObjectItemCaseSensitive(it, "job");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "outcome") != 0 ||
            !cJSON_IsString(oc) || strcmp(oc->valuestring, "interrupted") != 0)
            continue;
        ck_assert(cJSON_IsString(job));
        v->interrupted[id_of_job(job->valuestring)] = true;
        v->interruptions++;
    }
    cJSON_Delete(o);
    return 0;
}

/* read_verdict: every record of a copy of the journal, through the
 * journal's own reader. */
static void read_verdict(struct verdict *v)
{
    char check[128];
    copy_journal(check, sizeof(check));
    int err = 0;
    struct journal *j = journal_open(check, NULL, &err);
    ck_assert_msg(j != NULL, "journal does not open: %s", strerror(-err));
    memset(v->interrupted, 0, MAX_IDS * sizeof(*v->interrupted));
    v->records = v->last_seq = v->interruptions = 0;
    ck_assert_int_eq(journal_replay(j, check_record, v), 0);
    struct journal_stats st;
    journal_stats(j, &st);
    ck_assert_uint_eq(v->last_seq, st.last_seq);
    journal_close(j);
}

/* unaccounted: the first id answered 200 whose action neither ran nor
 * was interrupted (0: none); *n gets how many there are. */
static unsigned unaccounted(const unsigned *ran, const struct verdict *v,
                            unsigned *n)
{
    unsigned first = 0;
    *n = 0;
    pthread_mutex_lock(&mu);
    for (unsigned id = 1; id < next_id; id++) {
        if (acked[id] && !ran[id] && !v->interrupted[id]) {
            first = first ? first : id;
            (*n)++;
        }
    }
    pthread_mutex_unlock(&mu);
    return first;
}

/* audit_of: what the audit log says of fingerprint fp, for a failure. */
static void audit_of(const char *fp, struct buf *b)
{
    char path[128], line[4096];
    snprintf(path, sizeof(path), "%s/audit.jsonl", ag.dir);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (strstr(line, fp))
            buf_puts(b, line);
    if (f)
        fclose(f);
}

/* --- the storm ------------------------------------------------------------ */

static void set_base(void)
{
    pthread_mutex_lock(&mu);
    snprintf(base, sizeof(base), "%s", ag.base);
    pthread_mutex_unlock(&mu);
}

static unsigned env_uint(const char *name, unsigned dflt)
{
    const char *s = getenv(name);
    return s && *s ? (unsigned)strtoul(s, NULL, 10) : dflt;
}

static void setup(void)
{
    agent_setup(&ag, &sn, NULL);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

START_TEST(kill_9_storm_loses_nothing_and_repeats_nothing)
{
    unsigned kills = env_uint("CRASH_KILLS", 20);
    unsigned seed =
        env_uint("CRASH_SEED", (unsigned)time(NULL) ^ (unsigned)getpid());
    fprintf(stderr, "crash storm: CRASH_SEED=%u CRASH_KILLS=%u\n", seed, kills);
    unsigned seed0 = seed;
    write_files();
    agent_start(&ag);
    set_base();
    pthread_t th[CLIENTS];
    for (uintptr_t i = 0; i < CLIENTS; i++)
        ck_assert_int_eq(
            pthread_create(&th[i], NULL, client, (void *)(seed + 7919 * i)), 0);
    for (unsigned k = 0; k < kills; k++) {
        sleep_ms(100 + rand_r(&seed) % 700);
        agent_kill(&ag);
        check_open();
        agent_start(&ag); /* started, journal replayed, ready */
        set_base();
    }
    sleep_ms(1000); /* traffic for the last start too */
    atomic_store(&stopping, true);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(th[i], NULL);

    /* quiet: the queued work drains, for as long as it makes progress */
    unsigned *ran = xcalloc(MAX_IDS, sizeof(*ran));
    struct verdict v = {.interrupted = xcalloc(MAX_IDS, sizeof(bool))};
    unsigned missing = 0, first = 0, before = UINT_MAX;
    double progress = now_s();
    do {
        sleep_ms(200);
        read_ran(ran);
        read_verdict(&v);
        first = unaccounted(ran, &v, &missing);
        if (missing < before)
            progress = now_s();
        before = missing;
    } while (missing && now_s() < progress + QUIET_S);
    sleep_ms(500); /* anything still to run (twice) would show now */
    read_ran(ran);
    ck_assert_int_eq(agent_stop(&ag), 0);
    read_verdict(&v); /* (c): every record checks out */

    unsigned n_ran = 0, twice = 0, acked_n = 0;
    for (unsigned id = 1; id < MAX_IDS; id++) {
        n_ran += ran[id] > 0;
        twice = !twice && ran[id] > 1 ? id : twice;
        acked_n += acked[id];
    }
    fprintf(stderr,
            "crash storm: kills=%u alerts=%u acked=%u new=%u resent=%u "
            "resolved=%u refused=%u ran=%u interrupted=%" PRIu64
            " journal_records=%" PRIu64 "\n",
            kills, next_id - 1, acked_n, atomic_load(&n_new),
            atomic_load(&n_resend), atomic_load(&n_resolved),
            atomic_load(&n_refused), n_ran, v.interruptions, v.records);
    /* (a) nothing ran twice */
    ck_assert_msg(!twice, "alert %u's action ran %u times (CRASH_SEED=%u)",
                  twice, twice ? ran[twice] : 0, seed0);
    /* (b) nothing acknowledged was lost */
    first = unaccounted(ran, &v, &missing);
    if (first) {
        char fp[32];
        struct buf b;
        buf_init(&b, 0);
        fingerprint(first, fp, sizeof(fp));
        audit_of(fp, &b);
        ck_abort_msg("%u acknowledged alerts neither ran nor were "
                     "interrupted, e.g. %u (fingerprint %s; audit:\n%s) "
                     "(CRASH_SEED=%u)",
                     missing, first, fp, b.len ? b.data : "nothing\n", seed0);
        buf_free(&b);
    }
    ck_assert_uint_gt(n_ran, 10); /* the storm did act */
    free(ran);
    free(v.interrupted);
}
END_TEST

/* --- replay by hand: resume, cancel, interrupt -------------------------- */

/* job_key: the planner's dedupe key of firing alert fp for runbook rb. */
static void job_key(char *dst, size_t n, const char *fp, const char *rb)
{
    snprintf(dst, n, "%s|1795305600.000|firing|%s", fp, rb);
}

/* ran_text: the output file's text (heap; "" when it does not exist). */
static char *ran_text(void)
{
    char *text = NULL;
    if (fileio_read_file(NULL, out, 1 << 20, &text, NULL) != 0)
        text = xstrdup("");
    return text;
}

/* append: one journal record; fails the test on error. */
static void append(struct journal *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void append(struct journal *j, const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    ck_assert_int_eq(journal_append(j, text, NULL), 0);
}

/* STEP: a batch record holding one step record of job key */
#define STEP(type, key, step, tail)                                            \
    "{\"type\":\"batch\",\"records\":[{\"type\":\"" type "\",\"job\":\"%s\","  \
    "\"step\":" #step ",\"action\":\"exec\",\"cluster\":\"c1\","               \
    "\"target\":\"node2\"" tail "}]}",                                         \
        key

START_TEST(replay_resumes_exactly_the_steps_never_started)
{
    char rules[128], state[128];
    snprintf(rules, sizeof(rules), "%s/rules.yml", ag.dir);
    snprintf(state, sizeof(state), "%s/state", ag.dir);
    snprintf(out, sizeof(out), "%s/ran", ag.dir);
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "runbook: two\n"
               "match: {alertname: Two}\n"
               "target_label: replica\n"
               "steps:\n"
               "  - action: exec\n"
               "    argv: [/bin/sh, -c, 'echo \"$REPLGUARD_LABEL_ID-0\" >> "
               "%s']\n"
               "  - action: exec\n"
               "    argv: [/bin/sh, -c, 'echo \"$REPLGUARD_LABEL_ID-1\" >> "
               "%s']\n"
               "cooldown: 1ms\n",
               out, out);
    agent_write(rules, b.data);
    buf_reset(&b);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\nstate_dir: %s\n"
               "audit_log: %s/audit.jsonl\nrules: %s\n"
               "poll: {interval: 200ms, timeout: 150ms}\n"
               "clusters:\n  - name: c1\n    nodes:\n",
               state, ag.dir, rules);
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);

    /* what a crash left: alerts a to e planned (steps 0 and 1); a's step
     * 0 done, b cancelled (resolved), c's step 0 interrupted, d not
     * started at all, e's step 0 interrupted by an earlier crash */
    ck_assert_int_eq(mkdir(state, 0700), 0);
    int err = 0;
    struct journal *j = journal_open(state, NULL, &err);
    ck_assert_ptr_nonnull(j);
    static const char *const ids[] = {"a", "b", "c", "d", "e"};
    struct buf al;
    buf_init(&al, 0);
    for (int i = 0; i < 5; i++)
        buf_printf(&al,
                   "%s{\"fingerprint\":\"f%d\",\"starts_at\":1795305600,"
                   "\"status\":\"firing\",\"labels\":{\"alertname\":\"Two\","
                   "\"replica\":\"node2\",\"id\":\"%s\"}}",
                   i ? "," : "", i, ids[i]);
    append(j, "{\"type\":\"alerts\",\"alerts\":[%s]}", al.data);
    buf_free(&al);
    char key[5][128];
    for (int i = 0; i < 5; i++) {
        char fp[8];
        snprintf(fp, sizeof(fp), "f%d", i);
        job_key(key[i], sizeof(key[i]), fp, "two");
        append(j,
               "{\"type\":\"batch\",\"records\":[{\"type\":\"plan\","
               "\"key\":\"%s\",\"runbook\":\"two\",\"cluster\":\"c1\","
               "\"target\":\"node2\",\"ran\":true,\"cooldown\":0.001,"
               "\"t\":1795305600,\"steps\":[0,1],\"record\":1,\"index\":%d,"
               "\"on_resolved\":false,\"dry_run\":false,\"lag_before\":0},"
               "{\"type\":\"processed\",\"record\":1,\"index\":%d}]}",
               key[i], i, i);
    }
    append(j, STEP("intent", key[0], 0, ""));
    append(j, STEP("outcome", key[0], 0, ",\"outcome\":\"success\""));
    append(j, STEP("intent", key[1], 0, ""));
    append(j, STEP("outcome", key[1], 0, ",\"outcome\":\"success\""));
    append(j,
           "{\"type\":\"batch\",\"records\":[{\"type\":\"cancel\",\"job\":"
           "\"%s\"}]}",
           key[1]);
    append(j, STEP("intent", key[2], 0, ""));
    /* e's step 0 was interrupted, and recorded so by an earlier start */
    append(j, STEP("intent", key[4], 0, ""));
    append(j, STEP("outcome", key[4], 0, ",\"outcome\":\"interrupted\""));
    journal_close(j);

    agent_start(&ag);
    double deadline = now_s() + WAIT_S;
    char *seen = ran_text();
    while (now_s() < deadline && !strstr(seen, "d-1")) {
        sleep_ms(50);
        free(seen);
        seen = ran_text();
    }
    sleep_ms(500); /* anything more would show now */
    free(seen);
    seen = ran_text();
    /* a resumes at step 1, d from step 0 (in order); b and c not at all */
    ck_assert_msg(strcmp(seen, "a-1\nd-0\nd-1\n") == 0 ||
                      strcmp(seen, "d-0\na-1\nd-1\n") == 0 ||
                      strcmp(seen, "d-0\nd-1\na-1\n") == 0,
                  "ran:\n%s(see %s)", seen, ag.log);
    ck_assert(agent_log_has(&ag, "resumed_jobs=2"));
    ck_assert(agent_log_has(&ag, "interrupted=1"));
    free(seen);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("storm");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300 + 10 * env_uint("CRASH_KILLS", 20));
    tcase_add_test(tc, kill_9_storm_loses_nothing_and_repeats_nothing);
    tcase_add_test(tc, replay_resumes_exactly_the_steps_never_started);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
