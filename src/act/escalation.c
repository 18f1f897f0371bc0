/* escalation.c: escalations as Alertmanager alerts (escalation.h), on
 * the engine thread through the engine's poller. */
#include "act/escalation.h"
#include "act/executor_internal.h"

#include "act/audit.h"
#include "act/planner.h"
#include "config/config.h"
#include "lib/clock.h"
#include "lib/jsonget.h"
#include "lib/log.h"
#include "lib/poller.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY     5.0 /* seconds between posts while Alertmanager fails */
#define ALERTNAME "ReplguardEscalation"

/* One escalation alert. */
struct esc_alert {
    char cluster[PLANNER_NAME_MAX], replica[PLANNER_NAME_MAX];
    char runbook[PLANNER_NAME_MAX], reason[48];
    double starts_at; /* wall seconds */
    double ends_at;   /* 0: firing; else acked at (wall) */
    bool sent;        /* reached Alertmanager at least once */
    bool in_batch;    /* part of the post in flight */
    bool sent_ended;  /* ... and posted resolved (ends_at set then) */
};

struct esc_state {
    struct esc_alert *v;
    size_t n, cap;
    struct poll_req *req;
    double next_at; /* monotonic: the next post */
    bool failing;   /* the last post failed (audit once per streak) */
};

static const struct config_escalation *conf(const struct executor *x)
{
    return x->env.escalation_conf ? x->env.escalation_conf(x->env.ctx) : NULL;
}

/* count_failures: adds n to the failures counter (0: creates it, so a
 * rate() over it works before the first failure). */
static void count_failures(struct executor *x, double n)
{
    const char *labels[] = {"receiver", NULL};
    const char *values[] = {"alertmanager", NULL};
    exec_count(x, MF_ESCALATION_NOTIFY_FAILURES_TOTAL, labels, values, n);
}

void esc_init(struct executor *x)
{
    x->esc = xcalloc(1, sizeof(*x->esc));
    x->esc->req = poller_req_new(x->env.poller, 1 << 16);
    if (conf(x) && conf(x)->alertmanager_url)
        count_failures(x, 0);
}

void esc_free(struct executor *x)
{
    if (!x->esc)
        return;
    poller_req_free(x->esc->req);
    free(x->esc->v);
    free(x->esc);
    x->esc = NULL;
}

static void audit_esc(struct executor *x, const char *event,
                      const struct esc_alert *a, const char *reason)
{
    struct audit_record r = {
        .time = clock_wall(x->env.clock),
        .event = event,
        .cluster = a ? a->cluster : NULL,
        .runbook = a ? a->runbook : NULL,
        .action = "escalate",
        .target = a ? a->replica : NULL,
        .reason = reason,
    };
    if (x->audit)
        audit_write(x->audit, &r);
}

/* find: the alert of cluster, replica and runbook, firing or acked (an
 * acked one is kept until its resolution reached Alertmanager). */
static struct esc_alert *find(struct esc_state *s, const char *cluster,
                              const char *replica, const char *runbook)
{
    for (size_t i = 0; i < s->n; i++) {
        struct esc_alert *a = &s->v[i];
        if (strcmp(a->cluster, cluster) == 0 &&
            strcmp(a->replica, replica) == 0 &&
            strcmp(a->runbook, runbook) == 0)
            return a;
    }
    return NULL;
}

/* add: a firing alert (not journaled: the callers do). */
static struct esc_alert *add(struct esc_state *s, const char *cluster,
                             const char *replica, const char *runbook,
                             const char *reason, double t)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    struct esc_alert *a = &s->v[s->n++];
    memset(a, 0, sizeof(*a));
    snprintf(a->cluster, sizeof(a->cluster), "%s", cluster);
    snprintf(a->replica, sizeof(a->replica), "%s", replica);
    snprintf(a->runbook, sizeof(a->runbook), "%s", runbook);
    snprintf(a->reason, sizeof(a->reason), "%s", reason);
    a->starts_at = t;
    s->next_at = 0; /* post it now */
    return a;
}

