/* errlist.h: error messages collected by a loader (the config, the
 * runbooks), each "FILE:LINE:COLUMN: message", in caller-owned storage. */
#ifndef REPLGUARD_ERRLIST_H
#define REPLGUARD_ERRLIST_H

#include <stddef.h>

#define ERRLIST_MAX 200 /* messages; then one "too many errors" line */
/* bytes of a config or runbook: 10,000 nodes take ~0.8 MB */
#define LOAD_MAX_FILE_SIZE (16 * 1024 * 1024)

struct errlist {
    char **msg;
    size_t n;
    size_t cap;
};

/* errlist_init: an empty list. */
void errlist_init(struct errlist *errs);
/* errlist_reset: frees every message; the list is empty and may be
 * reused. */
void errlist_reset(struct errlist *errs);

#endif
