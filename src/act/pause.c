/* pause.c: the pause switch (pause.h). */
#include "act/pause.h"

#include "lib/log.h"
#include "lib/statefile.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>

struct pause_switch {
    pthread_mutex_t mu; /* held while the file is replaced */
    char *dir;
    const struct fileio_ops *ops;
    bool paused;
};

static bool read_pause(const char *dir)
{
    char *text = NULL;
    bool paused = false;
    if (statefile_load(dir, &text) == 0 && text) {
        cJSON *o = cJSON_Parse(text);
        paused = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "paused"));
        cJSON_Delete(o);
    }
    free(text);
    return paused;
}

struct pause_switch *pause_new(const char *state_dir,
                               const struct fileio_ops *ops)
{
    struct pause_switch *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    p->dir = xstrdup(state_dir);
    p->ops = ops;
    p->paused = read_pause(state_dir);
    return p;
}

void pause_free(struct pause_switch *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->mu);
    free(p->dir);
    free(p);
}

int pause_set(struct pause_switch *p, bool paused)
{
    pthread_mutex_lock(&p->mu);
    int rc =
        statefile_save(p->dir, p->ops,
                       paused ? "{\"paused\":true}\n" : "{\"paused\":false}\n");
    if (rc == 0)
        p->paused = paused;
    pthread_mutex_unlock(&p->mu);
    if (rc == 0)
        log_msg(LOG_WARN, "msg=\"remediation %s\"",
                paused ? "paused" : "resumed");
    return rc;
}

bool pause_get(struct pause_switch *p)
{
    pthread_mutex_lock(&p->mu);
    bool paused = p->paused;
    pthread_mutex_unlock(&p->mu);
    return paused;
}
