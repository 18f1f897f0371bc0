/* fuzz_breakers.c: a node's tripped circuit-breaker list (breakers.h),
 * and the reset body made from each id it yields, which must be JSON
 * that gives the id back. */
#include "profiles/stemedb/breakers.h"
#include "fuzz.h"

#include <cjson/cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char **ids = NULL;
    size_t n = 0;
    if (breakers_parse((const char *)data, size, &ids, &n) < 0) {
        if (ids || n)
            __builtin_trap();
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char *body = breakers_reset_body(ids[i]);
        cJSON *o = cJSON_Parse(body);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "agent_id");
        if (!cJSON_IsString(id) || strcmp(id->valuestring, ids[i]) != 0 ||
            cJSON_GetArraySize(o) != 1)
            __builtin_trap(); /* the id goes back as it came */
        cJSON_Delete(o);
        free(body);
    }
    breakers_free(ids, n);
    return 0;
}
