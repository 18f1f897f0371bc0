/* merkle.c: a keyed store with a lazily hashed Merkle tree over it.
 *
 * All levels live in one array, root first: level L starts at
 * (16^L - 1) / 15. Interior nodes carry a dirty byte; the invariant is
 * that a dirty node's ancestors are dirty too, so marking a path stops at
 * the first node already dirty and a write costs O(depth) at most. */
#include "lib/merkle.h"
#include "lib/util.h"

#include <stdlib.h>
#include <string.h>

struct merkle {
    unsigned depth;
    uint32_t keys;
    uint64_t leaves;
    uint64_t *hash;   /* every level, root first */
    uint8_t *dirty;   /* interior nodes only */
    uint64_t *values; /* per key; 0 = absent */
    uint64_t *junk;   /* per leaf bogus row, allocated on first corrupt */
    size_t corrupted; /* leaves with a bogus row */
};

static uint64_t level_start(unsigned level)
{
    return ((1ULL << (4 * level)) - 1) / 15;
}

static uint64_t row_hash(uint32_t key, uint64_t value)
{
    return mix64(mix64((uint64_t)key + 0x6a09e667f3bcc909ULL) ^ value);
}

static uint64_t hash_children(const uint64_t *child)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < MERKLE_FANOUT; i++)
        h = mix64(h ^ child[i]) + (uint64_t)i;
    return h;
}

struct merkle *merkle_new(unsigned depth, uint32_t keys)
{
    if (depth < 1 || depth > MERKLE_MAX_DEPTH || keys == 0)
        return NULL;
    struct merkle *t = xcalloc(1, sizeof(*t));
    t->depth = depth;
    t->keys = keys;
    t->leaves = 1ULL << (4 * depth);
    t->hash = xcalloc(level_start(depth + 1), sizeof(uint64_t));
    t->dirty = xcalloc(level_start(depth), 1);
    t->values = xcalloc(keys, sizeof(uint64_t));
    merkle_rebuild(t);
    return t;
}

void merkle_free(struct merkle *t)
{
    if (!t)
        return;
    free(t->hash);
    free(t->dirty);
    free(t->values);
    free(t->junk);
    free(t);
}

unsigned merkle_depth(const struct merkle *t)
{
    return t->depth;
}

uint32_t merkle_keys(const struct merkle *t)
{
    return t->keys;
}

uint64_t merkle_level_size(const struct merkle *t, unsigned level)
{
    (void)t;
    return 1ULL << (4 * level);
}

uint64_t merkle_leaf_of(const struct merkle *t, uint32_t key)
{
    return mix64((uint64_t)key ^ 0x3c6ef372fe94f82bULL) >> (64 - 4 * t->depth);
}

/* leaf_xor: applies delta to a leaf's hash and dirties its ancestors. */
static void leaf_xor(struct merkle *t, uint64_t leaf, uint64_t delta)
{
    t->hash[level_start(t->depth) + leaf] ^= delta;
    uint64_t idx = leaf;
    for (unsigned level = t->depth; level-- > 0;) {
        idx /= MERKLE_FANOUT;
        uint8_t *d = &t->dirty[level_start(level) + idx];
        if (*d)
            break;
        *d = 1;
    }
}

void merkle_put(struct merkle *t, uint32_t key, uint64_t value)
{
    if (key >= t->keys)
        return;
    uint64_t old = t->values[key];
    if (old == value)
        return;
    uint64_t delta =
        (old ? row_hash(key, old) : 0) ^ (value ? row_hash(key, value) : 0);
    t->values[key] = value;
    leaf_xor(t, merkle_leaf_of(t, key), delta);
}

uint64_t merkle_get(const struct merkle *t, uint32_t key)
{
    return key < t->keys ? t->values[key] : 0;
}

uint64_t merkle_hash(struct merkle *t, unsigned level, uint64_t index)
{
    uint64_t pos = level_start(level) + index;
    if (level == t->depth || !t->dirty[pos])
        return t->hash[pos];
    uint64_t child[MERKLE_FANOUT];
    for (int i = 0; i < MERKLE_FANOUT; i++)
        child[i] = merkle_hash(t, level + 1, index * MERKLE_FANOUT + i);
    t->hash[pos] = hash_children(child);
    t->dirty[pos] = 0;
    return t->hash[pos];
}

int merkle_corrupt(struct merkle *t, uint64_t leaf, uint64_t junk)
{
    if (leaf >= t->leaves)
        return -1;
    if (!t->junk)
        t->junk = xcalloc(t->leaves, sizeof(uint64_t));
    junk = mix64(junk) | 1; /* a bogus row never hashes to zero */
    if (t->junk[leaf] == junk)
        junk = mix64(junk) | 1;
    if (!t->junk[leaf])
        t->corrupted++;
    leaf_xor(t, leaf, t->junk[leaf] ^ junk);
    t->junk[leaf] = junk;
    return 0;
}

size_t merkle_corrupt_count(const struct merkle *t)
{
    return t->corrupted;
}

size_t merkle_corrupt_list(const struct merkle *t, uint64_t *out, size_t max)
{
    size_t n = 0;
    for (uint64_t leaf = 0; t->junk && leaf < t->leaves && n < max; leaf++)
        if (t->junk[leaf])
            out[n++] = leaf;
    return n;
}

int merkle_repair(struct merkle *t, uint64_t leaf)
{
    if (!t->junk || leaf >= t->leaves || !t->junk[leaf])
        return 0;
    leaf_xor(t, leaf, t->junk[leaf]);
    t->junk[leaf] = 0;
    t->corrupted--;
    return 1;
}

void merkle_rebuild(struct merkle *t)
{
    uint64_t *leaf = t->hash + level_start(t->depth);
    memset(leaf, 0, t->leaves * sizeof(uint64_t));
    for (uint32_t key = 0; key < t->keys; key++)
        if (t->values[key])
            leaf[merkle_leaf_of(t, key)] ^= row_hash(key, t->values[key]);
    for (uint64_t i = 0; t->junk && i < t->leaves; i++)
        leaf[i] ^= t->junk[i];
    memset(t->dirty, 1, level_start(t->depth));
    merkle_hash(t, 0, 0);
}

/* A growable list of node indices for the level-by-level walk. */
struct idx_list {
    uint64_t *v;
    size_t n, cap;
};

static void idx_push(struct idx_list *l, uint64_t x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof(uint64_t));
    }
    l->v[l->n++] = x;
}

long merkle_diff(struct merkle *a, struct merkle *b, uint64_t *out, size_t max,
                 uint64_t *visited)
{
    if (a->depth != b->depth)
        return -1;
    struct idx_list cur = {0}, next = {0};
    uint64_t seen = 1;
    if (merkle_hash(a, 0, 0) != merkle_hash(b, 0, 0))
        idx_push(&cur, 0);
    for (unsigned level = 1; level <= a->depth && cur.n; level++) {
        next.n = 0;
        for (size_t i = 0; i < cur.n; i++) {
            for (uint64_t c = 0; c < MERKLE_FANOUT; c++) {
                uint64_t idx = cur.v[i] * MERKLE_FANOUT + c;
                seen++;
                if (merkle_hash(a, level, idx) != merkle_hash(b, level, idx))
                    idx_push(&next, idx);
            }
        }
        struct idx_list tmp = cur;
        cur = next;
        next = tmp;
    }
    for (size_t i = 0; i < cur.n && i < max; i++)
        out[i] = cur.v[i];
    long total = (long)cur.n;
    free(cur.v);
    free(next.v);
    if (visited)
        *visited = seen;
    return total;
}
