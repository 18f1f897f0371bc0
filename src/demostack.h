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

/* demostack_start: writes the configs into dir and starts what is
 * installed; node_urls are the simulated nodes, replguard listens on
 * 127.0.0.1:replguard_port. Returns NULL when neither program is
 * installed or the shipped rules are missing (the demo then runs
 * without). Stop with demostack_stop(). */
struct demostack *demostack_start(const char *dir, const char *srcdir,
                                  const char *const *node_urls, unsigned n,
                                  unsigned replguard_port);
/* demostack_running: a line for the banner, "" when nothing runs. */
const char *demostack_banner(const struct demostack *s);
/* demostack_stop: SIGTERM to what it started, then waits; NULL ok. */
void demostack_stop(struct demostack *s);

#endif
