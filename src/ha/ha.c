/* ha.c: membership and ownership through etcd (ha.h).
 *
 * One request runs at a time, on one slot of the engine's poller. A
 * cycle, every ttl/3: keep the lease alive (or grant one and put the
 * member key under it), read the member keys, read the ownership keys,
 * then claim the clusters that hash to this member and have no key and
 * release those it holds that hash elsewhere, one request each. A
 * failed request ends the cycle: the next endpoint is tried at the next
 * one, and the ownership already proven stays valid as long as the
 * lease is known to be alive (ha_owns). */
#include "ha/ha.h"

#include "config/config.h"
#include "ha/etcdjson.h"
#include "lib/log.h"
#include "lib/poller.h"
#include "lib/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_CAP   (1u << 20)
#define MAX_KVS    1024
#define RETRY_GAP  0.5 /* seconds between cycles after a failure */
#define LEASE_SAFE 0.9 /* of the ttl: etcd's clock may run faster */

enum op {
    OP_NONE,
    OP_GRANT,
    OP_PUT_MEMBER,
    OP_KEEPALIVE,
    OP_MEMBERS,
    OP_OWNERS,
    OP_CLAIM,
    OP_RELEASE,
    OP_REVOKE,
    OP_JOB,
};

static const char *const op_names[] = {
    [OP_NONE] = "none",       [OP_GRANT] = "lease_grant",
    [OP_PUT_MEMBER] = "put",  [OP_KEEPALIVE] = "keepalive",
    [OP_MEMBERS] = "members", [OP_OWNERS] = "owners",
    [OP_CLAIM] = "claim",     [OP_RELEASE] = "release",
    [OP_REVOKE] = "revoke",   [OP_JOB] = "job",
};

struct ha_cluster {
    char *name;
    bool held;     /* its key is ours, as etcd last said */
    bool polled;   /* held when etcd last answered: kept while etcd is
                      away, so poll: owned goes on polling it */
    int64_t token; /* the key's create revision, when held */
    bool keyed;    /* some member holds its key */
    bool want;     /* it hashes to this member */
    bool stale;    /* its key has our name under an old lease of ours */
    /* the in-flight jobs' records, one per kind (ha_job_kinds; NULL:
     * none), and whether each is to be written (or deleted) */
    char *job[HA_JOB_KINDS];
    bool job_dirty[HA_JOB_KINDS];
};

struct ha {
    char **etcd;
    size_t n_etcd, ep; /* endpoints; the one in use */
    char *prefix, *member;
    double ttl;
    struct poller *p;
    struct poll_req *req;
    enum op op;         /* running, or OP_NONE */
    enum op next;       /* the cycle's next step, or OP_NONE: cycle over */
    size_t op_cluster;  /* OP_CLAIM, OP_RELEASE, OP_JOB: which */
    size_t op_kind;     /* OP_JOB: which record */
    double op_sent;     /* monotonic */
    double cycle_start; /* monotonic; next_cycle is due after it */
    double next_cycle;
    int64_t lease;      /* 0: none */
    double valid_until; /* monotonic: the lease is surely alive before */
    bool etcd_up, was_up, stopped;
    uint64_t errors, losses;
    char members[HA_MAX_MEMBERS][65];
    size_t n_members;
    struct ha_cluster *cl;
    size_t n_cl, scan;
    bool (*busy)(void *ctx, const char *cluster); /* ha_set_busy */
    void *busy_ctx;
    void (*adopt)(void *ctx, const char *cluster, const char *kind,
                  const char *job);
    void *adopt_ctx;
};

const char *const ha_job_kinds[HA_JOB_KINDS] = {"failover", "throttle",
                                                "steps"};

static int kind_index(const char *kind)
{
    for (int k = 0; k < HA_JOB_KINDS; k++)
        if (strcmp(ha_job_kinds[k], kind) == 0)
            return k;
    return -1;
}

/* --- the rendezvous hash ------------------------------------------------ */

