/* walk_server.c: see walk_server.h. */
#include "walk_server.h"

#include <stdio.h>
#include <string.h>

#include "lib/util.h"

struct query {
    char buf[256];
    const char *name[8], *value[8];
    size_t n;
};

/* query_parse: splits "a=1&b=2" into q (pointers into q->buf). */
static void query_parse(struct query *q, const char *s)
{
    snprintf(q->buf, sizeof(q->buf), "%s", s);
    q->n = 0;
    char *p = q->buf;
    while (*p && q->n < ARRAY_LEN(q->name)) {
        char *amp = strchr(p, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(p, '=');
        if (eq) {
            *eq = '\0';
            q->name[q->n] = p;
            q->value[q->n++] = eq + 1;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
}

static const char *query_arg(void *ctx, const char *name)
{
    const struct query *q = ctx;
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->name[i], name) == 0)
            return q->value[i];
    return NULL;
}

void walk_server_answer(struct sim *s, unsigned node,
                        const struct merklewalk_request *rq,
                        struct simapi_reply *out)
{
    char path[128];
    struct query q;
    const char *qs = strchr(rq->path, '?');
    int plen = qs ? (int)(qs - rq->path) : (int)strlen(rq->path);
    snprintf(path, sizeof(path), "%.*s", plen, rq->path);
    query_parse(&q, qs ? qs + 1 : "");
    struct simapi_request req = {
        .method = rq->post ? "POST" : "GET",
        .path = path,
        .arg = query_arg,
        .arg_ctx = &q,
        .body = rq->body,
        .body_len = rq->body ? strlen(rq->body) : 0,
    };
    simapi_handle(s, 0, node, &req, out);
}
