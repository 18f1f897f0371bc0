/* simhttp.h: the HTTP face of replguard-simnode.
 *
 * One libmicrohttpd daemon per simulated node, each on its own port,
 * all driven by one thread: the daemons run in external polling mode
 * (MHD_USE_EPOLL), a master epoll watches their epoll fds, and the same
 * loop advances the simulation about every 10 ms. Handlers therefore
 * read and change the sim directly, without locks; nothing else may
 * touch the sim while simhttp_run() runs.
 *
 * Node k (from 1) of cluster c (from 1) listens on
 * port + (c-1)*nodes + (k-1), or on an ephemeral port when port is 0.
 *
 * HTTP-level faults (the sim keeps them, simhttp acts them out) apply to
 * the node API (/metrics, /v1/admin/..., /v1/read, unknown paths) but
 * not to the simulator's control plane /v1/sim/..., so that a test can
 * always clear them; the exception is down, which takes the whole node
 * off the network (connection refused) until the fault ends:
 *   hang       the request is read and never answered; when the fault
 *              ends the connection gets a 503;
 *   http_500   500 {"error":"injected fault: http_500"};
 *   garbage    /metrics answers 200 with random bytes;
 *   slow_body  the body goes out one byte per 100 ms;
 *   down       the listening socket is closed (connections already open
 *              get 200 ms to finish the answer in flight, so a node can
 *              take itself down), and bound again on the same port when
 *              the fault ends.
 * A request that hang or http_500 answers reaches neither the sim nor
 * stemedb_admin_requests_total; every answer's body bytes are counted
 * in stemedb_network_bytes_sent_total. */
#ifndef REPLGUARD_SIMHTTP_H
#define REPLGUARD_SIMHTTP_H

#include <signal.h>
#include <stddef.h>

struct sim;
struct simhttp;

/* simhttp_new: binds one listening socket per node of s on host (a
 * numeric address or a name) and starts their daemons. s must outlive
 * the result. Returns NULL with a message in err when an address cannot
 * be resolved or bound. Free with simhttp_free(). */
struct simhttp *simhttp_new(struct sim *s, const char *host, unsigned port,
                            char *err, size_t errlen);

/* simhttp_free: stops every daemon, closes every socket and releases h;
 * the sim is left alone. NULL is a no-op. */
void simhttp_free(struct simhttp *h);

/* simhttp_port: the port node ni of cluster ci (indices from 0) listens
 * on (kept while the node is down). */
unsigned simhttp_port(const struct simhttp *h, unsigned ci, unsigned ni);

/* simhttp_url: writes the node's base URL ("http://127.0.0.1:18180",
 * IPv6 hosts in brackets) into out (size n). Returns out. */
const char *simhttp_url(const struct simhttp *h, unsigned ci, unsigned ni,
                        char *out, size_t n);

/* simhttp_run: serves and simulates until *stop becomes non-zero (stop
 * may be NULL; a signal interrupts the wait at once) or until
 * simhttp_stop() is called. Returns 0, or -errno if the event loop
 * failed. */
int simhttp_run(struct simhttp *h, volatile sig_atomic_t *stop);

/* simhttp_stop: makes simhttp_run() return soon. Safe to call from any
 * thread or a signal handler. */
void simhttp_stop(struct simhttp *h);

#endif
