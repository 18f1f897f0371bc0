/* acceptenc.c: parsing Accept-Encoding into a choice of coding. */
#include "serve/acceptenc.h"

#include <stddef.h>
#include <strings.h>

void acceptenc_init(struct acceptenc_q *q)
{
    q->gzip = q->identity = q->star = -1;
    q->present = false;
}

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

/* parse_q: a qvalue ("0", "0.5", "1.000", at most three decimals, at
 * most 1) at s, in thousandths; its end in *end. -1 when it does not
 * parse. */
static int parse_q(const char *s, const char **end)
{
    if (*s != '0' && *s != '1')
        return -1;
    int q = (*s++ - '0') * 1000, scale = 100, digits = 0;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10) {
            if (++digits > 3)
                return -1;
            q += (*s - '0') * scale;
        }
    }
    *end = s;
    return q <= 1000 ? q : -1;
}

/* parse_params: the parameters after a coding, from s (at ';' or the
 * entry's end) to the next ',' or the end; the q of them (1000 when
 * none). -1 when a q does not parse; other parameters are skipped. */
static int parse_params(const char *s, const char **end)
{
    int q = 1000;
    bool bad = false;
    while (*s && *s != ',' && !bad) {
        if (*s != ';') { /* junk after the coding or a parameter */
            bad = !ows(*s++);
            continue;
        }
        for (s++; ows(*s); s++)
            ;
        if ((*s == 'q' || *s == 'Q') && s[1] == '=')
            bad = (q = parse_q(s + 2, &s)) < 0;
        else
            while (*s && *s != ',' && *s != ';')
                s++;
    }
    while (*s && *s != ',')
        s++;
    *end = s;
    return bad ? -1 : q;
}

/* keep: the first weight listed for a coding counts. */
static void keep(int *slot, int q)
{
    if (*slot < 0)
        *slot = q;
}

/* note: records the coding [name, name + n) at weight q. */
static void note(struct acceptenc_q *acc, const char *name, size_t n, int q)
{
    if ((n == 4 && strncasecmp(name, "gzip", 4) == 0) ||
        (n == 6 && strncasecmp(name, "x-gzip", 6) == 0))
        keep(&acc->gzip, q);
    else if (n == 8 && strncasecmp(name, "identity", 8) == 0)
        keep(&acc->identity, q);
    else if (n == 1 && name[0] == '*')
        keep(&acc->star, q);
}

void acceptenc_feed(struct acceptenc_q *acc, const char *s)
{
    acc->present = true;
    while (*s) {
        while (ows(*s) || *s == ',')
            s++;
        const char *name = s;
        while (*s && *s != ',' && *s != ';' && !ows(*s))
            s++;
        size_t n = (size_t)(s - name);
        int q = parse_params(s, &s);
        if (n && q >= 0)
            note(acc, name, n, q);
    }
}

static int identity_q(const struct acceptenc_q *acc)
{
    return acc->identity >= 0 ? acc->identity
           : acc->star >= 0   ? acc->star
                              : 1000;
}

enum acceptenc acceptenc_pick(const struct acceptenc_q *acc)
{
    int gz = acc->gzip >= 0 ? acc->gzip : acc->star >= 0 ? acc->star : 0;
    int id = identity_q(acc);
    if (gz > 0 && gz >= id)
        return ACCEPTENC_GZIP;
    return id > 0 ? ACCEPTENC_IDENTITY : ACCEPTENC_NONE;
}

enum acceptenc acceptenc_parse(const char *value)
{
    struct acceptenc_q q;
    acceptenc_init(&q);
    if (value)
        acceptenc_feed(&q, value);
    return acceptenc_pick(&q);
}

static enum MHD_Result each_field(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value)
{
    (void)kind;
    if (value && strcasecmp(key, MHD_HTTP_HEADER_ACCEPT_ENCODING) == 0)
        acceptenc_feed(cls, value);
    return MHD_YES;
}

enum acceptenc acceptenc_of(struct MHD_Connection *conn)
{
    struct acceptenc_q q;
    acceptenc_init(&q);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, each_field, &q);
    return acceptenc_pick(&q);
}

bool acceptenc_identity_ok(struct MHD_Connection *conn)
{
    struct acceptenc_q q;
    acceptenc_init(&q);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, each_field, &q);
    return identity_q(&q) > 0;
}