void escalation_raise(struct executor *x, const char *cluster,
                      const char *replica, const char *runbook,
                      const char *reason)
{
    struct esc_state *s = x->esc;
    double now = clock_wall(x->env.clock);
    struct esc_alert *a = find(s, cluster, replica, runbook);
    if (a && a->ends_at == 0)
        return; /* one page per cluster, replica and runbook */
    if (a) {    /* acked, its resolution not posted yet: it pages again */
        a->ends_at = 0;
        snprintf(a->reason, sizeof(a->reason), "%s", reason);
        s->next_at = 0;
    } else {
        a = add(s, cluster, replica, runbook, reason, now);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "escalation");
    cJSON_AddStringToObject(o, "cluster", cluster);
    cJSON_AddStringToObject(o, "replica", replica);
    cJSON_AddStringToObject(o, "runbook", runbook);
    cJSON_AddStringToObject(o, "reason", reason);
    cJSON_AddNumberToObject(o, "t", now);
    exec_journal_json(x, o);
    audit_esc(x, "escalated", a, reason);
    if (!conf(x) || !conf(x)->alertmanager_url)
        log_msg(LOG_WARN,
                "msg=\"escalation reaches nobody: no "
                "escalation.alertmanager_url in the config\" cluster=%s",
                cluster);
}

void esc_ack(struct executor *x, const char *cluster)
{
    struct esc_state *s = x->esc;
    double now = clock_wall(x->env.clock);
    bool any = false;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].ends_at == 0 && strcmp(s->v[i].cluster, cluster) == 0) {
            s->v[i].ends_at = now;
            any = true;
        }
    }
    if (!any)
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "escalation_ack");
    cJSON_AddStringToObject(o, "cluster", cluster);
    cJSON_AddNumberToObject(o, "t", now);
    exec_journal_json(x, o);
    s->next_at = 0; /* resolve now */
}

/* drop: forgets the acked alerts (only_sent: those whose resolution the
 * post that just succeeded carried, and that were not raised again). */
static void drop(struct esc_state *s, bool only_sent)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!(s->v[i].ends_at > 0 && (!only_sent || s->v[i].sent_ended)))
            s->v[k++] = s->v[i];
    s->n = k;
}

void esc_replay_record(struct executor *x, const cJSON *o)
{
    struct esc_state *s = x->esc;
    const char *cluster = jsonget_str(o, "cluster");
    if (strcmp(jsonget_str(o, "type"), "escalation_ack") == 0) {
        for (size_t i = 0; i < s->n; i++)
            if (strcmp(s->v[i].cluster, cluster) == 0)
                s->v[i].ends_at = 1;
        drop(s, false); /* a resolve lost in a crash: Alertmanager's
                           resolve_timeout ends it */
        return;
    }
    const char *replica = jsonget_str(o, "replica"),
               *runbook = jsonget_str(o, "runbook");
    struct esc_alert *a = find(s, cluster, replica, runbook);
    if (a)
        a->ends_at = 0;
    else
        add(s, cluster, replica, runbook, jsonget_str(o, "reason"),
            jsonget_num(o, "t"));
    planner_block(x->planner, cluster); /* latched until the ack */
}

/* rfc3339: wall seconds t as "2026-01-02T03:04:05.678Z". */
static void rfc3339(double t, char *out, size_t n)
{
    time_t sec = (time_t)floor(t);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char day[32];
    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03dZ", day, (int)((t - floor(t)) * 1000) % 1000);
}

/* alert_json: a's entry of the POST body. */
static cJSON *alert_json(const struct esc_alert *a,
                         const struct config_escalation *c)
{
    cJSON *o = cJSON_CreateObject(), *l = cJSON_AddObjectToObject(o, "labels");
    for (size_t i = 0; i < c->n_labels; i++)
        cJSON_AddStringToObject(l, c->labels[i].name, c->labels[i].value);
    cJSON_AddStringToObject(l, "alertname", ALERTNAME);
    cJSON_AddStringToObject(l, "cluster", a->cluster);
    cJSON_AddStringToObject(l, "replica", a->replica);
    cJSON_AddStringToObject(l, "runbook", a->runbook);
    cJSON_AddStringToObject(l, "reason", a->reason);
    char text[512], t[40];
    cJSON *an = cJSON_AddObjectToObject(o, "annotations");
    snprintf(text, sizeof(text),
             "replguard escalated cluster %s: runbook %s on %s (%s)",
             a->cluster, a->runbook, a->replica, a->reason);
    cJSON_AddStringToObject(an, "summary", text);
    snprintf(text, sizeof(text),
             "replguard needs a human: its risky remediation steps on "
             "cluster %s are latched (reversible ones such as throttle still "
             "run). Look at the cluster, then POST /api/v1/ack/%s to "
             "resume remediation and resolve this alert.",
             a->cluster, a->cluster);
    cJSON_AddStringToObject(an, "description", text);
    rfc3339(a->starts_at, t, sizeof(t));
    cJSON_AddStringToObject(o, "startsAt", t);
    if (a->ends_at > 0) {
        rfc3339(a->ends_at, t, sizeof(t));
        cJSON_AddStringToObject(o, "endsAt", t);
    }
    return o;
}

