/* labels.c: label sets (labels.h). */
#include "lib/labels.h"

#include <stdlib.h>
#include <string.h>

const char *labels_get(const struct labels *set, const char *name)
{
    size_t lo = 0;
    size_t hi = set != NULL ? set->n : 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(set->v[mid].name, name);
        if (cmp == 0)
            return set->v[mid].value;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *labels_find(const struct labels *set, const char *name)
{
    for (size_t i = 0; set && i < set->n; i++) {
        if (set->v[i].name && strcmp(set->v[i].name, name) == 0)
            return set->v[i].value;
    }
    return NULL;
}

static int cmp_label(const void *a, const void *b)
{
    const struct label *la = a;
    const struct label *lb = b;

    return strcmp(la->name, lb->name);
}

size_t labels_sort(struct label *v, size_t n)
{
    if (n < 2)
        return n;
    qsort(v, n, sizeof(*v), cmp_label);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i - 1].name, v[i].name) == 0)
            return i;
    }
    return n;
}
