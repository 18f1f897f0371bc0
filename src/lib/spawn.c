/* spawn.c: fork + execve with a scrubbed environment, its own process
 * group and a bounded output tail; the timeout ends the whole group.
 *
 * Between fork() and execve() the child runs only async-signal-safe
 * system calls (the parent may have other threads): everything it needs
 * is prepared before fork(). Its setup or execve() failure travels back on
 * a close-on-exec pipe, so spawn_start() reports it as a start failure. */
#include "lib/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define TICK           0.05    /* s between polls when no fd can wake us */
#define READ_CHUNK     16384   /* bytes per read() */
#define READS_PER_POLL 64      /* at most 1 MiB drained per spawn_poll() */
#define FD_LOOP_MAX    1048576 /* fallback close loop bound */
#define GRACE_MAX      3600.0

enum phase {
    PH_RUNNING, /* deadline: the timeout */
    PH_TERM,    /* SIGTERM sent; deadline: SIGKILL */
    PH_KILL,    /* SIGKILL sent; deadline: abandon survivors */
    PH_DONE,
};

struct spawn {
    pid_t pid; /* leader and process group id */
    int out_fd;
    enum phase phase;
    bool reaped, status_known, group_gone, timed_out, killed;
    int status;
    double start, deadline, grace, end, last_poll;
    size_t total; /* bytes read in all; ring position is total % size */
    size_t out_len;
    char ring[SPAWN_TAIL_MAX];
    char out[SPAWN_TAIL_MAX + 1]; /* the tail in order, set at the finish */
};

/* What the child needs, prepared before fork(). */
struct child_ctx {
    const char *path;
    char *const *argv;
    char *const *envp;
    int devnull, out_w, err_w;
    int fd_max; /* bound of the fallback close loop */
    pid_t parent;
};

/* The child's report of a failed step, written to the error pipe. */
enum stage { ST_SETPGID, ST_PDEATHSIG, ST_DUP2, ST_SIGMASK, ST_EXECVE };

struct child_err {
    int stage;
    int err;
};

static const char *const stage_names[] = {"setpgid", "prctl", "dup2",
                                          "sigprocmask", "execve"};

/* The pipe and /dev/null descriptors of one start, -1 when not open. */
struct start_fds {
    int out_r, out_w, err_r, err_w, devnull;
};

/* ---- the child, between fork() and execve() ---------------------------- */

_Noreturn static void child_fail(int fd, int stage)
{
    struct child_err e = {stage, errno};
    ssize_t n = write(fd, &e, sizeof(e));
    (void)n;
    _exit(127);
}

/* Every disposition back to SIG_DFL: SIG_IGN would survive execve().
 * The raw system call also reaches the signals libc keeps to itself (32
 * and 33 with glibc), which e.g. GNU make passes on ignored. The kernel's
 * struct sigaction for SIG_DFL, no flags and an empty mask is all zeroes
 * whatever its layout; SIGKILL and SIGSTOP fail harmlessly. */
static void child_reset_signals(void)
{
    unsigned long dfl[8];
    memset(dfl, 0, sizeof(dfl));
    for (int sig = 1; sig < NSIG; sig++)
        syscall(SYS_rt_sigaction, sig, dfl, NULL, (size_t)(NSIG - 1) / 8);
}

/* Marks every fd above 2 close-on-exec (so the error pipe works until
 * execve()), or closes them all but the error pipe without close_range. */
static void child_close_fds(const struct child_ctx *c)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
#endif
    for (int fd = 3; fd < c->fd_max; fd++) {
        if (fd != c->err_w)
            close(fd);
    }
}

_Noreturn static void child_exec(const struct child_ctx *c)
{
    child_reset_signals();
    if (setpgid(0, 0) < 0)
        child_fail(c->err_w, ST_SETPGID);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        child_fail(c->err_w, ST_PDEATHSIG);
    if (getppid() != c->parent)
        _exit(127); /* the parent died before prctl() */
    if (dup2(c->devnull, 0) < 0 || dup2(c->out_w, 1) < 0 ||
        dup2(c->out_w, 2) < 0)
        child_fail(c->err_w, ST_DUP2);
    child_close_fds(c);
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
        child_fail(c->err_w, ST_SIGMASK);
    execve(c->path, c->argv, c->envp);
    child_fail(c->err_w, ST_EXECVE);
}

