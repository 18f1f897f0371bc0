/* demostack.h: the monitoring half of `replguard --demo`: Prometheus and
 * Alertmanager, when their Debian packages are installed, started on
 * loopback with the shipped alert rules (their `for:` shortened so an
 * episode of a minute fires them) and a route to replguard's webhook.
 * SPEC section 1. */
#ifndef REPLGUARD_DEMOSTACK_H
#define REPLGUARD_DEMOSTACK_H

#define DEMO_PROMETHEUS_PORT   19090
#define DEMO_ALERTMANAGER_PORT 19093

struct demostack;

/* Where everything listens, on 127.0.0.1. */
struct demostack_ports {
    unsigned replguard, prometheus, alertmanager;
};

/* demostack_start: writes the configs into dir and starts what is
 * installed; node_urls are the simulated nodes. Each program must answer
 * on its port within 20 s: one that cannot (its port is taken, it exits)
 * is reported on stderr and in the log with the path of its log file
 * (dir/NAME.log), and left out of the banner. Returns NULL when neither
 * program is installed, the shipped rules are missing or neither came
 * up (the demo then runs without alerting). Stop with demostack_stop(). */
struct demostack *demostack_start(const char *dir, const char *srcdir,
                                  const char *const *node_urls, unsigned n,
                                  const struct demostack_ports *ports);
/* demostack_banner: lines for the banner, "" when nothing runs. */
const char *demostack_banner(const struct demostack *s);
/* demostack_check: reaps a program that exited since the last call and
 * reports it (stderr and log, with its log file). Call it every second
 * or so; NULL ok. Returns how many of the programs still run. */
int demostack_check(struct demostack *s);
/* demostack_stop: SIGTERM to what it started, then waits; NULL ok. */
void demostack_stop(struct demostack *s);

#endif
