/* httpd.h: replguard's HTTP endpoints (SPEC section 4) on
 * libmicrohttpd. httpd.c runs the daemon (limits, header deadline,
 * framing checks); routes.h says what each path answers, httpauth.h
 * who may POST.
 *
 * Handler threads never do network I/O of their own, never render and
 * never wait on the engine: each request takes a reference to the
 * current snapshot (snapbox_get()), answers from it and lets it go.
 * /metrics and /api/v1/state are served from the snapshot's bytes
 * without a copy; the response holds the reference until it is sent.
 * A webhook holds no handler thread while its alerts are journaled: its
 * connection is suspended until the journal's writer has fsync'd them
 * (with every webhook that arrived meanwhile), then answered. */
#ifndef REPLGUARD_HTTPD_H
#define REPLGUARD_HTTPD_H

#include <stddef.h>
#include <stdint.h>

struct httpd;
struct remedy;
struct snapbox;

/* Listening and limits. Zero means the default shown. */
struct httpd_options {
    const char *host;         /* address or name; NULL: 127.0.0.1 */
    uint16_t port;            /* 0: an ephemeral port (see httpd_port) */
    unsigned threads;         /* handler threads; 2 */
    unsigned timeout;         /* idle connection timeout, seconds; 10 */
    unsigned header_timeout;  /* a request's headers in all, seconds; 15 */
    unsigned max_connections; /* in all; 1024 (fewer by RLIMIT_NOFILE) */
    unsigned max_per_ip;      /* from one address; 64 */
    size_t connection_memory; /* bytes per connection; 64 KiB */
    struct remedy *rem;       /* NULL: no POST endpoints (404) */
    const char *token;        /* bearer token for POSTs; NULL: loopback only */
    const char *tls_cert;     /* PEM certificate (chain); NULL: plain HTTP */
    const char *tls_key;      /* PEM private key; set with tls_cert */
};

/* httpd_start: listens on o->host:o->port and starts serving from box,
 * which must outlive the server; HTTPS only when o->tls_cert is set
 * (libmicrohttpd copies neither PEM: keep them until httpd_stop()).
 * Returns the server (stop and free it with httpd_stop()), or NULL with
 * a message in err when the address does not resolve or cannot be
 * bound, libmicrohttpd lacks TLS or the certificate or key is bad. */
struct httpd *httpd_start(const struct httpd_options *o, struct snapbox *box,
                          char *err, size_t errlen);

/* httpd_port: the port actually bound (the ephemeral one when the
 * options asked for 0). */
unsigned httpd_port(const struct httpd *h);

/* httpd_stop: stops serving, waits for the handler threads, closes every
 * connection (dropping the snapshot references their responses held)
 * and frees h. NULL is a no-op. */
void httpd_stop(struct httpd *h);

#endif