/* ---- starting ----------------------------------------------------------- */

static int check_args(const char *const *argv, double timeout, char *err,
                      size_t errlen)
{
    if (!argv || !argv[0] || !argv[0][0]) {
        snprintf(err, errlen, "empty argv");
        return -1;
    }
    if (argv[0][0] != '/') {
        snprintf(err, errlen, "argv[0] must be an absolute path: %s", argv[0]);
        return -1;
    }
    if (!(timeout > 0) || !isfinite(timeout)) {
        snprintf(err, errlen, "timeout must be a positive number of seconds");
        return -1;
    }
    return 0;
}

/* A caller's entry is NAME=value with a non-empty NAME other than the
 * fixed variables'. */
static bool env_entry_ok(const char *v)
{
    const char *eq = v ? strchr(v, '=') : NULL;
    if (!eq || eq == v)
        return false;
    size_t len = (size_t)(eq - v) + 1; /* with the '=' */
    return strncmp(v, SPAWN_FIXED_PATH, len) != 0 &&
           strncmp(v, SPAWN_FIXED_LANG, len) != 0;
}

/* same_name: whether NAME=value entries a and b have the same NAME. */
static bool same_name(const char *a, const char *b)
{
    size_t len = (size_t)(strchr(a, '=') - a) + 1; /* with the '=' */
    return strncmp(a, b, len) == 0;
}

/* dup_entry: the index of an entry before i with vars[i]'s NAME, or -1. */
static long dup_entry(const struct spawn_env *env, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (same_name(env->vars[j], env->vars[i]))
            return (long)j;
    }
    return -1;
}

/* The child's environment: the fixed variables, then the caller's entries,
 * then NULL; two entries with one NAME (labels "cluster" and "Cluster"
 * both become REPLGUARD_LABEL_CLUSTER) are refused, since getenv() could
 * return either. The caller frees the array (not the strings). */
static char **build_envp(const struct spawn_env *env, char *err, size_t errlen)
{
    size_t n = env ? env->n : 0;
    const char **envp = xcalloc(n + 3, sizeof(*envp));
    envp[0] = SPAWN_FIXED_PATH;
    envp[1] = SPAWN_FIXED_LANG;
    for (size_t i = 0; i < n; i++) {
        if (!env_entry_ok(env->vars[i])) {
            snprintf(err, errlen,
                     "environment entry %zu is not NAME=value with a NAME "
                     "other than PATH and LANG",
                     i);
            free(envp);
            return NULL;
        }
        long d = dup_entry(env, i);
        if (d >= 0) {
            snprintf(err, errlen,
                     "environment entries %ld and %zu both set %.*s: two "
                     "labels differ only in case or punctuation",
                     d, i, (int)(strchr(env->vars[i], '=') - env->vars[i]),
                     env->vars[i]);
            free(envp);
            return NULL;
        }
        envp[i + 2] = env->vars[i];
    }
    return (char **)envp;
}

/* Moves fd above the standard descriptors (keeping close-on-exec), so the
 * child's dup2() onto 0, 1 and 2 never meets its own sources. */
static int fd_above_stdio(int fd)
{
    if (fd < 0 || fd > 2)
        return fd;
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int saved = errno;
    close(fd);
    errno = saved;
    return hi;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void close_start_fds(struct start_fds *f)
{
    close_fd(&f->out_r);
    close_fd(&f->out_w);
    close_fd(&f->err_r);
    close_fd(&f->err_w);
    close_fd(&f->devnull);
}

/* Opens the output pipe, the error pipe and /dev/null, all close-on-exec
 * and above 2. Returns 0, or -1 with err filled and nothing left open. */
static int open_start_fds(struct start_fds *f, char *err, size_t errlen)
{
    int out[2] = {-1, -1}, rep[2] = {-1, -1};
    int rc = pipe2(out, O_CLOEXEC);
    if (rc == 0)
        rc = pipe2(rep, O_CLOEXEC);
    f->out_r = fd_above_stdio(out[0]);
    f->out_w = fd_above_stdio(out[1]);
    f->err_r = fd_above_stdio(rep[0]);
    f->err_w = fd_above_stdio(rep[1]);
    f->devnull = rc == 0 ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
    f->devnull = fd_above_stdio(f->devnull);
    if (f->out_r >= 0 && f->out_w >= 0 && f->err_r >= 0 && f->err_w >= 0 &&
        f->devnull >= 0 && fcntl(f->out_r, F_SETFL, O_NONBLOCK) == 0)
        return 0;
    snprintf(err, errlen, "cannot open the child's pipes: %s", strerror(errno));
    close_start_fds(f);
    return -1;
}

static int fd_loop_max(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > FD_LOOP_MAX)
        return FD_LOOP_MAX;
    return (int)rl.rlim_cur;
}

