/* spawn.h: non-blocking child processes for the `exec` action.
 *
 * The engine thread starts a command with spawn_start(), adds spawn_fd()
 * to its poll set, wakes by spawn_next_deadline() at the latest, and calls
 * spawn_poll() until it returns 1; nothing here blocks on the child, except
 * spawn_start() waiting for the child's execve() and spawn_free() of a
 * run still going.
 *
 * The child gets: argv only (argv[0] an absolute path; never a shell, never
 * a PATH lookup); an environment of exactly SPAWN_FIXED_PATH, SPAWN_FIXED_LANG
 * and the caller's entries, nothing of replguard's own; its own process
 * group (pgid = its pid); PR_SET_PDEATHSIG(SIGKILL), so it dies when the
 * thread that started it dies; stdin from /dev/null; stdout and stderr into
 * one pipe that the parent drains, keeping the last SPAWN_TAIL_MAX bytes;
 * no other fd; default signal dispositions and an empty signal mask.
 *
 * At the timeout the whole process group gets SIGTERM (and SIGCONT), after
 * the grace period SIGKILL. A run has finished when the leader has been
 * reaped, its output pipe is at EOF and no process of its group is left, or
 * when processes survive SIGKILL by another grace period (logged, then
 * abandoned). Group members orphaned by the leader are reaped here only when
 * this process is their reaper (init, or see spawn_subreaper()); otherwise
 * their zombies keep the group alive until their reaper collects them.
 *
 * Times are seconds on the caller's monotonic clock (clock_mono()). Nothing
 * here is thread-safe; one thread owns each struct spawn. */
#ifndef REPLGUARD_SPAWN_H
#define REPLGUARD_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;

/* The only variables a child gets besides the caller's entries. */
#define SPAWN_FIXED_PATH "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
#define SPAWN_FIXED_LANG "LANG=C"

/* Bytes of combined stdout/stderr kept: the last ones written. */
#define SPAWN_TAIL_MAX 4096
/* Seconds from SIGTERM to SIGKILL unless spawn_set_grace() says otherwise. */
#define SPAWN_GRACE_DEFAULT 2.0

struct spawn;

/* The caller's environment entries: n "NAME=value" strings, caller-owned,
 * needed only during spawn_start(). NAME must be non-empty, neither PATH
 * nor LANG, and unique among the entries (spawn_start() refuses two entries
 * with one NAME: the child could getenv() either). A NULL struct spawn_env
 * means no entries. */
struct spawn_env {
    const char *const *vars;
    size_t n;
};

struct spawn_result {
    bool status_known;   /* false: the leader could not be reaped here */
    int exit_code;       /* the leader's exit status; -1: signal or unknown */
    int term_signal;     /* the signal that ended the leader, 0 if it exited */
    bool timed_out;      /* the group was still running at the timeout */
    bool killed;         /* SIGKILL was sent to the group */
    const char *output;  /* last output_len bytes of stdout+stderr, NUL-
                            terminated (may contain NULs); valid until
                            spawn_free() */
    size_t output_len;   /* <= SPAWN_TAIL_MAX */
    size_t output_total; /* bytes written in all; > output_len: truncated */
    double duration;     /* seconds from spawn_start() to the finish */
};

/* spawn_start: starts argv[0] with arguments argv (NULL-terminated) and
 * the environment described above, at time now, to be terminated timeout
 * seconds later (timeout > 0). Blocks only until the child has called
 * execve(). Returns a handle to free with spawn_free(), or NULL with the
 * reason in err (errlen bytes, may be 0): a relative or missing argv[0], a
 * bad environment entry, or a failure of pipe, fork or the child's setup or
 * execve ("execve /x: No such file or directory"), so a missing program is
 * a start failure, never exit status 127. */
struct spawn *spawn_start(const char *const *argv, const struct spawn_env *env,
                          double timeout, double now, char *err, size_t errlen);

/* spawn_set_grace: seconds between SIGTERM and SIGKILL (and between
 * SIGKILL and abandoning survivors); default SPAWN_GRACE_DEFAULT. */
void spawn_set_grace(struct spawn *s, double grace);

/* spawn_poll: without blocking, reads pending output, reaps exited members
 * of the group, and sends the group SIGTERM at the timeout and SIGKILL
 * after the grace period. Returns 1 once the run has finished (then and on
 * every later call), else 0. */
int spawn_poll(struct spawn *s, double now);

/* spawn_fd: the output pipe to poll for input (POLLIN), or -1 once it is
 * at EOF or the run has finished. */
int spawn_fd(const struct spawn *s);

/* spawn_next_deadline: the latest time at which spawn_poll() should be
 * called again even without input on spawn_fd(): the timeout or kill
 * deadline while the pipe is open (its EOF wakes the caller), a short tick
 * after it (exits wake nobody). HUGE_VAL once finished. */
double spawn_next_deadline(const struct spawn *s);

/* spawn_pid: the leader's pid, which is also its process group id. */
pid_t spawn_pid(const struct spawn *s);

/* spawn_result: fills *res for a finished run; res->output points into s.
 * Returns 0, or -1 (res untouched) while the run has not finished. */
int spawn_result(const struct spawn *s, struct spawn_result *res);

/* spawn_free: frees s; a run still going gets SIGKILL to its group and is
 * reaped, waiting at most the grace period. NULL is a no-op. */
void spawn_free(struct spawn *s);

/* spawn_label_env: replaces out's contents with REPLGUARD_LABEL_<NAME>=value,
 * NAME being name upper-cased with every byte outside [A-Z0-9_] replaced by
 * '_' ("my-label.x" -> MY_LABEL_X). value is value_len bytes. Returns 0, or
 * -1 (out emptied) when name is empty, value contains a NUL byte or out's
 * limit is too small. */
int spawn_label_env(const char *name, const char *value, size_t value_len,
                    struct buf *out);

/* spawn_subreaper: makes this process the reaper of its orphaned
 * descendants (PR_SET_CHILD_SUBREAPER), so spawn_poll() can reap the
 * group members a leader leaves behind. Process-wide: call once, from
 * main(). Returns 0 or -errno. */
int spawn_subreaper(void);

#endif
