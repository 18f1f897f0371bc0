/* simnode.c: main of replguard-simnode, simulated StemeDB clusters
 * (SPEC section 7).
 *
 * Builds the sim from the command line, serves every node over HTTP
 * (simhttp), prints one line per node and "ready" on stdout, and runs
 * until SIGTERM or SIGINT. Exit status: 0 after a signal, 1 when it
 * cannot serve, 2 for a bad command line. */
#include "lib/clock.h"
#include "lib/log.h"
#include "sim/sim.h"
#include "sim/simhttp.h"
#include "lib/util.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define EXIT_USAGE 2

static volatile sig_atomic_t stop_flag;

struct args {
    struct sim_options o;
    const char *host;
    unsigned port;
    enum log_level level;
};

static void usage(FILE *f)
{
    fputs("usage: replguard-simnode [options]\n"
          "  --nodes N          nodes per cluster (default 3)\n"
          "  --clusters C       clusters (default 1)\n"
          "  --host ADDR        address to listen on (default 127.0.0.1)\n"
          "  --port P           port of c1/node1, the others follow; 0 picks\n"
          "                     free ports (default 18180)\n"
          "  --ingest-rate R    writes per second on each primary (1000)\n"
          "  --apply-rate R     writes per second a replica applies (5000)\n"
          "  --link-delay D     replication delay, e.g. 20ms (default 20ms)\n"
          "  --merkle-depth D   Merkle tree depth, 1..6 (default 4)\n"
          "  --keys K           keys per cluster (default 65536)\n"
          "  --seed S           random seed (default 1)\n"
          "  --mode M           async, semi-sync or sync (default async)\n"
          "  --min-sync-replicas N  replicas a semi-sync write needs (1)\n"
          "  --sync-fallback F  too few replicas: block or async (async)\n"
          "  --log-level L      debug, info, warn or error (default info)\n"
          "  --help, --version\n",
          f);
}

static int bad_value(const char *opt, const char *value, const char *want)
{
    fprintf(stderr, "replguard-simnode: --%s %s: %s\n", opt, value, want);
    return -1;
}

static int uint_opt(const char *name, const char *v, uint64_t min, uint64_t max,
                    uint64_t *out)
{
    if (parse_u64(v, min, max, out) == 0)
        return 0;
    char want[96];
    snprintf(want, sizeof(want), "expected a whole number in %llu..%llu",
             (unsigned long long)min, (unsigned long long)max);
    return bad_value(name, v, want);
}

static int rate_opt(const char *name, const char *v, double *out)
{
    if (parse_double(v, out) == 0 && *out >= 0)
        return 0;
    return bad_value(name, v, "expected a number >= 0 (per second)");
}

/* set_opt: applies option `name` with value v to a. */
static int set_opt(struct args *a, const char *name, const char *v)
{
    uint64_t u = 0;
    int rc = 0;
    if (strcmp(name, "nodes") == 0) {
        rc = uint_opt(name, v, 1, 100000, &u);
        a->o.nodes = (unsigned)u;
    } else if (strcmp(name, "clusters") == 0) {
        rc = uint_opt(name, v, 1, 100000, &u);
        a->o.clusters = (unsigned)u;
    } else if (strcmp(name, "port") == 0) {
        rc = uint_opt(name, v, 0, 65535, &u);
        a->port = (unsigned)u;
    } else if (strcmp(name, "merkle-depth") == 0) {
        rc = uint_opt(name, v, 1, 6, &u);
        a->o.merkle_depth = (unsigned)u;
    } else if (strcmp(name, "keys") == 0) {
        rc = uint_opt(name, v, 1, UINT32_MAX, &u);
        a->o.keys = (uint32_t)u;
    } else if (strcmp(name, "seed") == 0) {
        rc = uint_opt(name, v, 0, UINT64_MAX, &a->o.seed);
    } else if (strcmp(name, "ingest-rate") == 0) {
        rc = rate_opt(name, v, &a->o.ingest_rate);
    } else if (strcmp(name, "apply-rate") == 0) {
        rc = rate_opt(name, v, &a->o.apply_rate);
    } else if (strcmp(name, "link-delay") == 0) {
        if (parse_duration(v, &a->o.link_delay) < 0)
            rc = bad_value(name, v, "expected a duration such as 20ms");
    } else if (strcmp(name, "log-level") == 0) {
        if (log_parse_level(v, &a->level) < 0)
            rc = bad_value(name, v, "expected debug, info, warn or error");
    } else if (strcmp(name, "mode") == 0) {
        if (sim_mode_parse(v, &a->o.mode) < 0)
            rc = bad_value(name, v, "expected async, semi-sync or sync");
    } else if (strcmp(name, "min-sync-replicas") == 0) {
        rc = uint_opt(name, v, 1, 63, &u);
        a->o.min_sync = (unsigned)u;
    } else if (strcmp(name, "sync-fallback") == 0) {
        a->o.fallback_block = strcmp(v, "block") == 0;
        if (!a->o.fallback_block && strcmp(v, "async") != 0)
            rc = bad_value(name, v, "expected block or async");
    } else if (strcmp(name, "host") == 0) {
        a->host = v;
    }
    return rc;
}