/* fork() with every signal blocked, so no handler of ours runs in the
 * child before it resets them. Returns as fork() in the parent. */
static pid_t fork_child(const struct child_ctx *c)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0)
        child_exec(c);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return pid;
}

static void reap_blocking(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        continue;
}

/* Waits for the child's execve(): EOF on the error pipe means it ran.
 * Returns 0, or -1 with err filled and the child reaped. */
static int wait_exec(pid_t pid, int err_r, const char *path, char *err,
                     size_t errlen)
{
    struct child_err ce;
    ssize_t n;
    do {
        n = read(err_r, &ce, sizeof(ce));
    } while (n < 0 && errno == EINTR);
    if (n == 0)
        return 0;
    if (n == (ssize_t)sizeof(ce) && ce.stage >= 0 &&
        (size_t)ce.stage < ARRAY_LEN(stage_names))
        snprintf(err, errlen, "%s %s: %s", stage_names[ce.stage], path,
                 strerror(ce.err));
    else
        snprintf(err, errlen, "%s: no report from the child", path);
    kill(pid, SIGKILL); /* in case it got further than it said */
    reap_blocking(pid);
    return -1;
}

/* Forks and waits for the child's execve(). Returns its pid, or -1 with
 * err filled. Closes the child's ends of the pipes either way. */
static pid_t start_child(const char *const *argv, char **envp,
                         struct start_fds *f, char *err, size_t errlen)
{
    struct child_ctx c = {
        .path = argv[0],
        .argv = (char *const *)argv,
        .envp = envp,
        .devnull = f->devnull,
        .out_w = f->out_w,
        .err_w = f->err_w,
        .fd_max = fd_loop_max(),
        .parent = getpid(),
    };
    pid_t pid = fork_child(&c);
    if (pid < 0)
        snprintf(err, errlen, "fork: %s", strerror(errno));
    close_fd(&f->out_w);
    close_fd(&f->err_w);
    close_fd(&f->devnull);
    if (pid > 0 && wait_exec(pid, f->err_r, argv[0], err, errlen) < 0)
        pid = -1;
    return pid;
}

static struct spawn *spawn_new(pid_t pid, int out_fd, double timeout,
                               double now)
{
    struct spawn *s = xcalloc(1, sizeof(*s));
    s->pid = pid;
    s->out_fd = out_fd;
    s->phase = PH_RUNNING;
    s->start = now;
    s->last_poll = now;
    s->deadline = now + timeout;
    s->grace = SPAWN_GRACE_DEFAULT;
    return s;
}

static void log_start(const struct spawn *s, const char *path, double timeout)
{
    if (!log_enabled(LOG_DEBUG))
        return;
    char q[256];
    log_msg(LOG_DEBUG, "msg=\"exec started\" pid=%d path=%s timeout=%g",
            (int)s->pid, log_quote(q, sizeof(q), path), timeout);
}

struct spawn *spawn_start(const char *const *argv, const struct spawn_env *env,
                          double timeout, double now, char *err, size_t errlen)
{
    if (check_args(argv, timeout, err, errlen) < 0)
        return NULL;
    char **envp = build_envp(env, err, errlen);
    if (!envp)
        return NULL;
    struct spawn *s = NULL;
    struct start_fds f;
    pid_t pid = -1;
    if (open_start_fds(&f, err, errlen) == 0)
        pid = start_child(argv, envp, &f, err, errlen);
    if (pid > 0) {
        s = spawn_new(pid, f.out_r, timeout, now);
        f.out_r = -1;
        log_start(s, argv[0], timeout);
    }
    close_start_fds(&f);
    free(envp);
    return s;
}

