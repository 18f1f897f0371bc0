/* test_spawn.c: the exec action's child processes: environment, labels,
 * exit statuses, start errors, timeouts that end the whole process group,
 * closed fds, reset signals, the bounded output tail. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/spawn.h"
#include "lib/util.h"

#define FINISH_LIMIT 30.0 /* generous: nothing here should take a second */

static double now_mono(void)
{
    struct rg_clock c = clock_system();
    return clock_mono(&c);
}

static struct spawn *start(const char *const *argv, const struct spawn_env *env,
                           double timeout)
{
    char err[256] = "";
    struct spawn *s =
        spawn_start(argv, env, timeout, now_mono(), err, sizeof(err));
    ck_assert_msg(s != NULL, "spawn_start(%s): %s", argv[0], err);
    return s;
}

/* Polls s as the engine would (its fd, its deadline) until it finishes. */
static void run_to_end(struct spawn *s, struct spawn_result *res)
{
    double limit = now_mono() + FINISH_LIMIT;
    while (!spawn_poll(s, now_mono())) {
        ck_assert_msg(now_mono() < limit, "the command did not finish");
        double wait = spawn_next_deadline(s) - now_mono();
        int ms = wait <= 0 ? 0 : wait > 1 ? 1000 : (int)(wait * 1000) + 1;
        struct pollfd pfd = {.fd = spawn_fd(s), .events = POLLIN};
        poll(&pfd, 1, ms);
    }
    ck_assert_int_eq(spawn_fd(s), -1);
    ck_assert(spawn_next_deadline(s) == HUGE_VAL);
    ck_assert_int_eq(spawn_result(s, res), 0);
}

/* Nothing of the process group is left and no child is left unreaped. */
static void assert_all_gone(pid_t pgid)
{
    ck_assert_int_eq(kill(-pgid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}

START_TEST(environment_is_only_labels_and_fixed)
{
    setenv("REPLGUARD_SECRET", "hunter2", 1);
    struct buf a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    ck_assert_int_eq(spawn_label_env("instance", "db-1:9100", 9, &a), 0);
    ck_assert_int_eq(spawn_label_env("alertname", "Lag", 3, &b), 0);
    const char *vars[] = {a.data, b.data};
    struct spawn_env env = {vars, 2};
    const char *argv[] = {"/usr/bin/env", NULL};
    struct spawn *s = start(argv, &env, 10);
    struct spawn_result res;
    run_to_end(s, &res);
    ck_assert_int_eq(res.exit_code, 0);
    ck_assert_str_eq(res.output,
                     SPAWN_FIXED_PATH "\n" SPAWN_FIXED_LANG "\n"
                                      "REPLGUARD_LABEL_INSTANCE=db-1:9100\n"
                                      "REPLGUARD_LABEL_ALERTNAME=Lag\n");
    ck_assert_ptr_null(strstr(res.output, "SECRET"));
    ck_assert_ptr_null(strstr(res.output, "hunter2"));
    spawn_free(s);
    buf_free(&a);
    buf_free(&b);
}
END_TEST

static const struct {
    const char *name;
    const char *value;
    const char *want;
} labels[] = {
    {"my-label.x", "v", "REPLGUARD_LABEL_MY_LABEL_X=v"},
    {"alertname", "Lag", "REPLGUARD_LABEL_ALERTNAME=Lag"},
    {"node_1", "n1", "REPLGUARD_LABEL_NODE_1=n1"},
    {"9lives", "", "REPLGUARD_LABEL_9LIVES="},
    {"Already_UP", "x", "REPLGUARD_LABEL_ALREADY_UP=x"},
    {"caf\xc3\xa9", "\xc3\xa9", "REPLGUARD_LABEL_CAF__=\xc3\xa9"},
    {"a b=c$", "a=b\nc", "REPLGUARD_LABEL_A_B_C_=a=b\nc"},
};

START_TEST(label_names_are_sanitised)
{
    struct buf b;
    buf_init(&b, 0);
    const char *v = labels[_i].value;
    ck_assert_int_eq(spawn_label_env(labels[_i].name, v, strlen(v), &b), 0);
    ck_assert_str_eq(b.data, labels[_i].want);
    buf_free(&b);
}
END_TEST

START_TEST(label_rejects)
{
    struct buf b;
    buf_init(&b, 0);
    ck_assert_int_eq(spawn_label_env("x", "a\0b", 3, &b), -1);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(spawn_label_env("", "v", 1, &b), -1);
    buf_free(&b);
    buf_init(&b, 20);
    ck_assert_int_eq(spawn_label_env("instance", "db-1", 4, &b), -1);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(spawn_label_env("x", "ok", 2, &b), 0);
    ck_assert_str_eq(b.data, "REPLGUARD_LABEL_X=ok");
    buf_free(&b);
}
END_TEST

static const struct {
    const char *argv[4];
    int exit_code;
    int term_signal;
    const char *output;
} statuses[] = {
    {{"/bin/true"}, 0, 0, ""},
    {{"/bin/false"}, 1, 0, ""},
    {{"/bin/sh", "-c", "exit 3"}, 3, 0, ""},
    {{"/bin/sh", "-c", "echo out; echo err >&2; exit 7"}, 7, 0, "out\nerr\n"},
    {{"/bin/sh", "-c", "kill -9 $$"}, -1, SIGKILL, ""},
    {{"/bin/sh", "-c", "echo x; kill -15 $$"}, -1, SIGTERM, "x\n"},
    {{"/bin/cat"}, 0, 0, ""}, /* stdin is /dev/null */
};

START_TEST(exit_codes_and_signals)
{
    struct spawn *s = start(statuses[_i].argv, NULL, 10);
    ck_assert_int_ge(spawn_fd(s), 3);
    ck_assert_int_eq(spawn_result(s, &(struct spawn_result){0}), -1);
    struct spawn_result res;
    run_to_end(s, &res);
    ck_assert(res.status_known);
    ck_assert_int_eq(res.exit_code, statuses[_i].exit_code);
    ck_assert_int_eq(res.term_signal, statuses[_i].term_signal);
    ck_assert_str_eq(res.output, statuses[_i].output);
    ck_assert(!res.timed_out);
    ck_assert(!res.killed);
    ck_assert(res.duration >= 0 && res.duration < FINISH_LIMIT);
    pid_t pid = spawn_pid(s);
    spawn_free(s);
    assert_all_gone(pid);
}
END_TEST

/* spawn_start() fails with err containing want (and leaves no child). */
static void start_fails(const char *const *argv, const struct spawn_env *env,
                        double timeout, const char *want)
{
    char err[256] = "";
    struct spawn *s = spawn_start(argv, env, timeout, 0, err, sizeof(err));
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, want) != NULL, "err \"%s\" lacks \"%s\"", err,
                  want);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}