static uint64_t ha_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t pair_hash(const char *cluster, const char *member)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then a finaliser */
    for (const char *s = cluster; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL; /* a byte no name contains */
    for (const char *s = member; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return ha_mix(h);
}

int ha_rendezvous(const char *cluster, const char *const *members, size_t n)
{
    int best = -1;
    uint64_t best_h = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = pair_hash(cluster, members[i]);
        if (best < 0 || h > best_h ||
            (h == best_h && strcmp(members[i], members[best]) < 0)) {
            best = (int)i;
            best_h = h;
        }
    }
    return best;
}

/* --- keys --------------------------------------------------------------- */

/* key_of: PREFIX/KIND/NAME (name NULL: PREFIX/KIND/), a heap string. */
static char *key_of(const struct ha *h, const char *kind, const char *name)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "%s/%s/%s", h->prefix, kind, name ? name : "");
    return buf_detach(&b);
}

/* job_key: PREFIX/jobs/NAME/KIND (kind NULL: PREFIX/jobs/NAME/, under
 * which all of a cluster's job keys sit), a heap string. */
static char *job_key(const struct ha *h, const char *name, const char *kind)
{
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "%s/jobs/%s/%s", h->prefix, name, kind ? kind : "");
    return buf_detach(&b);
}

/* --- requests ----------------------------------------------------------- */

static void on_answer(void *arg, const struct poll_result *r);

/* send: starts op with body (owned) at path of the current endpoint. */
static void request(struct ha *h, enum op op, const char *path, char *body,
                    double now)
{
    char url[1024];
    double timeout = h->ttl / 4 < 2 ? h->ttl / 4 : 2;
    snprintf(url, sizeof(url), "%s%s", h->etcd[h->ep], path);
    h->op = op;
    h->op_sent = now;
    if (poller_post_json(h->req, url, body, timeout, on_answer, h) < 0) {
        h->op = OP_NONE;
        h->next = OP_NONE;
        h->next_cycle = now + RETRY_GAP;
    }
    free(body);
}

static void send_range(struct ha *h, enum op op, const char *kind, double now)
{
    char *from = key_of(h, kind, NULL);
    char *end = etcd_range_end(from);
    request(h, op, "/v3/kv/range", etcd_range_json(from, end), now);
    free(from);
    free(end);
}

static void send_claim(struct ha *h, size_t i, double now)
{
    char *key = key_of(h, "owners", h->cl[i].name);
    char *job = job_key(h, h->cl[i].name, NULL);
    h->op_cluster = i;
    /* the claim reads the cluster's job keys in the same transaction: a
     * failover or a ramp the owner before us left in flight resumes
     * here */
    request(h, OP_CLAIM, "/v3/kv/txn",
            etcd_create_json(key, h->member, h->lease, job), now);
    free(key);
    free(job);
}

static void send_release(struct ha *h, size_t i, double now)
{
    char *key = key_of(h, "owners", h->cl[i].name);
    h->op_cluster = i;
    request(h, OP_RELEASE, "/v3/kv/txn", etcd_delete_if_json(key, h->member),
            now);
    free(key);
}

/* first_dirty: the first of c's job records to write, or -1. */
static int first_dirty(const struct ha_cluster *c)
{
    for (int k = 0; k < HA_JOB_KINDS; k++)
        if (c->job_dirty[k])
            return k;
    return -1;
}

/* send_job: writes (or deletes) the first dirty job key of a cluster
 * this member owns, fenced by its token; returns whether it started a
 * request. A dirty job of a cluster it no longer owns waits: the fenced
 * write would fail anyway, and a claim drops it. */
static bool send_job(struct ha *h, double now)
{
    for (size_t i = 0; i < h->n_cl; i++) {
        struct ha_cluster *c = &h->cl[i];
        int64_t token;
        int k = first_dirty(c);
        if (k < 0)
            continue;
        if (!ha_owns(h, c->name, now, &token))
            continue; /* written once it is ours again, if ever */
        c->job_dirty[k] = false;
        char *owner = key_of(h, "owners", c->name);
        char *key = job_key(h, c->name, ha_job_kinds[k]);
        h->op_cluster = i;
        h->op_kind = (size_t)k;
        request(h, OP_JOB, "/v3/kv/txn",
                etcd_fenced_json(owner, token, key, c->job[k]), now);
        free(owner);
        free(key);
        return true;
    }
    return false;
}

