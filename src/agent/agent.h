/* agent.h: running the agent: the HTTP server and the engine, until a
 * signal says stop. */
#ifndef REPLGUARD_AGENT_H
#define REPLGUARD_AGENT_H

#include <stdbool.h>

struct config;
struct errlist;
struct runbook_set;

#define AGENT_DEFAULT_RULES "/etc/replguard/rules"

struct agent_options {
    const char *config_path; /* re-read on SIGHUP; NULL: no reloads */
    bool force_dry_run;      /* --dry-run: overrides the config's */
};

/* agent_block_signals: blocks SIGHUP, SIGINT and SIGTERM in the calling
 * thread and every thread it starts afterwards, and ignores SIGPIPE;
 * call it first thing in main(), before any thread exists. */
void agent_block_signals(void);

/* agent_load_rules: the runbooks cfg->rules names, into *out (NULL when
 * the default rules directory does not exist: then replguard only
 * watches). Returns 0 or the number of errors (in errs); a rules path
 * that cannot be read is "FILE:LINE:COLUMN: rules: cannot read ...".
 * A runbook step whose action the profile of a cluster the runbook can
 * match does not support is an error too (profile_check_rules()). */
int agent_load_rules(const struct config *cfg, struct runbook_set **out,
                     struct errlist *errs);

/* agent_check_state_dir: the checks of cfg->state_dir that the agent
 * makes before opening the journal there, without creating anything:
 * a directory replguard may write, or one it can create (its parent
 * exists and is writable). Returns 0, or 1 after appending the error
 * ("FILE:LINE:COLUMN: state_dir: ...") to errs. */
int agent_check_state_dir(const struct config *cfg, struct errlist *errs);

/* agent_run: serves cfg (taking ownership) until SIGINT or SIGTERM,
 * reloading on SIGHUP. Returns the process exit code: 0 after a clean
 * stop, 1 when the HTTP server or the engine could not start. */
int agent_run(struct config *cfg, const struct agent_options *o);

#endif
