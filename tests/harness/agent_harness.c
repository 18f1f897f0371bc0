/* agent_harness.c: see agent_harness.h. */
#define _XOPEN_SOURCE 700
#include "agent_harness.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "simnode_harness.h"
#include "test_support.h"

void replguard_path(char *out, size_t n)
{
    const char *top = getenv("top_builddir");
    snprintf(out, n, "%s/replguard", top ? top : ".");
}

void agent_init(struct agent *ag)
{
    memset(ag, 0, sizeof(*ag));
    snprintf(ag->dir, sizeof(ag->dir), "/tmp/replguard-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(ag->dir));
    snprintf(ag->cfg, sizeof(ag->cfg), "%s/replguard.yml", ag->dir);
    snprintf(ag->log, sizeof(ag->log), "%s/replguard.log", ag->dir);
    snprintf(ag->audit, sizeof(ag->audit), "%s/audit.jsonl", ag->dir);
}

void agent_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    size_t n = strlen(text);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

void agent_yaml_top(const struct agent *ag, struct buf *b, const char *rules,
                    const char *poll)
{
    const char *top = getenv("top_srcdir");
    buf_printf(b,
               "listen: \"127.0.0.1:0\"\n"
               "state_dir: %s/state\n"
               "audit_log: %s\n",
               ag->dir, ag->audit);
    if (rules)
        buf_printf(b, "rules: %s\n", rules);
    else
        buf_printf(b, "rules: %s/rules\n", top ? top : ".");
    buf_printf(b, "poll: {%s}\n", poll);
}

void agent_yaml_head(const struct agent *ag, struct buf *b, const char *rules,
                     const char *poll)
{
    agent_yaml_top(ag, b, rules, poll);
    buf_puts(b, "clusters:\n");
}

int agent_log_has(const struct agent *ag, const char *text)
{
    return file_has(ag->log, text);
}

/* dump_stacks: every thread's backtrace of a replguard that does not
 * answer, on stderr (the test's log), when gdb is installed: what it
 * waits for is the first thing to know, and it is gone once killed. */
static void dump_stacks(pid_t pid)
{
    if (access("/usr/bin/gdb", X_OK) != 0)
        return;
    char cmd[160];
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/gdb -batch -nx -p %d -ex 'thread apply all bt' "
             "</dev/null >&2 2>/dev/null",
             (int)pid);
    fprintf(stderr, "replguard %d: its threads' stacks:\n", (int)pid);
    if (system(cmd) != 0)
        fprintf(stderr, "(gdb could not attach)\n");
}

/* listening: reads the port replguard logged; 1 found, 0 not yet. */
static int listening(struct agent *ag)
{
    FILE *f = fopen(ag->log, "r");
    char line[4096];
    int found = 0;
    if (f)
        fseek(f, ag->log_from, SEEK_SET);
    const char *scheme = ag->cafile ? "https" : "http";
    char want[64];
    int n = snprintf(want, sizeof(want), "listen=%s://127.0.0.1:", scheme);
    while (f && !found && fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, want);
        if (p && strstr(line, "replguard started")) {
            unsigned port = (unsigned)strtoul(p + n, NULL, 10);
            snprintf(ag->base, sizeof(ag->base), "%s://127.0.0.1:%u", scheme,
                     port);
            found = 1;
        }
    }
    if (f)
        fclose(f);
    return found;
}