/* next_change: the next cluster from h->scan to claim or release, or
 * starts nothing and ends the cycle. */
static void next_change(struct ha *h, double now)
{
    /* the keep-alive opens each cycle: a long run of claims against a
     * slow etcd must not hold the next one back past the lease */
    bool late = now - h->cycle_start >= h->ttl / 3;
    for (; h->scan < h->n_cl && !late; h->scan++) {
        struct ha_cluster *c = &h->cl[h->scan];
        if (c->want && !c->keyed) {
            send_claim(h, h->scan++, now);
            return;
        }
        bool busy = h->busy && h->busy(h->busy_ctx, c->name);
        if ((c->held && !c->want && !busy) || c->stale) {
            /* a stale one goes now rather than at its old lease's end:
             * the claim follows at the next cycle */
            send_release(h, h->scan++, now);
            return;
        }
    }
    h->next = OP_NONE;
    h->next_cycle = h->cycle_start + h->ttl / 3;
}

/* step: starts the cycle's next request. */
static void step(struct ha *h, double now)
{
    char *key;
    switch (h->next) {
    case OP_GRANT:
        request(h, OP_GRANT, "/v3/lease/grant", etcd_grant_json(h->ttl), now);
        break;
    case OP_KEEPALIVE:
        request(h, OP_KEEPALIVE, "/v3/lease/keepalive",
                etcd_lease_json(h->lease), now);
        break;
    case OP_PUT_MEMBER:
        key = key_of(h, "members", h->member);
        request(h, OP_PUT_MEMBER, "/v3/kv/put",
                etcd_put_json(key, h->member, h->lease), now);
        free(key);
        break;
    case OP_MEMBERS:
        send_range(h, OP_MEMBERS, "members", now);
        break;
    case OP_OWNERS:
        send_range(h, OP_OWNERS, "owners", now);
        break;
    default:
        next_change(h, now);
        break;
    }
}

/* --- answers ------------------------------------------------------------ */

/* drop_job: forgets c's jobs: they belong to whoever owns c now. */
static void drop_job(struct ha_cluster *c)
{
    for (int k = 0; k < HA_JOB_KINDS; k++) {
        free(c->job[k]);
        c->job[k] = NULL;
        c->job_dirty[k] = false;
    }
}

/* drop_all: no key is ours any more (the lease is gone). */
static void drop_all(struct ha *h)
{
    for (size_t i = 0; i < h->n_cl; i++) {
        h->cl[i].held = false;
        h->cl[i].token = 0;
        drop_job(&h->cl[i]);
    }
}

static void lease_lost(struct ha *h, const char *why)
{
    if (h->lease)
        log_msg(LOG_WARN,
                "msg=\"ha: lease lost: owning nothing until re-taken\" "
                "lease=%" PRId64 " reason=%s",
                h->lease, why);
    h->losses++;
    h->lease = 0;
    h->valid_until = 0;
    drop_all(h);
}

static void took_members(struct ha *h, const struct etcd_reply *r)
{
    char *from = key_of(h, "members", NULL);
    size_t plen = strlen(from);
    h->n_members = 0;
    for (size_t i = 0; i < r->n_kvs && h->n_members < HA_MAX_MEMBERS; i++) {
        const char *k = r->kvs[i].key;
        if (strncmp(k, from, plen) != 0 || strlen(k + plen) > 64 || !k[plen])
            continue;
        snprintf(h->members[h->n_members++], 65, "%s", k + plen);
    }
    free(from);
}

