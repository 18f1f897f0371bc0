/* metricsresp.c: one shared response per body of the current snapshot. */
#include "serve/metricsresp.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/util.h"
#include "monitor/snapshot.h"

struct metricsresp {
    pthread_mutex_t mu;
    /* a reference: while held, no other snapshot can take its address,
     * so comparing pointers tells a new snapshot */
    struct snapshot *snap;
    struct MHD_Response *resp[2]; /* plain, gzip; NULL: no file */
};

struct metricsresp *metricsresp_new(void)
{
    struct metricsresp *m = xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

/* drop: lets go of the cached responses and snapshot (under m->mu). */
static void drop(struct metricsresp *m)
{
    for (int i = 0; i < 2; i++)
        if (m->resp[i])
            MHD_destroy_response(m->resp[i]); /* queued ones live on */
    m->resp[0] = m->resp[1] = NULL;
    snapshot_unref(m->snap);
    m->snap = NULL;
}

void metricsresp_free(struct metricsresp *m)
{
    if (!m)
        return;
    drop(m);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* build: the response for one of s's files (a dup, which the response
 * owns and closes), or NULL. */
static struct MHD_Response *build(struct snapshot *s, bool gz,
                                  const char *ctype)
{
    size_t len;
    int fd = gz ? snapshot_metrics_gz_fd(s) : snapshot_metrics_fd(s);
    if (gz ? !snapshot_metrics_gz(s, &len) : !snapshot_metrics(s, &len))
        return NULL;
    fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (fd < 0)
        return NULL;
    struct MHD_Response *r =
        MHD_create_response_from_fd_at_offset64(len, fd, 0);
    if (!r) {
        close(fd);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (gz)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    return r;
}

bool metricsresp_queue(struct metricsresp *m, struct MHD_Connection *conn,
                       struct snapshot *s, bool gz, const char *ctype,
                       enum MHD_Result *rc)
{
    pthread_mutex_lock(&m->mu);
    if (m->snap != s) {
        drop(m);
        m->snap = snapshot_ref(s);
        m->resp[0] = build(s, false, ctype);
        m->resp[1] = build(s, true, ctype);
    }
    struct MHD_Response *r = m->resp[gz];
    /* under the lock: a newer snapshot's scrape may drop r meanwhile,
     * and queueing is what keeps it alive for this connection */
    if (r)
        *rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
    pthread_mutex_unlock(&m->mu);
    return r != NULL;
}
