/* demostack.c: Prometheus and Alertmanager for the demo. */
#include "demostack.h"

#include "log.h"
#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROMETHEUS   "/usr/bin/prometheus"
#define ALERTMANAGER "/usr/bin/prometheus-alertmanager"

struct demostack {
    pid_t prometheus, alertmanager;
    char banner[256];
};

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* short_rules: the shipped rules with every `for:` at 10 s. */
static int short_rules(const char *src, const char *dst)
{
    FILE *in = fopen(src, "r"), *out = in ? fopen(dst, "w") : NULL;
    char line[1024];
    while (out && fgets(line, sizeof(line), in)) {
        const char *p = line + strspn(line, " ");
        if (strncmp(p, "for:", 4) == 0)
            fprintf(out, "%.*sfor: 10s\n", (int)(p - line), line);
        else
            fputs(line, out);
    }
    if (in)
        fclose(in);
    return out && fclose(out) == 0 ? 0 : -1;
}

static void prometheus_yml(struct buf *b, const char *dir,
                           const char *const *urls, unsigned n,
                           unsigned rg_port)
{
    buf_printf(b,
               "global: {scrape_interval: 2s, evaluation_interval: 2s}\n"
               "rule_files: [\"%s/alerts.yml\"]\n"
               "alerting:\n  alertmanagers:\n"
               "    - static_configs: [{targets: [\"127.0.0.1:%d\"]}]\n"
               "scrape_configs:\n"
               "  - job_name: replguard\n"
               "    static_configs: [{targets: [\"127.0.0.1:%u\"]}]\n"
               "  - job_name: stemedb\n    static_configs:\n",
               dir, DEMO_ALERTMANAGER_PORT, rg_port);
    for (unsigned i = 0; i < n; i++)
        buf_printf(b,
                   "      - {targets: [\"%s\"], labels: {cluster: demo, "
                   "node: node%u}}\n",
                   urls[i] + strlen("http://"), i + 1);
}

static void alertmanager_yml(struct buf *b, unsigned rg_port)
{
    buf_printf(b,
               "route:\n"
               "  receiver: replguard\n"
               "  group_by: [alertname, cluster, replica]\n"
               "  group_wait: 2s\n  group_interval: 5s\n"
               "  repeat_interval: 1h\n"
               "receivers:\n"
               "  - name: replguard\n"
               "    webhook_configs:\n"
               "      - url: \"http://127.0.0.1:%u/webhook\"\n"
               "        send_resolved: true\n",
               rg_port);
}

/* run: starts argv in its own process group, output into log; it dies
 * with replguard. */
static pid_t run(const char *const *argv, const char *log)
{
    pid_t parent = getpid(), pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (getppid() != parent || fd < 0)
        _exit(127);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

static pid_t start_prometheus(const char *dir)
{
    char cfg[512], data[512], listen[64], log[512];
    snprintf(cfg, sizeof(cfg), "--config.file=%s/prometheus.yml", dir);
    snprintf(data, sizeof(data), "--storage.tsdb.path=%s/prometheus", dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d",
             DEMO_PROMETHEUS_PORT);
    snprintf(log, sizeof(log), "%s/prometheus.log", dir);
    const char *argv[] = {PROMETHEUS, cfg, data, listen, NULL};
    return run(argv, log);
}

static pid_t start_alertmanager(const char *dir)
{
    char cfg[512], data[512], listen[64], log[512];
    snprintf(cfg, sizeof(cfg), "--config.file=%s/alertmanager.yml", dir);
    snprintf(data, sizeof(data), "--storage.path=%s/alertmanager", dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%d",
             DEMO_ALERTMANAGER_PORT);
    snprintf(log, sizeof(log), "%s/alertmanager.log", dir);
    const char *argv[] = {
        ALERTMANAGER, cfg, data, listen, "--cluster.listen-address=", NULL};
    return run(argv, log);
}

static int write_configs(const char *dir, const char *srcdir,
                         const char *const *urls, unsigned n, unsigned port)
{
    char src[512], path[512];
    snprintf(src, sizeof(src), "%s/alerts/replguard.rules.yml", srcdir);
    snprintf(path, sizeof(path), "%s/alerts.yml", dir);
    if (short_rules(src, path) < 0)
        return -1;
    struct buf b;
    buf_init(&b, 0);
    prometheus_yml(&b, dir, urls, n, port);
    snprintf(path, sizeof(path), "%s/prometheus.yml", dir);
    int rc = write_text(path, b.data);
    buf_reset(&b);
    alertmanager_yml(&b, port);
    snprintf(path, sizeof(path), "%s/alertmanager.yml", dir);
    if (rc == 0)
        rc = write_text(path, b.data);
    buf_free(&b);
    return rc;
}

struct demostack *demostack_start(const char *dir, const char *srcdir,
                                  const char *const *node_urls, unsigned n,
                                  unsigned replguard_port)
{
    if (access(PROMETHEUS, X_OK) != 0 || access(ALERTMANAGER, X_OK) != 0)
        return NULL;
    if (write_configs(dir, srcdir, node_urls, n, replguard_port) < 0) {
        log_msg(LOG_WARN,
                "msg=\"demo: no alert rules at %s/alerts; "
                "running without Prometheus\"",
                srcdir);
        return NULL;
    }
    struct demostack *s = xcalloc(1, sizeof(*s));
    s->alertmanager = start_alertmanager(dir);
    s->prometheus = start_prometheus(dir);
    snprintf(s->banner, sizeof(s->banner),
             "  Prometheus:   http://127.0.0.1:%d/alerts\n"
             "  Alertmanager: http://127.0.0.1:%d\n",
             DEMO_PROMETHEUS_PORT, DEMO_ALERTMANAGER_PORT);
    return s;
}

const char *demostack_banner(const struct demostack *s)
{
    return s ? s->banner : "";
}

void demostack_stop(struct demostack *s)
{
    if (!s)
        return;
    pid_t pids[] = {s->prometheus, s->alertmanager};
    for (size_t i = 0; i < ARRAY_LEN(pids); i++) {
        if (pids[i] > 0) {
            kill(-pids[i], SIGTERM); /* its group, once it made one */
            kill(pids[i], SIGTERM);
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(pids); i++)
        if (pids[i] > 0)
            waitpid(pids[i], NULL, 0);
    free(s);
}
