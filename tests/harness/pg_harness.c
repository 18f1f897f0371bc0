/* pg_harness.c: runs tests/pg/pgcluster.sh for the check tests (see
 * pg_harness.h). */
#include "pg_harness.h"

#include "simnode_harness.h"

#include <check.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUT_LIMIT (1u << 20)

static void script_path(char *out, size_t n)
{
    const char *top = getenv("top_srcdir");
    snprintf(out, n, "%s/tests/pg/pgcluster.sh", top ? top : ".");
}

/* The process that asked pgc_available() first: the test program's
 * main. Clusters go in /tmp/rg-pg.<its pid>.XXXXXX, and at its exit it
 * destroys any still there: a failed ck_assert ends a forked test with
 * _exit() before its teardown runs, and the servers must not outlive the
 * test program. */
static pid_t top_pid;

static void destroy_leftovers(void)
{
    if (getpid() != top_pid)
        return; /* a forked test's exit: its parent is still testing */
    char pattern[64];
    glob_t g;
    snprintf(pattern, sizeof(pattern), "/tmp/rg-pg.%ld.*", (long)top_pid);
    if (glob(pattern, 0, NULL, &g) != 0)
        return;
    /* not run(): its ck_asserts are only allowed inside a test */
    char script[512], cmd[1024];
    script_path(script, sizeof(script));
    for (size_t i = 0; i < g.gl_pathc; i++) {
        snprintf(cmd, sizeof(cmd), "/bin/bash '%s' destroy '%s'", script,
                 g.gl_pathv[i]);
        if (system(cmd) != 0)
            fprintf(stderr, "pg_harness: could not destroy %s\n",
                    g.gl_pathv[i]);
    }
    globfree(&g);
}

bool pgc_available(void)
{
    if (!top_pid) {
        top_pid = getpid();
        atexit(destroy_leftovers);
    }
    const char *bin = getenv("PGBIN");
    char path[512];
    snprintf(path, sizeof(path), "%s/initdb",
             bin ? bin : "/usr/lib/postgresql/15/bin");
    return access(path, X_OK) == 0;
}

/* run: bash pgcluster.sh with args (NULL-terminated, at most 6);
 * appends its stdout to out (when not NULL). Returns its exit status,
 * or -1 when it could not run or died of a signal. */
static int run(struct buf *out, const char *const *args)
{
    char script[512];
    const char *argv[10] = {"/bin/bash", script};
    size_t n = 2;
    script_path(script, sizeof(script));
    for (size_t i = 0; args[i] && n + 1 < ARRAY_LEN(argv); i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent || dup2(p[1], STDOUT_FILENO) < 0)
            _exit(127);
        /* the servers the script starts inherit what it has open: no
         * pipe of ours (this one, check's) may stay open in them, or its
         * reader never sees EOF */
        for (int fd = STDERR_FILENO + 1; fd < 1024; fd++)
            close(fd);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    char chunk[4096];
    for (;;) {
        ssize_t got = read(p[0], chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (out)
            buf_append(out, chunk, (size_t)got);
    }
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* read_nodes: the "dir D" and "node NAME PORT ROLE" lines of start. */
static void read_nodes(struct pgc *c, const char *text)
{
    const char *line = text;
    while (line && *line) {
        char name[16];
        int port;
        if (sscanf(line, "dir %255s", c->dir) == 1) {
            /* the dir, kept for destroy */
        } else if (sscanf(line, "node %15s %d", name, &port) == 2 &&
                   c->n < PGC_MAX_NODES) {
            snprintf(c->name[c->n], sizeof(c->name[0]), "%s", name);
            c->port[c->n++] = port;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    snprintf(c->password_file, sizeof(c->password_file),
             "%s/replguard.password", c->dir);
}

bool pgc_start(struct pgc *c, int n_standbys)
{
    memset(c, 0, sizeof(*c));
    if (!pgc_available()) {
        puts("SKIP: PostgreSQL 15 is not installed "
             "(/usr/lib/postgresql/15/bin; Debian: postgresql-15)");
        return false;
    }
    ck_assert_int_lt(n_standbys, PGC_MAX_NODES);
    char count[16];
    snprintf(count, sizeof(count), "%d", n_standbys);
    struct buf out;
    buf_init(&out, OUT_LIMIT);
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/rg-pg.%ld.XXXXXX", (long)top_pid);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    int rc = run(&out, (const char *[]){"start", dir, count, NULL});
    buf_append(&out, "", 1);
    read_nodes(c, out.data);
    bool ready = strstr(out.data, "\nready") != NULL;
    buf_free(&out);
    if (rc != 0 || !ready) {
        pgc_destroy(c);
        ck_abort_msg("pgcluster.sh start failed (exit %d)", rc);
    }
    ck_assert_uint_eq(c->n, (size_t)n_standbys + 1);
    return true;
}

void pgc_destroy(struct pgc *c)
{
    if (!c->dir[0])
        return;
    run(NULL, (const char *[]){"destroy", c->dir, NULL});
    c->dir[0] = '\0';
    c->n = 0;
}

int pgc_port(const struct pgc *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->name[i], name) == 0)
            return c->port[i];
    ck_abort_msg("no server %s", name);
    return -1;
}

void pgc_dsn(const struct pgc *c, const char *name, char *out, size_t n)
{
    snprintf(out, n,
             "host=127.0.0.1 port=%d user=replguard dbname=postgres "
             "connect_timeout=2",
             pgc_port(c, name));
}

int pgc_sql(const struct pgc *c, const char *name, const char *sql,
            struct buf *out)
{
    return run(out, (const char *[]){"sql", c->dir, name, sql, NULL});
}

char *pgc_query(const struct pgc *c, const char *name, const char *sql)
{
    struct buf out;
    buf_init(&out, OUT_LIMIT);
    int rc = pgc_sql(c, name, sql, &out);
    ck_assert_msg(rc == 0, "psql on %s failed (exit %d): %s", name, rc, sql);
    while (out.len > 0 && out.data[out.len - 1] == '\n')
        out.len--;
    buf_append(&out, "", 1);
    return buf_detach(&out);
}

int pgc_ctl(const struct pgc *c, const char *verb, const char *name)
{
    return run(NULL, (const char *[]){verb, c->dir, name, NULL});
}

void pgc_signal(const struct pgc *c, const char *name, const char *sig)
{
    int rc = run(NULL, (const char *[]){"signal", c->dir, name, sig, NULL});
    ck_assert_msg(rc == 0, "signal %s to %s failed", sig, name);
}

bool pgc_wait_streaming(const struct pgc *c, const char *name, int n,
                        double secs)
{
    double deadline = now_s() + secs;
    while (now_s() < deadline) {
        struct buf out;
        buf_init(&out, 64);
        int rc = pgc_sql(c, name,
                         "SELECT count(*) FROM pg_stat_replication "
                         "WHERE state = 'streaming'",
                         &out);
        buf_append(&out, "", 1);
        long got = rc == 0 ? strtol(out.data, NULL, 10) : -1;
        buf_free(&out);
        if (got >= n)
            return true;
        sleep_ms(100);
    }
    return false;
}
