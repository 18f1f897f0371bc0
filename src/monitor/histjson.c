/* histjson.c: GET /api/v1/history, written straight into a buffer as
 * statejson.c does: at 1,000 nodes and 300 slots this is 300,000
 * numbers a round, so lags go out as whole milliseconds through
 * buf_put_u64 rather than printf. */
#include "monitor/histjson.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/laghist.h"

/* put_name: s as a JSON string (names come from the config; escape what
 * JSON requires anyway). */
static void put_name(struct buf *b, const char *s)
{
    buf_puts(b, "\"");
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            buf_printf(b, "\\u%04x", c);
        else
            buf_append(b, s, 1);
    }
    buf_puts(b, "\"");
}

/* put_lags: node row i's slots, oldest first. */
static void put_lags(struct buf *b, const struct laghist *h, size_t row)
{
    buf_puts(b, "[");
    for (size_t i = 0; h && i < h->n; i++) {
        float s = h->v[row * h->cap + laghist_slot(h, i)];
        if (i)
            buf_puts(b, ",");
        if (isnan(s))
            buf_puts(b, "null");
        else
            buf_put_u64(b, (uint64_t)llround((double)s * 1000.0));
    }
    buf_puts(b, "]");
}

static void put_head(struct buf *b, const struct laghist *h)
{
    buf_puts(b, "{\"window\":");
    buf_put_decimal(b, h ? h->window : 0);
    buf_puts(b, ",\"step\":");
    buf_put_decimal(b, h ? h->step : 0);
    buf_puts(b, ",\"times\":[");
    for (size_t i = 0; h && i < h->n; i++) {
        if (i)
            buf_puts(b, ",");
        buf_put_decimal(b, h->t[laghist_slot(h, i)]);
    }
    buf_puts(b, "],\"clusters\":[");
}

void histjson_render(const struct agent_view *v, struct histjson *out)
{
    const struct laghist *h = v->history;
    if (h && (h->n_nodes != v->n_nodes || !h->t))
        h = NULL;
    struct buf b;
    buf_init(&b, 0);
    memset(out, 0, sizeof(*out));
    put_head(&b, h);
    out->head_len = b.len;
    out->parts =
        xcalloc(v->n_clusters ? v->n_clusters : 1, sizeof(*out->parts));
    for (size_t ci = 0; ci < v->n_clusters; ci++) {
        const struct cluster_view *c = &v->clusters[ci];
        struct histjson_part *p = &out->parts[out->n_parts++];
        if (ci)
            buf_puts(&b, ",");
        p->name = xstrdup(c->name ? c->name : "");
        p->off = b.len;
        buf_puts(&b, "{\"name\":");
        put_name(&b, c->name);
        buf_puts(&b, ",\"nodes\":[");
        for (size_t k = 0; k < c->n_nodes; k++) {
            size_t row = c->first_node + k;
            if (row >= v->n_nodes)
                break;
            buf_puts(&b, k ? ",{\"name\":" : "{\"name\":");
            put_name(&b, v->nodes[row].name);
            buf_puts(&b, ",\"lag_ms\":");
            put_lags(&b, h, row);
            buf_puts(&b, "}");
        }
        buf_puts(&b, "]}");
        p->len = b.len - p->off;
    }
    buf_puts(&b, "]}");
    out->len = b.len;
    out->doc = buf_detach(&b);
}

int histjson_cluster(const struct histjson *h, const char *name, struct buf *b)
{
    for (size_t i = 0; i < h->n_parts; i++) {
        const struct histjson_part *p = &h->parts[i];
        if (strcmp(p->name, name) != 0)
            continue;
        buf_append(b, h->doc, h->head_len);
        buf_append(b, h->doc + p->off, p->len);
        buf_puts(b, "]}");
        return 0;
    }
    return -1;
}

void histjson_copy(struct histjson *dst, const struct histjson *src)
{
    *dst = *src;
    dst->doc = xmalloc(src->len + 1);
    memcpy(dst->doc, src->doc, src->len + 1);
    dst->parts = xcalloc(src->n_parts ? src->n_parts : 1, sizeof(*dst->parts));
    for (size_t i = 0; i < src->n_parts; i++) {
        dst->parts[i] = src->parts[i];
        dst->parts[i].name = xstrdup(src->parts[i].name);
    }
}

void histjson_free(struct histjson *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n_parts; i++)
        free(h->parts[i].name);
    free(h->parts);
    free(h->doc);
    memset(h, 0, sizeof(*h));
}