/* took_owners: which keys exist, which are ours, and what we want. */
static void took_owners(struct ha *h, const struct etcd_reply *r)
{
    const char *names[HA_MAX_MEMBERS];
    for (size_t m = 0; m < h->n_members; m++)
        names[m] = h->members[m];
    for (size_t i = 0; i < h->n_cl; i++) {
        struct ha_cluster *c = &h->cl[i];
        char *key = key_of(h, "owners", c->name);
        bool had = c->held;
        c->keyed = c->held = c->stale = false;
        c->token = 0;
        for (size_t k = 0; k < r->n_kvs; k++) {
            if (strcmp(r->kvs[k].key, key) != 0)
                continue;
            c->keyed = true;
            c->held = strcmp(r->kvs[k].value, h->member) == 0 &&
                      r->kvs[k].lease == h->lease;
            c->token = c->held ? r->kvs[k].create_revision : 0;
            c->stale = !c->held && strcmp(r->kvs[k].value, h->member) == 0;
        }
        c->polled = c->held;
        if (had && !c->held)
            drop_job(c);
        free(key);
        int o = ha_rendezvous(c->name, names, h->n_members);
        /* a key held by another member while the hash says ours (the
         * owner before us, or ourselves under an old lease) is left to
         * its holder's release or its lease's end */
        c->want = o >= 0 && strcmp(names[o], h->member) == 0;
    }
    h->scan = 0;
}

static void took_claim(struct ha *h, const struct etcd_reply *r)
{
    struct ha_cluster *c = &h->cl[h->op_cluster];
    c->keyed = true;
    c->held = c->polled = r->succeeded;
    c->token = r->succeeded ? r->revision : 0;
    if (!r->succeeded)
        return;
    log_msg(LOG_INFO, "msg=\"ha: cluster owned\" cluster=%s token=%" PRId64,
            c->name, c->token);
    /* every kind is handed over, present or not: a record that is gone
     * means that job ended, whatever this member remembers of it */
    for (int k = 0; k < HA_JOB_KINDS; k++) {
        char *key = job_key(h, c->name, ha_job_kinds[k]);
        const char *found = NULL;
        for (size_t i = 0; i < r->n_kvs; i++)
            if (strcmp(r->kvs[i].key, key) == 0 && r->kvs[i].value[0])
                found = r->kvs[i].value;
        free(key);
        if (found)
            log_msg(LOG_WARN,
                    "msg=\"ha: the owner before left a %s in flight: "
                    "taking it over\" cluster=%s",
                    ha_job_kinds[k], c->name);
        if (h->adopt)
            h->adopt(h->adopt_ctx, c->name, ha_job_kinds[k], found);
    }
}

/* advance: what follows op's good answer r. */
static void advance(struct ha *h, const struct etcd_reply *r)
{
    switch (h->op) {
    case OP_GRANT:
        h->lease = r->id;
        h->valid_until = h->op_sent + (double)r->ttl * LEASE_SAFE;
        h->next = OP_PUT_MEMBER;
        break;
    case OP_KEEPALIVE:
        if (r->ttl <= 0) {
            lease_lost(h, "expired");
            h->next = OP_GRANT;
            break;
        }
        h->valid_until = h->op_sent + (double)r->ttl * LEASE_SAFE;
        h->next = OP_MEMBERS;
        break;
    case OP_PUT_MEMBER:
        h->next = OP_MEMBERS;
        break;
    case OP_MEMBERS:
        took_members(h, r);
        h->next = OP_OWNERS;
        break;
    case OP_OWNERS:
        took_owners(h, r);
        h->next = OP_CLAIM; /* next_change() decides */
        break;
    case OP_CLAIM:
        took_claim(h, r);
        break;
    case OP_JOB:
        if (!r->succeeded) { /* its token is not the key's: not ours */
            log_msg(LOG_WARN,
                    "msg=\"ha: job write refused: the cluster is no longer "
                    "ours\" cluster=%s",
                    h->cl[h->op_cluster].name);
            h->cl[h->op_cluster].held = false;
            drop_job(&h->cl[h->op_cluster]);
        }
        break;
    case OP_RELEASE:
        drop_job(&h->cl[h->op_cluster]);
        h->cl[h->op_cluster].held = h->cl[h->op_cluster].polled = false;
        h->cl[h->op_cluster].token = 0;
        log_msg(LOG_INFO, "msg=\"ha: cluster released\" cluster=%s",
                h->cl[h->op_cluster].name);
        break;
    default:
        break;
    }
}

