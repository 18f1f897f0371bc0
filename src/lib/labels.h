/* labels.h: the one label-set type: alert labels and annotations,
 * runbook matching and templates, queued alerts, metric samples.
 *
 * A set is v[0..n). Two kinds are in use, and each function says which
 * it reads:
 *   - sorted: by name in strcmp order, names unique. alert_parse()
 *     leaves every set of a payload so (labels_sort), and labels_get()
 *     needs it;
 *   - in any order (built by hand: exporter samples, journal replay,
 *     tests): labels_find() reads it, and when a name appears twice the
 *     first one counts. */
#ifndef REPLGUARD_LABELS_H
#define REPLGUARD_LABELS_H

#include <stddef.h>

/* One label (or annotation). Neither string is owned here. */
struct label {
    const char *name;
    const char *value;
};

/* A set of n labels at v. */
struct labels {
    const struct label *v;
    size_t n;
};

/* labels_get: the value of the label called name in a sorted set
 * (binary search), or NULL; set may be NULL. */
const char *labels_get(const struct labels *set, const char *name);

/* labels_find: the value of the first label called name in a set in any
 * order, or NULL; set may be NULL. A NULL name in the set is skipped. */
const char *labels_find(const struct labels *set, const char *name);

/* labels_sort: sorts v[0..n) by name. Returns the index of the second of
 * two equal names once sorted (it names a duplicate), or n when the
 * names are unique. */
size_t labels_sort(struct label *v, size_t n);

#endif
