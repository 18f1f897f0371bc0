/* acceptenc.h: which content coding a request's Accept-Encoding allows
 * (RFC 9110, section 12.5.3), for bodies replguard keeps both plain and
 * gzip-compressed (/metrics).
 *
 * Each listed coding may carry a weight, ";q=" 0 to 1 (0: not
 * acceptable); "x-gzip" is gzip; "*" stands for every coding not
 * listed. identity (no coding) is acceptable unless "identity;q=0", or
 * "*;q=0" without an identity entry, refuses it. gzip wins when its
 * weight is above 0 and at least identity's; a request without the
 * header, or with it empty, gets identity. Entries that do not parse
 * (a bad q) are ignored, as if absent. */
#ifndef REPLGUARD_ACCEPTENC_H
#define REPLGUARD_ACCEPTENC_H

#include <stdbool.h>

#include <microhttpd.h>

enum acceptenc {
    ACCEPTENC_IDENTITY, /* the plain body */
    ACCEPTENC_GZIP,     /* the gzip body, Content-Encoding: gzip */
    ACCEPTENC_NONE,     /* neither is acceptable: 406 */
};

/* The weights seen so far, in thousandths; -1: not listed. */
struct acceptenc_q {
    int gzip, identity, star;
    bool present; /* at least one Accept-Encoding field */
};

/* acceptenc_init: no field seen yet. */
void acceptenc_init(struct acceptenc_q *q);

/* acceptenc_feed: adds the entries of one Accept-Encoding field value
 * (a request may send several fields; their lists add up). The first
 * entry for a coding counts. */
void acceptenc_feed(struct acceptenc_q *q, const char *value);

/* acceptenc_pick: the coding to answer with, by the rules above. */
enum acceptenc acceptenc_pick(const struct acceptenc_q *q);

/* acceptenc_parse: acceptenc_pick() of the one field value (NULL: no
 * Accept-Encoding at all). */
enum acceptenc acceptenc_parse(const char *value);

/* acceptenc_of: acceptenc_pick() of every Accept-Encoding field of
 * conn's request. Any handler thread. */
enum acceptenc acceptenc_of(struct MHD_Connection *conn);

/* acceptenc_identity_ok: whether conn's request accepts the plain body
 * (for a gzip request when there is no gzip body to send). */
bool acceptenc_identity_ok(struct MHD_Connection *conn);

#endif
