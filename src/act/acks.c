/* acks.c: the ack queue (acks.h). */
#include "act/acks.h"

#include "lib/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ack_queue {
    pthread_mutex_t mu;
    char *v[ACKS_MAX];
    size_t n;
};

struct ack_queue *acks_new(void)
{
    struct ack_queue *q = xcalloc(1, sizeof(*q));
    pthread_mutex_init(&q->mu, NULL);
    return q;
}

void acks_free(struct ack_queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->n; i++)
        free(q->v[i]);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

void acks_push(struct ack_queue *q, const char *cluster)
{
    pthread_mutex_lock(&q->mu);
    if (q->n < ACKS_MAX)
        q->v[q->n++] = xstrdup(cluster);
    pthread_mutex_unlock(&q->mu);
}

size_t acks_take(struct ack_queue *q, char **out, size_t max)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->n < max ? q->n : max;
    memcpy(out, q->v, n * sizeof(*out));
    memmove(q->v, q->v + n, (q->n - n) * sizeof(*q->v));
    q->n -= n;
    pthread_mutex_unlock(&q->mu);
    return n;
}
