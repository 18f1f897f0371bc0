/* routepage.h: the status page's routes: GET / (and its /app.js,
 * /style.css: serve/page.h) and GET /api/v1/history[?cluster=NAME].
 *
 * The page is static: it reads /api/v1/state and /api/v1/history with
 * relative URLs, so it works under any path prefix a reverse proxy puts
 * before replguard's paths (open it with the trailing slash:
 * https://proxy/replguard/). Its responses carry a Content-Security-
 * Policy that allows only its own script and style (no inline code, no
 * other origin), so a node name that holds markup can never run.
 *
 * Threads: libmicrohttpd's handler threads, any number at once; nothing
 * here locks or computes: files are copied out of the binary, the
 * history out of the snapshot. */
#ifndef REPLGUARD_ROUTEPAGE_H
#define REPLGUARD_ROUTEPAGE_H

#include <microhttpd.h>

#include "lib/util.h"

struct snapshot;

/* ROUTEPAGE_CSP: the Content-Security-Policy of the page's responses. */
#define ROUTEPAGE_CSP                                                          \
    "default-src 'none'; script-src 'self'; style-src 'self'; "                \
    "img-src 'self'; connect-src 'self'; base-uri 'none'; "                    \
    "form-action 'none'; frame-ancestors 'none'"

/* routepage_answer: the answer to GET path into *status, *ctype and
 * body: for ROUTEPAGE_HISTORY, the history document of s (which must
 * not be NULL), or with ?cluster=NAME that cluster's alone (404 for an
 * unknown one); else the embedded file served at path (404, a JSON
 * error, when there is none; s may be NULL). */
#define ROUTEPAGE_HISTORY "/api/v1/history"
void routepage_answer(const char *path, const struct snapshot *s,
                      struct MHD_Connection *conn, unsigned *status,
                      const char **ctype, struct buf *body);

/* routepage_headers: adds the page's security headers to resp (CSP,
 * nosniff, no framing, no referrer). */
void routepage_headers(struct MHD_Response *resp);

#endif