START_TEST(start_errors)
{
    const char *missing[] = {"/nonexistent/replguard-nope", NULL};
    start_fails(missing, NULL, 10, strerror(ENOENT));
    start_fails(missing, NULL, 10, "execve /nonexistent/replguard-nope");
    const char *not_exec[] = {"/etc/passwd", NULL};
    start_fails(not_exec, NULL, 10, strerror(EACCES));
    const char *relative[] = {"bin/true", NULL};
    start_fails(relative, NULL, 10, "absolute");
    const char *bare[] = {"true", NULL};
    start_fails(bare, NULL, 10, "absolute");
    const char *empty[] = {NULL};
    start_fails(empty, NULL, 10, "empty argv");
    const char *ok[] = {"/bin/true", NULL};
    start_fails(ok, NULL, 0, "timeout");
    start_fails(ok, NULL, NAN, "timeout");
    const char *bad[][1] = {{"NOEQUALS"}, {"=v"}, {"PATH=/tmp"}, {"LANG=x"}};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct spawn_env env = {bad[i], 1};
        start_fails(ok, &env, 10, "environment entry 0");
    }
    /* labels "cluster" and "Cluster" both become REPLGUARD_LABEL_CLUSTER */
    const char *dup[][3] = {
        {"REPLGUARD_LABEL_CLUSTER=a", "REPLGUARD_LABEL_CLUSTER=b", "X=1"},
        {"A=1", "REPLGUARD_LABEL_X_Y=a", "REPLGUARD_LABEL_X_Y=a"},
        {"A=1", "B=2", "A="},
    };
    const char *want[] = {"entries 0 and 1 both set REPLGUARD_LABEL_CLUSTER",
                          "entries 1 and 2 both set REPLGUARD_LABEL_X_Y",
                          "entries 0 and 2 both set A:"};
    for (size_t i = 0; i < ARRAY_LEN(dup); i++) {
        struct spawn_env env = {dup[i], 3};
        start_fails(ok, &env, 10, want[i]);
    }
    const char *distinct[] = {"AB=1", "A=2", "ABC=3"}; /* prefixes differ */
    struct spawn_env env = {distinct, 3};
    struct spawn *s = spawn_start(ok, &env, 10, 0, NULL, 0);
    ck_assert_ptr_nonnull(s);
    spawn_free(s);
    char err[8];
    ck_assert_ptr_null(spawn_start(relative, NULL, 10, 0, err, sizeof(err)));
    ck_assert_ptr_null(spawn_start(relative, NULL, 10, 0, NULL, 0));
}
END_TEST

