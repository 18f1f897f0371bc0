/* main.c: replguard's command line (SPEC section 1). */
#include "agent/agent.h"
#include "config/config.h"
#include "demo/demo.h"
#include "demo/demostate.h"
#include "lib/log.h"
#include "lib/poller.h"
#include "config/runbook.h"
#include "config/secrets.h"
#include "lib/spawn.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/replguard/replguard.yml"

static void usage(FILE *f)
{
    char doc[1024], example[1024];
    demostate_docs(doc, sizeof(doc), example, sizeof(example));
    fprintf(
        f,
        "usage: replguard [-c FILE] [--check-config] [--dry-run]\n"
        "                 [--log-level debug|info|warn|error]\n"
        "       replguard --demo [--keep-state] [--dry-run]\n"
        "       replguard -V | --version | -h | --help\n"
        "\n"
        "  -c, --config FILE   config file (default " DEFAULT_CONFIG ")\n"
        "  --check-config      validate the config, its runbooks and its\n"
        "                      credential files, then exit (default: run)\n"
        "  --dry-run           decide and record everything, change nothing\n"
        "                      (default: the config's dry_run, false)\n"
        "  --demo              no config: a simulated cluster on loopback,\n"
        "                      replguard and, when installed, Prometheus and\n"
        "                      Alertmanager, with fault episodes the shipped\n"
        "                      runbooks repair (state in " DEMO_DIR ")\n"
        "  --keep-state        with --demo: keep the last run's state\n"
        "                      (default: start from an empty state dir)\n"
        "  --log-level LEVEL   debug, info, warn or error (default info)\n"
        "  -V, --version       print the version and exit\n"
        "  -h, --help          print this and exit\n"
        "\n"
        "Config reference: %s\n"
        "An example config with every key and its default: %s\n"
        "Logs go to stderr (logfmt).\n",
        doc, example);
}

struct args {
    const char *config;
    int check, dry_run, demo, keep_state;
};

/* parse_args: returns -1 to continue, else an exit code. The switches
 * set their int in a through getopt_long's flag pointer. */
static int parse_args(int argc, char **argv, struct args *a)
{
    const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, &a->check, 1},
        {"dry-run", no_argument, &a->dry_run, 1},
        {"demo", no_argument, &a->demo, 1},
        {"keep-state", no_argument, &a->keep_state, 1},
        {"log-level", required_argument, NULL, 'l'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum log_level level;
    int c;
    while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (c) {
        case 0: /* a switch, set through its flag pointer */
            break;
        case 'c':
            a->config = optarg;
            break;
        case 'l':
            if (log_parse_level(optarg, &level) < 0) {
                fprintf(stderr, "replguard: bad --log-level '%s'\n", optarg);
                return 2;
            }
            log_set_level(level);
            break;
        case 'V':
            printf("replguard %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "replguard: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (a->keep_state && !a->demo) {
        fprintf(stderr, "replguard: --keep-state goes with --demo\n");
        return 2;
    }
    return -1;
}

/* no_config: the default config is missing: what now. */
static void no_config(const char *path)
{
    int err = errno;
    char doc[1024], example[1024];
    demostate_docs(doc, sizeof(doc), example, sizeof(example));
    fprintf(stderr,
            "replguard: no config at %s (%s).\n"
            "  Write one from the example, which has every key with its "
            "default:\n"
            "    %s\n"
            "  (reference: %s), or name another with -c FILE.\n"
            "  To see replguard at work first: replguard --demo. "
            "All options: replguard --help.\n",
            path, strerror(err), example, doc);
}

static struct config *load(const char *path)
{
    if (access(path, F_OK) != 0) {
        no_config(path);
        return NULL;
    }
    struct config *cfg = NULL;
    struct errlist errs;
    errlist_init(&errs);
    if (config_load(path, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.msg[i]);
        cfg = NULL;
    }
    errlist_reset(&errs);
    return cfg;
}

/* check_config: --check-config: the runbooks and the credential files
 * too; every error printed. */
static int check_config(struct config *cfg)
{
    struct runbook_set *rules = NULL;
    struct errlist errs;
    errlist_init(&errs);
    int rc = agent_load_rules(cfg, &rules, &errs);
    if (rules) /* the agent opens state_dir when it remediates */
        rc += agent_check_state_dir(cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msg[i]);
    struct secrets sec;
    char err[512];
    if (secrets_load(cfg, &sec, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        rc = rc ? rc : 1;
    }
    secrets_reset(&sec);
    if (rc == 0)
        printf("OK: %zu clusters, %zu nodes, %zu runbooks\n", cfg->n_clusters,
               config_node_count(cfg), rules ? runbook_set_count(rules) : 0);
    errlist_reset(&errs);
    runbook_set_free(rules);
    config_free(cfg);
    return rc == 0 ? 0 : 1;
}

/* MMAP_THRESHOLD: allocations from this size up get their own mapping,
 * returned to the kernel when freed. glibc's default starts at 128 KiB
 * but rises to the largest block freed, so after the first round the
 * snapshot's multi-MB render buffers came from the heap and stayed
 * resident between rounds: 1,000 nodes peaked at 38.7 MiB with it
 * moving, 35.7 MiB with it fixed, for the same CPU (bench/RESULTS.md,
 * SCALE). */
#define MMAP_THRESHOLD (256 * 1024)
/* TRIM_THRESHOLD: free memory kept at the heap's top before it is given
 * back. Fixing the mmap threshold also fixes glibc's trim threshold at
 * its 128 KiB start, and a round's scrape bodies (1,000 of some KiB,
 * freed as each is parsed) then shrank and regrew the heap every round:
 * brk calls and page faults, 5 % of polling's CPU. */
#define TRIM_THRESHOLD (4 * 1024 * 1024)

int main(int argc, char **argv)
{
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    agent_block_signals();
    /* exec actions' orphans are reaped here, so a process group is
     * known to be gone once its members are */
    spawn_subreaper();
    struct args a = {.config = DEFAULT_CONFIG};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (a.demo) {
        poller_global_init();
        struct demo_options d = {.dry_run = a.dry_run,
                                 .keep_state = a.keep_state};
        rc = demo_run(&d);
        poller_global_cleanup();
        return rc;
    }
    struct config *cfg = load(a.config);
    if (!cfg)
        return 1;
    if (a.check)
        return check_config(cfg);
    if (poller_global_init() < 0) {
        fprintf(stderr, "replguard: cannot initialise libcurl\n");
        config_free(cfg);
        return 1;
    }
    struct agent_options o = {.config_path = a.config,
                              .force_dry_run = a.dry_run};
    rc = agent_run(cfg, &o);
    poller_global_cleanup();
    return rc;
}
