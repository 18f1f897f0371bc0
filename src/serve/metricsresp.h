/* metricsresp.h: the /metrics responses of the current snapshot, plain
 * and gzip, built once per snapshot and queued on every scrape of it.
 *
 * libmicrohttpd lets one response be queued on any number of
 * connections (it counts them): a scrape then costs no file
 * descriptor, no allocation and no header building of its own, only
 * the queueing. Each response sends the snapshot's own bytes, with the
 * header in the same sendmsg(), and holds a reference to the snapshot.
 * The first scrape of a new snapshot builds its two responses (the
 * headers) and drops the previous ones, which the connections still
 * sending them keep, with their snapshot, until done.
 *
 * Why not sendfile() from a file: libmicrohttpd 0.9.75 sends a file
 * response under the response's mutex, 128 KiB a call, so a response
 * shared by the worker threads serialised them (4.8 futex calls a
 * scrape; bench/RESULTS.md, "Issue 20: /metrics from memory"). */
#ifndef REPLGUARD_METRICSRESP_H
#define REPLGUARD_METRICSRESP_H

#include <stdbool.h>

#include <microhttpd.h>

struct metricsresp;
struct snapshot;

/* metricsresp_new: an empty cache. Free with metricsresp_free(), after
 * the server has stopped. */
struct metricsresp *metricsresp_new(void);
void metricsresp_free(struct metricsresp *m);

/* metricsresp_queue: queues s's /metrics body (gzip when gz) as a 200
 * on conn, with Content-Type ctype, Cache-Control: no-store, Vary:
 * Accept-Encoding and, for gzip, Content-Encoding: gzip. *rc gets
 * MHD_queue_response()'s result. Returns false, queueing nothing, when
 * s has no such body (the caller answers another way). Any
 * handler thread. */
bool metricsresp_queue(struct metricsresp *m, struct MHD_Connection *conn,
                       struct snapshot *s, bool gz, const char *ctype,
                       enum MHD_Result *rc);

#endif
