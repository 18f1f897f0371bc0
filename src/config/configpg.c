/* configpg.c: what a node is reached by, per profile: a URL (stemedb) or
 * a libpq connection string and a password file (postgres), checked
 * once the cluster's mapping, profile and nodes, is read (the profile
 * may come after the nodes in the file). */
#include "config/config_internal.h"
#include "config/secrets.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

/* err_key: an error at the value of key in map, with key on the path. */
static void err_key(struct yr_ctx *c, const yaml_node_t *map, const char *key,
                    const char *msg)
{
    yaml_node_t *v = yr_map_value(c, map, key);
    size_t saved = yr_path_key(c, key);
    yr_err_at(c, v ? v->start_mark : map->start_mark, "%s", msg);
    yr_path_pop(c, saved);
}

/* check_dsn: the dsn's syntax, by libpq, and no password in it. */
static bool check_dsn(struct yr_ctx *c, const yaml_node_t *nmap,
                      const char *dsn)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &why);
    if (!opts) {
        char msg[512];
        snprintf(msg, sizeof(msg), "not a libpq connection string: %s",
                 why ? why : "out of memory");
        /* libpq's messages end with a newline */
        msg[strcspn(msg, "\n")] = '\0';
        err_key(c, nmap, "dsn", msg);
        PQfreemem(why);
        return false;
    }
    bool password = false;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0])
            password = true;
    PQconninfoFree(opts);
    if (password)
        err_key(c, nmap, "dsn",
                "holds a password: put it in the cluster's password_file "
                "(or libpq's passfile), not in the config");
    return !password;
}

/* with_password: dsn followed by password='...' (quotes and backslashes
 * escaped as libpq wants), a heap string; dsn alone when pw is NULL. */
static char *with_password(const char *dsn, const char *pw)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, dsn);
    if (pw) {
        buf_puts(&b, " password='");
        for (const char *p = pw; *p; p++) {
            if (*p == '\'' || *p == '\\')
                buf_append(&b, "\\", 1);
            buf_append(&b, p, 1);
        }
        buf_puts(&b, "'");
    }
    return buf_detach(&b);
}

/* check_node: node i of cl (mapping nmap) has what its profile needs. */
static void check_node(struct yr_ctx *c, struct config_cluster *cl, size_t i,
                       const yaml_node_t *nmap, const char *pw)
{
    struct config_node *n = &cl->nodes[i];
    size_t saved = yr_path_key(c, "nodes");
    yr_path_index(c, i);
    if (cl->profile == PROFILE_POSTGRES) {
        if (yr_map_value(c, nmap, "url"))
            err_key(c, nmap, "url",
                    "a postgres node has dsn:, not url: (profile postgres)");
        else if (!n->dsn && !yr_map_value(c, nmap, "dsn"))
            yr_err_at(c, nmap->start_mark,
                      "missing required key \"dsn\" (profile postgres: "
                      "a libpq connection string)");
        else if (n->dsn && check_dsn(c, nmap, n->dsn)) {
            n->conninfo = with_password(n->dsn, pw);
            n->url = xstrdup(n->dsn);
        }
    } else if (yr_map_value(c, nmap, "dsn")) {
        err_key(c, nmap, "dsn",
                "dsn: is for postgres nodes; this cluster's profile is "
                "stemedb (url:)");
    } else if (!n->url && !yr_map_value(c, nmap, "url")) {
        yr_err_at(c, nmap->start_mark, "missing required key \"url\"");
    }
    yr_path_pop(c, saved);
}

/* read_password: the first line of the cluster's password_file into
 * *pw (heap), or an error at the key; true when there is none. */
static bool read_password(struct yr_ctx *c, const struct config_cluster *cl,
                          const yaml_node_t *cmap, char **pw)
{
    *pw = NULL;
    if (!cl->password_file)
        return true;
    if (cl->profile != PROFILE_POSTGRES) {
        err_key(c, cmap, "password_file",
                "password_file is for profile postgres");
        return false;
    }
    char err[512];
    size_t len;
    if (secret_file_read(cl->password_file, "password_file", true, pw, &len,
                         err, sizeof(err)) < 0) {
        err_key(c, cmap, "password_file", err);
        return false;
    }
    (*pw)[strcspn(*pw, "\r\n")] = '\0';
    return true;
}

void cfg_check_endpoints(struct yr_ctx *c, struct config_cluster *cl,
                         const yaml_node_t *cmap)
{
    yaml_node_t *seq = yr_map_value(c, cmap, "nodes");
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return;
    char *pw;
    bool pw_ok = read_password(c, cl, cmap, &pw);
    size_t n =
        (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    for (size_t i = 0; i < n && i < cl->n_nodes; i++) {
        yaml_node_t *nmap = yr_node(c, seq->data.sequence.items.start[i]);
        if (nmap && nmap->type == YAML_MAPPING_NODE)
            check_node(c, cl, i, nmap, pw_ok ? pw : NULL);
    }
    if (pw) {
        memset(pw, 0, strlen(pw));
        free(pw);
    }
}

const char *config_node_target(const struct config_node *n)
{
    return n->conninfo ? n->conninfo : n->url;
}
