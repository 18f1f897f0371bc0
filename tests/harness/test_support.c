/* test_support.c: see test_support.h. */
#define _XOPEN_SOURCE 700

#include "test_support.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <ftw.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simnode_harness.h"
#include "lib/util.h"

/* field_matches: whether o's key is the string value (its prefix, when
 * prefix is set), or the boolean value spells ("true", "false"). */
static bool field_matches(const cJSON *o, const char *key, const char *value,
                          bool prefix)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v))
        return prefix ? strncmp(v->valuestring, value, strlen(value)) == 0
                      : strcmp(v->valuestring, value) == 0;
    return !prefix && cJSON_IsBool(v) &&
           strcmp(value, cJSON_IsTrue(v) ? "true" : "false") == 0;
}

/* count: the complete lines of the audit log that match. The daemon may
 * be writing the last line as we read: one without its newline yet is
 * left for the next call rather than taken for a broken record. */
static int count(const char *path, const char *event, const char *key,
                 const char *value, bool prefix)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    FILE *f = fopen(path, "r");
    int n = 0;
    while (f && (len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n')
            break;
        cJSON *o = cJSON_Parse(line);
        ck_assert_msg(o != NULL, "audit line is not JSON: %s", line);
        if (field_matches(o, "event", event, false) &&
            (!key || field_matches(o, key, value, prefix)))
            n++;
        cJSON_Delete(o);
    }
    free(line);
    if (f)
        fclose(f);
    return n;
}

int audit_count(const char *path, const char *event, const char *key,
                const char *value)
{
    return count(path, event, key, value, false);
}

int audit_count_prefix(const char *path, const char *event, const char *key,
                       const char *prefix)
{
    return count(path, event, key, prefix, true);
}

static void wait_count(const char *path, const char *event, const char *key,
                       const char *value, bool prefix, int n, double secs)
{
    double deadline = now_s() + secs;
    while (count(path, event, key, value, prefix) < n && now_s() < deadline)
        sleep_ms(20);
    int have = count(path, event, key, value, prefix);
    ck_assert_msg(have >= n,
                  "audit: %d %s lines with %s=%s%s, want %d (see %s)", have,
                  event, key ? key : "-", value ? value : "-",
                  prefix ? "*" : "", n, path);
}

void wait_audit(const char *path, const char *event, const char *key,
                const char *value, int n, double secs)
{
    wait_count(path, event, key, value, false, n, secs);
}

void wait_audit_prefix(const char *path, const char *event, const char *key,
                       const char *prefix, int n, double secs)
{
    wait_count(path, event, key, prefix, true, n, secs);
}

char *file_text(const char *path)
{
    FILE *f = fopen(path, "r");
    struct buf b;
    buf_init(&b, 0);
    char chunk[4096];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    if (f)
        fclose(f);
    buf_puts(&b, "");
    return buf_detach(&b);
}

bool file_has(const char *path, const char *text)
{
    char *s = file_text(path);
    bool has = strstr(s, text) != NULL;
    free(s);
    return has;
}

int file_count(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof(line), f))
        n += strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return n;
}

void wait_file_has(const char *path, const char *text, double secs)
{
    double deadline = now_s() + secs;
    while (!file_has(path, text) && now_s() < deadline)
        sleep_ms(20);
    ck_assert_msg(file_has(path, text), "no line with %s in %s", text, path);
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int rm_tree(const char *dir)
{
    return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int gated_fsync(void *ctx, int fd)
{
    struct fsync_gate *g = ctx;
    pthread_mutex_lock(&g->mu);
    g->fsyncs++;
    while (g->held)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return fileio_posix()->fsync(NULL, fd);
}

void fsync_gate_init(struct fsync_gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->held = false;
    g->fsyncs = 0;
    g->ops = *fileio_posix();
    g->ops.fsync = gated_fsync;
    g->ops.ctx = g;
}

void fsync_gate_destroy(struct fsync_gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

void fsync_gate_hold(struct fsync_gate *g, bool held)
{
    pthread_mutex_lock(&g->mu);
    g->held = held;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

int fsync_gate_fsyncs(struct fsync_gate *g)
{
    pthread_mutex_lock(&g->mu);
    int n = g->fsyncs;
    pthread_mutex_unlock(&g->mu);
    return n;
}

int loopback_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}
