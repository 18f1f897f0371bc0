/* demofeed.c: the demo's terminal account of remediation decisions. */
#include "demo/demofeed.h"

#include "lib/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS       200
#define FEED_LINE_MAX 8192

struct demofeed {
    char *path;
    FILE *out;
    long offset;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
};

static const char *field(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* verb: what the terminal calls an audit event; NULL for other events. */
static const char *verb(const char *event, bool dry_run)
{
    static const char *const names[][2] = {
        {"action", "acted"},
        {"skipped", "skipped"},
        {"verified", "verified"},
        {"verify_failed", "NOT FIXED"},
        {"cancelled", "cancelled"},
        {"interrupted", "interrupted"},
        {"tilt_enter", "TILT"},
        {"tilt_extend", "TILT"},
        {"tilt_exit", "TILT over"},
        {"escalated", "ESCALATED"},
        {"escalation_sent", "paged"},
        {"escalation_failed", "page failed"},
        {"escalation_resolved", "unpaged"},
    };
    if (!event)
        return NULL;
    if (dry_run && strcmp(event, "action") == 0)
        return "dry-run";
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (strcmp(event, names[i][0]) == 0)
            return names[i][1];
    return event;
}

int demofeed_format(const char *line, char *out, size_t outlen)
{
    out[0] = '\0';
    cJSON *o = cJSON_Parse(line);
    const char *ev = o ? field(o, "event") : NULL;
    const char *v = verb(ev, cJSON_IsTrue(cJSON_GetObjectItem(o, "dry_run")));
    if (!v) {
        cJSON_Delete(o);
        return -1;
    }
    const char *t = field(o, "time"), *rb = field(o, "runbook");
    const char *act = field(o, "action"), *tg = field(o, "target");
    const char *why = field(o, "reason");
    if (why && strcmp(ev, "skipped") == 0 && strcmp(why, "condition") == 0)
        why = "not needed (its when: is false)";
    /* "2025-11-22T16:02:11.250Z": the time of day, UTC */
    char hms[9] = "--:--:--";
    if (t && strlen(t) >= 19)
        memcpy(hms, t + 11, 8);
    snprintf(out, outlen, "%s %-9s %s%s%s%s%s%s%s", hms, v, rb ? rb : "",
             act ? " " : "", act ? act : "", tg ? " " : "", tg ? tg : "",
             why ? ": " : "", why ? why : "");
    cJSON_Delete(o);
    return 0;
}

/* drain: prints every complete line past f->offset. */
static void drain(struct demofeed *f)
{
    FILE *in = fopen(f->path, "r");
    if (!in)
        return;
    char *line = xmalloc(FEED_LINE_MAX), out[1024];
    if (fseek(in, f->offset, SEEK_SET) == 0) {
        while (fgets(line, FEED_LINE_MAX, in)) {
            size_t n = strlen(line);
            if (n == 0 || line[n - 1] != '\n')
                break; /* a line being written: read it whole next time */
            f->offset += (long)n;
            if (demofeed_format(line, out, sizeof(out)) == 0)
                fprintf(f->out, "replguard: %s\n", out);
        }
        fflush(f->out);
    }
    free(line);
    fclose(in);
}

static void *feed_main(void *arg)
{
    struct demofeed *f = arg;
    pthread_mutex_lock(&f->mu);
    while (!f->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += POLL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&f->cv, &f->mu, &until);
        pthread_mutex_unlock(&f->mu);
        drain(f);
        pthread_mutex_lock(&f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

struct demofeed *demofeed_start(const char *path, FILE *out)
{
    struct demofeed *f = xcalloc(1, sizeof(*f));
    f->path = xstrdup(path);
    f->out = out;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    if (pthread_create(&f->thread, NULL, feed_main, f) != 0) {
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
        free(f->path);
        free(f);
        return NULL;
    }
    return f;
}

void demofeed_stop(struct demofeed *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    drain(f);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f->path);
    free(f);
}