static void failed(struct ha *h, const struct poll_result *r, bool parse)
{
    h->errors++;
    if (h->was_up || h->errors == 1)
        log_msg(LOG_WARN,
                "msg=\"ha: etcd request failed: keeping the last state\" "
                "endpoint=%s op=%s status=%ld error=\"%s\"",
                h->etcd[h->ep], op_names[h->op], r->status,
                parse ? "bad answer" : r->error);
    h->etcd_up = h->was_up = false;
    if (h->op == OP_JOB)
        h->cl[h->op_cluster].job_dirty[h->op_kind] = true; /* written when
                                                        it answers */
    h->ep = (h->ep + 1) % h->n_etcd;
    h->next = OP_NONE;
    h->next_cycle = h->op_sent + RETRY_GAP;
}

static void on_answer(void *arg, const struct poll_result *r)
{
    struct ha *h = arg;
    struct etcd_reply rep;
    bool ok = r->outcome == POLL_OK &&
              etcd_parse(r->body, r->len, MAX_KVS, &rep) == 0;
    if (!ok && h->op == OP_KEEPALIVE && r->outcome == POLL_HTTP_STATUS &&
        r->status == 404) {
        lease_lost(h, "not_found"); /* some versions answer so */
        h->next = OP_GRANT;
        h->op = OP_NONE;
        return;
    }
    if (!ok) {
        failed(h, r, r->outcome == POLL_OK);
        h->op = OP_NONE;
        return;
    }
    if (!h->was_up)
        log_msg(LOG_INFO, "msg=\"ha: etcd answers\" endpoint=%s",
                h->etcd[h->ep]);
    h->etcd_up = h->was_up = true;
    advance(h, &rep);
    etcd_reply_free(&rep);
    h->op = OP_NONE;
}

/* --- the API ------------------------------------------------------------ */

static void set_conf(struct ha *h, const struct config_ha *conf)
{
    h->etcd = conf->etcd;
    h->n_etcd = conf->n_etcd;
    if (h->ep >= h->n_etcd)
        h->ep = 0;
    h->ttl = conf->ttl;
    if (!h->prefix) { /* a reload keeps the name and prefix it joined as */
        h->prefix = xstrdup(conf->prefix);
        h->member = xstrdup(conf->member);
    }
}

struct ha *ha_new(const struct config_ha *conf, struct poller *p)
{
    struct ha *h = xcalloc(1, sizeof(*h));
    h->p = p;
    h->req = poller_req_new(p, BODY_CAP);
    set_conf(h, conf);
    h->next_cycle = -INFINITY;
    return h;
}

void ha_set_clusters(struct ha *h, const struct config_ha *conf,
                     const char *const *names, size_t n)
{
    struct ha_cluster *cl = xcalloc(n ? n : 1, sizeof(*cl));
    /* a claim or release in flight names a cluster by its index, which
     * changes now: drop it and start a cycle over (a claim that landed
     * is found ours at the next read of the keys) */
    poller_req_cancel(h->req);
    h->op = h->next = OP_NONE;
    h->next_cycle = -INFINITY;
    set_conf(h, conf);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < h->n_cl; j++)
            if (strcmp(h->cl[j].name, names[i]) == 0) {
                cl[i] = h->cl[j]; /* what it knew of it carries over */
                memset(h->cl[j].job, 0, sizeof(h->cl[j].job));
            }
        cl[i].name = xstrdup(names[i]);
    }
    for (size_t j = 0; j < h->n_cl; j++) {
        free(h->cl[j].name);
        drop_job(&h->cl[j]);
    }
    free(h->cl);
    h->cl = cl;
    h->n_cl = n;
    h->scan = 0;
}

void ha_set_busy(struct ha *h, bool (*busy)(void *ctx, const char *cluster),
                 void *ctx)
{
    h->busy = busy;
    h->busy_ctx = ctx;
}

