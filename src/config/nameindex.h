/* nameindex.h: a name -> index map, built once from an array of names.
 *
 * config_cluster_index() and the engine's lookups by cluster name run
 * per cluster per round (the executor's callbacks, reloads); a linear
 * scan made those O(clusters^2) per round, and the duplicate-name check
 * at load O(clusters^2) too. An open-addressing table with at least
 * twice as many slots as names keeps each lookup O(1) on average. The
 * names are borrowed: they must outlive the index and not change. */
#ifndef REPLGUARD_NAMEINDEX_H
#define REPLGUARD_NAMEINDEX_H

#include <stddef.h>

struct nameindex;

/* nameindex_new: an empty index with room for up to n names. Free with
 * nameindex_free(). */
struct nameindex *nameindex_new(size_t n);

/* nameindex_add: maps name (borrowed) to i. Returns i when name was not
 * in the index yet; otherwise leaves the index as it was and returns the
 * index the name already maps to. At most the n names of
 * nameindex_new() may be added. */
size_t nameindex_add(struct nameindex *x, const char *name, size_t i);

/* nameindex_get: the index name maps to, or -1 when it is not in x (or
 * x is NULL). */
long nameindex_get(const struct nameindex *x, const char *name);

/* nameindex_free: frees x; NULL is a no-op. */
void nameindex_free(struct nameindex *x);

#endif
