/* webhookcount.c: webhook answers by status (webhookcount.h). */
#include "act/webhookcount.h"

#include "lib/util.h"

#include <pthread.h>
#include <stdlib.h>

struct webhook_counts {
    pthread_mutex_t mu;
    unsigned codes[WEBHOOKCOUNT_CODES];
    uint64_t counts[WEBHOOKCOUNT_CODES];
    size_t n;
};

struct webhook_counts *webhookcount_new(void)
{
    struct webhook_counts *w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    return w;
}

void webhookcount_free(struct webhook_counts *w)
{
    if (!w)
        return;
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void webhookcount_add(struct webhook_counts *w, unsigned status)
{
    pthread_mutex_lock(&w->mu);
    size_t i = 0;
    while (i < w->n && w->codes[i] != status)
        i++;
    if (i == w->n && w->n < WEBHOOKCOUNT_CODES)
        w->codes[w->n++] = status;
    if (i < w->n)
        w->counts[i]++;
    pthread_mutex_unlock(&w->mu);
}

void webhookcount_read(struct webhook_counts *w, const unsigned *codes,
                       uint64_t *counts, size_t n)
{
    pthread_mutex_lock(&w->mu);
    for (size_t k = 0; k < n; k++) {
        counts[k] = 0;
        for (size_t i = 0; i < w->n; i++)
            if (w->codes[i] == codes[k])
                counts[k] = w->counts[i];
    }
    pthread_mutex_unlock(&w->mu);
}
