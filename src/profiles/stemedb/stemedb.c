/* stemedb.c: the StemeDB ops table (see stemedb.h). */
#include "profiles/stemedb/stemedb.h"

#include "lib/util.h"
#include "profiles/stemedb/breakers.h"
#include "profiles/stemedb/scrape.h"

#include <inttypes.h>
#include <stdio.h>

static void request(struct profile_request *rq, const char *method,
                    enum profile_node at, const char *path, const char *body)
{
    rq->method = method;
    rq->at = at;
    snprintf(rq->path, sizeof(rq->path), "%s", path);
    rq->body = body ? xstrdup(body) : NULL;
}

static void heartbeat(const char *ts, struct profile_request *rq)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"ts\": %s}", ts);
    request(rq, "POST", PROFILE_AT_PRIMARY, "/v1/admin/heartbeat", body);
}

static void set_limit(double limit, struct profile_request *rq)
{
    char body[96];
    snprintf(body, sizeof(body), "{\"max_assertions_per_sec\": %.0f}", limit);
    request(rq, "POST", PROFILE_AT_PRIMARY, "/v1/admin/rate-limit", body);
}

/* replica_call: a POST to the primary about one replica. */
static void replica_call(const char *path, const char *replica,
                         struct profile_request *rq)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"replica_id\": \"%s\", \"force\": true}",
             replica);
    request(rq, "POST", PROFILE_AT_PRIMARY, path, body);
}

static void force_sync(const char *replica, struct profile_request *rq)
{
    replica_call("/v1/admin/cluster/sync", replica, rq);
}

static void demote(const char *replica, struct profile_request *rq)
{
    replica_call("/v1/admin/cluster/demote", replica, rq);
}

static void list_breakers(struct profile_request *rq)
{
    request(rq, "GET", PROFILE_AT_TARGET, "/v1/admin/circuit-breakers/tripped",
            NULL);
}

static void reset_breaker(const char *id, struct profile_request *rq)
{
    request(rq, "POST", PROFILE_AT_TARGET, "/v1/admin/circuit-breaker/reset",
            NULL);
    rq->body = breakers_reset_body(id);
}

/* epoch_call: a POST to the target naming a node, as key, and an epoch. */
static void epoch_call(const char *path, const char *key, const char *node,
                       uint64_t epoch, struct profile_request *rq)
{
    char body[160];
    snprintf(body, sizeof(body), "{\"%s\": \"%s\", \"epoch\": %" PRIu64 "}",
             key, node, epoch);
    request(rq, "POST", PROFILE_AT_TARGET, path, body);
}

static void promote(const char *replica, uint64_t epoch,
                    struct profile_request *rq)
{
    epoch_call("/v1/admin/cluster/promote", "replica_id", replica, epoch, rq);
}

static void fence(uint64_t epoch, struct profile_request *rq)
{
    char body[64];
    snprintf(body, sizeof(body), "{\"epoch\": %" PRIu64 "}", epoch);
    request(rq, "POST", PROFILE_AT_TARGET, "/v1/admin/cluster/fence", body);
}

static void replicate_from(const struct config_cluster *c, const char *target,
                           const char *primary, uint64_t epoch,
                           struct profile_request *rq)
{
    (void)c; /* the target learns its primary's URL from the cluster */
    (void)target;
    epoch_call("/v1/admin/cluster/replicate-from", "primary_id", primary, epoch,
               rq);
}

static void probe_write(struct profile_request *rq)
{
    request(rq, "POST", PROFILE_AT_TARGET, "/v1/write", "{\"count\": 1}");
}

const struct profile_ops stemedb_profile = {
    .name = "stemedb",
    .metrics_path = "/metrics",
    .parse_sample = scrape_parse,
    .heartbeat = heartbeat,
    .actions = PROFILE_ACTION(RUNBOOK_ACT_THROTTLE) |
               PROFILE_ACTION(RUNBOOK_ACT_RESTORE_THROTTLE) |
               PROFILE_ACTION(RUNBOOK_ACT_FORCE_SYNC) |
               PROFILE_ACTION(RUNBOOK_ACT_RESET_CIRCUIT_BREAKERS) |
               PROFILE_ACTION(RUNBOOK_ACT_DEMOTE) |
               PROFILE_ACTION(RUNBOOK_ACT_PROMOTE),
    .set_limit = set_limit,
    .force_sync = force_sync,
    .demote = demote,
    .list_breakers = list_breakers,
    .read_breakers = breakers_parse,
    .reset_breaker = reset_breaker,
    .merkle = true,
    .promote = promote,
    .fence = fence,
    .replicate_from = replicate_from,
    .probe_write = probe_write,
};