void spawn_set_grace(struct spawn *s, double grace)
{
    if (!(grace >= 0))
        grace = 0;
    s->grace = grace < GRACE_MAX ? grace : GRACE_MAX;
}

/* ---- running ------------------------------------------------------------ */

/* Keeps the last SPAWN_TAIL_MAX bytes of everything put. */
static void tail_put(struct spawn *s, const char *p, size_t n)
{
    size_t cap = sizeof(s->ring);
    if (n > cap) {
        p += n - cap;
        s->total += n - cap;
        n = cap;
    }
    size_t pos = s->total % cap;
    size_t first = n < cap - pos ? n : cap - pos;
    memcpy(s->ring + pos, p, first);
    memcpy(s->ring, p + first, n - first);
    s->total += n;
}

/* Copies the ring into s->out in order. */
static void tail_finish(struct spawn *s)
{
    size_t cap = sizeof(s->ring);
    if (s->total <= cap) {
        s->out_len = s->total;
        memcpy(s->out, s->ring, s->out_len);
    } else {
        size_t pos = s->total % cap;
        memcpy(s->out, s->ring + pos, cap - pos);
        memcpy(s->out + (cap - pos), s->ring, pos);
        s->out_len = cap;
    }
    s->out[s->out_len] = '\0';
}

/* Reads what the pipe holds, up to READS_PER_POLL chunks; closes it at
 * EOF or on a read error. */
