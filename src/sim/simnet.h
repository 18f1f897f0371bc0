/* simnet.h: socket address helpers of simhttp. */
#ifndef REPLGUARD_SIMNET_H
#define REPLGUARD_SIMNET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* simnet_set_port, simnet_get_port: the port of an IPv4 or IPv6
 * address. */
void simnet_set_port(struct sockaddr_storage *ss, uint16_t port);
uint16_t simnet_get_port(const struct sockaddr_storage *ss);

/* simnet_resolve: the passive address of host (port 0) into addr and
 * addrlen, and its URL form (IPv6 in brackets) into url_host. Returns 0,
 * or -1 with a message in err. */
int simnet_resolve(const char *host, struct sockaddr_storage *addr,
                   socklen_t *addrlen, char *url_host, size_t url_len,
                   char *err, size_t errlen);

#endif