/* parse_args: fills a; returns 0 to run, 1 to exit 0 (--help,
 * --version), -1 for a bad command line (reported). */
static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option opts[] = {
        {"nodes", required_argument, NULL, 0},
        {"clusters", required_argument, NULL, 0},
        {"host", required_argument, NULL, 0},
        {"port", required_argument, NULL, 0},
        {"ingest-rate", required_argument, NULL, 0},
        {"apply-rate", required_argument, NULL, 0},
        {"link-delay", required_argument, NULL, 0},
        {"merkle-depth", required_argument, NULL, 0},
        {"keys", required_argument, NULL, 0},
        {"seed", required_argument, NULL, 0},
        {"mode", required_argument, NULL, 0},
        {"min-sync-replicas", required_argument, NULL, 0},
        {"sync-fallback", required_argument, NULL, 0},
        {"log-level", required_argument, NULL, 0},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    int idx = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "hV", opts, &idx);
        if (c == -1)
            break;
        if (c == 'h' || c == 'V') {
            if (c == 'h')
                usage(stdout);
            else
                printf("replguard-simnode %s\n", PACKAGE_VERSION);
            return 1;
        }
        if (c != 0 || set_opt(a, opts[idx].name, optarg) < 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "replguard-simnode: unexpected argument %s\n",
                argv[optind]);
        return -1;
    }
    return 0;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void setup_process(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* 1,000 nodes need ~3 fds each (socket, epoll, eventfd) and more
     * per connection */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_msg(LOG_WARN, "msg=\"cannot raise the fd limit\" error=\"%s\"",
                    strerror(errno));
    }
}

static void print_nodes(const struct sim *s, const struct simhttp *h)
{
    char url[160];
    for (unsigned ci = 0; ci < sim_clusters(s); ci++)
        for (unsigned ni = 0; ni < sim_nodes(s); ni++)
            printf("node %s %s %s %s\n", sim_cluster_name(s, ci),
                   sim_node_name(s, ci, ni),
                   sim_is_primary(s, ci, ni) ? "primary" : "replica",
                   simhttp_url(h, ci, ni, url, sizeof(url)));
    printf("ready\n");
    fflush(stdout);
}

/* serve: builds the sim and its HTTP face and runs them. */
static int serve(const struct args *a)
{
    char err[256];
    unsigned long last = a->port + (unsigned long)a->o.clusters * a->o.nodes;
    if (a->port != 0 && last - 1 > 65535) {
        fprintf(stderr,
                "replguard-simnode: --port %u leaves no room for "
                "%u clusters of %u nodes\n",
                a->port, a->o.clusters, a->o.nodes);
        return EXIT_USAGE;
    }
    struct rg_clock clock = clock_system();
    struct sim *s = sim_new(&a->o, &clock, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "replguard-simnode: %s\n", err);
        return EXIT_USAGE;
    }
    struct simhttp *h = simhttp_new(s, a->host, a->port, err, sizeof(err));
    if (!h) {
        fprintf(stderr, "replguard-simnode: %s\n", err);
        sim_free(s);
        return EXIT_FAILURE;
    }
    print_nodes(s, h);
    log_msg(LOG_INFO, "msg=\"simnode ready\" clusters=%u nodes=%u",
            sim_clusters(s), sim_nodes(s));
    int rc = simhttp_run(h, &stop_flag);
    if (rc < 0)
        log_msg(LOG_ERROR, "msg=\"event loop failed\" error=\"%s\"",
                strerror(-rc));
    simhttp_free(h);
    sim_free(s);
    log_msg(LOG_INFO, "msg=\"simnode stopped\"");
    return rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    struct args a = {.host = "127.0.0.1", .port = 18180, .level = LOG_INFO};
    sim_options_default(&a.o);
    int rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        if (rc < 0)
            fputs("Try 'replguard-simnode --help'.\n", stderr);
        return rc < 0 ? EXIT_USAGE : EXIT_SUCCESS;
    }
    log_set_level(a.level);
    setup_process();
    return serve(&a);
}
