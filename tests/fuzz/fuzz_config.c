/* fuzz_config.c: the agent's config loader (config.h) on YAML text, the
 * whole path of config_load() but the file read. */
#include "config/config.h"
#include "fuzz.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *cfg = NULL;
    struct errlist errs;
    errlist_init(&errs);
    int n =
        config_load_string("fuzz.yml", (const char *)data, size, &cfg, &errs);
    if ((n == 0) != (cfg != NULL) || (size_t)n != errs.n)
        __builtin_trap();
    for (size_t i = 0; i < errs.n; i++)
        if (strncmp(errs.msg[i], "fuzz.yml:", 9) != 0)
            __builtin_trap(); /* every message names the file */
    if (cfg) {
        for (size_t i = 0; i < cfg->n_clusters; i++) {
            const struct config_cluster *c = &cfg->clusters[i];
            if (config_find_cluster(cfg, c->name) != c ||
                config_primary_index(c) >= c->n_nodes)
                __builtin_trap();
        }
    }
    config_free(cfg);
    errlist_reset(&errs);
    return 0;
}
