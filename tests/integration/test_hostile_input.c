/* test_hostile_input.c: config and environment defects found by hostile
 * testing (issue 12), each against the built replguard (and a running
 * replguard-simnode): token files, colliding exec environment names, a
 * full audit disk, proxy variables, FIFOs and deep YAML on a reload,
 * unbounded durations, wrong rules and state_dir paths. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_harness.h"
#include "simnode_harness.h"
#include "test_support.h"
#include "lib/util.h"

static struct simnode sn;
static struct agent ag;
static char path_rules[256], path_state[256], path_ran[256];

static void setup(void)
{
    agent_setup(&ag, &sn, NULL);
    snprintf(path_rules, sizeof(path_rules), "%s/rules", ag.dir);
    snprintf(path_state, sizeof(path_state), "%s/state", ag.dir);
    snprintf(path_ran, sizeof(path_ran), "%s/ran.env", ag.dir);
    ck_assert_int_eq(mkdir(path_rules, 0700), 0);
}

static void teardown(void)
{
    agent_teardown(&ag, &sn);
}

/* write_config: a config on sn's nodes; extra is more top-level YAML.
 * Polls are scaled with wait_scale(): under memcheck a 150 ms scrape
 * timeout makes every alert skip as stale. */
static void write_config(const char *audit, const char *extra)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s\n"
               "audit_log: %s\n"
               "rules: %s\n"
               "poll: {interval: %.0fms, timeout: %.0fms}\n"
               "%s"
               "clusters:\n  - name: c1\n    nodes:\n",
               path_state, audit ? audit : ag.audit, path_rules,
               200 * wait_scale(), 150 * wait_scale(), extra);
    simnode_yaml_nodes(&sn, &b);
    agent_write(ag.cfg, b.data);
    buf_free(&b);
}

/* write_exec_rules: one runbook whose exec writes its environment to
 * path_ran. */
static void write_exec_rules(void)
{
    char path[320];
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b,
               "runbook: dump\n"
               "match: {alertname: Dump}\n"
               "target_label: replica\n"
               "cooldown: 1ms\n"
               "steps:\n"
               "  - action: exec\n"
               "    argv: [/bin/sh, -c, 'env > %s.tmp && mv %s.tmp %s']\n",
               path_ran, path_ran, path_ran);
    snprintf(path, sizeof(path), "%s/dump.yml", path_rules);
    agent_write(path, b.data);
    buf_free(&b);
}

/* read_file: the whole file at path into b; 0 or -1. */
static int read_file(const char *path, struct buf *b)
{
    FILE *f = fopen(path, "r");
    char chunk[4096];
    if (!f)
        return -1;
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), f);
        if (n == 0)
            break;
        buf_append(b, chunk, n);
    }
    fclose(f);
    return b->data ? 0 : -1;
}

/* run_capture: runs argv with stderr into err (stdout discarded); kills
 * it after secs. Returns the exit status, -1 when it was killed. */
