/* histjson.h: the body of GET /api/v1/history, rendered from an
 * agent_view's lag history (model/laghist.h), with where each cluster's
 * part lies so that ?cluster= is a copy, not a render.
 *
 *   {"window":900,"step":3,"times":[1763769600.25,...],
 *    "clusters":[{"name":"main","nodes":[
 *      {"name":"node2","lag_ms":[12,null,250,...]},...]},...]}
 *
 * times are the wall time (Unix seconds) each slot began, oldest first;
 * lag_ms the highest lag of the slot's rounds in whole milliseconds,
 * null where unknown (stale, unreachable, or the primary then), aligned
 * with times. Every node of every cluster is listed, the primary too. */
#ifndef REPLGUARD_HISTJSON_H
#define REPLGUARD_HISTJSON_H

#include <stddef.h>

#include "lib/util.h"
#include "model/view.h"

/* Where one cluster's object lies in the rendered document. */
struct histjson_part {
    char *name; /* owned: the cluster's name */
    size_t off, len;
};

/* The rendered document and its parts; owned by the caller
 * (histjson_free). */
struct histjson {
    char *doc;
    size_t len;
    size_t head_len; /* bytes up to and including `"clusters":[` */
    struct histjson_part *parts;
    size_t n_parts;
};

/* histjson_render: renders v's history into out (an empty document with
 * no times and every cluster's nodes with empty lists when v has no
 * history). v is only read. */
void histjson_render(const struct agent_view *v, struct histjson *out);

/* histjson_cluster: appends to b the document restricted to the cluster
 * named name (the head, that cluster's part, the closing brackets): a
 * copy of bytes already rendered. Returns -1 when h has no such
 * cluster. */
int histjson_cluster(const struct histjson *h, const char *name, struct buf *b);

/* histjson_copy: a deep copy of src into dst (the caller's; free it with
 * histjson_free). */
void histjson_copy(struct histjson *dst, const struct histjson *src);

/* histjson_free: releases h's document and parts; NULL is a no-op. */
void histjson_free(struct histjson *h);

#endif
