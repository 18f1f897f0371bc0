/* simnet.c: socket addresses for simhttp (moved out of simhttp.c). */
#include "sim/simnet.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

void simnet_set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
}

uint16_t simnet_get_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

int simnet_resolve(const char *host, struct sockaddr_storage *addr,
                   socklen_t *addrlen, char *url_host, size_t url_len,
                   char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, "0", &hints, &res);
    if (rc != 0 || !res || res->ai_addrlen > sizeof(*addr)) {
        snprintf(err, errlen, "cannot resolve host %s: %s", host,
                 rc ? gai_strerror(rc) : "no address");
        if (res)
            freeaddrinfo(res);
        return -1;
    }
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addrlen = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    bool v6 = strchr(host, ':') != NULL;
    snprintf(url_host, url_len, v6 ? "[%s]" : "%s", host);
    return 0;
}