static int run_capture(const char *const *argv, struct buf *err, double secs)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, STDOUT_FILENO);
        dup2(p[1], STDERR_FILENO);
        close(p[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    double deadline = now_s() + secs * wait_scale();
    int st = 0;
    bool done = false;
    while (!done && now_s() < deadline) {
        char chunk[4096];
        ssize_t n = read(p[0], chunk, sizeof(chunk));
        if (n > 0)
            buf_append(err, chunk, (size_t)n);
        else if (waitpid(pid, &st, WNOHANG) == pid)
            done = true;
        else
            sleep_ms(10);
    }
    close(p[0]);
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* check_config: replguard --check-config on ag.cfg; its stderr into err.
 * Returns its exit status (-1: it did not finish in 10 s). */
static int check_config(struct buf *err)
{
    char bin[PATH_MAX];
    replguard_path(bin, sizeof(bin));
    const char *argv[] = {bin, "--check-config", "-c", ag.cfg, NULL};
    buf_reset(err);
    return run_capture(argv, err, 10);
}

/* refused_with: --check-config exits 1 saying want, and replguard
 * refuses to start, logging want. */
static void refused_with(const char *want)
{
    struct buf err;
    buf_init(&err, 0);
    ck_assert_int_eq(check_config(&err), 1);
    ck_assert_msg(err.data && strstr(err.data, want), "no \"%s\" in \"%s\"",
                  want, err.data ? err.data : "");
    buf_free(&err);
    ck_assert_int_eq(agent_start_only(&ag), -1);
    ck_assert_msg(agent_log_has(&ag, want), "no \"%s\" in %s", want, ag.log);
}

/* --- item 13: the token file ---------------------------------------- */

START_TEST(token_file_problems_are_named)
{
    char token[128], extra[192];
    snprintf(token, sizeof(token), "%s/token", ag.dir);
    snprintf(extra, sizeof(extra), "auth: {token_file: %s}\n", token);
    write_config(NULL, extra);
    const struct {
        const char *text;
        size_t len;
        const char *why;
    } cases[] = {
        {"tok\0en-rest-of-the-secret\n", 26, "contains a NUL byte"},
        {"   \t\n", 5, "the token is only whitespace"},
        {"first-token\nsecond-token\n", 25, "more than one line"},
        {"first-token\n\nsecond\n", 20, "more than one line"},
        {"\nlater\n", 7, "the first line is empty"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int fd = open(token, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, cases[i].text, cases[i].len),
                         (ssize_t)cases[i].len);
        close(fd);
        char want[256];
        snprintf(want, sizeof(want), "auth.token_file %s: %s", token,
                 cases[i].why);
        refused_with(want);
    }
    agent_write(token, "good-token\r\n"); /* one line, CRLF: fine */
    struct buf err;
    buf_init(&err, 0);
    ck_assert_int_eq(check_config(&err), 0);
    buf_free(&err);
    agent_start(&ag);
}
END_TEST

/* --- item 5: colliding exec environment names ------------------------ */

START_TEST(colliding_label_env_names_refuse_the_exec)
{
    write_exec_rules();
    write_config(NULL, "");
    agent_start(&ag);
    /* "cluster" is what replguard checks; "Cluster" would be the same
     * REPLGUARD_LABEL_CLUSTER in the child's environment */
    ck_assert_int_eq(agent_alert(&ag, "Dump", "firing", "c011de01",
                                 "\"cluster\":\"c1\",\"Cluster\":\"evil\","
                                 "\"replica\":\"node2\""),
                     200);
    agent_wait_audit(&ag, "action", NULL, NULL, 1, WAIT_S);
    ck_assert(agent_log_has(&ag, "outcome=failure"));
    ck_assert(agent_log_has(&ag, "both set REPLGUARD_LABEL_CLUSTER"));
    ck_assert_int_eq(access(path_ran, F_OK), -1); /* nothing ran */
    /* without the collision the same runbook runs */
    ck_assert_int_eq(agent_alert(&ag, "Dump", "firing", "c1ea0001",
                                 "\"cluster\":\"c1\",\"replica\":\"node2\""),
                     200);
    agent_wait_audit(&ag, "action", NULL, NULL, 2, WAIT_S);
    double deadline = now_s() + WAIT_S;
    while (access(path_ran, F_OK) != 0 && now_s() < deadline)
        sleep_ms(20);
    struct buf env;
    buf_init(&env, 0);
    ck_assert_int_eq(read_file(path_ran, &env), 0);
    ck_assert_ptr_nonnull(strstr(env.data, "REPLGUARD_LABEL_CLUSTER=c1\n"));
    buf_free(&env);
}
END_TEST

/* --- item 8: the audit log on a full disk ---------------------------- */

START_TEST(audit_write_failures_are_counted_and_actions_go_on)
{
    write_exec_rules();
    write_config("/dev/full", ""); /* every write: ENOSPC */
    agent_start(&ag);
    ck_assert(metric(ag.base, "replguard_audit_write_failures_total", NULL) ==
              0);
    for (int i = 0; i < 3; i++) {
        char fp[32];
        snprintf(fp, sizeof(fp), "f0110%03d", i);
        ck_assert_int_eq(
            agent_alert(&ag, "Dump", "firing", fp, "\"replica\":\"node2\""),
            200);
        double deadline = now_s() + WAIT_S;
        while (access(path_ran, F_OK) != 0 && now_s() < deadline)
            sleep_ms(20);
        ck_assert_int_eq(access(path_ran, F_OK), 0); /* the action ran */
        ck_assert_int_eq(unlink(path_ran), 0);
    }
    assert_wait(ag.base, "replguard_audit_write_failures_total", NULL, GT, 2);
    /* one line for the streak, with the path and the errno */
    ck_assert_int_eq(file_count(ag.log, "msg=\"audit write failed"), 1);
    ck_assert(agent_log_has(&ag, "path=/dev/full errno=28 "));
}
END_TEST

/* --- item 12: proxy variables ---------------------------------------- */

/* A listener that counts the connections made to it and keeps the
 * first request line. */
struct proxy {
    int fd;
    unsigned port;
    atomic_int conns;
    atomic_bool stop;
    char first[256];
    pthread_t th;
};

static void *proxy_main(void *arg)
{
    struct proxy *p = arg;
    while (!atomic_load(&p->stop)) {
        struct pollfd pfd = {p->fd, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int c = accept(p->fd, NULL, NULL);
        if (c < 0)
            continue;
        char req[512];
        struct pollfd cp = {c, POLLIN, 0};
        ssize_t n = poll(&cp, 1, 2000) > 0 ? read(c, req, sizeof(req) - 1) : 0;
        if (n > 0 && atomic_load(&p->conns) == 0) {
            req[n] = '\0';
            snprintf(p->first, sizeof(p->first), "%.*s",
                     (int)strcspn(req, "\r\n"), req);
        }
        atomic_fetch_add(&p->conns, 1);
        close(c);
    }
    return NULL;
}

static void proxy_start(struct proxy *p)
{
    memset(p, 0, sizeof(*p));
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(p->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(p->fd, 64), 0);
    socklen_t len = sizeof(a);
    getsockname(p->fd, (struct sockaddr *)&a, &len);
    p->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&p->th, NULL, proxy_main, p), 0);
}

static void proxy_stop(struct proxy *p)
{
    atomic_store(&p->stop, true);
    pthread_join(p->th, NULL);
    close(p->fd);
}

/* start_with_proxy_env: starts replguard with the proxy variables set
 * to url in its environment only. */
static void start_with_proxy_env(const char *url)
{
    const char *vars[] = {"http_proxy", "https_proxy", "ALL_PROXY",
                          "all_proxy"};
    for (size_t i = 0; i < ARRAY_LEN(vars); i++)
        setenv(vars[i], url, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    int rc = agent_start_only(&ag); /* forks: the child has them */
    for (size_t i = 0; i < ARRAY_LEN(vars); i++)
        unsetenv(vars[i]);
    ck_assert_int_eq(rc, 0);
    double deadline = now_s() + 10 * wait_scale();
    while (call(ag.base, "GET", "/-/ready", NULL) != 200 && now_s() < deadline)
        sleep_ms(20);
    ck_assert_int_eq(call(ag.base, "GET", "/-/ready", NULL), 200);
}

START_TEST(proxy_variables_are_ignored_unless_configured)
{
    struct proxy p;
    proxy_start(&p);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", p.port);
    write_config(NULL, "");
    start_with_proxy_env(url);
    double deadline = now_s() + 1.0 * wait_scale(); /* a few rounds */
    while (now_s() < deadline)
        sleep_ms(50);
    ck_assert_int_eq(atomic_load(&p.conns), 0);
    ck_assert(metric(ag.base, "replguard_poll_rounds_total", NULL) > 0);
    agent_stop(&ag);
    /* the proxy key is the only way to one */
    char extra[96];
    snprintf(extra, sizeof(extra), "proxy: %s\n", url);
    write_config(NULL, extra);
    ck_assert_int_eq(agent_start_only(&ag), 0);
    deadline = now_s() + WAIT_S;
    while (atomic_load(&p.conns) == 0 && now_s() < deadline)
        sleep_ms(20);
    ck_assert_int_gt(atomic_load(&p.conns), 0);
    ck_assert_msg(strstr(p.first, "http://127.0.0.1:") != NULL,
                  "request line \"%s\"", p.first);
    agent_stop(&ag);
    proxy_stop(&p);
}
END_TEST

/* --- item 14: FIFOs and deep YAML; SIGTERM during a reload ------------ */

/* hup_then_term: SIGHUP (a reload), then SIGTERM: replguard must exit 0
 * (a reload blocked with SIGTERM masked gets the harness's SIGKILL at
 * 10 s instead). */
static void hup_then_term(const char *want)
{
    kill(ag.pid, SIGHUP);
    double deadline = now_s() + WAIT_S;
    while (!agent_log_has(&ag, want) && now_s() < deadline)
        sleep_ms(20);
    ck_assert_msg(agent_log_has(&ag, want), "no \"%s\" in %s", want, ag.log);
    int st = agent_stop(&ag);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}

START_TEST(fifos_and_deep_yaml_never_block_a_reload)
{
    write_exec_rules();
    write_config(NULL, "");
    /* a FIFO as the config: refused at once, without blocking */
    char saved[160], fifo[320];
    snprintf(saved, sizeof(saved), "%s/saved.yml", ag.dir);
    ck_assert_int_eq(rename(ag.cfg, saved), 0);
    ck_assert_int_eq(mkfifo(ag.cfg, 0600), 0);
    struct buf err;
    buf_init(&err, 0);
    ck_assert_int_eq(check_config(&err), 1);
    ck_assert_ptr_nonnull(strstr(err.data, "not a regular file"));
    ck_assert_int_eq(unlink(ag.cfg), 0);
    ck_assert_int_eq(rename(saved, ag.cfg), 0);
    /* on a reload (the main thread, SIGTERM blocked): the config */
    agent_start(&ag);
    ck_assert_int_eq(rename(ag.cfg, saved), 0);
    ck_assert_int_eq(mkfifo(ag.cfg, 0600), 0);
    hup_then_term("replguard.yml: not a regular file");
    ck_assert_int_eq(unlink(ag.cfg), 0);
    ck_assert_int_eq(rename(saved, ag.cfg), 0);
    /* a FIFO among the runbooks */
    agent_start(&ag);
    snprintf(fifo, sizeof(fifo), "%s/zz.yml", path_rules);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    hup_then_term("zz.yml: not a regular file");
    ck_assert_int_eq(unlink(fifo), 0);
    /* a deeply nested runbook document */
    agent_start(&ag);
    struct buf deep;
    buf_init(&deep, 0);
    buf_puts(&deep, "runbook: deep\nmatch: ");
    for (int i = 0; i < 100000; i++)
        buf_puts(&deep, "[");
    snprintf(fifo, sizeof(fifo), "%s/deep.yml", path_rules);
    agent_write(fifo, deep.data);
    hup_then_term("nested more than 64 levels deep");
    ck_assert_int_eq(check_config(&err), 1);
    ck_assert_ptr_nonnull(strstr(err.data, "deep.yml:2:"));
    buf_free(&deep);
    buf_free(&err);
}
END_TEST

/* --- item 15: bounded durations -------------------------------------- */

START_TEST(durations_have_bounds)
{
    write_config(NULL, "");
    char *text = NULL;
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(read_file(ag.cfg, &b), 0);
    text = xstrdup(b.data);
    /* the interval, which froze polling while health said
     * healthy */
    buf_reset(&b);
    const char *at = strstr(text, "poll: {interval: ");
    ck_assert_ptr_nonnull(at);
    buf_append(&b, text, (size_t)(at - text));
    buf_puts(&b, "poll: {interval: 99999999999999999999h, timeout: 150ms}\n");
    buf_puts(&b, strchr(at, '\n') + 1);
    agent_write(ag.cfg, b.data);
    refused_with("poll.interval: must be from 10ms to 1h, got");
    free(text);
    buf_free(&b);
}
END_TEST

/* --- rules and state_dir paths ---------------------------------------- */

START_TEST(rules_and_state_dir_errors_have_a_place)
{
    /* a wrong rules path: FILE:LINE:COLUMN: rules: (line 4 of the file) */
    char missing[300];
    snprintf(missing, sizeof(missing), "%s/nope", path_rules);
    snprintf(path_rules, sizeof(path_rules), "%.250s", missing);
    write_config(NULL, "");
    char want[700];
    snprintf(want, sizeof(want), "%s:4:8: rules: cannot read %s: %s", ag.cfg,
             missing, strerror(ENOENT));
    refused_with(want);
    snprintf(path_rules, sizeof(path_rules), "%s/rules", ag.dir);
    /* a state_dir the daemon could not use: --check-config says so too */
    write_exec_rules();
    agent_write(path_state, "a file, not a directory\n");
    write_config(NULL, "");
    snprintf(want, sizeof(want),
             "%s:2:12: state_dir: %s exists and is not a "
             "directory",
             ag.cfg, path_state);
    refused_with(want);
    ck_assert_int_eq(unlink(path_state), 0);
    snprintf(path_state, sizeof(path_state), "%s/no/such", ag.dir);
    write_config(NULL, "");
    refused_with("cannot be created: its parent directory does not exist");
    snprintf(path_state, sizeof(path_state), "%s/state", ag.dir);
    /* an empty rules directory and a subdirectory: warnings */
    char sub[300], moved[320];
    snprintf(sub, sizeof(sub), "%s/old", path_rules);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    snprintf(moved, sizeof(moved), "%s/dump.yml", sub);
    snprintf(want, sizeof(want), "%s/dump.yml", path_rules);
    ck_assert_int_eq(rename(want, moved), 0);
    write_config(NULL, "");
    agent_start(&ag);
    ck_assert(agent_log_has(&ag, "msg=\"runbook subdirectory not read"));
    ck_assert(agent_log_has(&ag, "subdirectory=old"));
    ck_assert(agent_log_has(&ag, "msg=\"rules directory has no *.yml"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("agent");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, token_file_problems_are_named);
    tcase_add_test(tc, colliding_label_env_names_refuse_the_exec);
    tcase_add_test(tc, audit_write_failures_are_counted_and_actions_go_on);
    tcase_add_test(tc, proxy_variables_are_ignored_unless_configured);
    tcase_add_test(tc, fifos_and_deep_yaml_never_block_a_reload);
    tcase_add_test(tc, durations_have_bounds);
    tcase_add_test(tc, rules_and_state_dir_errors_have_a_place);
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