static void on_posted(void *arg, const struct poll_result *r);

/* post: every alert (firing and acked) in one POST; returns 0 when it
 * started. */
static int post(struct executor *x, const struct config_escalation *c)
{
    struct esc_state *s = x->esc;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < s->n; i++) {
        s->v[i].in_batch = true;
        s->v[i].sent_ended = s->v[i].ends_at > 0;
        cJSON_AddItemToArray(arr, alert_json(&s->v[i], c));
    }
    char *body = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    char url[1024];
    snprintf(url, sizeof(url), "%s/api/v2/alerts", c->alertmanager_url);
    int rc =
        poller_request(s->req, "POST", url, body, ACTION_TIMEOUT, on_posted, x);
    cJSON_free(body);
    return rc;
}

/* posted: Alertmanager took the batch: first sends and resolutions are
 * audited, the resolved ones forgotten. */
static void posted(struct executor *x)
{
    struct esc_state *s = x->esc;
    bool news = false;
    for (size_t i = 0; i < s->n; i++) {
        struct esc_alert *a = &s->v[i];
        if (!a->in_batch || a->sent_ended != (a->ends_at > 0)) {
            news = true; /* raised, acked or raised again meanwhile */
            a->sent_ended = false;
            continue;
        }
        if (a->ends_at > 0)
            audit_esc(x, "escalation_resolved", a, "acked");
        else if (!a->sent)
            audit_esc(x, "escalation_sent", a, "alertmanager");
        a->sent = true;
    }
    drop(s, true);
    if (s->failing)
        log_msg(LOG_INFO, "msg=\"escalations reach Alertmanager again\"");
    s->failing = false;
    if (news)
        s->next_at = 0;
}

static void on_posted(void *arg, const struct poll_result *r)
{
    struct executor *x = arg;
    struct esc_state *s = x->esc;
    const struct config_escalation *c = conf(x);
    double now = clock_mono(x->env.clock);
    double every = c ? c->repost_interval : 60;
    if (r->outcome == POLL_OK) {
        s->next_at = now + every;
        posted(x);
    } else {
        char why[160];
        if (r->outcome == POLL_HTTP_STATUS)
            snprintf(why, sizeof(why), "HTTP %ld", r->status);
        else
            snprintf(why, sizeof(why), "%s", r->error ? r->error : "error");
        count_failures(x, 1);
        log_msg(LOG_WARN,
                "msg=\"escalation not delivered to Alertmanager; retrying\" "
                "error=\"%s\" pending=%zu",
                why, s->n);
        if (!s->failing)
            audit_esc(x, "escalation_failed", s->n ? &s->v[0] : NULL, why);
        s->failing = true;
        s->next_at = now + (every < RETRY ? every : RETRY);
    }
    for (size_t i = 0; i < s->n; i++)
        s->v[i].in_batch = false;
}

void esc_tick(struct executor *x, double now)
{
    struct esc_state *s = x->esc;
    const struct config_escalation *c = conf(x);
    if (!c || !c->alertmanager_url) {
        drop(s, false); /* acked ones: nobody to resolve them with */
        return;
    }
    if (s->n == 0 || now < s->next_at || poller_req_busy(s->req))
        return;
    if (post(x, c) != 0) {
        for (size_t i = 0; i < s->n; i++)
            s->v[i].in_batch = false;
        s->next_at = now + RETRY;
    }
}