START_TEST(timeout_kills_the_whole_group)
{
    ck_assert_int_eq(spawn_subreaper(), 0);
    const char *argv[] = {"/bin/sh", "-c", "sleep 100 & sleep 100 & wait",
                          NULL};
    struct spawn *s = start(argv, NULL, 0.3);
    pid_t pgid = spawn_pid(s);
    struct spawn_result res;
    run_to_end(s, &res);
    ck_assert(res.timed_out);
    ck_assert(!res.killed);
    ck_assert_int_eq(res.term_signal, SIGTERM);
    assert_all_gone(pgid);
    spawn_free(s);
}
END_TEST

START_TEST(sigterm_ignored_gets_sigkill)
{
    ck_assert_int_eq(spawn_subreaper(), 0);
    const char *argv[] = {"/bin/sh", "-c",
                          "trap '' TERM; sleep 100 & sleep 100 & wait", NULL};
    struct spawn *s = start(argv, NULL, 0.3);
    spawn_set_grace(s, 0.3);
    pid_t pgid = spawn_pid(s);
    struct spawn_result res;
    run_to_end(s, &res);
    ck_assert(res.timed_out);
    ck_assert(res.killed);
    ck_assert_int_eq(res.term_signal, SIGKILL);
    assert_all_gone(pgid);
    spawn_free(s);
}
END_TEST

/* The timeout follows the caller's clock, not the wall. */
START_TEST(timeout_follows_callers_clock)
{
    ck_assert_int_eq(spawn_subreaper(), 0);
    const char *argv[] = {"/bin/sleep", "100", NULL};
    struct spawn *s = spawn_start(argv, NULL, 5, 1000, NULL, 0);
    ck_assert_ptr_nonnull(s);
    ck_assert(spawn_next_deadline(s) == 1005);
    ck_assert_int_eq(spawn_poll(s, 1004.9), 0);
    ck_assert_int_eq(kill(spawn_pid(s), 0), 0);
    ck_assert_int_eq(spawn_poll(s, 1005), 0); /* SIGTERM now */
    double limit = now_mono() + FINISH_LIMIT;
    while (!spawn_poll(s, 1005)) {
        ck_assert(now_mono() < limit);
        poll(NULL, 0, 10);
    }
    struct spawn_result res;
    ck_assert_int_eq(spawn_result(s, &res), 0);
    ck_assert(res.timed_out);
    ck_assert_int_eq(res.term_signal, SIGTERM);
    ck_assert(res.duration == 5);
    spawn_free(s);
}
END_TEST

/* ls -l /proc/self/fd: only 0 (/dev/null), 1, 2 and ls's own directory. */
START_TEST(other_fds_are_closed)
{
    char path[] = "/tmp/test_spawn_fd_XXXXXX";
    int fd = mkstemp(path); /* not close-on-exec */
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, 40), 40);
    const char *argv[] = {"/bin/ls", "-l", "/proc/self/fd", NULL};
    struct spawn *s = start(argv, NULL, 10);
    struct spawn_result res;
    run_to_end(s, &res);
    ck_assert_int_eq(res.exit_code, 0);
    ck_assert_ptr_null(strstr(res.output, "test_spawn_fd_"));
    ck_assert_ptr_nonnull(strstr(res.output, " 0 -> /dev/null\n"));
    int seen = 0;
    for (const char *p = strstr(res.output, " -> "); p;
         p = strstr(p + 4, " -> ")) {
        const char *q = p;
        while (q > res.output && q[-1] != ' ')
            q--;
        long n = strtol(q, NULL, 10);
        ck_assert_msg(n >= 0 && n <= 3, "fd %ld open in the child", n);
        seen++;
    }
    ck_assert_int_ge(seen, 3);
    spawn_free(s);
    unlink(path);
    close(fd);
    close(40);
}
END_TEST

/* Ignored and blocked signals of the parent do not reach the child; the
 * child leads its own process group. */
