/* merkle.h: a keyed store with a Merkle tree over it.
 *
 * The store maps keys 0..keys-1 to values (0 = absent). Keys hash into
 * 16^depth leaf buckets. A leaf's hash is the XOR of the row hashes of the
 * rows in its bucket (so a write updates it in O(1)); an interior node's
 * hash is a hash of its 16 children in order, recomputed lazily: a write
 * marks the path to the root dirty in O(depth), a read of an interior
 * node recomputes only the dirty nodes below it.
 *
 * Level 0 is the root, level depth the leaves; node i of level L has the
 * children 16i..16i+15 of level L+1.
 *
 * Corruption is modelled as data: merkle_corrupt() adds a bogus row to a
 * bucket, which changes its hash (and every ancestor's) until
 * merkle_repair() removes it. A full rebuild counts it like any row. */
#ifndef REPLGUARD_MERKLE_H
#define REPLGUARD_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_FANOUT    16
#define MERKLE_MAX_DEPTH 6

struct merkle;

/* merkle_new: an empty store of `keys` keys (1..2^32-1) over a tree of
 * the given depth (1..MERKLE_MAX_DEPTH). Returns NULL for bad arguments.
 * Free with merkle_free(). */
struct merkle *merkle_new(unsigned depth, uint32_t keys);
/* merkle_free: releases t; NULL is a no-op. */
void merkle_free(struct merkle *t);

/* merkle_depth, merkle_keys: the shape t was made with. */
unsigned merkle_depth(const struct merkle *t);
uint32_t merkle_keys(const struct merkle *t);
/* merkle_level_size: the number of nodes on a level, 16^level. */
uint64_t merkle_level_size(const struct merkle *t, unsigned level);
/* merkle_leaf_of: the leaf bucket that key falls into. */
uint64_t merkle_leaf_of(const struct merkle *t, uint32_t key);

/* merkle_put: sets key to value (0 deletes it); O(depth). */
void merkle_put(struct merkle *t, uint32_t key, uint64_t value);
/* merkle_get: the value of key, 0 when absent. */
uint64_t merkle_get(const struct merkle *t, uint32_t key);

/* merkle_hash: the hash of node index of level (both in range; the
 * caller checks). Recomputes dirty interior nodes below it. */
uint64_t merkle_hash(struct merkle *t, unsigned level, uint64_t index);

/* merkle_corrupt: adds a bogus row to leaf; a leaf already corrupt gets
 * a different bogus row. Returns 0, or -1 if leaf is out of range. */
int merkle_corrupt(struct merkle *t, uint64_t leaf, uint64_t junk);
/* merkle_corrupt_count: how many leaves hold bogus rows. */
size_t merkle_corrupt_count(const struct merkle *t);
/* merkle_corrupt_list: copies up to max corrupt leaves, ascending, into
 * out; returns how many it copied. */
size_t merkle_corrupt_list(const struct merkle *t, uint64_t *out, size_t max);
/* merkle_repair: removes the bogus rows of leaf; returns 1 if it had
 * any, else 0. */
int merkle_repair(struct merkle *t, uint64_t leaf);

/* merkle_rebuild: recomputes every hash from the rows (tests compare it
 * with the incremental result). */
void merkle_rebuild(struct merkle *t);

/* merkle_diff: walks a and b (same depth) top-down, descending only into
 * differing nodes, and writes the differing leaves, ascending, into out
 * (up to max). Returns the total number of differing leaves (which may
 * exceed max), or -1 if the shapes differ. *visited, if not NULL, gets
 * the number of node pairs compared. */
long merkle_diff(struct merkle *a, struct merkle *b, uint64_t *out, size_t max,
                 uint64_t *visited);

#endif
