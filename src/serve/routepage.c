/* routepage.c: the status page and its history (routepage.h). */
#include "serve/routepage.h"

#include <string.h>

#include "monitor/snapshot.h"
#include "serve/page.h"

/* page_file: the embedded file at path, or a 404. */
static void page_file(const char *path, unsigned *status, const char **ctype,
                      struct buf *body)
{
    const struct page_file *f = page_find(path);
    if (!f) {
        *status = MHD_HTTP_NOT_FOUND;
        *ctype = "application/json";
        buf_puts(body, "{\"error\":\"not found\"}");
        return;
    }
    *status = MHD_HTTP_OK;
    *ctype = f->ctype;
    buf_append(body, f->data, f->len);
}

/* history: /api/v1/history[?cluster=], copied from s. */
static void history(const struct snapshot *s, struct MHD_Connection *conn,
                    unsigned *status, struct buf *body)
{
    const char *cluster =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cluster");
    *status = MHD_HTTP_OK;
    if (!cluster) {
        size_t len;
        const char *doc = snapshot_history(s, &len);
        buf_append(body, doc, len);
        return;
    }
    if (snapshot_history_cluster(s, cluster, body) < 0) {
        *status = MHD_HTTP_NOT_FOUND;
        buf_puts(body, "{\"error\":\"unknown cluster\"}");
    }
}

void routepage_answer(const char *path, const struct snapshot *s,
                      struct MHD_Connection *conn, unsigned *status,
                      const char **ctype, struct buf *body)
{
    if (strcmp(path, ROUTEPAGE_HISTORY) == 0) {
        *ctype = "application/json";
        history(s, conn, status, body);
    } else {
        page_file(path, status, ctype, body);
    }
}

void routepage_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", ROUTEPAGE_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
}
