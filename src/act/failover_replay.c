/* failover_replay.c: the failover records of the journal, replayed when
 * the executor starts (see failover_internal.h): the highest epoch each
 * cluster's failovers used (E is never reused), the last outcome (the
 * view's last failover), the last success and acks (block_period holds
 * across restarts), and a run a crash interrupted: its last record is a
 * phase other than done or refused, so it resumes at that phase, once
 * the engine has a poll round in (the executor ticks only then), with
 * the candidate it journaled and no other. */
#include "act/failover_internal.h"
#include "act/executor_internal.h"

#include "lib/clock.h"
#include "lib/jsonget.h"
#include "lib/log.h"
#include "lib/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static enum fo_phase phase_named(const char *s)
{
    for (int i = 0; i < PH_COUNT; i++)
        if (strcmp(fo_phase_names[i], s) == 0)
            return (enum fo_phase)i;
    return PH_IDLE;
}

static enum fo_kind kind_named(const char *s)
{
    for (int i = 0; i < FO_KINDS; i++)
        if (strcmp(fo_kind_names[i], s) == 0)
            return (enum fo_kind)i;
    return FO_AUTOMATIC;
}

/* restore: fc's run fields from record o. */
static void restore(struct fo_cluster *fc, const cJSON *o)
{
    snprintf(fc->id, sizeof(fc->id), "%s", jsonget_str(o, "id"));
    fc->kind = kind_named(jsonget_str(o, "kind"));
    fc->planned = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "planned"));
    fc->dry_run = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "dry_run"));
    snprintf(fc->from, sizeof(fc->from), "%s", jsonget_str(o, "from"));
    snprintf(fc->to, sizeof(fc->to), "%s", jsonget_str(o, "to"));
    fc->need = (uint64_t)jsonget_num(o, "need");
    fc->loss = (uint64_t)jsonget_num(o, "loss");
    fc->epoch = (uint64_t)jsonget_num(o, "epoch");
    snprintf(fc->fail_reason, sizeof(fc->fail_reason), "%s",
             jsonget_str(o, "reason"));
}

static void replay_end(struct fo_cluster *fc, const cJSON *o, bool done)
{
    bool dry = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "dry_run"));
    fc->active = false;
    fc->phase = PH_IDLE;
    if (dry)
        return;
    const char *outcome = done ? jsonget_str(o, "outcome") : "refused";
    double t = jsonget_num(o, "t");
    fo_set_last(fc, jsonget_str(o, "kind"), outcome, jsonget_str(o, "from"),
                done ? jsonget_str(o, "to") : "",
                cJSON_GetObjectItemCaseSensitive(o, "reason")
                    ? jsonget_str(o, "reason")
                    : NULL,
                (uint64_t)jsonget_num(o, "epoch"),
                (uint64_t)jsonget_num(o, "lost_positions"),
                t - jsonget_num(o, "duration"), jsonget_num(o, "duration"));
    if (!done || strcmp(outcome, "success") != 0)
        return;
    fc->success_epoch = (uint64_t)jsonget_num(o, "epoch");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "planned"))) {
        fc->last_success_wall = t; /* block_period: see fo_finish */
        fc->acked = false;
    }
}

void fo_replay_record(struct executor *x, const cJSON *o)
{
    const char *type = jsonget_str(o, "type");
    struct fo_cluster *fc = fo_cluster_of(x->fo, jsonget_str(o, "cluster"));
    uint64_t epoch = (uint64_t)jsonget_num(o, "epoch");
    if (epoch > fc->max_epoch)
        fc->max_epoch = epoch;
    if (strcmp(type, "failover_ack") == 0) {
        fc->acked = true;
        return;
    }
    if (strcmp(type, "failover") != 0)
        return; /* failover_rejoin: the epoch is all it leaves */
    enum fo_phase ph = phase_named(jsonget_str(o, "phase"));
    if (ph == PH_DONE || ph == PH_REFUSED) {
        replay_end(fc, o, ph == PH_DONE);
        return;
    }
    restore(fc, o);
    fc->active = true;
    fc->phase = ph;
    fc->t0_wall = jsonget_num(o, "t");
}

/* resume: fc's run, restored from a record, runs again from its phase's
 * start: each start re-checks the view for what already took effect. */
static void resume(struct executor *x, struct fo_cluster *fc, const char *why)
{
    double now = clock_mono(x->env.clock);
    fc->begun = false;
    fc->resumed = true;
    fc->t0_mono = now - (clock_wall(x->env.clock) - fc->t0_wall);
    char d[200];
    snprintf(d, sizeof(d),
             "resumed after %s at phase %s (%s -> %s, epoch %" PRIu64 ")", why,
             fo_phase_names[fc->phase], fc->from, fc->to, fc->epoch);
    fo_audit(x, fc, "failover_phase", fo_phase_names[fc->phase], -1, d);
    log_msg(LOG_WARN, "msg=\"failover resumed\" cluster=%s detail=\"%s\"",
            fc->name, d);
}

void fo_replay_finish(struct executor *x)
{
    for (size_t i = 0; i < x->fo->n; i++)
        if (x->fo->v[i]->active)
            resume(x, x->fo->v[i], "a restart");
}

void fo_mirror(struct executor *x, const struct fo_cluster *fc, const cJSON *o,
               bool end)
{
    if (!x->env.job_phase || fc->dry_run)
        return;
    if (end) {
        x->env.job_phase(x->env.ctx, fc->name, "failover", NULL);
        return;
    }
    char *text = cJSON_PrintUnformatted(o);
    if (text)
        x->env.job_phase(x->env.ctx, fc->name, "failover", text);
    cJSON_free(text);
}

int executor_adopt_failover(struct executor *x, const char *cluster,
                            const char *json)
{
    cJSON *o = cJSON_Parse(json);
    struct fo_cluster *fc = fo_cluster_of(x->fo, cluster);
    enum fo_phase ph = phase_named(jsonget_str(o, "phase"));
    bool ok = cJSON_IsObject(o) &&
              strcmp(jsonget_str(o, "type"), "failover") == 0 &&
              strcmp(jsonget_str(o, "cluster"), cluster) == 0 &&
              ph != PH_IDLE && ph != PH_DONE && ph != PH_REFUSED && !fc->active;
    if (ok) {
        fo_replay_record(x, o);
        /* journaled here too: a restart of this owner resumes it */
        exec_journal_json(x, cJSON_Duplicate(o, true));
        exec_journal_flush(x);
        resume(x, fc, "a handover from another instance");
    }
    cJSON_Delete(o);
    return ok ? 0 : -1;
}