int agent_start_only(struct agent *ag)
{
    char bin[PATH_MAX];
    replguard_path(bin, sizeof(bin));
    const char *argv[] = {bin, "-c", ag->cfg, NULL, NULL, NULL};
    if (ag->log_level) {
        argv[3] = "--log-level";
        argv[4] = ag->log_level;
    }
    struct stat ls;
    ag->log_from = stat(ag->log, &ls) == 0 ? (long)ls.st_size : 0;
    pid_t parent = getpid();
    ag->pid = fork();
    ck_assert_int_ge(ag->pid, 0);
    if (ag->pid == 0) {
        int fd = open(ag->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(127);
        exec_child(parent, -1, argv);
    }
    double deadline = now_s() + 20 * wait_scale();
    while (now_s() < deadline) {
        if (listening(ag))
            return 0;
        int st;
        if (waitpid(ag->pid, &st, WNOHANG) == ag->pid) {
            ag->pid = 0;
            return -1;
        }
        sleep_ms(20);
    }
    dump_stacks(ag->pid);
    ck_abort_msg("replguard did not start (see %s)", ag->log);
    return -1;
}

/* ready_status: GET /-/ready's status, 0 on a transport error. */
static long ready_status(const struct agent *ag)
{
    char url[128];
    struct resp r;
    struct opts o = {.cainfo = ag->cafile};
    snprintf(url, sizeof(url), "%s/-/ready", ag->base);
    http(url, &o, &r);
    buf_free(&r.body);
    return r.rc == CURLE_OK ? r.status : 0;
}

void agent_start(struct agent *ag)
{
    ck_assert_msg(agent_start_only(ag) == 0,
                  "replguard exited at start (see %s)", ag->log);
    double deadline = now_s() + 10 * wait_scale();
    while (ready_status(ag) != 200 && now_s() < deadline)
        sleep_ms(20);
    ck_assert_int_eq(ready_status(ag), 200);
}

int agent_stop(struct agent *ag)
{
    int st = ag->pid > 0 ? reap(ag->pid) : 0;
    ag->pid = 0;
    return st;
}

void agent_kill(struct agent *ag)
{
    if (ag->pid <= 0)
        return;
    kill(ag->pid, SIGKILL);
    waitpid(ag->pid, NULL, 0);
    ag->pid = 0;
}

void agent_cleanup(struct agent *ag)
{
    agent_kill(ag);
    /* RG_TEST_KEEP=1: the dir (config, log, audit, state) stays, to read
     * after a failure */
    const char *keep = getenv("RG_TEST_KEEP");
    if (keep && strcmp(keep, "1") == 0 && ag->dir[0])
        fprintf(stderr, "agent_cleanup: kept %s\n", ag->dir);
    else if (ag->dir[0])
        rm_tree(ag->dir);
}

void agent_finish(struct agent *ag, struct simnode *sn)
{
    if (ag->pid > 0) {
        int st = agent_stop(ag);
        /* said on stderr too: in an unchecked teardown a failed
         * ck_assert ends a forked suite with _exit(1) and no message */
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            char *log = file_text(ag->log);
            size_t n = log ? strlen(log) : 0;
            fprintf(stderr,
                    "agent_finish: replguard exit status %d; its log "
                    "ends:\n%s\n",
                    st, log ? log + (n > 4000 ? n - 4000 : 0) : "");
            free(log);
        }
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "replguard exit status %d (see %s)", st, ag->log);
    }
    simnode_stop(sn);
    agent_cleanup(ag);
}

void agent_setup(struct agent *ag, struct simnode *sn,
                 const char *const *simnode_args)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    spawn(sn, simnode_args);
    agent_init(ag);
}

void agent_teardown(struct agent *ag, struct simnode *sn)
{
    agent_finish(ag, sn);
    curl_global_cleanup();
}

int agent_audit_count(const struct agent *ag, const char *event,
                      const char *key, const char *value)
{
    return audit_count(ag->audit, event, key, value);
}

void agent_wait_audit(const struct agent *ag, const char *event,
                      const char *key, const char *value, int n, double secs)
{
    wait_audit(ag->audit, event, key, value, n, secs);
}

void alert_payload(struct buf *b, const char *alertname, const char *status,
                   const char *fp, const char *labels)
{
    buf_printf(b,
               "{\"receiver\":\"replguard\",\"status\":\"%s\",\"alerts\":[{"
               "\"status\":\"%s\",\"labels\":{\"alertname\":\"%s\","
               "\"severity\":\"critical\"%s%s},"
               "\"annotations\":{\"summary\":\"test\"},"
               "\"startsAt\":\"2026-11-22T00:00:00.123456789Z\","
               "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"\","
               "\"fingerprint\":\"%s\"}],\"groupLabels\":{},"
               "\"commonLabels\":{},\"commonAnnotations\":{},"
               "\"externalURL\":\"http://am\",\"version\":\"4\","
               "\"groupKey\":\"{}:{}\",\"truncatedAlerts\":0}",
               status, status, alertname, labels[0] ? "," : "", labels, fp);
}

long agent_webhook(const struct agent *ag, const char *body)
{
    return call(ag->base, "POST", "/webhook", body);
}

long agent_alert(const struct agent *ag, const char *alertname,
                 const char *status, const char *fp, const char *labels)
{
    struct buf b;
    buf_init(&b, 0);
    alert_payload(&b, alertname, status, fp, labels);
    long st = agent_webhook(ag, b.data);
    buf_free(&b);
    return st;
}

long agent_request(const struct agent *ag, const char *path,
                   const struct opts *o, struct resp *r)
{
    char url[256];
    struct opts with_ca = *o;
    if (!with_ca.cainfo)
        with_ca.cainfo = ag->cafile;
    snprintf(url, sizeof(url), "%s%s", ag->base, path);
    http(url, &with_ca, r);
    return r->rc == CURLE_OK ? r->status : 0;
}

long agent_replica_health(const struct agent *ag, const char *cluster,
                          const char *node, char *why, size_t n)
{
    char path[160];
    struct resp r;
    snprintf(path, sizeof(path), "/health/replica/%s/%s", cluster, node);
    get(ag->base, path, &r);
    snprintf(why, n, "(no JSON body)");
    cJSON *o = r.body.data ? cJSON_Parse(r.body.data) : NULL;
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(o, "reason");
    if (cJSON_IsString(reason))
        snprintf(why, n, "%s", reason->valuestring);
    else if (cJSON_IsNull(reason))
        snprintf(why, n, "null");
    cJSON_Delete(o);
    buf_free(&r.body);
    return r.rc == CURLE_OK ? r.status : 0;
}
