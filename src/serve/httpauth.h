/* httpauth.h: who may POST to replguard's HTTP endpoints (SPEC section
 * 4): the bearer token when auth.token_file configures one, else
 * clients on loopback only.
 *
 * One struct httpauth per server, owned by its struct routes (made in
 * routes_new(), freed in routes_free() once no handler thread is left).
 * libmicrohttpd's handler threads call httpauth_check() at once; it
 * reads the token without a lock (it never changes) and takes the
 * struct's mutex only to rate-limit its log lines. The token is
 * compared in constant time and never logged. */
#ifndef REPLGUARD_HTTPAUTH_H
#define REPLGUARD_HTTPAUTH_H

struct httpauth;
struct MHD_Connection;

/* The outcome of a check: the POST may proceed, or it is refused with
 * the HTTP status its name says. */
enum httpauth_result {
    HTTPAUTH_OK = 0,
    HTTPAUTH_FORBIDDEN,    /* 403: no token configured, not from loopback */
    HTTPAUTH_UNAUTHORIZED, /* 401: no, a wrong or a non-bearer token */
};

/* httpauth_new: the rule for token (copied; NULL: loopback only). Free
 * with httpauth_free(). */
struct httpauth *httpauth_new(const char *token);

/* httpauth_free: frees a (NULL is a no-op). */
void httpauth_free(struct httpauth *a);

/* httpauth_check: whether conn's POST to path may proceed. A refusal is
 * logged (path, why, client; never the credentials), at most one line a
 * second, the next line counting those not logged. Any handler thread. */
enum httpauth_result httpauth_check(struct httpauth *a,
                                    struct MHD_Connection *conn,
                                    const char *path);

/* httpauth_status, httpauth_message: the HTTP status and the error text
 * of the answer to a refusal r (200 and "" for HTTPAUTH_OK). */
unsigned httpauth_status(enum httpauth_result r);
const char *httpauth_message(enum httpauth_result r);

#endif
