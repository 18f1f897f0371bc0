/* demostack.c: Prometheus and Alertmanager for the demo. */
#include "demo/demostack.h"

#include "lib/log.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROMETHEUS   "/usr/bin/prometheus"
#define ALERTMANAGER "/usr/bin/prometheus-alertmanager"
#define START_WAIT   20.0 /* seconds for a program to answer on its port */

/* One program: pid 0 once it is gone. */
struct child {
    const char *name;
    pid_t pid;
    unsigned port;
    char log[512];
};

struct demostack {
    struct child kids[2]; /* Alertmanager, Prometheus */
    char banner[384];
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
                           const struct demostack_ports *p)
{
    buf_printf(b,
               "global: {scrape_interval: 2s, evaluation_interval: 2s}\n"
               "rule_files: [\"%s/alerts.yml\"]\n"
               "alerting:\n  alertmanagers:\n"
               "    - static_configs: [{targets: [\"127.0.0.1:%u\"]}]\n"
               "scrape_configs:\n"
               "  - job_name: replguard\n"
               "    static_configs: [{targets: [\"127.0.0.1:%u\"]}]\n"
               "  - job_name: stemedb\n    static_configs:\n",
               dir, p->alertmanager, p->replguard);
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
               "  routes:\n"
               "    # replguard's pages: for humans, never back to it\n"
               "    - receiver: humans\n"
               "      matchers: ['alertname=\"ReplguardEscalation\"']\n"
               "receivers:\n"
               "  - name: replguard\n"
               "    webhook_configs:\n"
               "      - url: \"http://127.0.0.1:%u/webhook\"\n"
               "        send_resolved: true\n"
               "  - name: humans # the demo reads /api/v2/alerts\n",
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

static pid_t start_prometheus(const char *dir, struct child *k)
{
    char cfg[512], data[512], listen[64];
    snprintf(cfg, sizeof(cfg), "--config.file=%s/prometheus.yml", dir);
    snprintf(data, sizeof(data), "--storage.tsdb.path=%s/prometheus", dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%u",
             k->port);
    const char *argv[] = {PROMETHEUS, cfg, data, listen, NULL};
    return run(argv, k->log);
}

static pid_t start_alertmanager(const char *dir, struct child *k)
{
    char cfg[512], data[512], listen[64];
    snprintf(cfg, sizeof(cfg), "--config.file=%s/alertmanager.yml", dir);
    snprintf(data, sizeof(data), "--storage.path=%s/alertmanager", dir);
    snprintf(listen, sizeof(listen), "--web.listen-address=127.0.0.1:%u",
             k->port);
    const char *argv[] = {
        ALERTMANAGER, cfg, data, listen, "--cluster.listen-address=", NULL};
    return run(argv, k->log);
}

/* --- is it up? ------------------------------------------------------------ */

static int loopback_socket(unsigned port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

/* port_answers: something accepts connections on 127.0.0.1:port. */
static bool port_answers(unsigned port)
{
    struct sockaddr_in sa;
    int fd = loopback_socket(port, &sa);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* report: the program is not running: say so on the terminal and in the
 * log, with its log file; pid 0 from now on. */
static void report(struct child *k, const char *why)
{
    fprintf(stderr,
            "replguard demo: %s is not running (%s): no alerts will fire; "
            "see %s\n",
            k->name, why, k->log);
    log_msg(LOG_ERROR,
            "msg=\"demo: %s is not running: no alerts\" "
            "reason=\"%s\" log=%s",
            k->name, why, k->log);
    k->pid = 0;
}

/* exited: reaps k when it has exited, describing how into why. */
static bool exited(struct child *k, char *why, size_t len)
{
    int st = 0;
    if (k->pid <= 0 || waitpid(k->pid, &st, WNOHANG) != k->pid)
        return false;
    if (WIFEXITED(st))
        snprintf(why, len, "exited with status %d", WEXITSTATUS(st));
    else
        snprintf(why, len, "killed by signal %d", WTERMSIG(st));
    return true;
}

/* wait_up: waits until k answers on its port, exits or START_WAIT
 * passes; reports the last two. Returns whether it is up. */
static bool wait_up(struct child *k)
{
    char why[128];
    struct timespec t0, now, nap = {0, 100 * 1000000L};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (exited(k, why, sizeof(why))) {
            report(k, why);
            return false;
        }
        if (port_answers(k->port))
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - t0.tv_sec) > START_WAIT) {
            snprintf(why, sizeof(why), "nothing answers on port %u after %gs",
                     k->port, START_WAIT);
            kill(k->pid, SIGTERM);
            waitpid(k->pid, NULL, 0);
            report(k, why);
            return false;
        }
        nanosleep(&nap, NULL);
    }
}