static void drain(struct spawn *s)
{
    char chunk[READ_CHUNK];
    for (int i = 0; i < READS_PER_POLL && s->out_fd >= 0; i++) {
        ssize_t n = read(s->out_fd, chunk, sizeof(chunk));
        if (n > 0) {
            tail_put(s, chunk, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0)
            log_msg(LOG_WARN, "msg=\"exec output unreadable\" pid=%d err=%d",
                    (int)s->pid, errno);
        close_fd(&s->out_fd);
    }
}

/* Reaps every exited child in the group: the leader (its status is kept)
 * and orphans of the group that were reparented to this process. Once the
 * group is gone its id may name another group of ours: hands off. */
static void reap(struct spawn *s)
{
    while (!(s->reaped && s->group_gone)) {
        int status;
        pid_t pid = waitpid(-s->pid, &status, WNOHANG);
        if (pid == s->pid) {
            s->reaped = true;
            s->status_known = true;
            s->status = status;
        }
        if (pid > 0 || (pid < 0 && errno == EINTR))
            continue;
        if (pid < 0 && errno == ECHILD && !s->reaped) {
            /* Reaped elsewhere: SIGCHLD ignored, or a waitpid(-1). */
            s->reaped = true;
            log_msg(LOG_WARN,
                    "msg=\"exec status lost: reaped elsewhere\" "
                    "pid=%d",
                    (int)s->pid);
        }
        return;
    }
}

/* Whether any process (zombies included) is left in the group. Once it is
 * seen empty, it is never signalled again: its id may be reused. */
static bool group_alive(struct spawn *s)
{
    if (!s->group_gone && kill(-s->pid, 0) < 0 && errno == ESRCH)
        s->group_gone = true;
    return !s->group_gone;
}

static void signal_group(struct spawn *s, int sig)
{
    if (!s->group_gone && kill(-s->pid, sig) < 0 && errno == ESRCH)
        s->group_gone = true;
}

static void finish(struct spawn *s, double now)
{
    drain(s);
    close_fd(&s->out_fd);
    tail_finish(s);
    s->phase = PH_DONE;
    s->end = now;
    log_msg(LOG_DEBUG,
            "msg=\"exec finished\" pid=%d status=%d timed_out=%d "
            "output_bytes=%zu",
            (int)s->pid, s->status_known ? s->status : -1, s->timed_out,
            s->total);
}

/* At the phase's deadline: SIGTERM, then SIGKILL, then give up. */
static void escalate(struct spawn *s, double now)
{
    if (now < s->deadline)
        return;
    if (s->phase == PH_RUNNING) {
        log_msg(LOG_WARN,
                "msg=\"exec timed out, sending SIGTERM to its "
                "process group\" pid=%d",
                (int)s->pid);
        s->timed_out = true;
        signal_group(s, SIGTERM);
        signal_group(s, SIGCONT); /* a stopped process must see SIGTERM */
        s->phase = PH_TERM;
    } else if (s->phase == PH_TERM) {
        log_msg(LOG_WARN,
                "msg=\"exec outlived SIGTERM, sending SIGKILL to "
                "its process group\" pid=%d",
                (int)s->pid);
        s->killed = true;
        signal_group(s, SIGKILL);
        s->phase = PH_KILL;
    } else {
        log_msg(LOG_ERROR,
                "msg=\"exec process group outlived SIGKILL, "
                "abandoned\" pid=%d reaped=%d",
                (int)s->pid, s->reaped);
        finish(s, now);
        return;
    }
    s->deadline = now + s->grace;
}

int spawn_poll(struct spawn *s, double now)
{
    if (s->phase == PH_DONE)
        return 1;
    s->last_poll = now;
    drain(s);
    reap(s);
    if (s->reaped && s->out_fd < 0 && !group_alive(s))
        finish(s, now);
    else
        escalate(s, now);
    return s->phase == PH_DONE;
}

int spawn_fd(const struct spawn *s)
{
    return s->out_fd;
}

/* While the pipe is open, its EOF (which any finish needs) wakes the
 * caller; after it, only exits are left to notice, and nothing signals
 * those to the caller's poll: tick. */
double spawn_next_deadline(const struct spawn *s)
{
    if (s->phase == PH_DONE)
        return HUGE_VAL;
    if (s->out_fd >= 0)
        return s->deadline;
    double tick = s->last_poll + TICK;
    return tick < s->deadline ? tick : s->deadline;
}

pid_t spawn_pid(const struct spawn *s)
{
    return s->pid;
}

int spawn_result(const struct spawn *s, struct spawn_result *res)
{
    if (s->phase != PH_DONE)
        return -1;
    memset(res, 0, sizeof(*res));
    res->status_known = s->status_known;
    res->exit_code = -1;
    if (s->status_known && WIFEXITED(s->status))
        res->exit_code = WEXITSTATUS(s->status);
    if (s->status_known && WIFSIGNALED(s->status))
        res->term_signal = WTERMSIG(s->status);
    res->timed_out = s->timed_out;
    res->killed = s->killed;
    res->output = s->out;
    res->output_len = s->out_len;
    res->output_total = s->total;
    res->duration = s->end - s->start;
    return 0;
}

/* SIGKILL to the group, then reaps for at most the grace period. */
static void kill_and_reap(struct spawn *s)
{
    signal_group(s, SIGKILL);
    if (!s->reaped)
        kill(s->pid, SIGKILL); /* unreaped, so the pid is still ours */
    struct timespec pause = {0, 10 * 1000 * 1000};
    long rounds = (long)(s->grace / 0.01) + 1;
    for (long i = 0; i < rounds; i++) {
        reap(s);
        if (s->reaped && !group_alive(s))
            return;
        nanosleep(&pause, NULL);
    }
    log_msg(LOG_ERROR,
            "msg=\"exec process group outlived SIGKILL\" pid=%d "
            "reaped=%d",
            (int)s->pid, s->reaped);
}

void spawn_free(struct spawn *s)
{
    if (!s)
        return;
    if (s->phase != PH_DONE || !s->reaped)
        kill_and_reap(s);
    close_fd(&s->out_fd);
    free(s);
}

/* ---- helpers ------------------------------------------------------------ */

static char label_char(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        return (char)(c - 'a' + 'A');
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
        return (char)c;
    return '_';
}

int spawn_label_env(const char *name, const char *value, size_t value_len,
                    struct buf *out)
{
    buf_reset(out);
    if (!name[0] || (value_len && memchr(value, '\0', value_len)))
        return -1;
    int rc = buf_puts(out, "REPLGUARD_LABEL_");
    for (const unsigned char *p = (const unsigned char *)name; *p && !rc; p++) {
        char c = label_char(*p);
        rc = buf_append(out, &c, 1);
    }
    if (!rc)
        rc = buf_append(out, "=", 1);
    if (!rc)
        rc = buf_append(out, value, value_len);
    if (rc)
        buf_reset(out);
    return rc ? -1 : 0;
}

int spawn_subreaper(void)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return -errno;
    return 0;
}
