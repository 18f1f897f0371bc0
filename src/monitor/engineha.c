/* engineha.c: the engine's side of the config's ha: section (ha.h): it
 * drives the HA member on the engine thread and poller, tells the
 * executor which clusters it may act on, and what poll: owned polls. */
#include "monitor/engine_internal.h"

#include "config/config.h"
#include "act/executor.h"
#include "ha/ha.h"
#include "lib/log.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

/* ENGINE_HA_REVOKE: seconds a clean stop waits for the lease revoke. */
#define ENGINE_HA_REVOKE 1.0

static void give_clusters(struct engine *e)
{
    const char **names = xcalloc(e->cfg->n_clusters + 1, sizeof(*names));
    for (size_t i = 0; i < e->cfg->n_clusters; i++)
        names[i] = e->cfg->clusters[i].name;
    ha_set_clusters(e->ha, &e->cfg->ha, names, e->cfg->n_clusters);
    free(names);
}

/* busy: a failover of the cluster is between phases (the view the
 * executor filled last), so it is not given away yet. */
static bool busy(void *ctx, const char *cluster)
{
    const struct engine *e = ctx;
    for (size_t i = 0; i < e->view.n_clusters; i++) {
        const struct cluster_view *cv = &e->view.clusters[i];
        if (cv->name && strcmp(cv->name, cluster) == 0)
            return cv->failover_phase &&
                   strcmp(cv->failover_phase, "idle") != 0;
    }
    return false;
}

/* adopt: ha took cluster; job is the record of kind the owner before
 * left (NULL: none). */
static void adopt(void *ctx, const char *cluster, const char *kind,
                  const char *job)
{
    struct engine *e = ctx;
    if (e->exec && executor_adopt_job(e->exec, cluster, kind, job) < 0)
        log_msg(LOG_WARN,
                "msg=\"ha: the job left in flight was not taken over\" "
                "cluster=%s kind=%s",
                cluster, kind);
}

void engine_ha_job(void *ctx, const char *cluster, const char *kind,
                   const char *json)
{
    struct engine *e = ctx;
    if (e->ha)
        ha_put_job(e->ha, cluster, kind, json);
}

bool engine_ha_job_synced(void *ctx, const char *cluster, const char *kind)
{
    const struct engine *e = ctx;
    return !e->ha || ha_job_synced(e->ha, cluster, kind);
}

void engine_ha_config(struct engine *e)
{
    if (!e->cfg->ha.enabled) {
        /* ha: taken out by a reload: leave the group cleanly */
        if (e->ha)
            ha_stop(e->ha, ENGINE_HA_REVOKE);
        ha_free(e->ha);
        e->ha = NULL;
        return;
    }
    if (!e->ha) {
        e->ha = ha_new(&e->cfg->ha, e->poller);
        ha_set_busy(e->ha, busy, e);
        ha_set_adopt(e->ha, adopt, e);
    }
    give_clusters(e);
}

void engine_ha_tick(struct engine *e)
{
    if (e->ha)
        ha_tick(e->ha, clock_mono(&e->clock));
}

bool engine_ha_polls(const struct engine *e, const struct cluster_rt *c)
{
    return !e->ha || e->cfg->ha.poll == HA_POLL_ALL ||
           ha_holds(e->ha, c->conf->name);
}

bool engine_ha_owner(void *ctx, const char *cluster, int64_t *token)
{
    struct engine *e = ctx;
    if (!e->ha) {
        if (token)
            *token = 0;
        return true;
    }
    return ha_owns(e->ha, cluster, clock_mono(&e->clock), token);
}

void engine_ha_view(struct engine *e)
{
    struct agent_view *av = &e->view;
    struct ha_status st;
    av->ha = e->ha != NULL;
    if (!e->ha)
        return;
    double now = clock_mono(&e->clock);
    ha_status(e->ha, now, &st);
    /* the names stay in e->ha_members until the next view: the snapshot
     * renders them before that */
    free(e->ha_members);
    e->ha_members = xcalloc(st.n_members + 1, sizeof(*e->ha_members));
    char *names = xcalloc(st.n_members + 1, 65);
    for (size_t i = 0; i < st.n_members; i++) {
        memcpy(names + i * 65, st.members[i], 65);
        e->ha_members[i] = names + i * 65;
    }
    free(e->ha_names);
    e->ha_names = names;
    av->ha_members = e->ha_members;
    av->n_ha_members = st.n_members;
    av->ha_etcd_up = st.etcd_up;
    av->ha_owned = st.owned;
    for (size_t i = 0; i < av->n_clusters; i++)
        av->clusters[i].ha_owner =
            ha_owns(e->ha, av->clusters[i].name, now, NULL);
}

void engine_ha_stop(struct engine *e)
{
    if (e->ha)
        ha_stop(e->ha, ENGINE_HA_REVOKE);
}

void engine_ha_free(struct engine *e)
{
    ha_free(e->ha);
    e->ha = NULL;
    free(e->ha_members);
    free(e->ha_names);
    e->ha_members = NULL;
    e->ha_names = NULL;
}
