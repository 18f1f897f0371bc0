/* test_demo.c: `replguard --demo` as a newcomer runs it, against the
 * built binary with its Prometheus and Alertmanager (moved to free
 * loopback ports through REPLGUARD_DEMO_PORTS, its state dir to a temp
 * dir through REPLGUARD_DEMO_DIR):
 *   - an episode makes the runbook act, and the terminal says so; a run
 *     starts from an empty state dir (a previous run's audit lines are
 *     gone), nothing stray reaches stdout, Ctrl-C exits 0;
 *   - --keep-state keeps them; a directory that is not the demo's is
 *     refused and left alone;
 *   - Prometheus that cannot start (its port taken) and Alertmanager
 *     dying later are reported on the terminal and in the log, with
 *     their log files.
 * The cases that need Prometheus and Alertmanager say so and pass
 * without them (quickstart test installs both). Pure parts are table
 * tested: the terminal line of an audit record, the demo's runbooks. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_harness.h"
#include "simnode_harness.h"
#include "demo/demofeed.h"
#include "demo/demostate.h"
#include "test_support.h"
#include "lib/util.h"

#define STACK_OK                                                               \
    (access("/usr/bin/prometheus", X_OK) == 0 &&                               \
     access("/usr/bin/prometheus-alertmanager", X_OK) == 0)

struct demo_run {
    pid_t pid;
    char dir[64], state[96], out[96], err[96];
    unsigned port[4];  /* replguard, simnode (0), Prometheus, Alertmanager */
    const char *every; /* REPLGUARD_DEMO_EVERY, or NULL */
};

/* free_port: a port nothing listens on now (bound to 0, then closed). */
static unsigned free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void demo_init(struct demo_run *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/replguard-demotest.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(r->dir));
    snprintf(r->state, sizeof(r->state), "%s/state", r->dir);
    snprintf(r->out, sizeof(r->out), "%s/stdout", r->dir);
    snprintf(r->err, sizeof(r->err), "%s/stderr", r->dir);
    r->port[0] = free_port();
    r->port[2] = free_port();
    r->port[3] = free_port();
}

