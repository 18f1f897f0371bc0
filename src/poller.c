/* poller.c: request slots over one libcurl multi handle. */
#include "poller.h"

#include "util.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define RECV_BUFFER 4096

struct poller {
    CURLM *multi;
    int running;
};

struct poll_req {
    struct poller *p;
    CURL *easy;
    struct buf body;
    size_t cap;
    bool busy, too_large;
    char *url, *json;
    struct curl_slist *headers;
    poll_done_fn fn;
    void *ctx;
    char errbuf[CURL_ERROR_SIZE];
};

int poller_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void poller_global_cleanup(void)
{
    curl_global_cleanup();
}

struct poller *poller_new(void)
{
    struct poller *p = xcalloc(1, sizeof(*p));
    p->multi = curl_multi_init();
    if (!p->multi)
        abort();
    return p;
}

void poller_free(struct poller *p)
{
    if (!p)
        return;
    curl_multi_cleanup(p->multi);
    free(p);
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct poll_req *r = ctx;
    size_t len = size * n;
    if (r->body.len + len > r->cap || buf_append(&r->body, data, len) < 0) {
        r->too_large = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return len;
}

struct poll_req *poller_req_new(struct poller *p, size_t body_cap)
{
    struct poll_req *r = xcalloc(1, sizeof(*r));
    r->p = p;
    r->cap = body_cap;
    buf_init(&r->body, body_cap);
    r->easy = curl_easy_init();
    if (!r->easy)
        abort();
    /* node answers are a few KiB: libcurl's 16 KiB default receive
     * buffer per handle would be most of replguard's memory at 1,000
     * nodes */
    curl_easy_setopt(r->easy, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER);
    r->headers = curl_slist_append(NULL, "Content-Type: application/json");
    return r;
}

static void detach(struct poll_req *r)
{
    if (r->busy)
        curl_multi_remove_handle(r->p->multi, r->easy);
    r->busy = false;
}

void poller_req_free(struct poll_req *r)
{
    if (!r)
        return;
    detach(r);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    buf_free(&r->body);
    free(r->url);
    free(r->json);
    free(r);
}

void poller_req_cancel(struct poll_req *r)
{
    detach(r);
    buf_free(&r->body);
}

bool poller_req_busy(const struct poll_req *r)
{
    return r->busy;
}

static int start(struct poll_req *r, const char *url, double timeout,
                 poll_done_fn fn, void *ctx)
{
    if (r->busy)
        return -1;
    CURL *e = r->easy;
    long ms = timeout > 0 ? (long)(timeout * 1000) : 1000;
    free(r->url);
    r->url = xstrdup(url);
    buf_reset(&r->body);
    r->too_large = false;
    r->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "replguard/" PACKAGE_VERSION);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->cap);
    r->fn = fn;
    r->ctx = ctx;
    if (curl_multi_add_handle(r->p->multi, e) != CURLM_OK)
        return -1;
    r->busy = true;
    return 0;
}

int poller_request(struct poll_req *r, const char *method, const char *url,
                   const char *json, double timeout, poll_done_fn fn, void *ctx)
{
    if (r->busy)
        return -1;
    CURL *e = r->easy;
    if (json) {
        free(r->json);
        r->json = xstrdup(json);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->json);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->json));
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    bool plain = strcmp(method, json ? "POST" : "GET") == 0;
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, plain ? NULL : method);
    return start(r, url, timeout, fn, ctx);
}

int poller_get(struct poll_req *r, const char *url, double timeout,
               poll_done_fn fn, void *ctx)
{
    return poller_request(r, "GET", url, NULL, timeout, fn, ctx);
}

int poller_post_json(struct poll_req *r, const char *url, const char *json,
                     double timeout, poll_done_fn fn, void *ctx)
{
    return poller_request(r, "POST", url, json, timeout, fn, ctx);
}

static enum poll_outcome classify(const struct poll_req *r, CURLcode rc,
                                  long status)
{
    if (r->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        return POLL_TOO_LARGE;
    switch (rc) {
    case CURLE_OK:
        return status >= 200 && status < 300 ? POLL_OK : POLL_HTTP_STATUS;
    case CURLE_OPERATION_TIMEDOUT:
        return POLL_TIMEOUT;
    default:
        return POLL_CONNECT;
    }
}

static void finish(struct poll_req *r, CURLcode rc)
{
    long status = 0;
    double secs = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME, &secs);
    detach(r);
    struct poll_result res = {
        .outcome = classify(r, rc, status),
        .status = status,
        .error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc),
        .body = r->body.data ? r->body.data : "",
        .len = r->body.len,
        .seconds = secs,
    };
    if (r->fn)
        r->fn(r->ctx, &res);
    /* answers are parsed as they complete, so only the transfers still
     * running hold a body buffer: at 1,000 nodes that is a handful, not
     * a thousand */
    buf_free(&r->body);
}

int poller_run(struct poller *p, int timeout_ms)
{
    curl_multi_poll(p->multi, NULL, 0, timeout_ms < 0 ? 0 : timeout_ms, NULL);
    curl_multi_perform(p->multi, &p->running);
    CURLMsg *msg;
    int left;
    for (;;) {
        msg = curl_multi_info_read(p->multi, &left);
        if (!msg)
            break;
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct poll_req *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r)
            finish(r, msg->data.result);
    }
    return p->running;
}

void poller_wakeup(struct poller *p)
{
    curl_multi_wakeup(p->multi);
}
