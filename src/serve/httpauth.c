/* httpauth.c: the bearer token or loopback rule for POSTs. */
#include "serve/httpauth.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "lib/util.h"

struct httpauth {
    char *token; /* NULL: POSTs from loopback only */
    /* Refused POSTs are logged at most once a second (under log_mu). */
    pthread_mutex_t log_mu;
    double refused_logged;
    unsigned refused_unlogged;
};

struct httpauth *httpauth_new(const char *token)
{
    struct httpauth *a = xcalloc(1, sizeof(*a));
    a->token = token ? xstrdup(token) : NULL;
    pthread_mutex_init(&a->log_mu, NULL);
    return a;
}

void httpauth_free(struct httpauth *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->log_mu);
    free(a->token);
    free(a);
}

/* What a refusal is answered, by enum httpauth_result. */
static const struct {
    unsigned status;
    const char *message;
} answers[] = {
    [HTTPAUTH_OK] = {MHD_HTTP_OK, ""},
    [HTTPAUTH_FORBIDDEN] = {MHD_HTTP_FORBIDDEN,
                            "without auth.token_file, POSTs are taken from "
                            "loopback only"},
    [HTTPAUTH_UNAUTHORIZED] = {MHD_HTTP_UNAUTHORIZED,
                               "missing or wrong bearer token"},
};

unsigned httpauth_status(enum httpauth_result r)
{
    return answers[r].status;
}

const char *httpauth_message(enum httpauth_result r)
{
    return answers[r].message;
}

/* same_token: constant time in the token's length. */
static bool same_token(const char *want, const char *got)
{
    size_t n = strlen(want), m = strlen(got);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(want[i] ^ (i < m ? got[i] : 0));
    return diff == 0;
}

static bool from_loopback(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa && sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >>
                24) == 127;
    if (sa && sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(
            &((const struct sockaddr_in6 *)sa)->sin6_addr);
    return false;
}

/* client_text: the connection's peer address as text into out. */
static const char *client_text(struct MHD_Connection *conn, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const void *a = NULL;
    if (sa && sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)n))
        snprintf(out, n, "unknown");
    return out;
}

/* note_refused: logs a refused POST, why but never the credentials it
 * carried; at most one line a second, counting those not logged. */
static void note_refused(struct httpauth *a, struct MHD_Connection *conn,
                         const char *path, const char *why)
{
    struct rg_clock clock = clock_system();
    double now = clock_mono(&clock);
    pthread_mutex_lock(&a->log_mu);
    bool due = a->refused_logged == 0 || now - a->refused_logged >= 1.0;
    unsigned unlogged = a->refused_unlogged;
    if (due) {
        a->refused_logged = now;
        a->refused_unlogged = 0;
    } else {
        a->refused_unlogged++;
    }
    pthread_mutex_unlock(&a->log_mu);
    if (!due)
        return;
    char addr[INET6_ADDRSTRLEN];
    log_msg(LOG_WARN,
            "msg=\"POST refused\" path=%s reason=\"%s\" client=%s "
            "unlogged_before=%u",
            path, why, client_text(conn, addr, sizeof(addr)), unlogged);
}

enum httpauth_result httpauth_check(struct httpauth *a,
                                    struct MHD_Connection *conn,
                                    const char *path)
{
    if (!a->token) {
        if (from_loopback(conn))
            return HTTPAUTH_OK;
        note_refused(a, conn, path, "not from loopback");
        return HTTPAUTH_FORBIDDEN;
    }
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    bool bearer = h && strncasecmp(h, "Bearer ", 7) == 0; /* RFC 7235 */
    if (bearer && same_token(a->token, h + 7))
        return HTTPAUTH_OK;
    note_refused(a, conn, path,
                 !h       ? "no token"
                 : bearer ? "wrong token"
                          : "not a bearer token");
    return HTTPAUTH_UNAUTHORIZED;
}