static int write_configs(const char *dir, const char *srcdir,
                         const char *const *urls, unsigned n,
                         const struct demostack_ports *port)
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
    alertmanager_yml(&b, port->replguard);
    snprintf(path, sizeof(path), "%s/alertmanager.yml", dir);
    if (rc == 0)
        rc = write_text(path, b.data);
    buf_free(&b);
    return rc;
}

/* start: starts k (unless its port is taken) and waits until it is up. */
static void start(struct child *k, const char *dir,
                  pid_t (*fn)(const char *, struct child *))
{
    if (port_answers(k->port)) {
        char why[64];
        snprintf(why, sizeof(why), "port %u is taken", k->port);
        report(k, why);
        return;
    }
    k->pid = fn(dir, k);
    if (k->pid < 0) {
        report(k, strerror(errno));
        return;
    }
}

static void child_init(struct child *k, const char *name, const char *dir,
                       const char *file, unsigned port)
{
    k->name = name;
    k->port = port;
    snprintf(k->log, sizeof(k->log), "%s/%s.log", dir, file);
}

struct demostack *demostack_start(const char *dir, const char *srcdir,
                                  const char *const *node_urls, unsigned n,
                                  const struct demostack_ports *ports)
{
    if (access(PROMETHEUS, X_OK) != 0 || access(ALERTMANAGER, X_OK) != 0)
        return NULL;
    if (write_configs(dir, srcdir, node_urls, n, ports) < 0) {
        log_msg(LOG_WARN,
                "msg=\"demo: no alert rules at %s/alerts; "
                "running without Prometheus\"",
                srcdir);
        return NULL;
    }
    struct demostack *s = xcalloc(1, sizeof(*s));
    struct child *am = &s->kids[0], *prom = &s->kids[1];
    child_init(am, "Alertmanager", dir, "alertmanager", ports->alertmanager);
    child_init(prom, "Prometheus", dir, "prometheus", ports->prometheus);
    start(am, dir, start_alertmanager);
    start(prom, dir, start_prometheus);
    bool am_up = am->pid > 0 && wait_up(am);
    bool prom_up = prom->pid > 0 && wait_up(prom);
    if (!am_up && !prom_up) {
        free(s);
        return NULL;
    }
    if (prom_up)
        snprintf(s->banner, sizeof(s->banner),
                 "  Prometheus:   http://127.0.0.1:%u/alerts\n", prom->port);
    if (am_up)
        snprintf(s->banner + strlen(s->banner),
                 sizeof(s->banner) - strlen(s->banner),
                 "  Alertmanager: http://127.0.0.1:%u\n", am->port);
    return s;
}

const char *demostack_banner(const struct demostack *s)
{
    return s ? s->banner : "";
}

int demostack_check(struct demostack *s)
{
    if (!s)
        return 0;
    int running = 0;
    char why[128];
    for (size_t i = 0; i < ARRAY_LEN(s->kids); i++) {
        if (exited(&s->kids[i], why, sizeof(why)))
            report(&s->kids[i], why);
        running += s->kids[i].pid > 0;
    }
    return running;
}

void demostack_stop(struct demostack *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < ARRAY_LEN(s->kids); i++) {
        pid_t pid = s->kids[i].pid;
        if (pid > 0) {
            kill(-pid, SIGTERM); /* its group, once it made one */
            kill(pid, SIGTERM);
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(s->kids); i++)
        if (s->kids[i].pid > 0)
            waitpid(s->kids[i].pid, NULL, 0);
    free(s);
}
