/* configescalation.c: the top-level `escalation:` mapping
 * (config_internal.h): where escalations go as Alertmanager alerts, the
 * extra labels they carry and how often they are re-posted. */
#include "config/config_internal.h"
#include "config/runbook_internal.h"

#include <string.h>

/* The labels replguard sets itself on a ReplguardEscalation alert: an
 * extra label must not shadow one (routing would no longer see it). */
static const char *const own_labels[] = {"alertname", "cluster", "replica",
                                         "runbook", "reason"};

/* repost_interval: Alertmanager resolves an alert not re-posted within
 * its resolve_timeout (default 5m); past 4m the default would let the
 * page go out between two posts. Below 1s is a flood. */
static const struct yr_range repost_range = {1, 240, "1s", "4m"};

static bool read_repost(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_duration_in(c, v, &repost_range, dst);
}

/* read_label: pair i of the labels mapping into esc->labels[i]. */
static bool read_label(struct yr_ctx *c, const yaml_node_pair_t *p,
                       struct config_escalation *esc, size_t i)
{
    yaml_node_t *k = yr_node(c, p->key), *v = yr_node(c, p->value);
    struct config_label *l = &esc->labels[i];

    if (!rb_read_label_name(c, k, &l->name))
        return false;
    for (size_t j = 0; j < ARRAY_LEN(own_labels); j++) {
        if (strcmp(l->name, own_labels[j]) == 0) {
            yr_err_at(c, k->start_mark,
                      "label \"%s\" is set by replguard (alertname, "
                      "cluster, replica, runbook, reason)",
                      l->name);
            return false;
        }
    }
    for (size_t j = 0; j < i; j++) {
        if (esc->labels[j].name && strcmp(esc->labels[j].name, l->name) == 0) {
            yr_err_at(c, k->start_mark, "duplicate label \"%s\"", l->name);
            return false;
        }
    }
    size_t saved = yr_path_key(c, l->name);
    bool ok = yr_read_string(c, v, &l->value);
    yr_path_pop(c, saved);
    return ok;
}

static bool read_labels(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    struct config_escalation *esc = dst;
    size_t n;
    bool ok = true;

    if (!yr_want_map(c, v))
        return false;
    n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > CONFIG_MAX_ESC_LABELS) {
        yr_err_at(c, v->start_mark, "at most %d labels, got %zu",
                  CONFIG_MAX_ESC_LABELS, n);
        return false;
    }
    esc->labels = xcalloc(n ? n : 1, sizeof(*esc->labels));
    esc->n_labels = n;
    for (size_t i = 0; i < n; i++)
        ok &= read_label(c, &v->data.mapping.pairs.start[i], esc, i);
    return ok;
}

static const struct yr_field escalation_fields[] = {
    {"alertmanager_url", cfg_read_url,
     offsetof(struct config_escalation, alertmanager_url), true},
    {"labels", read_labels, 0, false},
    {"repost_interval", read_repost,
     offsetof(struct config_escalation, repost_interval), false},
};

bool cfg_read_escalation(struct yr_ctx *c, yaml_node_t *v, void *dst)
{
    return yr_read_map(c, v, escalation_fields, ARRAY_LEN(escalation_fields),
                       dst);
}

void cfg_free_escalation(struct config_escalation *esc)
{
    for (size_t i = 0; i < esc->n_labels; i++) {
        free(esc->labels[i].name);
        free(esc->labels[i].value);
    }
    free(esc->labels);
    free(esc->alertmanager_url);
}
