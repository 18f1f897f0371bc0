/* acks.h: acks of clusters' latched blocks (POST /api/v1/ack), queued
 * by HTTP handlers for the engine. Bounded: past ACKS_MAX waiting, an
 * ack is dropped (the operator repeats it). Thread-safe. */
#ifndef REPLGUARD_ACKS_H
#define REPLGUARD_ACKS_H

#include <stddef.h>

#define ACKS_MAX 64

/* Opaque. */
struct ack_queue;

/* acks_new: an empty queue; free with acks_free() (which frees what is
 * still queued). */
struct ack_queue *acks_new(void);
void acks_free(struct ack_queue *q);

/* acks_push: queues a copy of cluster, unless ACKS_MAX are waiting. */
void acks_push(struct ack_queue *q, const char *cluster);

/* acks_take: moves up to max queued acks into out, oldest first (heap
 * strings the caller frees); returns how many. */
size_t acks_take(struct ack_queue *q, char **out, size_t max);

#endif
