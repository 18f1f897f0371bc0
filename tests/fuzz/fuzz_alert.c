/* fuzz_alert.c: Alertmanager's webhook payload (alert.h), the body of
 * POST /webhook, and what the intake derives from a parsed alert: label
 * look-ups, the dedupe key and the environment names of exec actions. */
#include "formats/alert.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static void use_labels(const struct labels *set)
{
    for (size_t i = 0; i < set->n; i++) {
        if (labels_get(set, set->v[i].name) != set->v[i].value)
            __builtin_trap(); /* sorted and unique: each name finds itself */
        free(alert_label_env_name(set->v[i].name));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct alert_payload *p = NULL;
    char err[256];
    int rc = alert_parse((const char *)data, size, &p, err, sizeof(err));
    if (rc < 0) {
        if (p || strlen(err) >= sizeof(err) || !alert_error_name(rc))
            __builtin_trap();
        return 0;
    }
    use_labels(&p->group_labels);
    use_labels(&p->common_labels);
    use_labels(&p->common_annotations);
    for (size_t i = 0; i < p->nalerts; i++) {
        const struct alert *a = &p->alerts[i];
        char key[ALERT_DEDUPE_KEY_MAX];
        if (alert_dedupe_key(a, key, sizeof(key)) < 0)
            __builtin_trap(); /* ALERT_DEDUPE_KEY_MAX always suffices */
        use_labels(&a->labels);
        use_labels(&a->annotations);
    }
    alert_payload_free(p);
    return 0;
}