/* demo_start: replguard --demo [extra], stdout and stderr to files. */
static void demo_start(struct demo_run *r, const char *extra)
{
    char bin[256], ports[64];
    replguard_path(bin, sizeof(bin));
    snprintf(ports, sizeof(ports), "%u,0,%u,%u", r->port[0], r->port[2],
             r->port[3]);
    pid_t parent = getpid();
    r->pid = fork();
    ck_assert_int_ge(r->pid, 0);
    if (r->pid == 0) {
        int out = open(r->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(r->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(err, STDERR_FILENO);
        setenv("REPLGUARD_DEMO_DIR", r->state, 1);
        setenv("REPLGUARD_DEMO_PORTS", ports, 1);
        setenv("REPLGUARD_DEMO_FIRST", "2", 1);
        if (r->every)
            setenv("REPLGUARD_DEMO_EVERY", r->every, 1);
        const char *argv[] = {bin, "--demo", extra, NULL};
        exec_child(parent, out, argv); /* under valgrind in check-valgrind */
    }
}

/* wait_for: waits up to secs for path to hold text; the demo must not
 * exit meanwhile. Fails the test with both outputs. */
static void wait_for(const struct demo_run *r, const char *path,
                     const char *text, int secs)
{
    struct timespec nap = {0, 200 * 1000000L};
    secs = (int)(secs * wait_scale());
    for (int i = 0; i < secs * 5; i++) {
        if (file_has(path, text))
            return;
        ck_assert_msg(waitpid(r->pid, NULL, WNOHANG) == 0,
                      "the demo exited before printing '%s'", text);
        nanosleep(&nap, NULL);
    }
    char *out = file_text(r->out), *err = file_text(r->err);
    ck_abort_msg("no '%s' in %s within %d s\nstdout:\n%s\nstderr:\n%s", text,
                 path, secs, out, err);
}

/* demo_stop: Ctrl-C; returns the exit code (-1 after a kill). */
static int demo_stop(struct demo_run *r)
{
    kill(r->pid, SIGINT);
    struct timespec nap = {0, 100 * 1000000L};
    int st = 0;
    for (int i = 0; i < 300; i++) {
        if (waitpid(r->pid, &st, WNOHANG) == r->pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        nanosleep(&nap, NULL);
    }
    kill(r->pid, SIGKILL);
    waitpid(r->pid, &st, 0);
    return -1;
}

static void demo_cleanup(struct demo_run *r)
{
    ck_assert_int_eq(rm_tree(r->dir), 0);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

#define OLD_LINE                                                               \
    "{\"time\":\"2020-01-01T00:00:00.000Z\",\"event\":\"action\","             \
    "\"runbook\":\"from-the-last-run\"}\n"

/* a state dir as a previous run leaves it */
static void previous_run(const struct demo_run *r)
{
    char path[160];
    ck_assert_int_eq(mkdir(r->state, 0700), 0);
    snprintf(path, sizeof(path), "%s/.replguard-demo", r->state);
    write_file(path, "");
    snprintf(path, sizeof(path), "%s/audit.jsonl", r->state);
    write_file(path, OLD_LINE);
}

START_TEST(episode_acts_fresh_state)
{
    if (!STACK_OK) {
        printf("SKIP: no prometheus and prometheus-alertmanager\n");
        return;
    }
    struct demo_run r;
    demo_init(&r);
    previous_run(&r);
    demo_start(&r, NULL);
    char line[192], audit[160];
    snprintf(line, sizeof(line), "state dir:    %s (emptied at start", r.state);
    wait_for(&r, r.out, line, 60);
    snprintf(audit, sizeof(audit), "%s/audit.jsonl", r.state);
    ck_assert(!file_has(audit, "from-the-last-run"));
    wait_for(&r, r.out, "demo: episode 1: node2: a circuit breaker trips", 30);
    /* the alert loop: lag, Prometheus, Alertmanager, the webhook, the
     * runbook; the reset printed as it happens */
    wait_for(&r, r.out,
             "acted     high-replication-lag reset_circuit_breakers node2: "
             "1 breakers reset",
             240);
    ck_assert(file_has(audit, "\"action\":\"reset_circuit_breakers\""));
    ck_assert_int_eq(demo_stop(&r), 0);
    ck_assert(!file_has(r.out, "from-the-last-run"));
    ck_assert(!file_has(r.out, "{\"ok\""));
    ck_assert(!file_has(r.err, "cluster=c1"));
    demo_cleanup(&r);
}
END_TEST

/* The third episode, an ingest burst two replicas cannot follow: the
 * runbook throttles the primary, and the terminal shows both the
 * decision and node1's new limit. Episodes every 15 s: node2 is in the
 * first episode's cooldown by then, node3 is not. The fourth, a burst
 * no replica follows: replguard pages (the demo's Alertmanager holds
 * ReplguardEscalation, the terminal says so), the demo acks it and
 * Alertmanager resolves it. */
START_TEST(burst_throttles)
{
    if (!STACK_OK) {
        printf("SKIP: no prometheus and prometheus-alertmanager\n");
        return;
    }
    struct demo_run r;
    demo_init(&r);
    r.every = "15";
    demo_start(&r, NULL);
    wait_for(&r, r.out, "demo: episode 3: node1: an ingest burst", 120);
    wait_for(&r, r.out,
             "acted     high-replication-lag throttle node3: ingest limit ",
             120);
    wait_for(&r, r.out, "demo: node1's ingest limit is now ", 10);
    wait_for(&r, r.out, "demo: episode 4: node1: an ingest burst", 60);
    wait_for(&r, r.out, "ESCALATED high-replication-lag escalate ", 90);
    wait_for(&r, r.out,
             "demo: Alertmanager received ReplguardEscalation {cluster=demo, "
             "replica=node",
             30);
    wait_for(&r, r.out, "demo: the on-call engineer acks it", 40);
    wait_for(&r, r.out, "demo: Alertmanager resolved ReplguardEscalation", 20);
    ck_assert_int_eq(demo_stop(&r), 0);
    demo_cleanup(&r);
}
END_TEST

START_TEST(keep_state_and_foreign_dir)
{
    struct demo_run r;
    demo_init(&r);
    previous_run(&r);
    demo_start(&r, "--keep-state");
    wait_for(&r, r.out, "(kept from the last run", 60);
    char audit[160];
    snprintf(audit, sizeof(audit), "%s/audit.jsonl", r.state);
    ck_assert(file_has(audit, "from-the-last-run"));
    ck_assert_int_eq(demo_stop(&r), 0);

    /* a directory the demo did not make is refused and left alone */
    char mark[160], mine[160];
    snprintf(mark, sizeof(mark), "%s/.replguard-demo", r.state);
    ck_assert_int_eq(unlink(mark), 0);
    snprintf(mine, sizeof(mine), "%s/mine.txt", r.state);
    write_file(mine, "keep me");
    demo_start(&r, NULL);
    int st;
    ck_assert_int_eq(waitpid(r.pid, &st, 0), r.pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    ck_assert(file_has(r.err, "is not a demo state directory"));
    ck_assert(file_has(mine, "keep me"));
    demo_cleanup(&r);
}
END_TEST

/* find_child: the pid of ppid's child whose comm starts with name. */
static pid_t find_child(pid_t ppid, const char *name)
{
    DIR *d = opendir("/proc");
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    pid_t found = 0;
    while (!found && (e = readdir(d)) != NULL) {
        char path[300], comm[64];
        int pp = 0;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        /* pid (comm) state ppid: comm has no spaces here */
        if (fscanf(f, "%*d (%63[^)]) %*c %d", comm, &pp) == 2 && pp == ppid &&
            strncmp(comm, name, strlen(name)) == 0)
            found = (pid_t)strtol(e->d_name, NULL, 10);
        fclose(f);
    }
    closedir(d);
    return found;
}

START_TEST(stack_failures_reported)
{
    if (!STACK_OK) {
        printf("SKIP: no prometheus and prometheus-alertmanager\n");
        return;
    }
    struct demo_run r;
    demo_init(&r);
    /* Prometheus's port taken */
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)r.port[2]);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    demo_start(&r, NULL);
    char want[256];
    snprintf(want, sizeof(want),
             "Prometheus is not running (port %u is taken): no alerts will "
             "fire; see %s/prometheus.log",
             r.port[2], r.state);
    wait_for(&r, r.err, want, 60);
    ck_assert(file_has(r.err, "msg=\"demo: Prometheus is not running"));
    wait_for(&r, r.out, "Alertmanager: http://127.0.0.1:", 60);
    ck_assert(!file_has(r.out, "Prometheus:   http://"));
    /* Alertmanager dies later: said within a few seconds */
    pid_t am = find_child(r.pid, "prometheus-ale");
    ck_assert_int_gt(am, 0);
    kill(am, SIGKILL);
    snprintf(want, sizeof(want),
             "Alertmanager is not running (killed by signal 9): no alerts "
             "will fire; see %s/alertmanager.log",
             r.state);
    wait_for(&r, r.err, want, 30);
    ck_assert_int_eq(demo_stop(&r), 0);
    close(fd);
    demo_cleanup(&r);
}
END_TEST

/* --- pure parts -------------------------------------------------------- */

static const struct {
    const char *audit, *line;
} feed_cases[] = {
    {"{\"time\":\"2025-11-22T16:02:11.250Z\",\"event\":\"action\","
     "\"cluster\":\"demo\",\"runbook\":\"high-replication-lag\","
     "\"action\":\"reset_circuit_breakers\",\"target\":\"node2\","
     "\"fingerprint\":\"f\",\"dry_run\":false,\"reason\":\"1 breakers "
     "reset\"}\n",
     "16:02:11 acted     high-replication-lag reset_circuit_breakers node2: "
     "1 breakers reset"},
    {"{\"time\":\"2025-11-22T16:02:12.000Z\",\"event\":\"skipped\","
     "\"runbook\":\"rb\",\"action\":null,\"target\":\"node3\","
     "\"dry_run\":false,\"reason\":\"cooldown\"}",
     "16:02:12 skipped   rb node3: cooldown"},
    {"{\"time\":\"2025-11-22T16:02:12.000Z\",\"event\":\"skipped\","
     "\"runbook\":\"rb\",\"action\":\"throttle\",\"target\":\"node3\","
     "\"dry_run\":false,\"reason\":\"condition\"}",
     "16:02:12 skipped   rb throttle node3: not needed (its when: is "
     "false)"},
    {"{\"time\":\"2025-11-22T16:02:13.000Z\",\"event\":\"action\","
     "\"runbook\":\"rb\",\"action\":\"throttle\",\"target\":\"node1\","
     "\"dry_run\":true,\"reason\":\"dry run\"}",
     "16:02:13 dry-run   rb throttle node1: dry run"},
    {"{\"time\":null,\"event\":\"tilt_enter\",\"runbook\":null,"
     "\"dry_run\":false,\"reason\":\"stall\"}",
     "--:--:-- TILT      : stall"},
    {"{\"time\":\"2025-11-22T16:02:14.000Z\",\"event\":\"escalated\","
     "\"runbook\":\"high-replication-lag\",\"action\":\"escalate\","
     "\"target\":\"node2\",\"dry_run\":false,\"reason\":\"escalate_when\"}",
     "16:02:14 ESCALATED high-replication-lag escalate node2: escalate_when"},
    {"{\"time\":\"2025-11-22T16:02:15.000Z\",\"event\":\"escalation_sent\","
     "\"runbook\":\"high-replication-lag\",\"action\":\"escalate\","
     "\"target\":\"node2\",\"dry_run\":false,\"reason\":\"alertmanager\"}",
     "16:02:15 paged     high-replication-lag escalate node2: alertmanager"},
    {"not json", NULL},
    {"{\"time\":\"2025-11-22T16:02:13.000Z\"}", NULL},
};

START_TEST(feed_lines)
{
    char out[512];
    for (size_t i = 0; i < ARRAY_LEN(feed_cases); i++) {
        int rc = demofeed_format(feed_cases[i].audit, out, sizeof(out));
        if (!feed_cases[i].line) {
            ck_assert_int_eq(rc, -1);
            ck_assert_str_eq(out, "");
        } else {
            ck_assert_int_eq(rc, 0);
            ck_assert_str_eq(out, feed_cases[i].line);
        }
    }
}
END_TEST

static const struct {
    const char *in, *out;
} rewrite_cases[] = {
    {"cooldown: 10m\n", "cooldown: " DEMO_COOLDOWN " # the demo's; shipped: "
                        "10m\n"},
    {"max_actions_per_hour: 6\n", "max_actions_per_hour: 120 # the demo's; "
                                  "shipped: 6\n"},
    {"verify: {within: 2m}\n", "verify: {within: 2m}\n"},
    {"    cooldown: 1m\n", "    cooldown: 1m\n"}, /* not the runbook's */
    {"# cooldown: 10m\n", "# cooldown: 10m\n"},
};

START_TEST(demo_rules_rewrite)
{
    char out[256];
    for (size_t i = 0; i < ARRAY_LEN(rewrite_cases); i++) {
        demostate_rewrite(rewrite_cases[i].in, out, sizeof(out));
        ck_assert_str_eq(out, rewrite_cases[i].out);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("demo");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, feed_lines);
    tcase_add_test(tc, demo_rules_rewrite);
    suite_add_tcase(s, tc);
    tc = tcase_create("demo");
    tcase_set_timeout(tc, 400);
    tcase_add_test(tc, episode_acts_fresh_state);
    tcase_add_test(tc, burst_throttles);
    tcase_add_test(tc, keep_state_and_foreign_dir);
    tcase_add_test(tc, stack_failures_reported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
