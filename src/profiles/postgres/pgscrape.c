/* pgscrape.c: the postgres profile's scrape answer (POSTGRES_SCRAPE_SQL
 * in postgres.c): rows "KEY\tVALUE\tREPLICA" into a struct node_sample.
 * Unknown keys are skipped (a newer query, an older replguard). */
#include "profiles/postgres/postgres.h"

#include "formats/copytext.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROW_MAX 512

/* What the rows said about synchronous replication, decided at the end. */
struct sync_seen_rows {
    bool primary, names_set, any_sync;
    bool demoted; /* a standby replguard took out of read rotation */
    bool fenced;  /* a primary whose new sessions are read-only */
};

/* u64: a whole decimal number (an LSN in bytes, a timeline). */
static bool u64(const char *v, uint64_t *out)
{
    if (!v || *v < '0' || *v > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    /* numeric text of an LSN difference may end in ".0" in no version
     * we know, but the fraction would be zero */
    if (errno || (*end && strcmp(end, ".0") != 0))
        return false;
    *out = (uint64_t)x;
    return true;
}

/* seconds: a finite, non-negative number. */
static bool seconds(const char *v, double *out)
{
    if (!v)
        return false;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || *end || end == v || !isfinite(d) || d < 0)
        return false;
    *out = d;
    return true;
}

static bool boolean(const char *v, bool *out)
{
    if (!v || (strcmp(v, "true") != 0 && strcmp(v, "false") != 0))
        return false;
    *out = v[0] == 't';
    return true;
}

static void on_reported(struct node_sample *o, const char *v,
                        const char *replica)
{
    double lag;
    size_t n = replica ? strlen(replica) : 0;
    if (!replica || !seconds(v, &lag) ||
        o->n_reported == PROFILE_MAX_REPORTED ||
        n >= sizeof(o->reported[0].replica))
        return;
    struct reported_lag *r = &o->reported[o->n_reported++];
    memcpy(r->replica, replica, n + 1);
    r->lag = lag;
}

/* on_row: one KEY, VALUE, REPLICA row; returns a reason to reject the
 * whole answer, or NULL. */
static const char *on_row(struct node_sample *o, struct sync_seen_rows *sy,
                          const struct copytext_row *row)
{
    if (row->n != 3 || !row->field[0])
        return "a row is not KEY, VALUE, REPLICA";
    const char *k = row->field[0], *v = row->field[1];
    bool rec;
    if (strcmp(k, "recovery") == 0) {
        if (!boolean(v, &rec))
            return "recovery is not a boolean";
        o->role = rec ? SEEN_ROLE_REPLICA : SEEN_ROLE_PRIMARY;
        sy->primary = !rec;
    } else if (strcmp(k, "position") == 0) {
        o->has_position = u64(v, &o->position);
        if (v && !o->has_position)
            return "position is not a byte count";
    } else if (strcmp(k, "acked") == 0) {
        o->has_acked = u64(v, &o->acked);
    } else if (strcmp(k, "received") == 0) {
        o->has_received = u64(v, &o->received);
    } else if (strcmp(k, "timeline") == 0) {
        o->has_epoch = u64(v, &o->epoch);
    } else if (strcmp(k, "connected") == 0) {
        o->has_connected = boolean(v, &o->connected);
    } else if (strcmp(k, "paused") == 0) {
        o->has_paused = boolean(v, &o->paused);
    } else if (strcmp(k, "heartbeat") == 0) {
        o->has_heartbeat = seconds(v, &o->heartbeat);
    } else if (strcmp(k, "sync_names") == 0) {
        sy->names_set = v && v[strspn(v, " ")] != '\0';
    } else if (strcmp(k, "standby") == 0) {
        sy->any_sync |=
            v && (strcmp(v, "sync") == 0 || strcmp(v, "quorum") == 0);
    } else if (strcmp(k, "fenced") == 0) {
        sy->fenced = v && strcmp(v, "on") == 0;
    } else if (strcmp(k, "demoted") == 0) {
        sy->demoted = v && strcmp(v, "true") == 0;
    } else if (strcmp(k, "reported") == 0) {
        on_reported(o, v, row->field[2]);
    }
    return NULL;
}

int pgscrape_parse(const char *body, size_t len, struct node_sample *out,
                   struct promtext_error *err)
{
    memset(out, 0, offsetof(struct node_sample, reported));
    struct sync_seen_rows sy = {0};
    char buf[ROW_MAX];
    struct copytext_row row;
    size_t pos = 0, line = 0;
    const char *why = NULL;
    for (;;) {
        int rc = copytext_next(body, len, &pos, buf, sizeof(buf), &row, &why);
        if (rc == 0)
            break;
        line++;
        if (rc > 0)
            why = on_row(out, &sy, &row);
        if (why) {
            err->line = line;
            err->msg = why;
            return -1;
        }
    }
    if (!out->has_position || out->role == SEEN_ROLE_UNKNOWN) {
        err->line = 0;
        err->msg = "no position or no recovery state";
        return -1;
    }
    if (sy.demoted && out->role == SEEN_ROLE_REPLICA)
        out->role = SEEN_ROLE_DEMOTED;
    if (sy.fenced && out->role == SEEN_ROLE_PRIMARY)
        out->role = SEEN_ROLE_FENCED;
    /* a primary with synchronous_standby_names set and no synchronous
     * standby streaming holds every commit: as a sync primary that has
     * too few replicas */
    if (sy.primary)
        out->sync_mode = !sy.names_set ? SYNC_SEEN_ASYNC
                         : sy.any_sync ? SYNC_SEEN_SYNC
                                       : SYNC_SEEN_BLOCKED;
    return 0;
}