void ha_put_job(struct ha *h, const char *cluster, const char *kind,
                const char *job)
{
    int k = kind_index(kind);
    for (size_t i = 0; k >= 0 && i < h->n_cl; i++) {
        struct ha_cluster *c = &h->cl[i];
        if (strcmp(c->name, cluster) != 0)
            continue;
        free(c->job[k]);
        c->job[k] = job ? xstrdup(job) : NULL;
        c->job_dirty[k] = true;
    }
}

bool ha_job_synced(const struct ha *h, const char *cluster, const char *kind)
{
    int k = kind_index(kind);
    for (size_t i = 0; k >= 0 && i < h->n_cl; i++)
        if (strcmp(h->cl[i].name, cluster) == 0)
            return !h->cl[i].job_dirty[k] &&
                   !(h->op == OP_JOB && h->op_cluster == i &&
                     h->op_kind == (size_t)k);
    return true;
}

void ha_set_adopt(struct ha *h,
                  void (*adopt)(void *ctx, const char *cluster,
                                const char *kind, const char *job),
                  void *ctx)
{
    h->adopt = adopt;
    h->adopt_ctx = ctx;
}

void ha_tick(struct ha *h, double now)
{
    if (h->stopped || poller_req_busy(h->req) || h->op != OP_NONE)
        return;
    if (send_job(h, now))
        return; /* a phase is written at once, a cycle resumes after */
    if (h->lease && now >= h->valid_until + h->ttl * (1 - LEASE_SAFE)) {
        /* past the whole ttl without a renewal: etcd has dropped it */
        lease_lost(h, "not_renewed");
    }
    if (h->next == OP_NONE) {
        if (now < h->next_cycle)
            return;
        h->cycle_start = now;
        h->next = h->lease ? OP_KEEPALIVE : OP_GRANT;
    }
    step(h, now);
}

static const struct ha_cluster *find(const struct ha *h, const char *name)
{
    for (size_t i = 0; i < h->n_cl; i++)
        if (strcmp(h->cl[i].name, name) == 0)
            return &h->cl[i];
    return NULL;
}

bool ha_owns(const struct ha *h, const char *cluster, double now,
             int64_t *token)
{
    const struct ha_cluster *c = find(h, cluster);
    bool owns = c && c->held && h->lease && now < h->valid_until;
    if (token)
        *token = owns ? c->token : 0;
    return owns;
}

bool ha_holds(const struct ha *h, const char *cluster)
{
    const struct ha_cluster *c = find(h, cluster);
    return c && c->polled;
}

void ha_status(const struct ha *h, double now, struct ha_status *out)
{
    memset(out, 0, sizeof(*out));
    out->etcd_up = h->etcd_up;
    out->lease_alive = h->lease && now < h->valid_until;
    out->n_members = h->n_members;
    memcpy(out->members, h->members, sizeof(out->members));
    for (size_t i = 0; i < h->n_cl; i++)
        if (ha_owns(h, h->cl[i].name, now, NULL))
            out->owned++;
    out->etcd_errors = h->errors;
    out->lease_losses = h->losses;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void ha_stop(struct ha *h, double timeout)
{
    h->stopped = true;
    poller_req_cancel(h->req);
    h->op = OP_NONE;
    if (!h->lease)
        return;
    double now = mono_now(), deadline = now + timeout;
    request(h, OP_REVOKE, "/v3/lease/revoke", etcd_lease_json(h->lease), now);
    while (h->op == OP_REVOKE && mono_now() < deadline)
        poller_run(h->p, 50);
    log_msg(LOG_INFO, "msg=\"ha: lease revoked\" lease=%" PRId64 " done=%d",
            h->lease, h->op == OP_NONE && h->etcd_up);
    h->lease = 0;
    drop_all(h);
}

void ha_free(struct ha *h)
{
    if (!h)
        return;
    poller_req_free(h->req);
    for (size_t i = 0; i < h->n_cl; i++) {
        free(h->cl[i].name);
        drop_job(&h->cl[i]);
    }
    free(h->cl);
    free(h->prefix);
    free(h->member);
    free(h);
}
