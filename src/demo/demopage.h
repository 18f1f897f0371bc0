/* demopage.h: the last hop of an escalation in `replguard --demo`: the
 * demo's Alertmanager holding replguard's ReplguardEscalation alert. The
 * episode thread calls demopage_check() every second; it asks
 * Alertmanager for the alert, prints it on the terminal when it appears
 * and when it is gone (resolved), and acks the page DEMOPAGE_ACK_AFTER
 * seconds after it appeared, as the on-call engineer would (POST
 * /api/v1/ack/demo), so the next episodes are not held by the latch. */
#ifndef REPLGUARD_DEMOPAGE_H
#define REPLGUARD_DEMOPAGE_H

#include <stdbool.h>

#define DEMOPAGE_ACK_AFTER 20 /* seconds */

struct demopage {
    unsigned am_port, rg_port; /* 127.0.0.1; 0: no Alertmanager */
    char shown[256];           /* the alert on the terminal; "" none */
    double since;              /* when it appeared (monotonic seconds) */
    bool acked;
};

/* demopage_check: one look at Alertmanager at time now (monotonic
 * seconds); prints what changed, acks when due. Never blocks long (1 s
 * timeouts). */
void demopage_check(struct demopage *p, double now);

#endif