START_TEST(signals_reset_and_own_group)
{
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    const char *argv[] = {"/bin/grep", "-E",
                          "^(SigBlk|SigIgn):", "/proc/self/status", NULL};
    struct spawn *s = start(argv, NULL, 10);
    struct spawn_result res;
    run_to_end(s, &res);
    ck_assert_str_eq(res.output, "SigBlk:\t0000000000000000\n"
                                 "SigIgn:\t0000000000000000\n");
    spawn_free(s);

    const char *stat[] = {"/bin/cat", "/proc/self/stat", NULL};
    s = start(stat, NULL, 10);
    run_to_end(s, &res);
    int pid = 0, pgrp = 0;
    ck_assert_int_eq(sscanf(res.output, "%d (%*[^)]) %*c %*d %d", &pid, &pgrp),
                     2);
    ck_assert_int_eq(pid, spawn_pid(s));
    ck_assert_int_eq(pgrp, pid);
    spawn_free(s);
}
END_TEST

START_TEST(output_tail_is_bounded)
{
    const char *argv[] = {
        "/bin/sh", "-c",
        "head -c 1048576 /dev/zero | tr '\\000' a; echo TAILMARK", NULL};
    struct spawn *s = start(argv, NULL, FINISH_LIMIT);
    struct spawn_result res;
    run_to_end(s, &res);
    ck_assert_int_eq(res.exit_code, 0);
    ck_assert_uint_eq(res.output_total, 1048576 + 9);
    ck_assert_uint_eq(res.output_len, SPAWN_TAIL_MAX);
    ck_assert_uint_eq(strlen(res.output), SPAWN_TAIL_MAX);
    size_t mark = SPAWN_TAIL_MAX - 9;
    ck_assert_str_eq(res.output + mark, "TAILMARK\n");
    for (size_t i = 0; i < mark; i++)
        ck_assert_int_eq(res.output[i], 'a');
    spawn_free(s);
}
END_TEST

/* A child whose starter dies is killed (PR_SET_PDEATHSIG). */
START_TEST(child_dies_with_its_starter)
{
    ck_assert_int_eq(spawn_subreaper(), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t starter = fork();
    ck_assert_int_ge(starter, 0);
    if (starter == 0) {
        const char *argv[] = {"/bin/sleep", "100", NULL};
        struct spawn *s = spawn_start(argv, NULL, 100, 0, NULL, 0);
        pid_t pid = s ? spawn_pid(s) : -1;
        /* the starter dies holding s, as a crash would (static: still
         * reachable at its exit, not a leak for valgrind) */
        static struct spawn *held;
        held = s;
        ssize_t n = write(p[1], &pid, sizeof(pid));
        _exit(n == (ssize_t)sizeof(pid) && held ? 0 : 1);
    }
    pid_t pid = -1;
    ck_assert_int_eq(read(p[0], &pid, sizeof(pid)), (ssize_t)sizeof(pid));
    ck_assert_int_gt(pid, 0);
    int st;
    ck_assert_int_eq(waitpid(starter, &st, 0), starter);
    double limit = now_mono() + FINISH_LIMIT;
    pid_t got = waitpid(pid, &st, WNOHANG);
    while (got == 0) {
        ck_assert(now_mono() < limit);
        poll(NULL, 0, 10);
        got = waitpid(pid, &st, WNOHANG);
    }
    ck_assert_int_eq(got, pid); /* reparented to us, the subreaper */
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(free_kills_a_running_group)
{
    ck_assert_int_eq(spawn_subreaper(), 0);
    const char *argv[] = {"/bin/sh", "-c", "sleep 100 & sleep 100", NULL};
    struct spawn *s = start(argv, NULL, 100);
    ck_assert_int_eq(spawn_poll(s, now_mono()), 0);
    pid_t pgid = spawn_pid(s);
    spawn_free(s);
    assert_all_gone(pgid);
    spawn_free(NULL);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("spawn");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, environment_is_only_labels_and_fixed);
    tcase_add_loop_test(tc, label_names_are_sanitised, 0,
                        (int)ARRAY_LEN(labels));
    tcase_add_test(tc, label_rejects);
    tcase_add_loop_test(tc, exit_codes_and_signals, 0,
                        (int)ARRAY_LEN(statuses));
    tcase_add_test(tc, start_errors);
    tcase_add_test(tc, timeout_kills_the_whole_group);
    tcase_add_test(tc, sigterm_ignored_gets_sigkill);
    tcase_add_test(tc, timeout_follows_callers_clock);
    tcase_add_test(tc, other_fds_are_closed);
    tcase_add_test(tc, signals_reset_and_own_group);
    tcase_add_test(tc, output_tail_is_bounded);
    tcase_add_test(tc, child_dies_with_its_starter);
    tcase_add_test(tc, free_kills_a_running_group);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
