/* nameindex.c: the open-addressing name -> index map (nameindex.h). */
#include "config/nameindex.h"

#include "lib/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    const char *name; /* NULL: empty */
    size_t i;
};

struct nameindex {
    struct slot *slots;
    size_t mask; /* slots - 1; slots is a power of two */
    size_t used, max;
};

/* FNV-1a: short names, few collisions, no state. */
static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

struct nameindex *nameindex_new(size_t n)
{
    struct nameindex *x = xcalloc(1, sizeof(*x));
    size_t slots = 8;
    while (slots < 2 * n) /* at most half full: short probe runs */
        slots *= 2;
    x->slots = xcalloc(slots, sizeof(*x->slots));
    x->mask = slots - 1;
    x->max = n;
    return x;
}

/* find: the slot holding name, or the empty slot where it would go. */
static struct slot *find(const struct nameindex *x, const char *name)
{
    size_t k = (size_t)hash(name) & x->mask;
    while (x->slots[k].name && strcmp(x->slots[k].name, name) != 0)
        k = (k + 1) & x->mask;
    return &x->slots[k];
}

size_t nameindex_add(struct nameindex *x, const char *name, size_t i)
{
    struct slot *s = find(x, name);
    if (s->name)
        return s->i;
    if (x->used >= x->max)
        abort(); /* the caller sized the index: a bug */
    s->name = name;
    s->i = i;
    x->used++;
    return i;
}

long nameindex_get(const struct nameindex *x, const char *name)
{
    if (!x)
        return -1;
    const struct slot *s = find(x, name);
    return s->name ? (long)s->i : -1;
}

void nameindex_free(struct nameindex *x)
{
    if (!x)
        return;
    free(x->slots);
    free(x);
}
