/* metricsresp.c: one shared response per body of the current snapshot. */
#include "serve/metricsresp.h"

#include <pthread.h>
#include <stdlib.h>

#include "lib/util.h"
#include "monitor/snapshot.h"

struct metricsresp {
    pthread_mutex_t mu;
    /* a reference: while held, no other snapshot can take its address,
     * so comparing pointers tells a new snapshot */
    struct snapshot *snap;
    struct MHD_Response *resp[2]; /* plain, gzip; NULL: no such body */
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

/* build: the response for one of s's bodies, or NULL. It sends straight
 * from the snapshot's memory (its heap buffers) and holds
 * its own reference to s, so a connection still sending it keeps the body
 * alive after a newer snapshot replaced it here. A buffer response needs
 * no lock of libmicrohttpd's while sending (a file response is sent under
 * the response's mutex, which serialised the worker threads) and goes out
 * with its header in one sendmsg. */
static struct MHD_Response *build(struct snapshot *s, bool gz,
                                  const char *ctype)
{
    size_t len;
    const char *body =
        gz ? snapshot_metrics_gz(s, &len) : snapshot_metrics(s, &len);
    if (!body)
        return NULL;
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback_cls(
            len, (void *)body, snapshot_release, snapshot_ref(s));
    if (!r) {
        snapshot_unref(s);
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
