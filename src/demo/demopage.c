/* demopage.c: the demo's Alertmanager holding replguard's page (see
 * demopage.h). */
#include "demo/demopage.h"

#include "lib/log.h"
#include "lib/util.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static size_t keep(char *p, size_t size, size_t n, void *ud)
{
    return buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

/* request: method on url (a loopback one) into b; returns the HTTP
 * status, 0 on a transport error. */
static long request(const char *method, const char *url, struct buf *b)
{
    CURL *c = curl_easy_init();
    long code = 0;
    if (!c)
        return 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* loopback: never a proxy */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static const char *label(const cJSON *a, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(a, "labels"), name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* current: the first ReplguardEscalation alert Alertmanager holds, as
 * a line for the terminal, into out ("" none); -1 when it did not
 * answer. */
static int current(const struct demopage *p, char *out, size_t n)
{
    char url[160];
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%u/api/v2/alerts?filter=alertname%%3D%%22"
             "ReplguardEscalation%%22",
             p->am_port);
    struct buf b;
    buf_init(&b, 1 << 20);
    out[0] = '\0';
    int rc = request("GET", url, &b) == 200 && buf_puts(&b, "") == 0 ? 0 : -1;
    cJSON *arr = rc == 0 ? cJSON_Parse(b.data) : NULL;
    const cJSON *a;
    cJSON_ArrayForEach(a, arr)
    {
        if (strcmp(label(a, "alertname"), "ReplguardEscalation") != 0)
            continue;
        snprintf(out, n, "{cluster=%s, replica=%s, runbook=%s, reason=%s}",
                 label(a, "cluster"), label(a, "replica"), label(a, "runbook"),
                 label(a, "reason"));
        break;
    }
    cJSON_Delete(arr);
    buf_free(&b);
    return rc;
}

static void ack(struct demopage *p)
{
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v1/ack/demo",
             p->rg_port);
    struct buf b;
    buf_init(&b, 1 << 16);
    long code = request("POST", url, &b);
    buf_free(&b);
    printf("demo: the on-call engineer acks it: POST /api/v1/ack/demo "
           "(HTTP %ld)\n",
           code);
    p->acked = true;
}

void demopage_check(struct demopage *p, double now)
{
    char line[256];
    if (!p->am_port || current(p, line, sizeof(line)) < 0)
        return;
    if (line[0] && strcmp(line, p->shown) != 0) {
        printf("demo: Alertmanager received ReplguardEscalation %s: a human "
               "is paged\n",
               line);
        snprintf(p->shown, sizeof(p->shown), "%s", line);
        p->since = now;
        p->acked = false;
    } else if (!line[0] && p->shown[0]) {
        printf("demo: Alertmanager resolved ReplguardEscalation %s\n",
               p->shown);
        p->shown[0] = '\0';
    } else if (line[0] && !p->acked && now - p->since >= DEMOPAGE_ACK_AFTER) {
        ack(p);
    }
    fflush(stdout);
}
