/* webhookcount.h: the answers of POST /webhook counted by HTTP status
 * (replguard_webhook_requests_total{code}). At most WEBHOOKCOUNT_CODES
 * distinct codes are counted; later new codes are not. Thread-safe. */
#ifndef REPLGUARD_WEBHOOKCOUNT_H
#define REPLGUARD_WEBHOOKCOUNT_H

#include <stddef.h>
#include <stdint.h>

#define WEBHOOKCOUNT_CODES 16

/* Opaque. */
struct webhook_counts;

/* webhookcount_new: all counts 0; free with webhookcount_free(). */
struct webhook_counts *webhookcount_new(void);
void webhookcount_free(struct webhook_counts *w);

/* webhookcount_add: counts one answer with this status. */
void webhookcount_add(struct webhook_counts *w, unsigned status);

/* webhookcount_read: the counts so far of the n codes in codes[], into
 * counts[] (0 for a code never counted). */
void webhookcount_read(struct webhook_counts *w, const unsigned *codes,
                       uint64_t *counts, size_t n);

#endif
