/* postgres.h: the PostgreSQL profile (profile.h): streaming replication
 * watched over libpq. Every request is SQL (method "SQL", poller.h),
 * written only here and in pgscrape.c beside it; docs/reference.md,
 * "PostgreSQL", says what each field comes from.
 *
 * Positions are WAL positions (LSNs) as byte counts, the epoch is the
 * timeline, the heartbeat is replguard's clock upserted into
 * replguard.heartbeat on the primary (contrib/postgres/replguard.sql).
 * A standby is named in pg_stat_replication by its application_name,
 * which must be its replguard node name. */
#ifndef REPLGUARD_POSTGRES_H
#define REPLGUARD_POSTGRES_H

#include "profiles/profile.h"

extern const struct profile_ops postgres_profile;

/* POSTGRES_SCRAPE_SQL: the one query per node and round; its rows are
 * "KEY\tVALUE\tREPLICA" (pgscrape.c reads them). */
extern const char POSTGRES_SCRAPE_SQL[];

/* pgscrape_parse: reads the scrape's answer (COPY text) into *out; 0,
 * or -1 with err->line (the row, 1-based) and err->msg set. */
int pgscrape_parse(const char *body, size_t len, struct node_sample *out,
                   struct promtext_error *err);

#endif
